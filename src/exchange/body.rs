//! The receiving half of an exchange: where the body of each attempt goes
//! ([`Sink`]: memory, a part file, the caller's writer, chunks for the
//! caller), content decoding on the way, progress, and backpressure.
//! Protocol-neutral: the h1 session calls it from its response reader, an
//! h2 stream from its `Data` events.
//!
//! ```text
//!  transfer-decoded bytes ─▶ body_input() / on_body_slice() ─▶ (decoder, bounded) ─▶ buf ─▶ sink
//!                                                                                      │
//!   memory: buf is the body       file / writer: buf holds what the sink has not taken │
//!   chunks: buf becomes a Bytes for the caller's queue                                  ▼
//!                                 sink_wait(): Retry (writer would block) | Caller (queue full)
//! ```
//!
//! Backpressure: while [`Exchange::sink_wait`] is `Some`, the connection
//! reads no more for this exchange (h1 drops its read interest; h2 keeps
//! the stream's window closed: [`Exchange::take_released`] hands back only
//! what the sink has taken). A writer that would block is tried again on a
//! timer ([`SINK_RETRY_FIRST`], doubling up to [`SINK_RETRY_MAX`]); a full
//! chunk queue waits for the caller to take chunks. Memory per exchange is
//! then bounded by [`SINK_BUFFER_BYTES`] plus one read (or
//! [`CHUNK_QUEUE_BYTES`] for chunks), whatever the body's size.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

use super::Exchange;
use super::range::{self, Answer};
use crate::completion::Progress;
use crate::config::Config;
use crate::decode::ContentDecoder;
use crate::error::Reason;
use crate::h1::{ProtocolError, ResponseHead};
use crate::response::Download;
use crate::sink::{PartFile, ResumeSettings, SharedWriter, Target};

/// Bytes a file or writer sink may leave waiting before the connection
/// stops reading for it.
pub const SINK_BUFFER_BYTES: usize = 256 * 1024;
/// Bytes of a request's chunks ([`Request::stream_chunks`](crate::Request::stream_chunks))
/// that may wait for the caller before its connection stops reading.
pub const CHUNK_QUEUE_BYTES: usize = 1024 * 1024;
/// The first wait before a writer that returned `WouldBlock` is tried again.
pub const SINK_RETRY_FIRST: Duration = Duration::from_millis(1);
/// The longest wait between tries of a writer that keeps returning
/// `WouldBlock` (the wait doubles from [`SINK_RETRY_FIRST`]).
pub const SINK_RETRY_MAX: Duration = Duration::from_millis(50);

/// Why an exchange cannot take more body bytes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The writer returned `WouldBlock`: try again on a timer
    /// ([`Exchange::drain_sink`]).
    Retry,
    /// The chunk queue is full: the reactor resumes the connection when the
    /// caller takes chunks.
    Caller,
}

/// What an exchange streaming to the caller has for it.
#[derive(Debug)]
pub(crate) enum Streamed {
    /// The final head of a 2xx response, before its chunks.
    Head(StatusCode, HeaderMap),
    /// Body bytes, in order.
    Chunk(Bytes),
}

/// Where successful bodies go, for the whole life of the request (a
/// download's part file lives across attempts).
pub(super) enum Sink {
    Memory,
    File(Box<FileDownload>),
    Writer(SharedWriter),
    Chunks(ChunkQueue),
}

/// A download to a file, across its attempts.
pub(super) struct FileDownload {
    part: PartFile,
    settings: ResumeSettings,
    /// The first successful response's validator, for `If-Range`.
    validator: Option<HeaderValue>,
    /// Automatic resumes so far.
    resumes: u32,
    /// The next attempt starts from zero (the file is not a prefix of it).
    restart: bool,
    /// The file holds content-decoded bytes: offsets in it are not offsets
    /// in what the server sends, so a resume restarts from zero.
    decoded: bool,
    /// This attempt's `Range` start, when one was sent.
    range_from: Option<u64>,
    /// The complete length the server announced for this attempt.
    total: Option<u64>,
    /// The server said (416) the file already holds the whole body.
    complete: bool,
}

/// Chunks for the caller, and how many of their bytes it has not taken.
#[derive(Default)]
pub(super) struct ChunkQueue {
    head: Option<(StatusCode, HeaderMap)>,
    ready: Vec<Bytes>,
    /// Bytes handed out (here or in the reactor's queue) not yet taken.
    outstanding: usize,
}

