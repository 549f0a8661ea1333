//! HTTP/2 error codes (RFC 9113 §7) and what the peer did wrong.

use std::fmt;

use super::StreamId;
use super::hpack::HpackError;

/// An HTTP/2 error code (RFC 9113 §7), as carried by RST_STREAM and GOAWAY.
///
/// Codes this crate does not know are kept as they came; they mean
/// `INTERNAL_ERROR` to us (§7: "Unknown or unsupported error codes MUST NOT
/// trigger any special behavior").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Graceful shutdown, or a stream no longer needed without error.
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    /// An unspecific protocol error.
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    /// The endpoint hit an unexpected internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    /// The peer violated the flow-control protocol.
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    /// A SETTINGS frame was not acknowledged in time.
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    /// A frame arrived on a stream that was already half-closed.
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    /// A frame had an invalid size.
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    /// The stream was refused before any application processing: safe to
    /// retry (§8.7).
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    /// The stream is no longer needed.
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    /// The HPACK state cannot be maintained.
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    /// A CONNECT tunnel failed.
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    /// The peer behaves in a way that might generate excessive load.
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    /// The transport does not meet minimum security requirements.
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    /// The request must be retried over HTTP/1.1.
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC 9113 name of the code, or `None` for an unknown code.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        NAMES.get(usize::try_from(self.0).ok()?).copied()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown error code {:#x}", self.0),
        }
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What the server did that RFC 9113 (or one of our limits) does not
/// allow. [`Violation::code`] gives the error code it calls for; whether it
/// ends the stream or the connection is the [`H2Error`] variant around it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A frame longer than the SETTINGS_MAX_FRAME_SIZE we sent (§4.2).
    #[error("server sent a {frame} frame of {len} bytes, above the {max}-byte maximum we accept")]
    FrameTooLarge {
        /// The frame type's name.
        frame: &'static str,
        /// The frame's payload length, in bytes.
        len: u32,
        /// Our maximum frame size, in bytes.
        max: u32,
    },
    /// A frame whose payload length is wrong for its type (§6).
    #[error("server sent a {frame} frame with a {len}-byte payload, which must be {expected}")]
    BadFrameLength {
        /// The frame type's name.
        frame: &'static str,
        /// The payload length received, in bytes.
        len: u32,
        /// The rule, in words ("8 bytes", "a multiple of 6 bytes").
        expected: &'static str,
    },
    /// A frame type that belongs to a stream arrived on stream 0 (§6).
    #[error("server sent a {frame} frame on stream 0")]
    StreamZero {
        /// The frame type's name.
        frame: &'static str,
    },
    /// A connection-level frame type arrived on a stream (§6).
    #[error("server sent a {frame} frame on stream {stream}, not on stream 0")]
    NotStreamZero {
        /// The frame type's name.
        frame: &'static str,
        /// The stream it named.
        stream: StreamId,
    },
    /// The padding length is not less than the payload (§6.1, §6.2).
    #[error(
        "server sent a {frame} frame whose {pad}-byte padding does not fit its {len}-byte payload"
    )]
    PaddingTooLong {
        /// The frame type's name.
        frame: &'static str,
        /// The padding length announced.
        pad: u8,
        /// The payload length, in bytes.
        len: u32,
    },
    /// A SETTINGS parameter with a value RFC 9113 §6.5.2 forbids.
    #[error("server sent {name} = {value}, which is not allowed")]
    InvalidSetting {
        /// The parameter's name (`SETTINGS_ENABLE_PUSH`, ...).
        name: &'static str,
        /// The value received.
        value: u32,
    },
    /// SETTINGS_INITIAL_WINDOW_SIZE above 2^31−1 (§6.5.2).
    #[error("server sent SETTINGS_INITIAL_WINDOW_SIZE = {0}, above 2^31-1")]
    InitialWindowTooLarge(u32),
    /// WINDOW_UPDATE with an increment of 0 (§6.9).
    #[error("server sent a WINDOW_UPDATE with an increment of 0")]
    ZeroWindowIncrement,
    /// A WINDOW_UPDATE or a SETTINGS_INITIAL_WINDOW_SIZE change took a send
    /// window above 2^31−1 (§6.9.1).
    #[error("server grew a flow-control window past 2^31-1")]
    WindowOverflow,
    /// The server's first frame was not SETTINGS (§3.4).
    #[error("server's first frame was {frame}, not SETTINGS")]
    PrefaceNotSettings {
        /// The frame type's name.
        frame: &'static str,
    },
    /// The server's first bytes were text where its SETTINGS frame was due
    /// (§3.4): it does not speak HTTP/2 on this connection (an HTTP/1.x
    /// server asked with prior knowledge, most likely).
    #[error(
        "server did not answer in HTTP/2: it sent `{start}…` where its SETTINGS frame was due \
         (an HTTP/1.x server? then do not use HTTP/2 prior knowledge for it)"
    )]
    NotHttp2 {
        /// The first nine bytes it sent (a frame head's worth), as text.
        start: String,
    },
    /// A header block was not followed by its CONTINUATION frames (§6.10).
    #[error("server sent a {frame} frame on stream {stream} in the middle of a header block")]
    ExpectedContinuation {
        /// The frame type's name.
        frame: &'static str,
        /// The stream it named.
        stream: StreamId,
    },
    /// CONTINUATION without a header block in progress (§6.10).
    #[error("server sent a CONTINUATION frame that continues nothing")]
    UnexpectedContinuation,
    /// PUSH_PROMISE although we sent SETTINGS_ENABLE_PUSH = 0 (§8.4).
    #[error("server sent a PUSH_PROMISE although we disabled push")]
    PushPromise,
    /// A frame on a stream we never opened (§5.1: idle streams; servers
    /// cannot open streams without push).
    #[error("server sent a {frame} frame on stream {stream}, which we never opened")]
    IdleStream {
        /// The frame type's name.
        frame: &'static str,
        /// The stream it named.
        stream: StreamId,
    },
    /// DATA beyond what a receive window allowed (§6.9).
    #[error("server sent {len} bytes of DATA with only {window} bytes of window left")]
    WindowExceeded {
        /// The frame's flow-controlled length, in bytes.
        len: u32,
        /// What the window allowed, in bytes.
        window: i64,
    },
    /// A header block we cannot decode (RFC 7541).
    #[error("server sent a bad header block: {0}")]
    Compression(HpackError),
    /// A header block (HEADERS plus CONTINUATION) larger than we buffer.
    #[error("server sent a header block larger than {limit} bytes")]
    HeaderBlockTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A header block split over more CONTINUATION frames than we accept.
    #[error("server split a header block over more than {limit} CONTINUATION frames")]
    TooManyContinuations {
        /// The limit.
        limit: usize,
    },
    /// The server made us queue too many acknowledgements, PING answers
    /// and resets without reading them (a SETTINGS or PING flood).
    #[error(
        "server made us queue more than {limit} bytes of control frames (a SETTINGS, PING or reset flood)"
    )]
    ControlFlood {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Too many frames in a row that carry nothing (empty DATA, HEADERS or
    /// CONTINUATION without an end flag).
    #[error("server sent more than {limit} empty frames in a row")]
    EmptyFrameFlood {
        /// The limit.
        limit: usize,
    },
    /// A frame on a stream the server had already ended (§5.1,
    /// half-closed (remote)).
    #[error("server sent a {frame} frame after ending the stream")]
    StreamClosed {
        /// The frame type's name.
        frame: &'static str,
    },
    /// DATA before the response head (§8.1).
    #[error("server sent DATA before the response head")]
    DataBeforeHeaders,
    /// The decoded response header list is larger than our
    /// SETTINGS_MAX_HEADER_LIST_SIZE (§6.5.2: name + value + 32 per field).
    #[error("server sent a header list of at least {size} bytes, above the {limit}-byte limit")]
    HeaderListTooLarge {
        /// The size counted so far, in bytes.
        size: usize,
        /// Our limit, in bytes.
        limit: usize,
    },
    /// A field name with uppercase letters (§8.2.1).
    #[error("server sent header name `{0}` with uppercase letters")]
    UppercaseHeaderName(String),
    /// A field name or value that is not valid (§8.2.1).
    #[error("server sent invalid header field `{0}`")]
    InvalidHeader(String),
    /// A connection-specific field such as `connection` (§8.2.2).
    #[error("server sent connection-specific header `{0}`")]
    ConnectionSpecificHeader(String),
    /// A pseudo-header after a regular field (§8.3).
    #[error("server sent pseudo-header `{0}` after a regular header")]
    PseudoAfterRegular(String),
    /// A pseudo-header other than `:status` in a response, or any in
    /// trailers (§8.3).
    #[error("server sent pseudo-header `{0}`, which a response cannot carry there")]
    UnexpectedPseudo(String),
    /// `:status` twice (§8.3).
    #[error("server sent pseudo-header `{0}` twice")]
    DuplicatePseudo(String),
    /// A response without `:status` (§8.3.2).
    #[error("server sent a response head without :status")]
    MissingStatus,
    /// `:status` that is not a three-digit code, or 101 (§8.6).
    #[error("server sent :status `{0}`, which is not a valid status here")]
    InvalidStatus(String),
    /// An informational (1xx) head that ends the stream (§8.1).
    #[error("server ended the stream with an informational (1xx) head")]
    InformationalEndStream,
    /// A second header section without END_STREAM (§8.1: trailers end the
    /// stream).
    #[error("server sent trailers that do not end the stream")]
    TrailersWithoutEndStream,
    /// More regular fields in a response head (or trailers) than we accept.
    #[error("server sent more than {limit} header fields")]
    TooManyHeaders {
        /// Our limit.
        limit: usize,
    },
    /// A body longer than we accept (`content-length` or DATA received).
    #[error("server sent a body larger than {limit} bytes")]
    BodyTooLarge {
        /// Our limit, in bytes.
        limit: u64,
    },
    /// More informational (1xx) heads on one stream than we accept.
    #[error("server sent more than {limit} informational (1xx) heads")]
    TooManyInformational {
        /// Our limit.
        limit: usize,
    },
    /// `content-length` is not a number, or several disagree.
    #[error("server sent an invalid content-length")]
    InvalidContentLength,
    /// The DATA received disagrees with `content-length` (§8.1.1).
    #[error("server sent {received} bytes of body with content-length {declared}")]
    ContentLengthMismatch {
        /// The `content-length` value.
        declared: u64,
        /// The body bytes received so far (or in all).
        received: u64,
    },
}

impl Violation {
    /// True for our own size limits (header list, header count, body):
    /// the response is too large rather than malformed.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Violation::HeaderListTooLarge { .. }
                | Violation::TooManyHeaders { .. }
                | Violation::BodyTooLarge { .. }
        )
    }

    /// The RFC 9113 §7 error code this violation calls for.
    pub fn code(&self) -> ErrorCode {
        use Violation::*;
        match self {
            FrameTooLarge { .. } | BadFrameLength { .. } => ErrorCode::FRAME_SIZE_ERROR,
            InitialWindowTooLarge(_) | WindowOverflow | WindowExceeded { .. } => {
                ErrorCode::FLOW_CONTROL_ERROR
            }
            Compression(_) => ErrorCode::COMPRESSION_ERROR,
            HeaderBlockTooLarge { .. }
            | TooManyContinuations { .. }
            | ControlFlood { .. }
            | EmptyFrameFlood { .. }
            | TooManyInformational { .. } => ErrorCode::ENHANCE_YOUR_CALM,
            StreamClosed { .. } => ErrorCode::STREAM_CLOSED,
            // We no longer want a response we will not hold.
            HeaderListTooLarge { .. } | TooManyHeaders { .. } | BodyTooLarge { .. } => {
                ErrorCode::CANCEL
            }
            _ => ErrorCode::PROTOCOL_ERROR,
        }
    }
}

