//! Content decoding (`Content-Encoding`, RFC 9110 §8.4): gzip and deflate,
//! and brotli (`br`) and `zstd` with their cargo features, alone or stacked, streamed as body bytes arrive, with the body-size limit
//! applied to the decoded bytes: a small compressed "bomb" stops at the limit
//! instead of filling memory.
//!
//! ```text
//! Content-Encoding: deflate, gzip          (deflate applied first, then gzip)
//!
//!   body ─▶ gzip stage ─▶ deflate stage ─▶ decoded body   (undone in reverse order)
//!           ≤ limit        ≤ limit
//!
//! gzip stage:    flate2 MultiGzDecoder (header, inflate, CRC-32 and size; member after member)
//! deflate stage: Sniff (zlib header or raw?) ─▶ Deflate ─▶ Done
//! br stage:      brotli-decompressor, 32 KiB of output per step (`brotli` feature)
//! zstd stage:    ruzstd, one block (≤ 128 KiB of output) per step (`zstd` feature)
//! ```
//!
//! The list is read as RFC 9110 §8.4 writes it: the codings in the order
//! they were applied, so they are undone from the last to the first.
//! `identity` entries (and empty list elements) mean nothing and are
//! skipped. A list holding any coding this build cannot undo (`br` or
//! `zstd` without their features, `compress`, an unknown token), or more than [`MAX_CODINGS`] codings, is
//! not decoded at all: the body is handed over as it came, with its
//! `Content-Encoding` header.
//!
//! The limit applies to the output of every stage, not only the last, so a
//! chain cannot hide a bomb in an inner layer (say megabytes of empty gzip
//! members that decode to nothing). A stage that feeds another may make a
//! little more than the limit ([`between_limit`]), as a compressed inner
//! layer of incompressible data is slightly larger than the data. The
//! stages are fed in pieces of at most [`PIECE`] bytes so that the bytes
//! between two stages stay small.
//!
//! `deflate` means a zlib stream (RFC 1950) by the letter of RFC 9110
//! §8.4.1.2, but some servers send raw deflate (RFC 1951); the first two
//! bytes tell them apart, as browsers and curl do.
//!
//! gzip and deflate are built with the `gzip` cargo feature (on by
//! default), `br` with `brotli` and `zstd` with `zstd` (both off by
//! default). `Accept-Encoding` names exactly the codings built in; with
//! none of the three no response is decoded and no `Accept-Encoding` is
//! sent.
//!
//! Decoding is done by flate2 with its pure-Rust backend, miniz_oxide.
//! gzip goes through flate2's `write::MultiGzDecoder`, which parses each
//! member's header and checks its CRC-32 and size; its output goes to a
//! sink that refuses bytes past the limit, so at most 32 KiB (flate2's
//! output buffer) is decoded past the limit and none of it is kept.
//! `deflate` runs `flate2::Decompress` in steps of at most 32 KiB of output,
//! each cut to one byte past the limit. brotli and zstd live in
//! [`brotli`](self::brotli) and [`zstd`](self::zstd), with their own
//! notes on how far past the limit they may decode.

#[cfg(feature = "brotli")]
mod brotli;
#[cfg(feature = "zstd")]
mod zstd;

use http::HeaderMap;
use http::header::{ACCEPT_ENCODING as ACCEPT_ENCODING_NAME, CONTENT_ENCODING, RANGE};

/// The `Accept-Encoding` value sent when decoding is on: the codings this
/// build decodes, and only those.
pub(crate) const ACCEPT_ENCODING: Option<&str> = match (
    cfg!(feature = "gzip"),
    cfg!(feature = "brotli"),
    cfg!(feature = "zstd"),
) {
    (true, true, true) => Some("gzip, deflate, br, zstd"),
    (true, true, false) => Some("gzip, deflate, br"),
    (true, false, true) => Some("gzip, deflate, zstd"),
    (true, false, false) => Some("gzip, deflate"),
    (false, true, true) => Some("br, zstd"),
    (false, true, false) => Some("br"),
    (false, false, true) => Some("zstd"),
    (false, false, false) => None,
};

/// Most content codings one response may stack and still be decoded; a
/// longer list is handed over raw (curl stops at 5 too, `MAX_ENCODE_STACK`).
pub(crate) const MAX_CODINGS: usize = 5;

/// The most coded bytes handed to a stage of a chain at once, so that what
/// one stage makes for the next stays small (at most about 1,000 times this,
/// deflate's largest ratio).
#[cfg_attr(not(feature = "_decode"), allow(dead_code))]
pub(crate) const PIECE: usize = 1024;

/// The most coded bytes fed at once when the output is bounded
/// ([`ContentDecoder::feed_bounded`]): one coding makes at most about
/// 1,000 times this from them (deflate's largest ratio), about 256 KiB.
#[cfg_attr(not(feature = "gzip"), allow(dead_code))]
pub(crate) const BOUNDED_PIECE: usize = 256;

/// The most bytes a stage that feeds another stage may make, for a body
/// limit of `limit`: the limit, plus room for the framing of a compressed
/// layer of incompressible data (deflate's stored blocks add 5 bytes per
/// 64 KiB, gzip a header and trailer per member), plus 64 KiB.
#[cfg_attr(not(feature = "_decode"), allow(dead_code))]
pub(crate) fn between_limit(limit: u64) -> u64 {
    limit.saturating_add(limit / 1024).saturating_add(64 * 1024)
}