impl Sink {
    /// The sink `target` names; a file download looks for what an earlier
    /// run left when asked to.
    pub(super) fn new(target: &Target, settings: ResumeSettings) -> Result<Sink, Reason> {
        Ok(match target {
            Target::Memory => Sink::Memory,
            Target::File(path) => {
                let part =
                    PartFile::new(path.clone(), settings.continue_partial).map_err(|source| {
                        Reason::Sink {
                            what: format!("preparing the download to {}", path.display()),
                            source,
                        }
                    })?;
                Sink::File(Box::new(FileDownload {
                    part,
                    settings,
                    validator: None,
                    resumes: 0,
                    restart: false,
                    decoded: false,
                    range_from: None,
                    total: None,
                    complete: false,
                }))
            }
            Target::Writer(writer) => Sink::Writer(writer.clone()),
            Target::Chunks => Sink::Chunks(ChunkQueue::default()),
        })
    }
}

/// Where this attempt's body bytes go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Before the final head.
    #[default]
    Undecided,
    /// Kept in memory (the default sink, or a response that is not 2xx).
    Memory,
    /// To the sink.
    Sink,
}

/// This attempt's body as it arrives.
#[derive(Default)]
pub(super) struct Body {
    route: Route,
    head_seen: bool,
    /// The request asked for compressed bodies, so a coded one is decoded.
    pub(super) wants_decoding: bool,
    decoder: Option<ContentDecoder>,
    /// Coded bytes on their way to the decoder.
    coded: Vec<u8>,
    /// The body (memory route), or the bytes the sink has not taken yet.
    buf: Vec<u8>,
    /// How much of `buf` the sink has taken.
    taken: usize,
    /// Lengths of `coded` and `buf` already counted as received.
    coded_mark: usize,
    buf_mark: usize,
    /// Body bytes already in the file when this attempt began (a resume).
    offset: u64,
    /// Body bytes received, as sent (before content decoding).
    received: u64,
    /// The complete body length, when known.
    expected: Option<u64>,
    /// Bytes that went to the sink or memory (after content decoding).
    delivered: u64,
    /// The writer returned `WouldBlock`.
    blocked: bool,
    /// Input bytes not yet reported by `take_released`.
    unreleased: u64,
    /// Most bytes a body kept in memory may have.
    limit: u64,
    /// `received` when progress was last reported.
    reported: Option<u64>,
}

/// A single valid `Content-Length`, if the head has one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(header::CONTENT_LENGTH).iter();
    let value = values.next()?.to_str().ok()?.trim().parse().ok()?;
    values.next().is_none().then_some(value)
}

impl Body {
    /// Whether a content coding was decoded (the response's
    /// `Content-Encoding` and `Content-Length` no longer describe the body).
    pub(super) fn was_decoded(&self) -> bool {
        self.decoder.as_ref().is_some_and(ContentDecoder::started)
    }
}

impl Exchange {
    /// Most body bytes the protocol layer should accept for this request:
    /// the body limit for bodies kept in memory; none for streamed ones
    /// (whose non-2xx bodies the exchange limits itself).
    pub(crate) fn body_limit(&self, config: &Config) -> u64 {
        if self.request.target().is_streamed() {
            u64::MAX
        } else {
            config.limits.max_body_bytes
        }
    }

    /// The `Range` start and `If-Range` validator this attempt asks for
    /// (a resumed download), if any.
    pub(crate) fn range_request(&self) -> Option<(u64, Option<&HeaderValue>)> {
        match &self.sink {
            Sink::File(dl) => dl.range_from.map(|from| (from, dl.validator.as_ref())),
            _ => None,
        }
    }

    /// Decides this attempt's `Range` (a download with bytes already on
    /// disk): called by [`begin`](Self::begin).
    pub(super) fn plan_range(&mut self) {
        if let Sink::File(dl) = &mut self.sink {
            dl.total = None;
            dl.complete = false;
            let from = if dl.restart || dl.decoded {
                0
            } else {
                dl.part.len()
            };
            dl.range_from = (from > 0 && *self.request.method() == Method::GET).then_some(from);
        }
    }

    /// Progress of this request's body.
    pub(crate) fn progress(&self) -> Progress {
        let b = &self.response.body;
        Progress {
            received: b.offset.saturating_add(b.received),
            expected: b.expected,
        }
    }

