//! The HTTP/JSON API and grpc-web end to end: the real `rubric serve` binary on an ephemeral port,
//! called with a real HTTP client (ureq; curl for TLS and HTTP/2), every answer compared with
//! the gRPC answer to the same request (tonic client, printed with the same proto3 JSON mapping).

use std::io::{Read, Write};
use std::time::Duration;

use prost::Message;
use rubric::pb;
use rubric::pb::classifier_service_client::ClassifierServiceClient;
use serde_json::{json, Value};
use tonic::Code;
use tonic_types::StatusExt;

mod support;

use support::{free_port, scrape, Server};

/// An HTTP client that returns error answers instead of failing on them.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// `(status, JSON body)` of `POST url` with `body`.
fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    post_raw(server, path, &body.to_string(), None)
}

fn post_raw(server: &Server, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = agent()
        .post(format!("http://{}{path}", server.addr))
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = request.send(body).expect("HTTP call");
    read_json(&mut response)
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    let mut response = agent()
        .get(format!("http://{}{path}", server.addr))
        .call()
        .expect("HTTP call");
    read_json(&mut response)
}

fn read_json(response: &mut ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.body_mut().read_to_string().expect("body");
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{status}: {text}"
    );
    (status, serde_json::from_str(&text).expect("JSON answer"))
}

/// A gRPC message printed with the proto3 JSON mapping (pbjson), as the HTTP side prints it.
fn as_json<M: serde::Serialize>(message: &M) -> Value {
    serde_json::to_value(message).unwrap()
}

