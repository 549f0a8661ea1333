//! Redirects, decided without I/O: given the request that was sent and the
//! head of its 3xx response, [`next_request`] says whether to follow it and
//! builds the next request; [`declined`] says why a 3xx handed to the caller
//! was not followed.
//!
//! ```text
//! 301/302/303/307/308 ──▶ redirects on? ──no──▶ Return (Disabled)
//!                               │ yes
//!                               ▼
//!        Location present? ──no──▶ Return (MissingLocation)
//!                               │ yes
//!                               ▼
//!   non-ASCII bytes percent-encoded, resolved against the request URL
//!        a URL? ──no──▶ Return (InvalidLocation)     http or https? ──no──▶ Return (UnsupportedScheme)
//!                               │ yes
//!                               ▼
//!                     already seen (same method)? ──yes──▶ Fail (loop)
//!                               │ no
//!                               ▼
//!                        hops so far >= limit? ──yes──▶ Fail (too many)
//!                               │ no
//!                               ▼
//!   method: 303 → GET (HEAD stays HEAD); 301/302 POST → GET; 307/308 keep method and body
//!   headers: Authorization, Cookie, Proxy-Authorization (and an explicit Host)
//!            dropped when scheme, host or port change
//!                               ▼
//!                           Follow(next)
//! ```
//!
//! The method rules are those browsers follow (the Fetch standard, "HTTP-redirect
//! fetch"), which RFC 9110 §15.4 allows for 301 and 302.
//!
//! A `Location` should be ASCII (RFC 9110 §10.2.2 makes it a URI reference),
//! but servers send raw UTF-8 (`/caf\xc3\xa9`) and Latin-1 (`/caf\xe9`)
//! bytes, which httparse accepts as obs-text. As curl and browsers do, each
//! byte of 0x80 or above is percent-encoded as it is (`/caf%C3%A9`,
//! `/caf%E9`) before the value is resolved; a host made of such bytes is
//! decoded and turned into its IDNA form by the URL parser when it is UTF-8.

use std::fmt;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use url::Url;

use crate::error::Reason;
use crate::origin::Origin;
use crate::request::Request;

/// Why a redirect response was handed to the caller instead of being
/// followed; see [`Response::redirect_declined`](crate::Response::redirect_declined).
///
/// Only the statuses that are followed (301, 302, 303, 307, 308) are ever
/// declined; other 3xx statuses (300, 304, …) are final answers. `Display`
/// says it in words, e.g. ``Location `http://[::1/` is not a valid URL:
/// invalid IPv6 address``.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectDeclined {
    /// Redirects are off:
    /// [`ClientBuilder::max_redirects`](crate::ClientBuilder::max_redirects)`(0)`.
    Disabled,
    /// The response has no `Location` field, or an empty one.
    MissingLocation,
    /// The `Location` could not be made into a URL, even with its
    /// non-ASCII bytes percent-encoded.
    #[non_exhaustive]
    InvalidLocation {
        /// The `Location` value, non-ASCII bytes percent-encoded.
        location: String,
        /// Why it is not a URL, in the URL parser's words.
        reason: String,
    },
    /// The `Location` is a URL of a scheme other than http and https
    /// (`ftp:`, `mailto:`, …), which this client does not fetch.
    #[non_exhaustive]
    UnsupportedScheme {
        /// The `Location` value, non-ASCII bytes percent-encoded.
        location: String,
        /// The scheme of the URL it resolved to, lowercase.
        scheme: String,
    },
}

impl RedirectDeclined {
    /// The `Location` value that could not be followed, with non-ASCII
    /// bytes percent-encoded; `None` for [`Disabled`](Self::Disabled) and
    /// [`MissingLocation`](Self::MissingLocation).
    pub fn location(&self) -> Option<&str> {
        match self {
            RedirectDeclined::InvalidLocation { location, .. }
            | RedirectDeclined::UnsupportedScheme { location, .. } => Some(location),
            RedirectDeclined::Disabled | RedirectDeclined::MissingLocation => None,
        }
    }
}

impl fmt::Display for RedirectDeclined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectDeclined::Disabled => f.write_str("redirects are off (max_redirects is 0)"),
            RedirectDeclined::MissingLocation => f.write_str("the response has no Location header"),
            RedirectDeclined::InvalidLocation { location, reason } => {
                write!(f, "Location `{location}` is not a valid URL: {reason}")
            }
            RedirectDeclined::UnsupportedScheme { location, scheme } => write!(
                f,
                "Location `{location}` is a {scheme}: URL; only http and https are followed"
            ),
        }
    }
}

