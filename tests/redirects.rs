//! Redirects against real servers on 127.0.0.1: every status with GET and
//! POST, relative locations, credentials dropped across origins (checked on
//! the server), loops, a chain over the limit, a missing Location; raw
//! non-ASCII `Location` bytes from byte-scripted servers, and why a redirect
//! was declined.

mod feature_support;
mod support;

use feature_support::{Server, response};
use multifetch::{Client, ErrorKind, Method, RedirectDeclined, Request};
use support::{ScriptServer, serve_each};

/// A byte-scripted keep-alive server: `/start` is answered with `redirect`
/// exactly as given; any other request target gets 200 with the target it
/// saw as the body.
fn scripted_redirect(redirect: impl Into<Vec<u8>>) -> ScriptServer {
    let redirect = redirect.into();
    ScriptServer::start(move |conn| {
        serve_each(conn, |head| {
            let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
            if target == "/start" {
                return Some(redirect.clone());
            }
            Some(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
                    target.len()
                )
                .into_bytes(),
            )
        });
    })
}

/// The report's cases: raw UTF-8 and Latin-1 bytes in `Location` were
/// returned as the 302; they are percent-encoded as they are and followed,
/// as curl and browsers do.
#[test]
fn non_ascii_location_bytes_are_percent_encoded_and_followed() {
    for (redirect, expected) in [
        (
            &b"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"[..],
            "/caf%C3%A9",
        ),
        (
            b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n",
            "/caf%E9",
        ),
    ] {
        let server = scripted_redirect(redirect);
        let resp = Client::new().fetch(server.url("/start")).unwrap();
        assert_eq!(resp.status(), 200, "{expected}");
        assert_eq!(resp.text(), expected, "the server saw this request target");
        assert_eq!(resp.url().as_str(), server.url(expected));
        assert_eq!(resp.redirects(), 1);
        assert_eq!(resp.redirect_declined(), None);
    }
}

/// The report's protocol-relative case: `//host:port/?\xc5\xa0` keeps the
/// scheme, takes the host and port, and encodes the query bytes.
#[test]
fn a_protocol_relative_location_with_raw_bytes_is_followed() {
    let target = scripted_redirect(b"HTTP/1.1 500 Unused\r\nContent-Length: 0\r\n\r\n");
    let location = format!("//127.0.0.1:{}/?", target.port()).into_bytes();
    let mut redirect = b"HTTP/1.1 302 Found\r\nLocation: ".to_vec();
    redirect.extend_from_slice(&location);
    redirect.extend_from_slice(b"\xc5\xa0\r\nContent-Length: 0\r\n\r\n");
    let start = scripted_redirect(redirect);
    let resp = Client::new().fetch(start.url("/start")).unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text(), "/?%C5%A0");
    assert_eq!(resp.url().as_str(), target.url("/?%C5%A0"));
    assert_eq!(target.accepted(), 1);
}

/// A `Location` that still cannot become a URL is returned as the 3xx, as
/// documented, and the response says why.
#[test]
fn a_declined_redirect_says_why() {
    let cases: [(&'static [u8], &str, &str); 4] = [
        (
            b"HTTP/1.1 302 Found\r\nLocation: http://caf\xe9.test/\r\nContent-Length: 0\r\n\r\n",
            "Location `http://caf%E9.test/` is not a valid URL: invalid international domain name",
            "http://caf%E9.test/",
        ),
        (
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://[::1/\r\nContent-Length: 0\r\n\r\n",
            "Location `http://[::1/` is not a valid URL: invalid IPv6 address",
            "http://[::1/",
        ),
        (
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ftp://127.0.0.1/f\r\nContent-Length: 0\r\n\r\n",
            "Location `ftp://127.0.0.1/f` is a ftp: URL; only http and https are followed",
            "ftp://127.0.0.1/f",
        ),
        (
            b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
            "the response has no Location header",
            "",
        ),
    ];
    for (redirect, why, location) in cases {
        let server = scripted_redirect(redirect);
        let resp = Client::new().fetch(server.url("/start")).unwrap();
        assert!(resp.status().is_redirection(), "{why}");
        assert_eq!(resp.redirects(), 0);
        let declined = resp.redirect_declined().expect("a reason");
        assert_eq!(declined.to_string(), why);
        assert_eq!(declined.location().unwrap_or_default(), location);
        assert!(!why.contains('{') && !why.contains("Error"), "{why}");
    }
    // With redirects off, a good Location is declined for that reason.
    let server = scripted_redirect(
        b"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
    );
    let off = Client::builder().max_redirects(0).build().unwrap();
    let resp = off.fetch(server.url("/start")).unwrap();
    assert_eq!(resp.redirect_declined(), Some(&RedirectDeclined::Disabled));
    // A response that is no redirect has nothing to decline.
    let resp = Client::new().fetch(server.url("/other")).unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.redirect_declined()),
        (200, None)
    );
}

