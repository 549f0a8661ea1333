//! One connection to one origin: an enum of states, one method per event.
//! The reactor owns every `Connection` in a slab and calls `on_resolved`,
//! `on_ready` and `on_timeout`; each returns a [`Step`], and the connection
//! keeps its mio registration in line with its state.
//!
//! ```text
//!                     ┌───── next address ─────┐
//!                     ▼                        │
//!  Resolving ──▶ Connecting ──connected──▶ Sending ──all written──▶ Receiving ──response done──▶ Idle
//!      │             │   │                    ▲  │                     │                        │ │
//!      │             │   └─https─▶ Handshaking┤  │                     │ not reusable           │ │
//!      │             │                 │      └──┼─────────── reuse ───┼────────────────────────┘ │
//!      └─────────────┴── DNS error, connect failure, TLS error, timeout, I/O error, bad response ─▶ Closed ◀─┘
//!                                                                            server closed, idle timeout
//! ```
//!
//! An https connection goes through `Handshaking` (see [`crate::tls`])
//! between the TCP connect and the request; the connect deadline stays armed
//! until the handshake is done. After it the [`Transport`] encrypts and
//! decrypts, and the states above work on plaintext as on plain TCP.
//!
//! The HTTP/1.1 work is in [`crate::h1`], which sees only bytes; this module
//! moves bytes between the [`Transport`] and it, following mio's rules: a
//! non-blocking connect is finished when `take_error()` is clean and
//! `peer_addr()` answers, reads and writes go on until `WouldBlock`,
//! `Interrupted` is retried, and any other error ends this connection only.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use http::header;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

mod exchange;

pub(crate) use exchange::Job;
use exchange::{Exchange, decode_failure, write_connect_head};

use crate::client::Config;
use crate::dns::{Addrs, DnsError};
use crate::error::{Error, Phase, Reason};
use crate::h1::{ProtocolError, ResponseReader};
use crate::origin::Origin;
use crate::proxy::Route;
use crate::reactor::{Completion, Counters};
use crate::redirect::{self, Action};
use crate::response::{Response, Timings};
use crate::transport::Transport;

/// What the reactor passes to every event handler.
pub(crate) struct Ctx<'a> {
    pub registry: &'a Registry,
    pub config: &'a Config,
    pub now: Instant,
    /// The reactor's one read buffer, shared by all connections.
    pub scratch: &'a mut [u8],
    pub counters: &'a mut Counters,
}

/// What an event led to.
#[derive(Debug)]
pub(crate) enum Step {
    /// Still working (or idle); wait for the next event or deadline.
    Pending,
    /// The request finished, either way. The connection is now idle (ready
    /// for another request) or closed.
    Done(Completion),
    /// A reused connection failed before any response byte arrived; the
    /// (idempotent) request should run again on a fresh connection. The
    /// connection is closed.
    Retry(Job),
    /// The OS refused a socket (out of descriptors); the reactor decides
    /// whether the request waits or fails. The connection is closed.
    NoSocket(Job, io::Error),
    /// The response was a redirect to follow: run this request next. The
    /// connection is idle or closed.
    Redirect(Job),
}

/// The states of a connection, named after what it is waiting for.
enum State {
    /// Waiting for the resolver.
    Resolving,
    /// A non-blocking connect is in progress.
    Connecting(Connecting),
    /// Connected to a proxy: asking it for a tunnel with `CONNECT`.
    Tunneling(Transport, Box<Tunnel>),
    /// The TLS handshake is in progress (https only).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Handshaking(Transport),
    /// Writing the request head and body.
    Sending(Transport),
    /// Reading the response head and body.
    Receiving(Transport),
    /// Kept alive with no request, since the given moment.
    Idle(Transport, Instant),
    /// Finished; the socket, if any, is gone.
    Closed,
}

/// The address being tried and the ones left to try.
struct Connecting {
    socket: TcpStream,
    addr: SocketAddr,
    rest: VecDeque<SocketAddr>,
    /// When to give up on this address and try the next one.
    attempt_deadline: Option<Instant>,
}

/// A `CONNECT` request to a proxy and its answer (RFC 9110 §9.3.6).
struct Tunnel {
    out: Vec<u8>,
    written: usize,
    reader: ResponseReader,
}

