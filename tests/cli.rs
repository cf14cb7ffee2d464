//! The `rubric` binary as a user runs it: exit codes, messages, input formats.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn rubric(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rubric"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rubric");
    let mut pipe = child.stdin.take().expect("stdin");
    // The process may exit before reading its input (e.g. on a usage error): ignore a broken pipe.
    let _ = pipe.write_all(stdin.unwrap_or("").as_bytes());
    drop(pipe);
    child.wait_with_output().expect("wait")
}

/// Asserts exit status 0, showing stderr otherwise.
fn assert_success(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

const RULES: &str = r#"[rule_set]
name = "cli"
version = "3"

[[topics]]
id = "diplomacy"

[[rules]]
id = "diplomacy.talks"
topic = "diplomacy"
query = '"peace talks" OR negotiat*'
"#;

#[test]
fn check_clean_file_exits_0() {
    let o = rubric(&["check", "seeds/rules.toml"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 errors, 0 warnings"));
}

#[test]
fn check_bad_file_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = RULES.replace("'\"peace talks\" OR negotiat*'", "'peace talks OR ne*'")
        + "\n[[rules]]\nid = \"diplomacy.talks\"\ntopic = \"diplomcy\"\nquery = 'x'\n";
    let path = write(dir.path(), "bad.toml", &bad);
    let o = rubric(&["check", path.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let file = path.display().to_string();
    for needle in [
        format!("{file}:11:16 (rule diplomacy.talks)"),
        "11 | query = 'peace talks OR ne*'".to_owned(),
        "^^^^^".to_owned(),
        "help: write `peace AND talks` or `peace OR talks`".to_owned(),
        "error[duplicate-id]".to_owned(),
        "error[unknown-topic]".to_owned(),
        "use one of: diplomacy".to_owned(),
        "rejected, 3 errors".to_owned(),
    ] {
        assert!(out.contains(&needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn check_lint_warnings_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = RULES.replace("'\"peace talks\" OR negotiat*'", "'talks AND NOT talks'");
    let path = write(dir.path(), "lint.toml", &text);
    let o = rubric(&["check", path.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("warning[unsatisfiable]"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(rubric(&["check"], None).status.code(), Some(2));
    assert_eq!(
        rubric(&["check", "no/such/file.toml"], None).status.code(),
        Some(2)
    );
    assert_eq!(rubric(&["frobnicate"], None).status.code(), Some(2));
    let o = rubric(&["classify", "--offset-encoding", "latin1", "-"], Some("x"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn classify_plain_text_with_title() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", RULES);
    let article = write(
        dir.path(),
        "a.txt",
        "Peace talks resume\n\nNegotiators met in Geneva.\n",
    );
    let o = rubric(
        &[
            "classify",
            "--rules",
            rules.to_str().unwrap(),
            article.to_str().unwrap(),
        ],
        None,
    );
    assert_success(&o);
    let v = &json_lines(&o)[0];
    assert_eq!(v["articleId"], article.to_str().unwrap());
    assert_eq!(v["ruleSetVersion"], "3");
    let spans = &v["topics"][0]["evidence"][0]["spans"];
    assert_eq!(spans[0]["field"], "ARTICLE_FIELD_TITLE");
    assert_eq!(spans[0]["text"], "Peace talks");
    assert_eq!(spans[1]["field"], "ARTICLE_FIELD_BODY");
    assert_eq!(spans[1]["text"], "Negotiators");
}

#[test]
fn classify_first_line_without_blank_line_is_body() {
    let o = rubric(&["classify", "-"], Some("Peace talks resume\nin Geneva.\n"));
    let v = &json_lines(&o)[0];
    let spans: Vec<&Value> = v["topics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["evidence"].as_array().unwrap())
        .flat_map(|e| e["spans"].as_array().unwrap())
        .collect();
    assert!(!spans.is_empty());
    assert!(spans.iter().all(|s| s["field"] == "ARTICLE_FIELD_BODY"));
}

#[test]
fn classify_json_article_from_stdin_in_utf16() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", RULES);
    let article = r#"{"id": "a-1", "title": "", "body": "🇺🇦 Peace talks"}"#;
    let o = rubric(
        &[
            "classify",
            "--rules",
            rules.to_str().unwrap(),
            "--offset-encoding",
            "utf16",
            "-",
        ],
        Some(article),
    );
    let v = &json_lines(&o)[0];
    assert_eq!(v["articleId"], "a-1");
    let span = &v["topics"][0]["evidence"][0]["spans"][0];
    assert_eq!(
        (span["start"].as_u64(), span["end"].as_u64()),
        (Some(5), Some(16))
    );
    let o = rubric(
        &[
            "classify",
            "--rules",
            rules.to_str().unwrap(),
            "--offset-encoding",
            "code-point",
            "-",
        ],
        Some(article),
    );
    let span = &json_lines(&o)[0]["topics"][0]["evidence"][0]["spans"][0];
    assert_eq!(
        (span["start"].as_u64(), span["end"].as_u64()),
        (Some(3), Some(14))
    );
}

#[test]
fn classify_jsonl_keeps_order_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", RULES);
    let mut input = String::new();
    for i in 0..5000 {
        if i == 1234 {
            input.push_str("{not json\n");
        } else {
            input.push_str(&format!(
                "{{\"id\": \"{i}\", \"body\": \"peace talks {i}\"}}\n"
            ));
        }
    }
    let data = write(dir.path(), "in.jsonl", &input);
    let o = rubric(
        &[
            "classify",
            "--jsonl",
            "--rules",
            rules.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("in.jsonl:1235:2: invalid JSON: key must be a string"),
        "{stderr}"
    );
    // Output stays line for line: the bad line gives an error object in its place.
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 5000);
    assert_eq!(lines[1234]["error"]["line"], 1235);
    let ids: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1234)
        .map(|(_, v)| v["articleId"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..5000)
        .filter(|&i| i != 1234)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(ids, expected);
}

#[test]
fn classify_with_embedded_rules_and_options() {
    let o = rubric(
        &[
            "classify",
            "--topic",
            "aid",
            "--no-evidence",
            "seeds/sample-article.txt",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let v = &json_lines(&o)[0];
    let topics = v["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0]["topic"], "aid");
    assert_eq!(topics[0]["label"], true);
    assert!(topics[0]["evidence"].as_array().unwrap().is_empty());

    let o = rubric(
        &["classify", "--topic", "sports", "seeds/sample-article.txt"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--topic sports: unknown topic"));
}

#[test]
fn classify_rejects_a_bad_rule_file_with_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "r.toml", &RULES.replace("negotiat*", "ne*"));
    let o = rubric(
        &["classify", "--rules", rules.to_str().unwrap(), "-"],
        Some("x"),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("error[wildcard-prefix]"), "{stderr}");
    assert!(stderr.contains("r.toml:11:27"), "{stderr}");
}

/// From a new user's report: invalid UTF-8 in one line, a BOM, and JSON that is not an object are
/// per-line errors; the other lines are still classified.
#[test]
fn classify_jsonl_bad_bytes_bom_and_arrays_are_per_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = "\u{FEFF}{\"id\":\"1\",\"body\":\"aid convoys\"}\n"
        .as_bytes()
        .to_vec();
    input.extend_from_slice(b"{\"id\":\"2\",\"body\":\"aid \xff convoys\"}\n");
    input.extend_from_slice(b"[\"3\",\"aid\",\"troops\"]\n");
    input.extend_from_slice(b"{\"id\":\"4\",\"body\":\"troops\"}\n");
    let path = dir.path().join("mixed.jsonl");
    std::fs::write(&path, input).unwrap();
    let o = rubric(&["classify", "--jsonl", path.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["articleId"], "1");
    assert!(lines[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    assert!(lines[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("object"));
    assert_eq!(lines[3]["articleId"], "4");
}

/// From a new user's report: a plain-text article may start with `{`.
#[test]
fn plain_text_starting_with_a_brace() {
    let o = rubric(
        &["classify", "-"],
        Some("{Update} Aid convoys reached the city.\n"),
    );
    assert_success(&o);
    assert!(stdout(&o).contains("aid convoys") || stdout(&o).contains("Aid convoys"));
}

#[test]
fn min_score_must_be_finite_and_may_be_negative() {
    let o = rubric(&["classify", "--min-score", "nan", "-"], Some("aid"));
    assert_eq!(o.status.code(), Some(2));
    let o = rubric(&["classify", "--min-score", "-5", "-"], Some("aid"));
    assert_success(&o);
}

/// Lint warnings of a rule file given to `classify` are shown on stderr; a rejected file's report
/// is printed once, without a doubled `error:` prefix.
#[test]
fn classify_shows_lint_warnings_and_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lint = write(
        dir.path(),
        "lint.toml",
        &RULES.replace("'\"peace talks\" OR negotiat*'", "'talks AND NOT talks'"),
    );
    let o = rubric(
        &["classify", "--rules", lint.to_str().unwrap(), "-"],
        Some("talks"),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning[unsatisfiable]"));
    let bad = write(dir.path(), "bad.toml", &RULES.replace("negotiat*", "ne*"));
    let o = rubric(
        &["classify", "--rules", bad.to_str().unwrap(), "-"],
        Some("x"),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("error[wildcard-prefix]"), "{stderr}");
}

/// `rubric eval` on a small labelled file with known counts: exact precision, recall, F1, micro
/// and macro averages; a missing label is not scored; an unknown label is reported.
#[test]
fn eval_counts_and_scores_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[rule_set]\nname = \"e\"\nversion = \"1\"\n[[topics]]\nid = \"a\"\n[[topics]]\nid = \"b\"\n\
         [[rules]]\nid = \"a.x\"\ntopic = \"a\"\nquery = 'x'\n[[rules]]\nid = \"b.y\"\ntopic = \"b\"\nquery = 'y'\n",
    );
    let data = write(
        dir.path(),
        "data.jsonl",
        concat!(
            r#"{"id":"1","title":"","body":"x","labels":{"a":true,"b":false}}"#,
            "\n",
            r#"{"id":"2","title":"","body":"x y","labels":{"a":false}}"#,
            "\n",
            r#"{"id":"3","title":"","body":"z","labels":{"a":true,"b":true}}"#,
            "\n",
            r#"{"id":"4","title":"","body":"y","labels":{"b":true}}"#,
            "\n",
            "\n",
            r#"{"id":"5","title":"","body":"y","labels":{"a":false,"b":false,"c":true}}"#,
            "\n",
            r#"{"id":"6","title":"y","body":"","labels":{"b":true}}"#,
            "\n",
        ),
    );
    let o = rubric(
        &[
            "eval",
            "--format",
            "json",
            "--errors",
            "5",
            "--rules",
            rules.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        None,
    );
    assert_success(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &v["files"][0]["report"];
    assert_eq!(r["articles"], 6);
    let a = &r["topics"][0];
    assert_eq!(a["topic"], "a");
    assert_eq!(
        (
            a["counts"]["tp"].as_u64(),
            a["counts"]["fp"].as_u64(),
            a["counts"]["fn"].as_u64(),
            a["counts"]["tn"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(a["support"], 2);
    assert_eq!(a["scores"]["precision"], 0.5);
    assert_eq!(a["scores"]["recall"], 0.5);
    assert_eq!(a["scores"]["f1"], 0.5);
    let b = &r["topics"][1];
    assert_eq!(
        (
            b["counts"]["tp"].as_u64(),
            b["counts"]["fp"].as_u64(),
            b["counts"]["fn"].as_u64(),
            b["counts"]["tn"].as_u64()
        ),
        (Some(2), Some(1), Some(1), Some(1))
    );
    let close = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-12;
    assert!(close(&b["scores"]["precision"], 2.0 / 3.0));
    assert!(close(&b["scores"]["recall"], 2.0 / 3.0));
    assert!(close(&r["micro"]["precision"], 0.6));
    assert!(close(&r["micro"]["recall"], 0.6));
    assert!(close(&r["micro"]["f1"], 0.6));
    assert!(close(&r["macro"]["precision"], (0.5 + 2.0 / 3.0) / 2.0));
    assert_eq!(r["unknown_labels"][0], "c");
    // Errors: one false positive and one false negative per topic, in rule-file topic order,
    // false positives first.
    let errors = r["errors"].as_array().unwrap();
    let kinds: Vec<(String, String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["topic"].as_str().unwrap().into(),
                e["kind"].as_str().unwrap().into(),
                e["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("a".into(), "false_positive".into(), "2".into()),
            ("a".into(), "false_negative".into(), "3".into()),
            ("b".into(), "false_positive".into(), "5".into()),
            ("b".into(), "false_negative".into(), "3".into()),
        ]
    );
    assert_eq!(errors[0]["rules"][0]["rule"], "a.x");
    assert_eq!(errors[0]["rules"][0]["excerpts"][0], "[x] y");
    assert_eq!(errors[0]["rules"][0]["spans"][0]["start"], 0);
    assert_eq!(errors[0]["rules"][0]["spans"][0]["end"], 1);
    assert_eq!(
        errors[0]["rules"][0]["spans"][0]["field"],
        "ARTICLE_FIELD_BODY"
    );

    // The text table shows the same numbers.
    let o = rubric(
        &[
            "eval",
            "--errors",
            "1",
            "--rules",
            rules.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        None,
    );
    let text = stdout(&o);
    assert!(text.contains("micro avg"), "{text}");
    assert!(text.contains("0.600"), "{text}");
    assert!(text.contains("a false negative: 3 (score 0)"), "{text}");
    assert!(text.contains("nothing fired: z"), "{text}");
}

/// `rubric eval --by-rule`: per rule, the labelled articles it was counted on, how many are
/// labelled true, and the true and false positives that depend on it alone (exact counts); a
/// rule that never fires is listed with zeros.
#[test]
fn eval_by_rule_counts_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[rule_set]\nname = \"e\"\nversion = \"1\"\n[[topics]]\nid = \"t\"\nthreshold = 1.0\n\
         [[rules]]\nid = \"t.a\"\ntopic = \"t\"\nquery = 'a'\nweight = 1.0\n\
         [[rules]]\nid = \"t.b\"\ntopic = \"t\"\nquery = 'b'\nweight = 0.5\n\
         [[rules]]\nid = \"t.c\"\ntopic = \"t\"\nquery = 'c'\nweight = 0.5\n\
         [[rules]]\nid = \"t.never\"\ntopic = \"t\"\nquery = 'zzz'\nweight = 1.0\n",
    );
    // "a b": labelled, score 1.5: t.a decides it (0.5 without it), t.b does not (1.0 without it).
    // "b c": a false positive at exactly 1.0 that each of t.b and t.c decides.
    // "a": t.a alone. "c": 0.5, not labelled. "d": nothing fires. "a" without a label: not counted.
    let data = write(
        dir.path(),
        "data.jsonl",
        concat!(
            r#"{"id":"1","body":"a b","labels":{"t":true}}"#,
            "\n",
            r#"{"id":"2","body":"b c","labels":{"t":false}}"#,
            "\n",
            r#"{"id":"3","body":"a","labels":{"t":true}}"#,
            "\n",
            r#"{"id":"4","body":"c","labels":{"t":true}}"#,
            "\n",
            r#"{"id":"5","body":"d","labels":{"t":false}}"#,
            "\n",
            r#"{"id":"6","body":"a","labels":{}}"#,
            "\n",
        ),
    );
    let args = |format: &str| {
        [
            "eval",
            "--by-rule",
            "--format",
            format,
            "--rules",
            rules.to_str().unwrap(),
            data.to_str().unwrap(),
        ]
        .map(str::to_owned)
    };
    let json = args("json");
    let o = rubric(&json.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_success(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // rule, fired, labelled true, labelled false, precision, decisive TP, decisive FP
    type Row = (String, u64, u64, u64, Option<f64>, u64, u64);
    let rows: Vec<Row> = v["files"][0]["report"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["fired"].as_u64().unwrap(),
                r["labelled_true"].as_u64().unwrap(),
                r["labelled_false"].as_u64().unwrap(),
                r["precision"].as_f64(),
                r["decisive_tp"].as_u64().unwrap(),
                r["decisive_fp"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("t.a".to_owned(), 2, 2, 0, Some(1.0), 2, 0),
            ("t.b".to_owned(), 2, 1, 1, Some(0.5), 0, 1),
            ("t.c".to_owned(), 2, 1, 1, Some(0.5), 0, 1),
            // Never fired: no precision (JSON null), not a precision of 0.
            ("t.never".to_owned(), 0, 0, 0, None, 0, 0),
        ]
    );
    // Without the flag the JSON has no `rules` list, and the text table shows the same rows.
    let o = rubric(
        &[
            "eval",
            "--format",
            "json",
            "--rules",
            rules.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        None,
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["files"][0]["report"].get("rules").is_none());
    let text = args("text");
    let o = rubric(&text.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_success(&o);
    let text = stdout(&o);
    assert!(text.contains("decisive-tp"), "{text}");
    let never = text.lines().find(|l| l.starts_with("t.never ")).unwrap();
    assert_eq!(never.split_whitespace().nth(5), Some("-"), "{never}");
    let row = text.lines().find(|l| l.starts_with("t.b ")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["t.b", "0.5", "2", "1", "1", "0.500", "0", "1"]
    );
}

#[test]
fn eval_reports_a_bad_line_with_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "bad.jsonl",
        "{\"id\":\"1\",\"body\":\"x\",\"labels\":{}}\n{\"id\": 2}\n",
    );
    let o = rubric(&["eval", data.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    // The file's line and the column in it; not serde's "at line 1" inside the one-line value
    // (fresh-user review, 2026-11-30).
    assert!(
        err.contains("bad.jsonl:2:8: not a labelled article"),
        "{err}"
    );
    assert!(!err.contains("at line 1"), "{err}");
}

/// `serve --config`: precedence flag > environment variable > file > default, shown by
/// `--print-config`; unknown keys are errors.
#[test]
fn serve_config_file_precedence_and_print_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "rubric.toml",
        "listen = \"127.0.0.1:50999\"\nrequest_timeout = 5\nmax_batch_size = 10\nlog_format = \"json\"\n",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_rubric"))
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:50998",
            "--print-config",
        ])
        .env("RUBRIC_REQUEST_TIMEOUT", "7")
        .env_remove("RUBRIC_MAX_BATCH_SIZE")
        .env_remove("RUBRIC_DRAIN_TIMEOUT")
        .output()
        .unwrap();
    assert_success(&o);
    let text = stdout(&o);
    for line in [
        "listen = \"127.0.0.1:50998\"  # flag",
        "request_timeout = 7  # environment",
        "max_batch_size = 10  # config file",
        "log_format = \"json\"  # config file",
        "drain_timeout = 10  # default",
        "# rules: not set",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    let bad = write(dir.path(), "bad.toml", "max_batch_sise = 3\n");
    let o = rubric(
        &["serve", "--config", bad.to_str().unwrap(), "--print-config"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown key `max_batch_sise`"));
}

/// A switch (`no_watch_rules`) can be set from the configuration file with a TOML boolean, and
/// `--print-config` output can be read back as a configuration file (fresh-user report).
#[test]
fn serve_config_switches_and_print_config_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let print = |config: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_rubric"))
            .args([
                "serve",
                "--config",
                config.to_str().unwrap(),
                "--print-config",
            ])
            .env_remove("RUBRIC_NO_WATCH_RULES")
            .output()
            .unwrap();
        assert_success(&o);
        stdout(&o)
    };
    let on = write(dir.path(), "on.toml", "no_watch_rules = true\n");
    let printed = print(&on);
    assert!(
        printed.contains("no_watch_rules = true  # config file"),
        "{printed}"
    );
    let again = write(dir.path(), "again.toml", &printed);
    assert!(print(&again).contains("no_watch_rules = true  # config file"));
    let off = write(dir.path(), "off.toml", "no_watch_rules = false\n");
    assert!(print(&off).contains("no_watch_rules = false"));
    let wrong = write(dir.path(), "wrong.toml", "no_watch_rules = \"yes\"\n");
    let o = rubric(
        &[
            "serve",
            "--config",
            wrong.to_str().unwrap(),
            "--print-config",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("write `no_watch_rules = true`"));
}

mod import_phoenix {
    //! `rubric import phoenix` on the real PETRARCH2 dictionary
    //! (`../shared/data/dictionaries/Phoenix.IssueCoding.txt`), issue #6.

    use super::*;

    const PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/dictionaries/Phoenix.IssueCoding.txt"
    );

    #[test]
    fn the_real_dictionary_imports_reports_what_it_changed_and_checks_clean() {
        if !Path::new(PATH).exists() {
            assert!(std::env::var_os("CI").is_none(), "{PATH} is required in CI");
            eprintln!("notice: {PATH} not found; skipping (it is required when CI is set)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("phoenix.toml");
        let o = rubric(
            &["import", "phoenix", PATH, "-o", out.to_str().unwrap()],
            None,
        );
        assert_success(&o);
        let err = String::from_utf8_lossy(&o.stderr);
        // Lines without a [CODE], category-wide exclusions and normalized repeats are reported with
        // their line numbers.
        assert!(
            err.contains("Phoenix.IssueCoding.txt:142: `eec` has no [CODE]"),
            "{err}"
        );
        assert!(
            err.contains(
                ":154: exclusion `~experience unlimited` contains no phrase of EUROPEAN_UNION"
            ),
            "{err}"
        );
        assert!(err.contains("category KIDNAP has no codable line"), "{err}");
        let summary = err.lines().last().unwrap();
        assert!(summary.ends_with("0 lint warnings"), "{summary}");
        let toml = std::fs::read_to_string(&out).unwrap();
        // n: plural, + joins, and an exclusion inside the category.
        assert!(
            toml.contains(
                r#"query = "\"pre school\" OR \"preschool\" OR \"pre schools\" OR \"preschools\""#
            ),
            "{toml:.2000}"
        );
        assert!(toml.contains(
            r#"query = "(\"head start\") AND NOT (\"a head start\" OR \"get head start\")""#
        ));
        let o = rubric(&["check", out.to_str().unwrap()], None);
        assert_success(&o);
        assert!(
            stdout(&o).contains(" 0 errors, 0 warnings"),
            "{}",
            stdout(&o)
        );
        // The imported rules classify: a text about refugees gets the REFUGEES topic.
        let o = rubric(
            &["classify", "--rules", out.to_str().unwrap(), "-"],
            Some("Thousands of displaced people and asylum-seekers reached the border."),
        );
        assert_success(&o);
        let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let labelled: Vec<&str> = v["topics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["label"] == true)
            .map(|t| t["topic"].as_str().unwrap())
            .collect();
        assert_eq!(labelled, ["refugees"], "{v}");
    }
}

mod import_petrarch {
    //! `rubric import petrarch` on the real PETRARCH2 actor, agent and verb dictionaries
    //! (`../shared/data/dictionaries`, the command's default directory).

    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/dictionaries");

    /// The syntax of a list-file entry: words of letters, digits, `'`, `-`, `.`, `&`; a `*` only
    /// at the end of a word after at least 3 characters; or one exact term in braces.
    fn is_entry(line: &str) -> bool {
        let (inner, exact) = match line.strip_prefix('{') {
            Some(rest) => match rest.strip_suffix('}') {
                Some(inner) => (inner, true),
                None => return false,
            },
            None => (line, false),
        };
        !inner.is_empty()
            && inner.split(' ').all(|word| {
                let (stem, star) = match word.strip_suffix('*') {
                    Some(stem) if !exact => (stem, true),
                    _ => (word, false),
                };
                stem.chars().any(char::is_alphanumeric)
                    && stem
                        .chars()
                        .all(|c| c.is_alphanumeric() || "'-.&".contains(c))
                    && (!star || stem.chars().count() >= 3)
            })
    }

    fn entries(dir: &Path, list: &str) -> Vec<String> {
        std::fs::read_to_string(dir.join(format!("{list}.txt")))
            .unwrap_or_else(|e| panic!("{list}.txt: {e}"))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_real_dictionaries_become_valid_list_files() {
        if !Path::new(DIR).exists() {
            assert!(std::env::var_os("CI").is_none(), "{DIR} is required in CI");
            eprintln!("notice: {DIR} not found; skipping (it is required when CI is set)");
            return;
        }
        let out = tempfile::tempdir().unwrap();
        let o = rubric(
            &["import", "petrarch", "-o", out.path().to_str().unwrap()],
            None,
        );
        assert_success(&o);
        let err = String::from_utf8_lossy(&o.stderr);
        let (notes, summary) = err
            .trim_end()
            .rsplit_once('\n')
            .expect("notes and a summary");
        // Summary: "DIR: 61 lists with 218656 entries written to OUT; 450 source lines not
        // translated (listed above); 375 actors whose codes all ended before 1990-01-01 left out".
        let number_before = |word: &str| -> usize {
            let at = summary
                .find(word)
                .unwrap_or_else(|| panic!("{word}: {summary}"));
            summary[..at]
                .split_whitespace()
                .last()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no number before {word}: {summary}"))
        };
        let lists = number_before(" lists with");
        assert!(number_before(" entries written") > 100_000, "{summary}");
        let untranslated = number_before(" source lines not translated");
        assert!((1..2_000).contains(&untranslated), "{summary}");
        assert!(summary.contains("before 1990-01-01 left out"), "{summary}");
        // Every note names its file and line; transformations are among them.
        for note in notes.lines() {
            let (place, message) = note.split_once(": ").expect(note);
            let (file, line) = place.rsplit_once(':').expect(note);
            assert!(
                file.ends_with(".txt") && line.parse::<usize>().is_ok(),
                "{note}"
            );
            assert!(!message.is_empty(), "{note}");
        }
        assert!(
            notes.lines().any(|n| n.contains("CAMEO.2.0.txt:")
                && n.contains("transformation `~ a (a b ATTACK) SAY = a b 015`")),
            "{notes}"
        );

        // A file per list, plus lists.toml naming them all and the licence.
        let toml: toml::Value =
            toml::from_str(&std::fs::read_to_string(out.path().join("lists.toml")).unwrap())
                .expect("lists.toml is TOML");
        let table = toml["lists"].as_table().expect("[lists]");
        assert_eq!(table.len(), lists);
        for (name, list) in table {
            assert_eq!(list["file"].as_str(), Some(format!("{name}.txt").as_str()));
            assert!(!list["description"].as_str().unwrap().is_empty());
            let text = std::fs::read_to_string(out.path().join(format!("{name}.txt"))).unwrap();
            assert!(text.starts_with(&format!("# {name}: ")), "{name}");
            assert!(text.contains("MIT licence"), "{name}");
            assert!(text.contains("--cutoff 1990-01-01"), "{name}");
            // Every line is a comment, blank, or a usable entry; entries are unique.
            let mut seen = std::collections::HashSet::new();
            for line in entries(out.path(), name) {
                assert!(is_entry(&line), "{name}.txt: `{line}` is not a valid entry");
                assert!(
                    seen.insert(line.to_lowercase()),
                    "{name}.txt: `{line}` twice"
                );
            }
            assert!(!seen.is_empty(), "{name}.txt is empty");
        }
        assert!(out.path().join("LICENSE-petrarch2.txt").exists());
        for name in [
            "countries",
            "leaders_gov",
            "surnames_gov",
            "leaders_mil",
            "igos",
            "ngos",
            "armed_groups",
            "agents_gov",
            "agents_mil",
            "agents_reb",
            "agents_ref",
            "cameo_04",
            "cameo_19",
        ] {
            assert!(table.contains_key(name), "no list {name}");
        }

        let countries = entries(out.path(), "countries");
        for name in ["Afghanistan", "Afghan", "Kabul", "{US}", "United States"] {
            assert!(
                countries.iter().any(|e| e == name),
                "countries lacks {name}"
            );
        }
        // Hamid Karzai: [AFGGOV >011222] in the Countries file, so in office after 2000. Babrak
        // Karmal: [AFGGOV 791227-861124], left office before 1990 (his open [AFGELI] keeps him
        // among the elites).
        let leaders = entries(out.path(), "leaders_gov");
        assert!(leaders.iter().any(|e| e == "Hamid Karzai"));
        assert!(!leaders.iter().any(|e| e == "Babrak Karmal"));
        assert!(entries(out.path(), "leaders_eli")
            .iter()
            .any(|e| e == "Babrak Karmal"));
        let surnames = entries(out.path(), "surnames_gov");
        assert!(surnames.iter().any(|e| e == "Karzai"));
        for common in ["Brown", "Ali", "Hassan", "President"] {
            assert!(!surnames.iter().any(|e| e == common), "surname {common}");
        }
        assert!(entries(out.path(), "igos").iter().any(|e| e == "NATO"));
        let agents = entries(out.path(), "agents_gov");
        assert!(agents.iter().any(|e| e == "foreign minister"));
        assert!(agents.iter().any(|e| e == "foreign ministers"));
        let consult = entries(out.path(), "cameo_04");
        for form in ["meet", "met", "meeting with"] {
            assert!(consult.iter().any(|e| e == form), "cameo_04 lacks {form}");
        }
    }
}

/// A reader that stops early (`rubric classify --jsonl big.jsonl | head`) ends rubric quietly
/// with status 0, not "error: Broken pipe" and status 2 (second fresh-user review, 2026-11-30).
#[test]
fn classify_stops_quietly_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let line = "{\"body\":\"Aid convoys reached the refugee camp.\"}\n";
    let input = write(dir.path(), "big.jsonl", &line.repeat(20_000));
    let mut child = Command::new(env!("CARGO_BIN_EXE_rubric"))
        .args(["classify", "--jsonl", input.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rubric");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("\"articleId\""), "{first}");
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}

/// Keys other than id, title and body (a corpus's `url`, the eval data's `labels`) are read past
/// and named once per input on standard error (second fresh-user review, 2026-11-30: `classify
/// --jsonl` refused the dev data for its `labels`).
#[test]
fn classify_reads_past_other_keys_and_names_them_once() {
    let o = rubric(
        &["classify", "--jsonl", "--no-evidence", "-"],
        Some(concat!(
            r#"{"id":"a","body":"The embassy reopened.","url":"http://a","labels":{"aid":true}}"#,
            "\n",
            r#"{"id":"b","title":"Aid convoys","url":"http://b"}"#,
            "\n",
        )),
    );
    assert_success(&o);
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["articleId"], "a");
    assert_eq!(lines[1]["articleId"], "b");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("not read: labels, url").count(), 1, "{err}");
    let o = rubric(
        &["classify", "-"],
        Some(r#"{"body":"The embassy reopened.","source":"wire"}"#),
    );
    assert_success(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not read: source"));
}

/// Empty or mis-shaped JSON is an error, not an empty article scored 0 (fresh-user report): a
/// misspelt key with no title or body, `{}`, empty input, and a Classify request carrying
/// options; a request without options is read for its article.
#[test]
fn classify_rejects_empty_and_misshaped_articles() {
    for (input, message) in [
        ("{}", "empty article"),
        ("", "empty article"),
        ("{\"titel\":\"Embassy\"}", "other keys: titel"),
        (
            "{\"article\":{\"body\":\"embassy\"},\"options\":{}}",
            "options as flags",
        ),
    ] {
        let o = rubric(&["classify", "-"], Some(input));
        assert_eq!(o.status.code(), Some(2), "{input}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(message), "{input}: {err}");
    }
    let o = rubric(
        &["classify", "--no-evidence", "-"],
        Some("{\"article\":{\"id\":\"r1\",\"body\":\"The embassy reopened.\"}}"),
    );
    assert_success(&o);
    assert!(
        stdout(&o).contains("\"articleId\":\"r1\""),
        "{}",
        stdout(&o)
    );
    let o = rubric(
        &["classify", "--jsonl", "-"],
        Some("{\"body\":\"embassy\"}\n{}\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["error"]["line"], 2);
}

// ---- Fresh-user review (15): classify's output and errors, eval's bad and unlabelled lines ----

/// Review (15): the CLI's classification carries `offsetEncoding` as the service's
/// `Classification` does, spelt as protobuf's JSON mapping prints the enum (what grpcurl shows),
/// for every unit and its spellings, in JSON Lines output too.
#[test]
fn classify_output_carries_offset_encoding_as_the_service_prints_it() {
    let proto = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/rubric/v1/classifier_service.proto"),
    )
    .unwrap();
    for (flags, expected, pb) in [
        (
            &[][..],
            "OFFSET_ENCODING_UTF8",
            rubric::pb::OffsetEncoding::Utf8,
        ),
        (
            &["--offset-encoding", "utf16"],
            "OFFSET_ENCODING_UTF16",
            rubric::pb::OffsetEncoding::Utf16,
        ),
        (
            &["--offset-encoding", "code-point"],
            "OFFSET_ENCODING_CODE_POINT",
            rubric::pb::OffsetEncoding::CodePoint,
        ),
        // The Python example's flag name and its old spelling of the unit.
        (
            &["--offsets", "codepoint"],
            "OFFSET_ENCODING_CODE_POINT",
            rubric::pb::OffsetEncoding::CodePoint,
        ),
    ] {
        assert_eq!(pb.as_str_name(), expected);
        assert!(proto.contains(&format!("{expected} = ")), "{expected}");
        let mut args = vec!["classify"];
        args.extend_from_slice(flags);
        args.push("-");
        let o = rubric(&args, Some("Aid convoys reached the city."));
        assert_success(&o);
        let v = &json_lines(&o)[0];
        assert_eq!(v["offsetEncoding"], expected, "{flags:?}");
        // Field order as the service prints it: article id, topics, version, encoding.
        let out = stdout(&o);
        assert!(
            out.trim_end().ends_with(&format!(
                "\"ruleSetVersion\":{},\"offsetEncoding\":\"{expected}\"}}",
                v["ruleSetVersion"]
            )),
            "{out}"
        );
        args.insert(1, "--jsonl");
        let o = rubric(
            &args,
            Some("{\"body\":\"Aid convoys reached the city.\"}\n"),
        );
        assert_success(&o);
        assert_eq!(json_lines(&o)[0]["offsetEncoding"], expected, "{flags:?}");
    }
}

/// Review (15): an unknown `--topic` is named by the flag (not the gRPC field `topics[0]`), with
/// the rule set's topics and the closest one; every unknown topic is reported, before any input is
/// read, and nothing is printed on standard output.
#[test]
fn classify_unknown_topic_names_the_flag_and_lists_the_topics() {
    let o = rubric(
        &[
            "classify", "--topic", "aid", "--topic", "aidd", "--topic", "sports", "-",
        ],
        Some("Aid convoys"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("topics["), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "error: --topic aidd: unknown topic (did you mean `aid`?); the topics are: diplomacy, security, aid",
            "error: --topic sports: unknown topic; the topics are: diplomacy, security, aid",
        ],
        "{err}"
    );
}

/// Review (15): a JSON Lines error record names the article when its line has an id (also before
/// a cut, and in a Classify request's `article`), and leaves `id` out when it has none.
#[test]
fn classify_jsonl_error_records_carry_the_article_id() {
    let input = concat!(
        "{\"id\":\"a-1\",\"body\":\"aid con\n",
        "{\"id\":\"a-2\",\"titel\":\"Aid\"}\n",
        "{\"article\":{\"id\":\"a-3\",\"body\":\"\"}}\n",
        "{\"id\":\"a-4\",\"body\":5}\n",
        "{\"body\":\"aid con\n",
        "{\"id\":\"a-6\",\"body\":\"Aid convoys\"}\n",
    );
    let o = rubric(&["classify", "--jsonl", "--no-evidence", "-"], Some(input));
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    let ids: Vec<&Value> = lines[..5].iter().map(|l| &l["error"]["id"]).collect();
    assert_eq!(
        ids,
        ["a-1", "a-2", "a-3", "a-4"]
            .map(Value::from)
            .iter()
            .chain([&Value::Null])
            .collect::<Vec<_>>()
    );
    assert_eq!(lines[5]["articleId"], "a-6");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("-:1:28: article \"a-1\": truncated JSON"),
        "{err}"
    );
    assert!(err.contains("-:2: article \"a-2\": empty article"), "{err}");
}

/// A JSON Lines article is read in one pass, without a JSON tree, yet as reading the line into a
/// tree did: a key given twice counts with its last value; a syntax error anywhere in the line is
/// reported before a value of the wrong type; of several such values the first in sorted key
/// order is reported; an unread value is checked as strictly as a read one; strings with escapes
/// read as those without.
#[test]
fn classify_jsonl_reads_a_line_as_a_whole_json_value() {
    let input = concat!(
        "{\"id\":\"d-1\",\"id\":\"d-2\",\"title\":5,\"title\":\"Aid convoys\"}\n",
        "{\"id\":\"s\",\"title\":5,\"x\":[}\n",
        "{\"title\":5,\"body\":true,\"id\":null}\n",
        "{\"id\":\"n\",\"title\":\"Aid\",\"x\":{\"y\":1e400}}\n",
        "{\"id\":\"u\",\"title\":\"Aid\",\"x\":\"\\udc00\"}\n",
        "{\"id\":\"e\\u002d1\",\"title\":\"\\u0041id convoys\"}\n",
        "{\"article\":[1],\"article\":{\"id\":\"r\",\"title\":\"Aid convoys\"}}\n",
        "{\"article\":[1]}\n",
    );
    let o = rubric(&["classify", "--jsonl", "--no-evidence", "-"], Some(input));
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["articleId"], "d-2");
    let message = |i: usize| {
        lines[i]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(message(1), "invalid JSON: expected value");
    assert_eq!(
        message(2),
        "not a JSON article {\"id\",\"title\",\"body\"}: invalid type: boolean `true`, expected a string"
    );
    assert_eq!(message(3), "invalid JSON: number out of range");
    assert_eq!(
        message(4),
        "invalid JSON: lone leading surrogate in hex escape"
    );
    assert_eq!(lines[5]["articleId"], "e-1");
    assert_eq!(lines[5]["topics"], lines[0]["topics"]);
    assert_eq!(lines[6]["articleId"], "r");
    assert_eq!(
        message(7),
        "not a JSON article {\"id\",\"title\",\"body\"}: invalid type: sequence, expected struct JsonArticle"
    );
}

/// Review (15): lines are counted as in the file, blank and whitespace-only lines, CRLF line ends
/// and a byte order mark included, by `classify --jsonl` and by `eval` alike; a message never
/// carries serde_json's own "line 1" (or "line 2") inside the value.
#[test]
fn jsonl_error_lines_count_physical_lines_after_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        "\u{FEFF}{\"id\":\"1\",\"body\":\"Aid convoys\",\"labels\":{\"aid\":true}}\r\n",
        "\r\n",
        "   \n",
        "\n",
        "{\"id\":\"5\",\"body\":\"aid con\r\n",
        "\n",
        "{\"id\":\"7\" \"body\":\"x\"}\n",
    );
    let data = write(dir.path(), "blank.jsonl", text);
    let name = data.to_str().unwrap();
    let o = rubric(&["classify", "--jsonl", name], None);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["error"]["line"], 5);
    assert_eq!(lines[2]["error"]["line"], 7);
    assert_eq!(lines[2]["error"]["column"], 11);
    let classify_err = String::from_utf8_lossy(&o.stderr).into_owned();
    let o = rubric(&["eval", name], None);
    assert_eq!(o.status.code(), Some(2));
    let eval_err = String::from_utf8_lossy(&o.stderr).into_owned();
    for err in [&classify_err, &eval_err] {
        assert!(err.contains(&format!("{name}:5:")), "{err}");
        assert!(
            err.contains(&format!("{name}:7:11: article \"7\": invalid JSON")),
            "{err}"
        );
        assert!(!err.contains("at line"), "{err}");
        assert!(!err.contains("line 2"), "{err}");
    }
}

/// Review (15): a line cut short (here, in a string) is reported as truncated JSON at its line
/// and column, not as "control character (\u0000-\u001F) found" (the line end it was read with),
/// by `classify --jsonl`, `eval`, and for a whole `.json` file.
#[test]
fn truncated_json_line_is_reported_as_truncated_not_control_character() {
    let dir = tempfile::tempdir().unwrap();
    let cut = "{\"id\":\"9\",\"body\":\"Aid convoys reach";
    let jsonl = write(dir.path(), "cut.jsonl", &format!("{cut}\n"));
    let json = write(dir.path(), "cut.json", &format!("{cut}\n"));
    let column = cut.chars().count() + 1;
    for (args, code, at) in [
        (
            vec!["classify", "--jsonl", jsonl.to_str().unwrap()],
            1,
            format!("cut.jsonl:1:{column}"),
        ),
        (
            vec!["eval", jsonl.to_str().unwrap()],
            2,
            format!("cut.jsonl:1:{column}"),
        ),
        (
            vec!["classify", json.to_str().unwrap()],
            2,
            format!("cut.json:1:{column}"),
        ),
    ] {
        let o = rubric(&args, None);
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("control character"), "{err}");
        assert!(err.contains(&at), "{at}: {err}");
        assert!(err.contains("truncated JSON: the"), "{err}");
        assert!(err.contains("ends while parsing a string"), "{err}");
    }
}

/// Review (15): `eval` reads every line of every file and reports each bad line, as `classify
/// --jsonl` does (FILE:LINE:COLUMN, the article's id), then exits 2 with nothing scored rather
/// than stopping at the first bad line (or scoring the lines that happened to parse).
#[test]
fn eval_reports_every_bad_line_and_exits_2_like_classify_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.jsonl",
        "{\"id\":\"1\",\"body\":\"aid\",\"labels\":{\"aid\":true}}\n{\"id\":\"2\",\"labels\":{\"aid\":tru\n{\"id\":\"3\",\"body\":\"x\",\"labels\":{\"aid\":\"yes\"}}\n",
    );
    let b = write(dir.path(), "b.jsonl", "\n{\"id\": 4}\n");
    let o = rubric(&["eval", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "", "nothing scored");
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        format!("{}:2:30: article \"2\": truncated JSON", a.display()),
        format!("{}:3:", a.display()),
        "article \"3\": not a labelled article".to_owned(),
        format!("{}:2:8: not a labelled article", b.display()),
        "error: 3 lines could not be read (listed above); nothing scored".to_owned(),
    ] {
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
    // classify --jsonl reports the same line at the same place, and classifies the others.
    let o = rubric(&["classify", "--jsonl", a.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let classify_err = String::from_utf8_lossy(&o.stderr);
    assert!(
        classify_err.contains(&format!(
            "{}:2:30: article \"2\": truncated JSON",
            a.display()
        )),
        "{classify_err}"
    );
    assert_eq!(json_lines(&o).len(), 3);
}

/// Review (15): on data without a label for any topic of the rules, eval says nothing was scored
/// instead of printing 0.000 averages; the JSON has `labelled: 0` and `null` averages.
#[test]
fn eval_unlabelled_input_says_nothing_was_scored() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "u.jsonl",
        "{\"id\":\"1\",\"body\":\"Aid convoys\"}\n{\"id\":\"2\",\"body\":\"x\",\"labels\":{\"sports\":true}}\n",
    );
    let o = rubric(&["eval", data.to_str().unwrap()], None);
    assert_success(&o);
    let out = stdout(&o);
    assert!(out.contains("no labelled lines: nothing to score"), "{out}");
    assert!(!out.contains("0.000"), "{out}");
    assert!(!out.contains("micro avg"), "{out}");
    assert!(
        out.contains("not scored (no such topic in the rules): sports"),
        "{out}"
    );
    let o = rubric(&["eval", "--format", "json", data.to_str().unwrap()], None);
    assert_success(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let report = &v["files"][0]["report"];
    assert_eq!(report["articles"], 2);
    assert_eq!(report["labelled"], 0);
    assert!(report["micro"].is_null(), "{report}");
    assert!(report["macro"].is_null(), "{report}");
    assert_eq!(report["topics"].as_array().map(Vec::len), Some(0));
}

// ---- Fresh-user review (16): `rubric import phoenix` on the wrong file ---------------------------

/// Review (16): a file without any `<ISSUE>` block (here an actor dictionary) is one line and exit
/// status 2, not every line echoed as untranslated and "a bug"; blocks without a codable line are
/// the input's fault too.
#[test]
fn import_phoenix_on_a_wrong_file_says_no_issue_block_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let actors = write(
        dir.path(),
        "Phoenix.Countries.actors.txt",
        "AFGHANISTAN_ [AFG]\n+AFGHAN_\nKABUL_ [AFG]\n# comment\n",
    );
    let o = rubric(&["import", "phoenix", actors.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err,
        format!(
            "error: no <ISSUE> block found in {}: is it a PETRARCH2 issue dictionary?\n",
            actors.display()
        )
    );
    let empty = write(
        dir.path(),
        "empty.txt",
        "<ISSUE CATEGORY=\"X\" TYPE=\"ALL\">\nno code here\n</ISSUE>\n",
    );
    let o = rubric(&["import", "phoenix", empty.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("bug"), "{err}");
    assert!(err.contains("held no codable line"), "{err}");
}

/// Issue 13 re-review (2026-12-02): `import phoenix /dev/zero` read until the kernel killed it
/// (24 GB), and `classify`, `classify --jsonl` and `eval` read a device without end. Inputs are
/// now bounded: a dictionary must be a regular file, an article or a data file has a size limit,
/// a JSON Lines line a length limit; each is refused with a one-line error and exit 2.
#[cfg(unix)]
#[test]
fn inputs_that_never_end_are_refused_not_read_into_memory() {
    for (args, expect) in [
        (
            &["import", "phoenix", "/dev/zero"][..],
            "not a regular file",
        ),
        (&["classify", "/dev/zero"][..], "more than the limit"),
        (
            &["classify", "--jsonl", "/dev/zero"][..],
            "longer than the limit",
        ),
        (&["eval", "/dev/zero"][..], "more than the limit"),
    ] {
        let out = rubric(args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(err.lines().count() <= 2, "{args:?}: one line: {err}");
    }
}

/// Review (issue #15 session): a JSON Lines line that is not UTF-8 names its article when `"id"`
/// came before the bad byte, as a line cut short does; after it, there is no id to name.
#[test]
fn invalid_utf8_line_keeps_the_id_read_before_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    std::fs::write(
        &path,
        b"{\"id\":\"badutf\",\"title\":\"caf\xe9 x\"}\n{\"title\":\"caf\xe9\",\"id\":\"late\"}\n",
    )
    .unwrap();
    let o = rubric(&["classify", "--jsonl", path.to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines[0]["error"]["id"], "badutf");
    assert_eq!(lines[0]["error"]["column"], 28);
    assert!(lines[1]["error"].get("id").is_none(), "{}", lines[1]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(":1:28: article \"badutf\": not UTF-8"),
        "{err}"
    );
}

/// `--explain RULE` (repeatable) and `--explain-candidates` add `explanations` after
/// `offsetEncoding`, as the service's JSON mapping orders them, for a file and for JSON Lines;
/// without them the output has no `explanations` key.
#[test]
fn classify_explain_prints_explanations_after_the_offset_encoding() {
    let body = "He bought a hearing aid.";
    let o = rubric(
        &[
            "classify",
            "--explain",
            "aid.aid_general",
            "--explain",
            "aid.aid_general",
            "-",
        ],
        Some(body),
    );
    assert_success(&o);
    let v = &json_lines(&o)[0];
    let explanations = v["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 1);
    let e = &explanations[0];
    assert_eq!(e["ruleId"], "aid.aid_general");
    assert_eq!(e["fired"], false);
    assert_eq!(
        e["summary"],
        "AND NOT excluded it: 'hearing aid' at body[12,23)"
    );
    assert_eq!(e["query"]["operator"], "QUERY_OPERATOR_AND");
    assert!(
        stdout(&o).contains("\"offsetEncoding\":\"OFFSET_ENCODING_UTF8\",\"explanations\":[{"),
        "{}",
        stdout(&o)
    );

    let o = rubric(
        &["classify", "--jsonl", "--explain-candidates", "-"],
        Some("{\"id\":\"a\",\"body\":\"He bought a hearing aid.\"}\n{\"id\":\"b\",\"body\":\"Nothing.\"}\n"),
    );
    assert_success(&o);
    let lines = json_lines(&o);
    let ids: Vec<&str> = lines[0]["explanations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ruleId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"aid.aid_general"), "{ids:?}");
    assert!(lines[1].get("explanations").is_none(), "{}", lines[1]);

    let o = rubric(&["classify", "-"], Some(body));
    assert_success(&o);
    assert!(!stdout(&o).contains("explanations"), "{}", stdout(&o));
}

/// An unknown `--explain` rule id is an error before any input is read, with the closest id,
/// exit status 2 as for an unknown `--topic`.
#[test]
fn classify_explain_unknown_rule_says_did_you_mean_and_exits_2() {
    let o = rubric(
        &[
            "classify",
            "--explain",
            "aid.aid_genral",
            "--explain",
            "aid.aid_general",
            "-",
        ],
        Some("Aid convoys"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(
            "error: --explain aid.aid_genral: unknown rule id (did you mean `aid.aid_general`?)"
        ),
        "{err}"
    );
}
