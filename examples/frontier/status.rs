//! `frontier status`: per shard, its owner, entries waiting for a first
//! delivery, entries in flight (delivered, not acknowledged: being fetched
//! or waiting for a retry), results written, dead letters; and results per
//! second over an interval.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use redis::streams::StreamInfoGroupsReply;

use crate::enqueue;
use crate::keys::{GROUP, Keys};
use crate::parse_secs;
use crate::store::{Store, describe};

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Seconds between the two looks the rate is taken from (0: no rate)
    #[arg(long, value_parser = parse_secs, default_value = "1")]
    pub interval: Duration,
    /// Print again every interval until interrupted
    #[arg(long)]
    pub watch: bool,
    /// One JSON object instead of the table
    #[arg(long)]
    pub json: bool,
}

/// One shard as Redis has it.
#[derive(Debug, Default, Clone)]
pub struct ShardStatus {
    pub shard: u32,
    pub owner: Option<String>,
    pub enqueued: u64,
    /// Not delivered yet (the group's lag); `None` when Redis cannot tell.
    pub waiting: Option<u64>,
    /// Delivered and not acknowledged.
    pub in_flight: u64,
    /// Result entries written (a URL fetched twice counts twice).
    pub results: u64,
    /// Of the results, those that are errors.
    pub errors: u64,
    /// Failed deliveries left pending for another try.
    pub retries: u64,
    pub dead: u64,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub shards: Vec<ShardStatus>,
    pub workers: Vec<String>,
}

impl Snapshot {
    pub fn total(&self) -> ShardStatus {
        let mut total = ShardStatus {
            waiting: Some(0),
            ..ShardStatus::default()
        };
        for s in &self.shards {
            total.enqueued += s.enqueued;
            total.waiting = total.waiting.zip(s.waiting).map(|(a, b)| a + b);
            total.in_flight += s.in_flight;
            total.results += s.results;
            total.errors += s.errors;
            total.retries += s.retries;
            total.dead += s.dead;
        }
        total
    }

    /// Whether every enqueued URL has a result or a dead letter.
    pub fn finished(&self) -> bool {
        let total = self.total();
        total.waiting == Some(0) && total.in_flight == 0
    }
}

pub fn run(redis: &str, prefix: &str, args: &StatusArgs) -> Result<bool, String> {
    let mut store = Store::open(redis, "status")?;
    let keys = Keys::new(prefix);
    let Some(shards) = enqueue::shards(&mut store, &keys)? else {
        return Err(format!(
            "no frontier {prefix} on {redis} (nothing enqueued yet)"
        ));
    };
    loop {
        let first = snapshot(&mut store, &keys, shards)?;
        let started = Instant::now();
        let (last, rate) = if args.interval.is_zero() {
            (first, None)
        } else {
            thread::sleep(args.interval);
            let last = snapshot(&mut store, &keys, shards)?;
            let elapsed = started.elapsed().as_secs_f64();
            let rate = (last.total().results - first.total().results) as f64 / elapsed;
            (last, Some((rate, elapsed)))
        };
        if args.json {
            outln_unwind!("{}", json(prefix, &last, rate.map(|r| r.0)));
        } else {
            out_unwind!("{}", table(prefix, &last, rate));
        }
        if !args.watch || args.interval.is_zero() {
            return Ok(true);
        }
    }
}

