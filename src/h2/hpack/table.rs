//! The HPACK static table (RFC 7541 Appendix A) and the dynamic table with
//! its size accounting and eviction (RFC 7541 §2.3 and §4).

use std::collections::VecDeque;

/// RFC 7541 Appendix A: the static table, index 1 first.
#[rustfmt::skip]
pub(crate) const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),                    // 1
    (":method", "GET"),                    // 2
    (":method", "POST"),                   // 3
    (":path", "/"),                        // 4
    (":path", "/index.html"),              // 5
    (":scheme", "http"),                   // 6
    (":scheme", "https"),                  // 7
    (":status", "200"),                    // 8
    (":status", "204"),                    // 9
    (":status", "206"),                    // 10
    (":status", "304"),                    // 11
    (":status", "400"),                    // 12
    (":status", "404"),                    // 13
    (":status", "500"),                    // 14
    ("accept-charset", ""),                // 15
    ("accept-encoding", "gzip, deflate"),  // 16
    ("accept-language", ""),               // 17
    ("accept-ranges", ""),                 // 18
    ("accept", ""),                        // 19
    ("access-control-allow-origin", ""),   // 20
    ("age", ""),                           // 21
    ("allow", ""),                         // 22
    ("authorization", ""),                 // 23
    ("cache-control", ""),                 // 24
    ("content-disposition", ""),           // 25
    ("content-encoding", ""),              // 26
    ("content-language", ""),              // 27
    ("content-length", ""),                // 28
    ("content-location", ""),              // 29
    ("content-range", ""),                 // 30
    ("content-type", ""),                  // 31
    ("cookie", ""),                        // 32
    ("date", ""),                          // 33
    ("etag", ""),                          // 34
    ("expect", ""),                        // 35
    ("expires", ""),                       // 36
    ("from", ""),                          // 37
    ("host", ""),                          // 38
    ("if-match", ""),                      // 39
    ("if-modified-since", ""),             // 40
    ("if-none-match", ""),                 // 41
    ("if-range", ""),                      // 42
    ("if-unmodified-since", ""),           // 43
    ("last-modified", ""),                 // 44
    ("link", ""),                          // 45
    ("location", ""),                      // 46
    ("max-forwards", ""),                  // 47
    ("proxy-authenticate", ""),            // 48
    ("proxy-authorization", ""),           // 49
    ("range", ""),                         // 50
    ("referer", ""),                       // 51
    ("refresh", ""),                       // 52
    ("retry-after", ""),                   // 53
    ("server", ""),                        // 54
    ("set-cookie", ""),                    // 55
    ("strict-transport-security", ""),     // 56
    ("transfer-encoding", ""),             // 57
    ("user-agent", ""),                    // 58
    ("vary", ""),                          // 59
    ("via", ""),                           // 60
    ("www-authenticate", ""),              // 61
];

/// The per-entry overhead added to name and value lengths when sizing the
/// dynamic table (RFC 7541 §4.1).
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// Where a field was found by [`DynamicTable::find`] or [`find_static`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Name and value match the entry at this index.
    Field(usize),
    /// Only the name matches the entry at this index.
    Name(usize),
}

/// The longest name in the static table (`access-control-allow-origin`).
const LONGEST_NAME: usize = 27;
/// The most distinct static table names of one length (six of 4 bytes,
/// six of 7, six of 13).
const MOST_OF_ONE_LENGTH: usize = 6;

/// For each name length, the index of the first static table entry of
/// each distinct name that long (0 pads the rest): a name is compared with
/// at most six others of its length, never with the whole table.
static NAMES_BY_LENGTH: [[u8; MOST_OF_ONE_LENGTH]; LONGEST_NAME + 1] = names_by_length();

const fn names_by_length() -> [[u8; MOST_OF_ONE_LENGTH]; LONGEST_NAME + 1] {
    let mut buckets = [[0u8; MOST_OF_ONE_LENGTH]; LONGEST_NAME + 1];
    let mut filled = [0usize; LONGEST_NAME + 1];
    let mut i = 0;
    while i < STATIC_TABLE.len() {
        let name = STATIC_TABLE[i].0.as_bytes();
        // Entries with the same name are adjacent: only the first counts.
        let repeat = i > 0 && same_const(name, STATIC_TABLE[i - 1].0.as_bytes());
        if !repeat {
            let len = name.len();
            assert!(len <= LONGEST_NAME && filled[len] < MOST_OF_ONE_LENGTH);
            buckets[len][filled[len]] = (i + 1) as u8;
            filled[len] += 1;
        }
        i += 1;
    }
    buckets
}

