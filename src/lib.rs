//! Fetch many HTTP URLs at once from one thread, without an async runtime.
//!
//! A [`Reactor`] wraps a `mio::Poll` and drives a slab of non-blocking
//! HTTP/1.1 connections, each a small state machine. [`Client::fetch_many`]
//! hands it a batch and returns every result, in input order, once all have
//! finished; one failure never fails the batch.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! let client = multifetch::Client::builder()
//!     .max_connections(256)
//!     .max_connections_per_host(16)
//!     .connect_timeout(Duration::from_secs(5))
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//! let results = client.fetch_many(["http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b"]);
//! for result in results {
//!     match result {
//!         Ok(response) => println!("{} {}", response.status(), response.url()),
//!         Err(error) => println!("{:?}: {error}", error.kind()),
//!     }
//! }
//! # Ok::<(), multifetch::Error>(())
//! ```
//!
//! # In scope
//!
//! - HTTP/1.1 (RFC 9110/9112): any method, request bodies with
//!   `Content-Length`; responses framed by `Content-Length`, chunked (with
//!   extensions and trailers) or connection close; 1xx responses skipped
//!   (at most [`MAX_INTERIM_RESPONSES`]);
//!   no body for `HEAD`, 204 and 304. A body that ends early is an error.
//! - Concurrency bounded in total and per origin; requests beyond the bounds
//!   wait in a queue.
//! - DNS through the system resolver on helper threads (so `/etc/hosts`
//!   works), cached (at most [`DNS_CACHE_MAX_ENTRIES`] names), never
//!   blocking the loop; hosts can be pinned to addresses
//!   ([`ClientBuilder::resolve`]). Every address is tried, with Happy
//!   Eyeballs (RFC 8305: overlapping attempts, IPv6 and IPv4 in turns;
//!   [`ClientBuilder::happy_eyeballs_delay`]).
//! - A connect timeout and a whole-request timeout; an error says which
//!   phase ran out of time.
//! - Retries with exponential backoff, full jitter and `Retry-After`
//!   ([`ClientBuilder::retry`], [`RetryPolicy`]); per-origin and global
//!   pacing ([`ClientBuilder::max_requests_per_second_per_host`],
//!   [`ClientBuilder::min_delay_per_host`],
//!   [`ClientBuilder::max_requests_per_second`]), with a 429/503's
//!   `Retry-After` pausing its origin. Waits are timers of the loop, never
//!   sleeps.
//! - Limits on the response head, header count and body size.
//! - HTTPS (the `tls` feature, on by default) through rustls, driven by
//!   the same single-threaded loop as plain connections: TLS 1.2 and 1.3,
//!   SNI, ALPN `http/1.1`, certificates verified against Mozilla's roots
//!   (webpki-roots) and any the builder adds
//!   (`ClientBuilder::add_root_certificate_pem`).
//! - Redirects ([`ClientBuilder::max_redirects`]; a redirect handed back
//!   says why in [`Response::redirect_declined`]), gzip/deflate decoding of
//!   single codings and `Content-Encoding` lists
//!   ([`ClientBuilder::decompress`]), basic auth ([`Request::basic_auth`]),
//!   HTTP proxies with `CONNECT` tunnels and `no_proxy` ([`Proxy`]).
//!
//! # Crate features
//!
//! - `gzip` (default): decode `Content-Encoding: gzip` and `deflate` bodies
//!   and send `Accept-Encoding: gzip, deflate`.
//! - `tls` (default): HTTPS through rustls with the `ring` crypto provider
//!   and webpki-roots. `ring` needs only a C compiler to build, where
//!   rustls's default `aws-lc-rs` also wants cmake (and NASM on Windows).
//!   Without the feature the crate speaks plain HTTP only, and an https URL
//!   fails with an [`ErrorKind::InvalidUrl`] error saying the feature is off.
//! - `http2` (default): the sans-IO HTTP/2 engine (not yet used by the
//!   client).
//! - `cookies` (off): a cookie jar per client
//!   (`ClientBuilder::cookie_store`, `CookieJar`) kept by the
//!   `cookie_store` crate, with Mozilla's public suffix list compiled in
//!   (the `psl` crate) and JSON save and load.
//!
//! # Out of scope
//!
//! HTTP/2 and HTTP/3 on the wire, an async (`Future`) API.
//!
//! # Examples
//!
//! `examples/demo.rs` (`cargo run --release --example demo`) starts local
//! slow servers and compares sequential, threaded and multiplexed fetching;
//! `examples/fetch.rs` is a command-line fetcher for URL lists;
//! `examples/crawl.rs` a polite crawler with pacing and retries.
//!
//! # Errors
//!
//! Every failure is an [`Error`] with a [`kind`](Error::kind) to match on and
//! a message naming what happened, where, and the URL.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

// The module graph (see ARCHITECTURE.md): client → reactor → exchange /
// connection → h1 / stream / tls; config, handle and timer at the bottom.
mod builder;
mod client;
mod completion;
mod config;
mod connection;
#[cfg(feature = "cookies")]
mod cookies;
mod decode;
mod dns;
mod error;
mod exchange;
mod h1;
#[cfg(feature = "http2")]
mod h2;
mod handle;
mod origin;
mod pacing;
mod pool;
mod proxy;
mod reactor;
mod redirect;
mod request;
mod response;
mod retry;
mod stream;
mod summary;
#[cfg(test)]
mod tests;
mod timer;
#[cfg(feature = "tls")]
mod tls;

pub use builder::ClientBuilder;
pub use client::Client;
pub use completion::{Completion, Counters, RequestId};
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DNS_CACHE_TTL, DEFAULT_DNS_THREADS,
    DEFAULT_HAPPY_EYEBALLS_DELAY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REDIRECTS,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
};
#[cfg(feature = "cookies")]
pub use cookies::CookieJar;
pub use dns::{DNS_CACHE_MAX_AGE, DNS_CACHE_MAX_ENTRIES};
pub use error::{Error, ErrorKind, Phase, Result};
pub use h1::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, MAX_INTERIM_RESPONSES,
    NOT_HTTP_EXCERPT, ProtocolError,
};
pub use proxy::Proxy;
pub use reactor::Reactor;
pub use redirect::RedirectDeclined;
pub use request::{IntoRequest, Request};
pub use response::{Response, Timings};
pub use retry::{
    DEFAULT_MAX_RETRY_AFTER, DEFAULT_RETRY_ATTEMPTS, DEFAULT_RETRY_BASE, DEFAULT_RETRY_CAP,
    RetryPolicy,
};
pub use summary::Summary;

/// The `http` crate's vocabulary types used in this API.
pub use http::{self, HeaderMap, HeaderValue, Method, StatusCode, Version};
/// The URL type requests are made of.
pub use url::{self, Url};

/// Not public API: used by benches, fuzz targets and tests.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
