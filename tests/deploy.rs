//! Deployment: `rubric health-check`, the Dockerfile's commands, the Kubernetes manifests, and the
//! clients in `examples/` (Python and Rust) against real servers.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use support::{in_ci, Server, REPO, RUBRIC};

fn rubric(args: &[&str]) -> Output {
    Command::new(RUBRIC)
        .args(args)
        .output()
        .expect("run rubric")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Exit status, standard output and standard error of `rubric health-check ARGS`.
fn health_check(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["health-check"];
    all.extend_from_slice(args);
    let out = rubric(&all);
    (
        out.status.code().expect("an exit code"),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// 0 and `SERVING` for a serving server (`host:port` and `http://` forms, whole server and the
/// classifier service); 1 with a one-line reason for an unknown service, a server that does not
/// answer in time, and one that has shut down; 2 for usage errors.
#[test]
fn health_check_exit_codes() {
    let mut server = Server::start(&[]);
    let addr = server.addr.to_string();

    let (code, out, err) = health_check(&["--addr", &addr]);
    assert_eq!((code, out.as_str()), (0, "SERVING\n"), "{err}");
    let (code, out, err) = health_check(&[
        "--addr",
        &format!("http://{addr}"),
        "--service",
        "rubric.v1.ClassifierService",
    ]);
    assert_eq!((code, out.as_str()), (0, "SERVING\n"), "{err}");

    let (code, out, err) = health_check(&["--addr", &addr, "--service", "nope"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("NOT_FOUND"), "{err}");

    // A peer that accepts TCP connections but never speaks HTTP/2.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let (code, _, err) = health_check(&["--addr", &silent_addr, "--timeout", "0.5"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("within 0.500 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);

    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(15)).success());
    let (code, _, err) = health_check(&["--addr", &addr, "--timeout", "2"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot connect"), "{err}");

    for usage in [
        &["--timeout", "soon"][..],
        &["--no-such-flag"],
        &["--tls-cert", "client.pem"],
        &["--tls-ca", "/no/such/ca.pem"],
    ] {
        let (code, _, err) = health_check(usage);
        assert_eq!(code, 2, "{usage:?}: {err}");
    }
}

/// With TLS options matching the server's: mutual TLS with the client certificate is SERVING;
/// without it the handshake fails (1).
#[test]
fn health_check_over_mutual_tls() {
    let pki = support::pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca_pem = write("ca.pem", &pki.ca);
    let server_cert = write("server.pem", &pki.server_cert);
    let server_key = write("server.key", &pki.server_key);
    let client_cert = write("client.pem", &pki.client_cert);
    let client_key = write("client.key", &pki.client_key);
    let server = Server::start(&[
        "--tls-cert",
        &server_cert,
        "--tls-key",
        &server_key,
        "--tls-client-ca",
        &ca_pem,
    ]);
    let addr = server.addr.to_string();
    let tls = ["--tls-ca", &ca_pem, "--tls-domain", "localhost"];
    let mut args = vec!["--addr", &addr];
    args.extend_from_slice(&tls);
    args.extend_from_slice(&["--tls-cert", &client_cert, "--tls-key", &client_key]);
    let (code, out, err) = health_check(&args);
    assert_eq!((code, out.as_str()), (0, "SERVING\n"), "{err}");
    // Issue 13, item 9: a rejected client (no certificate) is reported as a TLS rejection at
    // once, not as "no answer" after the timeout.
    let mut args = vec!["--addr", &addr, "--timeout", "30"];
    args.extend_from_slice(&tls);
    let started = std::time::Instant::now();
    let (code, _, err) = health_check(&args);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TLS handshake was rejected"), "{err}");
    assert!(!err.contains("no answer"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{err}"
    );
    // Plaintext to a TLS server: says so.
    let plain = format!("http://{addr}");
    let (code, _, err) = health_check(&["--addr", &plain, "--timeout", "30"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("serving TLS"), "{err}");
}

/// The JSON array of a Dockerfile instruction in exec form (`CMD ["a", "b"]`), continuation
/// lines joined; the last one when the instruction repeats.
fn dockerfile_exec(dockerfile: &str, instruction: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let line = joined
        .lines()
        .rfind(|l| l.starts_with(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("no {instruction} in the Dockerfile"));
    let array = &line[line.find('[').expect("exec form")..];
    serde_json::from_str(array).expect("a JSON array")
}

/// The Dockerfile: multi-stage, distroless runtime as a numeric non-root user, and its
/// ENTRYPOINT + CMD and HEALTHCHECK commands work with this binary as written (the health check
/// pointed at a test server instead of port 50051).
#[test]
fn dockerfile_commands_work_as_written() {
    let dockerfile = std::fs::read_to_string(Path::new(REPO).join("Dockerfile")).unwrap();
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains(" AS build"), "{froms:?}");
    assert!(froms[1].contains("gcr.io/distroless/"), "{froms:?}");
    assert!(dockerfile.contains("cargo build --release --locked"));
    assert!(dockerfile.lines().any(|l| l == "USER 65532:65532"));

    let entrypoint = dockerfile_exec(&dockerfile, "ENTRYPOINT");
    assert_eq!(entrypoint, ["/usr/local/bin/rubric"]);
    let mut cmd = dockerfile_exec(&dockerfile, "CMD");
    assert_eq!(cmd[..3], ["serve", "--listen", "0.0.0.0:50051"]);
    cmd.push("--print-config".to_owned());
    let out = Command::new(RUBRIC).args(&cmd).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(r#"listen = "0.0.0.0:50051"  # flag"#),
        "{}",
        text(&out.stdout)
    );

    let healthcheck = dockerfile_exec(&dockerfile, "HEALTHCHECK --interval=10s");
    assert_eq!(healthcheck[0], "/usr/local/bin/rubric");
    assert_eq!(healthcheck[1], "health-check");
    let server = Server::start(&[]);
    let args: Vec<String> = healthcheck[1..]
        .iter()
        .map(|a| a.replace("127.0.0.1:50051", &server.addr.to_string()))
        .collect();
    let out = Command::new(RUBRIC).args(&args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

fn manifest(name: &str) -> Value {
    let path = Path::new(REPO).join("deploy/kubernetes").join(name);
    let yaml = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value after `flag` in a container's args.
fn arg<'a>(args: &'a [Value], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    args[i + 1].as_str().unwrap()
}

/// The Kubernetes manifests have what the deployment needs (the schema check is
/// kubernetes-validate in .ci/run): several replicas; native gRPC probes on the serving port;
/// requests and limits; a grace period longer than preStop + drain timeout; non-root and
/// read-only; the rules from the ConfigMap (equal to seeds/rules.toml) mounted as a directory;
/// a headless Service; a PDB and a CPU HPA selecting the same pods; and args this binary accepts.
#[test]
fn kubernetes_manifests() {
    let kustomization = manifest("kustomization.yaml");
    let mut listed: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut files: Vec<String> = std::fs::read_dir(Path::new(REPO).join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    files.sort_unstable();
    assert_eq!(listed, files, "kustomization.yaml lists every manifest");

    let deployment = manifest("deployment.yaml");
    assert_eq!(deployment["kind"], "Deployment");
    let spec = &deployment["spec"];
    // The HPA owns the replica count (fresh-user report: a `replicas` here resets it on apply).
    assert!(spec.get("replicas").is_none(), "replicas is set: {spec:?}");
    let pod_labels = &spec["template"]["metadata"]["labels"];
    assert_eq!(&spec["selector"]["matchLabels"], pod_labels);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    let args = c["args"].as_array().unwrap();
    let listen = arg(args, "--listen");
    let port: u64 = listen.rsplit(':').next().unwrap().parse().unwrap();
    let grpc_port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "grpc")
        .expect("a port named grpc");
    assert_eq!(grpc_port["containerPort"], port);
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(c[probe]["grpc"]["port"], port, "{probe} is a gRPC probe");
        assert!(c[probe].get("exec").is_none() && c[probe].get("httpGet").is_none());
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "{kind}.{resource}"
            );
        }
    }
    let drain: f64 = arg(args, "--drain-timeout").parse().unwrap();
    let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_f64()
        .unwrap_or(0.0);
    let grace = pod["terminationGracePeriodSeconds"].as_f64().unwrap();
    assert!(
        grace > pre_stop + drain,
        "grace {grace} s must exceed preStop {pre_stop} s + drain {drain} s"
    );
    let max_age: f64 = arg(args, "--max-connection-age").parse().unwrap();
    assert!(max_age > 0.0 && max_age <= 1800.0);

    // The rules: a ConfigMap mounted as a directory (not subPath, which never updates).
    let rules = PathBuf::from(arg(args, "--rules"));
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| Path::new(m["mountPath"].as_str().unwrap()) == rules.parent().unwrap())
        .expect("the rules' directory is mounted");
    assert!(mount.get("subPath").is_none());
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let configmap = manifest("configmap.yaml");
    assert_eq!(configmap["kind"], "ConfigMap");
    assert_eq!(volume["configMap"]["name"], configmap["metadata"]["name"]);
    let file_name = rules.file_name().unwrap().to_str().unwrap();
    let seed = std::fs::read_to_string(Path::new(REPO).join("seeds/rules.toml")).unwrap();
    assert!(
        configmap["data"][file_name] == seed.as_str(),
        "deploy/kubernetes/configmap.yaml must hold seeds/rules.toml as it is (scripts/sync-configmap.py)"
    );
    // Every list file of the default rules, under a key the volume maps to lists/NAME.txt.
    let items = volume["configMap"]["items"].as_array().expect("items");
    let mut lists: Vec<_> = std::fs::read_dir(Path::new(REPO).join("seeds/lists"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    lists.sort();
    assert!(!lists.is_empty());
    for path in lists {
        let name = path.file_name().unwrap().to_str().unwrap();
        let key = format!("lists.{name}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            configmap["data"][key.as_str()] == text.as_str(),
            "configmap.yaml must hold seeds/lists/{name} as it is (scripts/sync-configmap.py)"
        );
        assert!(
            items
                .iter()
                .any(|i| i["key"] == key.as_str() && i["path"] == format!("lists/{name}").as_str()),
            "deployment.yaml must mount {key} at lists/{name}"
        );
    }
    assert!(items
        .iter()
        .any(|i| i["key"] == file_name && i["path"] == file_name));

    // The container's args are valid for this binary.
    let mut check: Vec<&str> = args.iter().map(|a| a.as_str().unwrap()).collect();
    check.push("--print-config");
    let out = rubric(&check);
    assert!(out.status.success(), "{check:?}: {}", text(&out.stderr));

    let headless = manifest("service-headless.yaml");
    assert_eq!(headless["kind"], "Service");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    let service = manifest("service.yaml");
    for s in [&headless, &service] {
        assert_eq!(&s["spec"]["selector"], pod_labels);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], "grpc");
    }

    let pdb = manifest("poddisruptionbudget.yaml");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], pod_labels);
    assert!(pdb["spec"]["maxUnavailable"] == 1 || pdb["spec"]["minAvailable"].is_u64());

    let hpa = manifest("horizontalpodautoscaler.yaml");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 3);
    let metric = &hpa["spec"]["metrics"][0];
    assert_eq!(metric["type"], "Resource");
    assert_eq!(metric["resource"]["name"], "cpu");
    assert_eq!(metric["resource"]["target"]["type"], "Utilization");
}

/// Whether python3 has the example's dependencies; `false` (with a notice) only where CI is
/// unset.
fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import grpc, grpc_tools.protoc, google.protobuf, google.rpc.status_pb2, grpc_status",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !in_ci(),
            "the Python client's dependencies are required in CI (.ci/run installs \
             examples/python/requirements.txt)"
        );
        eprintln!(
            "notice: python3 with examples/python/requirements.txt not found; skipping \
             (python3 -m pip install -r examples/python/requirements.txt)"
        );
    }
    ok
}

