//! The gRPC server: classifier, health, reflection, limits, deadlines and graceful shutdown.
//!
//! [`run`] takes an already-bound listener and a shutdown future, so the caller picks the port
//! (tests use `127.0.0.1:0`) and the signal (the binary uses SIGINT and SIGTERM).

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tonic::codec::CompressionEncoding;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic::{Code, Status};
use tonic_health::ServingStatus;
use tracing::{debug, info, warn};

use crate::error::{echo, request_cardinality, Cardinality, ServiceError};
use crate::pb::classifier_service_server::ClassifierServiceServer;
use crate::service::{Classifier, Limits, SharedRules};

mod accept;
mod slots;

pub use accept::open_files_limit;

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
    /// Classifier requests being handled at once, over all connections (see [`CallLayer`]): a
    /// unary call counts from the moment its whole request has arrived until it is answered, a
    /// `ClassifyStream` message while it is classified. A unary call beyond it is shed at once
    /// with RESOURCE_EXHAUSTED (never queued); a stream message waits for a slot. Health checks and
    /// reflection are not counted.
    pub max_concurrent_calls: usize,
    /// HTTP/2 streams one connection may have open at once (the client waits for a free one).
    pub max_concurrent_streams: u32,
    /// Longest time a call may take on the server; the client's `grpc-timeout` can only shorten
    /// it. DEADLINE_EXCEEDED beyond it.
    pub request_timeout: Duration,
    /// Longest time the request of a unary call may take to arrive after its headers, and the
    /// rest of a `ClassifyStream` message after its first byte: DEADLINE_EXCEEDED beyond it. A
    /// call waiting for its request holds no concurrency slot.
    pub request_body_timeout: Duration,
    /// Longest time a new connection may take, from being accepted, to complete its TLS
    /// handshake (with TLS) and send the HTTP/2 client preface; it is closed otherwise.
    pub handshake_timeout: Duration,
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
    /// `CheckRules` and `ClassifyWithRules`: whether they are served, and their limits.
    pub rule_editing: crate::service::RuleEditing,
    /// Origins (`https://app.example.com`) whose browser pages may call the API (HTTP/JSON and
    /// grpc-web) across origins (CORS); empty: none, only same-origin pages such as the
    /// playground.
    pub cors_allow_origins: Vec<String>,
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
            request_body_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            max_connection_age: Duration::from_secs(30 * 60),
            max_connection_age_grace: Duration::from_secs(30),
            tls: None,
            auth_token: None,
            rule_editing: crate::service::RuleEditing::default(),
            cors_allow_origins: Vec::new(),
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
/// v1alpha with the descriptors of the classifier, health and `google.rpc` error details. On the
/// same listener: grpc-web (tonic-web), the classifier's HTTP/JSON routes and the browser
/// playground at `/` ([`crate::http`]); HTTP/1.1 is accepted for them.
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

    let classifier = ClassifierServiceServer::new(
        Classifier::new(rules, config.limits).with_rule_editing(config.rule_editing),
    )
    .max_decoding_message_size(config.max_message_bytes)
    .max_encoding_message_size(config.max_message_bytes)
    .accept_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Zstd)
    .send_compressed(CompressionEncoding::Gzip)
    .send_compressed(CompressionEncoding::Zstd);

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let acceptor = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let cors = cors_layer(&config.cors_allow_origins)?;
    let router = Server::builder()
        // HTTP/1.1 for curl, browsers and grpc-web; HTTP/2 for gRPC (and anyone who asks).
        .accept_http1(true)
        .max_concurrent_streams(config.max_concurrent_streams)
        .http2_keepalive_interval(Some(config.keepalive_interval))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_connection_age(config.max_connection_age)
        .max_connection_age_grace(config.max_connection_age_grace)
        // Outermost: CORS preflights and headers, when origins are allowed; then HTTP/JSON and
        // the playground (module `http`); gRPC goes on inside.
        .layer(tower::util::option_layer(cors))
        // HTTP compression (`content-encoding`, `accept-encoding`: gzip, zstd) for HTTP/JSON and
        // the playground's files; gRPC and grpc-web compress messages themselves, and the
        // compression layer leaves `application/grpc*` answers alone.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(tower_http::map_request_body::MapRequestBodyLayer::new(
            tonic::body::Body::new,
        ))
        .layer(crate::http::HttpLayer {
            max_body_bytes: config.max_message_bytes,
            body_timeout: config.request_body_timeout,
            token: config.auth_token.clone(),
        })
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(CallLayer {
            slots: slots::Slots::new(
                config.max_concurrent_calls,
                config.request_body_timeout,
                config.max_message_bytes,
            ),
            request_timeout: config.request_timeout,
            token: config.auth_token.clone(),
            single_request: Arc::new(single_request_paths()),
        })
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(classifier);
    let stopped = async {
        let _ = stop_rx.await;
    };
    // Connections are accepted by `accept` (backoff when out of descriptors, TCP_NODELAY, the
    // handshake deadline).
    let mut serve: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
        match acceptor {
            None => Box::pin(router.serve_with_incoming_shutdown(
                accept::plain_incoming(listener, config.handshake_timeout),
                stopped,
            )),
            Some(acceptor) => Box::pin(router.serve_with_incoming_shutdown(
                tls_incoming(listener, acceptor, config.handshake_timeout),
                stopped,
            )),
        };

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