/// The `Accept-Encoding` value the client adds to a request, if any.
///
/// The client asks for compressed bodies only when it will decode them
/// (`decompress` on, the `gzip` feature built) and the caller has not
/// spoken: not when the request or the client's default headers set
/// `Accept-Encoding` themselves, and not when the request carries `Range`
/// (as reqwest does). A range of a compressed representation is a slice of
/// the compressed stream, which cannot be decoded on its own, so a `Range`
/// request gets the raw bytes it asked for (RFC 9110 §14.2, §8.4).
pub(crate) fn accept_encoding(
    request: &HeaderMap,
    defaults: &HeaderMap,
    decompress: bool,
) -> Option<&'static str> {
    let caller_spoke = |headers: &HeaderMap| {
        headers.contains_key(ACCEPT_ENCODING_NAME) || headers.contains_key(RANGE)
    };
    ACCEPT_ENCODING.filter(|_| decompress && !caller_spoke(request) && !caller_spoke(defaults))
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "_decode"), allow(dead_code))]
pub(crate) enum DecodeError {
    /// The decoded body went over the body-size limit (or a stage of a
    /// chain over its share of it, see [`between_limit`]); `limit` is the
    /// body-size limit.
    TooLarge { limit: u64 },
    /// The compressed stream is not valid.
    Corrupt(String),
}

/// A content coding this build can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "_decode"), allow(dead_code))]
pub(crate) enum Coding {
    /// `gzip` or `x-gzip` (RFC 9110 §8.4.1.3).
    #[cfg(feature = "gzip")]
    Gzip,
    /// `deflate`: zlib, or raw deflate from servers that send that
    /// (RFC 9110 §8.4.1.2).
    #[cfg(feature = "gzip")]
    Deflate,
    /// `br`: brotli (RFC 7932).
    #[cfg(feature = "brotli")]
    Brotli,
    /// `zstd`: Zstandard (RFC 8878, RFC 9659).
    #[cfg(feature = "zstd")]
    Zstd,
}

impl Coding {
    /// The coding this build decodes for a `Content-Encoding` token.
    fn from_token(token: &str) -> Option<Coding> {
        let is = |name: &str| token.eq_ignore_ascii_case(name);
        #[cfg(feature = "gzip")]
        if is("gzip") || is("x-gzip") {
            return Some(Coding::Gzip);
        }
        #[cfg(feature = "gzip")]
        if is("deflate") {
            return Some(Coding::Deflate);
        }
        #[cfg(feature = "brotli")]
        if is("br") {
            return Some(Coding::Brotli);
        }
        #[cfg(feature = "zstd")]
        if is("zstd") {
            return Some(Coding::Zstd);
        }
        let _ = is;
        None
    }

    /// The coding's name, for error messages.
    #[cfg_attr(not(feature = "_decode"), allow(dead_code))]
    pub(crate) fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "gzip")]
            Coding::Gzip => "gzip",
            #[cfg(feature = "gzip")]
            Coding::Deflate => "deflate",
            #[cfg(feature = "brotli")]
            Coding::Brotli => "brotli",
            #[cfg(feature = "zstd")]
            Coding::Zstd => "zstd",
        }
    }
}

/// The codings to undo, in the order to undo them (the last applied
/// first), or `None` when the body is to be handed over as it came: no
/// coding, only `identity`, a coding this build does not decode (`br`
/// without the `brotli` feature, …), a value that is not text, or more
/// than [`MAX_CODINGS`] codings.
///
/// Several `Content-Encoding` field lines make one list (RFC 9110 §5.3).
pub(crate) fn codings_of(headers: &HeaderMap) -> Option<Vec<Coding>> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        for token in value.to_str().ok()?.split(',') {
            // Optional whitespace around elements; empty elements are
            // allowed and mean nothing (RFC 9110 §5.6.1).
            let token = token.trim_matches([' ', '\t']);
            if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            }
            let coding = Coding::from_token(token)?;
            if codings.len() == MAX_CODINGS {
                return None;
            }
            codings.push(coding);
        }
    }
    if codings.is_empty() {
        return None;
    }
    codings.reverse();
    Some(codings)
}

/// Most decoded bytes one [`step_within`] makes (a deflate or brotli
/// step); the limit is checked after each.
#[cfg(any(feature = "gzip", feature = "brotli"))]
const STEP: usize = 32 * 1024;

/// Counts `made` into `produced`, the decoded bytes a stream has handed
/// over, and appends it to `out`; when the count goes over `limit`, nothing
/// is appended and the stream fails with [`DecodeError::TooLarge`]. Every
/// stream's output passes here, which is what stops a bomb.
#[cfg(feature = "_decode")]
pub(crate) fn hand_over(
    produced: &mut u64,
    made: &[u8],
    out: &mut Vec<u8>,
    limit: u64,
) -> Result<(), DecodeError> {
    *produced = produced.saturating_add(made.len() as u64);
    if *produced > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    out.extend_from_slice(made);
    Ok(())
}

