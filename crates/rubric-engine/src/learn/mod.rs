//! Rules from labelled examples: `rubric learn` (weighted rules for a topic, fitted to labelled
//! lines) and `rubric suggest` (what to add to or exclude from hand-written rules).
//!
//! rubric's scoring is a linear model over Boolean features: a topic's score is the sum of the
//! weights of its rules that fired, compared with a threshold. With `count_overlaps = true` on
//! the topic (which a learned file sets) that sum is exactly `Σ w_j x_j`, where `x_j` is 1 when
//! rule `j` fires, so a logistic regression over rule features is a rule file:
//!
//! 1. **Lines.** The lines labelled for the topic (a missing label is unknown and left out),
//!    each in one of `folds` stratified folds (the i-th line of each class, in input order, is
//!    in fold `i mod folds`).
//! 2. **Features** ([`features`]): candidate words, phrases and wildcards mined from the lines,
//!    plus the lists, list entries and rules of a base rule file; the engine itself computes on
//!    which lines each fires, and those in fewer than `min_lines` lines are dropped.
//! 3. **Model** ([`model`]): with base rules for the topic, their score (the sum of the weights
//!    of those that fire) is a fixed, unpenalised offset of the model, scaled by the factor of a
//!    one-feature logistic regression, so the learned rules correct the hand-written ones.
//!    L1-regularised (or elastic-net) logistic regression along a path of penalties on all
//!    lines, stopped where a point would have more than `max_rules` rules (the base rules of the
//!    topic count); then the same penalties on each fold's complement (glmnet's `cv.glmnet`).
//! 4. **Choice.** For each penalty, the held-out log-odds of all folds are pooled and the cut
//!    that maximises F1 is found; the penalty with the best F1 wins (ties: fewer rules). The
//!    model fitted on all lines at that penalty is written: weights rounded to four decimals,
//!    threshold = cut − intercept (the intercept is the score of a line where no rule fires).
//!
//! The result ([`LearnedTopic`]) is written as an ordinary rule file by [`write`]. Everything is
//! deterministic: the same lines and options give the same file, byte for byte.

pub mod features;
pub mod model;
pub mod suggest;
pub mod write;

use std::fmt;

use crate::eval::{Counts, LabelledArticle};
use crate::rules::RuleSet;
use crate::text::NormalizeOptions;

use self::features::{feature_engine, featurize, mine, Feature, MineOptions};
use self::model::{decision, fit_path_with_offset, Design, ModelError, PathOptions};

/// Options of [`learn_topic`].
#[derive(Clone, Debug)]
pub struct LearnOptions {
    /// Candidate mining.
    pub mine: MineOptions,
    /// Most rules of the learned topic (nonzero weights). Default 300.
    pub max_rules: usize,
    /// Cross-validation folds that choose the penalty and the threshold. Default 5.
    pub folds: usize,
    /// Elastic-net mixing: 1.0 is the lasso (L1), smaller adds an L2 part. Default 1.0.
    pub l1_ratio: f64,
    /// Weight the classes inversely to their frequency in the training part (as scikit-learn's
    /// `class_weight="balanced"`). Default false.
    pub balanced: bool,
    /// Points on the regularisation path. Default 60.
    pub lambdas: usize,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            mine: MineOptions::default(),
            max_rules: 300,
            folds: 5,
            l1_ratio: 1.0,
            balanced: false,
            lambdas: 60,
        }
    }
}

/// Why a topic cannot be learned.
#[derive(Debug)]
pub enum LearnError {
    /// The data files hold no line at all.
    NoLines,
    /// No line has a label for the topic; `labelled` lists the topics that some line has.
    NotLabelled {
        /// The topic asked for.
        topic: String,
        /// The topics the lines are labelled with, sorted.
        labelled: Vec<String>,
    },
    /// Every labelled line has the same label.
    OneClass {
        /// The topic.
        topic: String,
        /// The one label all lines have.
        label: bool,
        /// How many lines.
        lines: usize,
    },
    /// A class has fewer lines than there are folds (or parts).
    TooFew {
        /// The topic.
        topic: String,
        /// Lines labelled true.
        positives: usize,
        /// Lines labelled false.
        negatives: usize,
        /// Lines needed of each class.
        needed: usize,
    },
    /// No candidate occurs in enough training lines.
    NoFeatures {
        /// The topic.
        topic: String,
        /// The `min_lines` asked for.
        min_lines: usize,
    },
    /// The candidate features could not be compiled.
    Features(String),
    /// The optimiser rejected its input.
    Model(ModelError),
}

