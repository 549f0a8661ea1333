//! [`Reactor`]: the event loop. It owns the mio `Poll`, the `Waker` the DNS
//! threads use, the slab of connections (slab keys are the mio tokens), the
//! queue of requests waiting for a connection, the keep-alive pool and the
//! deadlines. It is the only code that calls `poll()`.
//!
//! One turn of the loop:
//!
//! ```text
//! dispatch queued requests ─▶ poll(earliest deadline) ─▶ handle events ─▶ fire due deadlines ─▶ free closed slots
//!        ▲                                                                                              │
//!        └──────────────────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Closed connections leave the slab only after the whole event batch has
//! been handled, and nothing is inserted while a batch is being handled, so a
//! stale event can never reach a new connection in a reused slot.
//!
//! Dispatch: a request takes an idle connection to its origin if there is
//! one; otherwise it opens a new connection if its origin is under
//! `max_connections_per_host` and the total is under `max_connections`
//! (closing the longest-idle connection of another origin to make room if
//! needed). A request whose origin is at its limit waits in that origin's
//! queue, so it does not hold up requests to other origins.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use mio::{Events, Poll, Token, Waker};
use slab::Slab;

use crate::client::{Client, Config};
use crate::connection::{Connection, Ctx, Job, Step};
use crate::dns::{Addrs, DnsError, Lookup, Resolver, Waiter};
use crate::error::{Error, Reason, Result};
use crate::origin::Origin;
use crate::request::IntoRequest;
use crate::response::Response;
use crate::timer::Timers;

/// The waker's token; connection tokens are slab keys, always below it.
const WAKER: Token = Token(usize::MAX);
/// Bytes read from a socket at a time, into one buffer for all connections.
const READ_BUFFER: usize = 64 * 1024;
/// Events taken per `poll` call.
const EVENTS: usize = 1024;

/// Identifies a submitted request; ids count up from 0 in submission order
/// within one [`Reactor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The id as a number (0 for the first request submitted to a reactor).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A finished request: its id and its result.
#[derive(Debug)]
pub struct Completion {
    /// The id [`Reactor::submit`] returned.
    pub id: RequestId,
    /// The response, or what went wrong.
    pub result: Result<Response>,
}

/// Running totals of a reactor's network work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// TCP connections opened (connect calls that the OS accepted).
    pub connections_opened: u64,
    /// Requests that went over a kept-alive connection.
    pub connections_reused: u64,
    /// Requests retried on a fresh connection after a kept-alive one failed
    /// before answering.
    pub retries: u64,
    /// Bytes written to sockets.
    pub bytes_sent: u64,
    /// Bytes read from sockets.
    pub bytes_received: u64,
}

/// An idle connection in the pool, valid while the connection at `key` has
/// this generation and idle serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdleRef {
    key: usize,
    generation: u64,
    serial: u64,
}

