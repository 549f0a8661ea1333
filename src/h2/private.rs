//! Not public API: the engine's types and thin wrappers for the tests,
//! fuzz targets and benches. Reached as `multifetch::__private::h2`.

pub use super::error::{ErrorCode, H2Error, SendError, Violation};
pub use super::frame;
pub use super::hpack;
pub use super::session::{Event, PeerSettings, RequestHead, Session, Settings};
pub use super::{
    DEFAULT_CONNECTION_WINDOW, DEFAULT_MAX_HEADER_LIST_SIZE, DEFAULT_STREAM_WINDOW,
    HEADER_BLOCK_SLACK, MAX_EMPTY_FRAMES, MAX_HEADER_BLOCK_FRAMES, MAX_QUEUED_CONTROL_BYTES,
    MAX_STREAM_ID, StreamId, UNKNOWN_MAX_CONCURRENT_STREAMS,
};

use super::frame::{Decoded, decode};

/// A decoded header list: `(name, value)` pairs in order.
pub type FieldList = Vec<(Vec<u8>, Vec<u8>)>;
use super::hpack::Decoder;

/// Decodes every whole frame in `input` with a `max_frame_size` limit;
/// returns their `Debug` text and the bytes used (a partial frame at the
/// end is left over).
///
/// # Errors
///
/// The first frame error.
pub fn decode_frames(input: &[u8], max_frame_size: u32) -> Result<(Vec<String>, usize), H2Error> {
    let mut frames = Vec::new();
    let mut used = 0;
    while let Some(rest) = input.get(used..) {
        match decode(rest, max_frame_size)? {
            Decoded::Partial => break,
            Decoded::Complete(frame, n) => {
                frames.push(format!("{frame:?}"));
                used += n;
            }
        }
    }
    Ok((frames, used))
}

/// Decodes header blocks in order with one decoder; returns each block's
/// fields as `(name, value)`.
///
/// # Errors
///
/// The first HPACK error.
pub fn hpack_decode(blocks: &[&[u8]]) -> Result<Vec<FieldList>, hpack::HpackError> {
    let mut decoder = Decoder::new();
    blocks
        .iter()
        .map(|block| {
            let mut fields = Vec::new();
            decoder.decode(block, |f| fields.push((f.name.to_vec(), f.value.to_vec())))?;
            Ok(fields)
        })
        .collect()
}

/// Feeds `input` to a fresh session that has sent three requests (stream
/// 1: GET without body, 3: POST with its body still open, 5: HEAD), in
/// pieces cut at `splits` (offsets, clamped and sorted); returns the events
/// as `Debug` text, releasing every DATA byte as it comes, and the
/// connection error if one ended it.
pub fn session_events(input: &[u8], splits: &[usize]) -> (Vec<String>, Option<H2Error>) {
    let mut session = Session::new(Settings::default());
    let headers = http::HeaderMap::new();
    for (method, end_stream) in [
        (http::Method::GET, true),
        (http::Method::POST, false),
        (http::Method::HEAD, true),
    ] {
        let head = RequestHead {
            method: &method,
            scheme: "https",
            authority: "example.com",
            path: "/",
            headers: &headers,
        };
        // A fresh session always has room for three streams.
        let _ = session.send_request(&head, end_stream);
    }
    let mut events = Vec::new();
    let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(input.len())).collect();
    cuts.sort_unstable();
    cuts.push(input.len());
    let mut start = 0;
    let mut released = Vec::new();
    for cut in cuts {
        let piece = input.get(start..cut).unwrap_or_default();
        start = cut;
        let result = session.recv(piece, |event| {
            if let Event::Data { stream, data, .. } = &event {
                released.push((*stream, data.len()));
            }
            events.push(format!("{event:?}"));
        });
        for (stream, n) in released.drain(..) {
            session.release(stream, n);
        }
        if let Err(error) = result {
            return (events, Some(error));
        }
    }
    (events, None)
}

