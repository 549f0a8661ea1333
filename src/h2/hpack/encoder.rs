//! The HPACK encoder for the header blocks we send (requests).

use super::table::{DynamicTable, Found, find_static};
use super::{DEFAULT_HEADER_TABLE_SIZE, Field, encode_integer, encode_string};

/// The largest dynamic table our encoder keeps, whatever larger
/// SETTINGS_HEADER_TABLE_SIZE the peer allows, in bytes: requests repeat a
/// few fields (`:authority`, `user-agent`, `accept`), which fit easily, and
/// each connection's table costs memory.
pub const MAX_ENCODER_TABLE_SIZE: u32 = DEFAULT_HEADER_TABLE_SIZE;

/// Fields whose values are secrets: always written as never-indexed
/// literals (RFC 7541 §7.1.3), so no intermediary may add them to a table
/// where a compression side channel could probe them.
const SENSITIVE: &[&[u8]] = &[
    b"authorization",
    b"proxy-authorization",
    b"cookie",
    b"set-cookie",
];

/// Fields whose values rarely repeat across requests: written as literals
/// without indexing, so they do not push useful entries out of the table.
const UNIQUE: &[&[u8]] = &[
    b":path",
    b"content-length",
    b"if-modified-since",
    b"if-none-match",
    b"range",
];

/// Encodes header lists into header blocks.
///
/// Policy: a field found whole in the static or dynamic table is indexed;
/// sensitive fields ([`Field::sensitive`], or `authorization`,
/// `proxy-authorization`, `cookie`, `set-cookie`) are never-indexed
/// literals; fields that seldom repeat (`:path`, `content-length`, ...)
/// and fields larger than a quarter of the table are literals without
/// indexing; everything else is added to the table. Strings are
/// Huffman-coded when that is shorter.
#[derive(Debug, Clone)]
pub struct Encoder {
    table: DynamicTable,
    /// Size updates to signal at the start of the next block: the smallest
    /// size the table went through, then the final size (RFC 7541 §4.2).
    pending_update: Option<(usize, usize)>,
    huffman: bool,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with the default 4,096-byte dynamic table.
    pub fn new() -> Self {
        Encoder {
            table: DynamicTable::new(DEFAULT_HEADER_TABLE_SIZE as usize),
            pending_update: None,
            huffman: true,
        }
    }

    /// Turns Huffman coding of strings on (the default) or off.
    pub fn set_huffman(&mut self, on: bool) {
        self.huffman = on;
    }

    /// Applies the peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks to
    /// it, or grows up to [`MAX_ENCODER_TABLE_SIZE`]; the change is
    /// signalled at the start of the next block.
    pub fn set_max_table_size(&mut self, peer_max: u32) {
        let size = peer_max.min(MAX_ENCODER_TABLE_SIZE) as usize;
        if size == self.table.max_size() {
            return;
        }
        let smallest = match self.pending_update {
            Some((smallest, _)) => smallest.min(size),
            None => size,
        };
        self.pending_update = Some((smallest, size));
        self.table.set_max_size(size);
    }

    /// The dynamic table's current size and maximum, in bytes.
    pub fn table_size(&self) -> (usize, usize) {
        (self.table.size(), self.table.max_size())
    }

