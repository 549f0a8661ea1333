//! The retry policy with the test's clock: which failures and statuses run
//! again, after how long (backoff, `Retry-After` in both forms), the cap,
//! idempotency, the whole-request deadline over every attempt, and what the
//! caller is told.

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Scenario, ok, written};
use crate::stream::fake::{Plan, ReadOp};
use crate::{ErrorKind, Phase, Request, RetryPolicy};

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);

/// A scenario whose client retries under `policy`, with the wall clock
/// fixed at 2025-06-01 00:00:00 UTC.
fn retrying(policy: RetryPolicy) -> Scenario {
    retrying_with(policy, |b| b)
}

fn retrying_with(
    policy: RetryPolicy,
    build: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder,
) -> Scenario {
    let mut s = Scenario::new(|b| build(b.retry(policy)));
    s.reactor.fix_clock(wall(), 42);
    s
}

fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_748_736_000)
}

fn unavailable(retry_after: &str) -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {retry_after}\r\nContent-Length: 4\r\n\r\nbusy"
    )
}

/// Moves the clock on to the next timer (or gate), checking it is not
/// further away than `at_most`; returns how far it was.
#[track_caller]
fn to_next_timer(s: &mut Scenario, at_most: Duration) -> Duration {
    let wait = s.reactor.next_timeout(s.now).expect("a timer is armed");
    assert!(wait <= at_most, "{wait:?} > {at_most:?}");
    s.advance(wait);
    wait
}

#[test]
fn a_503_with_retry_after_waits_that_long_then_runs_again() {
    let mut s = retrying(RetryPolicy::new());
    s.submit("http://10.0.0.1/busy");
    s.step();
    let peer = s.peer();
    assert!(written(&peer).starts_with("GET /busy "));
    peer.send(unavailable("2"));
    s.run();
    assert!(s.completion().is_none(), "retried, not returned");
    assert_eq!(s.reactor.counters().retries, 1);
    assert_eq!(s.reactor.next_timeout(s.now), Some(2 * SECOND));
    s.advance(2 * SECOND - MS);
    assert!(peer.take_written().is_empty(), "not before Retry-After");
    s.advance(MS);
    assert!(
        written(&peer).starts_with("GET /busy "),
        "attempt 2 on the kept-alive connection"
    );
    peer.send(ok("done"));
    s.run();
    let r = s.response();
    assert_eq!(r.body(), b"done");
    assert_eq!(r.timings().attempts, 2);
    assert_eq!(r.timings().total, 2 * SECOND);
    assert_eq!(
        s.attempts().len(),
        1,
        "the wait held no connection open for it"
    );
}

#[test]
fn an_http_date_retry_after_counts_from_the_response_date() {
    let mut s = retrying(RetryPolicy::new());
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    // The server's clock is an hour off ours: only the difference counts.
    peer.send(
        "HTTP/1.1 429 Too Many Requests\r\nDate: Sat, 31 May 2025 23:00:00 GMT\r\n\
         Retry-After: Sat, 31 May 2025 23:00:03 GMT\r\nContent-Length: 0\r\n\r\n",
    );
    s.run();
    assert_eq!(s.reactor.next_timeout(s.now), Some(3 * SECOND));
    s.advance(3 * SECOND);
    assert!(written(&peer).starts_with("GET / "));
    peer.send(ok("ok"));
    s.run();
    assert_eq!(s.response().timings().attempts, 2);
}

#[test]
fn an_http_date_without_a_date_header_counts_from_our_clock() {
    let mut s = retrying_with(RetryPolicy::new(), |b| b.pool_idle_timeout(60 * SECOND));
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().send(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sun, 01 Jun 2025 00:00:05 GMT\r\n\
         Content-Length: 0\r\n\r\n",
    );
    s.run();
    assert_eq!(s.reactor.next_timeout(s.now), Some(5 * SECOND));
}

