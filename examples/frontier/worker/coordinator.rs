//! The coordinator: which shards this worker owns, and which entries it
//! hands to the fetcher.
//!
//! A shard's state as this worker sees it:
//!
//! ```text
//!   free ──SET lease NX PX──▶ Active ──more shards than the fair share──▶ Draining
//!                               ▲  │                                        │
//!                               │  └──lease renewal finds another owner──▶ free
//!                               └──fair share grew again──────────────────┤
//!   free ◀──DEL lease (nothing held for the handover delay)───────────────┘
//! ```
//!
//! Every third of the lease time it beats its heart (a sorted set of live
//! workers, scored by Redis's own clock), renews its leases, and balances:
//! its fair share is `ceil(shards / live workers)`; below it, it takes free
//! shards; above it, it drains some (reads no more from them) and deletes
//! their leases once nothing of them has been held for the handover delay,
//! so the host never sees the old and the new owner's connections at once.
//!
//! From its active shards it reads new entries (XREADGROUP), and claims
//! entries pending longer than the claim idle time (XAUTOCLAIM): those of a
//! dead worker, and its own failed ones, for their next try. An entry that
//! has already had its last delivery goes to the dead-letter stream instead.
//! It also trims acknowledged entries from the front of its shard streams.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply,
    StreamPendingReply, StreamReadReply,
};

use super::record;
use super::{Entry, Shared};
use crate::enqueue;
use crate::keys::{GROUP, Keys};
use crate::store::{Store, describe};

/// Sets this worker's heartbeat to Redis's clock, forgets workers silent for
/// longer than ARGV[2] ms, and returns how many are alive.
const HEARTBEAT: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], ms, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
";
/// Extends the lease KEYS[1] by ARGV[2] ms if ARGV[1] still holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";
/// Deletes the lease KEYS[1] if ARGV[1] still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";
/// How often to look for new entries when the last look found none.
const POLL: Duration = Duration::from_millis(50);
/// Entries claimed per XAUTOCLAIM call, at most.
const CLAIM_BATCH: usize = 256;

pub struct Coordinator {
    pub store: Store,
    pub keys: Keys,
    pub shards: u32,
    pub name: String,
    pub shared: Arc<Shared>,
    pub window: usize,
    pub lease_ttl: Duration,
    pub claim_idle: Duration,
    pub max_deliveries: u64,
    /// How long a draining shard must hold nothing before its lease goes.
    pub handover: Duration,
}

#[derive(Debug)]
enum Lease {
    Active,
    Draining { empty_since: Option<Instant> },
}

#[derive(Debug)]
struct Owned {
    lease: Lease,
    /// Where the next XAUTOCLAIM scan of the shard starts.
    claim_cursor: String,
}

/// What the coordinator did over the worker's life.
#[derive(Debug, Default)]
pub struct Coordinated {
    pub taken: u64,
    pub handed_over: u64,
    pub claimed: u64,
    pub dead: u64,
}

struct State {
    owned: BTreeMap<u32, Owned>,
    done: Coordinated,
    /// Rotates the shard read first, so a small window serves all shards.
    read_from: usize,
}

type Res<T> = Result<T, String>;

