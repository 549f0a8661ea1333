//! The client side of one HTTP/2 connection, sans-IO: bytes in, events
//! out, bytes to send (the shape of python-hyper/h2's `H2Connection`).
//!
//! No socket, no poller, no clock: the caller feeds what it read to
//! [`Session::recv`], which calls back with [`Event`]s, and writes what
//! [`Session::data_to_send`] hands out. Timeouts (a SETTINGS never
//! acknowledged, a silent stream) are the caller's.
//!
//! ```
//! use multifetch::__private::h2::{Event, RequestHead, Session, Settings};
//! use multifetch::{HeaderMap, Method};
//!
//! let mut session = Session::new(Settings::default());
//! let headers = HeaderMap::new();
//! let head = RequestHead {
//!     method: &Method::GET,
//!     scheme: "https",
//!     authority: "example.com",
//!     path: "/",
//!     headers: &headers,
//! };
//! let stream = session.send_request(&head, true)?;
//! // Preface, SETTINGS, the connection WINDOW_UPDATE and the HEADERS.
//! let mut to_write = Vec::new();
//! session.data_to_send(&mut to_write);
//! assert!(to_write.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
//!
//! // What the socket gave: the server's (empty) SETTINGS.
//! let read = [0, 0, 0, 4, 0, 0, 0, 0, 0];
//! let mut consumed = Vec::new();
//! session.recv(&read, |event| match event {
//!     Event::Data { stream, data, .. } => consumed.push((stream, data.len())),
//!     Event::Settings(peer) => assert_eq!(peer.max_concurrent_streams, u32::MAX),
//!     _ => {}
//! })?;
//! // Hand the credit back once the body bytes are consumed (backpressure).
//! for (stream, n) in consumed {
//!     session.release(stream, n);
//! }
//! assert!(session.wants_write()); // the SETTINGS acknowledgement
//! assert_eq!(session.open_streams(), 1);
//! assert_eq!(stream.get(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Streams (RFC 9113 §5.1, client side)
//!
//! ```text
//!                 send_request(.., end_stream: false)
//!        idle ──────────────────────────────────────────► open
//!          │                                              │    │
//!          │ send_request(.., end_stream: true)           │    │ END_STREAM received
//!          │              send_data(.., end_stream: true) │    │
//!          ▼                                              │    ▼
//!   half-closed (local) ◄─────────────────────────────────┘  half-closed (remote)
//!          │                                                   │
//!          │ END_STREAM received       send_data(.., end_stream: true)
//!          ▼                                                   ▼
//!        closed ◄───────────────────────────────────────────────┘
//!
//!   any state ── RST_STREAM sent (Session::reset, a stream error) or received,
//!                or a GOAWAY whose last stream id is lower ──► closed
//! ```
//!
//! A closed stream is forgotten once the caller has released all its DATA
//! bytes; frames that still arrive for it are ignored (§5.1: frames in
//! flight after a RST_STREAM), though their header blocks are decoded to
//! keep HPACK in step and their DATA is credited back to the connection.
//!
//! # Flow control (§5.2, §6.9)
//!
//! Receiving: every DATA byte counts against the stream's and the
//! connection's windows; the session sends WINDOW_UPDATE only for bytes the
//! caller hands back with [`Session::release`], once half a window's worth
//! is pending. A caller that stops releasing stops the server: that is the
//! backpressure. Padding and DATA for streams nobody reads are credited
//! back by the session itself.
//!
//! Sending: [`Session::send_data`] takes what the server's windows allow
//! and says how much; when a WINDOW_UPDATE (or a larger
//! SETTINGS_INITIAL_WINDOW_SIZE) opens a window for a stream that was
//! held back, [`Event::SendCapacity`] says so. Windows can go negative when
//! the server lowers SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2).
//!
//! # Errors
//!
//! A stream error (§5.4.2) queues RST_STREAM, closes that stream and is
//! reported as [`Event::StreamError`]; the connection goes on. A connection
//! error (§5.4.1) queues GOAWAY with its code, closes the session, and is
//! what [`Session::recv`] returns; every open stream ends with it.

mod headers;
mod stream;

use http::header::HeaderName;
use http::{HeaderMap, Method, StatusCode};

pub use headers::{ExtraFields, RequestHead};

use self::headers::{HeadBuilder, request_fields};
use self::stream::{
    MAX_WINDOW, RecvHalf, RecvWindow, ResponsePhase, SendHalf, Stream, StreamState,
};
use super::error::{ErrorCode, H2Error, SendError, Violation};
use super::frame::{
    self, DEFAULT_MAX_FRAME_SIZE, Frame, FrameType, HEAD_LEN, Head, MAX_MAX_FRAME_SIZE, SettingId,
    SettingsParams,
};
use super::hpack::{self, Decoder, Encoder, Field};
use crate::h1::MAX_INTERIM_RESPONSES;
use crate::id_hash::IdMap;

use super::{
    DEFAULT_CONNECTION_WINDOW, DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_STREAM_WINDOW,
    HEADER_BLOCK_SLACK, MAX_EMPTY_FRAMES, MAX_HEADER_BLOCK_FRAMES, MAX_QUEUED_CONTROL_BYTES,
    MAX_STREAM_ID, StreamId, UNKNOWN_MAX_CONCURRENT_STREAMS,
};

/// The window both ends start with (§6.9.2), in bytes.
const INITIAL_WINDOW: u32 = 65_535;

/// Our side of the connection's configuration, sent in our SETTINGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// SETTINGS_INITIAL_WINDOW_SIZE: each stream's receive window, in bytes
    /// (at most 2^31−1). Default [`DEFAULT_STREAM_WINDOW`].
    pub stream_window: u32,
    /// The connection's receive window, opened with a WINDOW_UPDATE right
    /// after our SETTINGS, in bytes (65,535 up to 2^31−1). Default
    /// [`DEFAULT_CONNECTION_WINDOW`].
    pub connection_window: u32,
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload we accept, in
    /// bytes (2^14 up to 2^24−1). Default 16,384, the RFC's initial value.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the largest decoded response header
    /// list (name + value + 32 per field), in bytes. Default
    /// [`DEFAULT_MAX_HEADER_LIST_SIZE`].
    pub max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE: our HPACK decoder's dynamic table, in
    /// bytes. Default 4,096, the RFC's initial value.
    pub header_table_size: u32,
    /// Most regular fields in a response head or trailers (pseudo-headers
    /// not counted); more is a stream error. Default
    /// [`crate::DEFAULT_MAX_HEADERS`].
    pub max_headers: usize,
    /// Most body bytes (DATA, padding excluded) one stream may carry, in
    /// bytes. A stream is never granted flow-control credit beyond one byte
    /// more than this (the byte that tells a body too large from one that
    /// fits), its SETTINGS_INITIAL_WINDOW_SIZE is lowered to fit, and a
    /// `content-length` or DATA beyond it is a stream error
    /// ([`Violation::BodyTooLarge`], RST_STREAM CANCEL). Default
    /// `u64::MAX`: no limit.
    pub max_body_size: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stream_window: DEFAULT_STREAM_WINDOW,
            connection_window: DEFAULT_CONNECTION_WINDOW,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            header_table_size: hpack::DEFAULT_HEADER_TABLE_SIZE,
            max_headers: crate::h1::DEFAULT_MAX_HEADERS,
            max_body_size: u64::MAX,
        }
    }
}