const fn same_const(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of the first static table entry named `name` (entries with
/// the same name are adjacent), found among the names of its length.
fn static_name_index(name: &[u8]) -> Option<usize> {
    NAMES_BY_LENGTH
        .get(name.len())?
        .iter()
        .take_while(|&&index| index != 0)
        .map(|&index| usize::from(index))
        .find(|&index| {
            STATIC_TABLE
                .get(index - 1)
                .is_some_and(|(n, _)| same(n.as_bytes(), name))
        })
}

/// Whether `a` and `b` are the same bytes, ruling most pairs out by
/// length and first byte before comparing the rest.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.first() == b.first() && a == b
}

/// Looks `name` and `value` up in the static table; index 1 first.
pub(crate) fn find_static(name: &[u8], value: &[u8]) -> Option<Found> {
    let first = static_name_index(name)?;
    let rows = STATIC_TABLE.iter().enumerate().skip(first - 1);
    for (i, (_, v)) in rows.take_while(|(_, (n, _))| n.as_bytes() == name) {
        if v.as_bytes() == value {
            return Some(Found::Field(i + 1));
        }
    }
    Some(Found::Name(first))
}

/// One dynamic table entry: where its name and value are in the table's
/// byte store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Where the name starts, as a position in the stream of bytes ever
    /// stored (`DynamicTable::base` is the position of `bytes[0]`); the
    /// value follows the name.
    start: usize,
    name_len: usize,
    value_len: usize,
}

impl Entry {
    fn size(&self) -> usize {
        self.name_len + self.value_len + ENTRY_OVERHEAD
    }
}

/// The dynamic table: newest entry first (index 62 in the combined index
/// space), evicting the oldest to stay within its maximum size.
///
/// Names and values live one after the other in one byte store, oldest
/// first: an insert appends, an eviction only forgets, and the store drops
/// its dead front once that is larger than what is live. Entries thus cost
/// no allocation of their own, and each byte is moved at most once per
/// insert on average.
#[derive(Debug, Clone)]
pub(crate) struct DynamicTable {
    entries: VecDeque<Entry>,
    /// The bytes of the entries (and of evicted ones not yet dropped).
    bytes: Vec<u8>,
    /// The position of `bytes[0]` in the stream of bytes ever stored.
    base: usize,
    /// Sum of the entries' sizes (RFC 7541 §4.1), in bytes.
    size: usize,
    /// The current maximum size, as set by the last size update.
    max_size: usize,
}

impl DynamicTable {
    /// An empty table of at most `max_size` bytes.
    pub(crate) fn new(max_size: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            bytes: Vec::new(),
            base: 0,
            size: 0,
            max_size,
        }
    }

    /// The sum of the entries' sizes, in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The current maximum size, in bytes.
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sets a new maximum size, evicting entries that no longer fit
    /// (RFC 7541 §4.3).
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
        self.compact();
    }

    /// Adds an entry, evicting old ones first; an entry larger than the
    /// maximum empties the table and is not added (RFC 7541 §4.4).
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            self.base += self.bytes.len();
            self.bytes.clear();
            return;
        }
        self.evict_to(self.max_size - size);
        self.compact();
        let start = self.base + self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.entries.push_front(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
        });
        self.size += size;
    }

    /// Drops the bytes of evicted entries once they outweigh the live ones.
    fn compact(&mut self) {
        let live_from = self
            .entries
            .back()
            .map_or(self.base + self.bytes.len(), |e| e.start);
        let dead = live_from - self.base;
        if dead > 0 && dead >= self.bytes.len() - dead {
            self.bytes.drain(..dead);
            self.base = live_from;
        }
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(entry) => self.size -= entry.size(),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    /// The name and value of `entry`.
    fn fields(&self, entry: &Entry) -> (&[u8], &[u8]) {
        let start = entry.start - self.base;
        let name_end = start + entry.name_len;
        let name = self.bytes.get(start..name_end).unwrap_or_default();
        let value = self
            .bytes
            .get(name_end..name_end + entry.value_len)
            .unwrap_or_default();
        (name, value)
    }

    /// The entry at `index` in the combined index space (62 is the newest),
    /// as `(name, value)`.
    pub(crate) fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let entry = self
            .entries
            .get(index.checked_sub(STATIC_TABLE.len() + 1)?)?;
        Some(self.fields(entry))
    }

    /// Looks a field up; indices are in the combined index space.
    pub(crate) fn find(&self, name: &[u8], value: &[u8]) -> Option<Found> {
        let mut name_match = None;
        for (i, entry) in self.entries.iter().enumerate() {
            if entry.name_len != name.len() {
                continue;
            }
            let (n, v) = self.fields(entry);
            if same(n, name) {
                let index = i + STATIC_TABLE.len() + 1;
                if same(v, value) {
                    return Some(Found::Field(index));
                }
                name_match.get_or_insert(Found::Name(index));
            }
        }
        name_match
    }
}

