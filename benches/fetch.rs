//! End to end: 10,000 small GETs against a local keep-alive server, by
//! `fetch_many` and by two plain-std baselines.
//!
//! ```text
//! cargo bench --bench fetch
//! ```
//!
//! - `multifetch/fetch_many`: one client (its pool kept between iterations),
//!   64 connections.
//! - `std/sequential`: one kept-alive `std::net::TcpStream`, one request at a
//!   time: the floor any fetcher pays per round trip.
//! - `std/thread_per_request`: a thread and a new connection per request, 64
//!   threads at a time: the naive way to go concurrent.
//!
//! Criterion reports each as elements (requests) per second.

#[path = "../examples/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use multifetch::Client;

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 64;
const BODY: &[u8] = &[b'x'; 100];

fn server() -> SocketAddr {
    common::spawn_server(|_| common::Reply::ok(BODY))
        .expect("start the local server")
        .addr
}

fn urls(addr: SocketAddr) -> Vec<String> {
    (0..REQUESTS)
        .map(|i| format!("http://{addr}/small?i={i}"))
        .collect()
}

fn fetch_many(c: &mut Criterion) {
    let addr = server();
    let urls = urls(addr);
    let client = Client::builder()
        .max_connections(CONCURRENCY)
        .build()
        .expect("client");
    let mut group = c.benchmark_group("10k small GETs");
    group.throughput(Throughput::Elements(REQUESTS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("multifetch/fetch_many", |b| {
        b.iter(|| {
            let results = client.fetch_many(&urls);
            assert!(
                results
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|r| r.body() == BODY))
            );
        });
    });

    group.bench_function("std/sequential", |b| {
        b.iter(|| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let mut buf = vec![0u8; 4096];
            for url in &urls {
                let body = exchange(&mut stream, addr, url, &mut buf, false);
                assert_eq!(body, BODY);
            }
        });
    });

    group.bench_function("std/thread_per_request", |b| {
        b.iter(|| {
            for chunk in urls.chunks(CONCURRENCY) {
                let threads: Vec<_> = chunk
                    .iter()
                    .cloned()
                    .map(|url| {
                        thread::spawn(move || {
                            let mut stream = TcpStream::connect(addr).expect("connect");
                            let mut buf = vec![0u8; 4096];
                            exchange(&mut stream, addr, &url, &mut buf, true)
                        })
                    })
                    .collect();
                for t in threads {
                    assert_eq!(t.join().expect("thread"), BODY);
                }
            }
        });
    });
    group.finish();
}

/// One GET over `stream`, reading the response by its Content-Length (the
/// local server always sends one). The baseline is deliberately minimal.
fn exchange(
    stream: &mut TcpStream,
    addr: SocketAddr,
    url: &str,
    buf: &mut [u8],
    close: bool,
) -> Vec<u8> {
    let path = &url[url.find("/small").expect("path")..];
    let connection = if close { "Connection: close\r\n" } else { "" };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{connection}\r\n"
    )
    .expect("write");
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).expect("read");
        assert!(n > 0, "server closed early");
        filled += n;
        let Some(end) = buf[..filled]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
        else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        if filled >= end + len {
            return buf[end..end + len].to_vec();
        }
    }
}

criterion_group!(benches, fetch_many);
criterion_main!(benches);
