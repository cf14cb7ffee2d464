//! The matching engine: compile a [`RuleSet`] once, classify many articles.
//!
//! # How an article is classified
//!
//! 1. **Presearch.** Each field is tokenized ([`crate::text`]) and every word is looked up in one
//!    dictionary that holds every word pattern of every rule (exact, folded and prefix keys). The
//!    literals (terms, phrases, wildcards) that occur are found from the words that start them. This
//!    is the presearch idea of Lucene's Monitor and Elasticsearch's percolator: only rules with a
//!    literal in the text, plus the few rules that can fire without any (pure `NOT` rules), are
//!    evaluated, so the cost grows with the text and its matches, not with the number of rules.
//! 2. **Evaluation.** Each candidate rule's compiled query is evaluated over the occurrences; a rule
//!    that fires yields the occurrences that made it true (never those under `NOT`).
//! 3. **Scoring.** Within a topic, overlapping occurrences of the rules with positive weights are
//!    resolved to the longest one (then the earliest; between identical occurrences, the rule with
//!    the higher weight, then the one first in the file), and each match counts once: a rule adds
//!    its weight when it keeps at least one occurrence, or when it fired without any (pure `NOT`
//!    rules). So `"United Nations"` and `"United Nations Security Council"` in one topic count
//!    once for "United Nations Security Council". Rules with negative weights are penalties: they
//!    always count when they fire. The topic score is the sum of the counted weights.
//!    Overlap resolution decides only which rules count, not what they show: the evidence lists
//!    every counted rule with all of its own occurrences (every occurrence that made its query
//!    true, never those under `NOT`), including those it lost to an overlapping rule of the
//!    topic. So a rule `"peace talks" OR million` that counts for "million" while a rule
//!    `"peace talks resumed"` took "peace talks resumed" shows both "peace talks" and "million",
//!    not a stray "million" alone. Only where occurrences of the rule itself overlap one another
//!    is the longest (then the earliest) shown: `"United Nations" OR "United Nations Security
//!    Council"` shows one span on "United Nations Security Council". A rule that lost every
//!    occurrence does not count and is not in the evidence.
//! 4. **Result.** For each topic: `score`, `confidence = score / (score + threshold)` for a
//!    positive score and 0 otherwise (monotone in the score; 0.5 exactly at the threshold, 2/3 at
//!    twice it), `label = score >= threshold`, and the evidence (above). Topics are sorted by
//!    score, highest first, then by id.
//!
//! The engine is `Send + Sync` and cheap to clone (an `Arc`), and knows nothing of tonic or tokio.

mod compile;
mod eval;
mod explain;
mod lint;
mod result;
mod table;

use std::fmt;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::article::Article;
use crate::rules::{Diagnostic, Example, ListFiles, NoListFiles, RuleSet, RuleSetError, Severity};
use crate::text::{convert_offsets, NormalizeOptions, OffsetEncoding};

pub use compile::{MAX_LITERALS_PER_RULE, MAX_PHRASE_WORDS, MIN_PREFIX_CHARS};
pub use explain::{
    ExplanationNode, QueryOperator, RuleExplanation, MAX_EXPLAINED_RULES, MAX_NODE_SPANS,
};
pub use result::{Classification, ClassificationJson, RuleEvidence, Span, TopicScore};

use compile::{Compiler, Dictionary, Node};
use eval::{resolve_overlaps, MatchState, Occ, Overlaps};

/// What to compute for one article.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifyOptions {
    /// Only these topic ids are scored and returned; empty means all topics.
    pub topics: Vec<String>,
    /// Include evidence (rules and spans). Default `true`; without it only scores are computed,
    /// which is cheaper.
    pub evidence: bool,
    /// Unit of span offsets. Default UTF-8 bytes.
    pub offset_encoding: OffsetEncoding,
    /// Topics scoring below this are left out of the result; `None` (default) keeps every topic.
    pub min_score: Option<f64>,
    /// Explain these rules (ids of the rule set), fired or not, in this order; a repeated id
    /// counts once ([`Classification::explanations`]). Default empty.
    pub explain_rules: Vec<String>,
    /// Also explain every rule with at least one of its literals (term, phrase, list entry) in
    /// the article, after those of `explain_rules`, in rule file order. Default `false`.
    pub explain_candidates: bool,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        ClassifyOptions {
            topics: Vec::new(),
            evidence: true,
            offset_encoding: OffsetEncoding::Utf8,
            min_score: None,
            explain_rules: Vec::new(),
            explain_candidates: false,
        }
    }
}

