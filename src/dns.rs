//! Name resolution that never blocks the reactor.
//!
//! Lookups go to the system resolver (`getaddrinfo` through
//! [`ToSocketAddrs`], so `/etc/hosts` works) on a small pool of helper
//! threads, started on demand. Each answer comes back over a channel and
//! wakes the reactor through its [`mio::Waker`]. Answers are cached; several
//! connections waiting for the same name share one lookup. IP literals and
//! names pinned with `ClientBuilder::resolve` never reach a thread.
//!
//! The cache is bounded, so a crawler over millions of hosts does not grow
//! it forever: at most [`DNS_CACHE_MAX_ENTRIES`] names (the oldest answer goes
//! first), each kept at most its TTL (`ClientBuilder::dns_cache_ttl`, never
//! more than [`DNS_CACHE_MAX_AGE`]); expired answers are swept out as new ones
//! arrive.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mio::Waker;

use crate::handle::ConnId;

/// How long a failed lookup is remembered.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Most names the cache holds; past it, the oldest answer is dropped. About
/// 100 bytes each, so the cache stays around a megabyte.
pub const DNS_CACHE_MAX_ENTRIES: usize = 10_000;
/// Longest an answer is cached, whatever `ClientBuilder::dns_cache_ttl`
/// says: addresses do change.
pub const DNS_CACHE_MAX_AGE: Duration = Duration::from_secs(3600);

/// The addresses of a name, shared by every connection that asked.
pub(crate) type Addrs = Arc<[IpAddr]>;

/// Why a lookup failed; cloneable so one failure can answer many waiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DnsError {
    /// The resolver returned an error.
    Failed {
        kind: io::ErrorKind,
        message: String,
    },
    /// The resolver succeeded but returned nothing.
    NoAddresses,
}

impl DnsError {
    /// The failure as an `io::Error`, for the public error's source chain.
    pub(crate) fn to_io(&self) -> Option<io::Error> {
        match self {
            DnsError::Failed { kind, message } => Some(io::Error::new(*kind, message.clone())),
            DnsError::NoAddresses => None,
        }
    }
}

/// Who is waiting for an answer: a connection.
pub(crate) type Waiter = ConnId;

/// What [`Resolver::lookup`] could tell straight away.
#[derive(Debug)]
pub(crate) enum Lookup {
    Ready(Result<Addrs, DnsError>),
    /// The answer will come from [`Resolver::take_answers`].
    Pending,
}

struct CacheEntry {
    result: Result<Addrs, DnsError>,
    /// When the answer came.
    stored: Instant,
    expires: Instant,
}

/// Work shared with the helper threads.
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

struct Queue {
    hosts: VecDeque<String>,
    idle_threads: usize,
    shutdown: bool,
}

/// The reactor's side of the resolver.
pub(crate) struct Resolver {
    shared: Arc<Shared>,
    answers_tx: Sender<(String, Result<Addrs, DnsError>)>,
    answers: Receiver<(String, Result<Addrs, DnsError>)>,
    waker: Arc<Waker>,
    cache: HashMap<String, CacheEntry>,
    /// Cached names in the order their answers came, with the expiry of
    /// that answer (a name answered again later has a newer entry).
    order: VecDeque<(String, Instant)>,
    waiting: HashMap<String, Vec<Waiter>>,
    pinned: HashMap<String, Addrs>,
    ttl: Duration,
    threads: usize,
    max_threads: usize,
    /// In unit tests: never start a thread, answers come from the test.
    #[cfg(test)]
    offline: bool,
}

