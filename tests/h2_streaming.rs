//! Streaming bodies over HTTP/2, against hyper's h2 server (h2c with prior
//! knowledge) and a scripted one on Python's `h2` (`tests/h2/range_server.py`):
//! files written byte-exact with and without `content-length`; chunks handed
//! to the caller from many streams of one connection; progress counts equal
//! to the bytes written; a writer that blocks holds its stream's window shut
//! (the server stops sending on it) while the other streams finish, and the
//! body arrives whole once it takes bytes again; a failing sink fails its
//! stream only; a read-idle timeout ends the stream that went quiet while
//! its neighbours complete; a download cut off by RST_STREAM resumes with
//! `Range` and `If-Range`, restarts from zero when the server ignores
//! `Range`, and counts 416 for a complete file as success.
//!
//! Needs `python3` with the `h2` package for the resume cases (`.ci/run`
//! installs it).
#![cfg(feature = "http2")]

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use multifetch::{ErrorKind, Event, Phase, Reactor, Request, Version};
use support::python::PythonServer;
use support::{Broken, HttpServer, Mode, TempDir, assert_body, h2c_client, pattern_byte};

const MIB: u64 = 1024 * 1024;

fn h2c() -> HttpServer {
    HttpServer::start_with(Mode::H2c { max_streams: 100 })
}

fn pattern(from: u64, len: u64) -> Vec<u8> {
    (from..from + len).map(pattern_byte).collect()
}

#[test]
fn files_over_h2_are_byte_exact_with_and_without_a_length() {
    let dir = TempDir::new("files");
    let server = h2c();
    let sizes = [0, 1, 16_383, 16_384, 100_000, 3 * MIB + 7];
    let mut requests = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        // `/bytes/n` has content-length; `/chunked/n` (item bodies) none.
        requests.push(
            Request::get(&server.url(&format!("/bytes/{n}")))
                .unwrap()
                .to_file(dir.file(&format!("bytes-{i}.bin"))),
        );
    }
    for n in [0u64, 7, 98, 195] {
        requests.push(
            Request::get(&server.url(&format!("/chunked/{n}")))
                .unwrap()
                .to_file(dir.file(&format!("chunked-{n}.bin"))),
        );
    }
    let results = h2c_client().build().unwrap().fetch_many(requests);
    for (i, n) in sizes.iter().enumerate() {
        let response = results[i].as_ref().unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        let download = response.download().unwrap();
        assert_eq!(download.len, *n);
        assert_body(
            &fs::read(dir.file(&format!("bytes-{i}.bin"))).unwrap(),
            &pattern(0, *n),
            &format!("/bytes/{n}"),
        );
    }
    for (k, n) in [0u64, 7, 98, 195].iter().enumerate() {
        let response = results[sizes.len() + k].as_ref().unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        assert_body(
            &fs::read(dir.file(&format!("chunked-{n}.bin"))).unwrap(),
            &support::item_body(*n),
            &format!("/chunked/{n}"),
        );
    }
    assert_eq!(server.accepted(), 1, "one connection, many streams");
    assert!(
        dir.names().iter().all(|n| n.ends_with(".bin")),
        "no part file left: {:?}",
        dir.names()
    );
}

#[test]
fn chunks_and_progress_of_many_streams_on_one_connection() {
    let server = h2c();
    let client = h2c_client().build().unwrap();
    let mut reactor = Reactor::new(&client).unwrap();
    reactor.report_progress(true);
    let mut expected = HashMap::new();
    for i in 0..20u64 {
        // One body is larger than the chunk queue: its stream is held
        // until the caller takes chunks, then reads on.
        let n = if i == 7 { 8 * MIB + 1 } else { 50_000 * i + 1 };
        let id = reactor.submit(
            Request::get(&server.url(&format!("/bytes/{n}")))
                .unwrap()
                .stream_chunks(),
        );
        expected.insert(id, n);
    }
    let mut bodies: HashMap<_, Vec<u8>> = HashMap::new();
    let mut progress: HashMap<_, u64> = HashMap::new();
    let mut done = 0;
    while let Some(event) = reactor.next_event().unwrap() {
        match event {
            Event::Head { id, status, .. } => {
                assert_eq!(status, 200);
                assert!(bodies.insert(id, Vec::new()).is_none(), "{id}: one head");
            }
            Event::Chunk { id, bytes } => bodies.get_mut(&id).expect("head first").extend(bytes),
            Event::Progress { id, progress: p } => {
                let last = progress.entry(id).or_default();
                assert!(p.received >= *last, "progress never goes back");
                assert_eq!(p.expected, Some(expected[&id]));
                *last = p.received;
            }
            Event::Done(d) => {
                let response = d.result.unwrap();
                assert_eq!(response.version(), Version::HTTP_2);
                let n = expected[&d.id];
                assert_eq!(response.body_len(), n);
                assert_body(&bodies[&d.id], &pattern(0, n), &format!("stream of {n}"));
                assert_eq!(progress[&d.id], n, "progress counts = bytes handed over");
                done += 1;
            }
            other => panic!("not asked for: {other:?}"),
        }
    }
    assert_eq!(done, 20);
    assert_eq!(server.accepted(), 1);
}

