//! [`ResponseReader`]: the sans-IO state machine that reads one response,
//! fed with bytes as they arrive (the state graph is drawn in [`crate::h1`]).

use http::{Method, StatusCode};

use super::framing::{body_decoder, can_keep_alive};
use super::head::{Parsed, ResponseHead, parse_head};
use crate::h1::body::BodyDecoder;
use crate::h1::{Limits, MAX_INTERIM_RESPONSES, NOT_HTTP_EXCERPT, ProtocolError};

/// What every HTTP/1.x status line starts with (RFC 9112 §4).
const STATUS_LINE_START: &[u8] = b"HTTP/";

/// Finds the blank line ending a head, a byte at a time across reads, so a
/// head dripped in byte by byte costs O(n) and httparse runs once; and
/// checks on the way that the head begins with `HTTP/`, so bytes that can
/// never be an HTTP/1.x response are refused as soon as they arrive.
///
/// A head ends at the first empty line after a non-empty one: LF then LF,
/// or LF then CRLF (RFC 9112 §2.2 lets a recipient take a bare LF as a line
/// end). Empty lines before the status line are skipped, as httparse does
/// (RFC 9112 §2.2 asks a client to ignore at least one).
///
/// ```text
///  Start ─CR, LF─▶ Start ─H─▶ Prefix(1) ─T─▶ Prefix(2) ─T─▶ Prefix(3) ─P─▶ Prefix(4) ─/─▶ Line
///  (any other byte in Start or Prefix: not HTTP/1.x)
///
///  Line ─LF─▶ Lf ─LF──────────▶ end of the head        Lf, LfCr ─any other byte─▶ Line
///             Lf ─CR─▶ LfCr ─LF─▶ end of the head
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadScan {
    /// Only empty lines so far.
    Start,
    /// This many bytes of `HTTP/` seen at the start of the status line
    /// (a `u8`, so a reader stays small).
    Prefix(u8),
    /// Inside a non-empty line, past `HTTP/`.
    Line,
    /// Just after the LF ending a non-empty line.
    Lf,
    /// After that LF, a CR.
    LfCr,
}

/// The bytes scanned cannot begin an HTTP/1.x status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotStatusLine;

impl HeadScan {
    /// Scans `bytes`; returns the index of the LF ending the head, if there.
    ///
    /// # Errors
    ///
    /// [`NotStatusLine`] at the first byte that cannot continue `HTTP/` at
    /// the start of the head.
    pub(super) fn find_end(&mut self, bytes: &[u8]) -> Result<Option<usize>, NotStatusLine> {
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            *self = match (*self, b) {
                (HeadScan::Lf | HeadScan::LfCr, b'\n') => return Ok(Some(i)),
                (HeadScan::Start, b'\r' | b'\n') => HeadScan::Start,
                (HeadScan::Start, _) => Self::prefix(0, b)?,
                (HeadScan::Prefix(seen), _) => Self::prefix(seen, b)?,
                (HeadScan::Lf, b'\r') => HeadScan::LfCr,
                (_, b'\n') => HeadScan::Lf,
                (_, _) => {
                    // Skip to the next LF in one go: nothing before it matters.
                    let tail = bytes.get(i..).unwrap_or_default();
                    match tail.iter().position(|&c| c == b'\n') {
                        Some(lf) => {
                            // Go on at the LF itself.
                            i += lf;
                            *self = HeadScan::Line;
                            continue;
                        }
                        None => {
                            *self = HeadScan::Line;
                            return Ok(None);
                        }
                    }
                }
            };
            i += 1;
        }
        Ok(None)
    }

    /// The state after byte `b` when `seen` bytes of `HTTP/` came before it.
    fn prefix(seen: u8, b: u8) -> Result<HeadScan, NotStatusLine> {
        if STATUS_LINE_START.get(usize::from(seen)) != Some(&b) {
            return Err(NotStatusLine);
        }
        let seen = seen + 1;
        Ok(if usize::from(seen) == STATUS_LINE_START.len() {
            HeadScan::Line
        } else {
            HeadScan::Prefix(seen)
        })
    }
}