impl Resolver {
    pub(crate) fn new(
        waker: Arc<Waker>,
        pinned: &HashMap<String, Vec<IpAddr>>,
        max_threads: usize,
        ttl: Duration,
    ) -> Resolver {
        let (answers_tx, answers) = mpsc::channel();
        Resolver {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    hosts: VecDeque::new(),
                    idle_threads: 0,
                    shutdown: false,
                }),
                ready: Condvar::new(),
            }),
            answers_tx,
            answers,
            waker,
            cache: HashMap::new(),
            order: VecDeque::new(),
            waiting: HashMap::new(),
            pinned: pinned
                .iter()
                .map(|(host, addrs)| (host.clone(), Addrs::from(addrs.as_slice())))
                .collect(),
            ttl: ttl.min(DNS_CACHE_MAX_AGE),
            threads: 0,
            max_threads: max_threads.max(1),
            #[cfg(test)]
            offline: false,
        }
    }

    /// Looks `host` up (a domain name as the URL gives it, IPv6 in brackets).
    /// Returns the answer now when it is an IP literal, pinned or cached;
    /// otherwise `waiter` gets it later through [`Resolver::take_answers`].
    pub(crate) fn lookup(&mut self, host: &str, waiter: Waiter, now: Instant) -> Lookup {
        if let Some(ip) = parse_ip_literal(host) {
            return Lookup::Ready(Ok(Addrs::from([ip])));
        }
        if let Some(addrs) = self.pinned.get(host) {
            return Lookup::Ready(Ok(addrs.clone()));
        }
        match self.cache.get(host) {
            Some(entry) if entry.expires > now => return Lookup::Ready(entry.result.clone()),
            Some(_) => {
                self.cache.remove(host);
            }
            None => {}
        }
        if let Some(waiters) = self.waiting.get_mut(host) {
            waiters.push(waiter);
            return Lookup::Pending;
        }
        if let Err(error) = self.enqueue(host) {
            return Lookup::Ready(Err(DnsError::Failed {
                kind: error.kind(),
                message: error.to_string(),
            }));
        }
        self.waiting.insert(host.to_owned(), vec![waiter]);
        Lookup::Pending
    }

    /// Hands the host to a helper thread, starting one if none is idle and
    /// the pool is not full.
    fn enqueue(&mut self, host: &str) -> io::Result<()> {
        let spawn = {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            queue.hosts.push_back(host.to_owned());
            queue.hosts.len() > queue.idle_threads && self.threads < self.max_threads
        };
        #[cfg(test)]
        let spawn = spawn && !self.offline;
        self.shared.ready.notify_one();
        if spawn {
            let shared = Arc::clone(&self.shared);
            let answers = self.answers_tx.clone();
            let waker = Arc::clone(&self.waker);
            let spawned = std::thread::Builder::new()
                .name("multifetch-dns".into())
                .spawn(move || resolve_loop(&shared, &answers, &waker));
            match spawned {
                Ok(_) => self.threads += 1,
                // With no thread at all the lookup would never run.
                Err(error) if self.threads == 0 => {
                    let mut queue = self
                        .shared
                        .queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    queue.hosts.retain(|h| h != host);
                    return Err(error);
                }
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Collects the answers that have arrived: each waiter with its result.
    pub(crate) fn take_answers(
        &mut self,
        now: Instant,
        out: &mut Vec<(Waiter, Result<Addrs, DnsError>)>,
    ) {
        while let Ok((host, result)) = self.answers.try_recv() {
            if let Some(waiters) = self.waiting.remove(&host) {
                out.extend(waiters.into_iter().map(|w| (w, result.clone())));
            }
            self.remember(host, result, now);
        }
    }

    /// Caches an answer, within the bounds.
    fn remember(&mut self, host: String, result: Result<Addrs, DnsError>, now: Instant) {
        let ttl = if result.is_ok() {
            self.ttl
        } else {
            NEGATIVE_TTL.min(self.ttl)
        };
        if ttl.is_zero() {
            return;
        }
        // Sweep what has expired, oldest first.
        while let Some((_, expires)) = self.order.front() {
            if *expires > now {
                break;
            }
            self.forget_oldest();
        }
        while self.cache.len() >= DNS_CACHE_MAX_ENTRIES && !self.order.is_empty() {
            self.forget_oldest();
        }
        let expires = now + ttl;
        self.order.push_back((host.clone(), expires));
        self.cache.insert(
            host,
            CacheEntry {
                result,
                stored: now,
                expires,
            },
        );
    }

    /// Forgets a cached failure for `host` that came no later than `seen`:
    /// a request retrying after that failure looks the name up again
    /// rather than meet the same answer (a failure that came after it is
    /// news, and is kept).
    pub(crate) fn forget_failure(&mut self, host: &str, seen: Instant) {
        let stale = self
            .cache
            .get(host)
            .is_some_and(|e| e.result.is_err() && e.stored <= seen);
        if stale {
            self.cache.remove(host);
        }
    }

    /// Drops the oldest answer (unless its name was answered again since).
    fn forget_oldest(&mut self) {
        if let Some((host, expires)) = self.order.pop_front() {
            if self.cache.get(&host).is_some_and(|e| e.expires == expires) {
                self.cache.remove(&host);
            }
        }
    }

    /// Starts no lookup thread: pending lookups wait for [`answer`](Self::answer).
    #[cfg(test)]
    pub(crate) fn go_offline(&mut self) {
        self.offline = true;
    }

    /// Answers a pending lookup as a helper thread would.
    #[cfg(test)]
    pub(crate) fn answer(&self, host: &str, result: Result<Addrs, DnsError>) {
        let _ = self.answers_tx.send((host.to_owned(), result));
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // Threads blocked in getaddrinfo finish that call and then exit; they
        // are not joined, so dropping a reactor never waits for DNS.
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shutdown = true;
        self.shared.ready.notify_all();
    }
}

fn resolve_loop(
    shared: &Shared,
    answers: &Sender<(String, Result<Addrs, DnsError>)>,
    waker: &Waker,
) {
    loop {
        let host = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if queue.shutdown {
                    return;
                }
                if let Some(host) = queue.hosts.pop_front() {
                    break host;
                }
                queue.idle_threads += 1;
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                queue.idle_threads -= 1;
            }
        };
        let result = resolve_now(&host);
        if answers.send((host, result)).is_err() {
            return;
        }
        // A failed wake means the reactor is gone; the next loop sees shutdown.
        let _ = waker.wake();
    }
}

