//! Not public API: thin wrappers over the sans-IO core, used by benches
//! and fuzz targets. Reached as `multifetch::__private`.

use http::Method;

use super::response::{Parsed, parse_head};
use super::{BodyDecoder, Limits, ProtocolError, ResponseReader};
use crate::h1::body::ChunkedDecoder;

/// Reads one response to a `method` request from `input` with default
/// limits, then EOF; returns the status code and body.
///
/// An unknown `method` is read as GET. Bytes after the response are ignored.
///
/// # Errors
///
/// Whatever the reader reports.
pub fn read_response(method: &str, input: &[u8]) -> Result<(u16, Vec<u8>), ProtocolError> {
    read_response_split(method, input, 0)
}

/// [`read_response`] with `input` handed over in two reads, split at
/// `split` (clamped to the input length).
///
/// # Errors
///
/// Whatever the reader reports.
pub fn read_response_split(
    method: &str,
    input: &[u8],
    split: usize,
) -> Result<(u16, Vec<u8>), ProtocolError> {
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    let (first, second) = input.split_at(split.min(input.len()));
    let mut reader = ResponseReader::new(method, Limits::default());
    let mut body = Vec::new();
    let used = reader.read(first, &mut body)?;
    if used == first.len() {
        reader.read(second, &mut body)?;
    }
    reader.on_eof()?;
    let status = reader.head().map_or(0, |head| head.status.as_u16());
    Ok((status, body))
}

/// Reads one response to a `method` request handed over in pieces: the
/// lengths in `pieces` in turn (a length of 0 counts as 1; once they run
/// out, the rest in one piece), then EOF. With `small_limits` the head may
/// be 512 bytes and 16 fields, the body 4096 bytes; otherwise the defaults.
/// Returns the status code and body, as [`read_response`] does.
///
/// Bytes the reader leaves unused are handed over again with the next
/// piece, as the connection does.
///
/// # Errors
///
/// Whatever the reader reports.
pub fn read_response_pieces(
    method: &str,
    input: &[u8],
    pieces: &[usize],
    small_limits: bool,
) -> Result<(u16, Vec<u8>), ProtocolError> {
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    let limits = if small_limits {
        Limits {
            max_head_bytes: 512,
            max_headers: 16,
            max_body_bytes: 4096,
        }
    } else {
        Limits::default()
    };
    let mut reader = ResponseReader::new(method, limits);
    let mut body = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = input;
    let mut lengths = pieces.iter().map(|&n| n.max(1));
    while !rest.is_empty() && !reader.is_done() {
        let n = lengths.next().unwrap_or(rest.len()).min(rest.len());
        let (piece, after) = rest.split_at(n);
        rest = after;
        pending.extend_from_slice(piece);
        let used = reader.read(&pending, &mut body)?;
        pending.drain(..used.min(pending.len()));
    }
    reader.on_eof()?;
    let status = reader.head().map_or(0, |head| head.status.as_u16());
    Ok((status, body))
}

/// True when two outcomes of [`read_response_split`] or
/// [`read_response_pieces`] over the same bytes agree, as they must however
/// the bytes were cut: equal, except that an answer that is not HTTP
/// ([`ProtocolError::NotHttp`]) is quoted as far as it had arrived when its
/// first byte proved it, so there the two quotes need only start the same.
pub fn same_outcome(
    a: &Result<(u16, Vec<u8>), ProtocolError>,
    b: &Result<(u16, Vec<u8>), ProtocolError>,
) -> bool {
    match (a, b) {
        (Err(ProtocolError::NotHttp { start: a }), Err(ProtocolError::NotHttp { start: b })) => {
            a.starts_with(b) || b.starts_with(a)
        }
        _ => a == b,
    }
}

/// Parses a response head with default limits: `Some(head_len)` when
/// complete, `None` when more bytes are needed.
///
/// # Errors
///
/// Whatever the head parser reports.
pub fn parse_head_len(input: &[u8]) -> Result<Option<usize>, ProtocolError> {
    Ok(match parse_head(input, &Limits::default())? {
        Parsed::Partial => None,
        Parsed::Complete { head_len, .. } => Some(head_len),
    })
}

