//! [`Request`]: what to fetch (method, URL, headers, optional body), where
//! its response body goes and how long it may take, and [`IntoRequest`],
//! which lets every API that takes a request take a URL too.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Reason, Result};
use crate::sink::{ResumeSettings, SharedWriter, Target};

/// An HTTP request: method, URL, headers and an optional body.
///
/// # Examples
///
/// ```
/// use multifetch::Request;
///
/// let req = Request::post("http://127.0.0.1:8080/api")?
///     .header("content-type", "application/json")?
///     .body(r#"{"q":1}"#);
/// assert_eq!(req.method(), "POST");
/// assert_eq!(req.url().path(), "/api");
/// # Ok::<(), multifetch::Error>(())
/// ```
///
/// # Where the body goes
///
/// The body of a successful (2xx) response goes to the request's sink:
///
/// | sink | set with | memory used |
/// |---|---|---|
/// | memory (default) | — | the whole body, in [`Response::body`](crate::Response::body) (up to [`ClientBuilder::max_body_size`](crate::ClientBuilder::max_body_size)) |
/// | a file | [`to_file`](Self::to_file) | a bounded buffer; resumes after a cut ([`max_resumes`](Self::max_resumes)) |
/// | a writer | [`to_writer`](Self::to_writer) | a bounded buffer |
/// | the caller, chunk by chunk | [`stream_chunks`](Self::stream_chunks) | the chunks the caller has not taken yet, at most [`CHUNK_QUEUE_BYTES`](crate::CHUNK_QUEUE_BYTES) |
///
/// Any other status (a 404 page, a redirect that is not followed) keeps its
/// body in memory whatever the sink, so a download never writes an error
/// page to its file. A sink that is slower than the network stops the
/// connection reading (backpressure) instead of buffering without bound; a
/// sink that fails ends the request with [`ErrorKind::Io`](crate::ErrorKind::Io)
/// naming the sink.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    target: Target,
    resume: ResumeSettings,
    /// `Some` overrides the client's whole-request timeout.
    timeout: Option<Option<Duration>>,
    /// `Some` overrides the client's read-idle timeout.
    read_idle_timeout: Option<Option<Duration>>,
}

impl Request {
    /// A request with the given method for an already parsed URL.
    ///
    /// Credentials in the URL (`http://user:pass@host/`) become a basic
    /// `Authorization` header (see [`basic_auth`](Self::basic_auth)) and are
    /// removed from the URL, so they never appear in the request line, a
    /// `Host` header, [`Response::url`](crate::Response::url) or an error
    /// message.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`](crate::ErrorKind::InvalidUrl) when the
    /// scheme is not `http` or `https`, or the URL has no host.
    pub fn new(method: Method, mut url: Url) -> Result<Request> {
        check_url(&url)?;
        let mut headers = HeaderMap::new();
        if let Some((user, password)) = take_userinfo(&mut url) {
            headers.insert(
                http::header::AUTHORIZATION,
                basic_auth_value(&user, password.as_deref()),
            );
        }
        Ok(Request {
            method,
            url,
            headers,
            body: None,
            target: Target::Memory,
            resume: ResumeSettings::default(),
            timeout: None,
            read_idle_timeout: None,
        })
    }

    /// Parses `url` and makes a request with `method`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidUrl`](crate::ErrorKind::InvalidUrl) when `url`
    /// does not parse, has no host, or is not `http`/`https`.
    pub fn parse(method: Method, url: &str) -> Result<Request> {
        let parsed = Url::parse(url).map_err(|e| {
            Error::new(Reason::InvalidUrl {
                input: url.to_owned(),
                message: e.to_string(),
            })
            .with_url(url)
        })?;
        Request::new(method, parsed).map_err(|e| e.with_url(url))
    }

    /// A `GET` request. See [`Request::parse`] for the errors.
    pub fn get(url: &str) -> Result<Request> {
        Request::parse(Method::GET, url)
    }

    /// A `HEAD` request; its response has no body.
    pub fn head(url: &str) -> Result<Request> {
        Request::parse(Method::HEAD, url)
    }

    /// A `POST` request; add a body with [`Request::body`].
    pub fn post(url: &str) -> Result<Request> {
        Request::parse(Method::POST, url)
    }

    /// A `PUT` request; add a body with [`Request::body`].
    pub fn put(url: &str) -> Result<Request> {
        Request::parse(Method::PUT, url)
    }

    /// A `DELETE` request.
    pub fn delete(url: &str) -> Result<Request> {
        Request::parse(Method::DELETE, url)
    }

