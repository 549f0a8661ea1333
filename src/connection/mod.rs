//! One transport to one origin: an enum of states, one method per event.
//! A connection carries bytes; the requests it carries are [`Exchange`]s,
//! which live in the reactor's exchange slab and are reached here by
//! [`ExchangeId`] through [`Ctx::exchanges`]. What a step means for an
//! exchange (its response is complete, it failed) goes out as an [`Event`];
//! the reactor hands it to the exchange. So this module never imports the
//! reactor.
//!
//! ```text
//!                     ┌───── next address ─────┐
//!                     ▼                        │
//!  Resolving ──▶ Connecting ──connected──▶ (Tunneling) ──▶ (Handshaking) ──▶ Open(transport, session)
//!      │             │                          │                │                  │   ▲
//!      │             │                          │                │   h1: Sending ──▶ Receiving ──▶ Idle
//!      │             │                          │                │                  │   └─ reuse ──┘ │
//!      │             │                          │                │   h2: Busy(streams) ◀──▶ Idle      │
//!      └─────────────┴── DNS error, connect failure, proxy refusal, TLS error, timeout ───▶ Closed ◀──┘
//!                                    I/O error, bad response, not reusable, idle timeout, server closed
//! ```
//!
//! - `connect.rs`: DNS answer, Happy Eyeballs (RFC 8305: several connect
//!   attempts in flight, IPv6 and IPv4 in turns), finishing a non-blocking
//!   connect (mio's `TcpStream::connect` notes).
//! - `tunnel.rs`: `CONNECT` through a proxy (RFC 9110 §9.3.6).
//! - `handshake.rs`: the TLS handshake (glue to [`crate::tls`]).
//! - `h1.rs`: the HTTP/1.1 session, which carries at most one exchange.
//! - `h2.rs`: the HTTP/2 session, which carries an exchange per stream.
//! - `io.rs`: the write loop and the zero-copy body read.
//!
//! The mio interest is derived from the state ([`Connection::interest`],
//! rustls `tlsclient-mio.rs` `event_set()`) and re-registered only when it
//! changes, after each step ([`Connection::sync_interest`]). Reads and
//! writes go on until `WouldBlock`, `Interrupted` is retried, and any other
//! error ends this connection only.
//!
//! Which protocol an open connection speaks (RFC 9113 §3): `h2` when the
//! server chose it in TLS ALPN, or for cleartext with prior knowledge
//! (`http2_prior_knowledge`, not through a forwarding proxy); HTTP/1.1
//! otherwise. A connection to an origin that may speak h2 is
//! *negotiating* until it opens; the reactor keeps the origin's other
//! requests waiting for that answer ([`Connection::take_opened`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

#[cfg(feature = "http2")]
mod clocks;
mod connect;
mod h1;
#[cfg(feature = "http2")]
mod h2;
mod handshake;
mod io;
mod transport;
mod tunnel;

pub(crate) use transport::Transport;

use connect::Connecting;
use h1::H1;
use tunnel::Tunnel;

use crate::completion::Counters;
use crate::config::Config;
use crate::error::{Phase, Reason};
use crate::exchange::{ConnInfo, Exchange, Replay};
use crate::h1::{ProtocolError, ResponseHead};
use crate::handle::{ExchangeId, Slots};
use crate::origin::Origin;
use crate::stream::Connector;
use crate::timer::{ConnTimer, ConnTimers};

/// What the reactor lends a connection for one step.
pub(crate) struct Ctx<'a> {
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub now: Instant,
    /// The reactor's one read buffer, shared by all connections.
    pub scratch: &'a mut [u8],
    pub counters: &'a mut Counters,
    /// Every exchange, reached by the ids the connection carries.
    pub exchanges: &'a mut Slots<Exchange, ExchangeId>,
    /// Opens TCP connections.
    pub connector: &'a mut dyn Connector,
    /// What the step meant for exchanges, for the reactor to hand over.
    pub events: &'a mut Vec<Event>,
    /// Exchanges on HTTP/2 streams that took a head or body bytes in this
    /// step, for the reactor to collect their chunks and progress (h1's
    /// one exchange is found through [`Connection::carried`]).
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub touched: &'a mut Vec<ExchangeId>,
}

