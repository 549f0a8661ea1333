//! The writer: turns finished fetches into Redis writes, batched, one
//! MULTI/EXEC per shard per batch. In one transaction a result is added to
//! the shard's results stream and its entry acknowledged (XACK), so an entry
//! is never acknowledged without its result, nor a result lost without its
//! entry staying pending. A failure to be tried again only records its error
//! and leaves the entry pending; a failure on the last delivery moves the
//! entry to the dead-letter stream, acknowledged in the same transaction.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

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
            for (shard, outcomes) in by_shard {
                self.commit(shard, &outcomes, &mut written)?;
            }
        }
        Ok(written)
    }

    fn commit(
        &mut self,
        shard: u32,
        outcomes: &[Outcome],
        written: &mut Written,
    ) -> Result<(), String> {
        let keys = self.keys.shard(shard);
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut acked: Vec<&str> = Vec::new();
        let mut cleared: Vec<&str> = Vec::new();
        let (mut results, mut errors, mut retries, mut dead) = (0u64, 0u64, 0u64, 0u64);
        for Outcome { entry, result } in outcomes {
            match (
                record::verdict(result, entry.deliveries, self.max_deliveries),
                result,
            ) {
                (Verdict::Record, _) => {
                    let fields = record::result_fields(entry, &self.name, result, self.body_limit);
                    record::xadd(&mut pipe, &keys.results, &fields);
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
                    record::xadd(&mut pipe, &keys.dead, &fields);
                    acked.push(&entry.id);
                    dead += 1;
                }
                // A response is always recorded.
                (Verdict::Retry | Verdict::Dead, Ok(_)) => {}
            }
            if entry.deliveries > 1 {
                cleared.push(&entry.id);
            }
        }
        if !acked.is_empty() {
            pipe.cmd("XACK")
                .arg(&keys.urls)
                .arg(GROUP)
                .arg(&acked)
                .ignore();
            // Errors kept from earlier deliveries of entries now done.
            let done: Vec<&str> = cleared
                .iter()
                .copied()
                .filter(|id| acked.contains(id))
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
        self.store
            .run(|c| pipe.query::<()>(c))
            .map_err(|e| format!("writing results to shard {shard} failed: {}", describe(&e)))?;
        self.shared
            .release(shard, outcomes.iter().map(|o| o.entry.id.as_str()));
        written.results += results;
        written.errors += errors;
        written.retries += retries;
        written.dead += dead;
        Ok(())
    }
}