    /// The progress, when it moved since the last call (after the head).
    pub(crate) fn take_progress(&mut self) -> Option<Progress> {
        let progress = self.progress();
        let b = &mut self.response.body;
        if !b.head_seen || b.reported == Some(progress.received) {
            return None;
        }
        b.reported = Some(progress.received);
        Some(progress)
    }

    /// Where transfer-decoded body bytes go: the body itself, the bytes
    /// waiting for the sink, or, once a content coding is known, the
    /// decoder's input. Call [`on_body`](Self::on_body) after appending.
    pub(crate) fn body_input(&mut self) -> &mut Vec<u8> {
        let b = &mut self.response.body;
        if b.decoder.is_some() {
            &mut b.coded
        } else {
            &mut b.buf
        }
    }

    /// The body buffer, when bytes may go straight into it: a body kept in
    /// memory with no content decoding, so the connection reads a
    /// known-length body into its spare capacity with no copy. Call
    /// [`on_body`](Self::on_body) after reading.
    pub(crate) fn direct_body(&mut self) -> Option<&mut Vec<u8>> {
        let b = &mut self.response.body;
        (b.route == Route::Memory && b.decoder.is_none() && !b.wants_decoding).then_some(&mut b.buf)
    }

    /// The final response head is known (it stays with the protocol session
    /// until [`complete`](Self::complete)): picks where the body goes (the
    /// sink for a 2xx, memory otherwise), sets up content decoding, and for
    /// a resumed download reads the answer to the range request. Body bytes
    /// that came with the head move along. Called again, it does nothing.
    ///
    /// # Errors
    ///
    /// The part file cannot be opened, or the answer to a range request
    /// does not fit the file (the request then resumes from zero).
    pub(crate) fn on_head(&mut self, head: &ResponseHead, config: &Config) -> Result<(), Reason> {
        if self.response.body.head_seen {
            return Ok(());
        }
        self.response.body.head_seen = true;
        let peer = self.response.info.peer;
        let status = head.status;
        let length = content_length(&head.headers).filter(|_| {
            *self.request.method() != Method::HEAD && !matches!(status.as_u16(), 204 | 304)
        });
        let b = &mut self.response.body;
        b.expected = length;
        b.limit = config.limits.max_body_bytes;
        let mut route = if status.is_success() && !matches!(self.sink, Sink::Memory) {
            Route::Sink
        } else {
            Route::Memory
        };
        match &mut self.sink {
            Sink::File(dl) if route == Route::Sink || dl.range_from.is_some() => {
                let answer = match dl.range_from {
                    Some(from) => range::answer(status, &head.headers, from),
                    None if status == StatusCode::PARTIAL_CONTENT => {
                        range::unrequested_partial(&head.headers)
                    }
                    None => Answer::Restart,
                };
                let from = match answer {
                    Answer::Append { total } => {
                        // Without a range asked for, a 206 fits from byte 0.
                        let from = dl.range_from.map_or(0, |_| dl.part.len());
                        b.expected = total.or_else(|| length.map(|l| from.saturating_add(l)));
                        from
                    }
                    Answer::Restart => 0,
                    Answer::Complete => {
                        dl.complete = true;
                        b.offset = dl.part.len();
                        b.expected = Some(dl.part.len());
                        route = Route::Memory;
                        0
                    }
                    Answer::Mismatch(message) => {
                        dl.restart = true;
                        return Err(Reason::Range { peer, message });
                    }
                    Answer::Other => {
                        route = Route::Memory;
                        0
                    }
                };
                if route == Route::Sink {
                    dl.part.open_at(from).map_err(|source| Reason::Sink {
                        what: format!("opening {}", dl.part.part().display()),
                        source,
                    })?;
                    b.offset = from;
                    dl.restart = false;
                    dl.total = b.expected;
                    if from == 0 {
                        dl.decoded = false;
                        dl.validator = range::validator(&head.headers);
                    }
                }
            }
            Sink::Chunks(queue) if route == Route::Sink => {
                queue.head = Some((status, head.headers.clone()));
            }
            _ => {}
        }
        let b = &mut self.response.body;
        b.route = route;
        if std::mem::take(&mut b.wants_decoding) {
            let limit = if route == Route::Sink {
                u64::MAX
            } else {
                b.limit
            };
            b.decoder = ContentDecoder::for_headers(&head.headers, limit);
            if b.decoder.is_some() {
                b.coded = std::mem::take(&mut b.buf);
                b.coded_mark = std::mem::take(&mut b.buf_mark);
                if let Sink::File(dl) = &mut self.sink {
                    dl.decoded = route == Route::Sink;
                }
            }
        }
        Ok(())
    }