/// Reads every shard's lease, group and counters in one round trip.
pub fn snapshot(store: &mut Store, keys: &Keys, shards: u32) -> Result<Snapshot, String> {
    let mut pipe = redis::pipe();
    for shard in 0..shards {
        let k = keys.shard(shard);
        pipe.cmd("GET").arg(&k.lease);
        pipe.cmd("XINFO").arg("GROUPS").arg(&k.urls);
        pipe.cmd("HGETALL").arg(&k.stats);
    }
    pipe.cmd("ZRANGE").arg(keys.workers()).arg(0).arg(-1);
    let mut replies: Vec<redis::Value> = store
        .run(|c| pipe.query(c))
        .map_err(|e| format!("reading the frontier failed: {}", describe(&e)))?;
    let workers: Vec<String> = replies
        .pop()
        .and_then(|v| redis::from_redis_value(v).ok())
        .unwrap_or_default();
    let mut snapshot = Snapshot {
        shards: Vec::with_capacity(shards as usize),
        workers,
    };
    for (shard, reply) in (0..shards).zip(replies.chunks(3)) {
        let owner: Option<String> = redis::from_redis_value_ref(&reply[0]).ok().flatten();
        let groups: StreamInfoGroupsReply =
            redis::from_redis_value_ref(&reply[1]).unwrap_or_default();
        let stats: HashMap<String, u64> =
            redis::from_redis_value_ref(&reply[2]).unwrap_or_default();
        let group = groups.groups.into_iter().find(|g| g.name == GROUP);
        let count = |name: &str| stats.get(name).copied().unwrap_or(0);
        snapshot.shards.push(ShardStatus {
            shard,
            owner,
            enqueued: count("enqueued"),
            waiting: group.as_ref().and_then(|g| g.lag).map(|lag| lag as u64),
            in_flight: group.as_ref().map_or(0, |g| g.pending as u64),
            results: count("results"),
            errors: count("errors"),
            retries: count("retries"),
            dead: count("dead"),
        });
    }
    Ok(snapshot)
}

fn table(prefix: &str, snapshot: &Snapshot, rate: Option<(f64, f64)>) -> String {
    let mut out = String::new();
    let workers = if snapshot.workers.is_empty() {
        "none".to_owned()
    } else {
        snapshot.workers.join(", ")
    };
    let _ = writeln!(
        out,
        "frontier {prefix}: {} shards; workers alive: {workers}",
        snapshot.shards.len()
    );
    let _ = writeln!(
        out,
        "{:>5}  {:<20} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>6}",
        "shard",
        "owner",
        "enqueued",
        "waiting",
        "in flight",
        "results",
        "errors",
        "retries",
        "dead"
    );
    let row = |out: &mut String, label: &str, owner: &str, s: &ShardStatus| {
        let waiting = s.waiting.map_or("?".to_owned(), |w| w.to_string());
        let _ = writeln!(
            out,
            "{label:>5}  {owner:<20} {:>9} {waiting:>9} {:>9} {:>9} {:>7} {:>7} {:>6}",
            s.enqueued, s.in_flight, s.results, s.errors, s.retries, s.dead
        );
    };
    for s in &snapshot.shards {
        row(
            &mut out,
            &s.shard.to_string(),
            s.owner.as_deref().unwrap_or("-"),
            s,
        );
    }
    row(&mut out, "total", "", &snapshot.total());
    if let Some((rate, over)) = rate {
        let _ = writeln!(out, "results per second: {rate:.0} (over {over:.1} s)");
    }
    out
}

fn json(prefix: &str, snapshot: &Snapshot, rate: Option<f64>) -> String {
    let number = |n: Option<u64>| n.map_or("null".to_owned(), |n| n.to_string());
    let string = |s: &str| {
        let mut quoted = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(quoted, "\\u{:04x}", c as u32);
                }
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    };
    let fields = |s: &ShardStatus| {
        format!(
            "\"enqueued\":{},\"waiting\":{},\"in_flight\":{},\"results\":{},\"errors\":{},\"retries\":{},\"dead\":{}",
            s.enqueued,
            number(s.waiting),
            s.in_flight,
            s.results,
            s.errors,
            s.retries,
            s.dead
        )
    };
    let shards: Vec<String> = snapshot
        .shards
        .iter()
        .map(|s| {
            let owner = s.owner.as_deref().map_or("null".to_owned(), string);
            format!("{{\"shard\":{},\"owner\":{owner},{}}}", s.shard, fields(s))
        })
        .collect();
    let workers: Vec<String> = snapshot.workers.iter().map(|w| string(w)).collect();
    let rate = rate.map_or("null".to_owned(), |r| format!("{r:.1}"));
    format!(
        "{{\"frontier\":{},\"workers\":[{}],{},\"finished\":{},\"results_per_second\":{rate},\"shards\":[{}]}}",
        string(prefix),
        workers.join(","),
        fields(&snapshot.total()),
        snapshot.finished(),
        shards.join(",")
    )
}
