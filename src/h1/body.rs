//! Response body framing: how the end of a body is found (RFC 9112 §6.3).
//!
//! [`BodyDecoder`] is picked once per response by
//! [`response::body_decoder`](super::response::body_decoder) and then fed the
//! bytes that follow the head.

use super::ProtocolError;
pub(crate) use super::chunked::ChunkedDecoder;

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// No body at all: a HEAD request, or a 1xx, 204 or 304 status.
    Empty,
    /// `Content-Length` framing: exactly this many bytes are left.
    Length {
        /// Body bytes still to come.
        remaining: u64,
    },
    /// The chunked transfer coding.
    Chunked(ChunkedDecoder),
    /// The body runs until the server closes the connection.
    CloseDelimited,
}

impl BodyDecoder {
    /// Decodes from `input`, appending payload to `out`.
    ///
    /// Returns `(input_used, done)`. Once done, no more input is used:
    /// bytes after the body belong to whatever the server sends next.
    ///
    /// # Errors
    ///
    /// Only chunked framing can fail; see [`ProtocolError`].
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), ProtocolError> {
        match self {
            BodyDecoder::Empty => Ok((0, true)),
            BodyDecoder::Length { remaining } => {
                let n = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                out.extend_from_slice(input.get(..n).unwrap_or_default());
                // n <= remaining, so this never saturates.
                *remaining = remaining.saturating_sub(n as u64);
                Ok((n, *remaining == 0))
            }
            BodyDecoder::Chunked(chunked) => chunked.decode(input, out),
            BodyDecoder::CloseDelimited => {
                out.extend_from_slice(input);
                Ok((input.len(), false))
            }
        }
    }

    /// True once the framing says the body is complete. Never true for a
    /// close-delimited body: only EOF ends it.
    pub(crate) fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Empty => true,
            BodyDecoder::Length { remaining } => *remaining == 0,
            BodyDecoder::Chunked(chunked) => chunked.is_done(),
            BodyDecoder::CloseDelimited => false,
        }
    }

    /// True when only the server closing the connection ends the body.
    pub(crate) fn is_close_delimited(&self) -> bool {
        matches!(self, BodyDecoder::CloseDelimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty() {
        let mut d = BodyDecoder::Empty;
        let mut out = Vec::new();
        assert!(d.is_done());
        assert_eq!(d.decode(b"abc", &mut out), Ok((0, true)));
        assert!(out.is_empty());
        assert!(!d.is_close_delimited());
    }

    #[test]
    fn length() {
        let mut d = BodyDecoder::Length { remaining: 5 };
        let mut out = Vec::new();
        assert!(!d.is_done());
        assert_eq!(d.decode(b"he", &mut out), Ok((2, false)));
        assert_eq!(d, BodyDecoder::Length { remaining: 3 });
        assert_eq!(d.decode(b"", &mut out), Ok((0, false)));
        assert_eq!(d.decode(b"lloHTTP", &mut out), Ok((3, true)));
        assert_eq!(out, b"hello");
        assert!(d.is_done());
        assert_eq!(d.decode(b"more", &mut out), Ok((0, true)));
        assert_eq!(out, b"hello");
    }

    #[test]
    fn length_zero() {
        let mut d = BodyDecoder::Length { remaining: 0 };
        assert!(d.is_done());
        assert_eq!(d.decode(b"x", &mut Vec::new()), Ok((0, true)));
    }

    #[test]
    fn length_huge() {
        let mut d = BodyDecoder::Length {
            remaining: u64::MAX,
        };
        let mut out = Vec::new();
        assert_eq!(d.decode(b"abc", &mut out), Ok((3, false)));
        assert_eq!(
            d,
            BodyDecoder::Length {
                remaining: u64::MAX - 3
            }
        );
    }

    #[test]
    fn chunked() {
        let mut d = BodyDecoder::Chunked(ChunkedDecoder::new());
        let mut out = Vec::new();
        assert!(!d.is_done());
        assert_eq!(
            d.decode(b"3\r\nabc\r\n0\r\n\r\nX", &mut out),
            Ok((13, true))
        );
        assert_eq!(out, b"abc");
        assert!(d.is_done());
    }

    #[test]
    fn close_delimited() {
        let mut d = BodyDecoder::CloseDelimited;
        let mut out = Vec::new();
        assert_eq!(d.decode(b"abc", &mut out), Ok((3, false)));
        assert_eq!(d.decode(b"def", &mut out), Ok((3, false)));
        assert_eq!(out, b"abcdef");
        assert!(!d.is_done());
        assert!(d.is_close_delimited());
    }
}
