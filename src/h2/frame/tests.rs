use super::*;

fn id(n: u32) -> StreamId {
    StreamId::new(n)
}

fn one(bytes: &[u8]) -> Result<Frame<'_>, H2Error> {
    match decode(bytes, DEFAULT_MAX_FRAME_SIZE)? {
        Decoded::Complete(frame, used) => {
            assert_eq!(used, bytes.len(), "one whole frame");
            Ok(frame)
        }
        Decoded::Partial => panic!("partial: {bytes:02x?}"),
    }
}

fn conn_err(bytes: &[u8]) -> Violation {
    match one(bytes) {
        Err(H2Error::Connection { what }) => what,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

fn raw(len: usize, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_head(&mut out, len, FrameType::from_u8(kind), flags, id(stream));
    out.extend_from_slice(payload);
    out
}

/// Every frame type: encoded, decoded back, and every prefix is Partial.
#[test]
fn round_trips() {
    let mut cases: Vec<(Vec<u8>, Frame<'static>)> = Vec::new();
    let mut b = Vec::new();
    encode_data(&mut b, id(1), b"hello", true);
    cases.push((
        b,
        Frame::Data {
            stream: id(1),
            data: b"hello",
            end_stream: true,
            flow_len: 5,
        },
    ));
    let mut b = Vec::new();
    encode_padded(&mut b, FrameType::Data, 0, id(3), b"abc", 4);
    cases.push((
        b,
        Frame::Data {
            stream: id(3),
            data: b"abc",
            end_stream: false,
            flow_len: 8,
        },
    ));
    let mut b = Vec::new();
    encode_headers(&mut b, id(5), b"\x82\x86", true, DEFAULT_MAX_FRAME_SIZE);
    cases.push((
        b,
        Frame::Headers {
            stream: id(5),
            fragment: b"\x82\x86",
            end_stream: true,
            end_headers: true,
        },
    ));
    // HEADERS with PADDED and PRIORITY: both stripped.
    let mut b = Vec::new();
    encode_padded(
        &mut b,
        FrameType::Headers,
        FLAG_PRIORITY | FLAG_END_HEADERS,
        id(7),
        b"\x80\x00\x00\x03\x10\x88",
        2,
    );
    cases.push((
        b,
        Frame::Headers {
            stream: id(7),
            fragment: b"\x88",
            end_stream: false,
            end_headers: true,
        },
    ));
    let mut b = Vec::new();
    encode_priority(&mut b, id(9), id(1), 15);
    cases.push((b, Frame::Priority { stream: id(9) }));
    let mut b = Vec::new();
    encode_rst_stream(&mut b, id(1), ErrorCode::CANCEL);
    cases.push((
        b,
        Frame::RstStream {
            stream: id(1),
            code: ErrorCode::CANCEL,
        },
    ));
    let mut b = Vec::new();
    encode_settings(
        &mut b,
        &[
            (SettingId::EnablePush, 0),
            (SettingId::InitialWindowSize, 1 << 20),
            (SettingId::Unknown(0x99), 7),
        ],
    );
    let settings_payload = b[HEAD_LEN..].to_vec().leak();
    cases.push((
        b,
        Frame::Settings {
            ack: false,
            params: SettingsParams::new(settings_payload).unwrap(),
        },
    ));
    let mut b = Vec::new();
    encode_settings_ack(&mut b);
    cases.push((
        b,
        Frame::Settings {
            ack: true,
            params: SettingsParams::new(&[]).unwrap(),
        },
    ));
    let mut b = Vec::new();
    encode_push_promise(&mut b, id(1), id(2), b"\x82");
    cases.push((
        b,
        Frame::PushPromise {
            stream: id(1),
            promised: id(2),
            fragment: b"\x82",
            end_headers: true,
        },
    ));
    let mut b = Vec::new();
    encode_ping(&mut b, true, *b"12345678");
    cases.push((
        b,
        Frame::Ping {
            ack: true,
            payload: *b"12345678",
        },
    ));
    let mut b = Vec::new();
    encode_goaway(&mut b, id(11), ErrorCode::ENHANCE_YOUR_CALM, b"slow down");
    cases.push((
        b,
        Frame::GoAway {
            last_stream_id: id(11),
            code: ErrorCode::ENHANCE_YOUR_CALM,
            debug_data: b"slow down",
        },
    ));
    let mut b = Vec::new();
    encode_window_update(&mut b, id(0), 1000);
    cases.push((
        b,
        Frame::WindowUpdate {
            stream: id(0),
            increment: 1000,
        },
    ));
    let mut b = Vec::new();
    encode_continuation(&mut b, id(3), b"\x84", true);
    cases.push((
        b,
        Frame::Continuation {
            stream: id(3),
            fragment: b"\x84",
            end_headers: true,
        },
    ));
    cases.push((
        raw(3, 0xfa, 0xff, 5, b"xyz"),
        Frame::Unknown {
            kind: 0xfa,
            stream: id(5),
        },
    ));
    for (bytes, want) in &cases {
        assert_eq!(one(bytes).as_ref(), Ok(want), "{bytes:02x?}");
        for cut in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..cut], DEFAULT_MAX_FRAME_SIZE),
                Ok(Decoded::Partial)
            );
        }
    }
    // All of them back to back, then split at every offset: the frames
    // before the cut decode, the rest is partial.
    let all: Vec<u8> = cases.iter().flat_map(|(b, _)| b.clone()).collect();
    let mut at = 0;
    for (_, want) in &cases {
        match decode(&all[at..], DEFAULT_MAX_FRAME_SIZE) {
            Ok(Decoded::Complete(frame, used)) => {
                assert_eq!(&frame, want);
                at += used;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(at, all.len());
}

#[test]
fn head_fields() {
    let bytes = raw(0, 0x0, 0x1, 0x8000_0003, &[]);
    let head = Head::parse(&bytes).unwrap();
    // The reserved bit is ignored (§4.1).
    assert_eq!(head.stream, id(3));
    assert_eq!(head.kind, FrameType::Data);
    assert!(head.has(FLAG_END_STREAM));
    assert_eq!(Head::parse(&bytes[..8]), None);
    for kind in 0..=255u8 {
        assert_eq!(FrameType::from_u8(kind).to_u8(), kind);
    }
}

#[test]
fn encode_headers_splits_into_continuations() {
    let block: Vec<u8> = (0..40u8).collect();
    let mut out = Vec::new();
    encode_headers(&mut out, id(1), &block, true, 16);
    let mut at = 0;
    let mut got = Vec::new();
    let mut kinds = Vec::new();
    while at < out.len() {
        let Ok(Decoded::Complete(frame, used)) = decode(&out[at..], 16) else {
            panic!()
        };
        at += used;
        match frame {
            Frame::Headers {
                fragment,
                end_headers,
                end_stream,
                ..
            } => {
                kinds.push(("HEADERS", end_headers, end_stream));
                got.extend_from_slice(fragment);
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => {
                kinds.push(("CONTINUATION", end_headers, false));
                got.extend_from_slice(fragment);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, block);
    assert_eq!(
        kinds,
        [
            ("HEADERS", false, true),
            ("CONTINUATION", false, false),
            ("CONTINUATION", true, false)
        ]
    );
}

#[test]
fn frame_size_limit() {
    let big = raw(16_385, 0x0, 0, 1, &[]);
    // Rejected from the head alone, before the payload arrives.
    assert_eq!(
        decode(&big, DEFAULT_MAX_FRAME_SIZE),
        Err(H2Error::conn(Violation::FrameTooLarge {
            frame: "DATA",
            len: 16_385,
            max: 16_384
        }))
    );
    assert_eq!(decode(&big, 20_000), Ok(Decoded::Partial));
}

#[test]
fn validation_errors() {
    let zero = |frame| Violation::StreamZero { frame };
    let not_zero = |frame, n| Violation::NotStreamZero {
        frame,
        stream: id(n),
    };
    let len = |frame, len, expected| Violation::BadFrameLength {
        frame,
        len,
        expected,
    };
    let cases: Vec<(Vec<u8>, Violation)> = vec![
        (raw(1, 0x0, 0, 0, b"x"), zero("DATA")),
        (raw(1, 0x1, 4, 0, b"x"), zero("HEADERS")),
        (raw(4, 0x3, 0, 0, &[0; 4]), zero("RST_STREAM")),
        (raw(5, 0x2, 0, 0, &[0; 5]), zero("PRIORITY")),
        (raw(4, 0x5, 4, 0, &[0; 4]), zero("PUSH_PROMISE")),
        (raw(1, 0x9, 4, 0, b"x"), zero("CONTINUATION")),
        (raw(0, 0x4, 0, 1, &[]), not_zero("SETTINGS", 1)),
        (raw(8, 0x6, 0, 3, &[0; 8]), not_zero("PING", 3)),
        (raw(8, 0x7, 0, 5, &[0; 8]), not_zero("GOAWAY", 5)),
        (raw(3, 0x3, 0, 1, &[0; 3]), len("RST_STREAM", 3, "4 bytes")),
        (
            raw(6, 0x4, 1, 0, &[0, 1, 0, 0, 0, 0]),
            len("SETTINGS", 6, "empty in a SETTINGS acknowledgement"),
        ),
        (
            raw(5, 0x4, 0, 0, &[0; 5]),
            len("SETTINGS", 5, "a multiple of 6 bytes"),
        ),
        (raw(7, 0x6, 0, 0, &[0; 7]), len("PING", 7, "8 bytes")),
        (raw(9, 0x6, 0, 0, &[0; 9]), len("PING", 9, "8 bytes")),
        (
            raw(7, 0x7, 0, 0, &[0; 7]),
            len("GOAWAY", 7, "at least 8 bytes"),
        ),
        (
            raw(3, 0x8, 0, 0, &[0; 3]),
            len("WINDOW_UPDATE", 3, "4 bytes"),
        ),
        (
            raw(5, 0x8, 0, 1, &[0; 5]),
            len("WINDOW_UPDATE", 5, "4 bytes"),
        ),
        (
            raw(3, 0x5, 4, 1, &[0; 3]),
            len("PUSH_PROMISE", 3, "at least 4 bytes plus padding"),
        ),
        (
            raw(4, 0x1, FLAG_PRIORITY, 1, &[0; 4]),
            len("HEADERS", 4, "at least 5 bytes plus padding with PRIORITY"),
        ),
        (raw(4, 0x8, 0, 0, &[0; 4]), Violation::ZeroWindowIncrement),
        // Padding that does not fit: pad length 3 with 2 bytes after it.
        (
            raw(3, 0x0, FLAG_PADDED, 1, &[3, 0, 0]),
            Violation::PaddingTooLong {
                frame: "DATA",
                pad: 3,
                len: 3,
            },
        ),
        // PADDED with an empty payload: no room for the pad length.
        (
            raw(0, 0x1, FLAG_PADDED, 1, &[]),
            Violation::PaddingTooLong {
                frame: "HEADERS",
                pad: 0,
                len: 0,
            },
        ),
        (
            raw(6, 0x4, 0, 0, &[0, 2, 0, 0, 0, 2]),
            Violation::InvalidSetting {
                name: "SETTINGS_ENABLE_PUSH",
                value: 2,
            },
        ),
        (
            raw(6, 0x4, 0, 0, &[0, 4, 0x80, 0, 0, 0]),
            Violation::InitialWindowTooLarge(0x8000_0000),
        ),
        (
            raw(6, 0x4, 0, 0, &[0, 5, 0, 0, 0x3f, 0xff]),
            Violation::InvalidSetting {
                name: "SETTINGS_MAX_FRAME_SIZE",
                value: 16_383,
            },
        ),
        (
            raw(6, 0x4, 0, 0, &[0, 5, 1, 0, 0, 0]),
            Violation::InvalidSetting {
                name: "SETTINGS_MAX_FRAME_SIZE",
                value: 1 << 24,
            },
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(conn_err(&bytes), want, "{bytes:02x?}");
        assert_eq!(
            H2Error::conn(want.clone()).code(),
            want.code(),
            "code of {want:?}"
        );
    }
    // Stream errors: PRIORITY of the wrong length, WINDOW_UPDATE of 0 on a
    // stream.
    assert_eq!(
        one(&raw(4, 0x2, 0, 3, &[0; 4])),
        Err(H2Error::stream_err(id(3), len("PRIORITY", 4, "5 bytes")))
    );
    assert_eq!(
        one(&raw(4, 0x8, 0, 3, &[0x80, 0, 0, 0])),
        Err(H2Error::stream_err(id(3), Violation::ZeroWindowIncrement))
    );
    // Padding that exactly fills the payload is fine; so are unknown
    // flags and settings.
    assert_eq!(
        one(&raw(3, 0x0, FLAG_PADDED | 0xf0, 1, &[2, 0, 0])),
        Ok(Frame::Data {
            stream: id(1),
            data: b"",
            end_stream: false,
            flow_len: 3
        })
    );
    assert!(one(&raw(6, 0x4, 0, 0, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).is_ok());
}

#[test]
fn settings_iterate_in_order() {
    let payload = [
        0, 1, 0, 0, 0x10, 0, 0, 3, 0, 0, 0, 0x64, 0, 0x2a, 0, 0, 0, 1,
    ];
    let params = SettingsParams::new(&payload).unwrap();
    let got: Vec<_> = params.iter().collect();
    assert_eq!(
        got,
        [
            (SettingId::HeaderTableSize, 4096),
            (SettingId::MaxConcurrentStreams, 100),
            (SettingId::Unknown(0x2a), 1)
        ]
    );
    for code in 0..=7u16 {
        assert_eq!(SettingId::from_u16(code).to_u16(), code);
    }
}
