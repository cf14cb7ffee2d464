//! rubric: a rule-based news topic classifier.
//!
//! Analysts write Boolean rules (`"peace talks" OR negotiat*`, `{US} AND troops`,
//! `(aid OR assistance) NEAR/4 deliver*`) in a TOML rule file; rubric compiles them once and labels
//! articles with topics, each label explained by the rules that fired and the exact spans of the
//! original text they matched.
//!
//! # Layout
//! - [`article`]: the input ([`Article`], [`Field`]).
//! - [`text`]: normalization (NFKC, case folding, accents, apostrophes, soft hyphens) and UAX #29
//!   tokenization, with offsets back into the original text.
//! - [`rules`]: the rule language: query grammar and parser, rule files, diagnostics with file, line
//!   and column.
//! - [`engine`]: compiles a rule set into one dictionary and classifies with presearch; scores,
//!   confidence, evidence. Knows nothing of gRPC.
//! - [`eval`]: precision, recall and F1 of a rule set on labelled articles.
//! - [`import`]: converters from other tools' rule sets (PETRARCH2 issue dictionaries) and
//!   dictionaries (PETRARCH2 actors, agents and verbs as list files).
//! - [`learn`]: rules from labelled examples: candidate features computed by the engine, an
//!   L1-regularised logistic-regression path, the rule file writer (`rubric learn`), and
//!   `rubric suggest`.
//! - [`pb`]: the generated protobuf and gRPC code of `proto/rubric/v1`.
//! - [`service`]: thin tonic handlers over the engine (validation, conversion).
//! - [`error`]: the one table from service errors to gRPC status codes.
//! - [`server`]: `run(listener, rules, config, shutdown)`: health, reflection, limits, deadlines,
//!   graceful shutdown.
//! - [`metrics`]: Prometheus metrics (gRPC calls by code, latency, topic labels, rule set info).
//! - [`reload`]: hot reload of the rule file (SIGHUP, directory watch) with an atomic swap.
//! - [`client`]: a client for replicas: client-side load balancing with health checking,
//!   deadlines, retries of UNAVAILABLE; and the health check of `rubric health-check`.
//! - [`DEFAULT_RULES`], [`DEFAULT_LISTS`]: the default rule set, embedded from `seeds/rules.toml`
//!   and the list files of `seeds/lists/`.
//!
//! # Example
//! ```
//! use rubric::{Article, ClassifyOptions, Engine, OffsetEncoding};
//! let engine = Engine::embedded().unwrap();
//! let article = Article { id: "1", title: "", body: "The foreign minister arrived for peace talks." };
//! let options = ClassifyOptions { offset_encoding: OffsetEncoding::Utf16, ..Default::default() };
//! let result = engine.classify(&article, &options).unwrap();
//! assert!(result.topics.iter().any(|t| &*t.topic == "diplomacy" && t.label));
//! ```

#![warn(missing_docs)]

pub mod article;
pub mod client;
pub mod engine;
pub mod error;
pub mod eval;
pub mod http;
pub mod import;
pub mod learn;
pub mod memory;
pub mod metrics;
pub mod pb;
pub mod reload;
pub mod rules;
pub mod server;
pub mod service;
pub mod text;

pub use article::{Article, Field};
pub use engine::{
    Classification, ClassifyError, ClassifyOptions, Engine, EngineLoadError, ExplanationNode,
    QueryOperator, RuleEvidence, RuleExplanation, RuleSetInfo, Span, TopicInfo, TopicScore,
};
pub use rules::{Diagnostic, RuleSet, RuleSetError, Severity};
pub use text::OffsetEncoding;

/// The default rule set (`seeds/rules.toml`), embedded in the binary.
pub const DEFAULT_RULES: &str = include_str!("../seeds/rules.toml");

/// The list files of the default rule set (`seeds/lists/`), embedded in the binary: `(path as
/// the rule file names it, text)`. `build.rs` writes the table from the folder's files.
pub const DEFAULT_LISTS: rules::EmbeddedLists =
    rules::EmbeddedLists(include!(concat!(env!("OUT_DIR"), "/default_lists.rs")));

/// A sample article written for the README (`seeds/sample-article.txt`), embedded in the binary.
pub const SAMPLE_ARTICLE: &str = include_str!("../seeds/sample-article.txt");
