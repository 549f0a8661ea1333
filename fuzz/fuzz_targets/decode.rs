//! Content decoding of `Content-Encoding` lists (gzip, deflate, identity,
//! stacked), on arbitrary bytes and on real encodings of fuzzer data: never
//! a panic, never a byte past the limit, the same outcome however the body
//! is cut, and what was encoded decodes back exactly.
//!
//! Input: a byte of flags (bit 0: encode the rest, or decode it as it is;
//! bits 1-3: the coding list; bits 4-7: the limit), a byte for the piece
//! length, then the data.
//!
//! `cargo +nightly fuzz run decode`

#![no_main]

use std::io::Write;

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use libfuzzer_sys::fuzz_target;
use multifetch::__private::decode_content;

/// Header values, and the codings to apply for each, in order of application.
const LISTS: [(&str, &[&str]); 8] = [
    ("gzip", &["gzip"]),
    ("deflate", &["zlib"]),
    ("deflate", &["raw"]),
    ("gzip, identity", &["gzip"]),
    ("identity, x-gzip", &["gzip"]),
    ("deflate, gzip", &["raw", "gzip"]),
    ("gzip, deflate", &["gzip", "zlib"]),
    ("gzip, gzip, deflate", &["gzip", "gzip", "raw"]),
];

fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    let level = Compression::fast();
    let result = match coding {
        "gzip" => {
            let mut e = GzEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        "zlib" => {
            let mut e = ZlibEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
        _ => {
            let mut e = DeflateEncoder::new(Vec::new(), level);
            e.write_all(data).and_then(|()| e.finish())
        }
    };
    result.expect("encoding into memory does not fail")
}

fuzz_target!(|data: &[u8]| {
    let [flags, piece, data @ ..] = data else {
        return;
    };
    let (header, codings) = LISTS[usize::from(flags >> 1 & 7)];
    let limit = match flags >> 4 {
        0 => 0,
        15 => u64::MAX,
        n => 1u64 << (n + 2),
    };
    let piece = usize::from(*piece);
    if flags & 1 == 0 {
        // Arbitrary bytes: whatever happens, the cut does not matter.
        let whole = decode_content(header.as_bytes(), data, &[], limit).expect("a coding");
        let cut = decode_content(header.as_bytes(), data, &vec![piece; data.len()], limit)
            .expect("a coding");
        assert_eq!(whole.is_ok(), cut.is_ok(), "{whole:?} / {cut:?}");
        if let (Ok(whole), Ok(cut)) = (&whole, &cut) {
            assert!(whole == cut);
        }
    } else {
        // Real encodings: they decode back, or are over the limit.
        let encoded = codings.iter().fold(data.to_vec(), |acc, coding| encode(coding, &acc));
        let decoded = decode_content(header.as_bytes(), &encoded, &vec![piece; encoded.len()], limit)
            .expect("a coding");
        match decoded {
            Ok(out) => assert!(out == data),
            Err(message) => {
                assert_eq!(message, "too large");
                assert!(data.len() as u64 > limit, "{} bytes, limit {limit}", data.len());
            }
        }
    }
});
