//! The per-stream clocks of one HTTP/2 connection (whole-request
//! deadlines, read-idle deadlines), earliest first, filed lazily.
//!
//! A read-idle clock moves on with every DATA frame, and every stream's
//! clocks stop when it ends: an ordered set would pay a removal and an
//! insertion each time. Here the stream's own record (the `truth`, passed
//! in as a map and a function reading the clock from it) is the only
//! authority, and the heap may hold entries that no longer match it:
//!
//! ```text
//!  file(at, id) ──▶ heap entry (at, id)
//!  earliest(): top entry (at, id), truth says
//!     at             ──▶ the answer
//!     later (moved)  ──▶ re-filed at the later time, look again
//!     earlier / none ──▶ dropped (a newer entry exists, or the clock stopped)
//!  more than twice as many entries as streams (+64) ──▶ rebuilt from the truth
//! ```
//!
//! A clock that moves later needs no call at all; one that starts again, or
//! moves earlier, is filed anew. Stream ids are never reused on a
//! connection, so an entry left by a forgotten stream only waits to be
//! dropped. Each entry is pushed and popped once: O(log n) per filing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::id_hash::IdMap;

/// Entries beyond twice the streams that trigger a rebuild.
const SLACK: usize = 64;

/// A lazy earliest-first queue of `(deadline, stream id)`; see the module
/// docs.
#[derive(Debug, Default)]
pub(super) struct StreamClocks {
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl StreamClocks {
    /// Files stream `id`'s clock at `at`: call it when the clock starts,
    /// starts again or moves earlier (moving later needs no call).
    pub(super) fn file(&mut self, at: Instant, id: u32) {
        self.heap.push(Reverse((at, id)));
    }

    /// The earliest running clock as `(deadline, stream id)`, by `truth`
    /// (the streams) and `clock` (a stream's deadline, `None` when
    /// stopped). Entries that no longer match are dropped or re-filed on
    /// the way, and the heap is rebuilt from `truth` when stale entries
    /// outnumber the streams.
    pub(super) fn earliest<V>(
        &mut self,
        truth: &IdMap<u32, V>,
        clock: impl Fn(&V) -> Option<Instant>,
    ) -> Option<(Instant, u32)> {
        if self.heap.len() > 2 * truth.len() + SLACK {
            self.heap = truth
                .iter()
                .filter_map(|(&id, v)| clock(v).map(|at| Reverse((at, id))))
                .collect();
        }
        while let Some(&Reverse((at, id))) = self.heap.peek() {
            match truth.get(&id).and_then(&clock) {
                Some(now_at) if now_at == at => return Some((at, id)),
                Some(later) if later > at => {
                    self.heap.pop();
                    self.heap.push(Reverse((later, id)));
                }
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Entries held, current or not (tests only).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, secs: u64) -> Instant {
        base + Duration::from_secs(secs)
    }

    #[test]
    fn earliest_follows_the_truth() {
        let t0 = Instant::now();
        let mut truth: IdMap<u32, Option<Instant>> = IdMap::default();
        let mut clocks = StreamClocks::default();
        assert_eq!(clocks.earliest(&truth, |c| *c), None);
        for (id, secs) in [(1, 30), (3, 10), (5, 20)] {
            truth.insert(id, Some(at(t0, secs)));
            clocks.file(at(t0, secs), id);
        }
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 10), 3)));
        // Stream 3's clock moves later, without a call: re-filed.
        truth.insert(3, Some(at(t0, 40)));
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 20), 5)));
        // Stream 5 stops its clock; stream 1 is forgotten.
        truth.insert(5, None);
        truth.remove(&1);
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 40), 3)));
        // Stream 5 starts again, earlier than 3.
        truth.insert(5, Some(at(t0, 35)));
        clocks.file(at(t0, 35), 5);
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 35), 5)));
        // Moved earlier: the new entry answers, the old one is dropped.
        truth.insert(5, Some(at(t0, 33)));
        clocks.file(at(t0, 33), 5);
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 33), 5)));
        truth.clear();
        assert_eq!(clocks.earliest(&truth, |c| *c), None);
        assert_eq!(clocks.len(), 0);
    }

    #[test]
    fn stale_entries_stay_bounded() {
        let t0 = Instant::now();
        let mut truth: IdMap<u32, Option<Instant>> = IdMap::default();
        let mut clocks = StreamClocks::default();
        truth.insert(1, Some(at(t0, 1)));
        clocks.file(at(t0, 1), 1);
        // A long download: stream 3's clock starts again and again (held,
        // then running), each time filed; stream 1 stays earliest, so none
        // of 3's entries comes up to be dropped.
        for secs in 2..10_000 {
            truth.insert(3, Some(at(t0, secs)));
            clocks.file(at(t0, secs), 3);
            assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 1), 1)));
            assert!(clocks.len() <= 2 * truth.len() + SLACK + 1);
        }
        truth.remove(&1);
        assert_eq!(clocks.earliest(&truth, |c| *c), Some((at(t0, 9_999), 3)));
    }
}
