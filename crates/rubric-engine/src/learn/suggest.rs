//! `rubric suggest`: what to add to or exclude from a hand-written rule file, judged on labelled
//! lines.
//!
//! 1. The rules classify every line labelled for the topic; the lines are split into a training
//!    and a validation part as [`learn_topic`](super::learn_topic) splits them.
//! 2. Candidate words, phrases, wildcards and named lists of the rule file are mined from the
//!    training part's false negatives (for a new rule) and false positives (for an `AND NOT`
//!    exclusion on a rule that counted there); the engine computes on which lines each fires.
//! 3. Each candidate is scored as a change: a new rule of weight = the topic's threshold (so it
//!    labels a line on its own), or an exclusion that removes a rule's weight from the lines where
//!    the candidate occurs. A candidate must fix at least `min_lines` training lines (it finds
//!    vocabulary, not single lines) and raise training F1.
//! 4. The best are ranked by validation F1 (then training F1), and the leading ones are checked
//!    by compiling the changed rule file and classifying again with the engine: the counts
//!    reported are the engine's, not the estimate's.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::features::{feature_engine, featurize, mine, postings, toml_string, Feature};
use super::{counts, split, LearnError, MineOptions};
use crate::engine::{ClassifyOptions, Engine};
use crate::eval::{Counts, LabelledArticle};
use crate::rules::{parse_query, QueryOrigin, Rule, RuleSet};
use crate::text::NormalizeOptions;

/// Options of [`suggest`].
#[derive(Clone, Debug)]
pub struct SuggestOptions {
    /// Candidate mining; `min_lines` is the fewest training lines a suggestion must fix.
    pub mine: MineOptions,
    /// Every n-th line of each class is for validation. Default 5.
    pub validation_every: usize,
    /// How many suggestions to return. Default 10.
    pub top: usize,
    /// Excerpts per suggestion. Default 3.
    pub excerpts: usize,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            mine: MineOptions::default(),
            validation_every: 5,
            top: 10,
            excerpts: 3,
        }
    }
}

/// What a suggestion changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Change {
    /// A new rule of the topic.
    AddRule {
        /// The new rule's id.
        rule_id: String,
        /// Its weight: the topic's threshold.
        weight: f64,
    },
    /// `AND NOT` the candidate, on a rule that counted on false positives.
    Exclude {
        /// The rule changed.
        rule_id: String,
        /// Its new query.
        query: String,
    },
}

/// Counts before and after a change.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BeforeAfter {
    /// With the rules as they are.
    pub before: Counts,
    /// With the change.
    pub after: Counts,
    /// F1 before.
    pub f1_before: f64,
    /// F1 after.
    pub f1_after: f64,
}

impl BeforeAfter {
    fn new(before: Counts, after: Counts) -> BeforeAfter {
        BeforeAfter {
            before,
            after,
            f1_before: before.f1(),
            f1_after: after.f1(),
        }
    }
}

/// A line the change fixes, with the candidate's match marked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Excerpt {
    /// The line's id.
    pub id: String,
    /// Up to about 40 characters either side of the match, the match in `«»`.
    pub text: String,
}

/// One suggested change, checked with the engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// What changes.
    pub change: Change,
    /// The literal: its kind (`word`, `phrase`, `wildcard`, `list`, `list-entry`).
    pub literal_kind: &'static str,
    /// The literal's query.
    pub literal: String,
    /// The TOML to paste (a new `[[rules]]` table, or the changed rule's `query` line).
    pub toml: String,
    /// Training part, by the engine.
    pub training: BeforeAfter,
    /// Validation part, by the engine.
    pub validation: BeforeAfter,
    /// Training lines fixed (false negatives made true, or false positives made false).
    pub fixed_lines: usize,
    /// Training lines the change breaks (true negatives made positive, true positives lost).
    pub broken_lines: usize,
    /// Lines it fixes, with the match marked.
    pub excerpts: Vec<Excerpt>,
}

/// The result of [`suggest`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestions {
    /// The topic.
    pub topic: String,
    /// The rules as they are, on the training part.
    pub training: Counts,
    /// The rules as they are, on the validation part.
    pub validation: Counts,
    /// Candidates scored.
    pub candidates: usize,
    /// Best first.
    pub suggestions: Vec<Suggestion>,
}

/// One line's result under the rules: score, label, and the rules of the topic that counted.
struct Line {
    score: f64,
    label: bool,
    counted: Vec<(usize, f64)>,
}

