//! A hasher for maps keyed by numbers that need no further mixing: the
//! HTTP/2 stream ids and request ids we hand out ourselves, and origins,
//! which carry a keyed hash computed once (see `origin.rs`).
//!
//! Stream and request ids are never chosen by a peer (a stream id the
//! server names is looked up, never inserted), so the flooding attacks
//! SipHash guards against cannot steer them, and one multiplication
//! (Fibonacci hashing, Knuth TAOCP vol. 3 §6.4) spreads them across the
//! table's buckets and its control bytes alike.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by one of our own integer ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// 2^64 divided by the golden ratio, odd: multiplying by it sends
/// consecutive integers far apart in the high bits, which `hashbrown`
/// uses for its control bytes.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Hashes one integer key with a multiplication; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Keys made of bytes are not ids, but stay correct all the same: each
    /// byte is folded in.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(GOLDEN);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash(n: u64) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(n)
    }

    #[test]
    fn consecutive_ids_differ_in_the_high_bits() {
        // hashbrown takes its 7-bit tag from the top of the hash: odd
        // stream ids 1, 3, 5 ... must not all share one tag.
        let tags: std::collections::HashSet<u64> =
            (0..128u64).map(|i| hash(2 * i + 1) >> 57).collect();
        assert!(tags.len() > 64, "only {} distinct tags", tags.len());
    }

    #[test]
    fn a_map_keeps_every_entry() {
        let mut map: IdMap<u32, u32> = IdMap::default();
        for id in (1..20_001).step_by(2) {
            map.insert(id, id * 3);
        }
        assert_eq!(map.len(), 10_000);
        assert!(
            (1..20_001)
                .step_by(2)
                .all(|id| map.get(&id) == Some(&(id * 3)))
        );
        assert_eq!(map.get(&2), None);
    }

    #[test]
    fn byte_keys_are_hashed_whole() {
        let build = BuildHasherDefault::<IdHasher>::default();
        assert_ne!(build.hash_one("ab"), build.hash_one("ba"));
    }
}