impl Coordinator {
    pub fn run(mut self, entries: Sender<Entry>) -> Res<Coordinated> {
        let mut state = State {
            owned: BTreeMap::new(),
            done: Coordinated::default(),
            read_from: 0,
        };
        let tick_every = self.lease_ttl / 3;
        let reclaim_every =
            (self.claim_idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
        // Let workers started together see each other before sharing out.
        self.heartbeat()?;
        thread::sleep(tick_every.min(Duration::from_millis(500)));
        let mut next_tick = Instant::now();
        let mut next_reclaim = Instant::now();
        while !self.shared.stopping() {
            let now = Instant::now();
            if now >= next_tick {
                if self.tick(&mut state)? {
                    next_reclaim = now;
                }
                next_tick = now + tick_every;
            }
            if now >= next_reclaim {
                self.reclaim_all(&mut state, &entries)?;
                next_reclaim = now + reclaim_every;
            }
            self.hand_over(&mut state, now)?;
            let read = self.read(&mut state, &entries)?;
            let credit = self.window.saturating_sub(self.shared.total());
            if read == 0 || credit < self.min_read() {
                let until_tick = next_tick.saturating_duration_since(Instant::now());
                self.shared.wait_freed(POLL.min(until_tick));
            }
        }
        self.shut_down(&mut state, entries)?;
        Ok(state.done)
    }

    /// Fewest entries worth a read: an eighth of the window.
    fn min_read(&self) -> usize {
        (self.window / 8).max(1)
    }

    fn heartbeat(&mut self) -> Res<usize> {
        let ttl_ms = self.lease_ttl.as_millis() as u64;
        let (workers, name) = (self.keys.workers(), &self.name);
        self.store
            .run(|c| {
                redis::cmd("EVAL")
                    .arg(HEARTBEAT)
                    .arg(1)
                    .arg(&workers)
                    .arg(name)
                    .arg(ttl_ms)
                    .query::<usize>(c)
            })
            .map_err(|e| format!("heartbeat failed: {}", describe(&e)))
    }

    /// Heartbeat, lease renewal, balancing. Returns whether it took shards.
    fn tick(&mut self, state: &mut State) -> Res<bool> {
        let live = self.heartbeat()?.max(1);
        self.renew(state)?;
        let target = (self.shards as usize).div_ceil(live);
        let active: Vec<u32> = state
            .owned
            .iter()
            .filter(|(_, o)| matches!(o.lease, Lease::Active))
            .map(|(shard, _)| *shard)
            .collect();
        if active.len() > target {
            // Drain the shards holding least, so the handover comes soonest.
            let mut by_held: Vec<(usize, u32)> = active
                .iter()
                .map(|&s| (self.shared.held_in(s), s))
                .collect();
            by_held.sort_unstable();
            for (_, shard) in by_held.into_iter().take(active.len() - target) {
                if let Some(owned) = state.owned.get_mut(&shard) {
                    owned.lease = Lease::Draining { empty_since: None };
                    eprintln!(
                        "worker {}: draining shard {shard} to hand it over",
                        self.name
                    );
                }
            }
            return Ok(false);
        }
        let mut missing = target - active.len();
        // Shards being drained come back first.
        for (shard, owned) in state.owned.iter_mut() {
            if missing == 0 {
                break;
            }
            if matches!(owned.lease, Lease::Draining { .. }) {
                owned.lease = Lease::Active;
                eprintln!("worker {}: keeping shard {shard}", self.name);
                missing -= 1;
            }
        }
        if missing == 0 {
            return Ok(false);
        }
        self.acquire(state, missing)
    }

    /// Extends every lease held; forgets those another worker took after
    /// ours expired (Redis unreachable for longer than the lease).
    fn renew(&mut self, state: &mut State) -> Res<()> {
        if state.owned.is_empty() {
            return Ok(());
        }
        let shards: Vec<u32> = state.owned.keys().copied().collect();
        let ttl_ms = self.lease_ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        for &shard in &shards {
            pipe.cmd("EVAL")
                .arg(RENEW)
                .arg(1)
                .arg(self.keys.shard(shard).lease)
                .arg(&self.name)
                .arg(ttl_ms);
        }
        let renewed: Vec<i64> = self
            .store
            .run(|c| pipe.query(c))
            .map_err(|e| format!("renewing leases failed: {}", describe(&e)))?;
        for (shard, renewed) in shards.into_iter().zip(renewed) {
            if renewed == 0 {
                state.owned.remove(&shard);
                eprintln!(
                    "worker {}: lease on shard {shard} lost (it expired while Redis was out of reach); \
                     its entries in flight are still written",
                    self.name
                );
            }
        }
        Ok(())
    }

    /// Takes up to `wanted` free shards, starting at a place of this worker's
    /// own so that workers starting together try different shards first.
    fn acquire(&mut self, state: &mut State, wanted: usize) -> Res<bool> {
        let mut pipe = redis::pipe();
        for shard in 0..self.shards {
            pipe.cmd("EXISTS").arg(self.keys.shard(shard).lease);
        }
        let taken: Vec<bool> = self
            .store
            .run(|c| pipe.query(c))
            .map_err(|e| format!("reading leases failed: {}", describe(&e)))?;
        let start = crate::keys::shard_of(&self.name, self.shards);
        let free: Vec<u32> = (0..self.shards)
            .map(|i| (start + i) % self.shards)
            .filter(|&shard| !taken[shard as usize] && !state.owned.contains_key(&shard))
            .take(wanted)
            .collect();
        if free.is_empty() {
            return Ok(false);
        }
        let ttl_ms = self.lease_ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        for &shard in &free {
            pipe.cmd("SET")
                .arg(self.keys.shard(shard).lease)
                .arg(&self.name)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms);
        }
        let set: Vec<Option<String>> = self
            .store
            .run(|c| pipe.query(c))
            .map_err(|e| format!("taking leases failed: {}", describe(&e)))?;
        let mut took = false;
        for (shard, ok) in free.into_iter().zip(set) {
            if ok.is_some() {
                state.owned.insert(
                    shard,
                    Owned {
                        lease: Lease::Active,
                        claim_cursor: "0-0".into(),
                    },
                );
                state.done.taken += 1;
                took = true;
                eprintln!("worker {}: took shard {shard}", self.name);
            }
        }
        Ok(took)
    }

