//! `fetch_each` pulls its input lazily: memory is bounded by the requests in
//! flight, never by the length of the input.

mod support;

use std::cell::Cell;

use multifetch::Client;
use support::{HttpServer, assert_body, item_body};

/// A 5,000-item lazy input: at no point are more than about twice
/// `max_connections` items taken from the iterator ahead of the results
/// handed back, and every result arrives.
#[test]
fn a_long_lazy_input_is_pulled_only_as_results_come_back() {
    let server = HttpServer::start_keep_alive();
    const N: u64 = 5_000;
    const MAX: usize = 16;
    let client = Client::builder().max_connections(MAX).build().unwrap();
    let pulled = Cell::new(0u64);
    let urls = (0..N).map(|n| {
        pulled.set(pulled.get() + 1);
        server.url(&format!("/item/{}", n % 100))
    });
    let mut done = 0u64;
    let mut most_ahead = 0u64;
    let summary = client.fetch_each(urls, |index, result| {
        done += 1;
        most_ahead = most_ahead.max(pulled.get() - done);
        assert_body(
            result.unwrap().body(),
            &item_body(index as u64 % 100),
            "item",
        );
    });
    assert_eq!(
        (summary.ok, summary.failed, done, pulled.get()),
        (N, 0, N, N)
    );
    assert!(
        most_ahead <= 2 * MAX as u64 + 1,
        "{most_ahead} requests pulled ahead of their results"
    );
    assert!(
        summary.connections_opened <= MAX as u64,
        "{} connections for {MAX} slots",
        summary.connections_opened
    );
    assert!(summary.bytes_sent > 0 && summary.bytes_received > summary.body_bytes);
}

/// An input that never ends is fine as long as the caller stops: here the
/// iterator itself stops after 3,000 items, found by `take`, while the batch
/// is running.
#[test]
fn an_endless_generator_can_be_cut_by_the_iterator() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder().max_connections(8).build().unwrap();
    let endless = (0u64..).map(|n| server.url(&format!("/item/{}", n % 10)));
    let summary = client.fetch_each(endless.take(3_000), |_, result| assert!(result.is_ok()));
    assert_eq!(summary.ok, 3_000);
}
