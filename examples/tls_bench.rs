//! HTTPS next to plain HTTP: small keep-alive requests against local servers.
//!
//! `cargo run --release --example tls_bench -- [REQUESTS] [CONCURRENCY]`
//! (defaults: 10000 requests, concurrency 64).
//!
//! One server on 127.0.0.1 speaks both (TLS when a connection starts with a
//! TLS record), with a thread per connection and a certificate from a CA
//! made at start-up by rcgen; the client trusts that CA. Each run uses a
//! fresh client, so its handshakes are counted. Like other examples this one
//! uses `unwrap()`; real code should handle the errors.

#[macro_use]
mod common;

use std::net::Ipv4Addr;
use std::time::Instant;

const BODY: &[u8] = b"hello from the bench server\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let concurrency: usize = args.next().map_or(64, |a| a.parse().unwrap());

    let (ca_pem, config) = common::tls::certificates().expect("make test certificates");
    let addr = common::tls::spawn_server(|_| common::Reply::ok(BODY), config)
        .expect("start the local server")
        .addr;
    outln!(
        "{requests} requests of {} bytes, concurrency {concurrency}",
        BODY.len()
    );
    for scheme in ["http", "https"].repeat(3) {
        let client = multifetch::Client::builder()
            .max_connections(concurrency)
            .resolve("localhost", [Ipv4Addr::LOCALHOST.into()])
            .add_root_certificate_pem(ca_pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let urls = (0..requests).map(|i| format!("{scheme}://localhost:{}/{i}", addr.port()));
        let started = Instant::now();
        let summary = client.fetch_each(urls, |_, result| {
            assert_eq!(result.unwrap().body(), BODY);
        });
        let secs = started.elapsed().as_secs_f64();
        outln!(
            "{scheme:>5}: {:>8.0} req/s  ({:.3} s, {} ok, {} failed, {} connections)",
            requests as f64 / secs,
            secs,
            summary.ok,
            summary.failed,
            summary.connections_opened,
        );
    }
}
