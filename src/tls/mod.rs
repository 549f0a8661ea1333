//! HTTPS: rustls's sans-IO `ClientConnection` over a non-blocking mio socket
//! (the `tls` feature).
//!
//! rustls does no I/O itself. Bytes from the socket go in through `read_tls`
//! and `process_new_packets`, plaintext comes out of `reader()`; plaintext
//! goes in through `writer()` and TLS records come out through `write_tls`:
//!
//! ```text
//!            read_tls ─▶ process_new_packets ─▶ reader()  ─▶ h1
//!  socket                  ClientConnection
//!           ◀─ write_tls ◀──────────────────── writer()  ◀─ h1
//! ```
//!
//! [`TlsStream`] does those steps until the socket says `WouldBlock`, so the
//! connection's states read and write plaintext as they would on plain TCP,
//! and the mio interest is derived from `wants_read()` / `wants_write()` each
//! time the connection waits, as in rustls's `tlsclient-mio` example.
//!
//! A peer that closes TCP without `close_notify` shows up as an ordinary end
//! of stream: the HTTP/1.1 reader then decides, so a framed body that stops
//! short is a truncation error, while a close-delimited body ends there (many
//! servers never send `close_notify`).

mod describe;

use std::io::{self, IoSlice, Read, Write};
use std::sync::{Arc, OnceLock};

use crate::stream::Stream;
use mio::Interest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Error as TlsError, RootCertStore};

/// The trust anchors a client verifies servers against.
#[derive(Debug, Clone)]
pub(crate) struct Roots {
    /// Mozilla's root program, from webpki-roots.
    pub built_in: bool,
    /// Added by the user (DER), for private CAs and tests.
    pub extra: Vec<CertificateDer<'static>>,
    /// Accept any certificate for any name (curl's `-k`): no verification
    /// against the roots at all (`ClientBuilder::danger_accept_invalid_certs`).
    pub accept_invalid: bool,
}

impl Default for Roots {
    fn default() -> Roots {
        Roots {
            built_in: true,
            extra: Vec::new(),
            accept_invalid: false,
        }
    }
}

impl Roots {
    /// True when nothing was changed from the defaults.
    pub(crate) fn is_default(&self) -> bool {
        self.built_in && self.extra.is_empty() && !self.accept_invalid
    }

    /// Adds every certificate of a PEM bundle; the error says why none could
    /// be taken.
    pub(crate) fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                format!(
                    "root certificate PEM is not valid: {}",
                    describe::pem_error(&e)
                )
            })?;
            self.extra.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err("root certificate PEM holds no certificate".to_owned());
        }
        Ok(())
    }
}