    /// Body bytes were appended to [`body_input`](Self::body_input) or
    /// [`direct_body`](Self::direct_body): counts them, passes coded ones
    /// through the decoder, and hands what is ready to the sink.
    ///
    /// # Errors
    ///
    /// The body is over the limit, cannot be decoded, or the sink failed.
    pub(crate) fn on_body(&mut self) -> Result<(), Reason> {
        let b = &mut self.response.body;
        let (len, mark) = if b.decoder.is_some() {
            (b.coded.len(), &mut b.coded_mark)
        } else {
            (b.buf.len(), &mut b.buf_mark)
        };
        let new = len.saturating_sub(*mark) as u64;
        *mark = len;
        b.received += new;
        b.unreleased += new;
        self.deliver()
    }

    /// Body bytes of a known-length body, read by the connection into its
    /// own buffer: like [`body_input`](Self::body_input) then
    /// [`on_body`](Self::on_body), but a sink with nothing waiting takes
    /// them straight from `bytes`, with no copy.
    ///
    /// # Errors
    ///
    /// As [`on_body`](Self::on_body).
    pub(crate) fn on_body_slice(&mut self, bytes: &[u8]) -> Result<(), Reason> {
        let b = &mut self.response.body;
        if b.route != Route::Sink || b.decoder.is_some() || b.taken < b.buf.len() {
            self.body_input().extend_from_slice(bytes);
            return self.on_body();
        }
        b.received += bytes.len() as u64;
        b.unreleased += bytes.len() as u64;
        let (taken, result) = write_to_sink(&mut self.sink, b, bytes);
        let rest = bytes.get(taken..).unwrap_or_default();
        let b = &mut self.response.body;
        b.buf.extend_from_slice(rest);
        b.buf_mark = b.buf.len();
        result
    }