/// `[start:end]` of `needle` in `haystack`, in UTF-16 code units and in code points.
fn offsets(haystack: &str, needle: &str) -> ((usize, usize), (usize, usize)) {
    let byte = haystack.find(needle).expect("needle in haystack");
    let before = &haystack[..byte];
    let u16s = before.encode_utf16().count();
    let chars = before.chars().count();
    (
        (u16s, u16s + needle.encode_utf16().count()),
        (chars, chars + needle.chars().count()),
    )
}

/// examples/python/classify.py against a real server: stubs generated from proto/, the seed
/// article in UTF-16 offsets, and a text with emoji (outside the BMP, so UTF-16 and code point
/// offsets differ) in both; every span is sliced by the client and equals the server's text.
#[test]
fn python_client_against_a_real_server() {
    if !python_ready() {
        return;
    }
    let server = Server::start(&[]);
    let stubs = tempfile::tempdir().unwrap();
    let run = |file: &Path, offsets: &str| -> String {
        let out = Command::new("python3")
            .arg(Path::new(REPO).join("examples/python/classify.py"))
            .arg(file)
            .args(["--addr", &server.addr.to_string(), "--offsets", offsets])
            .arg("--stubs")
            .arg(stubs.path())
            .output()
            .expect("run python3");
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{offsets}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.contains("spans checked: each slice of the original text equals"),
            "{stdout}"
        );
        stdout
    };

    let out = run(&Path::new(REPO).join("seeds/sample-article.txt"), "utf16");
    assert!(out.contains("offsets in UTF-16 code units"), "{out}");
    // As in the README: the title's "aid convoys" at UTF-16 [33:44].
    assert!(
        out.contains("aid\tscore 7.5\tconfidence 0.882\tLABEL"),
        "{out}"
    );
    assert!(out.contains("    title[33:44] 'aid convoys'"), "{out}");
    assert!(!out.contains("MISMATCH"), "{out}");

    let title = "😀 Aid convoys 🚚 reach the city";
    let body = "🙂🙂 Relief agencies 🍞 delivered food aid to displaced families.\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emoji.txt");
    std::fs::write(&file, format!("{title}\n\n{body}")).unwrap();
    let (title_u16, title_cp) = offsets(title, "Aid convoys");
    let (body_u16, body_cp) = offsets(body, "food aid");
    assert_ne!(body_u16, body_cp, "the test text must tell the units apart");
    for (offsets, t, b) in [
        ("utf16", title_u16, body_u16),
        ("codepoint", title_cp, body_cp),
    ] {
        let out = run(&file, offsets);
        assert!(out.contains("LABEL"), "{out}");
        assert!(
            out.contains(&format!("    title[{}:{}] 'Aid convoys'", t.0, t.1)),
            "{offsets}: {out}"
        );
        assert!(
            out.contains(&format!("    body[{}:{}] 'food aid'", b.0, b.1)),
            "{offsets}: {out}"
        );
    }
}

