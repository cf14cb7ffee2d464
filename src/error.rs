//! The one table from service errors to gRPC status codes.
//!
//! | error | code | details |
//! |---|---|---|
//! | [`ServiceError::InvalidArgument`] | `INVALID_ARGUMENT` | `google.rpc.BadRequest`, one field violation per problem |
//! | [`ServiceError::DeadlineExceeded`] | `DEADLINE_EXCEEDED` | none |
//! | [`ServiceError::Internal`] | `INTERNAL` | none: the cause is logged, the client sees "internal error" |
//!
//! Codes the gRPC stack produces before a handler runs are documented in the `.proto`:
//! `RESOURCE_EXHAUSTED` for a request over the size limit (tonic says `OUT_OF_RANGE`;
//! [`wire_code`] maps it), `INTERNAL` for bytes that are not valid protobuf, `UNAVAILABLE` while
//! the server shuts down.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One problem with one request field, in google.rpc.BadRequest terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `article.body` or `requests[2].options.topics[0]`.
    pub field: String,
    /// What is wrong and what to send instead.
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
    /// The request is malformed; every violation is reported.
    InvalidArgument(Vec<FieldViolation>),
    /// The client's deadline (`grpc-timeout`) passed before the work finished.
    DeadlineExceeded,
    /// A bug or an unexpected failure on the server; the text is logged, never sent.
    Internal(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::InvalidArgument(v) => {
                let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
                write!(f, "invalid argument: {}", fields.join(", "))
            }
            ServiceError::DeadlineExceeded => f.write_str("deadline exceeded"),
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
            ServiceError::DeadlineExceeded => Code::DeadlineExceeded,
            ServiceError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::InvalidArgument(violations) => {
                let message = match violations.as_slice() {
                    [one] => format!("{}: {}", one.field, one.description),
                    many => format!(
                        "{} invalid fields; see the google.rpc.BadRequest details",
                        many.len()
                    ),
                };
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ServiceError::DeadlineExceeded => {
                Status::deadline_exceeded("the deadline passed before the article was classified")
            }
            ServiceError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// The code a status should have on the wire: tonic reports a message over the size limit as
/// OUT_OF_RANGE ("decoded/encoded message length too large"), while gRPC's status code spec
/// (doc/statuscodes.md) prescribes RESOURCE_EXHAUSTED for it; every other code is kept.
pub fn wire_code(status: &Status) -> Code {
    if status.code() == Code::OutOfRange && status.message().contains("message length too large") {
        Code::ResourceExhausted
    } else {
        status.code()
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
