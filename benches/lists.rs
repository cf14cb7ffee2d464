//! Named lists at scale: is a 50,000-entry list as cheap per article as 50,000 terms written as
//! rules of their own?
//!
//! `cargo bench --bench lists -- lists-` classifies the corpus of `benches/engine.rs`
//! (`support::corpus`, evidence on, throughput in corpus bytes) with, side by side in one run:
//! - `lists-classify/terms-50k`: 50,000 distinct synthetic terms (`support::synthetic_terms`:
//!   words, two-word phrases, prefix wildcards and `{Capitalized}` exact words drawn from
//!   `benches/data/words.txt`), each the query of its own rule, rule `i` in topic `i % 4`;
//! - `lists-classify/list-50k-one-rule`: the same 50,000 terms as one inline list
//!   (`[lists] big = [...]`) and one rule `@big`;
//! - `lists-classify/lists-50k-per-topic`: the same terms split over the four topics as in
//!   `terms-50k`, one inline list per topic and one rule `@big_tNN` each (so the topics labelled
//!   are those of `terms-50k`);
//! - `lists-classify/list-50k-near`: one rule `@big NEAR/5 @small`, `small` a list of ten
//!   frequent news words;
//! - `lists-classify/default`: the default rules (with their list files), as a reference;
//!
//! then `lists-compile/<set>`: `Engine::check_with` (parse, compile, examples, lints) of the
//! 50,000-term sets; then, on Linux, `lists-classify-cpu/<set>`: `lists-classify` again, timed in
//! CPU time of the measuring thread instead of wall time (the machines are shared: wall time also
//! counts the time other processes hold the core).
//!
//! Before measuring it prints, per rule set, the rules fired, topics labelled and evidence spans
//! per article on the corpus, and fails if `terms-50k` and `lists-50k-per-topic` label different
//! topics on any article. `python3 benches/lists-summary.py` prints the table and ratios of
//! BENCHMARKS.md ("Named lists") from criterion's estimates.

mod support;

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rubric::{Article, ClassifyOptions, Engine};

/// Entries of the big list, and rules of `terms-50k`.
const TERMS: usize = 50_000;
/// Topics the terms are spread over.
const TOPICS: usize = 4;
/// The second operand of `list-50k-near`: words that occur in most news articles.
const SMALL: [&str; 10] = [
    "said",
    "government",
    "officials",
    "minister",
    "president",
    "police",
    "people",
    "country",
    "forces",
    "report*",
];

fn header(out: &mut String, name: &str) {
    let _ = write!(out, "[rule_set]\nname = \"{name}\"\nversion = \"1\"\n");
    for t in 0..TOPICS {
        let _ = write!(out, "\n[[topics]]\nid = \"t{t:02}\"\n");
    }
}

/// A list entry as a query: phrases need quotes there.
fn as_query(term: &str) -> String {
    if term.contains(' ') && !term.starts_with('{') {
        format!("\"{term}\"")
    } else {
        term.to_owned()
    }
}

/// `name = [ "a", "b c", ... ]`.
fn inline_list<'a>(out: &mut String, name: &str, entries: impl IntoIterator<Item = &'a str>) {
    let _ = writeln!(out, "{name} = [");
    for entry in entries {
        let _ = writeln!(out, "  \"{entry}\",");
    }
    out.push_str("]\n");
}

fn rule(out: &mut String, id: &str, topic: usize, query: &str) {
    let _ = write!(
        out,
        "\n[[rules]]\nid = \"{id}\"\ntopic = \"t{topic:02}\"\nquery = '{query}'\n"
    );
}

/// (a) One rule per term, rule `i` in topic `i % TOPICS`.
fn terms_rules(terms: &[String]) -> String {
    let mut out = String::with_capacity(terms.len() * 60);
    header(&mut out, "terms-50k");
    for (i, term) in terms.iter().enumerate() {
        rule(&mut out, &format!("r{i}"), i % TOPICS, &as_query(term));
    }
    out
}

/// (b) One list of every term, one rule.
fn one_list_rules(terms: &[String]) -> String {
    let mut out = String::with_capacity(terms.len() * 16);
    header(&mut out, "list-50k-one-rule");
    out.push_str("\n[lists]\n");
    inline_list(&mut out, "big", terms.iter().map(String::as_str));
    rule(&mut out, "big", 0, "@big");
    out
}

