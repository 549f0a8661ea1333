//! `frontier bench`: URLs per second with 1, 2, 3... worker processes on
//! this machine, against local HTTP servers, through a redis-server of its
//! own (a fresh one for each worker count).

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use redis::streams::StreamRangeReply;

use crate::common::{self, Reply};
use crate::enqueue;
use crate::keys::Keys;
use crate::redis_server::RedisServer;
use crate::status;
use crate::store::{Store, describe};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// URLs per run
    #[arg(long, default_value_t = 20_000)]
    pub urls: usize,
    /// Local HTTP servers (hosts), one port each
    #[arg(long, default_value_t = 40)]
    pub hosts: usize,
    /// Worker counts to run, one run each
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 3])]
    pub workers: Vec<usize>,
    #[arg(long, default_value_t = 16)]
    pub shards: u32,
    /// Each worker's --concurrency; at least hosts x per-host, so a worker
    /// that owns every host keeps a connection to each (below that it
    /// closes one host's idle connection to open another's: a new TCP
    /// connection for most requests)
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Each worker's --per-host
    #[arg(long, default_value_t = 2)]
    pub per_host: usize,
    /// Body bytes of each response
    #[arg(long, default_value_t = 64)]
    pub body: usize,
}

/// Workers that make no progress for this long end the run as failed.
const STALL: Duration = Duration::from_secs(30);
const PREFIX: &str = "bench";

/// Worker processes, killed on drop.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn run(args: &BenchArgs) -> Result<bool, String> {
    let body = args.body;
    let mut servers = Vec::with_capacity(args.hosts);
    for _ in 0..args.hosts.max(1) {
        let server = common::spawn_server(move |path| Reply::ok(body_for(path, body)))
            .map_err(|e| format!("cannot start a local server: {e}"))?;
        servers.push(server);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    outln_unwind!(
        "{} URLs over {} local hosts, {} shards; each worker: --concurrency {} --per-host {}",
        args.urls,
        args.hosts,
        args.shards,
        args.concurrency,
        args.per_host
    );
    outln_unwind!(
        "{:>7} {:>10} {:>12} {:>14} {:>12} {:>7} {:>16}",
        "workers",
        "wall",
        "URLs/s",
        "steady URLs/s",
        "results",
        "errors",
        "redis CPU µs/URL"
    );
    let mut ok = true;
    for &count in &args.workers {
        let redis = RedisServer::start(false)?;
        let mut store = Store::open(&redis.url(), "bench")?;
        let keys = Keys::new(PREFIX);
        let shards = enqueue::settle_shards(&mut store, &keys, Some(args.shards))?;
        let urls = (0..args.urls).map(|i| {
            let server = &servers[i % servers.len()];
            Ok(format!("http://{}/item/{i}", server.addr))
        });
        enqueue::enqueue(&mut store, &keys, shards, urls)?;

        let redis_cpu_before = redis_cpu(&mut store)?;
        let started = Instant::now();
        let mut workers = Workers(Vec::new());
        for n in 0..count {
            let child = Command::new(&exe)
                .args(["--redis", &redis.url(), "--prefix", PREFIX, "worker"])
                .args(["--name", &format!("bench-{n}")])
                .args(["--concurrency", &args.concurrency.to_string()])
                .args(["--per-host", &args.per_host.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?;
            workers.0.push(child);
        }
        let mut last_progress = (0, Instant::now());
        let snapshot = loop {
            let snapshot = status::snapshot(&mut store, &keys, shards)?;
            let total = snapshot.total();
            if snapshot.finished() {
                break snapshot;
            }
            if total.results > last_progress.0 {
                last_progress = (total.results, Instant::now());
            } else if last_progress.1.elapsed() > STALL {
                return Err(format!(
                    "{count} workers made no progress for {STALL:?} ({} of {} results)",
                    total.results, args.urls
                ));
            }
            thread::sleep(Duration::from_millis(20));
        };
        let wall = started.elapsed();
        let redis_cpu = redis_cpu(&mut store)? - redis_cpu_before;
        drop(workers);
        let total = snapshot.total();
        let steady = first_to_last_result(&mut store, &keys, shards)?;
        let rate = |d: Duration| total.results as f64 / d.as_secs_f64().max(1e-9);
        outln_unwind!(
            "{count:>7} {:>9.2}s {:>12.0} {:>14.0} {:>12} {:>7} {:>16.1}",
            wall.as_secs_f64(),
            rate(wall),
            steady.map_or(0.0, rate),
            total.results,
            total.errors + total.dead,
            redis_cpu * 1e6 / total.results.max(1) as f64
        );
        ok &= total.errors + total.dead == 0 && total.results >= args.urls as u64;
    }
    outln_unwind!(
        "wall: from starting the workers until every URL has a result; steady: from the first \
         result to the last (Redis's clock), without the workers' start-up; redis CPU: what \
         redis-server spent (INFO cpu) per URL while the workers ran"
    );
    Ok(ok)
}

/// CPU seconds redis-server has used so far (user plus system).
fn redis_cpu(store: &mut Store) -> Result<f64, String> {
    let info: String = store
        .run(|c| redis::cmd("INFO").arg("cpu").query(c))
        .map_err(|e| format!("INFO cpu failed: {}", describe(&e)))?;
    Ok(info
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| matches!(*name, "used_cpu_sys" | "used_cpu_user"))
        .filter_map(|(_, value)| value.trim().parse::<f64>().ok())
        .sum())
}

/// A small deterministic body for a path.
fn body_for(path: &str, len: usize) -> Vec<u8> {
    path.bytes().cycle().take(len).collect()
}

/// Time from the first result written to the last, by their stream ids
/// (milliseconds of Redis's clock).
fn first_to_last_result(
    store: &mut Store,
    keys: &Keys,
    shards: u32,
) -> Result<Option<Duration>, String> {
    let (mut first, mut last) = (u64::MAX, 0u64);
    for shard in 0..shards {
        let results = keys.shard(shard).results;
        let (head, tail): (StreamRangeReply, StreamRangeReply) = store
            .run(|c| {
                redis::pipe()
                    .cmd("XRANGE")
                    .arg(&results)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .cmd("XREVRANGE")
                    .arg(&results)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query(c)
            })
            .map_err(|e| format!("reading results failed: {}", describe(&e)))?;
        let ms = |reply: &StreamRangeReply| {
            reply
                .ids
                .first()
                .and_then(|e| e.id.split('-').next()?.parse::<u64>().ok())
        };
        if let Some(ms) = ms(&head) {
            first = first.min(ms);
        }
        if let Some(ms) = ms(&tail) {
            last = last.max(ms);
        }
    }
    Ok((last > first).then(|| Duration::from_millis(last - first)))
}
