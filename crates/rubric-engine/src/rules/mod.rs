//! The rule language: query syntax tree, parser, rule files and their diagnostics.
//!
//! Pipeline: TOML text → [`RuleSet`] (validated, queries parsed to [`Expr`]) →
//! [`Engine`](crate::engine::Engine) (literals normalized and compiled). Each stage has its own
//! error type; all of them end up as [`Diagnostic`]s with file, line and column.
//!
//! The query grammar is in [`parse`]'s documentation.

pub mod ast;
pub mod diagnostic;
pub mod file;
pub mod lists;
pub mod parse;
pub mod read;

pub use ast::{Expr, ExprKind, Literal, LiteralKind, QuerySpan};
pub use diagnostic::{Diagnostic, Location, RuleSetError, Severity, Source};
pub use file::{Example, QueryOrigin, Rule, RuleSet, Topic, MAX_ID_BYTES, MAX_RULES, MAX_TOPICS};
pub use lists::{
    EmbeddedLists, ListDir, ListEntry, ListFiles, NamedList, NoListFiles, RecordingLists,
};
pub use parse::{
    parse_query, ParseError, MAX_DEPTH, MAX_LIST_NAME_BYTES, MAX_NEAR_DISTANCE, MAX_QUERY_BYTES,
};
pub use read::{read_rule_file, read_text_file, MAX_RULE_FILE_BYTES};
