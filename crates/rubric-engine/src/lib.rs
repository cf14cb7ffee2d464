//! rubric's engine: everything that turns rules and text into labels, and nothing that talks to a
//! network.
//!
//! Analysts write Boolean rules (`"peace talks" OR negotiat*`, `{US} AND troops`,
//! `(aid OR assistance) NEAR/4 deliver*`) in a TOML rule file; the engine compiles them once and
//! labels articles with topics, each label explained by the rules that fired and the exact spans of
//! the original text they matched, and any rule explained on demand, fired or not.
//!
//! # What lives here, and why
//! This crate is the part of rubric that every way of running it shares: the gRPC and HTTP
//! service and the command line (the `rubric` package, which adds tokio, tonic and the CLI on
//! top), and the Python package (`python/`, PyO3), which runs it in process for notebooks and
//! Spark jobs. So it depends on no async runtime, no RPC framework and no network code; it is
//! plain, synchronous Rust that a caller may run on any thread (an [`Engine`] is `Send + Sync`
//! and cheap to clone). The split follows the line the architecture already had: "the rule
//! engine knows nothing of tonic".
//!
//! - [`article`]: the input ([`Article`], [`Field`]).
//! - [`text`]: normalization (NFKC, case folding, accents, apostrophes, soft hyphens) and UAX #29
//!   tokenization, with offsets back into the original text ([`OffsetEncoding`]).
//! - [`rules`]: the rule language: query grammar and parser, rule files, named lists, diagnostics
//!   with file, line and column.
//! - [`engine`]: compiles a rule set into one dictionary and classifies with presearch; scores,
//!   confidence, evidence, and explanations of why a rule did or did not fire.
//! - [`eval`]: precision, recall and F1 of a rule set on labelled articles.
//! - [`import`]: converters from other tools' rule sets (PETRARCH2 issue dictionaries) and
//!   dictionaries (PETRARCH2 actors, agents and verbs as list files).
//! - [`learn`]: rules from labelled examples (features, an L1-regularised logistic-regression
//!   path, the rule file writer).
//! - [`DEFAULT_RULES`], [`DEFAULT_LISTS`], [`SAMPLE_ARTICLE`]: the default rule set and its list
//!   files, embedded from `seeds/` at the top of the workspace, so every front end serves the
//!   same defaults.
//!
//! # Example
//! ```
//! use rubric_engine::{Article, ClassifyOptions, Engine, OffsetEncoding};
//! let engine = Engine::embedded().unwrap();
//! let article = Article { id: "1", title: "", body: "The foreign minister arrived for peace talks." };
//! let options = ClassifyOptions { offset_encoding: OffsetEncoding::Utf16, ..Default::default() };
//! let result = engine.classify(&article, &options).unwrap();
//! assert!(result.topics.iter().any(|t| &*t.topic == "diplomacy" && t.label));
//! ```

#![warn(missing_docs)]

pub mod article;
pub mod engine;
pub mod eval;
pub mod import;
pub mod learn;
pub mod rules;
pub mod text;

pub use article::{Article, Field};
pub use engine::{
    Classification, ClassificationJson, ClassifyError, ClassifyOptions, Engine, EngineLoadError,
    ExplanationNode, QueryOperator, RuleEvidence, RuleExplanation, RuleSetInfo, Span, TopicInfo,
    TopicScore,
};
pub use rules::{Diagnostic, RuleSet, RuleSetError, Severity};
pub use text::OffsetEncoding;

/// The default rule set (`seeds/rules.toml`), embedded.
pub const DEFAULT_RULES: &str = include_str!("../../../seeds/rules.toml");

/// The list files of the default rule set (`seeds/lists/`), embedded: `(path as the rule file
/// names it, text)`. `build.rs` writes the table from the folder's files.
pub const DEFAULT_LISTS: rules::EmbeddedLists =
    rules::EmbeddedLists(include!(concat!(env!("OUT_DIR"), "/default_lists.rs")));

/// A sample article written for the README (`seeds/sample-article.txt`), embedded.
pub const SAMPLE_ARTICLE: &str = include_str!("../../../seeds/sample-article.txt");
