//! The one table from service errors to gRPC status codes.
//!
//! | error | code | details |
//! |---|---|---|
//! | [`ServiceError::InvalidArgument`] | `INVALID_ARGUMENT` | `google.rpc.BadRequest`, one field violation per problem (at most [`MAX_FIELD_VIOLATIONS`]); the message names the first and counts the rest |
//! | [`ServiceError::DeadlineExceeded`] | `DEADLINE_EXCEEDED` | none |
//! | [`ServiceError::CompileTimeout`] | `DEADLINE_EXCEEDED` | none; the message names the limit |
//! | [`ServiceError::Busy`] | `RESOURCE_EXHAUSTED` | none; the message says what is busy and to retry |
//! | [`ServiceError::Disabled`] | `UNIMPLEMENTED` | none; the message says which switch turns it on |
//! | [`ServiceError::Internal`] | `INTERNAL` | none: the cause is logged, the client sees "internal error" |
//!
//! Over HTTP/JSON (module `http`), a status is sent as the JSON form of `google.rpc.Status` under
//! the HTTP status that [`http_status`] gives its code, the table of `google/rpc/code.proto`.
//!
//! Statuses the gRPC stack (tonic) produces around the handlers are rewritten by [`wire_status`]
//! (the call layer of [`crate::server`] applies it to every status the server sends):
//!
//! | situation | tonic says | the client gets |
//! |---|---|---|
//! | request message over `--max-message-bytes` (or decompressing to more) | `OUT_OF_RANGE` "decoded message length too large" | `RESOURCE_EXHAUSTED`, as gRPC's status code spec prescribes, naming the request, the limit and `--max-message-bytes` |
//! | response message over `--max-message-bytes` | `OUT_OF_RANGE` "encoded message length too large" | `OUT_OF_RANGE` (kept), naming the response, the limit, `omit_evidence`, `topics` and `--max-message-bytes` |
//! | a unary method (one request message) gets none or several | `INTERNAL` "Missing request message.", or the extra messages ignored | `UNIMPLEMENTED` ([`request_cardinality`]), as gRPC's status code spec prescribes for a request cardinality violation |
//!
//! Other codes the stack produces are documented in the `.proto`: `INTERNAL` for bytes that are
//! not valid protobuf, `UNAVAILABLE` while the server shuts down.
//!
//! Client text is never echoed without bound: [`echo`] cuts a client value to
//! [`MAX_ECHO_BYTES`] with a visible marker, wherever a status message, a field violation or a
//! log line repeats it, and every status message is cut to [`MAX_STATUS_MESSAGE_BYTES`], so the
//! status metadata of any call stays far below the 8 KiB that gRPC clients accept by default.

use std::borrow::Cow;
use std::fmt;

use tonic::codegen::http::HeaderMap;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Longest client value (a language tag, a topic id, an article id, a path) repeated in a status
/// message, a field violation or a log line, in UTF-8 bytes; [`echo`] cuts longer ones.
pub const MAX_ECHO_BYTES: usize = 100;

/// Most field violations one `google.rpc.BadRequest` lists; the status message counts the rest.
pub const MAX_FIELD_VIOLATIONS: usize = 20;

/// Most bytes of field paths and descriptions one `google.rpc.BadRequest` carries (before base64);
/// violations beyond it are counted in the message instead of listed.
pub const MAX_BAD_REQUEST_BYTES: usize = 4096;

/// Longest field path or description of one violation, in bytes (server text: a bound against
/// mistakes, as client values in it are cut by [`echo`] already).
const MAX_VIOLATION_TEXT_BYTES: usize = 512;

/// Longest status message (`grpc-message`, before percent-encoding) the server sends, in bytes.
pub const MAX_STATUS_MESSAGE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes on a character boundary, with a visible marker giving the
/// original size: `abc…(truncated, 1048576 bytes)`. Text within the bound is borrowed unchanged.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}…(truncated, {} bytes)",
        &text[..end],
        text.len()
    ))
}