/// A writer that returns `WouldBlock` until opened, then checks every byte.
struct Gate {
    open: Arc<AtomicBool>,
    taken: Arc<AtomicU64>,
    wrong: bool,
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.open.load(Ordering::SeqCst) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let at = self.taken.load(Ordering::SeqCst);
        self.wrong |= buf.iter().zip(at..).any(|(&b, i)| b != pattern_byte(i));
        self.taken.fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.wrong {
            return Err(io::Error::other("wrong bytes"));
        }
        Ok(())
    }
}

#[test]
fn a_blocked_writer_holds_its_stream_window_shut_while_the_other_streams_finish() {
    const WINDOW: u32 = 256 * 1024;
    const BODY: u64 = 24 * MIB;
    let server = h2c();
    let client = h2c_client()
        .http2_initial_stream_window_size(WINDOW)
        .http2_initial_connection_window_size(4 * WINDOW)
        .timeout(None)
        .read_idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut reactor = Reactor::new(&client).unwrap();
    let open = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicU64::new(0));
    let held = reactor.submit(
        Request::get(&server.url(&format!("/bytes/{BODY}")))
            .unwrap()
            .to_writer(Gate {
                open: open.clone(),
                taken: taken.clone(),
                wrong: false,
            }),
    );
    let others: Vec<_> = (0..4)
        .map(|_| reactor.submit(Request::get(&server.url(&format!("/bytes/{}", 2 * MIB))).unwrap()))
        .collect();
    // Run until the other streams are done and the held one has stopped
    // receiving (its sink takes nothing, so its window stays shut).
    let mut finished = 0;
    let mut last = (0, Instant::now());
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < limit, "the other streams did not finish");
        let step = Instant::now() + Duration::from_millis(50);
        if let Some(event) = reactor.next_event_before(step).unwrap() {
            if let Event::Done(done) = event {
                assert!(others.contains(&done.id), "only the others end now");
                assert_eq!(done.result.unwrap().body_len(), 2 * MIB);
                finished += 1;
            }
            continue;
        }
        let received = reactor.progress(held).unwrap().received;
        if received != last.0 {
            last = (received, Instant::now());
        } else if finished == others.len() && last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    // What came is bounded by the window (plus what the sink buffer would
    // have taken before it filled), not by the body.
    let received = reactor.progress(held).unwrap().received;
    assert!(
        received <= u64::from(WINDOW) + 512 * 1024,
        "received {received} bytes with the sink taking none (window {WINDOW})"
    );
    assert_eq!(taken.load(Ordering::SeqCst), 0);
    // The sink takes bytes again: the window reopens and the body arrives whole.
    open.store(true, Ordering::SeqCst);
    let mut result = None;
    while let Some(event) = reactor.next_event().unwrap() {
        if let Event::Done(done) = event {
            assert_eq!(done.id, held);
            result = Some(done.result);
        }
    }
    let response = result.expect("the held stream finished").unwrap();
    assert_eq!(response.body_len(), BODY);
    assert_eq!(taken.load(Ordering::SeqCst), BODY);
    assert_eq!(server.accepted(), 1);
}

/// A writer that fails.
#[test]
fn a_failing_sink_fails_its_stream_only() {
    let server = h2c();
    let url = server.url("/bytes/100000");
    let requests = vec![
        Request::get(&url).unwrap(),
        Request::get(&url).unwrap().to_writer(Broken),
        Request::get(&url).unwrap().to_writer(io::sink()),
    ];
    let results = h2c_client().build().unwrap().fetch_many(requests);
    assert_eq!(results[0].as_ref().unwrap().body(), pattern(0, 100_000));
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert_eq!(
        error.to_string(),
        format!("I/O error writing the body to the request's writer: disk on fire ({url})")
    );
    assert_eq!(results[2].as_ref().unwrap().body_len(), 100_000);
    assert_eq!(server.accepted(), 1, "the connection went on");
}

