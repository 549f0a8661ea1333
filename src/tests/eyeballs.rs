//! Happy Eyeballs (RFC 8305) with the test's clock: attempts overlap after
//! the Connection Attempt Delay, a failure starts the next at once, the
//! first to connect wins and the others are closed, IPv6 and IPv4 take
//! turns.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use super::{Scenario, ip, ok, written};
use crate::ErrorKind;
use crate::stream::fake::Plan;

const MS: Duration = Duration::from_millis(1);

#[test]
fn a_stalled_address_is_overtaken_after_the_delay() {
    let mut s = Scenario::new(|b| b.resolve("two.test", [ip(1), ip(2)]));
    s.plan("10.0.0.1:80", Plan::Pending);
    s.submit("http://two.test/");
    s.step();
    let stalled = s.peer();
    assert_eq!(
        s.reactor.next_timeout(s.now),
        Some(250 * MS),
        "RFC 8305's default"
    );
    s.advance(250 * MS - MS);
    assert_eq!(s.attempts().len(), 1);
    s.advance(MS);
    assert_eq!(
        s.attempts().len(),
        2,
        "the next address starts beside the first"
    );
    let working = s.peer();
    assert!(written(&working).starts_with("GET / "));
    assert!(stalled.is_dropped(), "the loser is closed");
    working.send(ok("second address"));
    s.run();
    let r = s.response();
    assert_eq!(r.body(), b"second address");
    assert_eq!(r.remote_addr(), Some("10.0.0.2:80".parse().unwrap()));
    assert_eq!(
        r.timings().connect,
        Some(250 * MS),
        "from the first attempt"
    );
}

#[test]
fn the_first_attempt_may_still_win() {
    let mut s = Scenario::new(|b| {
        b.resolve("two.test", [ip(1), ip(2)])
            .happy_eyeballs_delay(100 * MS)
    });
    s.plan("10.0.0.1:80", Plan::Pending);
    s.plan("10.0.0.2:80", Plan::Pending);
    s.submit("http://two.test/");
    s.step();
    s.advance(100 * MS);
    let peers = s.net.peers();
    let (first, second) = (&peers[0], &peers[1]);
    first.accept();
    s.step();
    assert!(second.is_dropped() && !first.is_dropped());
    assert!(written(first).starts_with("GET / "));
    first.send(ok("first"));
    s.run();
    assert_eq!(
        s.response().remote_addr(),
        Some("10.0.0.1:80".parse().unwrap())
    );
}

#[test]
fn a_failed_attempt_starts_the_next_at_once() {
    let mut s = Scenario::new(|b| b.resolve("two.test", [ip(1), ip(2)]));
    s.plan("10.0.0.1:80", Plan::Pending);
    s.submit("http://two.test/");
    s.step();
    s.peer().fail_connect(io::ErrorKind::ConnectionRefused);
    s.step();
    assert_eq!(s.attempts().len(), 2, "no wait for the delay");
    s.peer().send(ok("b"));
    s.run();
    assert_eq!(s.response().timings().connect, Some(Duration::ZERO));
}

#[test]
fn families_take_turns() {
    let v6 = |n: u16| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n]);
    let mut s = Scenario::new(|b| {
        b.resolve("dual.test", [v6(1), v6(2), ip(1), ip(2)])
            .happy_eyeballs_delay(10 * MS)
    });
    for addr in [
        "[2001:db8::1]:80",
        "[2001:db8::2]:80",
        "10.0.0.1:80",
        "10.0.0.2:80",
    ] {
        s.plan(addr, Plan::Pending);
    }
    s.submit("http://dual.test/");
    s.step();
    for _ in 0..3 {
        s.advance(10 * MS);
    }
    let order: Vec<String> = s.attempts().iter().map(ToString::to_string).collect();
    assert_eq!(
        order,
        [
            "[2001:db8::1]:80",
            "10.0.0.1:80",
            "[2001:db8::2]:80",
            "10.0.0.2:80"
        ]
    );
    assert_eq!(s.reactor.connections(), 1, "four attempts, one connection");
}

#[test]
fn when_every_attempt_fails_the_last_error_is_told() {
    let mut s = Scenario::new(|b| {
        b.resolve("two.test", [ip(1), ip(2)])
            .happy_eyeballs_delay(10 * MS)
    });
    s.plan("10.0.0.1:80", Plan::Pending);
    s.plan("10.0.0.2:80", Plan::Pending);
    s.submit("http://two.test/");
    s.step();
    s.advance(10 * MS);
    let peers = s.net.peers();
    peers[1].fail_connect(io::ErrorKind::ConnectionRefused);
    s.step();
    assert!(s.completion().is_none(), "the first is still in flight");
    peers[0].fail_connect(io::ErrorKind::ConnectionRefused);
    s.step();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert!(
        error
            .to_string()
            .starts_with("connect to 10.0.0.1:80 failed: "),
        "{error}"
    );
    assert!(error.to_string().contains("(2 addresses tried)"), "{error}");
    assert!(peers.iter().all(|p| p.is_dropped()));
}
