//! The gRPC server: classifier, health, reflection, limits, deadlines and graceful shutdown.
//!
//! [`run`] takes an already-bound listener and a shutdown future, so the caller picks the port
//! (tests use `127.0.0.1:0`) and the signal (the binary uses SIGINT and SIGTERM).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic::{Code, Status};
use tonic_health::ServingStatus;
use tracing::{info, warn};

use crate::error::ServiceError;
use crate::pb::classifier_service_server::ClassifierServiceServer;
use crate::service::{Classifier, Limits, SharedRules};

/// The full name of the classifier service, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "rubric.v1.ClassifierService";

/// Server settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Longest time to wait, after the shutdown signal, for calls in flight to finish; then the
    /// server stops anyway, closing what is still open (idle connections included).
    pub drain_timeout: Duration,
    /// Largest request or response message, in bytes; a larger request gets RESOURCE_EXHAUSTED, on
    /// unary and streaming methods alike, and a response that would be larger fails with
    /// OUT_OF_RANGE (tonic's code for an encode limit).
    pub max_message_bytes: usize,
    /// Largest article (title + body, UTF-8 bytes) and batch size: INVALID_ARGUMENT beyond them.
    pub limits: Limits,
    /// Calls being handled at once, over all connections; a call beyond it is shed at once with
    /// RESOURCE_EXHAUSTED (never queued). Health checks and reflection are not counted.
    pub max_concurrent_calls: usize,
    /// HTTP/2 streams one connection may have open at once (the client waits for a free one).
    pub max_concurrent_streams: u32,
    /// Longest time a call may take on the server; the client's `grpc-timeout` can only shorten
    /// it. DEADLINE_EXCEEDED beyond it.
    pub request_timeout: Duration,
    /// Interval of HTTP/2 keepalive pings on idle connections, and how long to wait for the
    /// answer before closing the connection.
    pub keepalive_interval: Duration,
    /// See `keepalive_interval`.
    pub keepalive_timeout: Duration,
    /// Connections are closed (GOAWAY, then a grace period for calls in flight) after this age,
    /// so that clients reconnect and re-balance over replicas.
    pub max_connection_age: Duration,
    /// Grace period after `max_connection_age` for calls in flight.
    pub max_connection_age_grace: Duration,
    /// Serve TLS (rustls) instead of plaintext; with a client CA, mutual TLS.
    pub tls: Option<TlsConfig>,
    /// When set, every call except `grpc.health.v1.Health` must carry
    /// `authorization: Bearer <token>`; others get UNAUTHENTICATED.
    pub auth_token: Option<Secret>,
}

/// PEM-encoded TLS material, read from files at startup.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// The server's private key (PEM).
    pub key_pem: Vec<u8>,
    /// CA certificates (PEM) that client certificates must chain to; `Some` requires clients to
    /// present one (mutual TLS).
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// A secret string: compared in constant time, never printed (`Debug` shows `<redacted>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret; surrounding white space (a trailing newline in a file) is removed.
    pub fn new(value: &str) -> Secret {
        Secret(Arc::from(value.trim()))
    }

    /// Whether `candidate` equals the secret, in time independent of where they differ
    /// (`subtle`).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(candidate).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            drain_timeout: Duration::from_secs(10),
            max_message_bytes: 4 * 1024 * 1024,
            limits: Limits::default(),
            max_concurrent_calls: 256,
            max_concurrent_streams: 100,
            request_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_connection_age: Duration::from_secs(30 * 60),
            max_connection_age_grace: Duration::from_secs(30),
            tls: None,
            auth_token: None,
        }
    }
}

/// Why the server stopped with an error.
#[derive(Debug)]
pub struct ServerError(String);

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServerError {}

