//! `rubric learn` and `rubric suggest` on small labelled data the tests make themselves: exact
//! counts, the separating word found first, determinism, the learned file checked, classified
//! with evidence, served and hot-reloaded, and each bad input with its error.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rubric::pb::classifier_service_client::ClassifierServiceClient;
use rubric::pb::{self, ClassifyRequest};
use serde_json::Value;
use support::{Server, RUBRIC};

fn rubric(args: &[&str]) -> Output {
    Command::new(RUBRIC)
        .args(args)
        .output()
        .expect("run rubric")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ok(o: &Output) -> String {
    let (out, err) = text(o);
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{out}\nstderr:\n{err}",
        o.status
    );
    out
}

/// A small deterministic generator (an LCG), so the data are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.next() % words.len()]
    }
}

const FILLER: &[&str] = &[
    "city",
    "monday",
    "officials",
    "said",
    "new",
    "report",
    "week",
    "local",
    "residents",
    "plan",
];
const OTHER: &[&str] = &[
    "match", "goals", "shares", "profits", "festival", "concert", "election", "school", "museum",
    "harvest",
];

/// `positives` lines labelled true for `ceasefire_topic`, each with the word "ceasefire" and
/// filler words; `negatives` lines labelled false, with other-subject and filler words (never
/// "ceasefire"). Returns JSON Lines.
fn separable(positives: usize, negatives: usize, seed: u64) -> String {
    let mut rng = Lcg(seed);
    // Interleaved in a fixed pattern: positives spread evenly among the negatives.
    let mut out = String::new();
    let (mut p, mut n) = (0, 0);
    let mut id = 0;
    while p < positives || n < negatives {
        let take_positive = p < positives && (n >= negatives || p * negatives <= n * positives);
        let mut words = vec![rng.pick(FILLER), rng.pick(FILLER), rng.pick(FILLER)];
        if take_positive {
            words.insert(rng.next() % 4, "Ceasefire");
            p += 1;
        } else {
            words.insert(rng.next() % 4, rng.pick(OTHER));
            words.insert(rng.next() % 5, rng.pick(OTHER));
            n += 1;
        }
        id += 1;
        let title = words.join(" ");
        out.push_str(&format!(
            "{{\"id\":\"l{id}\",\"title\":\"{title}\",\"body\":\"\",\"labels\":{{\"truce\":{take_positive}}}}}\n"
        ));
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Rules of a learned file: (id, query, weight), in file order.
fn rules_of(path: &Path) -> Vec<(String, String, f64)> {
    let doc: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["query"].as_str().unwrap().to_owned(),
                r["weight"].as_float().unwrap(),
            )
        })
        .collect()
}

#[test]
fn learn_finds_the_separating_word_first_with_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "truce.jsonl", &separable(40, 160, 7));
    let out = dir.path().join("learned.toml");
    let o = rubric(&["learn", "--topic", "truce", s(&data), "-o", s(&out)]);
    ok(&o);
    let rules = rules_of(&out);
    assert_eq!(rules[0].0, "truce.word.ceasefire", "{rules:?}");
    assert_eq!(rules[0].1, "\"ceasefire\"");
    assert!(rules[0].2 > 0.0);
    let file = std::fs::read_to_string(&out).unwrap();
    // Perfectly separable: every held-out line right, and every line right after fitting.
    assert!(
        file.contains(
            "#   cross-validated (5 folds, 200 lines): P 1.000 R 1.000 F1 1.000 (TP 40 FP 0 FN 0 TN 160)\n"
        ),
        "{file}"
    );
    assert!(
        file.contains("(TP 40 FP 0 FN 0 TN 160)\n#   (the folds"),
        "{file}"
    );
    assert!(file.contains("count_overlaps = true"));
    // The header names the data with its line count and hash, and no line of the data.
    assert!(file.contains(&format!("#   {}: 200 lines, sha256 ", s(&data))));
    for line in std::fs::read_to_string(&data).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(
            !file.contains(v["title"].as_str().unwrap()),
            "data line copied: {line}"
        );
    }

    // `rubric check` passes; `rubric eval` gives the counts the header reports.
    ok(&rubric(&["check", s(&out)]));
    let eval: Value = serde_json::from_str(&ok(&rubric(&[
        "eval",
        "--format",
        "json",
        "--rules",
        s(&out),
        s(&data),
    ])))
    .unwrap();
    let counts = &eval["files"][0]["report"]["topics"][0]["counts"];
    assert_eq!(
        (
            counts["tp"].as_u64(),
            counts["fp"].as_u64(),
            counts["fn"].as_u64()
        ),
        (Some(40), Some(0), Some(0))
    );

    // Classify with evidence: the span is the original text.
    let article = r#"{"id":"a","title":"Residents welcome CEASEFIRE","body":""}"#;
    let art = write(dir.path(), "a.json", article);
    let c: Value =
        serde_json::from_str(&ok(&rubric(&["classify", "--rules", s(&out), s(&art)]))).unwrap();
    let topic = &c["topics"][0];
    assert_eq!(topic["topic"], "truce");
    assert_eq!(topic["label"], true);
    let spans: Vec<&str> = topic["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["spans"].as_array().unwrap())
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(spans.contains(&"CEASEFIRE"), "{c}");
}

