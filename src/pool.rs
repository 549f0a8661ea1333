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
//! HTTP/2 (RFC 9113 §9.1: one connection per origin): an h2 connection is
//! parked once when it has no stream, and is found for new streams through
//! the origin's list of open h2 connections while it has room; the
//! per-origin count is of connections, not of requests. While a connection
//! to an origin that may speak h2 is being opened (*negotiating*), the
//! origin's other requests wait for its answer instead of opening their
//! own; once an origin's connection chose HTTP/1.1, or its negotiating
//! connection failed, they do not.
//!
//! ```text
//!  h2 per origin:    {origin → OriginH2 { conns, negotiating, spoke_h1 }}   while it has connections
//!  unreachable:      {origin}   the last negotiating connection failed (bounded: MAX_UNREACHABLE)
//! ```

use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasherDefault;

use crate::config::Config;
use crate::handle::ConnId;
use crate::id_hash::IdHasher;
use crate::origin::{Origin, OriginMap};

/// An idle connection in the pool, valid while the connection `conn` is
/// in idle period `serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdleRef {
    pub conn: ConnId,
    pub serial: u64,
}

/// Most origins remembered as unreachable over HTTP/2 negotiation (their
/// requests then open connections without waiting for one another); past
/// it the set starts afresh, which costs at most one wait per origin.
const MAX_UNREACHABLE: usize = 4096;

/// What the pool knows of an origin's HTTP/2 connections.
#[derive(Debug, Default)]
struct OriginH2 {
    /// Open connections that speak h2, oldest first.
    conns: Vec<ConnId>,
    /// Connections being opened that may speak h2.
    negotiating: usize,
    /// The last connection that opened chose HTTP/1.1.
    spoke_h1: bool,
    /// A connection chose h2.
    spoke_h2: bool,
}

/// Open and idle connections by origin.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    open: OriginMap<usize>,
    /// HTTP/2 by origin, while the origin has connections.
    h2: OriginMap<OriginH2>,
    /// Origins whose last negotiating connection failed before it opened.
    unreachable: HashSet<Origin, BuildHasherDefault<IdHasher>>,
    /// Idle connections per origin, most recently used last.
    idle: OriginMap<Vec<IdleRef>>,
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
        if let Some(h2) = self.h2.get_mut(origin) {
            h2.conns.retain(|&c| c != conn);
        }
        if let Some(open) = self.open.get_mut(origin) {
            *open -= 1;
            if *open == 0 {
                self.open.remove(origin);
                self.idle.remove(origin);
                self.h2.remove(origin);
            }
        }
    }

    /// A connection to `origin` that may speak HTTP/2 is being opened.
    pub(crate) fn negotiating(&mut self, origin: &Origin) {
        match self.h2.get_mut(origin) {
            Some(h2) => h2.negotiating += 1,
            None => {
                let h2 = OriginH2 {
                    negotiating: 1,
                    ..OriginH2::default()
                };
                self.h2.insert(origin.clone(), h2);
            }
        }
    }

    /// A negotiating connection to `origin` opened, speaking h2 or not.
    pub(crate) fn negotiated(&mut self, origin: &Origin, conn: ConnId, h2: bool) {
        self.unreachable.remove(origin);
        if let Some(entry) = self.h2.get_mut(origin) {
            entry.negotiating = entry.negotiating.saturating_sub(1);
            entry.spoke_h1 = !h2;
            entry.spoke_h2 |= h2;
            if h2 {
                entry.conns.push(conn);
            }
        }
    }

    /// A negotiating connection to `origin` failed before it opened (it
    /// is still counted open until [`closed`](Self::closed)).
    pub(crate) fn negotiation_failed(&mut self, origin: &Origin) {
        if let Some(entry) = self.h2.get_mut(origin) {
            entry.negotiating = entry.negotiating.saturating_sub(1);
        }
        if self.unreachable.len() >= MAX_UNREACHABLE {
            self.unreachable.clear();
        }
        self.unreachable.insert(origin.clone());
    }

    /// Whether a request to `origin` should wait for the answer of a
    /// connection being negotiated: one is in progress, no connection to the
    /// origin has answered yet, and the last attempt did not fail.
    pub(crate) fn awaits_negotiation(&self, origin: &Origin) -> bool {
        self.h2
            .get(origin)
            .is_some_and(|h2| h2.negotiating > 0 && !h2.spoke_h1 && !h2.spoke_h2)
            && !self.unreachable.contains(origin)
    }

    /// Connections to `origin` being opened that may speak h2.
    pub(crate) fn negotiating_to(&self, origin: &Origin) -> usize {
        self.h2.get(origin).map_or(0, |h2| h2.negotiating)
    }

    /// Whether the last connection to `origin` that opened chose HTTP/1.1.
    pub(crate) fn spoke_h1(&self, origin: &Origin) -> bool {
        self.h2.get(origin).is_some_and(|h2| h2.spoke_h1)
    }

    /// The open HTTP/2 connections to `origin`, oldest first.
    pub(crate) fn h2_conns(&self, origin: &Origin) -> &[ConnId] {
        self.h2.get(origin).map_or(&[], |h2| &h2.conns)
    }

    /// Takes `conn` out of `origin`'s idle list (it takes a stream without
    /// going through [`take`](Self::take)); false if it was not there.
    pub(crate) fn unpark(&mut self, origin: &Origin, conn: ConnId) -> bool {
        let Some(stack) = self.idle.get_mut(origin) else {
            return false;
        };
        let before = stack.len();
        stack.retain(|r| r.conn != conn);
        let removed = before - stack.len();
        self.idle_count -= removed;
        removed > 0
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
