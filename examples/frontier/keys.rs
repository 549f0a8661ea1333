//! Where the frontier lives in Redis: the key of every stream, lease, hash and
//! counter, and which shard a URL belongs to.
//!
//! ```text
//! PREFIX:meta              hash    shards = S (fixed by the first enqueue)
//! PREFIX:workers           zset    worker name -> last heartbeat (Redis server time, ms)
//! {PREFIX:N}:urls          stream  the shard's URLs: field `url`; consumer group `fetchers`
//! {PREFIX:N}:lease         string  the name of the worker that owns shard N (SET NX PX, renewed)
//! {PREFIX:N}:results       stream  one entry per fetch (see the README for the fields)
//! {PREFIX:N}:dead          stream  entries that failed on every one of K deliveries
//! {PREFIX:N}:errors        hash    entry id -> last error ("kind<TAB>message") while it awaits a retry
//! {PREFIX:N}:stats         hash    counters: enqueued, results, errors, retries, dead
//! ```
//!
//! Every key of shard N carries the hash tag `{PREFIX:N}`, so on a Redis
//! Cluster they all sit in one slot and the MULTI/EXEC that writes a result
//! and acknowledges its entry is allowed there.

use multifetch::Url;
use sha2::{Digest, Sha256};

/// The consumer group every worker reads the shard streams through.
pub const GROUP: &str = "fetchers";

/// Key names of one frontier (all keys start with its prefix).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

/// Key names of one shard.
#[derive(Debug, Clone)]
pub struct ShardKeys {
    pub urls: String,
    pub lease: String,
    pub results: String,
    pub dead: String,
    pub errors: String,
    pub stats: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// The hash holding the frontier's settings (`shards`).
    pub fn meta(&self) -> String {
        format!("{}:meta", self.prefix)
    }

    /// The sorted set of live workers, scored by their last heartbeat.
    pub fn workers(&self) -> String {
        format!("{}:workers", self.prefix)
    }

    pub fn shard(&self, shard: u32) -> ShardKeys {
        let tag = format!("{{{}:{shard}}}", self.prefix);
        ShardKeys {
            urls: format!("{tag}:urls"),
            lease: format!("{tag}:lease"),
            results: format!("{tag}:results"),
            dead: format!("{tag}:dead"),
            errors: format!("{tag}:errors"),
            stats: format!("{tag}:stats"),
        }
    }
}

/// The host a URL's politeness is counted by: host and port, the same unit
/// as the client's per-host connection cap. `None` for a URL that is not
/// http(s) or has no host.
pub fn host_of(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str().filter(|h| !h.is_empty())?;
    let port = url.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// The shard of a host: the first 8 bytes of SHA-256 of `host:port`, modulo
/// the shard count. The same on every machine and every run, so all URLs of a
/// host land in one shard whoever enqueues them.
pub fn shard_of(host: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(host.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(shards.max(1))) as u32
}

/// Lowercase hex of SHA-256 of `bytes` (the `sha256` field of a result).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
