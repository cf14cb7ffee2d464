//! Request validation and conversions between the protobuf types and the engine's.

use std::time::SystemTime;

use crate::engine::{
    Classification, ClassifyOptions, Engine, ExplanationNode, QueryOperator, RuleExplanation, Span,
    TopicInfo, MAX_EXPLAINED_RULES,
};
use crate::error::MAX_FIELD_VIOLATIONS;
use crate::error::{echo, FieldViolation};
use crate::pb;
use crate::rules::diagnostic::Suggester;
use crate::{Article, Field, OffsetEncoding};

use super::LoadedRules;

/// Longest accepted `article.id`, in bytes.
pub const MAX_ARTICLE_ID_BYTES: usize = 512;

/// Where the fields of a request are in the call's message: the message itself, or
/// `requests[i]` of a batch. Displays as the prefix of their paths (`""`, `requests[3].`), made
/// only when a violation needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FieldPrefix {
    /// A `Classify` request (or a stream message).
    None,
    /// `requests[i]` of a `ClassifyBatch` request.
    Batch(usize),
}

impl std::fmt::Display for FieldPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldPrefix::None => Ok(()),
            FieldPrefix::Batch(i) => write!(f, "requests[{i}]."),
        }
    }
}

/// Validates an article and its options; on success returns the engine options. Every problem is
/// pushed to `violations` with its field path under `prefix` (`""` or `requests[3].`).
pub(crate) fn validate(
    article: Option<&pb::Article>,
    options: Option<&pb::ClassifyOptions>,
    engine: &Engine,
    limits: super::Limits,
    prefix: FieldPrefix,
    violations: &mut Vec<FieldViolation>,
) -> Option<ClassifyOptions> {
    let before = violations.len();
    match article {
        None => violations.push(FieldViolation::new(
            format!("{prefix}article"),
            "required: send the article to classify",
        )),
        Some(a) => {
            let text = crate::Article {
                id: &a.id,
                title: &a.title,
                body: &a.body,
            };
            if text.is_blank() {
                violations.push(FieldViolation::new(
                    format!("{prefix}article.body"),
                    "title and body are both empty or blank: send the text of the article in body (and its headline in title)",
                ));
            }
            let size = a.title.len() + a.body.len();
            if size > limits.max_article_bytes {
                violations.push(FieldViolation::new(
                    format!("{prefix}article.body"),
                    format!(
                        "title and body are {size} bytes, more than the server's limit of {}: split the article",
                        limits.max_article_bytes
                    ),
                ));
            }
            if a.id.len() > MAX_ARTICLE_ID_BYTES {
                violations.push(FieldViolation::new(
                    format!("{prefix}article.id"),
                    format!(
                        "{} bytes, longer than the limit of {MAX_ARTICLE_ID_BYTES}",
                        a.id.len()
                    ),
                ));
            }
            if !a.language.is_empty()
                && oxilangtag::LanguageTag::parse(a.language.as_str()).is_err()
            {
                violations.push(FieldViolation::new(
                    format!("{prefix}article.language"),
                    format!("`{}` is not a BCP 47 language tag: send e.g. `en`, `de-CH`, or leave it empty", echo(&a.language)),
                ));
            }
        }
    }
    let mut out = ClassifyOptions::default();
    if let Some(o) = options {
        let mut suggester: Option<Suggester<'_>> = None;
        for (i, topic) in o.topics.iter().enumerate() {
            if engine.topics().iter().any(|t| &t.id == topic) {
                out.topics.push(topic.clone());
            } else {
                // As the CLI's `--topic`: the closest id first, while violations are reported.
                let near = (violations.len() < MAX_FIELD_VIOLATIONS)
                    .then(|| {
                        suggester
                            .get_or_insert_with(|| {
                                Suggester::new(
                                    engine.topics().iter().map(|t| t.id.as_str()).collect(),
                                )
                            })
                            .suggest(topic)
                    })
                    .flatten()
                    .map_or_else(String::new, |n| format!(" (did you mean `{n}`?)"));
                violations.push(FieldViolation::new(
                    format!("{prefix}options.topics[{i}]"),
                    format!(
                        "unknown topic `{}`{near}; the topics are: {}",
                        echo(topic),
                        known_topics(engine)
                    ),
                ));
            }
        }
        out.evidence = !o.omit_evidence;
        match pb::OffsetEncoding::try_from(o.offset_encoding) {
            Ok(pb::OffsetEncoding::Unspecified | pb::OffsetEncoding::Utf8) => {}
            Ok(pb::OffsetEncoding::Utf16) => out.offset_encoding = OffsetEncoding::Utf16,
            Ok(pb::OffsetEncoding::CodePoint) => out.offset_encoding = OffsetEncoding::CodePoint,
            Err(_) => violations.push(FieldViolation::new(
                format!("{prefix}options.offset_encoding"),
                format!("unknown value {}: send OFFSET_ENCODING_UTF8, OFFSET_ENCODING_UTF16 or OFFSET_ENCODING_CODE_POINT", o.offset_encoding),
            )),
        }
        if let Some(min) = o.min_score {
            if min.is_finite() {
                out.min_score = Some(min);
            } else {
                violations.push(FieldViolation::new(
                    format!("{prefix}options.min_score"),
                    "must be a finite number",
                ));
            }
        }
        out.explain_rules = explain_rules(&o.explain_rules, engine, prefix, violations);
        out.explain_candidates = o.explain_candidates;
    }
    (violations.len() == before).then_some(out)
}