/// A connection to one origin and the request it carries, if any.
pub(crate) struct Connection {
    pub origin: Origin,
    /// Distinguishes this connection from later ones in the same slab slot.
    pub generation: u64,
    /// The connection's live timer entry (see [`crate::timer`]).
    pub timer_at: Option<Instant>,
    /// Counts the times this connection went idle, so a pool entry made for
    /// one idle period is not mistaken for a later one.
    pub idle_serial: u64,
    token: Token,
    state: State,
    exchange: Option<Exchange>,
    registered: Option<Interest>,
    /// Deadline for DNS plus TCP connect plus the TLS handshake.
    connect_deadline: Option<Instant>,
    connect_started: Option<Instant>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    handshake_started: Option<Instant>,
    peer: Option<SocketAddr>,
    tried: usize,
    last_error: Option<(SocketAddr, io::Error)>,
}

impl Connection {
    /// A new connection for `job`, waiting for DNS.
    pub(crate) fn new(
        job: Job,
        token: Token,
        generation: u64,
        now: Instant,
        config: &Config,
    ) -> Connection {
        Connection {
            origin: job.origin.clone(),
            generation,
            timer_at: None,
            idle_serial: 0,
            token,
            state: State::Resolving,
            exchange: Some(Exchange::new(job, false, now, config)),
            registered: None,
            connect_deadline: config.connect_timeout.map(|t| now + t),
            connect_started: None,
            handshake_started: None,
            peer: None,
            tried: 0,
            last_error: None,
        }
    }

    /// True once the connection has finished and can be removed.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Takes the request this connection carries, if any (when the reactor
    /// shuts down).
    pub(crate) fn take_job(&mut self) -> Option<Job> {
        self.exchange.take().map(|ex| ex.job)
    }