    /// Deletes the leases of drained shards that have held nothing for the
    /// handover delay.
    fn hand_over(&mut self, state: &mut State, now: Instant) -> Res<()> {
        let mut ready = Vec::new();
        for (&shard, owned) in state.owned.iter_mut() {
            if let Lease::Draining { empty_since } = &mut owned.lease {
                if self.shared.held_in(shard) > 0 {
                    *empty_since = None;
                } else if now.duration_since(*empty_since.get_or_insert(now)) >= self.handover {
                    ready.push(shard);
                }
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        self.release(&ready)?;
        for shard in ready {
            state.owned.remove(&shard);
            state.done.handed_over += 1;
            eprintln!("worker {}: handed over shard {shard}", self.name);
        }
        Ok(())
    }

    fn release(&mut self, shards: &[u32]) -> Res<()> {
        let mut pipe = redis::pipe();
        for &shard in shards {
            pipe.cmd("EVAL")
                .arg(RELEASE)
                .arg(1)
                .arg(self.keys.shard(shard).lease)
                .arg(&self.name)
                .ignore();
        }
        self.store
            .run(|c| pipe.query::<()>(c))
            .map_err(|e| format!("releasing leases failed: {}", describe(&e)))
    }

    fn active(state: &State) -> Vec<u32> {
        state
            .owned
            .iter()
            .filter(|(_, o)| matches!(o.lease, Lease::Active))
            .map(|(shard, _)| *shard)
            .collect()
    }

    /// Reads new entries from the active shards, as many as the window has
    /// room for, each shard up to its share of the window.
    fn read(&mut self, state: &mut State, entries: &Sender<Entry>) -> Res<usize> {
        let mut credit = self.window.saturating_sub(self.shared.total());
        let active = Self::active(state);
        if credit < self.min_read() || active.is_empty() {
            return Ok(0);
        }
        let share = self.window.div_ceil(active.len());
        state.read_from = (state.read_from + 1) % active.len();
        let mut asked = Vec::new();
        let mut pipe = redis::pipe();
        for i in 0..active.len() {
            let shard = active[(state.read_from + i) % active.len()];
            let count = share.saturating_sub(self.shared.held_in(shard)).min(credit);
            if count == 0 {
                continue;
            }
            credit -= count;
            asked.push(shard);
            pipe.cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(&self.name)
                .arg("COUNT")
                .arg(count)
                .arg("STREAMS")
                .arg(self.keys.shard(shard).urls)
                .arg(">");
        }
        if asked.is_empty() {
            return Ok(0);
        }
        let replies: Vec<Option<StreamReadReply>> = match self.store.run(|c| pipe.query(c)) {
            Ok(replies) => replies,
            Err(e) if e.code() == Some("NOGROUP") => {
                // The data went away (a Redis without persistence restarted):
                // recreate the groups; the shards are empty now.
                eprintln!(
                    "worker {}: consumer groups missing; recreating them",
                    self.name
                );
                enqueue::create_groups(&mut self.store, &self.keys, self.shards)?;
                return Ok(0);
            }
            Err(e) => return Err(format!("reading entries failed: {}", describe(&e))),
        };
        let mut got = Vec::new();
        for (shard, reply) in asked.into_iter().zip(replies) {
            for key in reply.map(|r| r.keys).unwrap_or_default() {
                for stream_id in key.ids {
                    got.push(entry(shard, stream_id, 1));
                }
            }
        }
        self.deliver(got, entries)
    }

    fn deliver(&self, got: Vec<Entry>, entries: &Sender<Entry>) -> Res<usize> {
        let n = got.len();
        self.shared.hold(&got);
        for entry in got {
            entries
                .send(entry)
                .map_err(|_| "the fetcher stopped".to_string())?;
        }
        Ok(n)
    }

    fn reclaim_all(&mut self, state: &mut State, entries: &Sender<Entry>) -> Res<()> {
        for shard in state.owned.keys().copied().collect::<Vec<_>>() {
            self.mark_in_work(shard)?;
        }
        for shard in Self::active(state) {
            self.reclaim(state, shard, entries)?;
            self.trim(shard)?;
        }
        Ok(())
    }

    /// Resets the idle time of entries this worker has held for half the
    /// claim idle time (slow hosts, a long queue), so that no XAUTOCLAIM,
    /// ours or another worker's, takes them while they are being fetched.
    /// `XCLAIM ... JUSTID` does not count as a delivery.
    fn mark_in_work(&mut self, shard: u32) -> Res<()> {
        let stale = self.shared.take_stale(shard, self.claim_idle / 2);
        if stale.is_empty() {
            return Ok(());
        }
        let urls = self.keys.shard(shard).urls;
        let name = &self.name;
        self.store
            .run(|c| {
                redis::cmd("XCLAIM")
                    .arg(&urls)
                    .arg(GROUP)
                    .arg(name)
                    .arg(0)
                    .arg(&stale)
                    .arg("JUSTID")
                    .query::<()>(c)
            })
            .map_err(|e| format!("marking entries in work failed: {}", describe(&e)))
    }

    /// Claims entries of `shard` pending longer than the claim idle time
    /// (XAUTOCLAIM, one step of the scan per call), dead-letters those past
    /// their last delivery and hands the rest to the fetcher.
    fn reclaim(&mut self, state: &mut State, shard: u32, entries: &Sender<Entry>) -> Res<()> {
        let credit = self.window.saturating_sub(self.shared.total());
        let Some(owned) = state.owned.get_mut(&shard) else {
            return Ok(());
        };
        if credit == 0 {
            return Ok(());
        }
        let keys = self.keys.shard(shard);
        let idle_ms = self.claim_idle.as_millis() as u64;
        let cursor = owned.claim_cursor.clone();
        let name = &self.name;
        let reply: StreamAutoClaimReply = self
            .store
            .run(|c| {
                redis::cmd("XAUTOCLAIM")
                    .arg(&keys.urls)
                    .arg(GROUP)
                    .arg(name)
                    .arg(idle_ms)
                    .arg(&cursor)
                    .arg("COUNT")
                    .arg(credit.min(CLAIM_BATCH))
                    .query(c)
            })
            .map_err(|e| format!("claiming pending entries failed: {}", describe(&e)))?;
        owned.claim_cursor = reply.next_stream_id;
        // Entries this worker is still fetching are not fetched twice (they
        // are marked in work, but a mark can come late on a busy machine).
        let claimed: Vec<StreamId> = reply
            .claimed
            .into_iter()
            .filter(|e| !self.shared.is_held(shard, &e.id))
            .collect();
        if claimed.is_empty() {
            return Ok(());
        }
        // Each one's delivery count (this claim included) and last error.
        let mut pipe = redis::pipe();
        for e in &claimed {
            pipe.cmd("XPENDING")
                .arg(&keys.urls)
                .arg(GROUP)
                .arg(&e.id)
                .arg(&e.id)
                .arg(1);
            pipe.cmd("HGET").arg(&keys.errors).arg(&e.id);
        }
        let replies: Vec<Value> = self
            .store
            .run(|c| pipe.query(c))
            .map_err(|e| format!("reading delivery counts failed: {}", describe(&e)))?;
        let mut again = Vec::new();
        let mut dead = Vec::new();
        for (stream_id, pair) in claimed.into_iter().zip(replies.chunks(2)) {
            let deliveries = redis::from_redis_value_ref::<StreamPendingCountReply>(&pair[0])
                .ok()
                .and_then(|r| r.ids.first().map(|p| p.times_delivered as u64))
                .unwrap_or(1);
            let last_error = redis::from_redis_value_ref::<Option<String>>(&pair[1])
                .ok()
                .flatten();
            let entry = entry(shard, stream_id, deliveries);
            if deliveries > self.max_deliveries {
                dead.push((entry, last_error));
            } else {
                again.push(entry);
            }
        }
        state.done.claimed += again.len() as u64;
        if !dead.is_empty() {
            self.dead_letter(shard, &dead)?;
            state.done.dead += dead.len() as u64;
        }
        self.deliver(again, entries)?;
        Ok(())
    }

    /// Entries delivered `max_deliveries` times without a result (their
    /// workers died or failed each time) go to the dead-letter stream with
    /// their last error, acknowledged in the same transaction.
    fn dead_letter(&mut self, shard: u32, dead: &[(Entry, Option<String>)]) -> Res<()> {
        let keys = self.keys.shard(shard);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (entry, last_error) in dead {
            let (kind, message) = match last_error {
                Some(value) => record::split_error_value(value),
                None => (
                    "lost",
                    "no result after every delivery: its worker stopped or died each time",
                ),
            };
            let tried = entry.deliveries - 1;
            let fields = record::dead_fields(entry, &self.name, tried, kind, message);
            record::xadd(&mut pipe, &keys.dead, &fields);
        }
        let ids: Vec<&str> = dead.iter().map(|(e, _)| e.id.as_str()).collect();
        pipe.cmd("XACK")
            .arg(&keys.urls)
            .arg(GROUP)
            .arg(&ids)
            .ignore();
        pipe.cmd("HDEL").arg(&keys.errors).arg(&ids).ignore();
        pipe.cmd("HINCRBY")
            .arg(&keys.stats)
            .arg("dead")
            .arg(ids.len())
            .ignore();
        self.store
            .run(|c| pipe.query::<()>(c))
            .map_err(|e| format!("dead-lettering failed: {}", describe(&e)))
    }

    /// Drops acknowledged entries from the front of the shard stream: all
    /// before the oldest pending one, or before the last delivered one when
    /// none is pending (`XTRIM MINID ~`, whole stream nodes only).
    fn trim(&mut self, shard: u32) -> Res<()> {
        let keys = self.keys.shard(shard);
        let (pending, groups): (StreamPendingReply, StreamInfoGroupsReply) = self
            .store
            .run(|c| {
                redis::pipe()
                    .cmd("XPENDING")
                    .arg(&keys.urls)
                    .arg(GROUP)
                    .cmd("XINFO")
                    .arg("GROUPS")
                    .arg(&keys.urls)
                    .query(c)
            })
            .map_err(|e| format!("reading the pending summary failed: {}", describe(&e)))?;
        let min_id = match pending {
            StreamPendingReply::Data(data) => data.start_id,
            _ => match groups.groups.into_iter().find(|g| g.name == GROUP) {
                Some(group) => group.last_delivered_id,
                None => return Ok(()),
            },
        };
        if min_id == "0-0" {
            return Ok(());
        }
        self.store
            .run(|c| {
                redis::cmd("XTRIM")
                    .arg(&keys.urls)
                    .arg("MINID")
                    .arg("~")
                    .arg(&min_id)
                    .query::<()>(c)
            })
            .map_err(|e| format!("trimming shard {shard} failed: {}", describe(&e)))
    }

    /// Leaves the live set (so the others take over), waits until every held
    /// entry is written while keeping the leases alive, then releases them.
    fn shut_down(&mut self, state: &mut State, entries: Sender<Entry>) -> Res<()> {
        let (workers, name) = (self.keys.workers(), &self.name);
        self.store
            .run(|c| redis::cmd("ZREM").arg(&workers).arg(name).query::<()>(c))
            .map_err(|e| format!("leaving the worker set failed: {}", describe(&e)))?;
        let tick_every = self.lease_ttl / 3;
        let mut next_tick = Instant::now() + tick_every;
        while self.shared.total() > 0 {
            if Instant::now() >= next_tick {
                self.renew(state)?;
                next_tick = Instant::now() + tick_every;
            }
            self.shared.wait_freed(POLL);
        }
        let shards: Vec<u32> = state.owned.keys().copied().collect();
        self.release(&shards)?;
        state.done.handed_over += shards.len() as u64;
        state.owned.clear();
        eprintln!(
            "worker {}: everything in flight written; released {} shard leases",
            self.name,
            shards.len()
        );
        drop(entries);
        Ok(())
    }
}

fn entry(shard: u32, stream_id: StreamId, deliveries: u64) -> Entry {
    Entry {
        shard,
        url: stream_id.get::<String>("url").unwrap_or_default(),
        id: stream_id.id,
        deliveries,
    }
}