impl Settings {
    /// The settings with every value brought into the range RFC 9113
    /// allows.
    fn clamped(self) -> Self {
        // The window a stream starts with need not hold more than the
        // body may (plus the byte that shows it is too large).
        let body_cap = u32::try_from(self.max_body_size.saturating_add(1)).unwrap_or(u32::MAX);
        Settings {
            stream_window: self.stream_window.min(MAX_WINDOW as u32).min(body_cap),
            connection_window: self
                .connection_window
                .clamp(INITIAL_WINDOW, MAX_WINDOW as u32),
            max_frame_size: self
                .max_frame_size
                .clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE),
            ..self
        }
    }
}

/// The server's settings as they stand (RFC 9113 §6.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSettings {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: how many streams we may have open.
    /// `UNKNOWN_MAX_CONCURRENT_STREAMS` (100) until the server's first
    /// SETTINGS; `u32::MAX` when its SETTINGS set no limit.
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window, in bytes.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame we may send, in bytes.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the largest request header list the
    /// server takes, in bytes; `None` when unlimited.
    pub max_header_list_size: Option<u32>,
    /// SETTINGS_HEADER_TABLE_SIZE: the most our HPACK encoder may use.
    pub header_table_size: u32,
    /// Whether the server's first SETTINGS has arrived.
    pub received: bool,
}

impl Default for PeerSettings {
    fn default() -> Self {
        PeerSettings {
            max_concurrent_streams: UNKNOWN_MAX_CONCURRENT_STREAMS,
            initial_window_size: INITIAL_WINDOW,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: None,
            header_table_size: hpack::DEFAULT_HEADER_TABLE_SIZE,
            received: false,
        }
    }
}

/// What happened, as [`Session::recv`] reports it. Borrowed data lives in
/// the bytes handed to `recv` (or the session's buffer for a frame split
/// across reads).
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The server's SETTINGS were applied (and acknowledged): the
    /// concurrency limit or the windows may have changed.
    Settings(PeerSettings),
    /// An informational (1xx) head; the final one follows.
    Informational {
        /// The stream.
        stream: StreamId,
        /// 100, 102, 103, ...
        status: StatusCode,
        /// Its fields.
        headers: HeaderMap,
    },
    /// The final response head.
    Response {
        /// The stream.
        stream: StreamId,
        /// The status.
        status: StatusCode,
        /// The fields (pseudo-headers removed).
        headers: HeaderMap,
        /// The response has no body: the stream's receiving side is done.
        end_stream: bool,
    },
    /// Body bytes, padding removed. Call [`Session::release`] with
    /// `data.len()` once they are consumed, or the server stops sending.
    Data {
        /// The stream.
        stream: StreamId,
        /// The bytes; may be empty when only `end_stream` is news.
        data: &'a [u8],
        /// The body is complete.
        end_stream: bool,
    },
    /// Trailer fields; the body is complete.
    Trailers {
        /// The stream.
        stream: StreamId,
        /// The fields.
        headers: HeaderMap,
    },
    /// The server reset the stream with RST_STREAM (other than
    /// REFUSED_STREAM); the response is incomplete.
    Reset {
        /// The stream.
        stream: StreamId,
        /// The server's code.
        code: ErrorCode,
    },
    /// The server did not process this stream: RST_STREAM with
    /// REFUSED_STREAM (§8.7) or a GOAWAY whose last stream id is below it
    /// (§6.8). Retrying on another connection is safe, whatever the method.
    Refused {
        /// The stream.
        stream: StreamId,
    },
    /// The server broke a rule on this stream; the session sent RST_STREAM
    /// with `error.code()` and closed the stream. Other streams go on.
    StreamError {
        /// The stream.
        stream: StreamId,
        /// What the server did.
        error: H2Error,
    },
    /// The server is shutting the connection down (§6.8): no new streams;
    /// streams up to `last_stream_id` may complete, those above were
    /// reported as [`Event::Refused`] right after this event.
    GoAway {
        /// The last stream the server may process.
        last_stream_id: StreamId,
        /// Why (`NO_ERROR` for a graceful shutdown).
        code: ErrorCode,
        /// The server's diagnostic bytes.
        debug_data: &'a [u8],
    },
    /// A stream that [`Session::send_data`] held back can send again.
    SendCapacity {
        /// The stream.
        stream: StreamId,
    },
    /// The answer to our [`Session::ping`].
    PingAck {
        /// The payload we sent.
        payload: [u8; 8],
    },
}

/// A header block being gathered from HEADERS and CONTINUATION frames.
#[derive(Debug)]
struct PendingBlock {
    stream: StreamId,
    end_stream: bool,
    buf: Vec<u8>,
    frames: usize,
}

/// What a DATA frame does to a known stream.
enum DataOutcome {
    /// The stream no longer reads: credit the connection and move on.
    Ignore,
    /// A stream error.
    Error(Violation),
    /// Hand the data out.
    Deliver {
        /// A WINDOW_UPDATE for the stream, for the padding given back.
        padding_update: Option<u32>,
        /// The stream is now closed.
        closed: bool,
    },
}

/// What a header block does to a known stream.
enum BlockOutcome {
    /// The stream no longer reads.
    Ignore,
    /// A stream error.
    Error(Violation),
    /// Report the event; the flag says the stream is now closed.
    Deliver(BlockEvent, bool),
}

/// The event a header block makes, before its stream is attached.
enum BlockEvent {
    Informational {
        status: StatusCode,
        headers: HeaderMap,
    },
    Response {
        status: StatusCode,
        headers: HeaderMap,
        end_stream: bool,
    },
    Trailers {
        headers: HeaderMap,
    },
}

impl BlockEvent {
    fn for_stream(self, stream: StreamId) -> Event<'static> {
        match self {
            BlockEvent::Informational { status, headers } => Event::Informational {
                stream,
                status,
                headers,
            },
            BlockEvent::Response {
                status,
                headers,
                end_stream,
            } => Event::Response {
                stream,
                status,
                headers,
                end_stream,
            },
            BlockEvent::Trailers { headers } => Event::Trailers { stream, headers },
        }
    }
}

