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
        "help: write AND or OR before it".to_owned(),
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
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
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
        stderr.contains("in.jsonl:1235: not a JSON article"),
        "{stderr}"
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4999);
    let ids: Vec<String> = lines
        .iter()
        .map(|v| v["articleId"].as_str().unwrap().to_owned())
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
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown topic `sports`"));
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