/// (b') One list per topic holding the terms `terms_rules` puts in that topic, one rule each.
fn per_topic_lists_rules(terms: &[String]) -> String {
    let mut out = String::with_capacity(terms.len() * 16);
    header(&mut out, "lists-50k-per-topic");
    out.push_str("\n[lists]\n");
    for t in 0..TOPICS {
        inline_list(
            &mut out,
            &format!("big_t{t:02}"),
            terms.iter().skip(t).step_by(TOPICS).map(String::as_str),
        );
    }
    for t in 0..TOPICS {
        rule(
            &mut out,
            &format!("big_t{t:02}"),
            t,
            &format!("@big_t{t:02}"),
        );
    }
    out
}

/// (c) The big list NEAR a small one.
fn near_rules(terms: &[String]) -> String {
    let mut out = String::with_capacity(terms.len() * 16);
    header(&mut out, "list-50k-near");
    out.push_str("\n[lists]\n");
    inline_list(&mut out, "big", terms.iter().map(String::as_str));
    inline_list(&mut out, "small", SMALL);
    rule(&mut out, "big-near-small", 0, "@big NEAR/5 @small");
    out
}

fn load(name: &str, toml: &str) -> Engine {
    match Engine::check_with(name, toml, &rubric::DEFAULT_LISTS) {
        (Some(engine), _) => engine,
        (None, diagnostics) => panic!(
            "{name} does not load: {:?}",
            diagnostics.iter().take(5).collect::<Vec<_>>()
        ),
    }
}

/// Per-article facts of one rule set on the corpus (evidence on), printed before measuring; and
/// the labelled topics of each article, to compare rule sets.
fn facts(name: &str, engine: &Engine, articles: &[Article<'_>]) -> Vec<Vec<String>> {
    let options = ClassifyOptions::default();
    let (mut fired, mut labelled, mut spans) = (0, 0, 0);
    let mut labels = Vec::with_capacity(articles.len());
    for a in articles {
        let result = engine.classify(a, &options).expect("classify");
        let mut these: Vec<String> = Vec::new();
        for t in &result.topics {
            fired += t.evidence.len();
            spans += t.evidence.iter().map(|e| e.spans.len()).sum::<usize>();
            if t.label {
                labelled += 1;
                these.push(t.topic.to_string());
            }
        }
        these.sort();
        labels.push(these);
    }
    let n = articles.len() as f64;
    eprintln!(
        "{name}: {} rules; per article {:.2} rules fired, {:.2} topics labelled, \
         {:.2} evidence spans",
        engine.rules().len(),
        fired as f64 / n,
        labelled as f64 / n,
        spans as f64 / n,
    );
    labels
}

/// The corpus, the rule sets and their engines, built once for all groups.
struct Setup {
    articles: Vec<Article<'static>>,
    bytes: u64,
    sets: Vec<(&'static str, String)>,
    engines: Vec<(&'static str, Engine)>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let corpus: &'static [(String, String)] = Vec::leak(support::corpus());
        let bytes = support::corpus_bytes(corpus);
        let articles: Vec<Article<'static>> = corpus
            .iter()
            .map(|(title, body)| Article {
                id: "",
                title,
                body,
            })
            .collect();
        let terms = support::synthetic_terms(TERMS, &support::words());
        let sets: Vec<(&str, String)> = vec![
            ("terms-50k", terms_rules(&terms)),
            ("list-50k-one-rule", one_list_rules(&terms)),
            ("lists-50k-per-topic", per_topic_lists_rules(&terms)),
            ("list-50k-near", near_rules(&terms)),
            ("default", rubric::DEFAULT_RULES.to_owned()),
        ];
        let engines: Vec<(&str, Engine)> = sets
            .iter()
            .map(|(name, toml)| (*name, load(name, toml)))
            .collect();
        let labels: Vec<Vec<Vec<String>>> = engines
            .iter()
            .map(|(name, engine)| facts(name, engine, &articles))
            .collect();
        assert_eq!(
            labels[0], labels[2],
            "terms-50k and lists-50k-per-topic label the same topics"
        );
        Setup {
            articles,
            bytes,
            sets,
            engines,
        }
    })
}

/// `group`: every rule set classifies the whole corpus, evidence on.
fn classify_group<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let setup = setup();
    let options = ClassifyOptions {
        evidence: true,
        ..Default::default()
    };
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Bytes(setup.bytes));
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));
    for (name, engine) in &setup.engines {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut labels = 0;
                for a in &setup.articles {
                    let result = engine.classify(a, &options).expect("classify");
                    labels += result.topics.iter().filter(|t| t.label).count();
                }
                black_box(labels)
            })
        });
    }
    group.finish();
}

