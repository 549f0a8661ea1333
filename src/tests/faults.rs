//! Hostile and broken peers through the whole stack: resets, early EOF,
//! endless interim responses, refused sockets.

use std::io;

use super::{Scenario, ok};
use crate::ErrorKind;
use crate::stream::fake::{Plan, ReadOp};

#[test]
fn eof_in_the_body_is_a_truncation() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    peer.close();
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Truncated);
    assert_eq!(
        error.to_string(),
        "body truncated: got 3 of 10 bytes from 10.0.0.1:80 (http://10.0.0.1/)"
    );
}

/// A reset after part of the response truncates it, whatever the framing,
/// and the message says how much came and that the connection was reset.
#[test]
fn a_reset_in_the_response_is_a_truncation_naming_the_reset() {
    let cases = [
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            "body truncated: got 3 of 10 bytes; connection reset by peer from 10.0.0.1:80 (http://10.0.0.1/)",
        ),
        (
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
            "body truncated after 3 bytes; connection reset by peer from 10.0.0.1:80 (http://10.0.0.1/)",
        ),
        // RFC 9112 §8: a close-delimited body ends with a close, not a reset.
        (
            "HTTP/1.1 200 OK\r\n\r\nabc",
            "body truncated after 3 bytes; connection reset by peer from 10.0.0.1:80 (http://10.0.0.1/)",
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-",
            "connection closed after 25 bytes of the response head; connection reset by peer from 10.0.0.1:80 (http://10.0.0.1/)",
        ),
    ];
    for (sent, message) in cases {
        let mut s = Scenario::default_client();
        s.submit("http://10.0.0.1/");
        s.step();
        let peer = s.peer();
        peer.send(sent);
        peer.op(ReadOp::Error(io::ErrorKind::ConnectionReset));
        s.run();
        let error = s.error();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{sent:?}: {error}");
        assert_eq!(error.to_string(), message);
        assert_eq!(
            error.io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
    }
}

/// Straight into the body buffer (the head came in an earlier read), a
/// reset counts the bytes that came with it.
#[test]
fn a_reset_in_a_body_read_directly_counts_what_came() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    s.run();
    peer.send(vec![b'x'; 500]);
    peer.op(ReadOp::Error(io::ErrorKind::ConnectionReset));
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
    assert_eq!(
        error.to_string(),
        "body truncated: got 500 of 1000 bytes; connection reset by peer from 10.0.0.1:80 (http://10.0.0.1/)"
    );
}

/// A reset before any response byte is the connection's failure.
#[test]
fn a_reset_before_the_response_is_an_io_error_naming_the_peer() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().op(ReadOp::Error(io::ErrorKind::ConnectionReset));
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(
        error
            .to_string()
            .starts_with("I/O error reading from 10.0.0.1:80: "),
        "{error}"
    );
    assert_eq!(
        error.io_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionReset)
    );
}

#[test]
fn a_fresh_connection_closing_before_the_response_is_an_empty_reply() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().close();
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(
        error.to_string(),
        "empty reply: the server closed the connection without sending a response \
         from 10.0.0.1:80 (http://10.0.0.1/)"
    );
    assert_eq!(s.attempts().len(), 1, "not retried");
}

/// Bytes that cannot begin a status line fail the request as they arrive,
/// the server keeping the connection open.
#[test]
fn an_answer_in_another_protocol_fails_at_once() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send(b"\x16\x03\x01\x00\xa5\x01\x00");
    s.step();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(
        error.to_string(),
        "the server answered in TLS: use https:// from 10.0.0.1:80 (http://10.0.0.1/)"
    );
    assert!(peer.is_dropped());
}

#[test]
fn endless_interim_responses_are_cut_off() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    for _ in 0..40 {
        peer.send("HTTP/1.1 103 Early Hints\r\n\r\n");
    }
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(
        error.to_string(),
        "more than 32 interim (1xx) responses before the final one from 10.0.0.1:80 (http://10.0.0.1/)"
    );
}

#[test]
fn a_malformed_head_fails_only_its_request() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/bad");
    s.submit("http://10.0.0.2/good");
    s.step();
    let peers = s.net.peers();
    assert_eq!(peers[0].addr(), "10.0.0.1:80".parse().unwrap());
    peers[0].send("HTTP/1.1 2OO OK\r\n\r\n");
    peers[1].send(ok("good"));
    s.run();
    let mut results: Vec<_> = std::iter::from_fn(|| s.completion()).collect();
    results.sort_by_key(|c| c.id);
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0].result.as_ref().unwrap_err().kind(),
        ErrorKind::Protocol
    );
    assert_eq!(results[1].result.as_ref().unwrap().body(), b"good");
}

#[test]
fn no_socket_and_nothing_open_fails_the_request() {
    let mut s = Scenario::default_client();
    s.plan("10.0.0.1:80", Plan::OutOfSockets);
    s.submit("http://10.0.0.1/");
    s.step();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(
        error.to_string().starts_with("could not open a socket: "),
        "{error}"
    );
}

#[test]
fn no_socket_while_others_are_busy_waits_for_one() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/first");
    s.step();
    let first = s.peer();
    for _ in 0..3 {
        s.plan("10.0.0.1:80", Plan::OutOfSockets);
    }
    s.submit("http://10.0.0.1/second");
    s.run();
    assert!(s.completion().is_none(), "the second request waits");
    assert_eq!(s.reactor.pending(), 2);
    first.send(ok("1"));
    s.run();
    assert_eq!(s.response().body(), b"1");
    s.run();
    // The second went out once a socket could be had.
    let peer = s
        .net
        .peers()
        .into_iter()
        .find(|p| String::from_utf8_lossy(&p.take_written()).contains("GET /second "))
        .expect("the second request was sent");
    peer.send(ok("2"));
    s.run();
    assert_eq!(s.response().body(), b"2");
}

#[test]
fn a_refused_connect_is_a_connect_error() {
    let mut s = Scenario::default_client();
    s.plan(
        "10.0.0.1:80",
        Plan::Refuse(io::ErrorKind::ConnectionRefused),
    );
    s.submit("http://10.0.0.1/");
    s.step();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert!(
        error
            .to_string()
            .starts_with("connect to 10.0.0.1:80 failed: ")
    );
    assert_eq!(s.reactor.connections(), 0);
}
