//! What one request needs on a connection: the [`Job`] (the request and
//! its clocks, which outlive any one connection across retries and
//! redirects), its [`Exchange`] on the connection (request bytes out,
//! response reader and body in, content decoding, timings), and the request
//! heads written for it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method};
use url::{Position, Url};

use crate::client::Config;
use crate::decode::{self, ContentDecoder, DecodeError};
use crate::error::Reason;
use crate::h1::{self, ProtocolError, ResponseReader};
use crate::origin::Origin;
use crate::proxy::{ProxyEndpoint, Route};
use crate::reactor::RequestId;
use crate::request::Request;

/// A request waiting for, or bound to, a connection.
#[derive(Debug)]
pub(crate) struct Job {
    pub id: RequestId,
    pub request: Request,
    pub origin: Origin,
    pub submitted: Instant,
    /// When the request first left the queue; its deadline runs from here,
    /// across a retry.
    pub started: Option<Instant>,
    pub deadline: Option<Instant>,
    /// Set once the request has been retried after a stale kept-alive
    /// connection; a retry runs on a fresh connection and never retries again.
    pub retried: bool,
    /// Redirects followed to get to this request.
    pub redirects: u32,
    /// Method and URL of every request of the redirect chain, this one
    /// last; empty before the first redirect.
    pub chain: Vec<(Method, Url)>,
}

impl Job {
    pub(crate) fn new(id: RequestId, request: Request, now: Instant, config: &Config) -> Job {
        let origin = Origin::routed(request.url(), &config.proxies);
        Job {
            id,
            request,
            origin,
            submitted: now,
            started: None,
            deadline: None,
            retried: false,
            redirects: 0,
            chain: Vec::new(),
        }
    }

    /// The next hop of a redirect chain: same id, same clocks (the
    /// whole-request deadline covers every hop).
    pub(super) fn redirected(
        self,
        request: Request,
        mut chain: Vec<(Method, Url)>,
        config: &Config,
    ) -> Job {
        chain.push((request.method().clone(), request.url().clone()));
        Job {
            origin: Origin::routed(request.url(), &config.proxies),
            request,
            retried: false,
            redirects: self.redirects + 1,
            chain,
            ..self
        }
    }

    /// The URL the caller asked for, before any redirect.
    pub(super) fn first_url(&self) -> &Url {
        self.chain
            .first()
            .map_or(self.request.url(), |(_, url)| url)
    }

    /// Starts the request's clocks the first time it leaves the queue.
    pub(super) fn start(&mut self, now: Instant, config: &Config) {
        if self.started.is_none() {
            self.started = Some(now);
            self.deadline = config.timeout.map(|t| now + t);
        }
    }
}

/// One request's progress on this connection.
pub(super) struct Exchange {
    pub(super) job: Job,
    /// The request head; `written` counts head and body bytes sent.
    pub(super) head: Vec<u8>,
    pub(super) written: usize,
    pub(super) reader: ResponseReader,
    pub(super) body: Vec<u8>,
    /// Whether this request asked for compressed bodies (so a coded
    /// response is decoded).
    pub(super) wants_decoding: bool,
    /// Decodes the body once the head names a content coding.
    pub(super) decoder: Option<ContentDecoder>,
    /// Body bytes still coded, on their way to `decoder`.
    pub(super) coded: Vec<u8>,
    /// The body-size limit, which applies to the decoded body.
    pub(super) body_limit: u64,
    pub(super) reused: bool,
    pub(super) dns: Option<Duration>,
    pub(super) connect: Option<Duration>,
    pub(super) tls: Option<Duration>,
    pub(super) first_byte: Option<Instant>,
}

impl Exchange {
    pub(super) fn new(mut job: Job, reused: bool, now: Instant, config: &Config) -> Exchange {
        job.start(now, config);
        let reader = ResponseReader::new(job.request.method().clone(), config.limits);
        let mut head = Vec::with_capacity(256);
        let wants_decoding = write_head(
            &mut head,
            &job.request,
            &job.origin.route,
            &config.default_headers,
            config.decompress,
        );
        Exchange {
            job,
            head,
            written: 0,
            reader,
            body: Vec::new(),
            wants_decoding,
            decoder: None,
            coded: Vec::new(),
            body_limit: config.limits.max_body_bytes,
            reused,
            dns: None,
            connect: None,
            tls: None,
            first_byte: None,
        }
    }

    pub(super) fn started(&self) -> Instant {
        self.job.started.unwrap_or(self.job.submitted)
    }

