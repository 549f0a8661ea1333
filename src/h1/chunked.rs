//! The chunked transfer coding (RFC 9112 §7.1), decoded one state at a time.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! ```text
//! Size ──┬─ HEXDIG ─────► Size
//!        ├─ SP / HTAB ──► SizeWs ──── ";" ──► Extension
//!        ├─ ";" ────────► Extension
//!        └─ CR ─────────► SizeLf      (SizeWs and Extension end the line the same way)
//!
//! end of size line (LF) ─┬─ size > 0 ─► Data ─► DataCr ─┬─ CR ─► DataLf ─ LF ─► Size
//!                        │                              └─ LF ─────────────────► Size
//!                        └─ size = 0 ─► TrailerStart ─┬─ CR ─► EndLf ─ LF ─► Done
//!                                          ▲          ├─ LF ───────────────► Done
//!                                          │          └─ other ─► Trailer ─┬─ CR ─► TrailerLf ─┐
//!                                          └─────────────── LF ────────────┴───────────────────┘
//! ```
//!
//! Extensions and trailer fields are checked for shape and size, then
//! dropped: nothing in this crate uses them.

use super::{MAX_CHUNK_SIZE_LINE, MAX_TRAILER_BYTES, ProtocolError};

/// Where the decoder is in a chunked body; one `read_*` function per state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkedDecoder {
    /// Reading the hex digits of a chunk size.
    Size {
        /// The size so far.
        size: u64,
        /// Whether at least one digit was read.
        has_digits: bool,
        /// Bytes of this size line so far.
        line_len: usize,
    },
    /// Whitespace after the size digits (tolerated, as hyper does).
    SizeWs {
        /// The chunk size.
        size: u64,
        /// Bytes of this size line so far.
        line_len: usize,
    },
    /// Inside `;name=value` chunk extensions, up to the end of the line.
    Extension {
        /// The chunk size.
        size: u64,
        /// Bytes of this size line so far.
        line_len: usize,
    },
    /// Read the CR ending a size line; expecting LF.
    SizeLf {
        /// The chunk size.
        size: u64,
    },
    /// Inside chunk data.
    Data {
        /// Data bytes left in this chunk (never 0).
        remaining: u64,
    },
    /// After chunk data; expecting CR or a bare LF.
    DataCr,
    /// After chunk data and CR; expecting LF.
    DataLf,
    /// At the start of a trailer field line or the final empty line.
    TrailerStart {
        /// Bytes of trailer section so far.
        total: usize,
    },
    /// Inside a trailer field line.
    Trailer {
        /// Bytes of trailer section so far.
        total: usize,
        /// Whether the line has had its colon yet.
        colon: bool,
    },
    /// Read the CR ending a trailer field line; expecting LF.
    TrailerLf {
        /// Bytes of trailer section so far.
        total: usize,
        /// Whether the line had a colon.
        colon: bool,
    },
    /// Read the CR of the final empty line; expecting LF.
    EndLf {
        /// Bytes of trailer section so far.
        total: usize,
    },
    /// The whole chunked body, trailers included, has been read.
    Done,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(crate) fn new() -> Self {
        ChunkedDecoder::Size {
            size: 0,
            has_digits: false,
            line_len: 0,
        }
    }

    /// True once the final empty line after the trailers has been read.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self, ChunkedDecoder::Done)
    }

    /// Decodes from `input`, appending chunk data to `out`.
    ///
    /// Returns `(input_used, done)`. Input after the end of the chunked body
    /// is left unused. Chunk data is copied in runs, not byte by byte.
    ///
    /// # Errors
    ///
    /// Any malformed or oversized framing; the decoder must not be used
    /// after an error.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(usize, bool), ProtocolError> {
        let mut used = 0;
        loop {
            if self.is_done() {
                return Ok((used, true));
            }
            let rest = input.get(used..).unwrap_or_default();
            if let ChunkedDecoder::Data { remaining } = *self {
                let n = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                if n == 0 {
                    return Ok((used, false));
                }
                out.extend_from_slice(rest.get(..n).unwrap_or_default());
                used += n;
                // n <= remaining by construction, so this never saturates.
                let left = remaining.saturating_sub(n as u64);
                *self = if left == 0 {
                    ChunkedDecoder::DataCr
                } else {
                    ChunkedDecoder::Data { remaining: left }
                };
                continue;
            }
            let Some(&b) = rest.first() else {
                return Ok((used, false));
            };
            *self = self.step(b)?;
            used += 1;
        }
    }

    /// Moves one byte forward in any state but `Data` and `Done`.
    fn step(self, b: u8) -> Result<Self, ProtocolError> {
        match self {
            ChunkedDecoder::Size {
                size,
                has_digits,
                line_len,
            } => read_size(size, has_digits, line_len, b),
            ChunkedDecoder::SizeWs { size, line_len } => read_size_ws(size, line_len, b),
            ChunkedDecoder::Extension { size, line_len } => read_extension(size, line_len, b),
            ChunkedDecoder::SizeLf { size } => read_size_lf(size, b),
            ChunkedDecoder::DataCr => read_data_cr(b),
            ChunkedDecoder::DataLf => read_data_lf(b),
            ChunkedDecoder::TrailerStart { total } => read_trailer_start(total, b),
            ChunkedDecoder::Trailer { total, colon } => read_trailer(total, colon, b),
            ChunkedDecoder::TrailerLf { total, colon } => read_trailer_lf(total, colon, b),
            ChunkedDecoder::EndLf { total } => read_end_lf(total, b),
            // `decode` handles these two without stepping; staying put is harmless.
            ChunkedDecoder::Data { .. } | ChunkedDecoder::Done => Ok(self),
        }
    }
}

