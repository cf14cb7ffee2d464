//! Inputs shared by the benchmarks and `examples/scale.rs`: the news corpus, the rule sets, and
//! the literals of a rule set for the aho-corasick reference scan.
#![allow(dead_code)] // each user takes what it needs

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rubric::rules::{Expr, ExprKind};
use rubric::RuleSet;

/// `../shared`, beside the repository.
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nThe benchmarks read the news corpus and the PETRARCH2 dictionary from \
             ../shared/data (beside the repository), as CI lays it out.",
            path.display()
        )
    })
}

/// The benchmark corpus: every article of `../shared/data/dev/*.jsonl` (title, body) and the
/// seed article `../shared/seeds/000_37e20e75fb50bf7a.txt` (as body), in that order.
pub fn corpus() -> Vec<(String, String)> {
    let mut articles = Vec::new();
    for file in ["plover.jsonl", "disaster_news_validation.jsonl"] {
        let text = read(&shared().join("data/dev").join(file));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            articles.push((field("title"), field("body")));
        }
    }
    articles.push((
        String::new(),
        read(&shared().join("seeds/000_37e20e75fb50bf7a.txt")),
    ));
    articles
}

/// Bytes of title and body over the corpus.
pub fn corpus_bytes(corpus: &[(String, String)]) -> u64 {
    corpus.iter().map(|(t, b)| (t.len() + b.len()) as u64).sum()
}

/// The PETRARCH2 issue dictionary, imported with `rubric::import::phoenix`.
pub fn phoenix_rules() -> String {
    let path = shared().join("data/dictionaries/Phoenix.IssueCoding.txt");
    rubric::import::phoenix("Phoenix.IssueCoding.txt", &read(&path)).toml
}

/// `benches/data/words.txt`: 63,875 lowercase words (SCOWL via Debian's wamerican).
pub fn words() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/words.txt");
    read(&path).lines().map(str::to_owned).collect()
}

/// A synthetic rule set of `n` rules in 20 topics, drawn from `words` with a fixed seed, so rule
/// `i` is the same in every set (the 1k set is the start of the 10k set).
///
/// Of every ten rules, on average: five single terms, two two-word phrases, one `a AND NOT b`, one
/// prefix wildcard (a word of 6+ letters cut by two: `negotia*`), one `a NEAR/5 b`. Weights 1,
/// thresholds 1.
pub fn synthetic_rules(n: usize, words: &[String]) -> String {
    synthetic_rules_mixed(n, n, words)
}

/// Like [`synthetic_rules`], but rules from `live` on are written with their words reversed
/// (`abandon` gives `nodnaba`): as many rules and literals, of the same shapes and lengths, that
/// almost never match news text. Separates the cost of having many rules from the cost of many
/// matches.
pub fn synthetic_rules_mixed(n: usize, live: usize, words: &[String]) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let draw = |next: &mut dyn FnMut() -> u64, reversed: bool| -> String {
        let w = &words[(next() % words.len() as u64) as usize];
        if reversed {
            w.chars().rev().collect()
        } else {
            w.clone()
        }
    };
    let mut out = String::with_capacity(n * 80);
    out.push_str("[rule_set]\nname = \"synthetic\"\nversion = \"1\"\n");
    for t in 0..20 {
        let _ = write!(out, "\n[[topics]]\nid = \"t{t:02}\"\n");
    }
    for i in 0..n {
        let reversed = i >= live;
        let pick = |next: &mut dyn FnMut() -> u64| draw(next, reversed);
        let kind = next() % 10;
        let query = match kind {
            0..=4 => pick(&mut next),
            5 | 6 => format!("\"{} {}\"", pick(&mut next), pick(&mut next)),
            7 => format!("{} AND NOT {}", pick(&mut next), pick(&mut next)),
            8 => loop {
                let w = pick(&mut next);
                if w.len() >= 6 {
                    break format!("{}*", &w[..w.len() - 2]);
                }
            },
            _ => format!("{} NEAR/5 {}", pick(&mut next), pick(&mut next)),
        };
        let _ = write!(
            out,
            "\n[[rules]]\nid = \"r{i}\"\ntopic = \"t{:02}\"\nquery = '{query}'\n",
            i % 20
        );
    }
    out
}

/// `n` distinct synthetic terms drawn from `words` with a fixed seed, written as named-list
/// entries (`benches/lists.rs` also writes each one as a query of its own rule).
///
/// Of every ten, on average: six single words (`abandon`), two two-word phrases (`abandon
/// ship`), one prefix wildcard (a word of 6+ letters cut by two: `negotia*`), one case-sensitive
/// capitalized word (`{Abandon}`). Duplicates are drawn again, so the `n` entries are `n`
/// literals.
pub fn synthetic_terms(n: usize, words: &[String]) -> Vec<String> {
    let mut state: u64 = 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let pick = |r: u64| words[(r % words.len() as u64) as usize].as_str();
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let term = match next() % 10 {
            0..=5 => pick(next()).to_owned(),
            6 | 7 => format!("{} {}", pick(next()), pick(next())),
            8 => loop {
                let w = pick(next());
                if w.len() >= 6 {
                    break format!("{}*", &w[..w.len() - 2]);
                }
            },
            _ => {
                let w = pick(next());
                let mut chars = w.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                format!(
                    "{{{}{}}}",
                    first.into_iter().collect::<String>(),
                    chars.as_str()
                )
            }
        };
        if seen.insert(term.clone()) {
            out.push(term);
        }
    }
    out
}

/// Every literal of every rule as plain text (`negotiat*` gives `negotiat`), deduplicated: what
/// the aho-corasick reference scan looks for.
pub fn literals(set: &RuleSet) -> Vec<String> {
    fn walk(expr: &Expr, out: &mut Vec<String>) {
        match &expr.kind {
            ExprKind::Or(ops) | ExprKind::And(ops) => ops.iter().for_each(|o| walk(o, out)),
            ExprKind::Not(op) => walk(op, out),
            ExprKind::Scope { expr, .. } => walk(expr, out),
            ExprKind::Near { left, right, .. } => {
                walk(left, out);
                walk(right, out);
            }
            ExprKind::Literal(lit) => out.push(lit.text.trim_end_matches('*').to_owned()),
        }
    }
    let mut out = Vec::new();
    for rule in &set.rules {
        walk(&rule.expr, &mut out);
    }
    out.sort();
    out.dedup();
    out
}
