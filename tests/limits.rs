//! Each response limit met exactly and exceeded by one byte (or field).

mod feature_support;

use feature_support::Server;
use multifetch::{Client, ErrorKind};

/// A response head of exactly `size` bytes, padded with an `x-pad` field.
fn head_of(size: usize) -> Vec<u8> {
    let fixed = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-pad: \r\n\r\n".len();
    let pad = "p".repeat(size - fixed);
    format!("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-pad: {pad}\r\n\r\n").into_bytes()
}

fn headers(count: usize) -> Vec<u8> {
    let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    for i in 1..count {
        head.push_str(&format!("x-h{i}: v\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn body(len: usize, chunked: bool) -> Vec<u8> {
    let data = "b".repeat(len);
    if chunked {
        format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\n{data}\r\n0\r\n\r\n"
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n{data}")
    }
    .into_bytes()
}

fn server() -> Server {
    Server::start(|req| {
        let (kind, n) = req.target.trim_start_matches('/').split_once('/').unwrap();
        let n: usize = n.parse().unwrap();
        match kind {
            "head" => head_of(n),
            "headers" => headers(n),
            "body" => body(n, false),
            _ => body(n, true),
        }
    })
}

#[test]
fn head_size_limit() {
    let server = server();
    let client = Client::builder().max_head_size(1000).build().unwrap();
    assert_eq!(
        client.fetch(server.url("/head/1000")).unwrap().status(),
        200
    );
    let err = client.fetch(server.url("/head/1001")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(
        err.to_string()
            .contains("response head larger than 1000 bytes"),
        "{err}"
    );
}

#[test]
fn header_count_limit() {
    let server = server();
    let client = Client::builder().max_headers(20).build().unwrap();
    let resp = client.fetch(server.url("/headers/20")).unwrap();
    assert_eq!(resp.headers().len(), 20);
    let err = client.fetch(server.url("/headers/21")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert!(
        err.to_string()
            .contains("more than 20 response header fields"),
        "{err}"
    );
}

#[test]
fn body_size_limit_with_length_and_chunked() {
    let server = server();
    let client = Client::builder().max_body_size(5000).build().unwrap();
    for kind in ["body", "chunked"] {
        let resp = client.fetch(server.url(&format!("/{kind}/5000"))).unwrap();
        assert_eq!(resp.body().len(), 5000, "{kind}");
        let err = client
            .fetch(server.url(&format!("/{kind}/5001")))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{kind}");
        assert!(
            err.to_string().contains("body larger than 5000 bytes"),
            "{err}"
        );
    }
}
