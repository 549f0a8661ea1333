//! Response heads and the reader that drives one response.
//!
//! This is the only module that touches httparse: [`parse_head`] turns its
//! output into `http` types, so httparse never leaks into the rest of the
//! crate (the bridge ureq-proto keeps in `src/parser.rs`). On top of it,
//! [`body_decoder`] picks the body framing (RFC 9112 §6.3),
//! [`can_keep_alive`] decides whether the connection may be reused
//! (RFC 9112 §9.3), and [`ResponseReader`] puts it all together as a
//! sans-IO state machine fed with bytes as they arrive.

use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use super::body::{BodyDecoder, ChunkedDecoder};
use super::{Limits, ProtocolError};

/// A parsed response head.
#[derive(Debug, Clone)]
pub(crate) struct ResponseHead {
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The status code.
    pub status: StatusCode,
    /// Every header field, repeats kept in order.
    pub headers: HeaderMap,
}

/// Result of trying to parse a head from a buffer.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// The head is not complete yet: more bytes are needed.
    Partial,
    /// A whole head, `head_len` bytes long (blank line included).
    Complete {
        /// The parsed head.
        head: ResponseHead,
        /// Bytes of input the head took.
        head_len: usize,
    },
}

/// Header slots kept on the stack; larger `max_headers` fall back to a `Vec`.
const STACK_HEADERS: usize = 128;

/// Parses one response head from the start of `input`.
///
/// # Errors
///
/// - [`ProtocolError::HeadTooLarge`] when the head is still partial after
///   more than `max_head_bytes` bytes, or complete but longer than that;
/// - [`ProtocolError::TooManyHeaders`] when it has more than `max_headers` fields;
/// - [`ProtocolError::MalformedHead`] when httparse rejects it or a name,
///   value or status code is not acceptable to `http`.
pub(crate) fn parse_head(input: &[u8], limits: &Limits) -> Result<Parsed, ProtocolError> {
    if limits.max_headers <= STACK_HEADERS {
        let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let slots = slots.get_mut(..limits.max_headers).unwrap_or_default();
        parse_head_into(input, limits, slots)
    } else {
        // Every header line takes at least 3 bytes ("a:\n"), so the input
        // cannot hold more fields than this; no need to allocate the limit.
        let count = limits.max_headers.min(input.len() / 3 + 1);
        let mut slots = vec![httparse::EMPTY_HEADER; count];
        parse_head_into(input, limits, &mut slots)
    }
}

/// [`parse_head`] with caller-provided httparse header slots.
fn parse_head_into<'b>(
    input: &'b [u8],
    limits: &Limits,
    slots: &mut [httparse::Header<'b>],
) -> Result<Parsed, ProtocolError> {
    let too_large = ProtocolError::HeadTooLarge {
        limit: limits.max_head_bytes,
    };
    let mut response = httparse::Response::new(slots);
    let mut config = httparse::ParserConfig::default();
    // Seen in the wild ("HTTP/1.1  200 OK"); harmless to accept.
    config.allow_multiple_spaces_in_response_status_delimiters(true);
    let head_len = match config.parse_response(&mut response, input) {
        Ok(httparse::Status::Partial) if input.len() > limits.max_head_bytes => {
            return Err(too_large);
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Ok(httparse::Status::Complete(len)) if len > limits.max_head_bytes => {
            return Err(too_large);
        }
        Ok(httparse::Status::Complete(len)) => len,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProtocolError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        Err(e) => return Err(ProtocolError::MalformedHead(describe(e))),
    };

    let version = match response.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(ProtocolError::MalformedHead("invalid HTTP version")),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(ProtocolError::MalformedHead("invalid response status"))?;
    let too_many = ProtocolError::TooManyHeaders {
        limit: limits.max_headers,
    };
    let mut headers =
        HeaderMap::try_with_capacity(response.headers.len()).map_err(|_| too_many.clone())?;
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| ProtocolError::MalformedHead("invalid header name"))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|_| ProtocolError::MalformedHead("invalid header value"))?;
        headers
            .try_append(name, value)
            .map_err(|_| too_many.clone())?;
    }
    Ok(Parsed::Complete {
        head: ResponseHead {
            version,
            status,
            headers,
        },
        head_len,
    })
}

/// httparse's message for an error, as a `&'static str`.
fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid new line",
        httparse::Error::Status => "invalid response status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// The members of a comma-separated list header value, trimmed, empty ones
/// skipped (RFC 9110 §5.6.1 asks recipients to ignore them).
fn list_members(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|member| !member.is_empty())
}

/// Whether any field named `name` lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| list_members(value.as_bytes()))
        .any(|member| member.eq_ignore_ascii_case(token.as_bytes()))
}

