//! HPACK (RFC 7541): header compression for HTTP/2.
//!
//! - `table`: the static table (Appendix A) and the dynamic table with
//!   eviction (§2.3, §4);
//! - `huffman`: the Huffman code (§5.2, Appendix B), encode and a strict
//!   decode (EOS, padding longer than 7 bits or not all ones are errors);
//! - integer (§5.1) and string literal (§5.2) primitives, here;
//! - [`Decoder`]: header blocks to fields, with the dynamic table size
//!   update rules of §4.2 and §6.3;
//! - [`Encoder`]: fields to header blocks, Huffman when shorter, never
//!   indexing sensitive fields.
//!
//! Every decoding error is a connection error of type `COMPRESSION_ERROR`
//! (RFC 9113 §4.3): once a block fails, the two dynamic tables may differ,
//! and no later block can be trusted.

mod decoder;
mod encoder;
pub(crate) mod huffman;
pub(crate) mod table;

pub use decoder::Decoder;
pub use encoder::{Encoder, MAX_ENCODER_TABLE_SIZE};

/// The dynamic table size both ends start with, before any
/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2), in bytes.
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;

/// Largest HPACK integer accepted, so that an index, a string length or a
/// table size can never overflow on any platform. No legitimate value comes
/// near it: string lengths are bounded by the header block anyway.
pub const MAX_INTEGER: u64 = u32::MAX as u64;

/// A header field handed out by the [`Decoder`] or taken by the [`Encoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name, as bytes (HPACK does not check them; the session
    /// validates names and values).
    pub name: &'a [u8],
    /// The field value, as bytes.
    pub value: &'a [u8],
    /// Never indexed (RFC 7541 §6.2.3): on decoding, the peer marked it so;
    /// on encoding, it is written as a never-indexed literal.
    pub sensitive: bool,
    /// On decoding, the index (1–61) of the static table entry the name
    /// was taken from (RFC 7541 Appendix A), 0 when it came from the
    /// dynamic table or a literal: the session then knows the name without
    /// parsing it again. Ignored on encoding.
    pub static_name: u8,
}

/// What was wrong with a header block. Every variant is a
/// `COMPRESSION_ERROR` (RFC 9113 §4.3).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    /// The block ended in the middle of a field representation, an
    /// integer or a string.
    #[error("header block ends in the middle of a field")]
    Truncated,
    /// An integer does not fit in 32 bits (RFC 7541 §5.1 leaves the limit
    /// to the decoder).
    #[error("integer in header block is too large")]
    IntegerOverflow,
    /// An index is 0 or past the end of the static and dynamic tables
    /// (RFC 7541 §2.3.3).
    #[error("header block refers to index {0}, which is not in the tables")]
    InvalidIndex(u64),
    /// A Huffman-coded string holds EOS, or its padding is longer than
    /// 7 bits or not all ones (RFC 7541 §5.2).
    #[error("invalid huffman-coded string in header block")]
    InvalidHuffman,
    /// A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE we
    /// sent (RFC 7541 §6.3).
    #[error("dynamic table size update to {size} bytes, above the {max} we allow")]
    SizeUpdateTooLarge {
        /// The size the peer asked for, in bytes.
        size: u64,
        /// Our SETTINGS_HEADER_TABLE_SIZE, in bytes.
        max: u32,
    },
    /// A dynamic table size update after the first field of a block
    /// (RFC 7541 §4.2).
    #[error("dynamic table size update after the start of a header block")]
    SizeUpdateNotAtStart,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's size and the
    /// next block did not start with a size update (RFC 7541 §4.2).
    #[error("header block does not start with the required dynamic table size update")]
    SizeUpdateMissing,
}

