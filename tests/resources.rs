//! No file descriptor outlives the work that needed it: after a batch with
//! failures, and after a reactor dropped with requests still in flight, the
//! process is back to the descriptors it had before.
//!
//! This file holds one test on purpose: descriptor counts are per process,
//! and tests running in parallel would disturb each other's counts.
#![cfg(target_os = "linux")]

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use multifetch::{Client, ErrorKind, Reactor};
use support::{
    HttpServer, ScriptServer, closed_port, item_body, never_answer, open_fds, reset, wait_until,
};

/// Waits up to 2 s for the count to return to `baseline`, then asserts it.
#[track_caller]
fn assert_back_to(baseline: usize, what: &str) {
    let mut now = open_fds();
    let settled = wait_until(Duration::from_secs(2), || {
        now = open_fds();
        now <= baseline
    });
    assert!(
        settled,
        "{what}: {now} descriptors open, {baseline} before ({} leaked)",
        now - baseline
    );
}

#[test]
fn no_descriptor_outlives_its_work() {
    // Servers first: their listeners and threads are part of the baseline.
    let good = HttpServer::start();
    let resetting = ScriptServer::start(reset);
    let silent = ScriptServer::start(never_answer);
    let truncating =
        ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort");
    let refused = closed_port();
    let baseline = open_fds();

    // A batch of 200 with every kind of ending, through a dropped client.
    {
        let client = Client::builder()
            .max_connections(64)
            .timeout(Duration::from_millis(500))
            .resolve("pinned.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .build()
            .unwrap();
        let urls: Vec<String> = (0..200u64)
            .map(|n| match n % 10 {
                0 => resetting.url("/reset"),
                1 => silent.url("/silent"),
                2 => truncating.url("/truncated"),
                3 => format!("http://127.0.0.1:{refused}/"),
                4 => "not a url".to_owned(),
                5 => format!("http://pinned.test:{}/item/{n}", good.port()),
                _ => good.url(&format!("/item/{n}")),
            })
            .collect();
        let results = client.fetch_many(&urls);
        for (n, result) in results.into_iter().enumerate() {
            let expected = match n % 10 {
                0 => Some(ErrorKind::Io),
                1 => Some(ErrorKind::Timeout),
                2 => Some(ErrorKind::Truncated),
                3 => Some(ErrorKind::Connect),
                4 => Some(ErrorKind::InvalidUrl),
                _ => None,
            };
            match (expected, result) {
                (Some(kind), Err(error)) => assert_eq!(error.kind(), kind, "{}: {error}", urls[n]),
                (None, Ok(response)) => {
                    assert_eq!(response.body(), item_body(n as u64), "{}", urls[n])
                }
                (expected, result) => panic!("{}: expected {expected:?}, got {result:?}", urls[n]),
            }
        }
    }
    assert!(
        good.wait_idle(Duration::from_secs(2)),
        "the HTTP server still has connections open"
    );
    assert_back_to(baseline, "after fetch_many");

    // A reactor dropped while requests are still waiting for answers.
    {
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut reactor = Reactor::new(&client).unwrap();
        for n in 0..20 {
            reactor.submit(silent.url(&format!("/silent/{n}")));
        }
        for n in 0..5 {
            reactor.submit(good.url(&format!("/item/{n}")));
        }
        for _ in 0..5 {
            let done = reactor
                .next_completion()
                .unwrap()
                .expect("the good requests complete");
            assert!(
                done.id.get() >= 20,
                "only the good requests can complete: {:?}",
                done.id
            );
            done.result.unwrap();
        }
        assert_eq!(reactor.in_flight(), 20);
    }
    assert!(
        wait_until(Duration::from_secs(2), || silent.active() == 0),
        "the silent server's connections were not closed by dropping the reactor"
    );
    assert_back_to(baseline, "after dropping a busy reactor");
}