/// One blocking lookup through the system resolver.
fn resolve_now(host: &str) -> Result<Addrs, DnsError> {
    match (host, 0).to_socket_addrs() {
        Ok(addrs) => {
            let mut ips: Vec<IpAddr> = Vec::new();
            for addr in addrs {
                if !ips.contains(&addr.ip()) {
                    ips.push(addr.ip());
                }
            }
            if ips.is_empty() {
                Err(DnsError::NoAddresses)
            } else {
                Ok(Addrs::from(ips))
            }
        }
        Err(error) => Err(DnsError::Failed {
            kind: error.kind(),
            message: error.to_string(),
        }),
    }
}

/// An IPv4 literal, or an IPv6 literal with or without brackets.
pub(crate) fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll, Token};

    fn resolver(pinned: &[(&str, IpAddr)]) -> (Poll, Resolver) {
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(0)).unwrap());
        let pinned = pinned
            .iter()
            .map(|(h, ip)| (h.to_string(), vec![*ip]))
            .collect();
        (
            poll,
            Resolver::new(waker, &pinned, 2, Duration::from_secs(60)),
        )
    }

    fn wait_for_answers(
        poll: &mut Poll,
        r: &mut Resolver,
    ) -> Vec<(Waiter, Result<Addrs, DnsError>)> {
        let mut events = Events::with_capacity(4);
        let mut out = Vec::new();
        for _ in 0..200 {
            r.take_answers(Instant::now(), &mut out);
            if !out.is_empty() {
                return out;
            }
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .unwrap();
        }
        panic!("no DNS answer within 10 s");
    }

    const W: Waiter = ConnId::from_parts(1, 7);

    #[test]
    fn ip_literals_and_pinned_names_skip_the_threads() {
        let pinned: IpAddr = "10.1.2.3".parse().unwrap();
        let (_poll, mut r) = resolver(&[("pinned.test", pinned)]);
        let now = Instant::now();
        for (host, ip) in [
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "::1"),
            ("pinned.test", "10.1.2.3"),
        ] {
            match r.lookup(host, W, now) {
                Lookup::Ready(Ok(addrs)) => {
                    assert_eq!(&addrs[..], &[ip.parse::<IpAddr>().unwrap()])
                }
                other => panic!("{host}: {other:?}"),
            }
        }
        assert_eq!(r.threads, 0);
    }

    #[test]
    fn localhost_resolves_on_a_thread_then_comes_from_the_cache() {
        let (mut poll, mut r) = resolver(&[]);
        assert!(matches!(
            r.lookup("localhost", W, Instant::now()),
            Lookup::Pending
        ));
        let second = ConnId::from_parts(2, 1);
        assert!(matches!(
            r.lookup("localhost", second, Instant::now()),
            Lookup::Pending
        ));
        let answers = wait_for_answers(&mut poll, &mut r);
        assert_eq!(answers.len(), 2, "one lookup answers both waiters");
        let addrs = answers[0].1.clone().unwrap();
        assert!(addrs.iter().all(IpAddr::is_loopback), "{addrs:?}");
        assert!(matches!(
            r.lookup("localhost", W, Instant::now()),
            Lookup::Ready(Ok(_))
        ));
    }

    #[test]
    fn invalid_names_fail_and_the_failure_is_cached_briefly() {
        let (mut poll, mut r) = resolver(&[]);
        assert!(matches!(
            r.lookup("no-such-host.invalid", W, Instant::now()),
            Lookup::Pending
        ));
        let answers = wait_for_answers(&mut poll, &mut r);
        assert!(answers[0].1.is_err());
        let now = Instant::now();
        assert!(matches!(
            r.lookup("no-such-host.invalid", W, now),
            Lookup::Ready(Err(_))
        ));
        assert!(matches!(
            r.lookup("no-such-host.invalid", W, now + NEGATIVE_TTL),
            Lookup::Pending
        ));
    }

    #[test]
    fn the_cache_is_bounded_by_entries_and_age() {
        let (_poll, mut r) = resolver(&[]);
        let t0 = Instant::now();
        let ip = || Ok(Addrs::from([IpAddr::from([10, 0, 0, 1])]));
        for i in 0..DNS_CACHE_MAX_ENTRIES + 10 {
            r.remember(format!("host{i}.test"), ip(), t0);
        }
        assert_eq!(r.cache.len(), DNS_CACHE_MAX_ENTRIES);
        assert!(!r.cache.contains_key("host0.test"), "the oldest went first");
        assert!(
            r.cache
                .contains_key(&format!("host{}.test", DNS_CACHE_MAX_ENTRIES + 9))
        );
        // Past the TTL, the next answer sweeps every expired one out.
        r.remember("late.test".into(), ip(), t0 + Duration::from_secs(61));
        assert_eq!(r.cache.len(), 1);
        assert_eq!(r.order.len(), 1);
        // A TTL is never longer than the cap.
        let other = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(other.registry(), Token(0)).unwrap());
        let long = Resolver::new(waker, &HashMap::new(), 1, Duration::from_secs(86_400));
        assert_eq!(long.ttl, DNS_CACHE_MAX_AGE);
    }
}
