//! Named timers: each connection and each exchange keeps a small
//! [`TimerTable`] of `Option<Instant>`, one slot per [`ConnTimer`] or
//! [`ExchangeTimer`] (the shape of quinn-proto's `connection/timer.rs`), and
//! the reactor's [`TimerHeap`] holds the earliest of each table.
//!
//! ```text
//!  Exchange timers:   Deadline (whole request), copied into its connection's
//!                     table while a connection carries the exchange
//!                     Retry (the retry policy's wait before the next attempt)
//!  Connection timers: Deadline (of the exchange it carries; h2: the earliest of its streams')
//!                     Resolve | Connect | TlsHandshake  (one connect budget, named by phase)
//!                     ConnectAttempt (one address's share)   Idle (pool idle timeout)
//!                     ReadIdle (nothing received; moved on by every read)
//!                     SinkRetry (try a writer that would block again)
//!                     ServerPreface (h2: the rest of the connect budget, until the server's SETTINGS)
//!            │ earliest of each connection's table
//!            ▼
//!  TimerHeap (min-heap of (at, owner)) ──▶ poll(timeout = earliest - now)
//!            │ due
//!            ▼
//!  owner.on_timeout(now): the expired timer says which phase ran out of time
//! ```
//!
//! Each table keeps at most one live heap entry (`scheduled`): a later
//! earliest deadline waits until the earlier entry fires and is then
//! rescheduled, an earlier one pushes a new entry and the old one goes stale.
//! Stale entries are recognised on pop and skipped, so the heap stays about
//! one entry per owner however many requests a kept-alive connection carries.
//!
//! An exchange's deadline rides in its connection's table rather than in a
//! heap entry of its own: a kept-alive connection carrying a million
//! requests then leaves no trail of stale entries (each would sit in the
//! heap until its deadline), and the heap stays about one entry per
//! connection. An exchange gets an entry of its own (an
//! [`Owner::Exchange`]) only while it is off every connection with a timer
//! running: waiting for a retry (an exchange waiting holds no connection),
//! or, once started, waiting in a queue past which its deadline may pass.
//! A request not yet started has no timer: its deadline starts when it
//! leaves the queue. The pacing gates of the dispatcher keep their own
//! wake-up times (`pacing.rs`), merged into the poll timeout by the reactor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::handle::{ConnId, ExchangeId};

/// A timer name: an enum with a slot index per variant.
pub(crate) trait TimerName: Copy + 'static {
    /// Every variant, in slot order.
    const ALL: &'static [Self];
    /// The slot of this variant.
    fn index(self) -> usize;
}

/// The timers of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnTimer {
    /// The whole-request deadline of the exchange the connection carries.
    Deadline,
    /// The connect budget while the name is being resolved.
    Resolve,
    /// The connect budget while TCP connects (or a proxy opens a tunnel).
    Connect,
    /// The connect budget while the TLS handshake runs.
    TlsHandshake,
    /// This address's share of the connect budget; then the next address.
    ConnectAttempt,
    /// How long the connection may sit idle in the pool.
    Idle,
    /// How long the response may send nothing (the read-idle timeout of
    /// the exchange carried); moved on by every read, stopped while a sink
    /// holds the reading back.
    ReadIdle,
    /// When to try again a sink that would block (backpressure).
    SinkRetry,
    /// What is left of the connect budget once an HTTP/2 connection is up,
    /// waiting for the server's SETTINGS (its connection preface, RFC 9113
    /// §3.4).
    ServerPreface,
    /// The latest time requests held back to go out together on a busy
    /// HTTP/2 connection are written (see `connection/h2.rs`).
    Coalesce,
}

impl TimerName for ConnTimer {
    const ALL: &'static [Self] = &[
        ConnTimer::Deadline,
        ConnTimer::Resolve,
        ConnTimer::Connect,
        ConnTimer::TlsHandshake,
        ConnTimer::ConnectAttempt,
        ConnTimer::Idle,
        ConnTimer::ReadIdle,
        ConnTimer::SinkRetry,
        ConnTimer::ServerPreface,
        ConnTimer::Coalesce,
    ];
    fn index(self) -> usize {
        self as usize
    }
}