#[test]
fn retry_after_over_the_cap_returns_the_response() {
    let mut s = retrying(RetryPolicy::new().max_retry_after(10 * SECOND));
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().send(unavailable("11"));
    s.run();
    let r = s.response();
    assert_eq!(r.status(), 503);
    assert_eq!(r.body(), b"busy");
    assert_eq!(r.timings().attempts, 1);
    assert_eq!(s.reactor.counters().retries, 0);
}

#[test]
fn a_wait_that_outlasts_the_deadline_is_not_made() {
    let mut s = retrying_with(RetryPolicy::new(), |b| b.timeout(SECOND));
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().send(unavailable("1"));
    s.run();
    let r = s.response();
    assert_eq!(
        (r.status().as_u16(), r.timings().attempts),
        (503, 1),
        "returned at once, not after a wait doomed to time out"
    );
}

#[test]
fn statuses_retry_as_configured_and_attempts_run_out() {
    let mut s = retrying(
        RetryPolicy::new()
            .statuses([502])
            .max_attempts(3)
            .backoff(100 * MS, 150 * MS),
    );
    s.submit("http://10.0.0.1/");
    s.step();
    let peer = s.peer();
    let bad_gateway = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    peer.send(bad_gateway);
    s.run();
    // Retry 1 waits up to base, retry 2 up to min(cap, 2 · base).
    to_next_timer(&mut s, 100 * MS);
    peer.send(bad_gateway);
    s.run();
    to_next_timer(&mut s, 150 * MS);
    assert_eq!(written(&peer).matches("GET / ").count(), 3);
    peer.send(bad_gateway);
    s.run();
    let r = s.response();
    assert_eq!((r.status().as_u16(), r.timings().attempts), (502, 3));
    assert_eq!(s.reactor.counters().retries, 2);

    // 503 is not in this policy's list.
    s.submit("http://10.0.0.1/other");
    s.step();
    peer.send(unavailable("1"));
    s.run();
    assert_eq!(s.response().timings().attempts, 1);
}

#[test]
fn refused_connects_retry_then_the_error_tells_the_attempts() {
    let mut s = retrying(RetryPolicy::new().backoff(100 * MS, SECOND));
    for _ in 0..3 {
        s.plan(
            "10.0.0.1:80",
            Plan::Refuse(io::ErrorKind::ConnectionRefused),
        );
    }
    s.submit("http://10.0.0.1/");
    s.step();
    assert_eq!(s.attempts().len(), 1);
    to_next_timer(&mut s, 100 * MS);
    assert_eq!(s.attempts().len(), 2);
    to_next_timer(&mut s, 200 * MS);
    let error = s.error();
    assert_eq!(s.attempts().len(), 3);
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert_eq!(error.attempts(), 3);
    let text = error.to_string();
    assert!(
        text.starts_with("connect to 10.0.0.1:80 failed: "),
        "{text}"
    );
    assert!(
        text.ends_with("; gave up after 3 attempts (http://10.0.0.1/)"),
        "{text}"
    );
    assert_eq!(s.reactor.counters().retries, 2);
}

#[test]
fn a_refusal_that_turns_into_a_listener_succeeds() {
    let mut s = retrying(RetryPolicy::new());
    s.plan(
        "10.0.0.1:80",
        Plan::Refuse(io::ErrorKind::ConnectionRefused),
    );
    s.submit("http://10.0.0.1/");
    s.step();
    to_next_timer(&mut s, 500 * MS);
    s.peer().send(ok("up now"));
    s.run();
    let r = s.response();
    assert_eq!(r.body(), b"up now");
    assert_eq!(r.timings().attempts, 2);
}

#[test]
fn a_reset_before_the_response_is_retried_but_not_one_after() {
    let mut s = retrying(RetryPolicy::new());
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().op(ReadOp::Error(io::ErrorKind::ConnectionReset));
    s.run();
    assert!(s.completion().is_none());
    to_next_timer(&mut s, 500 * MS);
    assert_eq!(
        s.attempts().len(),
        2,
        "a fresh connection: the first was reset"
    );
    let second = s.peer();
    second.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    second.op(ReadOp::Error(io::ErrorKind::ConnectionReset));
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
    assert!(
        error.to_string().contains("connection reset by peer"),
        "{error}"
    );
    assert_eq!(error.attempts(), 2);
}