/// Runs one step of a streaming decoder into a buffer of at most [`STEP`]
/// bytes, cut to one byte more than `limit` still allows (to tell "over"
/// from "full"), and hands what it made over to `out` ([`hand_over`]).
///
/// `step` decodes into the buffer it is given and returns how many bytes
/// of it it filled, with whatever else the decoder said. Returns that, and
/// whether the step filled its buffer (more output may be waiting).
#[cfg(any(feature = "gzip", feature = "brotli"))]
pub(crate) fn step_within<T>(
    produced: &mut u64,
    out: &mut Vec<u8>,
    limit: u64,
    step: impl FnOnce(&mut [u8]) -> Result<(usize, T), DecodeError>,
) -> Result<(T, bool), DecodeError> {
    let mut buf = [0u8; STEP];
    let room = usize::try_from(limit.saturating_sub(*produced).saturating_add(1))
        .map_or(STEP, |room| room.min(STEP));
    let buf = buf.get_mut(..room).unwrap_or_default();
    let (made, said) = step(buf)?;
    let made = buf.get(..made).unwrap_or_default();
    hand_over(produced, made, out, limit)?;
    Ok((said, made.len() == room))
}

#[cfg(feature = "_decode")]
pub(crate) use imp::ContentDecoder;

#[cfg(feature = "_decode")]
mod imp {
    #[cfg(feature = "gzip")]
    use std::io::{self, Write};

    #[cfg(feature = "gzip")]
    use flate2::write::MultiGzDecoder;
    #[cfg(feature = "gzip")]
    use flate2::{Decompress, FlushDecompress, Status};

    #[cfg(feature = "gzip")]
    use super::step_within;
    use super::{BOUNDED_PIECE, Coding, DecodeError, HeaderMap, PIECE, between_limit, codings_of};

    /// A streaming decoder for a chain of gzip and deflate codings, with
    /// the output of every stage limited.
    pub(crate) struct ContentDecoder {
        /// In decoding order: the first undoes the coding applied last.
        stages: Vec<Stage>,
        /// The body-size limit, named when any stage goes over its limit.
        limit: u64,
        /// Whether any coded byte has arrived.
        started: bool,
        /// The coding whose stage failed, for the error message.
        failed: Option<Coding>,
    }

    /// One coding of the chain.
    struct Stage {
        coding: Coding,
        stream: Stream,
        limit: u64,
        /// Whether any byte has reached this stage.
        started: bool,
    }

    /// The decoder proper, by coding and stage.
    enum Stream {
        /// gzip: flate2 reads each member's header, inflates, and checks the
        /// CRC-32 and size in its trailer; members follow one another.
        #[cfg(feature = "gzip")]
        Gzip(Box<MultiGzDecoder<Sink>>),
        /// deflate, before its first two bytes are known: what has arrived.
        #[cfg(feature = "gzip")]
        Sniff(Vec<u8>),
        /// deflate, as a zlib or a raw stream.
        #[cfg(feature = "gzip")]
        Deflate {
            inflate: Box<Decompress>,
            produced: u64,
            ended: bool,
        },
        /// brotli (`br`).
        #[cfg(feature = "brotli")]
        Brotli(Box<super::brotli::Brotli>),
        /// zstd.
        #[cfg(feature = "zstd")]
        Zstd(Box<super::zstd::Zstd>),
    }

    /// Where flate2's gzip decoder writes: the caller's output, taken for
    /// the length of one `feed`, which refuses bytes past the limit.
    ///
    /// flate2 inflates into a 32 KiB buffer of its own and hands it over
    /// whole, so at most 32 KiB past the limit is ever decoded, and none of
    /// it reaches the output.
    #[cfg(feature = "gzip")]
    #[derive(Debug, Default)]
    struct Sink {
        out: Vec<u8>,
        /// Decoded bytes still allowed.
        room: u64,
        /// Set when a write went over the limit.
        over: bool,
    }

