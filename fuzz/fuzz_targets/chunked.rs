//! The chunked decoder over arbitrary bytes: must never panic, and where
//! the input is split must not change the outcome.
//!
//! `cargo +nightly fuzz run chunked`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::decode_chunked;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = decode_chunked(input, input.len());
    let split = decode_chunked(input, usize::from(first));
    assert_eq!(whole, split);
});
