//! [`Reactor`]: the event loop. It owns the mio `Poll`, the `Waker` the DNS
//! threads use, the two slabs (connections, whose keys are the mio tokens,
//! and exchanges), the dispatch queues, the [`Pool`] and the timer heap. It
//! is the only code that calls `poll()`, and it moves what happens between
//! connections and exchanges: a connection step reports [`Event`]s about the
//! exchanges it carried, and the reactor hands each to its exchange, whose
//! [`Outcome`] says whether the request is done or runs again.
//!
//! One turn of the loop:
//!
//! ```text
//! dispatch queued exchanges ─▶ poll(earliest timer) ─▶ handle events ─▶ fire due timers ─▶ free closed slots
//!        ▲                                                                                           │
//!        └───────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! After every connection step: take what the exchanges it carried have
//! for the caller (chunks and heads of bodies streamed to the caller,
//! progress), hand its events to their exchanges, sync its mio
//! registration with the interest its state derives, reschedule its
//! earliest timer, and park it in the pool if it went idle.
//!
//! What the caller gets ([`Reactor::next_event`]): the streamed events
//! first (queued in order as they arrived), then completions, so a
//! request's chunks always come before its `Done`. Taking a chunk makes
//! room in its request's queue; a connection paused on a full queue is
//! resumed at the start of the next turn.
//!
//! Closed connections leave the slab only after the whole event batch has
//! been handled, and nothing is inserted while a batch is being handled, so a
//! stale event can never reach a new connection in a reused slot; the
//! handles kept elsewhere (timer heap, pool, DNS waiters) carry generations.
//!
//! Dispatch: an exchange first passes its origin's pacing gate (the
//! [`Pacer`]: per-origin rate, crawl delay, a `Retry-After` pause, and the
//! global rate), then takes an idle connection to its origin if there is
//! one; otherwise it opens a new connection if its origin is under
//! `max_connections_per_host` and the total is under `max_connections`
//! (closing the longest-idle connection of another origin to make room if
//! needed). An exchange whose origin is at its limit, or whose origin's
//! gate is closed, waits in that origin's queue, so it does not hold up
//! requests to other origins; the gate's wake-up time is part of the poll
//! timeout, so nothing busy-waits.
//!
//! HTTP/2 (RFC 9113 §9.1): an exchange for an origin that may speak h2
//! first takes a stream on an open h2 connection of its origin with room;
//! else it waits in the origin's queue while a connection to the origin is
//! negotiating (the TLS handshake's ALPN answer decides for all of them) or
//! while every h2 connection's streams are taken and
//! `http2_max_connections_per_host` are open; else it opens a connection.
//! Streams placed in one dispatch are written together: the connections
//! that took them are flushed once dispatch is done. The origin's gate
//! comes first either way: a stream on an open connection is a request
//! start like any other, paced the same.
//!
//! Retries: an exchange the retry policy runs again waits in the exchange
//! slab, on no connection, until its [`ExchangeTimer::Retry`](crate::timer::ExchangeTimer)
//! fires (an `Owner::Exchange` entry in the timer heap); then it is queued.
//! A started exchange held in a queue keeps such an entry for its
//! deadline, so a retry waiting for its turn still times out on time.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token, Waker};

use crate::completion::{Completion, Counters, Event as Out, Progress, RequestId};
use crate::config::Config;
use crate::connection::{Connection, Ctx, Event, may_speak_h2};
use crate::dns::{Addrs, DnsError, Lookup, Resolver, Waiter};
use crate::error::{Error, Reason, Result};
use crate::exchange::{Exchange, Outcome, Streamed};
use crate::handle::{ConnId, ExchangeId, Handle, Slots};
use crate::id_hash::IdMap;
use crate::origin::{Origin, OriginMap};
use crate::pacing::{Held, Pacer, Woken};
use crate::pool::{IdleRef, Pool};
use crate::request::IntoRequest;
use crate::retry::{self, Clock};
use crate::stream::{Connector, TcpConnector};
use crate::timer::{Owner, TimerHeap};

/// The waker's token; connection tokens are slab keys, always below it.
const WAKER: Token = Token(usize::MAX);
/// Bytes read from a socket at a time, into one buffer for all connections.
const READ_BUFFER: usize = 256 * 1024;
/// Events taken per `poll` call.
const EVENTS: usize = 1024;