/// An HTTP/2 error the server caused, naming the RFC 9113 §7 code and
/// what it ends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum H2Error {
    /// A connection error (§5.4.1): the session queued GOAWAY with this code
    /// and is closed; every stream on it ends.
    #[error("{what} ({} on the connection)", .what.code())]
    Connection {
        /// What the server did.
        what: Violation,
    },
    /// A stream error (§5.4.2): the session queued RST_STREAM with this code
    /// for `stream`; other streams go on.
    #[error("{what} ({} on stream {stream})", .what.code())]
    Stream {
        /// The stream it ends.
        stream: StreamId,
        /// What the server did.
        what: Violation,
    },
}

impl H2Error {
    /// The RFC 9113 §7 error code sent to the server.
    pub fn code(&self) -> ErrorCode {
        self.violation().code()
    }

    /// What the server did.
    pub fn violation(&self) -> &Violation {
        match self {
            H2Error::Connection { what } | H2Error::Stream { what, .. } => what,
        }
    }

    /// The stream a stream error ends; `None` for a connection error.
    pub fn stream(&self) -> Option<StreamId> {
        match self {
            H2Error::Connection { .. } => None,
            H2Error::Stream { stream, .. } => Some(*stream),
        }
    }

    pub(crate) fn conn(what: Violation) -> Self {
        H2Error::Connection { what }
    }

