//! Evaluation of a rule set against labelled articles: per-topic confusion counts, precision,
//! recall and F1, micro and macro averages, and the errors a rule author needs to see.
//!
//! Input lines are `{"id": str, "title": str, "body": str, "labels": {topic: bool}}`. A topic
//! missing from `labels` is unknown for that line and is not scored (neither a hit nor a miss).
//!
//! Definitions (the usual ones, e.g. Manning, Raghavan & Schütze, *Introduction to Information
//! Retrieval*, ch. 8): precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2PR / (P + R);
//! each is 0 when its denominator is 0. Micro averages pool the counts of all scored topics;
//! macro averages are the unweighted means over the topics with at least one labelled line. When
//! no line is labelled for any topic of the rule set, nothing is scored: the averages are `None`
//! (JSON `null`), not zeros that would read like a measurement.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::{Classification, ClassifyOptions, Engine};
use crate::Article;

/// One labelled article.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledArticle {
    /// Identifier, shown in error listings.
    #[serde(default)]
    pub id: String,
    /// Headline.
    #[serde(default)]
    pub title: String,
    /// Text.
    #[serde(default)]
    pub body: String,
    /// Gold labels; a topic that is missing is unknown for this article.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, bool>,
}

impl LabelledArticle {
    /// The article to classify (id, title, body), borrowed.
    pub fn article(&self) -> Article<'_> {
        Article {
            id: &self.id,
            title: &self.title,
            body: &self.body,
        }
    }
}

/// Confusion counts of one topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Labelled true, predicted true.
    pub tp: u64,
    /// Labelled false, predicted true.
    pub fp: u64,
    /// Labelled true, predicted false.
    pub r#fn: u64,
    /// Labelled false, predicted false.
    pub tn: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl Counts {
    /// Lines where the topic is labelled true (TP + FN).
    pub fn support(&self) -> u64 {
        self.tp + self.r#fn
    }

    /// Lines where the topic is labelled at all.
    pub fn labelled(&self) -> u64 {
        self.tp + self.fp + self.r#fn + self.tn
    }

    /// TP / (TP + FP), 0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// TP / (TP + FN), 0 when there is no positive label.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.r#fn)
    }

    /// Harmonic mean of precision and recall, 0 when both are 0.
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }

    fn add(&mut self, other: &Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.r#fn += other.r#fn;
        self.tn += other.tn;
    }
}

/// Precision, recall and F1 together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

/// The evaluation of one topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicReport {
    /// Topic id.
    pub topic: String,
    /// Positive labels (TP + FN).
    pub support: u64,
    /// Lines where the topic was labelled at all.
    pub labelled: u64,
    /// Confusion counts.
    pub counts: Counts,
    /// Precision, recall, F1.
    pub scores: Scores,
}

/// One misclassified article, for `--errors`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorCase {
    /// Topic.
    pub topic: String,
    /// `false_positive` or `false_negative`.
    pub kind: &'static str,
    /// Article id.
    pub id: String,
    /// Score of the topic.
    pub score: f64,
    /// The counted rules, each with its evidence in context.
    pub rules: Vec<RuleExcerpts>,
    /// The beginning of the article, for a miss where nothing fired.
    pub excerpt: String,
}

/// What one rule did on the labelled articles of its topic, for `rubric eval --by-rule`.
///
/// Counts are articles whose label for the rule's topic is known and on which the rule was
/// counted in the topic's score (a rule whose every match was taken by a longer overlapping match
/// of its topic is not counted). The columns follow the labelling-function analysis of Snorkel
/// (Ratner et al., 2017): coverage, and empirical precision against the gold labels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleReport {
    /// Rule id.
    pub rule: String,
    /// The rule's topic.
    pub topic: String,
    /// The rule's weight.
    pub weight: f64,
    /// Articles the rule was counted on (`labelled_true + labelled_false`).
    pub fired: u64,
    /// Of those, articles labelled true for the topic.
    pub labelled_true: u64,
    /// Of those, articles labelled false for the topic.
    pub labelled_false: u64,
    /// `labelled_true / fired`; `None` (JSON `null`) when the rule never fired.
    pub precision: Option<f64>,
    /// True positives the topic would lose without this rule: labelled, and the score minus
    /// this rule's weight is below the threshold.
    pub decisive_tp: u64,
    /// False positives the topic would lose without this rule (same test).
    pub decisive_fp: u64,
}

