//! The HTTP/2 session on an open connection: a sans-IO [`h2::Session`]
//! fed with the transport's bytes, carrying many exchanges at once, one per
//! stream (RFC 9113). Its events reach the exchanges through the same
//! receiving half h1 uses (`on_head`, `body_input`, `on_body`); what ends a
//! stream goes out as an [`Event`] for the reactor.
//!
//! ```text
//!              start(exchange): HEADERS (+ DATA as the server's windows allow)
//!                 ┌───────────────────────────────┐
//!                 ▼                               │
//!  Idle ──start──▶ Busy(streams: id → exchange) ──┴── last stream ends, usable ──▶ Idle (pooled once)
//!                   │  Response / Data / Trailers ──▶ exchange; END_STREAM ──▶ Event::Response
//!                   │  RST_STREAM, stream error, deadline ──▶ Event::Failed (that exchange only)
//!                   │  REFUSED_STREAM, GOAWAY above it ──▶ Event::Failed { Replay::Unprocessed }
//!                   │  (GOAWAY whose last stream is not 0 ──▶ Replay::Postponed: not counted)
//!                   └─ connection error, EOF, I/O error, no SETTINGS in time ──▶ every stream fails, Closed
//!  GOAWAY received or stream ids used up: no new streams; Closed once the last stream ends
//! ```
//!
//! Idle and Busy are not variants of their own: both are the connection's
//! `State::Open` with an [`H2`] session, Busy while [`H2`]'s `streams` holds
//! an exchange and Idle (its `idle` flag set, the connection in the pool)
//! once it holds none; Closed is `State::Closed`.
//!
//! The socket stays registered readable and writable while the
//! connection is open (readiness is edge-triggered: no `epoll_ctl` per
//! request), and a read that gets fewer bytes than it asked for is the last
//! until the next readiness, unless the server's FIN or TLS `close_notify`
//! came with it (epoll(7), Q9).
//!
//! On a busy connection, one that allows 16 streams or more with half of
//! them taken, new requests without bodies that are all that waits to be
//! written are held back until eight are there or 1 ms has passed
//! ([`ConnTimer::Coalesce`]), then go out in one write: one TLS record and
//! one wakeup of the server for eight requests, where each would cost its
//! own. The server has the
//! other streams to work on meanwhile; a connection that is not busy, or
//! anything else to write (a body, an acknowledgement, WINDOW_UPDATE),
//! writes at once.
//!
//! Reads are handed to [`h2::Session::recv`] straight from the reactor's
//! scratch buffer; DATA bytes are copied into the exchange's body (or on to
//! its sink) and released as the exchange takes them
//! ([`Exchange::take_released`](crate::exchange::Exchange::take_released)),
//! so WINDOW_UPDATEs follow consumption (the session sends them once half a
//! window is pending). Bytes to send are taken from the session only when
//! the socket has taken the previous ones, so a server that floods us with
//! PINGs while not reading trips the session's flood limit instead of
//! growing a buffer.
//!
//! Backpressure is per stream: while a stream's sink cannot take more
//! (a writer that would block, a chunk queue the caller has not emptied),
//! the stream is *held*: its bytes are not released, so its window (and the
//! connection's, by as much) stays closed and the server stops sending on
//! it, while the other streams go on. The connection keeps reading. A held
//! writer is tried again on the `SinkRetry` timer; a held chunk queue when
//! the caller takes chunks. A stream whose END_STREAM came while held ends
//! once its sink has every byte.
//!
//! ```text
//!  open ──DATA, sink has room──▶ open (bytes released, read-idle clock moved on)
//!    │  └─DATA, sink full──▶ held (nothing released, read-idle clock stopped)
//!    │                          │  sink took it (SinkRetry timer, or the caller took chunks)
//!    │                          ▼
//!    │                        open (what the sink took released: WINDOW_UPDATE)
//!    └─END_STREAM──▶ complete once the sink has every byte (held until then)
//! ```

use std::collections::BTreeSet;
use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Version};
use mio::Interest;

use super::clocks::StreamClocks;
use super::{Connection, Ctx, Event, Session, State, Transport};
use crate::config::Config;
use crate::error::{Phase, Reason};
use crate::exchange::{ConnInfo, Exchange, Replay, SINK_RETRY_FIRST, SINK_RETRY_MAX, Wait};
use crate::h1::ResponseHead;
use crate::h2::StreamId;
use crate::h2::error::{ErrorCode, SendError, StreamFailure};
use crate::h2::session::{self as h2, Event as H2Event};
use crate::handle::ExchangeId;
use crate::id_hash::IdMap;
use crate::timer::{ConnTimer, ConnTimers};

