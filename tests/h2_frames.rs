//! The client against byte-scripted HTTP/2 servers (`tests/h2/frame_server.py`,
//! h2c with prior knowledge, frames written by hand): GOAWAY with last
//! stream 0 on every connection, two GOAWAYs whose last stream id rises,
//! DATA on stream 0, a 1xx head with END_STREAM, trailers with a pseudo
//! header, WINDOW_UPDATE of 0 on a stream with a request body in flight, a
//! stream window pushed below zero by SETTINGS, `Retry-After` that is 0,
//! garbage or huge under a retry policy, file downloads cut by RST_STREAM
//! (resumed, cut for good, answered with the wrong range), a 206 nobody
//! asked for, a redirect loop, and a server that closes every connection
//! after one answer. Every URL must get exactly one result, and every
//! failure an error saying what happened and for which URL.
//!
//! Needs `python3` with the `h2` package (`.ci/run` installs it; `hpack`
//! comes with it).

use std::path::Path;
use std::time::Duration;

use multifetch::{Client, ClientBuilder, ErrorKind, Request, Response, RetryPolicy};

mod support;

use support::python::PythonServer;
use support::{TempDir, assert_h2_ok as assert_ok};

/// `tests/h2/frame_server.py` running one scenario, killed when dropped.
struct Scripted(PythonServer);

impl Scripted {
    fn start(scenario: &str) -> Scripted {
        Scripted(PythonServer::start("frame_server.py", &[scenario]))
    }

    fn url(&self, path: &str) -> String {
        self.0.url(path)
    }

    /// How many requests for `path` the server has seen, over every
    /// connection.
    fn count(&self, path: &str) -> usize {
        let response = client()
            .build()
            .unwrap()
            .fetch(self.url("/count").as_str())
            .unwrap();
        let text = response.text();
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{path}=")))
            .map_or(0, |n| n.parse().unwrap())
    }
}

fn client() -> ClientBuilder {
    Client::builder()
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
}

/// Asserts the error's kind and that its message names the URL and each
/// of `words`; returns the message.
#[track_caller]
fn assert_error(
    result: &multifetch::Result<Response>,
    kind: ErrorKind,
    url: &str,
    words: &[&str],
) -> String {
    let error = match result {
        Ok(response) => panic!("{url}: expected an error, got {}", response.status()),
        Err(error) => error,
    };
    let text = error.to_string();
    assert_eq!(error.kind(), kind, "{text}");
    assert!(text.contains(url), "the message names the URL: {text}");
    for word in words {
        assert!(text.contains(word), "the message says {word:?}: {text}");
    }
    assert!(!text.contains("Some("), "no Debug text: {text}");
    text
}

/// The bytes `/file/{n}` serves: byte `i` is `i % 251`.
fn file_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn goaway_with_last_stream_zero_on_every_connection_ends_each_url_once() {
    let server = Scripted::start("goaway-zero");
    let client = client().build().unwrap();
    let urls: Vec<String> = (0..5).map(|i| server.url(&format!("/g{i}"))).collect();
    let results = client.fetch_many(&urls);
    assert_eq!(results.len(), urls.len());
    for (url, result) in urls.iter().zip(&results) {
        let text = assert_error(result, ErrorKind::Protocol, url, &["GOAWAY", "11 times"]);
        assert!(!text.contains("REFUSED_STREAM"), "{text}");
        assert_eq!(result.as_ref().unwrap_err().http2_error_code(), Some(0));
    }
    // Replays are bounded: the first send and at most ten more per URL
    // (the server reads one request per connection before it goes away).
    for i in 0..5 {
        let n = server.count(&format!("/g{i}"));
        assert!(n <= 11, "/g{i} sent {n} times");
    }
}

#[test]
fn a_second_goaway_may_not_raise_the_last_stream_id() {
    let server = Scripted::start("goaway-twice");
    let client = client().build().unwrap();
    let urls: Vec<String> = (0..6).map(|i| server.url(&format!("/t{i}"))).collect();
    let results = client.fetch_many(&urls);
    for (i, result) in results.iter().enumerate() {
        assert_ok(result, &format!("/t{i}"));
    }
}

#[test]
fn malformed_frames_and_heads_fail_their_url_and_the_rest_completes() {
    for (scenario, kind, words) in [
        (
            "data-stream-zero",
            ErrorKind::Protocol,
            &["PROTOCOL_ERROR", "DATA", "stream 0"][..],
        ),
        (
            "info-end-stream",
            ErrorKind::Protocol,
            &["PROTOCOL_ERROR"][..],
        ),
        (
            "trailer-pseudo",
            ErrorKind::Protocol,
            &["PROTOCOL_ERROR"][..],
        ),
    ] {
        let server = Scripted::start(scenario);
        let client = client().build().unwrap();
        let urls = [server.url("/a"), server.url("/x"), server.url("/b")];
        let results = client.fetch_many(&urls);
        assert_ok(&results[0], "/a");
        let text = assert_error(&results[1], kind, &urls[1], words);
        eprintln!("{scenario}: {text}");
        assert_ok(&results[2], "/b");
    }
}

