//! Retries, pacing and cookies over HTTP/2, against a scripted h2c server on
//! Python's `h2` library (`tests/h2/crawl_server.py`) whose own log gives
//! each request's arrival time and connection. A retried request is a new
//! stream on the same connection, its waits are timers (checked as lower
//! bounds from the server's clock); REFUSED_STREAM and GOAWAY replays
//! (the latter against `tests/h2/hostile_server.py`) are no attempts of the
//! policy; a paced origin keeps to its rate on its one multiplexed
//! connection while another origin goes on; a 503's `Retry-After` pauses
//! the origin; the cookie jar fills and is sent on h2 streams as on
//! HTTP/1.1.
//!
//! Needs `python3` with the `h2` package (`.ci/run` installs it).

mod support;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use multifetch::{Request, RetryPolicy, Version};
use support::h2c_client;
use support::python::PythonServer;

/// One request as the server logged it.
#[derive(Debug, Clone)]
struct Arrival {
    /// The server's `time.monotonic()`, in seconds.
    at: f64,
    /// The connection it came on, numbered from 1 in accept order.
    conn: u32,
    method: String,
    path: String,
    /// The `cookie` field, `-` when there was none.
    #[cfg_attr(not(feature = "cookies"), allow(dead_code))]
    cookie: String,
}

/// The scripted server and the requests its log has shown so far.
struct CrawlServer {
    server: PythonServer,
    log: Arc<Mutex<Vec<Arrival>>>,
}

impl CrawlServer {
    fn start() -> CrawlServer {
        CrawlServer::start_script("crawl_server.py", &[])
    }

