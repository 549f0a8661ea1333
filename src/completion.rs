//! What the reactor hands back: the [`RequestId`] of each submitted request,
//! its [`Event`]s ([`Completion`], chunks of streamed bodies, [`Progress`]),
//! and the running [`Counters`] of network work.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::Result;
use crate::response::Response;

/// Identifies a submitted request; ids count up from 0 in submission order
/// within one [`Reactor`](crate::Reactor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The id as a number (0 for the first request submitted to a reactor).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A finished request: its id and its result.
#[derive(Debug)]
pub struct Completion {
    /// The id [`Reactor::submit`](crate::Reactor::submit) returned.
    pub id: RequestId,
    /// The response, or what went wrong.
    pub result: Result<Response>,
}

/// What [`Reactor::next_event`](crate::Reactor::next_event) hands back.
///
/// For one request, events come in order: for a request made with
/// [`Request::stream_chunks`](crate::Request::stream_chunks) and answered
/// with a 2xx, [`Head`](Event::Head), then its [`Chunk`](Event::Chunk)s;
/// [`Progress`](Event::Progress) events (when asked for with
/// [`Reactor::report_progress`](crate::Reactor::report_progress)) along the
/// way; and [`Done`](Event::Done) last.
#[derive(Debug)]
#[non_exhaustive]
// `Done` is the large one, and the common one: boxing it would cost every
// request an allocation to save a move.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// The final head of a 2xx response whose body streams to the caller.
    Head {
        /// The request.
        id: RequestId,
        /// Its status.
        status: StatusCode,
        /// Its headers.
        headers: HeaderMap,
    },
    /// The next bytes of a body streaming to the caller (transfer and
    /// content decoding undone), as they arrived: at most one read's worth.
    Chunk {
        /// The request.
        id: RequestId,
        /// The bytes.
        bytes: Bytes,
    },
    /// Body bytes arrived for a request (at most one event per request per
    /// turn of the loop).
    Progress {
        /// The request.
        id: RequestId,
        /// How far its body is.
        progress: Progress,
    },
    /// The request finished.
    Done(Completion),
}

/// How far a request's body is. Cheap to read on every read
/// ([`Reactor::progress`](crate::Reactor::progress)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Body bytes received so far, as the server sent them (after transfer
    /// decoding, before content decoding), plus, for a resumed download,
    /// the bytes that were already in its file. Starts again from 0 when a
    /// request is retried, redirected or restarted.
    pub received: u64,
    /// The whole body's length when known: `Content-Length`, or the
    /// complete length from `Content-Range` for a resumed download; `None`
    /// for a chunked or close-delimited body, or before the head.
    pub expected: Option<u64>,
}

/// Running totals of a reactor's network work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// TCP connections opened (connect calls that the OS accepted).
    pub connections_opened: u64,
    /// Requests that went over a kept-alive connection.
    pub connections_reused: u64,
    /// Retries made by the [`RetryPolicy`](crate::RetryPolicy): attempts
    /// after the first.
    pub retries: u64,
    /// Requests replayed at once: on a fresh connection after a kept-alive
    /// one failed before answering (the server had closed it), or after an
    /// HTTP/2 server said it did not process them (REFUSED_STREAM, GOAWAY);
    /// not retries of the policy.
    pub replays: u64,
    /// File downloads resumed after failing part-way.
    pub resumes: u64,
    /// Bytes written to sockets.
    pub bytes_sent: u64,
    /// Bytes read from sockets.
    pub bytes_received: u64,
    /// Requests sent on HTTP/2 streams (many share one connection).
    pub h2_streams: u64,
}
