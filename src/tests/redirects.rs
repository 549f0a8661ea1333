//! Redirect chains through the exchange layer: hops on the pooled
//! connection, across origins, loops and limits.

use super::{Scenario, ip, ok, written};
use crate::ErrorKind;

fn redirect(status: u16, location: &str) -> String {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
}

#[test]
fn a_chain_on_one_origin_uses_one_connection() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/a");
    s.step();
    let peer = s.peer();
    assert!(written(&peer).starts_with("GET /a "));
    peer.send(redirect(302, "/b"));
    s.run();
    assert!(written(&peer).starts_with("GET /b "));
    peer.send(redirect(301, "http://10.0.0.1/c"));
    s.run();
    assert!(written(&peer).starts_with("GET /c "));
    peer.send(ok("end"));
    s.run();
    let r = s.response();
    assert_eq!(r.body(), b"end");
    assert_eq!(r.url().as_str(), "http://10.0.0.1/c");
    assert_eq!(r.redirects(), 2);
    assert_eq!(s.attempts().len(), 1);
    assert_eq!(s.reactor.counters().connections_reused, 2);
}

#[test]
fn a_cross_origin_hop_opens_a_connection_and_drops_credentials() {
    let mut s = Scenario::new(|b| b.resolve("b.test", [ip(2)]));
    s.submit(
        crate::Request::get("http://10.0.0.1/a")
            .unwrap()
            .header("authorization", "Bearer secret")
            .unwrap(),
    );
    s.step();
    let first = s.peer();
    assert!(written(&first).contains("authorization: Bearer secret\r\n"));
    first.send(redirect(307, "http://b.test/x"));
    s.run();
    assert_eq!(s.attempts()[1], "10.0.0.2:80".parse().unwrap());
    let second = s.peer();
    let head = written(&second);
    assert!(
        head.starts_with("GET /x HTTP/1.1\r\nHost: b.test\r\n"),
        "{head}"
    );
    assert!(!head.contains("authorization"), "{head}");
    second.send(ok("there"));
    s.run();
    let r = s.response();
    assert_eq!(r.url().as_str(), "http://b.test/x");
    assert_eq!(
        r.timings().dns.map(|d| d.as_nanos()),
        Some(0),
        "pinned: about zero"
    );
}

#[test]
fn a_loop_fails_naming_the_chain() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/a");
    s.step();
    let peer = s.peer();
    peer.send(redirect(302, "/b"));
    s.run();
    peer.send(redirect(302, "/a"));
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Redirect);
    assert_eq!(
        error.to_string(),
        "redirect loop: http://10.0.0.1/a -> http://10.0.0.1/b -> http://10.0.0.1/a (http://10.0.0.1/a)"
    );
}

#[test]
fn a_chain_over_the_limit_fails() {
    let mut s = Scenario::new(|b| b.max_redirects(2));
    s.submit("http://10.0.0.1/0");
    s.step();
    let peer = s.peer();
    for n in 1..=3 {
        peer.send(redirect(302, &format!("/{n}")));
        s.run();
    }
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Redirect);
    assert!(
        error.to_string().starts_with("too many redirects (2): "),
        "{error}"
    );
    assert_eq!(error.url(), Some("http://10.0.0.1/0"));
}

#[test]
fn redirects_off_return_the_3xx() {
    let mut s = Scenario::new(|b| b.max_redirects(0));
    s.submit("http://10.0.0.1/a");
    s.step();
    s.peer().send(redirect(302, "/b"));
    s.run();
    let r = s.response();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(r.redirects(), 0);
}