#[test]
fn window_update_of_zero_on_a_stream_with_a_body_in_flight() {
    let server = Scripted::start("window-update-zero");
    let client = client().build().unwrap();
    let post = server.url("/post");
    let requests = vec![
        Request::get(&server.url("/a")).unwrap(),
        Request::post(&post).unwrap().body(vec![7u8; 200_000]),
        Request::get(&server.url("/b")).unwrap(),
    ];
    let results = client.fetch_many(requests);
    assert_ok(&results[0], "/a");
    let text = assert_error(&results[1], ErrorKind::Protocol, &post, &["WINDOW_UPDATE"]);
    eprintln!("{text}");
    assert_ok(&results[2], "/b");
}

#[test]
fn a_stream_window_below_zero_recovers_and_the_body_arrives_whole() {
    let server = Scripted::start("shrink-window");
    let client = client().build().unwrap();
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let requests = vec![
        Request::post(&server.url("/post"))
            .unwrap()
            .body(body.clone()),
        Request::get(&server.url("/a")).unwrap(),
    ];
    let results = client.fetch_many(requests);
    let response = results[0].as_ref().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.body() == body.as_slice(),
        "the echoed body is the body sent"
    );
    assert_ok(&results[1], "/a");
}

#[test]
fn retry_after_zero_garbage_or_huge_stays_within_max_attempts() {
    let server = Scripted::start("status-loop");
    let client = client()
        .retry(
            RetryPolicy::new()
                .max_attempts(4)
                .backoff(Duration::from_millis(1), Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    let cases = [
        ("/s/429/0", 4),
        ("/s/503/-5", 4),
        ("/s/429/soon", 4),
        ("/s/503/none", 4),
        // Past max_retry_after: the answer is handed back at once.
        ("/s/429/99999999999999999999999", 1),
        ("/s/503/Fri,%2031%20Dec%209999%2023:59:59%20GMT", 1),
    ];
    let urls: Vec<String> = cases.iter().map(|(path, _)| server.url(path)).collect();
    let results = client.fetch_many(&urls);
    for ((path, attempts), result) in cases.iter().zip(&results) {
        let response = result.as_ref().unwrap_or_else(|e| panic!("{path}: {e}"));
        let status: u16 = path[3..6].parse().unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.timings().attempts, *attempts, "{path}");
        let decoded = path.replace("%20", " ");
        assert_eq!(server.count(&decoded), *attempts as usize, "{path}");
    }
}

#[test]
fn a_download_cut_by_rst_stream_resumes_with_a_range() {
    let server = Scripted::start("file");
    let dir = TempDir::new("resume");
    let client = client().build().unwrap();
    let path = dir.file("f.bin");
    let url = server.url("/file/150000");
    let response = client
        .fetch(Request::get(&url).unwrap().to_file(&path))
        .unwrap();
    let download = response.download().unwrap();
    assert_eq!(download.resumes, 1);
    assert_eq!(download.resumed_from, 75_000);
    assert!(read(&path) == file_bytes(150_000), "the file is whole");
    assert_eq!(dir.names(), ["f.bin"], "no part file is left");
}

#[test]
fn a_download_cut_every_time_fails_once_resumes_run_out_and_leaves_no_part_file() {
    let server = Scripted::start("file-always-reset");
    let dir = TempDir::new("always-reset");
    let client = client().build().unwrap();
    let url = server.url("/file/100000");
    let result = client.fetch(Request::get(&url).unwrap().to_file(dir.file("f.bin")));
    let text = assert_error(&result, ErrorKind::Truncated, &url, &["INTERNAL_ERROR"]);
    eprintln!("{text}");
    // The first attempt and three resumes (DEFAULT_MAX_RESUMES).
    assert_eq!(server.count("/file/100000"), 4);
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn a_resume_answered_with_the_wrong_range_starts_the_file_again() {
    let server = Scripted::start("file-wrong-range");
    let dir = TempDir::new("wrong-range");
    let client = client().build().unwrap();
    let path = dir.file("f.bin");
    let url = server.url("/file/100000");
    let response = client
        .fetch(Request::get(&url).unwrap().to_file(&path))
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(read(&path) == file_bytes(100_000), "the file is whole");
    assert_eq!(dir.names(), ["f.bin"]);
}

#[test]
fn a_partial_answer_to_a_request_without_range_is_not_saved_as_the_file() {
    let server = Scripted::start("file-partial");
    let dir = TempDir::new("partial");
    let client = client().build().unwrap();
    let path = dir.file("f.bin");
    let url = server.url("/file/100");
    match client.fetch(Request::get(&url).unwrap().to_file(&path)) {
        Ok(response) => panic!(
            "a 206 for bytes 10-19 of 100 is not the file: {} {:?} {:?}",
            response.status(),
            response.download(),
            std::fs::read(&path).ok()
        ),
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains(&url), "{text}");
            assert!(text.contains("206"), "{text}");
            eprintln!("{text}");
        }
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    // Kept in memory, the caller sees the 206 as it is.
    let response = client.fetch(url.as_str()).unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(response.body(), &file_bytes(100)[10..20]);
}

#[test]
fn a_redirect_loop_is_a_redirect_error() {
    let server = Scripted::start("redirect-loop");
    let client = client().build().unwrap();
    let url = server.url("/a");
    let results = client.fetch_many([url.as_str(), server.url("/c").as_str()]);
    let text = assert_error(&results[0], ErrorKind::Redirect, &url, &[]);
    eprintln!("{text}");
    assert_ok(&results[1], "/c");
}

#[test]
fn fetch_each_with_a_server_closing_every_connection_after_one_answer() {
    let server = Scripted::start("close-after-one");
    let client = client().max_connections(16).build().unwrap();
    const N: usize = 1_000;
    let urls = (0..N).map(|i| server.url(&format!("/c{i}")));
    let mut seen = vec![0u32; N];
    let summary = client.fetch_each(urls, |i, result| {
        seen[i] += 1;
        assert_ok(&result, &format!("/c{i}"));
    });
    assert!(seen.iter().all(|&n| n == 1), "every URL exactly once");
    assert_eq!(summary.ok, N as u64, "{summary}");
}

#[test]
fn a_retry_queued_past_its_own_timeout_says_that_timeout() {
    let server = Scripted::start("status-loop");
    // One request start every 5 s at this origin: the retry of a 503 waits
    // its turn in the queue, past the request's own 3 s deadline.
    let client = client()
        .retry(RetryPolicy::new().max_attempts(5))
        .max_requests_per_second_per_host(0.2)
        .build()
        .unwrap();
    let url = server.url("/s/503/0");
    let request = Request::get(&url).unwrap().timeout(Duration::from_secs(3));
    let error = client.fetch(request).unwrap_err();
    let text = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{text}");
    assert_eq!(
        error.timeout_phase(),
        Some(multifetch::Phase::Queued),
        "{text}"
    );
    assert!(
        text.contains("timeout after 3s"),
        "the request's own timeout: {text}"
    );
    assert!(text.contains(&url), "{text}");
}

/// A TLS server that completes the handshake choosing `h2` by ALPN, then
/// never sends a byte (no SETTINGS), holding the connection for up to 10 s.
#[cfg(feature = "tls")]
#[test]
fn a_tls_server_that_chooses_h2_and_then_never_speaks_is_cut_off() {
    use std::io::Read;
    use std::net::TcpListener;

    let ca = support::TestCa::new();
    let config = ca.server_config(&[b"h2"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        // Bounded: the client connects at once, or the test fails below.
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        let mut sock = loop {
            match listener.accept() {
                Ok((sock, _)) => break sock,
                Err(_) if std::time::Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return None,
            }
        };
        sock.set_nonblocking(false).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut tls = rustls::ServerConnection::new(config).unwrap();
        while tls.is_handshaking() {
            if tls.complete_io(&mut sock).is_err() {
                return None;
            }
        }
        let alpn = tls.alpn_protocol().map(<[u8]>::to_vec);
        // Silent: read (and drop) whatever comes until the client gives up.
        let mut stream = rustls::StreamOwned::new(tls, sock);
        let mut buf = [0u8; 4096];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        alpn
    });
    let client = Client::builder()
        .add_root_certificate_pem(ca.pem().as_bytes())
        .unwrap()
        .resolve("localhost", ["127.0.0.1".parse().unwrap()])
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/a");
    let error = client.fetch(url.as_str()).unwrap_err();
    let text = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{text}");
    assert_eq!(
        error.timeout_phase(),
        Some(multifetch::Phase::Connect),
        "{text}"
    );
    assert!(text.contains("no HTTP/2 SETTINGS"), "{text}");
    assert!(text.contains(&url), "{text}");
    drop(client);
    assert_eq!(
        server.join().unwrap().as_deref(),
        Some(&b"h2"[..]),
        "ALPN chose h2"
    );
}

/// A writer the test can read back after the client wrote to it.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn refused_stream_after_body_bytes_is_not_replayed_into_a_writer() {
    let server = Scripted::start("refused-after-data");
    let client = client().build().unwrap();
    let url = server.url("/x");
    let writer = Shared::default();
    let result = client.fetch(Request::get(&url).unwrap().to_writer(writer.clone()));
    let written = writer.0.lock().unwrap().clone();
    // Bytes went out to the writer: running the request again would write
    // them twice (they were, before). The reset ends it, as any reset
    // mid-body does.
    let text = assert_error(&result, ErrorKind::Truncated, &url, &["REFUSED_STREAM"]);
    assert_eq!(written, b"0123456789", "what came, once: {text}");
}

#[test]
fn a_server_allowing_no_streams_ends_each_url_once_within_its_deadline() {
    let server = Scripted::start("zero-streams");
    let client = client().timeout(Duration::from_secs(2)).build().unwrap();
    let urls: Vec<String> = (0..3).map(|i| server.url(&format!("/z{i}"))).collect();
    let mut seen = vec![0u32; urls.len()];
    client.fetch_each(&urls, |i, result| {
        seen[i] += 1;
        let error = result.unwrap_err();
        eprintln!("{} / {error}", error.kind());
        assert!(error.to_string().contains(&urls[i]), "{error}");
    });
    assert_eq!(seen, [1, 1, 1]);
}