/// Serves `rules` on `listener` until `shutdown` completes, then drains.
///
/// Services: `rubric.v1.ClassifierService`, `grpc.health.v1.Health` (SERVING for `""` and for
/// [`SERVICE_NAME`] from the start, since the rules are compiled before this is called;
/// NOT_SERVING once shutdown begins; NOT_FOUND for other names), and gRPC reflection v1 and
/// v1alpha with the descriptors of the classifier, health and `google.rpc` error details.
///
/// Shutdown: health turns NOT_SERVING, the listener stops accepting, HTTP/2 connections get
/// GOAWAY so calls in flight finish; after [`ServerConfig::drain_timeout`] the server returns
/// regardless (a connection that never sent a request cannot hold it up).
///
/// # Errors
/// [`ServerError`] if the reflection service cannot be built or the transport fails.
pub async fn run(
    listener: TcpListener,
    rules: SharedRules,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let (mut health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<ClassifierServiceServer<Classifier>>()
        .await;
    health.set_service_status("", ServingStatus::Serving).await;

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            // Each reflection version lists both, so clients of either see the whole server.
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| ServerError(format!("cannot build reflection v1: {e}")))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| ServerError(format!("cannot build reflection v1alpha: {e}")))?;

    let classifier = ClassifierServiceServer::new(Classifier::new(rules, config.limits))
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd);

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut builder = Server::builder();
    if let Some(tls) = &config.tls {
        let mut tls_config = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(&tls.cert_pem, &tls.key_pem),
        );
        if let Some(ca) = &tls.client_ca_pem {
            tls_config = tls_config.client_ca_root(tonic::transport::Certificate::from_pem(ca));
        }
        builder = builder
            .tls_config(tls_config)
            .map_err(|e| ServerError(format!("invalid TLS configuration: {e}")))?;
    }
    let serve = builder
        .max_concurrent_streams(config.max_concurrent_streams)
        .http2_keepalive_interval(Some(config.keepalive_interval))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_connection_age(config.max_connection_age)
        .max_connection_age_grace(config.max_connection_age_grace)
        .layer(CallLayer {
            calls: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_calls)),
            request_timeout: config.request_timeout,
            token: config.auth_token.clone(),
        })
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(classifier)
        // TCP_NODELAY: a response is written as several small writes (headers, data, trailers);
        // with Nagle's algorithm on, the client's delayed ACK holds them ~40 ms.
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async {
                let _ = stop_rx.await;
            },
        );
    tokio::pin!(serve);

    tokio::select! {
        result = &mut serve => {
            return result.map_err(|e| ServerError(format!("transport error: {e}")));
        }
        () = shutdown => {}
    }

    info!(
        drain_timeout_ms = config.drain_timeout.as_millis() as u64,
        "shutting down"
    );
    health
        .set_not_serving::<ClassifierServiceServer<Classifier>>()
        .await;
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    // Watchers have been sent NOT_SERVING; removing the entries ends their Watch streams, so an
    // open health watch (load balancers keep one) does not hold the drain up.
    health.clear_service_status(SERVICE_NAME).await;
    health.clear_service_status("").await;
    let _ = stop_tx.send(());
    match tokio::time::timeout(config.drain_timeout, &mut serve).await {
        Ok(result) => {
            info!("stopped");
            result.map_err(|e| ServerError(format!("transport error: {e}")))
        }
        Err(_) => {
            warn!(
                drain_timeout_ms = config.drain_timeout.as_millis() as u64,
                "drain timeout passed; closing the connections and calls still open"
            );
            info!("stopped");
            Ok(())
        }
    }
}

/// Cross-cutting work on every call, outside the handlers:
///
/// - **Deadlines.** tonic enforces the client's `grpc-timeout` itself but answers CANCELLED
///   ("Timeout expired"). This layer sits inside tonic's and fires 1 ms earlier, so the client gets
///   DEADLINE_EXCEEDED, the code the gRPC spec prescribes. tonic polls the inner future before its
///   own timer, so when both are due, this answer wins. The handler's future is dropped, which the
///   handler logs as a cancellation.
/// - **Size limits.** tonic answers a request over the maximum message size with OUT_OF_RANGE;
///   gRPC's status code spec (doc/statuscodes.md) prescribes RESOURCE_EXHAUSTED for "sent or
///   received message was larger than configured limit", so this layer rewrites it (the streaming
///   handler does the same for a message inside a stream).
/// - **Failure log.** Every call that ends with an error before any response message (all unary
///   errors, including those tonic produces before a handler runs: size limits, undecodable
///   requests, unknown methods) is logged once, with its path and canonical code.
/// - **Overload.** At most `max_concurrent_calls` classifier calls run at once (an open stream
///   counts until it ends); one more is shed
///   at once with RESOURCE_EXHAUSTED instead of waiting in a queue. Health and reflection calls
///   are not counted, so probes keep answering under load.
/// - **Server timeout.** No unary call runs longer than `request_timeout` (DEADLINE_EXCEEDED). For
///   a stream it bounds the time to the response headers only: a pipeline's `ClassifyStream` is
///   meant to stay open; the client's deadline ends it.
/// - **Authentication.** With a token, every call but health checks (so probes work) needs
///   `authorization: Bearer <token>`, compared in constant time; UNAUTHENTICATED otherwise.
#[derive(Clone, Debug)]
pub struct CallLayer {
    calls: Arc<tokio::sync::Semaphore>,
    request_timeout: Duration,
    token: Option<Secret>,
}