    pub(crate) fn stream_err(stream: StreamId, what: Violation) -> Self {
        H2Error::Stream { stream, what }
    }
}

impl From<HpackError> for H2Error {
    fn from(e: HpackError) -> Self {
        H2Error::conn(Violation::Compression(e))
    }
}

/// Why a request, its body or a reset could not be sent. These are the
/// caller's conditions, not the server's faults.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The next stream id would pass 2^31−1 (§5.1.1): open a new connection.
    #[error("no stream ids left on this connection")]
    StreamIdsExhausted,
    /// As many streams are open as the server's SETTINGS_MAX_CONCURRENT_STREAMS
    /// allows: wait for one to close.
    #[error("the server allows at most {limit} concurrent streams")]
    ConcurrencyLimit {
        /// The server's current limit.
        limit: u32,
    },
    /// GOAWAY was received or sent: no new streams on this connection.
    #[error("the connection is shutting down (GOAWAY)")]
    GoingAway,
    /// The session ended with a connection error.
    #[error("the connection is closed")]
    Closed,
    /// The stream is unknown, reset, or has already sent END_STREAM.
    #[error("stream {0} cannot send")]
    StreamNotWritable(StreamId),
    /// The request header list is larger than the server's
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    #[error("request header list of {size} bytes exceeds the server's limit of {limit} bytes")]
    HeaderListTooLarge {
        /// The list's size (name + value + 32 per field), in bytes.
        size: usize,
        /// The server's limit, in bytes.
        limit: u32,
    },
}

