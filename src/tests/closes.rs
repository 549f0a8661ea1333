//! Servers that close: a FIN that comes with the last response (reported
//! as read-closed readiness, or found only by reading on), bytes after the
//! response, and what that means for the next request, above all one that
//! is never retried (a POST).

use super::{Scenario, ok, written};
use crate::Request;

/// The response and the server's FIN arrive together: the connection is
/// closed, not parked, and the next request opens a fresh one without
/// needing the stale-connection retry.
#[test]
fn a_close_with_the_last_response_is_never_parked() {
    for hint in [true, false] {
        let mut s = Scenario::default_client();
        s.submit("http://10.0.0.1/a");
        s.step();
        let first = s.peer();
        if !hint {
            first.hide_eof();
        }
        first.send(ok("a"));
        first.close();
        s.step();
        assert_eq!(s.response().body(), b"a");
        assert!(first.is_dropped(), "hint {hint}: closed at once");
        assert_eq!(s.reactor.idle_connections(), 0, "hint {hint}");
        // With the read-closed readiness there is nothing to read for; without
        // it, one more read finds the end.
        assert_eq!(first.read_calls(), if hint { 1 } else { 2 }, "hint {hint}");

        s.submit("http://10.0.0.1/b");
        s.step();
        assert_eq!(s.attempts().len(), 2, "hint {hint}: a fresh connection");
        assert!(written(&first).starts_with("GET /a "), "hint {hint}");
        s.peer().send(ok("b"));
        s.run();
        let r = s.response();
        assert_eq!(r.body(), b"b");
        assert!(!r.timings().reused);
        assert_eq!(s.reactor.counters().retries, 0, "hint {hint}");
    }
}

/// A POST waiting behind a GET whose response came with the server's FIN
/// never goes onto that connection.
#[test]
fn a_post_is_never_written_to_a_connection_the_server_closed() {
    for hint in [true, false] {
        let mut s = Scenario::new(|b| b.max_connections(1));
        s.submit("http://10.0.0.1/a");
        s.submit(Request::post("http://10.0.0.1/form").unwrap().body("x=1"));
        s.step();
        let first = s.peer();
        if !hint {
            first.hide_eof();
        }
        first.send(ok("a"));
        first.close();
        s.run();
        assert_eq!(s.response().body(), b"a");
        assert_eq!(written(&first).matches("POST").count(), 0, "hint {hint}");
        let second = s.peer();
        assert_eq!(s.attempts().len(), 2, "hint {hint}");
        assert!(written(&second).starts_with("POST /form "), "hint {hint}");
        second.send(ok("posted"));
        s.run();
        assert_eq!(s.response().body(), b"posted");
        assert_eq!(s.reactor.counters().retries, 0);
    }
}

/// Bytes after a complete response that a later read finds (the response
/// ended exactly where a read did) close the connection too.
#[test]
fn bytes_after_the_response_found_by_reading_on_close_it() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/a");
    s.step();
    let peer = s.peer();
    peer.send(ok("a"));
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale");
    s.step();
    assert_eq!(s.response().body(), b"a");
    assert!(peer.is_dropped());
    assert_eq!(s.reactor.idle_connections(), 0);
    s.submit("http://10.0.0.1/b");
    s.step();
    assert_eq!(
        s.attempts().len(),
        2,
        "the next request does not read `stale`"
    );
}

/// A connection with nothing more to read after the response is parked:
/// one read more found the socket empty, so readiness will come again.
#[test]
fn a_quiet_connection_is_parked_after_reading_until_it_blocks() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/a");
    s.step();
    let peer = s.peer();
    peer.send(ok("a"));
    s.step();
    assert_eq!(s.response().body(), b"a");
    assert_eq!(peer.read_calls(), 2, "the response, then WouldBlock");
    assert_eq!(s.reactor.idle_connections(), 1);
    assert!(!peer.is_dropped());
}
