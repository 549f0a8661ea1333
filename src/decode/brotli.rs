//! The `br` content coding (RFC 7932, registered for HTTP by RFC 9110
//! §8.4.1): brotli-decompressor's streaming decoder, fed what arrives and
//! drained in steps of bounded output, so the body-size limit stops a bomb
//! within one step.
//!
//! ```text
//! Decoding ─▶ Ended          (the stream's last meta-block is done)
//!    │
//!    └─ invalid data ─▶ error
//! ```
//!
//! The decoder is made with `BrotliState::new_strict`: the window is at
//! most 16 MiB as RFC 7932 has it, not the "large window" extension
//! (up to 1 GiB) that the crate accepts otherwise and no HTTP server sends.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

use super::{DecodeError, step_within};

/// A brotli stream being decoded.
pub(super) struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    /// Decoded bytes so far.
    produced: u64,
    /// The stream's end has been decoded; later bytes are ignored.
    ended: bool,
}

impl Brotli {
    pub(super) fn new() -> Brotli {
        Brotli {
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            produced: 0,
            ended: false,
        }
    }

    /// Whether the end of the stream has been decoded.
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    /// Decodes `input`, appending to `out` no more than `limit` decoded
    /// bytes in all; bytes after the end of the stream are ignored, as for
    /// deflate.
    pub(super) fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: u64,
    ) -> Result<(), DecodeError> {
        let mut available_in = input.len();
        let mut input_offset = 0;
        while !self.ended {
            let (result, _) = step_within(&mut self.produced, out, limit, |buf| {
                let mut available_out = buf.len();
                let mut output_offset = 0;
                let mut total_out = 0;
                let result = BrotliDecompressStream(
                    &mut available_in,
                    &mut input_offset,
                    input,
                    &mut available_out,
                    &mut output_offset,
                    buf,
                    &mut total_out,
                    &mut self.state,
                );
                Ok((output_offset, result))
            })?;
            match result {
                BrotliResult::ResultSuccess => self.ended = true,
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::NeedsMoreInput => break,
                BrotliResult::ResultFailure => {
                    return Err(DecodeError::Corrupt("invalid brotli data".into()));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::{DecodeError, decode_in_pieces, sample_text};

    fn encode(data: &[u8], quality: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, quality, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    fn decode(input: &[u8], split: usize, limit: u64) -> Result<Vec<u8>, DecodeError> {
        decode_in_pieces("br", input, split, limit)
    }

    #[test]
    fn round_trips_at_every_split() {
        let data = sample_text();
        for quality in [1, 5, 11] {
            let coded = encode(&data, quality);
            for split in [1, 2, 3, 100, 4096, usize::MAX] {
                let out = decode(&coded, split, u64::MAX).unwrap();
                assert!(out == data, "quality {quality} split {split}");
            }
        }
        let small = encode(b"hi", 5);
        for split in 1..=small.len() {
            assert_eq!(decode(&small, split, 2).unwrap(), b"hi");
        }
        assert_eq!(decode(b"", 1, 0).unwrap(), b"");
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = encode(&zeros, 9);
        assert!(bomb.len() < 10_000, "{}", bomb.len());
        for limit in [0, 1000, 1 << 20] {
            assert_eq!(
                decode(&bomb, usize::MAX, limit),
                Err(DecodeError::TooLarge { limit })
            );
        }
        assert_eq!(
            decode(&encode(&zeros[..1000], 5), 7, 1000).unwrap().len(),
            1000
        );
    }

    #[test]
    fn corrupt_and_truncated_streams_fail() {
        let coded = encode(&sample_text(), 5);
        for cut in [1, coded.len() / 2, coded.len() - 1] {
            let error = decode(&coded[..cut], 100, u64::MAX).unwrap_err();
            assert_eq!(
                error,
                DecodeError::Corrupt("compressed stream ends early".into()),
                "cut at {cut}"
            );
        }
        let mut bad = coded.clone();
        for byte in bad.iter_mut().skip(10).take(40) {
            *byte ^= 0x5a;
        }
        assert!(matches!(
            decode(&bad, 100, u64::MAX),
            Err(DecodeError::Corrupt(_))
        ));
        assert!(matches!(
            decode(b"\xff\xff\xff\xff\xff\xff", 1, u64::MAX),
            Err(DecodeError::Corrupt(_))
        ));
    }
}
