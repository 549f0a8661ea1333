//! Redirects against real servers on 127.0.0.1: every status with GET and
//! POST, relative locations, credentials dropped across origins (checked on
//! the server), loops, a chain over the limit, a missing Location.

mod feature_support;

use feature_support::{Server, response};
use multifetch::{Client, ErrorKind, Method, Request};

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
