//! [`Transport`]: what HTTP runs over on a connection, the [`Stream`]
//! itself or TLS on top of it, so the connection's states need not care
//! which.

use std::io::{self, IoSlice, Read, Write};

use mio::Interest;

use crate::stream::Stream;
#[cfg(feature = "tls")]
use crate::tls::TlsStream;

/// An established stream to a server, carrying HTTP.
#[derive(Debug)]
pub(crate) enum Transport {
    /// The stream itself.
    Plain(Stream),
    /// TLS over the stream; boxed, as the session state is large.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

impl Read for Transport {
    /// Reads application bytes; `WouldBlock` when none are ready.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
        }
    }
}

impl Transport {
    /// Reads application bytes as [`Read::read`] does, and says whether the
    /// socket is now known to be drained: this very call read it and got
    /// fewer bytes than it asked for, and (with TLS) every decrypted byte
    /// was handed out. Readiness is edge-triggered, so whatever arrives
    /// later is reported anew and the caller can wait for that instead of
    /// reading once more for `WouldBlock` (epoll(7), Q9; Netty and Tokio
    /// do the same).
    #[cfg(feature = "http2")]
    pub(crate) fn read_drained(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        match self {
            Transport::Plain(stream) => {
                let n = stream.read(buf)?;
                Ok((n, n > 0 && n < buf.len()))
            }
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                let n = tls.read(buf)?;
                Ok((n, n > 0 && tls.drained()))
            }
        }
    }

    /// Writes application bytes from several buffers in one call.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    /// The readiness to wait for when the connection itself wants `want`
    /// (TLS may need to write while the connection waits to read).
    pub(crate) fn interest(&self, want: Interest) -> Interest {
        match self {
            Transport::Plain(_) => want,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.interest(want),
        }
    }

    /// True when bytes have arrived that nobody has read yet (only TLS keeps
    /// any: decrypted bytes beyond what the last read asked for).
    pub(crate) fn has_buffered_input(&mut self) -> bool {
        match self {
            Transport::Plain(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.has_buffered_input(),
        }
    }

    /// Whether the server chose HTTP/2 in the TLS handshake's ALPN.
    #[cfg(feature = "http2")]
    pub(crate) fn negotiated_h2(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.negotiated_h2(),
        }
    }

    /// The stream under it.
    pub(crate) fn stream(&mut self) -> &mut Stream {
        match self {
            Transport::Plain(stream) => stream,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.socket(),
        }
    }
}