/// Picks the body framing of a response, following RFC 9112 §6.3 in order.
///
/// `request_method` is the method of the request this response answers.
/// The body size limit is checked by the caller ([`ResponseReader`]).
///
/// # Errors
///
/// [`ProtocolError::UnsupportedTransferCoding`],
/// [`ProtocolError::InvalidContentLength`],
/// [`ProtocolError::ConflictingContentLength`].
pub(crate) fn body_decoder(
    request_method: &Method,
    head: &ResponseHead,
) -> Result<BodyDecoder, ProtocolError> {
    let status = head.status;
    // §6.3 item 1: a response to HEAD, and any 1xx, 204 or 304 response,
    // ends at the blank line whatever its header fields say.
    if *request_method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(BodyDecoder::Empty);
    }
    // §6.3 item 2: after a 2xx to CONNECT the connection is a tunnel; the
    // head has no body, whatever its fields say (and the reader never
    // offers such a connection for reuse).
    if *request_method == Method::CONNECT && status.is_success() {
        return Ok(BodyDecoder::Empty);
    }

    // §6.3 item 3: Transfer-Encoding overrides Content-Length.
    if head.headers.contains_key(TRANSFER_ENCODING) {
        let mut last: Option<&[u8]> = None;
        let mut unsupported: Option<&[u8]> = None;
        for coding in head
            .headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .flat_map(|value| list_members(value.as_bytes()))
        {
            if let Some(previous) = last {
                // Only `identity` (a no-op) may come before the final
                // coding; anything else would have to be undone, and
                // `chunked` may be applied only once (§7).
                if unsupported.is_none() && !previous.eq_ignore_ascii_case(b"identity") {
                    unsupported = Some(previous);
                }
            }
            last = Some(coding);
        }
        return match last {
            Some(coding) if coding.eq_ignore_ascii_case(b"chunked") => match unsupported {
                Some(other) => Err(ProtocolError::UnsupportedTransferCoding(
                    String::from_utf8_lossy(other).into_owned(),
                )),
                None => Ok(BodyDecoder::Chunked(ChunkedDecoder::new())),
            },
            // §6.3 item 4: in a response, Transfer-Encoding without a final
            // `chunked` means the body runs until the server closes.
            _ => Ok(BodyDecoder::CloseDelimited),
        };
    }

    // §6.3 item 5: a list of identical Content-Length values counts as one
    // value; anything else invalid is an unrecoverable framing error.
    let mut length: Option<u64> = None;
    for value in head.headers.get_all(CONTENT_LENGTH) {
        // Unlike list_members, an empty member here is an error, not noise.
        for member in value.as_bytes().split(|&b| b == b',') {
            let n =
                parse_decimal(member.trim_ascii()).ok_or(ProtocolError::InvalidContentLength)?;
            match length {
                Some(previous) if previous != n => {
                    return Err(ProtocolError::ConflictingContentLength);
                }
                _ => length = Some(n),
            }
        }
    }
    Ok(match length {
        Some(remaining) => BodyDecoder::Length { remaining },
        // §6.3 item 8: no framing at all, so the body runs until close.
        None => BodyDecoder::CloseDelimited,
    })
}

/// `1*DIGIT` as a u64; `None` when empty, not all digits, or too large.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the connection may carry another request after this response.
///
/// HTTP/1.1 persists unless a `Connection: close` token (RFC 9112 §9.3);
/// HTTP/1.0 only with a `keep-alive` token (RFC 9112 §C.2.2). Never when
/// the body is close-delimited (it ends with the connection), when both
/// Transfer-Encoding and Content-Length were present (RFC 9112 §6.3 item 3:
/// the sender may be smuggling), or when an HTTP/1.0 response has
/// Transfer-Encoding (RFC 9112 §6.1: its framing is faulty).
pub(crate) fn can_keep_alive(head: &ResponseHead, decoder: &BodyDecoder) -> bool {
    if decoder.is_close_delimited() {
        return false;
    }
    let has_te = head.headers.contains_key(TRANSFER_ENCODING);
    if has_te && head.headers.contains_key(CONTENT_LENGTH) {
        return false;
    }
    if has_token(&head.headers, &CONNECTION, "close") {
        return false;
    }
    match head.version {
        Version::HTTP_11 => true,
        Version::HTTP_10 => !has_te && has_token(&head.headers, &CONNECTION, "keep-alive"),
        _ => false,
    }
}

/// Finds the blank line ending a head, a byte at a time across reads, so a
/// head dripped in byte by byte costs O(n) and httparse runs once.
///
/// A head ends at the first empty line after a non-empty one: LF then LF,
/// or LF then CRLF (RFC 9112 §2.2 lets a recipient take a bare LF as a line
/// end). Empty lines before the status line are skipped, as httparse does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadScan {
    /// Only empty lines so far.
    Start,
    /// Inside a non-empty line.
    Line,
    /// Just after the LF ending a non-empty line.
    Lf,
    /// After that LF, a CR.
    LfCr,
}