    /// Adds a header (repeated names are kept, in order).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when
    /// the name is not a valid token or the value holds a CR, LF, NUL or
    /// other control byte, so no header can smuggle in another line.
    pub fn header<K, V>(mut self, name: K, value: V) -> Result<Request>
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        let name = name.try_into().map_err(|e| self.header_error(e.into()))?;
        let value = value.try_into().map_err(|e| self.header_error(e.into()))?;
        self.headers.append(name, value);
        Ok(self)
    }

    fn header_error(&self, e: http::Error) -> Error {
        Error::new(Reason::InvalidHeader(e.to_string())).with_url(self.url.as_str())
    }

    /// Sets `Authorization: Basic …` (RFC 7617) from a user name and an
    /// optional password, replacing any `Authorization` already set.
    ///
    /// Redirects to another scheme, host or port drop it.
    ///
    /// # Examples
    ///
    /// ```
    /// let req = multifetch::Request::get("http://127.0.0.1:8080/")?
    ///     .basic_auth("Aladdin", Some("open sesame"));
    /// assert_eq!(req.headers()["authorization"], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    /// # Ok::<(), multifetch::Error>(())
    /// ```
    pub fn basic_auth(mut self, user: &str, password: Option<&str>) -> Request {
        self.headers.insert(
            http::header::AUTHORIZATION,
            basic_auth_value(user, password),
        );
        self
    }

    /// Sets the body; it is sent with a `Content-Length` header.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Writes the body of a successful (2xx) response to the file at `path`
    /// as it arrives, like curl's `-o`.
    ///
    /// The body grows in `<path>.part` in the same directory and is renamed
    /// to `path` (replacing any file there) only once it is complete and its
    /// length checked against `Content-Length` / `Content-Range`; until then
    /// nothing is written at `path`. A download that fails part-way (the
    /// connection drops, a read-idle timeout) resumes by itself with a range
    /// request, up to [`max_resumes`](Self::max_resumes) times; when it
    /// fails for good the part file is removed (kept with
    /// [`continue_partial`](Self::continue_partial)). The body is not held
    /// in memory: [`Response::body`](crate::Response::body) is empty and
    /// [`Response::download`](crate::Response::download) tells where the
    /// body went.
    ///
    /// Resuming follows RFC 9110 §14: `Range: bytes=N-` with `If-Range`
    /// carrying the first response's strong `ETag` (or a strong
    /// `Last-Modified`); a `206` whose `Content-Range` starts at `N` is
    /// appended, a `200` (the file changed, or the server ignores ranges)
    /// starts the file again from zero, and a `416` whose `Content-Range`
    /// says the complete length is `N` means the file was already complete.
    /// A request with a `Range` gets no automatic `Accept-Encoding`, and a
    /// body that was content-decoded restarts from zero rather than resume.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// use multifetch::{Client, Request};
    ///
    /// let client = Client::builder()
    ///     .read_idle_timeout(Duration::from_secs(30))
    ///     .build()?;
    /// let request = Request::get("http://127.0.0.1:8080/big.iso")?
    ///     .to_file("big.iso")
    ///     .timeout(None) // as long as it takes, while bytes keep coming
    ///     .max_resumes(10);
    /// let response = client.fetch(request)?;
    /// if let Some(file) = response.download() {
    ///     println!("{} bytes in {} ({} resumes)", file.len, file.path.display(), file.resumes);
    /// }
    /// # Ok::<(), multifetch::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Writing, renaming or opening the file fails the request with
    /// [`ErrorKind::Io`](crate::ErrorKind::Io), naming the file; the rest of
    /// a batch goes on.
    pub fn to_file(mut self, path: impl Into<PathBuf>) -> Request {
        self.target = Target::File(path.into());
        self
    }

    /// Writes the body of a successful (2xx) response to `writer` as it
    /// arrives (the writer is flushed once the body is complete). The body
    /// is not held in memory; [`Response::body`](crate::Response::body) is
    /// empty and [`Response::body_len`](crate::Response::body_len) counts the
    /// bytes written.
    ///
    /// A writer that returns [`std::io::ErrorKind::WouldBlock`] (or takes
    /// part of a buffer) is not ready: the connection stops reading for it
    /// (over HTTP/2, its stream's flow-control window stays shut while the
    /// connection's other streams go on) until it takes the rest, which is
    /// tried again after 1 ms, then at growing
    /// intervals up to [`SINK_RETRY_MAX`](crate::SINK_RETRY_MAX). Any other
    /// error fails the request with [`ErrorKind::Io`](crate::ErrorKind::Io)
    /// ("I/O error writing the body to the request's writer: …").
    ///
    /// The writer is called from the thread running the reactor; a slow
    /// blocking writer slows every request of the reactor. Clones of the
    /// request share the writer.
    pub fn to_writer<W: Write + Send + 'static>(mut self, writer: W) -> Request {
        let shared: Arc<Mutex<dyn Write + Send>> = Arc::new(Mutex::new(writer));
        self.target = Target::Writer(SharedWriter(shared));
        self
    }

    /// Hands the body of a successful (2xx) response to the caller as it
    /// arrives: [`Reactor::next_event`](crate::Reactor::next_event) returns
    /// an [`Event::Head`](crate::Event::Head), then
    /// [`Event::Chunk`](crate::Event::Chunk)s in order, then the request's
    /// [`Event::Done`](crate::Event::Done) (whose response has an empty
    /// body). Meant for responses that never end (server-sent events, long
    /// polling) and for processing bodies without holding them.
    ///
    /// At most [`CHUNK_QUEUE_BYTES`](crate::CHUNK_QUEUE_BYTES) of a
    /// request's chunks wait for the caller; past that its connection stops
    /// reading (over HTTP/2, its stream's window stays shut) until the
    /// caller takes them. Chunks are dropped by
    /// [`Reactor::next_completion`](crate::Reactor::next_completion) and by
    /// the batch methods of [`Client`](crate::Client), which only hand back
    /// completions.
    pub fn stream_chunks(mut self) -> Request {
        self.target = Target::Chunks;
        self
    }

    /// How many times a file download ([`to_file`](Self::to_file)) that
    /// fails part-way resumes by itself: after the connection is cut or
    /// reset (or, over HTTP/2, the stream), a read-idle timeout, a failed connect, or an answer to a range
    /// request that does not fit the file (which restarts it from zero).
    /// Default 3 ([`DEFAULT_MAX_RESUMES`](crate::DEFAULT_MAX_RESUMES)); 0
    /// turns resuming off. The whole-request [`timeout`](Self::timeout), if
    /// any, covers every attempt.
    pub fn max_resumes(mut self, n: u32) -> Request {
        self.resume.max_resumes = n;
        self
    }

    /// Whether a file download ([`to_file`](Self::to_file)) continues what
    /// an earlier run left, like curl's `-C -` and wget's `-c`: the part
    /// file `<path>.part` if there is one, else a file already at `path`
    /// (moved to `<path>.part` first), is taken as the first bytes of the
    /// body and only the rest is requested. A file that is already complete
    /// is answered `416` by the server and counts as a success. With this
    /// on, a download that fails for good keeps its part file for the next
    /// run. Off by default. There is no validator from an earlier run, so
    /// the range request carries `If-Range` only if the request sets one.
    pub fn continue_partial(mut self, on: bool) -> Request {
        self.resume.continue_partial = on;
        self
    }

    /// This request's whole-request deadline, overriding
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout); `None`
    /// turns it off, for downloads of any size and responses that never end
    /// (pair it with [`read_idle_timeout`](Self::read_idle_timeout) so that
    /// a stream that goes quiet is still noticed).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Request {
        self.timeout = Some(timeout.into());
        self
    }

    /// This request's read-idle timeout, overriding
    /// [`ClientBuilder::read_idle_timeout`](crate::ClientBuilder::read_idle_timeout):
    /// how long the response may send nothing at all; `None` turns it off.
    pub fn read_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Request {
        self.read_idle_timeout = Some(timeout.into());
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The headers set on this request (the client adds `Host`,
    /// `User-Agent` and `Accept` when they are missing).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, to change in place.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body, if one was set.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// Takes the URL, dropping the rest.
    pub(crate) fn into_url(self) -> Url {
        self.url
    }

    /// Where the body of a successful response goes.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// How a file download resumes.
    pub(crate) fn resume_settings(&self) -> ResumeSettings {
        self.resume
    }

    /// The whole-request timeout, `default` unless the request sets one.
    pub(crate) fn timeout_or(&self, default: Option<Duration>) -> Option<Duration> {
        self.timeout.unwrap_or(default)
    }

    /// The read-idle timeout, `default` unless the request sets one.
    pub(crate) fn read_idle_timeout_or(&self, default: Option<Duration>) -> Option<Duration> {
        self.read_idle_timeout.unwrap_or(default)
    }

    /// Takes over `other`'s sink and timeouts (the next hop of a redirect
    /// chain delivers its body where the first request said).
    pub(crate) fn with_settings_of(mut self, other: &Request) -> Request {
        self.target = other.target.clone();
        self.resume = other.resume;
        self.timeout = other.timeout;
        self.read_idle_timeout = other.read_idle_timeout;
        self
    }
}

/// Removes the user name and password from `url`, percent-decoded, if it
/// has any.
fn take_userinfo(url: &mut Url) -> Option<(String, Option<String>)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let user = percent_decode(url.username());
    let password = url.password().map(percent_decode);
    // http(s) URLs with a host always accept these.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some((user, password))
}