/// What a step meant for an exchange the connection carried; the
/// connection no longer carries it.
#[derive(Debug)]
pub(crate) enum Event {
    /// The response is complete; here is its head (the body is in the
    /// exchange).
    Response {
        exchange: ExchangeId,
        head: ResponseHead,
    },
    /// The exchange failed on this connection; `replay` says whether it
    /// may run again elsewhere.
    Failed {
        exchange: ExchangeId,
        reason: Reason,
        replay: Replay,
    },
    /// The OS refused a socket (out of descriptors); the reactor decides
    /// whether the exchange waits or fails.
    NoSocket {
        exchange: ExchangeId,
        source: std::io::Error,
    },
}

impl Event {
    /// The exchange the event is about.
    pub(crate) fn exchange(&self) -> ExchangeId {
        match self {
            Event::Response { exchange, .. }
            | Event::Failed { exchange, .. }
            | Event::NoSocket { exchange, .. } => *exchange,
        }
    }
}

/// The protocol spoken on an open connection.
// h1 sessions, the many, stay inline; the h2 one, few and large, is boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Session {
    /// HTTP/1.1: at most one exchange at a time.
    H1(H1),
    /// HTTP/2: an exchange per stream (boxed: the session holds its HPACK
    /// tables and buffers).
    #[cfg(feature = "http2")]
    H2(Box<h2::H2>),
}

/// Whether requests to `origin` may go over HTTP/2 under `config`: https
/// (ALPN decides), or cleartext with prior knowledge; never through a
/// forwarding proxy, which speaks HTTP/1.1 for us.
pub(crate) fn may_speak_h2(origin: &Origin, config: &Config) -> bool {
    let h2 = &config.http2;
    let forwarded = matches!(origin.route, crate::proxy::Route::Forward(_));
    h2.enabled && !forwarded && (origin.https || h2.prior_knowledge)
}

/// The states of a connection, named after what it is waiting for.
// Most connections spend their life `Open`, the largest state: boxing it
// would add an allocation per connection and save no memory.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Waiting for the resolver.
    Resolving,
    /// Non-blocking connects are in progress (one per address tried, Happy
    /// Eyeballs).
    Connecting(Connecting),
    /// Connected to a proxy: asking it for a tunnel with `CONNECT`.
    Tunneling(Transport, Box<Tunnel>),
    /// The TLS handshake is in progress (https only), since the instant.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Handshaking(Transport, Instant),
    /// Established: a protocol session runs on the transport.
    Open(Transport, Session),
    /// Finished; the socket, if any, is gone.
    Closed,
}

/// A connection to one origin.
pub(crate) struct Connection {
    origin: Origin,
    token: Token,
    state: State,
    /// The interest the socket is registered with, if it is.
    registered: Option<Interest>,
    timers: ConnTimers,
    created: Instant,
    peer: Option<SocketAddr>,
    /// The exchange that opened this connection, waiting for it to be
    /// established.
    waiting: Option<ExchangeId>,
    /// DNS, connect and TLS times, for the first exchange.
    fresh: ConnInfo,
    /// Exchanges started on this connection.
    served: u64,
    /// Counts the times this connection went idle, so a pool entry made for
    /// one idle period is not mistaken for a later one.
    idle_serial: u64,
    /// Opened for an origin that may speak HTTP/2, and not open yet: the
    /// origin's other requests wait for its answer.
    negotiating: bool,
    /// News for the reactor: the connection opened, speaking HTTP/2 or not.
    opened: Option<bool>,
    /// The stream limit the reactor last counted for this connection.
    counted_streams: usize,
    /// The poller reported the server's sending side closed (mio's
    /// read-closed readiness: its FIN has arrived, perhaps in the same
    /// segment as the end of a response). Whatever is left to read ends in
    /// EOF, so the connection is never parked or reused.
    peer_closed: bool,
}

