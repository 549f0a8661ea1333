//! [`Request`]: what to fetch (method, URL, headers, optional body), and
//! [`IntoRequest`], which lets every API that takes a request take a URL too.

use http::Method;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::error::{Error, Reason, Result};

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
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
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

/// Decodes `%XX` escapes (as the URL parser leaves them in userinfo).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
