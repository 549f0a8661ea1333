//! Content decoding (`Content-Encoding: gzip` / `deflate`, RFC 9110 §8.4.1),
//! streamed as body bytes arrive, with the body-size limit applied to the
//! decoded bytes: a small compressed "bomb" stops at the limit instead of
//! filling memory.
//!
//! ```text
//! gzip:    flate2 MultiGzDecoder (header, inflate, CRC-32 and size; member after member)
//! deflate: Sniff (zlib header or raw?) ─▶ Deflate ─▶ Done
//! ```
//!
//! `deflate` means a zlib stream (RFC 1950) by the letter of RFC 9110
//! §8.4.1.2, but some servers send raw deflate (RFC 1951); the first two
//! bytes tell them apart, as browsers and curl do.
//!
//! Built with the `gzip` cargo feature (on by default); without it no
//! response is decoded and no `Accept-Encoding` is sent.
//!
//! Decoding is done by flate2 with its pure-Rust backend, miniz_oxide.
//! gzip goes through flate2's `write::MultiGzDecoder`, which parses each
//! member's header and checks its CRC-32 and size; its output goes to a
//! sink that refuses bytes past the limit, so at most 32 KiB (flate2's
//! output buffer) is decoded past the limit and none of it is kept.
//! `deflate` runs `flate2::Decompress` in steps of at most 32 KiB of output,
//! each cut to one byte past the limit.

use http::HeaderMap;
use http::header::CONTENT_ENCODING;

/// The `Accept-Encoding` value sent when decoding is on.
#[cfg(feature = "gzip")]
pub(crate) const ACCEPT_ENCODING: Option<&str> = Some("gzip, deflate");
/// The `Accept-Encoding` value sent when decoding is on.
#[cfg(not(feature = "gzip"))]
pub(crate) const ACCEPT_ENCODING: Option<&str> = None;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "gzip"), allow(dead_code))]
pub(crate) enum DecodeError {
    /// The decoded body went over the body-size limit.
    TooLarge { limit: u64 },
    /// The compressed stream is not valid.
    Corrupt(String),
}

/// The content coding of a response, if it is one this build decodes.
/// Only a single coding is decoded; a list (`gzip, br`) or an unknown one
/// leaves the body as it came.
fn coding_of(headers: &HeaderMap) -> Option<&'static str> {
    let mut values = headers.get_all(CONTENT_ENCODING).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
        Some("gzip")
    } else if value.eq_ignore_ascii_case("deflate") {
        Some("deflate")
    } else {
        None
    }
}

#[cfg(feature = "gzip")]
pub(crate) use imp::ContentDecoder;

#[cfg(feature = "gzip")]
mod imp {
    use std::io::{self, Write};

    use flate2::write::MultiGzDecoder;
    use flate2::{Decompress, FlushDecompress, Status};

    use super::{DecodeError, HeaderMap, coding_of};

    /// Most decoded bytes one inflate step of a deflate body produces; the
    /// limit is checked after each.
    const STEP: usize = 32 * 1024;

    /// A streaming gzip or deflate decoder with an output limit.
    pub(crate) struct ContentDecoder {
        stream: Stream,
        limit: u64,
        /// Whether any compressed byte has arrived.
        started: bool,
    }

    /// The decoder proper, by coding and stage.
    enum Stream {
        /// gzip: flate2 reads each member's header, inflates, and checks the
        /// CRC-32 and size in its trailer; members follow one another.
        Gzip(Box<MultiGzDecoder<Sink>>),
        /// deflate, before its first two bytes are known: what has arrived.
        Sniff(Vec<u8>),
        /// deflate, as a zlib or a raw stream.
        Deflate {
            inflate: Box<Decompress>,
            produced: u64,
            ended: bool,
        },
    }

