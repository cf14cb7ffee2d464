//! Concurrency slots: at most `max_concurrent_calls` classifier requests are handled at once, and
//! a slot is taken only when there is work to do.
//!
//! - A **unary** classifier call (`Classify`, `ClassifyBatch`, `ListTopics`, `GetRuleSet`) takes
//!   its slot once its whole request has arrived (the request body ended), and gives it back when
//!   the handler has answered (the response is then only being sent, which a client that does not
//!   read must not be able to stretch). The request must arrive within the request body timeout
//!   of the call's start, else DEADLINE_EXCEEDED. No slot free then: RESOURCE_EXHAUSTED at once.
//!   So calls that send their headers and then stall hold no slot, only an HTTP/2 stream of their
//!   own connection, for at most the request body timeout.
//! - **`ClassifyStream`** takes a slot for each request message, from the moment the message has
//!   arrived until the handler asks for the next one (it has classified the message and queued
//!   the response); a stream between messages holds none. A message that finds no slot free waits
//!   for one (the stream is not ended: a pipeline would lose its place). Once a message has
//!   started, its remaining bytes must arrive within the request body timeout (DEADLINE_EXCEEDED
//!   ends the stream); a stream may stay idle between messages as long as the client's deadline
//!   allows.
//!
//! DEADLINE_EXCEEDED (not CANCELLED) for a request that does not arrive in time: the server gave
//! up on a time bound, as for `--request-timeout`; CANCELLED means the caller cancelled, and
//! tonic even reads a CANCELLED request body error as a normal end of the stream.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use http_body::{Body as _, Frame};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tonic::codegen::{http, Bytes};
use tonic::Status;

/// The path of the classifier's streaming method, whose slots are taken per message.
const STREAM_PATH: &str = "/rubric.v1.ClassifierService/ClassifyStream";

/// The slots of one server, and how long a request may take to arrive.
#[derive(Clone, Debug)]
pub(super) struct Slots {
    semaphore: Arc<Semaphore>,
    body_timeout: Duration,
    /// Largest request body a unary call can have and still be valid (one message of the maximum
    /// size and its 5-byte prefix); a larger one is handed on as soon as it is seen, for tonic to
    /// reject, instead of being held here.
    max_request_bytes: usize,
}

/// How one call is admitted.
pub(super) enum Admission {
    /// Not counted (health, reflection, unknown methods).
    Free,
    /// A unary classifier call: one slot once its request has arrived.
    Unary(Slots),
    /// `ClassifyStream`: a slot per request message.
    PerMessage(Slots),
}

impl Slots {
    pub(super) fn new(
        max_concurrent_calls: usize,
        body_timeout: Duration,
        max_message_bytes: usize,
    ) -> Slots {
        Slots {
            semaphore: Arc::new(Semaphore::new(max_concurrent_calls)),
            body_timeout,
            max_request_bytes: max_message_bytes.saturating_add(5),
        }
    }