/// Counts one more byte of a size line against [`MAX_CHUNK_SIZE_LINE`].
fn grow_line(line_len: usize) -> Result<usize, ProtocolError> {
    let too_long = ProtocolError::ChunkSizeLineTooLong {
        limit: MAX_CHUNK_SIZE_LINE,
    };
    match line_len.checked_add(1) {
        Some(n) if n <= MAX_CHUNK_SIZE_LINE => Ok(n),
        _ => Err(too_long),
    }
}

/// Counts one more byte of trailer section against [`MAX_TRAILER_BYTES`].
fn grow_trailer(total: usize) -> Result<usize, ProtocolError> {
    let too_large = ProtocolError::TrailersTooLarge {
        limit: MAX_TRAILER_BYTES,
    };
    match total.checked_add(1) {
        Some(n) if n <= MAX_TRAILER_BYTES => Ok(n),
        _ => Err(too_large),
    }
}

/// The state after a complete size line: data, or the trailers after the
/// last chunk (RFC 9112 §7.1: `last-chunk = 1*("0") [ chunk-ext ] CRLF`).
fn end_size_line(size: u64) -> ChunkedDecoder {
    if size == 0 {
        ChunkedDecoder::TrailerStart { total: 0 }
    } else {
        ChunkedDecoder::Data { remaining: size }
    }
}

/// `chunk-size = 1*HEXDIG` (RFC 9112 §7.1), then what may follow it.
fn read_size(
    size: u64,
    has_digits: bool,
    line_len: usize,
    b: u8,
) -> Result<ChunkedDecoder, ProtocolError> {
    if let Some(digit) = hex_value(b) {
        let size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(digit)))
            .ok_or(ProtocolError::ChunkSizeOverflow)?;
        return Ok(ChunkedDecoder::Size {
            size,
            has_digits: true,
            line_len: grow_line(line_len)?,
        });
    }
    if !has_digits {
        return Err(ProtocolError::InvalidChunkSize);
    }
    read_size_ws(size, line_len, b)
}

