//! [`Client`]: the batch entry points, [`fetch`](Client::fetch),
//! [`fetch_many`](Client::fetch_many) and [`fetch_each`](Client::fetch_each),
//! over a cached [`Reactor`].

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::builder::ClientBuilder;
use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::reactor::Reactor;
use crate::request::IntoRequest;
use crate::response::Response;
use crate::summary::Summary;

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
///
/// # Connection reuse
///
/// A client keeps the connections its batches leave idle, so the next
/// [`fetch`](Self::fetch), [`fetch_many`](Self::fetch_many) or
/// [`fetch_each`](Self::fetch_each) on it (or a clone) reuses them. Calls
/// from several threads at once each get their own event loop.
#[derive(Clone)]
pub struct Client {
    pub(crate) config: Arc<Config>,
    /// The event loop (and its idle connections) between calls.
    reactor: Arc<Mutex<Option<Reactor>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_connections", &self.config.max_connections)
            .field(
                "max_connections_per_host",
                &self.config.max_connections_per_host,
            )
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
        ClientBuilder::new().finish()
    }

    /// A client running under `config` (see [`ClientBuilder::build`]).
    pub(crate) fn with_config(config: Config) -> Client {
        Client {
            config: Arc::new(config),
            reactor: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The client's cookie jar, when it keeps cookies (see
    /// [`ClientBuilder::cookie_store`]); read it, change it, save it.
    #[cfg(feature = "cookies")]
    pub fn cookie_jar(&self) -> Option<&crate::cookies::CookieJar> {
        self.config.cookies.as_ref()
    }

    /// Fetches one request.
    ///
    /// # Errors
    ///
    /// Any [`Error`] for this request; see [`ErrorKind`](crate::ErrorKind).
    pub fn fetch(&self, request: impl IntoRequest) -> Result<Response> {
        self.fetch_many([request])
            .pop()
            .unwrap_or_else(|| Err(reactor_gone()))
    }

    /// Fetches every request concurrently and returns one result per request,
    /// in input order. A failed request fails only its own slot.
    ///
    /// All requests are queued at once; at most
    /// [`max_connections`](ClientBuilder::max_connections) run at a time.
    /// For an input too long to hold in memory, use
    /// [`fetch_each`](Self::fetch_each).
    pub fn fetch_many<I>(&self, requests: I) -> Vec<Result<Response>>
    where
        I: IntoIterator,
        I::Item: IntoRequest,
    {
        let requests = requests.into_iter();
        let mut results: Vec<Option<Result<Response>>> = Vec::with_capacity(requests.size_hint().0);
        let mut reactor = match self.take_reactor() {
            Ok(reactor) => reactor,
            Err(error) => return requests.map(|_| Err(copy_error(&error))).collect(),
        };
        let mut base = None;
        for request in requests {
            let id = reactor.submit(request);
            base.get_or_insert(id.get());
            results.push(None);
        }
        let base = base.unwrap_or(0);
        let mut healthy = true;
        loop {
            match reactor.next_completion() {
                Ok(Some(done)) => {
                    // Ids count up from `base` within this call; anything
                    // else is not one of ours.
                    let slot = done
                        .id
                        .get()
                        .checked_sub(base)
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| results.get_mut(i));
                    if let Some(slot) = slot {
                        *slot = Some(done.result);
                    }
                }
                Ok(None) => break,
                // The reactor has completed every request with the error; the
                // next calls hand those completions over.
                Err(_) => healthy = false,
            }
        }
        if healthy {
            self.return_reactor(reactor);
        }
        results
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| Err(reactor_gone())))
            .collect()
    }

    /// Fetches requests pulled lazily from `requests`, calling `on_result`
    /// with each one's position in the input and its result as it finishes
    /// (completion order, not input order).
    ///
    /// Requests are taken from the iterator only as connections free up, so
    /// memory stays bounded by the number in flight (about twice
    /// `max_connections`, plus twice the streams the open HTTP/2
    /// connections can carry), not by the length of the input: a million
    /// URLs from a file or a generator run in constant memory.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = multifetch::Client::new();
    /// let urls = (0..1_000_000).map(|i| format!("http://127.0.0.1:8080/item/{i}"));
    /// let summary = client.fetch_each(urls, |index, result| {
    ///     if let Err(error) = result {
    ///         eprintln!("{index}: {error}");
    ///     }
    /// });
    /// println!("{summary}");
    /// ```
    pub fn fetch_each<I, F>(&self, requests: I, mut on_result: F) -> Summary
    where
        I: IntoIterator,
        I::Item: IntoRequest,
        F: FnMut(usize, Result<Response>),
    {
        let started = Instant::now();
        let mut summary = Summary::default();
        let mut requests = requests.into_iter().enumerate();
        let mut reactor = match self.take_reactor() {
            Ok(reactor) => reactor,
            Err(error) => {
                for (index, _) in requests {
                    let result = Err(copy_error(&error));
                    summary.record(&result);
                    on_result(index, result);
                }
                summary.wall = started.elapsed();
                return summary;
            }
        };
        let before = reactor.counters();
        let base = self.config.max_connections.saturating_mul(2).max(16);
        // Position in the input of each request in flight, by id.
        let mut positions: HashMap<u64, usize> = HashMap::with_capacity(base);
        let mut exhausted = false;
        let mut failure = None;
        loop {
            // Enough queued to fill every connection twice over, h2 streams
            // included, so a connection never waits for the iterator.
            let window = base.saturating_add(reactor.stream_capacity().saturating_mul(2));
            while !exhausted && failure.is_none() && reactor.pending() < window {
                match requests.next() {
                    Some((index, request)) => {
                        positions.insert(reactor.submit(request).get(), index);
                    }
                    None => exhausted = true,
                }
            }
            match reactor.next_completion() {
                Ok(Some(done)) => {
                    let index = positions.remove(&done.id.get()).unwrap_or(usize::MAX);
                    summary.record(&done.result);
                    on_result(index, done.result);
                }
                Ok(None) if exhausted || failure.is_some() => break,
                Ok(None) => {}
                // The reactor has completed every request in flight with the
                // error; the next calls hand those completions over.
                Err(error) => failure = Some(error),
            }
        }
        if let Some(error) = &failure {
            for (index, _) in requests {
                let result = Err(copy_error(error));
                summary.record(&result);
                on_result(index, result);
            }
        }
        let after = reactor.counters();
        summary.bytes_sent = after.bytes_sent - before.bytes_sent;
        summary.bytes_received = after.bytes_received - before.bytes_received;
        summary.connections_opened = after.connections_opened - before.connections_opened;
        summary.retries = after.retries - before.retries;
        summary.h2_streams = after.h2_streams - before.h2_streams;
        summary.wall = started.elapsed();
        if failure.is_none() {
            self.return_reactor(reactor);
        }
        summary
    }

    /// The cached event loop, or a new one if another call is using it.
    fn take_reactor(&self) -> Result<Reactor> {
        let cached = self
            .reactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match cached {
            Some(reactor) => Ok(reactor),
            None => Reactor::new(self),
        }
    }

    /// Keeps the event loop and its idle connections for the next call.
    fn return_reactor(&self, reactor: Reactor) {
        let mut slot = self.reactor.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(reactor);
        }
    }
}

impl Reactor {
    /// A reactor with the client's limits and timeouts.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the OS refuses the
    /// poller or its waker (usually: out of file descriptors).
    pub fn new(client: &Client) -> Result<Reactor> {
        Reactor::with_config(Arc::clone(&client.config))
    }
}

/// A reactor-wide failure repeated into every unfinished slot.
fn copy_error(error: &Error) -> Error {
    let kind = error
        .io_error()
        .map_or(io::ErrorKind::Other, io::Error::kind);
    Error::new(Reason::Socket {
        source: io::Error::new(kind, error.to_string()),
    })
}

fn reactor_gone() -> Error {
    Error::new(Reason::Socket {
        source: io::Error::other("the reactor stopped before this request finished"),
    })
}
