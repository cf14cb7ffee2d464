//! Candidate literals mined from labelled text, and the feature matrix computed by the engine.
//!
//! A *feature* is a query the rule language can express: a word, a phrase of two or three words,
//! a prefix wildcard, a named list of the base rule file (`@name`), one entry of such a list, or a
//! whole rule of the base file. Candidates are mined from the words of the training lines (the
//! engine's own normalization and tokenization, [`crate::text::tokenize`]); then every candidate
//! is compiled as one rule of a *feature engine* and the engine classifies every line. So a
//! feature is 1 on a line exactly when the rule written from it would fire there: what `rubric
//! learn` fits is what `serve` will compute, by construction, not by a second implementation of
//! matching.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::engine::Engine;
use crate::eval::LabelledArticle;
use crate::rules::{LiteralKind, RuleSet};
use crate::text::{tokenize, NormalizeOptions};

/// What a feature is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FeatureKind {
    /// A rule of the base rule file, its query copied.
    BaseRule,
    /// A named list of the base rule file, `@name`.
    List,
    /// One entry of a named list of the base rule file.
    ListEntry,
    /// One word, `"word"`.
    Word,
    /// Two or three consecutive words of one field, `"w1 w2"`.
    Phrase,
    /// A prefix wildcard, `prefix*`, for a family of words that share a stem.
    Wildcard,
}

impl FeatureKind {
    /// A short name, used in rule ids and reports (`word`, `phrase`, `wildcard`, `list`,
    /// `list-entry`, `base-rule`).
    pub fn name(self) -> &'static str {
        match self {
            FeatureKind::BaseRule => "base-rule",
            FeatureKind::List => "list",
            FeatureKind::ListEntry => "list-entry",
            FeatureKind::Word => "word",
            FeatureKind::Phrase => "phrase",
            FeatureKind::Wildcard => "wildcard",
        }
    }
}

/// One candidate feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    /// What it is.
    pub kind: FeatureKind,
    /// The query, in the rule language (`"peace talks"`, `negotiat*`, `@countries`, a base
    /// rule's query).
    pub query: String,
    /// A readable name for rule ids: the words joined by `_` (`peace_talks`, `negotiat`), the
    /// list's name, or the base rule's id.
    pub name: String,
    /// The named lists the query refers to (sorted), which a rule file holding it must declare.
    pub lists: Vec<String>,
}

impl Feature {
    /// The named list `name` as a feature: `@name`.
    pub fn list(name: &str) -> Feature {
        Feature {
            kind: FeatureKind::List,
            query: format!("@{name}"),
            name: name.to_owned(),
            lists: vec![name.to_owned()],
        }
    }

    /// A rule of a base rule file as a feature: its query, named by its id.
    pub fn base_rule(rule: &crate::rules::Rule) -> Feature {
        let mut lists = Vec::new();
        rule.expr.list_names(&mut lists);
        lists.sort();
        lists.dedup();
        Feature {
            kind: FeatureKind::BaseRule,
            query: rule.query.clone(),
            name: rule.id.clone(),
            lists,
        }
    }
}

/// How candidates are mined.
#[derive(Clone, Debug)]
pub struct MineOptions {
    /// Longest phrase, in words (1 = words only). Default 3.
    pub max_words: usize,
    /// A candidate must occur in at least this many training lines. Default 3.
    pub min_lines: usize,
    /// Mine prefix wildcards for word families. Default true.
    pub wildcards: bool,
    /// Keep at most this many mined words, phrases and wildcards (those in most lines first).
    /// Default 200,000.
    pub max_candidates: usize,
}

impl Default for MineOptions {
    fn default() -> Self {
        MineOptions {
            max_words: 3,
            min_lines: 3,
            wildcards: true,
            max_candidates: 200_000,
        }
    }
}

/// Shortest stem a mined wildcard has, in characters.
const MIN_STEM_CHARS: usize = 4;

/// English inflectional and common derivational endings, longest first, stripped to find the
/// stem of a word family for a wildcard (`negotiations`, `negotiated` -> `negotiat*`). Mining only
/// proposes: a wildcard becomes a feature when the engine finds it in enough lines.
const SUFFIXES: &[&str] = &[
    "ations", "ation", "ments", "ment", "ings", "ions", "ized", "izes", "ised", "ises", "ing",
    "ion", "ers", "ies", "ied", "ize", "ise", "ed", "es", "er", "al", "ly", "s", "e", "y",
];

/// Words of one field of an article, as folded keys.
fn field_words(text: &str, options: NormalizeOptions) -> Vec<String> {
    let tokens = tokenize(text, options);
    (0..tokens.len())
        .map(|i| tokens.folded(i).to_owned())
        .collect()
}

