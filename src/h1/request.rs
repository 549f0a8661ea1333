//! Request heads, written straight into the caller's output buffer.
//!
//! ```text
//! GET /path?q HTTP/1.1\r\n      request-line (RFC 9112 §3)
//! Host: example.com\r\n         unless the caller gave one (RFC 9112 §3.2)
//! name: value\r\n               every caller header, repeats kept
//! Content-Length: 5\r\n         when there is a body and no caller value (RFC 9112 §6.2)
//! \r\n
//! ```

use http::Method;
use http::header::{CONTENT_LENGTH, HOST};
use http::header::{HeaderName, HeaderValue};

/// Appends an HTTP/1.1 request head to `out`.
///
/// `target` is the request-target, already in origin-form (`/path?query`)
/// or absolute-form; `host` is the Host header value (with `:port` when the
/// port is not the scheme's default). Neither may contain CR, LF or (for
/// `target`) spaces: the URL parser guarantees that.
///
/// `headers` makes an iterator over the header fields to send, as
/// name/value pairs; it is called more than once (to look ahead and size
/// the buffer), so it should be cheap, such as a `HeaderMap`'s `iter`.
///
/// Writes the request line, then `Host: host` unless `headers` already has
/// Host, then every header of `headers` in order (repeated names kept),
/// then `Content-Length: n` when `body_len` is `Some(n)` and `headers` has
/// no Content-Length, then the blank line. Header names go out in the
/// lowercase form `http` stores them in; field names are case-insensitive
/// (RFC 9110 §5.1).
///
/// # Examples
///
/// ```text
/// write_request_head(&mut out, &Method::POST, "/a?b=1", "example.com:8080", &headers, Some(5));
/// out == b"POST /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\naccept: */*\r\nContent-Length: 5\r\n\r\n"
/// ```
pub(crate) fn write_request_head<'a, F, H>(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    host: &str,
    headers: F,
    body_len: Option<u64>,
) where
    F: Fn() -> H,
    H: Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
{
    let write_host = !headers().any(|(name, _)| name == HOST);
    // A request without a body needs no Content-Length (RFC 9112 §6.2): a
    // GET with `Content-Length: 0` upsets some servers.
    let write_length = body_len.filter(|_| !headers().any(|(name, _)| name == CONTENT_LENGTH));

    let mut size = method.as_str().len() + target.len() + " HTTP/1.1\r\n\r\n".len() + 1;
    if write_host {
        size += "Host: \r\n".len() + host.len();
    }
    for (name, value) in headers() {
        size += name.as_str().len() + value.len() + ": \r\n".len();
    }
    if write_length.is_some() {
        size += "Content-Length: \r\n".len() + 20;
    }
    out.reserve(size);

    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if write_host {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(n) = write_length {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, n);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, through a stack buffer.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // `n % 10` is below 10, so the cast cannot truncate.
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http::HeaderValue;
    use http::header::{ACCEPT, USER_AGENT};

    fn head(
        method: Method,
        target: &str,
        host: &str,
        headers: &HeaderMap,
        body: Option<u64>,
    ) -> String {
        let mut out = b"previous".to_vec();
        write_request_head(&mut out, &method, target, host, || headers.iter(), body);
        let s = String::from_utf8(out).unwrap();
        s.strip_prefix("previous").unwrap().to_owned()
    }

    #[test]
    fn get_without_body() {
        let mut h = HeaderMap::new();
        h.insert(USER_AGENT, HeaderValue::from_static("multifetch"));
        assert_eq!(
            head(Method::GET, "/a/b?c=d", "example.com", &h, None),
            "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nuser-agent: multifetch\r\n\r\n"
        );
        assert_eq!(
            head(
                Method::GET,
                "/",
                "example.com:8080",
                &HeaderMap::new(),
                None
            ),
            "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"
        );
    }

    #[test]
    fn post_with_body() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(
            head(Method::POST, "/a?b=1", "example.com:8080", &h, Some(5)),
            "POST /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\naccept: */*\r\nContent-Length: 5\r\n\r\n"
        );
        assert_eq!(
            head(Method::PUT, "/", "h", &HeaderMap::new(), Some(0)),
            "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(
            head(Method::PUT, "/", "h", &HeaderMap::new(), Some(u64::MAX)),
            "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n"
        );
    }

    #[test]
    fn caller_content_length_wins() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("3"));
        assert_eq!(
            head(Method::POST, "/", "h", &h, Some(3)),
            "POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\n"
        );
    }

    #[test]
    fn host_present() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("other.example"));
        h.insert(ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(
            head(Method::GET, "/", "example.com", &h, None),
            "GET / HTTP/1.1\r\nhost: other.example\r\naccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn repeated_names() {
        let mut h = HeaderMap::new();
        h.append(ACCEPT, HeaderValue::from_static("text/html"));
        h.append(USER_AGENT, HeaderValue::from_static("mf"));
        h.append(ACCEPT, HeaderValue::from_static("*/*"));
        assert_eq!(
            head(Method::GET, "/", "h", &h, None),
            "GET / HTTP/1.1\r\nHost: h\r\naccept: text/html\r\naccept: */*\r\nuser-agent: mf\r\n\r\n"
        );
    }

    #[test]
    fn absolute_form_and_custom_method() {
        let m = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(
            head(
                m,
                "http://example.com/x",
                "example.com",
                &HeaderMap::new(),
                None
            ),
            "PURGE http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n"
        );
    }

    #[test]
    fn decimal() {
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
