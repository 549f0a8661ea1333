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
    /// The TLS settings; `None` until [`ClientBuilder::build`](crate::ClientBuilder::build)(crate::ClientBuilder::build) makes them, and
    /// then the shared default is used (clients made by `Client::new`).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}
