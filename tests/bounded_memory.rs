//! A body going to a sink is bounded by the read buffers, not by its size:
//! a writer slower than the network (over HTTP/1.1, and on streams of one
//! HTTP/2 connection), a caller that takes chunks slowly, and a batch of
//! downloads to files each move about a hundred MiB while the process's
//! peak RSS grows by a few MiB. Without backpressure the slow
//! sinks would hold every byte the server sent ahead of them.
//!
//! RSS is per process, so each case runs in a child process (this test
//! binary again, running one `#[ignore]`d case with `MULTIFETCH_RSS_CHILD`
//! set) that prints its resident size before and its peak after. The
//! bound is generous: a tenth of what the case moves.
#![cfg(target_os = "linux")]

mod support;

use std::io::{self, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use multifetch::{Client, Event, Reactor, Request};
use support::{HttpServer, TempDir, pattern_byte};

const MIB: u64 = 1024 * 1024;

/// Resident and peak resident size of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS / VmHWM line")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs the `#[ignore]`d case `name` in a child process and checks what it
/// reports: every byte right, and peak RSS within `bound` of where it
/// started.
#[track_caller]
fn in_child(name: &str, moved: u64) {
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MULTIFETCH_RSS_CHILD", "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The harness may print "test name ... " on the same line.
    let line = stdout
        .lines()
        .find_map(|l| l.find("RSS before_kib=").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("{name}: no RSS line in\n{stdout}"));
    let value = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no {key} in {line}"))
    };
    let (before, peak, bytes) = (value("before_kib="), value("peak_kib="), value("bytes="));
    assert_eq!(bytes, moved, "{name}: {line}");
    let grew = peak.saturating_sub(before);
    let bound = moved / 10 / 1024;
    assert!(
        grew < bound,
        "{name}: peak RSS grew by {grew} KiB moving {} MiB (bound {bound} KiB): {line}",
        moved / MIB
    );
    println!("{name}: {line} (grew {grew} KiB)");
}

/// Guards the child cases: they run only when their parent test asks
/// (it sets `MULTIFETCH_RSS_CHILD`); otherwise fails, naming the parent.
#[track_caller]
fn assert_run_by(parent: &str) {
    assert!(
        std::env::var_os("MULTIFETCH_RSS_CHILD").is_some(),
        "run by {parent}"
    );
}

/// Checks bytes against the `/bytes/{n}` pattern, a slice at a time (fast
/// in a debug build too).
struct Checker(Vec<u8>);

impl Checker {
    fn new() -> Checker {
        Checker((0..251 + MIB).map(pattern_byte).collect())
    }

    /// Whether `bytes` are the pattern from `offset` on.
    fn matches(&self, offset: u64, bytes: &[u8]) -> bool {
        let mut at = offset;
        bytes.chunks(MIB as usize).all(|piece| {
            let start = (at % 251) as usize;
            at += piece.len() as u64;
            self.0[start..start + piece.len()] == *piece
        })
    }
}

/// A writer that takes `rate` bytes per millisecond since it was made,
/// returning `WouldBlock` when it is ahead, and checks every byte.
struct Slow {
    start: Instant,
    rate: u64,
    taken: u64,
    wrong: bool,
    checker: Checker,
}

impl Slow {
    fn new(rate: u64) -> Slow {
        Slow {
            start: Instant::now(),
            rate,
            taken: 0,
            wrong: false,
            checker: Checker::new(),
        }
    }
}

impl Write for Slow {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let allowed = self.start.elapsed().as_millis() as u64 * self.rate;
        let room = allowed.saturating_sub(self.taken);
        if room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(room as usize);
        self.wrong |= !self.checker.matches(self.taken, &buf[..n]);
        self.taken += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.wrong {
            return Err(io::Error::other("wrong bytes"));
        }
        Ok(())
    }
}

fn report(before: u64, bytes: u64) {
    let (_, peak) = rss_kib();
    println!("RSS before_kib={before} peak_kib={peak} bytes={bytes}");
}

/// Warms the server and the client up with `n` bodies of 4 MiB at once,
/// so that what they allocate once counts in the "before"; returns the
/// resident size after, in KiB.
fn warm_up(server: &HttpServer, client: &Client, n: usize) -> u64 {
    let warm: Vec<_> = (0..n)
        .map(|_| {
            Request::get(&server.url(&format!("/bytes/{}", 4 * MIB)))
                .unwrap()
                .to_writer(io::sink())
        })
        .collect();
    for result in client.fetch_many(warm) {
        result.unwrap();
    }
    let (before, _) = rss_kib();
    before
}

/// Starts the server and the client (HTTP/1.1, eight connections), and
/// warms both up ([`warm_up`]).
fn setup() -> (HttpServer, Client, u64) {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .max_connections(8)
        .timeout(None)
        .read_idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let before = warm_up(&server, &client, 8);
    (server, client, before)
}

/// Four requests for a quarter of [`SLOW_BYTES`] each, into writers taking
/// 16 MiB/s each (the server sends at loopback speed).
fn slow_requests(server: &HttpServer) -> Vec<Request> {
    (0..4)
        .map(|_| {
            Request::get(&server.url(&format!("/bytes/{}", SLOW_BYTES / 4)))
                .unwrap()
                .to_writer(Slow::new(16 * 1024))
        })
        .collect()
}

