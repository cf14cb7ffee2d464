//! HTTP/JSON beside gRPC on the same listener: the methods' `google.api.http` routes (AIP-127),
//! the browser playground at `/`, and the dispatch between them and gRPC / grpc-web.
//!
//! **Transcoding, not a second implementation.** A request to a route such as
//! `POST /v1/articles:classify` is read as the proto3 JSON of the method's request message
//! (pbjson's `Deserialize`, unknown fields rejected), encoded as protobuf and sent, as a gRPC
//! call, through the same stack a gRPC client goes through: the call layer (token, overload
//! slots, deadlines, metrics with the method label, the failure log) and the same handler. Its
//! answer is turned back: a message into its proto3 JSON (`200`), a status into the JSON form of
//! `google.rpc.Status` (`code`, `message`, `details` with `@type`) under the HTTP status
//! [`crate::error::http_status`] gives its code. This is how grpc-gateway works, in process. The
//! routes are read from the contract by `build.rs` ([`HTTP_RULES`]).
//!
//! **One listener.** gRPC, grpc-web, HTTP/JSON and the playground share the port, the TLS
//! configuration, the connection limits and the drain: one thing to open, secure and operate.
//! Requests are told apart by their content type (`application/grpc*` is gRPC or grpc-web) and
//! then by path.
//!
//! | request | answer |
//! |---|---|
//! | `content-type: application/grpc*` | gRPC (grpc-web through tonic-web) |
//! | a route of [`HTTP_RULES`] with its verb | the method, transcoded |
//! | a route with another verb | `405`, UNIMPLEMENTED, `allow` names the verb |
//! | `GET /`, `GET /playground/NAME` | the playground's files (`src/http/playground/`), embedded |
//! | anything else | `404`, NOT_FOUND |
//!
//! The body of an HTTP/JSON request is read (within the request body timeout, else
//! DEADLINE_EXCEEDED) before the call takes an overload slot, and may be at most the maximum
//! message size (RESOURCE_EXHAUSTED). A GET route's request fields come from the query string
//! (`?view=RULE_SET_VIEW_FULL`). A request without a valid bearer token, when the server requires
//! one, gets UNAUTHENTICATED before its body is read; the playground's files need none.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body_util::BodyExt;
use prost::Message;
use tonic::body::Body;
use tonic::codegen::http::{self, header, HeaderValue, Method, StatusCode};
use tonic::{Code, Status};
use tonic_types::StatusExt;
use tracing::info;

use crate::error::{echo, http_status};
use crate::pb;
use crate::server::{authorize, code_name, Secret, SERVICE_NAME};

/// One method's HTTP route, from its `google.api.http` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpRule {
    /// The method of `rubric.v1.ClassifierService` (`Classify`).
    pub method: &'static str,
    /// The HTTP verb (`GET`, `POST`).
    pub verb: &'static str,
    /// The path (`/v1/articles:classify`), with no variables.
    pub path: &'static str,
    /// `body: "*"`: the request message is the JSON body; otherwise the query string.
    pub body: bool,
}

/// The routes of the contract, in proto order, read from the `google.api.http` options by
/// `build.rs`.
pub const HTTP_RULES: &[HttpRule] = include!(concat!(env!("OUT_DIR"), "/http_routes.rs"));

/// The playground's files (`src/http/playground/`), by file name, embedded by `build.rs`.
pub const PLAYGROUND: &[(&str, &[u8])] =
    include!(concat!(env!("OUT_DIR"), "/playground_assets.rs"));

/// Settings of the HTTP/JSON side.
#[derive(Clone, Debug)]
pub struct HttpLayer {
    /// Largest JSON body, in bytes (the server's maximum message size).
    pub max_body_bytes: usize,
    /// Longest time the body may take to arrive after the headers.
    pub body_timeout: Duration,
    /// The bearer token every API route needs, when set.
    pub token: Option<Secret>,
}

impl<S> tower::Layer<S> for HttpLayer {
    type Service = HttpService<S>;

    fn layer(&self, inner: S) -> HttpService<S> {
        HttpService {
            inner,
            settings: Arc::new(self.clone()),
        }
    }
}