/// Why an article could not be classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassifyError {
    /// `ClassifyOptions::topics[index]` names no topic of the rule set.
    UnknownTopic {
        /// Position in `ClassifyOptions::topics`.
        index: usize,
        /// The unknown id.
        topic: String,
    },
    /// `ClassifyOptions::explain_rules[index]` names no rule of the rule set.
    UnknownRule {
        /// Position in `ClassifyOptions::explain_rules`.
        index: usize,
        /// The unknown id.
        rule: String,
    },
}

impl fmt::Display for ClassifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassifyError::UnknownTopic { index, topic } => {
                write!(f, "topics[{index}]: unknown topic `{topic}`")
            }
            ClassifyError::UnknownRule { index, rule } => {
                write!(f, "explain_rules[{index}]: unknown rule `{rule}`")
            }
        }
    }
}

impl std::error::Error for ClassifyError {}

/// Why a rule file on disk could not be loaded ([`Engine::from_path`]).
#[derive(Debug)]
pub enum EngineLoadError {
    /// The rule file could not be read: a one-line message naming it.
    Read(String),
    /// The rules were rejected: every problem, with file, line and column.
    Rules(RuleSetError),
}

impl fmt::Display for EngineLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineLoadError::Read(message) => f.write_str(message),
            EngineLoadError::Rules(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for EngineLoadError {}

/// A topic as the engine knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicInfo {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where the topic's border is.
    pub description: String,
    /// Score at or above which the topic is labelled.
    pub threshold: f64,
    /// Whether every fired rule adds its weight, also where matches overlap (`count_overlaps`).
    pub count_overlaps: bool,
    /// Number of rules of the topic.
    pub rule_count: usize,
}

/// Facts about the loaded rule set.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSetInfo {
    /// `rule_set.name`.
    pub name: String,
    /// `rule_set.version`.
    pub version: String,
    /// `rule_set.description`.
    pub description: String,
    /// Number of rules.
    pub rule_count: usize,
    /// Number of topics.
    pub topic_count: usize,
    /// Whether accents count when matching.
    pub accent_sensitive: bool,
    /// Number of named lists.
    pub list_count: usize,
    /// Number of entries in all named lists.
    pub list_entry_count: usize,
    /// SHA-256 of everything loaded (the rule file and its list files), lowercase hex; see
    /// [`RuleSet::content_sha256`].
    pub content_sha256: String,
}

struct CompiledRule {
    /// Index of the rule in `RuleSet::rules`.
    source: usize,
    id: Arc<str>,
    topic: usize,
    weight: f64,
    node: Node,
    /// The literals of the named lists the rule refers to, with the fields each reference is
    /// scoped to, so evidence can name their entries.
    lists: Box<[(compile::LitId, compile::FieldMask)]>,
}

struct Inner {
    info: RuleSetInfo,
    topics: Vec<TopicInfo>,
    /// Topic id -> index in `topics`.
    topic_index: FxHashMap<Arc<str>, usize>,
    /// The topic ids and the version, shared by every classification.
    topic_ids: Vec<Arc<str>>,
    /// Topic indexes in id order, and each topic's position in that order: results are built
    /// in id order, so a stable sort by score alone gives "score, then id".
    by_id: Vec<usize>,
    id_rank: Vec<usize>,
    version: Arc<str>,
    rules: Vec<CompiledRule>,
    /// The rules' indices sorted by id, to find a rule by its id.
    rules_by_id: Box<[u32]>,
    /// The rules' queries as written, for explanations.
    queries: Queries,
    /// For each literal, the rules that use it (ascending).
    rules_by_literal: Vec<Vec<u32>>,
    /// Rules that can fire on a text that contains none of their literals.
    always: Vec<u32>,
    dictionary: Dictionary,
    options: NormalizeOptions,
    warnings: Vec<Diagnostic>,
}

