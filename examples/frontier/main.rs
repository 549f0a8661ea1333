//! cargo run --release --example frontier -- [--redis URL] [--prefix NAME] enqueue|worker|status|bench [OPTIONS]
//!
//! Fetch workers on many machines sharing one URL frontier on Redis Streams.
//!
//! ```text
//! frontier enqueue urls.txt        URLs into S shard streams, by a hash of each URL's host
//! frontier worker                  take shards (leases), fetch their URLs, write results
//! frontier status [--watch]        per shard: owner, waiting, in flight, results, dead letters
//! frontier bench                   URLs per second with 1, 2, 3 local workers (needs redis-server)
//! ```
//!
//! Every URL of a host lands in one shard, and a shard has one owner at a
//! time (a lease: `SET NX PX`, renewed while the worker lives), so the
//! per-host connection cap of that owner's client holds across the whole
//! fleet. A worker reads its shards through a consumer group (XREADGROUP),
//! fetches with one multifetch `Reactor`, and writes each result and
//! acknowledges its entry in one MULTI/EXEC. When a worker dies its leases
//! expire; another worker takes the shards and claims the dead worker's
//! pending entries (XAUTOCLAIM). An entry that fails on every one of
//! `--max-deliveries` deliveries goes to a dead-letter stream with its last
//! error. Ctrl-C or SIGTERM stops taking work, finishes what is in flight,
//! releases the leases and exits.
//!
//! Delivery is at least once: a worker killed between fetching and writing
//! leaves its entries pending, and the next owner fetches them again. Each
//! result carries its entry's id (`entry`), which readers deduplicate by.
//! The README's "Past one machine" section has the key layout, the fields,
//! and how this scales to 100 machines.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod bench;
mod enqueue;
mod keys;
mod redis_server;
mod status;
mod store;
mod worker;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "frontier",
    about = "Fetch workers sharing a URL frontier on Redis Streams"
)]
struct Cli {
    /// The Redis server (redis://HOST:PORT/DB)
    #[arg(long, global = true, default_value = "redis://127.0.0.1:6379/")]
    redis: String,
    /// Name of the frontier: the first part of all its keys
    #[arg(long, global = true, default_value = "frontier")]
    prefix: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Add URLs (a file, or stdin) to the shard streams
    Enqueue(enqueue::EnqueueArgs),
    /// Fetch from the shards this worker leases, until Ctrl-C or SIGTERM
    Worker(worker::WorkerArgs),
    /// Show each shard's owner and counts, and results per second
    Status(status::StatusArgs),
    /// Measure URLs per second with 1, 2, 3 workers against local servers
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A closed stdout unwinds to here, so local servers, redis-server and
    // bench workers are stopped and temporary directories removed.
    common::out::catch_closed_stdout(|| run(&cli))
}

fn run(cli: &Cli) -> ExitCode {
    let result = match &cli.command {
        Cmd::Enqueue(args) => enqueue::run(&cli.redis, &cli.prefix, args).map(exit_code),
        Cmd::Worker(args) => worker::run(&cli.redis, &cli.prefix, args),
        Cmd::Status(args) => status::run(&cli.redis, &cli.prefix, args).map(exit_code),
        Cmd::Bench(args) => bench::run(args).map(exit_code),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("frontier: {message}");
            ExitCode::FAILURE
        }
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Seconds as given on the command line (`2`, `0.25`).
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text} seconds is out of range"))
}

/// A duration the way people write it: `2 s`, `0.25 s`.
pub fn secs(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}