/// A client value as it may be repeated in a status, a field violation or a log line: cut to
/// [`MAX_ECHO_BYTES`] (see [`truncate`]).
pub fn echo(value: &str) -> Cow<'_, str> {
    truncate(value, MAX_ECHO_BYTES)
}

/// One problem with one request field, in google.rpc.BadRequest terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `article.body` or `requests[2].options.topics[0]`.
    pub field: String,
    /// What is wrong and what to send instead. A client value quoted in it goes through [`echo`].
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum ServiceError {
    /// The request is malformed; every violation is reported (up to [`MAX_FIELD_VIOLATIONS`],
    /// the rest counted).
    InvalidArgument(Vec<FieldViolation>),
    /// The client's deadline (`grpc-timeout`) passed before the work finished.
    DeadlineExceeded,
    /// Compiling rules sent by the client took longer than the server allows (the limit).
    CompileTimeout(std::time::Duration),
    /// A bounded resource is in use (the text says which); retry with backoff.
    Busy(String),
    /// The method is switched off on this server (the text says how to turn it on).
    Disabled(String),
    /// A bug or an unexpected failure on the server; the text is logged, never sent.
    Internal(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::InvalidArgument(v) => {
                let fields: Vec<_> = v
                    .iter()
                    .take(MAX_FIELD_VIOLATIONS)
                    .map(|v| truncate(&v.field, MAX_VIOLATION_TEXT_BYTES))
                    .collect();
                write!(f, "invalid argument: {}", fields.join(", "))?;
                if v.len() > MAX_FIELD_VIOLATIONS {
                    write!(f, " and {} more", v.len() - MAX_FIELD_VIOLATIONS)?;
                }
                Ok(())
            }
            ServiceError::DeadlineExceeded => f.write_str("deadline exceeded"),
            ServiceError::CompileTimeout(limit) => write!(
                f,
                "compiling the rules took longer than the server's limit ({} ms); send a smaller rule file",
                limit.as_millis()
            ),
            ServiceError::Busy(what) | ServiceError::Disabled(what) => f.write_str(what),
            ServiceError::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
    /// The gRPC status code of the error: the table in the module doc.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::InvalidArgument(_) => Code::InvalidArgument,
            ServiceError::DeadlineExceeded | ServiceError::CompileTimeout(_) => {
                Code::DeadlineExceeded
            }
            ServiceError::Busy(_) => Code::ResourceExhausted,
            ServiceError::Disabled(_) => Code::Unimplemented,
            ServiceError::Internal(_) => Code::Internal,
        }
    }
}

/// The INVALID_ARGUMENT status of `violations`: the message is the first violation, then
/// "(and N more ...)"; the google.rpc.BadRequest detail lists the violations up to
/// [`MAX_FIELD_VIOLATIONS`] and [`MAX_BAD_REQUEST_BYTES`], each field and description cut to a
/// bound.
fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    let total = violations.len();
    let mut details = ErrorDetails::new();
    let mut listed = 0;
    let mut bytes = 0;
    let mut message = String::new();
    for (i, v) in violations.into_iter().enumerate() {
        let field = truncate(&v.field, MAX_VIOLATION_TEXT_BYTES);
        let description = truncate(&v.description, MAX_VIOLATION_TEXT_BYTES);
        if i == 0 {
            // Leaves room for the count of the others within MAX_STATUS_MESSAGE_BYTES.
            message = truncate(&format!("{field}: {description}"), 800).into_owned();
        }
        let size = field.len() + description.len();
        if listed == MAX_FIELD_VIOLATIONS || (listed > 0 && bytes + size > MAX_BAD_REQUEST_BYTES) {
            break;
        }
        bytes += size;
        listed += 1;
        details.add_bad_request_violation(field, description);
    }
    if total == 0 {
        message = "invalid argument".to_owned();
    } else if total > 1 {
        let more = total - 1;
        let fields = if more == 1 { "field" } else { "fields" };
        if listed == total {
            message.push_str(&format!(
                " (and {more} more invalid {fields}; see the google.rpc.BadRequest details)"
            ));
        } else {
            message.push_str(&format!(
                " (and {more} more invalid {fields}; the google.rpc.BadRequest details list the first {listed} of {total})"
            ));
        }
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::InvalidArgument(violations) => invalid_argument(violations),
            ServiceError::DeadlineExceeded => {
                Status::deadline_exceeded("the deadline passed before the article was classified")
            }
            ServiceError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Status::internal("internal error")
            }
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