/// Why the 3xx `status` with `headers`, answering a request for `url`, is
/// handed to the caller rather than followed, with redirects limited to
/// `max` (0: off); `None` when it is no redirect to follow (any other
/// status) or when it could be followed.
pub(crate) fn declined(
    status: StatusCode,
    headers: &HeaderMap,
    url: &Url,
    max: u32,
) -> Option<RedirectDeclined> {
    if !is_redirect(status) {
        return None;
    }
    if max == 0 {
        return Some(RedirectDeclined::Disabled);
    }
    target(url, headers).err()
}

/// The URL a redirect's `Location` points to, resolved against the URL of
/// the request it answers; the reason when it cannot be followed.
fn target(base: &Url, headers: &HeaderMap) -> Result<Url, RedirectDeclined> {
    let location = headers
        .get(header::LOCATION)
        .map(percent_encode_non_ascii)
        .filter(|v| !v.is_empty())
        .ok_or(RedirectDeclined::MissingLocation)?;
    let url = base
        .join(&location)
        .map_err(|error| RedirectDeclined::InvalidLocation {
            location: location.clone(),
            reason: error.to_string(),
        })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(RedirectDeclined::UnsupportedScheme {
            location,
            scheme: url.scheme().to_owned(),
        });
    }
    Ok(url)
}

/// A header value as text: bytes of 0x80 and above become `%XX`
/// (uppercase, as RFC 3986 §2.1 prefers), the rest stays as it is, and
/// surrounding whitespace goes.
fn percent_encode_non_ascii(value: &HeaderValue) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes().trim_ascii();
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii() {
            text.push(char::from(byte));
        } else {
            text.push('%');
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    text
}

/// What to do with a response.
#[derive(Debug)]
pub(crate) enum Action {
    /// Not a redirect to follow: hand the response to the caller.
    Return,
    /// Send this request next.
    Follow(Box<Request>),
    /// Stop with this error.
    Fail(Reason),
}

/// The request to send after `request` got `status` with `headers`.
///
/// `chain` holds the method and URL of every request of this chain so far,
/// the current one included; `max` is the most redirects to follow (0 turns
/// redirects off).
pub(crate) fn next_request(
    request: &Request,
    status: StatusCode,
    headers: &HeaderMap,
    chain: &[(Method, Url)],
    max: u32,
) -> Action {
    if max == 0 || !is_redirect(status) {
        return Action::Return;
    }
    let Ok(mut url) = target(request.url(), headers) else {
        return Action::Return;
    };
    // A Location without a fragment inherits the request's (RFC 9110 §10.2.2).
    if url.fragment().is_none() {
        url.set_fragment(request.url().fragment());
    }

    let method = match (status.as_u16(), request.method()) {
        (303, &Method::HEAD) => Method::HEAD,
        (303, _) => Method::GET,
        (301 | 302, &Method::POST) => Method::GET,
        (_, method) => method.clone(),
    };

    let hops = chain.len().saturating_sub(1);
    let mut names: Vec<String> = chain.iter().map(|(_, u)| u.to_string()).collect();
    names.push(url.to_string());
    if chain.iter().any(|(m, u)| *m == method && *u == url) {
        return Action::Fail(Reason::Redirect {
            looped: true,
            limit: max,
            chain: names,
        });
    }
    if hops >= max as usize {
        return Action::Fail(Reason::Redirect {
            looped: false,
            limit: max,
            chain: names,
        });
    }

    let keep_body = method == *request.method();
    let cross_origin = Origin::of(&url) != Origin::of(request.url());
    // `target` checked what `Request::new` checks (scheme and host), so
    // this does not fail.
    let Ok(mut next) = Request::new(method, url) else {
        return Action::Return;
    };
    let mut headers = request.headers().clone();
    if !keep_body {
        // The body is gone, and so is every header describing it.
        for name in [
            header::CONTENT_LENGTH,
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
            header::CONTENT_LANGUAGE,
            header::CONTENT_LOCATION,
            header::TRANSFER_ENCODING,
        ] {
            headers.remove(name);
        }
    }
    if cross_origin {
        for name in [
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
            header::HOST,
        ] {
            headers.remove(name);
        }
    }
    // Credentials in the new URL (already moved into Authorization by
    // `Request::new`) win over the carried ones.
    if let Some(auth) = next.headers().get(header::AUTHORIZATION).cloned() {
        headers.insert(header::AUTHORIZATION, auth);
    }
    *next.headers_mut() = headers;
    if keep_body {
        if let Some(body) = request.body_bytes() {
            next = next.body(body.to_vec());
        }
    }
    Action::Follow(Box::new(next.with_settings_of(request)))
}