    /// Appends the header block for `fields` to `out`.
    pub fn encode<'f>(&mut self, fields: impl IntoIterator<Item = Field<'f>>, out: &mut Vec<u8>) {
        if let Some((smallest, size)) = self.pending_update.take() {
            if smallest < size {
                encode_integer(smallest, 5, 0x20, out);
            }
            encode_integer(size, 5, 0x20, out);
        }
        for field in fields {
            self.encode_field(field, out);
        }
    }

    fn encode_field(&mut self, field: Field<'_>, out: &mut Vec<u8>) {
        let Field { name, value, .. } = field;
        let sensitive = field.sensitive || SENSITIVE.contains(&name);
        let unique = UNIQUE.contains(&name);
        let found = match find_static(name, value) {
            Some(Found::Field(i)) => Some(Found::Field(i)),
            // This encoder never adds a field that seldom repeats to the
            // table, and their names are all in the static one.
            by_static @ Some(_) if unique => by_static,
            by_static => match self.table.find(name, value) {
                Some(Found::Field(i)) => Some(Found::Field(i)),
                by_dynamic => by_static.or(by_dynamic),
            },
        };
        if let (Some(Found::Field(index)), false) = (found, sensitive) {
            encode_integer(index, 7, 0x80, out);
            return;
        }
        let name_index = match found {
            Some(Found::Field(i) | Found::Name(i)) => i,
            None => 0,
        };
        let entry_size = name.len() + value.len() + super::table::ENTRY_OVERHEAD;
        // A large field would evict much of the table for one use.
        let indexing = !sensitive && !unique && entry_size <= self.table.max_size() / 4;
        let (prefix, flags) = if sensitive {
            (4, 0x10)
        } else if indexing {
            (6, 0x40)
        } else {
            (4, 0x00)
        };
        encode_integer(name_index, prefix, flags, out);
        if name_index == 0 {
            encode_string(name, self.huffman, out);
        }
        encode_string(value, self.huffman, out);
        if indexing {
            self.table.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::super::decoder::tests::{C3, C4, request_lists, request_tables};
    use super::super::tests::hex;
    use super::*;

    fn fields(list: &[(String, String)]) -> Vec<Field<'_>> {
        list.iter()
            .map(|(n, v)| Field {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: false,
                static_name: 0,
            })
            .collect()
    }

    /// Our policy reproduces RFC 7541 C.3 (raw) and C.4 (Huffman) exactly.
    #[test]
    fn c3_c4_exact_bytes() {
        for (huffman, blocks) in [(false, C3), (true, C4)] {
            let mut e = Encoder::new();
            e.set_huffman(huffman);
            for ((list, block), (_, size)) in
                request_lists().iter().zip(blocks).zip(request_tables())
            {
                let mut out = Vec::new();
                e.encode(fields(list), &mut out);
                assert_eq!(out, hex(block));
                assert_eq!(e.table_size(), (size, 4096));
            }
        }
    }

    fn round_trip(e: &mut Encoder, d: &mut Decoder, list: &[(&str, &str, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        e.encode(
            list.iter().map(|&(n, v, s)| Field {
                name: n.as_bytes(),
                value: v.as_bytes(),
                sensitive: s,
                static_name: 0,
            }),
            &mut out,
        );
        let mut got = Vec::new();
        d.decode(&out, |f| {
            got.push((
                String::from_utf8(f.name.to_vec()).unwrap(),
                String::from_utf8(f.value.to_vec()).unwrap(),
                f.sensitive,
            ));
        })
        .unwrap();
        let want: Vec<_> = list
            .iter()
            .map(|&(n, v, s)| {
                (
                    n.to_owned(),
                    v.to_owned(),
                    s || SENSITIVE.contains(&n.as_bytes()),
                )
            })
            .collect();
        assert_eq!(got, want);
        out
    }

    #[test]
    fn sensitive_fields_are_never_indexed() {
        let mut e = Encoder::new();
        let mut d = Decoder::new();
        let list = [
            ("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", false),
            ("cookie", "a=b", false),
            ("x-token", "secret", true),
            (":path", "/a/b/c", false),
            ("user-agent", "multifetch", false),
        ];
        let first = round_trip(&mut e, &mut d, &list);
        // Only user-agent entered the table.
        assert_eq!(
            e.table_size().0,
            "user-agent".len() + "multifetch".len() + 32
        );
        assert_eq!(d.table_size(), e.table_size());
        let second = round_trip(&mut e, &mut d, &list);
        assert!(second.len() < first.len());
        // authorization (static index 23) as a never-indexed literal: 0001 + 15, 8.
        assert_eq!(&first[..2], &[0x1f, 0x08]);
    }

    #[test]
    fn table_size_changes_are_signalled() {
        let mut e = Encoder::new();
        let mut d = Decoder::new();
        round_trip(&mut e, &mut d, &[("x-a", "1", false)]);
        e.set_max_table_size(0);
        e.set_max_table_size(100);
        d.set_max_table_size(100);
        let out = round_trip(&mut e, &mut d, &[("x-b", "2", false)]);
        // 0 first, then 100.
        assert_eq!(&out[..3], &[0x20, 0x3f, 0x45]);
        assert_eq!(e.table_size(), d.table_size());
        // Larger than our cap: stays at the cap.
        e.set_max_table_size(1 << 20);
        d.set_max_table_size(4096);
        let out = round_trip(&mut e, &mut d, &[("x-c", "3", false)]);
        assert_eq!(&out[..3], &[0x3f, 0xe1, 0x1f]);
        assert_eq!(e.table_size().1, MAX_ENCODER_TABLE_SIZE as usize);
        // Unchanged: no update.
        e.set_max_table_size(8192);
        let out = round_trip(&mut e, &mut d, &[("x-c", "3", false)]);
        assert_eq!(out, [0xbe]);
    }
}