/// The event loop behind [`Client::fetch_many`](crate::Client::fetch_many), for programs that add work
/// as results arrive, such as a crawler.
///
/// A reactor keeps idle connections for reuse between requests, under the
/// same limits as the client that made it.
///
/// # Examples
///
/// ```no_run
/// use multifetch::{Client, Reactor};
///
/// let client = Client::new();
/// let mut reactor = Reactor::new(&client)?;
/// reactor.submit("http://127.0.0.1:8080/");
/// while let Some(done) = reactor.next_completion()? {
///     if let Ok(response) = done.result {
///         // look for links in `response.text()` and submit more
///         let _ = response;
///     }
/// }
/// # Ok::<(), multifetch::Error>(())
/// ```
pub struct Reactor {
    config: Arc<Config>,
    poll: Poll,
    events: Option<Events>,
    conns: Slots<Connection, ConnId>,
    /// Every request submitted and not finished, queued or on a connection.
    exchanges: Slots<Exchange, ExchangeId>,
    /// Exchanges not started yet (or to run again), in order.
    queue: VecDeque<ExchangeId>,
    /// Exchanges whose origin was at its connection limit when their turn came.
    blocked: OriginMap<VecDeque<ExchangeId>>,
    /// Origins whose blocked exchanges may now find a connection.
    unblocked: VecDeque<Origin>,
    pool: Pool,
    /// The pacing gates per origin and over all origins.
    pacer: Pacer,
    /// Wall-clock time and jitter for the retry policy.
    clock: Clock,
    /// After the OS refused a socket: open no more connections than this
    /// until one closes.
    socket_cap: Option<usize>,
    resolver: Resolver,
    timers: TimerHeap,
    completions: VecDeque<Completion>,
    /// Heads, chunks and progress for the caller, in order, each with the
    /// exchange it came from (to count the chunks it takes).
    streamed: VecDeque<(ExchangeId, Out)>,
    /// Whether to queue `Event::Progress`.
    report_progress: bool,
    /// Connections paused on a full chunk queue that the caller emptied.
    resume: Vec<ConnId>,
    /// The exchange of each unfinished request.
    ids: IdMap<RequestId, ExchangeId>,
    /// The origin of the last request submitted, for the next to share.
    recent: Option<Origin>,
    closed: Vec<ConnId>,
    answers: Vec<(Waiter, std::result::Result<Addrs, DnsError>)>,
    /// What connection steps reported, for the exchanges (reused buffer).
    conn_events: Vec<Event>,
    /// Exchanges on h2 streams that took bytes in a step (see `Ctx::touched`).
    touched: Vec<ExchangeId>,
    /// Connections that took new h2 streams during dispatch, to flush.
    to_flush: Vec<ConnId>,
    /// The sum of every connection's [`Connection::stream_limit`], kept up
    /// to date after each step (see [`stream_capacity`](Self::stream_capacity)).
    stream_capacity: usize,
    scratch: Box<[u8]>,
    counters: Counters,
    connector: Box<dyn Connector>,
    next_id: u64,
    /// True when the last turn found nothing to do: idle connections may have
    /// been closed by their servers since, so look before reusing them.
    was_idle: bool,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("in_flight", &self.in_flight())
            .field("idle", &self.pool.idle_count())
            .field("queued", &self.queued())
            .field("completions", &self.completions.len())
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A reactor running under `config`, connecting through the OS. (The
    /// public constructor, `Reactor::new(&Client)`, is in `client.rs`, so
    /// that this module does not import the one above it.)
    pub(crate) fn with_config(config: Arc<Config>) -> Result<Reactor> {
        Reactor::with_connector(config, Box::new(TcpConnector))
    }

    /// A reactor whose connections are opened by `connector`.
    pub(crate) fn with_connector(
        config: Arc<Config>,
        connector: Box<dyn Connector>,
    ) -> Result<Reactor> {
        let socket_error = |source| Error::new(Reason::Socket { source });
        let poll = Poll::new().map_err(socket_error)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(socket_error)?);
        let resolver = Resolver::new(
            waker,
            &config.resolve,
            config.dns_threads,
            config.dns_cache_ttl,
        );
        Ok(Reactor {
            poll,
            events: Some(Events::with_capacity(EVENTS)),
            conns: Slots::default(),
            exchanges: Slots::default(),
            queue: VecDeque::new(),
            blocked: OriginMap::default(),
            unblocked: VecDeque::new(),
            pool: Pool::default(),
            pacer: Pacer::new(&config.pacing),
            clock: Clock::new(),
            socket_cap: None,
            resolver,
            timers: TimerHeap::default(),
            completions: VecDeque::new(),
            streamed: VecDeque::new(),
            report_progress: false,
            resume: Vec::new(),
            ids: IdMap::default(),
            recent: None,
            closed: Vec::new(),
            answers: Vec::new(),
            conn_events: Vec::new(),
            touched: Vec::new(),
            to_flush: Vec::new(),
            stream_capacity: 0,
            scratch: vec![0; READ_BUFFER].into_boxed_slice(),
            counters: Counters::default(),
            connector,
            next_id: 0,
            was_idle: false,
            config,
        })
    }

    /// Queues a request and returns its id. A request that cannot be made
    /// (an invalid URL) completes at once with its error.
    pub fn submit(&mut self, request: impl IntoRequest) -> RequestId {
        self.submit_at(request, Instant::now())
    }