    /// Passes coded bytes through the decoder (as far as the sink has room)
    /// and hands the buffer to the sink.
    fn deliver(&mut self) -> Result<(), Reason> {
        let peer = self.response.info.peer;
        loop {
            let b = &mut self.response.body;
            if let Some(decoder) = b.decoder.as_mut() {
                let room = match b.route {
                    Route::Sink => SINK_BUFFER_BYTES.saturating_sub(b.buf.len() - b.taken),
                    Route::Memory | Route::Undecided => usize::MAX,
                };
                if room > 0 && !b.coded.is_empty() {
                    let before = b.buf.len();
                    let used = decoder
                        .feed_bounded(&b.coded, &mut b.buf, room)
                        .map_err(|e| super::decode_failure(decoder.coding(), e, peer))?;
                    b.coded.drain(..used.min(b.coded.len()));
                    b.coded_mark = b.coded.len();
                    if used == 0 && b.buf.len() == before {
                        // Nothing more until more input arrives.
                        break;
                    }
                }
            }
            let b = &mut self.response.body;
            match b.route {
                Route::Sink => {
                    let (_, result) = flush(&mut self.sink, b);
                    result?;
                }
                Route::Memory | Route::Undecided => {
                    if b.route == Route::Memory && b.buf.len() as u64 > b.limit {
                        return Err(Reason::Protocol {
                            peer,
                            source: ProtocolError::BodyTooLarge { limit: b.limit },
                        });
                    }
                    b.buf_mark = b.buf.len();
                    break;
                }
            }
            let b = &self.response.body;
            if b.blocked || b.coded.is_empty() || b.decoder.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Why the connection must not read more for this exchange now; `None`
    /// when it may.
    pub(crate) fn sink_wait(&self) -> Option<Wait> {
        let b = &self.response.body;
        if b.route != Route::Sink {
            return None;
        }
        if let Sink::Chunks(queue) = &self.sink {
            return (queue.outstanding >= CHUNK_QUEUE_BYTES).then_some(Wait::Caller);
        }
        let waiting = b.buf.len() - b.taken;
        let full =
            waiting >= SINK_BUFFER_BYTES || (b.blocked && (waiting > 0 || !b.coded.is_empty()));
        full.then_some(Wait::Retry)
    }

    /// True when every byte received has reached the sink (a response may
    /// complete only then).
    pub(crate) fn sink_drained(&self) -> bool {
        let b = &self.response.body;
        b.route != Route::Sink || (b.taken == b.buf.len() && b.coded.is_empty())
    }

    /// Tries the sink again after [`Wait::Retry`].
    ///
    /// # Errors
    ///
    /// The sink failed, or decoding the bytes that waited failed.
    pub(crate) fn drain_sink(&mut self) -> Result<(), Reason> {
        self.response.body.blocked = false;
        self.deliver()
    }

    /// Body bytes taken in since the last call, once the sink has room for
    /// more (0 while [`sink_wait`](Self::sink_wait) is `Some`): what an h2
    /// stream gives back to the server's window (RFC 9113 §6.9), so the
    /// window reopens only as the sink consumes. (h1 has no such window:
    /// TCP's closes by itself while the session does not read.)
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn take_released(&mut self) -> u64 {
        if self.sink_wait().is_some() {
            return 0;
        }
        std::mem::take(&mut self.response.body.unreleased)
    }

    /// Hands over what the exchange has for the caller (a head, chunks).
    pub(crate) fn take_streamed(&mut self, mut out: impl FnMut(Streamed)) {
        if let Sink::Chunks(queue) = &mut self.sink {
            if let Some((status, headers)) = queue.head.take() {
                out(Streamed::Head(status, headers));
            }
            for chunk in queue.ready.drain(..) {
                out(Streamed::Chunk(chunk));
            }
        }
    }

    /// The caller took `n` bytes of chunks; true when that made room for the
    /// connection to read again.
    pub(crate) fn on_chunks_taken(&mut self, n: usize) -> bool {
        let Sink::Chunks(queue) = &mut self.sink else {
            return false;
        };
        let was_full = queue.outstanding >= CHUNK_QUEUE_BYTES;
        queue.outstanding = queue.outstanding.saturating_sub(n);
        was_full && queue.outstanding < CHUNK_QUEUE_BYTES
    }

    /// The body is complete: finishes content decoding, and moves a
    /// download's part file into place once its length is checked. Returns
    /// the body kept in memory and where a download went.
    pub(super) fn finish_body(&mut self) -> Result<(Vec<u8>, u64, Option<Download>), Reason> {
        let peer = self.response.info.peer;
        let b = &mut self.response.body;
        if let Some(decoder) = b.decoder.as_mut() {
            decoder
                .finish()
                .map_err(|e| super::decode_failure(decoder.coding(), e, peer))?;
        }
        if b.route != Route::Sink {
            let body = std::mem::take(&mut b.buf);
            let len = body.len() as u64;
            let download = match &mut self.sink {
                Sink::File(dl) if dl.complete => {
                    finish_file(dl, peer)?;
                    Some(download_of(dl, b.offset))
                }
                _ => None,
            };
            return Ok((body, len, download));
        }
        if !self.sink_drained() {
            return Err(Reason::Sink {
                what: format!("writing the body to {}", sink_name(&self.sink)),
                source: std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "the sink did not take the whole body",
                ),
            });
        }
        let b = &self.response.body;
        let delivered = b.delivered;
        let offset = b.offset;
        match &mut self.sink {
            Sink::File(dl) => {
                finish_file(dl, peer)?;
                Ok((Vec::new(), delivered, Some(download_of(dl, offset))))
            }
            Sink::Writer(writer) => {
                writer.flush().map_err(|source| Reason::Sink {
                    what: "flushing the request's writer".into(),
                    source,
                })?;
                Ok((Vec::new(), delivered, None))
            }
            Sink::Chunks(_) | Sink::Memory => Ok((Vec::new(), delivered, None)),
        }
    }

    /// Whether a failure of this attempt resumes the download: a file
    /// download with resumes left, cut off part-way (or already resuming)
    /// for a reason a new attempt may not meet. Prepares the resume.
    pub(super) fn resume_after(&mut self, reason: &Reason) -> bool {
        let Sink::File(dl) = &mut self.sink else {
            return false;
        };
        let resumable = match reason {
            Reason::Protocol { source, .. } => source.is_truncated(),
            Reason::CutOff { .. }
            | Reason::Io { .. }
            | Reason::Connect { .. }
            | Reason::Range { .. } => true,
            Reason::Timeout { phase, .. } => *phase == crate::error::Phase::ReadIdle,
            #[cfg(feature = "http2")]
            Reason::H2 { failure, .. } => failure.is_truncated(),
            _ => false,
        };
        let started = dl.part.len() > 0 || dl.resumes > 0 || dl.restart;
        if !resumable || !started || dl.resumes >= dl.settings.max_resumes {
            return false;
        }
        dl.resumes += 1;
        dl.part.close();
        true
    }
}

/// Hands `b.buf[b.taken..]` to the sink until it is all taken or the sink
/// would block; returns how much it took and the error that stopped it.
fn flush(sink: &mut Sink, b: &mut Body) -> (usize, Result<(), Reason>) {
    if b.taken == 0 && matches!(sink, Sink::Chunks(_)) && !b.buf.is_empty() {
        // The whole buffer becomes the chunk: no copy.
        let chunk = Bytes::from(std::mem::take(&mut b.buf));
        let n = chunk.len();
        if let Sink::Chunks(queue) = sink {
            queue.outstanding += n;
            queue.ready.push(chunk);
        }
        b.delivered += n as u64;
        b.buf_mark = 0;
        return (n, Ok(()));
    }
    let waiting = std::mem::take(&mut b.buf);
    let (n, result) = write_to_sink(sink, b, waiting.get(b.taken..).unwrap_or_default());
    b.buf = waiting;
    b.taken += n;
    if b.taken == b.buf.len() {
        b.buf.clear();
        b.taken = 0;
    } else if b.taken >= SINK_BUFFER_BYTES / 2 {
        b.buf.drain(..b.taken);
        b.taken = 0;
    }
    b.buf_mark = b.buf.len();
    (n, result)
}

/// Writes `bytes` to the sink until all are taken or it would block.
fn write_to_sink(sink: &mut Sink, b: &mut Body, bytes: &[u8]) -> (usize, Result<(), Reason>) {
    let mut taken = 0;
    while let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
        let written = match sink {
            Sink::File(dl) => dl.part.write(rest),
            Sink::Writer(writer) => writer.write(rest),
            Sink::Chunks(queue) => {
                queue.outstanding += rest.len();
                queue.ready.push(Bytes::copy_from_slice(rest));
                Ok(rest.len())
            }
            // Never routed to a sink.
            Sink::Memory => Ok(rest.len()),
        };
        match written {
            Ok(0) => {
                let source =
                    std::io::Error::new(std::io::ErrorKind::WriteZero, "the sink took no bytes");
                return (taken, Err(sink_error(sink, source)));
            }
            Ok(n) => {
                taken += n;
                b.delivered += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                b.blocked = true;
                break;
            }
            Err(source) => return (taken, Err(sink_error(sink, source))),
        }
    }
    (taken, Ok(()))
}

