//! From a DNS answer to a connected socket, with Happy Eyeballs (RFC 8305):
//! the addresses are put in IPv6/IPv4 turns (§4), one connect attempt
//! starts, and each next one starts beside those still in flight when the
//! Connection Attempt Delay passes (§5, `ClientBuilder::happy_eyeballs_delay`)
//! or at once when an attempt fails. The first to connect wins; the others
//! are deregistered and closed. The connect budget (`ConnTimer::Connect`)
//! bounds them all, and the delay shrinks to a fair share of what is left
//! when it must, so every address is tried before the budget runs out.
//!
//! ```text
//!   addresses: [v6a, v6b, v4a]  ──interleave──▶  [v6a, v4a, v6b]
//!
//!   t=0     connect v6a ·········· (stalls) ················· closed, lost
//!   t=250ms                connect v4a ──connected──▶ wins ──▶ (Tunneling / Handshaking / Open)
//!   t=500ms                                          (v6b never started)
//! ```
//!
//! Each attempt finishes the way mio's `TcpStream::connect` notes say: an
//! error in `take_error` means this address failed, `NotConnected` from
//! `peer_addr` means not yet. All attempts are registered under the
//! connection's token; an event checks each of them.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use mio::{Interest, Registry, Token};

use super::{Connection, Ctx, Event, State, Transport};
use crate::dns::{Addrs, DnsError};
use crate::error::Reason;
use crate::h1::ResponseReader;
use crate::proxy::Route;
use crate::stream::Stream;
use crate::timer::ConnTimer;

use http::Method;

/// Connect attempts in flight, and what is left to try.
pub(super) struct Connecting {
    /// Oldest first.
    attempts: Vec<Attempt>,
    /// Addresses not tried yet, in the order to try them.
    rest: VecDeque<SocketAddr>,
    tried: usize,
    last_error: Option<(SocketAddr, io::Error)>,
    /// When the first connect call was made.
    started: Instant,
}

/// One non-blocking connect.
struct Attempt {
    socket: Stream,
    addr: SocketAddr,
    registered: bool,
}

/// How a non-blocking connect is doing.
enum Progress {
    InFlight,
    Connected,
    Failed(io::Error),
}

impl Attempt {
    fn progress(&self) -> Progress {
        match self.socket.take_error() {
            Ok(Some(error)) | Err(error) => Progress::Failed(error),
            Ok(None) => match self.socket.peer_addr() {
                Ok(_) => Progress::Connected,
                Err(error) if error.kind() == io::ErrorKind::NotConnected => Progress::InFlight,
                Err(error) => Progress::Failed(error),
            },
        }
    }

    /// Deregisters (if registered) and closes the socket.
    fn close(mut self, registry: &Registry) {
        if self.registered {
            self.socket.deregister(registry);
        }
    }
}

impl Connecting {
    /// Registers the attempts started since the last call (all for
    /// writable readiness, under the connection's token).
    pub(super) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        for attempt in self.attempts.iter_mut().filter(|a| !a.registered) {
            attempt
                .socket
                .register(registry, token, Interest::WRITABLE, true)?;
            attempt.registered = true;
        }
        Ok(())
    }

    /// True when any attempt is registered.
    pub(super) fn is_registered(&self) -> bool {
        self.attempts.iter().any(|a| a.registered)
    }

    /// Closes every attempt.
    pub(super) fn close(self, registry: &Registry) {
        for attempt in self.attempts {
            attempt.close(registry);
        }
    }

    /// The addresses in flight, for a timeout message.
    pub(super) fn target(&self) -> String {
        let addrs: Vec<String> = self.attempts.iter().map(|a| a.addr.to_string()).collect();
        addrs.join(", ")
    }
}

