//! [`ClientBuilder`]: sets every limit, timeout and default of a
//! [`Client`], then builds it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::client::Client;
use crate::config::{
    Config, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DNS_CACHE_TTL, DEFAULT_DNS_THREADS,
    DEFAULT_HAPPY_EYEBALLS_DELAY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REDIRECTS,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_TIMEOUT, Http2Config, Pacing,
};
use crate::error::{Error, Reason, Result};
use crate::h1;
use crate::proxy::{self, Proxy};
use crate::retry::RetryPolicy;

/// Configures a [`Client`].
///
/// | setting | default |
/// |---|---|
/// | [`max_connections`](Self::max_connections) | 256, lowered to fit the descriptor limit |
/// | [`max_connections_per_host`](Self::max_connections_per_host) | same as `max_connections` |
/// | [`connect_timeout`](Self::connect_timeout) (DNS + TCP connect + TLS handshake) | 10 s |
/// | [`timeout`](Self::timeout) (whole request) | 30 s |
/// | [`read_idle_timeout`](Self::read_idle_timeout) (nothing received) | off |
/// | [`max_head_size`](Self::max_head_size) | 64 KiB |
/// | [`max_headers`](Self::max_headers) | 100 |
/// | [`max_body_size`](Self::max_body_size) | 1 GiB (after decoding) |
/// | [`max_redirects`](Self::max_redirects) | 10 |
/// | [`decompress`](Self::decompress) | on with the `gzip` (default), `brotli` or `zstd` feature |
/// | [`proxy`](Self::proxy) | none |
/// | [`proxy_from_env`](Self::proxy_from_env) | off |
/// | [`dns_threads`](Self::dns_threads) | 4 |
/// | [`dns_cache_ttl`](Self::dns_cache_ttl) | 60 s |
/// | [`pool_idle_timeout`](Self::pool_idle_timeout) | 4 s |
/// | [`pool_max_idle_per_host`](Self::pool_max_idle_per_host) | no limit beyond `max_connections_per_host` |
/// | [`pool_max_idle`](Self::pool_max_idle) | no limit beyond `max_connections` |
/// | [`retry`](Self::retry) | none (only the transparent retry of a stale kept-alive connection) |
/// | [`max_requests_per_second_per_host`](Self::max_requests_per_second_per_host) | no limit |
/// | [`max_burst_per_host`](Self::max_burst_per_host) | 1 (more for rates over 100/s: 10 ms worth) |
/// | [`min_delay_per_host`](Self::min_delay_per_host) | none |
/// | [`max_requests_per_second`](Self::max_requests_per_second) (all origins) | no limit |
/// | [`pause_on_retry_after`](Self::pause_on_retry_after) | on with a retry policy or a per-host limit |
/// | [`happy_eyeballs_delay`](Self::happy_eyeballs_delay) | 250 ms |
/// | `User-Agent` | `multifetch/<version>` |
/// | `Accept` | `*/*` |
/// | TLS roots (`tls` feature) | webpki-roots (Mozilla's), plus any added |
/// | [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs) (`tls` feature) | false: certificates and names are verified |
/// | HTTP/2 (`http2` feature) | offered in TLS ALPN (`h2`, `http/1.1`); cleartext is HTTP/1.1 |
/// | [`http2_prior_knowledge`](Self::http2_prior_knowledge) | off |
/// | [`http2_max_concurrent_streams`](Self::http2_max_concurrent_streams) | 1,000 (the server's limit decides below it) |
/// | [`http2_max_connections_per_host`](Self::http2_max_connections_per_host) | 1 |
/// | [`http2_initial_stream_window_size`](Self::http2_initial_stream_window_size) | 4 MiB |
/// | [`http2_initial_connection_window_size`](Self::http2_initial_connection_window_size) | 16 MiB |
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    config: Config,
    per_host_set: bool,
    read_proxy_env: bool,
    /// `pause_on_retry_after` as the caller set it, if they did.
    pause_set: Option<bool>,
    #[cfg(feature = "tls")]
    roots: crate::tls::Roots,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// A builder with the defaults listed above.
    pub fn new() -> ClientBuilder {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("multifetch/", env!("CARGO_PKG_VERSION"))),
        );
        default_headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let max_connections = default_max_connections(open_files_limit());
        ClientBuilder {
            config: Config {
                max_connections,
                max_connections_per_host: max_connections,
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                timeout: Some(DEFAULT_TIMEOUT),
                read_idle_timeout: None,
                limits: h1::Limits::default(),
                resolve: HashMap::new(),
                default_headers,
                dns_threads: DEFAULT_DNS_THREADS,
                dns_cache_ttl: DEFAULT_DNS_CACHE_TTL,
                pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
                pool_max_idle_per_host: usize::MAX,
                pool_max_idle: usize::MAX,
                max_redirects: DEFAULT_MAX_REDIRECTS,
                decompress: cfg!(feature = "_decode"),
                proxies: Vec::new(),
                retry: None,
                pacing: Pacing::default(),
                pause_on_retry_after: false,
                happy_eyeballs_delay: DEFAULT_HAPPY_EYEBALLS_DELAY,
                #[cfg(feature = "cookies")]
                cookies: None,
                http2: Http2Config::default(),
                #[cfg(feature = "tls")]
                tls: None,
            },
            per_host_set: false,
            read_proxy_env: false,
            pause_set: None,
            #[cfg(feature = "tls")]
            roots: crate::tls::Roots::default(),
        }
    }

    /// How many connections may be open at once, over all hosts (at least 1),
    /// idle kept-alive ones included. Requests beyond it wait in a queue.
    ///
    /// The default is 256, or less when the process's limit on open file
    /// descriptors is low: at most half of what that limit leaves after 64
    /// descriptors for the rest of the program. The limit is read from
    /// `/proc/self/limits` where that exists (Linux); elsewhere the default is
    /// 256. Whatever the setting, running out of descriptors never crashes a
    /// batch: requests wait for a connection to close, and fail only when
    /// none is open.
    pub fn max_connections(mut self, n: usize) -> ClientBuilder {
        self.config.max_connections = n.max(1);
        self
    }

    /// How many connections may be open at once to one origin (scheme, host,
    /// port); at least 1. Unset, it follows `max_connections`.
    pub fn max_connections_per_host(mut self, n: usize) -> ClientBuilder {
        self.config.max_connections_per_host = n.max(1);
        self.per_host_set = true;
        self
    }

    /// Deadline for name resolution plus the TCP connect plus, for https,
    /// the TLS handshake, per connection: a server that accepts the
    /// connection and never completes the handshake is cut off here, with a
    /// [`Timeout`](crate::ErrorKind::Timeout) in
    /// [`Phase::TlsHandshake`](crate::Phase::TlsHandshake). With several
    /// addresses it bounds all the attempts together (see
    /// [`happy_eyeballs_delay`](Self::happy_eyeballs_delay)); the next
    /// address starts early enough that every one is tried before it runs
    /// out. `None` waits as long as the OS does. Under a
    /// [`retry`](Self::retry) policy each attempt gets its own connect
    /// timeout.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> ClientBuilder {
        self.config.connect_timeout = timeout.into();
        self
    }

    /// Deadline for the whole request, from leaving the queue to the last
    /// body byte. A server that sends nothing, or one byte at a time, is cut
    /// off here. `None` disables it.
    ///
    /// It spans every redirect hop and every attempt of a
    /// [`retry`](Self::retry) policy, waits between attempts included: a
    /// retry whose wait would end past it is not made. Time spent queued
    /// before the first attempt (for a connection, or for a turn at a paced
    /// origin) does not count; a retried request that waits in a queue past
    /// its deadline ends with a [`Timeout`](crate::ErrorKind::Timeout) in
    /// [`Phase::Queued`](crate::Phase::Queued).
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> ClientBuilder {
        self.config.timeout = timeout.into();
        self
    }

    /// How long a response may send nothing at all: from the request being
    /// sent to the first response byte, and between any two reads after
    /// that. A server that goes quiet is cut off with a
    /// [`Timeout`](crate::ErrorKind::Timeout) in
    /// [`Phase::ReadIdle`](crate::Phase::ReadIdle) ("timeout after 30s with
    /// nothing received from 10.0.0.1:80"), while a healthy stream runs as
    /// long as it keeps sending. Off (`None`) by default, as in curl and
    /// reqwest; [`Request::read_idle_timeout`](crate::Request::read_idle_timeout)
    /// sets it per request.
    ///
    /// It is the timeout to keep on for long downloads and responses that
    /// never end (server-sent events), whose whole-request
    /// [`timeout`](Self::timeout) is turned off with
    /// [`Request::timeout`](crate::Request::timeout). While a slow sink
    /// holds the connection back (backpressure) the clock is stopped. For
    /// a server-sent event stream, pick more than the server's keep-alive
    /// comment interval.
    pub fn read_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> ClientBuilder {
        self.config.read_idle_timeout = timeout.into();
        self
    }

    /// Largest response head (status line and headers) accepted, in bytes;
    /// a larger one is a [`TooLarge`](crate::ErrorKind::TooLarge) error
    /// whose message names this limit. Default 64 KiB
    /// ([`DEFAULT_MAX_HEAD_BYTES`](crate::DEFAULT_MAX_HEAD_BYTES)).
    ///
    /// For comparison: curl accepts up to 300 KiB of response headers in all
    /// (`MAX_HTTP_RESP_HEADER_SIZE` in its `lib/http.h`) and 100 KiB for one
    /// header (`CURL_MAX_HTTP_HEADER`); hyper's HTTP/1 read buffer, which
    /// bounds a head, defaults to 8 KiB + 400 KiB (`DEFAULT_MAX_BUFFER_SIZE`
    /// in `src/proto/h1/io.rs`). 64 KiB holds any head a real server sends
    /// (nginx refuses requests with more than 32 KiB of headers by default)
    /// while keeping a hostile one cheap across thousands of connections.
    pub fn max_head_size(mut self, bytes: usize) -> ClientBuilder {
        self.config.limits.max_head_bytes = bytes;
        self
    }

    /// Most response header fields accepted; more is a
    /// [`TooLarge`](crate::ErrorKind::TooLarge) error naming this limit.
    /// Default 100 ([`DEFAULT_MAX_HEADERS`](crate::DEFAULT_MAX_HEADERS)),
    /// the same as hyper (`DEFAULT_MAX_HEADERS` in `src/proto/h1/role.rs`).
    pub fn max_headers(mut self, n: usize) -> ClientBuilder {
        self.config.limits.max_headers = n;
        self
    }

    /// Largest response body accepted, in bytes; a larger one is a
    /// [`TooLarge`](crate::ErrorKind::TooLarge) error naming this limit.
    /// Default 1 GiB ([`DEFAULT_MAX_BODY_BYTES`](crate::DEFAULT_MAX_BODY_BYTES)).
    ///
    /// The limit applies to the body as the caller gets it: after chunked
    /// transfer decoding and after gzip/deflate decoding, so a small
    /// compressed "bomb" stops at the limit. A `Content-Length` over the
    /// limit fails before the body is read.
    ///
    /// For comparison: neither curl (`CURLOPT_MAXFILESIZE`, default none)
    /// nor hyper limit a body by default; a batch fetcher holds whole bodies
    /// in memory, so this one does. It applies to bodies kept in memory
    /// only: a 2xx body going to a sink ([`Request::to_file`](crate::Request::to_file),
    /// [`to_writer`](crate::Request::to_writer),
    /// [`stream_chunks`](crate::Request::stream_chunks)) has no size limit.
    pub fn max_body_size(mut self, bytes: u64) -> ClientBuilder {
        self.config.limits.max_body_bytes = bytes;
        self
    }

    /// Most redirects followed for one request (301, 302, 303, 307, 308);
    /// 0 turns following off, so every 3xx comes back as it is. Default 10
    /// ([`DEFAULT_MAX_REDIRECTS`]), as in reqwest.
    ///
    /// A chain longer than this, or a loop, is a
    /// [`Redirect`](crate::ErrorKind::Redirect) error naming the chain. A 3xx
    /// without a usable `Location` is returned as it is, and
    /// [`Response::redirect_declined`](crate::Response::redirect_declined)
    /// says why (raw non-ASCII bytes in a `Location` are percent-encoded and
    /// followed, as curl and browsers do). 303 turns any method
    /// but HEAD into GET, and 301 and 302 turn POST into GET (as browsers do);
    /// 307 and 308 keep the method and body. `Authorization`, `Cookie` and
    /// `Proxy-Authorization` are dropped when the scheme, host or port
    /// changes. Every hop counts against the whole-request
    /// [`timeout`](Self::timeout) and may reuse a kept-alive connection;
    /// [`Response::redirects`](crate::Response::redirects) tells how many
    /// were followed and [`Response::url`](crate::Response::url) where the
    /// chain ended.
    pub fn max_redirects(mut self, n: u32) -> ClientBuilder {
        self.config.max_redirects = n;
        self
    }

    /// Whether to ask for compressed bodies and decode them. On by default
    /// when any decoding feature is built: `gzip` (gzip and deflate, a
    /// default feature), `brotli` (`br`) and `zstd`, both off by default.
    /// `Accept-Encoding` names exactly the codings built in, e.g. `gzip,
    /// deflate` by default and `gzip, deflate, br, zstd` with all three;
    /// without any of them this does nothing.
    ///
    /// The header is added only to requests that set no `Accept-Encoding`
    /// themselves (or through [`default_header`](Self::default_header)); a
    /// request that sets its own gets the body exactly as the server sent it.
    /// Nor is it added to a request with `Range` (as in reqwest): a range of a
    /// compressed representation cannot be decoded on its own, so the
    /// `206` carries the raw bytes asked for.
    ///
    /// `Content-Encoding` lists are undone in reverse order of application
    /// (RFC 9110 §8.4), `identity` ignored, with the body limit applied to
    /// every layer (the limit stops a brotli or zstd bomb as it stops a
    /// gzip one); a list with a coding this build does not decode (or more
    /// than 5) is handed over raw, with its header.
    /// A decoded response loses its `Content-Encoding` and `Content-Length`
    /// headers, as in reqwest. A corrupt or cut-short compressed body is a
    /// [`Decode`](crate::ErrorKind::Decode) error.
    pub fn decompress(mut self, on: bool) -> ClientBuilder {
        self.config.decompress = on && cfg!(feature = "_decode");
        self
    }

    /// Sends requests through `proxy` (for the URLs it applies to). Several
    /// proxies may be added; the first that applies to a URL is used, and
    /// ones added here come before those from
    /// [`proxy_from_env`](Self::proxy_from_env).
    pub fn proxy(mut self, proxy: Proxy) -> ClientBuilder {
        self.config.proxies.push(proxy);
        self
    }

    /// Whether to take proxies from the environment when the client is
    /// built: `http_proxy` (lowercase only) for http URLs, `https_proxy` /
    /// `HTTPS_PROXY` for https URLs, `all_proxy` / `ALL_PROXY` for both, and
    /// `no_proxy` / `NO_PROXY` for hosts to reach directly (see
    /// [`Proxy::no_proxy`] for its syntax). Off by default.
    ///
    /// curl and reqwest read these variables unless told not to; this crate
    /// reads them only when asked, because a batch fetcher started from a
    /// shell that happens to export a proxy should not silently send a
    /// million requests through it.
    pub fn proxy_from_env(mut self, on: bool) -> ClientBuilder {
        self.read_proxy_env = on;
        self
    }

    /// Pins `host` to `addrs`, skipping DNS for it (like curl's `--resolve`).
    /// The port still comes from each URL.
    pub fn resolve(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> ClientBuilder {
        self.config
            .resolve
            .insert(host.to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }

    /// How many threads may run blocking system name lookups at once (at
    /// least 1). They start on demand and stop with the reactor.
    pub fn dns_threads(mut self, n: usize) -> ClientBuilder {
        self.config.dns_threads = n.max(1);
        self
    }

    /// How long a resolved name is reused before it is looked up again.
    /// Default 60 s. Failed lookups are remembered for at most 5 seconds.
    pub fn dns_cache_ttl(mut self, ttl: Duration) -> ClientBuilder {
        self.config.dns_cache_ttl = ttl;
        self
    }

    /// How long an idle kept-alive connection is kept for reuse. Default 4 s.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.pool_idle_timeout = timeout;
        self
    }

    /// Most idle connections kept per origin; 0 turns keep-alive off (every
    /// connection is closed after its response). Default: no limit beyond
    /// [`max_connections_per_host`](Self::max_connections_per_host).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> ClientBuilder {
        self.config.pool_max_idle_per_host = n;
        self
    }

    /// Most idle connections kept over all origins. Default: no limit beyond
    /// [`max_connections`](Self::max_connections).
    pub fn pool_max_idle(mut self, n: usize) -> ClientBuilder {
        self.config.pool_max_idle = n;
        self
    }

    /// Runs failed requests again under `policy`: connect and DNS failures,
    /// timeouts before the first response byte, resets before the response,
    /// and 429 and 503 responses by default, with exponential backoff and
    /// full jitter, honouring `Retry-After` (see [`RetryPolicy`]). Off by
    /// default, as in curl (`--retry`) and reqwest; aiohttp has no retries.
    pub fn retry(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.config.retry = Some(policy);
        self
    }

    /// Most requests started per second to one origin (scheme, host, port;
    /// the unit of [`max_connections_per_host`](Self::max_connections_per_host)),
    /// as a token bucket: [`max_burst_per_host`](Self::max_burst_per_host)
    /// requests may start back to back, then one every `1 / rate` seconds.
    /// Every request counts, redirect hops and retries included, whether it
    /// opens a connection or reuses one. Requests waiting for their turn
    /// hold up no other origin, and the reactor sleeps until the next turn
    /// (no busy-waiting). A rate that is not a positive number turns the
    /// limit off, the default.
    pub fn max_requests_per_second_per_host(mut self, rate: f64) -> ClientBuilder {
        self.config.pacing.per_host_interval = interval(rate);
        self
    }

    /// How many requests to one origin may start back to back under
    /// [`max_requests_per_second_per_host`](Self::max_requests_per_second_per_host)
    /// (the token bucket's size; at least 1). Default: 1, so requests are
    /// evenly spaced; for rates over 100 a second, 10 ms worth of the rate
    /// (the reactor's timers have millisecond precision).
    pub fn max_burst_per_host(mut self, burst: u32) -> ClientBuilder {
        self.config.pacing.per_host_burst = Some(burst.max(1));
        self
    }

    /// Least time between the starts of two requests to one origin, a
    /// crawl delay (Scrapy's `DOWNLOAD_DELAY`, robots.txt's `Crawl-delay`).
    /// Combines with the per-origin rate: both must allow a request.
    /// Default none.
    pub fn min_delay_per_host(mut self, delay: Duration) -> ClientBuilder {
        self.config.pacing.min_delay = (!delay.is_zero()).then_some(delay);
        self
    }

    /// Most requests started per second over all origins, as a token bucket
    /// whose size is 10 ms worth of the rate (at least 1). A rate that is
    /// not a positive number turns the limit off, the default.
    pub fn max_requests_per_second(mut self, rate: f64) -> ClientBuilder {
        self.config.pacing.global_interval = interval(rate);
        self
    }

    /// Whether a 429 Too Many Requests or 503 Service Unavailable response
    /// with `Retry-After` pauses new requests to its origin until then
    /// (capped by the retry policy's
    /// [`max_retry_after`](RetryPolicy::max_retry_after), 60 s by default):
    /// a server that said "slow down" is not hit by the next queued request.
    /// By default on when the client has a [`retry`](Self::retry) policy or
    /// a per-origin limit, off otherwise.
    pub fn pause_on_retry_after(mut self, on: bool) -> ClientBuilder {
        self.pause_set = Some(on);
        self
    }

    /// RFC 8305 §5's "Connection Attempt Delay" (Happy Eyeballs): when a name
    /// has several addresses, each connect attempt runs this long alone
    /// before the next address is tried beside it (at once when an attempt
    /// fails); the first to connect wins and the others are closed. The
    /// addresses are tried IPv6 and IPv4 in turn (RFC 8305 §4), starting
    /// with the resolver's first. Default 250 ms, as RFC 8305 recommends
    /// (curl: 200 ms, `--happy-eyeballs-timeout-ms`). The
    /// [`connect_timeout`](Self::connect_timeout) bounds all attempts
    /// together, and the delay shrinks when it must so that every address
    /// is tried before that runs out.
    pub fn happy_eyeballs_delay(mut self, delay: Duration) -> ClientBuilder {
        self.config.happy_eyeballs_delay = delay;
        self
    }

    /// Keeps cookies: a jar shared by every request and redirect hop of the
    /// client (and its clones), filled from `Set-Cookie` and sent back in
    /// `Cookie` (RFC 6265). Replaces any jar set before. Off by default (as
    /// in reqwest; curl keeps cookies only with `-b`/`-c`, aiohttp always).
    /// Needs the `cookies` feature.
    #[cfg(feature = "cookies")]
    pub fn cookie_store(mut self, on: bool) -> ClientBuilder {
        self.config.cookies = on.then(crate::cookies::CookieJar::new);
        self
    }

    /// Uses `jar` for cookies (for one loaded from disk, or shared between
    /// clients); see [`cookie_store`](Self::cookie_store).
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(mut self, jar: crate::cookies::CookieJar) -> ClientBuilder {
        self.config.cookies = Some(jar);
        self
    }

    /// Sets a header sent with every request that does not set it itself
    /// (replacing a default such as `User-Agent`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) for an
    /// invalid name or value.
    pub fn default_header<K, V>(mut self, name: K, value: V) -> Result<ClientBuilder>
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        let invalid = |e: http::Error| Error::new(Reason::InvalidHeader(e.to_string()));
        let name = name.try_into().map_err(|e| invalid(e.into()))?;
        let value = value.try_into().map_err(|e| invalid(e.into()))?;
        self.config.default_headers.insert(name, value);
        Ok(self)
    }

    /// Trusts the certificates of a PEM bundle (`-----BEGIN CERTIFICATE-----`
    /// blocks) as roots, besides the built-in ones: for a private CA, or a
    /// test server's certificate authority.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Tls`](crate::ErrorKind::Tls) when the text holds no
    /// certificate or a malformed one.
    #[cfg(feature = "tls")]
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<ClientBuilder> {
        self.roots
            .add_pem(pem)
            .map_err(|message| Error::new(Reason::TlsConfig(message)))?;
        Ok(self)
    }

    /// Trusts a DER-encoded certificate as a root, besides the built-in ones.
    /// It is checked by [`build`](Self::build).
    #[cfg(feature = "tls")]
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> ClientBuilder {
        self.roots
            .extra
            .push(rustls::pki_types::CertificateDer::from(der.into()));
        self
    }

    /// Whether to trust the built-in roots (Mozilla's, from webpki-roots);
    /// on by default. With `false`, only roots added by
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) or
    /// [`add_root_certificate_der`](Self::add_root_certificate_der) are
    /// trusted.
    #[cfg(feature = "tls")]
    pub fn tls_built_in_roots(mut self, enabled: bool) -> ClientBuilder {
        self.roots.built_in = enabled;
        self
    }

    /// Accepts any server certificate for any name: expired, self-signed,
    /// issued by an unknown CA or for another host. Off (`false`) by default.
    ///
    /// **This turns HTTPS into encryption without authentication**: anyone
    /// on the path can impersonate the server and read and change what is
    /// sent. It is meant for tests and for hosts on a trusted network whose
    /// certificate cannot be fixed; trusting the right CA with
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) is
    /// almost always the better fix. It is curl's `-k`/`--insecure` and
    /// reqwest's method of the same name.
    ///
    /// The handshake itself still has to succeed: the server must sign it
    /// with the key of the certificate it presents, and a server that does
    /// not speak TLS still fails with [`ErrorKind::Tls`](crate::ErrorKind::Tls).
    /// Added roots and [`tls_built_in_roots`](Self::tls_built_in_roots) are
    /// not consulted while this is on.
    #[cfg(feature = "tls")]
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.roots.accept_invalid = accept;
        self
    }

    /// Turns HTTP/2 off: TLS offers only `http/1.1` in ALPN, and
    /// [`http2_prior_knowledge`](Self::http2_prior_knowledge) is ignored.
    /// Without the `http2` feature every request is HTTP/1.1 anyway.
    pub fn http1_only(mut self) -> ClientBuilder {
        self.config.http2.enabled = false;
        self
    }

    /// Speaks HTTP/2 on cleartext `http` URLs from the first byte, without
    /// an upgrade (h2c with prior knowledge, RFC 9113 §3.3; curl's
    /// `--http2-prior-knowledge`, reqwest's `http2_prior_knowledge`). Use
    /// it only for servers known to speak h2c: an HTTP/1.1-only server
    /// answers the connection preface with an error or closes the
    /// connection, and the request fails with a
    /// [`Protocol`](crate::ErrorKind::Protocol) or
    /// [`Io`](crate::ErrorKind::Io) error. Requests through a forwarding
    /// proxy (plain `http` URLs with a [`Proxy`]) stay HTTP/1.1. `https`
    /// URLs negotiate with ALPN whatever this says.
    #[cfg(feature = "http2")]
    pub fn http2_prior_knowledge(mut self) -> ClientBuilder {
        self.config.http2.prior_knowledge = true;
        self
    }

    /// Most requests one HTTP/2 connection carries at once (at least 1):
    /// the connection takes min(this, the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS), and 100 until the server's first
    /// SETTINGS arrives (RFC 9113 §5.1.2). Further requests to the origin
    /// wait for a stream to close, or open another connection as
    /// [`http2_max_connections_per_host`](Self::http2_max_connections_per_host)
    /// allows. Default 1,000
    /// ([`DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS`](crate::DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS)).
    #[cfg(feature = "http2")]
    pub fn http2_max_concurrent_streams(mut self, n: u32) -> ClientBuilder {
        self.config.http2.max_concurrent_streams = n.max(1);
        self
    }

    /// Most HTTP/2 connections open at once to one origin (at least 1;
    /// default 1). A further connection opens only when every stream of
    /// the open ones is taken, and only within
    /// [`max_connections_per_host`](Self::max_connections_per_host): the
    /// behaviour of Go's transport (`StrictMaxConcurrentStreams` off).
    ///
    /// The trade-off: one connection is what RFC 9113 §9.1 asks of clients
    /// and what a server's stream limit is meant to bound; several
    /// connections multiply what one client may have in flight at a server
    /// (n × its stream limit), each with its own TCP congestion window and
    /// TLS handshake. On a long link with many small requests they cut the
    /// wall time (each connection carries a stream limit's worth of requests
    /// per round trip); to a server that asks for politeness they are less
    /// polite.
    #[cfg(feature = "http2")]
    pub fn http2_max_connections_per_host(mut self, n: usize) -> ClientBuilder {
        self.config.http2.max_connections_per_host = n.max(1);
        self
    }

    /// The receive window of each HTTP/2 stream (SETTINGS_INITIAL_WINDOW_SIZE),
    /// in bytes, at most 2^31−1: how much of one body the server may send
    /// before the client has taken it in. Default 4 MiB
    /// ([`DEFAULT_HTTP2_STREAM_WINDOW`](crate::DEFAULT_HTTP2_STREAM_WINDOW));
    /// never more than [`max_body_size`](Self::max_body_size) allows.
    /// One stream moves at most a window per round trip.
    #[cfg(feature = "http2")]
    pub fn http2_initial_stream_window_size(mut self, bytes: u32) -> ClientBuilder {
        self.config.http2.stream_window = bytes;
        self
    }

    /// The receive window of each HTTP/2 connection, shared by its streams,
    /// in bytes (65,535 up to 2^31−1). Default 16 MiB
    /// ([`DEFAULT_HTTP2_CONNECTION_WINDOW`](crate::DEFAULT_HTTP2_CONNECTION_WINDOW)).
    #[cfg(feature = "http2")]
    pub fn http2_initial_connection_window_size(mut self, bytes: u32) -> ClientBuilder {
        self.config.http2.connection_window = bytes;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Tls`](crate::ErrorKind::Tls) (with the `tls` feature)
    /// when an added root certificate cannot be used, or when the built-in
    /// roots are off and none were added.
    #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
    pub fn build(mut self) -> Result<Client> {
        #[cfg(feature = "tls")]
        {
            let http2 = self.config.http2.enabled;
            let config = if self.roots.is_default() {
                crate::tls::default_config(http2)
            } else {
                crate::tls::client_config(&self.roots, http2)
            };
            self.config.tls =
                Some(config.map_err(|message| Error::new(Reason::TlsConfig(message)))?);
        }
        Ok(self.finish())
    }

    pub(crate) fn finish(mut self) -> Client {
        if !self.per_host_set || self.config.max_connections_per_host > self.config.max_connections
        {
            self.config.max_connections_per_host = self.config.max_connections;
        }
        if self.read_proxy_env {
            let found = proxy::from_env(|name| std::env::var(name).ok());
            self.config.proxies.extend(found);
        }
        self.config.pause_on_retry_after = self
            .pause_set
            .unwrap_or(self.config.retry.is_some() || self.config.pacing.per_host());
        Client::with_config(self.config)
    }
}

/// The time between requests at `rate` a second; `None` for a rate that is
/// not a positive number. Rates below one a year are one a year.
fn interval(rate: f64) -> Option<Duration> {
    const YEAR: Duration = Duration::from_secs(365 * 86_400);
    (rate.is_finite() && rate > 0.0)
        .then(|| Duration::try_from_secs_f64(1.0 / rate).map_or(YEAR, |d| d.min(YEAR)))
}

/// The soft limit on open file descriptors, where the OS tells it through
/// `/proc/self/limits` (Linux); `None` elsewhere or when unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// 256, or half of what a low descriptor limit leaves after 64 for the
/// program's other files.
fn default_max_connections(open_files: Option<u64>) -> usize {
    let fits = open_files.map_or(u64::MAX, |limit| limit.saturating_sub(64) / 2);
    usize::try_from(fits)
        .unwrap_or(usize::MAX)
        .clamp(1, DEFAULT_MAX_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_connection_limit_fits_the_descriptor_limit() {
        assert_eq!(default_max_connections(None), 256);
        assert_eq!(default_max_connections(Some(20_000)), 256);
        assert_eq!(default_max_connections(Some(1024)), 256);
        assert_eq!(default_max_connections(Some(256)), 96);
        assert_eq!(default_max_connections(Some(10)), 1);
    }

    #[test]
    fn rates_become_intervals() {
        assert_eq!(interval(4.0), Some(Duration::from_millis(250)));
        assert_eq!(interval(0.5), Some(Duration::from_secs(2)));
        for off in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(interval(off), None, "{off}");
        }
        assert_eq!(interval(1e-300), Some(Duration::from_secs(365 * 86_400)));
        assert_eq!(interval(1e300), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_pauses_follow_retries_and_pacing_unless_set() {
        let pauses = |b: ClientBuilder| b.finish().config.pause_on_retry_after;
        assert!(!pauses(ClientBuilder::new()));
        assert!(pauses(ClientBuilder::new().retry(RetryPolicy::new())));
        assert!(pauses(
            ClientBuilder::new().min_delay_per_host(Duration::from_secs(1))
        ));
        assert!(pauses(
            ClientBuilder::new().max_requests_per_second_per_host(2.0)
        ));
        assert!(!pauses(
            ClientBuilder::new()
                .retry(RetryPolicy::new())
                .pause_on_retry_after(false)
        ));
        assert!(pauses(ClientBuilder::new().pause_on_retry_after(true)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn descriptor_limit_is_read_on_linux() {
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }
}
