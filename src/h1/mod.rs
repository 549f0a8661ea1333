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
//!                └─ 101, malformed, over a limit, EOF ─► Failed(ProtocolError)
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
    /// The connection closed before the response head was complete.
    #[error("{}", incomplete_head_message(*received))]
    IncompleteHead {
        /// Bytes of response head received so far (interim 1xx heads
        /// included); 0 means nothing at all arrived.
        received: usize,
    },
    /// The connection closed before the body, framed by `Content-Length`
    /// or `chunked`, was complete.
    #[error("{}", incomplete_body_message(*received, *expected))]
    IncompleteBody {
        /// Body bytes received (after transfer decoding).
        received: u64,
        /// The announced body length, when `Content-Length` framed the body.
        expected: Option<u64>,
    },
}

/// The message of [`ProtocolError::IncompleteHead`].
fn incomplete_head_message(received: usize) -> String {
    if received == 0 {
        "connection closed before any response byte".to_owned()
    } else {
        format!("connection closed after {received} bytes of the response head")
    }
}

/// The message of [`ProtocolError::IncompleteBody`].
fn incomplete_body_message(received: u64, expected: Option<u64>) -> String {
    match expected {
        Some(expected) => format!("body truncated: got {received} of {expected} bytes"),
        None => format!("chunked body truncated after {received} bytes"),
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

    /// True when the connection closed early:
    /// [`IncompleteHead`](Self::IncompleteHead) or [`IncompleteBody`](Self::IncompleteBody).
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
                ProtocolError::IncompleteHead { received: 0 },
                "connection closed before any response byte",
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
                "chunked body truncated after 3 bytes",
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
            ProtocolError::IncompleteHead { received: 0 },
            ProtocolError::IncompleteBody {
                received: 0,
                expected: None,
            },
        ];
        for e in &truncated {
            assert!(e.is_truncated(), "{e:?}");
            assert!(!e.is_too_large(), "{e:?}");
        }
        assert!(!ProtocolError::InvalidChunkSize.is_too_large());
        assert!(!ProtocolError::InvalidChunkSize.is_truncated());
    }
}