/// Checks `options.explain_rules`: at most [`MAX_EXPLAINED_RULES`] ids, each a rule of the rule
/// set (an unknown one with the closest id, while the violations are few enough to be reported).
/// Returns the ids to explain.
fn explain_rules(
    ids: &[String],
    engine: &Engine,
    prefix: FieldPrefix,
    violations: &mut Vec<FieldViolation>,
) -> Vec<String> {
    if ids.len() > MAX_EXPLAINED_RULES {
        violations.push(FieldViolation::new(
            format!("{prefix}options.explain_rules"),
            format!(
                "{} rule ids, more than the limit of {MAX_EXPLAINED_RULES}: ask in several calls",
                ids.len()
            ),
        ));
        return Vec::new();
    }
    let mut suggester: Option<Suggester<'_>> = None;
    for (i, id) in ids.iter().enumerate() {
        if engine.rule_index(id).is_some() {
            continue;
        }
        let mut description = format!("unknown rule `{}`", echo(id));
        // Only the first violations are reported: no hint is looked for beyond them.
        if violations.len() < MAX_FIELD_VIOLATIONS {
            let suggester = suggester
                .get_or_insert_with(|| Suggester::new(engine.rules().map(|r| r.0).collect()));
            if let Some(near) = suggester.suggest(id) {
                description.push_str(&format!(" (did you mean `{near}`?)"));
            }
        }
        violations.push(FieldViolation::new(
            format!("{prefix}options.explain_rules[{i}]"),
            description,
        ));
    }
    ids.to_vec()
}

/// Most topic ids an unknown-topic violation lists; ListTopics has them all.
const MAX_LISTED_TOPICS: usize = 10;

/// The topic ids of the rule set for an error message: the first [`MAX_LISTED_TOPICS`], then a
/// count of the rest.
fn known_topics(engine: &Engine) -> String {
    let topics = engine.topics();
    let mut out = topics
        .iter()
        .take(MAX_LISTED_TOPICS)
        .map(|t| t.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if topics.len() > MAX_LISTED_TOPICS {
        out.push_str(&format!(
            " and {} more (ListTopics lists them)",
            topics.len() - MAX_LISTED_TOPICS
        ));
    }
    out
}

/// The engine's view of a protobuf article (borrowed).
pub(crate) fn article(a: &pb::Article) -> Article<'_> {
    Article {
        id: &a.id,
        title: &a.title,
        body: &a.body,
    }
}