fn wall_time_benches(c: &mut Criterion) {
    classify_group(c, "lists-classify");

    // One compile is about a second here: flat sampling, one compile per sample.
    let mut group = c.benchmark_group("lists-compile");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    for (name, toml) in setup().sets.iter().filter(|(name, _)| *name != "default") {
        group.bench_function(*name, |b| b.iter(|| load(name, toml)));
    }
    group.finish();
}

#[cfg(target_os = "linux")]
fn cpu_time_benches(c: &mut Criterion<cpu_time::ThreadCpuTime>) {
    classify_group(c, "lists-classify-cpu");
}

#[cfg(target_os = "linux")]
mod cpu_time {
    use criterion::measurement::{Measurement, ValueFormatter};
    use criterion::Throughput;

    /// Time on the CPU of the measuring thread (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds: unlike
    /// wall time, it does not count the time the thread waits for a core that other processes hold,
    /// which on the shared 2-core machines is most of the run-to-run noise.
    pub struct ThreadCpuTime;

    impl ThreadCpuTime {
        fn now() -> u64 {
            #[repr(C)]
            struct Timespec {
                tv_sec: std::ffi::c_long,
                tv_nsec: std::ffi::c_long,
            }
            extern "C" {
                fn clock_gettime(clock: std::ffi::c_int, tp: *mut Timespec) -> std::ffi::c_int;
            }
            const CLOCK_THREAD_CPUTIME_ID: std::ffi::c_int = 3;
            let mut ts = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid, writable timespec (two C longs on Linux) for the call.
            let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
            ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
        }
    }

    impl Measurement for ThreadCpuTime {
        type Intermediate = u64;
        type Value = u64;

        fn start(&self) -> u64 {
            ThreadCpuTime::now()
        }
        fn end(&self, start: u64) -> u64 {
            ThreadCpuTime::now() - start
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, value: &u64) -> f64 {
            *value as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &CpuNanos
        }
    }

    /// Formats CPU nanoseconds as criterion formats wall time (`ms`, `MiB/s`).
    struct CpuNanos;

    impl ValueFormatter for CpuNanos {
        fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
            let (factor, unit) = match typical {
                t if t < 1e3 => (1.0, "ns"),
                t if t < 1e6 => (1e-3, "µs"),
                t if t < 1e9 => (1e-6, "ms"),
                _ => (1e-9, "s"),
            };
            values.iter_mut().for_each(|v| *v *= factor);
            unit
        }

        fn scale_throughputs(
            &self,
            _typical: f64,
            throughput: &Throughput,
            values: &mut [f64],
        ) -> &'static str {
            let (amount, unit) = match *throughput {
                Throughput::Bytes(n) => (n as f64 / (1024.0 * 1024.0), "MiB/s"),
                Throughput::BytesDecimal(n) => (n as f64 / 1e6, "MB/s"),
                Throughput::Elements(n) => (n as f64, "elem/s"),
                Throughput::Bits(n) => (n as f64, "b/s"),
            };
            values.iter_mut().for_each(|v| *v = amount * 1e9 / *v);
            unit
        }

        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "ns"
        }
    }
}

criterion_group!(benches, wall_time_benches);
#[cfg(target_os = "linux")]
criterion_group! {
    name = cpu_benches;
    config = Criterion::default().with_measurement(cpu_time::ThreadCpuTime);
    targets = cpu_time_benches
}
#[cfg(target_os = "linux")]
criterion_main!(benches, cpu_benches);
#[cfg(not(target_os = "linux"))]
criterion_main!(benches);