/// Most bytes of a GOAWAY's debug data kept for an error message.
const MAX_DEBUG_TEXT: usize = 200;

/// On a busy connection (16 stream slots or more, half of them taken), new
/// requests alone in the output wait until this many are there...
const COALESCE_REQUESTS: usize = 8;
/// ...or this long, whichever comes first, and go out together.
const COALESCE_WAIT: Duration = Duration::from_millis(1);

/// An HTTP/2 session and the exchanges on its streams.
pub(crate) struct H2 {
    session: h2::Session,
    /// Bytes taken from the session, written up to `written`.
    out: Vec<u8>,
    written: usize,
    /// The exchange on each open stream, by stream id.
    streams: IdMap<u32, Carried>,
    /// The whole-request deadline of each stream (`Carried::deadline`),
    /// earliest first.
    deadlines: StreamClocks,
    /// The read-idle deadline of each stream not held (`Carried::idle_at`),
    /// earliest first.
    idles: StreamClocks,
    /// Streams whose sink cannot take more (see the module docs).
    held: BTreeSet<u32>,
    /// Tries of held writers since one last took everything: the next
    /// waits `SINK_RETRY_FIRST` doubled this many times (at most
    /// `SINK_RETRY_MAX`).
    sink_tries: u8,
    /// Most streams at once (`http2_max_concurrent_streams`).
    max_streams: usize,
    /// The GOAWAY received, for the messages of streams it ends.
    goaway: Option<(ErrorCode, String)>,
    /// True while no stream is open and the idle clock runs.
    idle: bool,
    /// What one `recv` reported, handled once it returns (reused buffers).
    finished: Vec<(StreamId, Finish)>,
    releases: Vec<(StreamId, usize)>,
    capacity: Vec<StreamId>,
    /// The fields a request adds to its own (reused).
    added: Vec<(HeaderName, HeaderValue)>,
}

/// An exchange on a stream.
struct Carried {
    exchange: ExchangeId,
    /// The final head, once it came.
    head: Option<ResponseHead>,
    /// Any byte of a response (an informational head too) arrived.
    received: bool,
    /// Request body bytes queued so far, while some are still to send.
    body_sent: Option<usize>,
    deadline: Option<Instant>,
    /// The exchange already failed within this read (a body it could not
    /// decode): later DATA is not its.
    failed: bool,
    /// When the stream times out for sending nothing (its read-idle
    /// timeout); `None` while held, or with no read-idle timeout.
    idle_at: Option<Instant>,
    /// END_STREAM came; the stream waits for its sink to take every byte.
    ended: bool,
}

/// How a stream ended, as found while the session reported events.
enum Finish {
    /// END_STREAM: the response is complete.
    Complete,
    /// The stream failed.
    Fail(Reason, Replay),
    /// The exchange gave up on the response (it could not take the body):
    /// reset the stream with CANCEL.
    Cancel(Reason),
}

