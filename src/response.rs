//! [`Response`]: status, headers and the whole body of a finished request
//! (or where a streamed body went: [`Download`]), with its [`Timings`].

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::header::{AsHeaderName, HeaderMap, HeaderValue};
use http::{StatusCode, Version};
use url::Url;

use crate::redirect::RedirectDeclined;

/// A complete response: the body has been read to its end.
///
/// A non-2xx status is still a `Response`, not an error: the server answered.
/// The body of a 2xx response to a request with a sink
/// ([`Request::to_file`](crate::Request::to_file),
/// [`to_writer`](crate::Request::to_writer),
/// [`stream_chunks`](crate::Request::stream_chunks)) went there, so
/// [`body`](Self::body) is empty; [`body_len`](Self::body_len) counts it.
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) body_len: u64,
    pub(crate) download: Option<Download>,
    pub(crate) url: Url,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) timings: Timings,
    pub(crate) redirects: u32,
    pub(crate) redirect_declined: Option<RedirectDeclined>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version the server answered with.
    pub fn version(&self) -> Version {
        self.version
    }

    /// All response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of a header, if present.
    pub fn header<K: AsHeaderName>(&self, name: K) -> Option<&HeaderValue> {
        self.headers.get(name)
    }

    /// The body bytes (transfer coding removed), when the body was kept in
    /// memory; empty when it went to a sink.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Body bytes delivered, in memory or to the request's sink (after
    /// transfer and content decoding). For a resumed download, only this
    /// response's part; [`Download::len`] is the file's length.
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// For a request made with [`Request::to_file`](crate::Request::to_file)
    /// whose body is in its file: where, how long, and how it got there.
    /// `None` for other sinks, and for a response whose status kept the
    /// body in memory (not 2xx).
    pub fn download(&self) -> Option<&Download> {
        self.download.as_ref()
    }

    /// Takes the body, dropping the rest of the response.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text: UTF-8, with invalid sequences replaced by U+FFFD.
    /// Other charsets are not converted.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The URL this response came from: after redirects, the last one
    /// (credentials given in a URL are not part of it).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// How many redirects were followed to get this response (0 when the
    /// first answer was final).
    pub fn redirects(&self) -> u32 {
        self.redirects
    }

    /// For a redirect that was handed back instead of followed (a 301, 302,
    /// 303, 307 or 308 response), why: redirects are off, the `Location`
    /// header is missing, is not a URL, or is a URL of a scheme other than
    /// http and https. `None` for every other response, and for a redirect
    /// that was followed (this is then the response at the end of the
    /// chain).
    ///
    /// A loop, or more redirects than allowed, is an
    /// [`ErrorKind::Redirect`](crate::ErrorKind::Redirect) error instead.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let response = multifetch::Client::new().fetch("http://127.0.0.1:8080/moved")?;
    /// if let Some(why) = response.redirect_declined() {
    ///     eprintln!("{} not followed: {why}", response.status());
    /// }
    /// # Ok::<(), multifetch::Error>(())
    /// ```
    pub fn redirect_declined(&self) -> Option<&RedirectDeclined> {
        self.redirect_declined.as_ref()
    }

    /// The address of the server that answered.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// Where the time went.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }
}

/// Where the time of one request went. Phases that did not happen (no name
/// to resolve in an IP-address URL, no DNS or connect on a reused
/// connection) are `None`; a name answered from the cache or pinned with
/// `ClientBuilder::resolve` has a `dns` of about zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Time spent waiting for a connection slot before the request started.
    /// It never counts against the timeouts.
    pub queued: Duration,
    /// Time spent resolving the host name (about zero for a cached or
    /// pinned name).
    pub dns: Option<Duration>,
    /// Time from the first `connect` call until the TCP connection was up.
    pub connect: Option<Duration>,
    /// Time from the TCP connection being up until the TLS handshake was
    /// done; `None` for plain HTTP and on a reused connection.
    pub tls: Option<Duration>,
    /// Time from the start of the request until the first response byte
    /// (of the last attempt, when it was retried).
    pub first_byte: Duration,
    /// Time from the start of the request until the last body byte, every
    /// attempt and wait between attempts included.
    pub total: Duration,
    /// Whether the request went over a kept-alive connection opened by an
    /// earlier request (then `dns`, `connect` and `tls` are `None`).
    pub reused: bool,
    /// Attempts made under the [`RetryPolicy`](crate::RetryPolicy): 1
    /// unless it retried (the other fields are of the last attempt, from the
    /// start of the first). The transparent replay of a request that met a
    /// stale kept-alive connection is not an attempt of its own.
    pub attempts: u32,
}

/// Where a file download ([`Request::to_file`](crate::Request::to_file))
/// went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Download {
    /// The file, complete and checked.
    pub path: PathBuf,
    /// Its length in bytes.
    pub len: u64,
    /// Bytes that were already in the file when the last attempt began (a
    /// resumed download, or one continued from an earlier run); 0 when the
    /// last attempt fetched the whole body.
    pub resumed_from: u64,
    /// How many times the download resumed by itself after failing
    /// part-way.
    pub resumes: u32,
    /// The server answered `416 Range Not Satisfiable` naming the file's
    /// length as complete: the file was whole already and nothing was
    /// fetched (the response's status is that 416).
    pub already_complete: bool,
}
