//! `frontier worker`: owns some shards through leases, fetches their URLs and
//! writes the results.
//!
//! Three threads, so that no Redis round trip ever stalls the sockets:
//!
//! ```text
//!   coordinator ──entries──▶ fetcher ──outcomes──▶ writer
//!   (leases, XREADGROUP,      (one multifetch       (MULTI: XADD result,
//!    XAUTOCLAIM, XTRIM)        Reactor)               XACK; retries, dead letters)
//!        ▲                                             │
//!        └──────── held entries (the in-flight cap) ◀──┘
//! ```
//!
//! The coordinator hands out at most `--window` entries at a time: an entry
//! is held from its delivery until the writer's transaction for it commits.
//! That window is what a worker killed with `kill -9` can leave fetched but
//! unacknowledged, so it bounds the URLs fetched twice after a crash.
//!
//! Why the `Reactor` and not `Client::fetch_each`: `fetch_each` pulls
//! requests from an iterator, and an iterator can only block or end. A
//! worker's frontier is empty now and full a second later, so an iterator fed
//! from XREADGROUP would either stall the connections in flight while it
//! waits for Redis, or end the run. With the `Reactor` the fetcher submits
//! entries the moment they arrive and hands on each completion the moment it
//! finishes, and it keeps one event loop (and its kept-alive connections)
//! for the life of the worker.

mod coordinator;
mod record;
mod writer;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use multifetch::{Client, Reactor, RequestId, Response};

use crate::enqueue;
use crate::keys::Keys;
use crate::store::Store;
use crate::{parse_secs, secs};

#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// This worker's name: its consumer name in the group and the value of
    /// the leases it holds; unique among live workers [default: HOST-PID]
    #[arg(long)]
    pub name: Option<String>,
    /// Entries held at once, from delivery until their result is written:
    /// the in-flight cap [default: twice --concurrency]
    #[arg(long)]
    pub window: Option<usize>,
    /// Results written per round trip (one MULTI/EXEC per shard), at most
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Also store the body in the result, up to this many bytes (the digest
    /// is always of the whole body)
    #[arg(long, default_value_t = 0)]
    pub body_limit: usize,
    /// Lifetime of a shard lease, in seconds; renewed every third of it
    #[arg(long, value_parser = parse_secs, default_value = "10")]
    pub lease_ttl: Duration,
    /// Seconds a pending entry must sit idle before it is claimed
    /// (XAUTOCLAIM): a dead worker's entries, and failed ones for their next
    /// try. Entries a live worker still holds are marked as in work every
    /// half of this, so they are never claimed
    #[arg(long, value_parser = parse_secs, default_value = "60")]
    pub claim_idle: Duration,
    /// Deliveries an entry gets; one that fails on every one of them goes to
    /// the dead-letter stream with its last error
    #[arg(long, default_value_t = 3)]
    pub max_deliveries: u64,
    /// After Ctrl-C or SIGTERM, seconds to wait for the entries in flight
    /// before exiting without them (they stay pending and are claimed by
    /// another worker) [default: --timeout plus 10 s]
    #[arg(long, value_parser = parse_secs)]
    pub grace: Option<Duration>,
    #[command(flatten)]
    pub fetch: FetchOptions,
}

/// The options passed through to the worker's `multifetch::Client`. Within
/// a worker they apply to the hosts of its shards; since every URL of a
/// host is in one shard and a shard has one owner, they hold for the whole
/// fleet. Per-host pacing (requests per second, a minimum delay) belongs
/// here as one field and one builder call each, once the client has it.
#[derive(clap::Args, Debug)]
pub struct FetchOptions {
    /// Connections open at once, over all hosts
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Connections open at once to one host (host and port)
    #[arg(long, default_value_t = 4)]
    pub per_host: usize,
    /// Deadline for each whole request, in seconds
    #[arg(long, value_parser = parse_secs, default_value = "30")]
    pub timeout: Duration,
    /// Deadline for DNS, TCP connect and TLS handshake, in seconds
    #[arg(long, value_parser = parse_secs, default_value = "10")]
    pub connect_timeout: Duration,
    /// How long an idle kept-alive connection is kept [default: the
    /// client's, 4 s]. A shard handed to another worker waits this long
    /// first, so its hosts never see both workers' connections at once
    #[arg(long, value_parser = parse_secs)]
    pub pool_idle_timeout: Option<Duration>,
}

