//! [`Client`]: the batch entry points, [`fetch`](Client::fetch),
//! [`fetch_many`](Client::fetch_many) and [`fetch_each`](Client::fetch_each),
//! over a cached [`Reactor`].

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::builder::ClientBuilder;
use crate::completion::{Event, Progress};
use crate::config::Config;
use crate::error::{Error, Reason, Result};
use crate::id_hash::IdMap;
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
        self.run_many(requests, None)
    }

    /// [`fetch_many`](Self::fetch_many), calling `on_progress` each time
    /// body bytes arrive for a request (at most once per request per turn
    /// of the loop, so about once per read): which request, how far its
    /// body is, and how far the batch is. It runs on the reactor's thread
    /// between reads, so it should be quick (update a bar, not draw one).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use multifetch::{Client, Request};
    ///
    /// let client = Client::new();
    /// let downloads = (0..100).map(|i| {
    ///     Request::get(&format!("http://127.0.0.1:8080/file/{i}"))
    ///         .map(|r| r.to_file(format!("/tmp/file-{i}")).timeout(None))
    /// });
    /// let results = client.fetch_many_with_progress(downloads, |p| {
    ///     if let Some(expected) = p.progress.expected {
    ///         eprint!("\r#{}: {}/{} bytes", p.index, p.progress.received, expected);
    ///     }
    /// });
    /// # let _ = results;
    /// ```
    pub fn fetch_many_with_progress<I, P>(
        &self,
        requests: I,
        mut on_progress: P,
    ) -> Vec<Result<Response>>
    where
        I: IntoIterator,
        I::Item: IntoRequest,
        P: FnMut(&BatchProgress),
    {
        self.run_many(requests, Some(&mut on_progress))
    }

    fn run_many<I>(
        &self,
        requests: I,
        mut on_progress: Option<&mut dyn FnMut(&BatchProgress)>,
    ) -> Vec<Result<Response>>
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
        // Ids count up from `base` within this call; anything else is not
        // one of ours.
        let index_of = |id: crate::RequestId| {
            id.get()
                .checked_sub(base)
                .and_then(|i| usize::try_from(i).ok())
        };
        let before = reactor.counters().bytes_received;
        reactor.report_progress(on_progress.is_some());
        let mut finished = 0;
        let mut healthy = true;
        loop {
            match reactor.next_event() {
                Ok(Some(Event::Done(done))) => {
                    finished += 1;
                    if let Some(slot) = index_of(done.id).and_then(|i| results.get_mut(i)) {
                        *slot = Some(done.result);
                    }
                }
                Ok(Some(Event::Progress { id, progress })) => {
                    if let (Some(callback), Some(index)) = (on_progress.as_mut(), index_of(id)) {
                        callback(&BatchProgress {
                            index,
                            progress,
                            finished,
                            bytes_received: reactor.counters().bytes_received - before,
                        });
                    }
                }
                // Chunks of bodies streamed to the caller: a batch has no
                // caller to hand them to.
                Ok(Some(_)) => {}
                Ok(None) => break,
                // The reactor has completed every request with the error; the
                // next calls hand those completions over.
                Err(_) => healthy = false,
            }
        }
        reactor.report_progress(false);
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
    pub fn fetch_each<I, F>(&self, requests: I, on_result: F) -> Summary
    where
        I: IntoIterator,
        I::Item: IntoRequest,
        F: FnMut(usize, Result<Response>),
    {
        self.run_each(requests, on_result, None)
    }

    /// [`fetch_each`](Self::fetch_each), calling `on_progress` each time
    /// body bytes arrive for a request (see
    /// [`fetch_many_with_progress`](Self::fetch_many_with_progress));
    /// [`BatchProgress::index`] is the request's position in the input.
    ///
    /// # Examples
    ///
    /// Downloading many files, each to disk as it arrives:
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// use multifetch::{Client, Request};
    ///
    /// let client = Client::builder()
    ///     .max_connections(64)
    ///     .read_idle_timeout(Duration::from_secs(30))
    ///     .build()?;
    /// let downloads = (0..1000).map(|i| {
    ///     Request::get(&format!("http://127.0.0.1:8080/file/{i}"))
    ///         .map(|r| r.to_file(format!("downloads/{i}.bin")).timeout(None))
    /// });
    /// let summary = client.fetch_each_with_progress(
    ///     downloads,
    ///     |index, result| match result {
    ///         Ok(response) => {
    ///             if let Some(file) = response.download() {
    ///                 println!("{index}: {} bytes in {}", file.len, file.path.display());
    ///             }
    ///         }
    ///         Err(error) => eprintln!("{index}: {error}"),
    ///     },
    ///     |p| eprint!("\r{} done, {} MiB received", p.finished, p.bytes_received >> 20),
    /// );
    /// println!("\n{summary}");
    /// # Ok::<(), multifetch::Error>(())
    /// ```
    pub fn fetch_each_with_progress<I, F, P>(
        &self,
        requests: I,
        on_result: F,
        mut on_progress: P,
    ) -> Summary
    where
        I: IntoIterator,
        I::Item: IntoRequest,
        F: FnMut(usize, Result<Response>),
        P: FnMut(&BatchProgress),
    {
        self.run_each(requests, on_result, Some(&mut on_progress))
    }

    fn run_each<I, F>(
        &self,
        requests: I,
        mut on_result: F,
        mut on_progress: Option<&mut dyn FnMut(&BatchProgress)>,
    ) -> Summary
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
        let mut positions: IdMap<u64, usize> =
            IdMap::with_capacity_and_hasher(base, Default::default());
        let mut exhausted = false;
        let mut failure = None;
        reactor.report_progress(on_progress.is_some());
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
            match reactor.next_event() {
                Ok(Some(Event::Done(done))) => {
                    let index = positions.remove(&done.id.get()).unwrap_or(usize::MAX);
                    summary.record(&done.result);
                    on_result(index, done.result);
                }
                Ok(Some(Event::Progress { id, progress })) => {
                    if let (Some(callback), Some(&index)) =
                        (on_progress.as_mut(), positions.get(&id.get()))
                    {
                        callback(&BatchProgress {
                            index,
                            progress,
                            finished: summary.total(),
                            bytes_received: reactor.counters().bytes_received
                                - before.bytes_received,
                        });
                    }
                }
                // Chunks of bodies streamed to the caller: a batch has no
                // caller to hand them to.
                Ok(Some(_)) => {}
                Ok(None) if exhausted || failure.is_some() => break,
                Ok(None) => {}
                // The reactor has completed every request in flight with the
                // error; the next calls hand those completions over.
                Err(error) => failure = Some(error),
            }
        }
        reactor.report_progress(false);
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

/// Where a batch is, handed to the progress callback of
/// [`Client::fetch_many_with_progress`] and
/// [`Client::fetch_each_with_progress`] each time body bytes arrive for one
/// of its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchProgress {
    /// The request whose body moved: its position in the input.
    pub index: usize,
    /// How far that request's body is.
    pub progress: Progress,
    /// Requests of the batch finished so far (either way).
    pub finished: u64,
    /// Bytes the batch has read from sockets so far (heads, bodies and
    /// framing).
    pub bytes_received: u64,
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
