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
//!                      ▲  ▲                                                 │   │   │
//!                      │  └──── Retry (reused connection failed before ─────┘   │   │
//!                      │        any response byte; idempotent; once)            │   │
//!                      └─────── Redirect (next hop: new request, same id) ──────┘   │
//!                                                                                   ▼
//!                                   Done(Ok(Response) | Err(Error)) ◀── complete / fail
//! ```
//!
//! The receiving half ([`body_input`](Exchange::body_input),
//! [`on_head`](Exchange::on_head), [`on_body`](Exchange::on_body)) is
//! protocol-neutral: h1 calls it from its response reader, and an h2 stream
//! will call it from `Headers` and `Data` events. Issue 10's body sinks
//! replace the `Vec` behind `body_input`; the known-length fast path
//! ([`direct_body`](Exchange::direct_body)) stays a plain buffer the
//! connection reads into without a copy.

mod head;

pub(crate) use head::write_head;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use http::header;
use url::Url;

use crate::completion::RequestId;
use crate::config::Config;
use crate::decode::{ContentDecoder, DecodeError};
use crate::error::{Error, Reason};
use crate::h1::{ProtocolError, ResponseHead};
use crate::handle::ConnId;
use crate::origin::Origin;
use crate::redirect::{self, Action};
use crate::request::Request;
use crate::response::{Response, Timings};
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
    /// Run the same request again on a fresh connection.
    Retry(Exchange),
    /// Run the next hop of a redirect chain (this exchange, now carrying
    /// the next request).
    Redirect(Exchange),
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
    /// Method and URL of every request of the redirect chain, this one
    /// last; empty before the first redirect.
    chain: Vec<(Method, Url)>,
    /// The connection carrying (or being opened for) this exchange.
    conn: Option<ConnId>,
    /// This attempt's response, as it arrives.
    response: Receiving,
}

/// The response of the current attempt.
#[derive(Default)]
struct Receiving {
    info: ConnInfo,
    first_byte: Option<Instant>,
    /// Whether this request asked for compressed bodies and the head has
    /// not been seen yet (so a coded response is to be decoded).
    wants_decoding: bool,
    /// Decodes the body once the head names a content coding.
    decoder: Option<ContentDecoder>,
    /// Body bytes still coded, on their way to `decoder`.
    coded: Vec<u8>,
    /// The body as the caller gets it.
    body: Vec<u8>,
}

