//! [`Reactor`]: the event loop. It owns the mio `Poll`, the `Waker` the DNS
//! threads use, the slab of connections (slab keys are the mio tokens), the
//! queue of requests waiting for a connection slot, and the deadlines. It is
//! the only code that calls `poll()`.
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

/// The event loop behind [`Client::fetch_many`], for programs that add work
/// as results arrive, such as a crawler.
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
    /// Origins that closed a connection while they had blocked requests.
    unblocked: VecDeque<Origin>,
    open_per_origin: HashMap<Origin, usize>,
    resolver: Resolver,
    timers: Timers,
    completions: VecDeque<Completion>,
    closed: Vec<usize>,
    answers: Vec<(Waiter, std::result::Result<Addrs, DnsError>)>,
    scratch: Box<[u8]>,
    next_id: u64,
    next_generation: u64,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("connections", &self.conns.len())
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
        let resolver = Resolver::new(waker, &config.resolve, config.dns_threads, config.dns_cache_ttl);
        Ok(Reactor {
            poll,
            events: Some(Events::with_capacity(EVENTS)),
            conns: Slab::new(),
            queue: VecDeque::new(),
            blocked: HashMap::new(),
            unblocked: VecDeque::new(),
            open_per_origin: HashMap::new(),
            resolver,
            timers: Timers::default(),
            completions: VecDeque::new(),
            closed: Vec::new(),
            answers: Vec::new(),
            scratch: vec![0; READ_BUFFER].into_boxed_slice(),
            next_id: 0,
            next_generation: 0,
            config,
        })
    }

    /// Queues a request and returns its id. A request that cannot be made
    /// (an invalid URL) completes at once with its error.
    pub fn submit(&mut self, request: impl IntoRequest) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        match request.into_request() {
            Ok(request) => self.queue.push_back(Job { id, request, submitted: Instant::now() }),
            Err(error) => self.completions.push_back(Completion { id, result: Err(error) }),
        }
        id
    }

    /// Requests submitted and not yet returned by
    /// [`next_completion`](Self::next_completion).
    pub fn pending(&self) -> usize {
        self.queued() + self.conns.len() + self.completions.len()
    }

    /// Requests running on a connection right now.
    pub fn in_flight(&self) -> usize {
        self.conns.len()
    }

    fn queued(&self) -> usize {
        self.queue.len() + self.blocked.values().map(VecDeque::len).sum::<usize>()
    }

    /// Runs the loop until a request finishes and returns it; `None` when
    /// nothing is left to do.
    ///
    /// # Errors
    ///
    /// Only when polling itself fails, which ends the whole reactor;
    /// a failed request is an `Ok(Some(..))` whose `result` is the error.
    pub fn next_completion(&mut self) -> Result<Option<Completion>> {
        loop {
            if let Some(done) = self.completions.pop_front() {
                return Ok(Some(done));
            }
            if self.pending() == 0 {
                return Ok(None);
            }
            self.turn()?;
        }
    }

    /// One turn: start what fits, wait for events or the next deadline,
    /// handle them.
    fn turn(&mut self) -> Result<()> {
        self.dispatch(Instant::now());
        if !self.completions.is_empty() {
            return Ok(());
        }
        let mut events = self.events.take().unwrap_or_else(|| Events::with_capacity(EVENTS));
        let timeout = self.timers.next_timeout(Instant::now());
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
        let Some(conn) = self.conns.get_mut(key) else { return };
        if conn.is_closed() || generation.is_some_and(|g| g != conn.generation) {
            return;
        }
        let mut ctx = Ctx { registry: self.poll.registry(), config: &self.config, now, scratch: &mut self.scratch };
        let step = handler(conn, &mut ctx);
        self.after_step(key, step);
    }

    fn after_step(&mut self, key: usize, step: Step) {
        let Some(conn) = self.conns.get_mut(key) else { return };
        match step {
            Step::Pending => {
                let at = conn.next_deadline();
                self.timers.schedule(&mut conn.timer_at, at, key, conn.generation);
            }
            Step::Done(completion) => self.completions.push_back(completion),
        }
        if conn.is_closed() {
            self.closed.push(key);
        }
    }

    fn on_dns_answers(&mut self, now: Instant) {
        let mut answers = std::mem::take(&mut self.answers);
        self.resolver.take_answers(now, &mut answers);
        for (waiter, answer) in answers.drain(..) {
            self.with_conn(waiter.key, Some(waiter.generation), now, |conn, ctx| conn.on_resolved(answer, ctx));
        }
        self.answers = answers;
    }

    /// Removes closed connections and lets their origins' waiting requests in.
    fn free_closed(&mut self) {
        for key in self.closed.drain(..) {
            let Some(conn) = self.conns.try_remove(key) else { continue };
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
    /// that just freed a slot, then the main queue in order.
    fn dispatch(&mut self, now: Instant) {
        let max = self.config.max_connections;
        let per_host = self.config.max_connections_per_host;
        while self.conns.len() < max {
            let Some(origin) = self.unblocked.pop_front() else { break };
            while self.conns.len() < max && self.open_to(&origin) < per_host {
                let Some(queue) = self.blocked.get_mut(&origin) else { break };
                let Some(job) = queue.pop_front() else { break };
                if queue.is_empty() {
                    self.blocked.remove(&origin);
                }
                self.start(origin.clone(), job, now);
            }
        }
        while self.conns.len() < max {
            let Some(job) = self.queue.pop_front() else { break };
            let origin = Origin::of(job.request.url());
            if self.open_to(&origin) >= per_host || self.blocked.contains_key(&origin) {
                self.blocked.entry(origin).or_default().push_back(job);
                continue;
            }
            self.start(origin, job, now);
        }
        self.free_closed();
    }

    fn open_to(&self, origin: &Origin) -> usize {
        self.open_per_origin.get(origin).copied().unwrap_or(0)
    }

    /// Opens a connection for `job`: look the host up, and connect now if the
    /// answer is already known.
    fn start(&mut self, origin: Origin, job: Job, now: Instant) {
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        self.next_generation += 1;
        let generation = self.next_generation;
        let mut ctx = Ctx { registry: self.poll.registry(), config: &self.config, now, scratch: &mut self.scratch };
        entry.insert(Connection::new(origin.clone(), job, Token(key), generation, &ctx));
        *self.open_per_origin.entry(origin.clone()).or_insert(0) += 1;
        let lookup = self.resolver.lookup(&origin.host, Waiter { key, generation }, now);
        let step = match (lookup, self.conns.get_mut(key)) {
            (Lookup::Ready(answer), Some(conn)) => conn.on_resolved(answer, &mut ctx),
            _ => Step::Pending,
        };
        self.after_step(key, step);
    }
}
