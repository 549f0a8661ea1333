//! [`Config`]: every limit, timeout and default a reactor runs under, read
//! by every layer. It imports nothing above it (only the vocabulary of the
//! layers below: h1 limits, proxies).

use std::collections::HashMap;
use std::net::IpAddr;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderMap;

use crate::h1;
use crate::proxy::Proxy;
use crate::retry::RetryPolicy;

/// Upper bound of the default for [`ClientBuilder::max_connections`](crate::ClientBuilder::max_connections) (see
/// there for how the process's descriptor limit lowers it).
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default for [`ClientBuilder::pool_idle_timeout`](crate::ClientBuilder::pool_idle_timeout): shorter than the
/// keep-alive timeouts of common servers (Apache httpd and Node.js 5 s,
/// nginx 75 s), so the client, not the server, usually ends an idle
/// connection.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Default for [`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ClientBuilder::timeout`](crate::ClientBuilder::timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ClientBuilder::max_redirects`](crate::ClientBuilder::max_redirects), as in reqwest and
/// browsers (curl follows none unless asked, then up to 50).
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;
/// Default for [`ClientBuilder::dns_threads`](crate::ClientBuilder::dns_threads).
pub const DEFAULT_DNS_THREADS: usize = 4;
/// Default for [`ClientBuilder::dns_cache_ttl`](crate::ClientBuilder::dns_cache_ttl).
pub const DEFAULT_DNS_CACHE_TTL: Duration = Duration::from_secs(60);
/// Default for [`ClientBuilder::happy_eyeballs_delay`](crate::ClientBuilder::happy_eyeballs_delay):
/// RFC 8305 §5's recommended "Connection Attempt Delay".
pub const DEFAULT_HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// The request-rate limits (see `pacing.rs`); every field `None` turns
/// pacing off.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Pacing {
    /// Time between two requests to one origin at the per-origin rate.
    pub per_host_interval: Option<Duration>,
    /// Requests to one origin that may start back to back (the bucket's
    /// size); `None`: the default for the rate.
    pub per_host_burst: Option<u32>,
    /// Least time between the starts of two requests to one origin.
    pub min_delay: Option<Duration>,
    /// Time between two requests over all origins at the global rate.
    pub global_interval: Option<Duration>,
}

impl Pacing {
    /// True when any per-origin limit is set.
    pub(crate) fn per_host(&self) -> bool {
        self.per_host_interval.is_some() || self.min_delay.is_some()
    }
}

/// Default for `ClientBuilder::http2_max_concurrent_streams`: the most
/// streams one HTTP/2 connection carries at once, when the server allows
/// more (its SETTINGS_MAX_CONCURRENT_STREAMS decides below this). 1,000 is
/// what Go's transport assumes of a server that names no limit; servers
/// name less (nginx 128, h2o 100, Apache 100).
pub const DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS: u32 = 1000;

/// HTTP/2 settings (the `http2` feature; without it only `enabled`, always
/// false, is read).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "http2"), allow(dead_code))]
pub(crate) struct Http2Config {
    /// Whether HTTP/2 may be used at all (`false` with `http1_only`, or
    /// without the `http2` feature).
    pub enabled: bool,
    /// Cleartext `http` URLs speak h2 from the first byte (h2c with prior
    /// knowledge, RFC 9113 §3.3).
    pub prior_knowledge: bool,
    /// Most streams at once on one connection (below the server's limit).
    pub max_concurrent_streams: u32,
    /// Most h2 connections per origin; a further one opens only when every
    /// stream slot of the others is taken.
    pub max_connections_per_host: usize,
    /// SETTINGS_INITIAL_WINDOW_SIZE we send, in bytes.
    pub stream_window: u32,
    /// The connection's receive window, in bytes.
    pub connection_window: u32,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            enabled: cfg!(feature = "http2"),
            prior_knowledge: false,
            max_concurrent_streams: DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
            max_connections_per_host: 1,
            stream_window: DEFAULT_HTTP2_STREAM_WINDOW,
            connection_window: DEFAULT_HTTP2_CONNECTION_WINDOW,
        }
    }
}

/// Default for `ClientBuilder::http2_initial_stream_window_size`, in bytes:
/// the receive window of each stream. See the README's HTTP/2 section for
/// the measurements behind it.
pub const DEFAULT_HTTP2_STREAM_WINDOW: u32 = 4 << 20;
/// Default for `ClientBuilder::http2_initial_connection_window_size`, in
/// bytes: the receive window shared by all streams of a connection.
pub const DEFAULT_HTTP2_CONNECTION_WINDOW: u32 = 16 << 20;

/// Everything a reactor needs to know about how to run requests.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub max_connections: usize,
    pub max_connections_per_host: usize,
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    /// How long a response may send nothing; `None`: no limit.
    pub read_idle_timeout: Option<Duration>,
    pub limits: h1::Limits,
    /// Host names pinned to addresses, keyed by lowercase host.
    pub resolve: HashMap<String, Vec<IpAddr>>,
    /// Added to every request that does not set them itself.
    pub default_headers: HeaderMap,
    pub dns_threads: usize,
    pub dns_cache_ttl: Duration,
    pub pool_idle_timeout: Duration,
    pub pool_max_idle_per_host: usize,
    pub pool_max_idle: usize,
    /// Most redirects followed for one request; 0 returns every 3xx as is.
    pub max_redirects: u32,
    /// Whether to ask for and decode gzip/deflate bodies.
    pub decompress: bool,
    /// Proxies, the first that applies to a URL wins.
    pub proxies: Vec<Proxy>,
    /// When and how often a failed request runs again; `None`: only the
    /// transparent retry of a stale kept-alive connection.
    pub retry: Option<RetryPolicy>,
    /// Request-rate limits per origin and overall.
    pub pacing: Pacing,
    /// Whether a 429 or 503 with `Retry-After` pauses new requests to its
    /// origin (decided by the builder).
    pub pause_on_retry_after: bool,
    /// RFC 8305's Connection Attempt Delay: how long a connect attempt runs
    /// alone before the next address is tried beside it.
    pub happy_eyeballs_delay: Duration,
    /// The cookie jar every request and redirect hop shares.
    #[cfg(feature = "cookies")]
    pub cookies: Option<crate::cookies::CookieJar>,
    /// HTTP/2 negotiation and settings.
    pub http2: Http2Config,
    /// The TLS settings; `None` until [`ClientBuilder::build`](crate::ClientBuilder::build)(crate::ClientBuilder::build) makes them, and
    /// then the shared default is used (clients made by `Client::new`).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}
