//! Not public API: thin wrappers over the sans-IO parts of the crate (the
//! HTTP/1.1 reader, the HTTP/2 engine, redirect resolution, content
//! decoding, the resume rules), used by benches, fuzz targets and tests. Reached as
//! `multifetch::__private`.

use http::header::{CONTENT_ENCODING, HeaderMap, HeaderValue, LOCATION};
use http::{Method, StatusCode};

use crate::decode::{ContentDecoder, DecodeError};
use crate::exchange::range::{self, Answer};
pub use crate::h1::private::*;
/// The sans-IO HTTP/2 engine (the reactor runs it on h2 connections).
#[cfg(feature = "http2")]
pub use crate::h2::private as h2;
use crate::redirect::{self, Action};
use crate::request::Request;

/// What the redirect rules make of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectOutcome {
    /// Followed: the next request's method and URL.
    Follow(String, String),
    /// Handed to the caller, with the reason a redirect was declined (if
    /// the status is one that is followed).
    Return(Option<String>),
    /// A loop or too many redirects: the error message.
    Fail(String),
}

/// Runs the redirect rules on a `status` answer with `location` (raw
/// header bytes, or none) to a `method` request for `base`, with `max`
/// redirects allowed and none followed yet.
///
/// `None` when the input cannot occur: `base` is not a usable URL,
/// `method` or `status` is invalid, or `location` is not a valid header
/// value (CR, LF, NUL).
pub fn follow_redirect(
    method: &str,
    base: &str,
    status: u16,
    location: Option<&[u8]>,
    max: u32,
) -> Option<RedirectOutcome> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let request = Request::parse(method.clone(), base).ok()?;
    let status = StatusCode::from_u16(status).ok()?;
    let mut headers = HeaderMap::new();
    if let Some(location) = location {
        headers.insert(LOCATION, HeaderValue::from_bytes(location).ok()?);
    }
    let chain = [(method, request.url().clone())];
    let declined = redirect::declined(status, &headers, request.url(), max);
    Some(
        match redirect::next_request(&request, status, &headers, &chain, max) {
            Action::Follow(next) => {
                if let Some(reason) = declined {
                    panic!("followed a redirect also declined: {reason}");
                }
                RedirectOutcome::Follow(next.method().to_string(), next.url().to_string())
            }
            Action::Return => RedirectOutcome::Return(declined.map(|reason| reason.to_string())),
            Action::Fail(reason) => RedirectOutcome::Fail(reason.to_string()),
        },
    )
}

/// Decodes `input` as a body sent with `Content-Encoding: content_encoding`
/// (raw header bytes), handed over in pieces of the lengths in `pieces` in
/// turn (0 counts as 1; then the rest at once), with the decoded body
/// limited to `limit` bytes.
///
/// `None` when the body would be handed over undecoded (no coding this
/// build decodes, or `content_encoding` is not a valid header value).
/// Otherwise the decoded body, or the error: `too large` or `corrupt
/// CODING: MESSAGE`.
pub fn decode_content(
    content_encoding: &[u8],
    input: &[u8],
    pieces: &[usize],
    limit: u64,
) -> Option<Result<Vec<u8>, String>> {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_ENCODING,
        HeaderValue::from_bytes(content_encoding).ok()?,
    );
    let mut decoder = ContentDecoder::for_headers(&headers, limit)?;
    let mut out = Vec::new();
    let mut rest = input;
    let mut lengths = pieces.iter().map(|&n| n.max(1));
    let result = loop {
        if rest.is_empty() {
            break decoder.finish();
        }
        let n = lengths.next().unwrap_or(rest.len()).min(rest.len());
        let (piece, after) = rest.split_at(n);
        rest = after;
        if let Err(error) = decoder.feed(piece, &mut out) {
            break Err(error);
        }
    };
    assert!(
        out.len() as u64 <= limit,
        "{} bytes decoded past the limit of {limit}",
        out.len()
    );
    Some(match result {
        Ok(()) => Ok(out),
        Err(DecodeError::TooLarge { .. }) => Err("too large".to_owned()),
        Err(DecodeError::Corrupt(message)) => {
            Err(format!("corrupt {}: {message}", decoder.coding()))
        }
    })
}