fn encoding(e: OffsetEncoding) -> pb::OffsetEncoding {
    match e {
        OffsetEncoding::Utf8 => pb::OffsetEncoding::Utf8,
        OffsetEncoding::Utf16 => pb::OffsetEncoding::Utf16,
        OffsetEncoding::CodePoint => pb::OffsetEncoding::CodePoint,
    }
}

fn offset(value: usize) -> u32 {
    // Messages are limited to far less than 4 GiB; saturate rather than wrap just in case.
    u32::try_from(value).unwrap_or(u32::MAX)
}

pub(crate) fn classification(c: Classification, offsets: OffsetEncoding) -> pb::Classification {
    pb::Classification {
        article_id: c.article_id,
        topics: c
            .topics
            .into_iter()
            .map(|t| pb::TopicScore {
                topic: t.topic.to_string(),
                score: t.score,
                confidence: t.confidence,
                label: t.label,
                evidence: t
                    .evidence
                    .into_iter()
                    .map(|e| pb::RuleEvidence {
                        rule_id: e.rule_id.to_string(),
                        weight: e.weight,
                        spans: e.spans.into_iter().map(span).collect(),
                    })
                    .collect(),
            })
            .collect(),
        rule_set_version: c.rule_set_version.to_string(),
        offset_encoding: encoding(offsets) as i32,
        explanations: c.explanations.into_iter().map(explanation).collect(),
    }
}

/// A span of evidence or of an explanation.
fn span(s: Span) -> pb::Span {
    pb::Span {
        field: match s.field {
            Field::Title => pb::ArticleField::Title,
            Field::Body => pb::ArticleField::Body,
        } as i32,
        start: offset(s.start),
        end: offset(s.end),
        text: s.text,
        list: s.list.map(|l| l.to_string()).unwrap_or_default(),
        list_entry: s.list_entry.map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn explanation(e: RuleExplanation) -> pb::RuleExplanation {
    pb::RuleExplanation {
        rule_id: e.rule_id.to_string(),
        topic: e.topic.to_string(),
        fired: e.fired,
        summary: e.summary,
        query: Some(explanation_node(e.query)),
    }
}

fn explanation_node(n: ExplanationNode) -> pb::ExplanationNode {
    pb::ExplanationNode {
        operator: match n.operator {
            QueryOperator::Or => pb::QueryOperator::Or,
            QueryOperator::And => pb::QueryOperator::And,
            QueryOperator::Not => pb::QueryOperator::Not,
            QueryOperator::Near => pb::QueryOperator::Near,
            QueryOperator::FieldScope => pb::QueryOperator::FieldScope,
            QueryOperator::Literal => pb::QueryOperator::Literal,
        } as i32,
        query: n.query,
        satisfied: n.satisfied,
        reason: n.reason,
        spans: n.spans.into_iter().map(span).collect(),
        operands: n.operands.into_iter().map(explanation_node).collect(),
    }
}

pub(crate) fn topic(t: &TopicInfo) -> pb::Topic {
    pb::Topic {
        id: t.id.clone(),
        display_name: t.name.clone(),
        description: t.description.clone(),
        threshold: t.threshold,
        rule_count: offset(t.rule_count),
    }
}

fn timestamp(t: SystemTime) -> pb::Timestamp {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    pb::Timestamp {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos() as i32,
    }
}

pub(crate) fn rule_set(r: &LoadedRules) -> pb::RuleSet {
    let info = r.engine.info();
    pb::RuleSet {
        name: info.name.clone(),
        version: info.version.clone(),
        description: info.description.clone(),
        content_sha256: r.content_sha256.clone(),
        load_time: Some(timestamp(r.load_time)),
        rule_count: offset(info.rule_count),
        topic_count: offset(info.topic_count),
        accent_sensitive: info.accent_sensitive,
        source: r.source.clone(),
        list_count: offset(info.list_count),
        list_entry_count: offset(info.list_entry_count),
        last_reload_failure: r.last_reload_failure().map(|f| pb::ReloadFailure {
            time: Some(timestamp(f.time)),
            error: f.report,
            content_sha256: f.content_sha256,
        }),
        text: String::new(),
    }
}
