//! brotli (`br`) and zstd bodies from a real server, with the `brotli` and
//! `zstd` features: decoded byte-exact (zstd fixtures made by the reference
//! `zstd` CLI, brotli by the brotli crate's port of the reference encoder),
//! corrupt ones refused in words, a bomb stopped at the body limit, the
//! codings offered in `Accept-Encoding` only when built in, and lists that
//! mix them with gzip. CI runs it with `--features brotli,zstd`.
#![cfg(any(feature = "brotli", feature = "zstd"))]

mod feature_support;

use feature_support::{Server, response};
use multifetch::{Client, ErrorKind};

/// 300,000 bytes of words, the input of `tests/data/zstd/*.zst`.
fn sample() -> Vec<u8> {
    const WORDS: [&str; 24] = [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
        "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi",
        "chi", "psi", "omega",
    ];
    let mut x: u64 = 1;
    let mut out = Vec::with_capacity(300_010);
    while out.len() < 300_000 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.extend_from_slice(WORDS[((x >> 33) % 24) as usize].as_bytes());
        out.push(if (x >> 20) % 13 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(300_000);
    out
}

#[cfg(feature = "zstd")]
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/zstd/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[cfg(feature = "brotli")]
fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        use std::io::Write;
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
        w.write_all(data).unwrap();
    }
    out
}

#[cfg(all(feature = "brotli", feature = "zstd", feature = "gzip"))]
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Serves `/PATH` as `(content-encoding, body)` from `bodies`.
fn serve(bodies: Vec<(&'static str, &'static str, Vec<u8>)>) -> Server {
    Server::start(
        move |req| match bodies.iter().find(|(path, _, _)| req.target == *path) {
            Some((_, coding, body)) => response("200 OK", &[("Content-Encoding", coding)], body),
            None => response("404 Not Found", &[], b""),
        },
    )
}

#[test]
fn accept_encoding_offers_exactly_the_codings_built_in() {
    let server = serve(Vec::new());
    let _ = Client::new().fetch(server.url("/"));
    let seen = server.seen();
    let sent = seen[0].header("accept-encoding").unwrap();
    let expected: Vec<&str> = [
        (cfg!(feature = "gzip"), "gzip, deflate"),
        (cfg!(feature = "brotli"), "br"),
        (cfg!(feature = "zstd"), "zstd"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    assert_eq!(sent, expected.join(", "));
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_bodies_from_the_reference_encoder_decode_byte_exact() {
    let data = sample();
    let mut corrupt = fixture("sample-3.zst");
    corrupt[5000] ^= 0xff;
    let mut bad_checksum = fixture("sample-3.zst");
    let n = bad_checksum.len();
    bad_checksum[n - 2] ^= 1;
    let truncated = fixture("sample-3.zst")[..30_000].to_vec();
    let server = serve(vec![
        ("/3", "zstd", fixture("sample-3.zst")),
        ("/19", "zstd", fixture("sample-19-nocheck.zst")),
        ("/two", "zstd", fixture("two-frames.zst")),
        ("/corrupt", "zstd", corrupt),
        ("/checksum", "zstd", bad_checksum),
        ("/truncated", "zstd", truncated),
        ("/bomb", "zstd", fixture("bomb-100MiB.zst")),
    ]);
    let client = Client::builder().max_body_size(1 << 20).build().unwrap();
    let big = Client::new();
    for path in ["/3", "/19", "/two"] {
        let response = big.fetch(server.url(path)).unwrap();
        assert!(
            response.body() == data,
            "{path}: {} bytes",
            response.body().len()
        );
        assert!(response.header("content-encoding").is_none(), "{path}");
    }
    for (path, words) in [
        ("/corrupt", "could not decode zstd body: "),
        (
            "/checksum",
            "could not decode zstd body: zstd content checksum does not match",
        ),
        (
            "/truncated",
            "could not decode zstd body: compressed stream ends early",
        ),
    ] {
        let error = big.fetch(server.url(path)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{path}: {error}");
        assert!(error.to_string().starts_with(words), "{path}: {error}");
        assert!(!error.to_string().contains('{'), "{path}: {error}");
    }
    let error = client.fetch(server.url("/bomb")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    assert!(
        error.to_string().contains("body larger than 1048576 bytes"),
        "{error}"
    );
}

#[cfg(feature = "brotli")]
#[test]
fn brotli_bodies_decode_byte_exact_and_bombs_stop() {
    let data = sample();
    let coded = brotli(&data);
    let mut corrupt = coded.clone();
    for byte in corrupt.iter_mut().skip(100).take(50) {
        *byte ^= 0x5a;
    }
    let truncated = coded[..coded.len() / 2].to_vec();
    let bomb = brotli(&vec![0u8; 100 << 20]);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    let exact = brotli(&vec![1u8; 1 << 20]);
    let server = serve(vec![
        ("/br", "br", coded),
        ("/corrupt", "br", corrupt),
        ("/truncated", "br", truncated),
        ("/bomb", "br", bomb),
        ("/exact", "br", exact),
    ]);
    let client = Client::builder().max_body_size(1 << 20).build().unwrap();
    let big = Client::new();
    let response = big.fetch(server.url("/br")).unwrap();
    assert!(response.body() == data, "{} bytes", response.body().len());
    assert!(response.header("content-encoding").is_none());
    for (path, words) in [
        (
            "/corrupt",
            "could not decode brotli body: invalid brotli data",
        ),
        (
            "/truncated",
            "could not decode brotli body: compressed stream ends early",
        ),
    ] {
        let error = big.fetch(server.url(path)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{path}: {error}");
        assert!(error.to_string().starts_with(words), "{path}: {error}");
    }
    let error = client.fetch(server.url("/bomb")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
    assert!(
        error.to_string().contains("body larger than 1048576 bytes"),
        "{error}"
    );
    assert_eq!(
        client.fetch(server.url("/exact")).unwrap().body().len(),
        1 << 20
    );
}

/// `Content-Encoding: gzip, br, zstd`: gzip applied first, then brotli,
/// then zstd; undone from the last.
#[cfg(all(feature = "brotli", feature = "zstd", feature = "gzip"))]
#[test]
fn lists_mixing_the_codings_are_undone_last_first() {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};
    let data = sample();
    let coded = compress_to_vec(&brotli(&gzip(&data))[..], CompressionLevel::Fastest);
    let server = serve(vec![
        ("/list", "gzip, br, zstd", coded.clone()),
        ("/wrong-order", "zstd, br, gzip", coded),
    ]);
    let response = Client::new().fetch(server.url("/list")).unwrap();
    assert!(response.body() == data, "{} bytes", response.body().len());
    let error = Client::new().fetch(server.url("/wrong-order")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    assert!(
        error.to_string().starts_with("could not decode gzip body"),
        "{error}"
    );
}

/// Without `decompress`, the body comes raw with its header.
#[cfg(feature = "zstd")]
#[test]
fn decompress_off_hands_zstd_over_raw() {
    let server = serve(vec![("/3", "zstd", fixture("sample-3.zst"))]);
    let client = Client::builder().decompress(false).build().unwrap();
    let response = client.fetch(server.url("/3")).unwrap();
    assert_eq!(response.body(), fixture("sample-3.zst"));
    assert_eq!(response.header("content-encoding").unwrap(), "zstd");
}