/// A compiled rule set, ready to classify.
///
/// Cloning is cheap (one `Arc`); the engine is `Send + Sync`, so one instance serves all threads.
///
/// # Example
/// ```
/// use rubric_engine::{Article, ClassifyOptions, Engine};
/// let engine = Engine::from_toml("example.toml", r#"
///     [rule_set]
///     name = "example"
///     version = "1"
///     [[topics]]
///     id = "diplomacy"
///     [[rules]]
///     id = "diplomacy.talks"
///     topic = "diplomacy"
///     query = '"peace talks" OR negotiat*'
/// "#).unwrap();
/// let article = Article { id: "a1", title: "", body: "Negotiations resumed on Monday." };
/// let result = engine.classify(&article, &ClassifyOptions::default()).unwrap();
/// assert!(result.topics[0].label);
/// assert_eq!(result.topics[0].evidence[0].spans[0].text, "Negotiations");
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.inner.info)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Parses, validates and compiles a rule file (see [`RuleSet::from_toml`]).
    ///
    /// # Errors
    /// [`RuleSetError`] with every problem of the file.
    pub fn from_toml(origin: &str, text: &str) -> Result<Engine, RuleSetError> {
        match Engine::check(origin, text) {
            (Some(engine), _) => Ok(engine),
            (None, diagnostics) => Err(RuleSetError::new(diagnostics)),
        }
    }

    /// Checks a rule file as far as it can be checked and reports everything at once: syntax and
    /// validation errors, then compile errors, failing examples and lints of every rule that got
    /// that far. Returns the engine when there is no error (warnings allowed) — what
    /// `rubric check` prints.
    pub fn check(origin: &str, text: &str) -> (Option<Engine>, Vec<Diagnostic>) {
        Engine::check_with(origin, text, &NoListFiles)
    }

    /// Like [`Engine::check`], reading the list files the rule file names through `files`
    /// (for a rule file on disk, [`ListDir::beside`](crate::rules::ListDir::beside) it).
    pub fn check_with(
        origin: &str,
        text: &str,
        files: &dyn ListFiles,
    ) -> (Option<Engine>, Vec<Diagnostic>) {
        let (set, diagnostics) = RuleSet::load(origin, text, files);
        Engine::check_parsed(set, diagnostics)
    }

    /// Reads, checks and compiles the rule file at `path` with the list files beside it. The file
    /// is read with [`read_rule_file`](crate::rules::read_rule_file): a regular file of at most
    /// [`MAX_RULE_FILE_BYTES`](crate::rules::MAX_RULE_FILE_BYTES), UTF-8.
    ///
    /// # Errors
    /// A one-line message when the file cannot be read (not found, not a regular file, too large,
    /// not UTF-8 with the line and column of the first invalid byte), else the [`RuleSetError`]
    /// report.
    pub fn from_path(path: &std::path::Path) -> Result<Engine, EngineLoadError> {
        let text = crate::rules::read_rule_file(path).map_err(EngineLoadError::Read)?;
        match Engine::check_with(
            &path.display().to_string(),
            &text,
            &crate::rules::ListDir::beside(path),
        ) {
            (Some(engine), _) => Ok(engine),
            (None, diagnostics) => Err(EngineLoadError::Rules(RuleSetError::new(diagnostics))),
        }
    }

    /// Compiles a rule set that [`RuleSet::load`] returned, with its diagnostics so far; see
    /// [`Engine::check`].
    pub fn check_parsed(
        set: Option<RuleSet>,
        mut diagnostics: Vec<Diagnostic>,
    ) -> (Option<Engine>, Vec<Diagnostic>) {
        let Some(set) = set else {
            return (None, diagnostics);
        };
        let complete = !has_errors(&diagnostics);
        let (inner, more) = Engine::build(&set, complete);
        diagnostics.extend(more);
        if has_errors(&diagnostics) {
            (None, diagnostics)
        } else {
            (
                Some(Engine {
                    inner: Arc::new(inner),
                }),
                diagnostics,
            )
        }
    }

    /// The default rule set embedded from `seeds/rules.toml`.
    ///
    /// # Errors
    /// Never in a released build: a test loads it, and its examples, on every CI run.
    pub fn embedded() -> Result<Engine, RuleSetError> {
        match Engine::check_with(
            "<embedded seeds/rules.toml>",
            crate::DEFAULT_RULES,
            &crate::DEFAULT_LISTS,
        ) {
            (Some(engine), _) => Ok(engine),
            (None, diagnostics) => Err(RuleSetError::new(diagnostics)),
        }
    }

    /// Compiles a validated rule set: normalizes every literal, builds the dictionary, checks every
    /// rule's examples, and computes the lints ([`Engine::warnings`]).
    ///
    /// # Errors
    /// [`RuleSetError`] listing every literal that cannot match (too-short wildcard prefix,
    /// misplaced `*`, no letters), conflicting field scopes, over-long queries, and every example
    /// that does not behave as declared. Cost: linear in the size of the rule set.
    pub fn new(set: RuleSet) -> Result<Engine, RuleSetError> {
        let (inner, diagnostics) = Engine::build(&set, true);
        if has_errors(&diagnostics) {
            return Err(RuleSetError::new(diagnostics));
        }
        Ok(Engine {
            inner: Arc::new(inner),
        })
    }

    /// Compiles every rule that compiles, checks the examples of those, and lints them; returns
    /// the engine parts and every diagnostic (errors and warnings).
    ///
    /// `complete` is false when earlier stages dropped invalid rules: the lints about whole topics
    /// (no rules, unreachable threshold) would then only echo those errors, so they are skipped.
    fn build(set: &RuleSet, complete: bool) -> (Inner, Vec<Diagnostic>) {
        let mut compiler = Compiler::new(set);
        compiler.compile_lists();
        // Every lookup by topic id goes through this map, so compiling stays linear in the
        // number of topics and rules.
        let topic_index: FxHashMap<Arc<str>, usize> = set
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (Arc::from(t.id.as_str()), i))
            .collect();
        let mut rules = Vec::with_capacity(set.rules.len());
        let mut queries = Queries::default();
        let mut rule_counts = vec![0; set.topics.len()];
        for (source, rule) in set.rules.iter().enumerate() {
            if let Some(node) = compiler.compile_rule(rule) {
                let topic = *topic_index
                    .get(rule.topic.as_str())
                    .expect("RuleSet validated the topic");
                rule_counts[topic] += 1;
                let mut lists = Vec::new();
                node.literal_scopes(&mut lists);
                lists.retain(|&(l, _)| compiler.dictionary.list_of(l).is_some());
                lists.sort_unstable_by_key(|&(l, f)| (l, f.0));
                lists.dedup();
                queries.push(&rule.query);
                rules.push(CompiledRule {
                    source,
                    id: rule.id.as_str().into(),
                    topic,
                    weight: rule.weight,
                    node,
                    lists: lists.into(),
                });
            }
        }
        let Compiler {
            mut dictionary,
            mut diagnostics,
            options,
            ..
        } = compiler;
        dictionary.finish(options);
        let mut rules_by_literal = vec![Vec::new(); dictionary.literals.len()];
        let mut always = Vec::new();
        let mut lits = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            lits.clear();
            rule.node.literals(&mut lits);
            lits.sort_unstable();
            lits.dedup();
            for &l in &lits {
                rules_by_literal[l as usize].push(i as u32);
            }
            if rule.node.matches_empty() {
                always.push(i as u32);
            }
        }
        let topics = set
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| TopicInfo {
                id: t.id.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                threshold: t.threshold,
                count_overlaps: t.count_overlaps,
                rule_count: rule_counts[i],
            })
            .collect();
        let mut rules_by_id: Vec<u32> = (0..rules.len() as u32).collect();
        rules_by_id.sort_unstable_by(|&a, &b| rules[a as usize].id.cmp(&rules[b as usize].id));
        let mut by_id: Vec<usize> = (0..set.topics.len()).collect();
        by_id.sort_by(|&a, &b| set.topics[a].id.cmp(&set.topics[b].id));
        let mut id_rank = vec![0; by_id.len()];
        for (rank, &t) in by_id.iter().enumerate() {
            id_rank[t] = rank;
        }
        let mut inner = Inner {
            topic_index,
            by_id,
            id_rank,
            topic_ids: set.topics.iter().map(|t| t.id.as_str().into()).collect(),
            version: set.version.as_str().into(),
            info: RuleSetInfo {
                name: set.name.clone(),
                version: set.version.clone(),
                description: set.description.clone(),
                rule_count: rules.len(),
                topic_count: set.topics.len(),
                accent_sensitive: set.accent_sensitive,
                list_count: set.lists.len(),
                list_entry_count: set.lists.iter().map(|l| l.entries.len()).sum(),
                content_sha256: set.content_sha256.clone(),
            },
            topics,
            rules,
            rules_by_id: rules_by_id.into(),
            queries,
            rules_by_literal,
            always,
            dictionary,
            options,
            warnings: Vec::new(),
        };

        // Examples: every rule must fire on its `match` texts and not on its `no_match` texts.
        for compiled in &inner.rules {
            let rule = &set.rules[compiled.source];
            let check = |example: &Example, expected: bool, diagnostics: &mut Vec<Diagnostic>| {
                let article = Article {
                    id: "",
                    title: &example.title,
                    body: &example.body,
                };
                let state = MatchState::new(&article, &inner.dictionary, inner.options);
                let fired = state.eval(&compiled.node, &mut Vec::new());
                if fired != expected {
                    let (message, help) = if expected {
                        (
                            "rule does not fire on its `match` example",
                            "change the query or the example; `rubric classify` shows what matches",
                        )
                    } else {
                        (
                            "rule fires on its `no_match` example",
                            "add a NOT for the false friend, or change the example",
                        )
                    };
                    diagnostics.push(
                        Diagnostic::error("example", message)
                            .at(set.source.locate(example.span.clone()))
                            .rule(&rule.id)
                            .help(help),
                    );
                }
            };
            rule.matches
                .iter()
                .for_each(|e| check(e, true, &mut diagnostics));
            rule.no_matches
                .iter()
                .for_each(|e| check(e, false, &mut diagnostics));
        }
        let complete = complete && !has_errors(&diagnostics);
        diagnostics.extend(lint::lint(set, &inner, complete));
        // Only the lints read the atoms' keys.
        inner.dictionary.keys = Vec::new();
        inner.warnings = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .cloned()
            .collect();
        (inner, diagnostics)
    }

    /// Lint warnings found when compiling: the set loads, but these are probably mistakes
    /// (unsatisfiable rules, rules that match without any of their terms, topics that can never
    /// reach their threshold, duplicate queries). `rubric check` prints them.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.inner.warnings
    }

    /// Facts about the rule set.
    pub fn info(&self) -> &RuleSetInfo {
        &self.inner.info
    }

    /// The topics, in rule file order.
    pub fn topics(&self) -> &[TopicInfo] {
        &self.inner.topics
    }

    /// Every rule as `(rule id, topic id, weight)`, in rule file order.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = (&str, &str, f64)> + '_ {
        self.inner
            .rules
            .iter()
            .map(|r| (&*r.id, &*self.inner.topics[r.topic].id, r.weight))
    }

    /// The index in [`Engine::rules`] of the rule with id `id`, if there is one.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        let inner = &*self.inner;
        inner
            .rules_by_id
            .binary_search_by(|&r| (*inner.rules[r as usize].id).cmp(id))
            .ok()
            .map(|i| inner.rules_by_id[i] as usize)
    }

    /// Classifies one article. See the module doc for how.
    ///
    /// Span offsets are in `options.offset_encoding` units of the ORIGINAL field text,
    /// `[start, end)` with `end` exclusive, and `text` is exactly that slice of the original.
    ///
    /// With `options.explain_rules` or `options.explain_candidates`, the classification also
    /// explains those rules ([`Classification::explanations`]); without them nothing of that is
    /// computed.
    ///
    /// # Errors
    /// [`ClassifyError::UnknownTopic`] when `options.topics` names a topic the rule set does not
    /// have, [`ClassifyError::UnknownRule`] when `options.explain_rules` names a rule it does not
    /// have. Never panics, whatever the text.
    pub fn classify(
        &self,
        article: &Article<'_>,
        options: &ClassifyOptions,
    ) -> Result<Classification, ClassifyError> {
        let inner = &*self.inner;
        // The match buffers of this thread's previous article, refilled (no allocation once they
        // are large enough); put back below unless they grew past MAX_KEPT_WORDS.
        let mut scratch = SCRATCH.take().unwrap_or_default();
        let mut wanted = std::mem::take(&mut scratch.wanted);
        wanted.clear();
        wanted.resize(inner.topics.len(), options.topics.is_empty());
        for (index, topic) in options.topics.iter().enumerate() {
            match inner.topic_index.get(topic.as_str()) {
                Some(&i) => wanted[i] = true,
                None => {
                    return Err(ClassifyError::UnknownTopic {
                        index,
                        topic: topic.clone(),
                    })
                }
            }
        }

        let explained = self.explained_rules(options)?;

        scratch
            .state
            .fill(article, &inner.dictionary, inner.options);
        let mut result = self.score(&mut scratch, article, options, &wanted);
        if !explained.is_empty() || options.explain_candidates {
            result.explanations = explain::explain(
                inner,
                &scratch.state,
                article,
                &explained,
                options.explain_candidates,
                options.offset_encoding,
            );
        }
        scratch.wanted = wanted;
        if scratch.state.word_count() <= MAX_KEPT_WORDS {
            SCRATCH.set(Some(scratch));
        }
        Ok(result)
    }

    /// The indices of the rules `options.explain_rules` names, in its order (empty, without
    /// allocating, when it names none).
    fn explained_rules(&self, options: &ClassifyOptions) -> Result<Vec<usize>, ClassifyError> {
        options
            .explain_rules
            .iter()
            .enumerate()
            .map(|(index, id)| {
                self.rule_index(id)
                    .ok_or_else(|| ClassifyError::UnknownRule {
                        index,
                        rule: id.clone(),
                    })
            })
            .collect()
    }

    /// The rules whose query is true on `article`, whatever their topic's score and overlaps:
    /// their indices in [`Engine::rules`] (file order), ascending, written to `out` (cleared
    /// first). What `rubric learn` and `rubric suggest` use as an article's features. Never
    /// panics, whatever the text.
    pub fn fired_rules(&self, article: &Article<'_>, out: &mut Vec<usize>) {
        let inner = &*self.inner;
        out.clear();
        let mut scratch = SCRATCH.take().unwrap_or_default();
        scratch
            .state
            .fill(article, &inner.dictionary, inner.options);
        let Scratch {
            state,
            candidates,
            seen,
            spans,
            ..
        } = &mut *scratch;
        inner.candidates(state, seen, candidates, |_| true);
        for &r in candidates.iter() {
            spans.clear();
            if state.eval(&inner.rules[r as usize].node, spans) {
                out.push(r as usize);
            }
        }
        if scratch.state.word_count() <= MAX_KEPT_WORDS {
            SCRATCH.set(Some(scratch));
        }
    }

    /// Evaluates the candidate rules of a matched article and builds its classification, with
    /// the buffers of `scratch` (its `state` holds the article's matches).
    fn score(
        &self,
        scratch: &mut Scratch,
        article: &Article<'_>,
        options: &ClassifyOptions,
        wanted: &[bool],
    ) -> Classification {
        let inner = &*self.inner;
        let Scratch {
            state,
            candidates,
            seen,
            fired,
            wanted: _,
            occs,
            spans,
            items,
            ranges,
            overlaps,
            own,
        } = scratch;
        inner.candidates(state, seen, candidates, |r| {
            wanted[inner.rules[r as usize].topic]
        });

        // Fired rules with their occurrences (a range of `occs`).
        fired.clear();
        occs.clear();
        for &r in candidates.iter() {
            let rule = &inner.rules[r as usize];
            spans.clear();
            if state.eval(&rule.node, spans) {
                spans.sort_unstable();
                spans.dedup();
                let start = occs.len();
                occs.extend_from_slice(spans);
                fired.push((rule.topic, r, start..occs.len()));
            }
        }
        // Grouped by topic; within a topic, positive rules compete for overlapping matches
        // highest weight first (then rule order), so the result does not depend on the order of
        // the file; negative rules are penalties and always count with all their matches.
        let weight = |r: u32| inner.rules[r as usize].weight;
        fired.sort_by(|a, b| {
            inner.id_rank[a.0]
                .cmp(&inner.id_rank[b.0])
                .then_with(|| weight(b.1).total_cmp(&weight(a.1)))
                .then(a.1.cmp(&b.1))
        });

        let mut topics = Vec::with_capacity(wanted.iter().filter(|w| **w).count());
        let mut next = 0;
        for &t in &inner.by_id {
            let topic = &inner.topics[t];
            let first = next;
            while next < fired.len() && fired[next].0 == t {
                next += 1;
            }
            if !wanted[t] {
                continue;
            }
            let group = &fired[first..next];
            if group.is_empty() {
                // No rule of the topic fired (most topics of most articles).
                let score = 0.0;
                if !options.min_score.is_some_and(|min| score < min) {
                    topics.push(TopicScore {
                        topic: inner.topic_ids[t].clone(),
                        score,
                        confidence: confidence(score, topic.threshold),
                        label: score >= topic.threshold,
                        evidence: Vec::new(),
                    });
                }
                continue;
            }
            items.clear();
            ranges.clear();
            for (k, (_, r, range)) in group.iter().enumerate() {
                let start = items.len();
                if weight(*r) > 0.0 && !topic.count_overlaps {
                    items.extend(occs[range.clone()].iter().map(|o| (k, *o)));
                }
                ranges.push(start..items.len());
            }
            resolve_overlaps(items, overlaps);
            let mut score = 0.0;
            let mut evidence = Vec::new();
            for (k, (_, r, range)) in group.iter().enumerate() {
                let rule = &inner.rules[*r as usize];
                // Overlap resolution decides only whether a positive rule counts: it does when
                // it kept at least one of its occurrences (or fired without any).
                let positive = rule.weight > 0.0 && !topic.count_overlaps;
                if positive && !range.is_empty() && !ranges[k].clone().any(|i| overlaps.kept[i]) {
                    continue; // every match was counted for a longer or heavier overlapping match
                }
                score += rule.weight;
                if options.evidence {
                    // A counted rule shows its own occurrences, in text order: everything that
                    // made it true, also what an overlapping rule of the topic was credited with
                    // (so its evidence is never a stray word cut from a longer match). Only
                    // where its own occurrences overlap one another is the longest shown.
                    let spans = own_spans(&occs[range.clone()], own)
                        .map(|o| {
                            let mut span = span(state, article, o);
                            if !rule.lists.is_empty() {
                                name_list_entry(&mut span, rule, o, state, &inner.dictionary);
                            }
                            span
                        })
                        .collect();
                    evidence.push(RuleEvidence {
                        rule_id: rule.id.clone(),
                        weight: rule.weight,
                        spans,
                    });
                }
            }
            if options.min_score.is_some_and(|min| score < min) {
                continue;
            }
            topics.push(TopicScore {
                topic: inner.topic_ids[t].clone(),
                score,
                confidence: confidence(score, topic.threshold),
                label: score >= topic.threshold,
                evidence,
            });
        }
        // Stable: topics were pushed in id order.
        topics.sort_by(|a, b| b.score.total_cmp(&a.score));
        if options.offset_encoding != OffsetEncoding::Utf8 {
            convert_spans(&mut topics, article, options.offset_encoding);
        }
        Classification {
            article_id: article.id.to_owned(),
            topics,
            rule_set_version: inner.version.clone(),
            explanations: Vec::new(),
        }
    }
}

