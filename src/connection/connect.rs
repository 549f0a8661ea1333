//! From a DNS answer to a connected socket: every address is tried in turn,
//! each with a fair share of what is left of the connect budget, and a
//! non-blocking connect is finished the way mio's `TcpStream::connect`
//! notes say: an error in `take_error` means this address failed,
//! `NotConnected` from `peer_addr` means not yet.
//!
//! Issue 9's Happy Eyeballs (RFC 8305) keeps several [`Connecting`]
//! attempts in flight at once; the fallback order and the attempt timer
//! are already here.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use super::{Connection, Ctx, Event, State, Transport};
use crate::dns::{Addrs, DnsError};
use crate::error::Reason;
use crate::h1::ResponseReader;
use crate::proxy::Route;
use crate::stream::Stream;
use crate::timer::ConnTimer;

use http::Method;

/// A non-blocking connect in progress, and what is left to try.
pub(super) struct Connecting {
    pub(super) socket: Stream,
    pub(super) addr: SocketAddr,
    attempts: Attempts,
}

/// The addresses of one connect and how trying them went.
struct Attempts {
    rest: VecDeque<SocketAddr>,
    tried: usize,
    last_error: Option<(SocketAddr, io::Error)>,
    /// When the first connect call was made.
    started: Instant,
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
                let attempts = Attempts {
                    rest: ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect(),
                    tried: 0,
                    last_error: None,
                    started: ctx.now,
                };
                self.timers
                    .rename(&[ConnTimer::Resolve], ConnTimer::Connect);
                self.connect_next(attempts, ctx);
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

    /// Starts a non-blocking connect to the next address that accepts one;
    /// the socket is registered after the step (see `sync_interest`).
    fn connect_next(&mut self, mut attempts: Attempts, ctx: &mut Ctx<'_>) {
        while let Some(addr) = attempts.rest.pop_front() {
            attempts.tried += 1;
            match ctx.connector.connect(addr) {
                Ok(socket) => {
                    ctx.counters.connections_opened += 1;
                    // With more addresses to go, this one gets its share of the time left.
                    let share = match (self.timers.get(ConnTimer::Connect), attempts.rest.len()) {
                        (Some(deadline), left) if left > 0 => {
                            let share =
                                deadline.saturating_duration_since(ctx.now) / (left as u32 + 1);
                            Some(ctx.now + share)
                        }
                        _ => None,
                    };
                    self.timers.set(ConnTimer::ConnectAttempt, share);
                    self.state = State::Connecting(Connecting {
                        socket,
                        addr,
                        attempts,
                    });
                    return;
                }
                Err(error) if is_out_of_sockets(&error) => {
                    self.close(ctx.registry);
                    if let Some(exchange) = self.waiting.take() {
                        ctx.events.push(Event::NoSocket {
                            exchange,
                            source: error,
                        });
                    }
                    return;
                }
                Err(error) => attempts.last_error = Some((addr, error)),
            }
        }
        let reason = match attempts.last_error {
            Some((addr, source)) => Reason::Connect {
                addr,
                tried: attempts.tried,
                source,
            },
            None => Reason::NoAddresses {
                host: self.origin.connect_host().to_string(),
            },
        };
        self.fail(reason, ctx);
    }

    /// The attempt timer fired: this address is too slow, so the rest of the
    /// time goes to the others.
    pub(super) fn next_address(&mut self, ctx: &mut Ctx<'_>) {
        self.timers.set(ConnTimer::ConnectAttempt, None);
        self.retry_next(io::Error::from(io::ErrorKind::TimedOut), ctx);
    }

    /// Drops the current socket, records why it failed, and connects to
    /// the next address.
    fn retry_next(&mut self, error: io::Error, ctx: &mut Ctx<'_>) {
        let registered = self.registered.take().is_some();
        let State::Connecting(mut c) = std::mem::replace(&mut self.state, State::Closed) else {
            return;
        };
        if registered {
            c.socket.deregister(ctx.registry);
        }
        let mut attempts = c.attempts;
        attempts.last_error = Some((c.addr, error));
        drop(c.socket);
        self.connect_next(attempts, ctx);
    }

    /// Finishes a non-blocking connect.
    pub(super) fn check_connect(&mut self, ctx: &mut Ctx<'_>) {
        let State::Connecting(c) = &mut self.state else {
            return;
        };
        let failed = match c.socket.take_error() {
            Ok(Some(error)) | Err(error) => Some(error),
            Ok(None) => match c.socket.peer_addr() {
                Ok(_) => None,
                Err(error) if error.kind() == io::ErrorKind::NotConnected => return,
                Err(error) => Some(error),
            },
        };
        if let Some(error) = failed {
            return self.retry_next(error, ctx);
        }
        let State::Connecting(c) = std::mem::replace(&mut self.state, State::Closed) else {
            return;
        };
        // Small requests must not wait for Nagle; a failure here only costs latency.
        let _ = c.socket.set_nodelay();
        self.peer = Some(c.addr);
        self.timers.set(ConnTimer::ConnectAttempt, None);
        self.fresh.connect = Some(ctx.now.saturating_duration_since(c.attempts.started));
        let transport = Transport::Plain(c.socket);
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
    fn descriptor_exhaustion_is_recognised() {
        assert!(is_out_of_sockets(&io::Error::from_raw_os_error(24)));
        assert!(!is_out_of_sockets(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }
}