/// The event loop behind [`Client::fetch_many`], for programs that add work
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
    conns: Slab<Connection>,
    /// Requests not started yet, in submission order.
    queue: VecDeque<Job>,
    /// Requests whose origin was at its connection limit when their turn came.
    blocked: HashMap<Origin, VecDeque<Job>>,
    /// Origins whose blocked requests may now find a connection.
    unblocked: VecDeque<Origin>,
    open_per_origin: HashMap<Origin, usize>,
    /// Idle connections per origin, most recently used last.
    idle: HashMap<Origin, Vec<IdleRef>>,
    /// Idle connections oldest first, for eviction; entries are checked when
    /// taken, and compacted when stale ones pile up.
    idle_lru: VecDeque<IdleRef>,
    idle_count: usize,
    /// After the OS refused a socket: open no more connections than this
    /// until one closes.
    socket_cap: Option<usize>,
    resolver: Resolver,
    timers: Timers,
    completions: VecDeque<Completion>,
    closed: Vec<usize>,
    answers: Vec<(Waiter, std::result::Result<Addrs, DnsError>)>,
    scratch: Box<[u8]>,
    counters: Counters,
    next_id: u64,
    next_generation: u64,
    /// True when the last turn found nothing to do: idle connections may have
    /// been closed by their servers since, so look before reusing them.
    was_idle: bool,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("in_flight", &self.in_flight())
            .field("idle", &self.idle_count)
            .field("queued", &self.queued())
            .field("completions", &self.completions.len())
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A reactor with the client's limits and timeouts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the OS refuses the
    /// poller or its waker (usually: out of file descriptors).
    pub fn new(client: &Client) -> Result<Reactor> {
        let socket_error = |source| Error::new(Reason::Socket { source });
        let poll = Poll::new().map_err(socket_error)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(socket_error)?);
        let config = Arc::clone(&client.config);
        let resolver = Resolver::new(
            waker,
            &config.resolve,
            config.dns_threads,
            config.dns_cache_ttl,
        );
        Ok(Reactor {
            poll,
            events: Some(Events::with_capacity(EVENTS)),
            conns: Slab::new(),
            queue: VecDeque::new(),
            blocked: HashMap::new(),
            unblocked: VecDeque::new(),
            open_per_origin: HashMap::new(),
            idle: HashMap::new(),
            idle_lru: VecDeque::new(),
            idle_count: 0,
            socket_cap: None,
            resolver,
            timers: Timers::default(),
            completions: VecDeque::new(),
            closed: Vec::new(),
            answers: Vec::new(),
            scratch: vec![0; READ_BUFFER].into_boxed_slice(),
            counters: Counters::default(),
            next_id: 0,
            next_generation: 0,
            was_idle: false,
            config,
        })
    }

    /// Queues a request and returns its id. A request that cannot be made
    /// (an invalid URL) completes at once with its error.
    pub fn submit(&mut self, request: impl IntoRequest) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        match request.into_request() {
            Ok(request) => {
                self.queue
                    .push_back(Job::new(id, request, Instant::now(), &self.config))
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
        self.queued() + self.in_flight() + self.completions.len()
    }

    /// Requests running on a connection right now.
    pub fn in_flight(&self) -> usize {
        self.conns.len() - self.idle_count
    }

    /// Idle kept-alive connections waiting for a request.
    pub fn idle_connections(&self) -> usize {
        self.idle_count
    }

    /// Running totals: connections opened and reused, bytes sent and received.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    fn queued(&self) -> usize {
        self.queue.len() + self.blocked.values().map(VecDeque::len).sum::<usize>()
    }

    /// Runs the loop until a request finishes and returns it; `None` when
    /// nothing is left to do.
    ///
    /// # Errors
    ///
    /// Only when polling itself fails. Every unfinished request is then
    /// completed with an error too, so nothing is lost; a failed request is an
    /// `Ok(Some(..))` whose `result` is the error.
    pub fn next_completion(&mut self) -> Result<Option<Completion>> {
        loop {
            if let Some(done) = self.completions.pop_front() {
                return Ok(Some(done));
            }
            if self.pending() == 0 {
                self.was_idle = true;
                return Ok(None);
            }
            if let Err(error) = self.turn() {
                self.abort(&error);
                return Err(error);
            }
        }
    }

    /// One turn: start what fits, wait for events or the next deadline,
    /// handle them.
    fn turn(&mut self) -> Result<()> {
        if std::mem::take(&mut self.was_idle) && self.idle_count > 0 {
            // Learn which idle connections their servers closed meanwhile.
            self.poll_once(Some(std::time::Duration::ZERO))?;
        }
        self.dispatch(Instant::now());
        if !self.completions.is_empty() {
            return Ok(());
        }
        let timeout = self.timers.next_timeout(Instant::now());
        self.poll_once(timeout)
    }

    fn poll_once(&mut self, timeout: Option<std::time::Duration>) -> Result<()> {
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
                Token(key) => self.with_conn(key, None, now, Connection::on_ready),
            }
        }
        self.events = Some(events);
        while let Some(due) = self.timers.pop_due(now) {
            let live = self.conns.get_mut(due.key).is_some_and(|c| {
                let live = c.generation == due.generation && c.timer_at == Some(due.at);
                if live {
                    c.timer_at = None;
                }
                live
            });
            if live {
                self.with_conn(due.key, Some(due.generation), now, Connection::on_timeout);
            }
        }
        self.free_closed();
        Ok(())
    }

    /// Runs one handler on connection `key` and deals with what it returns.
    fn with_conn(
        &mut self,
        key: usize,
        generation: Option<u64>,
        now: Instant,
        handler: impl FnOnce(&mut Connection, &mut Ctx<'_>) -> Step,
    ) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_closed() || generation.is_some_and(|g| g != conn.generation) {
            return;
        }
        let mut ctx = Ctx {
            registry: self.poll.registry(),
            config: &self.config,
            now,
            scratch: &mut self.scratch,
            counters: &mut self.counters,
        };
        let step = handler(conn, &mut ctx);
        self.after_step(key, step);
    }

    /// Books what a handler returned: a completion, a connection gone idle
    /// or closed, a request to run again.
    fn after_step(&mut self, key: usize, step: Step) {
        match step {
            Step::Pending => {}
            Step::Done(completion) => self.completions.push_back(completion),
            Step::Retry(job) => {
                self.counters.retries += 1;
                self.queue.push_front(job);
            }
            // The next hop goes first, so a chain is not held up behind
            // the queue; it takes a pooled connection like any request.
            Step::Redirect(job) => self.queue.push_front(job),
            Step::NoSocket(job, error) => self.on_no_socket(job, error),
        }
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if conn.is_closed() {
            self.closed.push(key);
            return;
        }
        let at = conn.next_deadline(&self.config);
        self.timers
            .schedule(&mut conn.timer_at, at, key, conn.generation);
        if conn.is_idle()
            && !self
                .idle
                .get(&conn.origin)
                .is_some_and(|s| s.iter().any(|r| r.key == key))
        {
            self.park(key);
        }
    }

    /// Puts a connection that just went idle into the pool, or closes it
    /// when the pool is full.
    fn park(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        let parked = self.idle.get(&conn.origin).map_or(0, Vec::len);
        if parked >= self.config.pool_max_idle_per_host
            || self.idle_count >= self.config.pool_max_idle
        {
            conn.close(self.poll.registry());
            self.closed.push(key);
            return;
        }
        let entry = IdleRef {
            key,
            generation: conn.generation,
            serial: conn.idle_serial,
        };
        match self.idle.get_mut(&conn.origin) {
            Some(stack) => stack.push(entry),
            None => {
                self.idle.insert(conn.origin.clone(), vec![entry]);
            }
        }
        self.idle_lru.push_back(entry);
        self.idle_count += 1;
        if self.blocked.contains_key(&conn.origin) {
            self.unblocked.push_back(conn.origin.clone());
        }
        if self.idle_lru.len() > 2 * self.idle_count + 64 {
            let conns = &self.conns;
            self.idle_lru.retain(|r| is_live_idle(conns, r));
        }
    }

    /// The OS refused a socket. Free idle sockets; if other requests hold
    /// connections, wait for one of them to close, else fail the request.
    fn on_no_socket(&mut self, job: Job, source: io::Error) {
        while self.evict_idle(None) {}
        // The connection that failed is closed but still in the slab.
        let busy = self.in_flight().saturating_sub(1);
        if busy > 0 {
            self.socket_cap = Some(busy);
            self.queue.push_front(job);
        } else {
            let error = Error::new(Reason::Socket { source }).with_url(job.request.url().as_str());
            self.completions.push_back(Completion {
                id: job.id,
                result: Err(error),
            });
        }
    }

    fn on_dns_answers(&mut self, now: Instant) {
        let mut answers = std::mem::take(&mut self.answers);
        self.resolver.take_answers(now, &mut answers);
        for (waiter, answer) in answers.drain(..) {
            self.with_conn(waiter.key, Some(waiter.generation), now, |conn, ctx| {
                conn.on_resolved(answer, ctx)
            });
        }
        self.answers = answers;
    }

    /// Removes closed connections and lets their origins' waiting requests in.
    fn free_closed(&mut self) {
        for key in self.closed.drain(..) {
            let Some(conn) = self.conns.try_remove(key) else {
                continue;
            };
            self.socket_cap = None;
            if let Some(stack) = self.idle.get_mut(&conn.origin) {
                let before = stack.len();
                stack.retain(|r| r.key != key);
                self.idle_count -= before - stack.len();
                if stack.is_empty() {
                    self.idle.remove(&conn.origin);
                }
            }
            if let Some(open) = self.open_per_origin.get_mut(&conn.origin) {
                *open -= 1;
                if *open == 0 {
                    self.open_per_origin.remove(&conn.origin);
                }
            }
            if self.blocked.contains_key(&conn.origin) {
                self.unblocked.push_back(conn.origin);
            }
        }
    }

    /// Starts queued requests while the limits allow: first those of origins
    /// that just freed a connection, then the main queue in order.
    fn dispatch(&mut self, now: Instant) {
        while let Some(origin) = self.unblocked.pop_front() {
            while let Some(job) = self.blocked.get_mut(&origin).and_then(VecDeque::pop_front) {
                match self.place(job, now) {
                    Placed::Started => {}
                    Placed::OriginFull(job) => {
                        self.blocked
                            .entry(origin.clone())
                            .or_default()
                            .push_front(job);
                        break;
                    }
                    Placed::AllFull(job) => {
                        self.blocked
                            .entry(origin.clone())
                            .or_default()
                            .push_front(job);
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
        while let Some(job) = self.queue.pop_front() {
            if let Some(waiting) = self.blocked.get_mut(&job.origin) {
                // Keep the origin's requests in order behind those already waiting.
                waiting.push_back(job);
                continue;
            }
            match self.place(job, now) {
                Placed::Started => {}
                Placed::OriginFull(job) => self
                    .blocked
                    .entry(job.origin.clone())
                    .or_default()
                    .push_back(job),
                Placed::AllFull(job) => {
                    self.queue.push_front(job);
                    break;
                }
            }
        }
        self.free_closed();
    }

    /// Runs `job` on an idle connection, or a new one if the limits allow.
    fn place(&mut self, job: Job, now: Instant) -> Placed {
        if !job.retried {
            if let Some(key) = self.take_idle(&job.origin) {
                self.counters.connections_reused += 1;
                self.with_conn(key, None, now, |conn, ctx| conn.reuse(job, ctx));
                return Placed::Started;
            }
        }
        let max = self.socket_cap.map_or(self.config.max_connections, |cap| {
            cap.min(self.config.max_connections)
        });
        if self.open_to(&job.origin) >= self.config.max_connections_per_host {
            // A retry needs a fresh connection: make room by closing an idle one.
            if !(job.retried && self.evict_idle(Some(&job.origin))) {
                return Placed::OriginFull(job);
            }
        }
        if self.conns.len() - self.closed.len() >= max && !self.evict_idle(None) {
            return Placed::AllFull(job);
        }
        self.start(job, now);
        Placed::Started
    }

    /// Takes the most recently used idle connection to `origin`.
    fn take_idle(&mut self, origin: &Origin) -> Option<usize> {
        let stack = self.idle.get_mut(origin)?;
        let entry = stack.pop();
        if stack.is_empty() {
            self.idle.remove(origin);
        }
        let entry = entry?;
        self.idle_count -= 1;
        Some(entry.key)
    }

    /// Closes the longest-idle connection (of `origin`, if given) to free its
    /// socket; false if there is none.
    fn evict_idle(&mut self, origin: Option<&Origin>) -> bool {
        let victim = match origin {
            Some(origin) => self
                .idle
                .get(origin)
                .and_then(|stack| stack.first().copied()),
            None => loop {
                let Some(entry) = self.idle_lru.pop_front() else {
                    break None;
                };
                if is_live_idle(&self.conns, &entry) {
                    break Some(entry);
                }
            },
        };
        let Some(victim) = victim else { return false };
        if let Some(conn) = self.conns.get_mut(victim.key) {
            conn.close(self.poll.registry());
            self.closed.push(victim.key);
        }
        self.free_closed();
        true
    }

    fn open_to(&self, origin: &Origin) -> usize {
        self.open_per_origin.get(origin).copied().unwrap_or(0)
    }

    /// Opens a connection for `job`: look the host up, and connect now if the
    /// answer is already known.
    fn start(&mut self, job: Job, now: Instant) {
        if job.origin.https && !cfg!(feature = "tls") {
            let error = Error::new(Reason::TlsOff).with_url(job.request.url().as_str());
            self.completions.push_back(Completion {
                id: job.id,
                result: Err(error),
            });
            return;
        }
        let key = self.conns.vacant_key();
        self.next_generation += 1;
        let generation = self.next_generation;
        *self.open_per_origin.entry(job.origin.clone()).or_insert(0) += 1;
        let conn = Connection::new(job, Token(key), generation, now, &self.config);
        let lookup =
            self.resolver
                .lookup(conn.origin.connect_host(), Waiter { key, generation }, now);
        self.conns.insert(conn);
        match lookup {
            Lookup::Ready(answer) => {
                self.with_conn(key, Some(generation), now, |conn, ctx| {
                    conn.on_resolved(answer, ctx)
                });
            }
            Lookup::Pending => self.after_step(key, Step::Pending),
        }
    }

    /// Ends every unfinished request with a copy of `error`.
    fn abort(&mut self, error: &Error) {
        let registry = self.poll.registry();
        let mut ids = Vec::new();
        for mut conn in self.conns.drain() {
            conn.close(registry);
            ids.extend(conn.take_job().map(|job| (job.id, job.request.into_url())));
        }
        let queued = self
            .queue
            .drain(..)
            .chain(self.blocked.drain().flat_map(|(_, q)| q));
        ids.extend(queued.map(|job| (job.id, job.request.into_url())));
        for (id, url) in ids {
            let source = io::Error::other(error.to_string());
            let result = Err(Error::new(Reason::Socket { source }).with_url(url.as_str()));
            self.completions.push_back(Completion { id, result });
        }
        self.idle.clear();
        self.idle_lru.clear();
        self.idle_count = 0;
        self.open_per_origin.clear();
        self.unblocked.clear();
        self.closed.clear();
    }
}

/// Where [`Reactor::place`] put a request.
enum Placed {
    Started,
    /// Its origin is at `max_connections_per_host`.
    OriginFull(Job),
    /// All connections are busy.
    AllFull(Job),
}

fn is_live_idle(conns: &Slab<Connection>, entry: &IdleRef) -> bool {
    conns.get(entry.key).is_some_and(|c| {
        c.generation == entry.generation && c.idle_serial == entry.serial && c.is_idle()
    })
}
