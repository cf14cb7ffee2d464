//! A client for rubric replicas: client-side load balancing, health checking, deadlines and
//! retries, built from tonic's and tower's parts.
//!
//! [`BalancedClient`] spreads calls over several endpoints with tonic's balanced channel
//! (`tower::balance::p2c`: power of two choices, by pending requests). An endpoint takes
//! traffic only while its `grpc.health.v1.Health/Watch` stream says SERVING (client-side health
//! checking, as in gRPC's gRFC A17): a replica that is shutting down sends NOT_SERVING first,
//! so it leaves the balancer before it stops accepting calls, and it comes back when it is
//! SERVING again. Every attempt carries a deadline (`grpc-timeout`); a call that fails with
//! UNAVAILABLE (connection refused or reset, server draining) is retried with exponential
//! backoff and jitter (`tower::retry`), up to a bounded number of attempts. Other codes are
//! returned at once: they would fail again, or the call may have had an effect.
//!
//! [`health_status`] is one `grpc.health.v1.Health/Check` call, for `rubric health-check`.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rubric::client::{BalancedClient, ClientConfig};
//! use rubric::pb;
//! let config = ClientConfig::new(["127.0.0.1:50051", "127.0.0.1:50052"]);
//! let client = BalancedClient::connect(config)?;
//! client.wait_for_serving(1, std::time::Duration::from_secs(5)).await?;
//! let request = pb::ClassifyRequest {
//!     article: Some(pb::Article { body: "Aid convoys reached the city.".into(), ..Default::default() }),
//!     options: None,
//! };
//! let response = client.classify(request).await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::util::rng::HasherRng;
use tower::ServiceExt;

use crate::pb;
use crate::pb::classifier_service_client::ClassifierServiceClient;

/// Settings of a [`BalancedClient`]; [`ClientConfig::new`] gives the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// Server addresses: `http://host:port` or `host:port` (plaintext).
    pub endpoints: Vec<String>,
    /// Deadline of each attempt, sent as `grpc-timeout`; default 5 s.
    pub deadline: Duration,
    /// Attempts per call, the first included (at least 1); default 5.
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles (plus up to 100 % jitter) for each further
    /// retry, up to `max_backoff`. Default 50 ms.
    pub initial_backoff: Duration,
    /// Longest backoff between two attempts; default 1 s.
    pub max_backoff: Duration,
    /// Longest time to open a connection; default 2 s.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// The defaults, for these endpoints.
    pub fn new<I, S>(endpoints: I) -> ClientConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            deadline: Duration::from_secs(5),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// A configuration [`BalancedClient::connect`] or [`health_status`] cannot use, or a wait that
/// timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError(String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

/// The URI of a server address: `host:port` becomes `http://host:port` (`https://` with `tls`);
/// an address with a scheme is kept as it is.
pub fn endpoint_uri(addr: &str, tls: bool) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else if tls {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    }
}

/// A [`ClassifierServiceClient`] over several replicas, with health checking, deadlines and
/// retries of UNAVAILABLE (see the [module documentation](self)).
///
/// Cheap to clone (the clones share the connections); `Send + Sync`. The background tasks that
/// watch the endpoints' health end when the last clone is dropped.
#[derive(Clone)]
pub struct BalancedClient {
    client: ClassifierServiceClient<Channel>,
    deadline: Duration,
    max_attempts: u32,
    backoff: ExponentialBackoffMaker,
    serving: watch::Receiver<BTreeSet<String>>,
    retries: Arc<AtomicU64>,
    /// Aborts the health watchers when the last clone goes.
    _watchers: Arc<Watchers>,
}