impl Inner {
    /// The rules that may fire on the matched article of `state` (those with a literal in it,
    /// plus those that need none) and that `keep` accepts, ascending, into `out` (cleared).
    /// `seen` marks the rules already taken (one generation per call, so it is never cleared):
    /// a literal that many rules share (a named list) adds each of them once.
    fn candidates(
        &self,
        state: &MatchState,
        seen: &mut Seen,
        out: &mut Vec<u32>,
        keep: impl Fn(u32) -> bool,
    ) {
        out.clear();
        let generation = seen.next(self.rules.len());
        let marks = &mut seen.marks;
        for lit in state.literals() {
            for &r in &self.rules_by_literal[lit as usize] {
                if marks[r as usize] != generation && keep(r) {
                    marks[r as usize] = generation;
                    out.push(r);
                }
            }
        }
        for &r in &self.always {
            if marks[r as usize] != generation && keep(r) {
                marks[r as usize] = generation;
                out.push(r);
            }
        }
        out.sort_unstable();
    }
}

/// The queries of the rules as written, in one buffer: rule `r`'s is `text[ends[r - 1]..ends[r]]`.
#[derive(Default)]
struct Queries {
    text: String,
    ends: Vec<u32>,
}

impl Queries {
    fn push(&mut self, query: &str) {
        self.text.push_str(query);
        self.ends.push(self.text.len() as u32);
    }

