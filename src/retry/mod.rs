//! [`RetryPolicy`]: which failed attempts and which "try again later"
//! answers run the request again, and after how long. The decisions are
//! pure functions of the attempt, the answer and the time; the exchange
//! applies them, and the wait is a timer in the reactor, never a sleep.
//!
//! ```text
//!  attempt n fails ──▶ retryable failure or status? ──no──▶ the error / the response
//!                              │ yes
//!                              ▼
//!          n < max_attempts, method idempotent (or opted in)? ──no──▶ the error / the response
//!                              │ yes
//!                              ▼
//!     Retry-After given?  ──yes──▶ over max_retry_after? ──yes──▶ the response
//!              │ no                      │ no: wait what it says
//!              ▼                         ▼
//!     wait = random in [0, min(cap, base · 2^(n-1))]   (full jitter)
//!                              │
//!                              ▼
//!     the wait ends before the request's deadline? ──no──▶ the error / the response
//!                              │ yes
//!                              ▼
//!        attempt n+1 (queued again when the timer fires)
//! ```
//!
//! `date.rs` parses `Retry-After` and HTTP-dates (RFC 9110 §10.2.3, §5.6.7);
//! `clock.rs` is the wall clock and the jitter's random numbers.

mod clock;
mod date;

pub(crate) use clock::Clock;
#[cfg(test)]
pub(crate) use date::parse_http_date;

use std::time::{Duration, SystemTime};

use http::header::{DATE, HeaderMap, RETRY_AFTER};
use http::{Method, StatusCode};

/// Default for [`RetryPolicy::max_attempts`]: the first attempt and two
/// retries.
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// Default base of [`RetryPolicy::backoff`]: the first retry waits up to this.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(500);
/// Default cap of [`RetryPolicy::backoff`]: no backoff wait is longer.
pub const DEFAULT_RETRY_CAP: Duration = Duration::from_secs(30);
/// Default for [`RetryPolicy::max_retry_after`].
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// When a request runs again: set with
/// [`ClientBuilder::retry`](crate::ClientBuilder::retry). Without one, the
/// only retries are the transparent replays of a request that met a
/// kept-alive connection the server had just closed, and of one an HTTP/2
/// server did not process (REFUSED_STREAM, GOAWAY); neither ever counts as
/// an attempt.
///
/// | setting | default |
/// |---|---|
/// | [`max_attempts`](Self::max_attempts) | 3 (the first and two retries) |
/// | [`backoff`](Self::backoff) | base 500 ms, cap 30 s, full jitter |
/// | [`statuses`](Self::statuses) | 429 Too Many Requests, 503 Service Unavailable |
/// | [`retry_connect_failures`](Self::retry_connect_failures) | on: DNS failures and refused or unreachable connects |
/// | [`retry_timeouts`](Self::retry_timeouts) | on: timeouts before the first response byte |
/// | [`retry_resets`](Self::retry_resets) | on: resets and closes before the first response byte (HTTP/2: RST_STREAM before the head) |
/// | [`retry_non_idempotent`](Self::retry_non_idempotent) | off: only GET, HEAD, PUT, DELETE, OPTIONS, TRACE |
/// | [`max_retry_after`](Self::max_retry_after) | 60 s |
///
/// # Waits
///
/// Before retry `n` (1 for the first), the request waits a random time
/// between zero and `min(cap, base · 2^(n-1))` ("full jitter", which
/// spreads clients that failed together), unless the answer carried
/// `Retry-After` (RFC 9110 §10.2.3), whose delta-seconds or HTTP-date is
/// waited exactly. A `Retry-After` longer than
/// [`max_retry_after`](Self::max_retry_after) ends the retries: the response
/// is returned as it is. While it waits, a request holds no connection.
///
/// # The whole-request timeout
///
/// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout) is one deadline
/// over every attempt and every wait, from the first time the request left
/// the queue: the caller's bound on how long a URL may take does not grow
/// with the number of attempts. A retry whose wait would end at or after
/// the deadline is not made; the last error (or response) is returned at
/// once instead of after a wait doomed to time out. The connect timeout
/// bounds each attempt's connect.
///
/// # What is counted
///
/// [`Timings::attempts`](crate::Timings::attempts) and
/// [`Error::attempts`](crate::Error::attempts) say how many attempts were
/// made (an error's message ends with `gave up after N attempts`), and
/// [`Counters::retries`](crate::Counters::retries) and
/// [`Summary::retries`](crate::Summary::retries) count the retries. Attempts
/// are counted over the whole request, redirect hops included.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use multifetch::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .retry(
///         RetryPolicy::new()
///             .max_attempts(5)
///             .backoff(Duration::from_millis(200), Duration::from_secs(10))
///             .statuses([429, 502, 503, 504]),
///     )
///     .build()?;
/// let results = client.fetch_many(["http://127.0.0.1:8080/"]);
/// # drop(results);
/// # Ok::<(), multifetch::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    statuses: Vec<u16>,
    connect_failures: bool,
    timeouts: bool,
    resets: bool,
    non_idempotent: bool,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy::new()
    }
}