impl Connection {
    /// A new connection to `origin` for exchange `waiting` (whose deadline
    /// is `deadline`), resolving its name; the connect budget starts now.
    pub(crate) fn new(
        origin: Origin,
        token: Token,
        waiting: ExchangeId,
        deadline: Option<Instant>,
        now: Instant,
        config: &Config,
    ) -> Connection {
        let mut timers = ConnTimers::default();
        timers.set(ConnTimer::Deadline, deadline);
        timers.set(ConnTimer::Resolve, config.connect_timeout.map(|t| now + t));
        Connection {
            token,
            state: State::Resolving,
            registered: None,
            timers,
            created: now,
            peer: None,
            waiting: Some(waiting),
            fresh: ConnInfo::default(),
            served: 0,
            idle_serial: 0,
            peer_closed: false,
            negotiating: may_speak_h2(&origin, config),
            opened: None,
            counted_streams: 0,
            origin,
        }
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// True once the connection has finished and can be removed.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True while the connection waits in the pool for a request.
    pub(crate) fn is_idle(&self) -> bool {
        match &self.state {
            State::Open(_, Session::H1(h1)) => h1.is_idle(),
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) => h2.is_idle(),
            _ => false,
        }
    }

    /// True while the connection is negotiating for an origin that may
    /// speak HTTP/2 (not open yet).
    pub(crate) fn is_negotiating(&self) -> bool {
        self.negotiating
    }

    /// Once, after the connection opened: whether it speaks HTTP/2.
    pub(crate) fn take_opened(&mut self) -> Option<bool> {
        let opened = self.opened.take()?;
        self.negotiating = false;
        Some(opened)
    }

    /// Moves the next stream id of an h2 connection (tests only).
    #[cfg(all(test, feature = "http2"))]
    pub(crate) fn set_next_stream_id_for_test(&mut self, id: u32) {
        if let State::Open(_, Session::H2(h2)) = &mut self.state {
            h2.set_next_stream_id_for_test(id);
        }
    }

