//! HPACK against the public `hpack-test-case` corpus: every story of the
//! `nghttp2`, `go-hpack`, `python-hpack` and `nghttp2-change-table-size`
//! folders decodes to exactly its header lists, and our encoder's blocks
//! for the `raw-data` lists decode back to them.
//!
//! A vendored subset in `tests/data/hpack/` is always checked. The whole
//! corpus is checked when found at `$MULTIFETCH_HPACK_TEST_CASE` or
//! `$CARGO_MANIFEST_DIR/../shared/hpack-test-case`; when it is absent the
//! test says so, and fails if `MULTIFETCH_REQUIRE_HPACK_CORPUS=1`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use multifetch::__private::h2::hpack::{Decoder, Encoder, Field};
use serde_json::Value;

const DECODER_FOLDERS: [&str; 4] = [
    "nghttp2",
    "go-hpack",
    "python-hpack",
    "nghttp2-change-table-size",
];

type List = Vec<(Vec<u8>, Vec<u8>)>;

fn hex(s: &str) -> Vec<u8> {
    let digits = s.as_bytes();
    assert!(digits.len() % 2 == 0, "odd hex length");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// The stories in `folder`, sorted by name.
fn stories(folder: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no stories in {}", folder.display());
    paths
}

/// Each case of a story: the acknowledged table size (if given), the wire
/// bytes (if given) and the header list.
fn cases(story: &Path) -> Vec<(Option<u32>, Option<Vec<u8>>, List)> {
    let text = fs::read_to_string(story).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let size = case
                .get("header_table_size")
                .and_then(Value::as_u64)
                .map(|s| u32::try_from(s).unwrap());
            let wire = case.get("wire").and_then(Value::as_str).map(hex);
            let list = case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|pair| pair.as_object().unwrap().iter())
                .map(|(n, v)| {
                    (
                        n.as_bytes().to_vec(),
                        v.as_str().unwrap().as_bytes().to_vec(),
                    )
                })
                .collect();
            (size, wire, list)
        })
        .collect()
}

fn decode(decoder: &mut Decoder, block: &[u8]) -> List {
    let mut list = Vec::new();
    decoder
        .decode(block, |f| list.push((f.name.to_vec(), f.value.to_vec())))
        .unwrap_or_else(|e| panic!("{e}"));
    list
}

/// Decodes every story of a decoder folder; returns the cases checked.
fn check_decoder_folder(folder: &Path) -> usize {
    let mut checked = 0;
    for story in stories(folder) {
        let mut decoder = Decoder::new();
        for (i, (size, wire, list)) in cases(&story).into_iter().enumerate() {
            if let Some(size) = size {
                decoder.set_max_table_size(size);
            }
            let wire = wire.unwrap_or_else(|| panic!("{} case {i}: no wire", story.display()));
            assert_eq!(
                decode(&mut decoder, &wire),
                list,
                "{} case {i}",
                story.display()
            );
            checked += 1;
        }
    }
    checked
}

/// Encodes every `raw-data` list with our encoder (with and without
/// Huffman) and decodes it back; returns the cases checked.
fn check_raw_data(folder: &Path) -> usize {
    let mut checked = 0;
    for story in stories(folder) {
        for huffman in [true, false] {
            let mut encoder = Encoder::new();
            encoder.set_huffman(huffman);
            let mut decoder = Decoder::new();
            for (i, (_, _, list)) in cases(&story).into_iter().enumerate() {
                let mut block = Vec::new();
                encoder.encode(
                    list.iter().map(|(name, value)| Field {
                        name,
                        value,
                        sensitive: false,
                        static_name: 0,
                    }),
                    &mut block,
                );
                assert_eq!(
                    decode(&mut decoder, &block),
                    list,
                    "{} case {i}",
                    story.display()
                );
                assert_eq!(encoder.table_size(), decoder.table_size());
                checked += 1;
            }
        }
    }
    checked
}

fn check_corpus(root: &Path) -> usize {
    let mut checked = 0;
    for folder in DECODER_FOLDERS {
        checked += check_decoder_folder(&root.join(folder));
    }
    checked + check_raw_data(&root.join("raw-data"))
}

#[test]
fn vendored_subset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hpack");
    let checked = check_corpus(&root);
    assert!(checked > 250, "only {checked} cases");
}

#[test]
fn full_corpus() {
    let root = std::env::var_os("MULTIFETCH_HPACK_TEST_CASE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/hpack-test-case"));
    if !root.join("raw-data").is_dir() {
        let message = format!(
            "the hpack-test-case corpus is not at {}: only the vendored subset was checked \
             (set MULTIFETCH_HPACK_TEST_CASE to its folder)",
            root.display()
        );
        if std::env::var("MULTIFETCH_REQUIRE_HPACK_CORPUS").as_deref() == Ok("1") {
            panic!("{message}, and MULTIFETCH_REQUIRE_HPACK_CORPUS=1 requires it");
        }
        // Straight to stderr, past the test harness's capture, so the skip
        // shows in every run's output.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
        return;
    }
    let checked = check_corpus(&root);
    eprintln!(
        "hpack corpus at {}: {checked} cases checked",
        root.display()
    );
    assert!(checked > 10_000, "only {checked} cases");
}