/// The kinds of failure a policy may retry; any of them only before the
/// first response byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The name did not resolve, or no address took the connection.
    Connect,
    /// A deadline of the attempt (connect, TLS handshake, or the server's
    /// silence) passed.
    Timeout,
    /// The connection was reset or closed.
    Reset,
}

impl RetryPolicy {
    /// The defaults in the table above.
    pub fn new() -> RetryPolicy {
        RetryPolicy {
            max_attempts: DEFAULT_RETRY_ATTEMPTS,
            base: DEFAULT_RETRY_BASE,
            cap: DEFAULT_RETRY_CAP,
            statuses: vec![429, 503],
            connect_failures: true,
            timeouts: true,
            resets: true,
            non_idempotent: false,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }

    /// Most attempts per request, the first included (at least 1; 1 turns
    /// retrying off). Default 3 ([`DEFAULT_RETRY_ATTEMPTS`]).
    pub fn max_attempts(mut self, n: u32) -> RetryPolicy {
        self.max_attempts = n.max(1);
        self
    }

    /// The exponential backoff: retry `n` waits a random time up to
    /// `min(cap, base · 2^(n-1))`. Defaults 500 ms and 30 s
    /// ([`DEFAULT_RETRY_BASE`], [`DEFAULT_RETRY_CAP`]).
    pub fn backoff(mut self, base: Duration, cap: Duration) -> RetryPolicy {
        self.base = base;
        self.cap = cap;
        self
    }

    /// The response statuses that are retried, replacing the default 429
    /// and 503; e.g. `[429, 502, 503, 504]`. An empty list retries no
    /// status.
    pub fn statuses(mut self, codes: impl IntoIterator<Item = u16>) -> RetryPolicy {
        self.statuses = codes.into_iter().collect();
        self
    }

    /// Whether DNS failures and failed connects (refused, unreachable: no
    /// address took the connection) are retried. On by default.
    pub fn retry_connect_failures(mut self, on: bool) -> RetryPolicy {
        self.connect_failures = on;
        self
    }

    /// Whether timeouts before the first response byte are retried: the
    /// connect timeout, the TLS handshake, a server silent until the
    /// deadline of the attempt. On by default. A timeout once response
    /// bytes have arrived is never retried.
    pub fn retry_timeouts(mut self, on: bool) -> RetryPolicy {
        self.timeouts = on;
        self
    }

    /// Whether a connection reset or closed before the first response byte
    /// is retried; over HTTP/2 also a stream the server reset (RST_STREAM
    /// with any code but REFUSED_STREAM, which is replayed anyway) before
    /// the response head. On by default.
    pub fn retry_resets(mut self, on: bool) -> RetryPolicy {
        self.resets = on;
        self
    }

    /// Whether requests whose method is not idempotent (POST, PATCH,
    /// CONNECT; RFC 9110 §9.2.2) are retried too. Off by default: the server
    /// may have acted on the first attempt.
    pub fn retry_non_idempotent(mut self, on: bool) -> RetryPolicy {
        self.non_idempotent = on;
        self
    }

    /// The longest `Retry-After` waited for; a longer one ends the retries
    /// and the response is returned as it is. It also caps how long a
    /// `Retry-After` pauses its origin (see
    /// [`ClientBuilder::pause_on_retry_after`](crate::ClientBuilder::pause_on_retry_after)).
    /// Default 60 s ([`DEFAULT_MAX_RETRY_AFTER`]).
    pub fn max_retry_after(mut self, max: Duration) -> RetryPolicy {
        self.max_retry_after = max;
        self
    }

    /// The cap on `Retry-After` waits and pauses.
    pub(crate) fn retry_after_cap(&self) -> Duration {
        self.max_retry_after
    }

    /// Whether this kind of failure is retried.
    pub(crate) fn retries_failure(&self, failure: Failure) -> bool {
        match failure {
            Failure::Connect => self.connect_failures,
            Failure::Timeout => self.timeouts,
            Failure::Reset => self.resets,
        }
    }

    /// Whether a response with this status is retried.
    pub(crate) fn retries_status(&self, status: StatusCode) -> bool {
        self.statuses.contains(&status.as_u16())
    }

    /// How long to wait before the next attempt, after `made` attempts of a
    /// request with `method` ended in something this policy retries;
    /// `retry_after` is what the answer asked for. `None`: give up.
    pub(crate) fn next_wait(
        &self,
        made: u32,
        method: &Method,
        retry_after: Option<Duration>,
        random: u64,
    ) -> Option<Duration> {
        if made >= self.max_attempts || !(self.non_idempotent || is_idempotent(method)) {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff_wait(made, random)),
        }
    }

