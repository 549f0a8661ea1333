//! [`Exchange`]: one request's life, from [`Reactor::submit`](crate::Reactor::submit)
//! to its [`Completion`](crate::Completion): the [`Request`], its clocks and
//! deadline, retries, redirect hops, content decoding, timings, and the
//! [`Response`] it builds. No sockets and no clock here: a connection's
//! protocol session hands it bytes and heads, and the exchange decides what
//! they mean for the request.
//!
//! ```text
//!            submit                    dispatch: idle or new connection
//!  (new) ──────────▶ Queued ──────────────────────────────────────────▶ OnConnection(ConnId)
//!                   ▲ ▲  ▲  ▲                                               │ │ │   │
//!                   │ │  │  └── Retry (reused connection failed before ─────┘ │ │   │
//!                   │ │  │      any response byte; idempotent; once)          │ │   │
//!                   │ │  └───── Redirect (next hop: new request, same id) ────┘ │   │
//!                   │ │                                                         │   │
//!                   │ └─ timer ── Waiting ◀── RetryLater (the policy: a failure ┘   │
//!                   │            (no connection)   or a 429/503; attempt n+1)       │
//!                   │                                                               ▼
//!   deadline while queued ──▶ Done(Err(timeout))      Done(Ok(Response) | Err(Error)) ◀── complete / fail
//! ```
//!
//! Two kinds of running again: a *replay* (`Retry`) is the transparent
//! retry of a request that met a kept-alive connection the server had just
//! closed; it happens at once, at most once, and is not an attempt of the
//! [`RetryPolicy`](crate::RetryPolicy). A *retry* (`RetryLater`) is the
//! policy's: the exchange waits off any connection until its
//! [`ExchangeTimer::Retry`] fires, then queues again as attempt n+1.
//!
//! The receiving half (`body.rs`: [`body_input`](Exchange::body_input),
//! [`on_head`](Exchange::on_head), [`on_body`](Exchange::on_body),
//! [`sink_wait`](Exchange::sink_wait)) is protocol-neutral: h1 calls it from
//! its response reader, and an h2 stream will call it from `Headers` and
//! `Data` events. The body goes to the request's sink (memory, a file, a
//! writer, chunks for the caller) with backpressure; the known-length fast
//! path ([`direct_body`](Exchange::direct_body)) stays a plain buffer the
//! connection reads into without a copy when the body is kept in memory.
//! A file download that fails part-way comes back as [`Outcome::Resume`]
//! and runs again with a range request (`range.rs`).

mod body;
mod head;
pub(crate) mod range;

pub use body::{CHUNK_QUEUE_BYTES, SINK_BUFFER_BYTES, SINK_RETRY_FIRST, SINK_RETRY_MAX};
pub(crate) use body::{Streamed, Wait};
pub(crate) use head::write_head;

use body::{Body, Sink};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use http::header;
use url::Url;

use crate::completion::RequestId;
use crate::config::Config;
use crate::decode::DecodeError;
use crate::error::{Error, Phase, Reason};
use crate::h1::{ProtocolError, ResponseHead};
#[cfg(feature = "http2")]
use crate::h2::error::StreamFailure;
use crate::handle::ConnId;
use crate::origin::Origin;
use crate::redirect::{self, Action};
use crate::request::Request;
use crate::response::{Response, Timings};
use crate::retry::{self, Clock, Failure, RetryPolicy, is_idempotent};
use crate::timer::{ExchangeTimer, ExchangeTimers};

/// What the connection knows that the exchange reports: where it went and
/// what it cost to get there.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnInfo {
    /// The server's address.
    pub peer: Option<SocketAddr>,
    /// Whether an earlier exchange opened the connection.
    pub reused: bool,
    /// Name resolution, TCP connect and TLS handshake times of a fresh
    /// connection (`None` on a reused one).
    pub dns: Option<Duration>,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
}

/// Most times one request is sent again because the server said it did
/// not process it (REFUSED_STREAM, or a GOAWAY below its stream): a server
/// that refuses every time ends the request with the refusal.
pub(crate) const MAX_UNPROCESSED_RETRIES: u32 = 10;

/// Whether a failed exchange may run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// No: a response (or part of one) arrived, or retrying would fail
    /// the same way.
    Never,
    /// No byte of a response arrived: on a reused connection that is the
    /// race with a server closing it, retried once on a fresh connection
    /// when the method is idempotent.
    IfStale,
    /// The server said it did not process the request (HTTP/2
    /// REFUSED_STREAM, or GOAWAY, RFC 9113 §8.7, §6.8): safe to send again
    /// whatever the method, up to [`MAX_UNPROCESSED_RETRIES`] times.
    Unprocessed,
    /// A GOAWAY below the request's stream from a server that processed
    /// an earlier stream of the connection (its last stream id is not 0),
    /// as a server that serves N requests per connection sends: replayed
    /// whatever the method, and not counted against
    /// [`MAX_UNPROCESSED_RETRIES`], since each such connection answered a
    /// request (the batch moves on) and the whole-request deadline still
    /// bounds the request.
    Postponed,
}