    #[cfg(feature = "gzip")]
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self.room.checked_sub(buf.len() as u64) {
                Some(room) if !self.over => {
                    self.room = room;
                    self.out.extend_from_slice(buf);
                    Ok(buf.len())
                }
                _ => {
                    self.over = true;
                    Err(io::Error::other("decoded body over the limit"))
                }
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl std::fmt::Debug for ContentDecoder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let stages: Vec<&str> = self
                .stages
                .iter()
                .map(|stage| match &stage.stream {
                    #[cfg(feature = "gzip")]
                    Stream::Gzip(_) => "gzip",
                    #[cfg(feature = "gzip")]
                    Stream::Sniff(_) => "deflate (sniffing)",
                    #[cfg(feature = "gzip")]
                    Stream::Deflate { ended: false, .. } => "deflate",
                    #[cfg(feature = "gzip")]
                    Stream::Deflate { ended: true, .. } => "deflate (done)",
                    #[cfg(feature = "brotli")]
                    Stream::Brotli(b) if b.ended() => "brotli (done)",
                    #[cfg(feature = "brotli")]
                    Stream::Brotli(_) => "brotli",
                    #[cfg(feature = "zstd")]
                    Stream::Zstd(z) if z.ended() => "zstd (between frames)",
                    #[cfg(feature = "zstd")]
                    Stream::Zstd(_) => "zstd",
                })
                .collect();
            f.debug_struct("ContentDecoder")
                .field("stages", &stages)
                .field("limit", &self.limit)
                .finish_non_exhaustive()
        }
    }

    impl ContentDecoder {
        /// A decoder for the codings `headers` name, with the decoded body
        /// limited to `limit` bytes and every stage before the last to
        /// [`between_limit`]`(limit)`; `None` if the body is to be
        /// handed over as it came (see [`codings_of`]).
        pub(crate) fn for_headers(headers: &HeaderMap, limit: u64) -> Option<ContentDecoder> {
            let codings = codings_of(headers)?;
            let last = codings.len() - 1;
            let stages = codings
                .into_iter()
                .enumerate()
                .map(|(i, coding)| {
                    let stage_limit = if i == last {
                        limit
                    } else {
                        between_limit(limit)
                    };
                    Stage::new(coding, stage_limit)
                })
                .collect();
            Some(ContentDecoder {
                stages,
                limit,
                started: false,
                failed: None,
            })
        }

        /// The name of the coding whose stage failed, or of the outermost
        /// coding, for error messages.
        pub(crate) fn coding(&self) -> &'static str {
            self.failed
                .or_else(|| self.stages.first().map(|s| s.coding))
                .map_or("content", Coding::name)
        }

        /// Whether any coded byte has arrived (a HEAD or 304 has none).
        pub(crate) fn started(&self) -> bool {
            self.started
        }

        /// Decodes `input`, appending the result to `out`.
        pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
            if input.is_empty() {
                return Ok(());
            }
            self.started = true;
            let result = feed_chain(&mut self.stages, input, out);
            result.map_err(|failure| self.failed(failure))
        }

        /// Decodes from `input` until it is used up or `out` holds at least
        /// `max_out` bytes, appending to `out`; returns how much of `input`
        /// was used. The input goes in pieces of [`BOUNDED_PIECE`] bytes, so
        /// `out` ends at most one piece's output (about 256 KiB for one
        /// coding) past `max_out`: a body going to a slow sink is decoded
        /// only as the sink takes it, and a small compressed body cannot
        /// fill memory while it waits.
        pub(crate) fn feed_bounded(
            &mut self,
            input: &[u8],
            out: &mut Vec<u8>,
            max_out: usize,
        ) -> Result<usize, DecodeError> {
            if max_out == usize::MAX {
                return self.feed(input, out).map(|()| input.len());
            }
            let mut used = 0;
            for piece in input.chunks(BOUNDED_PIECE) {
                if out.len() >= max_out {
                    break;
                }
                self.feed(piece, out)?;
                used += piece.len();
            }
            Ok(used)
        }

        /// The body has ended: every stream of the chain must have ended
        /// too (an empty body is fine, as for a 304 or a HEAD).
        pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
            if !self.started {
                return Ok(());
            }
            let result = finish_chain(&mut self.stages, &mut Vec::new());
            result.map_err(|failure| self.failed(failure))
        }

        /// Notes which stage failed; a stage over its limit is reported as
        /// the body over the body-size limit.
        fn failed(&mut self, (coding, error): StageError) -> DecodeError {
            self.failed = Some(coding);
            match error {
                DecodeError::TooLarge { .. } => DecodeError::TooLarge { limit: self.limit },
                corrupt @ DecodeError::Corrupt(_) => corrupt,
            }
        }
    }

    /// A failure in the stage of this coding.
    type StageError = (Coding, DecodeError);

    /// Feeds `input` to the first stage and what it makes to the rest, in
    /// pieces of at most [`PIECE`] bytes.
    fn feed_chain(stages: &mut [Stage], input: &[u8], out: &mut Vec<u8>) -> Result<(), StageError> {
        let Some((first, rest)) = stages.split_first_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        if rest.is_empty() {
            return first.feed(input, out);
        }
        let mut between = Vec::new();
        for piece in input.chunks(PIECE) {
            first.feed(piece, &mut between)?;
            for part in between.chunks(PIECE) {
                feed_chain(rest, part, out)?;
            }
            between.clear();
        }
        Ok(())
    }

    /// Ends the first stage, passes on what it still held, then ends the
    /// rest.
    fn finish_chain(stages: &mut [Stage], out: &mut Vec<u8>) -> Result<(), StageError> {
        let Some((first, rest)) = stages.split_first_mut() else {
            return Ok(());
        };
        if rest.is_empty() {
            return first.finish(out);
        }
        let mut between = Vec::new();
        first.finish(&mut between)?;
        for part in between.chunks(PIECE) {
            feed_chain(rest, part, out)?;
        }
        finish_chain(rest, out)
    }

    impl Stage {
        fn new(coding: Coding, limit: u64) -> Stage {
            let stream = match coding {
                #[cfg(feature = "gzip")]
                Coding::Gzip => Stream::Gzip(Box::new(MultiGzDecoder::new(Sink {
                    room: limit,
                    ..Sink::default()
                }))),
                #[cfg(feature = "gzip")]
                Coding::Deflate => Stream::Sniff(Vec::with_capacity(2)),
                #[cfg(feature = "brotli")]
                Coding::Brotli => Stream::Brotli(Box::new(super::brotli::Brotli::new())),
                #[cfg(feature = "zstd")]
                Coding::Zstd => Stream::Zstd(Box::new(super::zstd::Zstd::new())),
            };
            Stage {
                coding,
                stream,
                limit,
                started: false,
            }
        }

        /// Decodes `input`, appending the result to `out`.
        fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StageError> {
            if input.is_empty() {
                return Ok(());
            }
            self.started = true;
            let coding = self.coding;
            self.feed_stream(input, out).map_err(|e| (coding, e))
        }

        fn feed_stream(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
            let limit = self.limit;
            match &mut self.stream {
                #[cfg(feature = "brotli")]
                Stream::Brotli(brotli) => brotli.feed(input, out, limit),
                #[cfg(feature = "zstd")]
                Stream::Zstd(zstd) => zstd.feed(input, out, limit),
                #[cfg(feature = "gzip")]
                Stream::Gzip(gzip) => {
                    // flate2 writes straight into `out` while it is lent.
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    // `flush` hands over what flate2 still holds, so that
                    // all the output of `input` is in `out` on return.
                    let result = gzip.write_all(input).and_then(|()| gzip.flush());
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    result.map_err(|error| gzip_error(gzip.get_ref(), limit, &error))
                }
                #[cfg(feature = "gzip")]
                Stream::Sniff(held) => {
                    held.extend_from_slice(input);
                    let [cmf, flg, ..] = held[..] else {
                        return Ok(());
                    };
                    let held = std::mem::take(held);
                    self.stream = Stream::Deflate {
                        inflate: Box::new(Decompress::new(is_zlib_header(cmf, flg))),
                        produced: 0,
                        ended: false,
                    };
                    self.feed_stream(&held, out)
                }
                #[cfg(feature = "gzip")]
                Stream::Deflate {
                    inflate,
                    produced,
                    ended,
                } => {
                    let mut input = input;
                    // Bytes after the end of a deflate stream are ignored.
                    // The inflater may take in the last bytes of `input`
                    // with more output than one step holds still inside:
                    // step on while a step fills its buffer.
                    while !*ended {
                        let (used, full) =
                            inflate_step(inflate, input, out, produced, ended, limit)?;
                        input = input.get(used..).unwrap_or_default();
                        if input.is_empty() && !full {
                            break;
                        }
                    }
                    Ok(())
                }
            }
        }

        /// The input has ended: the stream must have ended too (an empty
        /// input is fine, as for a 304 or a HEAD). Whatever the decoder
        /// still held goes to `out`.
        fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), StageError> {
            if !self.started {
                return Ok(());
            }
            let (coding, limit) = (self.coding, self.limit);
            let _ = (limit, &out);
            let result = match &mut self.stream {
                #[cfg(feature = "brotli")]
                Stream::Brotli(brotli) if brotli.ended() => Ok(()),
                #[cfg(feature = "brotli")]
                Stream::Brotli(_) => {
                    Err(DecodeError::Corrupt("compressed stream ends early".into()))
                }
                #[cfg(feature = "zstd")]
                Stream::Zstd(zstd) => zstd.finish(),
                #[cfg(feature = "gzip")]
                Stream::Gzip(gzip) => {
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    let result = gzip.try_finish();
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    result.map_err(|error| match gzip_error(gzip.get_ref(), limit, &error) {
                        // flate2 reports a member cut short in its trailer
                        // as a checksum mismatch: it cannot tell them apart.
                        DecodeError::Corrupt(_) if error.kind() != io::ErrorKind::UnexpectedEof => {
                            DecodeError::Corrupt(
                                "gzip stream ends early or fails its CRC-32 and size check".into(),
                            )
                        }
                        DecodeError::Corrupt(_) => {
                            DecodeError::Corrupt("compressed stream ends early".into())
                        }
                        too_large => too_large,
                    })
                }
                #[cfg(feature = "gzip")]
                Stream::Deflate { ended: true, .. } => Ok(()),
                #[cfg(feature = "gzip")]
                Stream::Sniff(_) | Stream::Deflate { .. } => {
                    Err(DecodeError::Corrupt("compressed stream ends early".into()))
                }
            };
            result.map_err(|e| (coding, e))
        }
    }

    /// What a failed gzip write or finish means.
    #[cfg(feature = "gzip")]
    fn gzip_error(sink: &Sink, limit: u64, error: &io::Error) -> DecodeError {
        if sink.over {
            DecodeError::TooLarge { limit }
        } else {
            // flate2's messages: "invalid gzip header", "corrupt deflate
            // stream", "corrupt gzip stream does not have a matching checksum".
            DecodeError::Corrupt(error.to_string())
        }
    }

    /// Whether a deflate body's first two bytes are a zlib header (RFC 1950
    /// §2.2: method 8, a window of at most 32 KiB, and the check bits) rather
    /// than the start of raw deflate data.
    #[cfg(feature = "gzip")]
    fn is_zlib_header(cmf: u8, flg: u8) -> bool {
        cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
    }

    /// Inflates up to one step of output into `out`, never more than one
    /// byte past the limit; returns the input used and whether the step
    /// filled its output buffer (more output may be waiting).
    #[cfg(feature = "gzip")]
    fn inflate_step(
        inflate: &mut Decompress,
        input: &[u8],
        out: &mut Vec<u8>,
        produced: &mut u64,
        ended: &mut bool,
        limit: u64,
    ) -> Result<(usize, bool), DecodeError> {
        let ((used, made, status), full) = step_within(produced, out, limit, |buf| {
            let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
            let status = inflate.decompress(input, buf, FlushDecompress::None);
            let used = usize::try_from(inflate.total_in() - in_before).unwrap_or(usize::MAX);
            let made = usize::try_from(inflate.total_out() - out_before).unwrap_or(usize::MAX);
            let status = status.map_err(|error| {
                DecodeError::Corrupt(match error.needs_dictionary() {
                    Some(_) => "deflate stream needs a preset dictionary".into(),
                    None => "invalid deflate data".into(),
                })
            })?;
            Ok((made, (used, made, status)))
        })?;
        match status {
            Status::StreamEnd => *ended = true,
            // Nothing was waiting inside: the input is all in.
            Status::Ok | Status::BufError if input.is_empty() => {}
            Status::Ok | Status::BufError if used == 0 && made == 0 => {
                return Err(DecodeError::Corrupt(
                    "deflate stream makes no progress".into(),
                ));
            }
            Status::Ok | Status::BufError => {}
        }
        Ok((used, full))
    }
}