/// Where a [`ResponseReader`] is.
#[derive(Debug)]
enum State {
    /// Waiting for (the rest of) a head, interim 1xx heads included.
    ReadingHead,
    /// The final head is in; reading the body.
    ReadingBody(BodyDecoder),
    /// The whole response has been read.
    Done,
    /// The response is broken; every call returns this error again.
    Failed(ProtocolError),
}

/// Sans-IO reader of one response: feed it bytes as they arrive.
///
/// # Examples
///
/// ```text
/// let mut reader = ResponseReader::new(Method::GET, Limits::default());
/// let mut body = Vec::new();
/// let used = reader.read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &mut body)?;
/// assert!(reader.is_done() && body == b"hi" && used == 40);
/// ```
#[derive(Debug)]
pub(crate) struct ResponseReader {
    /// The method of the request; HEAD responses have no body.
    method: Method,
    /// Limits on head and body.
    limits: Limits,
    /// Where the reader is.
    state: State,
    /// Bytes of a head that arrived over more than one read.
    pub(super) buf: Vec<u8>,
    /// Blank-line search over the head bytes seen so far.
    scan: HeadScan,
    /// Head bytes received, interim 1xx heads included.
    head_bytes: usize,
    /// Interim (1xx) heads skipped so far.
    interim: usize,
    /// The final head, once parsed (until taken).
    head: Option<ResponseHead>,
    /// Body bytes produced so far, after transfer decoding.
    body_received: u64,
    /// The body length announced by the framing, when known.
    content_length: Option<u64>,
    /// Whether the head allows reuse of the connection.
    keep_alive: bool,
    /// Whether any response byte has arrived.
    received_any: bool,
    /// How often httparse ran (tests check that a dripped head parses once).
    #[cfg(test)]
    pub(super) parse_calls: usize,
}

impl ResponseReader {
    /// A reader for the response to a request with `request_method`.
    pub(crate) fn new(request_method: Method, limits: Limits) -> Self {
        ResponseReader {
            method: request_method,
            limits,
            state: State::ReadingHead,
            buf: Vec::new(),
            scan: HeadScan::Start,
            head_bytes: 0,
            interim: 0,
            head: None,
            body_received: 0,
            content_length: None,
            keep_alive: false,
            received_any: false,
            #[cfg(test)]
            parse_calls: 0,
        }
    }

    /// Consumes bytes from `input`, appending body bytes (transfer-decoded)
    /// to `body`.
    ///
    /// Returns how many input bytes were used. Once the response is
    /// complete no more input is used: leftover bytes mean the server sent
    /// more than was asked for, which is the caller's concern. Interim 1xx
    /// responses are skipped. `limits.max_body_bytes` applies to the bytes
    /// this reader appends to `body`.
    ///
    /// # Errors
    ///
    /// Any [`ProtocolError`] but the truncation ones; after an error every
    /// call returns the same error.
    pub(crate) fn read(
        &mut self,
        input: &[u8],
        body: &mut Vec<u8>,
    ) -> Result<usize, ProtocolError> {
        if !input.is_empty() && matches!(self.state, State::ReadingHead | State::ReadingBody(_)) {
            self.received_any = true;
        }
        let result = self.read_inner(input, body);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// [`read`](Self::read) without the bookkeeping.
    fn read_inner(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<usize, ProtocolError> {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Done => return Ok(used),
                State::ReadingHead => {
                    if rest.is_empty() {
                        return Ok(used);
                    }
                    used += self.read_head(rest)?;
                }
                State::ReadingBody(decoder) => {
                    if decoder.is_done() {
                        self.state = State::Done;
                        continue;
                    }
                    if rest.is_empty() {
                        return Ok(used);
                    }
                    let before = body.len();
                    let (n, done) = decoder.decode(rest, body)?;
                    let added =
                        u64::try_from(body.len().saturating_sub(before)).unwrap_or(u64::MAX);
                    self.body_received = self.body_received.saturating_add(added);
                    if self.body_received > self.limits.max_body_bytes {
                        return Err(ProtocolError::BodyTooLarge {
                            limit: self.limits.max_body_bytes,
                        });
                    }
                    used += n;
                    if done {
                        self.state = State::Done;
                    } else if n == 0 {
                        return Ok(used);
                    }
                }
            }
        }
    }