/// `/s/{code}` redirects to `/end` with `code`; `/end` answers 200.
fn status_server() -> Server {
    Server::start(|req| {
        if let Some(code) = req.target.strip_prefix("/s/") {
            let status = match code {
                "301" => "301 Moved Permanently",
                "302" => "302 Found",
                "303" => "303 See Other",
                "307" => "307 Temporary Redirect",
                _ => "308 Permanent Redirect",
            };
            response(status, &[("Location", "/end")], b"moved")
        } else {
            response(
                "200 OK",
                &[],
                format!("{} {}", req.method, req.body.len()).as_bytes(),
            )
        }
    })
}

#[test]
fn every_redirect_status_with_get_and_post() {
    let server = status_server();
    let client = Client::new();
    for (code, post_becomes) in [
        ("301", "GET"),
        ("302", "GET"),
        ("303", "GET"),
        ("307", "POST"),
        ("308", "POST"),
    ] {
        let get = client.fetch(server.url(&format!("/s/{code}"))).unwrap();
        assert_eq!(get.status(), 200, "{code}");
        assert_eq!(get.text(), "GET 0", "{code}");
        assert_eq!(get.redirects(), 1, "{code}");
        assert_eq!(get.url().path(), "/end");

        let post = Request::post(&server.url(&format!("/s/{code}")))
            .unwrap()
            .header("content-type", "text/plain")
            .unwrap()
            .body("hello");
        let post = client.fetch(post).unwrap();
        let body_len = if post_becomes == "POST" { 5 } else { 0 };
        assert_eq!(post.text(), format!("{post_becomes} {body_len}"), "{code}");
        let last = server.seen().pop().unwrap();
        assert_eq!(last.method, post_becomes, "{code}");
        assert_eq!(
            last.header("content-type").is_some(),
            post_becomes == "POST",
            "{code}: Content-Type goes with the body"
        );
    }
}

#[test]
fn relative_and_absolute_locations_resolve() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a/b" => response("302 Found", &[("Location", "c?x=1")], b""),
        "/a/c?x=1" => response("302 Found", &[("Location", "../d")], b""),
        "/d" => response(
            "301 Moved",
            &[("Location", "http://127.0.0.1:1/never")],
            b"",
        ),
        _ => response("200 OK", &[], b"end"),
    });
    let client = Client::builder().max_redirects(2).build().unwrap();
    let err = client.fetch(server.url("/a/b")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirect);
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/a/b", "/a/c?x=1", "/d"]);

    let abs = server.url("/fin");
    let server2 = Server::start(move |req| match req.target.as_str() {
        "/start" => response("307 Temporary Redirect", &[("Location", &abs)], b""),
        _ => response("200 OK", &[], b"other"),
    });
    let resp = client.fetch(server2.url("/start")).unwrap();
    assert_eq!(resp.text(), "end");
    assert_eq!(resp.url().as_str(), server.url("/fin"));
}

