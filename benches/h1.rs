//! Benchmarks of the sans-IO HTTP/1.1 core on fixed bytes.
//!
//! `cargo bench --bench h1`

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multifetch::__private::{decode_chunked, parse_head_len, read_response};

/// A response head as nginx sends it for a static file.
const NGINX_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.24.0\r\n\
Date: Sun, 23 Nov 2025 09:28:00 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 615\r\n\
Last-Modified: Tue, 11 Apr 2023 01:45:34 GMT\r\n\
Connection: keep-alive\r\n\
ETag: \"6434bbbe-267\"\r\n\
Cache-Control: max-age=3600\r\n\
X-Content-Type-Options: nosniff\r\n\
Accept-Ranges: bytes\r\n\
\r\n";

/// A 64 KiB body in 4 KiB chunks, with one extension and one trailer.
fn chunked_64k() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..16 {
        if i == 0 {
            out.extend_from_slice(b"1000;name=value\r\n");
        } else {
            out.extend_from_slice(b"1000\r\n");
        }
        out.extend(std::iter::repeat_n(b'a' + (i % 26), 4096));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\nX-Checksum: abc\r\n\r\n");
    out
}

/// Parsing a typical head.
fn bench_parse_head(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_head");
    group.throughput(Throughput::Bytes(NGINX_HEAD.len() as u64));
    group.bench_function("nginx", |b| {
        b.iter(|| parse_head_len(black_box(NGINX_HEAD)));
    });
    group.finish();
}

/// Decoding a 64 KiB chunked body.
fn bench_chunked(c: &mut Criterion) {
    let body = chunked_64k();
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("64KiB", |b| {
        b.iter(|| decode_chunked(black_box(&body), body.len()));
    });
    group.finish();
}

/// A whole small response through the reader.
fn bench_reader(c: &mut Criterion) {
    let mut response = NGINX_HEAD.to_vec();
    response.extend(std::iter::repeat_n(b'x', 615));
    let mut group = c.benchmark_group("response_reader");
    group.throughput(Throughput::Bytes(response.len() as u64));
    group.bench_function("small", |b| {
        b.iter(|| read_response("GET", black_box(&response)));
    });
    group.finish();
}

criterion_group!(benches, bench_parse_head, bench_chunked, bench_reader);
criterion_main!(benches);