/// What the sink is called in messages.
fn sink_name(sink: &Sink) -> String {
    match sink {
        Sink::File(dl) => dl.part.part().display().to_string(),
        Sink::Writer(_) => "the request's writer".into(),
        Sink::Chunks(_) => "the chunk queue".into(),
        Sink::Memory => "memory".into(),
    }
}

fn sink_error(sink: &Sink, source: std::io::Error) -> Reason {
    Reason::Sink {
        what: format!("writing the body to {}", sink_name(sink)),
        source,
    }
}

/// Checks the part file's length against what the server announced, then
/// moves it into place.
fn finish_file(dl: &mut FileDownload, peer: Option<std::net::SocketAddr>) -> Result<(), Reason> {
    let len = dl.part.len();
    match dl.total {
        Some(total) if len < total => {
            dl.part.close();
            return Err(Reason::Protocol {
                peer,
                source: ProtocolError::IncompleteBody {
                    received: len,
                    expected: Some(total),
                },
            });
        }
        Some(total) if len > total => {
            dl.restart = true;
            dl.part.close();
            return Err(Reason::Range {
                peer,
                message: format!(
                    "the downloaded file has {len} bytes where the server announced {total}"
                ),
            });
        }
        _ => {}
    }
    dl.part.finish().map_err(|source| Reason::Sink {
        what: format!(
            "moving {} to {}",
            dl.part.part().display(),
            dl.part.target().display()
        ),
        source,
    })
}

fn download_of(dl: &FileDownload, offset: u64) -> Download {
    Download {
        path: dl.part.target().to_path_buf(),
        len: dl.part.len(),
        resumed_from: offset,
        resumes: dl.resumes,
        already_complete: dl.complete,
    }
}
