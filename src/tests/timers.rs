//! Every named timer, with the clock moved by the test: the connect budget
//! in each of its phases, an address's share of it, the whole-request
//! deadline in each phase, and the pool's idle timeout.

use std::time::Duration;

use super::{Scenario, ip, ok};
use crate::dns::Addrs;
use crate::stream::fake::Plan;
use crate::{ErrorKind, Phase};

const SECOND: Duration = Duration::from_secs(1);

#[track_caller]
fn timed_out(s: &mut Scenario, phase: Phase, message: &str) {
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert_eq!(error.timeout_phase(), Some(phase), "{error}");
    assert_eq!(error.to_string(), message);
}

#[test]
fn the_connect_budget_runs_out_while_resolving() {
    let mut s = Scenario::new(|b| b.connect_timeout(2 * SECOND));
    s.submit("http://slow.test/");
    s.step();
    assert_eq!(s.reactor.next_timeout(s.now), Some(2 * SECOND));
    s.advance(2 * SECOND - Duration::from_millis(1));
    assert!(s.completion().is_none(), "not before the deadline");
    s.advance(Duration::from_millis(1));
    timed_out(
        &mut s,
        Phase::Resolve,
        "timeout after 2s resolving slow.test (http://slow.test/)",
    );
    assert!(s.attempts().is_empty());
}

#[test]
fn a_late_dns_answer_is_timed() {
    let mut s = Scenario::default_client();
    s.submit("http://late.test/");
    s.step();
    s.reactor
        .resolver_mut()
        .answer("late.test", Ok(Addrs::from([ip(3)])));
    s.now += Duration::from_millis(5);
    s.reactor.deliver_dns(s.now);
    s.step();
    assert_eq!(s.attempts(), ["10.0.0.3:80".parse().unwrap()]);
    s.peer().send(ok("hi"));
    s.step();
    let r = s.response();
    assert_eq!(r.timings().dns, Some(Duration::from_millis(5)));
}

#[test]
fn the_connect_budget_runs_out_while_connecting() {
    let mut s = Scenario::new(|b| b.connect_timeout(2 * SECOND));
    s.plan("10.0.0.1:80", Plan::Pending);
    s.submit("http://10.0.0.1/");
    s.step();
    s.advance(2 * SECOND);
    timed_out(
        &mut s,
        Phase::Connect,
        "timeout after 2s connecting to 10.0.0.1:80 (http://10.0.0.1/)",
    );
    assert!(s.peer().is_dropped());
}

#[test]
fn a_short_budget_shares_itself_so_every_address_is_tried() {
    // 300 ms for three addresses: the next attempt starts after 100 ms (a
    // fair share), not after the 250 ms Happy Eyeballs delay.
    let mut s = Scenario::new(|b| {
        b.connect_timeout(Duration::from_millis(300))
            .resolve("three.test", [ip(1), ip(2), ip(3)])
    });
    for n in 1..=3 {
        s.plan(&format!("10.0.0.{n}:80"), Plan::Pending);
    }
    s.submit("http://three.test/");
    s.step();
    assert_eq!(
        s.reactor.next_timeout(s.now),
        Some(Duration::from_millis(100))
    );
    s.advance(Duration::from_millis(100));
    assert_eq!(s.attempts().len(), 2);
    // Two left of the budget for one more address: half of 200 ms.
    assert_eq!(
        s.reactor.next_timeout(s.now),
        Some(Duration::from_millis(100))
    );
    s.advance(Duration::from_millis(100));
    assert_eq!(s.attempts().len(), 3, "every address was tried");
    s.advance(Duration::from_millis(100));
    timed_out(
        &mut s,
        Phase::Connect,
        "timeout after 300ms connecting to 10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80 (http://three.test/)",
    );
    assert!(s.net.peers().iter().all(|p| p.is_dropped()));
}

#[test]
fn every_address_failing_names_the_last_and_the_count() {
    let mut s = Scenario::new(|b| b.resolve("two.test", [ip(1), ip(2)]));
    s.plan(
        "10.0.0.1:80",
        Plan::Refuse(std::io::ErrorKind::ConnectionRefused),
    );
    s.plan("10.0.0.2:80", Plan::Pending);
    s.submit("http://two.test/");
    s.step();
    s.peer().fail_connect(std::io::ErrorKind::ConnectionRefused);
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Connect);
    let text = error.to_string();
    assert!(
        text.starts_with("connect to 10.0.0.2:80 failed: "),
        "{text}"
    );
    assert!(
        text.ends_with(" (2 addresses tried) (http://two.test/)"),
        "{text}"
    );
}

