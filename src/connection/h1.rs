//! The HTTP/1.1 session on an open connection: it carries at most one
//! exchange at a time, writing its request head and body, then reading the
//! response with the sans-IO [`ResponseReader`] into the exchange's
//! receiving half.
//!
//! ```text
//!  Idle ──start(exchange)──▶ Sending ──all written──▶ Receiving ──response done, reusable, socket quiet──▶ Idle
//!                                                          └── not reusable, server closed, stray bytes, error ──▶ connection closes
//! ```
//!
//! Once the head says how long the body is, reads go straight into the
//! exchange's body buffer ([`read_body_direct`]): no scratch buffer, no copy.
//!
//! A connection goes back to idle only when the socket has been read until
//! it would block ([`quiet`]), as mio asks before waiting for readiness
//! again: a server whose FIN came with the end of the response, or that
//! sent bytes after it, is found out there, and the connection is closed
//! rather than parked, so no request (above all no POST, which is never
//! retried) is written into a connection the server has left. When the
//! event already said the server's side is closed, there is nothing to
//! read for: the connection closes at once.
//!
//! How a response that does not arrive whole is reported (RFC 9112 §8):
//! nothing before the connection closed is an empty reply
//! (`ProtocolError::EmptyReply`); a close or a reset after some of it is a
//! truncation saying how much came (and, for a reset, that it was one); a
//! reset before any byte is an I/O error. On a reused connection, a failure
//! before any response byte is replayable (the stale-connection retry).

use std::io::{self, Read};

use mio::Interest;

use super::io::{quiet, read_body_direct, write_until_blocked};
use super::{Connection, Ctx, Event, Session, State};
use crate::error::{Phase, Reason};
use crate::exchange::{ConnInfo, Replay};
use crate::h1::{ProtocolError, ResponseReader};
use crate::handle::ExchangeId;
use crate::timer::ConnTimer;

/// An HTTP/1.1 session.
pub(crate) struct H1 {
    state: H1State,
    /// The request head being written; kept from one exchange to the next
    /// so its allocation is reused.
    out: Vec<u8>,
}

enum H1State {
    /// No exchange: the connection waits in the pool.
    Idle,
    /// Writing the request head and body; `written` counts both.
    Sending {
        exchange: ExchangeId,
        written: usize,
        reader: ResponseReader,
    },
    /// Reading the response.
    Receiving {
        exchange: ExchangeId,
        reader: ResponseReader,
    },
}

impl H1 {
    pub(super) fn new() -> H1 {
        H1 {
            state: H1State::Idle,
            out: Vec::new(),
        }
    }

    pub(super) fn is_idle(&self) -> bool {
        matches!(self.state, H1State::Idle)
    }

    /// The exchange being carried, if any.
    pub(super) fn exchange(&self) -> Option<ExchangeId> {
        match &self.state {
            H1State::Idle => None,
            H1State::Sending { exchange, .. } | H1State::Receiving { exchange, .. } => {
                Some(*exchange)
            }
        }
    }

    /// Writable while sending; readable otherwise (an idle connection
    /// listens for the server closing it).
    pub(super) fn wants(&self) -> Interest {
        match self.state {
            H1State::Sending { .. } => Interest::WRITABLE,
            H1State::Idle | H1State::Receiving { .. } => Interest::READABLE,
        }
    }

    /// The phase of the exchange, for a timeout or an I/O error.
    pub(super) fn phase(&self) -> Phase {
        match &self.state {
            H1State::Sending { .. } => Phase::SendRequest,
            H1State::Receiving { reader, .. } if reader.head().is_some() => Phase::ReadBody,
            H1State::Idle | H1State::Receiving { .. } => Phase::ReadHead,
        }
    }

    /// True once any byte of the response has arrived.
    pub(super) fn has_received_bytes(&self) -> bool {
        match &self.state {
            H1State::Receiving { reader, .. } => reader.has_received_bytes(),
            H1State::Idle | H1State::Sending { .. } => false,
        }
    }
}

