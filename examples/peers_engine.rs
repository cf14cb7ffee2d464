//! The engine alone on the keyword lists of `../shared/bench/peers.py` (issue #15): the same
//! corpus and the same rules as that script's `rubric` row, classified in process with
//! `Engine::classify` (no evidence, one thread), so the row can be read beside the CLI's, whose
//! figure includes reading and writing JSON.
//!
//! ```sh
//! python3 ../shared/bench/peers.py --dump /tmp/peers        # corpus.jsonl, keywords_<list>.txt
//! cargo run --release --example peers_engine -- /tmp/peers [phoenix,1k,10k,100k] [--evidence]
//! ```
//!
//! Prints, per list: rules, MB/s (corpus MB = 10^6 bytes of UTF-8 divided by the best of five
//! timed passes, each repeated to last at least 0.5 s), rules fired per pass.
//!
//! `ONE_PASS=1` classifies the corpus once and times nothing (for `valgrind --tool=callgrind`);
//! `PROBE_EMPTY=1` also prints the time of one classification of a one-word article (the cost
//! per article that does not depend on its text).

use std::time::Instant;

use rubric::{Article, ClassifyOptions, Engine};

/// The rule file `peers.py` writes for a list: one rule per phrase over ten topics.
fn rules(phrases: &[String]) -> String {
    let mut out = String::from("[rule_set]\nname = \"peers\"\nversion = \"1\"\n");
    for t in 0..10 {
        out.push_str(&format!(
            "[[topics]]\nid = \"t{t}\"\nname = \"T{t}\"\nthreshold = 1.0\n"
        ));
    }
    for (i, p) in phrases.iter().enumerate() {
        let words: Vec<&str> = p.split_whitespace().collect();
        let upper = p.to_uppercase();
        let query = if words.len() == 1 && !["AND", "OR", "NOT"].contains(&upper.as_str()) {
            p.clone()
        } else {
            format!("\"{}\"", words.join(" "))
        };
        out.push_str(&format!(
            "[[rules]]\nid = \"r{i}\"\ntopic = \"t{}\"\nquery = {}\nweight = 1.0\n",
            i % 10,
            serde_json::to_string(&query).expect("a string")
        ));
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: peers_engine DUMP_DIR [phoenix,1k,10k,100k] [--evidence]  (DUMP_DIR from `peers.py --dump DUMP_DIR`)");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let lists = args
        .get(1)
        .filter(|a| !a.starts_with("--"))
        .map_or("phoenix,1k,10k,100k", String::as_str);
    let evidence = args.iter().any(|a| a == "--evidence");
    let corpus_file = dir.join("corpus.jsonl");
    let Ok(corpus_text) = std::fs::read_to_string(&corpus_file) else {
        eprintln!(
            "error: cannot read {}: make it with `python3 ../shared/bench/peers.py --dump {}`",
            corpus_file.display(),
            dir.display()
        );
        std::process::exit(2);
    };
    let corpus: Vec<String> = corpus_text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["text"].as_str().expect("text").to_owned()
        })
        .collect();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let options = ClassifyOptions {
        evidence,
        ..Default::default()
    };
    println!(
        "corpus: {} documents, {bytes} bytes; evidence {evidence}",
        corpus.len()
    );
    println!("| list | rules | MB/s | rules fired |");
    println!("|---|---:|---:|---:|");
    for list in lists.split(',') {
        let phrases: Vec<String> =
            std::fs::read_to_string(dir.join(format!("keywords_{list}.txt")))
                .expect("keyword list")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
        let engine = Engine::from_toml(list, &rules(&phrases)).expect("rules load");
        let pass = || {
            let mut fired = 0.0;
            for text in &corpus {
                let article = Article {
                    id: "",
                    title: "",
                    body: text,
                };
                let result = engine.classify(&article, &options).expect("classify");
                fired += result.topics.iter().map(|t| t.score).sum::<f64>();
            }
            fired
        };
        if std::env::var_os("PROBE_EMPTY").is_some() {
            let start = Instant::now();
            for _ in 0..1_000_000 {
                let article = Article {
                    id: "",
                    title: "",
                    body: "x",
                };
                std::hint::black_box(engine.classify(&article, &options).expect("classify"));
            }
            println!(
                "empty article: {:.0} ns",
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        let fired = pass();
        if std::env::var_os("ONE_PASS").is_some() {
            continue;
        }
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = Instant::now();
            let mut passes = 0;
            while start.elapsed().as_secs_f64() < 0.5 {
                std::hint::black_box(pass());
                passes += 1;
            }
            best = best.min(start.elapsed().as_secs_f64() / passes as f64);
        }
        println!(
            "| {list} | {} | {:.1} | {fired} |",
            phrases.len(),
            bytes as f64 / 1e6 / best
        );
    }
}