    /// True while the connection waits in the pool for a request.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle(..))
    }

    /// The earliest moment something must happen without an I/O event.
    pub(crate) fn next_deadline(&self, config: &Config) -> Option<Instant> {
        let request = self.exchange.as_ref().and_then(|ex| ex.job.deadline);
        let own = match &self.state {
            State::Resolving => self.connect_deadline,
            State::Connecting(c) => earliest(self.connect_deadline, c.attempt_deadline),
            State::Tunneling(..) => self.connect_deadline,
            State::Handshaking(_) => self.connect_deadline,
            State::Idle(_, since) => Some(*since + config.pool_idle_timeout),
            _ => None,
        };
        earliest(request, own)
    }

    /// Runs `job` on this idle connection.
    pub(crate) fn reuse(&mut self, job: Job, ctx: &mut Ctx<'_>) -> Step {
        let State::Idle(transport, _) = std::mem::replace(&mut self.state, State::Closed) else {
            // Not idle: the reactor only reuses idle connections.
            return Step::Retry(job);
        };
        self.exchange = Some(Exchange::new(job, true, ctx.now, ctx.config));
        self.state = State::Sending(transport);
        // Idle connections are registered for reading, and a request usually
        // fits the socket buffer: write now and keep that registration.
        self.send(ctx)
    }

    /// The resolver answered.
    pub(crate) fn on_resolved(
        &mut self,
        answer: Result<Addrs, DnsError>,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        if !matches!(self.state, State::Resolving) {
            return Step::Pending;
        }
        let Some(ex) = self.exchange.as_mut() else {
            return Step::Pending;
        };
        // An IP literal is never looked up, so it has no DNS phase (see `Timings`).
        if crate::dns::parse_ip_literal(self.origin.connect_host()).is_none() {
            ex.dns = Some(ctx.now.saturating_duration_since(ex.started()));
        }
        match answer {
            Ok(ips) => {
                let port = self.origin.connect_port();
                let addrs = ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
                self.connect_started = Some(ctx.now);
                self.connect_next(addrs, ctx)
            }
            Err(error) => {
                let host = self.origin.connect_host().to_string();
                let reason = match error.to_io() {
                    Some(source) => Reason::Dns { host, source },
                    None => Reason::NoAddresses { host },
                };
                self.fail(Error::new(reason), ctx)
            }
        }
    }

    /// The socket became ready (or mio reported an error or hang-up, which
    /// shows up as readiness and is found out by the read or write itself).
    pub(crate) fn on_ready(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.state {
            State::Connecting(_) => self.check_connect(ctx),
            State::Tunneling(..) => self.tunnel(ctx),
            State::Handshaking(_) => self.handshake(ctx),
            State::Sending(_) => self.send(ctx),
            State::Receiving(_) => self.receive(ctx),
            State::Idle(..) => self.check_idle(ctx),
            // Sporadic events happen; a resolving or closed connection has no socket.
            State::Resolving | State::Closed => Step::Pending,
        }
    }

    /// A deadline may have passed.
    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let now = ctx.now;
        if let State::Idle(_, since) = self.state {
            if since + ctx.config.pool_idle_timeout <= now {
                self.close(ctx.registry);
            }
            return Step::Pending;
        }
        if self
            .exchange
            .as_ref()
            .is_some_and(|ex| ex.job.deadline.is_some_and(|d| d <= now))
        {
            return self.time_out(ctx.config.timeout.unwrap_or_default(), ctx);
        }
        let connecting = matches!(
            self.state,
            State::Resolving | State::Connecting(_) | State::Tunneling(..) | State::Handshaking(_)
        );
        if connecting && self.connect_deadline.is_some_and(|d| d <= now) {
            return self.time_out(ctx.config.connect_timeout.unwrap_or_default(), ctx);
        }
        if let State::Connecting(c) = &mut self.state {
            if c.attempt_deadline.is_some_and(|d| d <= now) {
                // This address is too slow: give the rest of the time to the others.
                let rest = std::mem::take(&mut c.rest);
                let addr = c.addr;
                self.drop_socket(ctx.registry);
                self.last_error = Some((addr, io::Error::from(io::ErrorKind::TimedOut)));
                return self.connect_next(rest, ctx);
            }
        }
        Step::Pending
    }

    fn time_out(&mut self, after: Duration, ctx: &mut Ctx<'_>) -> Step {
        let (phase, target) = match &self.state {
            State::Resolving => (Phase::Resolve, self.origin.connect_host().to_string()),
            State::Connecting(c) => (Phase::Connect, c.addr.to_string()),
            State::Tunneling(..) => (Phase::Connect, self.peer_name()),
            State::Handshaking(_) => (Phase::TlsHandshake, self.peer_name()),
            State::Sending(_) => (Phase::SendRequest, self.peer_name()),
            _ => {
                let head_done = self
                    .exchange
                    .as_ref()
                    .is_some_and(|ex| ex.reader.head().is_some());
                (
                    if head_done {
                        Phase::ReadBody
                    } else {
                        Phase::ReadHead
                    },
                    self.peer_name(),
                )
            }
        };
        self.fail(
            Error::new(Reason::Timeout {
                phase,
                after,
                target,
            }),
            ctx,
        )
    }

    fn peer_name(&self) -> String {
        self.peer
            .map_or_else(|| self.origin.to_string(), |p| p.to_string())
    }

    /// Starts a non-blocking connect to the next address that accepts one.
    fn connect_next(&mut self, mut rest: VecDeque<SocketAddr>, ctx: &mut Ctx<'_>) -> Step {
        while let Some(addr) = rest.pop_front() {
            self.tried += 1;
            match TcpStream::connect(addr) {
                Ok(mut socket) => {
                    if let Err(error) =
                        ctx.registry
                            .register(&mut socket, self.token, Interest::WRITABLE)
                    {
                        return self.fail(Error::new(Reason::Socket { source: error }), ctx);
                    }
                    ctx.counters.connections_opened += 1;
                    self.registered = Some(Interest::WRITABLE);
                    // With more addresses to go, this one gets its share of the time left.
                    let attempt_deadline = match (self.connect_deadline, rest.len()) {
                        (Some(deadline), left) if left > 0 => {
                            let share =
                                deadline.saturating_duration_since(ctx.now) / (left as u32 + 1);
                            Some(ctx.now + share)
                        }
                        _ => None,
                    };
                    self.state = State::Connecting(Connecting {
                        socket,
                        addr,
                        rest,
                        attempt_deadline,
                    });
                    return Step::Pending;
                }
                Err(error) if is_out_of_sockets(&error) => {
                    self.close(ctx.registry);
                    return match self.exchange.take() {
                        Some(ex) => Step::NoSocket(ex.job, error),
                        None => Step::Pending,
                    };
                }
                Err(error) => self.last_error = Some((addr, error)),
            }
        }
        let error = match self.last_error.take() {
            Some((addr, source)) => Reason::Connect {
                addr,
                tried: self.tried,
                source,
            },
            None => Reason::NoAddresses {
                host: self.origin.connect_host().to_string(),
            },
        };
        self.fail(Error::new(error), ctx)
    }

    /// Finishes a non-blocking connect, following mio's `TcpStream::connect`
    /// notes: an error in `take_error` means this address failed,
    /// `NotConnected` from `peer_addr` means not yet.
    fn check_connect(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let State::Connecting(c) = &mut self.state else {
            return Step::Pending;
        };
        let failed = match c.socket.take_error() {
            Ok(Some(error)) | Err(error) => Some(error),
            Ok(None) => match c.socket.peer_addr() {
                Ok(_) => None,
                Err(error) if error.kind() == io::ErrorKind::NotConnected => return Step::Pending,
                Err(error) => Some(error),
            },
        };
        if let Some(error) = failed {
            let (addr, rest) = (c.addr, std::mem::take(&mut c.rest));
            self.drop_socket(ctx.registry);
            self.last_error = Some((addr, error));
            return self.connect_next(rest, ctx);
        }
        let State::Connecting(c) = std::mem::replace(&mut self.state, State::Closed) else {
            return Step::Pending;
        };
        // Small requests must not wait for Nagle; a failure here only costs latency.
        let _ = c.socket.set_nodelay(true);
        self.peer = Some(c.addr);
        if let Some(ex) = self.exchange.as_mut() {
            ex.connect = self
                .connect_started
                .map(|t| ctx.now.saturating_duration_since(t));
        }
        if let Route::Tunnel(proxy) = &self.origin.route {
            // The connect deadline runs on until the proxy has answered.
            let mut out = Vec::with_capacity(128);
            write_connect_head(&mut out, &self.origin, proxy);
            let reader = ResponseReader::new(Method::CONNECT, ctx.config.limits);
            let tunnel = Tunnel {
                out,
                written: 0,
                reader,
            };
            self.state = State::Tunneling(Transport::Plain(c.socket), Box::new(tunnel));
            return self.tunnel(ctx);
        }
        self.established(Transport::Plain(c.socket), ctx)
    }

    /// The connection to the server is up: send the request, after a TLS
    /// handshake for https.
    fn established(&mut self, transport: Transport, ctx: &mut Ctx<'_>) -> Step {
        if self.origin.https {
            return self.start_tls(transport, ctx);
        }
        self.connect_deadline = None;
        self.state = State::Sending(transport);
        // The socket is writable now: no need to wait for another event.
        self.send(ctx)
    }

    /// Wraps the TCP stream in a TLS session and starts the handshake; the
    /// connect deadline stays armed until it is done.
    #[cfg(feature = "tls")]
    fn start_tls(&mut self, transport: Transport, ctx: &mut Ctx<'_>) -> Step {
        // The socket stays in the state until it is wrapped, so that a
        // failure deregisters it before it is dropped.
        self.state = State::Handshaking(transport);
        let config = match &ctx.config.tls {
            Some(config) => Ok(std::sync::Arc::clone(config)),
            None => crate::tls::default_config(),
        };
        let config = match config {
            Ok(config) => config,
            Err(message) => return self.fail(Error::new(Reason::TlsConfig(message)), ctx),
        };
        let State::Handshaking(Transport::Plain(socket)) =
            std::mem::replace(&mut self.state, State::Closed)
        else {
            return Step::Pending;
        };
        match crate::tls::TlsStream::new(config, &self.origin.host, socket) {
            Ok(stream) => {
                self.handshake_started = Some(ctx.now);
                self.state = State::Handshaking(Transport::Tls(Box::new(stream)));
                self.handshake(ctx)
            }
            Err((error, socket)) => {
                self.state = State::Handshaking(Transport::Plain(socket));
                let reason = Reason::Tls {
                    peer: self.peer,
                    handshake: true,
                    message: crate::tls::describe(&error, &self.origin.host),
                };
                self.fail(Error::new(reason), ctx)
            }
        }
    }

    /// Without the `tls` feature an https request never gets this far (the
    /// reactor refuses it); fail rather than send it in the clear.
    #[cfg(not(feature = "tls"))]
    fn start_tls(&mut self, transport: Transport, ctx: &mut Ctx<'_>) -> Step {
        self.state = State::Sending(transport);
        self.fail(Error::new(Reason::TlsOff), ctx)
    }

    /// Moves the TLS handshake on; once it is done, sends the request.
    fn handshake(&mut self, ctx: &mut Ctx<'_>) -> Step {
        #[cfg(feature = "tls")]
        {
            let State::Handshaking(Transport::Tls(tls)) = &mut self.state else {
                return Step::Pending;
            };
            match tls.handshake() {
                Ok(false) => {
                    // The TLS session decides the interest while it handshakes.
                    return match self.set_interest(Interest::READABLE, ctx.registry) {
                        Ok(()) => Step::Pending,
                        Err(e) => self.fail_io(Phase::TlsHandshake, e, ctx),
                    };
                }
                Ok(true) => {}
                Err(e) => return self.fail_io(Phase::TlsHandshake, e, ctx),
            }
            let State::Handshaking(transport) = std::mem::replace(&mut self.state, State::Closed)
            else {
                return Step::Pending;
            };
            self.connect_deadline = None;
            if let Some(ex) = self.exchange.as_mut() {
                ex.tls = self
                    .handshake_started
                    .map(|t| ctx.now.saturating_duration_since(t));
            }
            self.state = State::Sending(transport);
            self.send(ctx)
        }
        #[cfg(not(feature = "tls"))]
        {
            self.fail(Error::new(Reason::TlsOff), ctx)
        }
    }

    /// Asks the proxy for a tunnel: writes `CONNECT`, reads the answer
    /// head. A 2xx opens the tunnel and the request goes through it; any
    /// other status ends the request with a proxy error.
    fn tunnel(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let State::Tunneling(transport, tunnel) = &mut self.state else {
            return Step::Pending;
        };
        match write_until_blocked(
            transport,
            &tunnel.out,
            &[],
            &mut tunnel.written,
            ctx.counters,
        ) {
            Ok(true) => {}
            Ok(false) => return self.wait_writable(ctx),
            Err(e) => return self.fail_io(Phase::SendRequest, e, ctx),
        }
        if let Err(e) = self.set_interest(Interest::READABLE, ctx.registry) {
            return self.fail_io(Phase::ReadHead, e, ctx);
        }
        loop {
            let State::Tunneling(transport, tunnel) = &mut self.state else {
                return Step::Pending;
            };
            // Read only what the proxy sends before the tunnel opens: never
            // more than a head plus what a refusal carries.
            let n = match transport.read(ctx.scratch) {
                Ok(0) => {
                    return match tunnel.reader.on_eof() {
                        Ok(()) => self.tunnel_answered(false, ctx),
                        Err(error) => self.fail_protocol(error, ctx),
                    };
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail_io(Phase::ReadHead, e, ctx),
            };
            ctx.counters.bytes_received += n as u64;
            let mut ignored = Vec::new();
            let input = ctx.scratch.get(..n).unwrap_or_default();
            match tunnel.reader.read(input, &mut ignored) {
                Ok(used) if tunnel.reader.head().is_some() => {
                    return self.tunnel_answered(used < n, ctx);
                }
                Ok(_) => {}
                Err(error) => return self.fail_protocol(error, ctx),
            }
        }
    }

    /// The proxy answered `CONNECT`; `leftover` says it sent bytes after
    /// the head.
    fn tunnel_answered(&mut self, leftover: bool, ctx: &mut Ctx<'_>) -> Step {
        let State::Tunneling(_, tunnel) = &self.state else {
            return Step::Pending;
        };
        let status = tunnel.reader.head().map(|h| h.status);
        match status {
            // A proxy sends nothing after its 2xx until the client speaks;
            // bytes there would be mistaken for the origin's.
            Some(status) if status.is_success() && leftover => {
                let error = ProtocolError::MalformedHead("bytes after the proxy's CONNECT answer");
                return self.fail_protocol(error, ctx);
            }
            Some(status) if status.is_success() => {}
            other => {
                let status = other.map_or_else(
                    || "no answer".to_owned(),
                    |s| format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or("")),
                );
                let proxy = self.origin.route.proxy().map(ToString::to_string);
                return self.fail(
                    Error::new(Reason::ProxyRefused {
                        proxy: proxy.unwrap_or_default(),
                        status: status.trim_end().to_owned(),
                    }),
                    ctx,
                );
            }
        }
        let State::Tunneling(transport, _) = std::mem::replace(&mut self.state, State::Closed)
        else {
            return Step::Pending;
        };
        // An https origin starts its TLS handshake here, through the tunnel.
        self.established(transport, ctx)
    }

    /// Writes the request head and body until done or `WouldBlock`.
    fn send(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let (State::Sending(transport), Some(ex)) = (&mut self.state, self.exchange.as_mut())
        else {
            return Step::Pending;
        };
        let body = ex.job.request.body_bytes().unwrap_or_default();
        match write_until_blocked(transport, &ex.head, body, &mut ex.written, ctx.counters) {
            Ok(true) => {}
            Ok(false) => return self.wait_writable(ctx),
            Err(e) => return self.fail_io(Phase::SendRequest, e, ctx),
        }
        let State::Sending(transport) = std::mem::replace(&mut self.state, State::Closed) else {
            return Step::Pending;
        };
        self.state = State::Receiving(transport);
        match self.set_interest(Interest::READABLE, ctx.registry) {
            Ok(()) => Step::Pending,
            Err(e) => self.fail_io(Phase::ReadHead, e, ctx),
        }
    }

    /// Reads until `WouldBlock`, feeding the bytes to the response reader.
    /// Once the body's remaining length is known, reads go straight into the
    /// body buffer, sized for it.
    fn receive(&mut self, ctx: &mut Ctx<'_>) -> Step {
        loop {
            let (State::Receiving(transport), Some(ex)) = (&mut self.state, self.exchange.as_mut())
            else {
                return Step::Pending;
            };
            let phase = if ex.reader.head().is_some() {
                Phase::ReadBody
            } else {
                Phase::ReadHead
            };
            // A coded body goes through the decoder, not straight into `body`.
            let direct = ex
                .reader
                .body_remaining()
                .filter(|&n| n > 0 && ex.decoder.is_none());
            let result = match direct {
                Some(remaining) => match read_body_direct(transport, &mut ex.body, remaining) {
                    (0, Err(e)) => Err(e),
                    (n, Err(e)) => {
                        // Count what arrived, then report the error.
                        ctx.counters.bytes_received += n as u64;
                        let _ = ex.reader.advance_body(n);
                        Err(e)
                    }
                    (n, Ok(())) => Ok(n),
                },
                None => transport.read(ctx.scratch),
            };
            match result {
                Ok(0) => {
                    return match ex.reader.on_eof() {
                        Ok(()) => self.finish(false, ctx),
                        Err(error) => self.fail_protocol(error, ctx),
                    };
                }
                Ok(n) => {
                    ctx.counters.bytes_received += n as u64;
                    ex.first_byte.get_or_insert(ctx.now);
                    let input = ctx.scratch.get(..n).unwrap_or_default();
                    let outcome = match (direct, ex.decoder.is_some()) {
                        (Some(_), _) => ex.reader.advance_body(n).map(|()| n),
                        (None, true) => ex.reader.read(input, &mut ex.coded),
                        (None, false) => ex.reader.read(input, &mut ex.body),
                    };
                    let outcome = match outcome {
                        Ok(used) => ex.decode(self.peer).map(|()| used),
                        Err(source) => Err(Reason::Protocol {
                            peer: self.peer,
                            source,
                        }),
                    };
                    match outcome {
                        Ok(used) if ex.reader.is_done() => return self.finish(used < n, ctx),
                        Ok(_) => {}
                        Err(reason) => return self.fail_or_retry(reason, ctx),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // TLS may have records to send while the response is awaited.
                    return match self.set_interest(Interest::READABLE, ctx.registry) {
                        Ok(()) => Step::Pending,
                        Err(e) => self.fail_io(phase, e, ctx),
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail_io(phase, e, ctx),
            }
        }
    }

    /// An idle connection became readable: the server closed it (or sent
    /// bytes nobody asked for). Either way it cannot carry a request. (A TLS
    /// session reads records that carry no bytes for HTTP, such as TLS 1.3
    /// session tickets, without ending up here as data.)
    fn check_idle(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let State::Idle(transport, _) = &mut self.state else {
            return Step::Pending;
        };
        loop {
            match transport.read(ctx.scratch) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.set_interest(Interest::READABLE, ctx.registry).is_err() {
                        self.close(ctx.registry);
                    }
                    return Step::Pending;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => {
                    self.close(ctx.registry);
                    return Step::Pending;
                }
            }
        }
    }

    /// The response is complete: hand it over, then keep the connection for
    /// the next request or close it.
    fn finish(&mut self, leftover: bool, ctx: &mut Ctx<'_>) -> Step {
        let Some(mut ex) = self.exchange.take() else {
            return Step::Pending;
        };
        let leftover = leftover
            || match &mut self.state {
                State::Receiving(t) => t.has_buffered_input(),
                _ => false,
            };
        let reusable =
            !leftover && ex.reader.can_keep_alive() && ctx.config.pool_max_idle_per_host > 0;
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Receiving(transport) if reusable => {
                self.idle_serial += 1;
                self.state = State::Idle(transport, ctx.now);
            }
            other => {
                self.state = other;
                self.close(ctx.registry);
            }
        }
        let Some(mut head) = ex.reader.take_head() else {
            let error = ProtocolError::IncompleteHead { received: 0 };
            return self.done(
                ex.job,
                Err(Error::new(Reason::Protocol {
                    peer: self.peer,
                    source: error,
                })),
            );
        };
        let now = ctx.now;
        let started = ex.started();
        let timings = Timings {
            queued: started.saturating_duration_since(ex.job.submitted),
            dns: ex.dns,
            connect: ex.connect,
            tls: ex.tls,
            first_byte: ex
                .first_byte
                .unwrap_or(now)
                .saturating_duration_since(started),
            total: now.saturating_duration_since(started),
            reused: ex.reused,
        };
        if let Some(decoder) = ex.decoder.as_mut() {
            if let Err(error) = decoder.finish() {
                let reason = decode_failure(decoder.coding(), error, self.peer);
                return self.done(ex.job, Err(Error::new(reason)));
            }
            if decoder.started() {
                // The body is no longer what these described (as in reqwest).
                head.headers.remove(header::CONTENT_ENCODING);
                head.headers.remove(header::CONTENT_LENGTH);
            }
        }
        if head.status.is_redirection() && ctx.config.max_redirects > 0 {
            let mut chain = std::mem::take(&mut ex.job.chain);
            if chain.is_empty() {
                let request = &ex.job.request;
                chain.push((request.method().clone(), request.url().clone()));
            }
            match redirect::next_request(
                &ex.job.request,
                head.status,
                &head.headers,
                &chain,
                ctx.config.max_redirects,
            ) {
                Action::Return => ex.job.chain = chain,
                Action::Follow(next) => {
                    return Step::Redirect(ex.job.redirected(next, chain, ctx.config));
                }
                Action::Fail(reason) => {
                    ex.job.chain = chain;
                    return self.done(ex.job, Err(Error::new(reason)));
                }
            }
        }
        let id = ex.job.id;
        let response = Response {
            status: head.status,
            version: head.version,
            redirect_declined: redirect::declined(
                head.status,
                &head.headers,
                ex.job.request.url(),
                ctx.config.max_redirects,
            ),
            headers: head.headers,
            body: std::mem::take(&mut ex.body),
            url: ex.job.request.into_url(),
            remote_addr: self.peer,
            timings,
            redirects: ex.job.redirects,
        };
        Step::Done(Completion {
            id,
            result: Ok(response),
        })
    }

    fn fail_io(&mut self, during: Phase, source: io::Error, ctx: &mut Ctx<'_>) -> Step {
        #[cfg(feature = "tls")]
        if let Some(error) = crate::tls::tls_error(&source) {
            // Not the stale-connection race: retrying would fail the same way.
            let reason = Reason::Tls {
                peer: self.peer,
                handshake: during == Phase::TlsHandshake,
                message: crate::tls::describe(error, &self.origin.host),
            };
            return self.fail(Error::new(reason), ctx);
        }
        self.fail_or_retry(
            Reason::Io {
                peer: self.peer,
                during,
                source,
            },
            ctx,
        )
    }

    fn fail_protocol(&mut self, source: ProtocolError, ctx: &mut Ctx<'_>) -> Step {
        self.fail_or_retry(
            Reason::Protocol {
                peer: self.peer,
                source,
            },
            ctx,
        )
    }

    /// Fails the request, unless it may run again on a fresh connection.
    fn fail_or_retry(&mut self, reason: Reason, ctx: &mut Ctx<'_>) -> Step {
        if self.exchange.as_ref().is_some_and(Exchange::may_retry) {
            return self.retry(ctx);
        }
        self.fail(Error::new(reason), ctx)
    }

    fn retry(&mut self, ctx: &mut Ctx<'_>) -> Step {
        self.close(ctx.registry);
        match self.exchange.take() {
            Some(mut ex) => {
                ex.job.retried = true;
                Step::Retry(ex.job)
            }
            None => Step::Pending,
        }
    }

    /// Ends the request with `error` and closes the connection.
    fn fail(&mut self, error: Error, ctx: &mut Ctx<'_>) -> Step {
        self.close(ctx.registry);
        match self.exchange.take() {
            Some(ex) => self.done(ex.job, Err(error)),
            None => Step::Pending,
        }
    }

    fn done(&self, job: Job, result: Result<Response, Error>) -> Step {
        let result = result.map_err(|e| e.with_url(job.first_url().as_str()));
        Step::Done(Completion { id: job.id, result })
    }

    /// Deregisters and drops the socket; the connection is finished.
    pub(crate) fn close(&mut self, registry: &Registry) {
        self.drop_socket(registry);
        self.state = State::Closed;
    }

    /// Drops the socket of the current state (deregistered first, so no
    /// event for it can reach whatever uses this slot next).
    fn drop_socket(&mut self, registry: &Registry) {
        let registered = self.registered.take().is_some();
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Connecting(mut c) if registered => {
                // Deregistering a socket about to be closed cannot usefully fail.
                let _ = registry.deregister(&mut c.socket);
            }
            State::Sending(mut t)
            | State::Receiving(mut t)
            | State::Idle(mut t, _)
            | State::Tunneling(mut t, _)
            | State::Handshaking(mut t)
                if registered =>
            {
                t.deregister(registry);
            }
            _ => {}
        }
    }

    /// The socket buffer is full: wait until it can take more.
    fn wait_writable(&mut self, ctx: &mut Ctx<'_>) -> Step {
        match self.set_interest(Interest::WRITABLE, ctx.registry) {
            Ok(()) => Step::Pending,
            Err(e) => self.fail_io(Phase::SendRequest, e, ctx),
        }
    }

    fn set_interest(&mut self, want: Interest, registry: &Registry) -> io::Result<()> {
        let transport = match &mut self.state {
            State::Sending(t)
            | State::Receiving(t)
            | State::Idle(t, _)
            | State::Tunneling(t, _)
            | State::Handshaking(t) => t,
            State::Connecting(_) | State::Resolving | State::Closed => return Ok(()),
        };
        let want = transport.interest(want);
        if self.registered == Some(want) {
            return Ok(());
        }
        transport.register(registry, self.token, want, self.registered.is_none())?;
        self.registered = Some(want);
        Ok(())
    }
}

