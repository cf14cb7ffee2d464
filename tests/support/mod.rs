//! Helpers shared by the integration tests: the real `rubric serve` binary on an ephemeral port,
//! its metrics, and a test certificate authority.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The `rubric` binary under test.
pub const RUBRIC: &str = env!("CARGO_BIN_EXE_rubric");

/// `rubric serve --listen 127.0.0.1:0 --log-format json`, with its log captured; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server and waits for its `"message":"serving"` log line (with the bound address).
    pub fn start(extra: &[&str]) -> Server {
        Server::start_with_format("json", extra)
    }

    /// [`Server::start`] with `--log-format format` (`json` or `text`); the address is read from
    /// the `serving` line of either format.
    pub fn start_with_format(format: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(RUBRIC)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", format])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rubric serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["message"] == "serving" {
                        let _ = addr_tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
                    }
                } else if let Some(addr) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
                {
                    if line.contains(" serving ") {
                        let _ = addr_tx.send(addr.to_owned());
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server logs its address")
            .parse()
            .expect("a socket address");
        Server { child, addr, log }
    }

    /// Sends a signal (`TERM`, `HUP`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Give the log reader a moment to drain the pipe.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("did not exit within {limit:?}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// A plaintext tonic channel to the server.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on loopback (bound, then released, for `--metrics-listen`).
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Fetches `http://addr/metrics` with a plain HTTP/1.0 request.
pub fn scrape(addr: SocketAddr) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("metrics listener");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// `Classify` calls that a server answered with OK, from its metrics.
pub fn classify_ok(metrics: SocketAddr) -> u64 {
    scrape(metrics)
        .lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && l.contains(r#"grpc_method="Classify""#)
                && l.contains(r#"grpc_code="OK""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Whether `CI` is set: then a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A test certificate authority and two leaves it signed, in PEM (rcgen).
pub struct Pki {
    /// The CA certificate.
    pub ca: String,
    /// Server certificate for `localhost` and `127.0.0.1`.
    pub server_cert: String,
    /// Its key.
    pub server_key: String,
    /// Client certificate (`client`).
    pub client_cert: String,
    /// Its key.
    pub client_key: String,
}

/// Makes a fresh [`Pki`].
pub fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // A name of its own: with rcgen's default name on both, OpenSSL clients (curl) take the
    // leaf for a self-signed certificate.
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rubric test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf = |names: Vec<String>| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["client".into()]);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}