#[test]
fn learn_is_deterministic_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "truce.jsonl", &separable(30, 170, 11));
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        s(&data),
        "-o",
        s(&a),
    ]));
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        s(&data),
        "-o",
        s(&b),
    ]));
    let stdout = ok(&rubric(&["learn", "--topic", "truce", s(&data)]));
    let a = std::fs::read(&a).unwrap();
    assert_eq!(a, std::fs::read(&b).unwrap());
    assert_eq!(a, stdout.as_bytes());
}

#[test]
fn learn_bounds_the_number_of_rules() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "truce.jsonl", &separable(60, 140, 3));
    let out = dir.path().join("learned.toml");
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        "--max-rules",
        "2",
        s(&data),
        "-o",
        s(&out),
    ]));
    let rules = rules_of(&out);
    assert!(!rules.is_empty() && rules.len() <= 2, "{rules:?}");
    assert_eq!(rules[0].1, "\"ceasefire\"");
}

#[test]
fn learn_rejects_bad_input_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, &[&str], &str)> = vec![
        (
            "unlabelled",
            "{\"id\":\"1\",\"title\":\"a ceasefire\",\"body\":\"\"}\n".repeat(20),
            &["--topic", "truce"],
            "no line has a label for topic `truce`, and no line has any label",
        ),
        (
            "one-class",
            "{\"id\":\"1\",\"title\":\"a ceasefire\",\"body\":\"\",\"labels\":{\"truce\":true}}\n"
                .repeat(20),
            &["--topic", "truce"],
            "all 20 lines labelled for `truce` say true: learning needs lines of both classes",
        ),
        (
            "other-topic",
            separable(10, 10, 1),
            &["--topic", "aid"],
            "no line has a label for topic `aid`; the lines are labelled for: truce",
        ),
        (
            "too-few",
            separable(3, 30, 1),
            &["--topic", "truce"],
            "topic `truce` has 3 lines labelled true and 30 labelled false: this needs at least 5 of each",
        ),
        (
            "empty",
            String::new(),
            &["--topic", "truce"],
            "the data files hold no line: give labelled JSON Lines",
        ),
        (
            "bad-line",
            "{\"id\":\"1\",\"title\":\"x\",\"labels\":{\"truce\":\"yes\"}}\n".to_owned(),
            &["--topic", "truce"],
            "bad-line.jsonl:1:",
        ),
    ];
    for (name, data, args, expected) in cases {
        let path = write(dir.path(), &format!("{name}.jsonl"), &data);
        let out = dir.path().join(format!("{name}.toml"));
        let mut all: Vec<&str> = vec!["learn"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[s(&path), "-o", s(&out)]);
        let o = rubric(&all);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in:\n{err}"
        );
        assert!(!out.exists(), "{name}: no file is written on an error");
    }
    // Found by a fresh user: `-o` naming the data file replaced the labelled lines with TOML.
    let data = write(dir.path(), "keep.jsonl", &separable(10, 40, 1));
    let o = rubric(&["learn", "--topic", "truce", s(&data), "-o", s(&data)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("is an input of this command"),
        "{}",
        text(&o).1
    );
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        separable(10, 40, 1)
    );
}