/// The timers of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExchangeTimer {
    /// The whole-request deadline (`ClientBuilder::timeout`), from the
    /// first time the request left the queue, across retries and redirects.
    Deadline,
    /// The end of the retry policy's wait before the next attempt.
    Retry,
}

impl TimerName for ExchangeTimer {
    const ALL: &'static [Self] = &[ExchangeTimer::Deadline, ExchangeTimer::Retry];
    fn index(self) -> usize {
        self as usize
    }
}

/// One owner's timers, and its live entry in the [`TimerHeap`].
#[derive(Debug, Clone)]
pub(crate) struct TimerTable<T, const N: usize> {
    at: [Option<Instant>; N],
    /// When this table's live heap entry is due, if it has one.
    scheduled: Option<Instant>,
    _name: PhantomData<T>,
}

/// A connection's timers.
pub(crate) type ConnTimers = TimerTable<ConnTimer, 10>;
/// An exchange's timers.
pub(crate) type ExchangeTimers = TimerTable<ExchangeTimer, 2>;

impl<T, const N: usize> Default for TimerTable<T, N> {
    fn default() -> Self {
        TimerTable {
            at: [None; N],
            scheduled: None,
            _name: PhantomData,
        }
    }
}

impl<T: TimerName, const N: usize> TimerTable<T, N> {
    /// Arms (`Some`) or stops (`None`) a timer.
    pub(crate) fn set(&mut self, timer: T, at: Option<Instant>) {
        if let Some(slot) = self.at.get_mut(timer.index()) {
            *slot = at;
        }
    }

    /// When a timer is due, if armed.
    pub(crate) fn get(&self, timer: T) -> Option<Instant> {
        self.at.get(timer.index()).copied().flatten()
    }

    /// Moves the deadline of whichever of `from` is armed to `to` (the
    /// connect budget changing its name as the phase changes).
    pub(crate) fn rename(&mut self, from: &[T], to: T) {
        let at = from.iter().find_map(|&t| self.get(t));
        for &t in from {
            self.set(t, None);
        }
        self.set(to, at);
    }

    /// The earliest armed timer.
    pub(crate) fn next(&self) -> Option<(Instant, T)> {
        let mut earliest: Option<(Instant, T)> = None;
        for (&slot, &timer) in self.at.iter().zip(T::ALL) {
            match (slot, earliest) {
                (Some(at), Some((first, _))) if at >= first => {}
                (Some(at), _) => earliest = Some((at, timer)),
                (None, _) => {}
            }
        }
        earliest
    }

    /// Forgets the table's heap entry: its owner's handle changed (an
    /// exchange put back in its slab), so the old entry is stale and the
    /// next [`TimerHeap::schedule`] must push a new one.
    pub(crate) fn forget_entry(&mut self) {
        self.scheduled = None;
    }

    /// Marks the heap entry due at `at` as fired; false if it was stale.
    pub(crate) fn fire(&mut self, at: Instant) -> bool {
        if self.scheduled == Some(at) {
            self.scheduled = None;
            true
        } else {
            false
        }
    }
}

/// Whose timers a heap entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    /// A connection's table (its own timers and its exchange's deadline).
    Conn(ConnId),
    /// An exchange's table, while it is off every connection.
    Exchange(ExchangeId),
}

/// A heap entry: `owner`'s earliest timer is due at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub at: Instant,
    pub owner: Owner,
}

/// The reactor's min-heap of every table's earliest timer.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    heap: BinaryHeap<Reverse<Entry>>,
}

