//! Prometheus metrics, served on their own listen address (`metrics-exporter-prometheus`).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `grpc_server_handled_total` | counter | `grpc_service`, `grpc_method`, `grpc_code` (canonical name) |
//! | `grpc_server_handling_seconds` | histogram | `grpc_service`, `grpc_method` |
//! | `rubric_topic_labels_total` | counter | `topic`: articles labelled with it |
//! | `rubric_rule_set_info` | gauge, 1 for the rules being served, 0 for the ones it replaced since start (one series per rule set loaded) | `name`, `version`, `sha256` |
//! | `rubric_rule_set_reloads_total` | counter | `result` = `success` or `failure` |
//! | `rubric_rule_set_last_reload_success` | gauge, 1 or 0 | |
//! | `rubric_rule_set_last_reload_timestamp_seconds` | gauge, Unix time | |
//!
//! Names follow the conventions of go-grpc-prometheus, so existing dashboards work. Label values
//! are bounded: services and methods outside the ones this server implements are reported as
//! `unknown` (a client cannot create series by calling made-up paths), and topics come from the
//! rule set. Without [`install`] every recording is a no-op (the `metrics` facade).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use metrics::{Counter, Histogram};
use rustc_hash::FxHashMap;

use tonic::Code;

use crate::server::code_name;

/// Buckets of `grpc_server_handling_seconds`, in seconds.
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The services and methods this server implements: the only label values used.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "rubric.v1.ClassifierService",
        &[
            "Classify",
            "ClassifyBatch",
            "ClassifyStream",
            "ListTopics",
            "GetRuleSet",
        ],
    ),
    ("grpc.health.v1.Health", &["Check", "Watch"]),
    (
        "grpc.reflection.v1.ServerReflection",
        &["ServerReflectionInfo"],
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        &["ServerReflectionInfo"],
    ),
];

/// Starts the Prometheus exporter on `addr` (HTTP, any path answers the text format) and
/// registers the metrics. Must be called inside a tokio runtime, once per process.
///
/// # Errors
/// When the address cannot be bound or a recorder is already installed.
pub fn install(addr: SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("grpc_server_handling_seconds".into()),
            BUCKETS,
        )
        .map_err(|e| e.to_string())?
        .install()
        .map_err(|e| format!("cannot start the metrics exporter on {addr}: {e}"))?;
    // From now on the recorder is this one: its handles can be kept.
    let _ = HANDLES.set(Handles::default());
    metrics::describe_counter!(
        "grpc_server_handled_total",
        "RPCs completed on the server, by service, method and status code."
    );
    metrics::describe_histogram!(
        "grpc_server_handling_seconds",
        metrics::Unit::Seconds,
        "Time from receiving the request headers to sending the status."
    );
    metrics::describe_counter!(
        "rubric_topic_labels_total",
        "Articles labelled with each topic."
    );
    metrics::describe_gauge!(
        "rubric_rule_set_info",
        "1 for the rule set being served, 0 for rule sets it replaced."
    );
    metrics::describe_counter!("rubric_rule_set_reloads_total", "Rule reloads by result.");
    metrics::describe_gauge!(
        "rubric_rule_set_last_reload_success",
        "1 if the last reload succeeded, 0 if it failed."
    );
    metrics::describe_gauge!(
        "rubric_rule_set_last_reload_timestamp_seconds",
        "Unix time of the last reload attempt."
    );
    Ok(())
}

/// Splits `/package.Service/Method` into bounded label values (what [`label_set`] gives, without
/// the index).
#[cfg(test)]
fn labels(path: &str) -> (&'static str, &'static str) {
    let (_, service, method) = label_set(path);
    (service, method)
}

/// Splits `/package.Service/Method` into bounded label values, and gives their index among all
/// the label sets: for each known service in order, its methods then `unknown`; last (`unknown`,
/// `unknown`).
fn label_set(path: &str) -> (usize, &'static str, &'static str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (service, method) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut index = 0;
    for (known_service, methods) in KNOWN {
        if *known_service == service {
            return match methods.iter().position(|m| *m == method) {
                Some(i) => (index + i, known_service, methods[i]),
                None => (index + methods.len(), known_service, "unknown"),
            };
        }
        index += methods.len() + 1;
    }
    (index, "unknown", "unknown")
}

/// How many label sets [`label_set`] numbers.
const LABEL_SETS: usize = {
    let mut n = 1;
    let mut i = 0;
    while i < KNOWN.len() {
        n += KNOWN[i].1.len() + 1;
        i += 1;
    }
    n
};

/// The gRPC status codes, 0 to 16.
const CODES: usize = 17;

/// The handles of the series recorded per call, kept once [`install`] has installed the recorder,
/// so that recording a call is an index and an atomic add rather than building a key and looking
/// it up in the recorder's registry. Each is registered when first used (a series appears when it
/// is first recorded, as without the handles).
struct Handles {
    /// `grpc_server_handled_total`, by label set then code.
    handled: Vec<[OnceLock<Counter>; CODES]>,
    /// `grpc_server_handling_seconds`, by label set.
    seconds: Vec<OnceLock<Histogram>>,
}

