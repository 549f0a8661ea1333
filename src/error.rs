//! The crate's one error type: a matchable [`ErrorKind`], the URL it concerns,
//! and a message that says what happened and where.
//!
//! ```text
//! timeout after 5s connecting to 10.0.0.1:80 (http://x/)
//! └──────────── what and where ────────────┘ └─ URL ──┘
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::ProtocolError;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is. Match on it to decide what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL could not be parsed, has no host, or has a scheme other than
    /// `http` / `https`.
    InvalidUrl,
    /// The request could not be built: an invalid header name or value.
    InvalidRequest,
    /// The host name could not be resolved to any address.
    Dns,
    /// No TCP connection could be made to any resolved address.
    Connect,
    /// The TLS handshake failed, or the TLS session broke: the certificate is
    /// not trusted, has expired or is for another name, the server speaks no
    /// TLS version or cipher suite in common, or sent an alert. Also a TLS
    /// setting the builder could not use. The message says which in plain
    /// words, with the likely cause and the fix (never a TLS library's
    /// `Debug` text).
    Tls,
    /// A deadline passed: the connect timeout or the whole-request timeout.
    /// [`Error::timeout_phase`] says which phase was running.
    Timeout,
    /// The server's response is not valid HTTP/1.1 (see [`ProtocolError`]):
    /// malformed, or not HTTP at all (TLS, SSH, HTTP/0.9: reported as soon as
    /// the first bytes prove it); or the server closed the connection
    /// without any response ([`ProtocolError::EmptyReply`], "empty reply").
    /// An empty reply is a protocol error rather than a
    /// [`Connect`](ErrorKind::Connect) one on purpose: the connection was up
    /// and the request delivered, so the server may have acted on it, where a
    /// connect error promises that no request left. Over HTTP/2: the server
    /// broke a rule of RFC 9113 (a malformed frame, a header block that does
    /// not decode, a flow-control violation, an illegal header, a stream
    /// reset before the response head); the message names the HTTP/2 error
    /// code (`Error::http2_error_code`).
    Protocol,
    /// The connection ended after part of the response and before its end:
    /// closed, or broken by a reset (the message then says so: "body
    /// truncated: got 500 of 1000 bytes; connection reset by peer"). A reset
    /// before any response byte is an [`Io`](ErrorKind::Io) error. Over
    /// HTTP/2 also: the server reset the stream, or closed the connection,
    /// part-way through the response.
    Truncated,
    /// The response went over a configured limit (head size, header count,
    /// body size, the latter counted after content decoding).
    TooLarge,
    /// Redirects could not be followed: a loop, or more than
    /// [`max_redirects`](crate::ClientBuilder::max_redirects) in a row. The
    /// message names the chain of URLs. (A redirect without a usable
    /// `Location` is no error: the 3xx is returned, and
    /// [`Response::redirect_declined`](crate::Response::redirect_declined)
    /// says why.)
    Redirect,
    /// A compressed body (`Content-Encoding: gzip` or `deflate`, or a list
    /// of them) is corrupt or ends early; the message names the coding that
    /// failed.
    Decode,
    /// The proxy refused to open a tunnel (`CONNECT` answered with a status
    /// other than 2xx); connection failures to the proxy are
    /// [`Connect`](ErrorKind::Connect).
    Proxy,
    /// Any other I/O failure on an established connection, such as a reset
    /// before any response byte, or the operating system refusing a socket;
    /// also a body sink that failed (a file that cannot be written, a
    /// caller's writer returning an error), whose message names the sink.
    Io,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::InvalidUrl => "invalid URL",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::Dns => "DNS",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "TLS",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Truncated => "truncated",
            ErrorKind::TooLarge => "too large",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Decode => "decode",
            ErrorKind::Proxy => "proxy",
            ErrorKind::Io => "I/O",
        })
    }
}

/// The phase of a request that was running when a deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Resolving the host name.
    Resolve,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake (covered by the connect timeout too).
    TlsHandshake,
    /// Writing the request.
    SendRequest,
    /// Waiting for, or reading, the response head.
    ReadHead,
    /// Reading the response body.
    ReadBody,
    /// Waiting in a queue (for a connection, or for a turn at a paced
    /// origin) after an earlier attempt or redirect hop had started the
    /// request's deadline.
    Queued,
    /// Nothing arrived for the read-idle timeout
    /// ([`ClientBuilder::read_idle_timeout`](crate::ClientBuilder::read_idle_timeout)),
    /// while waiting for the response head or between body bytes.
    ReadIdle,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Resolve => "resolving",
            Phase::Connect => "connecting to",
            Phase::TlsHandshake => "in the TLS handshake with",
            Phase::SendRequest => "sending the request to",
            Phase::ReadHead => "waiting for the response from",
            Phase::ReadBody => "reading the response body from",
            Phase::Queued => "queued for",
            Phase::ReadIdle => "with nothing received from",
        })
    }
}