impl<S> tower::Layer<S> for CallLayer {
    type Service = Call<S>;

    fn layer(&self, inner: S) -> Call<S> {
        Call {
            inner,
            calls: self.calls.clone(),
            request_timeout: self.request_timeout,
            token: self.token.clone(),
        }
    }
}

/// The service [`CallLayer`] makes.
#[derive(Clone, Debug)]
pub struct Call<S> {
    inner: S,
    calls: Arc<tokio::sync::Semaphore>,
    request_timeout: Duration,
    token: Option<Secret>,
}

/// How much earlier than tonic's own timer this layer answers.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1);

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B> tower::Service<http::Request<B>> for Call<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let client_timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let timeout =
            Some(client_timeout.map_or(self.request_timeout, |t| t.min(self.request_timeout)));
        let path = Arc::<str>::from(request.uri().path());
        let start = Instant::now();
        if let Some(token) = &self.token {
            let presented = request
                .headers()
                .get("authorization")
                .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
            let open = path.starts_with("/grpc.health.v1.Health/");
            if !open && !presented.is_some_and(|p| token.matches(p)) {
                info!(path = %path, code = "UNAUTHENTICATED", "rpc failed");
                crate::metrics::record_call(&path, Code::Unauthenticated, start.elapsed());
                let status = Status::unauthenticated(
                    "missing or invalid bearer token: send the header `authorization: Bearer <token>`",
                );
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let permit = if path.starts_with(&format!("/{SERVICE_NAME}/")) {
            match self.calls.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    info!(path = %path, code = "RESOURCE_EXHAUSTED", message = "overloaded; call shed", "rpc failed");
                    crate::metrics::record_call(&path, Code::ResourceExhausted, start.elapsed());
                    let status = Status::resource_exhausted(
                        "server overloaded: too many calls at once; retry with backoff",
                    );
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        } else {
            None
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = match timeout {
                None => future.await?,
                Some(timeout) => {
                    match tokio::time::timeout(timeout.saturating_sub(DEADLINE_MARGIN), future)
                        .await
                    {
                        Ok(result) => result?,
                        Err(_) => {
                            tracing::debug!(path = %path, timeout_ms = timeout.as_millis() as u64, "deadline exceeded; call cancelled");
                            Status::from(ServiceError::DeadlineExceeded).into_http()
                        }
                    }
                }
            };
            if let Some(status) = Status::from_header_map(response.headers()) {
                // Trailers-only response: the call ended here.
                let code = crate::error::wire_code(&status);
                if code != status.code() {
                    response
                        .headers_mut()
                        .insert("grpc-status", http::HeaderValue::from(code as i32));
                }
                if code != Code::Ok {
                    info!(path = %path, code = code_name(code), message = ?status.message(), "rpc failed");
                }
                crate::metrics::record_call(&path, code, start.elapsed());
                return Ok(response);
            }
            // The status comes in the trailers, after the messages: observe the body.
            let response = response.map(|body| {
                tonic::body::Body::new(ObservedBody {
                    inner: body,
                    path,
                    start,
                    recorded: false,
                    _permit: permit,
                })
            });
            Ok(response)
        })
    }
}

/// A response body that records the call's status when its trailers pass (or CANCELLED when the
/// body is dropped before them: the client went away).
struct ObservedBody {
    inner: tonic::body::Body,
    path: Arc<str>,
    start: Instant,
    recorded: bool,
    /// The call's slot of `max_concurrent_calls`, held until the body ends, so an open stream
    /// counts as a call in progress.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl http_body::Body for ObservedBody {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(trailers) = frame.trailers_ref() {
                let code = Status::from_header_map(trailers).map_or(Code::Ok, |s| s.code());
                if code != Code::Ok {
                    info!(path = %self.path, code = code_name(code), "rpc failed");
                }
                crate::metrics::record_call(&self.path, code, self.start.elapsed());
                self.recorded = true;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        if !self.recorded {
            crate::metrics::record_call(&self.path, Code::Cancelled, self.start.elapsed());
        }
    }
}

/// The canonical name of a gRPC status code (`INVALID_ARGUMENT`), as in the gRPC spec.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Parses a `grpc-timeout` header value: 1 to 8 digits and a unit (`H M S m u n`), per the gRPC
/// HTTP/2 protocol spec.
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let unit_at = value.len().checked_sub(1)?;
    if !value.is_char_boundary(unit_at) {
        return None;
    }
    let (digits, unit) = value.split_at(unit_at);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout("123456789m"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout(""), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
        assert_eq!(parse_grpc_timeout("1é"), None);
    }
}