/// Base rules with one rule that fires on "aid" (also "hearing aid": false positives) and
/// misses "food parcels" (false negatives): suggest finds both changes, with engine counts.
#[test]
fn suggest_finds_the_missing_phrase_and_the_exclusion() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[rule_set]\nname = \"t\"\nversion = \"1\"\n\n[[topics]]\nid = \"aid\"\n\n\
         [[rules]]\nid = \"aid.word\"\ntopic = \"aid\"\nquery = 'aid'\n",
    );
    let mut data = String::new();
    let mut rng = Lcg(5);
    for i in 0..100 {
        let filler = [rng.pick(FILLER), rng.pick(FILLER)].join(" ");
        let ending = [
            "arrives",
            "handed out",
            "for families",
            "on sale",
            "delayed",
        ][(i / 5) % 5];
        let (title, label) = match i % 5 {
            0 => (format!("{filler} aid convoy {ending}"), true),
            1 => (format!("{filler} food parcels {ending}"), true),
            2 => (format!("{filler} hearing aid {ending}"), false),
            _ => (
                format!("{filler} {} {}", rng.pick(OTHER), rng.pick(OTHER)),
                false,
            ),
        };
        data.push_str(&format!(
            "{{\"id\":\"s{i}\",\"title\":\"{title}\",\"body\":\"\",\"labels\":{{\"aid\":{label}}}}}\n"
        ));
    }
    let data = write(dir.path(), "aid.jsonl", &data);
    let o = rubric(&[
        "suggest",
        "--rules",
        s(&rules),
        "--topic",
        "aid",
        "--format",
        "json",
        s(&data),
    ]);
    let v: Value = serde_json::from_str(&ok(&o)).unwrap();
    // The rules now: 20 convoy lines right, 20 food-parcel lines missed, 20 hearing aids wrong;
    // every 5th line of each class (from the first) is for validation.
    assert_eq!(v["training"]["tp"], 16);
    assert_eq!(v["training"]["fn"], 16);
    assert_eq!(v["training"]["fp"], 16);
    let suggestions = v["suggestions"].as_array().unwrap();
    let literals: Vec<(&str, &str)> = suggestions
        .iter()
        .map(|s| {
            (
                s["change"]["kind"].as_str().unwrap(),
                s["literal"].as_str().unwrap(),
            )
        })
        .collect();
    let add = suggestions
        .iter()
        .find(|s| {
            let literal = s["literal"].as_str().unwrap();
            s["change"]["kind"] == "addRule"
                && (literal.contains("parcels") || literal.contains("food"))
        })
        .unwrap_or_else(|| panic!("no rule for the food parcels: {literals:?}"));
    assert_eq!(add["training"]["after"]["fn"], 0, "{add}");
    assert_eq!(add["training"]["after"]["tp"], 32);
    assert_eq!(add["validation"]["after"]["fn"], 0);
    assert!(add["toml"]
        .as_str()
        .unwrap()
        .starts_with("[[rules]]\nid = \"aid.suggested."));
    let excerpts = add["excerpts"].as_array().unwrap();
    assert_eq!(excerpts.len(), 3);
    assert!(excerpts[0]["text"].as_str().unwrap().contains('«'));
    let exclude = suggestions
        .iter()
        .find(|s| {
            s["change"]["kind"] == "exclude" && s["literal"].as_str().unwrap().contains("hearing")
        })
        .unwrap_or_else(|| panic!("no exclusion of hearing: {literals:?}"));
    assert_eq!(exclude["change"]["ruleId"], "aid.word");
    assert_eq!(exclude["training"]["after"]["fp"], 0, "{exclude}");
    assert_eq!(exclude["training"]["after"]["tp"], 16);

    // The text form prints the TOML to paste and the excerpts.
    let o = rubric(&["suggest", "--rules", s(&rules), "--topic", "aid", s(&data)]);
    let out = ok(&o);
    assert!(out.contains("[[rules]]"), "{out}");
    assert!(out.contains("AND NOT"), "{out}");
    assert!(out.contains('«'), "{out}");

    // A topic the rules do not have.
    let o = rubric(&[
        "suggest",
        "--rules",
        s(&rules),
        "--topic",
        "truce",
        s(&data),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o)
        .1
        .contains("the rules have no topic `truce`; they have: aid"));
}