#[test]
fn credentials_are_dropped_across_origins_and_kept_within_one() {
    let target = Server::start(|_| response("200 OK", &[], b"ok"));
    let elsewhere = target.url("/landing");
    let start = Server::start(move |req| match req.target.as_str() {
        "/same" => response("302 Found", &[("Location", "/landing")], b""),
        "/cross" => response("307 Temporary Redirect", &[("Location", &elsewhere)], b""),
        _ => response("200 OK", &[], b"same"),
    });
    let client = Client::new();
    let request = |path: &str| {
        Request::get(&start.url(path))
            .unwrap()
            .header("authorization", "Bearer secret")
            .unwrap()
            .header("cookie", "session=1")
            .unwrap()
            .header("proxy-authorization", "Basic eDp5")
            .unwrap()
            .header("x-kept", "yes")
            .unwrap()
    };

    assert_eq!(client.fetch(request("/same")).unwrap().text(), "same");
    let landed = start.seen().pop().unwrap();
    assert_eq!(landed.target, "/landing");
    assert_eq!(landed.header("authorization"), Some("Bearer secret"));
    assert_eq!(landed.header("cookie"), Some("session=1"));

    assert_eq!(client.fetch(request("/cross")).unwrap().text(), "ok");
    let landed = target.seen().pop().unwrap();
    assert_eq!(landed.header("authorization"), None);
    assert_eq!(landed.header("cookie"), None);
    assert_eq!(landed.header("proxy-authorization"), None);
    assert_eq!(landed.header("x-kept"), Some("yes"));
}

#[test]
fn a_loop_is_an_error_naming_the_chain() {
    let server = Server::start(|req| match req.target.as_str() {
        "/one" => response("302 Found", &[("Location", "/two")], b""),
        _ => response("302 Found", &[("Location", "/one")], b""),
    });
    let err = Client::new().fetch(server.url("/one")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirect);
    let text = err.to_string();
    assert!(text.starts_with("redirect loop: "), "{text}");
    let chain = format!(
        "{} -> {} -> {}",
        server.url("/one"),
        server.url("/two"),
        server.url("/one")
    );
    assert!(text.contains(&chain), "{text}");
    assert_eq!(err.url(), Some(server.url("/one").as_str()));
}

/// `/hop/{n}` redirects to `/hop/{n+1}` until `/hop/{last}`, which answers.
fn chain_server(last: u32) -> Server {
    Server::start(move |req| {
        let n: u32 = req.target.trim_start_matches("/hop/").parse().unwrap_or(0);
        if n < last {
            response(
                "302 Found",
                &[("Location", &format!("/hop/{}", n + 1))],
                b"",
            )
        } else {
            response("200 OK", &[], format!("hop {n}").as_bytes())
        }
    })
}

#[test]
fn a_chain_of_eleven_goes_over_the_default_limit() {
    let server = chain_server(11);
    let err = Client::new().fetch(server.url("/hop/0")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Redirect);
    let text = err.to_string();
    assert!(text.starts_with("too many redirects (10): "), "{text}");
    assert!(
        text.contains("/hop/0 -> ") && text.contains("/hop/11"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 11, "the 11th redirect is not followed");

    // Ten is within the limit, and every hop reused the one connection.
    let server = chain_server(10);
    let resp = Client::new().fetch(server.url("/hop/0")).unwrap();
    assert_eq!((resp.text().as_ref(), resp.redirects()), ("hop 10", 10));
    assert_eq!(resp.url().path(), "/hop/10");
    assert_eq!(server.accepted(), 1);
}

#[test]
fn zero_turns_following_off() {
    let server = chain_server(3);
    let client = Client::builder().max_redirects(0).build().unwrap();
    let resp = client.fetch(server.url("/hop/0")).unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.header("location").unwrap(), "/hop/1");
    assert_eq!(resp.redirects(), 0);
}

#[test]
fn a_missing_or_invalid_location_returns_the_redirect() {
    let server = Server::start(|req| match req.target.as_str() {
        "/none" => response("302 Found", &[], b"no location"),
        _ => response(
            "301 Moved Permanently",
            &[("Location", "ftp://127.0.0.1/x")],
            b"ftp",
        ),
    });
    let client = Client::new();
    let resp = client.fetch(server.url("/none")).unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.text().as_ref()),
        (302, "no location")
    );
    let resp = client.fetch(server.url("/ftp")).unwrap();
    assert_eq!((resp.status().as_u16(), resp.text().as_ref()), (301, "ftp"));
}

#[test]
fn a_303_after_put_becomes_get_and_head_stays_head() {
    let server = status_server();
    let client = Client::new();
    let put = Request::put(&server.url("/s/303")).unwrap().body("x");
    assert_eq!(client.fetch(put).unwrap().text(), "GET 0");
    let head = Request::new(Method::HEAD, server.url("/s/303").parse().unwrap()).unwrap();
    let resp = client.fetch(head).unwrap();
    assert!(resp.body().is_empty());
    assert_eq!(server.seen().pop().unwrap().method, "HEAD");
}
