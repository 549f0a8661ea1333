//! HTTP/2 connections in the real reactor over the fake network (h2c with
//! prior knowledge), the server's frames written with the engine's own
//! encoders: streams on one connection, a response split at every offset,
//! per-stream deadlines, and stream ids running out.

use std::time::Duration;

use super::Scenario;
use crate::error::{ErrorKind, Phase};
use crate::h2::StreamId;
use crate::h2::frame::{
    Decoded, Frame, MAX_MAX_FRAME_SIZE, SettingId, decode, encode_data, encode_headers,
    encode_settings, encode_settings_ack,
};
use crate::h2::hpack::{Encoder, Field};
use crate::stream::fake::FakePeer;

/// What a server sends, frame by frame.
#[derive(Default)]
struct Server {
    encoder: Encoder,
    out: Vec<u8>,
}

impl Server {
    /// Its preface (SETTINGS) and the acknowledgement of ours.
    fn preface(max_streams: Option<u32>) -> Server {
        let mut server = Server::default();
        let params: Vec<(SettingId, u32)> = max_streams
            .map(|n| (SettingId::MaxConcurrentStreams, n))
            .into_iter()
            .collect();
        encode_settings(&mut server.out, &params);
        encode_settings_ack(&mut server.out);
        server
    }

    /// A 200 response with `body` on `stream`.
    fn ok(mut self, stream: u32, body: &str) -> Server {
        let length = body.len().to_string();
        let fields = [(":status", "200"), ("content-length", length.as_str())];
        let mut block = Vec::new();
        self.encoder.encode(
            fields.iter().map(|(n, v)| Field {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: false,
                static_name: 0,
            }),
            &mut block,
        );
        encode_headers(&mut self.out, StreamId::new(stream), &block, false, 16_384);
        encode_data(&mut self.out, StreamId::new(stream), body.as_bytes(), true);
        self
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

fn h2c() -> Scenario {
    Scenario::new(|b| b.http2_prior_knowledge().timeout(Duration::from_secs(10)))
}

/// An h2c scenario whose first request (`path`, stream 1) went out and
/// whose server sent its preface (allowing `max_streams`): the scenario,
/// the server's end of the connection, and the server's encoder state.
fn connected(path: &str, max_streams: Option<u32>) -> (Scenario, FakePeer, Server) {
    let mut s = h2c();
    s.submit(format!("http://10.0.0.1{path}").as_str());
    s.run();
    let peer = s.peer();
    let mut server = Server::preface(max_streams);
    peer.send(server.take());
    s.run();
    (s, peer, server)
}

#[test]
fn requests_share_one_connection_and_a_response_split_anywhere_reads_the_same() {
    let mut server = Server::preface(Some(10))
        .ok(1, "first")
        .ok(3, "second")
        .ok(5, "third");
    let bytes = server.take();
    for i in (0..=bytes.len()).step_by(3) {
        let mut s = h2c();
        for path in ["a", "b", "c"] {
            s.submit(format!("http://10.0.0.1/{path}").as_str());
        }
        s.run();
        assert_eq!(s.attempts().len(), 1, "one connection for all three");
        let peer = s.peer();
        let written = peer.take_written();
        assert!(written.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        let (a, b) = bytes.split_at(i);
        peer.send(a);
        s.run();
        peer.send(b);
        s.run();
        let bodies: Vec<Vec<u8>> = (0..3).map(|_| s.response().body().to_vec()).collect();
        assert_eq!(bodies, [&b"first"[..], b"second", b"third"], "split at {i}");
        assert_eq!(s.reactor.counters().h2_streams, 3);
        assert_eq!(s.reactor.idle_connections(), 1, "pooled once");
    }
}

#[test]
fn a_stream_past_its_deadline_fails_alone() {
    let (mut s, peer, server) = connected("/slow", None);
    s.advance(Duration::from_secs(5));
    s.submit("http://10.0.0.1/fast");
    s.run();
    s.advance(Duration::from_secs(6));
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert_eq!(error.timeout_phase(), Some(Phase::ReadHead));
    assert!(error.to_string().contains("/slow"), "{error}");
    // The connection and the other stream go on.
    peer.send(server.ok(3, "fast").take());
    s.run();
    assert_eq!(s.response().body(), b"fast");
    assert_eq!(s.attempts().len(), 1);
}

#[test]
fn stream_ids_running_out_move_new_requests_to_a_new_connection() {
    let (mut s, first, server) = connected("/a", None);
    // Two ids left: 2^31-3 and 2^31-1.
    s.reactor.set_next_stream_id_for_test((1 << 31) - 3);
    s.submit("http://10.0.0.1/b");
    s.submit("http://10.0.0.1/c");
    s.submit("http://10.0.0.1/d");
    s.run();
    assert_eq!(
        s.attempts().len(),
        2,
        "the last request needs a new connection"
    );
    first.send(
        server
            .ok(1, "a")
            .ok((1 << 31) - 3, "b")
            .ok((1 << 31) - 1, "c")
            .take(),
    );
    s.run();
    let bodies: Vec<Vec<u8>> = (0..3).map(|_| s.response().body().to_vec()).collect();
    assert_eq!(bodies, [&b"a"[..], b"b", b"c"]);
    let second = s.peer();
    second.send(Server::preface(None).ok(1, "d").take());
    s.run();
    assert_eq!(s.response().body(), b"d");
    // The exhausted connection closed once its last stream ended.
    assert_eq!(s.reactor.connections(), 1);
}

/// A read that gets fewer bytes than it asked for drained the socket: the
/// connection waits for the next readiness instead of reading once more
/// only to hear `WouldBlock`; but when the server's FIN came with the bytes
/// it reads on to the end, as no readiness will say so again.
#[test]
fn a_short_read_is_the_last_until_the_next_readiness() {
    for fin in [false, true] {
        let (mut s, peer, server) = connected("/a", None);
        let before = peer.read_calls();
        peer.send(server.ok(1, "a").take());
        if fin {
            peer.close();
        }
        s.step();
        assert_eq!(s.response().body(), b"a", "fin {fin}");
        let reads = peer.read_calls() - before;
        // The response in one read; with the FIN, one more finds the end.
        assert_eq!(reads, if fin { 2 } else { 1 }, "fin {fin}");
        assert_eq!(s.reactor.connections(), usize::from(!fin), "fin {fin}");
    }
}

/// An open connection's registration never changes: readable and writable
/// (edge-triggered, so writable is reported once, not while it lasts),
/// with bytes waiting to be written or not.
#[test]
fn an_open_connection_stays_registered_readable_and_writable() {
    let both = Some(mio::Interest::READABLE | mio::Interest::WRITABLE);
    let (mut s, peer, server) = connected("/a", None);
    assert_eq!(s.reactor.interests(), [both], "a stream open");
    peer.send(server.ok(1, "a").take());
    s.run();
    assert_eq!(s.response().body(), b"a");
    assert_eq!(s.reactor.interests(), [both], "idle");
}

/// The streams of the HEADERS frames in what the client wrote.
fn headers_written(bytes: &[u8]) -> Vec<u32> {
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut at = if bytes.starts_with(preface) {
        preface.len()
    } else {
        0
    };
    let mut streams = Vec::new();
    while let Ok(Decoded::Complete(frame, used)) = decode(&bytes[at..], MAX_MAX_FRAME_SIZE) {
        if let Frame::Headers { stream, .. } = frame {
            streams.push(stream.get());
        }
        at += used;
    }
    streams
}

/// On a busy connection (half its stream slots or more taken) a few new
/// requests wait for more, up to 8 or 1 ms, and go out in one write; on a
/// connection that is not busy, each goes at once.
#[test]
fn requests_on_a_busy_connection_go_out_together() {
    let (mut s, peer, _) = connected("/a", Some(20));
    assert_eq!(
        headers_written(&peer.take_written()),
        [1],
        "not busy: at once"
    );
    for i in 1..10 {
        s.submit(format!("http://10.0.0.1/{i}").as_str());
    }
    s.run();
    assert_eq!(
        headers_written(&peer.take_written()).len(),
        9,
        "one dispatch, one write"
    );
    // Ten streams of twenty: busy. Seven more wait...
    for i in 10..17 {
        s.submit(format!("http://10.0.0.1/{i}").as_str());
        s.run();
    }
    assert_eq!(
        headers_written(&peer.take_written()),
        [] as [u32; 0],
        "held back"
    );
    // ...until the eighth.
    s.submit("http://10.0.0.1/17");
    s.run();
    let together = headers_written(&peer.take_written());
    assert_eq!(together, (21..=35).step_by(2).collect::<Vec<u32>>());
    // One alone waits 1 ms at most.
    s.submit("http://10.0.0.1/18");
    s.run();
    assert_eq!(headers_written(&peer.take_written()), [] as [u32; 0]);
    s.advance(Duration::from_millis(1));
    assert_eq!(headers_written(&peer.take_written()), [37]);
}

/// A server that allows few streams gets each request at once, busy or
/// not: holding requests back for eight makes no sense there.
#[test]
fn requests_under_a_small_stream_limit_go_at_once() {
    let (mut s, peer, _) = connected("/a", Some(4));
    assert_eq!(headers_written(&peer.take_written()), [1]);
    for (i, stream) in [(1, 3), (2, 5), (3, 7)] {
        s.submit(format!("http://10.0.0.1/{i}").as_str());
        s.run();
        assert_eq!(
            headers_written(&peer.take_written()),
            [stream],
            "request {i}"
        );
    }
}
