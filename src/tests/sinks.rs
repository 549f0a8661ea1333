//! Body sinks through the whole stack: a writer that would block holds the
//! connection back (no read interest) until it takes the bytes, on the
//! `SinkRetry` timer; chunks for the caller come in order before the
//! completion and a full queue pauses the connection until the caller takes
//! them; a failing sink fails only its request; the read-idle timeout
//! notices a quiet response and is moved on by every read; progress counts
//! every byte.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::{Scenario, ok, written};
use crate::completion::Event;
use crate::exchange::{CHUNK_QUEUE_BYTES, SINK_BUFFER_BYTES, SINK_RETRY_FIRST};
use crate::request::Request;
use crate::{ErrorKind, Phase};

/// A writer the test controls: it takes at most `budget` more bytes (then
/// `WouldBlock`), or fails with `fail` once set.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<GateState>>);

#[derive(Default)]
struct GateState {
    budget: Option<usize>,
    fail: Option<io::ErrorKind>,
    taken: Vec<u8>,
    flushed: bool,
}

impl Gate {
    fn with_budget(budget: usize) -> Gate {
        let gate = Gate::default();
        gate.set_budget(Some(budget));
        gate
    }
    fn state(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn set_budget(&self, budget: Option<usize>) {
        self.state().budget = budget;
    }
    fn taken(&self) -> Vec<u8> {
        self.state().taken.clone()
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.state();
        if let Some(kind) = state.fail {
            return Err(io::Error::new(kind, "the gate is shut"));
        }
        let n = state.budget.map_or(buf.len(), |b| b.min(buf.len()));
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if let Some(budget) = state.budget.as_mut() {
            *budget -= n;
        }
        state.taken.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.state().flushed = true;
        Ok(())
    }
}

fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn head_for(len: usize) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n")
}

#[test]
fn a_writer_takes_the_body_and_the_response_keeps_none() {
    let mut s = Scenario::default_client();
    let gate = Gate::default();
    let request = Request::get("http://10.0.0.1/")
        .unwrap()
        .to_writer(gate.clone());
    s.submit(request);
    s.step();
    let body = body_of(100_000);
    s.peer().send(head_for(body.len()));
    s.peer().send(&body);
    s.run();
    let r = s.response();
    assert!(r.body().is_empty());
    assert_eq!(r.body_len(), body.len() as u64);
    assert!(gate.taken() == body);
    assert!(gate.state().flushed, "flushed once complete");
    assert_eq!(s.reactor.idle_connections(), 1, "the connection is reused");
}

#[test]
fn a_writer_that_would_block_holds_the_connection_back_until_it_takes_the_rest() {
    let mut s = Scenario::default_client();
    let gate = Gate::with_budget(1000);
    s.submit(
        Request::get("http://10.0.0.1/")
            .unwrap()
            .to_writer(gate.clone()),
    );
    s.step();
    let peer = s.peer();
    let body = body_of(3 * SINK_BUFFER_BYTES);
    peer.send(head_for(body.len()));
    peer.send(&body);
    s.run();
    assert_eq!(
        s.reactor.interests(),
        [None],
        "no read interest while the writer is full"
    );
    assert_eq!(gate.taken().len(), 1000);
    // Nothing changes before the retry timer.
    s.run();
    assert_eq!(gate.taken().len(), 1000);
    assert_eq!(s.reactor.next_timeout(s.now), Some(SINK_RETRY_FIRST));
    // The writer takes a little at each try; the timer backs off.
    gate.set_budget(Some(50_000));
    s.advance(SINK_RETRY_FIRST);
    assert_eq!(gate.taken().len(), 51_000);
    assert!(s.completion().is_none());
    assert_eq!(s.reactor.interests(), [None]);
    assert_eq!(
        s.reactor.next_timeout(s.now),
        Some(2 * SINK_RETRY_FIRST),
        "the retry waits twice as long"
    );
    // All at once: the connection reads on and the response completes.
    gate.set_budget(None);
    s.advance(Duration::from_millis(2));
    s.run();
    let r = s.response();
    assert_eq!(r.body_len(), body.len() as u64);
    assert!(gate.taken() == body, "every byte, in order");
    assert_eq!(s.reactor.interests(), [Some(mio::Interest::READABLE)]);
}

