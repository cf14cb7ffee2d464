//! The rule playground (issue #16, `GET /` of `rubric serve`) in a real headless Chromium, driven
//! over WebDriver (chromedriver) with fantoccini: the served rules are prefilled, a query syntax
//! error shows at its line and column, the sample article is classified with highlights that are
//! exactly the original text at their UTF-16 offsets, a rule that did not fire is explained, and a
//! tablet-wide window does not scroll sideways. Screenshots go to `target/playground/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`):
//! without them the test prints a notice and passes, except in CI (`CI` set), where `.ci/run`
//! installs them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{key::Key, Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use support::{free_port, in_ci, Server, REPO};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The test's rule file: a field scope, a phrase with an apostrophe (the article has curly ones),
/// a named list, two overlapping rules of one topic, and a NEAR that does not hold on the article.
const RULES: &str = r#"# The playground test's rules.
[rule_set]
name = "playground-test"
version = "1"

[lists]
places = ["Geneva", "Maro", "Ostin"]

[[topics]]
id = "diplomacy"

[[topics]]
id = "aid"

[[rules]]
id = "diplomacy.truce"
topic = "diplomacy"
query = 'title:truce OR (ceasefire NEAR/5 talks)'

[[rules]]
id = "diplomacy.quotes"
topic = "diplomacy"
query = '''"didn't come" OR "it's a start"'''
weight = 0.5

[[rules]]
id = "diplomacy.places"
topic = "diplomacy"
query = '@places NEAR/6 (talks OR pledged OR meeting)'
weight = 0.5

[[rules]]
id = "aid.convoys"
topic = "aid"
query = '"aid convoys" OR "humanitarian convoys" OR (aid ONEAR/1 worker*)'

[[rules]]
id = "aid.word"
topic = "aid"
query = 'aid OR {UN}'
weight = 0.5

[[rules]]
id = "aid.delivery"
topic = "aid"
query = '(aid OR assistance) NEAR/2 (deliver* OR provid*)'
"#;

