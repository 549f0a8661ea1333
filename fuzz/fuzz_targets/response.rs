//! A response reader over arbitrary bytes: must never panic, and where the
//! input is split must not change the outcome (an answer that is not HTTP
//! is quoted as far as it had arrived when its first byte proved it, so
//! there the two quotes need only start the same).
//!
//! `cargo +nightly fuzz run response`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::{read_response_split, same_outcome};

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    // The top bit picks the method (HEAD responses have no body), the rest
    // where the input is cut in two.
    let method = if first & 0x80 == 0 { "GET" } else { "HEAD" };
    let split = usize::from(first & 0x7f);
    let whole = read_response_split(method, input, 0);
    let split = read_response_split(method, input, split);
    assert!(same_outcome(&whole, &split), "{whole:?} and {split:?}");
});