struct Watchers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Watchers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl BalancedClient {
    /// Starts watching the health of every endpoint; an endpoint joins the balancer once it is
    /// SERVING. Returns at once: use [`wait_for_serving`](Self::wait_for_serving) to wait for
    /// the endpoints. Until one is serving, calls wait (up to their deadline).
    ///
    /// # Errors
    /// [`ClientError`] for an endpoint that is not a valid URI, no endpoint, zero attempts, or
    /// backoffs out of order.
    ///
    /// # Panics
    /// Outside a tokio runtime (the health watchers are spawned on it).
    pub fn connect(config: ClientConfig) -> Result<BalancedClient, ClientError> {
        if config.endpoints.is_empty() {
            return Err(ClientError("no endpoint given".to_owned()));
        }
        if config.max_attempts == 0 {
            return Err(ClientError("max_attempts must be at least 1".to_owned()));
        }
        let backoff = ExponentialBackoffMaker::new(
            config.initial_backoff,
            config.max_backoff,
            1.0,
            HasherRng::default(),
        )
        .map_err(|e| ClientError(format!("invalid backoff: {e}")))?;
        let mut endpoints = Vec::new();
        for addr in &config.endpoints {
            let uri = endpoint_uri(addr, false);
            let endpoint = Endpoint::from_shared(uri.clone())
                .map_err(|e| ClientError(format!("invalid endpoint `{addr}`: {e}")))?
                .connect_timeout(config.connect_timeout)
                .tcp_nodelay(true);
            endpoints.push((uri, endpoint));
        }
        let (channel, changes) = Channel::balance_channel::<String>(endpoints.len() * 2);
        let (serving_tx, serving) = watch::channel(BTreeSet::new());
        let watch_backoff = ExponentialBackoffMaker::new(
            Duration::from_millis(100),
            Duration::from_secs(2),
            1.0,
            HasherRng::default(),
        )
        .expect("valid constant backoff");
        let tasks = endpoints
            .into_iter()
            .map(|(key, endpoint)| {
                tokio::spawn(watch_endpoint(
                    key,
                    endpoint,
                    changes.clone(),
                    serving_tx.clone(),
                    watch_backoff.clone(),
                ))
            })
            .collect();
        Ok(BalancedClient {
            client: ClassifierServiceClient::new(channel),
            deadline: config.deadline,
            max_attempts: config.max_attempts,
            backoff,
            serving,
            retries: Arc::new(AtomicU64::new(0)),
            _watchers: Arc::new(Watchers(tasks)),
        })
    }

    /// The endpoints (as URIs) currently SERVING and taking traffic.
    pub fn serving(&self) -> BTreeSet<String> {
        self.serving.borrow().clone()
    }

    /// Waits until at least `count` endpoints are SERVING.
    ///
    /// # Errors
    /// [`ClientError`] when `timeout` passes first.
    pub async fn wait_for_serving(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let mut serving = self.serving.clone();
        let reached = tokio::time::timeout(timeout, async {
            serving.wait_for(|s| s.len() >= count).await.is_ok()
        })
        .await;
        match reached {
            Ok(true) => Ok(()),
            _ => Err(ClientError(format!(
                "{} of {count} endpoints serving after {timeout:?}",
                self.serving.borrow().len()
            ))),
        }
    }

    /// Retries made so far by this client and its clones (attempts after the first).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// `Classify`, with a deadline per attempt and retries of UNAVAILABLE.
    ///
    /// # Errors
    /// The status of the last attempt.
    pub async fn classify(
        &self,
        request: pb::ClassifyRequest,
    ) -> Result<pb::ClassifyResponse, Status> {
        self.call(request, |mut client, request| async move {
            client.classify(request).await
        })
        .await
    }

    /// `ClassifyBatch`, with a deadline per attempt and retries of UNAVAILABLE.
    ///
    /// # Errors
    /// The status of the last attempt.
    pub async fn classify_batch(
        &self,
        request: pb::ClassifyBatchRequest,
    ) -> Result<pb::ClassifyBatchResponse, Status> {
        self.call(request, |mut client, request| async move {
            client.classify_batch(request).await
        })
        .await
    }

    /// Any unary method: `method` is called with a clone of the balanced client and the request
    /// (with its deadline set) for each attempt.
    ///
    /// # Errors
    /// The status of the last attempt.
    pub async fn call<Req, Res, F, Fut>(&self, request: Req, method: F) -> Result<Res, Status>
    where
        Req: Clone,
        F: Fn(ClassifierServiceClient<Channel>, tonic::Request<Req>) -> Fut + Clone,
        Fut: Future<Output = Result<tonic::Response<Res>, Status>>,
    {
        let client = self.client.clone();
        let deadline = self.deadline;
        let attempt = tower::service_fn(move |message: Req| {
            let mut request = tonic::Request::new(message);
            request.set_timeout(deadline);
            let response = method(client.clone(), request);
            async move { response.await.map(tonic::Response::into_inner) }
        });
        let policy = RetryUnavailable {
            attempts_left: self.max_attempts,
            backoff: self.backoff.clone().make_backoff(),
            retries: self.retries.clone(),
        };
        tower::retry::Retry::new(policy, attempt)
            .oneshot(request)
            .await
    }
}

/// `true` for a failure another replica may not have: UNAVAILABLE, or a call lost with its
/// connection (a replica shutting down closes its connections and refuses new streams). tonic
/// reports the latter as CANCELLED or INTERNAL ("h2 protocol error") with a transport error as
/// its source, where grpc-go says UNAVAILABLE. Every rubric call is a pure function of its
/// request, so repeating one is safe. The call's own deadline ("Timeout expired") is not retried.
fn retryable(status: &Status) -> bool {
    if status.code() == Code::Unavailable {
        return true;
    }
    if !matches!(
        status.code(),
        Code::Cancelled | Code::Internal | Code::Unknown
    ) {
        return false;
    }
    let mut transport = false;
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.is::<tonic::TimeoutExpired>() {
            return false;
        }
        transport |= e.is::<tonic::transport::Error>();
        source = e.source();
    }
    transport && !status.message().contains("Timeout expired")
}