#[test]
fn an_empty_reply_is_retried_as_a_close_before_the_response() {
    let mut s = retrying(RetryPolicy::new());
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().close();
    s.run();
    assert!(s.completion().is_none(), "closed before any byte: retried");
    to_next_timer(&mut s, 500 * MS);
    assert_eq!(s.attempts().len(), 2);
    s.peer().send(ok("second try"));
    s.run();
    let r = s.response();
    assert_eq!((r.body(), r.timings().attempts), (&b"second try"[..], 2));
}

#[test]
fn a_connect_timeout_is_retried_within_the_request_deadline() {
    let mut s = retrying_with(RetryPolicy::new().backoff(100 * MS, SECOND), |b| {
        b.connect_timeout(SECOND).timeout(10 * SECOND)
    });
    s.plan("10.0.0.1:80", Plan::Pending);
    s.submit("http://10.0.0.1/");
    s.step();
    let stalled = s.peer();
    s.advance(SECOND);
    assert!(stalled.is_dropped());
    assert!(s.completion().is_none());
    to_next_timer(&mut s, 100 * MS);
    s.peer().send(ok("second try"));
    s.run();
    assert_eq!(s.response().timings().attempts, 2);
}

#[test]
fn a_silent_server_is_cut_off_at_the_one_deadline() {
    let mut s = retrying_with(RetryPolicy::new(), |b| b.timeout(2 * SECOND));
    s.submit("http://10.0.0.1/");
    s.step();
    s.advance(2 * SECOND);
    let error = s.error();
    assert_eq!(error.timeout_phase(), Some(Phase::ReadHead));
    assert_eq!(error.attempts(), 1, "no time left for another attempt");
}

#[test]
fn post_is_retried_only_when_asked() {
    for opted_in in [false, true] {
        let mut s = retrying(RetryPolicy::new().retry_non_idempotent(opted_in));
        s.submit(Request::post("http://10.0.0.1/form").unwrap().body("x"));
        s.step();
        let peer = s.peer();
        peer.send(unavailable("1"));
        s.run();
        if opted_in {
            assert!(s.completion().is_none());
            s.advance(SECOND);
            assert_eq!(written(&peer).matches("POST /form ").count(), 2);
        } else {
            let r = s.response();
            assert_eq!((r.status().as_u16(), r.timings().attempts), (503, 1));
            assert_eq!(written(&peer).matches("POST /form ").count(), 1);
        }
    }
}

#[test]
fn failures_can_be_left_alone_one_kind_at_a_time() {
    let mut s = retrying(RetryPolicy::new().retry_connect_failures(false));
    s.plan(
        "10.0.0.1:80",
        Plan::Refuse(io::ErrorKind::ConnectionRefused),
    );
    s.submit("http://10.0.0.1/");
    s.step();
    assert_eq!(s.error().attempts(), 1);

    let mut s = retrying(RetryPolicy::new().retry_resets(false));
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().close();
    s.run();
    let error = s.error();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains("empty reply"), "{error}");
    assert_eq!(error.attempts(), 1);
}

#[test]
fn no_policy_no_retry() {
    let mut s = Scenario::default_client();
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer().send(unavailable("1"));
    s.run();
    assert_eq!(s.response().status(), 503);
    assert_eq!(
        s.reactor.next_timeout(s.now),
        Some(4 * SECOND),
        "only the idle timer"
    );
}