    /// Where flate2's gzip decoder writes: the caller's output, taken for
    /// the length of one `feed`, which refuses bytes past the limit.
    ///
    /// flate2 inflates into a 32 KiB buffer of its own and hands it over
    /// whole, so at most 32 KiB past the limit is ever decoded, and none of
    /// it reaches the output.
    #[derive(Debug, Default)]
    struct Sink {
        out: Vec<u8>,
        /// Decoded bytes still allowed.
        room: u64,
        /// Set when a write went over the limit.
        over: bool,
    }

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
            let stage = match &self.stream {
                Stream::Gzip(_) => "gzip",
                Stream::Sniff(_) => "sniff",
                Stream::Deflate { ended: false, .. } => "deflate",
                Stream::Deflate { ended: true, .. } => "done",
            };
            f.debug_struct("ContentDecoder")
                .field("coding", &self.coding())
                .field("stage", &stage)
                .field("limit", &self.limit)
                .finish_non_exhaustive()
        }
    }

    impl ContentDecoder {
        /// A decoder for the coding `headers` name, with the decoded body
        /// limited to `limit` bytes; `None` if there is nothing to decode.
        pub(crate) fn for_headers(headers: &HeaderMap, limit: u64) -> Option<ContentDecoder> {
            let stream = if coding_of(headers)? == "gzip" {
                Stream::Gzip(Box::new(MultiGzDecoder::new(Sink {
                    room: limit,
                    ..Sink::default()
                })))
            } else {
                Stream::Sniff(Vec::with_capacity(2))
            };
            Some(ContentDecoder {
                stream,
                limit,
                started: false,
            })
        }

        /// The coding's name, for error messages.
        pub(crate) fn coding(&self) -> &'static str {
            match self.stream {
                Stream::Gzip(_) => "gzip",
                Stream::Sniff(_) | Stream::Deflate { .. } => "deflate",
            }
        }

        /// Whether any coded byte has arrived (a HEAD or 304 has none).
        pub(crate) fn started(&self) -> bool {
            self.started
        }

        /// Decodes `input`, appending the result to `out`.
        #[cfg(test)]
        pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
            self.feed_bounded(input, out, usize::MAX).map(|_| ())
        }

        /// Decodes from `input` until it is used up or `out` holds
        /// `max_out` bytes (give or take one 32 KiB step of the inflater),
        /// appending to `out`; returns how much of `input` was used. A body
        /// going to a slow sink is decoded only as the sink takes it, so a
        /// small compressed body cannot fill memory while it waits.
        pub(crate) fn feed_bounded(
            &mut self,
            input: &[u8],
            out: &mut Vec<u8>,
            max_out: usize,
        ) -> Result<usize, DecodeError> {
            if input.is_empty() {
                return Ok(0);
            }
            self.started = true;
            let limit = self.limit;
            match &mut self.stream {
                Stream::Gzip(gzip) => {
                    // flate2 writes straight into `out` while it is lent.
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    let mut used = 0;
                    let mut result = Ok(());
                    // Each `write` inflates at most one 32 KiB step.
                    while used < input.len() && gzip.get_ref().out.len() < max_out {
                        match gzip.write(input.get(used..).unwrap_or_default()) {
                            Ok(0) => {
                                result = Err(io::Error::from(io::ErrorKind::WriteZero));
                                break;
                            }
                            Ok(n) => used += n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                result = Err(e);
                                break;
                            }
                        }
                    }
                    // `flush` hands over what flate2 still holds, so that
                    // all the output of the input used is in `out` on return.
                    let result = result.and_then(|()| gzip.flush());
                    std::mem::swap(out, &mut gzip.get_mut().out);
                    result
                        .map(|()| used)
                        .map_err(|error| gzip_error(gzip.get_ref(), limit, &error))
                }
                Stream::Sniff(held) => {
                    // Only the two bytes that tell zlib from raw deflate.
                    let need = 2usize.saturating_sub(held.len()).min(input.len());
                    held.extend_from_slice(input.get(..need).unwrap_or_default());
                    let [cmf, flg, ..] = held[..] else {
                        return Ok(need);
                    };
                    let held = std::mem::take(held);
                    self.stream = Stream::Deflate {
                        inflate: Box::new(Decompress::new(is_zlib_header(cmf, flg))),
                        produced: 0,
                        ended: false,
                    };
                    // Two bytes make no output to speak of: take them whole.
                    self.feed_bounded(&held, out, usize::MAX)?;
                    let rest = input.get(need..).unwrap_or_default();
                    Ok(need + self.feed_bounded(rest, out, max_out)?)
                }
                Stream::Deflate {
                    inflate,
                    produced,
                    ended,
                } => {
                    let mut used = 0;
                    while used < input.len() && !*ended && out.len() < max_out {
                        let rest = input.get(used..).unwrap_or_default();
                        used += inflate_step(inflate, rest, out, produced, ended, limit)?;
                    }
                    // Bytes after the end of a deflate stream are ignored.
                    Ok(if *ended { input.len() } else { used })
                }
            }
        }

        /// The body has ended: the stream must have ended too (an empty
        /// body is fine, as for a 304 or a HEAD).
        pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
            if !self.started {
                return Ok(());
            }
            let limit = self.limit;
            match &mut self.stream {
                Stream::Gzip(gzip) => gzip.try_finish().map_err(|error| {
                    match gzip_error(gzip.get_ref(), limit, &error) {
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
                    }
                }),
                Stream::Deflate { ended: true, .. } => Ok(()),
                Stream::Sniff(_) | Stream::Deflate { .. } => {
                    Err(DecodeError::Corrupt("compressed stream ends early".into()))
                }
            }
        }
    }

    /// What a failed gzip write or finish means.
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
    fn is_zlib_header(cmf: u8, flg: u8) -> bool {
        cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
    }

    /// Inflates up to one step of output into `out`, never more than one
    /// byte past the limit; returns the input used.
    fn inflate_step(
        inflate: &mut Decompress,
        input: &[u8],
        out: &mut Vec<u8>,
        produced: &mut u64,
        ended: &mut bool,
        limit: u64,
    ) -> Result<usize, DecodeError> {
        let mut buf = [0u8; STEP];
        // One byte more than the limit allows, to tell "over" from "full".
        let room = usize::try_from(limit.saturating_sub(*produced).saturating_add(1))
            .map_or(STEP, |room| room.min(STEP));
        let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
        let status = inflate.decompress(input, &mut buf[..room], FlushDecompress::None);
        let used = usize::try_from(inflate.total_in() - in_before).unwrap_or(usize::MAX);
        let made = usize::try_from(inflate.total_out() - out_before).unwrap_or(usize::MAX);
        let status = status.map_err(|error| {
            DecodeError::Corrupt(match error.needs_dictionary() {
                Some(_) => "deflate stream needs a preset dictionary".into(),
                None => "invalid deflate data".into(),
            })
        })?;
        let made = buf.get(..made).unwrap_or_default();
        *produced = produced.saturating_add(made.len() as u64);
        if *produced > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        out.extend_from_slice(made);
        match status {
            Status::StreamEnd => *ended = true,
            Status::Ok | Status::BufError if used == 0 && made.is_empty() => {
                return Err(DecodeError::Corrupt(
                    "deflate stream makes no progress".into(),
                ));
            }
            Status::Ok | Status::BufError => {}
        }
        Ok(used)
    }
}

