//! Sans-IO HTTP/1.1: bytes in, bytes out.
//!
//! Nothing here touches a socket, a poller or a clock. The I/O layer hands
//! in the bytes it read and takes out the bytes it must write, in the style
//! of ureq-proto and httparse.
//!
//! In scope:
//!
//! - request heads ([`write_request_head`]), written into a caller's buffer;
//! - response heads, parsed with httparse behind one thin bridge
//!   ([`response`]), with limits on head size and header count;
//! - response body framing per RFC 9112 §6.3: no body, `Content-Length`,
//!   `chunked` (extensions and trailers accepted and dropped) and
//!   close-delimited ([`BodyDecoder`]);
//! - the keep-alive decision (RFC 9112 §9.3).
//!
//! Out of scope: sockets, TLS, timeouts, content codings (gzip), HTTP/2,
//! protocol upgrades.
//!
//! [`ResponseReader`] drives one response through these states:
//!
//! ```text
//!     1xx but 101: skipped (at most MAX_INTERIM_RESPONSES)
//!                ┌─────┐
//!                ▼     │
//! new ──► ReadingHead ─┴─ final head ─► body_decoder (RFC 9112 §6.3)
//!                │                        │
//!                │                        ├─ no body (HEAD, 204, 304, Content-Length: 0) ─► Done
//!                │                        └─ Length, Chunked, CloseDelimited ─► ReadingBody
//!                │                                                                │
//!                │                   framing complete, or EOF when close-delimited │
//!                │                                                                ▼
//!                │                                                               Done
//!                └─ not HTTP/, 101, malformed, over a limit, EOF ─► Failed(ProtocolError)
//!                   (ReadingBody fails the same way on bad framing or an early EOF)
//! ```

// The engine that drives these types is built separately; until it lands,
// parts of this module are reached only from its tests.

pub(crate) mod body;
mod chunked;
pub mod private;
pub(crate) mod request;
pub(crate) mod response;

pub(crate) use body::BodyDecoder;
pub(crate) use request::write_request_head;
pub(crate) use response::{ResponseHead, ResponseReader};

/// Default limit on the size of a response head (status line + headers), in bytes.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default limit on the number of response header fields.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default limit on a response body (after transfer decoding), in bytes.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 30; // 1 GiB
/// Limit on the bytes of one chunk-size line including extensions.
pub(crate) const MAX_CHUNK_SIZE_LINE: usize = 4096;
/// Limit on the total size of chunked trailers.
pub(crate) const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Most interim (1xx) responses accepted before the final one. RFC 9110
/// §15.2 asks a client to accept 1xx responses it did not expect; real
/// servers send one or two (`100 Continue`, `103 Early Hints`), and a server
/// that sends them without end would otherwise hold the request until its
/// deadline. More is a [`ProtocolError::TooManyInterimResponses`].
pub const MAX_INTERIM_RESPONSES: usize = 32;