/// RFC 8305 §4: the addresses in turns of family, starting with the family
/// of the resolver's first choice (its order is otherwise kept: the system
/// resolver sorts by RFC 6724).
pub(crate) fn interleave(ips: &[IpAddr]) -> Vec<IpAddr> {
    let first_v6 = ips.first().is_some_and(IpAddr::is_ipv6);
    let (mut first, mut second): (VecDeque<IpAddr>, VecDeque<IpAddr>) =
        ips.iter().partition(|ip| ip.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(ips.len());
    loop {
        match (first.pop_front(), second.pop_front()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

impl Connection {
    /// The resolver answered.
    pub(crate) fn on_resolved(&mut self, answer: Result<Addrs, DnsError>, ctx: &mut Ctx<'_>) {
        if !matches!(self.state, State::Resolving) {
            return;
        }
        // An IP literal is never looked up, so it has no DNS phase (see `Timings`).
        if crate::dns::parse_ip_literal(self.origin.connect_host()).is_none() {
            self.fresh.dns = Some(ctx.now.saturating_duration_since(self.created));
        }
        match answer {
            Ok(ips) => {
                let port = self.origin.connect_port();
                self.timers
                    .rename(&[ConnTimer::Resolve], ConnTimer::Connect);
                self.state = State::Connecting(Connecting {
                    attempts: Vec::new(),
                    rest: interleave(&ips)
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, port))
                        .collect(),
                    tried: 0,
                    last_error: None,
                    started: ctx.now,
                });
                self.start_attempt(ctx);
            }
            Err(error) => {
                let host = self.origin.connect_host().to_string();
                let reason = match error.to_io() {
                    Some(source) => Reason::Dns { host, source },
                    None => Reason::NoAddresses { host },
                };
                self.fail(reason, ctx);
            }
        }
    }

    /// Starts a non-blocking connect to the next address that accepts one,
    /// beside the attempts in flight, and arms the timer for the one after;
    /// fails the connection when nothing is in flight and nothing is left.
    /// The socket is registered after the step (see `sync_interest`).
    fn start_attempt(&mut self, ctx: &mut Ctx<'_>) {
        let State::Connecting(c) = &mut self.state else {
            return;
        };
        while let Some(addr) = c.rest.pop_front() {
            c.tried += 1;
            match ctx.connector.connect(addr) {
                Ok(socket) => {
                    ctx.counters.connections_opened += 1;
                    c.attempts.push(Attempt {
                        socket,
                        addr,
                        registered: false,
                    });
                    let left = c.rest.len();
                    return self.arm_next_attempt(left, ctx);
                }
                Err(error) if is_out_of_sockets(&error) => {
                    if c.attempts.is_empty() {
                        self.close(ctx.registry);
                        if let Some(exchange) = self.waiting.take() {
                            ctx.events.push(Event::NoSocket {
                                exchange,
                                source: error,
                            });
                        }
                        return;
                    }
                    // Those in flight go on; this address waits for one of
                    // them to fail (and free its socket).
                    c.rest.push_front(addr);
                    c.tried -= 1;
                    self.timers.set(ConnTimer::ConnectAttempt, None);
                    return;
                }
                Err(error) => c.last_error = Some((addr, error)),
            }
        }
        self.timers.set(ConnTimer::ConnectAttempt, None);
        if c.attempts.is_empty() {
            self.fail_connecting(ctx);
        }
    }

    /// With `left` addresses still to start, the next one starts after the
    /// Connection Attempt Delay, or sooner if a fair share of the connect
    /// budget left is shorter (so every address gets its turn).
    fn arm_next_attempt(&mut self, left: usize, ctx: &Ctx<'_>) {
        let at = (left > 0).then(|| {
            let mut delay = ctx.config.happy_eyeballs_delay;
            if let Some(deadline) = self.timers.get(ConnTimer::Connect) {
                let share = deadline.saturating_duration_since(ctx.now)
                    / u32::try_from(left + 1).unwrap_or(u32::MAX);
                delay = delay.min(share);
            }
            ctx.now + delay
        });
        self.timers.set(ConnTimer::ConnectAttempt, at);
    }

    /// Every address failed: the last failure says why.
    fn fail_connecting(&mut self, ctx: &mut Ctx<'_>) {
        let State::Connecting(c) = &mut self.state else {
            return;
        };
        let reason = match c.last_error.take() {
            Some((addr, source)) => Reason::Connect {
                addr,
                tried: c.tried,
                source,
            },
            None => Reason::NoAddresses {
                host: self.origin.connect_host().to_string(),
            },
        };
        self.fail(reason, ctx);
    }

    /// The attempt timer fired: the next address starts beside the ones in
    /// flight.
    pub(super) fn next_address(&mut self, ctx: &mut Ctx<'_>) {
        self.timers.set(ConnTimer::ConnectAttempt, None);
        self.start_attempt(ctx);
    }

    /// Checks every attempt in flight: the first connected wins (the others
    /// are closed); failed ones are dropped and the next address starts at
    /// once.
    pub(super) fn check_connect(&mut self, ctx: &mut Ctx<'_>) {
        let State::Connecting(c) = &mut self.state else {
            return;
        };
        let mut winner = None;
        let mut failed = false;
        for attempt in std::mem::take(&mut c.attempts) {
            if winner.is_some() {
                c.attempts.push(attempt);
                continue;
            }
            match attempt.progress() {
                Progress::InFlight => c.attempts.push(attempt),
                Progress::Connected => winner = Some(attempt),
                Progress::Failed(error) => {
                    c.last_error = Some((attempt.addr, error));
                    attempt.close(ctx.registry);
                    failed = true;
                }
            }
        }
        let Some(won) = winner else {
            if failed {
                self.start_attempt(ctx);
            }
            return;
        };
        let State::Connecting(c) = std::mem::replace(&mut self.state, State::Closed) else {
            return;
        };
        let started = c.started;
        c.close(ctx.registry);
        // The winner's registration carries over to the states after this.
        self.registered = won.registered.then_some(Interest::WRITABLE);
        // Small requests must not wait for Nagle; a failure here only costs latency.
        let _ = won.socket.set_nodelay();
        self.peer = Some(won.addr);
        self.timers.set(ConnTimer::ConnectAttempt, None);
        self.fresh.connect = Some(ctx.now.saturating_duration_since(started));
        let transport = Transport::Plain(won.socket);
        if let Route::Tunnel(proxy) = &self.origin.route {
            // The connect budget runs on until the proxy has answered.
            let reader = ResponseReader::new(Method::CONNECT, ctx.config.limits);
            let tunnel = super::tunnel::Tunnel::new(&self.origin, proxy, reader);
            self.state = State::Tunneling(transport, Box::new(tunnel));
            return self.tunnel(ctx);
        }
        self.established(transport, ctx);
    }
}

/// EMFILE / ENFILE (and Windows' WSAEMFILE): the process or system is out of
/// descriptors. Checked by number because `io::ErrorKind` has no stable kind
/// for it.
pub(crate) fn is_out_of_sockets(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(23 | 24 | 10024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_take_turns_from_the_first_choice() {
        let v4 = |n: u8| IpAddr::from([10, 0, 0, n]);
        let v6 = |n: u16| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n]);
        assert_eq!(
            interleave(&[v6(1), v6(2), v6(3), v4(1), v4(2)]),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleave(&[v4(1), v6(1), v6(2), v4(2)]),
            [v4(1), v6(1), v4(2), v6(2)]
        );
        assert_eq!(interleave(&[v4(1), v4(2)]), [v4(1), v4(2)]);
        assert_eq!(interleave(&[]), Vec::<IpAddr>::new());
    }

    #[test]
    fn descriptor_exhaustion_is_recognised() {
        assert!(is_out_of_sockets(&io::Error::from_raw_os_error(24)));
        assert!(!is_out_of_sockets(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }
}