/// `"w1 w2"`: a phrase query of folded words (a one-word phrase is a term).
fn phrase_query(words: &[String]) -> String {
    format!("\"{}\"", words.join(" "))
}

/// Whether every word can be written inside a quoted phrase and reads back as itself.
fn writable(word: &str) -> bool {
    !word.is_empty()
        && !word.contains(|c: char| {
            matches!(
                c,
                '"' | '{' | '}' | '(' | ')' | ':' | '*' | '@' | '\u{201C}' | '\u{201D}'
            ) || c.is_whitespace()
                || c.is_control()
        })
}

/// The stem of `word` for a wildcard, if it has one of [`SUFFIXES`] and a long enough rest.
fn stem(word: &str) -> Option<&str> {
    if !word.chars().all(char::is_alphabetic) {
        return None;
    }
    SUFFIXES.iter().find_map(|suffix| {
        let rest = word.strip_suffix(suffix)?;
        (rest.chars().count() >= MIN_STEM_CHARS).then_some(rest)
    })
}

/// Mines candidate words, phrases and wildcards from `lines` (the training part), and adds the
/// named lists, list entries and rules of `base`. Deterministic: sorted by kind, then query.
///
/// Words and phrases must occur in at least `options.min_lines` lines (counted here on the
/// words; the engine's count in [`featurize`] is what decides). A wildcard is proposed for a
/// stem shared by at least two distinct words of the lines.
pub fn mine(
    lines: &[&LabelledArticle],
    base: Option<&RuleSet>,
    options: &MineOptions,
    normalize: NormalizeOptions,
) -> Vec<Feature> {
    // Document frequency of each n-gram (as a word vector), counted once per line.
    let per_line: Vec<BTreeSet<Vec<String>>> = lines
        .par_iter()
        .map(|article| {
            let mut grams = BTreeSet::new();
            for text in [&article.title, &article.body] {
                let words = field_words(text, normalize);
                for n in 1..=options.max_words.max(1) {
                    for gram in words.windows(n) {
                        if gram.iter().all(|w| writable(w)) {
                            grams.insert(gram.to_vec());
                        }
                    }
                }
            }
            grams
        })
        .collect();
    let mut counts: BTreeMap<&[String], usize> = BTreeMap::new();
    for grams in &per_line {
        for gram in grams {
            *counts.entry(gram.as_slice()).or_default() += 1;
        }
    }

    let mut mined: Vec<(usize, Feature)> = Vec::new();
    let mut stems: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (&gram, &count) in &counts {
        if gram.len() == 1 {
            if let Some(stem) = stem(&gram[0]) {
                stems.entry(stem).or_default().insert(&gram[0]);
            }
        }
        if count < options.min_lines {
            continue;
        }
        let kind = if gram.len() == 1 {
            FeatureKind::Word
        } else {
            FeatureKind::Phrase
        };
        mined.push((
            count,
            Feature {
                kind,
                query: phrase_query(gram),
                name: gram.join("_"),
                lists: Vec::new(),
            },
        ));
    }
    if options.wildcards {
        for (stem, words) in &stems {
            if words.len() < 2 {
                continue;
            }
            let count = words
                .iter()
                .map(|w| counts.get([w.to_string()].as_slice()).copied().unwrap_or(0))
                .sum::<usize>();
            if count < options.min_lines {
                continue;
            }
            mined.push((
                count,
                Feature {
                    kind: FeatureKind::Wildcard,
                    query: format!("{stem}*"),
                    name: stem.to_string(),
                    lists: Vec::new(),
                },
            ));
        }
    }
    if mined.len() > options.max_candidates {
        // Most frequent first; ties by query, so the cut is deterministic.
        mined.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.query.cmp(&b.1.query)));
        mined.truncate(options.max_candidates);
    }
    let mut features: Vec<Feature> = mined.into_iter().map(|(_, f)| f).collect();

    if let Some(base) = base {
        for list in &base.lists {
            features.push(Feature::list(&list.name));
            for entry in &list.entries {
                let query = match entry.kind {
                    LiteralKind::Exact => format!("{{{}}}", entry.text),
                    _ if entry.text.contains(char::is_whitespace) => format!("\"{}\"", entry.text),
                    _ => entry.text.clone(),
                };
                features.push(Feature {
                    kind: FeatureKind::ListEntry,
                    name: entry
                        .text
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join("_")
                        .replace('*', ""),
                    query,
                    lists: Vec::new(),
                });
            }
        }
        features.extend(base.rules.iter().map(Feature::base_rule));
    }
    features.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.query.cmp(&b.query)));
    features.dedup_by(|a, b| a.query == b.query);
    features
}