/// What to compute besides the per-topic counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvalOptions {
    /// Error cases kept per topic and kind (false positive, false negative); 0 keeps none.
    pub max_errors: usize,
    /// Compute [`Report::rules`].
    pub by_rule: bool,
}

/// A rule counted on an error case, and where it matched.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleExcerpts {
    /// Rule id.
    pub rule: String,
    /// Each match with up to 60 characters of context on each side, the match in brackets, and
    /// `…` where the context was cut: `…before[match]after…`. For people; the article's own
    /// brackets are not escaped, so machines should read `spans`.
    pub excerpts: Vec<String>,
    /// The same matches: field, `[start, end)` in UTF-8 bytes of that field (end exclusive),
    /// and the original text.
    pub spans: Vec<crate::engine::Span>,
}

/// The evaluation of one set of labelled articles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Number of articles.
    pub articles: u64,
    /// Articles with a label for at least one topic of the rule set: the articles scored.
    pub labelled: u64,
    /// Per topic of the rule set that is labelled at least once, in rule-set order.
    pub topics: Vec<TopicReport>,
    /// Pooled over the scored topics; `None` (JSON `null`) when nothing was scored.
    pub micro: Option<Scores>,
    /// Unweighted mean over the scored topics; `None` (JSON `null`) when nothing was scored.
    #[serde(rename = "macro")]
    pub macro_: Option<Scores>,
    /// Label names that the rule set does not have (not scored).
    pub unknown_labels: Vec<String>,
    /// Up to `max_errors` false positives and false negatives per topic.
    pub errors: Vec<ErrorCase>,
    /// With [`EvalOptions::by_rule`]: every rule of a scored topic, in rule file order (rules
    /// that never fired included, with zero counts); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleReport>,
}

/// Classifies every article (in parallel) and scores the labels. Evidence is computed only when
/// `options` asks for errors or per-rule counts.
pub fn evaluate(engine: &Engine, articles: &[LabelledArticle], options: EvalOptions) -> Report {
    evaluate_with_progress(engine, articles, options, &|| {})
}