    /// The query of rule `r`.
    fn get(&self, r: usize) -> &str {
        let start = if r == 0 { 0 } else { self.ends[r - 1] as usize };
        &self.text[start..self.ends[r] as usize]
    }
}

/// Marks of the rules taken by [`Inner::candidates`]: `marks[r] == generation` when rule `r`
/// was taken in the current call.
#[derive(Default)]
struct Seen {
    marks: Vec<u32>,
    generation: u32,
}

impl Seen {
    /// Starts a call over `rules` rules: its generation.
    fn next(&mut self, rules: usize) -> u32 {
        if self.marks.len() != rules || self.generation == u32::MAX {
            self.marks.clear();
            self.marks.resize(rules, 0);
            self.generation = 0;
        }
        self.generation += 1;
        self.generation
    }
}

/// The buffers of one classification, reused by the next one on the same thread.
#[derive(Default)]
struct Scratch {
    /// The article's words and literal occurrences.
    state: MatchState,
    /// For each topic, whether the caller asked for it.
    wanted: Vec<bool>,
    /// Rules with a literal in the text (plus those that need none).
    candidates: Vec<u32>,
    seen: Seen,
    /// Rules that fired: topic, rule, their occurrences in `occs`.
    fired: Vec<(usize, u32, std::ops::Range<usize>)>,
    occs: Vec<Occ>,
    /// One rule's occurrences while it is evaluated.
    spans: Vec<Occ>,
    /// One topic's occurrences of positive rules, `(index in the topic's group, occurrence)`.
    items: Vec<(usize, Occ)>,
    /// For each rule of the group, its range of `items`.
    ranges: Vec<std::ops::Range<usize>>,
    overlaps: Overlaps,
    /// One rule's own occurrences, and their overlaps, for its evidence.
    own: (Vec<(usize, Occ)>, Overlaps),
}