/// Where a stream id stands.
enum Lookup {
    /// A stream we track that is not closed.
    Known,
    /// A stream we opened that is closed: forgotten, or kept only while the
    /// caller holds unreleased bytes (which must not change how frames for
    /// it are handled).
    Forgotten,
    /// A stream we never opened: idle, or even (server-initiated).
    Idle,
}

/// The client side of one HTTP/2 connection. The module docs draw its streams
/// and explain its flow control and errors.
#[derive(Debug)]
pub struct Session {
    settings: Settings,
    peer: PeerSettings,
    /// Bytes to write, in order.
    out: Vec<u8>,
    /// Control frames (acknowledgements, PING answers, resets) queued
    /// since the caller last took `out`.
    queued_control: usize,
    /// Requests whose HEADERS (ending their streams: no body follows) were
    /// queued since the caller last took `out`, and their bytes: when these
    /// are all of `out`, nothing else waits (see
    /// [`queued_requests_alone`](Session::queued_requests_alone)).
    queued_requests: usize,
    queued_request_bytes: usize,
    /// The start of a frame split across reads.
    partial: Vec<u8>,
    /// Our SETTINGS frames not yet acknowledged.
    settings_unacked: u32,
    encoder: Encoder,
    decoder: Decoder,
    /// Scratch space for request header blocks.
    block_buf: Vec<u8>,
    /// Scratch list of a response head's fields, kept between blocks.
    head_fields: Vec<(HeaderName, usize, usize)>,
    block: Option<PendingBlock>,
    /// Every stream not yet forgotten, by id (ids are ours: the server's
    /// are looked up, never inserted).
    streams: IdMap<u32, Stream>,
    /// Scratch list of streams that may send again (reused).
    ready_scratch: Vec<u32>,
    /// Streams not closed.
    active: usize,
    next_stream_id: u32,
    send_window: i64,
    recv_window: RecvWindow,
    empty_frames: usize,
    goaway_received: Option<(StreamId, ErrorCode)>,
    goaway_sent: bool,
    error: Option<H2Error>,
}

impl Session {
    /// A session that has queued the client preface, our SETTINGS
    /// (ENABLE_PUSH 0, MAX_CONCURRENT_STREAMS 0, INITIAL_WINDOW_SIZE,
    /// MAX_HEADER_LIST_SIZE, and MAX_FRAME_SIZE and HEADER_TABLE_SIZE when
    /// not the RFC's initial values) and the WINDOW_UPDATE that opens the
    /// connection window (RFC 9113 §3.4). Values out of the RFC's ranges
    /// are clamped into them.
    pub fn new(settings: Settings) -> Session {
        let settings = settings.clamped();
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(frame::PREFACE);
        let mut params = vec![
            (SettingId::EnablePush, 0),
            // Push is off, so the server may open no streams at all.
            (SettingId::MaxConcurrentStreams, 0),
            (SettingId::InitialWindowSize, settings.stream_window),
            (SettingId::MaxHeaderListSize, settings.max_header_list_size),
        ];
        if settings.max_frame_size != DEFAULT_MAX_FRAME_SIZE {
            params.push((SettingId::MaxFrameSize, settings.max_frame_size));
        }
        if settings.header_table_size != hpack::DEFAULT_HEADER_TABLE_SIZE {
            params.push((SettingId::HeaderTableSize, settings.header_table_size));
        }
        frame::encode_settings(&mut out, &params);
        if settings.connection_window > INITIAL_WINDOW {
            frame::encode_window_update(
                &mut out,
                StreamId::ZERO,
                settings.connection_window - INITIAL_WINDOW,
            );
        }
        Session {
            settings,
            peer: PeerSettings::default(),
            out,
            queued_control: 0,
            queued_requests: 0,
            queued_request_bytes: 0,
            partial: Vec::new(),
            settings_unacked: 1,
            encoder: Encoder::new(),
            decoder: Decoder::new(),
            block_buf: Vec::new(),
            head_fields: Vec::new(),
            block: None,
            streams: IdMap::default(),
            ready_scratch: Vec::new(),
            active: 0,
            next_stream_id: 1,
            send_window: i64::from(INITIAL_WINDOW),
            recv_window: RecvWindow::new(settings.connection_window, settings.connection_window),
            empty_frames: 0,
            goaway_received: None,
            goaway_sent: false,
            error: None,
        }
    }

    // ----- getters -------------------------------------------------------

    /// Our settings, as sent.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The server's settings as they stand.
    pub fn peer_settings(&self) -> &PeerSettings {
        &self.peer
    }

    /// How many streams may be open at once now: the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS (100 until its first SETTINGS).
    pub fn max_concurrent_streams(&self) -> u32 {
        self.peer.max_concurrent_streams
    }

    /// Streams opened and not yet closed.
    pub fn open_streams(&self) -> usize {
        self.active
    }

    /// Stream ids left before 2^31−1 is reached (§5.1.1); at 0 the caller
    /// must move to a new connection.
    pub fn streams_left(&self) -> u32 {
        if self.next_stream_id > MAX_STREAM_ID {
            0
        } else {
            (MAX_STREAM_ID - self.next_stream_id) / 2 + 1
        }
    }

    /// Whether [`send_request`](Self::send_request) would open a stream now:
    /// not closed, no GOAWAY, ids left, below the concurrency limit.
    pub fn can_open_stream(&self) -> bool {
        self.error.is_none()
            && self.goaway_received.is_none()
            && !self.goaway_sent
            && self.streams_left() > 0
            && self.active < self.peer.max_concurrent_streams as usize
    }

    /// The GOAWAY received, if any: last stream id and code.
    pub fn goaway_received(&self) -> Option<(StreamId, ErrorCode)> {
        self.goaway_received
    }

    /// The connection error that closed the session, if any.
    pub fn error(&self) -> Option<&H2Error> {
        self.error.as_ref()
    }

    /// Whether a connection error closed the session.
    pub fn is_closed(&self) -> bool {
        self.error.is_some()
    }

    /// Whether the server has acknowledged our SETTINGS.
    pub fn settings_acknowledged(&self) -> bool {
        self.settings_unacked == 0
    }

    /// How many bytes [`send_data`](Self::send_data) would take on `stream`
    /// now: the smaller of the stream's and the connection's send windows,
    /// 0 if the stream cannot send.
    pub fn send_capacity(&self, stream: StreamId) -> usize {
        let window = match self.streams.get(&stream.get()).map(|s| &s.state) {
            Some(StreamState::Open { send, .. } | StreamState::HalfClosedRemote { send }) => {
                send.window
            }
            _ => return 0,
        };
        window.min(self.send_window).max(0) as usize
    }