impl H2 {
    /// A session with the client's settings: windows, limits on the head
    /// (SETTINGS_MAX_HEADER_LIST_SIZE is `max_head_size`) and the body.
    pub(super) fn new(config: &Config) -> H2 {
        let limits = config.limits;
        let settings = h2::Settings {
            stream_window: config.http2.stream_window,
            connection_window: config.http2.connection_window,
            max_header_list_size: u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX),
            max_headers: limits.max_headers,
            max_body_size: limits.max_body_bytes,
            ..h2::Settings::default()
        };
        H2 {
            session: h2::Session::new(settings),
            out: Vec::new(),
            written: 0,
            streams: IdMap::default(),
            deadlines: StreamClocks::default(),
            idles: StreamClocks::default(),
            held: BTreeSet::new(),
            sink_tries: 0,
            max_streams: config.http2.max_concurrent_streams as usize,
            goaway: None,
            idle: true,
            finished: Vec::new(),
            releases: Vec::new(),
            capacity: Vec::new(),
            added: Vec::new(),
        }
    }

    /// No stream open, and new ones may be: the connection can be pooled.
    pub(super) fn is_idle(&self) -> bool {
        self.streams.is_empty() && self.is_usable()
    }

    /// Whether streams may still be opened here at some point: no GOAWAY,
    /// no connection error, stream ids left.
    pub(super) fn is_usable(&self) -> bool {
        self.session.error().is_none()
            && self.session.goaway_received().is_none()
            && self.session.streams_left() > 0
    }

    /// The most streams open at once: ours and the server's limit.
    pub(super) fn stream_limit(&self) -> usize {
        let peer = usize::try_from(self.session.max_concurrent_streams()).unwrap_or(usize::MAX);
        self.max_streams.min(peer)
    }

    /// Whether the output should wait for more requests: the connection is
    /// busy (it allows twice [`COALESCE_REQUESTS`] streams or more, and half
    /// of them are taken), and all that waits is fewer than
    /// [`COALESCE_REQUESTS`] new requests without bodies.
    fn may_coalesce(&self) -> bool {
        let waiting = self.session.queued_requests_alone();
        let limit = self.stream_limit();
        self.written >= self.out.len()
            && (1..COALESCE_REQUESTS).contains(&waiting)
            && limit >= 2 * COALESCE_REQUESTS
            && self.streams.len() * 2 >= limit
    }

    /// Whether a stream may be opened now.
    pub(super) fn has_room(&self) -> bool {
        self.streams.len() < self.max_streams && self.session.can_open_stream()
    }

    /// Readable and writable, always: the server may send SETTINGS, PING
    /// or GOAWAY at any time, and bytes wait to be written after most
    /// steps. Readiness is edge-triggered, so a writable socket is
    /// reported once, not while it stays writable, and the registration
    /// never changes while the connection is open: no `epoll_ctl` per
    /// request, where toggling writable interest cost two.
    pub(super) fn wants(&self) -> Interest {
        Interest::READABLE | Interest::WRITABLE
    }

    /// The phase of the connection's streams, for an I/O error or a
    /// timeout of the connection itself.
    pub(super) fn phase(&self) -> Phase {
        if self.streams.values().any(|c| c.head.is_some()) {
            Phase::ReadBody
        } else {
            Phase::ReadHead
        }
    }

    /// Moves the session's next stream id (tests only).
    #[cfg(test)]
    pub(super) fn set_next_stream_id_for_test(&mut self, id: u32) {
        self.session.set_next_stream_id(id);
    }

    /// The earliest whole-request deadline, and its stream.
    fn earliest_deadline(&mut self) -> Option<(Instant, u32)> {
        self.deadlines.earliest(&self.streams, |c| c.deadline)
    }

    /// The earliest read-idle deadline, and its stream.
    fn earliest_idle(&mut self) -> Option<(Instant, u32)> {
        self.idles.earliest(&self.streams, |c| c.idle_at)
    }

    /// Sets the connection's `Deadline` and `ReadIdle` timers to the
    /// earliest of its streams' clocks.
    fn set_timers(&mut self, timers: &mut ConnTimers) {
        let deadline = self.earliest_deadline().map(|(at, _)| at);
        timers.set(ConnTimer::Deadline, deadline);
        let idle = self.earliest_idle().map(|(at, _)| at);
        timers.set(ConnTimer::ReadIdle, idle);
    }

    /// Forgets a stream that ended or failed (it is out of `streams`, so
    /// its clocks are stale): its hold, and any bytes not yet released go
    /// back to the windows.
    fn forget(&mut self, id: u32) {
        self.held.remove(&id);
        self.session.release(StreamId::new(id), usize::MAX);
    }
}

/// Moves stream `id`'s read-idle clock to `at` (or stops it). A clock
/// moved later is found by [`StreamClocks::earliest`] on its own.
fn set_idle(idles: &mut StreamClocks, id: u32, c: &mut Carried, at: Option<Instant>) {
    let old = std::mem::replace(&mut c.idle_at, at);
    if let Some(at) = at {
        if old.is_none_or(|old| at < old) {
            idles.file(at, id);
        }
    }
}

/// After body bytes reached `ex`: what the sink took goes back to the
/// windows, and the stream is held while the sink cannot take more (its
/// read-idle clock stopped) or runs on (the clock moved). Returns what the
/// sink waits for, if it is full.
fn after_body(
    ex: &mut Exchange,
    id: u32,
    c: &mut Carried,
    idles: &mut StreamClocks,
    held: &mut BTreeSet<u32>,
    releases: &mut Vec<(StreamId, usize)>,
    idle_at: Option<Instant>,
) -> Option<Wait> {
    let released = usize::try_from(ex.take_released()).unwrap_or(usize::MAX);
    if released > 0 {
        releases.push((StreamId::new(id), released));
    }
    let wait = ex
        .sink_wait()
        .or_else(|| (c.ended && !ex.sink_drained()).then_some(Wait::Retry));
    match wait {
        Some(_) => {
            held.insert(id);
            set_idle(idles, id, c, None);
        }
        None => {
            held.remove(&id);
            set_idle(idles, id, c, idle_at);
        }
    }
    wait
}

