//! [`Transport`]: the byte stream a connection talks HTTP over, so the
//! connection's states need not care whether it is plain TCP or (with the
//! `tls` feature) TLS on top of it.

use std::io::{self, IoSlice, Read, Write};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// An established stream to a server.
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
}

impl Read for Transport {
    /// Reads application bytes; `WouldBlock` when none are ready.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.read(buf),
        }
    }
}

impl Transport {
    /// Writes application bytes from several buffers in one call.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(socket) => socket.write_vectored(bufs),
        }
    }

    /// The readiness to wait for when the connection itself wants `want`
    /// (TLS may need to write while the connection waits to read).
    pub(crate) fn interest(&self, want: Interest) -> Interest {
        match self {
            Transport::Plain(_) => want,
        }
    }

    /// Registers the underlying socket, or changes its interest.
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        first: bool,
    ) -> io::Result<()> {
        let socket = self.socket();
        if first {
            registry.register(socket, token, interest)
        } else {
            registry.reregister(socket, token, interest)
        }
    }

    /// Deregisters the socket before it is dropped.
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        // Deregistering a socket about to be closed cannot usefully fail.
        let _ = registry.deregister(self.socket());
    }

    fn socket(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(socket) => socket,
        }
    }
}