#[test]
fn a_quiet_stream_times_out_on_read_idle_while_its_neighbours_complete() {
    let server = h2c();
    let client = h2c_client().timeout(None).build().unwrap();
    let requests = vec![
        Request::get(&server.url("/bytes/1000?delay=5000"))
            .unwrap()
            .read_idle_timeout(Duration::from_millis(300)),
        Request::get(&server.url("/bytes/1000?delay=100")).unwrap(),
        Request::get(&server.url("/bytes/1000")).unwrap(),
    ];
    let results = client.fetch_many(requests);
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.timeout_phase(), Some(Phase::ReadIdle));
    assert!(
        error.to_string().contains("300ms with nothing received"),
        "{error}"
    );
    for result in &results[1..] {
        assert_eq!(result.as_ref().unwrap().body(), pattern(0, 1000));
    }
    assert_eq!(server.accepted(), 1, "one connection");
}

/// The scripted Python file server (`tests/h2/range_server.py`) running
/// `scenario`.
struct RangeServer(PythonServer);

impl RangeServer {
    fn start(scenario: &str) -> RangeServer {
        RangeServer(PythonServer::start("range_server.py", &[scenario]))
    }

    fn url(&self, name: &str, size: u64) -> String {
        self.0.url(&format!("/file/{name}?size={size}"))
    }
}

const FILE: u64 = 300_000;

#[test]
fn a_download_reset_part_way_resumes_with_range_and_if_range() {
    let dir = TempDir::new("resume");
    let server = RangeServer::start("honour");
    let response = h2c_client()
        .build()
        .unwrap()
        .fetch(
            Request::get(&server.url("a", FILE))
                .unwrap()
                .to_file(dir.file("a.bin")),
        )
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(response.version(), Version::HTTP_2);
    let download = response.download().unwrap();
    assert_eq!(download.resumes, 1);
    assert_eq!(download.resumed_from, FILE / 2);
    assert_eq!(download.len, FILE);
    let half = FILE / 2;
    assert_eq!(
        response.headers()["x-range"],
        format!("bytes={half}-").as_str()
    );
    assert_eq!(response.headers()["x-if-range"], "\"v1\"");
    assert_eq!(
        response.headers()["x-accept-encoding"],
        "-",
        "no Accept-Encoding with a Range"
    );
    assert_body(
        &fs::read(dir.file("a.bin")).unwrap(),
        &pattern(0, FILE),
        "a.bin",
    );
    assert_eq!(dir.names(), ["a.bin"]);
}

#[test]
fn a_download_from_an_h2_server_ignoring_range_restarts_from_zero() {
    let dir = TempDir::new("ignore");
    let server = RangeServer::start("ignore");
    let response = h2c_client()
        .build()
        .unwrap()
        .fetch(
            Request::get(&server.url("b", FILE))
                .unwrap()
                .to_file(dir.file("b.bin")),
        )
        .unwrap();
    assert_eq!(response.status(), 200);
    let download = response.download().unwrap();
    assert_eq!((download.resumes, download.resumed_from), (1, 0));
    assert_eq!(
        response.headers()["x-range"],
        format!("bytes={}-", FILE / 2).as_str()
    );
    assert_body(
        &fs::read(dir.file("b.bin")).unwrap(),
        &pattern(0, FILE),
        "b.bin",
    );
    assert_eq!(dir.names(), ["b.bin"]);
}

#[test]
fn a_complete_file_answered_416_over_h2_is_a_success() {
    let dir = TempDir::new("complete");
    let server = RangeServer::start("honour");
    fs::write(dir.file("c.bin"), pattern(0, FILE)).unwrap();
    // The server cuts the first request for a name: spend it elsewhere.
    let client = h2c_client().build().unwrap();
    let _ = client.fetch(Request::get(&server.url("c", FILE)).unwrap());
    let response = client
        .fetch(
            Request::get(&server.url("c", FILE))
                .unwrap()
                .to_file(dir.file("c.bin"))
                .continue_partial(true),
        )
        .unwrap();
    assert_eq!(response.status(), 416);
    let download = response.download().unwrap();
    assert!(download.already_complete);
    assert_eq!(download.len, FILE);
    assert_eq!(
        response.headers()["x-range"],
        format!("bytes={FILE}-").as_str()
    );
    assert_body(
        &fs::read(dir.file("c.bin")).unwrap(),
        &pattern(0, FILE),
        "c.bin",
    );
    assert_eq!(dir.names(), ["c.bin"]);
}
