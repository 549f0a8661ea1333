//! The HPACK decoder: one header block at a time, in order, sharing one
//! dynamic table per connection (RFC 7541 §2.2, §3, §6).

use std::ops::Range;

use super::table::{DynamicTable, STATIC_TABLE, lookup};
use super::{DEFAULT_HEADER_TABLE_SIZE, Field, HpackError, decode_integer, huffman};

/// Decodes header blocks into fields.
///
/// One decoder serves one connection: every block the peer sends must be
/// decoded, in order, even those of streams the caller no longer cares
/// about, or the dynamic tables drift apart.
///
/// ```text
/// block ─► [size updates]* ─► field representations* ─► on_field(Field) per field
///            (only at the start: RFC 7541 §4.2; each ≤ SETTINGS_HEADER_TABLE_SIZE: §6.3)
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    table: DynamicTable,
    /// The largest size a size update may name: our acknowledged
    /// SETTINGS_HEADER_TABLE_SIZE.
    max_allowed: u32,
    /// We lowered the setting below the table's size: the next block must
    /// start with a size update.
    update_required: bool,
    /// Scratch space for Huffman-decoded or table-copied names and values
    /// (a string is the front of its buffer: see [`Str::Decoded`]).
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a decoded string is: a range of the block, the scratch buffer,
/// or the static table.
enum Str {
    Raw(Range<usize>),
    /// The first so many bytes of the scratch buffer.
    Decoded(usize),
    Static(&'static [u8]),
}

impl Decoder {
    /// A decoder with the default 4,096-byte dynamic table.
    pub fn new() -> Self {
        Decoder {
            table: DynamicTable::new(DEFAULT_HEADER_TABLE_SIZE as usize),
            max_allowed: DEFAULT_HEADER_TABLE_SIZE,
            update_required: false,
            name_buf: Vec::new(),
            value_buf: Vec::new(),
        }
    }

    /// Applies a SETTINGS_HEADER_TABLE_SIZE of ours that the peer has
    /// acknowledged: later size updates may not exceed `max`, and when the
    /// table is larger, the next block must start with a size update that
    /// brings it down (RFC 7541 §4.2).
    pub fn set_max_table_size(&mut self, max: u32) {
        self.max_allowed = max;
        if (max as usize) < self.table.max_size() {
            self.update_required = true;
        }
    }

    /// The dynamic table's current size (sum of entry sizes, RFC 7541 §4.1)
    /// and maximum, in bytes.
    pub fn table_size(&self) -> (usize, usize) {
        (self.table.size(), self.table.max_size())
    }

    /// Decodes one complete header block (the fragments of a HEADERS or
    /// PUSH_PROMISE frame and its CONTINUATION frames, joined), calling
    /// `on_field` for each field in order.
    ///
    /// # Errors
    ///
    /// Any [`HpackError`]; the decoder must not be used after one, since
    /// the dynamic table may then differ from the peer's.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut on_field: impl FnMut(Field<'_>),
    ) -> Result<(), HpackError> {
        let mut pos = 0;
        let mut fields_seen = false;
        while let Some(&first) = block.get(pos) {
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3).
                if fields_seen {
                    return Err(HpackError::SizeUpdateNotAtStart);
                }
                let size = decode_integer(block, &mut pos, 5)?;
                if size > u64::from(self.max_allowed) {
                    return Err(HpackError::SizeUpdateTooLarge {
                        size,
                        max: self.max_allowed,
                    });
                }
                self.table.set_max_size(size as usize);
                if size <= u64::from(self.max_allowed) {
                    self.update_required = false;
                }
                continue;
            }
            if self.update_required {
                return Err(HpackError::SizeUpdateMissing);
            }
            fields_seen = true;
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = integer(block, &mut pos, 7)?;
                let (name, value) =
                    lookup(&self.table, index as usize).ok_or(HpackError::InvalidIndex(index))?;
                on_field(Field {
                    name,
                    value,
                    sensitive: false,
                    static_name: static_index(index),
                });
                continue;
            }
            // Literals: with incremental indexing (01, 6-bit prefix, §6.2.1),
            // without indexing (0000, 4-bit, §6.2.2), never indexed (0001,
            // 4-bit, §6.2.3).
            let (prefix, indexing, sensitive) = if first & 0x40 != 0 {
                (6, true, false)
            } else {
                (4, false, first & 0x10 != 0)
            };
            let index = integer(block, &mut pos, prefix)?;
            let name_raw = if index == 0 {
                read_string(block, &mut pos, &mut self.name_buf)?
            } else if let Some(&(name, _)) = STATIC_TABLE.get(index as usize - 1) {
                Str::Static(name.as_bytes())
            } else {
                let (name, _) =
                    lookup(&self.table, index as usize).ok_or(HpackError::InvalidIndex(index))?;
                self.name_buf.clear();
                self.name_buf.extend_from_slice(name);
                Str::Decoded(name.len())
            };
            let value_raw = read_string(block, &mut pos, &mut self.value_buf)?;
            let name = resolve(block, name_raw, &self.name_buf)?;
            let value = resolve(block, value_raw, &self.value_buf)?;
            on_field(Field {
                name,
                value,
                sensitive,
                static_name: static_index(index),
            });
            if indexing {
                self.table.insert(name, value);
            }
        }
        Ok(())
    }
}