    /// An open connection speaking HTTP/2.
    pub(crate) fn is_h2(&self) -> bool {
        match &self.state {
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(_)) => true,
            _ => false,
        }
    }

    /// How many streams this connection may carry at once: for an open,
    /// usable HTTP/2 connection its limit, for one negotiating what RFC
    /// 9113 §5.1.2 lets a client assume (100), else 0.
    pub(crate) fn stream_limit(&self) -> usize {
        match &self.state {
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) if h2.is_usable() => h2.stream_limit(),
            #[cfg(feature = "http2")]
            _ if self.negotiating => crate::h2::UNKNOWN_MAX_CONCURRENT_STREAMS as usize,
            _ => 0,
        }
    }

    /// Records `limit` as the stream limit the reactor counts for this
    /// connection; returns the one counted before.
    pub(crate) fn count_streams(&mut self, limit: usize) -> usize {
        std::mem::replace(&mut self.counted_streams, limit)
    }

    /// An open HTTP/2 connection that can take a stream now.
    pub(crate) fn has_stream_room(&self) -> bool {
        match &self.state {
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) => h2.has_room(),
            _ => false,
        }
    }

    /// An open HTTP/2 connection that may take streams now or later (no
    /// GOAWAY, stream ids left).
    pub(crate) fn is_usable_h2(&self) -> bool {
        match &self.state {
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) => h2.is_usable(),
            _ => false,
        }
    }

    /// Writes what the protocol session has queued (new h2 streams placed
    /// by the reactor); nothing to do for h1, which writes as it starts.
    pub(crate) fn flush(&mut self, ctx: &mut Ctx<'_>) {
        #[cfg(feature = "http2")]
        if let State::Open(_, Session::H2(_)) = self.state {
            self.h2_flush_coalesced(ctx);
        }
        #[cfg(not(feature = "http2"))]
        let _ = ctx;
    }

    /// Which idle period this is (see the pool).
    pub(crate) fn idle_serial(&self) -> u64 {
        self.idle_serial
    }

    pub(crate) fn timers_mut(&mut self) -> &mut ConnTimers {
        &mut self.timers
    }

    /// The exchange this connection carries or is being opened for, if any.
    pub(crate) fn carried(&self) -> Option<ExchangeId> {
        match &self.state {
            State::Open(_, Session::H1(h1)) => h1.exchange(),
            _ => self.waiting,
        }
    }

    /// The readiness this state waits for; `None` without a socket.
    pub(crate) fn interest(&self) -> Option<Interest> {
        match &self.state {
            State::Resolving | State::Closed => None,
            State::Connecting(_) => Some(Interest::WRITABLE),
            State::Tunneling(transport, tunnel) => Some(transport.interest(tunnel.wants())),
            // The TLS session decides while it handshakes.
            State::Handshaking(transport, _) => Some(transport.interest(Interest::READABLE)),
            // `None` while a sink holds the reading back (backpressure).
            State::Open(transport, Session::H1(h1)) => h1.wants().map(|w| transport.interest(w)),
            #[cfg(feature = "http2")]
            State::Open(transport, Session::H2(h2)) => Some(transport.interest(h2.wants())),
        }
    }

    /// Registers the socket for [`interest`](Self::interest), or changes its
    /// registration, when that differs from what is registered; with no
    /// interest (a paused read), takes the socket out of the poller until
    /// there is one again. Called by the reactor after every step; a
    /// failure fails what the connection carries.
    pub(crate) fn sync_interest(&mut self, ctx: &mut Ctx<'_>) {
        let Some(want) = self.interest() else {
            if self.registered.take().is_some() {
                if let State::Open(t, _) = &mut self.state {
                    t.stream().deregister(ctx.registry);
                }
            }
            return;
        };
        if let State::Connecting(c) = &mut self.state {
            // Attempts start over time: register each new one.
            let registered = c
                .register(ctx.registry, self.token)
                .map(|()| c.is_registered());
            match registered {
                Ok(any) => self.registered = any.then_some(Interest::WRITABLE),
                Err(source) => self.fail(Reason::Socket { source }, ctx),
            }
            return;
        }
        if self.registered == Some(want) {
            return;
        }
        let first = self.registered.is_none();
        let (token, registry) = (self.token, ctx.registry);
        let result = match &mut self.state {
            State::Tunneling(t, _) | State::Handshaking(t, _) | State::Open(t, _) => {
                t.stream().register(registry, token, want, first)
            }
            State::Resolving | State::Connecting(_) | State::Closed => Ok(()),
        };
        match result {
            Ok(()) => self.registered = Some(want),
            Err(source) => self.fail_io(self.phase(), source, ctx),
        }
    }

    /// The socket became ready (or mio reported an error or hang-up, which
    /// shows up as readiness and is found out by the read or write itself).
    /// `read_closed`: the event carried read-closed readiness, the server's
    /// FIN has arrived; remembered, as edge-triggered readiness says it once.
    /// (While connecting it is a failed attempt's hang-up, and the next
    /// address gets a socket of its own.)
    pub(crate) fn on_ready(&mut self, read_closed: bool, ctx: &mut Ctx<'_>) {
        if !matches!(self.state, State::Connecting(_)) {
            self.peer_closed |= read_closed;
        }
        match self.state {
            State::Connecting(_) => self.check_connect(ctx),
            State::Tunneling(..) => self.tunnel(ctx),
            State::Handshaking(..) => self.handshake(ctx),
            State::Open(_, Session::H1(_)) => self.h1_ready(ctx),
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(_)) => self.h2_ready(ctx),
            // Sporadic events happen; a resolving or closed connection has no socket.
            State::Resolving | State::Closed => {}
        }
    }

    /// The sink of the exchange this connection carries may take more (its
    /// retry timer fired, or the caller took chunks): the session hands it
    /// what waits and reads on once it has room.
    pub(crate) fn on_sink_ready(&mut self, ctx: &mut Ctx<'_>) {
        match self.state {
            State::Open(_, Session::H1(_)) => self.h1_sink_ready(ctx),
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(_)) => self.h2_sink_ready(ctx),
            _ => {}
        }
    }

    /// A connection timer may have expired; the one that did names the
    /// phase that ran out of time. The whole-request deadline of the
    /// exchange it carries speaks first; the exchange then fails with the
    /// phase the connection was in (and, on h1, the connection closes: the
    /// response is half read).
    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        let due = |t| self.timers.get(t).is_some_and(|at| at <= now);
        #[cfg(feature = "http2")]
        if let State::Open(_, Session::H2(_)) = self.state {
            if due(ConnTimer::ServerPreface) {
                return self.h2_preface_timeout(ctx);
            }
            let coalesced = due(ConnTimer::Coalesce);
            let expired = due(ConnTimer::Deadline) || due(ConnTimer::ReadIdle);
            let sink_retry = due(ConnTimer::SinkRetry);
            if coalesced {
                self.timers.set(ConnTimer::Coalesce, None);
                if !self.h2_flush(ctx) {
                    return;
                }
            }
            if expired {
                self.h2_expire(ctx);
            }
            if sink_retry {
                self.timers.set(ConnTimer::SinkRetry, None);
                self.h2_sink_ready(ctx);
            }
            if self.timers.get(ConnTimer::Idle).is_some_and(|at| at <= now) && self.is_idle() {
                self.h2_close(ctx);
            }
            return;
        }
        let carried = self.carried().and_then(|id| ctx.exchanges.get(id));
        if due(ConnTimer::Deadline) && carried.is_some() {
            let after = carried
                .and_then(|ex| ex.timeout(ctx.config))
                .unwrap_or_default();
            return self.time_out(self.phase(), after, ctx);
        }
        if due(ConnTimer::ReadIdle) && carried.is_some() {
            let after = carried
                .and_then(|ex| ex.read_idle_timeout(ctx.config))
                .unwrap_or_default();
            return self.time_out(Phase::ReadIdle, after, ctx);
        }
        if due(ConnTimer::SinkRetry) {
            self.timers.set(ConnTimer::SinkRetry, None);
            return self.on_sink_ready(ctx);
        }
        let connect_phase = [
            (ConnTimer::Resolve, Phase::Resolve),
            (ConnTimer::Connect, Phase::Connect),
            (ConnTimer::TlsHandshake, Phase::TlsHandshake),
        ]
        .into_iter()
        .find(|&(t, _)| due(t));
        if let Some((_, phase)) = connect_phase {
            let after = ctx.config.connect_timeout.unwrap_or_default();
            return self.time_out(phase, after, ctx);
        }
        if due(ConnTimer::ConnectAttempt) {
            return self.next_address(ctx);
        }
        if due(ConnTimer::Idle) && self.is_idle() {
            self.close(ctx.registry);
        }
    }

    /// Starts `exchange` on this idle connection; gives it back when the
    /// connection cannot take it.
    #[must_use = "an exchange the connection did not take must be placed elsewhere"]
    pub(crate) fn start(
        &mut self,
        exchange: ExchangeId,
        ctx: &mut Ctx<'_>,
    ) -> Result<(), ExchangeId> {
        let room = match &self.state {
            State::Open(_, Session::H1(h1)) => h1.is_idle(),
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) => h2.has_room(),
            _ => false,
        };
        if !room {
            return Err(exchange);
        }
        self.begin(exchange, ctx);
        Ok(())
    }

    /// Starts `exchange` on the idle session.
    fn begin(&mut self, exchange: ExchangeId, ctx: &mut Ctx<'_>) {
        self.timers.set(ConnTimer::Idle, None);
        let info = if self.served == 0 {
            self.fresh
        } else {
            ConnInfo {
                peer: self.peer,
                reused: true,
                ..ConnInfo::default()
            }
        };
        self.served += 1;
        match self.state {
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(_)) => self.h2_start(exchange, info, ctx),
            _ => self.h1_start(exchange, info, ctx),
        }
    }

    /// The phase the connection is in, for a timeout or an I/O error.
    fn phase(&self) -> Phase {
        match &self.state {
            State::Resolving => Phase::Resolve,
            State::Connecting(_) | State::Tunneling(..) => Phase::Connect,
            State::Handshaking(..) => Phase::TlsHandshake,
            State::Open(_, Session::H1(h1)) => h1.phase(),
            #[cfg(feature = "http2")]
            State::Open(_, Session::H2(h2)) => h2.phase(),
            State::Closed => Phase::ReadHead,
        }
    }

    fn time_out(&mut self, phase: Phase, after: Duration, ctx: &mut Ctx<'_>) {
        let target = match (&self.state, phase) {
            (_, Phase::Resolve) => self.origin.connect_host().to_string(),
            (State::Connecting(c), _) => c.target(),
            _ => self.peer_name(),
        };
        self.fail(
            Reason::Timeout {
                phase,
                after,
                target,
            },
            ctx,
        );
    }

    fn peer_name(&self) -> String {
        self.peer
            .map_or_else(|| self.origin.to_string(), |p| p.to_string())
    }

    /// The connection to the server is up: on to TLS for https, else open.
    fn established(&mut self, transport: Transport, ctx: &mut Ctx<'_>) {
        if self.origin.https {
            return self.start_tls(transport, ctx);
        }
        self.open(transport, ctx);
    }

    /// The connection is ready for HTTP: a session of the protocol the
    /// server chose (ALPN) or the client knows (prior knowledge) starts on
    /// it and takes the waiting exchange.
    fn open(&mut self, transport: Transport, ctx: &mut Ctx<'_>) {
        #[cfg(feature = "http2")]
        {
            let h2 = self.negotiating && (transport.negotiated_h2() || !self.origin.https);
            if self.negotiating {
                self.opened = Some(h2);
            }
            if h2 {
                return self.h2_open(transport, ctx);
            }
        }
        #[cfg(not(feature = "http2"))]
        if self.negotiating {
            self.opened = Some(false);
        }
        self.clear_connect_timers();
        self.fresh.peer = self.peer;
        self.state = State::Open(transport, Session::H1(H1::new()));
        match self.waiting.take() {
            // The socket is writable now: no need to wait for another event.
            Some(exchange) => self.begin(exchange, ctx),
            None => self.go_idle(ctx),
        }
    }

    /// The connection is established: the connect budget is spent.
    fn clear_connect_timers(&mut self) {
        for timer in [
            ConnTimer::Resolve,
            ConnTimer::Connect,
            ConnTimer::TlsHandshake,
            ConnTimer::ConnectAttempt,
        ] {
            self.timers.set(timer, None);
        }
    }

    /// The session has no exchange: start the pool's idle clock.
    fn go_idle(&mut self, ctx: &Ctx<'_>) {
        self.idle_serial += 1;
        self.timers.set(ConnTimer::Deadline, None);
        self.timers.set(ConnTimer::ReadIdle, None);
        self.timers.set(ConnTimer::SinkRetry, None);
        self.timers.set(
            ConnTimer::Idle,
            Some(ctx.now + ctx.config.pool_idle_timeout),
        );
    }

    fn fail_io(&mut self, during: Phase, source: std::io::Error, ctx: &mut Ctx<'_>) {
        #[cfg(feature = "http2")]
        if let State::Open(_, Session::H2(_)) = self.state {
            return self.h2_fail_io(during, &source, ctx);
        }
        #[cfg(feature = "tls")]
        if let Some(error) = crate::tls::tls_error(&source) {
            // Not the stale-connection race: retrying would fail the same way.
            let reason = Reason::Tls {
                peer: self.peer,
                handshake: during == Phase::TlsHandshake,
                message: crate::tls::describe(error, &self.origin.host),
            };
            return self.fail(reason, ctx);
        }
        let replayable = self.replayable();
        self.fail_with(
            Reason::Io {
                peer: self.peer,
                during,
                source,
            },
            replayable,
            ctx,
        );
    }

    fn fail_protocol(&mut self, source: ProtocolError, ctx: &mut Ctx<'_>) {
        let replayable = self.replayable();
        self.fail_with(
            Reason::Protocol {
                peer: self.peer,
                source,
            },
            replayable,
            ctx,
        );
    }

    /// True while no byte of a response has arrived for the exchange this
    /// connection carries.
    fn replayable(&self) -> bool {
        match &self.state {
            State::Open(_, Session::H1(h1)) => !h1.has_received_bytes(),
            _ => false,
        }
    }

    /// Fails what the connection carries with `reason` (never replayed) and
    /// closes it.
    fn fail(&mut self, reason: Reason, ctx: &mut Ctx<'_>) {
        self.fail_with(reason, false, ctx);
    }

    fn fail_with(&mut self, reason: Reason, replayable: bool, ctx: &mut Ctx<'_>) {
        let carried = self.carried();
        self.close(ctx.registry);
        self.waiting = None;
        if let Some(exchange) = carried {
            ctx.events.push(Event::Failed {
                exchange,
                reason,
                replay: Replay::if_stale(replayable),
            });
        }
    }

    /// An I/O error on an HTTP/2 connection: every stream fails with it
    /// (those with no response byte may run again elsewhere).
    #[cfg(feature = "http2")]
    fn h2_fail_io(&mut self, during: Phase, source: &std::io::Error, ctx: &mut Ctx<'_>) {
        let peer = self.peer;
        #[cfg(feature = "tls")]
        if let Some(error) = crate::tls::tls_error(source) {
            let message = crate::tls::describe(error, &self.origin.host);
            return self.h2_fail_all(
                |_, _| {
                    let reason = Reason::Tls {
                        peer,
                        handshake: false,
                        message: message.clone(),
                    };
                    (reason, Replay::Never)
                },
                ctx,
            );
        }
        self.h2_fail_all(
            |received, _| {
                let reason = Reason::Io {
                    peer,
                    during,
                    source: std::io::Error::new(source.kind(), source.to_string()),
                };
                (reason, Replay::if_stale(!received))
            },
            ctx,
        );
    }

    /// Deregisters and drops the socket; the connection is finished. What it
    /// carried, if anything, is the caller's to report.
    pub(crate) fn close(&mut self, registry: &Registry) {
        self.drop_socket(registry);
        self.state = State::Closed;
    }

    /// Drops the socket of the current state (deregistered first, so no
    /// event for it can reach whatever uses this slot next).
    fn drop_socket(&mut self, registry: &Registry) {
        let registered = self.registered.take().is_some();
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Connecting(c) => c.close(registry),
            State::Tunneling(mut t, _) | State::Handshaking(mut t, _) | State::Open(mut t, _)
                if registered =>
            {
                t.stream().deregister(registry);
            }
            _ => {}
        }
    }
}

/// Hooks for the in-memory tests.
#[cfg(test)]
impl Connection {
    /// True when the fake peer under this connection has queued its end
    /// (its FIN has arrived) and reports it as read-closed readiness, as
    /// epoll does.
    pub(crate) fn fin_arrived_for_test(&self) -> bool {
        let stream = match &self.state {
            // `on_ready` ignores read-closed while connecting.
            State::Connecting(_) => return false,
            State::Tunneling(Transport::Plain(s), _)
            | State::Handshaking(Transport::Plain(s), _)
            | State::Open(Transport::Plain(s), _) => s,
            _ => return false,
        };
        matches!(stream, crate::stream::Stream::Fake(fake) if fake.fin_arrived())
    }
}
