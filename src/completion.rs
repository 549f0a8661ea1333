//! What the reactor hands back: the [`RequestId`] of each submitted request,
//! its [`Completion`], and the running [`Counters`] of network work.

use std::fmt;

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
    /// Bytes written to sockets.
    pub bytes_sent: u64,
    /// Bytes read from sockets.
    pub bytes_received: u64,
    /// Requests sent on HTTP/2 streams (many share one connection).
    pub h2_streams: u64,
}