/// The occurrences of one rule (sorted) that its evidence shows: all of them, except that among
/// occurrences of the rule that overlap one another only the longest (then the earliest) is kept.
fn own_spans<'o>(
    occs: &'o [Occ],
    (items, overlaps): &'o mut (Vec<(usize, Occ)>, Overlaps),
) -> impl Iterator<Item = &'o Occ> + 'o {
    // Sorted by (field, start, end): some occurrence overlaps an earlier one exactly when it
    // starts before the furthest end seen so far in its field.
    let mut reach: Option<(crate::article::Field, u32)> = None;
    let nested = occs.iter().any(|o| {
        let overlaps = reach.is_some_and(|(field, end)| field == o.field && o.start < end);
        reach = match reach {
            Some((field, end)) if field == o.field => Some((field, end.max(o.end))),
            _ => Some((o.field, o.end)),
        };
        overlaps
    });
    items.clear();
    if nested {
        items.extend(occs.iter().map(|o| (0, *o)));
        resolve_overlaps(items, overlaps);
    }
    let kept = &overlaps.kept;
    occs.iter()
        .enumerate()
        .filter(move |&(i, _)| !nested || kept[i])
        .map(|(_, o)| o)
}

thread_local! {
    /// Match buffers reused from one `classify` call to the next on the same thread.
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

/// Articles with more words than this do not leave their (large) buffers behind in [`SCRATCH`].
const MAX_KEPT_WORDS: usize = 1 << 16;

/// `score / (score + threshold)` for a positive score, else 0: monotone, in `[0, 1)`, 0.5 at the
/// threshold.
pub fn confidence(score: f64, threshold: f64) -> f64 {
    if score > 0.0 {
        score / (score + threshold)
    } else {
        0.0
    }
}

fn span(state: &MatchState, article: &Article<'_>, occ: &Occ) -> Span {
    let words = &state.fields[occ.field.index()];
    let start = words.span(occ.start as usize).start;
    let end = words.span(occ.end as usize - 1).end;
    Span {
        field: occ.field,
        start,
        end,
        text: article.field(occ.field)[start..end].to_owned(),
        list: None,
        list_entry: None,
    }
}

/// Names the list and entry of a span of a rule that refers to named lists: the first of the
/// rule's lists (in id order), referred to in the span's field, with an entry at the span.
fn name_list_entry(
    span: &mut Span,
    rule: &CompiledRule,
    occ: &Occ,
    state: &MatchState,
    dictionary: &Dictionary,
) {
    for &(list, fields) in rule.lists.iter() {
        if !fields.contains(occ.field) {
            continue;
        }
        if let Some(entry) = state.entry_at(list, occ) {
            if let Some(compiled) = dictionary.list_of(list) {
                span.list = Some(compiled.name.clone());
                span.list_entry = compiled.entries.get(&entry).cloned();
                return;
            }
        }
    }
}

fn convert_spans(topics: &mut [TopicScore], article: &Article<'_>, encoding: OffsetEncoding) {
    for field in crate::article::Field::ALL {
        let mut offsets: Vec<&mut usize> = topics
            .iter_mut()
            .flat_map(|t| t.evidence.iter_mut())
            .flat_map(|e| e.spans.iter_mut())
            .filter(|s| s.field == field)
            .flat_map(|s| [&mut s.start, &mut s.end])
            .collect();
        convert_offsets(article.field(field), encoding, &mut offsets);
    }
}

/// `true` if any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync_and_clone() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<Engine>();
    }

    #[test]
    fn confidence_is_monotone_and_half_at_threshold() {
        assert_eq!(confidence(0.0, 1.0), 0.0);
        assert_eq!(confidence(-1.0, 1.0), 0.0);
        assert_eq!(confidence(2.0, 2.0), 0.5);
        let mut last = 0.0;
        for i in 1..100 {
            let c = confidence(i as f64 * 0.25, 1.0);
            assert!(c > last && c < 1.0);
            last = c;
        }
    }
}
