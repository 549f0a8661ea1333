//! The resume rules over arbitrary `Content-Range`, `ETag`, `Last-Modified`
//! and `Date` bytes: never a panic; an append only for a 206 whose range
//! starts at the offset, a complete file only for a 416 naming the offset
//! as the complete length; an `If-Range` validator never weak, and always
//! one of the values given.
//!
//! Input: a byte picking the status, 8 bytes of offset (little-endian, cut
//! to a few useful values), then the four header values separated by
//! `\x00` (a missing part leaves its header out).
//!
//! `cargo +nightly fuzz run range`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::resume_answer;

const STATUSES: [u16; 8] = [206, 200, 416, 404, 206, 416, 301, 500];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Some((offset, rest)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let status = STATUSES[usize::from(pick & 7)];
    let offset = match pick >> 3 & 3 {
        0 => 0,
        1 => 100,
        2 => u64::MAX,
        _ => u64::from_le_bytes(*offset),
    };
    let mut parts = rest.split(|&b| b == 0);
    let content_range = parts.next();
    let etag = parts.next();
    let last_modified = parts.next();
    let date = parts.next();
    let Some((answer, validator)) =
        resume_answer(status, content_range, etag, last_modified, date, offset)
    else {
        return;
    };
    if answer.starts_with("append") {
        assert_eq!(status, 206);
        let text = String::from_utf8_lossy(content_range.unwrap_or_default());
        let first: u64 = text
            .trim()
            .strip_prefix("bytes ")
            .and_then(|r| r.trim_start().split('-').next())
            .and_then(|n| n.trim().parse().ok())
            .expect("an append has a parsed range");
        assert_eq!(first, offset, "{text}");
    }
    if answer == "complete" {
        assert_eq!(status, 416);
    }
    if let Some(validator) = validator {
        assert!(!validator.starts_with("W/"), "a weak validator: {validator}");
        let given = [etag, last_modified]
            .into_iter()
            .flatten()
            .any(|v| String::from_utf8_lossy(v) == validator);
        assert!(given, "{validator} is none of the values given");
    }
});