/// Why a request carried on an HTTP/2 stream failed, as the crate's
/// `Error` tells it (the reactor's words for what the session reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamFailure {
    /// The server broke a rule: a stream error for this stream, or a
    /// connection error that ended every stream.
    Violation(H2Error),
    /// The server reset the stream with RST_STREAM.
    Reset {
        stream: StreamId,
        code: ErrorCode,
        /// Whether the response head had arrived.
        after_head: bool,
    },
    /// The server refused the stream (REFUSED_STREAM, or a GOAWAY below
    /// it) every time the request was sent; `goaway` is the code of the
    /// GOAWAY that refused it the last time, if one did.
    Refused {
        stream: StreamId,
        attempts: u32,
        goaway: Option<ErrorCode>,
    },
    /// The connection ended before the response was complete; the GOAWAY
    /// the server sent before, if any.
    Closed {
        goaway: Option<(ErrorCode, String)>,
        after_head: bool,
    },
}

impl StreamFailure {
    /// True when the response went over one of our size limits.
    pub(crate) fn is_too_large(&self) -> bool {
        matches!(self, StreamFailure::Violation(e) if e.violation().is_too_large())
    }

    /// True when the response stopped part-way: the body is incomplete.
    pub(crate) fn is_truncated(&self) -> bool {
        matches!(
            self,
            StreamFailure::Closed { .. }
                | StreamFailure::Reset {
                    after_head: true,
                    ..
                }
        )
    }

    /// The RFC 9113 §7 code this failure is about, if one.
    pub(crate) fn code(&self) -> Option<ErrorCode> {
        match self {
            StreamFailure::Violation(e) => Some(e.code()),
            StreamFailure::Reset { code, .. } => Some(*code),
            StreamFailure::Refused { goaway, .. } => {
                Some(goaway.unwrap_or(ErrorCode::REFUSED_STREAM))
            }
            StreamFailure::Closed { goaway, .. } => goaway.as_ref().map(|(code, _)| *code),
        }
    }
}