    /// Full jitter: a `random` point in `[0, min(cap, base · 2^(n-1))]`
    /// for retry `n`.
    fn backoff_wait(&self, n: u32, random: u64) -> Duration {
        let exp = n.saturating_sub(1).min(64);
        let ceiling = self
            .base
            .as_nanos()
            .saturating_mul(1u128 << exp)
            .min(self.cap.as_nanos());
        let nanos = u128::from(random) % (ceiling + 1);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2).
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// What a response's `Retry-After` asks for (against its `Date`, or `wall`
/// without one); `None` when it has none or an unreadable one.
pub(crate) fn retry_after(headers: &HeaderMap, wall: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?;
    let date = headers.get(DATE).map(|d| d.as_bytes());
    date::parse_retry_after(value.as_bytes(), date, wall)
}

/// Whether a status says "slow down": 429 Too Many Requests (RFC 6585 §4)
/// or 503 Service Unavailable (RFC 9110 §15.6.4).
pub(crate) fn is_slow_down(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let policy = RetryPolicy::new().backoff(100 * MS, 1000 * MS);
        assert_eq!(policy.backoff_wait(1, 0), Duration::ZERO);
        assert_eq!(
            policy.backoff_wait(1, 100_000_000),
            100 * MS,
            "the ceiling itself"
        );
        // Across many draws: within [0, ceiling], and spread over it.
        let mut clock = Clock::seeded(7);
        for (n, ceiling) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let waits: Vec<Duration> = (0..500)
                .map(|_| policy.backoff_wait(n, clock.next_u64()))
                .collect();
            let max = *waits.iter().max().unwrap();
            let min = *waits.iter().min().unwrap();
            assert!(max <= ceiling * MS, "retry {n}: {max:?}");
            assert!(max > ceiling * MS * 9 / 10, "retry {n}: spread up, {max:?}");
            assert!(min < ceiling * MS / 10, "retry {n}: spread down, {min:?}");
        }
        // Huge exponents and bases saturate instead of overflowing.
        let wild = RetryPolicy::new().backoff(Duration::MAX, Duration::MAX);
        let _ = wild.backoff_wait(u32::MAX, u64::MAX);
    }

    #[test]
    fn attempts_methods_and_retry_after_bound_the_retries() {
        let policy = RetryPolicy::new().max_attempts(3);
        let get = Method::GET;
        assert!(policy.next_wait(1, &get, None, 1).is_some());
        assert!(policy.next_wait(2, &get, None, 1).is_some());
        assert_eq!(policy.next_wait(3, &get, None, 1), None, "3 made: done");
        assert_eq!(policy.next_wait(1, &Method::POST, None, 1), None);
        assert!(
            policy
                .clone()
                .retry_non_idempotent(true)
                .next_wait(1, &Method::POST, None, 1)
                .is_some()
        );
        assert_eq!(
            policy.next_wait(1, &get, Some(Duration::from_secs(2)), 1),
            Some(Duration::from_secs(2)),
            "Retry-After is waited exactly"
        );
        assert_eq!(
            policy.next_wait(1, &get, Some(Duration::from_secs(61)), 1),
            None,
            "over the cap: the response is returned"
        );
        assert_eq!(RetryPolicy::new().max_attempts(0).max_attempts, 1);
    }

    #[test]
    fn statuses_and_failures_follow_the_settings() {
        let policy = RetryPolicy::new();
        assert!(policy.retries_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(policy.retries_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!policy.retries_status(StatusCode::BAD_GATEWAY));
        let wider = policy.clone().statuses([429, 502, 503, 504]);
        assert!(wider.retries_status(StatusCode::GATEWAY_TIMEOUT));
        assert!(
            !RetryPolicy::new()
                .statuses([])
                .retries_status(StatusCode::SERVICE_UNAVAILABLE)
        );
        for failure in [Failure::Connect, Failure::Timeout, Failure::Reset] {
            assert!(policy.retries_failure(failure));
        }
        let narrow = RetryPolicy::new()
            .retry_connect_failures(false)
            .retry_timeouts(false)
            .retry_resets(false);
        for failure in [Failure::Connect, Failure::Timeout, Failure::Reset] {
            assert!(!narrow.retries_failure(failure));
        }
    }

    #[test]
    fn retry_after_reads_the_header_against_the_date() {
        let mut headers = HeaderMap::new();
        let wall =
            parse_http_date(b"Sun, 01 Jun 2025 00:00:00 GMT", SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(retry_after(&headers, wall), None);
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers, wall), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Sun, 06 Nov 1994 08:49:40 GMT".parse().unwrap(),
        );
        headers.insert(DATE, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers, wall), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, "later".parse().unwrap());
        assert_eq!(retry_after(&headers, wall), None);
        assert!(is_slow_down(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_slow_down(StatusCode::BAD_GATEWAY));
    }
}