/// Writes `head` then `body`, from `written` bytes into them on, with one
/// vectored write per call, until all is sent (`Ok(true)`) or the socket
/// would block (`Ok(false)`).
fn write_until_blocked(
    transport: &mut Transport,
    head: &[u8],
    body: &[u8],
    written: &mut usize,
    counters: &mut Counters,
) -> io::Result<bool> {
    while *written < head.len() + body.len() {
        let (head_rest, body_rest) = match head.get(*written..) {
            Some(head_rest) => (head_rest, body),
            None => (
                &[][..],
                body.get(*written - head.len()..).unwrap_or_default(),
            ),
        };
        match transport.write_vectored(&[IoSlice::new(head_rest), IoSlice::new(body_rest)]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                *written += n;
                counters.bytes_sent += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads up to `remaining` body bytes straight into the spare capacity of
/// `body` (no scratch buffer, no copy). Returns how many bytes arrived, and
/// the error that stopped the reading, if it was not `WouldBlock`; `(0,
/// Ok(()))` is end of stream.
fn read_body_direct(
    transport: &mut Transport,
    body: &mut Vec<u8>,
    remaining: u64,
) -> (usize, io::Result<()>) {
    /// Reserve at most this up front: a server can announce any length.
    const FIRST_RESERVE: u64 = 8 << 20;
    let want = usize::try_from(remaining.min(FIRST_RESERVE)).unwrap_or(0);
    if body.capacity() - body.len() < want {
        body.reserve_exact(want);
    }
    let before = body.len();
    let result = transport.by_ref().take(remaining).read_to_end(body);
    let n = body.len() - before;
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && n > 0 => (n, Ok(())),
        Err(e) => (n, Err(e)),
        Ok(_) => (n, Ok(())),
    }
}

/// EMFILE / ENFILE (and Windows' WSAEMFILE): the process or system is out of
/// descriptors. Checked by number because `io::ErrorKind` has no stable kind
/// for it.
pub(crate) fn is_out_of_sockets(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(23 | 24 | 10024))
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_exhaustion_is_recognised() {
        assert!(is_out_of_sockets(&io::Error::from_raw_os_error(24)));
        assert!(!is_out_of_sockets(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }
}