impl fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamFailure::Violation(error) => write!(f, "HTTP/2: {error}"),
            StreamFailure::Reset {
                stream,
                code,
                after_head,
            } => {
                let when = if *after_head {
                    "before the body was complete"
                } else {
                    "before the response head"
                };
                write!(f, "HTTP/2: server reset stream {stream} with {code} {when}")
            }
            StreamFailure::Refused {
                stream,
                attempts,
                goaway: None,
            } => write!(
                f,
                "HTTP/2: server refused the request (REFUSED_STREAM on stream {stream}) \
                 {attempts} times"
            ),
            StreamFailure::Refused {
                stream,
                attempts,
                goaway: Some(code),
            } => write!(
                f,
                "HTTP/2: server sent GOAWAY ({code}) below the request's stream {stream} \
                 without processing it, {attempts} times"
            ),
            StreamFailure::Closed { goaway, after_head } => {
                let what = if *after_head {
                    "the body was complete"
                } else {
                    "the response head"
                };
                write!(f, "HTTP/2: server closed the connection before {what}")?;
                match goaway {
                    Some((code, debug)) if debug.is_empty() => write!(f, " (GOAWAY {code})"),
                    Some((code, debug)) => write!(f, " (GOAWAY {code}: `{debug}`)"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_failures_name_the_code() {
        let reset = StreamFailure::Reset {
            stream: StreamId::new(3),
            code: ErrorCode::INTERNAL_ERROR,
            after_head: true,
        };
        assert_eq!(
            reset.to_string(),
            "HTTP/2: server reset stream 3 with INTERNAL_ERROR before the body was complete"
        );
        assert!(reset.is_truncated() && !reset.is_too_large());
        let closed = StreamFailure::Closed {
            goaway: Some((ErrorCode::ENHANCE_YOUR_CALM, "slow down".into())),
            after_head: false,
        };
        assert_eq!(
            closed.to_string(),
            "HTTP/2: server closed the connection before the response head \
             (GOAWAY ENHANCE_YOUR_CALM: `slow down`)"
        );
        assert_eq!(closed.code(), Some(ErrorCode::ENHANCE_YOUR_CALM));
        let big = StreamFailure::Violation(H2Error::stream_err(
            StreamId::new(1),
            Violation::BodyTooLarge { limit: 10 },
        ));
        assert!(big.is_too_large());
        assert_eq!(
            big.to_string(),
            "HTTP/2: server sent a body larger than 10 bytes (CANCEL on stream 1)"
        );
    }

    #[test]
    fn codes_and_messages() {
        assert_eq!(ErrorCode::PROTOCOL_ERROR.to_string(), "PROTOCOL_ERROR");
        assert_eq!(
            ErrorCode::HTTP_1_1_REQUIRED.to_string(),
            "HTTP_1_1_REQUIRED"
        );
        assert_eq!(ErrorCode(0x42).to_string(), "unknown error code 0x42");
        assert_eq!(ErrorCode(u32::MAX).name(), None);
        let e = H2Error::conn(Violation::FrameTooLarge {
            frame: "DATA",
            len: 20000,
            max: 16384,
        });
        assert_eq!(
            e.to_string(),
            "server sent a DATA frame of 20000 bytes, above the 16384-byte maximum we accept \
             (FRAME_SIZE_ERROR on the connection)"
        );
        assert_eq!(e.code(), ErrorCode::FRAME_SIZE_ERROR);
        assert_eq!(e.stream(), None);
        let e = H2Error::stream_err(
            StreamId::new(3),
            Violation::UppercaseHeaderName("Foo".into()),
        );
        assert_eq!(
            e.to_string(),
            "server sent header name `Foo` with uppercase letters (PROTOCOL_ERROR on stream 3)"
        );
        assert_eq!(e.stream(), Some(StreamId::new(3)));
        let e = H2Error::from(HpackError::InvalidHuffman);
        assert_eq!(e.code(), ErrorCode::COMPRESSION_ERROR);
        assert_eq!(
            Violation::HeaderListTooLarge { size: 1, limit: 0 }.code(),
            ErrorCode::CANCEL
        );
        assert_eq!(
            Violation::ControlFlood { limit: 1 }.code(),
            ErrorCode::ENHANCE_YOUR_CALM
        );
    }
}
