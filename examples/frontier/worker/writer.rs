//! The writer: turns finished fetches into Redis writes. A batch (whatever
//! finished while the previous one was being written, up to `--batch`) goes
//! out in one round trip: one MULTI/EXEC per shard, pipelined. In each
//! transaction a result is added to the shard's results stream and its
//! entry acknowledged (XACK), so an entry is never acknowledged without its
//! result, nor a result lost without its entry staying pending. A failure to
//! be tried again only records its error and leaves the entry pending; a
//! failure on the last delivery moves the entry to the dead-letter stream,
//! acknowledged in the same transaction.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use redis::Value;

use super::record::{self, Verdict};
use super::{Outcome, Shared};
use crate::keys::{GROUP, Keys};
use crate::store::{Store, describe};

pub struct Writer {
    pub store: Store,
    pub keys: Keys,
    pub name: String,
    pub shared: Arc<Shared>,
    pub batch: usize,
    pub body_limit: usize,
    pub max_deliveries: u64,
}

/// What the writer wrote over the worker's life.
#[derive(Debug, Default)]
pub struct Written {
    pub results: u64,
    pub errors: u64,
    pub retries: u64,
    pub dead: u64,
}

impl Writer {
    /// Writes outcomes until the fetcher closes the channel.
    pub fn run(mut self, outcomes: Receiver<Outcome>) -> Result<Written, String> {
        let mut written = Written::default();
        while let Ok(first) = outcomes.recv() {
            let mut batch = vec![first];
            while batch.len() < self.batch {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            let mut by_shard: BTreeMap<u32, Vec<Outcome>> = BTreeMap::new();
            for outcome in batch {
                by_shard
                    .entry(outcome.entry.shard)
                    .or_default()
                    .push(outcome);
            }
            self.commit(&by_shard, &mut written)?;
        }
        Ok(written)
    }

    /// Writes a batch: one transaction per shard, all in one round trip.
    fn commit(
        &mut self,
        by_shard: &BTreeMap<u32, Vec<Outcome>>,
        written: &mut Written,
    ) -> Result<(), String> {
        let mut pipe = redis::pipe();
        let mut counts = Written::default();
        for (&shard, outcomes) in by_shard {
            pipe.cmd("MULTI").ignore();
            self.transaction(&mut pipe, shard, outcomes, &mut counts);
            pipe.cmd("EXEC");
        }
        let replies: Vec<Value> = self
            .store
            .run(|c| pipe.query(c))
            .map_err(|e| format!("writing results failed: {}", describe(&e)))?;
        // EXEC answers nil or an error when a transaction did not run.
        if let Some(failed) = replies
            .iter()
            .position(|reply| !matches!(reply, Value::Array(_)))
        {
            let shard = by_shard.keys().nth(failed).copied().unwrap_or_default();
            return Err(format!(
                "the transaction writing results to shard {shard} did not run"
            ));
        }
        for (&shard, outcomes) in by_shard {
            self.shared
                .release(shard, outcomes.iter().map(|o| o.entry.id.as_str()));
        }
        written.results += counts.results;
        written.errors += counts.errors;
        written.retries += counts.retries;
        written.dead += counts.dead;
        Ok(())
    }

    /// Queues the commands of one shard's transaction (between MULTI and
    /// EXEC, which the caller adds).
    fn transaction(
        &self,
        pipe: &mut redis::Pipeline,
        shard: u32,
        outcomes: &[Outcome],
        counts: &mut Written,
    ) {
        let keys = self.keys.shard(shard);
        let mut acked: Vec<&str> = Vec::new();
        let mut earlier_errors: HashSet<&str> = HashSet::new();
        let (mut results, mut errors, mut retries, mut dead) = (0u64, 0u64, 0u64, 0u64);
        for Outcome { entry, result } in outcomes {
            match (
                record::verdict(result, entry.deliveries, self.max_deliveries),
                result,
            ) {
                (Verdict::Record, _) => {
                    let fields = record::result_fields(entry, &self.name, result, self.body_limit);
                    record::xadd(pipe, &keys.results, &fields);
                    acked.push(&entry.id);
                    results += 1;
                    errors += u64::from(result.is_err());
                }
                (Verdict::Retry, Err(error)) => {
                    pipe.cmd("HSET")
                        .arg(&keys.errors)
                        .arg(&entry.id)
                        .arg(record::error_value(error))
                        .ignore();
                    retries += 1;
                }
                (Verdict::Dead, Err(error)) => {
                    let kind = error.kind().to_string();
                    let message = error.to_string();
                    let fields =
                        record::dead_fields(entry, &self.name, entry.deliveries, &kind, &message);
                    record::xadd(pipe, &keys.dead, &fields);
                    acked.push(&entry.id);
                    dead += 1;
                }
                // A response is always recorded.
                (Verdict::Retry | Verdict::Dead, Ok(_)) => {}
            }
            if entry.deliveries > 1 {
                earlier_errors.insert(&entry.id);
            }
        }
        if !acked.is_empty() {
            pipe.cmd("XACK")
                .arg(&keys.urls)
                .arg(GROUP)
                .arg(&acked)
                .ignore();
            // Errors kept from earlier deliveries of entries now done.
            let done: Vec<&str> = acked
                .iter()
                .copied()
                .filter(|id| earlier_errors.contains(id))
                .collect();
            if !done.is_empty() {
                pipe.cmd("HDEL").arg(&keys.errors).arg(&done).ignore();
            }
        }
        for (counter, n) in [
            ("results", results),
            ("errors", errors),
            ("retries", retries),
            ("dead", dead),
        ] {
            if n > 0 {
                pipe.cmd("HINCRBY")
                    .arg(&keys.stats)
                    .arg(counter)
                    .arg(n)
                    .ignore();
            }
        }
        counts.results += results;
        counts.errors += errors;
        counts.retries += retries;
        counts.dead += dead;
    }
}
