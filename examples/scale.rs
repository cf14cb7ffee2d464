//! Rule-set scale facts that criterion does not measure: how long `Engine::from_toml` takes for
//! one large rule set in a fresh process, how much memory the process holds with it loaded, and
//! how many rules fire per article on the benchmark corpus.
//!
//! ```sh
//! cargo run --release --example scale -- 100000     # synthetic rules (benches/support)
//! cargo run --release --example scale -- 1000+99000 # 1k of them and 99k reversed ones
//! cargo run --release --example scale -- phoenix    # the imported PETRARCH2 dictionary
//! cargo run --release --example scale -- default    # the embedded default rules
//! ```
//!
//! A second argument N classifies the corpus N more times without evidence (for `perf record`).
//!
//! Prints one line: rules, compile seconds, resident MiB after `rubric::memory::release_free_memory`
//! (what the server holds once it has loaded the rules) and before it, and peak resident MiB
//! (`VmRSS`, `VmHWM` from /proc/self/status, Linux), fired rules and labelled topics per article.

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

use rubric::{Article, ClassifyOptions, Engine};

fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "100000".into());
    let toml = match which.as_str() {
        "default" => rubric::DEFAULT_RULES.to_owned(),
        "phoenix" => support::phoenix_rules(),
        n => {
            // `100000` or `1000+99000` (live + reversed, see support::synthetic_rules_mixed).
            let (live, silent) = n.split_once('+').unwrap_or((n, "0"));
            let count = |s: &str| {
                s.parse::<usize>()
                    .expect("a rule count, `phoenix` or `default`")
            };
            let (live, silent) = (count(live), count(silent));
            support::synthetic_rules_mixed(live + silent, live, &support::words())
        }
    };
    let corpus = support::corpus();
    let before = status_mib("VmRSS:");
    let start = Instant::now();
    let engine = Engine::from_toml(&which, &toml).expect("rule set loads");
    let compile = start.elapsed().as_secs_f64();
    drop(toml);
    let untrimmed = status_mib("VmRSS:");
    // As the server does after loading rules.
    rubric::memory::release_free_memory();
    let rss = status_mib("VmRSS:");
    let (mut fired, mut labels) = (0usize, 0usize);
    for (title, body) in &corpus {
        let article = Article {
            id: "",
            title,
            body,
        };
        let result = engine
            .classify(&article, &ClassifyOptions::default())
            .unwrap();
        fired += result
            .topics
            .iter()
            .map(|t| t.evidence.len())
            .sum::<usize>();
        labels += result.topics.iter().filter(|t| t.label).count();
    }
    let repeat: usize = std::env::args()
        .nth(2)
        .map_or(0, |n| n.parse().expect("a count"));
    let options = ClassifyOptions {
        evidence: false,
        ..Default::default()
    };
    for _ in 0..repeat {
        for (title, body) in &corpus {
            let article = Article {
                id: "",
                title,
                body,
            };
            std::hint::black_box(engine.classify(&article, &options).unwrap());
        }
    }
    println!(
        "{which}: {} rules, compiled in {compile:.3} s, resident {rss:.1} MiB after \
         release_free_memory ({untrimmed:.1} MiB before it; before loading {before:.1} MiB, \
         peak {:.1} MiB), {:.2} rules fired and {:.2} topics labelled per article ({} articles)",
        engine.info().rule_count,
        status_mib("VmHWM:"),
        fired as f64 / corpus.len() as f64,
        labels as f64 / corpus.len() as f64,
        corpus.len(),
    );
}
