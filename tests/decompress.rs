//! gzip and deflate bodies from a real server: decoded byte-exact, corrupt
//! ones refused, a bomb stopped at the body limit; `Content-Encoding` lists
//! and `Range` requests against byte-scripted servers.
#![cfg(feature = "gzip")]

mod feature_support;
mod support;

use std::io::Write;

use feature_support::{Server, response};
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use multifetch::{Client, ErrorKind, Request};
use support::{ScriptServer, finish, read_request_head};

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
        // Every coding this build decodes, gzip and deflate first.
        let sent = seen.header("accept-encoding").unwrap_or_default();
        assert!(sent.starts_with("gzip, deflate"), "{sent}");
        assert_eq!(sent.contains("br"), cfg!(feature = "brotli"), "{sent}");
        assert_eq!(sent.contains("zstd"), cfg!(feature = "zstd"), "{sent}");
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

fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A scripted server that sends `head` (status line and headers, without
/// the blank line), `Content-Length` and `body`, then closes.
fn coded_reply(head: &str, body: &[u8]) -> ScriptServer {
    let mut bytes = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    ScriptServer::reply_then_close(bytes)
}

/// The report's cases: `gzip, identity` and `identity, gzip` were handed
/// over still compressed; `identity` means nothing and is skipped.
#[test]
fn identity_in_a_coding_list_is_ignored() {
    let data = sample();
    for list in [
        "gzip, identity",
        "identity, gzip",
        "identity,gzip,identity",
        "x-gzip",
    ] {
        let server = coded_reply(
            &format!("HTTP/1.1 200 OK\r\nContent-Encoding: {list}"),
            &gzip(&data),
        );
        let resp = Client::new().fetch(server.url("/")).unwrap();
        assert!(resp.body() == data, "{list}: {} bytes", resp.body().len());
        assert!(resp.header("content-encoding").is_none(), "{list}");
    }
}

/// `Content-Encoding: deflate, gzip` means deflate was applied first: the
/// client undoes gzip, then deflate (RFC 9110 §8.4), also across two field
/// lines.
#[test]
fn stacked_codings_are_undone_last_first() {
    let data = sample();
    let stacked = gzip(&deflate_raw(&data));
    for head in [
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate, gzip",
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Encoding: gzip",
    ] {
        let server = coded_reply(head, &stacked);
        let resp = Client::new().fetch(server.url("/")).unwrap();
        assert!(resp.body() == data, "{head:?}: {} bytes", resp.body().len());
        assert!(resp.header("content-encoding").is_none());
    }
    // Stacked the other way round, the same bytes are not valid gzip first.
    let server = coded_reply(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, deflate",
        &stacked,
    );
    let err = Client::new().fetch(server.url("/")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(
        err.to_string().starts_with("could not decode deflate body"),
        "{err}"
    );
}

/// A list with a coding this build cannot undo is passed through raw, with
/// its header, as before (`br` and `zstd` only without their features).
#[test]
fn a_list_with_an_unsupported_coding_is_passed_through() {
    let coded = gzip(b"brotli inside, supposedly");
    let mut lists = vec!["gzip, compress", "gzip, gzip, gzip, gzip, gzip, gzip"];
    if !cfg!(feature = "brotli") {
        lists.extend(["gzip, br", "br, gzip"]);
    }
    if !cfg!(feature = "zstd") {
        lists.push("zstd");
    }
    for list in lists {
        let server = coded_reply(
            &format!("HTTP/1.1 200 OK\r\nContent-Encoding: {list}"),
            &coded,
        );
        let resp = Client::new().fetch(server.url("/")).unwrap();
        assert_eq!(resp.body(), coded, "{list}");
        assert_eq!(resp.header("content-encoding").unwrap(), list);
        assert_eq!(
            resp.header("content-length").unwrap(),
            &coded.len().to_string()
        );
    }
}

/// One body limit over the whole chain: a bomb in either layer stops at it.
#[test]
fn a_chain_is_held_to_the_body_limit() {
    let zeros = vec![0u8; 8 << 20];
    let inner_bomb = gzip(&gzip(&zeros));
    let empty = gzip(b"");
    let members: Vec<u8> = empty
        .iter()
        .copied()
        .cycle()
        .take(empty.len() * 200_000)
        .collect();
    let outer_bomb = gzip(&members);
    for (what, body) in [("inner", inner_bomb), ("outer", outer_bomb)] {
        assert!(body.len() < 100_000, "{what}: {}", body.len());
        let server = coded_reply("HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip", &body);
        let client = Client::builder().max_body_size(1 << 20).build().unwrap();
        let err = client.fetch(server.url("/")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{what}: {err}");
        assert!(
            err.to_string().contains("body larger than 1048576 bytes"),
            "{what}: {err}"
        );
    }
}

/// The report's case: a `Range` request sent `Accept-Encoding: gzip,
/// deflate`, so a server like Apache with mod_deflate answered 206 with a
/// slice of the gzip stream, which cannot be decoded. A request with
/// `Range` now gets no automatic `Accept-Encoding`, and the 206 carries the
/// 100 raw bytes.
#[test]
fn a_range_request_gets_raw_bytes() {
    let file: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let gz = gzip(&file);
    let served = file.clone();
    let server = ScriptServer::start(move |conn| {
        let file = &served;
        let Some(head) = read_request_head(conn) else {
            return;
        };
        let lower = head.to_ascii_lowercase();
        let range = lower.contains("\r\nrange: bytes=0-99\r\n");
        let body: &[u8] = if lower.contains("\r\naccept-encoding: gzip") {
            // What mod_deflate does: compress, then take the range of that.
            &gz[..if range { 100 } else { gz.len() }]
        } else if range {
            &file[..100]
        } else {
            file
        };
        let coding = if lower.contains("accept-encoding: gzip") {
            "Content-Encoding: gzip\r\n"
        } else {
            ""
        };
        let status = if range {
            "206 Partial Content"
        } else {
            "200 OK"
        };
        let content_range = if range {
            if coding.is_empty() {
                format!("Content-Range: bytes 0-99/{}\r\n", file.len())
            } else {
                format!("Content-Range: bytes 0-99/{}\r\n", gz.len())
            }
        } else {
            String::new()
        };
        let mut reply = format!(
            "HTTP/1.1 {status}\r\n{coding}{content_range}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        reply.extend_from_slice(body);
        let _ = conn.write_all(&reply);
        finish(conn);
    });
    let client = Client::new();
    let req = Request::get(&server.url("/file"))
        .unwrap()
        .header("range", "bytes=0-99")
        .unwrap();
    let resp = client.fetch(req).unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.body(), &file[..100]);
    assert!(resp.header("content-encoding").is_none());
    // Without Range the same server compresses, and the client decodes.
    let resp = client.fetch(server.url("/file")).unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.body() == file);
    // A Range among the client's default headers counts too.
    let ranged = Client::builder()
        .default_header("range", "bytes=0-99")
        .unwrap()
        .build()
        .unwrap();
    let resp = ranged.fetch(server.url("/file")).unwrap();
    assert_eq!((resp.status().as_u16(), resp.body()), (206, &file[..100]));
}