    /// How a call to `path` is admitted; `one_message` says whether its method takes exactly one
    /// request message.
    pub(super) fn admission(&self, path: &str, one_message: bool) -> Admission {
        let classifier = path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(super::SERVICE_NAME))
            .is_some_and(|p| p.starts_with('/'));
        if !classifier {
            Admission::Free
        } else if one_message {
            Admission::Unary(self.clone())
        } else if path == STREAM_PATH {
            Admission::PerMessage(self.clone())
        } else {
            Admission::Free
        }
    }

    /// Waits for the whole request of a unary call, then takes a slot. The request comes back with
    /// its body replayed from what was read; the permit is `None` when the body failed (tonic
    /// answers that at once, no slot needed).
    ///
    /// # Errors
    /// DEADLINE_EXCEEDED when the request did not arrive within the body timeout,
    /// RESOURCE_EXHAUSTED when every slot is taken.
    async fn receive(
        &self,
        request: http::Request<Body>,
    ) -> Result<(http::Request<Body>, Option<OwnedSemaphorePermit>), Status> {
        let (parts, mut body) = request.into_parts();
        let mut frames = VecDeque::new();
        let mut ended = false;
        let mut failed = false;
        let mut bytes = 0usize;
        let receiving = async {
            while !body.is_end_stream() {
                match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                    None => break,
                    Some(Ok(frame)) => {
                        let trailers = frame.is_trailers();
                        if let Some(data) = frame.data_ref() {
                            bytes = bytes.saturating_add(data.len());
                        }
                        frames.push_back(Ok(frame));
                        if trailers {
                            break;
                        }
                        if bytes > self.max_request_bytes {
                            // Too large to be valid: tonic rejects it as soon as it reads on.
                            return;
                        }
                    }
                    Some(Err(status)) => {
                        frames.push_back(Err(status));
                        failed = true;
                        break;
                    }
                }
            }
            ended = true;
        };
        if tokio::time::timeout(self.body_timeout, receiving)
            .await
            .is_err()
        {
            return Err(Status::deadline_exceeded(format!(
                "the request did not arrive within the server's request body timeout of {} \
                 (--request-body-timeout): send the request message and end the request stream \
                 together with the headers",
                seconds(self.body_timeout)
            )));
        }
        let permit = if failed {
            None
        } else {
            Some(self.semaphore.clone().try_acquire_owned().map_err(|_| {
                Status::resource_exhausted(
                    "server overloaded: too many calls at once; retry with backoff",
                )
            })?)
        };
        let body = Received {
            frames,
            rest: (!ended).then_some(body),
        };
        Ok((http::Request::from_parts(parts, Body::new(body)), permit))
    }
}

/// `12.5 s`, `300 ms`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// Calls `inner` once `admission` lets the call in; a call refused (request too slow to arrive,
/// no slot free) gets its status as a trailers-only response without reaching `inner`.
pub(super) async fn admitted<S>(
    admission: Admission,
    request: http::Request<Body>,
    mut inner: S,
) -> Result<http::Response<Body>, S::Error>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>,
{
    match admission {
        Admission::Free => inner.call(request).await,
        Admission::PerMessage(slots) => {
            inner
                .call(request.map(|body| Body::new(PerMessage::new(body, slots))))
                .await
        }
        Admission::Unary(slots) => match slots.receive(request).await {
            Err(status) => Ok(status.into_http()),
            Ok((request, permit)) => {
                let response = inner.call(request).await;
                // The handler has answered: the work is done, whatever happens to the response.
                drop(permit);
                response
            }
        },
    }
}

/// A request body read ahead: the frames read, then the rest of the body (if it had not ended).
struct Received {
    frames: VecDeque<Result<Frame<Bytes>, Status>>,
    rest: Option<Body>,
}

impl http_body::Body for Received {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(frame));
        }
        match &mut self.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.rest.as_ref().is_none_or(|r| r.is_end_stream())
    }
}

/// Where the gRPC framing of a request stream is: each message is a flag byte, a 4-byte
/// big-endian length and the payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Framing {
    /// Bytes of the current message's prefix seen (0 between messages, 1 to 5 inside one).
    prefix: u8,
    /// The length read from the prefix so far.
    length: u32,
    /// Payload bytes of the current message still to come.
    payload: u32,
}

impl Framing {
    /// Whether a message has started and not ended.
    fn in_message(&self) -> bool {
        self.prefix > 0
    }

    /// Reads `data` up to the end of the first message that ends in it: how many bytes that is,
    /// whether a message ended there, and the framing after them.
    fn scan(mut self, data: &[u8]) -> (usize, bool, Framing) {
        let mut at = 0;
        while at < data.len() {
            if self.prefix == 5 {
                let n = (data.len() - at).min(self.payload as usize);
                self.payload -= n as u32;
                at += n;
            } else {
                if self.prefix > 0 {
                    self.length = (self.length << 8) | u32::from(data[at]);
                } else {
                    self.length = 0;
                }
                self.prefix += 1;
                at += 1;
                if self.prefix == 5 {
                    self.payload = self.length;
                }
            }
            if self.prefix == 5 && self.payload == 0 {
                self = Framing::default();
                return (at, true, self);
            }
        }
        (at, false, self)
    }
}