/// Decodes a chunked body handed over in two pieces split at `split`
/// (clamped); returns the payload and whether the body was complete.
///
/// # Errors
///
/// Whatever the chunked decoder reports.
pub fn decode_chunked(input: &[u8], split: usize) -> Result<(Vec<u8>, bool), ProtocolError> {
    let (first, second) = input.split_at(split.min(input.len()));
    let mut decoder = BodyDecoder::Chunked(ChunkedDecoder::new());
    let mut out = Vec::with_capacity(input.len());
    let (used, done) = decoder.decode(first, &mut out)?;
    if done || used < first.len() {
        return Ok((out, done));
    }
    let (_, done) = decoder.decode(second, &mut out)?;
    Ok((out, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(read_response("GET", response), Ok((200, b"hi".to_vec())));
        assert_eq!(
            read_response_split("nonsense method", response, 99),
            Ok((200, b"hi".to_vec()))
        );
        assert_eq!(read_response("HEAD", response), Ok((200, Vec::new())));
        assert_eq!(parse_head_len(response), Ok(Some(38)));
        assert_eq!(parse_head_len(b"HTTP/1.1"), Ok(None));
        assert_eq!(
            decode_chunked(b"2\r\nhi\r\n0\r\n\r\n", 4),
            Ok((b"hi".to_vec(), true))
        );
        assert_eq!(decode_chunked(b"2\r\nhi", 1), Ok((b"hi".to_vec(), false)));
    }

    #[test]
    fn pieces_give_the_same_response_as_one_read() {
        let response: &[u8] =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\nextra";
        let whole = read_response("GET", response);
        assert_eq!(whole, Ok((200, b"hello".to_vec())));
        for pieces in [&[1][..], &[1; 200], &[3, 0, 7], &[50, 1, 1, 2], &[]] {
            assert_eq!(
                read_response_pieces("GET", response, pieces, false),
                whole,
                "{pieces:?}"
            );
        }
        // Not HTTP: each way of cutting quotes what it had when it knew.
        let tls = b"\x16\x03\x01\x00\xa5\x01\x00";
        let whole = read_response_pieces("GET", tls, &[], false);
        assert_eq!(
            whole,
            Err(ProtocolError::NotHttp {
                start: tls.to_vec()
            })
        );
        let dripped = read_response_pieces("GET", tls, &[1; 7], false);
        assert_eq!(dripped, Err(ProtocolError::NotHttp { start: vec![0x16] }));
        assert!(same_outcome(&whole, &dripped) && same_outcome(&dripped, &whole));
        assert!(!same_outcome(
            &whole,
            &Err(ProtocolError::NotHttp { start: vec![0x15] })
        ));
        assert!(!same_outcome(&whole, &Err(ProtocolError::EmptyReply)));
        assert_eq!(
            read_response_pieces(
                "GET",
                b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
                &[],
                true
            ),
            Err(ProtocolError::BodyTooLarge { limit: 4096 })
        );
    }

    /// The fuzz targets' check, run over systematic mutations of valid
    /// input: no panic, and the split point never changes the outcome.
    #[test]
    fn mutations_are_split_invariant() {
        let responses: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody",
        ];
        let bytes = [0u8, b'\r', b'\n', b' ', b':', b';', b'0', b'f', b'x', 0xff];
        for base in responses {
            let body_start = base
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |p| p + 4);
            for i in 0..base.len() {
                let mut variants = vec![base[..i].to_vec()];
                for b in bytes {
                    let mut replaced = base.to_vec();
                    replaced[i] = b;
                    variants.push(replaced);
                    let mut inserted = base.to_vec();
                    inserted.insert(i, b);
                    variants.push(inserted);
                }
                for input in &variants {
                    for method in ["GET", "HEAD"] {
                        let whole = read_response(method, input);
                        for split in [1, i, input.len() / 2, input.len().saturating_sub(1)] {
                            let split_up = read_response_split(method, input, split);
                            assert!(
                                same_outcome(&split_up, &whole),
                                "{method} {:?} split at {split}: {split_up:?} and {whole:?}",
                                String::from_utf8_lossy(input)
                            );
                        }
                    }
                    let body = input.get(body_start.min(input.len())..).unwrap_or_default();
                    let whole = decode_chunked(body, body.len());
                    for split in [0, 1, i, body.len() / 2] {
                        assert_eq!(decode_chunked(body, split), whole);
                    }
                }
            }
        }
    }
}