/// An error for one request. Other requests of the same batch are unaffected.
///
/// `Display` gives the full message: what happened, where, and the URL in
/// parentheses, e.g. `connect to 127.0.0.1:9 failed: Connection refused (os
/// error 111) (http://127.0.0.1:9/)`.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    url: Option<String>,
    reason: Reason,
    /// Attempts made under the retry policy (1 without retries).
    attempts: u32,
}

/// The detailed cause; private so that it can grow without breaking users.
#[derive(Debug)]
pub(crate) enum Reason {
    InvalidUrl {
        input: String,
        message: String,
    },
    UnsupportedScheme(String),
    /// An https URL in a build without the `tls` feature.
    #[cfg_attr(feature = "tls", allow(dead_code))]
    TlsOff,
    InvalidHeader(String),
    Dns {
        host: String,
        source: io::Error,
    },
    NoAddresses {
        host: String,
    },
    Connect {
        addr: SocketAddr,
        tried: usize,
        source: io::Error,
    },
    Timeout {
        phase: Phase,
        after: Duration,
        target: String,
    },
    Protocol {
        peer: Option<SocketAddr>,
        source: ProtocolError,
    },
    Io {
        peer: Option<SocketAddr>,
        during: Phase,
        source: io::Error,
    },
    /// The connection broke (`cause`: a reset, or another I/O error) after
    /// part of a response arrived; `source` says how much
    /// ([`ProtocolError::IncompleteHead`] or [`ProtocolError::IncompleteBody`]).
    CutOff {
        peer: Option<SocketAddr>,
        source: ProtocolError,
        cause: io::Error,
    },
    Socket {
        source: io::Error,
    },
    /// The TLS handshake or session failed; `message` says why.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls {
        peer: Option<SocketAddr>,
        handshake: bool,
        message: String,
    },
    /// A TLS setting (root certificates) that cannot be used.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    TlsConfig(String),
    /// A redirect loop (`looped`) or a chain longer than `limit`.
    Redirect {
        looped: bool,
        limit: u32,
        chain: Vec<String>,
    },
    /// A content coding that could not be decoded.
    Decode {
        coding: &'static str,
        message: String,
    },
    /// The proxy answered `CONNECT` with a non-2xx status line.
    ProxyRefused {
        proxy: String,
        status: String,
    },
    /// A body sink failed; `what` says doing what, with which sink
    /// ("writing the body to /dl/x.iso.part").
    Sink {
        what: String,
        source: io::Error,
    },
    /// A download's answer to a range request, or its final length, does
    /// not fit the file (RFC 9110 §14.4, §15.3.7).
    Range {
        peer: Option<SocketAddr>,
        message: String,
    },
    /// A request on an HTTP/2 stream failed.
    #[cfg(feature = "http2")]
    H2 {
        peer: Option<SocketAddr>,
        failure: crate::h2::error::StreamFailure,
    },
}