/// The statuses that are followed.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(location: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(l) = location {
            h.insert(header::LOCATION, l.parse().unwrap());
        }
        h
    }

    fn post(url: &str) -> Request {
        Request::post(url)
            .unwrap()
            .header("content-type", "text/plain")
            .unwrap()
            .header("authorization", "Bearer x")
            .unwrap()
            .header("cookie", "a=1")
            .unwrap()
            .body("data")
    }

    fn follow(req: &Request, status: u16, location: &str) -> Request {
        let chain = [(req.method().clone(), req.url().clone())];
        match next_request(
            req,
            StatusCode::from_u16(status).unwrap(),
            &head(Some(location)),
            &chain,
            10,
        ) {
            Action::Follow(next) => *next,
            other => panic!("{status}: {other:?}"),
        }
    }

    #[test]
    fn methods_change_as_browsers_do() {
        let req = post("http://a.test/form");
        for (status, method, body) in [
            (301, Method::GET, false),
            (302, Method::GET, false),
            (303, Method::GET, false),
            (307, Method::POST, true),
            (308, Method::POST, true),
        ] {
            let next = follow(&req, status, "/next");
            assert_eq!(next.method(), method, "{status}");
            assert_eq!(next.body_bytes().is_some(), body, "{status}");
            assert_eq!(
                next.headers().contains_key(header::CONTENT_TYPE),
                body,
                "{status}"
            );
            assert_eq!(next.url().as_str(), "http://a.test/next");
        }
        let put = Request::put("http://a.test/").unwrap().body("x");
        assert_eq!(follow(&put, 302, "/b").method(), Method::PUT);
        assert_eq!(follow(&put, 303, "/b").method(), Method::GET);
        let head_req = Request::head("http://a.test/").unwrap();
        assert_eq!(follow(&head_req, 303, "/b").method(), Method::HEAD);
    }

    #[test]
    fn locations_resolve_against_the_request_url() {
        let req = Request::get("http://a.test/dir/page?q#frag").unwrap();
        assert_eq!(
            follow(&req, 302, "other").url().as_str(),
            "http://a.test/dir/other#frag"
        );
        assert_eq!(
            follow(&req, 302, "../up#x").url().as_str(),
            "http://a.test/up#x"
        );
        assert_eq!(
            follow(&req, 302, "//b.test/x").url().as_str(),
            "http://b.test/x#frag"
        );
        assert_eq!(
            follow(&req, 302, "https://c.test:8443/").url().as_str(),
            "https://c.test:8443/#frag"
        );
    }

    #[test]
    fn credentials_stay_with_their_origin() {
        let req = post("http://a.test/");
        let same = follow(&req, 307, "http://a.test:80/b");
        assert!(same.headers().contains_key(header::AUTHORIZATION));
        assert!(same.headers().contains_key(header::COOKIE));
        for other in ["https://a.test/", "http://a.test:81/", "http://b.test/"] {
            let next = follow(&req, 307, other);
            assert!(
                !next.headers().contains_key(header::AUTHORIZATION),
                "{other}"
            );
            assert!(!next.headers().contains_key(header::COOKIE), "{other}");
            assert!(next.headers().contains_key(header::CONTENT_TYPE), "{other}");
        }
    }

    #[test]
    fn unusable_locations_return_the_response() {
        let req = Request::get("http://a.test/").unwrap();
        let chain = [(Method::GET, req.url().clone())];
        for location in [None, Some(""), Some("http://"), Some("ftp://a.test/")] {
            let action = next_request(&req, StatusCode::FOUND, &head(location), &chain, 10);
            assert!(matches!(action, Action::Return), "{location:?}");
        }
        let action = next_request(&req, StatusCode::OK, &head(Some("/x")), &chain, 10);
        assert!(matches!(action, Action::Return));
        let action = next_request(&req, StatusCode::FOUND, &head(Some("/x")), &chain, 0);
        assert!(matches!(action, Action::Return), "redirects off");
        let action = next_request(
            &req,
            StatusCode::NOT_MODIFIED,
            &head(Some("/x")),
            &chain,
            10,
        );
        assert!(matches!(action, Action::Return));
    }

    fn raw_location(bytes: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, HeaderValue::from_bytes(bytes).unwrap());
        h
    }

    #[test]
    fn non_ascii_bytes_are_percent_encoded_as_they_are() {
        let req = Request::get("http://a.test:8080/dir/page").unwrap();
        let chain = [(Method::GET, req.url().clone())];
        for (location, expected) in [
            (&b"/caf\xc3\xa9"[..], "http://a.test:8080/caf%C3%A9"),
            (b"/caf\xe9", "http://a.test:8080/caf%E9"),
            (b"//b.test:81/?\xc5\xa0", "http://b.test:81/?%C5%A0"),
            (b"x\xff y", "http://a.test:8080/dir/x%FF%20y"),
            (b"  /trimmed\t", "http://a.test:8080/trimmed"),
            (b"http://caf\xc3\xa9.test/", "http://xn--caf-dma.test/"),
            (b"/ok#\xe9", "http://a.test:8080/ok#%E9"),
        ] {
            let headers = raw_location(location);
            let Action::Follow(next) = next_request(&req, StatusCode::FOUND, &headers, &chain, 10)
            else {
                panic!("{:?} not followed", String::from_utf8_lossy(location));
            };
            assert_eq!(next.url().as_str(), expected);
            assert_eq!(declined(StatusCode::FOUND, &headers, req.url(), 10), None);
        }
    }

    #[test]
    fn a_declined_redirect_says_why() {
        let url = Url::parse("http://a.test/").unwrap();
        let why = |status: u16, location: Option<&[u8]>, max: u32| {
            let headers = location.map_or_else(HeaderMap::new, raw_location);
            declined(StatusCode::from_u16(status).unwrap(), &headers, &url, max)
        };
        assert_eq!(why(200, None, 10), None);
        assert_eq!(why(304, None, 10), None, "not a redirect to follow");
        assert_eq!(why(300, Some(b"/x"), 10), None);
        assert_eq!(why(302, Some(b"/x"), 0), Some(RedirectDeclined::Disabled));
        assert_eq!(why(302, Some(b"/x"), 10), None, "followable");
        assert_eq!(why(301, None, 10), Some(RedirectDeclined::MissingLocation));
        assert_eq!(
            why(307, Some(b"  "), 10),
            Some(RedirectDeclined::MissingLocation)
        );
        let invalid = why(302, Some(b"http://caf\xe9.test/"), 10).unwrap();
        assert!(
            matches!(invalid, RedirectDeclined::InvalidLocation { .. }),
            "{invalid:?}"
        );
        assert_eq!(invalid.location(), Some("http://caf%E9.test/"));
        assert_eq!(
            invalid.to_string(),
            "Location `http://caf%E9.test/` is not a valid URL: invalid international domain name"
        );
        let ipv6 = why(308, Some(b"http://[::1/"), 10).unwrap();
        assert_eq!(
            ipv6.to_string(),
            "Location `http://[::1/` is not a valid URL: invalid IPv6 address"
        );
        let ftp = why(303, Some(b"ftp://a.test/f"), 10).unwrap();
        assert_eq!(
            ftp,
            RedirectDeclined::UnsupportedScheme {
                location: "ftp://a.test/f".into(),
                scheme: "ftp".into()
            }
        );
        assert_eq!(
            ftp.to_string(),
            "Location `ftp://a.test/f` is a ftp: URL; only http and https are followed"
        );
        for reason in [
            RedirectDeclined::Disabled,
            RedirectDeclined::MissingLocation,
            invalid,
            ftp,
        ] {
            let text = reason.to_string();
            assert!(!text.is_empty() && !text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn loops_and_long_chains_fail_naming_the_chain() {
        let a = Url::parse("http://a.test/a").unwrap();
        let b = Url::parse("http://a.test/b").unwrap();
        let req = Request::new(Method::GET, b.clone()).unwrap();
        let chain = [(Method::GET, a.clone()), (Method::GET, b.clone())];
        let Action::Fail(reason) =
            next_request(&req, StatusCode::FOUND, &head(Some("/a")), &chain, 10)
        else {
            panic!("loop not found");
        };
        assert_eq!(
            reason.to_string(),
            "redirect loop: http://a.test/a -> http://a.test/b -> http://a.test/a"
        );
        let Action::Fail(reason) =
            next_request(&req, StatusCode::FOUND, &head(Some("/c")), &chain, 1)
        else {
            panic!("limit not enforced");
        };
        assert_eq!(
            reason.to_string(),
            "too many redirects (1): http://a.test/a -> http://a.test/b -> http://a.test/c"
        );
        // POST /a then 303 to GET /a is not a loop.
        let post = Request::new(Method::POST, a.clone()).unwrap();
        let chain = [(Method::POST, a)];
        assert!(matches!(
            next_request(&post, StatusCode::SEE_OTHER, &head(Some("/a")), &chain, 10),
            Action::Follow(_)
        ));
    }
}