/// `index` as a [`Field::static_name`]: itself within the static table,
/// else 0.
fn static_index(index: u64) -> u8 {
    u8::try_from(index)
        .ok()
        .filter(|i| (1..=61).contains(i))
        .unwrap_or(0)
}

/// [`decode_integer`], with the usual one-byte integer (below the
/// prefix's maximum) read here.
#[inline]
fn integer(block: &[u8], pos: &mut usize, prefix_bits: u8) -> Result<u64, HpackError> {
    let mask = (1u8 << prefix_bits) - 1;
    match block.get(*pos) {
        Some(&first) if first & mask < mask => {
            *pos += 1;
            Ok(u64::from(first & mask))
        }
        _ => decode_integer(block, pos, prefix_bits),
    }
}

/// Reads a string literal (§5.2) at `*pos`: raw strings stay in the block,
/// Huffman-coded ones are decoded into the front of `buf`.
fn read_string(block: &[u8], pos: &mut usize, buf: &mut Vec<u8>) -> Result<Str, HpackError> {
    let huffman_coded = block.get(*pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = integer(block, pos, 7)?;
    let start = *pos;
    let end = usize::try_from(len)
        .ok()
        .and_then(|len| start.checked_add(len))
        .filter(|&end| end <= block.len())
        .ok_or(HpackError::Truncated)?;
    *pos = end;
    if huffman_coded {
        let coded = block.get(start..end).ok_or(HpackError::Truncated)?;
        Ok(Str::Decoded(huffman::decode(coded, buf)?))
    } else {
        Ok(Str::Raw(start..end))
    }
}

fn resolve<'a>(block: &'a [u8], s: Str, buf: &'a [u8]) -> Result<&'a [u8], HpackError> {
    match s {
        Str::Raw(range) => block.get(range).ok_or(HpackError::Truncated),
        Str::Decoded(len) => buf.get(..len).ok_or(HpackError::Truncated),
        Str::Static(name) => Ok(name),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::tests::hex;
    use super::*;

    fn decode_all(d: &mut Decoder, block: &[u8]) -> Result<Vec<(String, String)>, HpackError> {
        let mut out = Vec::new();
        d.decode(block, |f| {
            out.push((
                String::from_utf8_lossy(f.name).into_owned(),
                String::from_utf8_lossy(f.value).into_owned(),
            ));
        })?;
        Ok(out)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The dynamic table as `(name, value)` newest first.
    fn table(d: &Decoder) -> Vec<(String, String)> {
        (62..62 + d.table.len())
            .filter_map(|i| d.table.get(i))
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    /// RFC 7541 Appendix C.2.
    #[test]
    fn c2_single_representations() {
        let mut d = Decoder::new();
        let got = decode_all(
            &mut d,
            &hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"),
        );
        assert_eq!(got.unwrap(), pairs(&[("custom-key", "custom-header")]));
        assert_eq!(table(&d), pairs(&[("custom-key", "custom-header")]));
        assert_eq!(d.table_size().0, 55);

        let mut d = Decoder::new();
        let got = decode_all(&mut d, &hex("040c2f73616d706c652f70617468"));
        assert_eq!(got.unwrap(), pairs(&[(":path", "/sample/path")]));
        assert_eq!(d.table.len(), 0);

        let mut d = Decoder::new();
        let block = hex("100870617373776f726406736563726574");
        let mut sensitive = Vec::new();
        d.decode(&block, |f| sensitive.push(f.sensitive)).unwrap();
        assert_eq!(sensitive, [true]);
        assert_eq!(
            decode_all(&mut d, &block).unwrap(),
            pairs(&[("password", "secret")])
        );
        assert_eq!(d.table.len(), 0);

        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, &[0x82]).unwrap(),
            pairs(&[(":method", "GET")])
        );
        assert_eq!(d.table.len(), 0);
    }

    /// The three requests of C.3 (raw) and C.4 (Huffman), with the dynamic
    /// table after each.
    pub(crate) const C3: [&str; 3] = [
        "828684410f7777772e6578616d706c652e636f6d",
        "828684be58086e6f2d6361636865",
        "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    ];
    pub(crate) const C4: [&str; 3] = [
        "828684418cf1e3c2e5f23a6ba0ab90f4ff",
        "828684be5886a8eb10649cbf",
        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    ];
    pub(crate) fn request_lists() -> [Vec<(String, String)>; 3] {
        [
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ]),
            pairs(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ]),
            pairs(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ]),
        ]
    }
    pub(crate) fn request_tables() -> [(Vec<(String, String)>, usize); 3] {
        [
            (pairs(&[(":authority", "www.example.com")]), 57),
            (
                pairs(&[
                    ("cache-control", "no-cache"),
                    (":authority", "www.example.com"),
                ]),
                110,
            ),
            (
                pairs(&[
                    ("custom-key", "custom-value"),
                    ("cache-control", "no-cache"),
                    (":authority", "www.example.com"),
                ]),
                164,
            ),
        ]
    }

    #[test]
    fn c3_c4_requests() {
        for blocks in [C3, C4] {
            let mut d = Decoder::new();
            for ((block, list), (tab, size)) in
                blocks.iter().zip(request_lists()).zip(request_tables())
            {
                assert_eq!(decode_all(&mut d, &hex(block)).unwrap(), list);
                assert_eq!(table(&d), tab);
                assert_eq!(d.table_size(), (size, 4096));
            }
        }
    }

    /// C.5 (raw) and C.6 (Huffman): responses with a 256-byte table, with
    /// evictions.
    pub(crate) const C5: [&str; 3] = [
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        "4803333037c1c0bf",
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
    ];
    pub(crate) const C6: [&str; 3] = [
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    ];
    pub(crate) fn response_lists() -> [Vec<(String, String)>; 3] {
        let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
        let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
        let loc = "https://www.example.com";
        [
            pairs(&[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", loc),
            ]),
            pairs(&[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", date1),
                ("location", loc),
            ]),
            pairs(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", date2),
                ("location", loc),
                ("content-encoding", "gzip"),
                (
                    "set-cookie",
                    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                ),
            ]),
        ]
    }

    #[test]
    fn c5_c6_responses_with_eviction() {
        for blocks in [C5, C6] {
            let mut d = Decoder::new();
            d.table.set_max_size(256);
            let sizes = [222, 222, 215];
            let lens = [4, 4, 3];
            for (i, (block, list)) in blocks.iter().zip(response_lists()).enumerate() {
                let block = hex(block);
                assert_eq!(decode_all(&mut d, &block).unwrap(), list, "C.5/6 #{i}");
                assert_eq!(d.table_size().0, sizes[i], "#{i}");
                assert_eq!(d.table.len(), lens[i], "#{i}");
            }
            let newest = table(&d);
            assert_eq!(newest[0].0, "set-cookie");
            assert_eq!(newest[1], ("content-encoding".into(), "gzip".into()));
            assert_eq!(
                newest[2],
                ("date".into(), "Mon, 21 Oct 2013 20:13:22 GMT".into())
            );
        }
    }

    #[test]
    fn size_updates() {
        let mut d = Decoder::new();
        // An update to 0 then a field: fine.
        assert_eq!(decode_all(&mut d, &[0x20, 0x82]).unwrap().len(), 1);
        assert_eq!(d.table_size(), (0, 0));
        // Two updates at the start (min, then final) are fine.
        assert!(decode_all(&mut d, &[0x20, 0x3f, 0xe1, 0x1f, 0x82]).is_ok());
        assert_eq!(d.table_size(), (0, 4096));
        // After a field: error.
        assert_eq!(
            decode_all(&mut d, &[0x82, 0x20]),
            Err(HpackError::SizeUpdateNotAtStart)
        );
        // Above the acknowledged setting: error.
        let mut d = Decoder::new();
        assert_eq!(
            decode_all(&mut d, &[0x3f, 0xe2, 0x1f]),
            Err(HpackError::SizeUpdateTooLarge {
                size: 4097,
                max: 4096
            })
        );
        // A lowered setting requires an update first.
        let mut d = Decoder::new();
        d.set_max_table_size(100);
        assert_eq!(
            decode_all(&mut d, &[0x82]),
            Err(HpackError::SizeUpdateMissing)
        );
        let mut d = Decoder::new();
        d.set_max_table_size(100);
        assert_eq!(
            decode_all(&mut d, &[0x3f, 0x45, 0x82]).unwrap(),
            pairs(&[(":method", "GET")])
        );
        assert_eq!(d.table_size(), (0, 100));
        assert_eq!(decode_all(&mut d, &[0x82]).unwrap().len(), 1);
    }

    #[test]
    fn malformed_blocks() {
        let cases: &[(&[u8], HpackError)] = &[
            (&[0x80], HpackError::InvalidIndex(0)),
            (&[0xbe], HpackError::InvalidIndex(62)),
            (&[0x7f, 0x00], HpackError::InvalidIndex(63)),
            (&[0x40], HpackError::Truncated),
            (&[0x40, 0x05, b'a'], HpackError::Truncated),
            (&[0x04, 0x7f], HpackError::Truncated),
            (&[0x04, 0x81, 0xff], HpackError::InvalidHuffman),
            (
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                HpackError::IntegerOverflow,
            ),
        ];
        for (block, error) in cases {
            assert_eq!(
                decode_all(&mut Decoder::new(), block).as_ref(),
                Err(error),
                "{block:02x?}"
            );
        }
    }

    /// The one-byte shortcut reads what `decode_integer` reads, and leaves
    /// the rest (and the errors) to it.
    #[test]
    fn integer_shortcut_agrees() {
        let mut inputs: Vec<Vec<u8>> = vec![vec![]];
        for first in 0..=255u8 {
            inputs.push(vec![first]);
            inputs.push(vec![first, 0x05]);
            inputs.push(vec![first, 0x85, 0x01]);
            inputs.push(vec![first, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        }
        for input in &inputs {
            for prefix in [4, 5, 6, 7] {
                let (mut a, mut b) = (0, 0);
                let got = integer(input, &mut a, prefix);
                let want = decode_integer(input, &mut b, prefix);
                assert_eq!((got, a), (want, b), "{input:02x?} prefix {prefix}");
            }
        }
    }

    /// A block decodes the same whatever was decoded before it only through
    /// the table; feeding the C.4 blocks split anywhere is not possible (a
    /// block is whole), but every prefix of a block must fail cleanly or
    /// decode a prefix of the fields, never panic.
    #[test]
    fn every_prefix_fails_cleanly() {
        for blocks in [C3, C4, C6] {
            for block in blocks {
                let block = hex(block);
                for cut in 0..block.len() {
                    let _ = decode_all(&mut Decoder::new(), &block[..cut]);
                }
            }
        }
    }
}
