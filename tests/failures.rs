//! Failures: resets, silent and dripping servers, refused connections, DNS
//! errors, invalid URLs, a connect timeout, and a batch mixing them with good
//! URLs. Every error has the right kind and names its URL.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use multifetch::{Client, ErrorKind, IntoRequest, Phase, Request};
use support::{
    HttpServer, ScriptServer, assert_body, closed_port, drain, drip, finish, item_body,
    never_answer, read_request_head, reset,
};

/// Checks the parts every error shares: kind, URL, and the URL at the end of
/// the message.
#[track_caller]
fn check_error(error: &multifetch::Error, kind: ErrorKind, url: &str) {
    assert_eq!(error.kind(), kind, "{error}");
    assert_eq!(error.url(), Some(url), "{error}");
    assert!(
        error.to_string().contains(url),
        "the message does not name the URL: {error}"
    );
}

/// Fetches `request`, which must time out: not before `deadline`, and well
/// before 5 s. Checks the kind and the URL; returns the error and how long
/// it took.
#[track_caller]
fn fetch_timing_out(
    client: &Client,
    request: impl IntoRequest,
    url: &str,
    deadline: Duration,
) -> (multifetch::Error, Duration) {
    let started = Instant::now();
    let error = client.fetch(request).unwrap_err();
    let elapsed = started.elapsed();
    check_error(&error, ErrorKind::Timeout, url);
    assert!(elapsed >= deadline, "gave up early, after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(5),
        "gave up late, after {elapsed:?}"
    );
    (error, elapsed)
}

#[test]
fn reset_is_an_io_error() {
    let server = ScriptServer::start(reset);
    let url = server.url("/reset");
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let error = client.fetch(&url).unwrap_err();
    check_error(&error, ErrorKind::Io, &url);
    let io = error.io_error().expect("an I/O error carries its cause");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    assert!(
        error.to_string().contains(&server.addr().to_string()),
        "the message names the peer: {error}"
    );
}

#[test]
fn silent_server_times_out_reading_the_head() {
    let server = ScriptServer::start(never_answer);
    let url = server.url("/silent");
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (error, _) = fetch_timing_out(&client, &url, &url, Duration::from_millis(300));
    assert_eq!(error.timeout_phase(), Some(Phase::ReadHead), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "timeout after 300ms waiting for the response from {} ({url})",
            server.addr()
        )
    );
}

/// A head that arrives one byte every 50 ms would take 2.5 s; the
/// whole-request deadline cuts it off.
#[test]
fn dripping_head_is_cut_off_at_the_deadline() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.set_nodelay(true);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nX-Slow: 0123456789\r\n\r\n";
        if drip(conn, head, Duration::from_millis(50)) {
            while drip(conn, b"x", Duration::from_millis(50)) {}
        }
    });
    let url = server.url("/drip");
    let client = Client::builder()
        .timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let (error, _) = fetch_timing_out(&client, &url, &url, Duration::from_millis(600));
    assert!(
        matches!(
            error.timeout_phase(),
            Some(Phase::ReadHead | Phase::ReadBody)
        ),
        "{error}"
    );
}

/// The head arrives at once, then the body one byte every 50 ms, forever.
#[test]
fn dripping_body_is_cut_off_at_the_deadline() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.set_nodelay(true);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        while drip(conn, b"x", Duration::from_millis(50)) {}
    });
    let url = server.url("/drip-body");
    let client = Client::builder()
        .timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let (error, _) = fetch_timing_out(&client, &url, &url, Duration::from_millis(600));
    assert_eq!(error.timeout_phase(), Some(Phase::ReadBody), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "timeout after 600ms reading the response body from {} ({url})",
            server.addr()
        )
    );
}

#[test]
fn refused_connection() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/");
    let error = Client::new().fetch(&url).unwrap_err();
    check_error(&error, ErrorKind::Connect, &url);
    assert_eq!(
        error.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("connect to 127.0.0.1:{port} failed: ")),
        "{message}"
    );
    assert!(message.ends_with(&format!(" ({url})")), "{message}");
}