/// Bad whitespace (`BWS`) between the size and `;` or the line end; also
/// the first byte after the digits.
fn read_size_ws(size: u64, line_len: usize, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    match b {
        b' ' | b'\t' => Ok(ChunkedDecoder::SizeWs {
            size,
            line_len: grow_line(line_len)?,
        }),
        b';' => Ok(ChunkedDecoder::Extension {
            size,
            line_len: grow_line(line_len)?,
        }),
        b'\r' => Ok(ChunkedDecoder::SizeLf { size }),
        // A bare LF ends the line too (RFC 9112 §2.2 lets a recipient accept it).
        b'\n' => Ok(end_size_line(size)),
        _ => Err(ProtocolError::InvalidChunkSize),
    }
}

/// `chunk-ext` (RFC 9112 §7.1.1): ignored, but bounded by [`MAX_CHUNK_SIZE_LINE`]
/// since a recipient "ought to limit the total length of chunk extensions".
fn read_extension(size: u64, line_len: usize, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    match b {
        b'\r' => Ok(ChunkedDecoder::SizeLf { size }),
        b'\n' => Ok(end_size_line(size)),
        _ => Ok(ChunkedDecoder::Extension {
            size,
            line_len: grow_line(line_len)?,
        }),
    }
}

/// The LF after the CR ending a size line.
fn read_size_lf(size: u64, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    match b {
        b'\n' => Ok(end_size_line(size)),
        _ => Err(ProtocolError::InvalidChunkSize),
    }
}

/// The CRLF (or bare LF) that must follow chunk data.
fn read_data_cr(b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    match b {
        b'\r' => Ok(ChunkedDecoder::DataLf),
        b'\n' => Ok(ChunkedDecoder::new()),
        _ => Err(ProtocolError::InvalidChunkDelimiter),
    }
}

/// The LF after the CR that follows chunk data.
fn read_data_lf(b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    match b {
        b'\n' => Ok(ChunkedDecoder::new()),
        _ => Err(ProtocolError::InvalidChunkDelimiter),
    }
}

/// `trailer-section = *( field-line CRLF )` then the final CRLF (RFC 9112 §7.1.2).
fn read_trailer_start(total: usize, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    let total = grow_trailer(total)?;
    match b {
        b'\r' => Ok(ChunkedDecoder::EndLf { total }),
        b'\n' => Ok(ChunkedDecoder::Done),
        // A field line needs a non-empty name before its colon.
        b':' => Err(ProtocolError::InvalidTrailer),
        _ => Ok(ChunkedDecoder::Trailer {
            total,
            colon: false,
        }),
    }
}

/// Inside one trailer field line.
fn read_trailer(total: usize, colon: bool, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    let total = grow_trailer(total)?;
    match b {
        b'\r' => Ok(ChunkedDecoder::TrailerLf { total, colon }),
        b'\n' => end_trailer_line(total, colon),
        _ => Ok(ChunkedDecoder::Trailer {
            total,
            colon: colon || b == b':',
        }),
    }
}

/// The LF after the CR ending a trailer field line.
fn read_trailer_lf(total: usize, colon: bool, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    let total = grow_trailer(total)?;
    match b {
        b'\n' => end_trailer_line(total, colon),
        _ => Err(ProtocolError::InvalidTrailer),
    }
}

/// A finished trailer line must have been `name: value`.
fn end_trailer_line(total: usize, colon: bool) -> Result<ChunkedDecoder, ProtocolError> {
    if colon {
        Ok(ChunkedDecoder::TrailerStart { total })
    } else {
        Err(ProtocolError::InvalidTrailer)
    }
}

/// The LF of the final empty line.
fn read_end_lf(total: usize, b: u8) -> Result<ChunkedDecoder, ProtocolError> {
    grow_trailer(total)?;
    match b {
        b'\n' => Ok(ChunkedDecoder::Done),
        _ => Err(ProtocolError::InvalidTrailer),
    }
}