/// The service [`HttpLayer`] makes: HTTP/JSON and the playground, gRPC passed to `inner`.
#[derive(Clone, Debug)]
pub struct HttpService<S> {
    inner: S,
    settings: Arc<HttpLayer>,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S> tower::Service<http::Request<Body>> for HttpService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        if grpc {
            // The service that was polled ready is the one called (tower's clone-and-swap).
            let fresh = self.inner.clone();
            let mut ready = std::mem::replace(&mut self.inner, fresh);
            return Box::pin(async move { ready.call(request).await });
        }
        let path = request.uri().path();
        let response = match HTTP_RULES.iter().find(|r| r.path == path) {
            Some(rule) if request.method().as_str() == rule.verb => {
                let inner = self.inner.clone();
                let settings = self.settings.clone();
                return Box::pin(transcode(inner, settings, *rule, request));
            }
            Some(rule) => {
                let mut response = status_response(&Status::unimplemented(format!(
                    "{path} takes {}, not {}",
                    rule.verb,
                    echo(request.method().as_str())
                )));
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(rule.verb));
                response
            }
            None => match playground_file(request.method(), path) {
                Some(response) => response,
                None => status_response(&Status::not_found(format!(
                    "no route {} {}: the HTTP/JSON routes are {}; gRPC clients send `content-type: application/grpc`",
                    echo(request.method().as_str()),
                    echo(path),
                    HTTP_RULES
                        .iter()
                        .map(|r| format!("{} {}", r.verb, r.path))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
        };
        Box::pin(async move { Ok(response) })
    }
}

/// The playground's file for `GET path`: `/` is `index.html`, `/playground/NAME` the file NAME.
fn playground_file(method: &Method, path: &str) -> Option<http::Response<Body>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let name = if path == "/" {
        "index.html"
    } else {
        path.strip_prefix("/playground/")?
    };
    let (_, bytes) = PLAYGROUND.iter().find(|(n, _)| *n == name)?;
    let content_type = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::new(http_body_util::Full::new(Bytes::from_static(bytes)))
    };
    http::Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        // Everything the page uses comes from this server: nothing from elsewhere may load.
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        )
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(body)
        .ok()
}

/// A JSON answer.
fn json_response(status: u16, json: Vec<u8>) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(http_body_util::Full::new(Bytes::from(json))));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `status` as the JSON form of `google.rpc.Status` under its HTTP status.
/// An UNAUTHENTICATED answer (401) names the scheme to use in `www-authenticate`, as RFC 9110
/// asks of a 401.
pub fn status_response(status: &Status) -> http::Response<Body> {
    let json = serde_json::to_vec(&status_json(status)).unwrap_or_default();
    let mut response = json_response(http_status(status.code()), json);
    if status.code() == Code::Unauthenticated {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The JSON form of `google.rpc.Status`, fields in proto order (serde_json's `Value` would sort
/// them).
#[derive(serde::Serialize)]
struct StatusJson<'a> {
    code: i32,
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<serde_json::Value>,
}

/// The JSON form of `google.rpc.Status` (proto3 JSON mapping: `code` as a number, details as
/// `Any` with `@type`), with the `BadRequest` detail tonic-types decodes from the status, the only
/// detail this server sends.
fn status_json(status: &Status) -> StatusJson<'_> {
    let mut details = Vec::new();
    if let Some(bad) = status.get_error_details().bad_request() {
        let violations: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| serde_json::json!({"field": v.field, "description": v.description}))
            .collect();
        details.push(serde_json::json!({
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }));
    }
    StatusJson {
        code: status.code() as i32,
        message: status.message(),
        details,
    }
}

