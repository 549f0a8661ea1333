//! [`Stream`]: the socket under a connection (or, in unit tests, a scripted
//! fake peer), and the [`Connector`] that opens one. TLS (`tls.rs`) and
//! the connection's `Transport` sit on top.
//!
//! The fake variant exists only in `cfg(test)` builds, so in the library
//! every match here has a single arm and costs nothing.

use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

#[cfg(test)]
pub(crate) mod fake;

#[cfg(test)]
use fake::FakeStream;

/// Opens non-blocking TCP connections: the OS in the reactor, a script in
/// the in-memory tests. Issue 9's Happy Eyeballs keeps several of these in
/// flight at once in the connecting state.
pub(crate) trait Connector: Send {
    /// Starts a non-blocking connect to `addr` (finished when the stream
    /// becomes writable, see [`Stream::take_error`]).
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Stream>;
}

/// Connects through the operating system.
#[derive(Debug, Default)]
pub(crate) struct TcpConnector;

impl Connector for TcpConnector {
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Stream> {
        TcpStream::connect(addr).map(Stream::Tcp)
    }
}

/// A byte stream to a server (or a proxy): a socket.
#[derive(Debug)]
pub(crate) enum Stream {
    /// A mio TCP socket.
    Tcp(TcpStream),
    /// A scripted peer (unit tests only).
    #[cfg(test)]
    Fake(FakeStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(socket) => socket.read(buf),
            #[cfg(test)]
            Stream::Fake(fake) => fake.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(socket) => socket.write(buf),
            #[cfg(test)]
            Stream::Fake(fake) => fake.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(socket) => socket.write_vectored(bufs),
            #[cfg(test)]
            Stream::Fake(fake) => fake.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(socket) => socket.flush(),
            #[cfg(test)]
            Stream::Fake(_) => Ok(()),
        }
    }
}

impl Stream {
    /// The error of a failed non-blocking connect, if it failed.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Stream::Tcp(socket) => socket.take_error(),
            #[cfg(test)]
            Stream::Fake(fake) => fake.take_error(),
        }
    }

    /// The peer's address; `NotConnected` while a connect is in progress.
    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Stream::Tcp(socket) => socket.peer_addr(),
            #[cfg(test)]
            Stream::Fake(fake) => fake.peer_addr(),
        }
    }

    /// Turns Nagle's algorithm off: small requests must not wait.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(socket) => socket.set_nodelay(true),
            #[cfg(test)]
            Stream::Fake(_) => Ok(()),
        }
    }

    /// Registers the socket with the poller, or changes its interest.
    pub(crate) fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
        first: bool,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(socket) if first => registry.register(socket, token, interest),
            Stream::Tcp(socket) => registry.reregister(socket, token, interest),
            #[cfg(test)]
            Stream::Fake(_) => Ok(()),
        }
    }

    /// Deregisters the socket before it is dropped, so no event for it can
    /// reach whatever uses its slot next.
    pub(crate) fn deregister(&mut self, registry: &Registry) {
        match self {
            // Deregistering a socket about to be closed cannot usefully fail.
            Stream::Tcp(socket) => {
                let _ = registry.deregister(socket);
            }
            #[cfg(test)]
            Stream::Fake(_) => {}
        }
    }
}
