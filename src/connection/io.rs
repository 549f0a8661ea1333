//! Moving bytes between a [`Transport`] and buffers: the one vectored write
//! loop (request heads and bodies, `CONNECT`), and the zero-copy read of a
//! known-length body straight into its buffer.

use std::io::{self, IoSlice, Read};

use super::Transport;
use crate::completion::Counters;

/// The first reservation of a known-length body: what one read of the
/// reactor's scratch buffer would take. The body grows from there as bytes
/// arrive, never past the announced length, so a large `Content-Length`
/// reserves nothing before its bytes come.
const FIRST_RESERVE: usize = 64 * 1024;
/// Each time the body buffer is full it grows to this many times what has
/// arrived. Growing moves the bytes (the allocator's realloc), so a larger
/// factor copies less (a third of the body, where doubling copies all of
/// it), while the buffer never holds more than this times what arrived.
const GROWTH: usize = 4;

/// Writes `head` then `body`, from `written` bytes into them on, with one
/// vectored write per call, until all is sent (`Ok(true)`) or the socket
/// would block (`Ok(false)`).
pub(super) fn write_until_blocked(
    transport: &mut Transport,
    head: &[u8],
    body: &[u8],
    written: &mut usize,
    counters: &mut Counters,
) -> io::Result<bool> {
    while *written < head.len() + body.len() {
        let (head_rest, body_rest) = match head.get(*written..) {
            Some(head_rest) => (head_rest, body),
            None => (
                &[][..],
                body.get(*written - head.len()..).unwrap_or_default(),
            ),
        };
        match transport.write_vectored(&[IoSlice::new(head_rest), IoSlice::new(body_rest)]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                *written += n;
                counters.bytes_sent += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads until the socket would block: true when nothing came and the
/// stream is still open; false on EOF (the server closed), bytes nobody
/// asked for, or an error. Any of those means the connection cannot carry
/// another request. Reading until `WouldBlock` is also what mio asks before
/// waiting for the next readiness event.
pub(super) fn quiet(transport: &mut Transport, scratch: &mut [u8]) -> bool {
    loop {
        match transport.read(scratch) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(_) | Err(_) => return false,
        }
    }
}

/// Reads up to `remaining` body bytes straight into the spare capacity of
/// `body` (no scratch buffer, no copy), growing it by what arrives. Returns
/// how many bytes arrived, and the error that stopped the reading, if it was
/// not `WouldBlock`; `(0, Ok(()))` is end of stream.
pub(super) fn read_body_direct(
    transport: &mut Transport,
    body: &mut Vec<u8>,
    remaining: u64,
) -> (usize, io::Result<()>) {
    let start = body.len();
    let mut left = remaining;
    loop {
        if body.capacity() == body.len() {
            // GROWTH times what has arrived (at least FIRST_RESERVE more),
            // never past what is announced.
            let more = body.len().saturating_mul(GROWTH - 1).max(FIRST_RESERVE);
            let grow = u64::try_from(more).unwrap_or(u64::MAX);
            body.reserve_exact(usize::try_from(grow.min(left)).unwrap_or(0));
        }
        let room = u64::try_from(body.capacity() - body.len()).unwrap_or(u64::MAX);
        let chunk = room.min(left);
        let before = body.len();
        // `take` stops at the spare capacity, so `read_to_end` never grows
        // the buffer itself (nor probes with an extra read).
        let result = transport.by_ref().take(chunk).read_to_end(body);
        let n = (body.len() - before) as u64;
        left -= n;
        let total = body.len() - start;
        match result {
            Ok(_) if n == chunk && left > 0 => {}
            Ok(_) => return (total, Ok(())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => {
                return (total, Ok(()));
            }
            Err(e) => return (total, Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::Connector;
    use crate::stream::fake::{FakeNet, ReadOp};

    fn transport() -> (Transport, crate::stream::fake::FakePeer) {
        let mut net = FakeNet::default();
        let stream = net.connect("10.0.0.1:80".parse().unwrap()).unwrap();
        (Transport::Plain(stream), net.last_peer().unwrap())
    }

    #[test]
    fn a_large_content_length_reserves_by_what_arrives() {
        let (mut t, peer) = transport();
        peer.send(b"0123456789");
        let mut body = Vec::new();
        assert_eq!(read_body_direct(&mut t, &mut body, 8 << 20).0, 10);
        assert_eq!(body, b"0123456789");
        assert!(body.capacity() <= FIRST_RESERVE, "{}", body.capacity());
    }

    #[test]
    fn a_body_grows_geometrically_and_stops_at_its_length() {
        let (mut t, peer) = transport();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        for piece in data.chunks(10_000) {
            peer.send(piece);
        }
        peer.send(b"next response");
        let mut body = Vec::new();
        let (n, result) = read_body_direct(&mut t, &mut body, data.len() as u64);
        assert!(result.is_ok());
        assert_eq!(n, data.len());
        assert_eq!(body, data);
        assert!(
            body.capacity() <= data.len(),
            "never past the length: {}",
            body.capacity()
        );
        // The bytes after the body are left for whoever reads next.
        let mut rest = [0; 32];
        assert_eq!(t.read(&mut rest).unwrap(), 13);
    }

    #[test]
    fn would_block_interrupted_errors_and_eof_are_reported() {
        let (mut t, peer) = transport();
        let mut body = Vec::new();
        let (n, result) = read_body_direct(&mut t, &mut body, 100);
        assert_eq!(n, 0);
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        peer.send(b"abc");
        peer.op(ReadOp::Interrupted);
        peer.send(b"de");
        peer.op(ReadOp::Error(io::ErrorKind::ConnectionReset));
        let (n, result) = read_body_direct(&mut t, &mut body, 100);
        assert_eq!(
            (n, result.unwrap_err().kind()),
            (5, io::ErrorKind::ConnectionReset)
        );
        peer.close();
        assert_eq!(read_body_direct(&mut t, &mut body, 100).0, 0);
        assert_eq!(body, b"abcde");
    }
}
