//! Content decoding (`Content-Encoding: gzip` / `deflate`, RFC 9110 §8.4.1),
//! streamed as body bytes arrive, with the body-size limit applied to the
//! decoded bytes: a small compressed "bomb" stops at the limit instead of
//! filling memory.
//!
//! ```text
//! gzip:    Header (RFC 1952 §2.3) ─▶ Deflate ─▶ Trailer (CRC-32, size) ─▶ Done ─▶ (next member: Header)
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
//! Inflating is done by `miniz_oxide`, the pure-Rust backend of flate2,
//! used directly: the gzip framing (header, CRC-32, size) is a few lines
//! here, and going without flate2's wrapper keeps four crates
//! (flate2, crc32fast, simd-adler32, cfg-if) out of the build.

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
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

    use super::{DecodeError, HeaderMap, coding_of};

    /// Decoded bytes produced per step; the limit is checked after each.
    const STEP: usize = 32 * 1024;
    /// A gzip header longer than this (file name, comment, extra field) is
    /// refused rather than buffered without end.
    const MAX_GZIP_HEADER: usize = 64 * 1024;

    /// Where a decoder is in its stream.
    #[derive(Debug)]
    enum Stage {
        /// Buffering a gzip member header.
        GzipHeader,
        /// Waiting for the first two bytes of a deflate body.
        Sniff,
        /// Inflating.
        Deflate,
        /// Buffering the 8-byte gzip trailer.
        GzipTrailer,
        /// The stream has ended.
        Done,
    }

    /// A streaming gzip or deflate decoder with an output limit.
    pub(crate) struct ContentDecoder {
        gzip: bool,
        stage: Stage,
        /// Header or trailer bytes that arrived over several reads.
        pending: Vec<u8>,
        inflate: Box<InflateState>,
        crc: Crc32,
        limit: u64,
        produced: u64,
        /// Whether any compressed byte has arrived.
        started: bool,
    }

    impl std::fmt::Debug for ContentDecoder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ContentDecoder")
                .field("coding", &self.coding())
                .field("stage", &self.stage)
                .field("produced", &self.produced)
                .finish_non_exhaustive()
        }
    }

    impl ContentDecoder {
        /// A decoder for the coding `headers` name, with the decoded body
        /// limited to `limit` bytes; `None` if there is nothing to decode.
        pub(crate) fn for_headers(headers: &HeaderMap, limit: u64) -> Option<ContentDecoder> {
            let gzip = coding_of(headers)? == "gzip";
            Some(ContentDecoder {
                gzip,
                stage: if gzip {
                    Stage::GzipHeader
                } else {
                    Stage::Sniff
                },
                pending: Vec::new(),
                inflate: InflateState::new_boxed(DataFormat::Raw),
                crc: Crc32::default(),
                limit,
                produced: 0,
                started: false,
            })
        }

        /// The coding's name, for error messages.
        pub(crate) fn coding(&self) -> &'static str {
            if self.gzip { "gzip" } else { "deflate" }
        }

        /// Whether any coded byte has arrived (a HEAD or 304 has none).
        pub(crate) fn started(&self) -> bool {
            self.started
        }

        /// Decodes `input`, appending the result to `out`.
        pub(crate) fn feed(
            &mut self,
            mut input: &[u8],
            out: &mut Vec<u8>,
        ) -> Result<(), DecodeError> {
            if !input.is_empty() {
                self.started = true;
            }
            while !input.is_empty() {
                let used = match self.stage {
                    Stage::GzipHeader => self.read_gzip_header(input)?,
                    Stage::Sniff => self.sniff(input, out)?,
                    Stage::Deflate => self.inflate_some(input, out)?,
                    Stage::GzipTrailer => self.read_gzip_trailer(input)?,
                    Stage::Done if self.gzip => {
                        // Another member follows (RFC 1952 §2.2).
                        self.stage = Stage::GzipHeader;
                        self.inflate.reset(DataFormat::Raw);
                        self.crc = Crc32::default();
                        0
                    }
                    // Bytes after the end of a deflate stream are ignored.
                    Stage::Done => input.len(),
                };
                input = input.get(used..).unwrap_or_default();
            }
            Ok(())
        }

        /// The body has ended: the stream must have ended too (an empty
        /// body is fine, as for a 304 or a HEAD).
        pub(crate) fn finish(&mut self) -> Result<(), DecodeError> {
            match self.stage {
                Stage::Done => Ok(()),
                _ if !self.started => Ok(()),
                _ => Err(DecodeError::Corrupt("compressed stream ends early".into())),
            }
        }

        fn read_gzip_header(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
            let before = self.pending.len();
            let take = input.len().min(MAX_GZIP_HEADER + 1 - before);
            self.pending
                .extend_from_slice(input.get(..take).unwrap_or_default());
            match gzip_header_len(&self.pending)? {
                Some(len) => {
                    self.pending.clear();
                    self.stage = Stage::Deflate;
                    Ok(len - before)
                }
                None if self.pending.len() > MAX_GZIP_HEADER => {
                    Err(DecodeError::Corrupt("gzip header too long".into()))
                }
                None => Ok(take),
            }
        }

        /// Picks zlib or raw deflate from the first two bytes; uses no
        /// input once both are known (they go through the inflater).
        fn sniff(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, DecodeError> {
            let first = match (self.pending.first(), input) {
                (Some(&a), [b, ..]) => [a, *b],
                (None, [a, b, ..]) => [*a, *b],
                (_, _) => {
                    self.pending.extend_from_slice(input);
                    return Ok(input.len());
                }
            };
            let [cmf, flg] = first;
            let zlib = cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
            let format = if zlib {
                DataFormat::Zlib
            } else {
                DataFormat::Raw
            };
            self.inflate.reset(format);
            self.stage = Stage::Deflate;
            let held = std::mem::take(&mut self.pending);
            let mut rest = &held[..];
            while !rest.is_empty() && matches!(self.stage, Stage::Deflate) {
                let used = self.inflate_some(rest, out)?;
                rest = rest.get(used..).unwrap_or_default();
            }
            Ok(0)
        }

        /// Inflates up to one step of output; returns the input used.
        fn inflate_some(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, DecodeError> {
            let mut buf = [0u8; STEP];
            let result = inflate(&mut self.inflate, input, &mut buf, MZFlush::None);
            let (used, made) = (result.bytes_consumed, result.bytes_written);
            let ended = match result.status {
                Ok(MZStatus::StreamEnd) => true,
                Ok(_) => false,
                // No progress possible without more input.
                Err(MZError::Buf) if used < input.len() || made > 0 => false,
                Err(error) => {
                    let coding = self.coding();
                    return Err(DecodeError::Corrupt(match error {
                        MZError::Data => format!("invalid {coding} data"),
                        other => format!("{coding} stream error ({other:?})"),
                    }));
                }
            };
            let made = buf.get(..made).unwrap_or_default();
            self.produced = self.produced.saturating_add(made.len() as u64);
            if self.produced > self.limit {
                return Err(DecodeError::TooLarge { limit: self.limit });
            }
            out.extend_from_slice(made);
            if self.gzip {
                self.crc.update(made);
            }
            if ended {
                self.stage = if self.gzip {
                    Stage::GzipTrailer
                } else {
                    Stage::Done
                };
            } else if used == 0 && made.is_empty() {
                return Err(DecodeError::Corrupt(format!(
                    "{} stream makes no progress",
                    self.coding()
                )));
            }
            Ok(used)
        }

        fn read_gzip_trailer(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
            let take = input.len().min(8 - self.pending.len());
            self.pending
                .extend_from_slice(input.get(..take).unwrap_or_default());
            if let [c0, c1, c2, c3, s0, s1, s2, s3] = self.pending[..] {
                let crc = u32::from_le_bytes([c0, c1, c2, c3]);
                let size = u32::from_le_bytes([s0, s1, s2, s3]);
                if crc != self.crc.sum() {
                    return Err(DecodeError::Corrupt("gzip CRC mismatch".into()));
                }
                if size != self.crc.amount() {
                    return Err(DecodeError::Corrupt("gzip size mismatch".into()));
                }
                self.pending.clear();
                self.stage = Stage::Done;
            }
            Ok(take)
        }
    }

    /// CRC-32 as gzip uses it (ISO 3309, the reflected 0xEDB88320
    /// polynomial), and the length mod 2^32 (RFC 1952 §2.3.1).
    #[derive(Debug, Default)]
    pub(super) struct Crc32 {
        crc: u32,
        len: u32,
    }

    /// The byte-at-a-time lookup table, built at compile time.
    const CRC_TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };

    impl Crc32 {
        pub(super) fn update(&mut self, data: &[u8]) {
            let mut c = !self.crc;
            for &b in data {
                c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
            }
            self.crc = !c;
            self.len = self.len.wrapping_add(data.len() as u32);
        }

        pub(super) fn sum(&self) -> u32 {
            self.crc
        }

        fn amount(&self) -> u32 {
            self.len
        }
    }

    /// The length of the gzip member header at the start of `buf`, `None`
    /// if more bytes are needed (RFC 1952 §2.3).
    fn gzip_header_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
        const FHCRC: u8 = 0x02;
        const FEXTRA: u8 = 0x04;
        const FNAME: u8 = 0x08;
        const FCOMMENT: u8 = 0x10;
        let corrupt = |m: &str| Err(DecodeError::Corrupt(m.into()));
        match buf {
            [] => return Ok(None),
            [0x1f] | [0x1f, 0x8b, ..] => {}
            _ => return corrupt("not a gzip stream"),
        }
        let (Some(&method), Some(&flags)) = (buf.get(2), buf.get(3)) else {
            return Ok(None);
        };
        if method != 8 {
            return corrupt("unknown gzip compression method");
        }
        let mut at = 10;
        if flags & FEXTRA != 0 {
            let (Some(&lo), Some(&hi)) = (buf.get(at), buf.get(at + 1)) else {
                return Ok(None);
            };
            at += 2 + usize::from(u16::from_le_bytes([lo, hi]));
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                match buf
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0))
                {
                    Some(end) => at += end + 1,
                    None => return Ok(None),
                }
            }
        }
        if flags & FHCRC != 0 {
            at += 2;
        }
        Ok((buf.len() >= at).then_some(at))
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

    pub(crate) fn feed(&mut self, _input: &[u8], _out: &mut Vec<u8>) -> Result<(), DecodeError> {
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
        // The standard check value of CRC-32/ISO-HDLC.
        let mut crc = imp::Crc32::default();
        crc.update(b"123456789");
        assert_eq!(crc.sum(), 0xcbf4_3926);
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
