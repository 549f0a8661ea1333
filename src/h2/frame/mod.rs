//! The HTTP/2 frame layer (RFC 9113 §4 and §6): the 9-byte frame head,
//! every frame type, strict validation, and encoders.
//!
//! Decoding borrows from the input: a DATA frame's payload is a slice of
//! the bytes handed in, never a copy. [`decode`] validates everything that
//! can be checked from one frame alone (lengths per type, stream 0 rules,
//! padding, SETTINGS values, the maximum frame size), in the spirit of
//! golang/net's `http2/frame.go`; rules that need the connection's state
//! (stream states, windows, CONTINUATION sequencing) are the session's.

mod encode;
mod settings;

pub use encode::*;
pub use settings::{SettingId, SettingsParams};

use super::StreamId;
use super::error::{ErrorCode, H2Error, Violation};

/// Length of the frame head (RFC 9113 §4.1), in bytes.
pub const HEAD_LEN: usize = 9;
/// The smallest SETTINGS_MAX_FRAME_SIZE, and the initial one (§6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// The largest SETTINGS_MAX_FRAME_SIZE allowed (§6.5.2): 2^24−1.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// END_STREAM (DATA, HEADERS).
pub const FLAG_END_STREAM: u8 = 0x1;
/// ACK (SETTINGS, PING).
pub const FLAG_ACK: u8 = 0x1;
/// END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION).
pub const FLAG_END_HEADERS: u8 = 0x4;
/// PADDED (DATA, HEADERS, PUSH_PROMISE).
pub const FLAG_PADDED: u8 = 0x8;
/// PRIORITY (HEADERS).
pub const FLAG_PRIORITY: u8 = 0x20;

/// A frame type (RFC 9113 §6, §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// 0x0
    Data,
    /// 0x1
    Headers,
    /// 0x2
    Priority,
    /// 0x3
    RstStream,
    /// 0x4
    Settings,
    /// 0x5
    PushPromise,
    /// 0x6
    Ping,
    /// 0x7
    GoAway,
    /// 0x8
    WindowUpdate,
    /// 0x9
    Continuation,
    /// Any other type: ignored (§4.1, §5.5).
    Unknown(u8),
}

impl FrameType {
    /// The type for a type octet.
    pub fn from_u8(byte: u8) -> FrameType {
        match byte {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The type octet.
    pub fn to_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(other) => other,
        }
    }

    /// The RFC's name: `DATA`, `HEADERS`, ..., or `unknown` for others.
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::Unknown(_) => "unknown",
        }
    }
}

/// The 9-byte frame head (RFC 9113 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Payload length, in bytes (24 bits).
    pub len: u32,
    /// Frame type.
    pub kind: FrameType,
    /// Flags octet, as sent (unknown flags are ignored, §4.1).
    pub flags: u8,
    /// Stream identifier, the reserved bit cleared.
    pub stream: StreamId,
}

impl Head {
    /// Reads a head from the first 9 bytes of `input`; `None` if shorter.
    pub fn parse(input: &[u8]) -> Option<Head> {
        let bytes: &[u8; HEAD_LEN] = input.get(..HEAD_LEN)?.try_into().ok()?;
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        Some(Head {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_u8(kind),
            flags,
            stream: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff),
        })
    }

    /// Whether `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// A decoded frame, borrowing its payload from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA (§6.1), padding removed.
    Data {
        /// The stream.
        stream: StreamId,
        /// The data, without padding.
        data: &'a [u8],
        /// END_STREAM.
        end_stream: bool,
        /// The whole payload length, padding included: what flow control
        /// counts (§6.9).
        flow_len: u32,
    },
    /// HEADERS (§6.2), padding and priority fields removed.
    Headers {
        /// The stream.
        stream: StreamId,
        /// The header block fragment.
        fragment: &'a [u8],
        /// END_STREAM.
        end_stream: bool,
        /// END_HEADERS: no CONTINUATION follows.
        end_headers: bool,
    },
    /// PRIORITY (§6.3): deprecated, parsed and ignored.
    Priority {
        /// The stream.
        stream: StreamId,
    },
    /// RST_STREAM (§6.4).
    RstStream {
        /// The stream.
        stream: StreamId,
        /// Why.
        code: ErrorCode,
    },
    /// SETTINGS (§6.5).
    Settings {
        /// ACK: acknowledges our SETTINGS; carries no parameters.
        ack: bool,
        /// The parameters, validated.
        params: SettingsParams<'a>,
    },
    /// PUSH_PROMISE (§6.6), padding removed.
    PushPromise {
        /// The stream it is associated with.
        stream: StreamId,
        /// The stream it reserves.
        promised: StreamId,
        /// The header block fragment.
        fragment: &'a [u8],
        /// END_HEADERS.
        end_headers: bool,
    },
    /// PING (§6.7).
    Ping {
        /// ACK: an answer to our PING.
        ack: bool,
        /// The opaque 8 bytes.
        payload: [u8; 8],
    },
    /// GOAWAY (§6.8).
    GoAway {
        /// The highest stream the server may have processed.
        last_stream_id: StreamId,
        /// Why.
        code: ErrorCode,
        /// Opaque diagnostic bytes.
        debug_data: &'a [u8],
    },
    /// WINDOW_UPDATE (§6.9); stream 0 is the connection.
    WindowUpdate {
        /// The stream, or 0 for the connection.
        stream: StreamId,
        /// The increment, 1..=2^31−1.
        increment: u32,
    },
    /// CONTINUATION (§6.10).
    Continuation {
        /// The stream.
        stream: StreamId,
        /// The header block fragment.
        fragment: &'a [u8],
        /// END_HEADERS.
        end_headers: bool,
    },
    /// A frame of an unknown type: to be ignored (§5.5).
    Unknown {
        /// The type octet.
        kind: u8,
        /// The stream.
        stream: StreamId,
    },
}

