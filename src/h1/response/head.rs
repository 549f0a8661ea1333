//! Response heads: the httparse bridge. This is the only module that
//! touches httparse: [`parse_head`] turns its output into `http` types, so
//! httparse never leaks into the rest of the crate (the bridge ureq-proto
//! keeps in `src/parser.rs`).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

use crate::h1::{Limits, ProtocolError};

/// A parsed response head.
#[derive(Debug, Clone)]
pub(crate) struct ResponseHead {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// Every header field, repeats kept in order.
    pub headers: HeaderMap,
}

/// Result of trying to parse a head from a buffer.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// The head is not complete yet: more bytes are needed.
    Partial,
    /// A whole head, `head_len` bytes long (blank line included).
    Complete {
        /// The parsed head.
        head: ResponseHead,
        /// Bytes of input the head took.
        head_len: usize,
    },
}

/// Header slots kept on the stack; larger `max_headers` fall back to a `Vec`.
const STACK_HEADERS: usize = 128;

/// Parses one response head from the start of `input`.
///
/// # Errors
///
/// - [`ProtocolError::HeadTooLarge`] when the head is still partial after
///   more than `max_head_bytes` bytes, or complete but longer than that;
/// - [`ProtocolError::TooManyHeaders`] when it has more than `max_headers` fields;
/// - [`ProtocolError::MalformedHead`] when httparse rejects it or a name,
///   value or status code is not acceptable to `http`.
pub(crate) fn parse_head(input: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let slots = slots.get_mut(..limits.max_headers).unwrap_or_default();
        parse_head_into(input, limits, slots)
    } else {
        // Every header line takes at least 3 bytes ("a:\n"), so the input
        // cannot hold more fields than this; no need to allocate the limit.
        let count = limits.max_headers.min(input.len() / 3 + 1);
        let mut slots = vec![httparse::EMPTY_HEADER; count];
        parse_head_into(input, limits, &mut slots)
    }
}

/// [`parse_head`] with caller-provided httparse header slots.
fn parse_head_into<'b>(
    input: &'b [u8],
    limits: &Limits,
    slots: &mut [httparse::Header<'b>],
) -> Result<Parsed, ProtocolError> {
    let too_large = ProtocolError::HeadTooLarge {
        limit: limits.max_head_bytes,
    };
    let mut response = httparse::Response::new(slots);
    let mut config = httparse::ParserConfig::default();
    // Seen in the wild ("HTTP/1.1  200 OK"); harmless to accept.
    config.allow_multiple_spaces_in_response_status_delimiters(true);
    let head_len = match config.parse_response(&mut response, input) {
        Ok(httparse::Status::Partial) if input.len() > limits.max_head_bytes => {
            return Err(too_large);
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Ok(httparse::Status::Complete(len)) if len > limits.max_head_bytes => {
            return Err(too_large);
        }
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProtocolError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        Err(e) => return Err(ProtocolError::MalformedHead(describe(e))),
    };

    let version = match response.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(ProtocolError::MalformedHead("invalid HTTP version")),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(ProtocolError::MalformedHead("invalid response status"))?;
    let too_many = ProtocolError::TooManyHeaders {
        limit: limits.max_headers,
    };
    let mut headers =
        HeaderMap::try_with_capacity(response.headers.len()).map_err(|_| too_many.clone())?;
    // One copy of the head for all the values, each a slice of it, rather
    // than one allocation per value.
    let head = input.get(..head_len).unwrap_or(input);
    let shared = Bytes::copy_from_slice(head);
    let head_start = head.as_ptr() as usize;
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| ProtocolError::MalformedHead("invalid header name"))?;
        // httparse's value is a slice of `input`: find it in `shared`.
        let start = (header.value.as_ptr() as usize).wrapping_sub(head_start);
        let value = match shared.get(start..start.saturating_add(header.value.len())) {
            Some(bytes) if bytes == header.value => {
                HeaderValue::from_maybe_shared(shared.slice(start..start + header.value.len()))
            }
            _ => HeaderValue::from_bytes(header.value),
        }
        .map_err(|_| ProtocolError::MalformedHead("invalid header value"))?;
        headers
            .try_append(name, value)
            .map_err(|_| too_many.clone())?;
    }
    Ok(Parsed::Complete {
        head: ResponseHead {
            version,
            status,
            headers,
        },
        head_len,
    })
}

/// httparse's message for an error, as a `&'static str`.
fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid new line",
        httparse::Error::Status => "invalid response status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}
