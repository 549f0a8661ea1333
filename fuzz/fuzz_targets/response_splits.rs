//! The response reader fed in many pieces of fuzzer-chosen lengths: must
//! never panic, and how the bytes are cut must not change the outcome
//! (`same_outcome`: an answer that is not HTTP is quoted as far as it had
//! arrived when its first byte proved it).
//!
//! Input: one byte of flags (bit 7: a HEAD request; bit 6: small limits;
//! bits 0-3: how many piece lengths follow), that many piece lengths (one
//! byte each), then the response bytes.
//!
//! `cargo +nightly fuzz run response_splits`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::{read_response_pieces, same_outcome};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let method = if flags & 0x80 == 0 { "GET" } else { "HEAD" };
    let small = flags & 0x40 != 0;
    let count = usize::from(flags & 0x0f).min(rest.len());
    let (lengths, input) = rest.split_at(count);
    let pieces: Vec<usize> = lengths.iter().map(|&n| usize::from(n)).collect();
    let whole = read_response_pieces(method, input, &[], small);
    let cut = read_response_pieces(method, input, &pieces, small);
    assert!(same_outcome(&whole, &cut), "pieces {pieces:?}: {whole:?} and {cut:?}");
    // A byte at a time, the hardest way to receive a response.
    let bytes = read_response_pieces(method, input, &vec![1; input.len()], small);
    assert!(same_outcome(&whole, &bytes), "byte by byte: {whole:?} and {bytes:?}");
});