/// Limits the reader enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest response head (status line, header lines and the blank line), in bytes.
    pub max_head_bytes: usize,
    /// Most header fields in one response head.
    pub max_headers: usize,
    /// Largest response body after transfer decoding, in bytes.
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// What went wrong in a response, as HTTP/1.1 sees it.
///
/// Every variant means the response cannot be used and the connection must
/// not be reused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The status line or a header line is not valid HTTP/1.1: httparse
    /// rejected it, the status code is out of range, or a header name or
    /// value is not acceptable to the `http` crate. Carries the reason.
    #[error("malformed response head: {0}")]
    MalformedHead(&'static str),
    /// The response head did not end within `limit` bytes.
    #[error("response head larger than {limit} bytes")]
    HeadTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The response head has more than `limit` header fields.
    #[error("more than {limit} response header fields")]
    TooManyHeaders {
        /// The largest number of header fields allowed.
        limit: usize,
    },
    /// The body, after transfer decoding, is longer than `limit` bytes,
    /// either as announced by `Content-Length` or as received.
    #[error("body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// A `Content-Length` value is empty, holds something other than
    /// digits, or does not fit in 64 bits.
    #[error("invalid Content-Length header")]
    InvalidContentLength,
    /// Several `Content-Length` values (fields or list members) disagree.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// `Transfer-Encoding` ends in `chunked` but applies another coding
    /// (such as `gzip`) before it, which this crate cannot undo.
    #[error("unsupported transfer coding `{0}`")]
    UnsupportedTransferCoding(String),
    /// A chunk-size line does not start with a hex digit or has an
    /// unexpected byte after the size.
    #[error("invalid chunk size line")]
    InvalidChunkSize,
    /// A chunk size does not fit in 64 bits.
    #[error("chunk size overflows 64 bits")]
    ChunkSizeOverflow,
    /// A chunk-size line, extensions included, is longer than `limit` bytes.
    #[error("chunk size line longer than {limit} bytes")]
    ChunkSizeLineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// Chunk data is not followed by CRLF (or a bare LF).
    #[error("missing CRLF after chunk data")]
    InvalidChunkDelimiter,
    /// The trailer section after the last chunk is longer than `limit` bytes.
    #[error("chunked trailers larger than {limit} bytes")]
    TrailersTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// A trailer line has no colon, or a CR in it is not followed by LF.
    #[error("malformed chunked trailer")]
    InvalidTrailer,
    /// More than `limit` interim (1xx) responses came before the final one
    /// ([`MAX_INTERIM_RESPONSES`]).
    #[error("more than {limit} interim (1xx) responses before the final one")]
    TooManyInterimResponses {
        /// The most interim responses accepted.
        limit: usize,
    },
    /// The server answered `101 Switching Protocols`, which this client
    /// never asks for.
    #[error("unexpected 101 switching protocols")]
    UnexpectedUpgrade,
    /// The first bytes of the response cannot begin an HTTP/1.x status
    /// line, which starts with `HTTP/` (after any empty lines, RFC 9112
    /// §2.2): the server speaks another protocol (TLS on an https port, an
    /// SSH banner, binary data) or answers HTTP/0.9-style with a body and no
    /// head. Reported as soon as the first byte that proves it arrives, not
    /// at the end of the connection or the deadline. `start` holds the first
    /// bytes received (at most [`NOT_HTTP_EXCERPT`]); the message says what
    /// they look like: "the server answered in TLS: use https://" for a TLS
    /// record, the banner of an SSH server, or the bytes themselves.
    #[error("{}", not_http_message(start))]
    NotHttp {
        /// The first bytes of the response (leading empty lines skipped),
        /// at most [`NOT_HTTP_EXCERPT`] of them.
        start: Vec<u8>,
    },
    /// The connection ended before any byte of a response arrived: the
    /// server read the request and closed (curl's "Empty reply from
    /// server"). A protocol error rather than a truncation (no part of a
    /// response was promised) or a connect error (the connection was up and
    /// the request delivered, so the server may have acted on it). On a
    /// reused connection this is also what the server closing an idle
    /// connection looks like; an idempotent request then runs once more on a
    /// fresh connection before this error is reported.
    #[error("empty reply: the server closed the connection without sending a response")]
    EmptyReply,
    /// The connection ended after part of the response head.
    #[error("{}", incomplete_head_message(*received))]
    IncompleteHead {
        /// Bytes of response head received so far (interim 1xx heads
        /// included).
        received: usize,
    },
    /// The connection ended before the body was complete: a body framed by
    /// `Content-Length` or `chunked` that stopped short, or (when the
    /// connection broke with a reset rather than closing, RFC 9112 §8) a
    /// close-delimited one.
    #[error("{}", incomplete_body_message(*received, *expected))]
    IncompleteBody {
        /// Body bytes received (after transfer decoding).
        received: u64,
        /// The announced body length, when `Content-Length` framed the body.
        expected: Option<u64>,
    },
}

/// Most bytes of a response that is not HTTP kept in
/// [`ProtocolError::NotHttp`] for its message.
pub const NOT_HTTP_EXCERPT: usize = 32;

/// The message of [`ProtocolError::NotHttp`]: what the first bytes look
/// like, where that is cheap to tell.
fn not_http_message(start: &[u8]) -> String {
    // A TLS record: content type 20 to 23 (change_cipher_spec, alert,
    // handshake, application_data), then major version 3.
    if let [0x14..=0x17, 0x03, ..] = start {
        return "the server answered in TLS: use https://".to_owned();
    }
    let line_end = start
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(start.len());
    let line = start.get(..line_end).unwrap_or(start);
    let text = line
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b));
    let more = if line_end == NOT_HTTP_EXCERPT {
        "..."
    } else {
        ""
    };
    if text && line.starts_with(b"SSH-") {
        let banner = String::from_utf8_lossy(line);
        return format!(
            "the server answered with the banner of an SSH server (`{banner}{more}`), not HTTP"
        );
    }
    if text && !line.is_empty() {
        let text = String::from_utf8_lossy(line);
        return format!(
            "not an HTTP/1.x response: it starts with `{text}{more}` instead of `HTTP/` \
             (HTTP/0.9, or another protocol)"
        );
    }
    let hex: Vec<String> = start.iter().map(|b| format!("{b:02x}")).collect();
    let more = if start.len() == NOT_HTTP_EXCERPT {
        " ..."
    } else {
        ""
    };
    format!(
        "not an HTTP/1.x response: it starts with the bytes {}{more} instead of `HTTP/` \
         (another protocol)",
        hex.join(" ")
    )
}

/// The message of [`ProtocolError::IncompleteHead`].
fn incomplete_head_message(received: usize) -> String {
    format!("connection closed after {received} bytes of the response head")
}

/// The message of [`ProtocolError::IncompleteBody`].
fn incomplete_body_message(received: u64, expected: Option<u64>) -> String {
    match expected {
        Some(expected) => format!("body truncated: got {received} of {expected} bytes"),
        None => format!("body truncated after {received} bytes"),
    }
}