#[test]
fn a_complete_response_waits_for_its_writer() {
    let mut s = Scenario::default_client();
    let gate = Gate::with_budget(3);
    s.submit(
        Request::get("http://10.0.0.1/")
            .unwrap()
            .to_writer(gate.clone()),
    );
    s.step();
    s.peer().send(ok("hello world"));
    s.run();
    assert!(s.completion().is_none(), "five bytes still wait");
    gate.set_budget(None);
    s.advance(SINK_RETRY_FIRST);
    let r = s.response();
    assert_eq!(gate.taken(), b"hello world");
    assert_eq!(r.body_len(), 11);
    assert_eq!(s.reactor.idle_connections(), 1);
}

#[test]
fn a_failing_writer_fails_its_request_only() {
    let mut s = Scenario::default_client();
    let gate = Gate::default();
    gate.state().fail = Some(io::ErrorKind::StorageFull);
    s.submit(
        Request::get("http://10.0.0.1/a")
            .unwrap()
            .to_writer(gate.clone()),
    );
    s.submit("http://10.0.0.2/b");
    s.step();
    for peer in s.net.peers() {
        peer.send(ok("body"));
    }
    s.run();
    let mut outcomes: Vec<_> = std::iter::from_fn(|| s.completion())
        .map(|c| (c.id.get(), c.result))
        .collect();
    outcomes.sort_by_key(|(id, _)| *id);
    let [(0, Err(error)), (1, Ok(response))] = &outcomes[..] else {
        panic!("{outcomes:?}");
    };
    assert_eq!(error.kind(), ErrorKind::Io);
    assert_eq!(
        error.to_string(),
        "I/O error writing the body to the request's writer: the gate is shut (http://10.0.0.1/a)"
    );
    assert_eq!(response.body(), b"body");
}

#[test]
fn a_404_stays_in_memory_whatever_the_sink() {
    let mut s = Scenario::default_client();
    let gate = Gate::default();
    s.submit(
        Request::get("http://10.0.0.1/")
            .unwrap()
            .to_writer(gate.clone()),
    );
    s.step();
    s.peer()
        .send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
    s.run();
    let r = s.response();
    assert_eq!((r.status().as_u16(), r.body()), (404, &b"not found"[..]));
    assert!(gate.taken().is_empty());
}