type Acquiring = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// The request body of a `ClassifyStream`: hands on one message at a time (a data frame is cut
/// where a message ends), taking a slot before handing on the bytes that complete a message and
/// giving it back when the handler asks for more. A message that has started must complete within
/// the body timeout.
struct PerMessage {
    inner: Body,
    slots: Slots,
    framing: Framing,
    /// Bytes received and not yet handed on.
    pending: Bytes,
    /// The slot of the message last handed on.
    held: Option<OwnedSemaphorePermit>,
    /// Waiting for a slot for the message in `pending`.
    acquiring: Option<Acquiring>,
    /// When the message being received must be complete.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The stream was ended by a timeout.
    failed: bool,
}

impl PerMessage {
    fn new(inner: Body, slots: Slots) -> PerMessage {
        PerMessage {
            inner,
            slots,
            framing: Framing::default(),
            pending: Bytes::new(),
            held: None,
            acquiring: None,
            deadline: None,
            failed: false,
        }
    }
}

impl http_body::Body for PerMessage {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        // tonic reads on only when it has no whole message left: the handler is done with the
        // message handed on last.
        this.held = None;
        loop {
            if this.pending.is_empty() {
                if let Some(deadline) = &mut this.deadline {
                    if deadline.as_mut().poll(cx).is_ready() {
                        this.deadline = None;
                        this.failed = true;
                        return Poll::Ready(Some(Err(Status::deadline_exceeded(format!(
                            "a stream message did not arrive whole within the server's request \
                             body timeout of {} (--request-body-timeout)",
                            seconds(this.slots.body_timeout)
                        )))));
                    }
                }
                match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                    None => return Poll::Ready(None),
                    Some(Err(status)) => return Poll::Ready(Some(Err(status))),
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => this.pending = data,
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                }
                continue;
            }
            let (n, ends, framing) = this.framing.scan(&this.pending);
            if ends {
                let acquiring = this
                    .acquiring
                    .get_or_insert_with(|| Box::pin(this.slots.semaphore.clone().acquire_owned()));
                let acquired = ready!(acquiring.as_mut().poll(cx));
                this.acquiring = None;
                // The semaphore is never closed; were it, the message would go on without a slot.
                this.held = acquired.ok();
                this.deadline = None;
            } else if framing.in_message() && this.deadline.is_none() {
                this.deadline = Some(Box::pin(tokio::time::sleep(this.slots.body_timeout)));
            }
            this.framing = framing;
            let chunk = this.pending.split_to(n);
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.pending.is_empty() && self.inner.is_end_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: u32) -> Vec<u8> {
        let mut m = vec![0u8];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend(std::iter::repeat_n(7u8, len as usize));
        m
    }

    #[test]
    fn framing_cuts_at_the_end_of_each_message() {
        let mut data = message(3);
        data.extend(message(0));
        data.extend(&message(300)[..7]);
        let (n, ends, f) = Framing::default().scan(&data);
        assert_eq!((n, ends), (8, true));
        let (m, ends, f) = f.scan(&data[n..]);
        assert_eq!((m, ends), (5, true));
        let (k, ends, f) = f.scan(&data[n + m..]);
        assert_eq!((k, ends), (7, false));
        assert!(f.in_message());
        assert_eq!(f.payload, 298);
        let (k, ends, f) = f.scan(&[7u8; 298]);
        assert_eq!((k, ends), (298, true));
        assert!(!f.in_message());
    }

    #[test]
    fn framing_reads_a_prefix_split_anywhere() {
        let whole = message(70_000);
        for split in 1..6 {
            let (n, ends, f) = Framing::default().scan(&whole[..split]);
            assert_eq!((n, ends), (split, false));
            assert!(f.in_message());
            let (m, ends, _) = f.scan(&whole[split..]);
            assert_eq!((m, ends), (whole.len() - split, true), "split at {split}");
        }
    }
}