/// Without a decoding feature nothing is decoded; this type has no values.
#[cfg(not(feature = "_decode"))]
#[derive(Debug)]
pub(crate) enum ContentDecoder {}

#[cfg(not(feature = "_decode"))]
impl ContentDecoder {
    pub(crate) fn for_headers(headers: &HeaderMap, _limit: u64) -> Option<ContentDecoder> {
        let _ = codings_of(headers);
        None
    }

    pub(crate) fn coding(&self) -> &'static str {
        match *self {}
    }

    pub(crate) fn started(&self) -> bool {
        match *self {}
    }

    pub(crate) fn feed(&mut self, _input: &[u8], _out: &mut Vec<u8>) -> Result<(), DecodeError> {
        match *self {}
    }

    pub(crate) fn feed_bounded(
        &mut self,
        _input: &[u8],
        _out: &mut Vec<u8>,
        _max_out: usize,
    ) -> Result<usize, DecodeError> {
        match *self {}
    }

    pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
        match *self {}
    }
}

/// Decodes `input` as `Content-Encoding: {coding}` fed `split` bytes at a
/// time, checking after each piece that the output stays within `limit`.
#[cfg(all(test, feature = "_decode"))]
fn decode_in_pieces(
    coding: &str,
    input: &[u8],
    split: usize,
    limit: u64,
) -> Result<Vec<u8>, DecodeError> {
    let mut headers = HeaderMap::new();
    let value = http::HeaderValue::from_str(coding).expect("a header value");
    headers.insert(CONTENT_ENCODING, value);
    let mut decoder = ContentDecoder::for_headers(&headers, limit).expect("a decoder");
    let mut out = Vec::new();
    for piece in input.chunks(split.max(1)) {
        decoder.feed(piece, &mut out)?;
        assert!(out.len() as u64 <= limit, "{} bytes out", out.len());
    }
    decoder.finish()?;
    Ok(out)
}