impl fmt::Display for LearnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LearnError::NoLines => f.write_str("the data files hold no line: give labelled JSON Lines"),
            LearnError::NotLabelled { topic, labelled } if labelled.is_empty() => write!(
                f,
                "no line has a label for topic `{topic}`, and no line has any label: the data must be labelled JSON Lines, {{\"id\",\"title\",\"body\",\"labels\":{{\"{topic}\":true}}}}"
            ),
            LearnError::NotLabelled { topic, labelled } => write!(
                f,
                "no line has a label for topic `{topic}`; the lines are labelled for: {}",
                labelled.join(", ")
            ),
            LearnError::OneClass { topic, label, lines } => write!(
                f,
                "all {lines} lines labelled for `{topic}` say {label}: learning needs lines of both classes"
            ),
            LearnError::TooFew { topic, positives, negatives, needed } => write!(
                f,
                "topic `{topic}` has {positives} lines labelled true and {negatives} labelled false: this needs at least {needed} of each (one per fold, or per part)"
            ),
            LearnError::NoFeatures { topic, min_lines } => write!(
                f,
                "no word, phrase or rule occurs in at least {min_lines} training lines of `{topic}`: give more data or a smaller --min-lines"
            ),
            LearnError::Features(message) => f.write_str(message),
            LearnError::Model(e) => write!(f, "the model cannot be fitted: {e}"),
        }
    }
}

impl std::error::Error for LearnError {}

/// One learned rule: a feature and its weight.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedRule {
    /// What the rule matches.
    pub feature: Feature,
    /// Its weight, rounded to four decimals; never 0, may be negative.
    pub weight: f64,
    /// Training lines it fires on.
    pub lines: usize,
    /// Of those, lines labelled true.
    pub positive_lines: usize,
}

/// A topic learned from labelled lines.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedTopic {
    /// The topic id.
    pub topic: String,
    /// Score at or above which the topic is labelled (> 0).
    pub threshold: f64,
    /// The rules, heaviest first (positive weights, then negative), ties by query.
    pub rules: Vec<LearnedRule>,
    /// Confusion counts of the learned rules on all the labelled lines they were fitted to.
    pub training: Counts,
    /// Pooled confusion counts of the held-out folds at the chosen penalty and cut (each line
    /// labelled by a model fitted without it). The same folds chose the penalty and the cut, so
    /// they are a little optimistic; `scripts/crossval.py` measures the method on folds it never
    /// saw.
    pub cross_validation: Counts,
    /// Number of folds.
    pub folds: usize,
    /// The model labels a line where no rule fires as true (most lines are), which a rule file
    /// cannot say (a threshold is > 0): the threshold was raised to 0.0001, so such lines are
    /// labelled false and `training` is worse than `cross_validation`.
    pub threshold_clamped: bool,
    /// Candidate features mined.
    pub candidates: usize,
    /// Features in at least `min_lines` training lines (what the model chose from).
    pub features: usize,
    /// The penalty of the chosen path point.
    pub lambda: f64,
}

