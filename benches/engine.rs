//! Engine throughput on real news text, side by side with its reference points (issue #6).
//!
//! `cargo bench --bench engine` runs, on one corpus (`../shared/data/dev/*.jsonl` and the seed
//! article, see `support::corpus`):
//! - `classify/<rules>/evidence` and `classify/<rules>/no-evidence`: `Engine::classify` on every
//!   article, for the default rules, the imported PETRARCH2 dictionary, and 1k/10k/100k synthetic
//!   rules, and 1k synthetic rules plus 99k that (almost) never match (`1k+99k-reversed`);
//! - `aho-corasick/<rules>`: the same corpus scanned by one `aho-corasick` automaton
//!   (leftmost-longest, ASCII case-insensitive) over the literals of the same rules, counting
//!   matches;
//! - `tokenize`: normalization and tokenization only;
//! - `compile/<rules>`: `Engine::check_with` (parse, compile, examples, lints) of each rule set;
//! - `seed-article/...`: the seed article alone with the default rules, as sent and with its
//!   typographic punctuation written in ASCII.
//!
//! Throughput is in corpus bytes; `scripts/bench-summary.py` turns criterion's estimates into the
//! ratios of BENCHMARKS.md.

mod support;

use std::hint::black_box;
use std::time::Duration;

use aho_corasick::{AhoCorasick, MatchKind};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rubric::rules::{ListFiles, NoListFiles};
use rubric::text::{tokenize, NormalizeOptions};
use rubric::{Article, ClassifyOptions, Engine, RuleSet};

fn rule_sets() -> Vec<(&'static str, String)> {
    let words = support::words();
    vec![
        ("default", rubric::DEFAULT_RULES.to_owned()),
        ("phoenix", support::phoenix_rules()),
        ("synthetic-1k", support::synthetic_rules(1_000, &words)),
        ("synthetic-10k", support::synthetic_rules(10_000, &words)),
        ("synthetic-100k", support::synthetic_rules(100_000, &words)),
        (
            "synthetic-1k+99k-reversed",
            support::synthetic_rules_mixed(100_000, 1_000, &words),
        ),
    ]
}

fn engine_benches(c: &mut Criterion) {
    let corpus = support::corpus();
    let bytes = support::corpus_bytes(&corpus);
    let articles: Vec<Article<'_>> = corpus
        .iter()
        .map(|(title, body)| Article {
            id: "",
            title,
            body,
        })
        .collect();
    let sets = rule_sets();

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes));
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));
    group.bench_function("tokenize", |b| {
        b.iter(|| {
            let mut words = 0;
            for a in &articles {
                words += tokenize(a.title, NormalizeOptions::default()).len();
                words += tokenize(a.body, NormalizeOptions::default()).len();
            }
            black_box(words)
        })
    });
    for (name, toml) in &sets {
        let engine = load(name, toml);
        let set = RuleSet::load(name, toml, lists(name))
            .0
            .expect("rule set parses");
        let literals = support::literals(&set);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .build(&literals)
            .expect("automaton builds");
        group.bench_function(BenchmarkId::new("aho-corasick", name), |b| {
            b.iter(|| {
                let mut matches = 0;
                for a in &articles {
                    matches += automaton.find_iter(a.title).count();
                    matches += automaton.find_iter(a.body).count();
                }
                black_box(matches)
            })
        });
        for evidence in [true, false] {
            let options = ClassifyOptions {
                evidence,
                ..Default::default()
            };
            let label = if evidence { "evidence" } else { "no-evidence" };
            group.bench_function(BenchmarkId::new(format!("classify/{label}"), name), |b| {
                b.iter(|| {
                    let mut labels = 0;
                    for a in &articles {
                        let result = engine.classify(a, &options).expect("classify");
                        labels += result.topics.iter().filter(|t| t.label).count();
                    }
                    black_box(labels)
                })
            });
        }
    }
    group.finish();

    // The load test's article alone (scripts/loadtest.sh): the engine's share of a Classify call.
    let (_, seed) = corpus.last().expect("the seed article");
    let seed_article = Article {
        id: "",
        title: "",
        body: seed,
    };
    let engine = Engine::embedded().expect("default rules");
    let mut group = c.benchmark_group("seed-article");
    group.throughput(Throughput::Bytes(seed.len() as u64));
    group.bench_function("classify/evidence/default", |b| {
        b.iter(|| engine.classify(&seed_article, &ClassifyOptions::default()))
    });
    // The same article with its typographic punctuation written in ASCII (issue #15: the
    // non-ASCII one should cost at most 1.5x this).
    let ascii_seed = ascii_punctuation(seed);
    let ascii_article = Article {
        id: "",
        title: "",
        body: &ascii_seed,
    };
    group.bench_function("classify/evidence/default-ascii-punctuation", |b| {
        b.iter(|| engine.classify(&ascii_article, &ClassifyOptions::default()))
    });
    group.finish();

    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));
    for (name, toml) in &sets {
        group.bench_function(*name, |b| b.iter(|| load(name, toml)));
    }
    group.finish();
}

/// The list files of a rule set: the embedded ones for the default rules (which name list
/// files), none for the others.
fn lists(name: &str) -> &'static dyn ListFiles {
    if name == "default" {
        &rubric::DEFAULT_LISTS
    } else {
        &NoListFiles
    }
}

/// Parses, checks and compiles a rule set of [`rule_sets`].
fn load(name: &str, toml: &str) -> Engine {
    Engine::check_with(name, toml, lists(name))
        .0
        .expect("rule set loads")
}

/// `text` with curly quotes and apostrophes, dashes, no-break spaces and ellipses in ASCII.
fn ascii_punctuation(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => "'".to_owned(),
            '\u{201C}' | '\u{201D}' => "\"".to_owned(),
            '\u{2013}' | '\u{2014}' => "-".to_owned(),
            '\u{00A0}' => " ".to_owned(),
            '\u{2026}' => "...".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

criterion_group!(benches, engine_benches);
criterion_main!(benches);