impl Connection {
    /// Starts `exchange` on the idle session and writes what the socket takes.
    pub(super) fn h1_start(&mut self, exchange: ExchangeId, info: ConnInfo, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H1(h1)) = &mut self.state else {
            return;
        };
        let Some(ex) = ctx.exchanges.get_mut(exchange) else {
            // Nothing to carry (the reactor never starts a finished one).
            return;
        };
        ex.begin(info);
        self.timers.set(ConnTimer::Deadline, ex.deadline());
        h1.out.clear();
        ex.write_h1_head(&mut h1.out, ctx.config);
        let reader = ResponseReader::new(ex.request().method().clone(), ctx.config.limits);
        h1.state = H1State::Sending {
            exchange,
            written: 0,
            reader,
        };
        // A request usually fits the socket buffer: write now (on a reused
        // connection the readable registration then stays as it is).
        self.h1_send(ctx);
    }

    /// The socket is ready: on with what the session is doing.
    pub(super) fn h1_ready(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H1(h1)) = &self.state else {
            return;
        };
        match h1.state {
            H1State::Sending { .. } => self.h1_send(ctx),
            H1State::Receiving { .. } => self.h1_receive(ctx),
            H1State::Idle => self.h1_check_idle(ctx),
        }
    }

    /// Writes the request head and body until done or `WouldBlock`.
    fn h1_send(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(transport, Session::H1(h1)) = &mut self.state else {
            return;
        };
        let H1State::Sending {
            exchange, written, ..
        } = &mut h1.state
        else {
            return;
        };
        let body = ctx
            .exchanges
            .get(*exchange)
            .and_then(|ex| ex.request().body_bytes())
            .unwrap_or_default();
        match write_until_blocked(transport, &h1.out, body, written, ctx.counters) {
            Ok(true) => {}
            // The interest (writable while sending) waits for room.
            Ok(false) => return,
            Err(e) => return self.fail_io(Phase::SendRequest, e, ctx),
        }
        if let H1State::Sending {
            exchange, reader, ..
        } = std::mem::replace(&mut h1.state, H1State::Idle)
        {
            h1.state = H1State::Receiving { exchange, reader };
        }
    }

    /// Reads until `WouldBlock`, feeding the bytes to the response reader
    /// and the exchange. Once the body's remaining length is known, reads go
    /// straight into the body buffer.
    fn h1_receive(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let State::Open(transport, Session::H1(h1)) = &mut self.state else {
                return;
            };
            let H1State::Receiving { exchange, reader } = &mut h1.state else {
                return;
            };
            let Some(ex) = ctx.exchanges.get_mut(*exchange) else {
                // The exchange is gone; its response is of no use.
                return self.close(ctx.registry);
            };
            let phase = if reader.head().is_some() {
                Phase::ReadBody
            } else {
                Phase::ReadHead
            };
            // A coded body goes through the decoder, not straight into the body.
            let remaining = reader.body_remaining().filter(|&n| n > 0);
            let direct = remaining.and_then(|n| Some((n, ex.direct_body()?)));
            let is_direct = direct.is_some();
            let result = match direct {
                Some((remaining, body)) => match read_body_direct(transport, body, remaining) {
                    (0, Err(e)) => Err(e),
                    (n, Err(e)) => {
                        // Count what arrived, then report the error.
                        ctx.counters.bytes_received += n as u64;
                        let _ = reader.advance_body(n);
                        Err(e)
                    }
                    (n, Ok(())) => Ok(n),
                },
                None => transport.read(ctx.scratch),
            };
            match result {
                Ok(0) => {
                    return match reader.on_eof() {
                        Ok(()) => self.h1_finish(false, ctx),
                        Err(error) => self.fail_protocol(error, ctx),
                    };
                }
                Ok(n) => {
                    ctx.counters.bytes_received += n as u64;
                    ex.on_first_byte(ctx.now);
                    let outcome = if is_direct {
                        reader.advance_body(n).map(|()| n)
                    } else {
                        let input = ctx.scratch.get(..n).unwrap_or_default();
                        reader.read(input, ex.body_input())
                    };
                    let outcome = match outcome {
                        Ok(used) => {
                            if let Some(head) = reader.head() {
                                ex.on_head(head, ctx.config);
                            }
                            ex.on_body().map(|()| used)
                        }
                        Err(source) => Err(Reason::Protocol {
                            peer: self.peer,
                            source,
                        }),
                    };
                    match outcome {
                        Ok(used) if reader.is_done() => return self.h1_finish(used < n, ctx),
                        Ok(_) => {}
                        Err(reason) => {
                            let replayable = !reader.has_received_bytes();
                            return self.fail_with(reason, replayable, ctx);
                        }
                    }
                }
                // The interest (readable while receiving; TLS may add
                // writable) waits for more.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.h1_read_failed(phase, e, ctx),
            }
        }
    }

    /// A read failed while receiving (a reset, or another I/O error). After
    /// part of the response this is a truncation that says how much came
    /// and how the connection ended; before any of it, the connection's
    /// failure (an I/O error, replayable); a TLS error stays one.
    fn h1_read_failed(&mut self, phase: Phase, error: io::Error, ctx: &mut Ctx<'_>) {
        #[cfg(feature = "tls")]
        if crate::tls::tls_error(&error).is_some() {
            return self.fail_io(phase, error, ctx);
        }
        let cut = match &mut self.state {
            State::Open(_, Session::H1(h1)) => match &mut h1.state {
                H1State::Receiving { reader, .. } if reader.has_received_bytes() => {
                    reader.on_abort().err().filter(ProtocolError::is_truncated)
                }
                _ => None,
            },
            _ => None,
        };
        match cut {
            Some(source) => self.fail(
                Reason::CutOff {
                    peer: self.peer,
                    source,
                    cause: error,
                },
                ctx,
            ),
            None => self.fail_io(phase, error, ctx),
        }
    }

    /// An idle connection became readable: the server closed it (or sent
    /// bytes nobody asked for). Either way it cannot carry a request. (A TLS
    /// session reads records that carry no bytes for HTTP, such as TLS 1.3
    /// session tickets, without ending up here as data.)
    fn h1_check_idle(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(transport, _) = &mut self.state else {
            return;
        };
        if self.peer_closed || !quiet(transport, ctx.scratch) {
            self.close(ctx.registry);
        }
    }

    /// The response is complete: hand its head over, then keep the
    /// connection for the next request or close it.
    fn h1_finish(&mut self, leftover: bool, ctx: &mut Ctx<'_>) {
        let State::Open(transport, Session::H1(h1)) = &mut self.state else {
            return;
        };
        let H1State::Receiving {
            exchange,
            mut reader,
        } = std::mem::replace(&mut h1.state, H1State::Idle)
        else {
            return;
        };
        let leftover = leftover || transport.has_buffered_input();
        let reusable = !leftover
            && !self.peer_closed
            && reader.can_keep_alive()
            && ctx.config.pool_max_idle_per_host > 0
            && quiet(transport, ctx.scratch);
        if reusable {
            self.go_idle(ctx);
        } else {
            self.close(ctx.registry);
        }
        ctx.events.push(match reader.take_head() {
            Some(head) => Event::Response { exchange, head },
            None => Event::Failed {
                exchange,
                reason: Reason::Protocol {
                    peer: self.peer,
                    source: ProtocolError::EmptyReply,
                },
                replay: Replay::Never,
            },
        });
    }
}