/// The lines of `lines` labelled for `topic`, split into (training, validation) with their
/// labels: fold 0 of [`labelled`] with `every` folds is for validation (the first line of each
/// class and every `every`-th after it, so with two lines of a class each part has one).
fn split<'a>(
    lines: &'a [LabelledArticle],
    topic: &str,
    every: usize,
) -> [(Vec<&'a LabelledArticle>, Vec<bool>); 2] {
    let (rows, gold, fold) = labelled(lines, topic, every);
    let mut parts: [(Vec<&LabelledArticle>, Vec<bool>); 2] = Default::default();
    for ((article, label), fold) in rows.into_iter().zip(gold).zip(fold) {
        let part = usize::from(fold == 0);
        parts[part].0.push(article);
        parts[part].1.push(label);
    }
    parts
}

/// Errors for a topic that no line is labelled for, or with fewer lines of a class than
/// `min_each` (one per fold, or one per part).
fn check_classes(
    lines: &[LabelledArticle],
    topic: &str,
    gold: &[bool],
    min_each: usize,
) -> Result<(), LearnError> {
    let positives = gold.iter().filter(|&&g| g).count();
    let total = gold.len();
    if lines.is_empty() {
        return Err(LearnError::NoLines);
    }
    if total == 0 {
        let mut labelled: Vec<String> = lines
            .iter()
            .flat_map(|a| a.labels.keys().cloned())
            .collect();
        labelled.sort();
        labelled.dedup();
        return Err(LearnError::NotLabelled {
            topic: topic.to_owned(),
            labelled,
        });
    }
    if positives == 0 || positives == total {
        return Err(LearnError::OneClass {
            topic: topic.to_owned(),
            label: positives > 0,
            lines: total,
        });
    }
    if positives < min_each || total - positives < min_each {
        return Err(LearnError::TooFew {
            topic: topic.to_owned(),
            positives,
            negatives: total - positives,
            needed: min_each,
        });
    }
    Ok(())
}

/// Confusion counts of `predicted` against `gold`.
fn counts(gold: &[bool], predicted: impl Iterator<Item = bool>) -> Counts {
    let mut c = Counts::default();
    for (&g, p) in gold.iter().zip(predicted) {
        match (g, p) {
            (true, true) => c.tp += 1,
            (false, true) => c.fp += 1,
            (true, false) => c.r#fn += 1,
            (false, false) => c.tn += 1,
        }
    }
    c
}

/// `x` rounded to four decimals, as written to the file.
fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The cut on `scores` (log-odds) that maximises F1 of `score >= cut` on `gold`, with its
/// counts; ties go to the higher cut. Cuts lie halfway between consecutive distinct scores (and
/// above the highest and below the lowest), so no score sits on one. One sort and one sweep:
/// O(n log n).
fn best_cut(scores: &[f64], gold: &[bool]) -> (f64, Counts) {
    let mut order: Vec<(f64, bool)> = scores.iter().copied().zip(gold.iter().copied()).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = gold.iter().filter(|&&g| g).count() as u64;
    let negatives = gold.len() as u64 - positives;
    let at = |tp: u64, fp: u64| Counts {
        tp,
        fp,
        r#fn: positives - tp,
        tn: negatives - fp,
    };
    // Nothing predicted true: a cut above every score.
    let top = order.first().map_or(0.0, |o| o.0);
    let mut best = (top.max(0.0) + 1.0, at(0, 0));
    let (mut tp, mut fp) = (0, 0);
    for i in 0..order.len() {
        if order[i].1 {
            tp += 1;
        } else {
            fp += 1;
        }
        let here = order[i].0;
        let next = order.get(i + 1).map(|o| o.0);
        if next == Some(here) {
            continue; // a cut cannot split equal scores
        }
        let t = match next {
            Some(next) => (here + next) / 2.0,
            None => here - 1.0,
        };
        let below = next.unwrap_or(f64::NEG_INFINITY);
        if !(t < here - 1e-9 && t > below + 1e-9) {
            continue;
        }
        let c = at(tp, fp);
        // Strictly better only: going down, cuts fall, so ties keep the higher one.
        if c.f1() > best.1.f1() {
            best = (t, c);
        }
    }
    best
}

/// The lines labelled for `topic`, with their labels and their cross-validation folds: the
/// i-th line of each class (in input order) is in fold `i % folds`, so the folds are stratified.
fn labelled<'a>(
    lines: &'a [LabelledArticle],
    topic: &str,
    folds: usize,
) -> (Vec<&'a LabelledArticle>, Vec<bool>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut gold = Vec::new();
    let mut fold = Vec::new();
    let mut seen = [0usize; 2];
    for article in lines {
        if let Some(&label) = article.labels.get(topic) {
            let n = &mut seen[label as usize];
            fold.push(*n % folds);
            *n += 1;
            rows.push(article);
            gold.push(label);
        }
    }
    (rows, gold, fold)
}

