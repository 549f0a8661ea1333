//! The HTTP/2 frame decoder over arbitrary bytes: must never panic, never
//! claim more bytes than it was given, and decode the same frames from any
//! prefix that holds them.
//!
//! `cargo +nightly fuzz run h2_frame`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::__private::h2::decode_frames;

fuzz_target!(|data: &[u8]| {
    let Some((&first, input)) = data.split_first() else {
        return;
    };
    // The first byte picks the maximum frame size: the RFC's minimum or a
    // larger one.
    let max = if first & 1 == 0 { 16_384 } else { 1 << 20 };
    let whole = decode_frames(input, max);
    if let Ok((frames, used)) = &whole {
        assert!(*used <= input.len());
        // The frames decoded from exactly the bytes they used are the same.
        let again = decode_frames(&input[..*used], max).expect("a prefix of good frames decodes");
        assert_eq!(&again.0, frames);
        assert_eq!(again.1, *used);
    }
});
