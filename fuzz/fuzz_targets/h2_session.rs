//! A client session fed arbitrary server bytes: must never panic, and
//! where the input is split must not change the events or the outcome.
//!
//! `cargo +nightly fuzz run h2_session`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::h2::session_events;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    let whole = session_events(input, &[]);
    let split = session_events(input, &[usize::from(first), usize::from(first) * 7]);
    assert_eq!(whole, split);
});
