//! gzip and deflate bodies from a real server: decoded byte-exact, corrupt
//! ones refused, a bomb stopped at the body limit.
#![cfg(feature = "gzip")]

mod feature_support;

use std::io::Write;

use feature_support::{Server, response};
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use multifetch::{Client, ErrorKind, Request};

fn sample() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn chunked(status_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\n{status_headers}Transfer-Encoding: chunked\r\n\r\n")
        .into_bytes();
    for piece in body.chunks(1000) {
        out.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn coded_server() -> Server {
    let data = sample();
    let gz = gzip(&data);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&data).unwrap();
    let zlib = z.finish().unwrap();
    let mut d = DeflateEncoder::new(Vec::new(), Compression::default());
    d.write_all(&data).unwrap();
    let raw = d.finish().unwrap();
    let mut corrupt = gz.clone();
    corrupt[100] ^= 0xff;
    Server::start(move |req| match req.target.as_str() {
        "/gzip" => response("200 OK", &[("Content-Encoding", "gzip")], &gz),
        "/gzip-chunked" => chunked("Content-Encoding: gzip\r\n", &gz),
        "/zlib" => response("200 OK", &[("Content-Encoding", "deflate")], &zlib),
        "/raw-deflate" => response("200 OK", &[("Content-Encoding", "deflate")], &raw),
        "/corrupt" => response("200 OK", &[("Content-Encoding", "gzip")], &corrupt),
        "/truncated" => response(
            "200 OK",
            &[("Content-Encoding", "gzip")],
            &gz[..gz.len() / 2],
        ),
        _ => response("200 OK", &[], b"plain"),
    })
}

#[test]
fn gzip_and_deflate_bodies_decode_byte_exact() {
    let server = coded_server();
    let client = Client::new();
    for path in ["/gzip", "/gzip-chunked", "/zlib", "/raw-deflate"] {
        let resp = client.fetch(server.url(path)).unwrap();
        assert!(
            resp.body() == sample(),
            "{path}: {} bytes",
            resp.body().len()
        );
        assert!(resp.header("content-encoding").is_none(), "{path}");
        assert!(resp.header("content-length").is_none(), "{path}");
    }
    for seen in server.seen() {
        assert_eq!(seen.header("accept-encoding"), Some("gzip, deflate"));
    }
}

#[test]
fn corrupt_and_truncated_streams_are_decode_errors() {
    let server = coded_server();
    let client = Client::new();
    for path in ["/corrupt", "/truncated"] {
        let err = client.fetch(server.url(path)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{path}: {err}");
        assert!(err.to_string().contains("gzip"), "{err}");
    }
}

#[test]
fn a_bomb_stops_at_the_body_limit() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&zeros);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let exact = gzip(&zeros[..1 << 20]);
    let server = Server::start(move |req| {
        let body = if req.target == "/bomb" { &bomb } else { &exact };
        response("200 OK", &[("Content-Encoding", "gzip")], body)
    });
    let client = Client::builder().max_body_size(1 << 20).build().unwrap();
    let err = client.fetch(server.url("/bomb")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(
        err.to_string().contains("body larger than 1048576 bytes"),
        "{err}"
    );
    let resp = client.fetch(server.url("/exact")).unwrap();
    assert_eq!(resp.body().len(), 1 << 20, "exactly the limit is fine");
}

#[test]
fn a_request_that_sets_accept_encoding_gets_the_raw_body() {
    let server = coded_server();
    let client = Client::new();
    let req = Request::get(&server.url("/gzip"))
        .unwrap()
        .header("accept-encoding", "gzip")
        .unwrap();
    let resp = client.fetch(req).unwrap();
    assert_eq!(resp.body(), gzip(&sample()));
    assert_eq!(resp.header("content-encoding").unwrap(), "gzip");

    let off = Client::builder().decompress(false).build().unwrap();
    let resp = off.fetch(server.url("/gzip")).unwrap();
    assert_eq!(resp.header("content-encoding").unwrap(), "gzip");
    assert_eq!(server.seen().pop().unwrap().header("accept-encoding"), None);
}
