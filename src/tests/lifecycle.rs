//! connect → head → body → reuse, through every byte split.

use super::{Scenario, ok, written};
use crate::stream::fake::ReadOp;

#[test]
fn connect_head_body_then_reuse() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1:8080/a");
    s.step();
    assert_eq!(s.attempts(), ["10.0.0.1:8080".parse().unwrap()]);
    let peer = s.peer();
    let head = written(&peer);
    assert!(
        head.starts_with("GET /a HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\n"), "{head}");
    peer.send(ok("first"));
    s.step();
    let first = s.response();
    assert_eq!(first.body(), b"first");
    assert!(!first.timings().reused);
    assert!(first.timings().connect.is_some());
    assert_eq!(first.timings().dns, None, "an IP literal is not looked up");
    assert_eq!(s.reactor.idle_connections(), 1);

    s.submit("http://10.0.0.1:8080/b");
    s.step();
    assert_eq!(s.attempts().len(), 1, "the idle connection is reused");
    assert!(written(&peer).starts_with("GET /b HTTP/1.1\r\n"));
    peer.send(ok("second"));
    s.step();
    let second = s.response();
    assert_eq!(second.body(), b"second");
    assert!(second.timings().reused);
    assert_eq!(second.timings().connect, None);
    assert_eq!(s.reactor.counters().connections_reused, 1);
    assert_eq!(s.reactor.pending(), 0);
}

#[test]
fn a_response_split_at_every_offset_reads_the_same() {
    let response = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n";
    for i in 0..=response.len() {
        let mut s = Scenario::default_client();
        s.submit("http://10.0.0.1/");
        s.step();
        let peer = s.peer();
        let (a, b) = response.split_at(i);
        peer.send(a);
        peer.op(ReadOp::WouldBlock);
        peer.op(ReadOp::Interrupted);
        s.step();
        if i < response.len() {
            assert!(s.completion().is_none(), "complete after only {i} bytes");
        }
        peer.send(b);
        s.run();
        let r = s.response();
        assert_eq!(r.body(), b"hello world", "split at {i}");
        assert_eq!(r.header("x-a").unwrap(), "b");
        assert_eq!(s.reactor.idle_connections(), 1, "split at {i}");
    }
}

#[test]
fn a_known_length_body_dripped_a_byte_at_a_time() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
    for i in 0..2000u32 {
        peer.send([b'a' + (i % 26) as u8]);
        peer.op(ReadOp::WouldBlock);
    }
    for _ in 0..2001 {
        s.step();
    }
    let r = s.response();
    let expected: Vec<u8> = (0..2000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(r.body(), expected);
    assert_eq!(s.reactor.counters().bytes_received, 41 + 2000);
}

#[test]
fn a_close_delimited_body_ends_at_eof_and_the_connection_closes() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\n\r\nto the");
    peer.op(ReadOp::WouldBlock);
    peer.send(" end");
    peer.close();
    s.run();
    assert_eq!(s.response().body(), b"to the end");
    assert!(peer.is_dropped());
    assert_eq!(s.reactor.idle_connections(), 0);
    assert_eq!(s.reactor.connections(), 0);
}

#[test]
fn bytes_after_the_response_keep_the_connection_out_of_the_pool() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send(format!("{}{}", ok("ok"), ok("stale")));
    s.run();
    assert_eq!(s.response().body(), b"ok");
    assert!(peer.is_dropped());
    assert_eq!(s.reactor.idle_connections(), 0);
}

#[test]
fn a_request_body_is_written_as_the_socket_takes_it() {
    let mut s = Scenario::default_client();
    let body = vec![b'x'; 10_000];
    s.submit(
        crate::Request::post("http://10.0.0.1/up")
            .unwrap()
            .body(body.clone()),
    );
    s.plan("10.0.0.1:80", crate::stream::fake::Plan::Pending);
    s.step();
    let peer = s.peer();
    peer.write_budget(Some(100));
    peer.accept();
    s.step();
    let mut sent = peer.take_written();
    assert_eq!(sent.len(), 100);
    for _ in 0..200 {
        peer.write_budget(Some(1000));
        s.step();
        sent.extend(peer.take_written());
    }
    let text = String::from_utf8_lossy(&sent);
    assert!(
        text.contains("content-length: 10000\r\n") || text.contains("Content-Length: 10000\r\n"),
        "{text:.200}"
    );
    assert!(sent.ends_with(&body));
    peer.send(ok("done"));
    s.run();
    assert_eq!(s.response().body(), b"done");
}

#[test]
fn the_interest_follows_the_state() {
    use mio::Interest;
    let mut s = Scenario::default_client();
    s.submit("http://late.test/");
    s.step();
    assert_eq!(s.reactor.interests(), [None], "resolving: no socket yet");
    s.reactor
        .resolver_mut()
        .answer("late.test", Ok(crate::dns::Addrs::from([super::ip(1)])));
    s.plan("10.0.0.1:80", crate::stream::fake::Plan::Pending);
    s.reactor.deliver_dns(s.now);
    assert_eq!(
        s.reactor.interests(),
        [Some(Interest::WRITABLE)],
        "connecting"
    );
    let peer = s.peer();
    peer.write_budget(Some(5));
    peer.accept();
    s.step();
    assert_eq!(
        s.reactor.interests(),
        [Some(Interest::WRITABLE)],
        "sending, blocked"
    );
    peer.write_budget(None);
    s.step();
    assert_eq!(
        s.reactor.interests(),
        [Some(Interest::READABLE)],
        "receiving"
    );
    peer.send(ok("x"));
    s.step();
    assert_eq!(s.response().body(), b"x");
    assert_eq!(s.reactor.interests(), [Some(Interest::READABLE)], "idle");
}
