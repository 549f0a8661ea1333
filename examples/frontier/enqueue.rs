//! `frontier enqueue`: URLs from a file or stdin into the shard streams, each
//! URL into the shard of its host.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use multifetch::Url;

use crate::keys::{self, GROUP, Keys};
use crate::store::{Store, describe};

/// Shards of a new frontier when `--shards` is not given.
pub const DEFAULT_SHARDS: u32 = 64;
/// XADDs sent per round trip.
const PIPELINE: usize = 1000;

#[derive(clap::Args, Debug)]
pub struct EnqueueArgs {
    /// File of URLs, one per line (`-` or nothing: stdin); blank lines and
    /// lines starting with `#` are skipped.
    pub input: Option<PathBuf>,
    /// Number of shard streams. Fixed by the first enqueue of a frontier
    /// [default: 64]; later runs must give the same number or none.
    #[arg(long)]
    pub shards: Option<u32>,
}

/// What an enqueue did.
#[derive(Debug, Default)]
pub struct Enqueued {
    pub added: u64,
    /// Lines that are not http(s) URLs with a host: (line number, line).
    pub rejected: Vec<(u64, String)>,
}

pub fn run(redis: &str, prefix: &str, args: &EnqueueArgs) -> Result<bool, String> {
    let mut store = Store::open(redis, "enqueue")?;
    let keys = Keys::new(prefix);
    let shards = settle_shards(&mut store, &keys, args.shards)?;
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) if path.as_os_str() != "-" => Box::new(BufReader::new(
            File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )),
        _ => Box::new(io::stdin().lock()),
    };
    let done = enqueue(&mut store, &keys, shards, input.lines())?;
    for (number, line) in done.rejected.iter().take(10) {
        eprintln!("enqueue: line {number}: not an http(s) URL with a host: {line}");
    }
    if done.rejected.len() > 10 {
        eprintln!("enqueue: ... and {} more lines", done.rejected.len() - 10);
    }
    outln_unwind!(
        "enqueued {} URLs into {shards} shards of {prefix}; {} lines rejected",
        done.added,
        done.rejected.len()
    );
    Ok(done.rejected.is_empty())
}

/// Fixes the frontier's shard count (the first caller's `wanted`, or the
/// default) and makes sure every shard stream and its consumer group exist.
/// Returns the shard count.
pub fn settle_shards(store: &mut Store, keys: &Keys, wanted: Option<u32>) -> Result<u32, String> {
    if wanted == Some(0) {
        return Err("--shards must be at least 1".into());
    }
    let proposed = wanted.unwrap_or(DEFAULT_SHARDS);
    let shards: u32 = store
        .run(|c| {
            redis::pipe()
                .cmd("HSETNX")
                .arg(keys.meta())
                .arg("shards")
                .arg(proposed)
                .ignore()
                .cmd("HGET")
                .arg(keys.meta())
                .arg("shards")
                .query::<(u32,)>(c)
        })
        .map(|(shards,)| shards)
        .map_err(|e| format!("reading {} failed: {}", keys.meta(), describe(&e)))?;
    if wanted.is_some_and(|wanted| wanted != shards) {
        return Err(format!(
            "the frontier already has {shards} shards; give --shards {shards} or leave it out"
        ));
    }
    create_groups(store, keys, shards)?;
    Ok(shards)
}

/// The frontier's shard count, if some enqueue has fixed it.
pub fn shards(store: &mut Store, keys: &Keys) -> Result<Option<u32>, String> {
    store
        .run(|c| {
            redis::cmd("HGET")
                .arg(keys.meta())
                .arg("shards")
                .query::<Option<u32>>(c)
        })
        .map_err(|e| format!("reading {} failed: {}", keys.meta(), describe(&e)))
}

/// Creates each shard stream with its consumer group, reading from the
/// start; an existing group is left as it is.
pub fn create_groups(store: &mut Store, keys: &Keys, shards: u32) -> Result<(), String> {
    for shard in 0..shards {
        let urls = keys.shard(shard).urls;
        create_group(store, &urls)?;
    }
    Ok(())
}

pub fn create_group(store: &mut Store, urls: &str) -> Result<(), String> {
    let created = store.run(|c| {
        redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(urls)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query::<()>(c)
    });
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(format!(
            "creating the consumer group of {urls} failed: {}",
            describe(&e)
        )),
        _ => Ok(()),
    }
}

/// Adds every URL line to its host's shard, in pipelines of 1000 XADDs,
/// and counts them in each shard's `enqueued`. Lines are read as they are
/// sent, so the input never sits in memory whole.
pub fn enqueue(
    store: &mut Store,
    keys: &Keys,
    shards: u32,
    lines: impl IntoIterator<Item = io::Result<String>>,
) -> Result<Enqueued, String> {
    let mut done = Enqueued::default();
    let mut batch: Vec<(u32, String)> = Vec::with_capacity(PIPELINE);
    for (index, line) in lines.into_iter().enumerate() {
        let line = line.map_err(|e| format!("reading the URLs failed: {e}"))?;
        let url = line.trim();
        if url.is_empty() || url.starts_with('#') {
            continue;
        }
        match Url::parse(url).ok().as_ref().and_then(keys::host_of) {
            Some(host) => batch.push((keys::shard_of(&host, shards), url.to_owned())),
            None => done.rejected.push((index as u64 + 1, url.to_owned())),
        }
        if batch.len() == PIPELINE {
            done.added += flush(store, keys, &mut batch)?;
        }
    }
    done.added += flush(store, keys, &mut batch)?;
    Ok(done)
}

fn flush(store: &mut Store, keys: &Keys, batch: &mut Vec<(u32, String)>) -> Result<u64, String> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut pipe = redis::pipe();
    let mut per_shard: HashMap<u32, u64> = HashMap::new();
    for (shard, url) in batch.iter() {
        let shard_keys = keys.shard(*shard);
        pipe.cmd("XADD")
            .arg(&shard_keys.urls)
            .arg("*")
            .arg("url")
            .arg(url)
            .ignore();
        *per_shard.entry(*shard).or_default() += 1;
    }
    for (shard, count) in &per_shard {
        pipe.cmd("HINCRBY")
            .arg(keys.shard(*shard).stats)
            .arg("enqueued")
            .arg(*count)
            .ignore();
    }
    store
        .run(|c| pipe.query::<()>(c))
        .map_err(|e| format!("adding URLs failed: {}", describe(&e)))?;
    let added = batch.len() as u64;
    batch.clear();
    Ok(added)
}