impl TimerHeap {
    /// Makes sure `table`'s earliest timer has a live entry.
    pub(crate) fn schedule<T: TimerName, const N: usize>(
        &mut self,
        table: &mut TimerTable<T, N>,
        owner: Owner,
    ) {
        let Some((at, _)) = table.next() else { return };
        if table.scheduled.is_some_and(|live| live <= at) {
            return;
        }
        table.scheduled = Some(at);
        self.heap.push(Reverse(Entry { at, owner }));
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
    use crate::handle::Handle;

    fn conn(key: usize) -> Owner {
        Owner::Conn(ConnId::new(key, 1))
    }

    #[test]
    fn later_deadlines_do_not_grow_the_heap() {
        let mut heap = TimerHeap::default();
        let mut table = ConnTimers::default();
        let t0 = Instant::now();
        for i in 1..=1000u64 {
            table.set(ConnTimer::Idle, Some(t0 + Duration::from_secs(i)));
            heap.schedule(&mut table, conn(3));
        }
        assert_eq!(heap.len(), 1);
        assert_eq!(table.scheduled, Some(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn earlier_deadlines_push_and_pop_in_order() {
        let mut heap = TimerHeap::default();
        let t0 = Instant::now();
        let (mut a, mut b) = (ConnTimers::default(), ConnTimers::default());
        a.set(ConnTimer::Idle, Some(t0 + Duration::from_secs(10)));
        heap.schedule(&mut a, conn(1));
        b.set(ConnTimer::Connect, Some(t0 + Duration::from_secs(5)));
        heap.schedule(&mut b, conn(2));
        a.set(ConnTimer::ConnectAttempt, Some(t0 + Duration::from_secs(1)));
        heap.schedule(&mut a, conn(1));
        assert_eq!(heap.next_timeout(t0), Some(Duration::from_secs(1)));
        assert_eq!(heap.pop_due(t0), None);
        let due: Vec<_> = std::iter::from_fn(|| heap.pop_due(t0 + Duration::from_secs(60)))
            .map(|e| (e.owner, a.fire(e.at) || b.fire(e.at)))
            .collect();
        assert_eq!(
            due,
            [(conn(1), true), (conn(2), true), (conn(1), false)],
            "the stale entry for 1 still pops, and is known to be stale"
        );
    }

    #[test]
    fn a_forgotten_entry_is_pushed_again() {
        let mut heap = TimerHeap::default();
        let t0 = Instant::now();
        let mut table = ExchangeTimers::default();
        table.set(ExchangeTimer::Retry, Some(t0 + Duration::from_secs(1)));
        let old = Owner::Exchange(ExchangeId::new(0, 1));
        heap.schedule(&mut table, old);
        heap.schedule(&mut table, old);
        assert_eq!(heap.len(), 1);
        table.forget_entry();
        let new = Owner::Exchange(ExchangeId::new(0, 2));
        heap.schedule(&mut table, new);
        assert_eq!(heap.len(), 2, "the new handle has its own entry");
        let later = t0 + Duration::from_secs(2);
        // The old handle no longer reaches the table (the reactor's slab
        // lookup fails), so only the new entry fires it.
        let owners: Vec<Owner> = std::iter::from_fn(|| heap.pop_due(later))
            .filter(|e| e.owner == new && table.fire(e.at))
            .map(|e| e.owner)
            .collect();
        assert_eq!(owners, [new]);
    }

    #[test]
    fn the_earliest_timer_names_itself() {
        let t0 = Instant::now();
        let mut table = ConnTimers::default();
        table.set(ConnTimer::Resolve, Some(t0 + Duration::from_secs(5)));
        table.set(ConnTimer::ConnectAttempt, Some(t0 + Duration::from_secs(2)));
        assert_eq!(
            table.next(),
            Some((t0 + Duration::from_secs(2), ConnTimer::ConnectAttempt))
        );
        table.set(ConnTimer::ConnectAttempt, None);
        table.rename(
            &[ConnTimer::Resolve, ConnTimer::Connect],
            ConnTimer::TlsHandshake,
        );
        assert_eq!(table.get(ConnTimer::Resolve), None);
        assert_eq!(
            table.next(),
            Some((t0 + Duration::from_secs(5), ConnTimer::TlsHandshake))
        );
    }
}
