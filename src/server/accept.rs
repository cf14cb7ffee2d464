//! Accepting connections: the accept loop, and the deadline for a new connection's handshake.
//!
//! - **Accept failures.** A failure that concerns one connection (aborted or reset before it was
//!   accepted) is skipped at once. Any other, above all running out of file descriptors
//!   (EMFILE, ENFILE), would fail again at once: the loop waits, from 10 ms doubling to 1 s,
//!   before trying again (the connections waiting meanwhile stay in the kernel's backlog), and
//!   says so at warn, at most every 10 s with the number of failures since; the first accept
//!   that works again is logged at info. Without the wait, the loop would spin at 100 % CPU.
//! - **Handshake deadline.** A connection must complete its handshake within the handshake
//!   timeout of being accepted: the TLS handshake (with TLS), then the HTTP/2 client preface (the
//!   24-byte magic and the SETTINGS frame that follows it), or, for an HTTP/1.1 client (curl, a
//!   browser, grpc-web), the head of its first request (up to the empty line). Past the deadline,
//!   reads and writes fail and the server closes the connection. Once the preface or head is in,
//!   the deadline is lifted: an idle HTTP/2 connection is then kept alive by keepalive pings and
//!   closed by the maximum connection age, as before.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info, warn};

/// First wait after an accept failure that would repeat at once.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// Longest wait between accept attempts while they fail.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// At most one warning per this interval while accepting fails.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The listener and the state of its failures.
pub(super) struct Acceptor {
    listener: TcpListener,
    /// The wait before the next attempt, after a failure.
    backoff: Duration,
    /// Failures since the last warning.
    unlogged: u64,
    /// Failures since the last accept that worked.
    failing: u64,
    last_warning: Option<Instant>,
    /// The soft limit on open files, read at start (reading it later needs a descriptor).
    open_files_limit: Option<u64>,
}

impl Acceptor {
    pub(super) fn new(listener: TcpListener) -> Acceptor {
        Acceptor {
            listener,
            backoff: FIRST_BACKOFF,
            unlogged: 0,
            failing: 0,
            last_warning: None,
            open_files_limit: open_files_limit(),
        }
    }

