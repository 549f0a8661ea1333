//! The `zstd` content coding (RFC 8878, for HTTP RFC 9659): ruzstd's frame
//! decoder, fed one whole block at a time, so that the body-size limit is
//! checked after every block (at most 128 KiB of output each).
//!
//! ```text
//!          magic 0xFD2FB528, header           block (3-byte header + content)
//! Frame ───────────────────────────▶ Blocks ─┐ ◀───────────────────────────┐
//!   ▲  │                                     └─────────────────────────────┘
//!   │  │ magic 0x184D2A5?, 4-byte length       last block (+ 4-byte checksum)
//!   │  ▼                                                  │
//!   │ Skipping(n) ──────────── n bytes ──────▶ Frame ◀────┘
//! ```
//!
//! ruzstd decodes whatever whole blocks it is given in one call, and one
//! block of a few bytes can stand for 128 KiB: this module reads the frame
//! and block headers itself (RFC 8878 §3.1.1) to hand it exactly one block
//! at a time. Frames follow one another (a body may hold several, and
//! skippable frames, which are skipped). Each frame's window is held back
//! until the frame ends or more follows; RFC 9659 §3 limits it to 8 MiB, and
//! a frame asking for more is refused, as browsers do. So at most 8 MiB and
//! one block are decoded past the limit before a bomb is stopped, and none
//! of it reaches the body. A frame's content checksum, when it has one, is
//! checked.

use ruzstd::decoding::errors::FrameDecoderError;
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use super::{DecodeError, hand_over};

/// The magic number that starts a zstd frame (little-endian).
const MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames start with 0x184D2A50 to 0x184D2A5F.
const SKIPPABLE: u32 = 0x184D_2A50;
/// The largest block (RFC 8878 §3.1.1.2.4).
const MAX_BLOCK: usize = 128 * 1024;
/// The largest window a frame may ask for in HTTP (RFC 9659 §3).
pub(super) const MAX_WINDOW: u64 = 8 << 20;

/// Where in the stream the decoder is.
#[derive(Debug, Clone, Copy)]
enum At {
    /// Before a frame (or at the end of the stream).
    Frame,
    /// Inside a frame, before a block; `checksum` when the frame ends in one.
    Blocks { checksum: bool },
    /// Inside a skippable frame: this many bytes left.
    Skipping(u64),
}

/// A zstd stream being decoded.
pub(super) struct Zstd {
    decoder: Box<FrameDecoder>,
    at: At,
    /// Bytes of a header, block or checksum not complete yet.
    held: Vec<u8>,
    /// Decoded bytes handed over so far.
    produced: u64,
}

impl Zstd {
    pub(super) fn new() -> Zstd {
        let mut decoder = Box::new(FrameDecoder::new());
        decoder.set_max_window_size(MAX_WINDOW);
        Zstd {
            decoder,
            at: At::Frame,
            held: Vec::new(),
            produced: 0,
        }
    }

    /// Whether the stream stands between frames with nothing held.
    pub(super) fn ended(&self) -> bool {
        matches!(self.at, At::Frame) && self.held.is_empty()
    }