#[test]
fn unknown_host() {
    let url = "http://nonexistent.invalid/";
    let error = Client::new().fetch(url).unwrap_err();
    check_error(&error, ErrorKind::Dns, url);
    assert!(error.to_string().contains("nonexistent.invalid"), "{error}");
}

#[test]
fn invalid_urls() {
    let inputs = [
        "not a url",
        "ftp://x/",
        "http://",
        "mailto:someone@example.com",
        "http://exa mple.com/",
        "",
    ];
    let results = Client::new().fetch_many(inputs);
    assert_eq!(results.len(), inputs.len());
    for (input, result) in inputs.iter().zip(results) {
        let error = result.expect_err(input);
        assert_eq!(error.kind(), ErrorKind::InvalidUrl, "{input:?}: {error}");
        assert_eq!(error.url(), Some(*input), "{error}");
        assert!(error.to_string().contains(input), "{error}");
    }
}

#[test]
fn invalid_request_header_fails_before_any_connection() {
    let server = ScriptServer::start(never_answer);
    let url = server.url("/");
    let request = Request::get(&url).and_then(|r| r.header("x-bad", "a\r\nx-injected: 1"));
    let error = Client::new().fetch(request).unwrap_err();
    check_error(&error, ErrorKind::InvalidRequest, &url);
    assert_eq!(server.accepted(), 0);
}

/// A listener whose accept queue is full drops new SYNs, so a connect to it
/// hangs: a connect timeout on loopback only. `None` where the OS does not
/// behave that way.
fn full_backlog_listener() -> Option<(
    tokio::runtime::Runtime,
    tokio::net::TcpListener,
    Vec<std::net::TcpStream>,
)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let _enter = runtime.enter();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                drop(_enter);
                return Some((runtime, listener, fillers));
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn connect_timeout() {
    let Some((_runtime, listener, _fillers)) = full_backlog_listener() else {
        eprintln!("skipped: a full accept queue does not stall connects here");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/");
    let client = Client::builder()
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (error, _) = fetch_timing_out(&client, &url, &url, Duration::from_millis(300));
    assert_eq!(error.timeout_phase(), Some(Phase::Connect), "{error}");
    assert_eq!(
        error.to_string(),
        format!("timeout after 300ms connecting to {addr} ({url})")
    );
}

/// The whole-request timeout also bounds a connect that hangs.
#[test]
fn whole_request_timeout_covers_the_connect() {
    let Some((_runtime, listener, _fillers)) = full_backlog_listener() else {
        eprintln!("skipped: a full accept queue does not stall connects here");
        return;
    };
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let client = Client::builder()
        .connect_timeout(None)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (error, _) = fetch_timing_out(&client, &url, &url, Duration::from_millis(300));
    assert_eq!(error.timeout_phase(), Some(Phase::Connect), "{error}");
}

/// What a slot of the mixed batch must hold.
enum Expect {
    Body(u64),
    Kind(ErrorKind),
}

#[test]
fn mixed_batch_keeps_every_result_in_its_slot() {
    let good = HttpServer::start();
    let resetting = ScriptServer::start(reset);
    let silent = ScriptServer::start(never_answer);
    let truncating =
        ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
    let broken = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot hex\r\n");
        drain(conn);
    });
    let closing = ScriptServer::start(|conn| {
        read_request_head(conn);
        finish(conn);
    });
    let refused = format!("http://127.0.0.1:{}/refused", closed_port());

    let bad: Vec<(String, ErrorKind)> = vec![
        (resetting.url("/reset"), ErrorKind::Io),
        (silent.url("/silent"), ErrorKind::Timeout),
        (refused, ErrorKind::Connect),
        ("http://nonexistent.invalid/".into(), ErrorKind::Dns),
        ("not a url".into(), ErrorKind::InvalidUrl),
        ("ftp://x/".into(), ErrorKind::InvalidUrl),
        ("http://".into(), ErrorKind::InvalidUrl),
        (truncating.url("/truncated"), ErrorKind::Truncated),
        (broken.url("/broken"), ErrorKind::Protocol),
        (closing.url("/closed"), ErrorKind::Protocol),
    ];
    // Good URLs first, last and between every bad one.
    let mut cases: Vec<(String, Expect)> = Vec::new();
    let mut bad = bad.into_iter();
    for n in 0..50u64 {
        cases.push((good.url(&format!("/item/{n}")), Expect::Body(n)));
        if n % 5 == 2 {
            if let Some((url, kind)) = bad.next() {
                cases.push((url, Expect::Kind(kind)));
            }
        }
    }
    assert!(bad.next().is_none(), "every bad URL is in the batch");

    let client = Client::builder()
        .timeout(Duration::from_secs(1))
        .max_connections(8)
        .build()
        .unwrap();
    let started = Instant::now();
    let results = client.fetch_many(cases.iter().map(|(url, _)| url.as_str()));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(results.len(), cases.len());
    for ((url, expect), result) in cases.iter().zip(results) {
        match (expect, result) {
            (Expect::Body(n), Ok(response)) => {
                assert_eq!(response.url().as_str(), url);
                assert_body(response.body(), &item_body(*n), url);
            }
            (Expect::Body(_), Err(error)) => panic!("{url}: expected a response, got {error}"),
            (Expect::Kind(kind), Ok(response)) => {
                panic!("{url}: expected {kind:?}, got {}", response.status())
            }
            (Expect::Kind(kind), Err(error)) => check_error(&error, *kind, url),
        }
    }
}