/// Decodes `block` and, when it decodes, encodes the fields again with
/// our encoder and decodes that with a fresh decoder; returns both lists,
/// which must be equal.
///
/// # Errors
///
/// The HPACK error of the first decoding.
pub fn hpack_round_trip(block: &[u8]) -> Result<(FieldList, FieldList), hpack::HpackError> {
    let first = hpack_decode(&[block])?.pop().unwrap_or_default();
    let mut encoder = hpack::Encoder::new();
    let mut encoded = Vec::new();
    encoder.encode(
        first.iter().map(|(name, value)| hpack::Field {
            name,
            value,
            sensitive: false,
            static_name: 0,
        }),
        &mut encoded,
    );
    let second = hpack_decode(&[&encoded])?.pop().unwrap_or_default();
    Ok((first, second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::{
        SettingId, encode_data, encode_headers, encode_padded, encode_settings,
    };

    /// A server's answer to `session_events`' three requests.
    fn conversation() -> Vec<u8> {
        let mut out = Vec::new();
        encode_settings(&mut out, &[(SettingId::MaxConcurrentStreams, 10)]);
        let mut encoder = hpack::Encoder::new();
        let mut block = |fields: &[(&str, &str)]| {
            let mut b = Vec::new();
            encoder.encode(
                fields.iter().map(|(n, v)| hpack::Field {
                    name: n.as_bytes(),
                    value: v.as_bytes(),
                    sensitive: false,
                    static_name: 0,
                }),
                &mut b,
            );
            b
        };
        let head = block(&[(":status", "200"), ("content-length", "5")]);
        encode_headers(&mut out, StreamId::new(1), &head, false, 16_384);
        encode_padded(
            &mut out,
            frame::FrameType::Data,
            0,
            StreamId::new(1),
            b"hel",
            2,
        );
        encode_data(&mut out, StreamId::new(1), b"lo", true);
        let head = block(&[(":status", "204"), ("x-a", "b")]);
        encode_headers(&mut out, StreamId::new(5), &head, true, 4);
        let head = block(&[(":status", "200")]);
        encode_headers(&mut out, StreamId::new(3), &head, false, 16_384);
        let trailers = block(&[("x-sum", "1")]);
        encode_headers(&mut out, StreamId::new(3), &trailers, true, 16_384);
        out
    }

    #[test]
    fn conversation_events() {
        let (events, error) = session_events(&conversation(), &[]);
        assert_eq!(error, None);
        assert_eq!(events.len(), 7, "{events:#?}");
        assert!(events[6].starts_with("Trailers { stream: StreamId(3)"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Fuzz finding (h2_session): a bad PRIORITY on a stream that had ended
    /// but whose DATA the caller had not yet released was a stream error,
    /// and after the release it was ignored; the outcome must not depend on
    /// when the caller releases.
    #[test]
    fn regression_closed_stream_with_unreleased_data() {
        let input = hex(
            "0700000604000000000000030000000a000004010400000001885c0133000006003f000000010268656c\
             00000000000201000000016c6f00000101050000000589000001010400000003008809000105000000\
             034005782d73756d0135000008060000000000000807ffffffffffff0ed10100000000",
        );
        let (first, input) = input.split_first().unwrap();
        let whole = session_events(input, &[]);
        let split = usize::from(*first);
        assert_eq!(session_events(input, &[split, split * 7]), whole);
        assert!(!whole.0.iter().any(|e| e.contains("PRIORITY")), "{whole:?}");
    }

    /// The fuzz targets' checks, run over systematic mutations of a valid
    /// conversation: no panic, and the split points never change the
    /// outcome.
    #[test]
    fn mutations_are_split_invariant() {
        let base = conversation();
        let bytes = [0u8, 1, 4, 8, 0x7f, 0x80, 0xbf, 0xff];
        for i in 0..base.len() {
            let mut variants = vec![base[..i].to_vec()];
            for b in bytes {
                let mut replaced = base.clone();
                replaced[i] = b;
                variants.push(replaced);
                let mut inserted = base.clone();
                inserted.insert(i, b);
                variants.push(inserted);
            }
            for input in &variants {
                let whole = session_events(input, &[]);
                assert_eq!(
                    session_events(input, &[i, input.len() / 2]),
                    whole,
                    "mutation at {i}"
                );
                let _ = decode_frames(input, 16_384);
                if let Ok((first, second)) = hpack_round_trip(input) {
                    assert_eq!(first, second);
                }
            }
        }
    }
}