/// The JSON form of a gRPC status, built from the tonic client's view of it.
fn status_as_json(status: &tonic::Status) -> Value {
    let mut json = json!({"code": status.code() as i32, "message": status.message()});
    if let Some(bad) = status.get_error_details().bad_request() {
        let violations: Vec<Value> = bad
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        json["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }]);
    }
    json
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn seed_article() -> String {
    std::fs::read_to_string(format!("{}/seeds/sample-article.txt", support::REPO)).unwrap()
}

/// Every route answers as gRPC does for the same request: Classify (with options), ClassifyBatch,
/// ListTopics, GetRuleSet (both views), CheckRules and ClassifyWithRules.
#[test]
fn every_route_answers_what_grpc_answers() {
    let server = Server::start(&[]);
    let rt = runtime();
    let mut client = rt.block_on(async { ClassifierServiceClient::new(server.channel().await) });
    let body = seed_article();

    let classify = json!({
        "article": {"id": "seed", "title": "Foreign minister’s visit", "body": body},
        "options": {"offsetEncoding": "OFFSET_ENCODING_UTF16", "minScore": 0.5,
                    "explainRules": ["aid.food_aid", "security.troops"], "explainCandidates": true}
    });
    let (status, http) = post(&server, "/v1/articles:classify", &classify);
    assert_eq!(status, 200, "{http}");
    let request: pb::ClassifyRequest = serde_json::from_value(classify.clone()).unwrap();
    let grpc = rt.block_on(client.classify(request)).unwrap().into_inner();
    assert_eq!(http, as_json(&grpc));
    assert!(
        http["classification"]["topics"][0]["evidence"][0]["spans"][0]["text"].is_string(),
        "{http}"
    );
    assert!(
        http["classification"]["explanations"][0]["query"]["operator"].is_string(),
        "{http}"
    );

    let batch =
        json!({"requests": [classify, {"article": {"body": "Aid convoys reached the city."}}]});
    let (status, http) = post(&server, "/v1/articles:batchClassify", &batch);
    assert_eq!(status, 200, "{http}");
    let request: pb::ClassifyBatchRequest = serde_json::from_value(batch).unwrap();
    let grpc = rt
        .block_on(client.classify_batch(request))
        .unwrap()
        .into_inner();
    assert_eq!(http, as_json(&grpc));
    assert_eq!(http["classifications"].as_array().unwrap().len(), 2);

    let (status, http) = get(&server, "/v1/topics");
    assert_eq!(status, 200);
    let grpc = rt
        .block_on(client.list_topics(pb::ListTopicsRequest {}))
        .unwrap()
        .into_inner();
    assert_eq!(http, as_json(&grpc));

    for (query, view) in [
        ("", pb::RuleSetView::Unspecified),
        ("?view=RULE_SET_VIEW_FULL", pb::RuleSetView::Full),
    ] {
        let (status, http) = get(&server, &format!("/v1/ruleSet{query}"));
        assert_eq!(status, 200);
        let grpc = rt
            .block_on(client.get_rule_set(pb::GetRuleSetRequest { view: view as i32 }))
            .unwrap()
            .into_inner();
        assert_eq!(http, as_json(&grpc));
        // proto3 JSON: a Timestamp is RFC 3339 in UTC with a `Z` (the review case: pbjson-types
        // wrote `+00:00`).
        let load_time = http["ruleSet"]["loadTime"].as_str().unwrap();
        assert!(load_time.ends_with('Z'), "{load_time}");
        let text = http["ruleSet"]["text"].as_str().unwrap_or("");
        assert_eq!(text == rubric::DEFAULT_RULES, view == pb::RuleSetView::Full);
    }

    // Rules sent by the client: an error at a known line, then a rule set that loads and names a
    // list file of the served rules.
    let broken = "[rule_set]\nname = \"t\"\nversion = \"1\"\n\n[[topics]]\nid = \"aid\"\n\n[[rules]]\nid = \"aid.convoy\"\ntopic = \"aid\"\nquery = 'aid AND AND convoy'\n";
    let check = json!({"rules": broken});
    let (status, http) = post(&server, "/v1/rules:check", &check);
    assert_eq!(status, 200, "{http}");
    let request: pb::CheckRulesRequest = serde_json::from_value(check).unwrap();
    let grpc = rt
        .block_on(client.check_rules(request))
        .unwrap()
        .into_inner();
    assert_eq!(http, as_json(&grpc));
    assert_eq!(http["valid"], Value::Null, "false is omitted: {http}");
    let first = &http["diagnostics"][0];
    assert_eq!(first["severity"], "DIAGNOSTIC_SEVERITY_ERROR", "{http}");
    assert_eq!(first["line"], 11, "{http}");
    assert_eq!(first["file"], "rules");

    let fixed = broken.replace("aid AND AND convoy", "(aid OR relief) AND convoy*");
    let with_rules = json!({
        "rules": fixed,
        "article": {"title": "Relief convoys", "body": "Aid convoys reached the city."},
        "options": {"offsetEncoding": "OFFSET_ENCODING_CODE_POINT"}
    });
    let (status, http) = post(&server, "/v1/articles:classifyWithRules", &with_rules);
    assert_eq!(status, 200, "{http}");
    let request: pb::ClassifyWithRulesRequest = serde_json::from_value(with_rules).unwrap();
    let grpc = rt
        .block_on(client.classify_with_rules(request))
        .unwrap()
        .into_inner();
    assert_eq!(http, as_json(&grpc));
    assert_eq!(http["classification"]["ruleSetVersion"], "1");
    assert_eq!(http["classification"]["topics"][0]["label"], true, "{http}");
}

/// Each error class: the JSON google.rpc.Status equals the gRPC status for the same request, under
/// the HTTP status of google/rpc/code.proto.
#[test]
fn errors_are_google_rpc_status_json_under_their_http_status() {
    let server = Server::start(&["--max-message-bytes", "65536"]);
    let rt = runtime();
    let mut client = rt.block_on(async { ClassifierServiceClient::new(server.channel().await) });

    // INVALID_ARGUMENT from the handler: the same BadRequest as gRPC.
    let blank = json!({"article": {"title": " ", "language": "not a tag"}, "options": {"topics": ["nope"]}});
    let (status, http) = post(&server, "/v1/articles:classify", &blank);
    assert_eq!(status, 400);
    let request: pb::ClassifyRequest = serde_json::from_value(blank).unwrap();
    let grpc = rt.block_on(client.classify(request)).unwrap_err();
    assert_eq!(http, status_as_json(&grpc));
    let fields: Vec<&str> = http["details"][0]["fieldViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["article.body", "article.language", "options.topics[0]"]
    );

    // An unknown topic near a known one gets the closest (the review case: only the CLI said it).
    let (status, http) = post(
        &server,
        "/v1/articles:classify",
        &json!({"article": {"body": "x"}, "options": {"topics": ["aidd"]}}),
    );
    assert_eq!(status, 400);
    assert!(
        http["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `aid`?"),
        "{http}"
    );

    // INVALID_ARGUMENT from the JSON mapping: the field path in proto names.
    let (status, http) = post(
        &server,
        "/v1/articles:batchClassify",
        &json!({"requests": [{"article": {"body": "x"}}, {"article": {"publishTime": "yesterday"}}]}),
    );
    assert_eq!(status, 400, "{http}");
    assert_eq!(http["code"], 3);
    assert_eq!(
        http["details"][0]["fieldViolations"][0]["field"], "requests[1].article.publish_time",
        "{http}"
    );
    let (status, http) = post_raw(&server, "/v1/articles:classify", "{not json", None);
    assert_eq!((status, &http["code"]), (400, &json!(3)), "{http}");

    // RESOURCE_EXHAUSTED: a body over --max-message-bytes.
    let huge = json!({"article": {"body": "word ".repeat(20_000)}});
    let (status, http) = post(&server, "/v1/articles:classify", &huge);
    assert_eq!((status, &http["code"]), (429, &json!(8)), "{http}");
    assert!(http["message"]
        .as_str()
        .unwrap()
        .contains("--max-message-bytes"));

    // NOT_FOUND and a wrong verb (UNIMPLEMENTED, 405 with `allow`).
    let (status, http) = get(&server, "/v1/nothing");
    assert_eq!((status, &http["code"]), (404, &json!(5)), "{http}");
    let mut response = agent()
        .get(format!("http://{}/v1/articles:classify", server.addr))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let (_, http) = read_json(&mut response);
    assert_eq!(http["code"], 12);

    // An unknown view value.
    let (status, http) = get(&server, "/v1/ruleSet?view=7");
    assert_eq!(status, 400, "{http}");
    assert_eq!(http["details"][0]["fieldViolations"][0]["field"], "view");
}

/// `--auth-token-file`: every API route needs the token (401 UNAUTHENTICATED without it, as
/// gRPC); the playground's page does not.
#[test]
fn the_token_guards_every_route_but_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret\n").unwrap();
    let server = Server::start(&["--auth-token-file", token_file.to_str().unwrap()]);
    let body = json!({"article": {"body": "Envoys met."}}).to_string();
    let (status, http) = post_raw(&server, "/v1/articles:classify", &body, None);
    assert_eq!((status, &http["code"]), (401, &json!(16)), "{http}");
    // RFC 9110: a 401 names the scheme (the review case: it had no `www-authenticate`).
    let unauthorized = agent()
        .get(format!("http://{}/v1/topics", server.addr))
        .call()
        .unwrap();
    assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
    let (status, _) = post_raw(&server, "/v1/articles:classify", &body, Some("wrong"));
    assert_eq!(status, 401);
    let (status, http) = post_raw(&server, "/v1/articles:classify", &body, Some("s3cret"));
    assert_eq!(status, 200, "{http}");
    // Even a malformed request is refused for want of the token first.
    let (status, _) = post_raw(&server, "/v1/rules:check", "{bad", None);
    assert_eq!(status, 401);
    let (status, _) = get(&server, "/v1/topics");
    assert_eq!(status, 401);
    let page = agent()
        .get(format!("http://{}/", server.addr))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

/// `--rule-editing off` (the default off loopback): CheckRules and ClassifyWithRules answer
/// UNIMPLEMENTED (501), saying how to turn them on; the other routes work.
#[test]
fn rule_editing_off_is_unimplemented() {
    let server = Server::start(&["--rule-editing", "off"]);
    let (status, http) = post(&server, "/v1/rules:check", &json!({"rules": "x = 1"}));
    assert_eq!((status, &http["code"]), (501, &json!(12)), "{http}");
    assert!(http["message"]
        .as_str()
        .unwrap()
        .contains("--rule-editing on"));
    let (status, _) = get(&server, "/v1/topics");
    assert_eq!(status, 200);
}

/// Rules sent by a client have their own limits: size (INVALID_ARGUMENT on `rules`), and list
/// files come from the request or the served rule set, never the server's disk.
#[test]
fn sent_rules_have_their_own_limits_and_never_read_the_disk() {
    let server = Server::start(&["--max-rules-bytes", "2000"]);
    let (status, http) = post(
        &server,
        "/v1/rules:check",
        &json!({"rules": "#".repeat(2001)}),
    );
    assert_eq!(status, 400, "{http}");
    assert_eq!(http["details"][0]["fieldViolations"][0]["field"], "rules");
    let (status, http) = post(&server, "/v1/rules:check", &json!({"rules": ""}));
    assert_eq!(status, 400, "{http}");

    let rules = |file: &str| {
        format!("[rule_set]\nname = \"t\"\nversion = \"1\"\n\n[lists.x]\nfile = \"{file}\"\n\n[[topics]]\nid = \"a\"\n\n[[rules]]\nid = \"a.r\"\ntopic = \"a\"\nquery = '@x'\n")
    };
    // A path outside the served rule set's list files is not read from disk.
    let (status, http) = post(
        &server,
        "/v1/rules:check",
        &json!({"rules": rules("/etc/hostname")}),
    );
    assert_eq!(status, 200, "{http}");
    assert_eq!(http["diagnostics"][0]["code"], "list-file", "{http}");
    assert!(
        http["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a list file of the served rule set"),
        "{http}"
    );
    // Sent with the request, it is used.
    let sent = json!({"rules": rules("mine.txt"), "listFiles": {"mine.txt": "convoy\n"}});
    let (status, http) = post(&server, "/v1/rules:check", &sent);
    assert_eq!((status, &http["valid"]), (200, &json!(true)), "{http}");
    // One of the served rule set's list files, by the same path.
    let served_path = rubric::DEFAULT_LISTS.0[0].0;
    let (status, http) = post(
        &server,
        "/v1/rules:check",
        &json!({"rules": rules(served_path)}),
    );
    assert_eq!((status, &http["valid"]), (200, &json!(true)), "{http}");

    // ClassifyWithRules with rule errors: INVALID_ARGUMENT naming `rules` with line and column.
    let (status, http) = post(
        &server,
        "/v1/articles:classifyWithRules",
        &json!({"rules": rules("missing.txt").replace("'@x'", "'(x'"), "article": {"body": "x"}}),
    );
    assert_eq!(status, 400, "{http}");
    let violation = &http["details"][0]["fieldViolations"][0];
    assert_eq!(violation["field"], "rules");
    assert!(
        violation["description"]
            .as_str()
            .unwrap()
            .starts_with("rules:"),
        "{http}"
    );
}

/// Metrics and logs: an HTTP/JSON call is counted and logged as its gRPC method.
#[test]
fn http_calls_count_under_their_method() {
    let metrics = free_port();
    let server = Server::start(&["--metrics-listen", &metrics.to_string()]);
    for _ in 0..3 {
        let (status, _) = post(
            &server,
            "/v1/articles:classify",
            &json!({"article": {"body": "Envoys met."}}),
        );
        assert_eq!(status, 200);
    }
    let (status, _) = post(&server, "/v1/articles:classify", &json!({"article": {}}));
    assert_eq!(status, 400);
    let text = scrape(metrics);
    let count = |code: &str| {
        text.lines()
            .filter(|l| {
                l.starts_with("grpc_server_handled_total{")
                    && l.contains(r#"grpc_method="Classify""#)
                    && l.contains(&format!(r#"grpc_code="{code}""#))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert_eq!(count("OK"), 3.0, "{text}");
    assert_eq!(count("INVALID_ARGUMENT"), 1.0, "{text}");
    assert!(
        server.log().contains("INVALID_ARGUMENT"),
        "{}",
        server.log()
    );
}

/// grpc-web (HTTP/1.1, `application/grpc-web+proto`): the message and the trailers come in the
/// body, as tonic-web frames them.
#[test]
fn grpc_web_calls_the_methods() {
    let server = Server::start(&[]);
    let request = pb::ClassifyRequest {
        article: Some(pb::Article {
            body: "Envoys met to negotiate a ceasefire.".into(),
            ..Default::default()
        }),
        options: None,
    };
    let message = request.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend((message.len() as u32).to_be_bytes());
    frame.extend(&message);
    let mut response = agent()
        .post(format!(
            "http://{}/rubric.v1.ClassifierService/Classify",
            server.addr
        ))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .send(&frame[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body[0], 0, "a message frame first");
    let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    let answer = pb::ClassifyResponse::decode(&body[5..5 + len]).unwrap();
    let topics = &answer.classification.unwrap().topics;
    assert!(topics.iter().any(|t| t.topic == "diplomacy" && t.label));
    let trailer = &body[5 + len..];
    assert_eq!(trailer[0], 0x80, "then the trailers frame");
    assert!(String::from_utf8_lossy(&trailer[5..]).contains("grpc-status:0"));
}

/// The playground's page and files: embedded, with a content security policy that loads
/// nothing from elsewhere; an unknown file is 404.
#[test]
fn the_playground_is_served_at_the_root() {
    let server = Server::start(&[]);
    let mut page = agent()
        .get(format!("http://{}/", server.addr))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("<html"), "{html}");
    for (name, bytes) in rubric::http::PLAYGROUND {
        let mut file = agent()
            .get(format!("http://{}/playground/{name}", server.addr))
            .call()
            .unwrap();
        assert_eq!(file.status().as_u16(), 200, "{name}");
        let mut got = Vec::new();
        file.body_mut().as_reader().read_to_end(&mut got).unwrap();
        assert_eq!(&got[..], *bytes, "{name}");
    }
    let (status, _) = get(&server, "/playground/nope.js");
    assert_eq!(status, 404);
}

/// HTTP/JSON over TLS, with curl, on HTTP/1.1 and on HTTP/2 (ALPN): the same port and
/// certificate as gRPC.
#[test]
fn http_json_over_tls_with_curl() {
    let Ok(version) = std::process::Command::new("curl").arg("--version").output() else {
        assert!(!support::in_ci(), "curl is required in CI");
        eprintln!("notice: curl not found; skipping");
        return;
    };
    let http2 = String::from_utf8_lossy(&version.stdout).contains("HTTP2");
    let pki = support::pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (cert, key, ca) = (
        write("cert.pem", &pki.server_cert),
        write("key.pem", &pki.server_key),
        write("ca.pem", &pki.ca),
    );
    let server = Server::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let mut versions = vec!["--http1.1"];
    if http2 {
        versions.push("--http2");
    }
    for version in versions {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--cacert", &ca, version, "-w", "\n%{http_version}"])
            .args(["-H", "content-type: application/json", "-d"])
            .arg(r#"{"article": {"body": "Envoys met to negotiate."}}"#)
            .arg(format!(
                "https://localhost:{}/v1/articles:classify",
                server.addr.port()
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (json, used) = text.rsplit_once('\n').unwrap();
        let json: Value = serde_json::from_str(json).unwrap();
        assert!(json["classification"]["topics"].is_array(), "{json}");
        assert_eq!(used, if version == "--http2" { "2" } else { "1.1" });
    }
}

/// A slow HTTP/1.1 body: DEADLINE_EXCEEDED (504) after the request body timeout, and the
/// connection does not hold a call slot meanwhile.
#[test]
fn a_body_that_does_not_arrive_times_out() {
    let server = Server::start(&["--request-body-timeout", "1"]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .write_all(b"POST /v1/articles:classify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"art")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    let mut buf = [0u8; 4096];
    while !answer.contains("\"code\"") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer: {answer}");
        answer.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("\"code\":4"), "{answer}");
}

/// A hot reload shows over HTTP as over gRPC: GetRuleSet names the new version.
#[test]
fn hot_reload_shows_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    let rules = |version: &str| {
        format!("[rule_set]\nname = \"t\"\nversion = \"{version}\"\n\n[[topics]]\nid = \"a\"\n\n[[rules]]\nid = \"a.r\"\ntopic = \"a\"\nquery = 'convoy'\n")
    };
    std::fs::write(&path, rules("1")).unwrap();
    let server = Server::start(&["--rules", path.to_str().unwrap()]);
    let (_, http) = get(&server, "/v1/ruleSet");
    assert_eq!(http["ruleSet"]["version"], "1");
    std::fs::write(&path, rules("2")).unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, http) = get(&server, "/v1/ruleSet?view=RULE_SET_VIEW_FULL");
        if http["ruleSet"]["version"] == "2" {
            assert_eq!(http["ruleSet"]["text"], rules("2"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not reloaded: {http}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The gRPC code of a JSON status equals the one gRPC gives for the same call (sanity of the
/// table: INVALID_ARGUMENT is 3).
#[test]
fn the_status_table_follows_code_proto() {
    use rubric::error::http_status;
    assert_eq!(http_status(Code::InvalidArgument), 400);
    assert_eq!(http_status(Code::Unauthenticated), 401);
    assert_eq!(http_status(Code::PermissionDenied), 403);
    assert_eq!(http_status(Code::NotFound), 404);
    assert_eq!(http_status(Code::ResourceExhausted), 429);
    assert_eq!(http_status(Code::Cancelled), 499);
    assert_eq!(http_status(Code::Unimplemented), 501);
    assert_eq!(http_status(Code::Unavailable), 503);
    assert_eq!(http_status(Code::DeadlineExceeded), 504);
}

/// `--cors-allow-origin`: a browser page of an allowed origin may call the API (preflight
/// answered, `access-control-allow-origin` on the answer); other origins get no CORS headers.
#[test]
fn cors_allows_the_configured_origins_only() {
    let server = Server::start(&[
        "--cors-allow-origin",
        "https://app.example,http://localhost:3000",
    ]);
    let preflight = |origin: &str| {
        agent()
            .options(format!("http://{}/v1/articles:classify", server.addr))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .call()
            .unwrap()
    };
    let allowed = preflight("https://app.example");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example");
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let response = agent()
        .post(format!("http://{}/v1/articles:classify", server.addr))
        .header("origin", "http://localhost:3000")
        .send(json!({"article": {"body": "Envoys met."}}).to_string())
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
}

/// Shutdown drains HTTP/JSON as gRPC: an idle HTTP/1.1 keep-alive connection (after a call) does
/// not hold the drain up, and a new request after SIGTERM finds the port closed.
#[test]
fn shutdown_does_not_wait_for_idle_http1_connections() {
    let mut server = Server::start(&["--drain-timeout", "30"]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    let body = r#"{"article": {"body": "Envoys met."}}"#;
    write!(
        stream,
        "POST /v1/articles:classify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // The connection stays open (keep-alive) and idle.
    let start = std::time::Instant::now();
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "waited {:?} for an idle connection",
        start.elapsed()
    );
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

/// Rules sent by clients are compiled under a time limit (DEADLINE_EXCEEDED, 504) and a bound on
/// compilations at once (RESOURCE_EXHAUSTED, 429): a compilation that timed out keeps its place
/// until it finishes, so the next one is refused at once instead of piling up.
#[test]
fn rule_compilation_has_a_time_limit_and_a_bound_at_once() {
    let server = Server::start(&[
        "--rule-compile-timeout",
        "0.001",
        "--max-concurrent-compiles",
        "1",
        "--max-rules-bytes",
        "4000000",
    ]);
    // 20,000 rules with wildcards and phrases: some 0.7 s to compile in a debug build, far longer
    // than the millisecond allowed and than the next request takes to come.
    let mut rules =
        String::from("[rule_set]\nname = \"big\"\nversion = \"1\"\n\n[[topics]]\nid = \"t\"\n");
    for i in 0..20_000 {
        rules.push_str(&format!(
            "\n[[rules]]\nid = \"t.r{i}\"\ntopic = \"t\"\nquery = '(word{i}a* OR \"phrase {i} here\") AND NOT body:other{i}'\n"
        ));
    }
    let request = json!({"rules": rules});
    let (status, http) = post(&server, "/v1/rules:check", &request);
    assert_eq!((status, &http["code"]), (504, &json!(4)), "{http}");
    assert!(http["message"].as_str().unwrap().contains("1 ms"), "{http}");
    let (status, http) = post(&server, "/v1/rules:check", &request);
    assert_eq!((status, &http["code"]), (429, &json!(8)), "{http}");
    assert!(
        http["message"].as_str().unwrap().contains("retry"),
        "{http}"
    );
}

/// HTTP compression: a gzip request body is read, and the answer is gzip-compressed when the
/// client accepts it (the review case: a gzip body used to be read as JSON and refused); an
/// encoding the server does not know is refused with 415.
#[test]
fn http_json_bodies_may_be_compressed() {
    use flate2::{read::GzDecoder, write::GzEncoder, Compression};
    let server = Server::start(&[]);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(br#"{"article": {"body": "Envoys met to negotiate a ceasefire."}}"#)
        .unwrap();
    let body = gz.finish().unwrap();
    let mut response = agent()
        .post(format!("http://{}/v1/articles:classify", server.addr))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("accept-encoding", "gzip")
        .send(&body[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let mut compressed = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut compressed)
        .unwrap();
    let mut text = String::new();
    GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(
        json["classification"]["topics"][0]["label"]
            .as_bool()
            .unwrap(),
        "{json}"
    );

    let response = agent()
        .post(format!("http://{}/v1/articles:classify", server.addr))
        .header("content-encoding", "br")
        .send("{}")
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
}