/// A server that never reads: a large request body fills the socket
/// buffers, and the deadline passes while sending.
#[test]
fn server_that_never_reads_times_out_sending() {
    let server = ScriptServer::start(|_conn| std::thread::sleep(Duration::from_secs(3)));
    let url = server.url("/upload");
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let request = Request::post(&url).unwrap().body(vec![b'x'; 64 << 20]);
    let (error, elapsed) = fetch_timing_out(&client, request, &url, Duration::from_millis(300));
    assert_eq!(error.timeout_phase(), Some(Phase::SendRequest), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "timeout after 300ms sending the request to {} ({url})",
            server.addr()
        )
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

/// The environment variable that hands the server's address to the child
/// process of [`running_out_of_descriptors_is_a_wait_not_a_crash`].
const SERVER_ENV: &str = "MULTIFETCH_TEST_SERVER";

/// Runs in a child process whose descriptor limit is 64: a batch that wants
/// 1,000 connections at once must wait for descriptors, not crash or hang.
#[test]
#[ignore = "run by running_out_of_descriptors_is_a_wait_not_a_crash"]
fn batch_under_a_descriptor_limit() {
    let Ok(server) = std::env::var(SERVER_ENV) else {
        return;
    };
    let client = Client::builder()
        .max_connections(1000)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..300)
        .map(|n| format!("http://{server}/item/{n}?delay=5"))
        .collect();
    let results = client.fetch_many(&urls);
    for (n, result) in (0..).zip(results) {
        let response = result.unwrap_or_else(|e| panic!("{}: {e}", urls[n as usize]));
        assert_body(response.body(), &item_body(n), &urls[n as usize]);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn running_out_of_descriptors_is_a_wait_not_a_crash() {
    // The server runs here, outside the limit, so that only the client is short of descriptors.
    let server = HttpServer::start();
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" --exact --ignored --test-threads 1 batch_under_a_descriptor_limit")
        .arg(&exe)
        .env(SERVER_ENV, server.addr().to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the batch under a descriptor limit hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.success(),
        "the child failed: {status}\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}\n{stderr}"
    );
    assert_eq!(server.requests(), 300);
}