impl Replay {
    /// `IfStale` when no response byte arrived, else `Never`.
    pub(crate) fn if_stale(replayable: bool) -> Replay {
        if replayable {
            Replay::IfStale
        } else {
            Replay::Never
        }
    }
}

/// What became of an exchange after a response or a failure.
pub(crate) enum Outcome {
    /// The request is finished; hand this to the caller.
    Done(RequestId, Result<Response, Error>),
    /// Replay the same request at once on a fresh connection (a stale
    /// kept-alive connection; not an attempt of the retry policy).
    Retry(Exchange),
    /// The retry policy runs the request again as its next attempt once
    /// the exchange's [`ExchangeTimer::Retry`] fires.
    RetryLater(Exchange),
    /// Run the next hop of a redirect chain (this exchange, now carrying
    /// the next request).
    Redirect(Exchange),
    /// Resume a file download that failed part-way, with a range request
    /// from what the part file holds (or from zero, when that cannot be).
    Resume(Exchange),
}

/// One request's life.
pub(crate) struct Exchange {
    id: RequestId,
    request: Request,
    origin: Origin,
    submitted: Instant,
    /// When the request first left the queue; its deadline runs from here,
    /// across retries and redirects.
    started: Option<Instant>,
    timers: ExchangeTimers,
    /// Set once the request has been retried after a stale kept-alive
    /// connection; a retry runs on a fresh connection and never retries again.
    retried: bool,
    /// Times the server did not process the request (see [`Replay::Unprocessed`]).
    unprocessed: u32,
    /// Redirects followed to get to this request.
    redirects: u32,
    /// Attempts under the retry policy, this one included (1 until the
    /// policy retries; a replay is part of the same attempt).
    attempt: u32,
    /// When the last attempt failed to resolve the name, if it did: the
    /// next attempt must not get the same cached failure.
    dns_failed: Option<Instant>,
    /// Method and URL of every request of the redirect chain, this one
    /// last; empty before the first redirect.
    chain: Vec<(Method, Url)>,
    /// The connection carrying (or being opened for) this exchange.
    conn: Option<ConnId>,
    /// Where successful bodies go (a download's part file lives across
    /// attempts).
    sink: Sink,
    /// This attempt's response, as it arrives.
    response: Receiving,
}

/// The response of the current attempt.
#[derive(Default)]
struct Receiving {
    info: ConnInfo,
    first_byte: Option<Instant>,
    /// The body as it arrives.
    body: Body,
}

impl Exchange {
    /// A request just submitted at `now`; `recent` is the origin of the
    /// request submitted before it, reused when it is the same.
    ///
    /// # Errors
    ///
    /// A download that continues an earlier run's file could not look at
    /// or move it ([`ErrorKind::Io`](crate::ErrorKind::Io), naming the file).
    pub(crate) fn new(
        id: RequestId,
        request: Request,
        now: Instant,
        config: &Config,
        recent: Option<&Origin>,
    ) -> Result<Exchange, Error> {
        let sink = Sink::new(request.target(), request.resume_settings())
            .map_err(|reason| Error::new(reason).with_url(request.url().as_str()))?;
        let origin = Origin::routed_like(request.url(), &config.proxies, recent);
        Ok(Exchange {
            id,
            request,
            origin,
            submitted: now,
            started: None,
            timers: ExchangeTimers::default(),
            retried: false,
            unprocessed: 0,
            redirects: 0,
            attempt: 1,
            dns_failed: None,
            chain: Vec::new(),
            conn: None,
            sink,
            response: Receiving::default(),
        })
    }

    pub(crate) fn id(&self) -> RequestId {
        self.id
    }

    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    /// Where the request goes, and by which route: the pool and the
    /// connection limits count by it.
    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// True once the request has been retried: it needs a fresh connection.
    pub(crate) fn is_retry(&self) -> bool {
        self.retried
    }

    /// The connection carrying this exchange, if any.
    pub(crate) fn conn(&self) -> Option<ConnId> {
        self.conn
    }