impl Connection {
    /// The connection speaks HTTP/2: the connection preface and SETTINGS
    /// are queued, what is left of the connect budget now waits for the
    /// server's SETTINGS, and the waiting exchange (if any) takes the first
    /// stream.
    pub(super) fn h2_open(&mut self, transport: Transport, ctx: &mut Ctx<'_>) {
        let budget = [
            ConnTimer::Resolve,
            ConnTimer::Connect,
            ConnTimer::TlsHandshake,
        ]
        .into_iter()
        .find_map(|t| self.timers.get(t));
        self.clear_connect_timers();
        self.timers.set(ConnTimer::ServerPreface, budget);
        self.fresh.peer = self.peer;
        self.state = State::Open(transport, Session::H2(Box::new(H2::new(ctx.config))));
        match self.waiting.take() {
            Some(exchange) => self.begin(exchange, ctx),
            None => self.go_idle(ctx),
        }
        self.h2_settle(ctx);
    }

    /// Opens a stream for `exchange`. Its bytes are written by the next
    /// [`flush`](Connection::flush) (the reactor flushes once it has placed
    /// every exchange that fits, so a batch of HEADERS leaves in one write).
    pub(super) fn h2_start(&mut self, exchange: ExchangeId, info: ConnInfo, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return;
        };
        let Some(ex) = ctx.exchanges.get_mut(exchange) else {
            return;
        };
        ex.begin(info);
        let sent = ex.send_h2_request(&mut h2.session, ctx.config, &mut h2.added);
        let stream = match sent {
            Ok(stream) => stream,
            Err(error) => {
                let (reason, replay) = match error {
                    SendError::HeaderListTooLarge { .. } => {
                        (Reason::InvalidHeader(error.to_string()), Replay::Never)
                    }
                    // The session could not take it after all: place it again.
                    _ => (
                        Reason::H2 {
                            peer: self.peer,
                            failure: StreamFailure::Refused {
                                stream: StreamId::ZERO,
                                attempts: ex.unprocessed() + 1,
                                goaway: None,
                            },
                        },
                        Replay::Unprocessed,
                    ),
                };
                ctx.events.push(Event::Failed {
                    exchange,
                    reason,
                    replay,
                });
                return;
            }
        };
        ctx.counters.h2_streams += 1;
        let deadline = ex.deadline();
        let has_body = ex.request().body_bytes().is_some_and(|b| !b.is_empty());
        if let Some(at) = deadline {
            h2.deadlines.file(at, stream.get());
        }
        let idle_at = ex.read_idle_timeout(ctx.config).map(|d| ctx.now + d);
        if let Some(at) = idle_at {
            h2.idles.file(at, stream.get());
        }
        h2.streams.insert(
            stream.get(),
            Carried {
                exchange,
                head: None,
                received: false,
                body_sent: has_body.then_some(0),
                deadline,
                failed: false,
                idle_at,
                ended: false,
            },
        );
        if has_body {
            h2_send_body(h2, stream, ctx);
        }
        if std::mem::take(&mut h2.idle) {
            self.timers.set(ConnTimer::Idle, None);
        }
        // The new stream's clocks can only bring the timers closer.
        for (timer, at) in [
            (ConnTimer::Deadline, deadline),
            (ConnTimer::ReadIdle, idle_at),
        ] {
            if let Some(at) = at.filter(|&at| self.timers.get(timer).is_none_or(|t| at < t)) {
                self.timers.set(timer, Some(at));
            }
        }
    }

    /// The socket is ready: write what waits, read what came, hand it to
    /// the session and its events to the exchanges, write the answers.
    pub(super) fn h2_ready(&mut self, ctx: &mut Ctx<'_>) {
        if !self.h2_flush_coalesced(ctx) {
            return;
        }
        loop {
            let State::Open(transport, Session::H2(_)) = &mut self.state else {
                return;
            };
            match transport.read_drained(ctx.scratch) {
                Ok((0, _)) => return self.h2_server_closed(ctx),
                Ok((n, drained)) => {
                    ctx.counters.bytes_received += n as u64;
                    if !self.h2_input(n, ctx) {
                        return;
                    }
                    // Nothing more until the next readiness event, which
                    // the next bytes bring; but a FIN that came with these
                    // bytes is seen only by reading on to the end.
                    if drained && !self.peer_closed {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let phase = self.phase();
                    return self.fail_io(phase, e, ctx);
                }
            }
        }
        if self.h2_flush_coalesced(ctx) {
            self.h2_settle(ctx);
        }
    }

    /// [`h2_flush`](Self::h2_flush), except that on a busy connection a
    /// few new requests alone in the output wait, [`COALESCE_WAIT`] at most,
    /// for more to go out with: one TLS record, one write and one wakeup of
    /// the server for several requests instead of one each. The server is
    /// busy with half the stream slots or more meanwhile. False when the
    /// connection failed.
    pub(super) fn h2_flush_coalesced(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let State::Open(_, Session::H2(h2)) = &self.state else {
            return false;
        };
        if h2.may_coalesce() {
            if self.timers.get(ConnTimer::Coalesce).is_none() {
                self.timers
                    .set(ConnTimer::Coalesce, Some(ctx.now + COALESCE_WAIT));
            }
            return true;
        }
        self.h2_flush(ctx)
    }

    /// Writes what the session has queued; false when the connection
    /// failed.
    pub(super) fn h2_flush(&mut self, ctx: &mut Ctx<'_>) -> bool {
        loop {
            let State::Open(transport, Session::H2(h2)) = &mut self.state else {
                return false;
            };
            if h2.written >= h2.out.len() {
                h2.out.clear();
                h2.written = 0;
                h2.session.data_to_send(&mut h2.out);
                self.timers.set(ConnTimer::Coalesce, None);
                if h2.out.is_empty() {
                    return true;
                }
            }
            let pending = h2.out.get(h2.written..).unwrap_or_default();
            match transport.write_vectored(&[IoSlice::new(pending)]) {
                Ok(0) => {
                    self.fail_io(Phase::SendRequest, io::ErrorKind::WriteZero.into(), ctx);
                    return false;
                }
                Ok(n) => {
                    h2.written += n;
                    ctx.counters.bytes_sent += n as u64;
                }
                // The interest (writable while bytes wait) brings us back.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail_io(Phase::SendRequest, e, ctx);
                    return false;
                }
            }
        }
    }

    /// Hands `n` bytes read into the scratch buffer to the session; false
    /// when the connection failed.
    fn h2_input(&mut self, n: usize, ctx: &mut Ctx<'_>) -> bool {
        let peer = self.peer;
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return false;
        };
        let input = ctx.scratch.get(..n).unwrap_or_default();
        let exchanges = &mut *ctx.exchanges;
        let (config, now) = (ctx.config, ctx.now);
        let touched = &mut *ctx.touched;
        let mut retry = false;
        // The last stream id of a GOAWAY in this read: the streams above it
        // that the session reports refused were refused by it.
        let mut goaway_last: Option<StreamId> = None;
        let H2 {
            session,
            streams,
            goaway,
            finished,
            releases,
            capacity,
            idles,
            held,
            ..
        } = &mut **h2;
        let result = session.recv(input, |event| match event {
            H2Event::Response {
                stream,
                status,
                headers,
                end_stream,
            } => {
                let Some(c) = streams.get_mut(&stream.get()) else {
                    return;
                };
                c.received = true;
                let head = ResponseHead {
                    version: Version::HTTP_2,
                    status,
                    headers,
                };
                if let Some(ex) = exchanges.get_mut(c.exchange) {
                    ex.on_first_byte(now);
                    touched.push(c.exchange);
                    let idle_at = ex.read_idle_timeout(config).map(|d| now + d);
                    if c.idle_at.is_some() {
                        set_idle(idles, stream.get(), c, idle_at);
                    }
                    if let Err(reason) = ex.on_head(&head, config) {
                        c.failed = true;
                        finished.push((stream, Finish::Cancel(reason)));
                        return;
                    }
                }
                c.head = Some(head);
                if end_stream {
                    finished.push((stream, Finish::Complete));
                }
            }
            H2Event::Data {
                stream,
                data,
                end_stream,
            } => {
                let carried = streams.get_mut(&stream.get()).filter(|c| !c.failed);
                let Some((c, ex)) = carried.and_then(|c| {
                    let ex = exchanges.get_mut(c.exchange)?;
                    Some((c, ex))
                }) else {
                    // Nobody takes these bytes: straight back to the windows.
                    releases.push((stream, data.len()));
                    return;
                };
                touched.push(c.exchange);
                ex.body_input().extend_from_slice(data);
                if let Err(reason) = ex.on_body() {
                    c.failed = true;
                    finished.push((stream, Finish::Cancel(reason)));
                    return;
                }
                let idle_at = ex.read_idle_timeout(config).map(|d| now + d);
                let wait = after_body(ex, stream.get(), c, idles, held, releases, idle_at);
                retry |= wait == Some(Wait::Retry);
                if end_stream {
                    finished.push((stream, Finish::Complete));
                }
            }
            H2Event::Trailers { stream, .. } => finished.push((stream, Finish::Complete)),
            H2Event::Informational { stream, .. } => {
                if let Some(c) = streams.get_mut(&stream.get()) {
                    c.received = true;
                    if let Some(ex) = exchanges.get_mut(c.exchange) {
                        ex.on_first_byte(now);
                        let idle_at = ex.read_idle_timeout(config).map(|d| now + d);
                        if c.idle_at.is_some() {
                            set_idle(idles, stream.get(), c, idle_at);
                        }
                    }
                }
            }
            H2Event::Reset { stream, code } => {
                let after_head = streams.get(&stream.get()).is_some_and(|c| c.head.is_some());
                let failure = StreamFailure::Reset {
                    stream,
                    code,
                    after_head,
                };
                let reason = Reason::H2 { peer, failure };
                finished.push((stream, Finish::Fail(reason, Replay::Never)));
            }
            H2Event::Refused { stream } => {
                let attempts = streams
                    .get(&stream.get())
                    .and_then(|c| exchanges.get(c.exchange))
                    .map_or(1, |ex| ex.unprocessed() + 1);
                let by_goaway = goaway_last.filter(|&last| stream > last);
                if streams.get(&stream.get()).is_some_and(|c| c.head.is_some()) {
                    // "Not processed", yet the response had begun: its head
                    // (and maybe body bytes) went to the sink, and running
                    // the request again would hand them over twice. It ends
                    // as a response cut part-way does.
                    let failure = match by_goaway {
                        Some(_) => StreamFailure::Closed {
                            goaway: goaway.clone(),
                            after_head: true,
                        },
                        None => StreamFailure::Reset {
                            stream,
                            code: ErrorCode::REFUSED_STREAM,
                            after_head: true,
                        },
                    };
                    let reason = Reason::H2 { peer, failure };
                    finished.push((stream, Finish::Fail(reason, Replay::Never)));
                    return;
                }
                let code = by_goaway.and(goaway.as_ref().map(|&(code, _)| code));
                let failure = StreamFailure::Refused {
                    stream,
                    attempts,
                    goaway: code,
                };
                let reason = Reason::H2 { peer, failure };
                // A GOAWAY that let an earlier stream through: the server
                // serves a few requests per connection; not a refusal loop.
                let replay = match by_goaway {
                    Some(last) if last.get() > 0 => Replay::Postponed,
                    _ => Replay::Unprocessed,
                };
                finished.push((stream, Finish::Fail(reason, replay)));
            }
            H2Event::StreamError { stream, error } => {
                let failure = StreamFailure::Violation(error);
                let reason = Reason::H2 { peer, failure };
                finished.push((stream, Finish::Fail(reason, Replay::Never)));
            }
            H2Event::GoAway {
                last_stream_id,
                code,
                debug_data,
            } => {
                goaway_last = Some(last_stream_id);
                let debug = debug_data.get(..MAX_DEBUG_TEXT).unwrap_or(debug_data);
                *goaway = Some((code, String::from_utf8_lossy(debug).into_owned()));
            }
            H2Event::SendCapacity { stream } => capacity.push(stream),
            H2Event::Settings(_) | H2Event::PingAck { .. } => {}
        });
        for (stream, n) in releases.drain(..) {
            session.release(stream, n);
        }
        if h2.session.peer_settings().received {
            self.timers.set(ConnTimer::ServerPreface, None);
        }
        if retry && self.timers.get(ConnTimer::SinkRetry).is_none() {
            self.timers
                .set(ConnTimer::SinkRetry, Some(ctx.now + SINK_RETRY_FIRST));
        }
        self.h2_end_streams(ctx);
        if let State::Open(_, Session::H2(h2)) = &mut self.state {
            let mut capacity = std::mem::take(&mut h2.capacity);
            for stream in capacity.drain(..) {
                h2_send_body(h2, stream, ctx);
            }
            h2.capacity = capacity;
        }
        match result {
            Ok(()) => true,
            Err(error) => {
                // The session queued GOAWAY with the error's code: tell the
                // server why, if the socket takes it, then end everything.
                self.h2_flush(ctx);
                let failure = StreamFailure::Violation(error);
                self.h2_fail_all(
                    |received, _| {
                        let reason = Reason::H2 {
                            peer,
                            failure: failure.clone(),
                        };
                        (reason, Replay::if_stale(!received))
                    },
                    ctx,
                );
                false
            }
        }
    }

    /// Hands the streams that ended during the last `recv` to the reactor.
    fn h2_end_streams(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return;
        };
        let mut finished = std::mem::take(&mut h2.finished);
        for (stream, finish) in finished.drain(..) {
            let Some(mut c) = h2.streams.remove(&stream.get()) else {
                continue;
            };
            let exchange = c.exchange;
            if let Finish::Complete = finish {
                let drained = ctx
                    .exchanges
                    .get(exchange)
                    .is_none_or(Exchange::sink_drained);
                if !drained {
                    // Complete, but its sink is behind: held until it has
                    // every byte.
                    c.ended = true;
                    set_idle(&mut h2.idles, stream.get(), &mut c, None);
                    h2.held.insert(stream.get());
                    h2.streams.insert(stream.get(), c);
                    if self.timers.get(ConnTimer::SinkRetry).is_none() {
                        self.timers
                            .set(ConnTimer::SinkRetry, Some(ctx.now + SINK_RETRY_FIRST));
                    }
                    continue;
                }
            }
            h2.forget(stream.get());
            let event = match finish {
                Finish::Complete => {
                    if c.body_sent.is_some() {
                        // The response is complete while the request body
                        // still goes: the server needs no more (§8.1).
                        h2.session.reset(stream, ErrorCode::CANCEL);
                    }
                    match c.head {
                        Some(head) => Event::Response { exchange, head },
                        // END_STREAM comes only after the final head.
                        None => continue,
                    }
                }
                Finish::Fail(reason, replay) => Event::Failed {
                    exchange,
                    reason,
                    replay,
                },
                Finish::Cancel(reason) => {
                    h2.session.reset(stream, ErrorCode::CANCEL);
                    Event::Failed {
                        exchange,
                        reason,
                        replay: Replay::Never,
                    }
                }
            };
            ctx.events.push(event);
        }
        h2.finished = finished;
        h2.set_timers(&mut self.timers);
    }

    /// Held sinks may take more (the `SinkRetry` timer fired, or the caller
    /// took chunks): each is handed what waits; what it took goes back to
    /// the windows (WINDOW_UPDATE), a stream whose sink has room again runs
    /// on, and one that ended while held completes once its sink has every
    /// byte.
    pub(super) fn h2_sink_ready(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return;
        };
        let ids: Vec<u32> = h2.held.iter().copied().collect();
        let mut retry = false;
        let mut releases = std::mem::take(&mut h2.releases);
        for id in ids {
            let Some(c) = h2.streams.get_mut(&id) else {
                h2.held.remove(&id);
                continue;
            };
            let Some(ex) = ctx.exchanges.get_mut(c.exchange) else {
                continue;
            };
            ctx.touched.push(c.exchange);
            if let Err(reason) = ex.drain_sink() {
                h2.finished
                    .push((StreamId::new(id), Finish::Cancel(reason)));
                continue;
            }
            let idle_at = ex.read_idle_timeout(ctx.config).map(|d| ctx.now + d);
            let wait = after_body(
                ex,
                id,
                c,
                &mut h2.idles,
                &mut h2.held,
                &mut releases,
                idle_at,
            );
            retry |= wait == Some(Wait::Retry);
            if wait.is_none() && c.ended {
                h2.finished.push((StreamId::new(id), Finish::Complete));
            }
        }
        for (stream, n) in releases.drain(..) {
            h2.session.release(stream, n);
        }
        h2.releases = releases;
        let delay = if retry {
            h2.sink_tries = h2.sink_tries.saturating_add(1);
            let delay = SINK_RETRY_FIRST
                .saturating_mul(1 << h2.sink_tries.min(16))
                .min(SINK_RETRY_MAX);
            Some(ctx.now + delay)
        } else {
            h2.sink_tries = 0;
            None
        };
        self.timers.set(ConnTimer::SinkRetry, delay);
        self.h2_end_streams(ctx);
        if self.h2_flush(ctx) {
            self.h2_settle(ctx);
        }
    }

    /// After a step: a connection with no stream goes idle (and to the
    /// pool) if it can take more, and closes if it cannot.
    fn h2_settle(&mut self, ctx: &mut Ctx<'_>) {
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return;
        };
        if !h2.streams.is_empty() {
            return;
        }
        if !h2.is_usable() {
            return self.h2_close(ctx);
        }
        if !h2.idle {
            h2.idle = true;
            self.go_idle(ctx);
        }
    }

    /// Closes the connection politely: GOAWAY NO_ERROR if the socket takes
    /// it (§6.8), then the socket goes.
    pub(super) fn h2_close(&mut self, ctx: &mut Ctx<'_>) {
        if let State::Open(_, Session::H2(h2)) = &mut self.state {
            h2.session.goaway(ErrorCode::NO_ERROR);
            self.h2_flush(ctx);
        }
        self.close(ctx.registry);
    }

    /// The server closed the connection: streams not complete fail (those
    /// with no response byte may run again elsewhere).
    fn h2_server_closed(&mut self, ctx: &mut Ctx<'_>) {
        let peer = self.peer;
        let goaway = match &self.state {
            State::Open(_, Session::H2(h2)) => h2.goaway.clone(),
            _ => None,
        };
        self.h2_fail_all(
            |received, after_head| {
                let failure = StreamFailure::Closed {
                    goaway: goaway.clone(),
                    after_head,
                };
                (Reason::H2 { peer, failure }, Replay::if_stale(!received))
            },
            ctx,
        );
    }

    /// Fails every stream with what `make(received, after_head)` says, and
    /// closes the connection.
    pub(super) fn h2_fail_all(
        &mut self,
        mut make: impl FnMut(bool, bool) -> (Reason, Replay),
        ctx: &mut Ctx<'_>,
    ) {
        let streams = match &mut self.state {
            State::Open(_, Session::H2(h2)) => std::mem::take(&mut h2.streams),
            _ => IdMap::default(),
        };
        self.close(ctx.registry);
        let mut streams: Vec<(u32, Carried)> = streams.into_iter().collect();
        // In stream order, which is the order the requests were sent.
        streams.sort_unstable_by_key(|&(id, _)| id);
        for (_, c) in streams {
            let (reason, replay) = make(c.received, c.head.is_some());
            ctx.events.push(Event::Failed {
                exchange: c.exchange,
                reason,
                replay,
            });
        }
    }

    /// Streams whose whole-request deadline or read-idle timeout passed
    /// fail with a timeout (and are reset with CANCEL); the others go on.
    pub(super) fn h2_expire(&mut self, ctx: &mut Ctx<'_>) {
        let peer = self.peer_name();
        let State::Open(_, Session::H2(h2)) = &mut self.state else {
            return;
        };
        loop {
            let deadline = h2.earliest_deadline().filter(|&(at, _)| at <= ctx.now);
            let idle = h2.earliest_idle().filter(|&(at, _)| at <= ctx.now);
            let (id, whole) = match (deadline, idle) {
                (Some((_, id)), _) => (id, true),
                (None, Some((_, id))) => (id, false),
                (None, None) => break,
            };
            // `earliest_*` answer only for streams still carried.
            let Some(c) = h2.streams.remove(&id) else {
                break;
            };
            h2.session.reset(StreamId::new(id), ErrorCode::CANCEL);
            h2.forget(id);
            let ex = ctx.exchanges.get(c.exchange);
            let (phase, after) = if whole {
                let phase = if c.head.is_some() {
                    Phase::ReadBody
                } else {
                    Phase::ReadHead
                };
                (phase, ex.and_then(|ex| ex.timeout(ctx.config)))
            } else {
                let after = ex.and_then(|ex| ex.read_idle_timeout(ctx.config));
                (Phase::ReadIdle, after)
            };
            ctx.events.push(Event::Failed {
                exchange: c.exchange,
                reason: Reason::Timeout {
                    phase,
                    after: after.unwrap_or_default(),
                    target: peer.clone(),
                },
                replay: Replay::Never,
            });
        }
        h2.set_timers(&mut self.timers);
        if self.h2_flush(ctx) {
            self.h2_settle(ctx);
        }
    }

    /// The server sent no SETTINGS within the connect budget (§3.4: its
    /// preface): every stream fails with a timeout.
    pub(super) fn h2_preface_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let after = ctx.config.connect_timeout.unwrap_or_default();
        let target = format!("{} (no HTTP/2 SETTINGS from the server)", self.peer_name());
        self.h2_fail_all(
            |_, _| {
                let reason = Reason::Timeout {
                    phase: Phase::Connect,
                    after,
                    target: target.clone(),
                };
                (reason, Replay::Never)
            },
            ctx,
        );
    }
}

/// Queues as much of `stream`'s request body as the server's windows take;
/// the rest waits for [`H2Event::SendCapacity`].
fn h2_send_body(h2: &mut H2, stream: StreamId, ctx: &mut Ctx<'_>) {
    let Some(c) = h2.streams.get_mut(&stream.get()) else {
        return;
    };
    let Some(sent) = c.body_sent else {
        return;
    };
    let Some(ex) = ctx.exchanges.get(c.exchange) else {
        return;
    };
    let body = ex.request().body_bytes().unwrap_or_default();
    let rest = body.get(sent..).unwrap_or_default();
    match h2.session.send_data(stream, rest, true) {
        Ok(taken) if taken == rest.len() => c.body_sent = None,
        Ok(taken) => c.body_sent = Some(sent + taken),
        // Reset meanwhile: nothing more to send.
        Err(_) => c.body_sent = None,
    }
}