/// The learned file served, classified with evidence over gRPC, replaced by another learned
/// file and hot-reloaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_rules_serve_and_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "truce.jsonl", &separable(40, 160, 7));
    let rules = dir.path().join("learned.toml");
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        s(&data),
        "-o",
        s(&rules),
    ]));
    let first_version = {
        let doc: toml::Table = std::fs::read_to_string(&rules).unwrap().parse().unwrap();
        doc["rule_set"]["version"].as_str().unwrap().to_owned()
    };
    let server = Server::start(&["--rules", s(&rules)]);
    let mut client = ClassifierServiceClient::new(server.channel().await);
    let classify = |c: &mut ClassifierServiceClient<_>| {
        let mut c = c.clone();
        async move {
            c.classify(ClassifyRequest {
                article: Some(pb::Article {
                    id: "x".into(),
                    title: "Ceasefire holds".into(),
                    ..Default::default()
                }),
                options: None,
            })
            .await
            .unwrap()
            .into_inner()
            .classification
            .unwrap()
        }
    };
    let c = classify(&mut client).await;
    assert_eq!(c.rule_set_version, first_version);
    assert!(c.topics[0].label);
    assert_eq!(c.topics[0].evidence[0].spans[0].text, "Ceasefire");

    // Learn again from other data (a different file) and swap it in.
    let data2 = write(dir.path(), "truce2.jsonl", &separable(50, 150, 9));
    let next = dir.path().join("next.toml");
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        s(&data2),
        "-o",
        s(&next),
    ]));
    std::fs::rename(&next, &rules).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = classify(&mut client).await;
        if c.rule_set_version != first_version {
            assert!(c.topics[0].label);
            break;
        }
        assert!(Instant::now() < deadline, "not reloaded:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Learned on top of base rules whose list lives in a list file: the base rule of the topic is in
/// the learned file (scaled), the list file is referred to relative to the learned file in
/// another directory, and the file checks clean.
#[test]
fn learn_on_base_rules_refers_to_their_list_files() {
    let dir = tempfile::tempdir().unwrap();
    let base_dir = dir.path().join("base");
    std::fs::create_dir_all(base_dir.join("lists")).unwrap();
    write(
        &base_dir.join("lists"),
        "truce.txt",
        "ceasefire\narmistice\n",
    );
    let base = write(
        &base_dir,
        "rules.toml",
        "[rule_set]\nname = \"b\"\nversion = \"1\"\n\n[[topics]]\nid = \"truce\"\n\n\
         [[rules]]\nid = \"truce.words\"\ntopic = \"truce\"\nquery = '@truce'\n\n\
         [lists]\ntruce = { file = \"lists/truce.txt\" }\n",
    );
    let data = write(dir.path(), "truce.jsonl", &separable(40, 160, 7));
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let out = dir.path().join("out").join("learned.toml");
    ok(&rubric(&[
        "learn",
        "--topic",
        "truce",
        "--rules",
        s(&base),
        s(&data),
        "-o",
        s(&out),
    ]));
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(
        file.contains("truce = { file = \"../base/lists/truce.txt\" }"),
        "{file}"
    );
    let rules = rules_of(&out);
    assert!(
        rules
            .iter()
            .any(|r| r.0 == "truce.base.truce.words" && r.1 == "@truce" && r.2 > 0.0),
        "{rules:?}"
    );
    let check = ok(&rubric(&["check", s(&out)]));
    assert!(check.contains("0 errors, 0 warnings"), "{check}");
}
