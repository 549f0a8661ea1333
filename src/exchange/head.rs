//! The request head of an exchange, as HTTP/1.1 bytes: the request's own
//! headers, then the client's defaults, then what the client adds
//! (`Accept-Encoding`, the cookie jar's `Cookie`, `Proxy-Authorization`).

use http::HeaderMap;
use http::header::{self, HeaderValue};
use url::Position;

use crate::decode;
use crate::h1;
use crate::proxy::Route;
use crate::request::Request;

/// Builds the request head: the request's own headers first, then the
/// client's defaults for names the request does not set, then what the
/// client adds itself (`Accept-Encoding`; `cookie`, the jar's `Cookie`
/// value, unless the request or the defaults set one; `Proxy-Authorization`;
/// and for a resumed download `Range: bytes=N-` with its `If-Range`).
/// Through a forwarding proxy the request target is the absolute URL (RFC
/// 9112 §3.2.2). A request with a `Range` gets no `Accept-Encoding`: a range
/// of a coded body is a range of the coded bytes, which the caller cannot use
/// (and a coded resume could not be joined to what came before). Returns
/// whether `Accept-Encoding` was added, that is, whether a coded response
/// is for the client to decode.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    request: &Request,
    route: &Route,
    defaults: &HeaderMap,
    decompress: bool,
    cookie: Option<&HeaderValue>,
    range: Option<(u64, Option<&HeaderValue>)>,
) -> bool {
    let url = request.url();
    let target = match route {
        Route::Forward(_) => &url[..Position::AfterQuery],
        Route::Direct | Route::Tunnel(_) => &url[Position::BeforePath..Position::AfterQuery],
    };
    let target = if target.is_empty() { "/" } else { target };
    let host = &url[Position::BeforeHost..Position::AfterPort];
    let body_len = request.body_bytes().map(|b| b.len() as u64);
    let own = request.headers();
    let range = range.filter(|_| !own.contains_key(header::RANGE));
    let range_value = range.map(|(from, _)| {
        HeaderValue::try_from(format!("bytes={from}-"))
            .unwrap_or_else(|_| HeaderValue::from_static("bytes=0-"))
    });
    let if_range = range
        .and_then(|(_, validator)| validator)
        .filter(|_| !own.contains_key(header::IF_RANGE));
    // Not when the caller set Accept-Encoding or Range (see the function),
    // nor with the Range of a resumed download.
    let accept_encoding =
        decode::accept_encoding(own, defaults, decompress).filter(|_| range.is_none());
    let proxy_auth = match route {
        Route::Forward(proxy) => proxy
            .auth
            .as_ref()
            .filter(|_| !own.contains_key(header::PROXY_AUTHORIZATION)),
        Route::Direct | Route::Tunnel(_) => None,
    };
    // The request's own headers, then the defaults it does not override,
    // then what the client adds: chained, so nothing is copied.
    let accept_encoding = accept_encoding.map(HeaderValue::from_static);
    let cookie = cookie
        .filter(|_| !own.contains_key(header::COOKIE) && !defaults.contains_key(header::COOKIE));
    let added = [
        (header::ACCEPT_ENCODING, accept_encoding.as_ref()),
        (header::COOKIE, cookie),
        (header::PROXY_AUTHORIZATION, proxy_auth),
        (header::RANGE, range_value.as_ref()),
        (header::IF_RANGE, if_range),
    ];
    let headers = || {
        own.iter()
            .chain(defaults.iter().filter(|(name, _)| !own.contains_key(*name)))
            .chain(
                added
                    .iter()
                    .filter_map(|(name, value)| Some((name, (*value)?))),
            )
    };
    h1::write_request_head(out, request.method(), target, host, headers, body_len);
    accept_encoding.is_some()
}