/// The value of one ASCII hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` in one call; returns the payload and whether it finished.
    fn decode_all(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ProtocolError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let (used, done) = d.decode(input, &mut out)?;
        Ok((out, used, done))
    }

    /// Decodes `input` one byte at a time.
    fn decode_bytewise(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ProtocolError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut used = 0;
        for b in input.chunks(1) {
            let (n, done) = d.decode(b, &mut out)?;
            used += n;
            if done {
                return Ok((out, used, true));
            }
        }
        Ok((out, used, false))
    }

    /// The start of `input`, for assertion messages.
    fn show(input: &[u8]) -> String {
        let shown = String::from_utf8_lossy(&input[..input.len().min(40)]).into_owned();
        format!("{shown:?} ({} bytes)", input.len())
    }

    macro_rules! ok {
        ($input:expr, $body:expr) => {{
            let input: &[u8] = $input;
            let whole = decode_all(input).unwrap();
            let name = show(input);
            assert_eq!(whole, ($body.to_vec(), input.len(), true), "{name}");
            assert_eq!(decode_bytewise(input).unwrap(), whole, "{name}");
        }};
    }

    macro_rules! err {
        ($input:expr, $err:expr) => {{
            let input: &[u8] = $input;
            let name = show(input);
            assert_eq!(decode_all(input).map(|r| r.1), Err($err), "{name}");
            assert_eq!(decode_bytewise(input).map(|r| r.1), Err($err), "{name}");
        }};
    }

    #[test]
    fn simple() {
        ok!(b"5\r\nhello\r\n0\r\n\r\n", b"hello");
        ok!(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world");
        ok!(b"0\r\n\r\n", b"");
        ok!(b"000\r\n\r\n", b"");
        ok!(b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789");
        ok!(b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789");
        ok!(b"00000000000000000001\r\nx\r\n0\r\n\r\n", b"x");
    }

    #[test]
    fn extensions() {
        ok!(b"5;name=value\r\nhello\r\n0\r\n\r\n", b"hello");
        ok!(b"5 ; a=1;b=\"x;y\"\r\nhello\r\n0;end\r\n\r\n", b"hello");
        ok!(b"5\t;a\r\nhello\r\n0\r\n\r\n", b"hello");
        ok!(b"5 \r\nhello\r\n0\r\n\r\n", b"hello");
    }

    #[test]
    fn trailers() {
        ok!(b"5\r\nhello\r\n0\r\nExpires: never\r\n\r\n", b"hello");
        ok!(b"5\r\nhello\r\n0\r\nA: 1\r\nB:2\r\n\r\n", b"hello");
        ok!(b"0\r\nA: 1\n\n", b"");
    }

    #[test]
    fn bare_lf() {
        ok!(b"5\nhello\n0\n\n", b"hello");
        ok!(b"5;x\nhello\r\n0\r\n\n", b"hello");
    }

    #[test]
    fn stops_at_end() {
        let input = b"1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
        let (body, used, done) = decode_all(input).unwrap();
        assert_eq!((body.as_slice(), used, done), (&b"a"[..], 11, true));
        let mut d = ChunkedDecoder::Done;
        assert_eq!(d.decode(b"more", &mut Vec::new()), Ok((0, true)));
    }

    #[test]
    fn partial() {
        let (body, used, done) = decode_all(b"5\r\nhel").unwrap();
        assert_eq!((body.as_slice(), used, done), (&b"hel"[..], 6, false));
        let (body, used, done) = decode_all(b"").unwrap();
        assert_eq!((body.len(), used, done), (0, 0, false));
    }

    #[test]
    fn size_overflow() {
        err!(b"10000000000000000\r\n", ProtocolError::ChunkSizeOverflow);
        err!(b"fffffffffffffffff\r\n", ProtocolError::ChunkSizeOverflow);
        err!(b"ffffffffffffffff1\r\n", ProtocolError::ChunkSizeOverflow);
        // 16 digits fit.
        let (_, used, done) = decode_all(b"ffffffffffffffff\r\nab").unwrap();
        assert_eq!((used, done), (20, false));
    }

    #[test]
    fn bad_size() {
        err!(b"\r\n", ProtocolError::InvalidChunkSize);
        err!(b"x\r\n", ProtocolError::InvalidChunkSize);
        err!(b"-1\r\n", ProtocolError::InvalidChunkSize);
        err!(b"+1\r\n", ProtocolError::InvalidChunkSize);
        err!(b";ext\r\n", ProtocolError::InvalidChunkSize);
        err!(b" 5\r\n", ProtocolError::InvalidChunkSize);
        err!(b"5g\r\n", ProtocolError::InvalidChunkSize);
        err!(b"5 5\r\n", ProtocolError::InvalidChunkSize);
        err!(b"5\rx", ProtocolError::InvalidChunkSize);
        err!(b"0x5\r\n", ProtocolError::InvalidChunkSize);
    }

    #[test]
    fn missing_delimiter() {
        err!(b"5\r\nhelloX", ProtocolError::InvalidChunkDelimiter);
        err!(b"5\r\nhello\rX", ProtocolError::InvalidChunkDelimiter);
        err!(b"3\r\nhello\r\n", ProtocolError::InvalidChunkDelimiter);
    }

    #[test]
    fn huge_extension() {
        let mut input = b"5;".to_vec();
        input.resize(MAX_CHUNK_SIZE_LINE, b'x');
        input.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        ok!(&input, b"hello");

        let mut input = b"5;".to_vec();
        input.resize(MAX_CHUNK_SIZE_LINE + 1, b'x');
        input.extend_from_slice(b"\r\n");
        err!(
            &input,
            ProtocolError::ChunkSizeLineTooLong {
                limit: MAX_CHUNK_SIZE_LINE
            }
        );
        // Leading zeros count too.
        let input = vec![b'0'; MAX_CHUNK_SIZE_LINE + 1];
        err!(
            &input,
            ProtocolError::ChunkSizeLineTooLong {
                limit: MAX_CHUNK_SIZE_LINE
            }
        );
    }

    #[test]
    fn huge_trailers() {
        // The trailer section, final CRLF included, may be exactly the limit.
        let mut input = b"0\r\nX: ".to_vec();
        let fill = MAX_TRAILER_BYTES - "X: \r\n\r\n".len();
        input.resize(input.len() + fill, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        ok!(&input, b"");

        let mut input = b"0\r\nX: ".to_vec();
        input.resize(input.len() + fill + 1, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        err!(
            &input,
            ProtocolError::TrailersTooLarge {
                limit: MAX_TRAILER_BYTES
            }
        );
        // Many small lines add up.
        let input = b"0\r\n"
            .iter()
            .copied()
            .chain(b"A: b\r\n".repeat(4000))
            .collect::<Vec<_>>();
        err!(
            &input,
            ProtocolError::TrailersTooLarge {
                limit: MAX_TRAILER_BYTES
            }
        );
    }

    #[test]
    fn bad_trailers() {
        err!(b"0\r\nno colon\r\n\r\n", ProtocolError::InvalidTrailer);
        err!(b"0\r\n: empty name\r\n\r\n", ProtocolError::InvalidTrailer);
        err!(b"0\r\nA: b\rX", ProtocolError::InvalidTrailer);
        err!(b"0\r\n\rX", ProtocolError::InvalidTrailer);
    }

    #[test]
    fn large_chunk_copied_in_runs() {
        let data = vec![7u8; 70_000];
        let mut input = format!("{:x}\r\n", data.len()).into_bytes();
        input.extend_from_slice(&data);
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let (used, done) = d.decode(&input, &mut out).unwrap();
        assert_eq!((used, done), (input.len(), true));
        assert_eq!(out, data);
    }
}
