//! Redirect resolution over arbitrary `Location` bytes (raw UTF-8,
//! Latin-1, protocol-relative, garbage): must never panic; a followed
//! redirect goes to an http(s) URL with a host, which parses back to
//! itself; a redirect status that is not followed says why.
//!
//! Input: one byte picking the status and base URL, then the `Location`
//! bytes.
//!
//! `cargo +nightly fuzz run redirect`

#![no_main]

use libfuzzer_sys::fuzz_target;
use multifetch::Url;
use multifetch::__private::{RedirectOutcome, follow_redirect};

const STATUSES: [u16; 8] = [301, 302, 303, 307, 308, 300, 304, 200];
const BASES: [&str; 4] = [
    "http://a.test/dir/page?q=1#frag",
    "https://b.test:8443/",
    "http://127.0.0.1:8080/x",
    "http://[::1]/deep/er/path",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, location)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(pick & 7)];
    let base = BASES[usize::from(pick >> 3 & 3)];
    let method = if pick & 0x20 == 0 { "GET" } else { "POST" };
    let location = (pick & 0x40 == 0).then_some(location);
    let max = if pick & 0x80 == 0 { 10 } else { 0 };
    let Some(outcome) = follow_redirect(method, base, status, location, max) else {
        return;
    };
    let followed_status = matches!(status, 301 | 302 | 303 | 307 | 308);
    match outcome {
        RedirectOutcome::Follow(_, url) => {
            assert!(followed_status && max > 0);
            let parsed = Url::parse(&url).expect("a followed URL parses");
            assert!(matches!(parsed.scheme(), "http" | "https"), "{url}");
            assert!(parsed.host_str().is_some_and(|h| !h.is_empty()), "{url}");
            assert_eq!(parsed.as_str(), url);
            assert!(url.is_ascii(), "{url}");
        }
        RedirectOutcome::Return(reason) => {
            assert_eq!(reason.is_some(), followed_status, "{reason:?}");
        }
        RedirectOutcome::Fail(message) => assert!(followed_status && max > 0, "{message}"),
    }
});