    /// The next connection, with TCP_NODELAY set (a response is written as several small writes:
    /// headers, data, trailers; with Nagle's algorithm on, the client's delayed ACK holds them
    /// ~40 ms). Failures are retried as the module doc says.
    pub(super) async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    if self.failing > 0 {
                        info!(
                            failures = self.failing,
                            "accepting connections again after accept failures"
                        );
                    }
                    self.backoff = FIRST_BACKOFF;
                    self.failing = 0;
                    self.unlogged = 0;
                    self.last_warning = None;
                    let _ = stream.set_nodelay(true);
                    return (stream, peer);
                }
                Err(e) if per_connection(&e) => {
                    debug!(error = %e, "a connection failed before it was accepted");
                }
                Err(e) => {
                    self.failing += 1;
                    self.unlogged += 1;
                    let due = self
                        .last_warning
                        .is_none_or(|at| at.elapsed() >= LOG_INTERVAL);
                    if due {
                        let retry_ms = self.backoff.as_millis() as u64;
                        if out_of_descriptors(&e) {
                            warn!(
                                error = %e,
                                failures = self.unlogged,
                                open_files_limit = self.open_files_limit,
                                retry_ms,
                                "cannot accept connections: out of file descriptors; new \
                                 connections wait until some close. Raise the limit on open \
                                 files (ulimit -n, the container's nofile) above the connections \
                                 expected; see README, Operations"
                            );
                        } else {
                            warn!(error = %e, failures = self.unlogged, retry_ms, "cannot accept connections");
                        }
                        self.unlogged = 0;
                        self.last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Whether an accept failure concerns only the connection it was for.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// EMFILE (the process's limit) or ENFILE (the system's); the same numbers on Linux, the BSDs and
/// macOS.
fn out_of_descriptors(e: &io::Error) -> bool {
    cfg!(unix) && matches!(e.raw_os_error(), Some(23 | 24))
}

/// The soft limit on open files (`Max open files` in `/proc/self/limits`, Linux); `None` when
/// unknown or unlimited.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The connections of `listener`, for a plaintext server, each under its handshake deadline. The
/// listener closes when the stream is dropped (the server stops taking connections).
pub(super) fn plain_incoming(
    listener: TcpListener,
    handshake_timeout: Duration,
) -> impl tokio_stream::Stream<Item = io::Result<Handshake<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        let mut acceptor = Acceptor::new(listener);
        loop {
            let (stream, _) = tokio::select! {
                () = tx.closed() => return,
                accepted = acceptor.accept() => accepted,
            };
            let deadline = tokio::time::Instant::now() + handshake_timeout;
            if tx.send(Ok(Handshake::new(stream, deadline))).await.is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The HTTP/2 client preface: this magic, then a SETTINGS frame (RFC 9113, section 3.4).
const PREFACE_MAGIC: usize = 24;
/// An HTTP/2 frame header: 3 bytes of length, type, flags, 4 bytes of stream id.
const FRAME_HEADER: usize = 9;

/// The first bytes of the HTTP/2 client preface; a connection that starts otherwise speaks
/// HTTP/1.1.
const PREFACE_START: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection under its handshake deadline: until the client's HTTP/2 preface (or the head of
/// its first HTTP/1.1 request) has been read, reading or writing past the deadline fails
/// (TimedOut), so the server closes the connection.
pub struct Handshake<IO> {
    io: IO,
    /// The connection speaks HTTP/1.1: the deadline ends with the first request's head.
    http1: bool,
    /// The last four bytes read, to find the end of an HTTP/1.1 request head (`\r\n\r\n`).
    tail: [u8; 4],
    /// Bytes of the preface read so far.
    read: usize,
    /// The preface's length, once the length of its SETTINGS frame is known.
    preface: usize,
    /// The length field of the SETTINGS frame, as its bytes arrive.
    settings_length: usize,
    /// `None` once the preface is in.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<IO> Handshake<IO> {
    /// `io`, which must complete its handshake by `deadline`.
    pub(super) fn new(io: IO, deadline: tokio::time::Instant) -> Handshake<IO> {
        Handshake {
            io,
            http1: false,
            tail: [0; 4],
            read: 0,
            preface: PREFACE_MAGIC + FRAME_HEADER,
            settings_length: 0,
            deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    /// Counts `data`, read from the client, towards the preface.
    fn saw(&mut self, data: &[u8]) {
        for &byte in data {
            if self.read >= self.preface {
                break;
            }
            if !self.http1 && self.read < PREFACE_MAGIC && byte != PREFACE_START[self.read] {
                self.http1 = true;
                self.preface = usize::MAX;
            }
            if self.http1 {
                self.tail = [self.tail[1], self.tail[2], self.tail[3], byte];
                self.read += 1;
                if &self.tail == b"\r\n\r\n" {
                    self.preface = self.read;
                }
                continue;
            }
            // The first three bytes of the frame header are the payload length.
            if (PREFACE_MAGIC..PREFACE_MAGIC + 3).contains(&self.read) {
                self.settings_length = (self.settings_length << 8) | usize::from(byte);
                if self.read == PREFACE_MAGIC + 2 {
                    self.preface = PREFACE_MAGIC + FRAME_HEADER + self.settings_length;
                }
            }
            self.read += 1;
        }
        if self.read >= self.preface {
            self.deadline = None;
        }
    }

    /// Ready with an error once the deadline has passed (registering the waker otherwise).
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let deadline = self.deadline.as_mut()?;
        deadline.as_mut().poll(cx).is_ready().then(|| {
            debug!("connection closed: no TLS handshake and HTTP/2 preface within the handshake timeout");
            io::Error::new(
                io::ErrorKind::TimedOut,
                "handshake timeout: the HTTP/2 preface did not arrive in time",
            )
        })
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Handshake<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
        if self.deadline.is_some() {
            let this = &mut *self;
            this.saw(&buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Handshake<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.expired(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected
    for Handshake<IO>
{
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_http1_request_head_lifts_the_deadline() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut conn = Handshake::new((), deadline);
        conn.saw(b"POST /v1/articles:classify HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r");
        assert!(conn.deadline.is_some(), "head not complete yet");
        conn.saw(b"\n\r\n{}");
        assert!(conn.deadline.is_none(), "the head is in");
        // An HTTP/2 preface cut early is still under the deadline.
        let mut h2 = Handshake::new((), deadline);
        h2.saw(b"PRI * HTTP/2.0\r\n\r\n");
        assert!(h2.deadline.is_some());
    }

    #[tokio::test]
    async fn the_preface_lifts_the_deadline_however_it_is_cut() {
        let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        // SETTINGS with one setting (6 bytes), then a frame that is not part of the preface.
        preface.extend([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        let whole = preface.len();
        preface.extend([0, 0, 0, 4, 1, 0, 0, 0, 0]);
        for cut in [1, 10, 24, 26, 27, 33, whole - 1, whole, whole + 3] {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            let mut h = Handshake::new((), deadline);
            h.saw(&preface[..cut]);
            assert_eq!(h.deadline.is_none(), cut >= whole, "cut at {cut}");
            h.saw(&preface[cut..]);
            assert!(h.deadline.is_none(), "cut at {cut}");
            assert_eq!(h.read, whole);
        }
    }

    #[test]
    fn reads_the_open_files_limit() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|n| n > 0));
        }
    }
}