/// [`evaluate`], calling `tick` once per classified article (for a progress bar).
pub fn evaluate_with_progress(
    engine: &Engine,
    articles: &[LabelledArticle],
    eval_options: EvalOptions,
    tick: &(dyn Fn() + Sync),
) -> Report {
    let max_errors = eval_options.max_errors;
    let options = ClassifyOptions {
        evidence: max_errors > 0 || eval_options.by_rule,
        ..ClassifyOptions::default()
    };
    let results: Vec<Classification> = articles
        .par_iter()
        .map(|a| {
            let article = a.article();
            let result = engine
                .classify(&article, &options)
                .expect("options name no topics");
            tick();
            result
        })
        .collect();

    let topics = engine.topics();
    let mut counts = vec![Counts::default(); topics.len()];
    let mut errors: Vec<ErrorCase> = Vec::new();
    let mut error_count = vec![(0usize, 0usize); topics.len()];
    let mut unknown = std::collections::BTreeSet::new();
    let mut rules: Vec<RuleReport> = engine
        .rules()
        .map(|(rule, topic, weight)| RuleReport {
            rule: rule.to_owned(),
            topic: topic.to_owned(),
            weight,
            fired: 0,
            labelled_true: 0,
            labelled_false: 0,
            precision: None,
            decisive_tp: 0,
            decisive_fp: 0,
        })
        .collect();
    let rule_index: std::collections::HashMap<&str, usize> = engine
        .rules()
        .enumerate()
        .map(|(i, (rule, _, _))| (rule, i))
        .collect();
    let mut labelled = 0;
    for (a, result) in articles.iter().zip(&results) {
        for label in a.labels.keys() {
            if !topics.iter().any(|t| &t.id == label) {
                unknown.insert(label.clone());
            }
        }
        if topics.iter().any(|t| a.labels.contains_key(&t.id)) {
            labelled += 1;
        }
        for (t, topic) in topics.iter().enumerate() {
            let Some(&gold) = a.labels.get(&topic.id) else {
                continue;
            };
            let scored = result.topics.iter().find(|s| *s.topic == *topic.id);
            let predicted = scored.is_some_and(|s| s.label);
            if eval_options.by_rule {
                for (s, e) in scored
                    .iter()
                    .flat_map(|s| s.evidence.iter().map(move |e| (s, e)))
                {
                    let r = &mut rules[rule_index[&*e.rule_id]];
                    r.fired += 1;
                    if gold {
                        r.labelled_true += 1;
                    } else {
                        r.labelled_false += 1;
                    }
                    if s.label && s.score - e.weight < topic.threshold {
                        if gold {
                            r.decisive_tp += 1;
                        } else {
                            r.decisive_fp += 1;
                        }
                    }
                }
            }
            let c = &mut counts[t];
            match (gold, predicted) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.r#fn += 1,
                (false, false) => c.tn += 1,
            }
            if gold == predicted {
                continue;
            }
            let (fps, fns) = &mut error_count[t];
            let slot = if predicted { fps } else { fns };
            if *slot >= max_errors {
                continue;
            }
            *slot += 1;
            let rules = scored
                .map(|s| {
                    s.evidence
                        .iter()
                        .map(|e| {
                            let contexts = e
                                .spans
                                .iter()
                                .map(|span| {
                                    let text = match span.field {
                                        crate::Field::Title => &a.title,
                                        crate::Field::Body => &a.body,
                                    };
                                    context(text, span.start, span.end)
                                })
                                .collect();
                            RuleExcerpts {
                                rule: e.rule_id.to_string(),
                                excerpts: contexts,
                                spans: e.spans.clone(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            errors.push(ErrorCase {
                topic: topic.id.clone(),
                kind: if predicted {
                    "false_positive"
                } else {
                    "false_negative"
                },
                id: a.id.clone(),
                score: scored.map_or(0.0, |s| s.score),
                rules,
                excerpt: excerpt(&a.title, &a.body),
            });
        }
    }

    let ids: Vec<&str> = topics.iter().map(|t| t.id.as_str()).collect();
    let (reports, micro, macro_) = summarize(&ids, &counts);
    if eval_options.by_rule {
        for r in &mut rules {
            r.precision = (r.fired > 0).then(|| ratio(r.labelled_true, r.fired));
        }
        rules.retain(|r| reports.iter().any(|t| t.topic == r.topic));
    } else {
        rules.clear();
    }
    // Rule-file topic order, as in the table; false positives first, then false negatives.
    let rank = |e: &ErrorCase| {
        let topic = topics.iter().position(|t| t.id == e.topic);
        (topic, e.kind != "false_positive")
    };
    errors.sort_by_key(rank);
    Report {
        articles: articles.len() as u64,
        labelled,
        topics: reports,
        micro,
        macro_,
        unknown_labels: unknown.into_iter().collect(),
        errors,
        rules,
    }
}

/// Per-topic reports (topics with at least one labelled line, in the order of `topics`), and the
/// micro and macro averages over them (`None` when no topic has a labelled line).
fn summarize(
    topics: &[&str],
    counts: &[Counts],
) -> (Vec<TopicReport>, Option<Scores>, Option<Scores>) {
    let mut reports = Vec::new();
    let mut pooled = Counts::default();
    let mut sums = Scores::default();
    for (topic, c) in topics.iter().zip(counts) {
        if c.labelled() == 0 {
            continue;
        }
        pooled.add(c);
        let scores = Scores {
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
        };
        sums.precision += scores.precision;
        sums.recall += scores.recall;
        sums.f1 += scores.f1;
        reports.push(TopicReport {
            topic: (*topic).to_owned(),
            support: c.support(),
            labelled: c.labelled(),
            counts: *c,
            scores,
        });
    }
    if reports.is_empty() {
        return (reports, None, None);
    }
    let n = reports.len() as f64;
    let micro = Scores {
        precision: pooled.precision(),
        recall: pooled.recall(),
        f1: pooled.f1(),
    };
    let macro_ = Scores {
        precision: sums.precision / n,
        recall: sums.recall / n,
        f1: sums.f1 / n,
    };
    (reports, Some(micro), Some(macro_))
}

impl Report {
    /// The reports of several files pooled: counts added per topic (topics in the order they
    /// first appear), averages recomputed from the pooled counts, articles added; no error cases
    /// or per-rule rows. Each file's lines weigh alike, so a large file dominates the total.
    pub fn total(reports: &[&Report]) -> Report {
        let mut ids: Vec<&str> = Vec::new();
        let mut counts: Vec<Counts> = Vec::new();
        for report in reports {
            for t in &report.topics {
                match ids.iter().position(|id| *id == t.topic) {
                    Some(i) => counts[i].add(&t.counts),
                    None => {
                        ids.push(&t.topic);
                        counts.push(t.counts);
                    }
                }
            }
        }
        let (topics, micro, macro_) = summarize(&ids, &counts);
        let mut unknown: Vec<String> = reports
            .iter()
            .flat_map(|r| r.unknown_labels.iter().cloned())
            .collect();
        unknown.sort();
        unknown.dedup();
        Report {
            articles: reports.iter().map(|r| r.articles).sum(),
            labelled: reports.iter().map(|r| r.labelled).sum(),
            topics,
            micro,
            macro_,
            unknown_labels: unknown,
            errors: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// `…before[match]after…` with up to 60 characters of context on each side (UTF-8 offsets).
fn context(text: &str, start: usize, end: usize) -> String {
    const CONTEXT: usize = 60;
    let before: String = {
        let chars: Vec<char> = text[..start].chars().rev().take(CONTEXT).collect();
        chars.into_iter().rev().collect()
    };
    let after: String = text[end..].chars().take(CONTEXT).collect();
    // An ellipsis only where the context was cut.
    let cut_before = if before.len() < start { "…" } else { "" };
    let cut_after = if after.len() < text.len() - end {
        "…"
    } else {
        ""
    };
    let clean = |s: &str| s.replace(['\n', '\r'], " ");
    format!(
        "{cut_before}{}[{}]{}{cut_after}",
        clean(&before),
        clean(&text[start..end]),
        clean(&after)
    )
}

fn excerpt(title: &str, body: &str) -> String {
    let text = if title.is_empty() {
        body.to_owned()
    } else {
        format!("{title} | {body}")
    };
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_scores() {
        let c = Counts {
            tp: 3,
            fp: 1,
            r#fn: 2,
            tn: 4,
        };
        assert_eq!(c.support(), 5);
        assert_eq!(c.precision(), 0.75);
        assert_eq!(c.recall(), 0.6);
        assert!((c.f1() - 2.0 * 0.75 * 0.6 / 1.35).abs() < 1e-12);
        assert_eq!(Counts::default().f1(), 0.0);
    }

    #[test]
    fn context_marks_the_match_and_cuts_only_where_it_cuts() {
        // Nothing cut: no ellipsis (second fresh-user review, 2026-11-30).
        assert_eq!(context("a b c", 2, 3), "a [b] c");
        let long = format!("{}x{}", "é".repeat(70), "b".repeat(70));
        let at = "é".repeat(70).len();
        let shown = context(&long, at, at + 1);
        assert_eq!(shown, format!("…{}[x]{}…", "é".repeat(60), "b".repeat(60)));
        assert_eq!(context("ab", 0, 1), "[a]b");
    }
}
