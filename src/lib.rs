//! Fetch many HTTP URLs at once from one thread, without an async runtime.
//!
//! A [`Reactor`] wraps a `mio::Poll` and drives a slab of non-blocking
//! HTTP/1.1 and HTTP/2 connections, each a small state machine (an HTTP/2
//! connection carries many requests at once). [`Client::fetch_many`]
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
//! - A connect timeout, a whole-request timeout and a read-idle timeout;
//!   an error says which phase ran out of time.
//! - Retries with exponential backoff, full jitter and `Retry-After`
//!   ([`ClientBuilder::retry`], [`RetryPolicy`]); per-origin and global
//!   pacing ([`ClientBuilder::max_requests_per_second_per_host`],
//!   [`ClientBuilder::min_delay_per_host`],
//!   [`ClientBuilder::max_requests_per_second`]), with a 429/503's
//!   `Retry-After` pausing its origin. Waits are timers of the loop, never
//!   sleeps.
//! - Limits on the response head, header count and body size.
//! - HTTP/2 (RFC 9113, the `http2` feature, on by default), our own
//!   sans-IO frames, HPACK and session in the same loop: ALPN `h2` over TLS
//!   (the server decides), h2c with
//!   [`ClientBuilder::http2_prior_knowledge`], off with
//!   [`ClientBuilder::http1_only`]; one connection per origin carries up to
//!   the server's SETTINGS_MAX_CONCURRENT_STREAMS requests
//!   ([`ClientBuilder::http2_max_concurrent_streams`],
//!   [`ClientBuilder::http2_max_connections_per_host`]); GOAWAY and
//!   REFUSED_STREAM retried on a fresh connection; flow control within
//!   `max_body_size`; every protocol error names its RFC 9113 code.
//!   [`Response::version`] says which version answered.
//! - HTTPS (the `tls` feature, on by default) through rustls, driven by
//!   the same single-threaded loop as plain connections: TLS 1.2 and 1.3,
//!   SNI, ALPN `h2` and `http/1.1`, certificates verified against Mozilla's roots
//!   (webpki-roots) and any the builder adds
//!   (`ClientBuilder::add_root_certificate_pem`).
//! - Redirects ([`ClientBuilder::max_redirects`]; a redirect handed back
//!   says why in [`Response::redirect_declined`]), gzip/deflate (and with
//!   their features brotli and zstd) decoding of single codings and
//!   `Content-Encoding` lists
//!   ([`ClientBuilder::decompress`]), basic auth ([`Request::basic_auth`]),
//!   HTTP proxies with `CONNECT` tunnels and `no_proxy` ([`Proxy`]).
//! - Bodies streamed as they arrive, with memory bounded by the read
//!   buffers: to a file ([`Request::to_file`], written beside its target and
//!   renamed into place once complete; resumed with `Range` / `If-Range`
//!   after a cut), to any `io::Write` ([`Request::to_writer`]), or to the
//!   caller chunk by chunk ([`Request::stream_chunks`],
//!   [`Reactor::next_event`]). A sink slower than the network stops its
//!   connection reading (backpressure). Progress per request
//!   ([`Reactor::progress`]) and per batch
//!   ([`Client::fetch_each_with_progress`]); responses that never end
//!   (server-sent events) with the whole-request timeout off and a read-idle
//!   timeout on ([`ClientBuilder::read_idle_timeout`]).
//!
//! # Crate features
//!
//! - `http2` (default): HTTP/2 in the reactor (no extra crates). Without it
//!   every request is HTTP/1.1 and TLS offers only `http/1.1`.
//! - `gzip` (default): decode `Content-Encoding: gzip` and `deflate` bodies
//!   and send `Accept-Encoding: gzip, deflate`.
//! - `brotli` (off by default): decode `br` bodies (RFC 7932) with the
//!   pure-Rust brotli-decompressor, and offer `br` in `Accept-Encoding`.
//! - `zstd` (off by default): decode `zstd` bodies (RFC 8878; windows up
//!   to 8 MiB as RFC 9659 has it) with the pure-Rust ruzstd, checking
//!   content checksums, and offer `zstd` in `Accept-Encoding`. ruzstd
//!   needs Rust 1.87.
//!
//!   Both hold decoded bodies to [`ClientBuilder::max_body_size`] as gzip
//!   does, and stack with the other codings in `Content-Encoding` lists.
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
//! HTTP/3, HTTP/2 server push (refused), an async (`Future`) API.
//!
//! # Examples
//!
//! `examples/demo.rs` (`cargo run --release --example demo`) starts local
//! slow servers and compares sequential, threaded and multiplexed fetching;
//! `examples/fetch/` is a command-line fetcher for URL lists with curl's option names
//! (`cargo install --path . --example fetch`);
//! `examples/crawl.rs` a polite crawler with pacing and retries;
//! `examples/download.rs` downloads many files at once with progress and
//! resume; `examples/sse/` subscribes to many server-sent event streams on
//! one thread and reconnects them with `Last-Event-ID`.
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
mod id_hash;
mod origin;
mod pacing;
mod pool;
mod proxy;
mod reactor;
mod redirect;
mod request;
mod response;
mod retry;
mod sink;
mod stream;
mod summary;
#[cfg(test)]
mod tests;
mod timer;
#[cfg(feature = "tls")]
mod tls;

pub use builder::ClientBuilder;
pub use client::BatchProgress;
pub use client::Client;
pub use completion::{Completion, Counters, Event, Progress, RequestId};
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DNS_CACHE_TTL, DEFAULT_DNS_THREADS,
    DEFAULT_HAPPY_EYEBALLS_DELAY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REDIRECTS,
    DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
};
#[cfg(feature = "http2")]
pub use config::{
    DEFAULT_HTTP2_CONNECTION_WINDOW, DEFAULT_HTTP2_MAX_CONCURRENT_STREAMS,
    DEFAULT_HTTP2_STREAM_WINDOW,
};
#[cfg(feature = "cookies")]
pub use cookies::CookieJar;
pub use dns::{DNS_CACHE_MAX_AGE, DNS_CACHE_MAX_ENTRIES};
pub use error::{Error, ErrorKind, Phase, Result};
pub use exchange::{CHUNK_QUEUE_BYTES, SINK_BUFFER_BYTES, SINK_RETRY_FIRST, SINK_RETRY_MAX};
pub use h1::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS, MAX_INTERIM_RESPONSES,
    NOT_HTTP_EXCERPT, ProtocolError,
};
pub use proxy::Proxy;
pub use reactor::Reactor;
pub use redirect::RedirectDeclined;
pub use request::{IntoRequest, Request};
pub use response::{Download, Response, Timings};
pub use retry::{
    DEFAULT_MAX_RETRY_AFTER, DEFAULT_RETRY_ATTEMPTS, DEFAULT_RETRY_BASE, DEFAULT_RETRY_CAP,
    RetryPolicy,
};
pub use sink::{DEFAULT_MAX_RESUMES, PART_SUFFIX};
pub use summary::Summary;

/// The `http` crate's vocabulary types used in this API.
pub use http::{self, HeaderMap, HeaderValue, Method, StatusCode, Version};
/// The URL type requests are made of.
pub use url::{self, Url};

/// Not public API: used by benches, fuzz targets and tests.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