impl Default for Handles {
    fn default() -> Self {
        Handles {
            handled: (0..LABEL_SETS)
                .map(|_| std::array::from_fn(|_| OnceLock::new()))
                .collect(),
            seconds: (0..LABEL_SETS).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// Set by [`install`]; without it every recording goes through the `metrics` macros (a no-op
/// unless another recorder was installed).
static HANDLES: OnceLock<Handles> = OnceLock::new();

/// Records one finished call.
pub fn record_call(path: &str, code: Code, elapsed: Duration) {
    let (index, service, method) = label_set(path);
    let code_index = code as usize;
    let handled = || {
        metrics::counter!(
            "grpc_server_handled_total",
            "grpc_service" => service,
            "grpc_method" => method,
            "grpc_code" => code_name(code)
        )
    };
    let seconds = || {
        metrics::histogram!(
            "grpc_server_handling_seconds",
            "grpc_service" => service,
            "grpc_method" => method
        )
    };
    match HANDLES.get().filter(|_| code_index < CODES) {
        Some(handles) => {
            handles.handled[index][code_index]
                .get_or_init(handled)
                .increment(1);
            handles.seconds[index]
                .get_or_init(seconds)
                .record(elapsed.as_secs_f64());
        }
        None => {
            handled().increment(1);
            seconds().record(elapsed.as_secs_f64());
        }
    }
}

/// Most topics whose counters a thread keeps (rule sets reloaded with new topics add to them); the
/// cache is emptied when it is full.
const MAX_CACHED_TOPICS: usize = 4096;

thread_local! {
    /// This thread's handles of `rubric_topic_labels_total`, by topic.
    static TOPIC_COUNTERS: RefCell<FxHashMap<Arc<str>, Counter>> = RefCell::default();
}

/// Records the topics an article was labelled with.
pub fn record_labels<'a>(topics: impl Iterator<Item = &'a Arc<str>>) {
    let counter = |topic: &Arc<str>| {
        // The engine's shared id: a reference count, not a copy of the string per request.
        metrics::counter!("rubric_topic_labels_total", "topic" => topic.clone())
    };
    if HANDLES.get().is_none() {
        for topic in topics {
            counter(topic).increment(1);
        }
        return;
    }
    TOPIC_COUNTERS.with_borrow_mut(|cache| {
        for topic in topics {
            if let Some(handle) = cache.get(topic) {
                handle.increment(1);
                continue;
            }
            if cache.len() >= MAX_CACHED_TOPICS {
                cache.clear();
            }
            let handle = counter(topic);
            handle.increment(1);
            cache.insert(topic.clone(), handle);
        }
    });
}

/// Marks `current` as the rule set being served, and `previous` (if any) as replaced.
pub fn record_rule_set(current: (&str, &str, &str), previous: Option<(&str, &str, &str)>) {
    if let Some((name, version, sha256)) = previous {
        metrics::gauge!("rubric_rule_set_info", "name" => name.to_owned(), "version" => version.to_owned(), "sha256" => sha256.to_owned()).set(0.0);
    }
    let (name, version, sha256) = current;
    metrics::gauge!("rubric_rule_set_info", "name" => name.to_owned(), "version" => version.to_owned(), "sha256" => sha256.to_owned()).set(1.0);
}

/// Records a reload attempt.
pub fn record_reload(success: bool) {
    let result = if success { "success" } else { "failure" };
    metrics::counter!("rubric_rule_set_reloads_total", "result" => result).increment(1);
    metrics::gauge!("rubric_rule_set_last_reload_success").set(if success { 1.0 } else { 0.0 });
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    metrics::gauge!("rubric_rule_set_last_reload_timestamp_seconds").set(now.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_are_numbered_one_to_one() {
        let mut seen = vec![None; LABEL_SETS];
        let mut paths = vec!["/x.y.Z/W".to_owned()];
        for (service, methods) in KNOWN {
            paths.push(format!("/{service}/Nope"));
            paths.extend(methods.iter().map(|m| format!("/{service}/{m}")));
        }
        for path in &paths {
            let (index, service, method) = label_set(path);
            assert_eq!((service, method), labels(path));
            match seen[index] {
                None => seen[index] = Some((service, method)),
                Some(other) => assert_eq!(other, (service, method), "{path}"),
            }
        }
        assert!(seen.iter().all(Option::is_some), "{seen:?}");
    }

    #[test]
    fn label_values_are_bounded() {
        assert_eq!(
            labels("/rubric.v1.ClassifierService/Classify"),
            ("rubric.v1.ClassifierService", "Classify")
        );
        assert_eq!(
            labels("/rubric.v1.ClassifierService/Nope"),
            ("rubric.v1.ClassifierService", "unknown")
        );
        assert_eq!(labels("/x.y.Z/W"), ("unknown", "unknown"));
        assert_eq!(labels(""), ("unknown", "unknown"));
    }
}