/// The HTTP status of a gRPC status code, as `google/rpc/code.proto` gives it (and grpc-gateway
/// and Google's APIs send): OK 200, CANCELLED 499, INVALID_ARGUMENT 400, DEADLINE_EXCEEDED 504,
/// NOT_FOUND 404, ALREADY_EXISTS and ABORTED 409, PERMISSION_DENIED 403, UNAUTHENTICATED 401,
/// RESOURCE_EXHAUSTED 429, FAILED_PRECONDITION and OUT_OF_RANGE 400, UNIMPLEMENTED 501,
/// UNAVAILABLE 503, UNKNOWN, INTERNAL and DATA_LOSS 500.
pub fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::Unauthenticated => 401,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    }
}

/// How many request messages a unary method got, when it was not exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// The request stream ended without a message.
    None,
    /// A second message arrived.
    Several,
}

/// The status of a unary call (`path`, e.g. `/rubric.v1.ClassifierService/Classify`) whose
/// request stream did not hold exactly one message: UNIMPLEMENTED, the code gRPC's status code
/// spec (doc/statuscodes.md) gives a request cardinality violation, as gRPC C++, grpc-js and
/// Connect answer (grpc-go and grpc-java answer INTERNAL).
pub fn request_cardinality(path: &str, got: Cardinality) -> Status {
    let method = echo(path.rsplit('/').next().unwrap_or(path)).into_owned();
    let what = match got {
        Cardinality::None => "none was sent",
        Cardinality::Several => "a second one was sent",
    };
    let hint = if path.starts_with("/rubric.v1.ClassifierService/") {
        "; to send several articles on one call, use ClassifyStream or ClassifyBatch"
    } else {
        ""
    };
    Status::unimplemented(format!(
        "{method} is a unary method and takes exactly one request message, but {what}{hint}"
    ))
}