/// One HTTP/JSON call: check the token, read and decode the request, call the method over the
/// gRPC stack, encode its answer.
async fn transcode<S>(
    inner: S,
    settings: Arc<HttpLayer>,
    rule: HttpRule,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, S::Error>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    let start = Instant::now();
    let grpc_path = format!("/{SERVICE_NAME}/{}", rule.method);
    let refused = |status: Status| {
        info!(path = %echo(&grpc_path), http = rule.path, code = code_name(status.code()), status_message = ?status.message(), "rpc failed");
        crate::metrics::record_call(&grpc_path, status.code(), start.elapsed());
        Ok(status_response(&status))
    };
    if let Err(status) = authorize(settings.token.as_ref(), request.headers()) {
        return refused(status);
    }
    let (parts, body) = request.into_parts();
    let json = if rule.body {
        match read_body(body, &settings).await {
            Ok(bytes) => bytes,
            Err(status) => return refused(status),
        }
    } else {
        match query_json(parts.uri.query().unwrap_or("")) {
            Ok(json) => json,
            Err(status) => return refused(status),
        }
    };
    let Some(codec) = json_codec(rule.method) else {
        return refused(Status::internal(format!(
            "no JSON mapping for {}",
            rule.method
        )));
    };
    let message = match (codec.request)(&json) {
        Ok(message) => message,
        Err(status) => return refused(status),
    };
    // The gRPC request: one length-prefixed, uncompressed message.
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    frame.put_slice(&message);
    let mut call = http::Request::builder()
        .method(Method::POST)
        .uri(grpc_path.as_str())
        .version(http::Version::HTTP_2)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers");
    for name in [header::AUTHORIZATION.as_str(), "grpc-timeout"] {
        if let Some(value) = parts.headers.get(name) {
            call = call.header(name, value);
        }
    }
    let call = match call.body(Body::new(http_body_util::Full::new(frame.freeze()))) {
        Ok(call) => call,
        Err(e) => return refused(Status::internal(format!("cannot build the call: {e}"))),
    };
    let response = tower::ServiceExt::oneshot(inner, call).await?;
    Ok(answer(codec, response).await)
}

/// Reads a JSON body of at most `max_body_bytes` within `body_timeout`.
async fn read_body(body: Body, settings: &HttpLayer) -> Result<Bytes, Status> {
    let limited = http_body_util::Limited::new(body, settings.max_body_bytes);
    match tokio::time::timeout(settings.body_timeout, limited.collect()).await {
        Err(_) => Err(Status::deadline_exceeded(format!(
            "the request body did not arrive within the request body timeout ({} ms)",
            settings.body_timeout.as_millis()
        ))),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Status::resource_exhausted(format!(
                "request body larger than the server's maximum message size ({} bytes, --max-message-bytes): send a smaller article or fewer in one batch",
                settings.max_body_bytes
            )))
        }
        Ok(Err(e)) => Err(Status::invalid_argument(format!(
            "cannot read the request body: {e}"
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// The query string of a GET route as a JSON object of strings (`view=RULE_SET_VIEW_FULL` →
/// `{"view": "RULE_SET_VIEW_FULL"}`), which the proto3 JSON mapping reads for enums, strings and
/// numbers alike.
fn query_json(query: &str) -> Result<Bytes, Status> {
    let mut object = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode(&s.replace('+', " ")).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "query parameter `{}` is not valid percent-encoded UTF-8",
                    echo(key)
                ))
            })
        };
        object.insert(decode(key)?, serde_json::Value::String(decode(value)?));
    }
    Ok(Bytes::from(
        serde_json::to_vec(&serde_json::Value::Object(object)).unwrap_or_default(),
    ))
}

/// `%XX`-decodes `s` as UTF-8; `None` when it is not valid.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// How one method's messages cross between JSON and protobuf.
struct JsonCodec {
    /// The request: proto3 JSON in, protobuf out.
    request: fn(&[u8]) -> Result<Vec<u8>, Status>,
    /// The response: protobuf in, proto3 JSON out.
    response: fn(Bytes) -> Result<Vec<u8>, Status>,
}

/// The one table from method names to their message types.
fn json_codec(method: &str) -> Option<JsonCodec> {
    fn codec<Req, Resp>() -> JsonCodec
    where
        Req: Message + serde::de::DeserializeOwned,
        Resp: Message + Default + serde::Serialize,
    {
        JsonCodec {
            request: request_to_protobuf::<Req>,
            response: response_to_json::<Resp>,
        }
    }
    Some(match method {
        "Classify" => codec::<pb::ClassifyRequest, pb::ClassifyResponse>(),
        "ClassifyBatch" => codec::<pb::ClassifyBatchRequest, pb::ClassifyBatchResponse>(),
        "ListTopics" => codec::<pb::ListTopicsRequest, pb::ListTopicsResponse>(),
        "GetRuleSet" => codec::<pb::GetRuleSetRequest, pb::GetRuleSetResponse>(),
        "CheckRules" => codec::<pb::CheckRulesRequest, pb::CheckRulesResponse>(),
        "ClassifyWithRules" => {
            codec::<pb::ClassifyWithRulesRequest, pb::ClassifyWithRulesResponse>()
        }
        _ => return None,
    })
}