    fn submit_at(&mut self, request: impl IntoRequest, now: Instant) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        match request
            .into_request()
            .and_then(|request| Exchange::new(id, request, now, &self.config, self.recent.as_ref()))
        {
            Ok(exchange) => {
                self.recent = Some(exchange.origin().clone());
                let exchange = self.exchanges.insert_with(|_| exchange);
                self.ids.insert(id, exchange);
                self.queue.push_back(exchange);
            }
            Err(error) => self.completions.push_back(Completion {
                id,
                result: Err(error),
            }),
        }
        id
    }

    /// Requests submitted and not yet returned by
    /// [`next_completion`](Self::next_completion).
    pub fn pending(&self) -> usize {
        self.exchanges.len() + self.completions.len()
    }

    /// Requests running on a connection right now (or waiting for the
    /// connection opened for them).
    pub fn in_flight(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|(_, ex)| ex.conn().is_some())
            .count()
    }

    /// Streams the HTTP/2 connections may carry at once, over all of them
    /// (each: the smaller of the server's limit and
    /// `http2_max_concurrent_streams`; 100 for one still negotiating).
    pub(crate) fn stream_capacity(&self) -> usize {
        self.stream_capacity
    }

    /// Idle kept-alive connections waiting for a request.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }

    /// Running totals: connections opened and reused, retries and replays,
    /// bytes sent and received.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// How far request `id`'s body is: bytes received and, when known,
    /// expected. `None` once the request has finished (or for an id this
    /// reactor never gave). Cheap: one hash lookup.
    pub fn progress(&self, id: RequestId) -> Option<Progress> {
        let exchange = self.ids.get(&id)?;
        self.exchanges.get(*exchange).map(Exchange::progress)
    }

    /// Whether [`next_event`](Self::next_event) hands out
    /// [`Event::Progress`](crate::Event::Progress): at most one per request
    /// per turn of the loop in which its body bytes arrived. Off by default.
    pub fn report_progress(&mut self, on: bool) {
        self.report_progress = on;
    }

    fn queued(&self) -> usize {
        self.queue.len() + self.blocked.values().map(VecDeque::len).sum::<usize>()
    }

    /// Runs the loop until a request finishes and returns it; `None` when
    /// nothing is left to do. Other events (chunks of bodies streamed to the
    /// caller, progress) are dropped on the way: use
    /// [`next_event`](Self::next_event) to see them.
    ///
    /// # Errors
    ///
    /// Only when polling itself fails. Every unfinished request is then
    /// completed with an error too, so nothing is lost; a failed request is an
    /// `Ok(Some(..))` whose `result` is the error.
    pub fn next_completion(&mut self) -> Result<Option<Completion>> {
        loop {
            match self.next_event()? {
                Some(Out::Done(done)) => return Ok(Some(done)),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// Runs the loop until there is something for the caller and returns
    /// it: the head or the next chunk of a body streamed to the caller
    /// ([`Request::stream_chunks`](crate::Request::stream_chunks)), progress
    /// (if [`report_progress`](Self::report_progress) is on), or a finished
    /// request. `None` when nothing is left to do.
    ///
    /// A request's events come in order and its [`Event::Done`](crate::Event::Done)
    /// last. Taking a chunk makes room for more: a request whose
    /// [`CHUNK_QUEUE_BYTES`](crate::CHUNK_QUEUE_BYTES) are all waiting for
    /// the caller reads nothing more until then.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use multifetch::{Client, Event, Reactor, Request};
    ///
    /// let client = Client::new();
    /// let mut reactor = Reactor::new(&client)?;
    /// reactor.submit(Request::get("http://127.0.0.1:8080/events")?.stream_chunks().timeout(None));
    /// while let Some(event) = reactor.next_event()? {
    ///     match event {
    ///         Event::Head { status, .. } => println!("{status}"),
    ///         Event::Chunk { bytes, .. } => print!("{}", String::from_utf8_lossy(&bytes)),
    ///         Event::Done(done) => println!("done: {:?}", done.result.map(|r| r.status())),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok::<(), multifetch::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`next_completion`](Self::next_completion).
    pub fn next_event(&mut self) -> Result<Option<Out>> {
        self.next_event_until(None)
    }

    /// [`next_event`](Self::next_event), giving up at `deadline`: `None`
    /// when nothing came by then, or when nothing is left to do
    /// ([`pending`](Self::pending) tells which). For a program with timers
    /// of its own, such as the reconnect delays of `examples/sse`.
    ///
    /// # Errors
    ///
    /// As [`next_completion`](Self::next_completion).
    pub fn next_event_before(&mut self, deadline: Instant) -> Result<Option<Out>> {
        self.next_event_until(Some(deadline))
    }

    fn next_event_until(&mut self, deadline: Option<Instant>) -> Result<Option<Out>> {
        loop {
            if let Some((exchange, event)) = self.streamed.pop_front() {
                if let Out::Chunk { bytes, .. } = &event {
                    self.on_chunk_taken(exchange, bytes.len());
                }
                return Ok(Some(event));
            }
            if let Some(done) = self.completions.pop_front() {
                return Ok(Some(Out::Done(done)));
            }
            if self.pending() == 0 {
                self.was_idle = true;
                return Ok(None);
            }
            if deadline.is_some_and(|at| at <= Instant::now()) {
                return Ok(None);
            }
            if let Err(error) = self.turn(deadline) {
                self.abort(&error);
                return Err(error);
            }
        }
    }

    /// The caller took a chunk of `exchange`'s body: its connection reads
    /// on (next turn) if that made room.
    fn on_chunk_taken(&mut self, exchange: ExchangeId, n: usize) {
        let Some(ex) = self.exchanges.get_mut(exchange) else {
            return;
        };
        if ex.on_chunks_taken(n) {
            if let Some(conn) = ex.conn() {
                self.resume.push(conn);
            }
        }
    }

    /// Resumes the connections whose sinks made room.
    fn resume_paused(&mut self, now: Instant) {
        let mut resume = std::mem::take(&mut self.resume);
        for conn in resume.drain(..) {
            self.with_conn(conn, now, Connection::on_sink_ready);
        }
        if self.resume.is_empty() {
            self.resume = resume;
        }
    }

    /// Queues what exchange `id` has for the caller: the head and chunks of
    /// a streamed body, and its progress when asked for.
    fn collect_streamed(&mut self, id: ExchangeId) {
        let Some(ex) = self.exchanges.get_mut(id) else {
            return;
        };
        let request = ex.id();
        let out = &mut self.streamed;
        ex.take_streamed(|streamed| {
            let event = match streamed {
                Streamed::Head(status, headers) => Out::Head {
                    id: request,
                    status,
                    headers,
                },
                Streamed::Chunk(bytes) => Out::Chunk { id: request, bytes },
            };
            out.push_back((id, event));
        });
        if self.report_progress {
            if let Some(progress) = ex.take_progress() {
                let event = Out::Progress {
                    id: request,
                    progress,
                };
                self.streamed.push_back((id, event));
            }
        }
    }

    /// One turn: start what fits, wait for events or the next timer (or
    /// the caller's deadline), handle them.
    fn turn(&mut self, deadline: Option<Instant>) -> Result<()> {
        if std::mem::take(&mut self.was_idle) && self.pool.idle_count() > 0 {
            // Learn which idle connections their servers closed meanwhile.
            self.poll_once(Some(Duration::ZERO))?;
        }
        self.resume_paused(Instant::now());
        if !self.streamed.is_empty() {
            return Ok(());
        }
        self.dispatch(Instant::now());
        if !self.completions.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let timeout = self.poll_timeout(now);
        let timeout = match deadline.map(|at| at.saturating_duration_since(now)) {
            Some(left) => Some(timeout.map_or(left, |t| t.min(left))),
            None => timeout,
        };
        self.poll_once(timeout)
    }

    /// How long the loop may sleep: until the earliest timer or pacing gate.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let gate = self
            .pacer
            .next_wake()
            .map(|at| at.saturating_duration_since(now));
        match (self.timers.next_timeout(now), gate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_once(&mut self, timeout: Option<Duration>) -> Result<()> {
        let mut events = self
            .events
            .take()
            .unwrap_or_else(|| Events::with_capacity(EVENTS));
        let polled = match self.poll.poll(&mut events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        };
        if let Err(source) = polled {
            self.events = Some(events);
            return Err(Error::new(Reason::Socket { source }));
        }
        let now = Instant::now();
        for event in events.iter() {
            match event.token() {
                WAKER => self.on_dns_answers(now),
                Token(key) => self.on_ready(key, event.is_read_closed(), now),
            }
        }
        self.events = Some(events);
        self.on_timers(now);
        self.free_closed();
        Ok(())
    }

    /// Connection `key` (a mio token) is ready; `read_closed`: the event
    /// says the server's side is closed.
    fn on_ready(&mut self, key: usize, read_closed: bool, now: Instant) {
        if let Some(id) = self.conns.handle_at(key) {
            self.with_conn(id, now, |c, ctx| c.on_ready(read_closed, ctx));
        }
    }

    /// Fires every timer due at `now` (a connection's own, or the deadline
    /// of the exchange it carries; an exchange's own while it is off every
    /// connection), then opens the pacing gates due.
    fn on_timers(&mut self, now: Instant) {
        while let Some(due) = self.timers.pop_due(now) {
            match due.owner {
                Owner::Conn(id) => {
                    let live = self
                        .conns
                        .get_mut(id)
                        .is_some_and(|c| c.timers_mut().fire(due.at));
                    if live {
                        self.with_conn(id, now, Connection::on_timeout);
                    }
                }
                Owner::Exchange(id) => {
                    let live = self
                        .exchanges
                        .get_mut(id)
                        .is_some_and(|ex| ex.timers_mut().fire(due.at));
                    if live {
                        self.on_exchange_timeout(id, now);
                    }
                }
            }
        }
        while let Some(woken) = self.pacer.pop_due(now) {
            if let Woken::Origin(origin) = woken {
                if self.blocked.contains_key(&origin) {
                    self.unblocked.push_back(origin);
                }
            }
            // The global gate needs no more: dispatch runs every turn.
        }
    }

    /// A timer of an exchange that is off every connection fired: its retry
    /// wait is over (queue it), or its deadline passed while it waited in a
    /// queue (fail it). On a connection, the connection's table carries the
    /// deadline and this entry is stale.
    fn on_exchange_timeout(&mut self, id: ExchangeId, now: Instant) {
        let Some(ex) = self.exchanges.get_mut(id) else {
            return;
        };
        if ex.conn().is_some() {
            return;
        }
        if ex.take_retry_due(now) {
            self.queue.push_front(id);
            self.hold(id);
            return;
        }
        if ex.is_waiting_to_retry() || ex.deadline().is_none_or(|d| d > now) {
            self.hold(id);
            return;
        }
        if let Some(ex) = self.exchanges.remove(id) {
            // Its queue entry goes stale: dispatch skips handles that are gone.
            let outcome = ex.expire(&self.config);
            self.settle(outcome);
        }
    }

    /// Keeps a heap entry for the timers of exchange `id` while it is off
    /// every connection (none for a request not started yet: it has none).
    fn hold(&mut self, id: ExchangeId) {
        if let Some(ex) = self.exchanges.get_mut(id) {
            self.timers.schedule(ex.timers_mut(), Owner::Exchange(id));
        }
    }

    /// Runs one step on connection `id`, then deals with what it did; the
    /// handler's result, or `None` when the connection is gone or closed.
    fn with_conn<R>(
        &mut self,
        id: ConnId,
        now: Instant,
        handler: impl FnOnce(&mut Connection, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let conn = self.conns.get_mut(id)?;
        if conn.is_closed() {
            return None;
        }
        let mut ctx = Ctx {
            registry: self.poll.registry(),
            config: &self.config,
            now,
            scratch: &mut self.scratch,
            counters: &mut self.counters,
            exchanges: &mut self.exchanges,
            connector: &mut *self.connector,
            events: &mut self.conn_events,
            touched: &mut self.touched,
        };
        let result = handler(conn, &mut ctx);
        conn.sync_interest(&mut ctx);
        self.after_step(id, now);
        Some(result)
    }

    /// Books what a step did: hands its events to their exchanges, then
    /// frees, reschedules or parks the connection.
    fn after_step(&mut self, id: ConnId, now: Instant) {
        if let Some(carried) = self.conns.get(id).and_then(Connection::carried) {
            self.collect_streamed(carried);
        }
        let mut touched = std::mem::take(&mut self.touched);
        for exchange in touched.drain(..) {
            self.collect_streamed(exchange);
        }
        self.touched = touched;
        let mut events = std::mem::take(&mut self.conn_events);
        for event in events.drain(..) {
            self.collect_streamed(event.exchange());
            self.on_conn_event(event, now);
        }
        self.conn_events = events;
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let limit = if conn.is_closed() {
            0
        } else {
            conn.stream_limit()
        };
        let counted = conn.count_streams(limit);
        self.stream_capacity = (self.stream_capacity + limit).saturating_sub(counted);
        if let Some(h2) = conn.take_opened() {
            self.pool.negotiated(conn.origin(), id, h2);
            if self.blocked.contains_key(conn.origin()) {
                self.unblocked.push_back(conn.origin().clone());
            }
        } else if conn.is_h2() {
            // Streams may have ended, or the connection may take no more
            // (GOAWAY): the origin's waiting requests may move either way.
            let origin = conn.origin();
            if self.blocked.contains_key(origin) && !self.unblocked.contains(origin) {
                self.unblocked.push_back(origin.clone());
            }
        }
        if conn.is_closed() {
            self.closed.push(id);
            return;
        }
        self.timers.schedule(conn.timers_mut(), Owner::Conn(id));
        if conn.is_idle() && !self.pool.is_parked(conn.origin(), id) {
            self.park(id);
        }
    }

    /// Hands what a connection reported to the exchange it concerns.
    fn on_conn_event(&mut self, event: Event, now: Instant) {
        let outcome = match event {
            Event::Response { exchange, head } => {
                let Some(ex) = self.exchanges.remove(exchange) else {
                    return;
                };
                if self.config.pause_on_retry_after && retry::is_slow_down(head.status) {
                    self.pause_origin(ex.origin(), &head.headers, now);
                }
                ex.complete(head, now, &self.config, &mut self.clock)
            }
            Event::Failed {
                exchange,
                reason,
                replay,
            } => {
                let Some(ex) = self.exchanges.remove(exchange) else {
                    return;
                };
                ex.fail(reason, replay, now, &self.config, &mut self.clock)
            }
            Event::NoSocket { exchange, source } => return self.on_no_socket(exchange, source),
        };
        self.settle(outcome);
    }

    /// A 429 or 503 with `Retry-After`: no new request starts to `origin`
    /// until then (capped by the retry policy's `max_retry_after`).
    fn pause_origin(&mut self, origin: &Origin, headers: &http::HeaderMap, now: Instant) {
        let Some(wait) = retry::retry_after(headers, self.clock.wall()) else {
            return;
        };
        let cap = self.config.retry.as_ref().map_or(
            retry::DEFAULT_MAX_RETRY_AFTER,
            retry::RetryPolicy::retry_after_cap,
        );
        if let Some(until) = now.checked_add(wait.min(cap)) {
            self.pacer.pause(origin, until, now);
        }
    }

    /// Acts on an exchange's outcome: complete it, queue it again, or let
    /// it wait for its next attempt.
    fn settle(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Done(id, result) => {
                self.ids.remove(&id);
                self.completions.push_back(Completion { id, result });
            }
            Outcome::Resume(ex) => {
                self.counters.resumes += 1;
                let id = self.requeue(ex);
                self.queue.push_front(id);
            }
            Outcome::Retry(ex) => {
                self.counters.replays += 1;
                let id = self.requeue(ex);
                self.queue.push_front(id);
            }
            // Off every connection until its retry timer fires.
            Outcome::RetryLater(ex) => {
                self.counters.retries += 1;
                let id = self.requeue(ex);
                self.hold(id);
            }
            // The next hop goes first, so a chain is not held up behind
            // the queue; it takes a pooled connection like any request.
            Outcome::Redirect(ex) => {
                let id = self.requeue(ex);
                self.queue.push_front(id);
            }
        }
    }

    /// Puts an exchange that runs again back into the slab, under a new
    /// handle (its deadline is scheduled again when it is placed).
    fn requeue(&mut self, mut ex: Exchange) -> ExchangeId {
        ex.detach();
        // Any heap entry was made for the old handle.
        ex.timers_mut().forget_entry();
        let request = ex.id();
        let id = self.exchanges.insert_with(|_| ex);
        self.ids.insert(request, id);
        id
    }

    /// Puts a connection that just went idle into the pool, or closes it
    /// when the pool is full.
    fn park(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let entry = IdleRef {
            conn: id,
            serial: conn.idle_serial(),
        };
        if !self.pool.park(conn.origin(), entry, &self.config) {
            conn.close(self.poll.registry());
            self.closed.push(id);
            return;
        }
        if self.blocked.contains_key(conn.origin()) {
            self.unblocked.push_back(conn.origin().clone());
        }
        let conns = &self.conns;
        self.pool.compact(|r| is_live_idle(conns, r));
    }

    /// The OS refused a socket. Free idle sockets; if other requests hold
    /// connections, wait for one of them to close, else fail the request.
    fn on_no_socket(&mut self, id: ExchangeId, source: io::Error) {
        while self.evict_idle(None) {}
        // The connection that failed is closed but still in the slab.
        let busy = (self.conns.len() - self.pool.idle_count()).saturating_sub(1);
        let Some(ex) = self.exchanges.get_mut(id) else {
            return;
        };
        if busy > 0 {
            ex.detach();
            self.socket_cap = Some(busy);
            self.queue.push_front(id);
        } else if let Some(ex) = self.exchanges.remove(id) {
            let outcome = ex.error(Error::new(Reason::Socket { source }));
            self.settle(outcome);
        }
    }

    fn on_dns_answers(&mut self, now: Instant) {
        let mut answers = std::mem::take(&mut self.answers);
        self.resolver.take_answers(now, &mut answers);
        for (waiter, answer) in answers.drain(..) {
            self.with_conn(waiter, now, |conn, ctx| conn.on_resolved(answer, ctx));
        }
        self.answers = answers;
    }

    /// Removes closed connections and lets their origins' waiting requests in.
    fn free_closed(&mut self) {
        let mut closed = std::mem::take(&mut self.closed);
        for id in closed.drain(..) {
            let Some(mut conn) = self.conns.remove(id) else {
                continue;
            };
            self.socket_cap = None;
            self.stream_capacity = self.stream_capacity.saturating_sub(conn.count_streams(0));
            if conn.is_negotiating() {
                self.pool.negotiation_failed(conn.origin());
            }
            self.pool.closed(conn.origin(), id);
            if self.blocked.contains_key(conn.origin()) {
                self.unblocked.push_back(conn.origin().clone());
            }
        }
        self.closed = closed;
    }

    /// Starts queued exchanges while the limits allow: first those of origins
    /// that just freed a connection, then the main queue in order.
    fn dispatch(&mut self, now: Instant) {
        while let Some(origin) = self.unblocked.pop_front() {
            while let Some(id) = self.blocked.get_mut(&origin).and_then(VecDeque::pop_front) {
                match self.place(id, now) {
                    Placed::Started => {}
                    Placed::OriginFull(id) | Placed::Paced(id) => {
                        self.blocked
                            .entry(origin.clone())
                            .or_default()
                            .push_front(id);
                        self.hold(id);
                        break;
                    }
                    Placed::AllFull(id) => {
                        self.blocked
                            .entry(origin.clone())
                            .or_default()
                            .push_front(id);
                        self.hold(id);
                        self.unblocked.push_front(origin);
                        self.free_closed();
                        return;
                    }
                }
            }
            if self.blocked.get(&origin).is_some_and(VecDeque::is_empty) {
                self.blocked.remove(&origin);
            }
        }
        while let Some(id) = self.queue.pop_front() {
            let Some(origin) = self.exchanges.get(id).map(Exchange::origin) else {
                continue;
            };
            if let Some(waiting) = self.blocked.get_mut(origin) {
                // Keep the origin's requests in order behind those already waiting.
                waiting.push_back(id);
                continue;
            }
            match self.place(id, now) {
                Placed::Started => {}
                Placed::OriginFull(id) | Placed::Paced(id) => {
                    if let Some(origin) = self.exchanges.get(id).map(Exchange::origin) {
                        self.blocked
                            .entry(origin.clone())
                            .or_default()
                            .push_back(id);
                    }
                    self.hold(id);
                }
                Placed::AllFull(id) => {
                    self.queue.push_front(id);
                    self.hold(id);
                    break;
                }
            }
        }
        self.flush_placed(now);
        self.free_closed();
    }

    /// Writes the streams dispatch placed on h2 connections, one write per
    /// connection for the whole batch.
    fn flush_placed(&mut self, now: Instant) {
        let mut to_flush = std::mem::take(&mut self.to_flush);
        for conn in to_flush.drain(..) {
            self.with_conn(conn, now, Connection::flush);
        }
        self.to_flush = to_flush;
    }

    /// Runs exchange `id` on an idle connection, or a new one if the limits
    /// allow; an exchange not started comes back in the answer, so it is
    /// always somewhere: on a connection, queued, or completed.
    fn place(&mut self, id: ExchangeId, now: Instant) -> Placed {
        let Some(ex) = self.exchanges.get(id) else {
            return Placed::Started;
        };
        if self.pacer.is_active() {
            match self.pacer.check(ex.origin(), now) {
                None => {}
                Some(Held::Origin) => return Placed::Paced(id),
                // Like a full client: nothing starts until the gate opens.
                Some(Held::All) => return Placed::AllFull(id),
            }
        }
        let retry = ex.is_retry();
        if !retry && may_speak_h2(ex.origin(), &self.config) {
            let origin = ex.origin().clone();
            if let Some(conn) = self.h2_with_room(&origin) {
                return self.start_stream(conn, &origin, id, now);
            }
            if !self.pool.spoke_h1(&origin) {
                let conns = &self.conns;
                let usable = self
                    .pool
                    .h2_conns(&origin)
                    .iter()
                    .filter(|&&c| conns.get(c).is_some_and(Connection::is_usable_h2))
                    .count();
                // Connections still negotiating have no free stream yet: a
                // further one opens beside them, within the h2 limit.
                let opening = self.pool.negotiating_to(&origin);
                if self.pool.awaits_negotiation(&origin)
                    || usable + opening >= self.config.http2.max_connections_per_host
                {
                    return Placed::OriginFull(id);
                }
            }
        }
        let Some(ex) = self.exchanges.get(id) else {
            return Placed::Started;
        };
        if !retry {
            if let Some(conn) = self.pool.take(ex.origin()) {
                self.counters.connections_reused += 1;
                self.pacer.started(ex.origin(), now);
                return self.reuse(conn, id, now);
            }
        }
        let max = self.socket_cap.map_or(self.config.max_connections, |cap| {
            cap.min(self.config.max_connections)
        });
        if self.pool.open_to(ex.origin()) >= self.config.max_connections_per_host {
            // A retry needs a fresh connection: make room by closing an idle one.
            let origin = ex.origin().clone();
            if !(retry && self.evict_idle(Some(&origin))) {
                return Placed::OriginFull(id);
            }
        }
        if self.conns.len() - self.closed.len() >= max && !self.evict_idle(None) {
            return Placed::AllFull(id);
        }
        if let Some(ex) = self.exchanges.get(id) {
            self.pacer.started(ex.origin(), now);
        }
        self.start(id, now);
        Placed::Started
    }

    /// An open h2 connection to `origin` that can take a stream now, the
    /// oldest first (so a further connection fills only once the first is
    /// full, as Go's transport does).
    fn h2_with_room(&self, origin: &Origin) -> Option<ConnId> {
        self.pool
            .h2_conns(origin)
            .iter()
            .copied()
            .find(|&c| self.conns.get(c).is_some_and(Connection::has_stream_room))
    }

    /// Starts exchange `id` on a new stream of h2 connection `conn`; its
    /// bytes go out when dispatch flushes.
    fn start_stream(
        &mut self,
        conn: ConnId,
        origin: &Origin,
        id: ExchangeId,
        now: Instant,
    ) -> Placed {
        self.pool.unpark(origin, conn);
        self.attach(id, conn, now);
        match self.with_conn(conn, now, |c, ctx| c.start(id, ctx)) {
            Some(Ok(())) => {
                self.counters.connections_reused += 1;
                self.pacer.started(origin, now);
                if self.to_flush.last() != Some(&conn) {
                    self.to_flush.push(conn);
                }
                Placed::Started
            }
            Some(Err(_)) | None => {
                if let Some(ex) = self.exchanges.get_mut(id) {
                    ex.detach();
                }
                Placed::OriginFull(id)
            }
        }
    }

    /// Starts exchange `id` on idle connection `conn`.
    fn reuse(&mut self, conn: ConnId, id: ExchangeId, now: Instant) -> Placed {
        self.attach(id, conn, now);
        match self.with_conn(conn, now, |c, ctx| c.start(id, ctx)) {
            Some(Ok(())) => Placed::Started,
            // Not idle after all (the pool only holds idle connections):
            // back to the front of the queue, to try again.
            Some(Err(_)) | None => {
                if let Some(ex) = self.exchanges.get_mut(id) {
                    ex.detach();
                }
                self.queue.push_front(id);
                Placed::Started
            }
        }
    }

    /// Binds exchange `id` to connection `conn` (the first time, its
    /// deadline starts running).
    fn attach(&mut self, id: ExchangeId, conn: ConnId, now: Instant) {
        if let Some(ex) = self.exchanges.get_mut(id) {
            ex.attach(conn, now, &self.config);
        }
    }

    /// Closes the longest-idle connection (of `origin`, if given) to free its
    /// socket; false if there is none.
    fn evict_idle(&mut self, origin: Option<&Origin>) -> bool {
        let conns = &self.conns;
        let Some(victim) = self.pool.oldest(origin, |r| is_live_idle(conns, r)) else {
            return false;
        };
        if let Some(conn) = self.conns.get_mut(victim) {
            conn.close(self.poll.registry());
            self.closed.push(victim);
        }
        self.free_closed();
        true
    }

    /// Opens a connection for exchange `id`: look the host up, and connect
    /// now if the answer is already known.
    fn start(&mut self, id: ExchangeId, now: Instant) {
        let Some(ex) = self.exchanges.get_mut(id) else {
            return;
        };
        if ex.origin().https && !cfg!(feature = "tls") {
            if let Some(ex) = self.exchanges.remove(id) {
                let outcome = ex.error(Error::new(Reason::TlsOff));
                self.settle(outcome);
            }
            return;
        }
        let origin = ex.origin().clone();
        let config = &self.config;
        let conn = self.conns.insert_with(|conn| {
            ex.attach(conn, now, config);
            Connection::new(origin, Token(conn.key()), id, ex.deadline(), now, config)
        });
        let Some(c) = self.conns.get(conn) else {
            return;
        };
        if let Some(seen) = self
            .exchanges
            .get_mut(id)
            .and_then(Exchange::take_dns_failure)
        {
            self.resolver
                .forget_failure(c.origin().connect_host(), seen);
        }
        self.pool.opened(c.origin());
        if c.is_negotiating() {
            self.pool.negotiating(c.origin());
        }
        let lookup = self.resolver.lookup(c.origin().connect_host(), conn, now);
        match lookup {
            Lookup::Ready(answer) => {
                self.with_conn(conn, now, |c, ctx| c.on_resolved(answer, ctx));
            }
            Lookup::Pending => self.after_step(conn, now),
        }
    }

    /// Ends every unfinished request with a copy of `error`.
    fn abort(&mut self, error: &Error) {
        let registry = self.poll.registry();
        for mut conn in self.conns.drain() {
            conn.close(registry);
        }
        for ex in self.exchanges.drain() {
            let source = io::Error::other(error.to_string());
            let result =
                Err(Error::new(Reason::Socket { source }).with_url(ex.request().url().as_str()));
            self.completions.push_back(Completion {
                id: ex.id(),
                result,
            });
        }
        self.queue.clear();
        self.ids.clear();
        self.resume.clear();
        self.blocked.clear();
        self.pacer = Pacer::new(&self.config.pacing);
        self.pool.clear();
        self.unblocked.clear();
        self.closed.clear();
        self.stream_capacity = 0;
    }
}

/// Where [`Reactor::place`] put an exchange.
enum Placed {
    Started,
    /// Its origin is at `max_connections_per_host`.
    OriginFull(ExchangeId),
    /// Its origin's pacing gate is closed until a wake-up.
    Paced(ExchangeId),
    /// All connections are busy, or the global rate holds every request.
    AllFull(ExchangeId),
}

fn is_live_idle(conns: &Slots<Connection, ConnId>, entry: &IdleRef) -> bool {
    conns
        .get(entry.conn)
        .is_some_and(|c| c.idle_serial() == entry.serial && c.is_idle())
}

/// Hooks for the in-memory tests: drive the reactor with a fake network and
/// a clock of the test's own.
#[cfg(test)]
impl Reactor {
    pub(crate) fn submit_at_for_test(
        &mut self,
        request: impl IntoRequest,
        now: Instant,
    ) -> RequestId {
        self.submit_at(request, now)
    }

    /// One turn at `now`, with every connection that has a socket reported
    /// ready (spurious readiness is allowed: every state copes with it), and
    /// read-closed where the peer's script holds its end, as epoll reports
    /// a FIN that has arrived (unless the peer turned that off).
    pub(crate) fn drive(&mut self, now: Instant) {
        self.resume_paused(now);
        self.dispatch(now);
        let ready: Vec<(usize, bool)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.interest().is_some())
            .map(|(id, c)| (id.key(), c.fin_arrived_for_test()))
            .collect();
        for (key, read_closed) in ready {
            self.on_ready(key, read_closed, now);
        }
        self.on_timers(now);
        self.free_closed();
    }

    /// Hands the resolver's answers over, as the waker would.
    pub(crate) fn deliver_dns(&mut self, now: Instant) {
        self.on_dns_answers(now);
        self.free_closed();
    }

    pub(crate) fn resolver_mut(&mut self) -> &mut Resolver {
        &mut self.resolver
    }

    pub(crate) fn take_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    /// The next streamed event (head, chunk, progress), as
    /// [`next_event`](Self::next_event) hands it out, without running the
    /// loop.
    pub(crate) fn take_streamed(&mut self) -> Option<Out> {
        let (exchange, event) = self.streamed.pop_front()?;
        if let Out::Chunk { bytes, .. } = &event {
            self.on_chunk_taken(exchange, bytes.len());
        }
        Some(event)
    }

    /// When the earliest timer or pacing gate is due.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.poll_timeout(now)
    }

    /// Fixes the wall-clock time the retry policy reads, and seeds its jitter.
    pub(crate) fn fix_clock(&mut self, wall: std::time::SystemTime, seed: u64) {
        self.clock = Clock::seeded(seed);
        self.clock.fix_wall(wall);
    }

    /// Requests waiting in queues (the main one and the origins').
    pub(crate) fn queued_for_test(&self) -> usize {
        self.queued()
    }

    pub(crate) fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Moves the next stream id of every h2 connection to `id`.
    #[cfg(feature = "http2")]
    pub(crate) fn set_next_stream_id_for_test(&mut self, id: u32) {
        let ids: Vec<ConnId> = self.conns.iter().map(|(c, _)| c).collect();
        for conn in ids {
            if let Some(c) = self.conns.get_mut(conn) {
                c.set_next_stream_id_for_test(id);
            }
        }
    }

    /// The interest each connection derives from its state, oldest first.
    pub(crate) fn interests(&self) -> Vec<Option<mio::Interest>> {
        self.conns.iter().map(|(_, c)| c.interest()).collect()
    }
}