impl HeadScan {
    /// Scans `bytes`; returns the index of the LF ending the head, if there.
    fn find_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            *self = match (*self, b) {
                (HeadScan::Lf | HeadScan::LfCr, b'\n') => return Some(i),
                (HeadScan::Start, b'\r' | b'\n') => HeadScan::Start,
                (HeadScan::Lf, b'\r') => HeadScan::LfCr,
                (_, b'\n') => HeadScan::Lf,
                (_, _) => {
                    // Skip to the next LF in one go: nothing before it matters.
                    let tail = bytes.get(i..).unwrap_or_default();
                    match tail.iter().position(|&c| c == b'\n') {
                        Some(lf) => {
                            i += lf;
                            HeadScan::Line
                        }
                        None => {
                            *self = HeadScan::Line;
                            return None;
                        }
                    }
                }
            };
            if *self != HeadScan::Line {
                i += 1;
            }
        }
        None
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
    buf: Vec<u8>,
    /// Blank-line search over the head bytes seen so far.
    scan: HeadScan,
    /// Head bytes received, interim 1xx heads included.
    head_bytes: usize,
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
    parse_calls: usize,
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
        let Some(end) = self.scan.find_end(window) else {
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
        // RFC 9110 §15.2: a client must accept any number of 1xx responses
        // before the final one, even if it did not expect them.
        if head.status.is_informational() {
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
    /// [`ProtocolError::IncompleteHead`] or [`ProtocolError::IncompleteBody`]
    /// unless the response is complete or its body is close-delimited
    /// (RFC 9112 §6.3 item 8: then EOF is the end of it); the error of an
    /// earlier failure again.
    pub(crate) fn on_eof(&mut self) -> Result<(), ProtocolError> {
        let error = match &self.state {
            State::Done => return Ok(()),
            State::Failed(e) => return Err(e.clone()),
            State::ReadingHead => ProtocolError::IncompleteHead {
                received: self.head_bytes,
            },
            State::ReadingBody(decoder) if decoder.is_done() || decoder.is_close_delimited() => {
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

#[cfg(test)]
mod tests {
    #[test]
    fn known_length_bodies_can_be_read_directly() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let mut body = Vec::new();
        let used = reader
            .read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                &mut body,
            )
            .unwrap();
        assert_eq!((used, body.as_slice()), (42, &b"abc"[..]));
        assert_eq!(reader.body_remaining(), Some(7));
        body.extend_from_slice(b"defg");
        reader.advance_body(4).unwrap();
        assert_eq!(reader.body_remaining(), Some(3));
        assert!(!reader.is_done());
        body.extend_from_slice(b"hij");
        reader.advance_body(3).unwrap();
        assert!(reader.is_done() && reader.can_keep_alive());
        assert_eq!(reader.body_remaining(), None);
        assert_eq!(body, b"abcdefghij");
    }

    use super::*;

    const CL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello";
    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

    /// Parses a complete head with default limits.
    #[track_caller]
    fn head_of(input: &[u8]) -> ResponseHead {
        match parse_head(input, &Limits::default()) {
            Ok(Parsed::Complete { head, .. }) => head,
            other => panic!("not a complete head: {other:?}"),
        }
    }

    /// What a reader made of a response.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        status: u16,
        headers: Vec<(String, Vec<u8>)>,
        body: Vec<u8>,
        used: usize,
        keep_alive: bool,
    }

    /// Feeds `parts` in order, then EOF if the response is not done.
    fn drive(method: &Method, parts: &[&[u8]], limits: Limits) -> Result<Outcome, ProtocolError> {
        let mut reader = ResponseReader::new(method.clone(), limits);
        let mut body = Vec::new();
        let mut used = 0;
        for part in parts {
            let n = reader.read(part, &mut body)?;
            assert!(
                n == part.len() || reader.is_done(),
                "input left before the end"
            );
            used += n;
        }
        if !reader.is_done() {
            reader.on_eof()?;
        }
        assert!(reader.is_done());
        let keep_alive = reader.can_keep_alive();
        let head = reader.take_head().expect("head");
        Ok(Outcome {
            status: head.status.as_u16(),
            headers: head
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
            body,
            used,
            keep_alive,
        })
    }

    /// Reads `input` in one piece.
    fn read_one(method: &Method, input: &[u8], limits: Limits) -> Result<Outcome, ProtocolError> {
        drive(method, &[input], limits)
    }

    /// Reads `input` in one piece with default limits, for a GET.
    fn get(input: &[u8]) -> Result<Outcome, ProtocolError> {
        read_one(&Method::GET, input, Limits::default())
    }

    /// Limits with a body cap of `max_body_bytes`.
    fn body_limit(max_body_bytes: u64) -> Limits {
        Limits {
            max_body_bytes,
            ..Limits::default()
        }
    }

    // ---- heads -----------------------------------------------------------

    #[test]
    fn heads() {
        type Expected = Result<Option<(u16, Version, usize, usize)>, ProtocolError>;
        let v10 = Version::HTTP_10;
        let v11 = Version::HTTP_11;
        let cases: &[(&[u8], Expected)] = &[
            (b"HTTP/1.1 200 OK\r\n\r\n", Ok(Some((200, v11, 0, 19)))),
            (
                b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n",
                Ok(Some((404, v10, 1, 37))),
            ),
            (b"HTTP/1.1 200\r\n\r\n", Ok(Some((200, v11, 0, 16)))),
            (b"HTTP/1.1 200 \r\n\r\n", Ok(Some((200, v11, 0, 17)))),
            (b"HTTP/1.1  200  OK\r\n\r\n", Ok(Some((200, v11, 0, 21)))),
            (b"HTTP/1.1 200 OK\nA: b\n\n", Ok(Some((200, v11, 1, 22)))),
            (b"\r\nHTTP/1.1 200 OK\r\n\r\n", Ok(Some((200, v11, 0, 21)))),
            (
                b"HTTP/1.1 200 OK\r\nA: b\r\nA: c\r\n\r\nbody",
                Ok(Some((200, v11, 2, 31))),
            ),
            (
                b"HTTP/1.1 599 Whatever you like\r\n\r\n",
                Ok(Some((599, v11, 0, 34))),
            ),
            (
                b"HTTP/1.1 200 OK\r\nA:\r\n\r\n",
                Ok(Some((200, v11, 1, 23))),
            ),
            (b"", Ok(None)),
            (b"HTTP/1.1", Ok(None)),
            (b"HTTP/1.1 200 OK\r\n", Ok(None)),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n\r", Ok(None)),
            (
                b"HTTP/2.0 200 OK\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid HTTP version")),
            ),
            (
                b"ICY 200 OK\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid HTTP version")),
            ),
            (
                b"HTTP/1.1 20 OK\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid response status")),
            ),
            (
                b"HTTP/1.1 abc OK\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid response status")),
            ),
            (
                b"HTTP/1.1 099 Low\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid response status")),
            ),
            (
                b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid header name")),
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid header value")),
            ),
            (
                b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid header name")),
            ),
            (
                b"HTTP/1.1 200 OK\rX\r\n\r\n",
                Err(ProtocolError::MalformedHead("invalid response status")),
            ),
        ];
        for (input, expected) in cases {
            let got = parse_head(input, &Limits::default()).map(|p| match p {
                Parsed::Partial => None,
                Parsed::Complete { head, head_len } => Some((
                    head.status.as_u16(),
                    head.version,
                    head.headers.len(),
                    head_len,
                )),
            });
            assert_eq!(&got, expected, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn header_values_kept() {
        let head = head_of(
            b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX: \xe9t\xe9\r\n\r\n",
        );
        let cookies: Vec<_> = head.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(head.headers["x"].as_bytes(), b"\xe9t\xe9");
    }

    #[test]
    fn too_many_headers_at_limit() {
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        let three = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let four = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
        assert!(matches!(
            parse_head(three, &limits),
            Ok(Parsed::Complete { .. })
        ));
        assert_eq!(
            parse_head(four, &limits).unwrap_err(),
            ProtocolError::TooManyHeaders { limit: 3 }
        );
        let zero = Limits {
            max_headers: 0,
            ..Limits::default()
        };
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\n\r\n", &zero),
            Ok(Parsed::Complete { .. })
        ));
        assert_eq!(
            parse_head(three, &zero).unwrap_err(),
            ProtocolError::TooManyHeaders { limit: 0 }
        );
    }

    #[test]
    fn too_many_headers_above_stack_slots() {
        let make = |n: usize| {
            let mut h = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..n {
                h.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
            }
            h.extend_from_slice(b"\r\n");
            h
        };
        let limits = Limits {
            max_headers: 200,
            ..Limits::default()
        };
        match parse_head(&make(200), &limits) {
            Ok(Parsed::Complete { head, .. }) => assert_eq!(head.headers.len(), 200),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_head(&make(201), &limits).unwrap_err(),
            ProtocolError::TooManyHeaders { limit: 200 }
        );
        // A huge limit must not allocate the limit.
        let huge = Limits {
            max_headers: usize::MAX,
            ..Limits::default()
        };
        assert!(matches!(
            parse_head(&make(3), &huge),
            Ok(Parsed::Complete { .. })
        ));
        // Same through the reader, default limit.
        assert_eq!(get(&make(100)).unwrap().headers.len(), 100);
        assert_eq!(
            get(&make(101)).unwrap_err(),
            ProtocolError::TooManyHeaders { limit: 100 }
        );
    }

    #[test]
    fn head_size_at_limit() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let len = head.len();
        let at = Limits {
            max_head_bytes: len,
            ..Limits::default()
        };
        let below = Limits {
            max_head_bytes: len - 1,
            ..Limits::default()
        };
        assert!(
            matches!(parse_head(head, &at), Ok(Parsed::Complete { head_len, .. }) if head_len == len)
        );
        let too_large = ProtocolError::HeadTooLarge { limit: len - 1 };
        assert_eq!(parse_head(head, &below).unwrap_err(), too_large);
        // Partial: the limit counts what has arrived so far.
        let partial = &head[..len - 1];
        assert!(matches!(parse_head(partial, &below), Ok(Parsed::Partial)));
        let shorter = Limits {
            max_head_bytes: len - 2,
            ..Limits::default()
        };
        assert_eq!(
            parse_head(partial, &shorter).unwrap_err(),
            ProtocolError::HeadTooLarge { limit: len - 2 }
        );

        // The reader, whole and dripped.
        let bytes: Vec<&[u8]> = head.chunks(1).collect();
        for limits in [at, below] {
            let expected = if limits == at {
                Ok(len)
            } else {
                Err(too_large.clone())
            };
            assert_eq!(
                read_one(&Method::GET, head, limits).map(|o| o.used),
                expected
            );
            assert_eq!(
                drive(&Method::GET, &bytes, limits).map(|o| o.used),
                expected
            );
        }
    }

    #[test]
    fn head_without_end_is_cut_at_limit() {
        let limits = Limits {
            max_head_bytes: 100,
            ..Limits::default()
        };
        let mut garbage = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        garbage.resize(100, b'a');
        let mut reader = ResponseReader::new(Method::GET, limits);
        assert_eq!(reader.read(&garbage, &mut Vec::new()), Ok(100));
        assert_eq!(
            reader.read(b"a", &mut Vec::new()),
            Err(ProtocolError::HeadTooLarge { limit: 100 })
        );
        // A megabyte in one read is rejected after looking at 101 bytes.
        let mut reader = ResponseReader::new(Method::GET, limits);
        let big = vec![b'a'; 1 << 20];
        assert_eq!(
            reader.read(&big, &mut Vec::new()),
            Err(ProtocolError::HeadTooLarge { limit: 100 })
        );
        assert!(reader.buf.capacity() <= 101);
    }

    #[test]
    fn dripped_head_parses_once() {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..500 {
            input.extend_from_slice(format!("x-header-{i}: some value\n").as_bytes());
        }
        input.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let limits = Limits {
            max_headers: 1000,
            ..Limits::default()
        };
        let mut reader = ResponseReader::new(Method::GET, limits);
        for b in input.chunks(1) {
            assert_eq!(reader.read(b, &mut Vec::new()), Ok(1));
        }
        assert!(reader.is_done());
        assert_eq!(reader.parse_calls, 1);
        assert_eq!(reader.head().unwrap().headers.len(), 501);
    }

    #[test]
    fn interim_responses_skipped() {
        let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let out = get(input).unwrap();
        assert_eq!(
            (out.status, out.body.as_slice(), out.used),
            (200, &b"ok"[..], input.len())
        );
        assert_eq!(out.headers, [("content-length".to_owned(), b"2".to_vec())]);
    }

    #[test]
    fn scanner_finds_head_end() {
        let cases: &[(&[u8], Option<usize>)] = &[
            (b"A\r\n\r\n", Some(4)),
            (b"A\n\n", Some(2)),
            (b"A\n\r\n", Some(3)),
            (b"A\r\n\n", Some(3)),
            (b"\r\n\r\nA\r\n\r\n", Some(8)),
            (b"\n\nA\n\n", Some(4)),
            (b"A\r\nB\r\n", None),
            (b"A\n\rB\n", None),
            (b"", None),
        ];
        for (input, expected) in cases {
            let mut whole = HeadScan::Start;
            assert_eq!(whole.find_end(input), *expected, "{input:?}");
            let mut dripped = HeadScan::Start;
            let found = input
                .iter()
                .enumerate()
                .find_map(|(i, b)| dripped.find_end(std::slice::from_ref(b)).map(|_| i));
            assert_eq!(found, *expected, "{input:?} dripped");
        }
    }

    // ---- framing (RFC 9112 §6.3) -----------------------------------------

    #[test]
    fn framing_rules() {
        use BodyDecoder::{CloseDelimited, Empty, Length};
        let chunked = BodyDecoder::Chunked(ChunkedDecoder::new());
        let get = Method::GET;
        let head = Method::HEAD;
        let cases: &[(&Method, &[u8], Result<BodyDecoder, ProtocolError>)] = &[
            // item 1
            (&head, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", Ok(Empty)),
            (&head, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(Empty)),
            (&get, b"HTTP/1.1 100 Continue\r\n\r\n", Ok(Empty)),
            (&get, b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", Ok(Empty)),
            (&get, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", Ok(Empty)),
            (&get, b"HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n", Ok(Empty)),
            // item 3
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n", Ok(chunked.clone())),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Err(ProtocolError::UnsupportedTransferCoding("gzip".into()))),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", Err(ProtocolError::UnsupportedTransferCoding("gzip".into()))),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", Err(ProtocolError::UnsupportedTransferCoding("chunked".into()))),
            // item 4
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", Ok(CloseDelimited)),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", Ok(CloseDelimited)),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", Ok(CloseDelimited)),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\n", Ok(CloseDelimited)),
            // items 5 and 6
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", Ok(Length { remaining: 10 })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Ok(Length { remaining: 0 })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", Ok(Length { remaining: 7 })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10, 10\r\n\r\n", Ok(Length { remaining: 10 })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 10\r\n\r\n", Ok(Length { remaining: 10 })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", Ok(Length { remaining: u64::MAX })),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10, 11\r\n\r\n", Err(ProtocolError::ConflictingContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n", Err(ProtocolError::ConflictingContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 10,\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", Err(ProtocolError::InvalidContentLength)),
            // item 8
            (&get, b"HTTP/1.1 200 OK\r\n\r\n", Ok(CloseDelimited)),
            (&get, b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n", Ok(CloseDelimited)),
            (&Method::POST, b"HTTP/1.1 201 Created\r\n\r\n", Ok(CloseDelimited)),
        ];
        for (method, input, expected) in cases {
            let head = head_of(input);
            assert_eq!(
                &body_decoder(method, &head),
                expected,
                "{method} {}",
                String::from_utf8_lossy(input)
            );
        }
    }

    // ---- keep-alive ------------------------------------------------------

    #[test]
    fn keep_alive_decisions() {
        let get = Method::GET;
        let cases: &[(&Method, &[u8], bool)] = &[
            (&get, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true),
            (&get, b"HTTP/1.1 204 No Content\r\n\r\n", true),
            (&Method::HEAD, b"HTTP/1.1 200 OK\r\n\r\n", true),
            (&get, b"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n", true),
            (&get, b"HTTP/1.1 200 OK\r\n\r\n", false),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false),
            (&get, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
            (&get, b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false),
            (&get, b"HTTP/1.1 200 OK\r\nConnection: te\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
            (&get, b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n", false),
            (&get, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false),
            (&get, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            (&get, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            (&get, b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true),
            (&get, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", false),
            (&get, b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n", false),
            (&get, b"HTTP/1.0 204 No Content\r\n\r\n", false),
        ];
        for (method, input, expected) in cases {
            let head = head_of(input);
            let decoder = body_decoder(method, &head).unwrap();
            assert_eq!(
                can_keep_alive(&head, &decoder),
                *expected,
                "{method} {}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn reader_keep_alive() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let mut body = Vec::new();
        reader.read(&CL[..CL.len() - 1], &mut body).unwrap();
        assert!(!reader.can_keep_alive(), "not before the end");
        reader.read(&CL[CL.len() - 1..], &mut body).unwrap();
        assert!(reader.can_keep_alive());

        let connect = read_one(&Method::CONNECT, CL, Limits::default()).unwrap();
        assert!(!connect.keep_alive);
        assert!(get(CHUNKED).unwrap().keep_alive);
        assert!(!get(b"HTTP/1.1 200 OK\r\n\r\nbody").unwrap().keep_alive);
    }

    // ---- one test per error variant --------------------------------------

    #[test]
    fn error_malformed_head() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nA b\r\n\r\n").unwrap_err(),
            ProtocolError::MalformedHead("invalid header name")
        );
        assert_eq!(
            get(b"<html>\n\n").unwrap_err(),
            ProtocolError::MalformedHead("invalid HTTP version")
        );
    }

    #[test]
    fn error_head_too_large() {
        let mut input = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        input.resize(70_000, b'a');
        input.extend_from_slice(b"\r\n\r\n");
        let err = get(&input).unwrap_err();
        assert_eq!(err, ProtocolError::HeadTooLarge { limit: 64 * 1024 });
        assert!(err.is_too_large());
    }

    #[test]
    fn error_too_many_headers() {
        let input = [
            b"HTTP/1.1 200 OK\r\n".as_slice(),
            &b"A: b\r\n".repeat(101),
            b"\r\n",
        ]
        .concat();
        assert_eq!(
            get(&input).unwrap_err(),
            ProtocolError::TooManyHeaders { limit: 100 }
        );
    }

    #[test]
    fn error_body_too_large() {
        let too_large = ProtocolError::BodyTooLarge { limit: 5 };
        // Content-Length: rejected at the head, before any body byte.
        let at_limit = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            read_one(&Method::GET, at_limit, body_limit(5))
                .unwrap()
                .body,
            b"hello"
        );
        let mut reader = ResponseReader::new(Method::GET, body_limit(5));
        assert_eq!(
            reader.read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n",
                &mut Vec::new()
            ),
            Err(too_large.clone())
        );
        // Chunked: counted as it arrives.
        let chunked5 = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let chunked6 = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        assert_eq!(
            read_one(&Method::GET, chunked5, body_limit(5))
                .unwrap()
                .body,
            b"abcde"
        );
        assert_eq!(
            read_one(&Method::GET, chunked6, body_limit(5)),
            Err(too_large.clone())
        );
        let dripped: Vec<&[u8]> = chunked6.chunks(1).collect();
        assert_eq!(
            drive(&Method::GET, &dripped, body_limit(5)),
            Err(too_large.clone())
        );
        // Close-delimited.
        let close5 = b"HTTP/1.1 200 OK\r\n\r\nabcde";
        assert_eq!(
            read_one(&Method::GET, close5, body_limit(5)).unwrap().body,
            b"abcde"
        );
        assert_eq!(
            read_one(
                &Method::GET,
                b"HTTP/1.1 200 OK\r\n\r\nabcdef",
                body_limit(5)
            ),
            Err(too_large)
        );
    }

    #[test]
    fn error_invalid_content_length() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello").unwrap_err(),
            ProtocolError::InvalidContentLength
        );
    }

    #[test]
    fn error_conflicting_content_length() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
                .unwrap_err(),
            ProtocolError::ConflictingContentLength
        );
    }

    #[test]
    fn error_unsupported_transfer_coding() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n").unwrap_err(),
            ProtocolError::UnsupportedTransferCoding("br".into())
        );
    }

    #[test]
    fn error_invalid_chunk_size() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n").unwrap_err(),
            ProtocolError::InvalidChunkSize
        );
    }

    #[test]
    fn error_chunk_size_overflow() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n")
                .unwrap_err(),
            ProtocolError::ChunkSizeOverflow
        );
    }

    #[test]
    fn error_chunk_size_line_too_long() {
        let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
        input.resize(input.len() + 5000, b'e');
        let err = get(&input).unwrap_err();
        assert_eq!(err, ProtocolError::ChunkSizeLineTooLong { limit: 4096 });
        assert!(err.is_too_large());
    }

    #[test]
    fn error_invalid_chunk_delimiter() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n").unwrap_err(),
            ProtocolError::InvalidChunkDelimiter
        );
    }

    #[test]
    fn error_trailers_too_large() {
        let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: ".to_vec();
        input.resize(input.len() + 20_000, b't');
        let err = get(&input).unwrap_err();
        assert_eq!(err, ProtocolError::TrailersTooLarge { limit: 16 * 1024 });
        assert!(err.is_too_large());
    }

    #[test]
    fn error_invalid_trailer() {
        assert_eq!(
            get(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n")
                .unwrap_err(),
            ProtocolError::InvalidTrailer
        );
    }

    #[test]
    fn error_unexpected_upgrade() {
        assert_eq!(
            get(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").unwrap_err(),
            ProtocolError::UnexpectedUpgrade
        );
        // Also after an interim response.
        assert_eq!(
            get(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n")
                .unwrap_err(),
            ProtocolError::UnexpectedUpgrade
        );
    }

    #[test]
    fn error_incomplete_head() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        assert_eq!(
            reader.on_eof(),
            Err(ProtocolError::IncompleteHead { received: 0 })
        );
        assert!(!reader.has_received_bytes());

        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(b"HTTP/1.1 200", &mut Vec::new()).unwrap();
        let err = reader.on_eof().unwrap_err();
        assert_eq!(err, ProtocolError::IncompleteHead { received: 12 });
        assert!(err.is_truncated());

        // An interim response alone is not a response.
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader
            .read(b"HTTP/1.1 100 Continue\r\n\r\n", &mut Vec::new())
            .unwrap();
        assert_eq!(
            reader.on_eof(),
            Err(ProtocolError::IncompleteHead { received: 25 })
        );
    }

    #[test]
    fn error_incomplete_body() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(&CL[..CL.len() - 2], &mut Vec::new()).unwrap();
        let err = reader.on_eof().unwrap_err();
        assert_eq!(
            err,
            ProtocolError::IncompleteBody {
                received: 3,
                expected: Some(5)
            }
        );
        assert!(err.is_truncated());

        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader
            .read(&CHUNKED[..CHUNKED.len() - 2], &mut Vec::new())
            .unwrap();
        assert_eq!(
            reader.on_eof(),
            Err(ProtocolError::IncompleteBody {
                received: 11,
                expected: None
            })
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let err = reader
            .read(b"HTTP/1.1 999999\r\n\r\n", &mut Vec::new())
            .unwrap_err();
        assert_eq!(reader.read(CL, &mut Vec::new()), Err(err.clone()));
        assert_eq!(reader.on_eof(), Err(err));
        assert!(!reader.is_done());
    }

    // ---- byte splits -----------------------------------------------------

    #[test]
    fn shotgun() {
        let cases: &[(Method, &[u8], u16, &[u8])] = &[
            (Method::GET, CL, 200, b"hello"),
            (Method::GET, CHUNKED, 200, b"hello world"),
            (
                Method::GET,
                b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end",
                200,
                b"until the end",
            ),
            (
                Method::POST,
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                200,
                b"ok",
            ),
            (
                Method::GET,
                b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                204,
                b"",
            ),
            (
                Method::HEAD,
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                200,
                b"",
            ),
            (
                Method::GET,
                b"\r\nHTTP/1.1 200 OK\nContent-Length: 1\n\nx",
                200,
                b"x",
            ),
            (
                Method::GET,
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                200,
                b"",
            ),
        ];
        for (method, input, status, body) in cases {
            let name = String::from_utf8_lossy(input);
            let whole = read_one(method, input, Limits::default()).unwrap();
            assert_eq!(
                (whole.status, whole.body.as_slice()),
                (*status, *body),
                "{name}"
            );
            assert_eq!(whole.used, input.len(), "{name}");
            for i in 0..=input.len() {
                let (a, b) = input.split_at(i);
                let split = drive(method, &[a, b], Limits::default()).unwrap();
                assert_eq!(split, whole, "{name} split at {i}");
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(
                drive(method, &bytes, Limits::default()).unwrap(),
                whole,
                "{name} dripped"
            );
        }
    }

    #[test]
    fn truncation_at_every_offset() {
        for input in [CL, CHUNKED] {
            let Ok(Parsed::Complete { head_len, .. }) = parse_head(input, &Limits::default())
            else {
                panic!("head");
            };
            for i in 0..input.len() {
                let mut reader = ResponseReader::new(Method::GET, Limits::default());
                let mut body = Vec::new();
                assert_eq!(reader.read(&input[..i], &mut body), Ok(i));
                let err = reader.on_eof().unwrap_err();
                assert!(err.is_truncated(), "{err:?} at {i}");
                if i < head_len {
                    assert_eq!(err, ProtocolError::IncompleteHead { received: i }, "at {i}");
                } else {
                    assert!(
                        matches!(err, ProtocolError::IncompleteBody { .. }),
                        "{err:?} at {i}"
                    );
                }
            }
            let mut reader = ResponseReader::new(Method::GET, Limits::default());
            reader.read(input, &mut Vec::new()).unwrap();
            assert_eq!(reader.on_eof(), Ok(()));
        }
    }

    #[test]
    fn leftover_input_is_not_used() {
        let two = [CL, CHUNKED].concat();
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let mut body = Vec::new();
        assert_eq!(reader.read(&two, &mut body), Ok(CL.len()));
        assert_eq!(body, b"hello");
        assert_eq!(reader.read(&two[CL.len()..], &mut body), Ok(0));
        assert_eq!(get(&two[CL.len()..]).unwrap().body, b"hello world");
    }

    // ---- accessors -------------------------------------------------------

    #[test]
    fn lengths_and_remaining() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        let mut body = Vec::new();
        assert_eq!(
            (reader.content_length(), reader.body_remaining()),
            (None, None)
        );
        let head_len = CL.len() - 5;
        reader.read(&CL[..head_len], &mut body).unwrap();
        assert_eq!(
            (reader.content_length(), reader.body_remaining()),
            (Some(5), Some(5))
        );
        reader.read(&CL[head_len..head_len + 2], &mut body).unwrap();
        assert_eq!(reader.body_remaining(), Some(3));
        reader.read(&CL[head_len + 2..], &mut body).unwrap();
        assert_eq!(
            (reader.content_length(), reader.body_remaining()),
            (Some(5), None)
        );

        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        reader.read(&CHUNKED[..60], &mut body).unwrap();
        assert_eq!(
            (reader.content_length(), reader.body_remaining()),
            (None, None)
        );

        let mut reader = ResponseReader::new(Method::HEAD, Limits::default());
        reader
            .read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &mut body)
            .unwrap();
        assert!(reader.is_done());
        assert_eq!(
            (reader.content_length(), reader.body_remaining()),
            (Some(0), None)
        );
    }

    #[test]
    fn head_and_received_bytes() {
        let mut reader = ResponseReader::new(Method::GET, Limits::default());
        assert!(!reader.has_received_bytes());
        reader.read(b"", &mut Vec::new()).unwrap();
        assert!(!reader.has_received_bytes());
        reader.read(b"H", &mut Vec::new()).unwrap();
        assert!(reader.has_received_bytes());
        assert!(reader.head().is_none());
        reader.read(&CL[1..], &mut Vec::new()).unwrap();
        assert_eq!(reader.head().map(|h| h.status), Some(StatusCode::OK));
        let head = reader.take_head().unwrap();
        assert_eq!(head.headers["server"], "t");
        assert!(reader.head().is_none());
        assert!(reader.can_keep_alive(), "decided before the head was taken");
    }
}