/// About 280 KB of numbers as text, which every coding compresses well.
#[cfg(all(test, any(feature = "brotli", feature = "zstd")))]
fn sample_text() -> Vec<u8> {
    (0..60_000u32)
        .flat_map(|i| format!("{} ", i * 7 % 1013).into_bytes())
        .collect()
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use http::HeaderValue;

    use super::*;

    fn headers(coding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(coding).unwrap());
        h
    }

    fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
        match coding {
            "gzip" => {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "zlib" => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            _ => {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
        }
    }

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn every_coding_round_trips_at_every_split() {
        let data = sample();
        for (name, header) in [("gzip", "gzip"), ("zlib", "deflate"), ("raw", "deflate")] {
            let encoded = encode(name, &data);
            for split in [1, 2, 3, 7, 1000, usize::MAX] {
                let out = decode_in_pieces(header, &encoded, split, u64::MAX).unwrap();
                assert!(out == data, "{name} split {split}");
            }
        }
        let small = encode("gzip", b"hi");
        for split in 1..small.len() {
            assert_eq!(
                decode_in_pieces("x-gzip", &small, split, 10).unwrap(),
                b"hi"
            );
        }
    }

    #[test]
    fn gzip_headers_with_every_optional_field_parse() {
        let data = b"hello";
        let mut e = flate2::GzBuilder::new()
            .filename("f.txt")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        let encoded = e.finish().unwrap();
        for split in [1, 5, usize::MAX] {
            assert_eq!(
                decode_in_pieces("gzip", &encoded, split, 100).unwrap(),
                data
            );
        }
        // Two members make one body.
        let mut two = encode("gzip", b"ab");
        two.extend(encode("gzip", b"cd"));
        assert_eq!(decode_in_pieces("gzip", &two, 3, 100).unwrap(), b"abcd");
    }

    #[test]
    fn the_limit_applies_to_decoded_bytes() {
        let zeros = vec![0u8; 10 << 20];
        let bomb = encode("gzip", &zeros);
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode_in_pieces("gzip", &bomb, usize::MAX, 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        let exact = encode("gzip", &zeros[..1000]);
        assert_eq!(
            decode_in_pieces("gzip", &exact, 10, 1000).unwrap().len(),
            1000
        );
        assert_eq!(
            decode_in_pieces("gzip", &exact, 10, 999),
            Err(DecodeError::TooLarge { limit: 999 })
        );
    }

    #[test]
    fn corrupt_and_truncated_streams_fail() {
        let good = encode("gzip", &sample());
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut bad_data = good.clone();
        bad_data[20] ^= 0xff;
        for (what, input) in [
            ("crc", bad_crc),
            ("data", bad_data),
            ("truncated", good[..good.len() / 2].to_vec()),
            ("not gzip", b"plain text".to_vec()),
        ] {
            assert!(
                matches!(
                    decode_in_pieces("gzip", &input, 100, u64::MAX),
                    Err(DecodeError::Corrupt(_))
                ),
                "{what}"
            );
        }
        assert!(matches!(
            decode_in_pieces("deflate", b"\xff\xff\xff\xff", 100, u64::MAX),
            Err(DecodeError::Corrupt(_))
        ));
        // An empty body (HEAD, 304) is not an error.
        assert_eq!(decode_in_pieces("gzip", b"", 1, 10).unwrap(), b"");
    }

    #[test]
    fn crc32_matches_the_check_value() {
        // The standard check value of CRC-32/ISO-HDLC, as flate2 computes it.
        let mut crc = flate2::Crc::new();
        crc.update(b"123456789");
        assert_eq!(crc.sum(), 0xcbf4_3926);
        // A member put together by hand, trailer and all, is accepted, and
        // a wrong size in its trailer is not.
        let data = b"123456789";
        let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        member.extend(encode("raw", data));
        member.extend(crc.sum().to_le_bytes());
        member.extend((data.len() as u32).to_le_bytes());
        assert_eq!(decode_in_pieces("gzip", &member, 4, 100).unwrap(), data);
        let n = member.len();
        member[n - 4] ^= 1;
        assert!(matches!(
            decode_in_pieces("gzip", &member, 4, 100),
            Err(DecodeError::Corrupt(_))
        ));
    }

    #[test]
    fn a_bomb_leaves_no_more_than_the_limit_in_the_output() {
        let zeros = vec![0u8; 10 << 20];
        for (name, header) in [("gzip", "gzip"), ("zlib", "deflate"), ("raw", "deflate")] {
            let bomb = encode(name, &zeros);
            for limit in [0, 1000, 1 << 20, (1 << 20) + 12345] {
                let mut d = ContentDecoder::for_headers(&headers(header), limit).unwrap();
                let mut out = Vec::new();
                assert_eq!(
                    d.feed(&bomb, &mut out),
                    Err(DecodeError::TooLarge { limit }),
                    "{name} {limit}"
                );
                assert!(out.len() as u64 <= limit, "{name} {limit}: {}", out.len());
            }
        }
    }

    #[test]
    fn truncated_streams_say_so() {
        let data = sample();
        for (name, header) in [("gzip", "gzip"), ("zlib", "deflate"), ("raw", "deflate")] {
            let encoded = encode(name, &data);
            for cut in [1, 5, encoded.len() / 2, encoded.len() - 1] {
                let err = decode_in_pieces(header, &encoded[..cut], 100, u64::MAX).unwrap_err();
                let DecodeError::Corrupt(message) = err else {
                    panic!("{name} cut at {cut}: {err:?}");
                };
                assert!(
                    message.contains("ends early"),
                    "{name} cut at {cut}: {message}"
                );
            }
        }
    }

    /// Encodes `data` with each coding of `list` in turn (as a server
    /// applies them, first to last).
    fn encode_list(list: &[&str], data: &[u8]) -> Vec<u8> {
        list.iter()
            .fold(data.to_vec(), |acc, coding| encode(coding, &acc))
    }

    #[test]
    fn a_deflate_body_whose_last_bytes_make_more_than_one_step_ends() {
        // Zeros compress about 1,000 to 1: the last few bytes of the stream
        // stand for more output than one 32 KiB step.
        let zeros = vec![0u8; 4 << 20];
        for coding in ["zlib", "raw"] {
            let coded = encode(coding, &zeros);
            for split in [usize::MAX, 64, 7] {
                let out = decode_in_pieces("deflate", &coded, split, u64::MAX)
                    .unwrap_or_else(|e| panic!("{coding} split {split}: {e:?}"));
                assert!(out == zeros, "{coding} split {split}: {} bytes", out.len());
            }
        }
    }

    #[test]
    fn bounded_feeding_decodes_no_more_than_asked_and_loses_nothing() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for coding in ["gzip", "deflate", "deflate, gzip"] {
            let applied: Vec<&str> = coding
                .split(", ")
                .map(|c| if c == "deflate" { "zlib" } else { c })
                .collect();
            let coded = encode_list(&applied, &data);
            let mut d = ContentDecoder::for_headers(&headers(coding), u64::MAX).unwrap();
            let (mut decoded, mut input) = (Vec::new(), &coded[..]);
            let mut rounds = 0;
            while !input.is_empty() {
                let mut out = Vec::new();
                let used = d.feed_bounded(input, &mut out, 100_000).unwrap();
                // One coding: at most one piece's output past the bound (a
                // chain multiplies the ratios, so only its sum is checked).
                let single = !coding.contains(',');
                assert!(
                    !single || out.len() <= 100_000 + 300 * 1024,
                    "{coding}: {}",
                    out.len()
                );
                assert!(used > 0, "{coding}: no progress");
                input = &input[used..];
                decoded.extend_from_slice(&out);
                rounds += 1;
            }
            d.finish().unwrap();
            assert!(
                rounds > 10 || coding.contains(','),
                "{coding}: {rounds} rounds"
            );
            assert!(decoded == data, "{coding}: decoded differs");
        }
    }

    #[test]
    fn lists_are_read_as_rfc_9110_writes_them() {
        let names = |value: &str| {
            codings_of(&headers(value)).map(|c| c.into_iter().map(Coding::name).collect::<Vec<_>>())
        };
        // Undone from the last applied to the first.
        assert_eq!(names("deflate, gzip"), Some(vec!["gzip", "deflate"]));
        assert_eq!(names("gzip, identity"), Some(vec!["gzip"]));
        assert_eq!(names("identity, gzip"), Some(vec!["gzip"]));
        assert_eq!(names(" GZIP ,, x-gzip\t"), Some(vec!["gzip", "gzip"]));
        assert_eq!(names("identity"), None);
        assert_eq!(names(""), None);
        assert_eq!(names("gzip, compress"), None);
        assert_eq!(names("compress"), None);
        assert_eq!(names("gzip, br").is_some(), cfg!(feature = "brotli"));
        assert_eq!(names("zstd").is_some(), cfg!(feature = "zstd"));
        assert_eq!(names("gzip;q=1"), None);
        assert_eq!(
            names(&["gzip"; MAX_CODINGS].join(",")).map(|v| v.len()),
            Some(MAX_CODINGS)
        );
        assert_eq!(names(&["gzip"; MAX_CODINGS + 1].join(",")), None);
        assert_eq!(names(&vec!["identity"; 100].join(",")), None);
        // Field lines add up to one list.
        let mut two = HeaderMap::new();
        two.append(CONTENT_ENCODING, HeaderValue::from_static("deflate"));
        two.append(CONTENT_ENCODING, HeaderValue::from_static("identity, gzip"));
        assert_eq!(codings_of(&two), Some(vec![Coding::Gzip, Coding::Deflate]));
        // A value that is not text is not a list this build understands.
        let mut raw = HeaderMap::new();
        raw.insert(
            CONTENT_ENCODING,
            HeaderValue::from_bytes(b"gzip\xff").unwrap(),
        );
        assert_eq!(codings_of(&raw), None);
        assert!(ContentDecoder::for_headers(&HeaderMap::new(), 1).is_none());
    }

    #[test]
    fn chains_decode_in_reverse_order_at_every_split() {
        let data = sample();
        for (applied, header) in [
            (&["gzip"][..], "gzip, identity"),
            (&["gzip"][..], "identity, gzip"),
            (&["zlib", "gzip"][..], "deflate, gzip"),
            (&["gzip", "raw"][..], "gzip, deflate"),
            (
                &["gzip", "gzip", "zlib"][..],
                "x-gzip, gzip, identity, deflate",
            ),
        ] {
            let encoded = encode_list(applied, &data);
            for split in [1, 7, 1000, 4096, usize::MAX] {
                let out = decode_in_pieces(header, &encoded, split, u64::MAX).unwrap();
                assert!(out == data, "{header} split {split}");
            }
        }
        let small = encode_list(&["gzip", "raw", "gzip"], b"hi");
        for split in 1..small.len() {
            assert_eq!(
                decode_in_pieces("gzip, deflate, gzip", &small, split, 2).unwrap(),
                b"hi"
            );
        }
        // Empty body: nothing to decode, nothing wrong.
        assert_eq!(decode_in_pieces("deflate, gzip", b"", 1, 10).unwrap(), b"");
    }

    #[test]
    fn a_chain_has_one_limit_at_every_stage() {
        let zeros = vec![0u8; 4 << 20];
        // A bomb in the last stage.
        let bomb = encode_list(&["gzip", "gzip"], &zeros);
        assert_eq!(
            decode_in_pieces("gzip, gzip", &bomb, usize::MAX, 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        // Work hidden in an inner layer: the outer gzip makes megabytes of
        // empty gzip members, which the inner stage turns into nothing.
        let empty = encode("gzip", b"");
        let members: Vec<u8> = empty
            .iter()
            .copied()
            .cycle()
            .take(empty.len() * 100_000)
            .collect();
        let hidden = encode("gzip", &members);
        assert!(hidden.len() < 100_000, "{}", hidden.len());
        let mut d = ContentDecoder::for_headers(&headers("gzip, gzip"), 1 << 20).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            d.feed(&hidden, &mut out),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        assert!(out.is_empty());
        // Exactly the limit is fine.
        let exact = encode_list(&["raw", "gzip"], &zeros[..1000]);
        assert_eq!(
            decode_in_pieces("deflate, gzip", &exact, 3, 1000)
                .unwrap()
                .len(),
            1000
        );
    }

    #[test]
    fn a_failing_stage_is_named() {
        let data = sample();
        let mut inner_bad = encode("raw", &data);
        inner_bad.truncate(inner_bad.len() / 2);
        let outer = encode("gzip", &inner_bad);
        let mut d = ContentDecoder::for_headers(&headers("deflate, gzip"), u64::MAX).unwrap();
        let mut out = Vec::new();
        d.feed(&outer, &mut out).unwrap();
        assert!(matches!(d.finish(), Err(DecodeError::Corrupt(m)) if m.contains("ends early")));
        assert_eq!(d.coding(), "deflate");

        let mut d = ContentDecoder::for_headers(&headers("deflate, gzip"), u64::MAX).unwrap();
        assert!(d.feed(b"not gzip at all", &mut Vec::new()).is_err());
        assert_eq!(d.coding(), "gzip");
    }

    #[test]
    fn automatic_accept_encoding_yields_to_the_caller() {
        let none = HeaderMap::new();
        let with = |name: &'static str, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            h
        };
        assert_eq!(accept_encoding(&none, &none, true), ACCEPT_ENCODING);
        assert!(ACCEPT_ENCODING.is_some_and(|value| value.starts_with("gzip, deflate")));
        assert_eq!(accept_encoding(&none, &none, false), None);
        let range = with("range", "bytes=0-99");
        assert_eq!(accept_encoding(&range, &none, true), None);
        assert_eq!(accept_encoding(&none, &range, true), None);
        let own = with("accept-encoding", "br");
        assert_eq!(accept_encoding(&own, &none, true), None);
        assert_eq!(accept_encoding(&none, &own, true), None);
    }
}