/// The line of [`RULES`] that the broken copy changes, and what it becomes: two terms without an
/// operator, an error at `talks`.
const GOOD_LINE: &str = "query = 'title:truce OR (ceasefire NEAR/5 talks)'";
const BAD_LINE: &str = "query = 'title:truce OR ceasefire talks'";

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium and chromedriver, or `None` (with a notice) where they are absent and CI is unset.
fn browser() -> Option<()> {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    assert!(
        !in_ci(),
        "{} missing: the playground test needs Debian's chromium and chromium-driver in CI \
         (.ci/run installs them)",
        missing.join(" and ")
    );
    eprintln!(
        "notice: {} not found; skipping (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    None
}

/// Starts chromedriver and opens a headless Chromium session with a fresh profile.
async fn session(profile: &Path) -> (Driver, Client) {
    let port = free_port().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port };
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let start = Instant::now();
    loop {
        let builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await;
        match builder {
            Ok(client) => return (driver, client),
            Err(e) if start.elapsed() > Duration::from_secs(30) => {
                panic!("no WebDriver session from chromedriver at {url}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Runs `script` (a function body that returns a value) in the page.
async fn js(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client
        .execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Waits until `script` returns true, at most 20 s.
async fn until(client: &Client, what: &str, script: &str) {
    let start = Instant::now();
    while js(client, script, vec![]).await != json!(true) {
        if start.elapsed() > Duration::from_secs(20) {
            let state = js(
                client,
                "return [document.getElementById('check-status').textContent, \
                 document.getElementById('result-status').textContent, \
                 document.getElementById('banner').textContent];",
                vec![],
            )
            .await;
            panic!("timed out waiting for {what}; page status: {state}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sets a text field's value as a paste would, with an `input` event.
async fn paste(client: &Client, id: &str, text: &str) {
    js(
        client,
        "const el = document.getElementById(arguments[0]); el.value = arguments[1]; \
         el.dispatchEvent(new Event('input', { bubbles: true })); return true;",
        vec![json!(id), json!(text)],
    )
    .await;
}

/// The `data-runs` counter of the result view: how many classify calls have come back.
async fn runs(client: &Client) -> u64 {
    let v = js(
        client,
        "return Number(document.getElementById('results').dataset.runs || 0);",
        vec![],
    )
    .await;
    v.as_u64().unwrap()
}

async fn wait_for_run(client: &Client, after: u64) {
    until(
        client,
        "a classify call to come back",
        &format!("return Number(document.getElementById('results').dataset.runs || 0) > {after};"),
    )
    .await;
}

/// `text[start..end]` in UTF-16 code units, as JavaScript's `slice`.
fn utf16_slice(text: &str, start: usize, end: usize) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    String::from_utf16(units.get(start..end)?).ok()
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("playground");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_checks_classifies_highlights_and_explains_in_a_browser() {
    if browser().is_none() {
        return;
    }
    let server = Server::start(&[]);
    let url = format!("http://{}/", server.addr);
    let profile = tempfile::tempdir().unwrap();
    let (_driver, client) = session(profile.path()).await;
    // The steps run in their own task, so that when one fails the browser session is still
    // closed (a killed chromedriver would leave its Chromium behind).
    let steps_client = client.clone();
    let outcome = tokio::spawn(async move { steps(&steps_client, &url).await }).await;
    let _ = client.close().await;
    if let Err(e) = outcome {
        eprintln!("server log:\n{}", server.log());
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn steps(client: &Client, url: &str) {
    client.goto(url).await.expect("open the playground");

    // The served rules are prefilled, and checked.
    until(
        client,
        "the served rules",
        "return document.body.dataset.rules === 'loaded';",
    )
    .await;
    let served = js(
        client,
        "return document.getElementById('rules').value;",
        vec![],
    )
    .await;
    let embedded = std::fs::read_to_string(Path::new(REPO).join("seeds/rules.toml")).unwrap();
    assert_eq!(
        served.as_str(),
        Some(embedded.as_str()),
        "the editor holds the served rules"
    );
    until(
        client,
        "the served rules to be checked",
        "return document.getElementById('diagnostics').dataset.valid === 'true';",
    )
    .await;

    // Every control has a label.
    let unlabelled = js(
        client,
        "return [...document.querySelectorAll('input, textarea, select')] \
           .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')) \
           .map(e => e.id);",
        vec![],
    )
    .await;
    assert_eq!(unlabelled, json!([]), "controls without a label");

    // A query syntax error shows at its line and column, and is marked in the gutter.
    assert!(RULES.contains(GOOD_LINE));
    let broken = RULES.replace(GOOD_LINE, BAD_LINE);
    let line = broken.lines().position(|l| l == BAD_LINE).unwrap() + 1;
    let column = BAD_LINE[..BAD_LINE.rfind("talks").unwrap()].chars().count() + 1;
    paste(client, "rules", &broken).await;
    until(
        client,
        "the query-syntax diagnostic",
        "return !!document.querySelector('#diagnostics li[data-severity=error]');",
    )
    .await;
    let diagnostic = client
        .find(Locator::Css("#diagnostics li[data-severity=error]"))
        .await
        .unwrap();
    assert_eq!(
        diagnostic.attr("data-code").await.unwrap().as_deref(),
        Some("query-syntax")
    );
    assert_eq!(
        diagnostic.attr("data-line").await.unwrap(),
        Some(line.to_string()),
        "the diagnostic's line"
    );
    assert_eq!(
        diagnostic.attr("data-column").await.unwrap(),
        Some(column.to_string()),
        "the diagnostic's column (at `talks`)"
    );
    let shown = diagnostic.text().await.unwrap();
    assert!(
        shown.contains(&format!("line {line}, column {column}")) && shown.contains("help"),
        "the diagnostic names its place and the help: {shown}"
    );
    let gutter = js(
        client,
        "return [...document.querySelectorAll('#gutter .ln.error')].map(e => e.textContent);",
        vec![],
    )
    .await;
    assert_eq!(
        gutter,
        json!([format!("✖ {line}")]),
        "the gutter marks the line"
    );

    // Fixed, the rules are valid again.
    paste(client, "rules", RULES).await;
    until(
        client,
        "the fixed rules to be valid",
        "return document.getElementById('diagnostics').dataset.valid === 'true';",
    )
    .await;

    // The sample article (curly quotes, an em dash) classified with Ctrl+Enter.
    let sample = std::fs::read_to_string(Path::new(REPO).join("seeds/sample-article.txt")).unwrap();
    let (title, body) = sample.split_once("\n\n").unwrap();
    let body = body.trim_end();
    paste(client, "title", title).await;
    paste(client, "body", body).await;
    let before = runs(client).await;
    let body_field = client.find(Locator::Id("body")).await.unwrap();
    body_field
        .send_keys(&format!("{}{}", Key::Control, Key::Enter))
        .await
        .unwrap();
    wait_for_run(client, before).await;
    let banner = js(
        client,
        "return document.getElementById('banner').hidden;",
        vec![],
    )
    .await;
    assert_eq!(banner, json!(true), "no error banner after classifying");
    let typed_body = js(
        client,
        "return document.getElementById('body').value;",
        vec![],
    )
    .await;
    assert_eq!(typed_body.as_str(), Some(body), "Ctrl+Enter typed nothing");

    // Topics show, with their labels.
    let topics = js(
        client,
        "return [...document.querySelectorAll('#topics .topic')] \
           .map(t => [t.dataset.topic, t.dataset.label]);",
        vec![],
    )
    .await;
    assert_eq!(
        topics,
        json!([["diplomacy", "true"], ["aid", "true"]]),
        "the topics shown"
    );

    // Every highlight is exactly the original text at its UTF-16 offsets.
    let marks = js(
        client,
        "return [...document.querySelectorAll('#rendered mark')].map(m => ({ \
           field: m.dataset.field, start: Number(m.dataset.start), end: Number(m.dataset.end), \
           rule: m.dataset.rule, text: m.textContent, inField: m.closest('[data-field]').dataset.field }));",
        vec![],
    )
    .await;
    let marks = marks.as_array().unwrap();
    assert!(!marks.is_empty(), "at least one highlight");
    for mark in marks {
        let field = mark["field"].as_str().unwrap();
        assert_eq!(mark["inField"], mark["field"], "{mark} is in its field");
        let original = match field {
            "ARTICLE_FIELD_TITLE" => title,
            "ARTICLE_FIELD_BODY" => body,
            other => panic!("highlight with field {other:?}"),
        };
        let (start, end) = (
            mark["start"].as_u64().unwrap() as usize,
            mark["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            utf16_slice(original, start, end).as_deref(),
            mark["text"].as_str(),
            "highlight {mark} is the original text at [{start}, {end})"
        );
    }
    let texts: Vec<&str> = marks.iter().filter_map(|m| m["text"].as_str()).collect();
    for expected in [
        "truce",
        "didn’t come",
        "It’s a start",
        "Geneva",
        "humanitarian convoys",
    ] {
        assert!(
            texts.contains(&expected),
            "a highlight {expected:?} in {texts:?}"
        );
    }
    // `aid` of "aid convoys" in the title is matched by two rules: one piece carries both.
    assert!(
        marks.iter().any(|m| m["field"] == "ARTICLE_FIELD_TITLE"
            && m["text"] == "aid"
            && m["rule"] == "aid.convoys aid.word"),
        "an overlap of two rules: {marks:?}"
    );

    // A rule of the list emphasizes its highlights.
    client
        .find(Locator::Css("#topics button.rule[data-rule='aid.convoys']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let emphasized = js(
        client,
        "return [...document.querySelectorAll('#rendered mark.emph')].map(m => m.textContent).join('|');",
        vec![],
    )
    .await;
    assert_eq!(
        emphasized,
        json!("aid| convoys|humanitarian convoys|aid|worker"),
        "aid.convoys's pieces are emphasized"
    );

    // The rule menu says which rules fired as the engine does (the review case: a rule that fired
    // but whose matches an overlapping rule got the credit for was listed as "did not fire").
    let engine = rubric::Engine::from_toml("rules", RULES).unwrap();
    let article = rubric::Article {
        id: "",
        title,
        body,
    };
    let options = rubric::ClassifyOptions {
        explain_candidates: true,
        ..Default::default()
    };
    let mut engine_fired: Vec<String> = engine
        .classify(&article, &options)
        .unwrap()
        .explanations
        .iter()
        .filter(|x| x.fired)
        .map(|x| x.rule_id.to_string())
        .collect();
    engine_fired.sort();
    let menu_fired = js(
        client,
        "return [...document.querySelectorAll('#explain-rule option[data-fired=\"true\"]')].map(o => o.value).sort();",
        vec![],
    )
    .await;
    assert_eq!(menu_fired, json!(engine_fired));

    // Why not: a rule that did not fire, explained.
    let option = client
        .find(Locator::Css("#explain-rule option[value='aid.delivery']"))
        .await
        .unwrap();
    assert_eq!(
        option.attr("data-fired").await.unwrap().as_deref(),
        Some("false")
    );
    client
        .find(Locator::Id("explain-rule"))
        .await
        .unwrap()
        .select_by_value("aid.delivery")
        .await
        .unwrap();
    let before = runs(client).await;
    client
        .find(Locator::Id("explain"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_run(client, before).await;
    let explanation = js(
        client,
        "const x = document.querySelector('#explanation .rule-explanation'); \
         if (!x) return null; \
         return { rule: x.dataset.rule, fired: x.dataset.fired, summary: x.querySelector('.summary')?.textContent, \
           nodes: [...x.querySelectorAll('.node')].map(n => [n.dataset.operator, n.dataset.satisfied]) };",
        vec![],
    )
    .await;
    assert_eq!(explanation["rule"], "aid.delivery", "{explanation}");
    assert_eq!(explanation["fired"], "false", "{explanation}");
    assert!(
        !explanation["summary"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a summary: {explanation}"
    );
    assert_eq!(
        explanation["nodes"][0],
        json!(["NEAR", "false"]),
        "the tree starts at the NEAR that failed: {explanation}"
    );
    assert!(
        explanation["nodes"].as_array().unwrap().len() > 3,
        "the tree has the NEAR's operands: {explanation}"
    );

    let dir = screenshot_dir();
    client.set_window_size(1280, 1250).await.unwrap();
    js(
        client,
        "const body = document.getElementById('body'); body.setSelectionRange(0, 0); \
         body.scrollTop = 0; document.activeElement.blur(); window.scrollTo(0, 0); return true;",
        vec![],
    )
    .await;
    let png = dir.join("playground.png");
    std::fs::write(&png, client.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", png.display());

    // Classifying with rules that do not load: an error banner with the field violations.
    paste(client, "rules", &broken).await;
    let before = runs(client).await;
    client
        .find(Locator::Id("classify"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_run(client, before).await;
    let banner = js(
        client,
        "const b = document.getElementById('banner'); \
         return b.hidden ? null : [b.querySelector('p').textContent, \
           [...b.querySelectorAll('li')].map(li => li.textContent), b.textContent];",
        vec![],
    )
    .await;
    assert!(
        banner[0]
            .as_str()
            .is_some_and(|m| m.starts_with("Classifying failed: "))
            && banner[1][0]
                .as_str()
                .is_some_and(|v| v.starts_with("rules"))
            && !banner[2].as_str().unwrap().contains("null"),
        "an error banner naming the field `rules`: {banner}"
    );

    // Tablet width: one column, nothing wider than the window.
    client.set_window_size(768, 1024).await.unwrap();
    until(
        client,
        "the window to narrow",
        "return window.innerWidth <= 768;",
    )
    .await;
    let widths = js(
        client,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        vec![],
    )
    .await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "no horizontal overflow at 768 px: [scrollWidth, innerWidth] = {widths}"
    );
    let columns = js(
        client,
        "const [a, b] = document.querySelectorAll('main > .pane'); \
         return a.getBoundingClientRect().bottom <= b.getBoundingClientRect().top;",
        vec![],
    )
    .await;
    assert_eq!(columns, json!(true), "one column at 768 px");
    let narrow = dir.join("playground-768.png");
    std::fs::write(&narrow, client.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", narrow.display());
}