/// A scored candidate change before the engine checks it.
struct Estimate {
    feature: usize,
    /// `None` for a new rule, else the rule (index in the rule set) excluded.
    exclude: Option<usize>,
    training: Counts,
    validation: Counts,
    fixed: usize,
}

fn classify_all(
    engine: &Engine,
    topic: &str,
    lines: &[&LabelledArticle],
    rule_index: &BTreeMap<&str, usize>,
) -> Vec<Line> {
    use rayon::prelude::*;
    let options = ClassifyOptions {
        topics: vec![topic.to_owned()],
        ..Default::default()
    };
    lines
        .par_iter()
        .map(|a| {
            let article = a.article();
            let result = engine.classify(&article, &options).ok();
            let t = result.as_ref().and_then(|r| r.topics.first());
            Line {
                score: t.map_or(0.0, |t| t.score),
                label: t.is_some_and(|t| t.label),
                counted: t.map_or(Vec::new(), |t| {
                    t.evidence
                        .iter()
                        .filter_map(|e| Some((*rule_index.get(&*e.rule_id)?, e.weight)))
                        .collect()
                }),
            }
        })
        .collect()
}

/// Suggests changes to `rules` (loaded from `set`, as `engine`) for `topic`, judged on `lines`.
/// `origin` names the rule file in messages.
///
/// # Errors
/// [`LearnError`] as [`learn_topic`](super::learn_topic), and [`LearnError::NotLabelled`] also
/// when the rule set has no such topic.
pub fn suggest(
    set: &RuleSet,
    engine: &Engine,
    lines: &[LabelledArticle],
    topic: &str,
    options: &SuggestOptions,
) -> Result<Suggestions, LearnError> {
    let Some(topic_def) = set.topics.iter().find(|t| t.id == topic) else {
        return Err(LearnError::Features(format!(
            "the rules have no topic `{topic}`; they have: {}",
            set.topics
                .iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let every = options.validation_every.max(2);
    let [(train, train_gold), (valid, valid_gold)] = split(lines, topic, every);
    let all_gold: Vec<bool> = train_gold.iter().chain(&valid_gold).copied().collect();
    super::check_classes(lines, topic, &all_gold, 2)?;
    let rule_index: BTreeMap<&str, usize> = set
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let train_lines = classify_all(engine, topic, &train, &rule_index);
    let valid_lines = classify_all(engine, topic, &valid, &rule_index);
    let training = counts(&train_gold, train_lines.iter().map(|l| l.label));
    let validation = counts(&valid_gold, valid_lines.iter().map(|l| l.label));

    // Candidates from the training errors.
    let normalize = NormalizeOptions {
        accent_sensitive: set.accent_sensitive,
    };
    let mine_options = MineOptions {
        min_lines: options.mine.min_lines.max(1),
        ..options.mine.clone()
    };
    let errors = |want_gold: bool| -> Vec<&LabelledArticle> {
        train
            .iter()
            .zip(&train_gold)
            .zip(&train_lines)
            .filter(|((_, &g), l)| g == want_gold && l.label != g)
            .map(|((a, _), _)| *a)
            .collect()
    };
    let mut candidates = mine(&errors(true), None, &mine_options, normalize);
    candidates.extend(mine(&errors(false), None, &mine_options, normalize));
    candidates.extend(set.lists.iter().map(|l| Feature::list(&l.name)));
    candidates.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.query.cmp(&b.query)));
    candidates.dedup_by(|a, b| a.query == b.query);
    let candidate_count = candidates.len();
    let (features_engine, candidates) =
        feature_engine(candidates, Some(set)).map_err(LearnError::Features)?;
    let train_rows = featurize(&features_engine, &train);
    let valid_rows = featurize(&features_engine, &valid);

    // Estimates: the lines each candidate fires on, and the rules that counted there.
    let fires_train = postings(&train_rows, candidates.len());
    let fires_valid = postings(&valid_rows, candidates.len());
    let threshold = topic_def.threshold;
    let estimate = |lines: &[Line], gold: &[bool], fires: &[u32], exclude: Option<usize>| {
        let mut labels: Vec<bool> = lines.iter().map(|l| l.label).collect();
        for i in fires.iter().map(|&i| i as usize) {
            labels[i] = match exclude {
                None => true,
                Some(r) => match lines[i].counted.iter().find(|c| c.0 == r) {
                    Some(&(_, w)) => lines[i].score - w >= threshold,
                    None => lines[i].label,
                },
            };
        }
        counts(gold, labels.into_iter())
    };
    let mut estimates = Vec::new();
    for f in 0..candidates.len() {
        let on_train = &fires_train[f];
        // A new rule.
        let fixed = on_train
            .iter()
            .filter(|&&i| train_gold[i as usize] && !train_lines[i as usize].label)
            .count();
        if fixed >= mine_options.min_lines {
            let t = estimate(&train_lines, &train_gold, on_train, None);
            if t.f1() > training.f1() {
                estimates.push(Estimate {
                    feature: f,
                    exclude: None,
                    training: t,
                    validation: estimate(&valid_lines, &valid_gold, &fires_valid[f], None),
                    fixed,
                });
            }
        }
        // Exclusions on the rules that counted on false positives where it fires.
        let mut by_rule: BTreeMap<usize, usize> = BTreeMap::new();
        for i in on_train.iter().map(|&i| i as usize) {
            let l = &train_lines[i];
            if !train_gold[i] && l.label {
                for &(r, w) in &l.counted {
                    if w > 0.0 && l.score - w < threshold {
                        *by_rule.entry(r).or_default() += 1;
                    }
                }
            }
        }
        for (r, fixed) in by_rule {
            if fixed < mine_options.min_lines {
                continue;
            }
            let t = estimate(&train_lines, &train_gold, on_train, Some(r));
            if t.f1() > training.f1() {
                estimates.push(Estimate {
                    feature: f,
                    exclude: Some(r),
                    training: t,
                    validation: estimate(&valid_lines, &valid_gold, &fires_valid[f], Some(r)),
                    fixed,
                });
            }
        }
    }
    let rank = |a: &Estimate, b: &Estimate| {
        b.validation
            .f1()
            .total_cmp(&a.validation.f1())
            .then_with(|| b.training.f1().total_cmp(&a.training.f1()))
            .then_with(|| b.fixed.cmp(&a.fixed))
            .then_with(|| {
                simplicity(&candidates[a.feature]).cmp(&simplicity(&candidates[b.feature]))
            })
            .then_with(|| a.exclude.cmp(&b.exclude))
    };
    estimates.sort_by(rank);
    // Of candidates that fire on the same lines ("food", "food parcels", "food parcels handed"
    // on data where they always come together), only the simplest is shown for each change.
    let mut seen = BTreeSet::new();
    estimates
        .retain(|e| seen.insert((e.exclude, &fires_train[e.feature], &fires_valid[e.feature])));

    // The leading estimates, checked with the engine on the changed rule file.
    let mut suggestions = Vec::new();
    let mut ids: BTreeSet<String> = set.rules.iter().map(|r| r.id.clone()).collect();
    for e in estimates.iter().take(options.top.saturating_mul(3)) {
        let feature = &candidates[e.feature];
        let Some((changed, change, toml)) =
            apply(set, topic, threshold, feature, e.exclude, &mut ids)
        else {
            continue;
        };
        let Ok(changed_engine) = Engine::new(changed) else {
            continue;
        };
        // An exclusion of what the rule itself requires (`"to" AND NOT "to"`) never fires.
        if changed_engine
            .warnings()
            .iter()
            .any(|w| w.code == "unsatisfiable")
        {
            continue;
        }
        let t_lines = classify_all(&changed_engine, topic, &train, &rule_index);
        let v_lines = classify_all(&changed_engine, topic, &valid, &rule_index);
        let t_after = counts(&train_gold, t_lines.iter().map(|l| l.label));
        let v_after = counts(&valid_gold, v_lines.iter().map(|l| l.label));
        if t_after.f1() <= training.f1() {
            continue; // the estimate was wrong (overlaps): not an improvement after all
        }
        let fixed_lines: Vec<usize> = (0..train.len())
            .filter(|&i| train_lines[i].label != train_gold[i] && t_lines[i].label == train_gold[i])
            .collect();
        let broken = (0..train.len())
            .filter(|&i| train_lines[i].label == train_gold[i] && t_lines[i].label != train_gold[i])
            .count();
        let excerpts = fixed_lines
            .iter()
            .filter_map(|&i| excerpt(&features_engine, e.feature, train[i]))
            .take(options.excerpts)
            .collect();
        suggestions.push(Suggestion {
            change,
            literal_kind: feature.kind.name(),
            literal: feature.query.clone(),
            toml,
            training: BeforeAfter::new(training, t_after),
            validation: BeforeAfter::new(validation, v_after),
            fixed_lines: fixed_lines.len(),
            broken_lines: broken,
            excerpts,
        });
    }
    suggestions.sort_by(|a, b| {
        b.validation
            .f1_after
            .total_cmp(&a.validation.f1_after)
            .then_with(|| b.training.f1_after.total_cmp(&a.training.f1_after))
            .then_with(|| b.fixed_lines.cmp(&a.fixed_lines))
            .then_with(|| {
                let key = |l: &str| (l.split_whitespace().count(), l.len(), l.to_owned());
                key(&a.literal).cmp(&key(&b.literal))
            })
    });
    suggestions.truncate(options.top);
    Ok(Suggestions {
        topic: topic.to_owned(),
        training,
        validation,
        candidates: candidate_count,
        suggestions,
    })
}

/// Ordering key of candidates that change the same lines: fewest words, then shortest, then
/// by text.
fn simplicity(f: &Feature) -> (usize, usize, &str) {
    (f.query.split_whitespace().count(), f.query.len(), &f.query)
}

/// The rule set with the change applied, the change, and its TOML.
fn apply(
    set: &RuleSet,
    topic: &str,
    threshold: f64,
    feature: &Feature,
    exclude: Option<usize>,
    ids: &mut BTreeSet<String>,
) -> Option<(RuleSet, Change, String)> {
    let mut changed = set.clone();
    match exclude {
        None => {
            let base: String = feature
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let mut id = format!("{topic}.suggested.{base}");
            let mut n = 1;
            while ids.contains(&id) {
                n += 1;
                id = format!("{topic}.suggested.{base}-{n}");
            }
            let expr = parse_query(&feature.query).ok()?;
            changed.rules.push(Rule {
                id: id.clone(),
                topic: topic.to_owned(),
                query: feature.query.clone(),
                expr,
                weight: threshold,
                description: String::new(),
                matches: Vec::new(),
                no_matches: Vec::new(),
                id_span: 0..0,
                query_origin: QueryOrigin { span: 0..0 },
            });
            let toml = format!(
                "[[rules]]\nid = {}\ntopic = {}\nquery = {}\nweight = {threshold:?}",
                toml_string(&id),
                toml_string(topic),
                super::write::toml_query(&feature.query)
            );
            Some((
                changed,
                Change::AddRule {
                    rule_id: id,
                    weight: threshold,
                },
                toml,
            ))
        }
        Some(r) => {
            let rule = &mut changed.rules[r];
            let query = format!("({}) AND NOT {}", rule.query, feature.query);
            rule.expr = parse_query(&query).ok()?;
            rule.query = query.clone();
            // Its examples stay: a change that breaks one does not compile and is not suggested.
            let rule_id = rule.id.clone();
            let toml = format!(
                "# in [[rules]] id = {}:\nquery = {}",
                toml_string(&rule_id),
                super::write::toml_query(&query)
            );
            Some((changed, Change::Exclude { rule_id, query }, toml))
        }
    }
}

/// Up to ~40 characters either side of the first match of feature `f` in `article`, the match
/// marked `«»`; `None` when it does not match (it always does on the lines it fired on).
fn excerpt(engine: &Engine, f: usize, article: &LabelledArticle) -> Option<Excerpt> {
    let (rule_id, _, _) = engine.rules().nth(f)?;
    let result = engine
        .classify(&article.article(), &ClassifyOptions::default())
        .ok()?;
    let span = result
        .topics
        .iter()
        .flat_map(|t| &t.evidence)
        .find(|e| &*e.rule_id == rule_id)?
        .spans
        .first()?
        .clone();
    let text = match span.field {
        crate::Field::Title => &article.title,
        crate::Field::Body => &article.body,
    };
    let before = &text[..span.start];
    let after = &text[span.end..];
    let cut_start = before.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
    let cut_end = after.char_indices().nth(40).map_or(after.len(), |(i, _)| i);
    // Whitespace runs (newlines included) as one space, so an excerpt is one line.
    let one_line = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if !c.is_whitespace() {
                out.push(c);
            } else if !out.ends_with(' ') {
                out.push(' ');
            }
        }
        out
    };
    Some(Excerpt {
        id: article.id.clone(),
        text: format!(
            "{}{}«{}»{}{}",
            if cut_start > 0 { "…" } else { "" },
            one_line(&before[cut_start..]),
            one_line(&span.text),
            one_line(&after[..cut_end]),
            if cut_end < after.len() { "…" } else { "" },
        ),
    })
}