impl ProtocolError {
    /// True when a limit was exceeded: [`HeadTooLarge`](Self::HeadTooLarge),
    /// [`TooManyHeaders`](Self::TooManyHeaders), [`BodyTooLarge`](Self::BodyTooLarge),
    /// [`TrailersTooLarge`](Self::TrailersTooLarge) or
    /// [`ChunkSizeLineTooLong`](Self::ChunkSizeLineTooLong).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            ProtocolError::HeadTooLarge { .. }
                | ProtocolError::TooManyHeaders { .. }
                | ProtocolError::BodyTooLarge { .. }
                | ProtocolError::TrailersTooLarge { .. }
                | ProtocolError::ChunkSizeLineTooLong { .. }
        )
    }

    /// True when the connection ended after part of a response:
    /// [`IncompleteHead`](Self::IncompleteHead) or [`IncompleteBody`](Self::IncompleteBody)
    /// (not [`EmptyReply`](Self::EmptyReply): nothing of a response arrived).
    pub fn is_truncated(&self) -> bool {
        matches!(
            self,
            ProtocolError::IncompleteHead { .. } | ProtocolError::IncompleteBody { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default() {
        let l = Limits::default();
        assert_eq!(l.max_head_bytes, 64 * 1024);
        assert_eq!(l.max_headers, 100);
        assert_eq!(l.max_body_bytes, 1 << 30);
    }

    #[test]
    fn messages() {
        let cases: &[(ProtocolError, &str)] = &[
            (
                ProtocolError::MalformedHead("invalid token"),
                "malformed response head: invalid token",
            ),
            (
                ProtocolError::HeadTooLarge { limit: 10 },
                "response head larger than 10 bytes",
            ),
            (
                ProtocolError::EmptyReply,
                "empty reply: the server closed the connection without sending a response",
            ),
            (
                ProtocolError::NotHttp {
                    start: vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01],
                },
                "the server answered in TLS: use https://",
            ),
            (
                ProtocolError::NotHttp {
                    start: b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(),
                },
                "the server answered with the banner of an SSH server (`SSH-2.0-OpenSSH_9.2`), not HTTP",
            ),
            (
                ProtocolError::NotHttp {
                    start: b"hello, this is a body\n".to_vec(),
                },
                "not an HTTP/1.x response: it starts with `hello, this is a body` instead of \
                 `HTTP/` (HTTP/0.9, or another protocol)",
            ),
            (
                ProtocolError::NotHttp {
                    start: b"0123456789abcdef0123456789abcdef".to_vec(),
                },
                "not an HTTP/1.x response: it starts with `0123456789abcdef0123456789abcdef...` \
                 instead of `HTTP/` (HTTP/0.9, or another protocol)",
            ),
            (
                ProtocolError::NotHttp {
                    start: vec![0x00, 0xff, 0x13, 0x37],
                },
                "not an HTTP/1.x response: it starts with the bytes 00 ff 13 37 instead of \
                 `HTTP/` (another protocol)",
            ),
            (
                // One byte of what could be a TLS record is not enough to tell.
                ProtocolError::NotHttp { start: vec![0x16] },
                "not an HTTP/1.x response: it starts with the bytes 16 instead of `HTTP/` \
                 (another protocol)",
            ),
            (
                ProtocolError::IncompleteHead { received: 7 },
                "connection closed after 7 bytes of the response head",
            ),
            (
                ProtocolError::IncompleteBody {
                    received: 3,
                    expected: Some(10),
                },
                "body truncated: got 3 of 10 bytes",
            ),
            (
                ProtocolError::IncompleteBody {
                    received: 3,
                    expected: None,
                },
                "body truncated after 3 bytes",
            ),
            (
                ProtocolError::UnsupportedTransferCoding("gzip".into()),
                "unsupported transfer coding `gzip`",
            ),
        ];
        for (e, msg) in cases {
            assert_eq!(e.to_string(), *msg);
        }
    }

    #[test]
    fn predicates() {
        let too_large = [
            ProtocolError::HeadTooLarge { limit: 1 },
            ProtocolError::TooManyHeaders { limit: 1 },
            ProtocolError::BodyTooLarge { limit: 1 },
            ProtocolError::TrailersTooLarge { limit: 1 },
            ProtocolError::ChunkSizeLineTooLong { limit: 1 },
        ];
        for e in &too_large {
            assert!(e.is_too_large(), "{e:?}");
            assert!(!e.is_truncated(), "{e:?}");
        }
        let truncated = [
            ProtocolError::IncompleteHead { received: 1 },
            ProtocolError::IncompleteBody {
                received: 0,
                expected: None,
            },
        ];
        for e in &truncated {
            assert!(e.is_truncated(), "{e:?}");
            assert!(!e.is_too_large(), "{e:?}");
        }
        for e in [
            ProtocolError::InvalidChunkSize,
            ProtocolError::EmptyReply,
            ProtocolError::NotHttp { start: vec![0x16] },
        ] {
            assert!(!e.is_too_large(), "{e:?}");
            assert!(!e.is_truncated(), "{e:?}");
        }
    }
}