/// Retries UNAVAILABLE and calls dropped with their connection ([`retryable`]), with backoff,
/// while attempts are left.
#[derive(Clone)]
struct RetryUnavailable {
    attempts_left: u32,
    backoff: ExponentialBackoff,
    retries: Arc<AtomicU64>,
}

impl<Req: Clone, Res> tower::retry::Policy<Req, Res, Status> for RetryUnavailable {
    type Future = tokio::time::Sleep;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, Status>) -> Option<Self::Future> {
        match result {
            Err(status) if retryable(status) && self.attempts_left > 1 => {
                self.attempts_left -= 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                Some(self.backoff.next_backoff())
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }
}

/// One endpoint's membership of the balancer.
struct Membership {
    key: String,
    endpoint: Endpoint,
    changes: mpsc::Sender<Change<String, Endpoint>>,
    serving: watch::Sender<BTreeSet<String>>,
    in_balancer: bool,
}

impl Membership {
    /// Inserts the endpoint into the balancer, or removes it, if that changes anything.
    ///
    /// The balancer reads its changes when it routes a call; until then the send waits (no
    /// change is dropped, however often the endpoint flaps).
    async fn set(&mut self, up: bool) {
        if up == self.in_balancer {
            return;
        }
        self.in_balancer = up;
        let change = if up {
            Change::Insert(self.key.clone(), self.endpoint.clone())
        } else {
            Change::Remove(self.key.clone())
        };
        // Fails only when the balanced channel is gone, and this watcher with it.
        let _ = self.changes.send(change).await;
        self.serving.send_modify(|s| {
            if up {
                s.insert(self.key.clone());
            } else {
                s.remove(&self.key);
            }
        });
    }
}

/// Keeps one endpoint in the balancer while its health watch says SERVING; reconnects with
/// backoff when the watch ends or fails.
async fn watch_endpoint(
    key: String,
    endpoint: Endpoint,
    changes: mpsc::Sender<Change<String, Endpoint>>,
    serving: watch::Sender<BTreeSet<String>>,
    mut backoff_maker: ExponentialBackoffMaker,
) {
    let mut member = Membership {
        key,
        endpoint,
        changes,
        serving,
        in_balancer: false,
    };
    let mut backoff = backoff_maker.make_backoff();
    loop {
        let watched: Result<(), Status> = async {
            let channel = member
                .endpoint
                .connect()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let mut stream = HealthClient::new(channel)
                .watch(HealthCheckRequest {
                    service: String::new(),
                })
                .await?
                .into_inner();
            while let Some(answer) = stream.message().await? {
                let up = answer.status == ServingStatus::Serving as i32;
                member.set(up).await;
                if up {
                    backoff = backoff_maker.make_backoff();
                }
            }
            Ok(())
        }
        .await;
        if let Err(status) = watched {
            tracing::debug!(
                endpoint = %member.key,
                code = crate::server::code_name(status.code()),
                "health watch failed"
            );
        }
        member.set(false).await;
        backoff.next_backoff().await;
    }
}

/// One `grpc.health.v1.Health/Check` of `service` (`""`: the whole server) on `endpoint`, all
/// within `timeout` (connection included).
///
/// # Errors
/// A one-line reason: the connection failed, the call failed (NOT_FOUND for an unknown
/// service), or the timeout passed.
pub async fn health_status(
    endpoint: Endpoint,
    service: &str,
    timeout: Duration,
) -> Result<ServingStatus, ClientError> {
    let uri = endpoint.uri().to_string();
    let no_answer = || {
        ClientError(format!(
            "no answer from {uri} within {:.3} s",
            timeout.as_secs_f64()
        ))
    };
    let started = std::time::Instant::now();
    let check = async {
        let channel = endpoint
            .connect_timeout(timeout)
            .connect()
            .await
            .map_err(|e| ClientError(format!("cannot connect to {uri}: {}", error_chain(&e))))?;
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: service.to_owned(),
        });
        request.set_timeout(timeout);
        let answer = HealthClient::new(channel)
            .check(request)
            .await
            .map_err(|status| {
                // The call's own deadline (grpc-timeout) and the timer below are the same length;
                // whichever fires first, it is the same event. A call cancelled well before the
                // deadline is something else (a server closing the connection after a TLS
                // handshake it rejected), and is reported as what it is.
                if matches!(
                    status.code(),
                    tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
                ) && started.elapsed() >= timeout.mul_f64(0.9)
                {
                    return no_answer();
                }
                let name = if service.is_empty() {
                    "the server".to_owned()
                } else {
                    format!("`{service}`")
                };
                ClientError(format!(
                    "health check of {name} on {uri} failed: {}: {}{}",
                    crate::server::code_name(status.code()),
                    error_chain(&status),
                    transport_hint(&uri, &status)
                ))
            })?;
        Ok(ServingStatus::try_from(answer.into_inner().status).unwrap_or(ServingStatus::Unknown))
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(result) => result,
        Err(_) => Err(no_answer()),
    }
}