#[test]
fn chunks_come_in_order_after_the_head_and_before_the_completion() {
    let mut s = Scenario::default_client();
    let id = s.submit(Request::get("http://10.0.0.1/").unwrap().stream_chunks());
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhello\r\n");
    s.run();
    peer.send("6\r\n world\r\n0\r\n\r\n");
    s.run();
    let mut body = Vec::new();
    let mut saw_head = false;
    while let Some(event) = s.reactor.take_streamed() {
        match event {
            Event::Head {
                id: of,
                status,
                headers,
            } => {
                assert!(!saw_head && body.is_empty());
                assert_eq!((of, status.as_u16()), (id, 200));
                assert_eq!(headers["x-a"], "1");
                saw_head = true;
            }
            Event::Chunk { id: of, bytes } => {
                assert!(saw_head && of == id);
                body.extend_from_slice(&bytes);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(body, b"hello world");
    let r = s.response();
    assert!(r.body().is_empty());
    assert_eq!(r.body_len(), 11);
}

#[test]
fn a_full_chunk_queue_pauses_the_connection_until_the_caller_takes_chunks() {
    let mut s = Scenario::default_client();
    s.submit(Request::get("http://10.0.0.1/").unwrap().stream_chunks());
    s.step();
    let peer = s.peer();
    let body = body_of(3 * CHUNK_QUEUE_BYTES);
    peer.send(head_for(body.len()));
    peer.send(&body);
    for _ in 0..10 {
        s.run();
    }
    assert_eq!(s.reactor.interests(), [None], "paused on the full queue");
    let mut got = Vec::new();
    let mut taken_before_pause = 0;
    while let Some(event) = s.reactor.take_streamed() {
        if let Event::Chunk { bytes, .. } = event {
            taken_before_pause += bytes.len();
            got.extend_from_slice(&bytes);
        }
    }
    assert!(
        (CHUNK_QUEUE_BYTES..CHUNK_QUEUE_BYTES + 128 * 1024).contains(&taken_before_pause),
        "{taken_before_pause}"
    );
    // Taking them resumed the connection (at the next turn).
    for _ in 0..20 {
        s.run();
        while let Some(event) = s.reactor.take_streamed() {
            if let Event::Chunk { bytes, .. } = event {
                got.extend_from_slice(&bytes);
            }
        }
    }
    assert!(got == body, "{} of {} bytes", got.len(), body.len());
    assert_eq!(s.response().body_len(), body.len() as u64);
}

#[test]
fn the_read_idle_timeout_notices_silence_and_moves_with_every_read() {
    let idle = Duration::from_secs(5);
    let mut s = Scenario::new(|b| b.timeout(None).read_idle_timeout(idle));
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    s.run();
    // A byte every 4 s keeps it alive well past 5 s.
    for _ in 0..5 {
        s.advance(Duration::from_secs(4));
        peer.send("x");
        s.run();
        assert!(s.completion().is_none());
    }
    s.advance(idle);
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.timeout_phase(), Some(Phase::ReadIdle));
    assert_eq!(
        error.to_string(),
        "timeout after 5s with nothing received from 10.0.0.1:80 (http://10.0.0.1/)"
    );
}

#[test]
fn a_request_can_turn_the_whole_timeout_off_and_keep_its_own_idle_timeout() {
    let mut s = Scenario::new(|b| b.timeout(Duration::from_secs(2)));
    let request = Request::get("http://10.0.0.1/")
        .unwrap()
        .timeout(None)
        .read_idle_timeout(Duration::from_secs(3));
    s.submit(request);
    s.submit("http://10.0.0.2/");
    s.step();
    let peers = s.net.peers();
    for peer in &peers {
        peer.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    }
    for _ in 0..10 {
        s.advance(Duration::from_secs(1));
        peers[0].send("x");
        s.run();
    }
    let timed_out = s
        .completion()
        .expect("the client's timeout still applies to the other");
    let error = timed_out.result.unwrap_err();
    assert_eq!(
        (timed_out.id.get(), error.timeout_phase()),
        (1, Some(Phase::ReadBody))
    );
    assert!(s.completion().is_none(), "ten seconds in, still streaming");
    s.advance(Duration::from_secs(3));
    let error = s.error();
    assert_eq!(error.timeout_phase(), Some(Phase::ReadIdle));
}

#[test]
fn progress_counts_every_byte_and_knows_the_length() {
    let mut s = Scenario::default_client();
    s.reactor.report_progress(true);
    let id = s.submit("http://10.0.0.1/");
    s.step();
    assert_eq!(s.reactor.progress(id).map(|p| p.received), Some(0));
    let peer = s.peer();
    peer.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    s.run();
    let p = s.reactor.progress(id).unwrap();
    assert_eq!((p.received, p.expected), (3, Some(10)));
    peer.send("defghij");
    s.run();
    let reported: Vec<u64> = std::iter::from_fn(|| s.reactor.take_streamed())
        .map(|e| match e {
            Event::Progress { progress, .. } => progress.received,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(reported, [3, 10]);
    assert_eq!(s.response().body(), b"abcdefghij");
    assert_eq!(s.reactor.progress(id), None, "finished");
}

#[test]
fn a_cut_download_resumes_with_range_and_if_range() {
    let dir = std::env::temp_dir().join(format!("multifetch-sinks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("resumed.bin");
    let mut s = Scenario::default_client();
    s.submit(Request::get("http://10.0.0.1/f").unwrap().to_file(&target));
    s.step();
    let first = s.peer();
    assert_eq!(
        written(&first).contains("accept-encoding: gzip"),
        cfg!(feature = "gzip")
    );
    first.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n0123");
    first.close();
    s.run();
    assert!(s.completion().is_none(), "resumed, not failed");
    assert!(!target.exists());
    let second = s.peer();
    let head = written(&second);
    assert!(head.contains("range: bytes=4-\r\n"), "{head}");
    assert!(head.contains("if-range: \"v1\"\r\n"), "{head}");
    assert!(!head.contains("accept-encoding"), "{head}");
    second.send(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 4-9/10\r\nContent-Length: 6\r\n\r\n456789",
    );
    s.run();
    let r = s.response();
    assert_eq!(r.status().as_u16(), 206);
    let download = r.download().unwrap();
    assert_eq!(
        (download.len, download.resumed_from, download.resumes),
        (10, 4, 1)
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"0123456789");
    assert_eq!(s.reactor.counters().resumes, 1);
    std::fs::remove_dir_all(dir).unwrap();
}