/// Reads an integer with an `prefix_bits`-bit prefix (RFC 7541 §5.1) from
/// `block` at `*pos`, moving `*pos` past it.
pub(crate) fn decode_integer(
    block: &[u8],
    pos: &mut usize,
    prefix_bits: u8,
) -> Result<u64, HpackError> {
    let mask = (1u16 << prefix_bits) - 1;
    let first = u16::from(*block.get(*pos).ok_or(HpackError::Truncated)?) & mask;
    *pos += 1;
    if first < mask {
        return Ok(u64::from(first));
    }
    let mut value = u64::from(mask);
    let mut shift = 0u32;
    loop {
        let byte = *block.get(*pos).ok_or(HpackError::Truncated)?;
        *pos += 1;
        value += u64::from(byte & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(HpackError::IntegerOverflow);
        }
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 28 {
            // More continuation bytes than a 32-bit value can need (a run
            // of zero-valued continuation bytes would otherwise be endless).
            return Err(HpackError::IntegerOverflow);
        }
    }
}

/// Appends `value` with an `prefix_bits`-bit prefix whose other bits are
/// `flags` (RFC 7541 §5.1).
pub(crate) fn encode_integer(value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let mask = (1usize << prefix_bits) - 1;
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// Appends a string literal (RFC 7541 §5.2), Huffman-coded when that is
/// shorter and `huffman` allows it.
pub(crate) fn encode_string(value: &[u8], huffman: bool, out: &mut Vec<u8>) {
    let coded_len = huffman::encoded_len(value);
    if huffman && coded_len < value.len() {
        encode_integer(coded_len, 7, 0x80, out);
        huffman::encode(value, out);
    } else {
        encode_integer(value.len(), 7, 0, out);
        out.extend_from_slice(value);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Bytes from hex digits, ignoring anything else (spaces, newlines).
    pub(crate) fn hex(hex: &str) -> Vec<u8> {
        let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn int(block: &[u8], prefix: u8) -> Result<(u64, usize), HpackError> {
        let mut pos = 0;
        decode_integer(block, &mut pos, prefix).map(|v| (v, pos))
    }

    /// RFC 7541 Appendix C.1.
    #[test]
    fn integers_c1() {
        let mut out = Vec::new();
        encode_integer(10, 5, 0xe0, &mut out);
        assert_eq!(out, [0xea]);
        assert_eq!(int(&out, 5), Ok((10, 1)));
        out.clear();
        encode_integer(1337, 5, 0, &mut out);
        assert_eq!(out, [0x1f, 0x9a, 0x0a]);
        assert_eq!(int(&out, 5), Ok((1337, 3)));
        out.clear();
        encode_integer(42, 8, 0, &mut out);
        assert_eq!(out, [42]);
        assert_eq!(int(&out, 8), Ok((42, 1)));
    }

    #[test]
    fn integer_limits() {
        for value in [
            0usize,
            30,
            31,
            127,
            128,
            255,
            256,
            16_383,
            1 << 20,
            u32::MAX as usize,
        ] {
            for prefix in 1..=8 {
                let mut out = Vec::new();
                encode_integer(value, prefix, 0, &mut out);
                assert_eq!(int(&out, prefix), Ok((value as u64, out.len())));
                // Every truncation is reported as such.
                for cut in 0..out.len() {
                    assert_eq!(int(&out[..cut], prefix), Err(HpackError::Truncated));
                }
            }
        }
        // 2^32 does not fit.
        let mut out = Vec::new();
        encode_integer(1 << 32, 5, 0, &mut out);
        assert_eq!(int(&out, 5), Err(HpackError::IntegerOverflow));
        // Endless zero-valued continuation bytes.
        assert_eq!(
            int(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
            Err(HpackError::IntegerOverflow)
        );
    }

    #[test]
    fn strings_pick_the_shorter_form() {
        let mut out = Vec::new();
        encode_string(b"www.example.com", true, &mut out);
        assert_eq!(out[0], 0x8c);
        out.clear();
        encode_string(b"{}|\\", true, &mut out);
        assert_eq!(out, b"\x04{}|\\");
        out.clear();
        encode_string(b"www.example.com", false, &mut out);
        assert_eq!(out[0], 0x0f);
    }
}
