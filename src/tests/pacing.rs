//! Pacing with the test's clock: per-origin rate and burst, crawl delay,
//! the global rate; a paced origin holds up no other, and the reactor
//! sleeps until the next turn instead of spinning.

use std::time::Duration;

use super::{Scenario, ok};

const MS: Duration = Duration::from_millis(1);

/// When each connect to `addr` happened, as the test's clock saw it, by
/// stepping through the reactor's own timers until `until`.
fn starts(s: &mut Scenario, until: Duration) -> Vec<(Duration, String)> {
    let t0 = s.now;
    let mut seen = 0;
    let mut starts = Vec::new();
    for _ in 0..1000 {
        s.run();
        let peers = s.net.peers();
        for peer in &peers[seen..] {
            starts.push((s.now - t0, peer.addr().to_string()));
            peer.send(ok("x"));
        }
        seen = peers.len();
        s.run();
        while s.completion().is_some() {}
        let Some(wait) = s.reactor.next_timeout(s.now) else {
            break;
        };
        assert!(
            wait > Duration::ZERO || s.reactor.pending() == 0,
            "no busy-waiting"
        );
        if s.now - t0 + wait > until {
            break;
        }
        s.now += wait;
    }
    starts
}

#[test]
fn a_per_host_rate_spaces_requests_and_holds_no_other_origin() {
    let mut s = Scenario::new(|b| {
        b.max_requests_per_second_per_host(4.0)
            .pool_max_idle_per_host(0)
    });
    for i in 0..5 {
        s.submit(format!("http://10.0.0.1/{i}"));
    }
    s.submit("http://10.0.0.2/other");
    let seen = starts(&mut s, Duration::from_secs(2));
    let paced: Vec<Duration> = seen
        .iter()
        .filter(|(_, addr)| addr == "10.0.0.1:80")
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(paced, [0, 250, 500, 750, 1000].map(|ms| ms * MS));
    let other: Vec<Duration> = seen
        .iter()
        .filter(|(_, addr)| addr == "10.0.0.2:80")
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(other, [Duration::ZERO], "not behind the paced origin");
    assert_eq!(s.reactor.pending(), 0);
}

#[test]
fn a_burst_goes_at_once_then_the_rate_takes_over() {
    let mut s = Scenario::new(|b| {
        b.max_requests_per_second_per_host(2.0)
            .max_burst_per_host(3)
            .pool_max_idle_per_host(0)
    });
    for i in 0..5 {
        s.submit(format!("http://10.0.0.1/{i}"));
    }
    let at: Vec<Duration> = starts(&mut s, Duration::from_secs(5))
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(at, [0, 0, 0, 500, 1000].map(|ms| ms * MS));
}

#[test]
fn a_crawl_delay_spaces_requests_on_a_kept_alive_connection() {
    let mut s = Scenario::new(|b| b.min_delay_per_host(Duration::from_millis(300)));
    for i in 0..3 {
        s.submit(format!("http://10.0.0.1/{i}"));
    }
    s.step();
    let peer = s.peer();
    let mut at = Vec::new();
    let t0 = s.now;
    for _ in 0..3 {
        let head = super::written(&peer);
        assert!(head.starts_with("GET /"), "{head:?}");
        at.push(s.now - t0);
        peer.send(ok("x"));
        s.run();
        let _ = s.completion();
        if let Some(wait) = s.reactor.next_timeout(s.now) {
            s.now += wait;
            s.run();
        }
    }
    assert_eq!(at, [0, 300, 600].map(|ms| ms * MS));
    assert_eq!(s.attempts().len(), 1, "one connection, reused");
}

#[test]
fn the_global_rate_spaces_every_origin() {
    let mut s = Scenario::new(|b| b.max_requests_per_second(10.0));
    for i in 1..=4 {
        s.submit(format!("http://10.0.0.{i}/"));
    }
    let at: Vec<Duration> = starts(&mut s, Duration::from_secs(1))
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(at, [0, 100, 200, 300].map(|ms| ms * MS));
}