/// The CORS layer for `origins` (none when empty): GET and POST from those origins, with the
/// headers gRPC-web and the API use, exposing the gRPC status headers.
fn cors_layer(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, ServerError> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| {
            http::HeaderValue::from_str(o.trim_end_matches('/')).map_err(|_| {
                ServerError(format!(
                    "invalid CORS origin {o:?}: write it as https://host[:port]"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = http::HeaderName::from_static;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([http::Method::GET, http::Method::POST])
            .allow_headers([
                http::header::AUTHORIZATION,
                http::header::CONTENT_TYPE,
                header("grpc-timeout"),
                header("x-grpc-web"),
                header("x-user-agent"),
            ])
            .expose_headers([
                header("grpc-status"),
                header("grpc-message"),
                header("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(600)),
    ))
}

/// The rustls acceptor of `tls` (ring provider; ALPN `h2`; with a client CA, client certificates
/// are required and verified).
fn tls_acceptor(tls: &TlsConfig) -> Result<tokio_rustls::TlsAcceptor, ServerError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        ServerError(format!("invalid TLS configuration: {what}: {e}"))
    };
    let certs = |pem: &[u8], what: &str| {
        CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(what, &e))
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("protocol versions", &e))?;
    let builder = match &tls.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(certs(ca, "client CA")?);
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| invalid("client CA", &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let key = PrivateKeyDer::from_pem_slice(&tls.key_pem).map_err(|e| invalid("key", &e))?;
    let mut config = builder
        .with_single_cert(certs(&tls.cert_pem, "certificate")?, key)
        .map_err(|e| invalid("certificate and key", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// The connections of `listener` (accepted by [`accept::Acceptor`]) after their TLS handshake.
/// Each handshake runs in its own task (a slow client holds up no one); the TLS handshake and then
/// the HTTP/2 preface must be done within `handshake_timeout` of the accept
/// ([`accept::Handshake`]). A failed handshake is logged at debug with the peer's address and the
/// reason (a client without a valid certificate, a plaintext client, a port scanner). The
/// listener closes when the server stops taking connections (the stream is dropped).
fn tls_incoming(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    handshake_timeout: Duration,
) -> impl tokio_stream::Stream<Item = Result<accept::Handshake<TlsStream>, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut listener = accept::Acceptor::new(listener);
        loop {
            let (tcp, peer) = tokio::select! {
                () = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let deadline = tokio::time::Instant::now() + handshake_timeout;
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match tokio::time::timeout_at(deadline, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(accept::Handshake::new(stream, deadline))).await;
                    }
                    Ok(Err(e)) => log_failed_handshake(peer, &e),
                    Err(_) => log_failed_handshake(
                        peer,
                        &format!(
                            "not completed within the handshake timeout ({handshake_timeout:?})"
                        ),
                    ),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

fn log_failed_handshake(peer: SocketAddr, error: &dyn std::fmt::Display) {
    debug!(peer = %peer, error = %error, "TLS handshake failed");
}

/// The paths (`/package.Service/Method`) of the methods served whose request is one message
/// (unary and server-streaming), read from the descriptors: [`CallLayer`] holds their calls to
/// exactly one request message.
fn single_request_paths() -> HashSet<String> {
    use prost::Message;
    let mut paths = HashSet::new();
    for encoded in [
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(encoded) else {
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    if !method.client_streaming() {
                        paths.insert(format!(
                            "/{}.{}/{}",
                            file.package(),
                            service.name(),
                            method.name()
                        ));
                    }
                }
            }
        }
    }
    paths
}

/// Cross-cutting work on every call, outside the handlers:
///
/// - **Deadlines.** tonic enforces the client's `grpc-timeout` itself but answers CANCELLED
///   ("Timeout expired"). This layer sits inside tonic's and fires 1 ms earlier, so the client gets
///   DEADLINE_EXCEEDED, the code the gRPC spec prescribes. tonic polls the inner future before its
///   own timer, so when both are due, this answer wins. The handler's future is dropped, which the
///   handler logs as a cancellation.
/// - **Statuses of the stack.** Every status the server sends (trailers-only responses and
///   trailers) goes through [`crate::error::wire_status`]: tonic's OUT_OF_RANGE for a request over
///   the maximum message size becomes RESOURCE_EXHAUSTED, as gRPC's status code spec
///   (doc/statuscodes.md) prescribes, and size-limit messages say request or response, the limit
///   and what helps; any overlong message is cut.
/// - **One request message.** tonic reads the first message of a unary call and silently drops
///   any others; this layer counts the messages of every call whose method takes one (unary and
///   server-streaming, read from the descriptors) and fails the call with UNIMPLEMENTED
///   ([`crate::error::request_cardinality`]) as soon as a second one starts, or when none came.
/// - **Failure log.** Every call that ends with an error before any response message (all unary
///   errors, including those tonic produces before a handler runs: size limits, undecodable
///   requests, unknown methods) is logged once, with its path and canonical code.
/// - **Overload.** At most `max_concurrent_calls` classifier requests are handled at once, each
///   counted only while there is work to do (module `slots`): a unary call from the moment its whole
///   request has arrived (within `request_body_timeout`, else DEADLINE_EXCEEDED) until it is
///   answered, a `ClassifyStream` message while it is classified. So calls that stall before
///   their request, idle streams and clients that do not read their responses hold no slot. A
///   unary call beyond the limit is shed at once with RESOURCE_EXHAUSTED instead of waiting in a
///   queue; a stream message waits for a slot. Health and reflection calls are not counted, so
///   probes keep answering under load.
/// - **Server timeout.** No unary call runs longer than `request_timeout` (DEADLINE_EXCEEDED). For
///   a stream it bounds the time to the response headers only: a pipeline's `ClassifyStream` is
///   meant to stay open; the client's deadline ends it.
/// - **Authentication.** With a token, every call but health checks (so probes work) needs
///   `authorization: Bearer <token>` (the scheme in any case, RFC 7235), the token compared in
///   constant time; UNAUTHENTICATED otherwise.
#[derive(Clone, Debug)]
pub struct CallLayer {
    slots: slots::Slots,
    request_timeout: Duration,
    token: Option<Secret>,
    /// Paths of the methods that take exactly one request message.
    single_request: Arc<HashSet<String>>,
}

impl<S> tower::Layer<S> for CallLayer {
    type Service = Call<S>;

    fn layer(&self, inner: S) -> Call<S> {
        Call {
            inner,
            slots: self.slots.clone(),
            request_timeout: self.request_timeout,
            token: self.token.clone(),
            single_request: self.single_request.clone(),
        }
    }
}

/// The service [`CallLayer`] makes.
#[derive(Clone, Debug)]
pub struct Call<S> {
    inner: S,
    slots: slots::Slots,
    request_timeout: Duration,
    token: Option<Secret>,
    single_request: Arc<HashSet<String>>,
}

/// The token of an `authorization` header value with the `Bearer` scheme, in any case (RFC 7235:
/// the scheme is case-insensitive; one or more spaces before the token).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    if value.len() <= SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let rest = &value[SCHEME.len()..];
    let token_at = rest.iter().position(|&b| b != b' ')?;
    (token_at > 0).then(|| &rest[token_at..])
}

/// Whether `headers` carry `authorization: Bearer <token>` with the server's token (always, when
/// the server has none); UNAUTHENTICATED, saying what to send, otherwise. The one check of the
/// gRPC call layer and of the HTTP/JSON routes.
pub(crate) fn authorize(token: Option<&Secret>, headers: &http::HeaderMap) -> Result<(), Status> {
    let Some(token) = token else {
        return Ok(());
    };
    let presented = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    if presented.is_some_and(|p| token.matches(p)) {
        Ok(())
    } else {
        Err(Status::unauthenticated(
            "missing or invalid bearer token: send the header `authorization: Bearer <token>`",
        ))
    }
}

/// How much earlier than tonic's own timer this layer answers.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1);

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower::Service<http::Request<tonic::body::Body>> for Call<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let client_timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let timeout =
            Some(client_timeout.map_or(self.request_timeout, |t| t.min(self.request_timeout)));
        let path = Arc::<str>::from(request.uri().path());
        let start = Instant::now();
        let open = path.starts_with("/grpc.health.v1.Health/");
        if let (false, Err(status)) = (open, authorize(self.token.as_ref(), request.headers())) {
            info!(path = %echo(&path), code = "UNAUTHENTICATED", "rpc failed");
            crate::metrics::record_call(&path, Code::Unauthenticated, start.elapsed());
            return Box::pin(async move { Ok(status.into_http()) });
        }
        // The slot is taken once there is work to do (see `slots`); a call refused there (shed,
        // or its request too slow to arrive) is answered trailers-only, logged and counted below.
        let one_message = self.single_request.contains(&*path);
        let admission = self.slots.admission(&path, one_message);
        let request = if one_message {
            request.map(|body| {
                tonic::body::Body::new(SingleMessageBody {
                    inner: body,
                    path: path.clone(),
                    header: 0,
                    payload: 0,
                    messages: 0,
                    done: false,
                })
            })
        } else {
            request
        };
        // The service that was polled ready is the one called (tower's clone-and-swap).
        let fresh = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, fresh);
        let future = slots::admitted(admission, request, ready);
        Box::pin(async move {
            let mut response = match timeout {
                None => future.await?,
                Some(timeout) => {
                    match tokio::time::timeout(timeout.saturating_sub(DEADLINE_MARGIN), future)
                        .await
                    {
                        Ok(result) => result?,
                        Err(_) => {
                            tracing::debug!(path = %echo(&path), timeout_ms = timeout.as_millis() as u64, "deadline exceeded; call cancelled");
                            Status::from(ServiceError::DeadlineExceeded).into_http()
                        }
                    }
                }
            };
            if let Some(status) = crate::error::rewrite_status_headers(response.headers_mut()) {
                // Trailers-only response: the call ended here.
                let code = status.code();
                if code != Code::Ok {
                    info!(path = %echo(&path), code = code_name(code), status_message = ?status.message(), "rpc failed");
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
}

impl http_body::Body for ObservedBody {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let Poll::Ready(Some(Ok(frame))) = polled else {
            return polled;
        };
        if !frame.is_trailers() {
            return Poll::Ready(Some(Ok(frame)));
        }
        let mut trailers = frame.into_trailers().unwrap_or_default();
        let status = crate::error::rewrite_status_headers(&mut trailers);
        let code = status.as_ref().map_or(Code::Ok, Status::code);
        if code != Code::Ok {
            let message = status.as_ref().map_or("", Status::message);
            info!(path = %echo(&self.path), code = code_name(code), status_message = ?message, "rpc failed");
        }
        crate::metrics::record_call(&self.path, code, self.start.elapsed());
        self.recorded = true;
        Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The request body of a call whose method takes one message: passes the bytes through, parsing
/// the gRPC framing (a flag byte, a 4-byte length, the message) only to count messages, and fails
/// with [`request_cardinality`] as soon as a second message starts, or when the body ends with
/// none. tonic sees the failure as the call's status.
struct SingleMessageBody {
    inner: tonic::body::Body,
    path: Arc<str>,
    /// Bytes of the current message's 5-byte header seen so far (0 between messages).
    header: usize,
    /// Bytes of the current message's payload still to come.
    payload: u64,
    /// Messages started.
    messages: usize,
    /// The failure was returned: the body ends.
    done: bool,
}

impl SingleMessageBody {
    /// Counts the messages starting in `data`; the length bytes of a header are read as they pass.
    fn count(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while let Some((&byte, rest)) = data.split_first() {
            if self.header == 0 && self.payload > 0 {
                // Inside a message: skip its payload.
                let n = data
                    .len()
                    .min(usize::try_from(self.payload).unwrap_or(usize::MAX));
                self.payload -= n as u64;
                data = &data[n..];
                continue;
            }
            if self.header == 0 {
                self.messages += 1;
                if self.messages > 1 {
                    return Err(request_cardinality(&self.path, Cardinality::Several));
                }
            } else {
                // Bytes 1 to 4 of the header: the payload length, big-endian.
                self.payload = (self.payload << 8) | u64::from(byte);
            }
            self.header = (self.header + 1) % 5;
            data = rest;
        }
        Ok(())
    }
}

impl http_body::Body for SingleMessageBody {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let failure = match &polled {
            Poll::Ready(Some(Ok(frame))) => match frame.data_ref() {
                Some(data) => {
                    let data = data.clone();
                    self.count(&data).err()
                }
                None => None,
            },
            Poll::Ready(None) if self.messages == 0 => {
                Some(request_cardinality(&self.path, Cardinality::None))
            }
            _ => None,
        };
        match failure {
            Some(status) => {
                self.done = true;
                Poll::Ready(Some(Err(status)))
            }
            None => polled,
        }
    }

    fn is_end_stream(&self) -> bool {
        // Reported at the end (a body with no message at all fails there): never say "done"
        // early, so the end is polled.
        self.done || (self.messages > 0 && self.inner.is_end_stream())
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
    fn bearer_scheme_in_any_case() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"BEARER   abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"abc"), None);
    }

    fn counting(path: &str) -> SingleMessageBody {
        SingleMessageBody {
            inner: tonic::body::Body::empty(),
            path: Arc::from(path),
            header: 0,
            payload: 0,
            messages: 0,
            done: false,
        }
    }

    #[test]
    fn request_messages_are_counted_across_chunks() {
        let frame = |len: u32| {
            let mut f = vec![0u8];
            f.extend_from_slice(&len.to_be_bytes());
            f.extend(std::iter::repeat_n(7u8, len as usize));
            f
        };
        // One message of 300 bytes, split anywhere, is one message.
        let one = frame(300);
        for split in [1, 3, 5, 6, 200, 305] {
            let mut body = counting("/rubric.v1.ClassifierService/Classify");
            body.count(&one[..split]).unwrap();
            body.count(&one[split..]).unwrap();
            assert_eq!(body.messages, 1, "split at {split}");
        }
        // An empty message, then another: the second is refused.
        let mut two = frame(0);
        two.extend(frame(2));
        let status = counting("/rubric.v1.ClassifierService/Classify")
            .count(&two)
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert!(status.message().contains("Classify"), "{status:?}");
        // A second message's first byte in its own chunk is enough.
        let mut body = counting("/p/M");
        body.count(&frame(70_000)).unwrap();
        assert!(body.count(&[0]).is_err());
    }

    #[test]
    fn single_request_methods_come_from_the_descriptors() {
        let paths = single_request_paths();
        for unary in ["Classify", "ClassifyBatch", "ListTopics", "GetRuleSet"] {
            assert!(
                paths.contains(&format!("/{SERVICE_NAME}/{unary}")),
                "{unary}"
            );
        }
        assert!(paths.contains("/grpc.health.v1.Health/Check"));
        assert!(paths.contains("/grpc.health.v1.Health/Watch"));
        assert!(!paths.contains(&format!("/{SERVICE_NAME}/ClassifyStream")));
    }

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
