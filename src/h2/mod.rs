//! Sans-IO HTTP/2 for the client side (RFC 9113, with HPACK, RFC 7541):
//! bytes in, events out, bytes to send.
//!
//! Nothing here touches a socket, a poller or a clock, as in [`crate::h1`].
//! The layers, bottom up:
//!
//! - [`hpack`]: header compression: static and dynamic tables, Huffman,
//!   the [`hpack::Decoder`] and [`hpack::Encoder`];
//! - [`frame`]: the frame head, every frame type with strict validation,
//!   and encoders;
//! - [`session`]: one connection's client side: preface and SETTINGS,
//!   streams and their states, flow control both ways, request encoding,
//!   response validation, flood limits; see [`session::Session`].
//!
//! Errors name the RFC 9113 §7 code and whether they end a stream or the
//! connection ([`error::H2Error`]); the caller's own conditions (no stream
//! ids left, the concurrency limit) are [`error::SendError`]s.
//!
//! The reactor runs a [`session::Session`] on every connection that
//! speaks HTTP/2 (`src/connection/h2.rs`); the tests, fuzz targets and
//! benches reach the engine through `multifetch::__private::h2`.

pub mod error;
pub mod frame;
pub mod hpack;
pub mod private;
pub mod session;

use std::fmt;

/// Default SETTINGS_INITIAL_WINDOW_SIZE we send: each stream's receive
/// window ([`crate::config::DEFAULT_HTTP2_STREAM_WINDOW`]).
///
/// One stream can move at most a window per round trip: 4 MiB over a 50 ms
/// link is 80 MiB/s (about 670 Mbit/s) for a single large download. With
/// 100 small responses in flight the per-stream window hardly matters; the
/// connection window below bounds the total. (Go's transport uses 4 MiB,
/// hyper 2 MiB.)
pub const DEFAULT_STREAM_WINDOW: u32 = crate::config::DEFAULT_HTTP2_STREAM_WINDOW;

/// Default connection receive window
/// ([`crate::config::DEFAULT_HTTP2_CONNECTION_WINDOW`]): 16 MiB is about
/// 2.7 Gbit/s over a 50 ms link shared by all streams, and the most a slow
/// consumer can make us hold for one connection (bytes not yet
/// [released](session::Session::release)).
pub const DEFAULT_CONNECTION_WINDOW: u32 = crate::config::DEFAULT_HTTP2_CONNECTION_WINDOW;

/// Default SETTINGS_MAX_HEADER_LIST_SIZE we send and enforce on decoded
/// response heads, 64 KiB: the same bound as an HTTP/1.1 head
/// ([`crate::DEFAULT_MAX_HEAD_BYTES`]), counted as RFC 9113 §6.5.2 does
/// (name + value + 32 per field).
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// The concurrency limit assumed until the server's first SETTINGS
/// arrives: RFC 9113 §5.1.2 recommends servers allow at least 100, and
/// opening more before knowing risks REFUSED_STREAM.
pub const UNKNOWN_MAX_CONCURRENT_STREAMS: u32 = 100;

/// The largest stream id (§5.1.1): 2^31−1. Client ids are odd, so a
/// connection carries at most 2^30 streams.
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Most bytes of control frames (SETTINGS acknowledgements, PING answers,
/// RST_STREAM) the server may make us queue between two
/// [`Session::data_to_send`](session::Session::data_to_send) calls: past it, a SETTINGS or PING flood is a
/// connection error ENHANCE_YOUR_CALM. 32 KiB is about 1,900 PING answers.
pub const MAX_QUEUED_CONTROL_BYTES: usize = 32 * 1024;

/// Most frames in a row that carry nothing (DATA with no data, padding
/// aside, and no END_STREAM, empty HEADERS or CONTINUATION without an end flag) before
/// it is a flood: ENHANCE_YOUR_CALM. Legitimate servers send a handful.
pub const MAX_EMPTY_FRAMES: usize = 1000;

/// Most frames (HEADERS plus CONTINUATION) one header block may span; an
/// endless CONTINUATION run is ENHANCE_YOUR_CALM. A 64 KiB list in 16 KiB
/// frames needs 4.
pub const MAX_HEADER_BLOCK_FRAMES: usize = 128;

/// Bytes a buffered header block may hold beyond twice the
/// SETTINGS_MAX_HEADER_LIST_SIZE we sent. A block's encoded size is about
/// its decoded size or less, so a block up to twice the list limit is still
/// decoded (to keep HPACK in step) and fails just its stream when the list
/// is too large; beyond, it is ENHANCE_YOUR_CALM for the connection.
pub const HEADER_BLOCK_SLACK: usize = 16 * 1024;

/// A stream identifier (RFC 9113 §5.1.1): 31 bits; 0 is the connection.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId(u32);

impl StreamId {
    /// Stream 0: the connection itself.
    pub const ZERO: StreamId = StreamId(0);

    /// A stream id; the reserved top bit is cleared.
    pub const fn new(id: u32) -> StreamId {
        StreamId(id & MAX_STREAM_ID)
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}