    /// Decodes `input`, appending to `out` no more than `limit` decoded
    /// bytes in all.
    pub(super) fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
    ) -> Result<(), DecodeError> {
        let mut held = std::mem::take(&mut self.held);
        held.extend_from_slice(input);
        let mut used = 0;
        let result = loop {
            let rest = held.get(used..).unwrap_or_default();
            match self.step(rest, out, limit) {
                Ok(0) => break Ok(()),
                Ok(n) => used += n,
                Err(error) => break Err(error),
            }
        };
        held.drain(..used.min(held.len()));
        self.held = held;
        result
    }

    /// The input has ended: it must end between frames.
    pub(super) fn finish(&mut self) -> Result<(), DecodeError> {
        if self.ended() {
            Ok(())
        } else {
            Err(DecodeError::Corrupt("compressed stream ends early".into()))
        }
    }

    /// Takes one header, block or piece of a skippable frame from the
    /// start of `rest`; returns how many bytes it used (0: more are needed).
    fn step(&mut self, rest: &[u8], out: &mut Vec<u8>, limit: u64) -> Result<usize, DecodeError> {
        match self.at {
            At::Skipping(left) => {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                let left = left - take as u64;
                self.at = if left == 0 {
                    At::Frame
                } else {
                    At::Skipping(left)
                };
                Ok(take)
            }
            At::Frame => {
                let Some(&[a, b, c, d]) = rest.get(..4) else {
                    return Ok(0);
                };
                let magic = u32::from_le_bytes([a, b, c, d]);
                if magic & 0xFFFF_FFF0 == SKIPPABLE {
                    let Some(&[a, b, c, d]) = rest.get(4..8) else {
                        return Ok(0);
                    };
                    let length = u64::from(u32::from_le_bytes([a, b, c, d]));
                    self.at = if length == 0 {
                        At::Frame
                    } else {
                        At::Skipping(length)
                    };
                    return Ok(8);
                }
                if magic != MAGIC {
                    return Err(DecodeError::Corrupt(
                        "not a zstd frame (wrong magic number)".into(),
                    ));
                }
                let Some(&descriptor) = rest.get(4) else {
                    return Ok(0);
                };
                let length = frame_header_length(descriptor)?;
                let Some(header) = rest.get(..length) else {
                    return Ok(0);
                };
                self.decoder.reset(header).map_err(frame_error)?;
                self.at = At::Blocks {
                    checksum: descriptor & 0x04 != 0,
                };
                Ok(length)
            }
            At::Blocks { checksum } => {
                let Some(&[a, b, c]) = rest.get(..3) else {
                    return Ok(0);
                };
                let header = u32::from_le_bytes([a, b, c, 0]);
                let last = header & 1 == 1;
                let size = (header >> 3) as usize;
                if size > MAX_BLOCK {
                    return Err(DecodeError::Corrupt(
                        "zstd block larger than 128 KiB".into(),
                    ));
                }
                let content = match (header >> 1) & 3 {
                    // Raw and compressed blocks carry `size` bytes, an RLE
                    // block one byte repeated `size` times.
                    0 | 2 => size,
                    1 => 1,
                    _ => {
                        return Err(DecodeError::Corrupt(
                            "zstd block of the reserved type".into(),
                        ));
                    }
                };
                let trailer = if last && checksum { 4 } else { 0 };
                let Some(block) = rest.get(..3 + content + trailer) else {
                    return Ok(0);
                };
                self.decoder
                    .decode_blocks(block, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(frame_error)?;
                self.collect(out, limit)?;
                if last {
                    self.check_sum()?;
                    self.at = At::Frame;
                }
                Ok(block.len())
            }
        }
    }

    /// Moves what the decoder may hand over (all of it at the end of a
    /// frame, what lies beyond the window before) to `out`.
    fn collect(&mut self, out: &mut Vec<u8>, limit: u64) -> Result<(), DecodeError> {
        let Some(bytes) = self.decoder.collect() else {
            return Ok(());
        };
        hand_over(&mut self.produced, &bytes, out, limit)
    }

    /// At the end of a frame: its content checksum (the low 32 bits of the
    /// XXH64 of the content, RFC 8878 §3.1.1) must match.
    fn check_sum(&self) -> Result<(), DecodeError> {
        match (
            self.decoder.get_checksum_from_data(),
            self.decoder.get_calculated_checksum(),
        ) {
            (Some(sent), Some(made)) if sent != made => Err(DecodeError::Corrupt(
                "zstd content checksum does not match the data".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// The length of a frame header with this descriptor byte: magic,
/// descriptor, window descriptor, dictionary id and content size
/// (RFC 8878 §3.1.1.1).
fn frame_header_length(descriptor: u8) -> Result<usize, DecodeError> {
    if descriptor & 0x08 != 0 {
        return Err(DecodeError::Corrupt(
            "zstd frame header has its reserved bit set".into(),
        ));
    }
    let single_segment = descriptor & 0x20 != 0;
    let window = if single_segment { 0 } else { 1 };
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size = match descriptor >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    Ok(4 + 1 + window + dictionary + content_size)
}

/// A ruzstd error in plain words.
fn frame_error(error: FrameDecoderError) -> DecodeError {
    DecodeError::Corrupt(match error {
        FrameDecoderError::WindowSizeTooBig { requested, .. } => format!(
            "zstd frame asks for a window of {requested} bytes, more than the 8 MiB \
             HTTP allows (RFC 9659)"
        ),
        FrameDecoderError::DictNotProvided { dict_id } => {
            format!("zstd frame needs dictionary {dict_id}, which was not given")
        }
        FrameDecoderError::ReadFrameHeaderError(_)
        | FrameDecoderError::FrameHeaderError(_)
        | FrameDecoderError::FailedToInitialize(_) => "invalid zstd frame header".into(),
        FrameDecoderError::FailedToReadChecksum(_) => "zstd checksum missing".into(),
        _ => "invalid zstd data".into(),
    })
}

#[cfg(test)]
mod tests {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};

    use super::super::{DecodeError, decode_in_pieces, sample_text};
    use super::frame_header_length;

    fn decode(input: &[u8], split: usize, limit: u64) -> Result<Vec<u8>, DecodeError> {
        decode_in_pieces("zstd", input, split, limit)
    }

    #[test]
    fn round_trips_at_every_split() {
        let data = sample_text();
        let coded = compress_to_vec(&data[..], CompressionLevel::Fastest);
        for split in [1, 2, 3, 5, 100, 4096, usize::MAX] {
            let out = decode(&coded, split, u64::MAX).unwrap();
            assert!(out == data, "split {split}");
        }
        let small = compress_to_vec(&b"hi"[..], CompressionLevel::Fastest);
        for split in 1..=small.len() {
            assert_eq!(decode(&small, split, 2).unwrap(), b"hi");
        }
        assert_eq!(decode(b"", 1, 0).unwrap(), b"");
    }

    #[test]
    fn skippable_frames_are_skipped_and_frames_follow_one_another() {
        let mut body = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        body.extend(compress_to_vec(&b"one "[..], CompressionLevel::Fastest));
        body.extend([0x5f, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
        body.extend(compress_to_vec(&b"two"[..], CompressionLevel::Fastest));
        for split in 1..=body.len() {
            assert_eq!(
                decode(&body, split, 100).unwrap(),
                b"one two",
                "split {split}"
            );
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // An RLE block of 128 KiB is 4 bytes: a frame of them by hand.
        let mut bomb = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58];
        for i in 0..10_000 {
            let last = u32::from(i == 9_999);
            let header = last | (1 << 1) | ((128 * 1024) << 3);
            bomb.extend(&header.to_le_bytes()[..3]);
            bomb.push(b'x');
        }
        for limit in [0, 1000, 1 << 20] {
            assert_eq!(
                decode(&bomb, usize::MAX, limit),
                Err(DecodeError::TooLarge { limit })
            );
        }
        let exact = compress_to_vec(&[7u8; 1000][..], CompressionLevel::Fastest);
        assert_eq!(decode(&exact, 3, 1000).unwrap().len(), 1000);
        assert_eq!(
            decode(&exact, 3, 999),
            Err(DecodeError::TooLarge { limit: 999 })
        );
    }

    #[test]
    fn corrupt_and_truncated_streams_fail_in_words() {
        let coded = compress_to_vec(&sample_text()[..], CompressionLevel::Fastest);
        for cut in [1, 4, 7, coded.len() / 2, coded.len() - 1] {
            let error = decode(&coded[..cut], 100, u64::MAX).unwrap_err();
            assert_eq!(
                error,
                DecodeError::Corrupt("compressed stream ends early".into()),
                "cut at {cut}"
            );
        }
        let corrupt = |bytes: &[u8]| match decode(bytes, usize::MAX, u64::MAX) {
            Err(DecodeError::Corrupt(message)) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            corrupt(b"not zstd"),
            "not a zstd frame (wrong magic number)"
        );
        assert_eq!(
            corrupt(&[0x28, 0xb5, 0x2f, 0xfd, 0x08, 0x00]),
            "zstd frame header has its reserved bit set"
        );
        // Window descriptor 0x70: 2^(10+14) = 16 MiB, over RFC 9659's 8 MiB.
        let message = corrupt(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x01, 0x00, 0x00]);
        assert!(message.contains("more than the 8 MiB"), "{message}");
        // Reserved block type 3.
        assert_eq!(
            corrupt(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58, 0x07, 0x00, 0x00]),
            "zstd block of the reserved type"
        );
        // A wrong content checksum.
        let mut framed = compress_to_vec(&sample_text()[..], CompressionLevel::Fastest);
        if framed[4] & 0x04 != 0 {
            let n = framed.len();
            framed[n - 1] ^= 1;
            assert_eq!(
                corrupt(&framed),
                "zstd content checksum does not match the data"
            );
        }
        // Garbage in a compressed block.
        let mut bad = coded.clone();
        for byte in bad.iter_mut().skip(12).take(30) {
            *byte ^= 0x5a;
        }
        assert!(decode(&bad, usize::MAX, u64::MAX).is_err());
    }

    #[test]
    fn header_lengths_follow_the_descriptor() {
        assert_eq!(frame_header_length(0x00).unwrap(), 6);
        assert_eq!(frame_header_length(0x20).unwrap(), 6);
        assert_eq!(frame_header_length(0xe3).unwrap(), 4 + 1 + 4 + 8);
        assert_eq!(frame_header_length(0x41).unwrap(), 4 + 1 + 1 + 1 + 2);
        assert!(frame_header_length(0x08).is_err());
    }
}