/// The field at `index` (1-based, static then dynamic), or `None` when the
/// index is 0 or past the end (RFC 7541 §2.3.3).
pub(crate) fn lookup(dynamic: &DynamicTable, index: usize) -> Option<(&[u8], &[u8])> {
    match index {
        0 => None,
        1..=61 => STATIC_TABLE
            .get(index - 1)
            .map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        _ => dynamic.get(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_spot_checks() {
        assert_eq!(STATIC_TABLE.len(), 61);
        let t = DynamicTable::new(4096);
        assert_eq!(lookup(&t, 1), Some((&b":authority"[..], &b""[..])));
        assert_eq!(
            lookup(&t, 16),
            Some((&b"accept-encoding"[..], &b"gzip, deflate"[..]))
        );
        assert_eq!(lookup(&t, 61), Some((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(lookup(&t, 0), None);
        assert_eq!(lookup(&t, 62), None);
        assert_eq!(find_static(b":status", b"404"), Some(Found::Field(13)));
        assert_eq!(find_static(b":status", b"201"), Some(Found::Name(8)));
        assert_eq!(find_static(b"x-nope", b""), None);
        assert_eq!(
            find_static(b"www-authenticate", b"x"),
            Some(Found::Name(61))
        );
    }

    /// The names by length find what a scan of the rows finds, for every
    /// row's name and value and for names not in the table.
    #[test]
    fn find_static_matches_a_scan() {
        let scan = |name: &[u8], value: &[u8]| {
            let mut found = None;
            for (i, (n, v)) in STATIC_TABLE.iter().enumerate() {
                if n.as_bytes() == name {
                    if v.as_bytes() == value {
                        return Some(Found::Field(i + 1));
                    }
                    found.get_or_insert(Found::Name(i + 1));
                }
            }
            found
        };
        for (name, value) in STATIC_TABLE {
            for value in [value, "x", "", "gzip", "200", "404"] {
                let (n, v) = (name.as_bytes(), value.as_bytes());
                assert_eq!(find_static(n, v), scan(n, v), "{name}: {value}");
            }
        }
        for name in ["", "x-nope", ":Status", "date ", "accept-encodinG"] {
            assert_eq!(find_static(name.as_bytes(), b""), None);
        }
    }

    #[test]
    fn insert_evict_and_resize() {
        let mut t = DynamicTable::new(100);
        t.insert(b"a", b"1"); // 34
        t.insert(b"b", b"2"); // 34
        assert_eq!((t.len(), t.size()), (2, 68));
        assert_eq!(lookup(&t, 62), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(lookup(&t, 63), Some((&b"a"[..], &b"1"[..])));
        t.insert(b"c", b"3"); // evicts a
        assert_eq!((t.len(), t.size()), (2, 68));
        assert_eq!(t.find(b"a", b"1"), None);
        assert_eq!(t.find(b"b", b"9"), Some(Found::Name(63)));
        t.set_max_size(40);
        assert_eq!((t.len(), t.size()), (1, 34));
        // Too large to fit: empties the table.
        t.insert(b"long-name", b"long-value");
        assert_eq!((t.len(), t.size()), (0, 0));
        t.set_max_size(0);
        t.insert(b"a", b"");
        assert_eq!(t.len(), 0);
        assert_eq!(t.max_size(), 0);
    }

    /// Thousands of inserts of varied sizes, with resizes, against a
    /// table of owned pairs: the same entries, in the same order, and a
    /// byte store that never holds much more than twice the table.
    #[test]
    fn byte_store_matches_a_model() {
        let mut t = DynamicTable::new(4096);
        let mut model: VecDeque<(Vec<u8>, Vec<u8>)> = VecDeque::new();
        let mut max = 4096;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000u32 {
            let r = next();
            if r % 500 == 0 {
                max = (r >> 16) as usize % 5000;
                t.set_max_size(max);
            } else {
                let name = format!("n{}", r % 7).into_bytes();
                let value = vec![b'v'; (r >> 8) as usize % 300];
                t.insert(&name, &value);
                model.push_front((name, value));
            }
            let mut size: usize = model.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
            while size > max {
                let (n, v) = model.pop_back().unwrap();
                size -= n.len() + v.len() + 32;
            }
            assert_eq!((t.len(), t.size()), (model.len(), size), "round {round}");
            for (i, (n, v)) in model.iter().enumerate() {
                assert_eq!(lookup(&t, 62 + i), Some((&n[..], &v[..])), "round {round}");
            }
            assert!(t.bytes.len() <= 2 * max + 300, "round {round}");
        }
    }
}
