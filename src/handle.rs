//! Typed handles: [`ConnId`] and [`ExchangeId`] name a slot of the reactor's
//! two slabs *and* the generation of what lives there, so a handle kept by
//! the timer heap, the pool or a DNS waiter can never reach a later
//! occupant of a reused slot. [`Slots`] is the slab that hands them out.
//!
//! ```text
//! Slots<Connection, ConnId>   key 0: (generation 7, conn)   key 1: (generation 9, conn)
//!                              ConnId { key: 1, generation: 9 }  → Some(&conn)
//!                              ConnId { key: 1, generation: 4 }  → None (stale)
//! ```
//!
//! This module sits at the bottom of the crate: it imports nothing of it.

use std::fmt;

use slab::Slab;

/// A handle made of a slab key and a generation.
pub(crate) trait Handle: Copy {
    /// The handle for `key` holding generation `generation`.
    fn new(key: usize, generation: u64) -> Self;
    /// The slab key (for a connection, also its mio token).
    fn key(self) -> usize;
    /// The generation, unique over the reactor's life.
    fn generation(self) -> u64;
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) struct $name {
            key: usize,
            generation: u64,
        }

        impl $name {
            /// The handle for `key` holding generation `generation`.
            #[allow(dead_code)]
            pub(crate) const fn from_parts(key: usize, generation: u64) -> Self {
                $name { key, generation }
            }
        }

        impl Handle for $name {
            fn new(key: usize, generation: u64) -> Self {
                $name { key, generation }
            }
            fn key(self) -> usize {
                self.key
            }
            fn generation(self) -> u64 {
                self.generation
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}g{})", stringify!($name), self.key, self.generation)
            }
        }
    };
}

handle!(
    /// A connection in the reactor's connection slab; its key is the mio token.
    ConnId
);
handle!(
    /// An exchange (one request's life) in the reactor's exchange slab.
    ExchangeId
);

/// A slab whose entries are reached through generation-checked handles.
pub(crate) struct Slots<T, H> {
    slab: Slab<(u64, T)>,
    next_generation: u64,
    _handle: std::marker::PhantomData<H>,
}

impl<T, H> Default for Slots<T, H> {
    fn default() -> Self {
        Slots {
            slab: Slab::new(),
            next_generation: 0,
            _handle: std::marker::PhantomData,
        }
    }
}

impl<T, H: Handle> Slots<T, H> {
    /// Inserts the value `make` builds from its own handle.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(H) -> T) -> H {
        self.next_generation += 1;
        let entry = self.slab.vacant_entry();
        let handle = H::new(entry.key(), self.next_generation);
        entry.insert((self.next_generation, make(handle)));
        handle
    }

    /// The value `handle` names, unless it has been removed.
    pub(crate) fn get(&self, handle: H) -> Option<&T> {
        match self.slab.get(handle.key()) {
            Some((generation, value)) if *generation == handle.generation() => Some(value),
            _ => None,
        }
    }

    /// The value `handle` names, unless it has been removed.
    pub(crate) fn get_mut(&mut self, handle: H) -> Option<&mut T> {
        match self.slab.get_mut(handle.key()) {
            Some((generation, value)) if *generation == handle.generation() => Some(value),
            _ => None,
        }
    }

    /// The handle of whatever occupies `key` now (a mio token carries
    /// only the key).
    pub(crate) fn handle_at(&self, key: usize) -> Option<H> {
        self.slab
            .get(key)
            .map(|(generation, _)| H::new(key, *generation))
    }

    /// Removes the value `handle` names.
    pub(crate) fn remove(&mut self, handle: H) -> Option<T> {
        self.get(handle)?;
        self.slab.try_remove(handle.key()).map(|(_, value)| value)
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Every entry with its handle.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (H, &T)> {
        self.slab
            .iter()
            .map(|(key, (generation, value))| (H::new(key, *generation), value))
    }

    /// Removes and returns every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.slab.drain().map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_key_does_not_answer_to_an_old_handle() {
        let mut slots: Slots<&str, ConnId> = Slots::default();
        let first = slots.insert_with(|_| "first");
        assert_eq!(slots.remove(first), Some("first"));
        let second = slots.insert_with(|_| "second");
        assert_eq!(first.key(), second.key(), "the slab reuses the key");
        assert_eq!(slots.get(first), None);
        assert_eq!(slots.remove(first), None);
        assert_eq!(slots.get(second), Some(&"second"));
        assert_eq!(slots.handle_at(second.key()), Some(second));
        assert_eq!(slots.len(), 1);
    }
}