/// `(found, limit)` from tonic's "... found N bytes, the limit is: L bytes".
fn found_and_limit(message: &str) -> Option<(usize, usize)> {
    let number_after = |marker: &str| -> Option<usize> {
        let rest = &message[message.find(marker)? + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    Some((number_after("found ")?, number_after("the limit is: ")?))
}

/// The status the client should see instead of one the gRPC stack (tonic) produced: the table
/// in the module doc. `None` when `status` is to be sent as it is.
///
/// Applied to every status the server sends (the call layer in [`crate::server`]), so it must
/// return `None` for its own output.
pub fn wire_status(status: &Status) -> Option<Status> {
    let message = status.message();
    match status.code() {
        Code::OutOfRange if message.contains("decoded message length too large") => {
            let (found, limit) = found_and_limit(message)?;
            Some(Status::resource_exhausted(format!(
                "the request message is {found} bytes, over the server's limit of {limit} bytes: \
                 send less per call (split a ClassifyBatch, or the article), or raise the server's \
                 --max-message-bytes"
            )))
        }
        Code::ResourceExhausted if message.contains("exceeded while decompressing message") => {
            let limit = message
                .split("size limit, of ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("the");
            Some(Status::resource_exhausted(format!(
                "the request message decompresses to more than the server's limit of {limit} bytes: \
                 send less per call (split a ClassifyBatch, or the article), or raise the server's \
                 --max-message-bytes"
            )))
        }
        Code::OutOfRange if message.contains("encoded message length too large") => {
            let (found, limit) = found_and_limit(message)?;
            Some(Status::out_of_range(format!(
                "the response message would be {found} bytes, over the server's limit of {limit} \
                 bytes: ask for less (options.omit_evidence, fewer options.topics, a \
                 options.min_score), send the article in parts, or raise the server's \
                 --max-message-bytes"
            )))
        }
        _ if message.len() > MAX_STATUS_MESSAGE_BYTES => Some(Status::with_details(
            status.code(),
            truncate(message, MAX_STATUS_MESSAGE_BYTES),
            status.details().to_vec().into(),
        )),
        _ => None,
    }
}

/// The code a status has on the wire, after [`wire_status`].
pub fn wire_code(status: &Status) -> Code {
    wire_status(status).map_or(status.code(), |s| s.code())
}

/// Rewrites the `grpc-status`, `grpc-message` and `grpc-status-details-bin` entries of `headers`
/// (response headers of a trailers-only response, or trailers) by [`wire_status`]; returns the
/// status as sent, `None` when `headers` carry none.
pub fn rewrite_status_headers(headers: &mut HeaderMap) -> Option<Status> {
    let status = Status::from_header_map(headers)?;
    let Some(new) = wire_status(&status) else {
        return Some(status);
    };
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    match new.add_header(headers) {
        Ok(()) => Some(new),
        Err(_) => {
            // A message that cannot be a header value cannot come out of percent-encoding; keep
            // the code at least.
            headers.insert("grpc-status", (new.code() as i32).into());
            Some(new)
        }
    }
}

/// The `google.rpc.Status` message of a status, as carried in stream responses.
pub fn to_rpc_status(status: &Status) -> tonic_types::pb::Status {
    use prost::Message;
    if !status.details().is_empty() {
        if let Ok(decoded) = tonic_types::pb::Status::decode(status.details()) {
            return decoded;
        }
    }
    tonic_types::pb::Status {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_on_a_char_boundary_with_a_marker() {
        assert_eq!(truncate("short", 10), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate(&long, 99);
        assert!(cut.starts_with(&"é".repeat(49)));
        assert!(cut.ends_with("…(truncated, 200 bytes)"), "{cut}");
        assert_eq!(
            echo(&"x".repeat(1 << 20)).len(),
            MAX_ECHO_BYTES + "…(truncated, 1048576 bytes)".len()
        );
    }

    #[test]
    fn several_violations_name_the_first_and_count_the_rest() {
        let status = Status::from(ServiceError::InvalidArgument(vec![
            FieldViolation::new("article.body", "empty"),
            FieldViolation::new("article.language", "bad"),
            FieldViolation::new("options.topics[0]", "unknown"),
        ]));
        assert_eq!(
            status.message(),
            "article.body: empty (and 2 more invalid fields; see the google.rpc.BadRequest details)"
        );
        let many: Vec<_> = (0..50)
            .map(|i| FieldViolation::new(format!("requests[{i}].article"), "required"))
            .collect();
        let status = Status::from(ServiceError::InvalidArgument(many));
        let listed = status.get_details_bad_request().unwrap().field_violations;
        assert_eq!(listed.len(), MAX_FIELD_VIOLATIONS);
        assert!(
            status.message().contains("and 49 more invalid fields"),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("first 20 of 50"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn tonic_size_limits_are_explained() {
        let request = Status::out_of_range(
            "Error, decoded message length too large: found 80000 bytes, the limit is: 65536 bytes",
        );
        let mapped = wire_status(&request).unwrap();
        assert_eq!(mapped.code(), Code::ResourceExhausted);
        assert!(mapped.message().contains("request message is 80000 bytes"));
        assert!(mapped.message().contains("65536"));
        assert!(mapped.message().contains("--max-message-bytes"));
        assert!(wire_status(&mapped).is_none(), "idempotent");
        let response = Status::out_of_range(
            "Error, encoded message length too large: found 80000 bytes, the limit is: 65536 bytes",
        );
        let mapped = wire_status(&response).unwrap();
        assert_eq!(mapped.code(), Code::OutOfRange);
        assert!(mapped.message().contains("response message"));
        assert!(mapped.message().contains("omit_evidence"));
        assert!(wire_status(&mapped).is_none(), "idempotent");
        assert!(wire_status(&Status::invalid_argument("x")).is_none());
        let long = Status::unimplemented("y".repeat(10_000));
        assert!(wire_status(&long).unwrap().message().len() < 1100);
    }
}