impl Reason {
    fn kind(&self) -> ErrorKind {
        match self {
            Reason::InvalidUrl { .. } | Reason::UnsupportedScheme(_) | Reason::TlsOff => {
                ErrorKind::InvalidUrl
            }
            Reason::InvalidHeader(_) => ErrorKind::InvalidRequest,
            Reason::Dns { .. } | Reason::NoAddresses { .. } => ErrorKind::Dns,
            Reason::Connect { .. } => ErrorKind::Connect,
            Reason::Tls { .. } | Reason::TlsConfig(_) => ErrorKind::Tls,
            Reason::Timeout { .. } => ErrorKind::Timeout,
            Reason::Protocol { source, .. } if source.is_too_large() => ErrorKind::TooLarge,
            Reason::Protocol { source, .. } if source.is_truncated() => ErrorKind::Truncated,
            Reason::Protocol { .. } => ErrorKind::Protocol,
            Reason::CutOff { .. } => ErrorKind::Truncated,
            Reason::Io { .. } | Reason::Socket { .. } | Reason::Sink { .. } => ErrorKind::Io,
            Reason::Range { .. } => ErrorKind::Protocol,
            Reason::Redirect { .. } => ErrorKind::Redirect,
            Reason::Decode { .. } => ErrorKind::Decode,
            Reason::ProxyRefused { .. } => ErrorKind::Proxy,
            #[cfg(feature = "http2")]
            Reason::H2 { failure, .. } if failure.is_too_large() => ErrorKind::TooLarge,
            #[cfg(feature = "http2")]
            Reason::H2 { failure, .. } if failure.is_truncated() => ErrorKind::Truncated,
            #[cfg(feature = "http2")]
            Reason::H2 { .. } => ErrorKind::Protocol,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InvalidUrl { input, message } => write!(f, "invalid URL `{input}`: {message}"),
            Reason::UnsupportedScheme(scheme) => {
                write!(
                    f,
                    "unsupported URL scheme `{scheme}` (expected http or https)"
                )
            }
            Reason::TlsOff => f.write_str(
                "https URLs need the `tls` feature of multifetch, which is off in this build",
            ),
            Reason::InvalidHeader(message) => write!(f, "invalid header: {message}"),
            Reason::Dns { host, source } => write!(f, "DNS lookup of {host} failed: {source}"),
            Reason::NoAddresses { host } => write!(f, "DNS lookup of {host} found no addresses"),
            Reason::Connect {
                addr,
                tried,
                source,
            } => {
                write!(f, "connect to {addr} failed: {source}")?;
                if *tried > 1 {
                    write!(f, " ({tried} addresses tried)")?;
                }
                Ok(())
            }
            Reason::Timeout {
                phase,
                after,
                target,
            } => {
                write!(
                    f,
                    "timeout after {} {phase} {target}",
                    DisplayDuration(*after)
                )
            }
            Reason::Protocol {
                peer: Some(peer),
                source,
            } => write!(f, "{source} from {peer}"),
            Reason::Protocol { peer: None, source } => write!(f, "{source}"),
            Reason::CutOff {
                peer,
                source,
                cause,
            } => {
                write!(f, "{source}; {}", ConnectionEnd(cause))?;
                match peer {
                    Some(peer) => write!(f, " from {peer}"),
                    None => Ok(()),
                }
            }
            Reason::Io {
                peer,
                during,
                source,
            } => {
                let action = match during {
                    Phase::SendRequest => "writing to",
                    Phase::TlsHandshake => "in the TLS handshake with",
                    _ => "reading from",
                };
                match peer {
                    Some(peer) => write!(f, "I/O error {action} {peer}: {source}"),
                    None => write!(f, "I/O error: {source}"),
                }
            }
            Reason::Socket { source } => write!(f, "could not open a socket: {source}"),
            Reason::Tls {
                peer,
                handshake,
                message,
            } => match (peer, handshake) {
                (Some(peer), true) => write!(f, "TLS handshake with {peer} failed: {message}"),
                (Some(peer), false) => write!(f, "TLS error from {peer}: {message}"),
                (None, _) => write!(f, "TLS error: {message}"),
            },
            Reason::TlsConfig(message) => write!(f, "TLS setup failed: {message}"),
            Reason::Redirect {
                looped,
                limit,
                chain,
            } => {
                if *looped {
                    write!(f, "redirect loop: ")?;
                } else {
                    write!(f, "too many redirects ({limit}): ")?;
                }
                write!(f, "{}", chain.join(" -> "))
            }
            Reason::Decode { coding, message } => {
                write!(f, "could not decode {coding} body: {message}")
            }
            Reason::ProxyRefused { proxy, status } => {
                write!(f, "proxy {proxy} refused CONNECT: {status}")
            }
            Reason::Sink { what, source } => write!(f, "I/O error {what}: {source}"),
            Reason::Range {
                peer: Some(peer),
                message,
            } => write!(f, "{message} from {peer}"),
            Reason::Range {
                peer: None,
                message,
            } => f.write_str(message),
            #[cfg(feature = "http2")]
            Reason::H2 {
                peer: Some(peer),
                failure,
            } => write!(f, "{failure} from {peer}"),
            #[cfg(feature = "http2")]
            Reason::H2 {
                peer: None,
                failure,
            } => write!(f, "{failure}"),
        }
    }
}

