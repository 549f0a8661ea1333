//! Deadlines of all connections in one min-heap; the earliest one sets the
//! poll timeout.
//!
//! Each connection keeps at most one live entry (its `timer_at`): a later
//! deadline waits until the earlier entry fires and is then rescheduled, an
//! earlier one pushes a new entry and the old one goes stale. Stale entries
//! are recognised on pop by their generation and time and skipped, so the
//! heap stays about one entry per connection however many requests a
//! kept-alive connection carries.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// A deadline for connection `key` of generation `generation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub at: Instant,
    pub key: usize,
    pub generation: u64,
}

/// The reactor's deadlines.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    /// Makes sure the connection's earliest deadline `at` has an entry;
    /// `timer_at` is the connection's record of its live entry.
    pub(crate) fn schedule(
        &mut self,
        timer_at: &mut Option<Instant>,
        at: Option<Instant>,
        key: usize,
        generation: u64,
    ) {
        let Some(at) = at else { return };
        if timer_at.is_some_and(|live| live <= at) {
            return;
        }
        *timer_at = Some(at);
        self.heap.push(Reverse(Entry {
            at,
            key,
            generation,
        }));
    }

    /// How long the reactor may sleep: until the earliest entry, `None` if
    /// there is none.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse(e)| e.at.saturating_duration_since(now))
    }

    /// Pops the next entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        match self.heap.peek() {
            Some(Reverse(e)) if e.at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Entries in the heap, live and stale.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_deadlines_do_not_grow_the_heap() {
        let mut timers = Timers::default();
        let t0 = Instant::now();
        let mut live = None;
        for i in 1..=1000u64 {
            timers.schedule(&mut live, Some(t0 + Duration::from_secs(i)), 3, 1);
        }
        assert_eq!(timers.len(), 1);
        assert_eq!(live, Some(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn earlier_deadlines_push_and_pop_in_order() {
        let mut timers = Timers::default();
        let t0 = Instant::now();
        let (mut a, mut b) = (None, None);
        timers.schedule(&mut a, Some(t0 + Duration::from_secs(10)), 1, 1);
        timers.schedule(&mut b, Some(t0 + Duration::from_secs(5)), 2, 1);
        timers.schedule(&mut a, Some(t0 + Duration::from_secs(1)), 1, 1);
        assert_eq!(timers.next_timeout(t0), Some(Duration::from_secs(1)));
        assert_eq!(timers.pop_due(t0), None);
        let due: Vec<_> = std::iter::from_fn(|| timers.pop_due(t0 + Duration::from_secs(60)))
            .map(|e| e.key)
            .collect();
        assert_eq!(
            due,
            [1, 2, 1],
            "the stale entry for 1 still pops; the reactor skips it"
        );
    }
}