/// The design of the rows `keep` (in order) of `rows` (each row's sorted feature columns).
fn design_of(rows: &[Vec<u32>], keep: &[usize], columns: usize) -> Design {
    let mut out = vec![Vec::new(); columns];
    for (i, &r) in keep.iter().enumerate() {
        for &c in &rows[r] {
            out[c as usize].push(i as u32);
        }
    }
    Design {
        rows: keep.len(),
        columns: out,
    }
}

/// The factor `a` of the one-feature logistic regression `logit P(y) = b + a · s` (weighted),
/// by Newton's method: how much the base rules' score `s` is worth in log-odds. 0 when it does
/// not converge to a finite value.
fn scale_of(s: &[f64], gold: &[bool], weights: Option<&[f64]>) -> f64 {
    let (mut b, mut a) = (0.0f64, 0.0f64);
    for _ in 0..100 {
        let (mut gb, mut ga, mut hbb, mut hab, mut haa) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, (&x, &y)) in s.iter().zip(gold).enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            let p = 1.0 / (1.0 + (-(b + a * x)).exp());
            let r = p - f64::from(u8::from(y));
            let v = w * p * (1.0 - p);
            gb += w * r;
            ga += w * r * x;
            hbb += v;
            hab += v * x;
            haa += v * x * x;
        }
        // A small ridge keeps the step finite when the score separates the classes.
        let (hbb, haa) = (hbb + 1e-6, haa + 1e-6);
        let det = hbb * haa - hab * hab;
        if det.is_nan() || det <= 0.0 {
            break;
        }
        let db = (haa * gb - hab * ga) / det;
        let da = (hbb * ga - hab * gb) / det;
        b -= db.clamp(-5.0, 5.0);
        a -= da.clamp(-5.0, 5.0);
        if db.abs() < 1e-10 && da.abs() < 1e-10 {
            break;
        }
    }
    if a.is_finite() {
        a
    } else {
        0.0
    }
}

/// Per-row sample weights: with `balanced`, `n / (2 · n_class)` (scikit-learn's
/// `class_weight="balanced"`), else `None` (all 1).
fn class_weights(gold: &[bool], balanced: bool) -> Option<Vec<f64>> {
    balanced.then(|| {
        let pos = gold.iter().filter(|&&g| g).count() as f64;
        let neg = gold.len() as f64 - pos;
        let n = gold.len() as f64;
        gold.iter()
            .map(|&g| if g { n / (2.0 * pos) } else { n / (2.0 * neg) })
            .collect()
    })
}