/// Says in words how an I/O error ended a connection: "connection reset by
/// peer" rather than the OS's text with its error number.
struct ConnectionEnd<'a>(&'a io::Error);

impl fmt::Display for ConnectionEnd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.kind() {
            io::ErrorKind::ConnectionReset => f.write_str("connection reset by peer"),
            io::ErrorKind::ConnectionAborted => f.write_str("connection aborted"),
            io::ErrorKind::TimedOut => f.write_str("connection timed out"),
            io::ErrorKind::BrokenPipe => f.write_str("connection broken"),
            _ => write!(f, "connection failed: {}", self.0),
        }
    }
}

/// Formats a duration the way people write timeouts: `5s`, `250ms`, `1.5s`.
struct DisplayDuration(Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{}s", d.as_secs())
        } else if d < Duration::from_secs(1) {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{:.3}s", d.as_secs_f64())
        }
    }
}

impl Error {
    pub(crate) fn new(reason: Reason) -> Error {
        Error {
            inner: Box::new(Inner {
                url: None,
                reason,
                attempts: 1,
            }),
        }
    }

    /// Attaches the URL this error concerns (keeps one already attached).
    pub(crate) fn with_url(mut self, url: &str) -> Error {
        if self.inner.url.is_none() {
            self.inner.url = Some(url.to_owned());
        }
        self
    }