const SLOW_BYTES: u64 = 4 * 24 * MIB;

#[test]
fn a_slow_writer_does_not_grow_memory() {
    in_child("child_slow_writer", SLOW_BYTES);
}

#[test]
#[ignore = "run in a child process by a_slow_writer_does_not_grow_memory"]
fn child_slow_writer() {
    assert_run_by("a_slow_writer_does_not_grow_memory");
    let (server, client, before) = setup();
    let mut bytes = 0;
    for result in client.fetch_many(slow_requests(&server)) {
        bytes += result.unwrap().body_len();
    }
    report(before, bytes);
}

#[cfg(feature = "http2")]
#[test]
fn a_slow_writer_over_http2_does_not_grow_memory() {
    in_child("child_slow_writer_h2", SLOW_BYTES);
}

/// Four slow writers on four streams of one HTTP/2 connection: each stream
/// is held while its writer is behind, its window shut, so what waits is
/// bounded by the windows (256 KiB a stream, 1 MiB the connection here),
/// not by the 96 MiB the server would send.
#[cfg(feature = "http2")]
#[test]
#[ignore = "run in a child process by a_slow_writer_over_http2_does_not_grow_memory"]
fn child_slow_writer_h2() {
    assert_run_by("a_slow_writer_over_http2_does_not_grow_memory");
    let server = HttpServer::start_with(support::Mode::H2c { max_streams: 100 });
    let client = Client::builder()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(256 * 1024)
        .http2_initial_connection_window_size(1024 * 1024)
        .timeout(None)
        .read_idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let before = warm_up(&server, &client, 4);
    let mut bytes = 0;
    for result in client.fetch_many(slow_requests(&server)) {
        let response = result.unwrap();
        assert_eq!(response.version(), multifetch::Version::HTTP_2);
        bytes += response.body_len();
    }
    assert_eq!(server.accepted(), 1, "one connection, four streams");
    report(before, bytes);
}

const CHUNK_BYTES: u64 = 2 * 32 * MIB;

#[test]
fn a_caller_taking_chunks_slowly_does_not_grow_memory() {
    in_child("child_slow_chunks", CHUNK_BYTES);
}

#[test]
#[ignore = "run in a child process by a_caller_taking_chunks_slowly_does_not_grow_memory"]
fn child_slow_chunks() {
    assert_run_by("a_caller_taking_chunks_slowly_does_not_grow_memory");
    let (server, client, before) = setup();
    let mut reactor = Reactor::new(&client).unwrap();
    for _ in 0..2 {
        reactor.submit(
            Request::get(&server.url(&format!("/bytes/{}", CHUNK_BYTES / 2)))
                .unwrap()
                .stream_chunks(),
        );
    }
    let checker = Checker::new();
    let (mut bytes, mut offsets, mut wrong) = (0, std::collections::HashMap::new(), false);
    let start = Instant::now();
    while let Some(event) = reactor.next_event().unwrap() {
        match event {
            Event::Chunk { id, bytes: chunk } => {
                let at: &mut u64 = offsets.entry(id).or_default();
                wrong |= !checker.matches(*at, &chunk);
                *at += chunk.len() as u64;
                bytes += chunk.len() as u64;
                // The caller is slower than the network: 32 MiB/s.
                let due = Duration::from_micros(bytes * 1_000_000 / (32 * MIB));
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            Event::Done(done) => {
                done.result.unwrap();
            }
            _ => {}
        }
    }
    assert!(!wrong, "wrong bytes");
    report(before, bytes);
}

const FILE_BYTES: u64 = 32 * 4 * MIB;

#[test]
fn a_batch_of_downloads_to_files_does_not_grow_memory() {
    in_child("child_many_files", FILE_BYTES);
}

#[test]
#[ignore = "run in a child process by a_batch_of_downloads_to_files_does_not_grow_memory"]
fn child_many_files() {
    assert_run_by("a_batch_of_downloads_to_files_does_not_grow_memory");
    let (server, client, before) = setup();
    let dir = TempDir::new("files");
    let requests = (0..32).map(|i| {
        Request::get(&server.url(&format!("/bytes/{}", FILE_BYTES / 32)))
            .unwrap()
            .to_file(dir.file(&format!("{i}.bin")))
    });
    let checker = Checker::new();
    let mut bytes = 0;
    let mut buf = vec![0; 64 * 1024];
    client.fetch_each(requests, |index, result| {
        let response = result.unwrap();
        let download = response.download().unwrap();
        bytes += download.len;
        // Checked a buffer at a time, then removed as they come: the disk
        // holds a few at once.
        let mut file = std::fs::File::open(&download.path).unwrap();
        let mut at = 0;
        loop {
            let n = io::Read::read(&mut file, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert!(checker.matches(at, &buf[..n]), "file {index} at {at}");
            at += n as u64;
        }
        assert_eq!(at, download.len);
        std::fs::remove_file(&download.path).unwrap();
    });
    assert_eq!(dir.names(), Vec::<String>::new(), "every file removed");
    report(before, bytes);
}