    /// The whole-request deadline, once the request has left the queue.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.timers.get(ExchangeTimer::Deadline)
    }

    /// The exchange's own timers: its deadline, and its retry wait.
    pub(crate) fn timers_mut(&mut self) -> &mut ExchangeTimers {
        &mut self.timers
    }

    /// True when a retry wait is due at `now` (it is then over: the
    /// exchange may be queued).
    pub(crate) fn take_retry_due(&mut self, now: Instant) -> bool {
        let due = self
            .timers
            .get(ExchangeTimer::Retry)
            .is_some_and(|at| at <= now);
        if due {
            self.timers.set(ExchangeTimer::Retry, None);
        }
        due
    }

    /// When the previous attempt's name lookup failed, if it did (taken:
    /// the resolver forgets that failure once for this attempt).
    pub(crate) fn take_dns_failure(&mut self) -> Option<Instant> {
        self.dns_failed.take()
    }

    /// True while the exchange waits for its next attempt.
    pub(crate) fn is_waiting_to_retry(&self) -> bool {
        self.timers.get(ExchangeTimer::Retry).is_some()
    }

    /// The URL the caller asked for, before any redirect.
    pub(crate) fn first_url(&self) -> &Url {
        self.chain
            .first()
            .map_or(self.request.url(), |(_, url)| url)
    }

    /// The whole-request timeout of this request (the request's own, or
    /// the client's).
    pub(crate) fn timeout(&self, config: &Config) -> Option<Duration> {
        self.request.timeout_or(config.timeout)
    }

    /// How long the response may send nothing (the request's own setting,
    /// or the client's).
    pub(crate) fn read_idle_timeout(&self, config: &Config) -> Option<Duration> {
        self.request.read_idle_timeout_or(config.read_idle_timeout)
    }

    /// The request leaves the queue for connection `conn`; the first time,
    /// its clocks start.
    pub(crate) fn attach(&mut self, conn: ConnId, now: Instant, config: &Config) {
        if self.started.is_none() {
            self.started = Some(now);
            let deadline = self.timeout(config).map(|t| now + t);
            self.timers.set(ExchangeTimer::Deadline, deadline);
        }
        self.conn = Some(conn);
    }

    /// The request is no longer on a connection.
    pub(crate) fn detach(&mut self) {
        self.conn = None;
    }

    /// A connection starts sending this request: a fresh attempt (a
    /// resumed download asks for the rest of its file).
    pub(crate) fn begin(&mut self, info: ConnInfo) {
        self.response = Receiving {
            info,
            ..Receiving::default()
        };
        self.plan_range();
    }

    /// Times the server refused this request unprocessed so far.
    #[cfg(feature = "http2")]
    pub(crate) fn unprocessed(&self) -> u32 {
        self.unprocessed
    }

    /// Opens an HTTP/2 stream for this request on `session` (HEADERS, then
    /// as much of the body as the windows take later); whether a coded
    /// response is to be decoded follows from what the fields asked for.
    /// `added` is the connection's scratch list for the fields the client
    /// adds.
    #[cfg(feature = "http2")]
    pub(crate) fn send_h2_request(
        &mut self,
        session: &mut crate::h2::session::Session,
        config: &Config,
        added: &mut Vec<(http::HeaderName, http::HeaderValue)>,
    ) -> Result<crate::h2::StreamId, crate::h2::error::SendError> {
        let cookie = self.cookie_header(config);
        let (sent, wants_decoding) = head::send_h2_request(
            session,
            &self.request,
            &config.default_headers,
            config.decompress,
            cookie.as_ref(),
            self.range_request(),
            added,
        );
        if let Ok(stream) = sent {
            self.response.body.wants_decoding = wants_decoding;
            // A body going to a sink has no size limit but its own.
            session.set_max_body_size(stream, self.body_limit(config));
        }
        sent
    }

    /// Writes the HTTP/1.1 request head into `out`; whether a coded
    /// response is to be decoded follows from what the head asked for.
    pub(crate) fn write_h1_head(&mut self, out: &mut Vec<u8>, config: &Config) {
        let cookie = self.cookie_header(config);
        let wants_decoding = write_head(
            out,
            &self.request,
            &self.origin.route,
            &config.default_headers,
            config.decompress,
            cookie.as_ref(),
            self.range_request(),
        );
        self.response.body.wants_decoding = wants_decoding;
    }

    /// The cookie jar's `Cookie` value for this request's URL, if any.
    #[cfg(feature = "cookies")]
    pub(crate) fn cookie_header(&self, config: &Config) -> Option<http::HeaderValue> {
        config.cookies.as_ref()?.header_for(self.request.url())
    }

    /// Without the `cookies` feature there is no jar.
    #[cfg(not(feature = "cookies"))]
    pub(crate) fn cookie_header(&self, _config: &Config) -> Option<http::HeaderValue> {
        None
    }

    fn started(&self) -> Instant {
        self.started.unwrap_or(self.submitted)
    }

    // ---- the receiving half ----------------------------------------------

    /// The first response byte arrived at `now`.
    pub(crate) fn on_first_byte(&mut self, now: Instant) {
        self.response.first_byte.get_or_insert(now);
    }

    // ---- outcomes ----------------------------------------------------------

    /// The response is complete: builds it, unless it is a redirect to
    /// follow (then this exchange becomes the next hop).
    pub(crate) fn complete(
        mut self,
        mut head: ResponseHead,
        now: Instant,
        config: &Config,
        clock: &mut Clock,
    ) -> Outcome {
        self.conn = None;
        // Every answer's cookies count, a redirect's or a retried one's too.
        #[cfg(feature = "cookies")]
        if let Some(jar) = &config.cookies {
            jar.store_from(&head.headers, self.request.url());
        }
        if let Some(policy) = config
            .retry
            .as_ref()
            .filter(|p| p.retries_status(head.status))
        {
            let asked = retry::retry_after(&head.headers, clock.wall());
            if let Some(at) = self.retry_at(policy, asked, now, clock) {
                return self.retry_later(at);
            }
        }
        let started = self.started();
        let r = &mut self.response;
        let timings = Timings {
            queued: started.saturating_duration_since(self.submitted),
            dns: r.info.dns,
            connect: r.info.connect,
            tls: r.info.tls,
            first_byte: r
                .first_byte
                .unwrap_or(now)
                .saturating_duration_since(started),
            total: now.saturating_duration_since(started),
            reused: r.info.reused,
            attempts: self.attempt,
        };
        let peer = r.info.peer;
        let (body, body_len, download) = match self.finish_body() {
            Ok(finished) => finished,
            Err(reason) => return self.fail(reason, Replay::Never, now, config, clock),
        };
        if self.response.body.was_decoded() {
            // The body is no longer what these described (as in reqwest).
            head.headers.remove(header::CONTENT_ENCODING);
            head.headers.remove(header::CONTENT_LENGTH);
        }
        if head.status.is_redirection() && config.max_redirects > 0 {
            let mut chain = std::mem::take(&mut self.chain);
            if chain.is_empty() {
                chain.push((self.request.method().clone(), self.request.url().clone()));
            }
            let action = redirect::next_request(
                &self.request,
                head.status,
                &head.headers,
                &chain,
                config.max_redirects,
            );
            self.chain = chain;
            match action {
                Action::Return => {}
                Action::Follow(next) => {
                    self.redirect(*next, config);
                    return Outcome::Redirect(self);
                }
                Action::Fail(reason) => return self.done(Err(Error::new(reason))),
            }
        }
        // A redirect handed back says why it was not followed.
        let redirect_declined = redirect::declined(
            head.status,
            &head.headers,
            self.request.url(),
            config.max_redirects,
        );
        let response = Response {
            status: head.status,
            version: head.version,
            redirect_declined,
            headers: head.headers,
            body,
            body_len,
            download,
            url: self.request.into_url(),
            remote_addr: peer,
            timings,
            redirects: self.redirects,
        };
        Outcome::Done(self.id, Ok(response))
    }

    /// Becomes the next hop of a redirect chain: same id, same clocks (the
    /// whole-request deadline covers every hop).
    fn redirect(&mut self, next: Request, config: &Config) {
        self.chain.push((next.method().clone(), next.url().clone()));
        self.origin = Origin::routed(next.url(), &config.proxies);
        self.request = next;
        self.retried = false;
        self.redirects += 1;
        self.response = Receiving::default();
    }

    /// When the next attempt may start under `policy`, given what the
    /// answer asked for; `None` when the policy gives up or the wait would
    /// outlast the whole-request deadline.
    fn retry_at(
        &self,
        policy: &RetryPolicy,
        retry_after: Option<Duration>,
        now: Instant,
        clock: &mut Clock,
    ) -> Option<Instant> {
        let wait = policy.next_wait(
            self.attempt,
            self.request.method(),
            retry_after,
            clock.next_u64(),
        )?;
        let at = now.checked_add(wait)?;
        match self.deadline() {
            Some(deadline) if at >= deadline => None,
            _ => Some(at),
        }
    }

    /// Becomes the policy's next attempt, waiting off any connection until `at`.
    fn retry_later(mut self, at: Instant) -> Outcome {
        self.attempt += 1;
        self.retried = false;
        self.response = Receiving::default();
        self.timers.set(ExchangeTimer::Retry, Some(at));
        Outcome::RetryLater(self)
    }

    /// The kind of failure `reason` is, for the retry policy: only one
    /// before any byte of this attempt's response can be retried.
    fn failure_kind(&self, reason: &Reason) -> Option<Failure> {
        if self.response.first_byte.is_some() {
            return None;
        }
        match reason {
            Reason::Dns { .. } | Reason::NoAddresses { .. } | Reason::Connect { .. } => {
                Some(Failure::Connect)
            }
            Reason::Timeout { .. } => Some(Failure::Timeout),
            Reason::Io { .. }
            | Reason::Protocol {
                source: ProtocolError::EmptyReply,
                ..
            } => Some(Failure::Reset),
            // HTTP/2: the stream reset (RST_STREAM) or the connection closed
            // before the response head. REFUSED_STREAM and GOAWAY are not
            // here: they are replayed without counting as attempts.
            #[cfg(feature = "http2")]
            Reason::H2 {
                failure:
                    StreamFailure::Reset {
                        after_head: false, ..
                    }
                    | StreamFailure::Closed {
                        after_head: false, ..
                    },
                ..
            } => Some(Failure::Reset),
            _ => None,
        }
    }

    /// The exchange failed on its connection (or could not get one).
    /// `replay` says whether it may simply run again: with no byte of a
    /// response on a reused connection (the classic race with a server
    /// closing an idle connection) once, when the method is idempotent (RFC
    /// 9110 §9.2.2); when the server said it did not process the request
    /// (HTTP/2 REFUSED_STREAM, GOAWAY) whatever the method. Neither replay
    /// is an attempt of the retry policy. Otherwise the policy, if any,
    /// decides.
    pub(crate) fn fail(
        mut self,
        reason: Reason,
        replay: Replay,
        now: Instant,
        config: &Config,
        clock: &mut Clock,
    ) -> Outcome {
        self.conn = None;
        if replay == Replay::Postponed {
            self.response = Receiving::default();
            return Outcome::Retry(self);
        }
        if replay == Replay::Unprocessed && self.unprocessed < MAX_UNPROCESSED_RETRIES {
            self.unprocessed += 1;
            self.response = Receiving::default();
            return Outcome::Retry(self);
        }
        if self.resume_after(&reason) {
            self.response = Receiving::default();
            return Outcome::Resume(self);
        }
        if replay == Replay::IfStale
            && self.response.info.reused
            && !self.retried
            && is_idempotent(self.request.method())
        {
            self.retried = true;
            self.response = Receiving::default();
            return Outcome::Retry(self);
        }
        let policy = config.retry.as_ref().filter(|policy| {
            self.failure_kind(&reason)
                .is_some_and(|failure| policy.retries_failure(failure))
        });
        if let Some(at) = policy.and_then(|policy| self.retry_at(policy, None, now, clock)) {
            if matches!(reason, Reason::Dns { .. } | Reason::NoAddresses { .. }) {
                self.dns_failed = Some(now);
            }
            return self.retry_later(at);
        }
        self.done(Err(Error::new(reason)))
    }

    /// The whole-request deadline passed while the exchange waited in a
    /// queue (a retry waiting for its turn).
    pub(crate) fn expire(self, config: &Config) -> Outcome {
        let reason = Reason::Timeout {
            phase: Phase::Queued,
            // The request's own timeout, when it has one.
            after: self.timeout(config).unwrap_or_default(),
            target: self.origin.to_string(),
        };
        self.done(Err(Error::new(reason)))
    }

    /// Ends the request with `result`; an error names the URL the caller
    /// asked for.
    fn done(&self, result: Result<Response, Error>) -> Outcome {
        Outcome::Done(
            self.id,
            result.map_err(|e| {
                e.with_url(self.first_url().as_str())
                    .with_attempts(self.attempt)
            }),
        )
    }

    /// Ends the request with an error that is not about this attempt's
    /// response (no socket, no TLS in this build), naming the current URL.
    pub(crate) fn error(&self, error: Error) -> Outcome {
        let error = error
            .with_url(self.request.url().as_str())
            .with_attempts(self.attempt);
        Outcome::Done(self.id, Err(error))
    }
}

/// The error for a body that could not be decoded: over the body limit
/// (counted after decoding), or corrupt.
fn decode_failure(coding: &'static str, error: DecodeError, peer: Option<SocketAddr>) -> Reason {
    match error {
        DecodeError::TooLarge { limit } => Reason::Protocol {
            peer,
            source: ProtocolError::BodyTooLarge { limit },
        },
        DecodeError::Corrupt(message) => Reason::Decode { coding, message },
    }
}

#[cfg(test)]
mod tests;