/// Learns weighted rules for `topic` from `lines`, optionally on top of the rules, lists and
/// list entries of `base` (whose accent setting it then uses). See the module doc for how.
///
/// # Errors
/// [`LearnError`]: the topic is not labelled, has one class only or too few lines of a class, no
/// candidate is frequent enough, or the optimiser rejects its input.
pub fn learn_topic(
    lines: &[LabelledArticle],
    topic: &str,
    base: Option<&RuleSet>,
    options: &LearnOptions,
) -> Result<LearnedTopic, LearnError> {
    let folds = options.folds.clamp(2, 100);
    let (rows, gold, fold_of) = labelled(lines, topic, folds);
    check_classes(lines, topic, &gold, folds)?;

    // Features, computed by the engine on every labelled line.
    let normalize = NormalizeOptions {
        accent_sensitive: base.is_some_and(|b| b.accent_sensitive),
    };
    let candidates = mine(&rows, base, &options.mine, normalize);
    let candidate_count = candidates.len();
    let (engine, candidates) = feature_engine(candidates, base).map_err(LearnError::Features)?;
    let all_rows = featurize(&engine, &rows);
    let mut fired_on = features::postings(&all_rows, candidates.len());
    let line_counts: Vec<usize> = fired_on.iter().map(Vec::len).collect();
    let positive_counts: Vec<usize> = fired_on
        .iter()
        .map(|lines| lines.iter().filter(|&&i| gold[i as usize]).count())
        .collect();
    // Keep what fires on enough lines (a base rule or list: on any).
    let kept: Vec<usize> = (0..candidates.len())
        .filter(|&f| {
            let min = match candidates[f].kind {
                features::FeatureKind::BaseRule | features::FeatureKind::List => 1,
                _ => options.mine.min_lines.max(1),
            };
            line_counts[f] >= min
        })
        .collect();
    // Of features that fire on exactly the same lines (`disaster` as a list entry and as a
    // word, `oper*` and `operat*` on these lines), the data cannot tell one from the other:
    // keep the first (base rules first, then lists, entries, words, phrases, wildcards), so the
    // file has no duplicate queries and no weight split between twins.
    let mut seen = std::collections::BTreeSet::new();
    let kept: Vec<usize> = kept
        .into_iter()
        .filter(|&f| seen.insert(std::mem::take(&mut fired_on[f])))
        .collect();
    drop(seen);
    if kept.is_empty() {
        return Err(LearnError::NoFeatures {
            topic: topic.to_owned(),
            min_lines: options.mine.min_lines,
        });
    }
    let mut column_of = vec![u32::MAX; candidates.len()];
    for (column, &f) in kept.iter().enumerate() {
        column_of[f] = column as u32;
    }
    let rows_x: Vec<Vec<u32>> = all_rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|&f| column_of[f as usize])
                .filter(|&c| c != u32::MAX)
                .collect()
        })
        .collect();

    // With base rules for the topic: their score, as written (count_overlaps: every fired rule
    // adds its weight), is a fixed, unpenalised part of the model (an offset, scaled by a
    // fitted factor), so learning corrects the hand-written rules instead of rebuilding them.
    let mut by_query: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, f) in candidates.iter().enumerate() {
        by_query.entry(f.query.as_str()).or_insert(i);
    }
    let base_rules: Vec<(&crate::rules::Rule, Option<usize>)> = base
        .map(|b| {
            b.rules
                .iter()
                .filter(|r| r.topic == topic)
                .map(|r| (r, by_query.get(r.query.as_str()).copied()))
                .collect()
        })
        .unwrap_or_default();
    let mut base_weight = vec![0.0; candidates.len()];
    for &(rule, cand) in &base_rules {
        if let Some(c) = cand {
            base_weight[c] += rule.weight;
        }
    }
    let base_score: Vec<f64> = all_rows
        .iter()
        .map(|row| row.iter().map(|&c| base_weight[c as usize]).sum())
        .collect();
    let with_offset = base_score.iter().any(|&s| s != 0.0);

    // The path on all lines, then the same penalties on each fold's complement.
    let path_options = PathOptions {
        l1_ratio: options.l1_ratio,
        lambdas: options.lambdas.max(2),
        max_nonzero: options.max_rules.saturating_sub(base_rules.len()).max(1),
        ..PathOptions::default()
    };
    let everything: Vec<usize> = (0..rows.len()).collect();
    let fit = |keep: &[usize], lambdas: Option<&[f64]>, max_nonzero: usize| {
        let gold_k: Vec<bool> = keep.iter().map(|&i| gold[i]).collect();
        let weights = class_weights(&gold_k, options.balanced);
        let design = design_of(&rows_x, keep, kept.len());
        let options = PathOptions {
            max_nonzero,
            ..path_options
        };
        let scale = if with_offset {
            let s: Vec<f64> = keep.iter().map(|&i| base_score[i]).collect();
            scale_of(&s, &gold_k, weights.as_deref())
        } else {
            0.0
        };
        let offset: Vec<f64> = keep.iter().map(|&i| scale * base_score[i]).collect();
        fit_path_with_offset(
            &design,
            &gold_k,
            weights.as_deref(),
            &offset,
            &options,
            lambdas,
        )
        .map(|path| (path, scale))
        .map_err(LearnError::Model)
    };
    let (full, scale) = fit(&everything, None, path_options.max_nonzero)?;
    let lambdas: Vec<f64> = full.points.iter().map(|p| p.lambda).collect();
    // Out-of-fold log-odds of every line at every penalty (NaN where a fold's path stopped).
    let mut held_out = vec![vec![f64::NAN; rows.len()]; lambdas.len()];
    for k in 0..folds {
        let train: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] != k).collect();
        let (path, fold_scale) = fit(
            &train,
            Some(&lambdas),
            path_options.max_nonzero.saturating_mul(2),
        )?;
        for (j, point) in path.points.iter().enumerate() {
            for i in (0..rows.len()).filter(|&i| fold_of[i] == k) {
                held_out[j][i] = decision(point, &rows_x[i]) + fold_scale * base_score[i];
            }
        }
    }

    // The penalty and cut with the best cross-validated F1 (ties: fewer rules).
    let mut best: Option<(usize, f64, Counts)> = None;
    for (j, scores) in held_out.iter().enumerate() {
        if scores.iter().any(|s| s.is_nan())
            || (full.points[j].coefficients.is_empty() && !with_offset)
        {
            continue;
        }
        let (cut, c) = best_cut(scores, &gold);
        if best.as_ref().is_none_or(|b| c.f1() > b.2.f1()) {
            best = Some((j, cut, c));
        }
    }
    let Some((j, cut, cross_validation)) = best else {
        return Err(LearnError::NoFeatures {
            topic: topic.to_owned(),
            min_lines: options.mine.min_lines,
        });
    };
    let point = &full.points[j];

    // The rules as written: the base rules of the topic, scaled, with the correction of their
    // feature added to the first of them; then the other features with a nonzero weight. Each
    // weight rounded to four decimals; a line's score is the sum of its fired rules' weights.
    let mut correction = vec![0.0; candidates.len()];
    for &(c, w) in &point.coefficients {
        correction[kept[c as usize]] = w;
    }
    let mut written: Vec<(usize, Feature, f64)> = Vec::new();
    for &(rule, cand) in &base_rules {
        let mut w = scale * rule.weight;
        if let Some(c) = cand {
            w += std::mem::take(&mut correction[c]);
        }
        written.push((
            cand.unwrap_or(usize::MAX),
            Feature::base_rule(rule),
            round4(w),
        ));
    }
    for (c, &w) in correction.iter().enumerate() {
        if w != 0.0 {
            written.push((c, candidates[c].clone(), round4(w)));
        }
    }
    written.retain(|r| r.2 != 0.0);
    let mut weight_of = vec![0.0; candidates.len()];
    for (c, _, w) in &written {
        if let Some(slot) = weight_of.get_mut(*c) {
            *slot += w;
        }
    }
    let scores: Vec<f64> = all_rows
        .iter()
        .map(|row| row.iter().map(|&c| weight_of[c as usize]).sum())
        .collect();
    // label iff intercept + score >= cut, i.e. score >= cut - intercept; kept > 0 (a rule file's
    // threshold is positive) and off every line's score, so summation order cannot flip a label.
    let unclamped = round4(cut - point.intercept);
    let threshold_clamped = unclamped <= 0.0;
    let mut threshold = unclamped.max(0.0001);
    while scores.iter().any(|&s| (s - threshold).abs() < 1e-9) {
        threshold = round4(threshold + 0.0001);
    }
    let training = counts(&gold, scores.iter().map(|&s| s >= threshold));
    let mut rules: Vec<LearnedRule> = written
        .into_iter()
        .map(|(c, feature, weight)| LearnedRule {
            feature,
            weight,
            lines: line_counts.get(c).copied().unwrap_or(0),
            positive_lines: positive_counts.get(c).copied().unwrap_or(0),
        })
        .collect();
    rules.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.feature.query.cmp(&b.feature.query))
            .then_with(|| a.feature.name.cmp(&b.feature.name))
    });
    Ok(LearnedTopic {
        topic: topic.to_owned(),
        threshold,
        rules,
        training,
        cross_validation,
        folds,
        threshold_clamped,
        candidates: candidate_count,
        features: kept.len(),
        lambda: point.lambda,
    })
}
