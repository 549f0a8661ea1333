//! [`Summary`]: what a batch did, counted as it ran.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::error::{ErrorKind, Result};
use crate::response::Response;

/// Totals for a batch run by [`Client::fetch_each`](crate::Client::fetch_each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Requests that got a response (any status).
    pub ok: u64,
    /// Requests that ended in an error.
    pub failed: u64,
    /// Failed requests by error kind.
    pub failed_by_kind: BTreeMap<ErrorKind, u64>,
    /// Response body bytes delivered, in memory or to a sink (after transfer
    /// and content decoding; [`Response::body_len`]).
    pub body_bytes: u64,
    /// Bytes written to sockets (request heads and bodies).
    pub bytes_sent: u64,
    /// Bytes read from sockets (response heads, bodies and framing).
    pub bytes_received: u64,
    /// TCP connections opened; fewer than requests means keep-alive (or
    /// HTTP/2 multiplexing) worked.
    pub connections_opened: u64,
    /// Retries made by the [`RetryPolicy`](crate::RetryPolicy) (attempts
    /// after the first, over all requests).
    pub retries: u64,
    /// Requests sent on HTTP/2 streams.
    pub h2_streams: u64,
    /// Wall-clock time of the whole batch.
    pub wall: Duration,
}

impl Summary {
    /// Requests finished, either way.
    pub fn total(&self) -> u64 {
        self.ok + self.failed
    }

    /// Finished requests per second of wall time.
    pub fn requests_per_second(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 {
            self.total() as f64 / secs
        } else {
            0.0
        }
    }

    pub(crate) fn record(&mut self, result: &Result<Response>) {
        match result {
            Ok(response) => {
                self.ok += 1;
                self.body_bytes += response.body_len();
            }
            Err(error) => {
                self.failed += 1;
                *self.failed_by_kind.entry(error.kind()).or_insert(0) += 1;
            }
        }
    }
}

impl fmt::Display for Summary {
    /// `ok=998 failed=2 (timeout 1, DNS 1) sent=… received=… connections=64 h2_streams=0 retries=3 wall=1.234s rate=810 req/s`
    /// (`retries` only when there were some)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ok={} failed={}", self.ok, self.failed)?;
        if !self.failed_by_kind.is_empty() {
            let kinds: Vec<String> = self
                .failed_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            write!(f, " ({})", kinds.join(", "))?;
        }
        write!(
            f,
            " sent={} received={} connections={} h2_streams={}",
            self.bytes_sent, self.bytes_received, self.connections_opened, self.h2_streams,
        )?;
        if self.retries > 0 {
            write!(f, " retries={}", self.retries)?;
        }
        write!(
            f,
            " wall={:.3}s rate={:.0} req/s",
            self.wall.as_secs_f64(),
            self.requests_per_second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Reason};

    #[test]
    fn failures_are_counted_by_kind() {
        let mut s = Summary::default();
        let dns = || Error::new(Reason::NoAddresses { host: "h".into() });
        s.record(&Err(dns()));
        s.record(&Err(dns()));
        s.record(&Err(Error::new(Reason::UnsupportedScheme("ftp".into()))));
        s.wall = Duration::from_secs(2);
        assert_eq!((s.ok, s.failed, s.total()), (0, 3, 3));
        assert_eq!(s.failed_by_kind[&ErrorKind::Dns], 2);
        assert_eq!(s.requests_per_second(), 1.5);
        let text = s.to_string();
        assert!(
            text.starts_with("ok=0 failed=3 (invalid URL 1, DNS 2) "),
            "{text}"
        );
        assert!(!text.contains("retries"), "{text}");
        s.retries = 4;
        assert!(
            s.to_string()
                .contains(" connections=0 h2_streams=0 retries=4 wall=")
        );
    }
}