/// Decodes `%XX` escapes (as the URL parser leaves them in userinfo); a
/// `%` not followed by two hex digits stays, and bytes that are not UTF-8
/// become U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The value of a basic `Authorization` or `Proxy-Authorization` header.
pub(crate) fn basic_auth_value(user: &str, password: Option<&str>) -> HeaderValue {
    let mut credentials = String::with_capacity(user.len() + 1 + password.map_or(0, str::len));
    credentials.push_str(user);
    credentials.push(':');
    credentials.push_str(password.unwrap_or_default());
    let mut value = String::from("Basic ");
    base64_encode(credentials.as_bytes(), &mut value);
    let mut value =
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Basic"));
    value.set_sensitive(true);
    value
}

/// Standard base64 with padding (RFC 4648 §4); enough for basic auth, not
/// worth a dependency.
fn base64_encode(input: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |i: u32| ALPHABET[(i & 63) as usize] as char;
    for group in input.chunks(3) {
        let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(if group.len() > 1 { symbol(n >> 6) } else { '=' });
        out.push(if group.len() > 2 { symbol(n) } else { '=' });
    }
}

/// Checks what every request needs of its URL: a supported scheme and a host.
fn check_url(url: &Url) -> Result<()> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(
                Error::new(Reason::UnsupportedScheme(other.to_owned())).with_url(url.as_str())
            );
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::new(Reason::InvalidUrl {
            input: url.as_str().to_owned(),
            message: "no host".to_owned(),
        })
        .with_url(url.as_str()));
    }
    Ok(())
}

