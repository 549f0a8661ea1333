//! [`Pool`]: the connections open per origin (and route), and the idle
//! ones kept for reuse, with their limits.
//!
//! ```text
//!  open per origin:  {origin → count}          checked against max_connections_per_host
//!  idle per origin:  {origin → [IdleRef, ..]}  most recently used last: reuse takes the warmest
//!  idle, all:        [IdleRef, ..]             oldest first: eviction closes the coldest
//! ```
//!
//! An [`IdleRef`] names a connection by [`ConnId`] (slab key and
//! generation) and the idle period it was parked in, so an entry left behind
//! by an earlier idle period, or by a connection since closed, is known to
//! be stale when met. The idle timeout itself is a connection timer
//! ([`ConnTimer::Idle`](crate::timer::ConnTimer::Idle)). Liveness: a
//! connection goes idle only after its read path found the socket open with
//! nothing more to read (read until `WouldBlock`; a read-closed event, a
//! FIN or stray bytes close it instead), later closes arrive as readiness
//! events that close it while parked, and the reactor polls with a zero
//! timeout after it sat idle, so servers' closes meanwhile are seen before
//! reuse.
//!
//! Issue 8: an h2 connection is parked once when it has no stream, and is
//! found for new streams by origin while it has room; the per-origin count
//! is of connections, not of requests.

use std::collections::{HashMap, VecDeque};

use crate::config::Config;
use crate::handle::ConnId;
use crate::origin::Origin;

/// An idle connection in the pool, valid while the connection `conn` is
/// in idle period `serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdleRef {
    pub conn: ConnId,
    pub serial: u64,
}

/// Open and idle connections by origin.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    open: HashMap<Origin, usize>,
    /// Idle connections per origin, most recently used last.
    idle: HashMap<Origin, Vec<IdleRef>>,
    /// Idle connections oldest first, for eviction; entries are checked when
    /// taken, and compacted when stale ones pile up.
    lru: VecDeque<IdleRef>,
    idle_count: usize,
}

impl Pool {
    /// A connection to `origin` was opened.
    pub(crate) fn opened(&mut self, origin: &Origin) {
        match self.open.get_mut(origin) {
            Some(n) => *n += 1,
            None => {
                self.open.insert(origin.clone(), 1);
            }
        }
    }

    /// Connection `conn` to `origin` is gone: it is neither open nor idle.
    /// An origin's entries go when its last connection does (kept until
    /// then, so a connection going idle and busy again allocates nothing).
    pub(crate) fn closed(&mut self, origin: &Origin, conn: ConnId) {
        if let Some(stack) = self.idle.get_mut(origin) {
            let before = stack.len();
            stack.retain(|r| r.conn != conn);
            self.idle_count -= before - stack.len();
        }
        if let Some(open) = self.open.get_mut(origin) {
            *open -= 1;
            if *open == 0 {
                self.open.remove(origin);
                self.idle.remove(origin);
            }
        }
    }

    /// Connections open to `origin`, idle ones included.
    pub(crate) fn open_to(&self, origin: &Origin) -> usize {
        self.open.get(origin).copied().unwrap_or(0)
    }

    /// Idle connections kept, over all origins.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle_count
    }

    /// True when `conn` is parked for `origin`.
    pub(crate) fn is_parked(&self, origin: &Origin, conn: ConnId) -> bool {
        self.idle
            .get(origin)
            .is_some_and(|s| s.iter().any(|r| r.conn == conn))
    }

    /// Parks an idle connection; false when the pool is full (the caller
    /// closes it).
    pub(crate) fn park(&mut self, origin: &Origin, entry: IdleRef, config: &Config) -> bool {
        let parked = self.idle.get(origin).map_or(0, Vec::len);
        if parked >= config.pool_max_idle_per_host || self.idle_count >= config.pool_max_idle {
            return false;
        }
        match self.idle.get_mut(origin) {
            Some(stack) => stack.push(entry),
            None => {
                self.idle.insert(origin.clone(), vec![entry]);
            }
        }
        self.lru.push_back(entry);
        self.idle_count += 1;
        true
    }

    /// Drops stale entries from the eviction list once they outnumber the
    /// live ones; `is_live` says whether an entry still stands for an idle
    /// connection.
    pub(crate) fn compact(&mut self, is_live: impl Fn(&IdleRef) -> bool) {
        if self.lru.len() > 2 * self.idle_count + 64 {
            self.lru.retain(is_live);
        }
    }

    /// Takes the most recently used idle connection to `origin`.
    pub(crate) fn take(&mut self, origin: &Origin) -> Option<ConnId> {
        let entry = self.idle.get_mut(origin)?.pop()?;
        self.idle_count -= 1;
        Some(entry.conn)
    }

    /// The longest-idle connection (of `origin`, if given), to close for
    /// room; it stays counted until [`closed`](Self::closed).
    pub(crate) fn oldest(
        &mut self,
        origin: Option<&Origin>,
        is_live: impl Fn(&IdleRef) -> bool,
    ) -> Option<ConnId> {
        match origin {
            Some(origin) => self
                .idle
                .get(origin)
                .and_then(|stack| stack.first())
                .map(|r| r.conn),
            None => loop {
                let entry = self.lru.pop_front()?;
                if is_live(&entry) {
                    break Some(entry.conn);
                }
            },
        }
    }

    /// Forgets everything (the reactor is shutting down).
    pub(crate) fn clear(&mut self) {
        *self = Pool::default();
    }
}