    /// Takes head bytes from `rest` (never empty); returns how many it used.
    fn read_head(&mut self, rest: &[u8]) -> Result<usize, ProtocolError> {
        let limit = self.limits.max_head_bytes;
        // One byte past the limit is enough to tell a head of exactly
        // `limit` bytes from a longer one; never look further.
        let room = limit.saturating_add(1).saturating_sub(self.buf.len());
        let window = rest.get(..room).unwrap_or(rest);
        let found = match self.scan.find_end(window) {
            Ok(found) => found,
            Err(NotStatusLine) => return Err(not_http(&self.buf, window)),
        };
        let Some(end) = found else {
            if window.len() == room {
                return Err(ProtocolError::HeadTooLarge { limit });
            }
            self.buf.extend_from_slice(window);
            self.head_bytes = self.head_bytes.saturating_add(window.len());
            return Ok(window.len());
        };
        let head_end = end.saturating_add(1);
        let piece = window.get(..head_end).unwrap_or(window);
        self.head_bytes = self.head_bytes.saturating_add(piece.len());
        #[cfg(test)]
        {
            self.parse_calls += 1;
        }
        // Parse straight from the input when nothing is buffered.
        let parsed = if self.buf.is_empty() {
            parse_head(piece, &self.limits)
        } else {
            self.buf.extend_from_slice(piece);
            parse_head(&self.buf, &self.limits)
        }?;
        match parsed {
            // httparse ends a head at the same blank line the scanner
            // found, so this is not expected; if it happens, keep the bytes
            // and look for the next blank line.
            Parsed::Partial => {
                if self.buf.is_empty() {
                    self.buf.extend_from_slice(piece);
                }
                self.scan = HeadScan::Line;
            }
            Parsed::Complete { head, .. } => {
                self.buf = Vec::new();
                self.scan = HeadScan::Start;
                self.on_head(head)?;
            }
        }
        Ok(piece.len())
    }

