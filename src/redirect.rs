//! Redirects, decided without I/O: given the request that was sent and the
//! head of its 3xx response, [`next_request`] says whether to follow it and
//! builds the next request.
//!
//! ```text
//! 301/302/303/307/308 ──▶ Location present and valid? ──no──▶ Return (the 3xx as is)
//!                                   │ yes
//!                                   ▼
//!                     already seen (same method)? ──yes──▶ Fail (loop)
//!                                   │ no
//!                                   ▼
//!                        hops so far >= limit? ──yes──▶ Fail (too many)
//!                                   │ no
//!                                   ▼
//!   method: 303 → GET (HEAD stays HEAD); 301/302 POST → GET; 307/308 keep method and body
//!   headers: Authorization, Cookie, Proxy-Authorization (and an explicit Host)
//!            dropped when scheme, host or port change
//!                                   ▼
//!                               Follow(next)
//! ```
//!
//! The method rules are those browsers follow (the Fetch standard, "HTTP-redirect
//! fetch"), which RFC 9110 §15.4 allows for 301 and 302.

use http::header::{self, HeaderMap};
use http::{Method, StatusCode};
use url::Url;

use crate::error::Reason;
use crate::origin::Origin;
use crate::request::Request;

/// What to do with a response.
#[derive(Debug)]
pub(crate) enum Action {
    /// Not a redirect to follow: hand the response to the caller.
    Return,
    /// Send this request next.
    Follow(Request),
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
    let Some(location) = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Action::Return;
    };
    let Ok(mut url) = request.url().join(location) else {
        return Action::Return;
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Action::Return;
    }
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
    Action::Follow(next.with_settings_of(request))
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
            Action::Follow(next) => next,
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