    /// Records how many attempts the request made.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Error {
        self.inner.attempts = attempts.max(1);
        self
    }

    /// How many attempts the request made before this error: 1 unless a
    /// [`RetryPolicy`](crate::RetryPolicy) retried it (then the message says
    /// `gave up after N attempts`).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.reason.kind()
    }

    /// The URL of the request that failed, as given (for an invalid URL, the
    /// input text).
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// For a [`ErrorKind::Timeout`], the phase that ran out of time.
    pub fn timeout_phase(&self) -> Option<Phase> {
        match &self.inner.reason {
            Reason::Timeout { phase, .. } => Some(*phase),
            _ => None,
        }
    }

    /// For protocol, truncation and size-limit errors, the HTTP/1.1 detail.
    pub fn protocol_error(&self) -> Option<&ProtocolError> {
        match &self.inner.reason {
            Reason::Protocol { source, .. } | Reason::CutOff { source, .. } => Some(source),
            _ => None,
        }
    }

    /// For a failure on an HTTP/2 stream, the RFC 9113 §7 error code
    /// involved (sent by us for a rule the server broke, or received in
    /// RST_STREAM or GOAWAY): `0x1` PROTOCOL_ERROR, `0x3`
    /// FLOW_CONTROL_ERROR, `0x7` REFUSED_STREAM, `0x9` COMPRESSION_ERROR,
    /// and so on. The message names it too.
    #[cfg(feature = "http2")]
    pub fn http2_error_code(&self) -> Option<u32> {
        match &self.inner.reason {
            Reason::H2 { failure, .. } => failure.code().map(|code| code.0),
            _ => None,
        }
    }

    /// The underlying I/O error, for DNS, connect and I/O errors, and for a
    /// truncation the connection's breaking caused (a reset).
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.inner.reason {
            Reason::Dns { source, .. }
            | Reason::Connect { source, .. }
            | Reason::Io { source, .. }
            | Reason::Sink { source, .. }
            | Reason::CutOff { cause: source, .. }
            | Reason::Socket { source } => Some(source),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.reason)?;
        if self.inner.attempts > 1 {
            write!(f, "; gave up after {} attempts", self.inner.attempts)?;
        }
        match &self.inner.url {
            // An invalid URL already quotes its input.
            Some(url) if !matches!(self.inner.reason, Reason::InvalidUrl { .. }) => {
                write!(f, " ({url})")
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind())
            .field("url", &self.inner.url)
            .field("reason", &self.inner.reason)
            .field("attempts", &self.inner.attempts)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.reason {
            Reason::Dns { source, .. }
            | Reason::Connect { source, .. }
            | Reason::Io { source, .. }
            | Reason::Sink { source, .. }
            | Reason::CutOff { cause: source, .. }
            | Reason::Socket { source } => Some(source),
            Reason::Protocol { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(reason: Reason) -> (ErrorKind, String) {
        let e = Error::new(reason).with_url("http://x/");
        (e.kind(), e.to_string())
    }

    #[test]
    fn timeout_message_names_phase_target_and_url() {
        let (kind, text) = msg(Reason::Timeout {
            phase: Phase::Connect,
            after: Duration::from_secs(5),
            target: "10.0.0.1:80".into(),
        });
        assert_eq!(kind, ErrorKind::Timeout);
        assert_eq!(
            text,
            "timeout after 5s connecting to 10.0.0.1:80 (http://x/)"
        );
    }

    #[test]
    fn durations_print_as_people_write_them() {
        assert_eq!(
            DisplayDuration(Duration::from_millis(250)).to_string(),
            "250ms"
        );
        assert_eq!(
            DisplayDuration(Duration::from_millis(1500)).to_string(),
            "1.500s"
        );
    }

    #[test]
    fn each_reason_maps_to_its_kind() {
        let io = || io::Error::from(io::ErrorKind::ConnectionReset);
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cases = [
            (
                Reason::InvalidUrl {
                    input: "x".into(),
                    message: "m".into(),
                },
                ErrorKind::InvalidUrl,
            ),
            (
                Reason::UnsupportedScheme("ftp".into()),
                ErrorKind::InvalidUrl,
            ),
            (
                Reason::InvalidHeader("bad".into()),
                ErrorKind::InvalidRequest,
            ),
            (
                Reason::Dns {
                    host: "h".into(),
                    source: io(),
                },
                ErrorKind::Dns,
            ),
            (Reason::NoAddresses { host: "h".into() }, ErrorKind::Dns),
            (
                Reason::Connect {
                    addr,
                    tried: 2,
                    source: io(),
                },
                ErrorKind::Connect,
            ),
            (
                Reason::Protocol {
                    peer: None,
                    source: ProtocolError::InvalidChunkSize,
                },
                ErrorKind::Protocol,
            ),
            (
                Reason::Protocol {
                    peer: None,
                    source: ProtocolError::IncompleteBody {
                        received: 1,
                        expected: Some(2),
                    },
                },
                ErrorKind::Truncated,
            ),
            (
                Reason::Protocol {
                    peer: None,
                    source: ProtocolError::BodyTooLarge { limit: 1 },
                },
                ErrorKind::TooLarge,
            ),
            (
                Reason::Io {
                    peer: Some(addr),
                    during: Phase::ReadHead,
                    source: io(),
                },
                ErrorKind::Io,
            ),
            (Reason::Socket { source: io() }, ErrorKind::Io),
            (
                Reason::CutOff {
                    peer: Some(addr),
                    source: ProtocolError::IncompleteBody {
                        received: 500,
                        expected: Some(1000),
                    },
                    cause: io(),
                },
                ErrorKind::Truncated,
            ),
            (
                Reason::Protocol {
                    peer: Some(addr),
                    source: ProtocolError::EmptyReply,
                },
                ErrorKind::Protocol,
            ),
            (Reason::TlsOff, ErrorKind::InvalidUrl),
            (
                Reason::Tls {
                    peer: Some(addr),
                    handshake: true,
                    message: "certificate has expired".into(),
                },
                ErrorKind::Tls,
            ),
            (Reason::TlsConfig("no roots".into()), ErrorKind::Tls),
            (
                Reason::Redirect {
                    looped: true,
                    limit: 10,
                    chain: vec!["http://a/".into(), "http://b/".into(), "http://a/".into()],
                },
                ErrorKind::Redirect,
            ),
            (
                Reason::Decode {
                    coding: "gzip",
                    message: "invalid gzip header".into(),
                },
                ErrorKind::Decode,
            ),
            (
                Reason::ProxyRefused {
                    proxy: "127.0.0.1:3128".into(),
                    status: "407 Proxy Authentication Required".into(),
                },
                ErrorKind::Proxy,
            ),
            (
                Reason::Sink {
                    what: "writing the body to /dl/x.part".into(),
                    source: io(),
                },
                ErrorKind::Io,
            ),
            (
                Reason::Range {
                    peer: None,
                    message: "m".into(),
                },
                ErrorKind::Protocol,
            ),
        ];
        for (reason, kind) in cases {
            let text = reason.to_string();
            assert_eq!(reason.kind(), kind, "{text}");
            assert!(!text.is_empty() && !text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn a_reset_in_a_response_says_how_much_arrived() {
        let peer: SocketAddr = "127.0.0.1:8003".parse().unwrap();
        let e = Error::new(Reason::CutOff {
            peer: Some(peer),
            source: ProtocolError::IncompleteBody {
                received: 500,
                expected: Some(1000),
            },
            cause: io::Error::from(io::ErrorKind::ConnectionReset),
        })
        .with_url("http://x/");
        assert_eq!(e.kind(), ErrorKind::Truncated);
        assert_eq!(
            e.to_string(),
            "body truncated: got 500 of 1000 bytes; connection reset by peer \
             from 127.0.0.1:8003 (http://x/)"
        );
        assert_eq!(
            e.io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert!(e.protocol_error().is_some_and(ProtocolError::is_truncated));
        let (_, text) = msg(Reason::CutOff {
            peer: None,
            source: ProtocolError::IncompleteBody {
                received: 3,
                expected: None,
            },
            cause: io::Error::other("no route to host"),
        });
        assert_eq!(
            text,
            "body truncated after 3 bytes; connection failed: no route to host (http://x/)"
        );
    }

    #[test]
    fn tls_messages_name_peer_reason_and_url() {
        let (kind, text) = msg(Reason::Tls {
            peer: Some("127.0.0.1:443".parse().unwrap()),
            handshake: true,
            message: "certificate is not trusted (unknown issuer)".into(),
        });
        assert_eq!(kind, ErrorKind::Tls);
        assert_eq!(
            text,
            "TLS handshake with 127.0.0.1:443 failed: certificate is not trusted (unknown issuer) (http://x/)"
        );
        let (_, text) = msg(Reason::Timeout {
            phase: Phase::TlsHandshake,
            after: Duration::from_secs(2),
            target: "127.0.0.1:443".into(),
        });
        assert_eq!(
            text,
            "timeout after 2s in the TLS handshake with 127.0.0.1:443 (http://x/)"
        );
    }

    #[test]
    fn redirect_messages_name_the_chain() {
        let chain = vec!["http://a/".to_owned(), "http://b/".to_owned()];
        let (_, text) = msg(Reason::Redirect {
            looped: false,
            limit: 1,
            chain: chain.clone(),
        });
        assert_eq!(
            text,
            "too many redirects (1): http://a/ -> http://b/ (http://x/)"
        );
        let (_, text) = msg(Reason::Redirect {
            looped: true,
            limit: 10,
            chain,
        });
        assert!(text.starts_with("redirect loop: http://a/ -> http://b/"));
    }

    #[test]
    fn attempts_are_told_when_there_were_several() {
        let refused = || Reason::Connect {
            addr: "127.0.0.1:1".parse().unwrap(),
            tried: 1,
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let once = Error::new(refused()).with_url("http://x/").with_attempts(1);
        assert_eq!(once.attempts(), 1);
        assert!(!once.to_string().contains("attempts"), "{once}");
        let thrice = Error::new(refused()).with_url("http://x/").with_attempts(3);
        assert_eq!(thrice.attempts(), 3);
        let text = thrice.to_string();
        assert!(
            text.starts_with("connect to 127.0.0.1:1 failed: "),
            "{text}"
        );
        assert!(
            text.ends_with("; gave up after 3 attempts (http://x/)"),
            "{text}"
        );
        let (_, queued) = msg(Reason::Timeout {
            phase: Phase::Queued,
            after: Duration::from_secs(5),
            target: "http://x:80".into(),
        });
        assert_eq!(
            queued,
            "timeout after 5s queued for http://x:80 (http://x/)"
        );
    }

    #[test]
    fn sink_and_idle_messages_name_the_sink_and_the_silence() {
        let (kind, text) = msg(Reason::Sink {
            what: "writing the body to /dl/x.iso.part".into(),
            source: io::Error::other("No space left on device"),
        });
        assert_eq!(kind, ErrorKind::Io);
        assert_eq!(
            text,
            "I/O error writing the body to /dl/x.iso.part: No space left on device (http://x/)"
        );
        let (_, text) = msg(Reason::Timeout {
            phase: Phase::ReadIdle,
            after: Duration::from_secs(5),
            target: "127.0.0.1:80".into(),
        });
        assert_eq!(
            text,
            "timeout after 5s with nothing received from 127.0.0.1:80 (http://x/)"
        );
    }

    #[test]
    fn invalid_url_is_not_repeated() {
        let e = Error::new(Reason::InvalidUrl {
            input: "ht!tp".into(),
            message: "bad".into(),
        })
        .with_url("ht!tp");
        assert_eq!(e.to_string(), "invalid URL `ht!tp`: bad");
        assert_eq!(e.url(), Some("ht!tp"));
    }
}
