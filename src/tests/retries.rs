//! The stale-connection retry: a request that meets a kept-alive
//! connection the server has just closed, before any response byte, runs
//! again once on a fresh connection, when its method is idempotent.

use std::io;

use super::{Scenario, ok, written};
use crate::ErrorKind;
use crate::stream::fake::{FakePeer, ReadOp};

/// One request answered, so an idle connection to 10.0.0.1 waits in the
/// pool; returns its peer.
fn warm(s: &mut Scenario) -> FakePeer {
    s.submit("http://10.0.0.1/warm");
    s.step();
    let peer = s.peer();
    peer.send(ok("warm"));
    s.step();
    assert_eq!(s.response().body(), b"warm");
    let _ = peer.take_written();
    peer
}

#[test]
fn a_stale_connection_is_retried_once_on_a_fresh_one() {
    for ending in [ReadOp::Eof, ReadOp::Error(io::ErrorKind::ConnectionReset)] {
        let mut s = Scenario::default_client();
        let stale = warm(&mut s);
        s.submit("http://10.0.0.1/again");
        s.step();
        assert!(written(&stale).starts_with("GET /again "));
        stale.op(ending.clone());
        s.run();
        assert_eq!(s.attempts().len(), 2, "{ending:?}: a fresh connection");
        let fresh = s.peer();
        assert!(written(&fresh).starts_with("GET /again "), "{ending:?}");
        fresh.send(ok("fresh"));
        s.run();
        let r = s.response();
        assert_eq!(r.body(), b"fresh");
        assert!(!r.timings().reused, "the retry ran on a new connection");
        assert_eq!(s.reactor.counters().replays, 1);
        assert!(stale.is_dropped());
    }
}

#[test]
fn a_retry_is_not_retried_again() {
    let mut s = Scenario::default_client();
    let stale = warm(&mut s);
    s.submit("http://10.0.0.1/again");
    s.step();
    stale.close();
    s.run();
    let fresh = s.peer();
    fresh.close();
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert_eq!(s.attempts().len(), 2);
    assert_eq!(s.reactor.counters().replays, 1);
}

#[test]
fn post_is_not_retried() {
    let mut s = Scenario::default_client();
    let stale = warm(&mut s);
    s.submit(
        crate::Request::post("http://10.0.0.1/form")
            .unwrap()
            .body("x"),
    );
    s.step();
    stale.close();
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert_eq!(
        error.to_string(),
        "empty reply: the server closed the connection without sending a response \
         from 10.0.0.1:80 (http://10.0.0.1/form)"
    );
    assert_eq!(s.attempts().len(), 1, "a POST is never sent twice");
}

#[test]
fn a_failure_after_response_bytes_is_not_retried() {
    let mut s = Scenario::default_client();
    let stale = warm(&mut s);
    s.submit("http://10.0.0.1/again");
    s.step();
    stale.send("HTTP/1.1 200");
    stale.close();
    s.run();
    assert_eq!(s.error().kind(), ErrorKind::Truncated);
    assert_eq!(s.attempts().len(), 1);
}

#[test]
fn a_server_closing_an_idle_connection_is_noticed_before_reuse() {
    let mut s = Scenario::default_client();
    let stale = warm(&mut s);
    stale.close();
    s.step();
    assert!(stale.is_dropped());
    assert_eq!(s.reactor.idle_connections(), 0);
    s.submit("http://10.0.0.1/next");
    s.step();
    assert_eq!(s.attempts().len(), 2);
    s.peer().send(ok("next"));
    s.run();
    assert_eq!(s.response().body(), b"next");
    assert_eq!(
        s.reactor.counters().replays,
        0,
        "nothing had to be replayed"
    );
}