impl FetchOptions {
    pub fn client(&self) -> Result<Client, String> {
        let mut builder = Client::builder()
            .max_connections(self.concurrency.max(1))
            .max_connections_per_host(self.per_host.max(1))
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout);
        if let Some(idle) = self.pool_idle_timeout {
            builder = builder.pool_idle_timeout(idle);
        }
        builder
            .build()
            .map_err(|e| format!("cannot build the client: {e}"))
    }

    fn pool_idle(&self) -> Duration {
        self.pool_idle_timeout
            .unwrap_or(multifetch::DEFAULT_POOL_IDLE_TIMEOUT)
    }
}

/// One delivered stream entry: a URL to fetch.
#[derive(Debug, Clone)]
pub struct Entry {
    pub shard: u32,
    /// Its id in the shard stream.
    pub id: String,
    pub url: String,
    /// Times Redis has delivered it, this time included.
    pub deliveries: u64,
}

/// A fetched entry, on its way to the writer.
pub struct Outcome {
    pub entry: Entry,
    pub result: multifetch::Result<Response>,
}

/// What the three threads share: the stop flag and the held entries.
#[derive(Default)]
pub struct Shared {
    pub stop: AtomicBool,
    held: Mutex<Held>,
    freed: Condvar,
    signals: AtomicUsize,
}

/// Entries delivered to this worker whose result is not written yet, with
/// when each was delivered or last marked as still in work.
#[derive(Default)]
struct Held {
    by_shard: HashMap<u32, HashMap<String, Instant>>,
    total: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn hold(&self, entries: &[Entry]) {
        let now = Instant::now();
        let mut held = self.lock();
        for entry in entries {
            let shard = held.by_shard.entry(entry.shard).or_default();
            if shard.insert(entry.id.clone(), now).is_none() {
                held.total += 1;
            }
        }
    }