/// What the resume rules make of an answer with `status` to
/// `Range: bytes={offset}-`, given its raw `Content-Range` value, and the
/// `If-Range` validator a later resume would send from raw `ETag`,
/// `Last-Modified` and `Date` values (each header left out when `None`).
///
/// `None` when a value is not a valid header value or `status` is not a
/// status code. The answer is one of `append (total N|unknown)`, `restart`,
/// `complete`, `mismatch: MESSAGE` or `other`.
pub fn resume_answer(
    status: u16,
    content_range: Option<&[u8]>,
    etag: Option<&[u8]>,
    last_modified: Option<&[u8]>,
    date: Option<&[u8]>,
    offset: u64,
) -> Option<(String, Option<String>)> {
    let status = StatusCode::from_u16(status).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (http::header::CONTENT_RANGE, content_range),
        (http::header::ETAG, etag),
        (http::header::LAST_MODIFIED, last_modified),
        (http::header::DATE, date),
    ] {
        if let Some(value) = value {
            headers.insert(name, HeaderValue::from_bytes(value).ok()?);
        }
    }
    let answer = match range::answer(status, &headers, offset) {
        Answer::Append { total: Some(n) } => format!("append (total {n})"),
        Answer::Append { total: None } => "append (total unknown)".to_owned(),
        Answer::Restart => "restart".to_owned(),
        Answer::Complete => "complete".to_owned(),
        Answer::Mismatch(message) => format!("mismatch: {message}"),
        Answer::Other => "other".to_owned(),
    };
    let validator =
        range::validator(&headers).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Some((answer, validator))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_answers_through_the_wrapper() {
        assert_eq!(
            resume_answer(206, Some(b"bytes 5-9/10"), Some(b"\"e\""), None, None, 5),
            Some(("append (total 10)".into(), Some("\"e\"".into())))
        );
        assert_eq!(
            resume_answer(416, Some(b"bytes */10"), Some(b"W/\"e\""), None, None, 10),
            Some(("complete".into(), None))
        );
        assert_eq!(
            resume_answer(200, None, None, None, None, 3).unwrap().0,
            "restart"
        );
        assert_eq!(resume_answer(206, Some(b"\n"), None, None, None, 3), None);
    }

    #[test]
    fn redirects_through_the_wrapper() {
        assert_eq!(
            follow_redirect("GET", "http://a.test/x", 302, Some(b"/caf\xc3\xa9"), 10),
            Some(RedirectOutcome::Follow(
                "GET".into(),
                "http://a.test/caf%C3%A9".into()
            ))
        );
        assert_eq!(
            follow_redirect("GET", "http://a.test/x", 302, None, 10),
            Some(RedirectOutcome::Return(Some(
                "the response has no Location header".into()
            )))
        );
        assert_eq!(
            follow_redirect("GET", "http://a.test/x", 200, Some(b"/y"), 10),
            Some(RedirectOutcome::Return(None))
        );
        assert!(matches!(
            follow_redirect("GET", "http://a.test/x", 302, Some(b"/x"), 10),
            Some(RedirectOutcome::Fail(_))
        ));
        assert_eq!(follow_redirect("GET", "nonsense", 302, None, 10), None);
        assert_eq!(
            follow_redirect("GET", "http://a.test/", 302, Some(b"a\nb"), 10),
            None
        );
    }

    #[cfg(feature = "gzip")]
    #[test]
    fn decoding_through_the_wrapper() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"hello").unwrap();
        let gz = e.finish().unwrap();
        assert_eq!(
            decode_content(b"gzip", &gz, &[1, 2, 3], 100),
            Some(Ok(b"hello".to_vec()))
        );
        assert_eq!(decode_content(b"identity", &gz, &[], 100), None);
        assert_eq!(
            decode_content(b"gzip", &gz, &[], 4),
            Some(Err("too large".into()))
        );
        assert!(matches!(
            decode_content(b"deflate, gzip", &gz, &[], 100),
            Some(Err(message)) if message.starts_with("corrupt deflate: ")
        ));
    }
}