#[test]
fn a_retry_after_pauses_the_origin_but_no_other() {
    let mut s = retrying(RetryPolicy::new().max_attempts(1));
    s.submit("http://10.0.0.1/a");
    s.step();
    let first = s.peer();
    assert!(written(&first).starts_with("GET /a "));
    first.send(unavailable("3"));
    s.run();
    assert_eq!(s.response().status(), 503, "no retries in this policy");
    // The origin said "slow down": its next request waits, another origin's does not.
    s.submit("http://10.0.0.1/b");
    s.submit("http://10.0.0.2/c");
    s.run();
    assert!(first.take_written().is_empty(), "paused");
    assert_eq!(s.attempts().len(), 2);
    assert!(written(&s.peer()).starts_with("GET /c "));
    s.peer().send(ok("c"));
    s.run();
    assert_eq!(s.response().body(), b"c");
    s.advance(3 * SECOND - MS);
    assert!(first.take_written().is_empty());
    s.advance(MS);
    assert!(written(&first).starts_with("GET /b "));
}

#[test]
fn a_retry_held_in_a_paced_queue_times_out_there() {
    let mut s = retrying_with(RetryPolicy::new().backoff(100 * MS, 100 * MS), |b| {
        b.timeout(2 * SECOND).min_delay_per_host(5 * SECOND)
    });
    s.submit("http://10.0.0.1/");
    s.step();
    s.peer()
        .send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    s.run();
    to_next_timer(&mut s, 100 * MS);
    assert!(s.completion().is_none());
    assert_eq!(
        s.reactor.queued_for_test(),
        1,
        "waiting for the crawl delay"
    );
    let left = s.reactor.next_timeout(s.now).unwrap();
    assert!(left <= 2 * SECOND, "the deadline, not the gate: {left:?}");
    s.advance(left);
    let error = s.error();
    assert_eq!(error.timeout_phase(), Some(Phase::Queued), "{error}");
    assert_eq!(
        error.to_string(),
        "timeout after 2s queued for http://10.0.0.1:80; gave up after 2 attempts (http://10.0.0.1/)"
    );
    assert_eq!(s.reactor.pending(), 0);
}

#[test]
fn a_stale_connection_replay_is_not_an_attempt() {
    let mut s = retrying(RetryPolicy::new().max_attempts(1));
    s.submit("http://10.0.0.1/warm");
    s.step();
    let stale = s.peer();
    stale.send(ok("warm"));
    s.step();
    s.response();
    s.submit("http://10.0.0.1/again");
    s.step();
    stale.close();
    s.run();
    s.peer().send(ok("fresh"));
    s.run();
    let r = s.response();
    assert_eq!(r.timings().attempts, 1);
    assert_eq!(
        (s.reactor.counters().replays, s.reactor.counters().retries),
        (1, 0)
    );
}

#[test]
fn a_dns_failure_is_looked_up_again_not_answered_from_the_cache() {
    let mut s = retrying(RetryPolicy::new().backoff(100 * MS, 100 * MS));
    s.submit("http://flaky.test/");
    s.step();
    let failure = crate::dns::DnsError::Failed {
        kind: io::ErrorKind::Other,
        message: "temporary failure in name resolution".into(),
    };
    s.reactor
        .resolver_mut()
        .answer("flaky.test", Err(failure.clone()));
    s.reactor.deliver_dns(s.now);
    assert!(s.completion().is_none(), "retried");
    // Another request meanwhile gets the cached failure: it was not retried.
    s.submit(Request::post("http://flaky.test/other").unwrap());
    s.step();
    let other = s.error();
    assert_eq!((other.kind(), other.attempts()), (ErrorKind::Dns, 1));
    to_next_timer(&mut s, 100 * MS);
    assert!(
        s.completion().is_none(),
        "a new lookup, not the cached failure"
    );
    s.reactor
        .resolver_mut()
        .answer("flaky.test", Ok(crate::dns::Addrs::from([super::ip(1)])));
    s.reactor.deliver_dns(s.now);
    s.run();
    s.peer().send(ok("resolved"));
    s.run();
    let r = s.response();
    assert_eq!((r.body(), r.timings().attempts), (&b"resolved"[..], 2));
}
