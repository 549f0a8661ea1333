//! Request building seen from the server: methods, bodies, basic auth,
//! credentials in URLs, and header injection refused before any byte is sent.

mod feature_support;

use feature_support::{Server, response};
use multifetch::{Client, ErrorKind, Method, Request};

fn echo() -> Server {
    Server::start(|req| response("200 OK", &[], &req.body))
}

#[test]
fn header_injection_is_refused_before_sending() {
    let server = echo();
    let client = Client::new();
    let url = server.url("/");
    let attempts = [
        Request::get(&url).and_then(|r| r.header("x-a", "1\r\nInjected: yes")),
        Request::get(&url).and_then(|r| r.header("x-a", "1\nInjected: yes")),
        Request::get(&url).and_then(|r| r.header("x-a", "1\0")),
        Request::get(&url).and_then(|r| r.header("x-a\r\nInjected", "1")),
        Request::get(&url).and_then(|r| r.header("x a", "1")),
    ];
    for result in client.fetch_many(attempts) {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidRequest);
    }
    let err = Client::builder()
        .default_header("x-d", "a\r\nb")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(server.accepted(), 0, "nothing reached the server");
}

#[test]
fn any_method_with_a_body_and_its_length() {
    let server = echo();
    let client = Client::new();
    for method in ["PATCH", "PURGE", "PUT", "DELETE", "OPTIONS"] {
        let req = Request::parse(
            Method::from_bytes(method.as_bytes()).unwrap(),
            &server.url("/m"),
        )
        .unwrap()
        .body(format!("{method} body"));
        let resp = client.fetch(req).unwrap();
        assert_eq!(resp.text(), format!("{method} body"));
        let seen = server.seen().pop().unwrap();
        assert_eq!(seen.method, method);
        assert_eq!(
            seen.header("content-length").unwrap(),
            (method.len() + 5).to_string()
        );
    }
    let resp = client
        .fetch(Request::head(&server.url("/h")).unwrap())
        .unwrap();
    assert!(resp.body().is_empty());
    assert_eq!(resp.header("content-length").unwrap(), "0");
}

#[test]
fn basic_auth_and_url_credentials_reach_the_server_as_authorization() {
    let server = echo();
    let client = Client::builder()
        .default_header("x-default", "d")
        .unwrap()
        .build()
        .unwrap();
    let req = Request::get(&server.url("/a"))
        .unwrap()
        .basic_auth("Aladdin", Some("open sesame"));
    client.fetch(req).unwrap();
    let seen = server.seen().pop().unwrap();
    assert_eq!(
        seen.header("authorization"),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    assert_eq!(seen.header("x-default"), Some("d"));

    let with_userinfo = format!("http://us%3Aer:pa%40ss@127.0.0.1:{}/b", server.port());
    let resp = client.fetch(with_userinfo.as_str()).unwrap();
    assert_eq!(
        resp.url().as_str(),
        server.url("/b"),
        "no credentials in the final URL"
    );
    let seen = server.seen().pop().unwrap();
    assert_eq!(seen.target, "/b");
    assert_eq!(
        seen.header("host").unwrap(),
        format!("127.0.0.1:{}", server.port())
    );
    // "us:er:pa@ss"
    assert_eq!(seen.header("authorization"), Some("Basic dXM6ZXI6cGFAc3M="));
}