    /// Whether bytes are waiting in [`data_to_send`](Self::data_to_send).
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Moves the bytes to write onto the end of `buf`. Call it when the
    /// transport can take them: the flood limits count control frames
    /// queued since the last call.
    pub fn data_to_send(&mut self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            std::mem::swap(buf, &mut self.out);
        } else {
            buf.append(&mut self.out);
        }
        self.queued_control = 0;
        self.queued_requests = 0;
        self.queued_request_bytes = 0;
    }

    /// How many requests wait in the output with nothing else: HEADERS
    /// that end their streams, queued since the last
    /// [`data_to_send`](Self::data_to_send), and no other frame (no
    /// acknowledgement, WINDOW_UPDATE, DATA or reset). 0 when the output is
    /// empty or holds anything else. The connection uses it to write a few
    /// requests at once while it is busy.
    pub fn queued_requests_alone(&self) -> usize {
        if self.queued_request_bytes == self.out.len() {
            self.queued_requests
        } else {
            0
        }
    }

    // ----- sending -------------------------------------------------------

    /// Opens a stream with a request head, as HEADERS (plus CONTINUATION
    /// frames when the block exceeds the server's maximum frame size).
    /// With `end_stream`, the request has no body.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`], [`SendError::GoingAway`],
    /// [`SendError::StreamIdsExhausted`], [`SendError::ConcurrencyLimit`]
    /// or [`SendError::HeaderListTooLarge`]; nothing is queued then.
    pub fn send_request(
        &mut self,
        head: &RequestHead<'_>,
        end_stream: bool,
    ) -> Result<StreamId, SendError> {
        self.send_request_with(head, None, end_stream)
    }

    /// [`send_request`](Self::send_request) with fields after the
    /// request's own: a client's defaults and what it adds (see
    /// [`ExtraFields`]).
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request).
    pub fn send_request_with<'a>(
        &mut self,
        head: &RequestHead<'a>,
        extra: Option<ExtraFields<'a>>,
        end_stream: bool,
    ) -> Result<StreamId, SendError> {
        if self.error.is_some() {
            return Err(SendError::Closed);
        }
        if self.goaway_received.is_some() || self.goaway_sent {
            return Err(SendError::GoingAway);
        }
        if self.streams_left() == 0 {
            return Err(SendError::StreamIdsExhausted);
        }
        if self.active >= self.peer.max_concurrent_streams as usize {
            return Err(SendError::ConcurrencyLimit {
                limit: self.peer.max_concurrent_streams,
            });
        }
        // The pseudo-headers, the request's fields, and at most every
        // default and added field: one allocation.
        let extra_len = extra.map_or(0, |e| e.defaults.len() + e.added.len());
        let mut fields: Vec<Field<'_>> = Vec::with_capacity(4 + head.headers.len() + extra_len);
        let size = request_fields(head, extra, &mut fields);
        if let Some(limit) = self.peer.max_header_list_size {
            if size > limit as usize {
                return Err(SendError::HeaderListTooLarge { size, limit });
            }
        }
        let id = StreamId::new(self.next_stream_id);
        self.next_stream_id += 2;
        self.block_buf.clear();
        self.encoder.encode(fields, &mut self.block_buf);
        let before = self.out.len();
        frame::encode_headers(
            &mut self.out,
            id,
            &self.block_buf,
            end_stream,
            self.peer.max_frame_size,
        );
        if end_stream {
            self.queued_requests += 1;
            self.queued_request_bytes += self.out.len() - before;
        }
        // Credit beyond the initial window, up to one byte past the body limit.
        let budget = self
            .settings
            .max_body_size
            .saturating_add(1)
            .saturating_sub(u64::from(self.settings.stream_window));
        let recv = RecvHalf {
            window: RecvWindow::with_budget(
                self.settings.stream_window,
                self.settings.stream_window,
                budget,
            ),
            response: ResponsePhase::AwaitingHead,
        };
        let state = if end_stream {
            StreamState::HalfClosedLocal { recv }
        } else {
            StreamState::Open {
                send: SendHalf {
                    window: i64::from(self.peer.initial_window_size),
                    blocked: false,
                },
                recv,
            }
        };
        self.streams.insert(
            id.get(),
            Stream {
                state,
                unreleased: 0,
                head_request: *head.method == Method::HEAD,
                informational: 0,
                max_body: self.settings.max_body_size,
            },
        );
        self.active += 1;
        Ok(id)
    }

    /// Queues request body bytes on `stream`, as much of `data` as the
    /// server's windows allow, in DATA frames no larger than its maximum
    /// frame size. `end_stream` is sent with the last byte, and only if all
    /// of `data` was taken (an empty `data` with `end_stream` always goes).
    ///
    /// Returns the bytes taken. Fewer than offered means a window is
    /// exhausted: [`Event::SendCapacity`] follows when it opens again.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`], or [`SendError::StreamNotWritable`] for a
    /// stream that is unknown, reset, or already ended its request.
    pub fn send_data(
        &mut self,
        stream: StreamId,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, SendError> {
        if self.error.is_some() {
            return Err(SendError::Closed);
        }
        let capacity = self.send_capacity(stream);
        let conn_window = &mut self.send_window;
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            return Err(SendError::StreamNotWritable(stream));
        };
        let Some(send) = entry.send() else {
            return Err(SendError::StreamNotWritable(stream));
        };
        let taken = data.len().min(capacity);
        let end = end_stream && taken == data.len();
        send.blocked = taken < data.len();
        send.window -= taken as i64;
        *conn_window -= taken as i64;
        let body = data.get(..taken).unwrap_or_default();
        let max = self.peer.max_frame_size as usize;
        if body.is_empty() {
            if end {
                frame::encode_data(&mut self.out, stream, &[], true);
            }
        } else {
            let mut chunks = body.chunks(max).peekable();
            while let Some(chunk) = chunks.next() {
                let last = chunks.peek().is_none();
                frame::encode_data(&mut self.out, stream, chunk, end && last);
            }
        }
        if end {
            entry.close_send();
            if entry.is_closed() {
                self.on_closed(stream);
            }
        }
        Ok(taken)
    }

    /// Sets the most body bytes `stream` may carry, in place of
    /// [`Settings::max_body_size`] (a client sending a body somewhere other
    /// than memory lifts the limit with `u64::MAX`); the credit its window
    /// may still be granted moves by as much. Unknown streams are left
    /// alone.
    pub fn set_max_body_size(&mut self, stream: StreamId, limit: u64) {
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            return;
        };
        let before = entry.max_body;
        entry.max_body = limit;
        if let Some(recv) = entry.recv() {
            recv.window.budget = if limit >= before {
                recv.window.budget.saturating_add(limit - before)
            } else {
                recv.window.budget.saturating_sub(before - limit)
            };
        }
    }

    /// Returns `n` consumed DATA bytes of `stream` to the flow-control
    /// windows; WINDOW_UPDATE frames go out once half a window is pending.
    ///
    /// Release every byte of every [`Event::Data`], also after the stream
    /// ended or was reset: until then the bytes count against the
    /// connection window. More than was received is ignored.
    pub fn release(&mut self, stream: StreamId, n: usize) {
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            return;
        };
        let n = u32::try_from(n).unwrap_or(u32::MAX).min(entry.unreleased);
        entry.unreleased -= n;
        if let Some(recv) = entry.recv() {
            if let Some(increment) = recv.window.release(n) {
                frame::encode_window_update(&mut self.out, stream, increment);
            }
        }
        let forget = entry.is_closed() && entry.unreleased == 0;
        if forget {
            self.streams.remove(&stream.get());
        }
        self.release_connection(n);
    }

    /// Credits `n` bytes to the connection's receive window.
    fn release_connection(&mut self, n: u32) {
        if let Some(increment) = self.recv_window.release(n) {
            frame::encode_window_update(&mut self.out, StreamId::ZERO, increment);
        }
    }

    /// Resets `stream` with RST_STREAM and `code` (CANCEL when the caller
    /// gave up on the response). Unknown or closed streams are left alone.
    pub fn reset(&mut self, stream: StreamId, code: ErrorCode) {
        if self.error.is_some() {
            return;
        }
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            return;
        };
        if entry.is_closed() {
            return;
        }
        entry.state = StreamState::Closed;
        frame::encode_rst_stream(&mut self.out, stream, code);
        self.on_closed(stream);
    }

    /// Queues GOAWAY with `code` (NO_ERROR for a graceful close): no new
    /// streams; open ones may finish. The last stream id is 0, since the
    /// server opened none.
    pub fn goaway(&mut self, code: ErrorCode) {
        if self.error.is_some() {
            return;
        }
        self.goaway_sent = true;
        frame::encode_goaway(&mut self.out, StreamId::ZERO, code, &[]);
    }

    /// Queues a PING with `payload`; [`Event::PingAck`] brings it back. A
    /// liveness check for an idle connection.
    pub fn ping(&mut self, payload: [u8; 8]) {
        if self.error.is_none() {
            frame::encode_ping(&mut self.out, false, payload);
        }
    }

    // ----- receiving -----------------------------------------------------

    /// Feeds bytes read from the transport, calling `on_event` for each
    /// event in order. Whole frames are handled straight from `input`
    /// (DATA payloads are handed out without a copy); only a frame split
    /// across reads is buffered.
    ///
    /// # Errors
    ///
    /// A connection error ([`H2Error::Connection`]): GOAWAY with its code is
    /// queued, the session is closed, and every later call returns the
    /// same error. Stream errors are events, not errors.
    pub fn recv(
        &mut self,
        input: &[u8],
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<(), H2Error> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        match self.recv_frames(input, &mut on_event) {
            Ok(()) => Ok(()),
            Err(error) => {
                frame::encode_goaway(&mut self.out, StreamId::ZERO, error.code(), &[]);
                self.error = Some(error.clone());
                Err(error)
            }
        }
    }

    fn recv_frames(
        &mut self,
        mut input: &[u8],
        on_event: &mut impl FnMut(Event<'_>),
    ) -> Result<(), H2Error> {
        if !self.partial.is_empty() {
            // Complete the buffered frame: its head first, then its payload.
            if self.partial.len() < HEAD_LEN {
                let take = (HEAD_LEN - self.partial.len()).min(input.len());
                let (head, rest) = input.split_at(take);
                self.partial.extend_from_slice(head);
                input = rest;
            }
            let Some(head) = Head::parse(&self.partial) else {
                return Ok(());
            };
            self.check_preface(&head, &self.partial)?;
            frame::check_size(&head, self.settings.max_frame_size)?;
            let want = HEAD_LEN + head.len as usize - self.partial.len();
            let take = want.min(input.len());
            let (payload, rest) = input.split_at(take);
            self.partial.extend_from_slice(payload);
            input = rest;
            if take < want {
                return Ok(());
            }
            let buffered = std::mem::take(&mut self.partial);
            let result = self.on_frame(
                &head,
                buffered.get(HEAD_LEN..).unwrap_or_default(),
                on_event,
            );
            // Keep the allocation for the next split frame.
            self.partial = buffered;
            self.partial.clear();
            result?;
        }
        while !input.is_empty() {
            let Some(head) = Head::parse(input) else {
                self.partial.extend_from_slice(input);
                return Ok(());
            };
            self.check_preface(&head, input)?;
            frame::check_size(&head, self.settings.max_frame_size)?;
            let end = HEAD_LEN + head.len as usize;
            let Some(payload) = input.get(HEAD_LEN..end) else {
                self.partial.extend_from_slice(input);
                return Ok(());
            };
            self.on_frame(&head, payload, on_event)?;
            input = input.get(end..).unwrap_or_default();
        }
        Ok(())
    }

    /// Before the server's SETTINGS, a frame head that is not one (§3.4)
    /// is an error, checked before the frame's size so that an HTTP/1.x
    /// answer (`HTTP/1.1 400 …` read as a frame head) is named as such
    /// rather than as an oversized frame. Only the nine bytes of the head
    /// are quoted, so the message is the same however the input was split.
    fn check_preface(&self, head: &Head, start: &[u8]) -> Result<(), H2Error> {
        if self.peer.received || (head.kind == FrameType::Settings && !head.has(frame::FLAG_ACK)) {
            return Ok(());
        }
        let bytes = start.get(..HEAD_LEN).unwrap_or(start);
        if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(H2Error::conn(Violation::NotHttp2 {
                start: String::from_utf8_lossy(bytes).trim_end().to_owned(),
            }));
        }
        Err(H2Error::conn(Violation::PrefaceNotSettings {
            frame: head.kind.name(),
        }))
    }

    /// Handles one whole frame.
    fn on_frame<'a>(
        &mut self,
        head: &Head,
        payload: &'a [u8],
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        // §6.10: nothing may come between a header block's frames.
        if let Some(block) = &self.block {
            if head.kind != FrameType::Continuation || head.stream != block.stream {
                return Err(H2Error::conn(Violation::ExpectedContinuation {
                    frame: head.kind.name(),
                    stream: head.stream,
                }));
            }
        }
        // §3.4: the server's preface is a SETTINGS frame.
        if !self.peer.received && (head.kind != FrameType::Settings || head.has(frame::FLAG_ACK)) {
            return Err(H2Error::conn(Violation::PrefaceNotSettings {
                frame: head.kind.name(),
            }));
        }
        let frame = match frame::parse_payload(head, payload) {
            Ok(frame) => frame,
            Err(H2Error::Stream { stream, what }) => {
                return self.on_stream_frame_error(stream, what, on_event);
            }
            Err(error) => return Err(error),
        };
        match frame {
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => self.on_data(stream, data, end_stream, flow_len, on_event),
            Frame::Headers {
                stream,
                fragment,
                end_stream,
                end_headers,
            } => self.on_headers(stream, fragment, end_stream, end_headers, on_event),
            Frame::Continuation {
                stream,
                fragment,
                end_headers,
            } => self.on_continuation(stream, fragment, end_headers, on_event),
            Frame::Priority { .. } | Frame::Unknown { .. } => Ok(()),
            Frame::RstStream { stream, code } => self.on_rst_stream(stream, code, on_event),
            Frame::Settings { ack, params } => self.on_settings(ack, params, on_event),
            Frame::PushPromise { .. } => Err(H2Error::conn(Violation::PushPromise)),
            Frame::Ping { ack, payload } => {
                if ack {
                    on_event(Event::PingAck { payload });
                } else {
                    frame::encode_ping(&mut self.out, true, payload);
                    self.count_control(HEAD_LEN + 8)?;
                }
                Ok(())
            }
            Frame::GoAway {
                last_stream_id,
                code,
                debug_data,
            } => {
                self.on_goaway(last_stream_id, code, debug_data, on_event);
                Ok(())
            }
            Frame::WindowUpdate { stream, increment } => {
                self.on_window_update(stream, increment, on_event)
            }
        }
    }

    /// A stream error found by the frame parser: for a stream we never
    /// opened it is a connection error (§5.1, idle).
    fn on_stream_frame_error<'a>(
        &mut self,
        stream: StreamId,
        what: Violation,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        match self.lookup(stream) {
            Lookup::Idle => Err(H2Error::conn(what)),
            Lookup::Forgotten => Ok(()),
            Lookup::Known => self.stream_error(stream, what, on_event),
        }
    }

    fn lookup(&self, stream: StreamId) -> Lookup {
        let id = stream.get();
        if let Some(entry) = self.streams.get(&id) {
            if entry.is_closed() {
                Lookup::Forgotten
            } else {
                Lookup::Known
            }
        } else if id % 2 == 1 && id < self.next_stream_id {
            Lookup::Forgotten
        } else {
            Lookup::Idle
        }
    }

    /// Counts `len` bytes of control frames queued in answer to the server;
    /// too many unread is a flood.
    fn count_control(&mut self, len: usize) -> Result<(), H2Error> {
        self.queued_control += len;
        if self.queued_control > MAX_QUEUED_CONTROL_BYTES {
            return Err(H2Error::conn(Violation::ControlFlood {
                limit: MAX_QUEUED_CONTROL_BYTES,
            }));
        }
        Ok(())
    }

    /// Counts a frame that carried nothing; too many in a row is a flood.
    fn count_empty(&mut self, empty: bool) -> Result<(), H2Error> {
        if !empty {
            self.empty_frames = 0;
            return Ok(());
        }
        self.empty_frames += 1;
        if self.empty_frames > MAX_EMPTY_FRAMES {
            return Err(H2Error::conn(Violation::EmptyFrameFlood {
                limit: MAX_EMPTY_FRAMES,
            }));
        }
        Ok(())
    }

    /// Resets `stream` for a rule the server broke and reports it.
    fn stream_error<'a>(
        &mut self,
        stream: StreamId,
        what: Violation,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        let error = H2Error::stream_err(stream, what);
        frame::encode_rst_stream(&mut self.out, stream, error.code());
        self.count_control(HEAD_LEN + 4)?;
        if let Some(entry) = self.streams.get_mut(&stream.get()) {
            if !entry.is_closed() {
                entry.state = StreamState::Closed;
                self.on_closed(stream);
            }
        }
        on_event(Event::StreamError { stream, error });
        Ok(())
    }

    /// Bookkeeping once `stream` has moved to closed.
    fn on_closed(&mut self, stream: StreamId) {
        self.active = self.active.saturating_sub(1);
        if self
            .streams
            .get(&stream.get())
            .is_some_and(|s| s.unreleased == 0)
        {
            self.streams.remove(&stream.get());
        }
    }

    fn on_data<'a>(
        &mut self,
        stream: StreamId,
        data: &'a [u8],
        end_stream: bool,
        flow_len: u32,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        self.recv_window.consume(flow_len).map_err(H2Error::conn)?;
        // Padding alone carries nothing either.
        self.count_empty(data.is_empty() && !end_stream)?;
        let padding = flow_len.saturating_sub(data.len() as u32);
        match self.lookup(stream) {
            Lookup::Idle => {
                return Err(H2Error::conn(Violation::IdleStream {
                    frame: "DATA",
                    stream,
                }));
            }
            Lookup::Forgotten => {
                self.release_connection(flow_len);
                return Ok(());
            }
            Lookup::Known => {}
        }
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            return Ok(());
        };
        let max_body = entry.max_body;
        let outcome = Self::take_data(entry, data.len(), end_stream, flow_len, max_body);
        match outcome {
            DataOutcome::Ignore => {
                self.release_connection(flow_len);
                Ok(())
            }
            DataOutcome::Error(what) => {
                self.release_connection(flow_len);
                self.stream_error(stream, what, on_event)
            }
            DataOutcome::Deliver {
                padding_update,
                closed,
            } => {
                if let Some(increment) = padding_update {
                    frame::encode_window_update(&mut self.out, stream, increment);
                }
                // Padding is ours to give back; the data is the caller's.
                self.release_connection(padding);
                if !data.is_empty() || end_stream {
                    on_event(Event::Data {
                        stream,
                        data,
                        end_stream,
                    });
                }
                if closed {
                    self.on_closed(stream);
                }
                Ok(())
            }
        }
    }

    /// Applies a DATA frame's bytes to a known stream's state.
    fn take_data(
        entry: &mut Stream,
        data_len: usize,
        end_stream: bool,
        flow_len: u32,
        max_body: u64,
    ) -> DataOutcome {
        let Some(recv) = entry.recv() else {
            return if entry.is_closed() {
                // Reset by us, or ended while the caller still holds
                // bytes: frames in flight, ignored (§5.1).
                DataOutcome::Ignore
            } else {
                DataOutcome::Error(Violation::StreamClosed { frame: "DATA" })
            };
        };
        if let Err(what) = recv.window.consume(flow_len) {
            return DataOutcome::Error(what);
        }
        match &mut recv.response {
            ResponsePhase::AwaitingHead => return DataOutcome::Error(Violation::DataBeforeHeaders),
            ResponsePhase::Body {
                content_length,
                received,
            } => {
                *received = received.saturating_add(data_len as u64);
                if *received > max_body {
                    return DataOutcome::Error(Violation::BodyTooLarge { limit: max_body });
                }
                if let Some(declared) = *content_length {
                    // §8.1.1: more than declared, or less at the end.
                    if *received > declared || (end_stream && *received != declared) {
                        return DataOutcome::Error(Violation::ContentLengthMismatch {
                            declared,
                            received: *received,
                        });
                    }
                }
            }
        }
        let padding = flow_len.saturating_sub(data_len as u32);
        let padding_update = recv.window.release(padding);
        entry.unreleased = entry.unreleased.saturating_add(data_len as u32);
        if end_stream {
            entry.close_recv();
        }
        DataOutcome::Deliver {
            padding_update,
            closed: entry.is_closed(),
        }
    }

    fn header_block_limit(&self) -> usize {
        (self.settings.max_header_list_size as usize)
            .saturating_mul(2)
            .saturating_add(HEADER_BLOCK_SLACK)
    }

    fn on_headers<'a>(
        &mut self,
        stream: StreamId,
        fragment: &'a [u8],
        end_stream: bool,
        end_headers: bool,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        if let Lookup::Idle = self.lookup(stream) {
            return Err(H2Error::conn(Violation::IdleStream {
                frame: "HEADERS",
                stream,
            }));
        }
        self.count_empty(fragment.is_empty() && !end_headers && !end_stream)?;
        if end_headers {
            return self.on_header_block(stream, fragment, end_stream, on_event);
        }
        let limit = self.header_block_limit();
        if fragment.len() > limit {
            return Err(H2Error::conn(Violation::HeaderBlockTooLarge { limit }));
        }
        self.block = Some(PendingBlock {
            stream,
            end_stream,
            buf: fragment.to_vec(),
            frames: 1,
        });
        Ok(())
    }

    fn on_continuation<'a>(
        &mut self,
        stream: StreamId,
        fragment: &'a [u8],
        end_headers: bool,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        let limit = self.header_block_limit();
        let Some(block) = self.block.as_mut().filter(|b| b.stream == stream) else {
            return Err(H2Error::conn(Violation::UnexpectedContinuation));
        };
        block.frames += 1;
        if block.frames > MAX_HEADER_BLOCK_FRAMES {
            return Err(H2Error::conn(Violation::TooManyContinuations {
                limit: MAX_HEADER_BLOCK_FRAMES - 1,
            }));
        }
        if block.buf.len().saturating_add(fragment.len()) > limit {
            return Err(H2Error::conn(Violation::HeaderBlockTooLarge { limit }));
        }
        block.buf.extend_from_slice(fragment);
        self.count_empty(fragment.is_empty() && !end_headers)?;
        if !end_headers {
            return Ok(());
        }
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        self.on_header_block(block.stream, &block.buf, block.end_stream, on_event)
    }

    /// Decodes a whole header block (always: HPACK state is shared) and
    /// applies it to its stream as a head, an informational head or
    /// trailers (§8.1).
    fn on_header_block<'a>(
        &mut self,
        stream: StreamId,
        block: &[u8],
        end_stream: bool,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        let limit = self.settings.max_header_list_size as usize;
        let phase = self
            .streams
            .get_mut(&stream.get())
            .and_then(|s| s.recv().map(|r| r.response));
        let trailers = matches!(phase, Some(ResponsePhase::Body { .. }));
        let scratch = std::mem::take(&mut self.head_fields);
        let max_headers = self.settings.max_headers;
        let mut builder = HeadBuilder::new(trailers, limit, max_headers, block.len(), scratch);
        let decoded = self
            .decoder
            .decode(block, |f| builder.field(f.name, f.value, f.static_name));
        builder.finish();
        self.head_fields = builder.take_scratch();
        decoded?;
        let Some(entry) = self.streams.get_mut(&stream.get()) else {
            // Forgotten: decoded for HPACK's sake only.
            return Ok(());
        };
        let max_body = entry.max_body;
        match Self::take_block(entry, builder, end_stream, max_body) {
            BlockOutcome::Ignore => Ok(()),
            BlockOutcome::Error(what) => self.stream_error(stream, what, on_event),
            BlockOutcome::Deliver(event, closed) => {
                on_event(event.for_stream(stream));
                if closed {
                    self.on_closed(stream);
                }
                self.count_empty(false)
            }
        }
    }

    /// Applies a decoded header block to a known stream's state (§8.1).
    fn take_block(
        entry: &mut Stream,
        mut builder: HeadBuilder,
        end_stream: bool,
        max_body: u64,
    ) -> BlockOutcome {
        let head_request = entry.head_request;
        let informational = &mut entry.informational;
        let recv = match &mut entry.state {
            StreamState::Open { recv, .. } | StreamState::HalfClosedLocal { recv } => Some(recv),
            _ => None,
        };
        let Some(recv) = recv else {
            return if entry.is_closed() {
                BlockOutcome::Ignore
            } else {
                BlockOutcome::Error(Violation::StreamClosed { frame: "HEADERS" })
            };
        };
        if let Some(what) = builder.error.take() {
            return BlockOutcome::Error(what);
        }
        let event = match recv.response {
            ResponsePhase::AwaitingHead => {
                let Some(status) = builder.status else {
                    return BlockOutcome::Error(Violation::MissingStatus);
                };
                if status == StatusCode::SWITCHING_PROTOCOLS {
                    // §8.6: HTTP/2 has no 101.
                    return BlockOutcome::Error(Violation::InvalidStatus(
                        status.as_str().to_owned(),
                    ));
                }
                if status.is_informational() {
                    if end_stream {
                        return BlockOutcome::Error(Violation::InformationalEndStream);
                    }
                    *informational += 1;
                    if *informational > MAX_INTERIM_RESPONSES {
                        return BlockOutcome::Error(Violation::TooManyInformational {
                            limit: MAX_INTERIM_RESPONSES,
                        });
                    }
                    return BlockOutcome::Deliver(
                        BlockEvent::Informational {
                            status,
                            headers: builder.headers,
                        },
                        false,
                    );
                }
                let content_length = match builder.content_length() {
                    Ok(length) => length,
                    Err(what) => return BlockOutcome::Error(what),
                };
                // HEAD, 204 and 304 responses carry no content whatever
                // content-length says (RFC 9110 §8.6).
                let no_content = head_request
                    || status == StatusCode::NO_CONTENT
                    || status == StatusCode::NOT_MODIFIED;
                let content_length = if no_content { None } else { content_length };
                if content_length.is_some_and(|declared| declared > max_body) {
                    return BlockOutcome::Error(Violation::BodyTooLarge { limit: max_body });
                }
                if let (true, Some(declared)) = (end_stream, content_length) {
                    if declared != 0 {
                        return BlockOutcome::Error(Violation::ContentLengthMismatch {
                            declared,
                            received: 0,
                        });
                    }
                }
                recv.response = ResponsePhase::Body {
                    content_length,
                    received: 0,
                };
                BlockEvent::Response {
                    status,
                    headers: builder.headers,
                    end_stream,
                }
            }
            ResponsePhase::Body {
                content_length,
                received,
            } => {
                if !end_stream {
                    return BlockOutcome::Error(Violation::TrailersWithoutEndStream);
                }
                if let Some(declared) = content_length.filter(|&d| d != received) {
                    return BlockOutcome::Error(Violation::ContentLengthMismatch {
                        declared,
                        received,
                    });
                }
                BlockEvent::Trailers {
                    headers: builder.headers,
                }
            }
        };
        if end_stream {
            entry.close_recv();
        }
        BlockOutcome::Deliver(event, entry.is_closed())
    }

    fn on_rst_stream<'a>(
        &mut self,
        stream: StreamId,
        code: ErrorCode,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        match self.lookup(stream) {
            Lookup::Idle => Err(H2Error::conn(Violation::IdleStream {
                frame: "RST_STREAM",
                stream,
            })),
            Lookup::Forgotten => Ok(()),
            Lookup::Known => {
                let Some(entry) = self.streams.get_mut(&stream.get()) else {
                    return Ok(());
                };
                if entry.is_closed() {
                    return Ok(());
                }
                entry.state = StreamState::Closed;
                self.on_closed(stream);
                on_event(if code == ErrorCode::REFUSED_STREAM {
                    Event::Refused { stream }
                } else {
                    Event::Reset { stream, code }
                });
                Ok(())
            }
        }
    }

    fn on_settings<'a>(
        &mut self,
        ack: bool,
        params: SettingsParams<'_>,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        if ack {
            if self.settings_unacked > 0 {
                self.settings_unacked -= 1;
                if self.settings_unacked == 0 {
                    self.decoder
                        .set_max_table_size(self.settings.header_table_size);
                }
            }
            return Ok(());
        }
        let first = !self.peer.received;
        self.peer.received = true;
        if first {
            // §6.5.2: no limit unless the server names one.
            self.peer.max_concurrent_streams = u32::MAX;
        }
        let mut window_grew = false;
        for (id, value) in params.iter() {
            match id {
                SettingId::HeaderTableSize => {
                    self.peer.header_table_size = value;
                    self.encoder.set_max_table_size(value);
                }
                SettingId::EnablePush if value != 0 => {
                    // §6.5.2: a client MUST treat 1 from a server as an error.
                    return Err(H2Error::conn(Violation::InvalidSetting {
                        name: "SETTINGS_ENABLE_PUSH",
                        value,
                    }));
                }
                SettingId::MaxConcurrentStreams => self.peer.max_concurrent_streams = value,
                SettingId::InitialWindowSize => {
                    let delta = i64::from(value) - i64::from(self.peer.initial_window_size);
                    self.peer.initial_window_size = value;
                    for entry in self.streams.values_mut() {
                        if let Some(send) = entry.send() {
                            send.window += delta;
                            if send.window > MAX_WINDOW {
                                // §6.9.2: a connection error.
                                return Err(H2Error::conn(Violation::WindowOverflow));
                            }
                        }
                    }
                    window_grew |= delta > 0;
                }
                SettingId::MaxFrameSize => self.peer.max_frame_size = value,
                SettingId::MaxHeaderListSize => self.peer.max_header_list_size = Some(value),
                SettingId::EnablePush | SettingId::Unknown(_) => {}
            }
        }
        frame::encode_settings_ack(&mut self.out);
        self.count_control(HEAD_LEN)?;
        on_event(Event::Settings(self.peer));
        if window_grew {
            self.announce_capacity(on_event);
        }
        Ok(())
    }

    fn on_goaway<'a>(
        &mut self,
        last_stream_id: StreamId,
        code: ErrorCode,
        debug_data: &'a [u8],
        on_event: &mut impl FnMut(Event<'a>),
    ) {
        self.goaway_received = Some(match self.goaway_received {
            // A later GOAWAY can only lower the last stream id (§6.8).
            Some((last, _)) if last < last_stream_id => (last, code),
            _ => (last_stream_id, code),
        });
        on_event(Event::GoAway {
            last_stream_id,
            code,
            debug_data,
        });
        let mut refused: Vec<u32> = self
            .streams
            .iter()
            .filter(|&(&id, s)| id > last_stream_id.get() && !s.is_closed())
            .map(|(&id, _)| id)
            .collect();
        // Oldest first, so that retries keep the order of submission.
        refused.sort_unstable();
        for id in refused {
            let stream = StreamId::new(id);
            if let Some(entry) = self.streams.get_mut(&id) {
                entry.state = StreamState::Closed;
            }
            self.on_closed(stream);
            on_event(Event::Refused { stream });
        }
    }

    fn on_window_update<'a>(
        &mut self,
        stream: StreamId,
        increment: u32,
        on_event: &mut impl FnMut(Event<'a>),
    ) -> Result<(), H2Error> {
        if stream.get() == 0 {
            self.send_window += i64::from(increment);
            if self.send_window > MAX_WINDOW {
                return Err(H2Error::conn(Violation::WindowOverflow));
            }
            self.announce_capacity(on_event);
            return Ok(());
        }
        match self.lookup(stream) {
            Lookup::Idle => Err(H2Error::conn(Violation::IdleStream {
                frame: "WINDOW_UPDATE",
                stream,
            })),
            Lookup::Forgotten => Ok(()),
            Lookup::Known => {
                let conn_open = self.send_window > 0;
                let Some(send) = self.streams.get_mut(&stream.get()).and_then(Stream::send) else {
                    return Ok(());
                };
                send.window += i64::from(increment);
                if send.window > MAX_WINDOW {
                    return self.stream_error(stream, Violation::WindowOverflow, on_event);
                }
                if send.blocked && send.window > 0 && conn_open {
                    send.blocked = false;
                    on_event(Event::SendCapacity { stream });
                }
                Ok(())
            }
        }
    }

    /// Reports every held-back stream that can send again.
    fn announce_capacity<'a>(&mut self, on_event: &mut impl FnMut(Event<'a>)) {
        if self.send_window <= 0 {
            return;
        }
        let mut ready = std::mem::take(&mut self.ready_scratch);
        for (&id, entry) in &mut self.streams {
            if let Some(send) = entry.send() {
                if send.blocked && send.window > 0 {
                    send.blocked = false;
                    ready.push(id);
                }
            }
        }
        // Oldest first, as the streams were opened.
        ready.sort_unstable();
        for id in ready.drain(..) {
            on_event(Event::SendCapacity {
                stream: StreamId::new(id),
            });
        }
        self.ready_scratch = ready;
    }

    /// Moves the next stream id close to exhaustion (tests only).
    #[cfg(test)]
    pub(crate) fn set_next_stream_id(&mut self, id: u32) {
        self.next_stream_id = id;
    }
}

#[cfg(test)]
mod tests;
