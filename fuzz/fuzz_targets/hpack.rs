//! The HPACK decoder over arbitrary header blocks: must never panic, and
//! whatever it decodes, our encoder's block for the same fields decodes
//! back to them.
//!
//! `cargo +nightly fuzz run hpack`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::h2::hpack_round_trip;

fuzz_target!(|data: &[u8]| {
    if let Ok((first, second)) = hpack_round_trip(data) {
        assert_eq!(first, second);
    }
});