/// The rustls configuration for `roots`: the `ring` provider, TLS 1.2 and
/// 1.3, certificate and name verification on, and ALPN offering `h2` then
/// `http/1.1` (with `http2`) or `http/1.1` alone: the server's choice
/// decides (RFC 7301; RFC 9113 §3.2).
pub(crate) fn client_config(roots: &Roots, http2: bool) -> Result<Arc<ClientConfig>, String> {
    let mut store = RootCertStore::empty();
    if roots.built_in {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (i, cert) in roots.extra.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| {
            format!(
                "root certificate {} is not usable: {}",
                i + 1,
                describe::root_error(&e)
            )
        })?;
    }
    if store.is_empty() && !roots.accept_invalid {
        return Err("no root certificates: built-in roots are off and none were added".to_owned());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| describe(&e, ""))?;
    let mut config = if roots.accept_invalid {
        versions
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        versions.with_root_certificates(store).with_no_client_auth()
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The verifier of `danger_accept_invalid_certs(true)`: any certificate
/// chain is taken for any server name, expired, self-signed or issued by
/// anyone (curl's `--insecure`, reqwest's method of the same name).
///
/// The handshake signature is still checked against the key of the
/// certificate the server sent, as curl (OpenSSL) does with
/// `--insecure`: the server must at least hold the key it presents, which
/// costs nothing and keeps a broken handshake from passing.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, TlsError> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The configuration of clients that changed no TLS setting, built once
/// for each ALPN list.
pub(crate) fn default_config(http2: bool) -> Result<Arc<ClientConfig>, String> {
    type Cached = OnceLock<Result<Arc<ClientConfig>, String>>;
    static H1_ONLY: Cached = OnceLock::new();
    static H2: Cached = OnceLock::new();
    let cell = if http2 { &H2 } else { &H1_ONLY };
    cell.get_or_init(|| client_config(&Roots::default(), http2))
        .clone()
}

/// A TLS client session on a non-blocking TCP socket.
#[derive(Debug)]
pub(crate) struct TlsStream {
    conn: ClientConnection,
    socket: Stream,
    /// The last [`read`](Read::read) read the socket, got fewer bytes than
    /// it asked for, and handed out every decrypted byte.
    drained: bool,
}

impl TlsStream {
    /// Starts a session with `host` (a DNS name for SNI and verification, or
    /// an IP address, checked against the certificate's IP names); nothing
    /// is sent until [`handshake`](Self::handshake). On failure the socket
    /// comes back, to be deregistered.
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        host: &str,
        socket: Stream,
    ) -> Result<TlsStream, (TlsError, Stream)> {
        // Origins keep IPv6 literals in brackets, as URLs write them.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let conn = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsError::General(format!("`{host}` is not a valid server name")))
            .and_then(|name| ClientConnection::new(config, name));
        match conn {
            Ok(conn) => Ok(TlsStream {
                conn,
                socket,
                drained: false,
            }),
            Err(error) => Err((error, socket)),
        }
    }

    /// Moves the handshake on as far as the socket allows: `Ok(true)` once
    /// it is complete, `Ok(false)` when it waits for the socket (see
    /// [`interest`](Self::interest)).
    ///
    /// # Errors
    ///
    /// I/O errors; a TLS failure is an `InvalidData` error wrapping the
    /// `rustls::Error` (see [`tls_error`]); the server closing the connection
    /// is `UnexpectedEof`.
    pub(crate) fn handshake(&mut self) -> io::Result<bool> {
        loop {
            self.flush()?;
            if !self.conn.is_handshaking() {
                return Ok(true);
            }
            if !self.conn.wants_read() {
                // Waiting for the socket to take our flight.
                return Ok(false);
            }
            match self.conn.read_tls(&mut self.socket) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Ok(_) => {
                    self.process()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The readiness to wait for. During the handshake it is whatever rustls
    /// wants; afterwards `want` (what the HTTP exchange waits for), plus
    /// writability while rustls holds records the socket did not take yet.
    pub(crate) fn interest(&self, want: Interest) -> Interest {
        let (read, write) = (self.conn.wants_read(), self.conn.wants_write());
        if self.conn.is_handshaking() {
            return match (read, write) {
                (true, true) => Interest::READABLE | Interest::WRITABLE,
                (false, true) => Interest::WRITABLE,
                _ => Interest::READABLE,
            };
        }
        if write {
            want | Interest::WRITABLE
        } else {
            want
        }
    }

    /// Encrypts application bytes and writes what the socket takes. Bytes
    /// rustls accepted count as written; records the socket did not take are
    /// sent on the next write, read or writable event.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.flush()?;
        let n = self.conn.writer().write_vectored(bufs)?;
        self.flush()?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            // rustls's send buffer is full and the socket takes no more.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// True when rustls holds decrypted bytes nobody has read.
    pub(crate) fn has_buffered_input(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .map_or(true, |state| state.plaintext_bytes_to_read() > 0)
    }

    /// Whether the last [`read`](Read::read) read the socket, got fewer
    /// bytes than it asked for, and handed out every decrypted byte: the
    /// socket had nothing more then (see `Transport::read_drained`).
    #[cfg(feature = "http2")]
    pub(crate) fn drained(&self) -> bool {
        self.drained
    }

    pub(crate) fn socket(&mut self) -> &mut Stream {
        &mut self.socket
    }

    /// Whether the server chose `h2` in ALPN (known once the handshake is
    /// done).
    #[cfg(feature = "http2")]
    pub(crate) fn negotiated_h2(&self) -> bool {
        self.conn.alpn_protocol() == Some(b"h2")
    }

    /// Hands what the TLS layer has received to rustls; on a TLS error, tries
    /// to send the alert rustls queued before giving up. True once the
    /// server's `close_notify` has come.
    fn process(&mut self) -> io::Result<bool> {
        match self.conn.process_new_packets() {
            // Post-handshake messages (a key update) may need an answer.
            Ok(state) => self.flush().map(|()| state.peer_has_closed()),
            Err(error) => {
                let _ = self.flush();
                Err(io::Error::new(io::ErrorKind::InvalidData, error))
            }
        }
    }

    /// Writes queued TLS records until done or `WouldBlock` (which is not an
    /// error here: the interest asks for writability while records wait).
    fn flush(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    /// Reads decrypted bytes; `WouldBlock` once rustls has none and the
    /// socket has nothing more. `Ok(0)` is the end of the stream, with or
    /// without `close_notify`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Whether this call read the socket, and got less than asked.
        let mut socket_short = false;
        self.drained = false;
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => {
                    self.drained = socket_short && n < buf.len();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // TCP ended without close_notify: let the HTTP framing decide
                // whether the response was complete.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            let mut socket = Measured {
                socket: &mut self.socket,
                short: false,
            };
            match self.conn.read_tls(&mut socket) {
                // Seen by rustls; `reader()` reports it once the records
                // before it have been read.
                // A close_notify among these records is an end of stream
                // still to be read: not drained, whatever the socket had.
                Ok(_) => {
                    let short = socket.short;
                    let closed = self.process()?;
                    socket_short = short && !closed;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flush()?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The socket as rustls reads it, noting whether a read got fewer bytes
/// than asked for (the socket was drained then).
struct Measured<'a> {
    socket: &'a mut Stream,
    short: bool,
}

impl Read for Measured<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.read(buf)?;
        self.short = n < buf.len();
        Ok(n)
    }
}

/// The rustls error inside an I/O error made by [`TlsStream`], if it is one.
pub(crate) fn tls_error(error: &io::Error) -> Option<&TlsError> {
    error.get_ref()?.downcast_ref::<TlsError>()
}

pub(crate) use describe::describe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_a_certificate_is_refused() {
        let mut roots = Roots::default();
        assert!(roots.add_pem(b"no pem here").is_err());
        assert!(roots.extra.is_empty());
    }

    #[test]
    fn a_root_that_is_no_certificate_is_refused_in_words() {
        let roots = Roots {
            built_in: false,
            extra: vec![CertificateDer::from(b"junk".to_vec())],
            accept_invalid: false,
        };
        assert_eq!(
            client_config(&roots, true).unwrap_err(),
            "root certificate 1 is not usable: it could not be parsed as an X.509 certificate"
        );
    }

    #[test]
    fn no_roots_at_all_is_an_error() {
        let roots = Roots {
            built_in: false,
            extra: Vec::new(),
            accept_invalid: false,
        };
        assert!(client_config(&roots, true).is_err());
        assert!(default_config(true).is_ok());
        assert!(default_config(false).is_ok());
        // Accepting any certificate needs no roots.
        let any = Roots {
            accept_invalid: true,
            ..roots
        };
        assert!(client_config(&any, true).is_ok());
    }
}
