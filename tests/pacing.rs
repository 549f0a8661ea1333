//! Pacing measured on the server side: each origin's arrival times never
//! show more requests than the rate and burst allow (with one request of
//! slack for scheduling noise, so a busy machine does not fail the test,
//! while a missing or broken limiter, which sends everything at once,
//! still does), and a paced origin does not hold up another.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use multifetch::{Client, RetryPolicy};
use support::{Arrivals, ScriptServer, read_request_head, target_of};

/// A keep-alive server logging every request's arrival; `/busy` answers 503
/// with `Retry-After: 1`, anything else 200.
fn logging_server() -> (ScriptServer, Arrivals) {
    let log = Arrivals::default();
    let server = ScriptServer::start({
        let log = log.clone();
        move |conn| {
            while let Some(head) = read_request_head(conn) {
                let target = target_of(&head).to_owned();
                log.record(target.clone());
                let reply: &[u8] = if target == "/busy" {
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                };
                if conn.write_all(reply).is_err() {
                    return;
                }
            }
        }
    });
    (server, log)
}

/// Panics if some window between two arrivals holds more of them than a
/// token bucket of `rate` per second and `burst` lets through, plus one.
#[track_caller]
fn assert_within_rate(times: &[Instant], rate: f64, burst: usize, what: &str) {
    for (i, first) in times.iter().enumerate() {
        for (j, last) in times.iter().enumerate().skip(i + 1) {
            let window = last.duration_since(*first).as_secs_f64();
            let allowed = burst as f64 + rate * window + 1.0;
            assert!(
                (j - i + 1) as f64 <= allowed,
                "{what}: {} requests within {window:.3}s, more than {allowed:.1}; arrivals: {:?}",
                j - i + 1,
                times
                    .iter()
                    .map(|t| t.duration_since(times[0]))
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn each_origin_keeps_to_its_rate_and_none_waits_for_another() {
    let (a, a_log) = logging_server();
    let (b, b_log) = logging_server();
    let client = Client::builder()
        .max_requests_per_second_per_host(10.0)
        .build()
        .unwrap();
    // All of a's requests are queued before b's: a paced origin must not
    // hold b's back.
    let mut urls: Vec<String> = (0..12).map(|i| a.url(&format!("/a{i}"))).collect();
    urls.extend((0..4).map(|i| b.url(&format!("/b{i}"))));
    let started = Instant::now();
    let results = client.fetch_many(urls);
    assert!(results.iter().all(Result::is_ok));
    let (a_times, b_times) = (a_log.times(), b_log.times());
    assert_eq!((a_times.len(), b_times.len()), (12, 4));
    assert_within_rate(&a_times, 10.0, 1, "origin a");
    assert_within_rate(&b_times, 10.0, 1, "origin b");
    // b's first request did not wait for a's twelve (which take 1.1 s at
    // least): it went out with a's first.
    assert!(
        b_times[0] < a_times[11],
        "b waited behind a: b at {:?}, a's last at {:?}",
        b_times[0] - started,
        a_times[11] - started
    );
}

#[test]
fn a_burst_then_the_rate() {
    let (server, log) = logging_server();
    let client = Client::builder()
        .max_requests_per_second_per_host(5.0)
        .max_burst_per_host(3)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..8).map(|i| server.url(&format!("/{i}"))).collect();
    assert!(client.fetch_many(urls).iter().all(Result::is_ok));
    let times = log.times();
    assert_eq!(times.len(), 8);
    assert_within_rate(&times, 5.0, 3, "burst 3 at 5/s");
}

#[test]
fn a_crawl_delay_spaces_the_requests() {
    let (server, log) = logging_server();
    let delay = Duration::from_millis(200);
    let client = Client::builder().min_delay_per_host(delay).build().unwrap();
    let urls: Vec<String> = (0..5).map(|i| server.url(&format!("/{i}"))).collect();
    assert!(client.fetch_many(urls).iter().all(Result::is_ok));
    let times = log.times();
    assert_eq!(times.len(), 5);
    // At most one start per 200 ms: 5/s with no burst.
    assert_within_rate(&times, 5.0, 1, "crawl delay 200 ms");
}

#[test]
fn the_global_rate_covers_every_origin_together() {
    let (a, a_log) = logging_server();
    let (b, b_log) = logging_server();
    let client = Client::builder()
        .max_requests_per_second(8.0)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..6)
        .flat_map(|i| [a.url(&format!("/{i}")), b.url(&format!("/{i}"))])
        .collect();
    assert!(client.fetch_many(urls).iter().all(Result::is_ok));
    let mut all = a_log.times();
    all.extend(b_log.times());
    all.sort();
    assert_eq!(all.len(), 12);
    assert_within_rate(&all, 8.0, 1, "both origins");
}

#[test]
fn a_retry_after_pauses_the_origin_for_the_queued_requests() {
    let (server, log) = logging_server();
    let (other, other_log) = logging_server();
    let client = Client::builder()
        .retry(RetryPolicy::new().max_attempts(1))
        .max_connections_per_host(1)
        .build()
        .unwrap();
    let urls = [
        server.url("/busy"),
        server.url("/next"),
        other.url("/elsewhere"),
    ];
    let results = client.fetch_many(urls);
    assert_eq!(results[0].as_ref().unwrap().status(), 503);
    assert!(results[1].is_ok() && results[2].is_ok());
    let arrivals = log.all();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1].0 - arrivals[0].0;
    assert!(
        waited >= Duration::from_secs(1),
        "the next request came {waited:?} after the 503 asked for 1 s"
    );
    // The other origin was not paused.
    let elsewhere = other_log.times()[0];
    assert!(elsewhere < arrivals[1].0, "the other origin waited too");
}