/// Without the `gzip` feature nothing is decoded; this type has no values.
#[cfg(not(feature = "gzip"))]
#[derive(Debug)]
pub(crate) enum ContentDecoder {}

#[cfg(not(feature = "gzip"))]
impl ContentDecoder {
    pub(crate) fn for_headers(headers: &HeaderMap, _limit: u64) -> Option<ContentDecoder> {
        let _ = coding_of(headers);
        None
    }

    pub(crate) fn coding(&self) -> &'static str {
        match *self {}
    }

    pub(crate) fn started(&self) -> bool {
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

    /// Decodes `input` fed `split` bytes at a time.
    fn decode(
        coding: &str,
        input: &[u8],
        split: usize,
        limit: u64,
    ) -> Result<Vec<u8>, DecodeError> {
        let mut d = ContentDecoder::for_headers(&headers(coding), limit).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(split.max(1)) {
            d.feed(piece, &mut out)?;
        }
        d.finish()?;
        Ok(out)
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
                let out = decode(header, &encoded, split, u64::MAX).unwrap();
                assert!(out == data, "{name} split {split}");
            }
        }
        let small = encode("gzip", b"hi");
        for split in 1..small.len() {
            assert_eq!(decode("x-gzip", &small, split, 10).unwrap(), b"hi");
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
            assert_eq!(decode("gzip", &encoded, split, 100).unwrap(), data);
        }
        // Two members make one body.
        let mut two = encode("gzip", b"ab");
        two.extend(encode("gzip", b"cd"));
        assert_eq!(decode("gzip", &two, 3, 100).unwrap(), b"abcd");
    }

    #[test]
    fn the_limit_applies_to_decoded_bytes() {
        let zeros = vec![0u8; 10 << 20];
        let bomb = encode("gzip", &zeros);
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode("gzip", &bomb, usize::MAX, 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
        let exact = encode("gzip", &zeros[..1000]);
        assert_eq!(decode("gzip", &exact, 10, 1000).unwrap().len(), 1000);
        assert_eq!(
            decode("gzip", &exact, 10, 999),
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
                    decode("gzip", &input, 100, u64::MAX),
                    Err(DecodeError::Corrupt(_))
                ),
                "{what}"
            );
        }
        assert!(matches!(
            decode("deflate", b"\xff\xff\xff\xff", 100, u64::MAX),
            Err(DecodeError::Corrupt(_))
        ));
        // An empty body (HEAD, 304) is not an error.
        assert_eq!(decode("gzip", b"", 1, 10).unwrap(), b"");
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
        assert_eq!(decode("gzip", &member, 4, 100).unwrap(), data);
        let n = member.len();
        member[n - 4] ^= 1;
        assert!(matches!(
            decode("gzip", &member, 4, 100),
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
                let err = decode(header, &encoded[..cut], 100, u64::MAX).unwrap_err();
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

    #[test]
    fn bounded_feeding_decodes_no_more_than_asked_and_loses_nothing() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        for coding in ["gzip", "deflate"] {
            let coded = encode(coding, &data);
            let mut d = ContentDecoder::for_headers(&headers(coding), u64::MAX).unwrap();
            let (mut decoded, mut input) = (Vec::new(), &coded[..]);
            let mut rounds = 0;
            while !input.is_empty() {
                let mut out = Vec::new();
                let used = d.feed_bounded(input, &mut out, 100_000).unwrap();
                assert!(
                    out.len() <= 100_000 + 2 * 32 * 1024,
                    "{coding}: {}",
                    out.len()
                );
                assert!(used > 0 || !out.is_empty(), "{coding}: no progress");
                input = &input[used..];
                decoded.extend_from_slice(&out);
                rounds += 1;
            }
            let mut out = Vec::new();
            d.feed_bounded(&[], &mut out, usize::MAX).unwrap();
            decoded.extend_from_slice(&out);
            d.finish().unwrap();
            assert!(rounds > 10, "{coding}: {rounds} rounds");
            assert_eq!(decoded, data, "{coding}");
        }
    }

    #[test]
    fn only_single_known_codings_are_decoded() {
        assert!(ContentDecoder::for_headers(&headers("br"), 1).is_none());
        assert!(ContentDecoder::for_headers(&headers("gzip, br"), 1).is_none());
        assert!(ContentDecoder::for_headers(&headers("identity"), 1).is_none());
        assert!(ContentDecoder::for_headers(&HeaderMap::new(), 1).is_none());
        assert!(ContentDecoder::for_headers(&headers("GZIP"), 1).is_some());
    }
}