/// Result of [`decode`]: a whole frame and the bytes it used, or the need
/// for more input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// More bytes are needed for the frame that starts the input.
    Partial,
    /// One frame and `input_used`, the bytes it took (head included).
    Complete(Frame<'a>, usize),
}

/// Decodes the frame at the start of `input`, accepting payloads up to
/// `max_frame_size` bytes (our SETTINGS_MAX_FRAME_SIZE).
///
/// The size check needs only the head, so a frame too large is rejected
/// before its payload arrives.
///
/// # Errors
///
/// A [`H2Error`] naming the code RFC 9113 §6 gives for the rule broken;
/// stream errors carry the stream.
pub fn decode(input: &[u8], max_frame_size: u32) -> Result<Decoded<'_>, H2Error> {
    let Some(head) = Head::parse(input) else {
        return Ok(Decoded::Partial);
    };
    check_size(&head, max_frame_size)?;
    let end = HEAD_LEN + head.len as usize;
    let Some(payload) = input.get(HEAD_LEN..end) else {
        return Ok(Decoded::Partial);
    };
    Ok(Decoded::Complete(parse_payload(&head, payload)?, end))
}

/// Rejects a frame larger than `max_frame_size` (§4.2): a connection
/// error of type FRAME_SIZE_ERROR.
pub fn check_size(head: &Head, max_frame_size: u32) -> Result<(), H2Error> {
    if head.len > max_frame_size {
        return Err(H2Error::conn(Violation::FrameTooLarge {
            frame: head.kind.name(),
            len: head.len,
            max: max_frame_size,
        }));
    }
    Ok(())
}