    pub fn release<'a>(&self, shard: u32, ids: impl IntoIterator<Item = &'a str>) {
        let mut held = self.lock();
        let mut freed = 0;
        if let Some(map) = held.by_shard.get_mut(&shard) {
            for id in ids {
                if map.remove(id).is_some() {
                    freed += 1;
                }
            }
        }
        held.total -= freed;
        drop(held);
        self.freed.notify_all();
    }

    pub fn total(&self) -> usize {
        self.lock().total
    }

    pub fn held_in(&self, shard: u32) -> usize {
        self.lock().by_shard.get(&shard).map_or(0, HashMap::len)
    }

    pub fn is_held(&self, shard: u32, id: &str) -> bool {
        self.lock()
            .by_shard
            .get(&shard)
            .is_some_and(|map| map.contains_key(id))
    }

    /// Held entries of `shard` not marked for `age`; marks them now.
    pub fn take_stale(&self, shard: u32, age: Duration) -> Vec<String> {
        let now = Instant::now();
        let mut held = self.lock();
        let Some(map) = held.by_shard.get_mut(&shard) else {
            return Vec::new();
        };
        let mut stale = Vec::new();
        for (id, marked) in map.iter_mut() {
            if now.duration_since(*marked) >= age {
                *marked = now;
                stale.push(id.clone());
            }
        }
        stale
    }

    /// Waits until some entry is released or `timeout` passes.
    pub fn wait_freed(&self, timeout: Duration) {
        let held = self.lock();
        let _ = self.freed.wait_timeout(held, timeout);
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

pub fn run(redis: &str, prefix: &str, args: &WorkerArgs) -> Result<ExitCode, String> {
    let name = args.name.clone().unwrap_or_else(default_name);
    if name.is_empty() {
        return Err("--name must not be empty".into());
    }
    let client = args.fetch.client()?;
    let keys = Keys::new(prefix);
    let window = args
        .window
        .unwrap_or(args.fetch.concurrency.saturating_mul(2))
        .max(1);
    let shared = Arc::new(Shared::default());
    let grace = args
        .grace
        .unwrap_or(args.fetch.timeout + Duration::from_secs(10));
    install_signal_handler(&shared, &name, grace)?;

    let mut store = Store::open(redis, format!("worker {name}"))?;
    let Some(shards) = wait_for_frontier(&mut store, &keys, &shared)? else {
        return Ok(ExitCode::SUCCESS);
    };
    enqueue::create_groups(&mut store, &keys, shards)?;
    outln_unwind!(
        "worker {name}: in-flight cap {window} entries, {} connections, {} per host, \
         {shards} shards, lease {}, claim idle {}, max deliveries {}",
        args.fetch.concurrency,
        args.fetch.per_host,
        secs(args.lease_ttl),
        secs(args.claim_idle),
        args.max_deliveries
    );

    let (entry_tx, entry_rx) = mpsc::channel();
    let (outcome_tx, outcome_rx) = mpsc::channel();
    let coordinator = coordinator::Coordinator {
        store,
        keys: keys.clone(),
        shards,
        name: name.clone(),
        shared: Arc::clone(&shared),
        window,
        lease_ttl: args.lease_ttl,
        claim_idle: args.claim_idle,
        max_deliveries: args.max_deliveries.max(1),
        handover: args.fetch.pool_idle() + Duration::from_millis(500),
    };
    let coordinator = thread::Builder::new()
        .name("coordinator".into())
        .spawn(move || coordinator.run(entry_tx))
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let writer_name = name.clone();
    let writer = writer::Writer {
        store: Store::open(redis, format!("worker {name} writer"))?,
        keys,
        name: name.clone(),
        shared: Arc::clone(&shared),
        batch: args.batch.max(1),
        body_limit: args.body_limit,
        max_deliveries: args.max_deliveries.max(1),
    };
    let writer = thread::Builder::new()
        .name("writer".into())
        .spawn(move || {
            // Results that cannot be written would pile up as held entries
            // and stall the worker: leave now; the leases expire and the
            // held entries are claimed by another worker.
            writer.run(outcome_rx).unwrap_or_else(|e| {
                eprintln!("worker {writer_name}: {e}");
                std::process::exit(1);
            })
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;

    let fetched = fetch_loop(&client, entry_rx, outcome_tx, args.fetch.pool_idle());
    let written = writer
        .join()
        .map_err(|_| "the writer panicked".to_string())?;
    let fetched = match fetched {
        Ok(fetched) => fetched,
        // The coordinator would go on handing out work nobody does.
        Err(e) => {
            eprintln!("worker {name}: {e}");
            std::process::exit(1);
        }
    };
    let coordinated = coordinator
        .join()
        .unwrap_or_else(|_| Err("the coordinator panicked".into()))?;
    outln_unwind!(
        "worker {name}: stopped after {fetched} fetches: {} results ({} of them errors), \
         {} failures left for a retry, {} dead-lettered; took {} shard leases, handed over {}, \
         claimed {} pending entries",
        written.results,
        written.errors,
        written.retries,
        written.dead + coordinated.dead,
        coordinated.taken,
        coordinated.handed_over,
        coordinated.claimed,
    );
    Ok(ExitCode::SUCCESS)
}

/// `HOST-PID`, with the host name from the environment where there is one.
fn default_name() -> String {
    let host = ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// The first Ctrl-C or SIGTERM stops taking work; the worker then exits by
/// itself once what it holds is written, or after `grace`. A second one
/// exits at once.
fn install_signal_handler(shared: &Arc<Shared>, name: &str, grace: Duration) -> Result<(), String> {
    let shared = Arc::clone(shared);
    let name = name.to_owned();
    ctrlc::set_handler(move || {
        if shared.signals.fetch_add(1, Ordering::SeqCst) > 0 {
            eprintln!("worker {name}: second signal, exiting now; held entries stay pending");
            std::process::exit(130);
        }
        shared.stop.store(true, Ordering::SeqCst);
        eprintln!(
            "worker {name}: stopping: no new work; finishing the {} entries in flight \
             (at most {}; signal again to exit now)",
            shared.total(),
            secs(grace)
        );
        let name = name.clone();
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new().name("grace".into()).spawn(move || {
            thread::sleep(grace);
            eprintln!(
                "worker {name}: {} entries still in flight after {}; exiting without them \
                     (they stay pending and another worker claims them)",
                shared.total(),
                secs(grace)
            );
            std::process::exit(3);
        });
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))
}

/// The shard count, once some `enqueue` has created the frontier; `None` if
/// the worker was stopped while waiting.
fn wait_for_frontier(
    store: &mut Store,
    keys: &Keys,
    shared: &Shared,
) -> Result<Option<u32>, String> {
    let mut said = false;
    loop {
        if let Some(shards) = enqueue::shards(store, keys)? {
            return Ok(Some(shards));
        }
        if !said {
            eprintln!(
                "waiting for the frontier {}: run `frontier enqueue` first",
                keys.meta()
            );
            said = true;
        }
        if shared.stopping() {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(500));
    }
}

/// The fetcher: submits each entry to the reactor as it arrives and hands
/// each completion to the writer. Ends when the coordinator has closed the
/// entry channel and nothing is left in flight; returns how many fetches it
/// finished.
fn fetch_loop(
    client: &Client,
    entries: Receiver<Entry>,
    outcomes: Sender<Outcome>,
    pool_idle: Duration,
) -> Result<u64, String> {
    let new_reactor =
        || Reactor::new(client).map_err(|e| format!("cannot start the event loop: {e}"));
    let mut reactor = new_reactor()?;
    let mut running: HashMap<RequestId, Entry> = HashMap::new();
    let mut closed = false;
    let mut broken = false;
    let mut idle_since = Instant::now();
    let mut finished = 0u64;
    loop {
        loop {
            match entries.try_recv() {
                Ok(entry) => submit(&mut reactor, &mut running, entry),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if reactor.pending() == 0 {
            if closed {
                return Ok(finished);
            }
            if broken {
                reactor = new_reactor()?;
                broken = false;
            }
            // Nothing to do, so the loop is not turning and cannot close its
            // idle connections on time: drop them with the loop once they
            // would have timed out (a shard handed over must see them gone).
            if reactor.idle_connections() > 0 && idle_since.elapsed() >= pool_idle {
                reactor = new_reactor()?;
            }
            match entries.recv_timeout(Duration::from_millis(100)) {
                Ok(entry) => submit(&mut reactor, &mut running, entry),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closed = true,
            }
            continue;
        }
        match reactor.next_completion() {
            Ok(Some(done)) => {
                let Some(entry) = running.remove(&done.id) else {
                    continue;
                };
                finished += 1;
                let outcome = Outcome {
                    entry,
                    result: done.result,
                };
                if outcomes.send(outcome).is_err() {
                    return Err("the writer stopped".into());
                }
            }
            Ok(None) => {}
            Err(error) => {
                // Every request in flight now completes with this error and
                // is retried later; a fresh loop takes over once they have.
                eprintln!("the event loop failed: {error}");
                broken = true;
            }
        }
        if reactor.pending() == 0 {
            idle_since = Instant::now();
        }
    }
}

/// Queues an entry's URL; an invalid one completes at once with its error.
fn submit(reactor: &mut Reactor, running: &mut HashMap<RequestId, Entry>, entry: Entry) {
    let id = reactor.submit(entry.url.as_str());
    running.insert(id, entry);
}