/// Anything that can become a [`Request`]: a `Request`, a URL as `&str`,
/// `String` or [`Url`], or an already failed `Result<Request>` (so a bad
/// entry in a batch keeps its slot and reports its own error).
pub trait IntoRequest {
    /// Makes the request; a URL becomes a `GET`.
    fn into_request(self) -> Result<Request>;
}

impl IntoRequest for Request {
    fn into_request(self) -> Result<Request> {
        Ok(self)
    }
}

impl IntoRequest for Result<Request> {
    fn into_request(self) -> Result<Request> {
        self
    }
}

impl IntoRequest for &str {
    fn into_request(self) -> Result<Request> {
        Request::get(self)
    }
}

impl IntoRequest for String {
    fn into_request(self) -> Result<Request> {
        Request::get(&self)
    }
}

impl IntoRequest for &String {
    fn into_request(self) -> Result<Request> {
        Request::get(self)
    }
}

impl IntoRequest for Url {
    fn into_request(self) -> Result<Request> {
        Request::new(Method::GET, self)
    }
}

impl IntoRequest for &Url {
    fn into_request(self) -> Result<Request> {
        Request::new(Method::GET, self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn urls_are_checked() {
        assert!(Request::get("http://example.com/").is_ok());
        assert!(Request::get("https://example.com:8443/a?b").is_ok());
        let cases = [
            ("not a url", ErrorKind::InvalidUrl),
            ("ftp://example.com/", ErrorKind::InvalidUrl),
            ("http://", ErrorKind::InvalidUrl),
            ("mailto:a@b.c", ErrorKind::InvalidUrl),
            ("http://exa mple.com/", ErrorKind::InvalidUrl),
        ];
        for (input, kind) in cases {
            let err = Request::get(input).unwrap_err();
            assert_eq!(err.kind(), kind, "{input}");
            assert_eq!(err.url(), Some(input));
        }
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = String::new();
            base64_encode(input.as_bytes(), &mut out);
            assert_eq!(out, expected, "{input}");
        }
    }

    #[test]
    fn userinfo_becomes_basic_auth_and_leaves_the_url() {
        let req = Request::get("http://us%40er:p%3Ass@h.test:81/p").unwrap();
        assert_eq!(req.url().as_str(), "http://h.test:81/p");
        // "us@er:p:ss"
        assert_eq!(req.headers()["authorization"], "Basic dXNAZXI6cDpzcw==");
        let req = Request::get("http://user@h.test/").unwrap();
        assert_eq!(req.headers()["authorization"], "Basic dXNlcjo=");
        let req = Request::get("http://h.test/")
            .unwrap()
            .basic_auth("a", None)
            .basic_auth("user", Some("pass"));
        assert_eq!(req.headers().get_all("authorization").iter().count(), 1);
        assert_eq!(req.headers()["authorization"], "Basic dXNlcjpwYXNz");
    }

    #[test]
    fn header_injection_is_refused() {
        for (name, value) in [
            ("x", "a\r\nEvil: 1"),
            ("x", "a\nb"),
            ("x", "a\0b"),
            ("bad name", "v"),
            ("a\r\nb", "v"),
        ] {
            let err = Request::get("http://h/")
                .unwrap()
                .header(name, value)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{name:?}: {value:?}");
        }
        let req = Request::get("http://h/")
            .unwrap()
            .header("x-a", "1")
            .unwrap()
            .header("x-a", "2")
            .unwrap();
        assert_eq!(req.headers().get_all("x-a").iter().count(), 2);
    }
}