    /// Handles a complete head: skips interim ones, picks the body framing.
    fn on_head(&mut self, head: ResponseHead) -> Result<(), ProtocolError> {
        if head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(ProtocolError::UnexpectedUpgrade);
        }
        // RFC 9110 §15.2: a client must accept 1xx responses before the
        // final one, even if it did not expect them; a server that sends
        // them without end is cut off at MAX_INTERIM_RESPONSES.
        if head.status.is_informational() {
            self.interim += 1;
            if self.interim > MAX_INTERIM_RESPONSES {
                return Err(ProtocolError::TooManyInterimResponses {
                    limit: MAX_INTERIM_RESPONSES,
                });
            }
            return Ok(());
        }
        let decoder = body_decoder(&self.method, &head)?;
        if let BodyDecoder::Length { remaining } = decoder {
            if remaining > self.limits.max_body_bytes {
                return Err(ProtocolError::BodyTooLarge {
                    limit: self.limits.max_body_bytes,
                });
            }
        }
        self.content_length = match decoder {
            BodyDecoder::Empty => Some(0),
            BodyDecoder::Length { remaining } => Some(remaining),
            BodyDecoder::Chunked(_) | BodyDecoder::CloseDelimited => None,
        };
        // After a 2xx to CONNECT the connection is a tunnel (RFC 9112 §6.3
        // item 2), never a place for another request.
        self.keep_alive = can_keep_alive(&head, &decoder) && self.method != Method::CONNECT;
        self.state = if decoder.is_done() {
            State::Done
        } else {
            State::ReadingBody(decoder)
        };
        self.head = Some(head);
        Ok(())
    }

    /// The peer closed the connection (EOF).
    ///
    /// # Errors
    ///
    /// [`ProtocolError::EmptyReply`] when no byte of a response came;
    /// [`ProtocolError::IncompleteHead`] or [`ProtocolError::IncompleteBody`]
    /// unless the response is complete or its body is close-delimited
    /// (RFC 9112 §6.3 item 8: then EOF is the end of it); the error of an
    /// earlier failure again.
    pub(crate) fn on_eof(&mut self) -> Result<(), ProtocolError> {
        self.on_end(true)
    }

    /// The connection broke (a reset, or another I/O error) instead of
    /// closing: like [`on_eof`](Self::on_eof), except that a close-delimited
    /// body is incomplete too (RFC 9112 §8: it is complete only when the
    /// connection closed without an error).
    ///
    /// # Errors
    ///
    /// As [`on_eof`](Self::on_eof), and [`ProtocolError::IncompleteBody`]
    /// (with no expected length) for a close-delimited body.
    pub(crate) fn on_abort(&mut self) -> Result<(), ProtocolError> {
        self.on_end(false)
    }

    /// The connection ended: `closed` cleanly, or broken.
    fn on_end(&mut self, closed: bool) -> Result<(), ProtocolError> {
        let error = match &self.state {
            State::Done => return Ok(()),
            State::Failed(e) => return Err(e.clone()),
            State::ReadingHead if self.head_bytes == 0 => ProtocolError::EmptyReply,
            State::ReadingHead => ProtocolError::IncompleteHead {
                received: self.head_bytes,
            },
            State::ReadingBody(decoder)
                if decoder.is_done() || (closed && decoder.is_close_delimited()) =>
            {
                self.state = State::Done;
                return Ok(());
            }
            State::ReadingBody(BodyDecoder::Length { remaining }) => {
                ProtocolError::IncompleteBody {
                    received: self.body_received,
                    expected: Some(self.body_received.saturating_add(*remaining)),
                }
            }
            State::ReadingBody(_) => ProtocolError::IncompleteBody {
                received: self.body_received,
                expected: None,
            },
        };
        self.state = State::Failed(error.clone());
        Err(error)
    }

    /// True once the whole response (head and body) has been read.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The final (non-1xx) head once parsed.
    pub(crate) fn head(&self) -> Option<&ResponseHead> {
        self.head.as_ref()
    }

    /// Takes the head out (after [`is_done`](Self::is_done)).
    pub(crate) fn take_head(&mut self) -> Option<ResponseHead> {
        self.head.take()
    }

    /// True once any byte of a response has been received: a request that
    /// got nothing back may be retried on a fresh connection.
    pub(crate) fn has_received_bytes(&self) -> bool {
        self.received_any
    }

    /// Whether the connection may be reused after this response: it is
    /// complete and [`can_keep_alive`] allowed it.
    pub(crate) fn can_keep_alive(&self) -> bool {
        self.is_done() && self.keep_alive
    }

    /// Body bytes still to come under `Content-Length` framing, once the
    /// head is in and before the body is complete; `None` otherwise.
    pub(crate) fn body_remaining(&self) -> Option<u64> {
        match self.state {
            State::ReadingBody(BodyDecoder::Length { remaining }) if remaining > 0 => {
                Some(remaining)
            }
            _ => None,
        }
    }

    /// Accounts for `n` body bytes the caller read straight into its body
    /// buffer while [`body_remaining`](Self::body_remaining) was `Some`
    /// (at most that many), so a known-length body needs no copy.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::BodyTooLarge`] past the body limit; calling it when
    /// no known-length body is being read is a no-op.
    pub(crate) fn advance_body(&mut self, n: usize) -> Result<(), ProtocolError> {
        let State::ReadingBody(BodyDecoder::Length { remaining }) = &mut self.state else {
            return Ok(());
        };
        let n = u64::try_from(n).unwrap_or(u64::MAX).min(*remaining);
        if n > 0 {
            self.received_any = true;
        }
        *remaining -= n;
        let done = *remaining == 0;
        self.body_received = self.body_received.saturating_add(n);
        if self.body_received > self.limits.max_body_bytes {
            let error = ProtocolError::BodyTooLarge {
                limit: self.limits.max_body_bytes,
            };
            self.state = State::Failed(error.clone());
            return Err(error);
        }
        if done {
            self.state = State::Done;
        }
        Ok(())
    }

    /// Body size hint: the `Content-Length` (0 when the response has no
    /// body).
    #[cfg(test)]
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.content_length
    }
}

/// The error for a response whose first bytes cannot begin a status line:
/// `earlier` head bytes kept from previous reads, then `now`, leading empty
/// lines skipped, at most [`NOT_HTTP_EXCERPT`] of them kept for the message.
fn not_http(earlier: &[u8], now: &[u8]) -> ProtocolError {
    let start = earlier
        .iter()
        .chain(now)
        .copied()
        .skip_while(|&b| b == b'\r' || b == b'\n')
        .take(NOT_HTTP_EXCERPT)
        .collect();
    ProtocolError::NotHttp { start }
}