/// Opens an HTTP/2 stream for `request` on `session`: `:method`,
/// `:scheme`, `:authority` (the URL's host and port, or the request's
/// `Host`), `:path`, then the request's own fields, the client's defaults
/// for names it does not set, `accept-encoding` when decoding is on (and no
/// `Range` goes), `cookie` (the jar's value, unless the request or the
/// defaults set one; one field, as RFC 9113 §8.2.3 allows), `range` and
/// `if-range` for a resumed download, and `content-length` for a body.
/// Connection-specific fields are never sent
/// (RFC 9113 §8.2.2). With no body the HEADERS end the stream. `added`
/// is scratch space for the fields added (left empty, its capacity kept
/// for the next request). Returns the stream (or why none could be
/// opened) and whether `accept-encoding` was added.
#[cfg(feature = "http2")]
pub(crate) fn send_h2_request(
    session: &mut crate::h2::session::Session,
    request: &Request,
    defaults: &HeaderMap,
    decompress: bool,
    cookie: Option<&HeaderValue>,
    range: Option<(u64, Option<&HeaderValue>)>,
    added: &mut Vec<(http::HeaderName, HeaderValue)>,
) -> (
    Result<crate::h2::StreamId, crate::h2::error::SendError>,
    bool,
) {
    use crate::h2::session::{ExtraFields, RequestHead};

    let url = request.url();
    let path = &url[Position::BeforePath..Position::AfterQuery];
    let path = if path.is_empty() { "/" } else { path };
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let own = request.headers();
    let range = range.filter(|_| !own.contains_key(header::RANGE));
    // As for HTTP/1.1: none when the caller set Accept-Encoding or Range,
    // nor with the Range of a resumed download.
    let accept_encoding =
        decode::accept_encoding(own, defaults, decompress).filter(|_| range.is_none());
    let body = request.body_bytes();
    added.clear();
    if let Some(value) = accept_encoding {
        added.push((header::ACCEPT_ENCODING, HeaderValue::from_static(value)));
    }
    if let Some(cookie) = cookie
        .filter(|_| !own.contains_key(header::COOKIE) && !defaults.contains_key(header::COOKIE))
    {
        added.push((header::COOKIE, cookie.clone()));
    }
    if let Some((from, validator)) = range {
        if let Ok(value) = HeaderValue::try_from(format!("bytes={from}-")) {
            added.push((header::RANGE, value));
        }
        if let Some(validator) = validator.filter(|_| !own.contains_key(header::IF_RANGE)) {
            added.push((header::IF_RANGE, validator.clone()));
        }
    }
    if let Some(body) = body.filter(|_| !own.contains_key(header::CONTENT_LENGTH)) {
        added.push((header::CONTENT_LENGTH, HeaderValue::from(body.len())));
    }
    let head = RequestHead {
        method: request.method(),
        scheme: url.scheme(),
        authority,
        path,
        headers: own,
    };
    let extra = ExtraFields {
        defaults,
        added: added.as_slice(),
    };
    let end_stream = body.is_none_or(<[u8]>::is_empty);
    let sent = session.send_request_with(&head, Some(extra), end_stream);
    added.clear();
    (sent, accept_encoding.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`write_head`] writes for `request` sent directly (no proxy),
    /// as text, and whether it offered to decode.
    fn head(
        request: &Request,
        defaults: &HeaderMap,
        decompress: bool,
        cookie: Option<&HeaderValue>,
        range: Option<(u64, Option<&HeaderValue>)>,
    ) -> (String, bool) {
        let mut out = Vec::new();
        let decodes = write_head(
            &mut out,
            request,
            &Route::Direct,
            defaults,
            decompress,
            cookie,
            range,
        );
        (String::from_utf8(out).expect("a head in ASCII"), decodes)
    }

    #[test]
    fn head_carries_defaults_without_overriding_the_request() {
        let mut defaults = HeaderMap::new();
        defaults.insert("user-agent", "multifetch/test".parse().unwrap());
        defaults.insert("accept", "*/*".parse().unwrap());
        let req = Request::get("http://example.com:8080/a/b?c=d#frag")
            .unwrap()
            .header("accept", "text/html")
            .unwrap();
        let (text, _) = head(&req, &defaults, false, None, None);
        assert!(
            text.starts_with("GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("accept: text/html\r\n"), "{text}");
        assert!(!text.contains("*/*"), "{text}");
        assert!(text.contains("user-agent: multifetch/test\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn the_jar_cookie_is_added_unless_the_request_has_its_own() {
        let jar = HeaderValue::from_static("sid=1");
        let req = Request::get("http://example.com/").unwrap();
        let (text, _) = head(&req, &HeaderMap::new(), false, Some(&jar), None);
        assert!(text.contains("\r\ncookie: sid=1\r\n"), "{text}");
        let own = req.header("cookie", "mine=2").unwrap();
        let (text, _) = head(&own, &HeaderMap::new(), false, Some(&jar), None);
        assert!(
            text.contains("cookie: mine=2\r\n") && !text.contains("sid=1"),
            "{text}"
        );
        let mut defaults = HeaderMap::new();
        defaults.insert(header::COOKIE, HeaderValue::from_static("default=3"));
        let req = Request::get("http://example.com/").unwrap();
        let (text, _) = head(&req, &defaults, false, Some(&jar), None);
        assert!(
            text.contains("default=3") && !text.contains("sid=1"),
            "{text}"
        );
    }

    #[test]
    fn a_resumed_download_asks_for_the_rest_without_accept_encoding() {
        let req = Request::get("http://h.test/f").unwrap();
        let etag = HeaderValue::from_static("\"v1\"");
        let (text, decodes) = head(
            &req,
            &HeaderMap::new(),
            true,
            None,
            Some((1234, Some(&etag))),
        );
        assert!(!decodes);
        assert!(text.contains("range: bytes=1234-\r\n"), "{text}");
        assert!(text.contains("if-range: \"v1\"\r\n"), "{text}");
        assert!(!text.contains("accept-encoding"), "{text}");

        let own = req.header("range", "bytes=0-9").unwrap();
        let (text, decodes) = head(&own, &HeaderMap::new(), true, None, None);
        assert!(!decodes && !text.contains("accept-encoding"), "{text}");
        assert_eq!(text.matches("range:").count(), 1, "{text}");
    }

    #[test]
    fn default_ports_are_left_out_of_host() {
        let req = Request::get("http://example.com:80").unwrap();
        let (text, _) = head(&req, &HeaderMap::new(), false, None, None);
        assert_eq!(text, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    }
}