/// An error and its sources on one line (`a: b: c`), for messages.
/// What a failed call's transport error most likely means, for a person reading the health check:
/// over TLS, a connection the server closed right after the handshake is a rejected client
/// certificate (mutual TLS); over plaintext, an HTTP/2 protocol error is a server that speaks TLS.
/// Empty when the status is not a transport failure.
fn transport_hint(uri: &str, status: &tonic::Status) -> &'static str {
    let detail = error_chain(status).to_ascii_lowercase();
    let transport = (status.code() == tonic::Code::Unknown && detail.contains("transport error"))
        || status.code() == tonic::Code::Cancelled;
    if uri.starts_with("https:") && (transport || detail.contains("certificate")) {
        " (the TLS handshake was rejected: the server requires a client certificate it trusts; give --tls-cert and --tls-key)"
    } else if uri.starts_with("http:") && (transport || detail.contains("h2 protocol error")) {
        // A TLS server answers an HTTP/2 preface by closing: the client sees a protocol error, a
        // broken pipe or a reset, whichever comes first.
        " (the connection failed: the server may be serving TLS; use https:// with --tls-ca)"
    } else {
        ""
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// A service failing with `code` on its first `failures` calls, then answering the attempt
    /// number.
    fn flaky(
        failures: u32,
        code: Code,
        calls: Arc<AtomicU32>,
    ) -> impl tower::Service<u32, Response = u32, Error = Status, Future: Send> + Clone {
        tower::service_fn(move |_: u32| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n <= failures {
                    Err(Status::new(code, "flaky"))
                } else {
                    Ok(n)
                }
            }
        })
    }

    fn policy(attempts: u32, retries: &Arc<AtomicU64>) -> RetryUnavailable {
        RetryUnavailable {
            attempts_left: attempts,
            backoff: ExponentialBackoffMaker::new(
                Duration::from_millis(1),
                Duration::from_millis(4),
                1.0,
                HasherRng::default(),
            )
            .unwrap()
            .make_backoff(),
            retries: retries.clone(),
        }
    }

    #[tokio::test]
    async fn unavailable_is_retried_up_to_the_attempt_limit() {
        let (calls, retries) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU64::new(0)));
        let service = flaky(2, Code::Unavailable, calls.clone());
        let answer = tower::retry::Retry::new(policy(3, &retries), service)
            .oneshot(0)
            .await;
        assert_eq!(answer.unwrap(), 3);
        assert_eq!(retries.load(Ordering::SeqCst), 2);

        let (calls, retries) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU64::new(0)));
        let service = flaky(10, Code::Unavailable, calls.clone());
        let answer = tower::retry::Retry::new(policy(4, &retries), service)
            .oneshot(0)
            .await;
        assert_eq!(answer.unwrap_err().code(), Code::Unavailable);
        assert_eq!(calls.load(Ordering::SeqCst), 4, "bounded attempts");
    }

    #[tokio::test]
    async fn other_codes_are_not_retried() {
        // CANCELLED without a transport error under it is the caller's own deadline or
        // cancellation (scale-out CI run: a connection closed under a call is retried instead).
        for code in [
            Code::Cancelled,
            Code::InvalidArgument,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Internal,
        ] {
            let (calls, retries) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU64::new(0)));
            let service = flaky(1, code, calls.clone());
            let answer = tower::retry::Retry::new(policy(5, &retries), service)
                .oneshot(0)
                .await;
            assert_eq!(answer.unwrap_err().code(), code);
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{code:?}");
        }
    }

    #[test]
    fn endpoint_uris() {
        assert_eq!(
            endpoint_uri("10.0.0.1:50051", false),
            "http://10.0.0.1:50051"
        );
        assert_eq!(endpoint_uri("rubric:50051", true), "https://rubric:50051");
        assert_eq!(endpoint_uri("http://a:1", true), "http://a:1");
    }

    #[tokio::test]
    async fn bad_configurations_are_rejected() {
        let mut config = ClientConfig::new(Vec::<String>::new());
        assert!(BalancedClient::connect(config.clone()).is_err());
        config.endpoints = vec!["127.0.0.1:1".to_owned()];
        config.max_attempts = 0;
        assert!(BalancedClient::connect(config.clone()).is_err());
        config.max_attempts = 1;
        config.initial_backoff = Duration::from_secs(2);
        assert!(BalancedClient::connect(config.clone()).is_err());
        config.max_backoff = Duration::from_secs(3);
        assert!(BalancedClient::connect(config).is_ok());
    }
}
