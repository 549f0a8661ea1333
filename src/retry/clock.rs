//! [`Clock`]: what retry decisions need from outside the sans-IO code, the
//! wall-clock time (an HTTP-date `Retry-After` without a `Date` header is
//! measured against it) and randomness for the backoff's jitter. The
//! reactor owns one; the in-memory tests fix both.
//!
//! The randomness is a xorshift64* generator (Vigna, "An experimental
//! exploration of Marsaglia's xorshift generators", 2016), seeded once per
//! reactor from std's per-process random hash keys and the clock. Jitter
//! only has to keep clients that failed together from retrying together; it
//! needs no cryptographic quality, and so the crate needs no `rand`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time and jitter for retry decisions.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    state: u64,
    /// A fixed wall-clock time (tests); `None` reads the system clock.
    fixed_wall: Option<SystemTime>,
}

impl Clock {
    /// A clock on the system time, with a generator seeded from std's
    /// random hash keys (drawn from the OS once per process, then varied
    /// per use) mixed with the current time.
    pub(crate) fn new() -> Clock {
        let mut hasher = RandomState::new().build_hasher();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        hasher.write_u128(nanos);
        Clock::seeded(hasher.finish())
    }

    /// A generator with a given seed, on the system time.
    pub(crate) fn seeded(seed: u64) -> Clock {
        Clock {
            // xorshift must not start at zero.
            state: seed | 1,
            fixed_wall: None,
        }
    }

    /// The time of day.
    pub(crate) fn wall(&self) -> SystemTime {
        self.fixed_wall.unwrap_or_else(SystemTime::now)
    }

    /// The next pseudo-random number.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fixes the wall-clock time (tests).
    #[cfg(test)]
    pub(crate) fn fix_wall(&mut self, at: SystemTime) {
        self.fixed_wall = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_spreads_and_differs_by_seed() {
        let mut a = Clock::seeded(1);
        let mut b = Clock::seeded(2);
        let xs: Vec<u64> = (0..1000).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..1000).map(|_| b.next_u64()).collect();
        assert_ne!(xs, ys);
        // Top bits are spread over the range: each of 8 buckets gets a share.
        let mut buckets = [0; 8];
        for x in &xs {
            buckets[(x >> 61) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| n > 60), "{buckets:?}");
        let mut zero = Clock::seeded(0);
        assert_ne!(zero.next_u64(), 0, "a zero seed still runs");
    }

    #[test]
    fn two_clocks_made_at_once_differ() {
        let (mut a, mut b) = (Clock::new(), Clock::new());
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