    /// Starts `tests/h2/{script}` with `args` (the hostile server's
    /// scenarios log nothing).
    fn start_script(script: &str, args: &[&str]) -> CrawlServer {
        let log = Arc::new(Mutex::new(Vec::new()));
        let server = PythonServer::start_with_lines(script, args, {
            let log = Arc::clone(&log);
            move |line| {
                if let Some(arrival) = parse_arrival(&line) {
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(arrival);
                }
            }
        });
        CrawlServer { server, log }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    #[cfg_attr(not(feature = "cookies"), allow(dead_code))]
    fn port(&self) -> u16 {
        self.server.port()
    }

    /// The log once it holds `n` requests (it is read from the server's
    /// output as it comes; waits up to 10 s for it to catch up).
    fn arrivals(&self, n: usize) -> Vec<Arrival> {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self
                .log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if log.len() >= n || Instant::now() >= until {
                assert_eq!(log.len(), n, "requests the server saw: {log:#?}");
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `ARRIVAL <at> <conn> <method> <path> <cookie>`.
fn parse_arrival(line: &str) -> Option<Arrival> {
    let mut parts = line.strip_prefix("ARRIVAL ")?.splitn(5, ' ');
    Some(Arrival {
        at: parts.next()?.parse().ok()?,
        conn: parts.next()?.parse().ok()?,
        method: parts.next()?.to_owned(),
        path: parts.next()?.to_owned(),
        cookie: parts.next()?.to_owned(),
    })
}

/// Panics if some window between two arrivals holds more of them than a
/// token bucket of `rate` per second and `burst` lets through, plus one
/// (slack for a busy machine; a missing limiter sends all at once).
#[track_caller]
fn assert_within_rate(log: &[Arrival], rate: f64, burst: usize, what: &str) {
    for (i, first) in log.iter().enumerate() {
        for (j, last) in log.iter().enumerate().skip(i + 1) {
            let window = last.at - first.at;
            let allowed = burst as f64 + rate * window + 1.0;
            assert!(
                (j - i + 1) as f64 <= allowed,
                "{what}: {} requests within {window:.3}s, more than {allowed:.1}; arrivals: {:?}",
                j - i + 1,
                log.iter().map(|a| a.at - log[0].at).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn a_retried_h2_request_is_a_new_stream_after_the_wait_it_was_given() {
    let server = CrawlServer::start();
    let client = h2c_client()
        .retry(
            RetryPolicy::new()
                .max_attempts(4)
                .backoff(Duration::from_millis(50), Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let path = "/seq/refused,reset,503,429,200";
    let mut result = None;
    let summary = client.fetch_each([server.url(path)], |_, r| result = Some(r));
    let response = result
        .expect("one result")
        .expect("the fifth request works");
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.text(), format!("body of {path}"));
    assert_eq!(
        response.timings().attempts,
        4,
        "the refused stream is replayed, not an attempt"
    );
    assert_eq!(summary.retries, 3, "{summary}");

    let log = server.arrivals(5);
    assert!(log.iter().all(|a| a.path == path && a.method == "GET"));
    assert!(
        log.iter().all(|a| a.conn == 1),
        "every attempt on the one connection: {log:#?}"
    );
    let waited = |i: usize| log[i + 1].at - log[i].at;
    assert!(waited(2) >= 1.0, "Retry-After: 1 waited {:.3}s", waited(2));
    assert!(
        waited(3) >= 2.0,
        "the HTTP-date two seconds on waited {:.3}s",
        waited(3)
    );
}

#[test]
fn a_stream_reset_every_time_gives_up_and_says_how_often_it_tried() {
    let server = CrawlServer::start();
    let client = h2c_client()
        .retry(
            RetryPolicy::new()
                .max_attempts(3)
                .backoff(Duration::from_millis(20), Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let url = server.url("/seq/reset");
    let error = client.fetch(url.as_str()).expect_err("reset every time");
    let text = error.to_string();
    assert_eq!(error.attempts(), 3, "{text}");
    assert_eq!(
        error.http2_error_code(),
        Some(0x2),
        "INTERNAL_ERROR: {text}"
    );
    assert!(
        text.ends_with(&format!("; gave up after 3 attempts ({url})")),
        "{text}"
    );
    let log = server.arrivals(3);
    assert!(log.iter().all(|a| a.conn == 1), "{log:#?}");
}

#[test]
fn refused_streams_do_not_use_up_the_attempts() {
    let server = CrawlServer::start();
    let client = h2c_client()
        .retry(RetryPolicy::new().max_attempts(1))
        .build()
        .unwrap();
    let path = "/seq/refused,refused,200";
    let response = client
        .fetch(server.url(path))
        .expect("refused twice, then 200");
    assert_eq!(response.text(), format!("body of {path}"));
    assert_eq!(response.timings().attempts, 1);
    assert_eq!(server.arrivals(3).len(), 3);
}

#[test]
fn goaway_replays_are_no_attempts_either() {
    // GOAWAY after ten streams per connection: the requests above the last
    // stream it names are replayed on a new connection, whatever the
    // policy's attempts.
    let server = CrawlServer::start_script("hostile_server.py", &["goaway"]);
    let client = h2c_client()
        .retry(RetryPolicy::new().max_attempts(1))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..30).map(|i| server.url(&format!("/g{i}"))).collect();
    let mut attempts = Vec::new();
    let summary = client.fetch_each(urls, |i, result| {
        let response = result.unwrap_or_else(|e| panic!("/g{i}: {e}"));
        assert_eq!(response.text(), format!("body of /g{i}"));
        attempts.push(response.timings().attempts);
    });
    assert_eq!(attempts, vec![1; 30]);
    assert!(summary.connections_opened >= 3, "{summary}");
    assert_eq!(summary.retries, 0, "{summary}");
}

#[test]
fn a_post_over_h2_is_retried_only_when_asked() {
    let server = CrawlServer::start();
    for opted_in in [false, true] {
        let client = h2c_client()
            .retry(RetryPolicy::new().retry_non_idempotent(opted_in))
            .build()
            .unwrap();
        let path = format!("/seq/503,200?opted={opted_in}");
        let post = Request::post(&server.url(&path)).unwrap().body("a=1");
        let response = client.fetch(post).expect("a response");
        let expected = if opted_in { (200, 2) } else { (503, 1) };
        assert_eq!(
            (response.status().as_u16(), response.timings().attempts),
            expected
        );
    }
    let log = server.arrivals(3);
    let posts = |opted: bool| {
        log.iter()
            .filter(|a| a.method == "POST" && a.path.ends_with(&format!("?opted={opted}")))
            .count()
    };
    assert_eq!((posts(false), posts(true)), (1, 2));
}

#[test]
fn a_paced_origin_keeps_its_rate_on_one_h2_connection_and_holds_up_no_other() {
    let (a, b) = (CrawlServer::start(), CrawlServer::start());
    let client = h2c_client()
        .max_requests_per_second_per_host(10.0)
        .build()
        .unwrap();
    // All of a's requests are queued before b's.
    let mut urls: Vec<String> = (0..12).map(|i| a.url(&format!("/a{i}"))).collect();
    urls.extend((0..4).map(|i| b.url(&format!("/b{i}"))));
    let results = client.fetch_many(urls);
    for result in &results {
        let response = result.as_ref().expect("a response");
        assert_eq!(response.version(), Version::HTTP_2);
    }
    let (a_log, b_log) = (a.arrivals(12), b.arrivals(4));
    assert!(
        a_log.iter().chain(&b_log).all(|x| x.conn == 1),
        "one connection per origin"
    );
    assert_within_rate(&a_log, 10.0, 1, "origin a");
    assert_within_rate(&b_log, 10.0, 1, "origin b");
    // Both servers log CLOCK_MONOTONIC, one clock for both processes. b's
    // first request did not wait for a's twelve (1.1 s at least).
    assert!(
        b_log[0].at < a_log[11].at,
        "b waited behind a: b's first at {:.3}s, a's last at {:.3}s",
        b_log[0].at - a_log[0].at,
        a_log[11].at - a_log[0].at
    );
}

#[test]
fn a_503_with_retry_after_pauses_its_h2_origin() {
    let (server, other) = (CrawlServer::start(), CrawlServer::start());
    // The crawl delay keeps the second request queued until the 503 is in
    // (over h2 both would otherwise go out at once on the one connection).
    let client = h2c_client()
        .retry(RetryPolicy::new().max_attempts(1))
        .min_delay_per_host(Duration::from_millis(200))
        .build()
        .unwrap();
    let results = client.fetch_many([
        server.url("/seq/503"),
        server.url("/next"),
        other.url("/elsewhere"),
    ]);
    assert_eq!(results[0].as_ref().unwrap().status(), 503);
    assert!(results[1].is_ok() && results[2].is_ok());
    let log = server.arrivals(2);
    let waited = log[1].at - log[0].at;
    assert!(
        waited >= 1.0,
        "the next request came {waited:.3}s after the 503 asked for 1 s"
    );
    let elsewhere = other.arrivals(1);
    assert!(elsewhere[0].at < log[1].at, "the other origin waited too");
}

#[cfg(feature = "cookies")]
#[test]
fn cookies_go_out_on_h2_streams_and_across_redirects() {
    use std::net::{IpAddr, Ipv4Addr};

    let server = CrawlServer::start();
    let local = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let client = h2c_client()
        .resolve("a.example", local)
        .resolve("b.example", local)
        .cookie_store(true)
        .build()
        .unwrap();
    let port = server.port();
    let fetch = |host: &str, path: &str| {
        let response = client
            .fetch(format!("http://{host}:{port}{path}"))
            .unwrap_or_else(|e| panic!("{host}{path}: {e}"));
        assert_eq!(response.version(), Version::HTTP_2);
        response
    };
    fetch("a.example", "/set?sid=s1;%20Path=/");
    fetch("a.example", "/home");
    let landing = fetch("a.example", "/redirect?/landing");
    assert_eq!(landing.url().path(), "/landing");
    fetch("b.example", "/other");
    fetch("a.example", "/set?sid=gone;%20Path=/;%20Max-Age=0");
    fetch("a.example", "/after");

    let log = server.arrivals(7);
    let cookie_of = |path: &str| {
        log.iter()
            .find(|a| a.path == path)
            .map(|a| a.cookie.clone())
            .unwrap_or_else(|| panic!("{path} never arrived: {log:#?}"))
    };
    assert_eq!(cookie_of("/home"), "sid=s1");
    let on_landing = cookie_of("/landing");
    assert!(
        on_landing.contains("sid=s1") && on_landing.contains("hop=1"),
        "{on_landing}"
    );
    assert_eq!(cookie_of("/other"), "-", "not for another domain");
    assert_eq!(cookie_of("/after"), "hop=1", "the expired one is gone");
}
