//! Response body framing and reuse, decided from a parsed head:
//! [`body_decoder`] picks the framing (RFC 9112 §6.3) and [`can_keep_alive`]
//! whether the connection may carry another request (RFC 9112 §9.3).

use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, Method, StatusCode, Version};

use super::head::ResponseHead;
use crate::h1::ProtocolError;
use crate::h1::body::{BodyDecoder, ChunkedDecoder};

/// The members of a comma-separated list header value, trimmed, empty ones
/// skipped (RFC 9110 §5.6.1 asks recipients to ignore them).
fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|member| !member.is_empty())
}

/// Whether any field named `name` lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| list_members(value.as_bytes()))
        .any(|member| member.eq_ignore_ascii_case(token.as_bytes()))
}

/// Picks the body framing of a response, following RFC 9112 §6.3 in order.
///
/// `request_method` is the method of the request this response answers.
/// The body size limit is checked by the caller ([`ResponseReader`]).
///
/// # Errors
///
/// [`ProtocolError::UnsupportedTransferCoding`],
/// [`ProtocolError::InvalidContentLength`],
/// [`ProtocolError::ConflictingContentLength`].
pub(crate) fn body_decoder(
    request_method: &Method,
    head: &ResponseHead,
) -> Result<BodyDecoder, ProtocolError> {
    let status = head.status;
    // §6.3 item 1: a response to HEAD, and any 1xx, 204 or 304 response,
    // ends at the blank line whatever its header fields say.
    if *request_method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(BodyDecoder::Empty);
    }
    // §6.3 item 2: after a 2xx to CONNECT the connection is a tunnel; the
    // head has no body, whatever its fields say (and the reader never
    // offers such a connection for reuse).
    if *request_method == Method::CONNECT && status.is_success() {
        return Ok(BodyDecoder::Empty);
    }

    // §6.3 item 3: Transfer-Encoding overrides Content-Length.
    if head.headers.contains_key(TRANSFER_ENCODING) {
        let mut last: Option<&[u8]> = None;
        let mut unsupported: Option<&[u8]> = None;
        for coding in head
            .headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .flat_map(|value| list_members(value.as_bytes()))
        {
            if let Some(previous) = last {
                // Only `identity` (a no-op) may come before the final
                // coding; anything else would have to be undone, and
                // `chunked` may be applied only once (§7).
                if unsupported.is_none() && !previous.eq_ignore_ascii_case(b"identity") {
                    unsupported = Some(previous);
                }
            }
            last = Some(coding);
        }
        return match last {
            Some(coding) if coding.eq_ignore_ascii_case(b"chunked") => match unsupported {
                Some(other) => Err(ProtocolError::UnsupportedTransferCoding(
                    String::from_utf8_lossy(other).into_owned(),
                )),
                None => Ok(BodyDecoder::Chunked(ChunkedDecoder::new())),
            },
            // §6.3 item 4: in a response, Transfer-Encoding without a final
            // `chunked` means the body runs until the server closes.
            _ => Ok(BodyDecoder::CloseDelimited),
        };
    }

    // §6.3 item 5: a list of identical Content-Length values counts as one
    // value; anything else invalid is an unrecoverable framing error.
    let mut length: Option<u64> = None;
    for value in head.headers.get_all(CONTENT_LENGTH) {
        // Unlike list_members, an empty member here is an error, not noise.
        for member in value.as_bytes().split(|&b| b == b',') {
            let n =
                parse_decimal(member.trim_ascii()).ok_or(ProtocolError::InvalidContentLength)?;
            match length {
                Some(previous) if previous != n => {
                    return Err(ProtocolError::ConflictingContentLength);
                }
                _ => length = Some(n),
            }
        }
    }
    Ok(match length {
        Some(remaining) => BodyDecoder::Length { remaining },
        // §6.3 item 8: no framing at all, so the body runs until close.
        None => BodyDecoder::CloseDelimited,
    })
}

/// `1*DIGIT` as a u64; `None` when empty, not all digits, or too large.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the connection may carry another request after this response.
///
/// HTTP/1.1 persists unless a `Connection: close` token (RFC 9112 §9.3);
/// HTTP/1.0 only with a `keep-alive` token (RFC 9112 §C.2.2). Never when
/// the body is close-delimited (it ends with the connection), when both
/// Transfer-Encoding and Content-Length were present (RFC 9112 §6.3 item 3:
/// the sender may be smuggling), or when an HTTP/1.0 response has
/// Transfer-Encoding (RFC 9112 §6.1: its framing is faulty).
pub(crate) fn can_keep_alive(head: &ResponseHead, decoder: &BodyDecoder) -> bool {
    if decoder.is_close_delimited() {
        return false;
    }
    let has_te = head.headers.contains_key(TRANSFER_ENCODING);
    if has_te && head.headers.contains_key(CONTENT_LENGTH) {
        return false;
    }
    if has_token(&head.headers, &CONNECTION, "close") {
        return false;
    }
    match head.version {
        Version::HTTP_11 => true,
        Version::HTTP_10 => !has_te && has_token(&head.headers, &CONNECTION, "keep-alive"),
        _ => false,
    }
}
