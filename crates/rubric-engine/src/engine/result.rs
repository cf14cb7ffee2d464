//! What classifying an article returns. Field names follow the protobuf JSON mapping of the
//! service contract (lowerCamelCase), so the CLI and the gRPC service print the same shape.

use std::sync::Arc;

use serde::Serialize;

use crate::article::Field;
use crate::text::OffsetEncoding;

use super::RuleExplanation;

/// The result for one article.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    /// The article's id, as given.
    pub article_id: String,
    /// Topics sorted by score, highest first, then by id.
    pub topics: Vec<TopicScore>,
    /// `rule_set.version` of the rules that classified the article (shared with the engine).
    pub rule_set_version: Arc<str>,
    /// Explanations of the rules that `ClassifyOptions::explain_rules` named, in that order, then
    /// of the candidates (`ClassifyOptions::explain_candidates`) in rule file order, each rule
    /// once. Empty, and left out of the JSON, unless asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<RuleExplanation>,
}

/// A classification as the service's `Classification` message prints in protobuf's JSON mapping
/// (as grpcurl shows it): the engine's fields, then `offsetEncoding`, which the service always
/// sets, so a reader can tell the unit of the offsets from the output alone. What `rubric
/// classify` prints and what the Python package returns (as Python objects), from this one type.
///
/// The fields are the classification's, borrowed, written as a struct (not flattened into a map,
/// which serde writes field by field through a map serializer).
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassificationJson<'a> {
    article_id: &'a str,
    topics: &'a [TopicScore],
    rule_set_version: &'a str,
    offset_encoding: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    explanations: &'a [RuleExplanation],
}

impl<'a> ClassificationJson<'a> {
    /// `classification`, whose offsets are in `offset_encoding` units (the
    /// [`ClassifyOptions::offset_encoding`](super::ClassifyOptions::offset_encoding) it was
    /// classified with), ready to serialize.
    pub fn new(classification: &'a Classification, offset_encoding: OffsetEncoding) -> Self {
        // Every field, so that one added to the engine's result is not left out unseen.
        let Classification {
            article_id,
            topics,
            rule_set_version,
            explanations,
        } = classification;
        ClassificationJson {
            article_id,
            topics,
            rule_set_version,
            offset_encoding: offset_encoding.contract_name(),
            explanations,
        }
    }
}

/// One topic's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicScore {
    /// Topic id (shared with the engine: cloning it does not copy the text).
    pub topic: Arc<str>,
    /// Sum of the weights of the rules that fired, overlapping matches counted once.
    pub score: f64,
    /// `score / (score + threshold)` for a positive score, else 0; in `[0, 1)`, 0.5 at the
    /// threshold.
    pub confidence: f64,
    /// `score >= threshold`.
    pub label: bool,
    /// The rules that counted, highest weight first; empty when evidence was not requested.
    pub evidence: Vec<RuleEvidence>,
}

/// A rule that fired and counted.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleEvidence {
    /// Rule id (shared with the engine).
    pub rule_id: Arc<str>,
    /// Rule weight, as added to the score.
    pub weight: f64,
    /// Its own matches, by field then position: every occurrence that made it true (of its own
    /// matches that overlap one another, the longest), also those that an overlapping rule of
    /// the topic was credited with for the score; empty for a rule that fires without a
    /// positive match (a pure `NOT` rule).
    pub spans: Vec<Span>,
}

/// A matched piece of the original text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The field it is in.
    pub field: Field,
    /// Start offset, inclusive, in the requested encoding (UTF-8 bytes, UTF-16 code units or code
    /// points) of the ORIGINAL field text.
    pub start: usize,
    /// End offset, exclusive, same unit.
    pub end: usize,
    /// The original text of the span, exactly as sent (curly quotes, soft hyphens and all).
    pub text: String,
    /// For a match of a named list (`@name` in the rule): the list's name; `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Arc<str>>,
    /// For a match of a named list: the entry that matched, as written in the list (`{US}`,
    /// `negotiat*`); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_entry: Option<Arc<str>>,
}
