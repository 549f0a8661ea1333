//! The HTTP/1.1 session on an open connection: it carries at most one
//! exchange at a time, writing its request head and body, then reading the
//! response with the sans-IO [`ResponseReader`] into the exchange's
//! receiving half.
//!
//! ```text
//!  Idle ──start(exchange)──▶ Sending ──all written──▶ Receiving ──response done, reusable, socket quiet──▶ Idle
//!                                                      │    ▲  └── not reusable, server closed, stray bytes, error ──▶ connection closes
//!                                          sink full   ▼    │ sink took it (SinkRetry timer, or the caller took chunks)
//!                                                    Receiving, paused (no read interest)
//! ```
//!
//! Once the head says how long the body is, reads go straight into the
//! exchange's body buffer ([`read_body_direct`]) when the body is kept in
//! memory: no scratch buffer, no copy; a body going to a sink is read into
//! the reactor's buffer and handed over as a slice. While the exchange's
//! sink cannot take more ([`Exchange::sink_wait`](crate::exchange::Exchange::sink_wait)),
//! the session reads nothing: the socket leaves the poller, the server's
//! bytes wait in the kernel, and TCP's window stops the sender. A response
//! that is complete still waits until its sink has every byte.
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
use std::time::{Duration, Instant};

use mio::Interest;

use super::io::{quiet, read_body_direct, write_until_blocked};
use super::{Connection, Ctx, Event, Session, State};
use crate::error::{Phase, Reason};
use crate::exchange::{ConnInfo, Exchange, Replay, SINK_RETRY_FIRST, SINK_RETRY_MAX, Wait};
use crate::h1::{Limits, ProtocolError, ResponseReader};
use crate::handle::ExchangeId;
use crate::timer::{ConnTimer, ConnTimers};

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
    /// Reading the response; `paused` while the exchange's sink holds the
    /// reading back.
    Receiving {
        exchange: ExchangeId,
        reader: ResponseReader,
        paused: Option<Paused>,
    },
}

/// Why a receiving session reads nothing.
#[derive(Debug, Clone, Copy)]
struct Paused {
    /// What the sink waits for.
    wait: Wait,
    /// Tries of a writer so far: the next waits `SINK_RETRY_FIRST` doubled
    /// this many times (at most `SINK_RETRY_MAX`).
    tries: u8,
    /// Set when the response is complete and only the sink is behind:
    /// whether bytes after the response arrived (the connection is then
    /// not reusable).
    finished: Option<bool>,
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
    /// listens for the server closing it); nothing while paused.
    pub(super) fn wants(&self) -> Option<Interest> {
        match self.state {
            H1State::Sending { .. } => Some(Interest::WRITABLE),
            H1State::Receiving {
                paused: Some(_), ..
            } => None,
            H1State::Idle | H1State::Receiving { .. } => Some(Interest::READABLE),
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
        self.timers.set(ConnTimer::ReadIdle, None);
        self.timers.set(ConnTimer::SinkRetry, None);
        h1.out.clear();
        ex.write_h1_head(&mut h1.out, ctx.config);
        let limits = Limits {
            max_body_bytes: ex.body_limit(ctx.config),
            ..ctx.config.limits
        };
        let reader = ResponseReader::new(ex.request().method().clone(), limits);
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
            // Paused: a spurious event (the socket is out of the poller).
            H1State::Receiving {
                paused: Some(_), ..
            } => {}
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
            let idle = ctx
                .exchanges
                .get(exchange)
                .and_then(|ex| ex.read_idle_timeout(ctx.config));
            arm_read_idle(&mut self.timers, idle, ctx.now);
            h1.state = H1State::Receiving {
                exchange,
                reader,
                paused: None,
            };
        }
    }

