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
/// value, unless the request or the defaults set one; `Proxy-Authorization`).
/// Through a forwarding proxy the request target is the absolute URL (RFC
/// 9112 §3.2.2). Returns whether `Accept-Encoding` was added, that is,
/// whether a coded response is for the client to decode.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    request: &Request,
    route: &Route,
    defaults: &HeaderMap,
    decompress: bool,
    cookie: Option<&HeaderValue>,
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
    // Not when the caller set Accept-Encoding or Range (see the function).
    let accept_encoding = decode::accept_encoding(own, defaults, decompress);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_carries_defaults_without_overriding_the_request() {
        let mut defaults = HeaderMap::new();
        defaults.insert("user-agent", "multifetch/test".parse().unwrap());
        defaults.insert("accept", "*/*".parse().unwrap());
        let req = Request::get("http://example.com:8080/a/b?c=d#frag")
            .unwrap()
            .header("accept", "text/html")
            .unwrap();
        let mut out = Vec::new();
        write_head(&mut out, &req, &Route::Direct, &defaults, false, None);
        let text = String::from_utf8(out).unwrap();
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
        let mut out = Vec::new();
        write_head(
            &mut out,
            &req,
            &Route::Direct,
            &HeaderMap::new(),
            false,
            Some(&jar),
        );
        assert!(String::from_utf8_lossy(&out).contains("\r\ncookie: sid=1\r\n"));
        let own = req.header("cookie", "mine=2").unwrap();
        out.clear();
        write_head(
            &mut out,
            &own,
            &Route::Direct,
            &HeaderMap::new(),
            false,
            Some(&jar),
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("cookie: mine=2\r\n") && !text.contains("sid=1"),
            "{text}"
        );
        let mut defaults = HeaderMap::new();
        defaults.insert(header::COOKIE, HeaderValue::from_static("default=3"));
        let req = Request::get("http://example.com/").unwrap();
        out.clear();
        write_head(&mut out, &req, &Route::Direct, &defaults, false, Some(&jar));
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("default=3") && !text.contains("sid=1"),
            "{text}"
        );
    }

    #[test]
    fn default_ports_are_left_out_of_host() {
        let req = Request::get("http://example.com:80").unwrap();
        let mut out = Vec::new();
        write_head(
            &mut out,
            &req,
            &Route::Direct,
            &HeaderMap::new(),
            false,
            None,
        );
        assert_eq!(out, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    }
}