/// Decodes a payload of exactly `head.len` bytes for `head`.
///
/// # Errors
///
/// As [`decode`].
pub fn parse_payload<'a>(head: &Head, payload: &'a [u8]) -> Result<Frame<'a>, H2Error> {
    let stream = head.stream;
    let name = head.kind.name();
    let len = head.len;
    let conn = |what| Err(H2Error::conn(what));
    let bad_len = |expected| {
        H2Error::conn(Violation::BadFrameLength {
            frame: name,
            len,
            expected,
        })
    };
    let need_stream = || {
        if stream.get() == 0 {
            Err(H2Error::conn(Violation::StreamZero { frame: name }))
        } else {
            Ok(())
        }
    };
    let need_zero = || {
        if stream.get() != 0 {
            Err(H2Error::conn(Violation::NotStreamZero {
                frame: name,
                stream,
            }))
        } else {
            Ok(())
        }
    };
    match head.kind {
        FrameType::Data => {
            need_stream()?;
            let data = unpad(head, payload)?;
            Ok(Frame::Data {
                stream,
                data,
                end_stream: head.has(FLAG_END_STREAM),
                flow_len: len,
            })
        }
        FrameType::Headers => {
            need_stream()?;
            let mut fragment = unpad(head, payload)?;
            if head.has(FLAG_PRIORITY) {
                // Exclusive bit, stream dependency and weight: ignored
                // (§5.3.2 deprecates the scheme).
                fragment = fragment
                    .get(5..)
                    .ok_or(H2Error::conn(Violation::BadFrameLength {
                        frame: name,
                        len,
                        expected: "at least 5 bytes plus padding with PRIORITY",
                    }))?;
            }
            Ok(Frame::Headers {
                stream,
                fragment,
                end_stream: head.has(FLAG_END_STREAM),
                end_headers: head.has(FLAG_END_HEADERS),
            })
        }
        FrameType::Priority => {
            need_stream()?;
            if len != 5 {
                // §6.3: a stream error.
                return Err(H2Error::stream_err(
                    stream,
                    Violation::BadFrameLength {
                        frame: name,
                        len,
                        expected: "5 bytes",
                    },
                ));
            }
            Ok(Frame::Priority { stream })
        }
        FrameType::RstStream => {
            need_stream()?;
            let code: [u8; 4] = payload.try_into().map_err(|_| bad_len("4 bytes"))?;
            Ok(Frame::RstStream {
                stream,
                code: ErrorCode(u32::from_be_bytes(code)),
            })
        }
        FrameType::Settings => {
            need_zero()?;
            let ack = head.has(FLAG_ACK);
            if ack && len != 0 {
                return Err(bad_len("empty in a SETTINGS acknowledgement"));
            }
            if len % 6 != 0 {
                return Err(bad_len("a multiple of 6 bytes"));
            }
            let params = SettingsParams::new(payload)?;
            Ok(Frame::Settings { ack, params })
        }
        FrameType::PushPromise => {
            need_stream()?;
            let rest = unpad(head, payload)?;
            let (promised, fragment) = match rest.split_first_chunk::<4>() {
                Some((promised, fragment)) => (*promised, fragment),
                None => return Err(bad_len("at least 4 bytes plus padding")),
            };
            Ok(Frame::PushPromise {
                stream,
                promised: StreamId::new(u32::from_be_bytes(promised) & 0x7fff_ffff),
                fragment,
                end_headers: head.has(FLAG_END_HEADERS),
            })
        }
        FrameType::Ping => {
            need_zero()?;
            let payload: [u8; 8] = payload.try_into().map_err(|_| bad_len("8 bytes"))?;
            Ok(Frame::Ping {
                ack: head.has(FLAG_ACK),
                payload,
            })
        }
        FrameType::GoAway => {
            need_zero()?;
            let Some((fixed, debug_data)) = payload.split_first_chunk::<8>() else {
                return Err(bad_len("at least 8 bytes"));
            };
            let [l0, l1, l2, l3, c0, c1, c2, c3] = *fixed;
            Ok(Frame::GoAway {
                last_stream_id: StreamId::new(u32::from_be_bytes([l0, l1, l2, l3]) & 0x7fff_ffff),
                code: ErrorCode(u32::from_be_bytes([c0, c1, c2, c3])),
                debug_data,
            })
        }
        FrameType::WindowUpdate => {
            let bytes: [u8; 4] = payload.try_into().map_err(|_| bad_len("4 bytes"))?;
            let increment = u32::from_be_bytes(bytes) & 0x7fff_ffff;
            if increment == 0 {
                // §6.9: a stream error on a stream, else a connection error.
                return if stream.get() == 0 {
                    conn(Violation::ZeroWindowIncrement)
                } else {
                    Err(H2Error::stream_err(stream, Violation::ZeroWindowIncrement))
                };
            }
            Ok(Frame::WindowUpdate { stream, increment })
        }
        FrameType::Continuation => {
            need_stream()?;
            Ok(Frame::Continuation {
                stream,
                fragment: payload,
                end_headers: head.has(FLAG_END_HEADERS),
            })
        }
        FrameType::Unknown(kind) => Ok(Frame::Unknown { kind, stream }),
    }
}

/// Strips the padding of a DATA, HEADERS or PUSH_PROMISE payload (§6.1):
/// a connection error of type PROTOCOL_ERROR when the padding does not fit.
fn unpad<'a>(head: &Head, payload: &'a [u8]) -> Result<&'a [u8], H2Error> {
    if !head.has(FLAG_PADDED) {
        return Ok(payload);
    }
    let too_long = |pad| {
        H2Error::conn(Violation::PaddingTooLong {
            frame: head.kind.name(),
            pad,
            len: head.len,
        })
    };
    let Some((&pad, rest)) = payload.split_first() else {
        return Err(too_long(0));
    };
    let keep = rest
        .len()
        .checked_sub(usize::from(pad))
        .ok_or_else(|| too_long(pad))?;
    rest.get(..keep).ok_or_else(|| too_long(pad))
}

#[cfg(test)]
mod tests;