    /// Reads until `WouldBlock`, feeding the bytes to the response reader
    /// and the exchange, or until the exchange's sink cannot take more. Once
    /// the body's remaining length is known, reads go straight into the body
    /// buffer (a body kept in memory) or are handed to the sink as a slice
    /// of the reactor's buffer.
    fn h1_receive(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            let State::Open(transport, Session::H1(h1)) = &mut self.state else {
                return;
            };
            let H1State::Receiving {
                exchange,
                reader,
                paused: None,
            } = &mut h1.state
            else {
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
            // How the bytes of this read reach the exchange.
            #[derive(PartialEq)]
            enum Dest {
                /// Straight into the body kept in memory.
                Body,
                /// Into the scratch buffer, all of them body bytes.
                Slice,
                /// Into the scratch buffer, through the response reader.
                Reader,
            }
            let remaining = reader.body_remaining().filter(|&n| n > 0);
            let (into, result) = match remaining {
                Some(remaining) => match ex.direct_body() {
                    Some(body) => {
                        let result = match read_body_direct(transport, body, remaining) {
                            (0, Err(e)) => Err(e),
                            (n, Err(e)) => {
                                // Count what arrived, then report the error.
                                ctx.counters.bytes_received += n as u64;
                                let _ = reader.advance_body(n);
                                let _ = ex.on_body();
                                Err(e)
                            }
                            (n, Ok(())) => Ok(n),
                        };
                        (Dest::Body, result)
                    }
                    None => {
                        let want = usize::try_from(remaining).unwrap_or(usize::MAX);
                        let room = want.min(ctx.scratch.len());
                        let buf = ctx.scratch.get_mut(..room).unwrap_or_default();
                        (Dest::Slice, transport.read(buf))
                    }
                },
                None => (Dest::Reader, transport.read(ctx.scratch)),
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
                    arm_read_idle(&mut self.timers, ex.read_idle_timeout(ctx.config), ctx.now);
                    let input = ctx.scratch.get(..n).unwrap_or_default();
                    let outcome = match into {
                        Dest::Body => reader.advance_body(n).map(|()| n),
                        Dest::Slice => reader.advance_body(n).map(|()| n),
                        Dest::Reader => reader.read(input, ex.body_input()),
                    };
                    let outcome = match outcome {
                        Ok(used) => match into {
                            Dest::Slice => ex.on_body_slice(input).map(|()| used),
                            Dest::Body => ex.on_body().map(|()| used),
                            Dest::Reader => {
                                let head = match reader.head() {
                                    Some(head) => ex.on_head(head, ctx.config),
                                    None => Ok(()),
                                };
                                head.and_then(|()| ex.on_body()).map(|()| used)
                            }
                        },
                        Err(source) => Err(Reason::Protocol {
                            peer: self.peer,
                            source,
                        }),
                    };
                    match outcome {
                        Ok(used) => {
                            let done = reader.is_done();
                            let leftover = used < n;
                            if let Some(wait) = holds_back(ex, done) {
                                let finished = done.then_some(leftover);
                                return self.h1_pause(wait, finished, ctx.now);
                            }
                            if done {
                                return self.h1_finish(leftover, ctx);
                            }
                        }
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

    /// Stops reading for the exchange: its sink cannot take more (or has
    /// not taken all of a complete response). A writer that would block is
    /// tried again on the `SinkRetry` timer; a full chunk queue waits for
    /// the caller. The read-idle clock stops meanwhile.
    fn h1_pause(&mut self, wait: Wait, finished: Option<bool>, now: Instant) {
        let State::Open(_, Session::H1(h1)) = &mut self.state else {
            return;
        };
        let H1State::Receiving { paused, .. } = &mut h1.state else {
            return;
        };
        *paused = Some(Paused {
            wait,
            tries: 0,
            finished,
        });
        self.timers.set(ConnTimer::ReadIdle, None);
        let retry = (wait == Wait::Retry).then(|| now + SINK_RETRY_FIRST);
        self.timers.set(ConnTimer::SinkRetry, retry);
    }

    /// The sink may take more (its retry timer fired, or the caller took
    /// chunks): hands it what waits, and reads on once it has room (or
    /// finishes a response that was only waiting for its sink).
    pub(super) fn h1_sink_ready(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H1(h1)) = &mut self.state else {
            return;
        };
        let H1State::Receiving {
            exchange,
            paused: Some(paused),
            ..
        } = &mut h1.state
        else {
            return;
        };
        let Some(ex) = ctx.exchanges.get_mut(*exchange) else {
            return self.close(ctx.registry);
        };
        if let Err(reason) = ex.drain_sink() {
            return self.fail_with(reason, false, ctx);
        }
        if let Some(wait) = holds_back(ex, paused.finished.is_some()) {
            paused.wait = wait;
            paused.tries = paused.tries.saturating_add(1);
            let delay = SINK_RETRY_FIRST
                .saturating_mul(1 << paused.tries.min(16))
                .min(SINK_RETRY_MAX);
            let retry = (wait == Wait::Retry).then(|| ctx.now + delay);
            self.timers.set(ConnTimer::SinkRetry, retry);
            return;
        }
        let finished = paused.finished;
        let idle = ex.read_idle_timeout(ctx.config);
        if let H1State::Receiving { paused, .. } = &mut h1.state {
            *paused = None;
        }
        self.timers.set(ConnTimer::SinkRetry, None);
        arm_read_idle(&mut self.timers, idle, ctx.now);
        match finished {
            Some(leftover) => self.h1_finish(leftover, ctx),
            None => self.h1_receive(ctx),
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
            ..
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

/// Why the session must not read on for `ex` (or, for a complete response,
/// not finish yet); `None` when it may.
fn holds_back(ex: &Exchange, done: bool) -> Option<Wait> {
    ex.sink_wait()
        .or_else(|| (done && !ex.sink_drained()).then_some(Wait::Retry))
}

/// Starts (or moves on) the read-idle clock.
fn arm_read_idle(timers: &mut ConnTimers, idle: Option<Duration>, now: Instant) {
    timers.set(ConnTimer::ReadIdle, idle.map(|d| now + d));
}