/// A TOML string (basic, escaped).
pub(crate) fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Compiles `features` as the rules of one topic (`f`), with the named lists of `base` declared
/// inline, and the base's accent setting. Features whose query does not compile (a list entry
/// that is not a valid query, say) are left out: returns the engine and the features it holds,
/// in order, rule `i` of the engine being feature `i`.
///
/// # Errors
/// A message when the feature rules cannot be compiled even without the offending ones.
pub fn feature_engine(
    features: Vec<Feature>,
    base: Option<&RuleSet>,
) -> Result<(Engine, Vec<Feature>), String> {
    let mut features = features;
    for _attempt in 0..2 {
        let text = feature_rules(&features, base);
        let (engine, diagnostics) = Engine::check("<features>", &text);
        if let Some(engine) = engine {
            return Ok((engine, features));
        }
        let bad: BTreeSet<usize> = diagnostics
            .iter()
            .filter(|d| d.severity == crate::rules::Severity::Error)
            .filter_map(|d| d.rule.as_deref()?.strip_prefix("f.")?.parse().ok())
            .collect();
        if bad.is_empty() {
            let first = diagnostics
                .iter()
                .find(|d| d.severity == crate::rules::Severity::Error)
                .map(|d| d.to_string())
                .unwrap_or_default();
            return Err(format!("the candidate features do not compile: {first}"));
        }
        features = features
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !bad.contains(i))
            .map(|(_, f)| f)
            .collect();
    }
    Err("the candidate features do not compile".to_owned())
}

fn feature_rules(features: &[Feature], base: Option<&RuleSet>) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(features.len() * 64);
    let accent = base.is_some_and(|b| b.accent_sensitive);
    let _ = writeln!(
        text,
        "[rule_set]\nname = \"features\"\nversion = \"0\"\naccent_sensitive = {accent}\n\n[[topics]]\nid = \"f\"\ncount_overlaps = true\n"
    );
    for (i, feature) in features.iter().enumerate() {
        let _ = writeln!(
            text,
            "[[rules]]\nid = \"f.{i}\"\ntopic = \"f\"\nquery = {}\n",
            toml_string(&feature.query)
        );
    }
    if let Some(base) = base.filter(|b| !b.lists.is_empty()) {
        text.push_str("[lists]\n");
        for list in &base.lists {
            let entries: Vec<String> = list
                .entries
                .iter()
                .map(|e| toml_string(&e.written))
                .collect();
            let _ = writeln!(
                text,
                "{} = [{}]",
                toml_string(&list.name),
                entries.join(", ")
            );
        }
    }
    text
}

/// For each line, the features that fire on it (ascending indices of the engine's rules),
/// computed on all cores; the order of the result is the order of `lines`.
pub fn featurize(engine: &Engine, lines: &[&LabelledArticle]) -> Vec<Vec<u32>> {
    lines
        .par_iter()
        .map_init(Vec::new, |fired, article| {
            engine.fired_rules(&article.article(), fired);
            fired.iter().map(|&r| r as u32).collect()
        })
        .collect()
}

/// The transpose of [`featurize`]'s rows: for each of `features` features, the lines it fires
/// on (ascending indices into the rows).
pub fn postings(rows: &[Vec<u32>], features: usize) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); features];
    for (i, row) in rows.iter().enumerate() {
        for &f in row {
            out[f as usize].push(i as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_of_word_families() {
        assert_eq!(stem("negotiations"), Some("negoti"));
        assert_eq!(stem("negotiated"), Some("negotiat"));
        assert_eq!(stem("talks"), Some("talk"));
        assert_eq!(stem("aid"), None);
        assert_eq!(stem("g7s"), None);
    }

    #[test]
    fn mined_candidates_respect_the_line_count() {
        let line = |t: &str| LabelledArticle {
            title: t.to_owned(),
            ..Default::default()
        };
        let lines = [
            line("Peace talks resume"),
            line("Peace talks stall"),
            line("peace talks end"),
            line("Talks on trade"),
        ];
        let refs: Vec<&LabelledArticle> = lines.iter().collect();
        let features = mine(
            &refs,
            None,
            &MineOptions::default(),
            NormalizeOptions::default(),
        );
        let queries: Vec<&str> = features.iter().map(|f| f.query.as_str()).collect();
        assert_eq!(queries, ["\"peace\"", "\"talks\"", "\"peace talks\""]);
    }
}
