//! Frame encoders: what a client sends, and (for tests and tools) every
//! other frame type. Each appends one or more whole frames to `out`.

use super::super::StreamId;
use super::super::error::ErrorCode;
use super::{
    FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PADDED, FrameType, HEAD_LEN, SettingId,
};

/// The client connection preface (RFC 9113 §3.4), sent before our SETTINGS.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Appends a frame head. `len` must fit in 24 bits and `stream` in 31;
/// callers split payloads by the peer's maximum frame size first.
pub fn encode_head(out: &mut Vec<u8>, len: usize, kind: FrameType, flags: u8, stream: StreamId) {
    debug_assert!(len < 1 << 24);
    let len = (len as u32).to_be_bytes();
    out.extend_from_slice(&[len[1], len[2], len[3], kind.to_u8(), flags]);
    out.extend_from_slice(&(stream.get() & 0x7fff_ffff).to_be_bytes());
}

/// DATA (§6.1) in one frame: `data` must fit the peer's maximum frame size.
pub fn encode_data(out: &mut Vec<u8>, stream: StreamId, data: &[u8], end_stream: bool) {
    let flags = if end_stream { FLAG_END_STREAM } else { 0 };
    out.reserve(HEAD_LEN + data.len());
    encode_head(out, data.len(), FrameType::Data, flags, stream);
    out.extend_from_slice(data);
}

/// A padded DATA or HEADERS frame (§6.1, §6.2): `pad` bytes of zero
/// padding after `payload`; `flags` gets PADDED added.
pub fn encode_padded(
    out: &mut Vec<u8>,
    kind: FrameType,
    flags: u8,
    stream: StreamId,
    payload: &[u8],
    pad: u8,
) {
    let len = 1 + payload.len() + usize::from(pad);
    encode_head(out, len, kind, flags | FLAG_PADDED, stream);
    out.push(pad);
    out.extend_from_slice(payload);
    out.resize(out.len() + usize::from(pad), 0);
}

/// A header block as HEADERS plus as many CONTINUATION frames as
/// `max_frame_size` requires (§4.3, §6.10).
pub fn encode_headers(
    out: &mut Vec<u8>,
    stream: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
) {
    let max = (max_frame_size as usize).max(1);
    let mut chunks = block.chunks(max);
    let first = chunks.next().unwrap_or_default();
    let mut rest = chunks.peekable();
    let mut flags = if end_stream { FLAG_END_STREAM } else { 0 };
    if rest.peek().is_none() {
        flags |= FLAG_END_HEADERS;
    }
    encode_head(out, first.len(), FrameType::Headers, flags, stream);
    out.extend_from_slice(first);
    while let Some(chunk) = rest.next() {
        let flags = if rest.peek().is_none() {
            FLAG_END_HEADERS
        } else {
            0
        };
        encode_head(out, chunk.len(), FrameType::Continuation, flags, stream);
        out.extend_from_slice(chunk);
    }
}

/// PRIORITY (§6.3): non-exclusive dependency on `depends_on` with `weight`.
pub fn encode_priority(out: &mut Vec<u8>, stream: StreamId, depends_on: StreamId, weight: u8) {
    encode_head(out, 5, FrameType::Priority, 0, stream);
    out.extend_from_slice(&depends_on.get().to_be_bytes());
    out.push(weight);
}

/// RST_STREAM (§6.4).
pub fn encode_rst_stream(out: &mut Vec<u8>, stream: StreamId, code: ErrorCode) {
    encode_head(out, 4, FrameType::RstStream, 0, stream);
    out.extend_from_slice(&code.0.to_be_bytes());
}

/// SETTINGS (§6.5) with `params` in order.
pub fn encode_settings(out: &mut Vec<u8>, params: &[(SettingId, u32)]) {
    encode_head(
        out,
        params.len() * 6,
        FrameType::Settings,
        0,
        StreamId::ZERO,
    );
    for &(id, value) in params {
        out.extend_from_slice(&id.to_u16().to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// The SETTINGS acknowledgement (§6.5.3).
pub fn encode_settings_ack(out: &mut Vec<u8>) {
    encode_head(out, 0, FrameType::Settings, FLAG_ACK, StreamId::ZERO);
}

/// PUSH_PROMISE (§6.6), one frame with END_HEADERS.
pub fn encode_push_promise(out: &mut Vec<u8>, stream: StreamId, promised: StreamId, block: &[u8]) {
    encode_head(
        out,
        4 + block.len(),
        FrameType::PushPromise,
        FLAG_END_HEADERS,
        stream,
    );
    out.extend_from_slice(&promised.get().to_be_bytes());
    out.extend_from_slice(block);
}

/// PING (§6.7), or its answer when `ack`.
pub fn encode_ping(out: &mut Vec<u8>, ack: bool, payload: [u8; 8]) {
    let flags = if ack { FLAG_ACK } else { 0 };
    encode_head(out, 8, FrameType::Ping, flags, StreamId::ZERO);
    out.extend_from_slice(&payload);
}

/// GOAWAY (§6.8).
pub fn encode_goaway(out: &mut Vec<u8>, last_stream_id: StreamId, code: ErrorCode, debug: &[u8]) {
    encode_head(out, 8 + debug.len(), FrameType::GoAway, 0, StreamId::ZERO);
    out.extend_from_slice(&last_stream_id.get().to_be_bytes());
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(debug);
}

/// WINDOW_UPDATE (§6.9); stream 0 for the connection.
pub fn encode_window_update(out: &mut Vec<u8>, stream: StreamId, increment: u32) {
    encode_head(out, 4, FrameType::WindowUpdate, 0, stream);
    out.extend_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

/// CONTINUATION (§6.10), one frame.
pub fn encode_continuation(
    out: &mut Vec<u8>,
    stream: StreamId,
    fragment: &[u8],
    end_headers: bool,
) {
    let flags = if end_headers { FLAG_END_HEADERS } else { 0 };
    encode_head(out, fragment.len(), FrameType::Continuation, flags, stream);
    out.extend_from_slice(fragment);
}