/// Decodes `json` (empty: `{}`) as the request message `M` and encodes it as protobuf; a JSON
/// error is INVALID_ARGUMENT naming the field by its proto path.
fn request_to_protobuf<M: Message + serde::de::DeserializeOwned>(
    json: &[u8],
) -> Result<Vec<u8>, Status> {
    let json = if json.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        json
    };
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let message: M = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            String::new()
        } else {
            snake_path(&path)
        };
        let description = format!("not a valid request in the proto3 JSON mapping: {inner}");
        let mut details = tonic_types::ErrorDetails::new();
        details.add_bad_request_violation(field.clone(), description.clone());
        let message = if field.is_empty() {
            description
        } else {
            format!("{field}: {description}")
        };
        Status::with_error_details(Code::InvalidArgument, message, details)
    })?;
    Ok(message.encode_to_vec())
}

/// Decodes the response message `M` and writes it as proto3 JSON.
fn response_to_json<M: Message + Default + serde::Serialize>(
    message: Bytes,
) -> Result<Vec<u8>, Status> {
    let message = M::decode(message)
        .map_err(|e| Status::internal(format!("cannot decode the answer: {e}")))?;
    serde_json::to_vec(&message)
        .map_err(|e| Status::internal(format!("cannot write the answer as JSON: {e}")))
}

/// A JSON path of the request (`requests[2].article.publishTime`) with the proto field names
/// (`requests[2].article.publish_time`), as the gRPC field violations name fields.
fn snake_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The HTTP answer of a finished gRPC call: its message as JSON, or its status.
async fn answer(codec: JsonCodec, response: http::Response<Body>) -> http::Response<Body> {
    if let Some(status) = Status::from_header_map(response.headers()) {
        if status.code() != Code::Ok {
            return status_response(&status);
        }
    }
    let collected = match response.into_body().collect().await {
        Ok(collected) => collected,
        Err(status) => return status_response(&status),
    };
    if let Some(status) = collected.trailers().and_then(Status::from_header_map) {
        if status.code() != Code::Ok {
            return status_response(&status);
        }
    }
    let mut data = collected.to_bytes();
    if data.len() < 5 || data[0] != 0 {
        return status_response(&Status::internal(
            "the method's answer was not one uncompressed message",
        ));
    }
    data.advance(1);
    let length = data.get_u32() as usize;
    let message = data.slice(..length.min(data.len()));
    match (codec.response)(message) {
        Ok(json) => json_response(200, json),
        Err(status) => status_response(&status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_json_mapping() {
        assert!(HTTP_RULES.len() >= 6, "{HTTP_RULES:?}");
        for rule in HTTP_RULES {
            let json = if rule.body { b"{}".as_slice() } else { b"" };
            let codec = json_codec(rule.method).unwrap_or_else(|| panic!("{rule:?}"));
            // An empty message decodes for every method.
            assert!((codec.request)(json).is_ok(), "{rule:?}");
        }
    }

    #[test]
    fn routes_follow_aip_136_custom_method_naming() {
        let find = |m: &str| HTTP_RULES.iter().find(|r| r.method == m).copied();
        let classify = find("Classify").unwrap();
        assert_eq!(
            (classify.verb, classify.path),
            ("POST", "/v1/articles:classify")
        );
        let topics = find("ListTopics").unwrap();
        assert_eq!(
            (topics.verb, topics.path, topics.body),
            ("GET", "/v1/topics", false)
        );
        assert!(find("ClassifyStream").is_none());
    }

    #[test]
    fn query_strings_become_json_strings() {
        let json = query_json("view=RULE_SET_VIEW_FULL&x=a%20b+c").unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
            serde_json::json!({"view": "RULE_SET_VIEW_FULL", "x": "a b c"})
        );
        assert!(query_json("x=%ff").is_err());
        assert!(query_json("x=%f").is_err());
    }

    #[test]
    fn json_paths_name_proto_fields() {
        assert_eq!(
            snake_path("requests[2].article.publishTime"),
            "requests[2].article.publish_time"
        );
    }
}