#[cfg(feature = "tls")]
#[test]
fn the_connect_budget_runs_out_in_the_tls_handshake() {
    let mut s = Scenario::new(|b| b.connect_timeout(2 * SECOND));
    s.submit("https://10.0.0.1/");
    s.step();
    let hello = s.peer().take_written();
    assert_eq!(
        hello.first(),
        Some(&0x16),
        "a TLS handshake record was sent"
    );
    s.advance(2 * SECOND);
    timed_out(
        &mut s,
        Phase::TlsHandshake,
        "timeout after 2s in the TLS handshake with 10.0.0.1:443 (https://10.0.0.1/)",
    );
}

#[test]
fn the_request_deadline_names_the_phase_it_ran_out_in() {
    let cases: [(&str, Phase, &str); 3] = [
        ("", Phase::SendRequest, "sending the request to"),
        ("head", Phase::ReadHead, "waiting for the response from"),
        ("body", Phase::ReadBody, "reading the response body from"),
    ];
    for (sent, phase, words) in cases {
        let mut s = Scenario::new(|b| b.timeout(SECOND));
        let request = crate::Request::post("http://10.0.0.1/")
            .unwrap()
            .body(vec![b'x'; 1000]);
        s.plan("10.0.0.1:80", Plan::Pending);
        s.submit(request);
        s.step();
        let peer = s.peer();
        if sent.is_empty() {
            peer.write_budget(Some(10));
        }
        peer.accept();
        s.step();
        match sent {
            "head" => peer.send("HTTP/1.1 200 O"),
            "body" => peer.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
            _ => {}
        }
        s.advance(SECOND / 2);
        assert!(s.completion().is_none());
        s.advance(SECOND / 2);
        timed_out(
            &mut s,
            phase,
            &format!("timeout after 1s {words} 10.0.0.1:80 (http://10.0.0.1/)"),
        );
        assert!(peer.is_dropped(), "{phase:?}");
    }
}

#[test]
fn the_request_deadline_covers_the_connect_too() {
    let mut s = Scenario::new(|b| b.connect_timeout(None).timeout(SECOND));
    s.plan("10.0.0.1:80", Plan::Pending);
    s.submit("http://10.0.0.1/");
    s.step();
    s.advance(SECOND);
    timed_out(
        &mut s,
        Phase::Connect,
        "timeout after 1s connecting to 10.0.0.1:80 (http://10.0.0.1/)",
    );
}

#[test]
fn idle_connections_expire_from_the_pool() {
    let mut s = Scenario::new(|b| b.pool_idle_timeout(4 * SECOND));
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    peer.send(ok("x"));
    s.step();
    s.response();
    assert_eq!(s.reactor.idle_connections(), 1);
    assert_eq!(s.reactor.next_timeout(s.now), Some(4 * SECOND));
    s.advance(4 * SECOND - Duration::from_millis(1));
    assert!(!peer.is_dropped());
    s.advance(Duration::from_millis(1));
    assert!(peer.is_dropped());
    assert_eq!(s.reactor.idle_connections(), 0);
    assert_eq!(s.reactor.connections(), 0);
}

#[test]
fn the_deadline_spans_a_retry() {
    let mut s = Scenario::new(|b| b.timeout(10 * SECOND));
    s.submit("http://10.0.0.1/warm");
    s.step();
    let stale = s.peer();
    stale.send(ok("warm"));
    s.step();
    s.response();
    s.advance(3 * SECOND);
    s.submit("http://10.0.0.1/again");
    s.step();
    s.advance(6 * SECOND);
    stale.close();
    s.plan("10.0.0.1:80", Plan::Pending);
    s.run();
    assert_eq!(s.attempts().len(), 2, "retried");
    s.advance(4 * SECOND);
    let error = s.error();
    assert_eq!(error.timeout_phase(), Some(Phase::Connect), "{error}");
}
