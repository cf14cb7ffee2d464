//! rubric: a rule-based news topic classifier, as a gRPC and HTTP/JSON service and a command line.
//!
//! Analysts write Boolean rules (`"peace talks" OR negotiat*`, `{US} AND troops`,
//! `(aid OR assistance) NEAR/4 deliver*`) in a TOML rule file; rubric compiles them once and labels
//! articles with topics, each label explained by the rules that fired and the exact spans of the
//! original text they matched.
//!
//! # Layout
//! The workspace has two crates and a Python package:
//!
//! - `crates/rubric-engine` ([`rubric_engine`]): the rule language, the text normalizer, the
//!   matcher, evaluation, importers and rule learning, and the embedded default rules; no async
//!   runtime, no network. Its modules are re-exported here under the same names ([`article`],
//!   [`text`], [`rules`], [`engine`], [`eval`], [`import`], [`learn`]), so `rubric::engine::Engine`
//!   and `rubric_engine::Engine` are the same type.
//! - this package, `rubric`: everything that runs the engine for others:
//!   - [`pb`]: the generated protobuf and gRPC code of `proto/rubric/v1`, with its proto3 JSON
//!     mapping.
//!   - [`service`]: thin tonic handlers over the engine (validation, conversion), and the
//!     compilation of rules sent by clients under their own limits.
//!   - [`error`]: the one table from service errors to gRPC status codes (and their HTTP statuses).
//!   - [`server`]: `run(listener, rules, config, shutdown)`: health, reflection, limits,
//!     deadlines, graceful shutdown.
//!   - [`http`]: HTTP/JSON transcoded into the gRPC calls (routes from the contract's
//!     `google.api.http` options), grpc-web, and the browser playground, on the same listener.
//!   - [`metrics`]: Prometheus metrics (gRPC calls by code, latency, topic labels, rule set info).
//!   - [`reload`]: hot reload of the rule file (SIGHUP, directory watch) with an atomic swap.
//!   - [`memory`]: giving freed memory back to the system after a load.
//!   - [`client`]: a client for replicas: client-side load balancing with health checking,
//!     deadlines, retries of UNAVAILABLE; and the health check of `rubric health-check`.
//!   - the `rubric` binary (`src/main.rs`, `src/cli/`): serve, classify, check, eval, import,
//!     learn.
//! - `python/`: the engine as a Python extension module (PyO3, maturin), for notebooks and Spark.
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

pub use rubric_engine;
pub use rubric_engine::{article, engine, eval, import, learn, rules, text};
pub use rubric_engine::{
    Article, Classification, ClassificationJson, ClassifyError, ClassifyOptions, Diagnostic,
    Engine, EngineLoadError, ExplanationNode, Field, OffsetEncoding, QueryOperator, RuleEvidence,
    RuleExplanation, RuleSet, RuleSetError, RuleSetInfo, Severity, Span, TopicInfo, TopicScore,
    DEFAULT_LISTS, DEFAULT_RULES, SAMPLE_ARTICLE,
};

pub mod client;
pub mod error;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod pb;
pub mod reload;
pub mod server;
pub mod service;