    /// Passes coded body bytes through the decoder, setting it up when the
    /// head has just arrived (moving the body bytes that came with the
    /// head over to it).
    pub(super) fn decode(&mut self, peer: Option<SocketAddr>) -> Result<(), Reason> {
        if self.wants_decoding {
            let Some(head) = self.reader.head() else {
                return Ok(());
            };
            self.wants_decoding = false;
            self.decoder = ContentDecoder::for_headers(&head.headers, self.body_limit);
            if self.decoder.is_some() {
                self.coded = std::mem::take(&mut self.body);
            }
        }
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(());
        };
        let fed = decoder.feed(&self.coded, &mut self.body);
        self.coded.clear();
        fed.map_err(|e| decode_failure(decoder.coding(), e, peer))
    }

    /// A failure on a reused connection before any response byte is the
    /// classic race with a server closing an idle connection: safe to retry
    /// once when the method is idempotent (RFC 9110 §9.2.2).
    pub(super) fn may_retry(&self) -> bool {
        self.reused
            && !self.job.retried
            && !self.reader.has_received_bytes()
            && is_idempotent(self.job.request.method())
    }
}

/// Builds the request head: the request's own headers first, then the
/// client's defaults for names the request does not set, then what the
/// client adds itself (`Accept-Encoding`, `Proxy-Authorization`). Through a
/// forwarding proxy the request target is the absolute URL (RFC 9112
/// §3.2.2). Returns whether `Accept-Encoding` was added, that is, whether a
/// coded response is for the client to decode.
pub(super) fn write_head(
    out: &mut Vec<u8>,
    request: &Request,
    route: &Route,
    defaults: &HeaderMap,
    decompress: bool,
) -> bool {
    let url = request.url();
    let target = match route {
        Route::Forward(_) => &url[..Position::AfterQuery],
        Route::Direct | Route::Tunnel(_) => &url[Position::BeforePath..Position::AfterQuery],
    };
    let target = if target.is_empty() { "/" } else { target };
    let host = &url[Position::BeforeHost..Position::AfterPort];
    let body_len = request.body_bytes().map(|b| b.len() as u64);
    let own = request.headers();
    let accept_encoding = decode::accept_encoding(own, defaults, decompress);
    let proxy_auth = match route {
        Route::Forward(proxy) => proxy
            .auth
            .as_ref()
            .filter(|_| !own.contains_key(header::PROXY_AUTHORIZATION)),
        Route::Direct | Route::Tunnel(_) => None,
    };
    // The request's own headers, then the defaults it does not override,
    // then what the client adds: chained, so nothing is copied.
    let accept_encoding = accept_encoding.map(HeaderValue::from_static);
    let added = [
        (header::ACCEPT_ENCODING, accept_encoding.as_ref()),
        (header::PROXY_AUTHORIZATION, proxy_auth),
    ];
    let headers = || {
        own.iter()
            .chain(defaults.iter().filter(|(name, _)| !own.contains_key(*name)))
            .chain(
                added
                    .iter()
                    .filter_map(|(name, value)| Some((name, (*value)?))),
            )
    };
    h1::write_request_head(out, request.method(), target, host, headers, body_len);
    accept_encoding.is_some()
}

/// The error for a body that could not be decoded: over the body limit
/// (counted after decoding), or corrupt.
pub(super) fn decode_failure(
    coding: &'static str,
    error: DecodeError,
    peer: Option<SocketAddr>,
) -> Reason {
    match error {
        DecodeError::TooLarge { limit } => Reason::Protocol {
            peer,
            source: ProtocolError::BodyTooLarge { limit },
        },
        DecodeError::Corrupt(message) => Reason::Decode { coding, message },
    }
}

/// The `CONNECT` request that asks `proxy` for a tunnel to `origin`.
pub(super) fn write_connect_head(out: &mut Vec<u8>, origin: &Origin, proxy: &ProxyEndpoint) {
    let authority = format!("{}:{}", origin.host, origin.port);
    let name = header::PROXY_AUTHORIZATION;
    let headers = || proxy.auth.iter().map(|auth| (&name, auth));
    h1::write_request_head(out, &Method::CONNECT, &authority, &authority, headers, None);
}

/// Methods whose repetition has the same effect as one request (RFC 9110 §9.2.2).
pub(super) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_carries_defaults_without_overriding_the_request() {
        let mut defaults = HeaderMap::new();
        defaults.insert("user-agent", "multifetch/test".parse().unwrap());
        defaults.insert("accept", "*/*".parse().unwrap());
        let req = Request::get("http://example.com:8080/a/b?c=d#frag")
            .unwrap()
            .header("accept", "text/html")
            .unwrap();
        let mut out = Vec::new();
        write_head(&mut out, &req, &Route::Direct, &defaults, false);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("accept: text/html\r\n"), "{text}");
        assert!(!text.contains("*/*"), "{text}");
        assert!(text.contains("user-agent: multifetch/test\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn default_ports_are_left_out_of_host() {
        let req = Request::get("http://example.com:80").unwrap();
        let mut out = Vec::new();
        write_head(&mut out, &req, &Route::Direct, &HeaderMap::new(), false);
        assert_eq!(out, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
    }

    #[test]
    fn only_idempotent_methods_are_retried() {
        assert!(
            is_idempotent(&Method::GET)
                && is_idempotent(&Method::PUT)
                && is_idempotent(&Method::DELETE)
        );
        assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
    }
}
