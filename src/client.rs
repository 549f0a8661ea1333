//! [`Client`] and [`ClientBuilder`]: the limits, timeouts and defaults every
//! request runs under, and the batch entry points.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Reason, Result};
use crate::h1;
use crate::reactor::Reactor;
use crate::request::IntoRequest;
use crate::response::Response;

/// Default for [`ClientBuilder::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default for [`ClientBuilder::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`ClientBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`ClientBuilder::dns_threads`].
pub const DEFAULT_DNS_THREADS: usize = 4;
/// Default for [`ClientBuilder::dns_cache_ttl`].
pub const DEFAULT_DNS_CACHE_TTL: Duration = Duration::from_secs(60);

/// Everything a reactor needs to know about how to run requests.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub max_connections: usize,
    pub max_connections_per_host: usize,
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub limits: h1::Limits,
    /// Host names pinned to addresses, keyed by lowercase host.
    pub resolve: HashMap<String, Vec<IpAddr>>,
    /// Added to every request that does not set them itself.
    pub default_headers: HeaderMap,
    pub dns_threads: usize,
    pub dns_cache_ttl: Duration,
}

/// Fetches URLs; cheap to clone, and every clone shares the configuration.
///
/// # Examples
///
/// ```no_run
/// let client = multifetch::Client::new();
/// for result in client.fetch_many(["http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b"]) {
///     match result {
///         Ok(response) => println!("{} {} bytes", response.status(), response.body().len()),
///         Err(error) => eprintln!("{error}"),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) config: Arc<Config>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_connections", &self.config.max_connections)
            .field("max_connections_per_host", &self.config.max_connections_per_host)
            .field("connect_timeout", &self.config.connect_timeout)
            .field("timeout", &self.config.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with the default settings (see [`ClientBuilder`]).
    pub fn new() -> Client {
        Client { config: Arc::new(ClientBuilder::new().config) }
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Fetches one request.
    ///
    /// # Errors
    ///
    /// Any [`Error`] for this request; see [`ErrorKind`](crate::ErrorKind).
    pub fn fetch(&self, request: impl IntoRequest) -> Result<Response> {
        self.fetch_many([request]).pop().unwrap_or_else(|| Err(reactor_gone()))
    }

    /// Fetches every request concurrently and returns one result per request,
    /// in input order. A failed request fails only its own slot.
    ///
    /// All requests are queued at once; at most
    /// [`max_connections`](ClientBuilder::max_connections) run at a time.
    /// For an input too long to hold in memory, use a
    /// [`Reactor`] and submit as results come back.
    pub fn fetch_many<I>(&self, requests: I) -> Vec<Result<Response>>
    where
        I: IntoIterator,
        I::Item: IntoRequest,
    {
        let requests = requests.into_iter();
        let mut reactor = match Reactor::new(self) {
            Ok(reactor) => reactor,
            Err(error) => return requests.map(|_| Err(copy_error(&error))).collect(),
        };
        let mut results: Vec<Option<Result<Response>>> = Vec::with_capacity(requests.size_hint().0);
        let mut first = None;
        for request in requests {
            let id = reactor.submit(request);
            first.get_or_insert(id.0);
            results.push(None);
        }
        let base = first.unwrap_or(0);
        loop {
            match reactor.next_completion() {
                Ok(Some(done)) => {
                    let slot = usize::try_from(done.id.0 - base).ok().and_then(|i| results.get_mut(i));
                    if let Some(slot) = slot {
                        *slot = Some(done.result);
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    for slot in results.iter_mut().filter(|slot| slot.is_none()) {
                        *slot = Some(Err(copy_error(&error)));
                    }
                    break;
                }
            }
        }
        results.into_iter().map(|slot| slot.unwrap_or_else(|| Err(reactor_gone()))).collect()
    }
}

/// A reactor-wide failure repeated into every unfinished slot.
fn copy_error(error: &Error) -> Error {
    let kind = error.io_error().map_or(io::ErrorKind::Other, io::Error::kind);
    Error::new(Reason::Socket { source: io::Error::new(kind, error.to_string()) })
}

fn reactor_gone() -> Error {
    Error::new(Reason::Socket { source: io::Error::other("the reactor stopped before this request finished") })
}

/// Configures a [`Client`].
///
/// | setting | default |
/// |---|---|
/// | [`max_connections`](Self::max_connections) | 256 |
/// | [`max_connections_per_host`](Self::max_connections_per_host) | same as `max_connections` |
/// | [`connect_timeout`](Self::connect_timeout) (DNS + TCP connect) | 10 s |
/// | [`timeout`](Self::timeout) (whole request) | 30 s |
/// | [`max_head_size`](Self::max_head_size) | 64 KiB |
/// | [`max_headers`](Self::max_headers) | 100 |
/// | [`max_body_size`](Self::max_body_size) | 1 GiB |
/// | [`dns_threads`](Self::dns_threads) | 4 |
/// | [`dns_cache_ttl`](Self::dns_cache_ttl) | 60 s |
/// | `User-Agent` | `multifetch/<version>` |
/// | `Accept` | `*/*` |
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    config: Config,
    per_host_set: bool,
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
        ClientBuilder {
            config: Config {
                max_connections: DEFAULT_MAX_CONNECTIONS,
                max_connections_per_host: DEFAULT_MAX_CONNECTIONS,
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                timeout: Some(DEFAULT_TIMEOUT),
                limits: h1::Limits::default(),
                resolve: HashMap::new(),
                default_headers,
                dns_threads: DEFAULT_DNS_THREADS,
                dns_cache_ttl: DEFAULT_DNS_CACHE_TTL,
            },
            per_host_set: false,
        }
    }

    /// How many connections may be open at once, over all hosts (at least 1).
    /// Requests beyond it wait in a queue.
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

    /// Deadline for name resolution plus the TCP connect, per connection.
    /// With several addresses, each attempt gets an equal share of what is
    /// left, so every address is tried. `None` waits as long as the OS does.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> ClientBuilder {
        self.config.connect_timeout = timeout.into();
        self
    }

    /// Deadline for the whole request, from leaving the queue to the last
    /// body byte. A server that sends nothing, or one byte at a time, is cut
    /// off here. `None` disables it.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> ClientBuilder {
        self.config.timeout = timeout.into();
        self
    }

    /// Largest response head (status line and headers) accepted, in bytes.
    pub fn max_head_size(mut self, bytes: usize) -> ClientBuilder {
        self.config.limits.max_head_bytes = bytes;
        self
    }

    /// Most response header fields accepted.
    pub fn max_headers(mut self, n: usize) -> ClientBuilder {
        self.config.limits.max_headers = n;
        self
    }

    /// Largest response body accepted, in bytes; a larger one is a
    /// [`TooLarge`](crate::ErrorKind::TooLarge) error.
    pub fn max_body_size(mut self, bytes: u64) -> ClientBuilder {
        self.config.limits.max_body_bytes = bytes;
        self
    }

    /// Pins `host` to `addrs`, skipping DNS for it (like curl's `--resolve`).
    /// The port still comes from each URL.
    pub fn resolve(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> ClientBuilder {
        self.config.resolve.insert(host.to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }

    /// How many threads may run blocking system name lookups at once (at
    /// least 1). They start on demand and stop with the reactor.
    pub fn dns_threads(mut self, n: usize) -> ClientBuilder {
        self.config.dns_threads = n.max(1);
        self
    }

    /// How long a resolved name is reused before it is looked up again.
    /// Failed lookups are remembered for at most 5 seconds.
    pub fn dns_cache_ttl(mut self, ttl: Duration) -> ClientBuilder {
        self.config.dns_cache_ttl = ttl;
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

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// None yet; kept fallible so that settings that need checking (TLS roots)
    /// can report problems here.
    pub fn build(mut self) -> Result<Client> {
        if !self.per_host_set || self.config.max_connections_per_host > self.config.max_connections {
            self.config.max_connections_per_host = self.config.max_connections;
        }
        Ok(Client { config: Arc::new(self.config) })
    }
}