impl Exchange {
    /// A request just submitted at `now`.
    pub(crate) fn new(id: RequestId, request: Request, now: Instant, config: &Config) -> Exchange {
        let origin = Origin::routed(request.url(), &config.proxies);
        Exchange {
            id,
            request,
            origin,
            submitted: now,
            started: None,
            timers: ExchangeTimers::default(),
            retried: false,
            unprocessed: 0,
            redirects: 0,
            chain: Vec::new(),
            conn: None,
            response: Receiving::default(),
        }
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

    /// The URL the caller asked for, before any redirect.
    pub(crate) fn first_url(&self) -> &Url {
        self.chain
            .first()
            .map_or(self.request.url(), |(_, url)| url)
    }

    /// The request leaves the queue for connection `conn`; the first time,
    /// its clocks start.
    pub(crate) fn attach(&mut self, conn: ConnId, now: Instant, config: &Config) {
        if self.started.is_none() {
            self.started = Some(now);
            self.timers
                .set(ExchangeTimer::Deadline, config.timeout.map(|t| now + t));
        }
        self.conn = Some(conn);
    }

    /// The request is no longer on a connection.
    pub(crate) fn detach(&mut self) {
        self.conn = None;
    }

    /// A connection starts sending this request: a fresh attempt.
    pub(crate) fn begin(&mut self, info: ConnInfo) {
        self.response = Receiving {
            info,
            ..Receiving::default()
        };
    }

    /// Times the server refused this request unprocessed so far.
    #[cfg(feature = "http2")]
    pub(crate) fn unprocessed(&self) -> u32 {
        self.unprocessed
    }

    /// Opens an HTTP/2 stream for this request on `session` (HEADERS, then
    /// as much of the body as the windows take later); whether a coded
    /// response is to be decoded follows from what the fields asked for.
    #[cfg(feature = "http2")]
    pub(crate) fn send_h2_request(
        &mut self,
        session: &mut crate::h2::session::Session,
        config: &Config,
    ) -> Result<crate::h2::StreamId, crate::h2::error::SendError> {
        let (sent, wants_decoding) = head::send_h2_request(
            session,
            &self.request,
            &config.default_headers,
            config.decompress,
        );
        if sent.is_ok() {
            self.response.wants_decoding = wants_decoding;
        }
        sent
    }

    /// Writes the HTTP/1.1 request head into `out`; whether a coded
    /// response is to be decoded follows from what the head asked for.
    pub(crate) fn write_h1_head(&mut self, out: &mut Vec<u8>, config: &Config) {
        self.response.wants_decoding = write_head(
            out,
            &self.request,
            &self.origin.route,
            &config.default_headers,
            config.decompress,
        );
    }

    fn started(&self) -> Instant {
        self.started.unwrap_or(self.submitted)
    }

    // ---- the receiving half ----------------------------------------------

    /// The first response byte arrived at `now`.
    pub(crate) fn on_first_byte(&mut self, now: Instant) {
        self.response.first_byte.get_or_insert(now);
    }

    /// Where transfer-decoded body bytes go: the body itself, or, once a
    /// content coding is known, the decoder's input.
    pub(crate) fn body_input(&mut self) -> &mut Vec<u8> {
        let r = &mut self.response;
        if r.decoder.is_some() {
            &mut r.coded
        } else {
            &mut r.body
        }
    }

    /// The body buffer, when bytes may go straight into it (no content
    /// decoding): the connection reads a known-length body into its spare
    /// capacity with no copy.
    pub(crate) fn direct_body(&mut self) -> Option<&mut Vec<u8>> {
        let r = &mut self.response;
        (r.decoder.is_none() && !r.wants_decoding).then_some(&mut r.body)
    }

    /// The final response head is known (it stays with the protocol session
    /// until [`complete`](Self::complete)): sets up content decoding, moving
    /// the body bytes that came with the head over to the decoder.
    pub(crate) fn on_head(&mut self, head: &ResponseHead, config: &Config) {
        let r = &mut self.response;
        if !std::mem::take(&mut r.wants_decoding) {
            return;
        }
        r.decoder = ContentDecoder::for_headers(&head.headers, config.limits.max_body_bytes);
        if r.decoder.is_some() {
            r.coded = std::mem::take(&mut r.body);
        }
    }

    /// Body bytes were appended to [`body_input`](Self::body_input): passes
    /// coded ones through the decoder.
    pub(crate) fn on_body(&mut self) -> Result<(), Reason> {
        let r = &mut self.response;
        let Some(decoder) = r.decoder.as_mut() else {
            return Ok(());
        };
        let fed = decoder.feed(&r.coded, &mut r.body);
        r.coded.clear();
        fed.map_err(|e| decode_failure(decoder.coding(), e, r.info.peer))
    }

    // ---- outcomes ----------------------------------------------------------

    /// The response is complete: builds it, unless it is a redirect to
    /// follow (then this exchange becomes the next hop).
    pub(crate) fn complete(
        mut self,
        mut head: ResponseHead,
        now: Instant,
        config: &Config,
    ) -> Outcome {
        self.conn = None;
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
        };
        let peer = r.info.peer;
        if let Some(decoder) = r.decoder.as_mut() {
            if let Err(error) = decoder.finish() {
                let reason = decode_failure(decoder.coding(), error, peer);
                return self.done(Err(Error::new(reason)));
            }
            if decoder.started() {
                // The body is no longer what these described (as in reqwest).
                head.headers.remove(header::CONTENT_ENCODING);
                head.headers.remove(header::CONTENT_LENGTH);
            }
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
                    self.redirect(next, config);
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
            body: self.response.body,
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

    /// The exchange failed on its connection (or could not get one).
    /// `replayable` says no byte of a response arrived: on a reused
    /// connection that is the classic race with a server closing an idle
    /// connection, safe to retry once when the method is idempotent
    /// (RFC 9110 §9.2.2).
    pub(crate) fn fail(mut self, reason: Reason, replay: Replay) -> Outcome {
        self.conn = None;
        if replay == Replay::Unprocessed && self.unprocessed < MAX_UNPROCESSED_RETRIES {
            self.unprocessed += 1;
            self.response = Receiving::default();
            return Outcome::Retry(self);
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
        self.done(Err(Error::new(reason)))
    }

    /// Ends the request with `result`; an error names the URL the caller
    /// asked for.
    fn done(&self, result: Result<Response, Error>) -> Outcome {
        Outcome::Done(
            self.id,
            result.map_err(|e| e.with_url(self.first_url().as_str())),
        )
    }

    /// Ends the request with an error that is not about this attempt's
    /// response (no socket, no TLS in this build), naming the current URL.
    pub(crate) fn error(&self, error: Error) -> Outcome {
        Outcome::Done(self.id, Err(error.with_url(self.request.url().as_str())))
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

/// Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests;