/// The `client` example (built by `cargo test` with the other targets) over two replicas:
/// every call succeeds and both endpoints are serving.
#[test]
fn rust_client_example_over_two_replicas() {
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/client");
    if !example.is_file() {
        assert!(
            !in_ci(),
            "{} missing: `cargo test` builds the examples",
            example.display()
        );
        eprintln!("notice: {} not built; skipping", example.display());
        return;
    }
    let servers = [Server::start(&[]), Server::start(&[])];
    let out = Command::new(&example)
        .args(["--endpoint", &servers[0].addr.to_string()])
        .args(["--endpoint", &format!("http://{}", servers[1].addr)])
        .args([
            "--requests",
            "60",
            "--concurrency",
            "6",
            "--deadline-ms",
            "5000",
        ])
        .arg(Path::new(REPO).join("seeds/sample-article.txt"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("aid\tscore 7.5\t"), "{stdout}");
    assert!(stdout.contains("60 calls, 0 failed"), "{stdout}");
    for s in &servers {
        assert!(stdout.contains(&format!("http://{}", s.addr)), "{stdout}");
    }
}

// ---- Fresh-user review (18): the Python example --------------------------------------------------

/// `python3 examples/python/classify.py ARGS`: exit status, standard output, standard error.
fn python_example(args: &[&str], stubs: &Path) -> (i32, String, String) {
    let out = Command::new("python3")
        .arg(Path::new(REPO).join("examples/python/classify.py"))
        .args(args)
        .arg("--stubs")
        .arg(stubs)
        .output()
        .expect("run python3");
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Review (18): a FILE that cannot be read is one line on standard error and exit status 2, not
/// a Python traceback.
#[test]
fn python_example_missing_file_is_one_line_and_exit_2() {
    if !python_ready() {
        return;
    }
    let stubs = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-article.txt");
    for file in [&missing, &dir.path().to_path_buf()] {
        let (code, out, err) = python_example(&[file.to_str().unwrap()], stubs.path());
        assert_eq!(code, 2, "{out}{err}");
        assert!(!err.contains("Traceback"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: cannot read {}: ", file.display())),
            "{err}"
        );
    }
}

/// Review (18): `--offsets` takes the units of `rubric classify --offset-encoding` (utf8, utf16,
/// code-point, as its -h lists them; the example's old `codepoint` still works), and
/// `--offset-encoding` is the same flag; each slice of the original text equals the server's.
#[test]
fn python_example_offsets_take_the_cli_spellings() {
    if !python_ready() {
        return;
    }
    let help = text(&rubric(&["classify", "-h"]).stdout);
    let cli_units = help
        .split("--offset-encoding <OFFSET_ENCODING>")
        .nth(1)
        .and_then(|rest| rest.split("[possible values: ").nth(1))
        .and_then(|rest| rest.split(']').next())
        .expect("rubric classify --help lists the units")
        .to_owned();
    assert_eq!(cli_units, "utf8, utf16, code-point");
    let stubs = tempfile::tempdir().unwrap();
    let (code, out, err) = python_example(&["x.txt", "--offsets", "latin1"], stubs.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains(&cli_units), "{err}");

    let server = Server::start(&[]);
    let addr = server.addr.to_string();
    let title = "😀 Aid convoys 🚚 reach the city";
    let body = "🙂🙂 Relief agencies 🍞 delivered food aid to displaced families.\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emoji.txt");
    std::fs::write(&file, format!("{title}\n\n{body}")).unwrap();
    let utf8 = |haystack: &str, needle: &str| {
        let start = haystack.find(needle).unwrap();
        (start, start + needle.len())
    };
    let (title_u16, title_cp) = offsets(title, "Aid convoys");
    let (body_u16, body_cp) = offsets(body, "food aid");
    let (title_u8, body_u8) = (utf8(title, "Aid convoys"), utf8(body, "food aid"));
    assert_ne!(body_u8, body_cp);
    for (flag, unit, name, t, b) in [
        ("--offsets", "utf8", "UTF-8 bytes", title_u8, body_u8),
        ("--offsets", "code-point", "code points", title_cp, body_cp),
        ("--offsets", "codepoint", "code points", title_cp, body_cp),
        (
            "--offset-encoding",
            "utf16",
            "UTF-16 code units",
            title_u16,
            body_u16,
        ),
    ] {
        let (code, out, err) = python_example(
            &[file.to_str().unwrap(), "--addr", &addr, flag, unit],
            stubs.path(),
        );
        assert_eq!(code, 0, "{unit}: {out}{err}");
        assert!(out.contains(&format!("offsets in {name}")), "{unit}: {out}");
        assert!(
            out.contains(&format!("    title[{}:{}] 'Aid convoys'", t.0, t.1)),
            "{unit}: {out}"
        );
        assert!(
            out.contains(&format!("    body[{}:{}] 'food aid'", b.0, b.1)),
            "{unit}: {out}"
        );
        assert!(!out.contains("MISMATCH"), "{unit}: {out}");
    }
}

/// Review (18): grpcio-status is in the example's requirements, pinned like the others (at
/// grpcio's version, which it requires at least), and the example uses it: an empty article is
/// INVALID_ARGUMENT, shown with the field the server's google.rpc.BadRequest names.
#[test]
fn python_example_requirements_pin_grpcio_status_and_use_it() {
    let requirements =
        std::fs::read_to_string(Path::new(REPO).join("examples/python/requirements.txt")).unwrap();
    let pins: Vec<(&str, &str)> = requirements
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_once("==")
                .unwrap_or_else(|| panic!("`{l}` is not pinned with =="))
        })
        .collect();
    let version = |name: &str| pins.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    assert!(version("grpcio-status").is_some(), "{requirements}");
    assert_eq!(
        version("grpcio-status"),
        version("grpcio"),
        "{requirements}"
    );
    if !python_ready() {
        return;
    }
    let server = Server::start(&[]);
    let stubs = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let (code, out, err) = python_example(
        &[empty.to_str().unwrap(), "--addr", &server.addr.to_string()],
        stubs.path(),
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(!err.contains("Traceback"), "{err}");
    assert!(
        err.starts_with("error: INVALID_ARGUMENT: article.body"),
        "{err}"
    );
}

/// Review (18): the README's `python3 -m grpc_tools.protoc ...` line, run as written from a
/// checkout (here a directory with the repository's `proto/`), generates stubs that import.
#[test]
fn readme_protoc_line_generates_the_python_stubs() {
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("python3 -m grpc_tools.protoc "))
        .collect();
    assert_eq!(lines.len(), 1, "one protoc line in the README");
    let mkdir = readme
        .lines()
        .find(|l| l.starts_with("mkdir -p "))
        .expect("the README creates the output directory");
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(Path::new(REPO).join("proto"), dir.path().join("proto")).unwrap();
    let out = Command::new("sh")
        .args(["-ec", &format!("{mkdir}\n{}", lines[0])])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out_dir = mkdir.trim_start_matches("mkdir -p ").trim();
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); \
             from rubric.v1 import classifier_service_pb2 as pb, classifier_service_pb2_grpc; \
             print(pb.OffsetEncoding.Name(pb.OFFSET_ENCODING_UTF8))",
            out_dir,
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "OFFSET_ENCODING_UTF8\n");
}
