//! Run with: `cargo run --release --example demo` (offline; everything is on 127.0.0.1).
//!
//! Part 1 starts three local servers that answer after 1 s, 2 s and 3 s and
//! fetches one URL from each three ways: one after another with
//! `Client::fetch` (takes the sum of the delays, about 6 s), with one OS
//! thread per URL (the longest delay, about 3 s, at the cost of a thread per
//! request), and with `Client::fetch_many` on this one thread (also the
//! longest delay, about 3 s, with no extra threads).
//!
//! Part 2 starts a fast local server and fetches 10,000 distinct URLs from it
//! with `fetch_many`, checks every body, and prints the rate.
//!
//! Part 3 (with the default `tls` feature) does the same over HTTPS and over
//! plain HTTP against a local server with a certificate from a CA made at
//! start-up, so the cost of TLS shows.
//!
//! Part 4 (with the default `tls` and `http2` features) is why HTTP/2
//! exists: a local HTTPS server that speaks HTTP/2 (hyper) behind an
//! in-process relay that adds a 50 ms round trip, and the same 1,000 URLs
//! fetched with at most 6 connections, once over HTTP/1.1 (one request per
//! connection per round trip) and once over HTTP/2 (up to 128 streams on
//! one connection).
//!
//! The local servers (`examples/common`) are deliberately tiny HTTP/1.1
//! responders written with std only; they are not an example of how to
//! write a server. Errors are
//! handled with `?` and printed rather than unwrapped, as real code should.

#[macro_use]
mod common;

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multifetch::Client;

/// Delays of the slow servers, in seconds.
const DELAYS: [u64; 3] = [1, 2, 3];
/// URLs fetched from the fast server.
const MANY: usize = 10_000;
/// Connections the client keeps open at once in part 2.
const CONNECTIONS: usize = 128;

type BoxError = Box<dyn StdError + Send + Sync>;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("demo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs both parts; `Ok(false)` when some request failed.
fn run() -> Result<bool, BoxError> {
    let slow_ok = slow_servers()?;
    outln!();
    let many_ok = many_urls()?;
    #[cfg(feature = "tls")]
    let many_ok = {
        outln!();
        many_ok & https_urls()?
    };
    #[cfg(all(feature = "tls", feature = "http2"))]
    let many_ok = {
        outln!();
        many_ok & h2_over_a_long_link()?
    };
    Ok(slow_ok && many_ok)
}

// ---------------------------------------------------------------------------
// Part 1: three slow servers, three ways to fetch them
// ---------------------------------------------------------------------------

fn slow_servers() -> Result<bool, BoxError> {
    let mut urls = Vec::new();
    for secs in DELAYS {
        let addr = spawn_slow_server(Duration::from_secs(secs))?;
        urls.push(format!("http://{addr}/sleep/{secs}"));
    }
    let sum: u64 = DELAYS.iter().sum();
    let longest = DELAYS.iter().copied().max().unwrap_or(0);
    let client = Client::new();

    outln!("Part 1: three local servers answering after 1 s, 2 s and 3 s, one URL each");
    outln!();
    outln!("  {:<34} {:>8}   {:<22} ok", "how", "wall", "expected");
    outln!("  {:-<34} {:->8}   {:-<22} {:-<3}", "", "", "", "");

    let mut all_ok = true;

    // (a) One after another: each fetch waits for the previous one.
    let start = Instant::now();
    let results: Vec<_> = urls.iter().map(|url| client.fetch(url)).collect();
    all_ok &= report_row(
        "sequential: client.fetch x3",
        start.elapsed(),
        sum,
        "sum of delays",
        &results,
    );

    // (b) One OS thread per URL, each blocking in its own fetch.
    let start = Instant::now();
    let handles: Vec<_> = urls
        .iter()
        .map(|url| {
            let client = client.clone();
            let url = url.clone();
            thread::spawn(move || client.fetch(url))
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|handle| handle.join().map_err(|_| "a fetch thread panicked"))
        .collect::<Result<_, _>>()?;
    all_ok &= report_row(
        "one thread per URL",
        start.elapsed(),
        longest,
        "longest delay",
        &results,
    );

    // (c) All at once on this thread: one mio reactor multiplexes the sockets.
    let start = Instant::now();
    let results = client.fetch_many(&urls);
    all_ok &= report_row(
        "fetch_many (one thread)",
        start.elapsed(),
        longest,
        "longest delay",
        &results,
    );

    Ok(all_ok)
}

/// Prints one table row and any errors under it; returns whether all were ok.
fn report_row(
    how: &str,
    wall: Duration,
    expected_secs: u64,
    why: &str,
    results: &[multifetch::Result<multifetch::Response>],
) -> bool {
    let ok = results
        .iter()
        .filter(|r| matches!(r, Ok(response) if response.status() == 200))
        .count();
    let expected = format!("~{expected_secs} s ({why})");
    outln!(
        "  {how:<34} {:>6.2} s   {expected:<22} {ok}/{}",
        wall.as_secs_f64(),
        results.len()
    );
    for result in results {
        match result {
            Ok(response) if response.status() != 200 => {
                outln!(
                    "      unexpected status {} from {}",
                    response.status(),
                    response.url()
                );
            }
            Ok(_) => {}
            Err(error) => outln!("      error ({}): {error}", error.kind()),
        }
    }
    ok == results.len()
}

/// A server that answers every request after `delay` (a thread per
/// connection, so it sleeps for several clients at once).
fn spawn_slow_server(delay: Duration) -> io::Result<SocketAddr> {
    let server = common::spawn_server(move |path| {
        thread::sleep(delay);
        common::Reply::ok(format!("slept {} ms for {path}\n", delay.as_millis()))
    })?;
    Ok(server.addr)
}

// ---------------------------------------------------------------------------
// Part 2: 10,000 URLs from one fast local server
// ---------------------------------------------------------------------------

fn many_urls() -> Result<bool, BoxError> {
    let server = common::spawn_server(items)?;
    let addr = server.addr;
    let urls: Vec<String> = (0..MANY)
        .map(|i| format!("http://{addr}/item/{i}"))
        .collect();
    let client = Client::builder()
        .max_connections(CONNECTIONS)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()?;

    outln!(
        "Part 2: {MANY} distinct URLs from one local server, \
         fetch_many with max_connections {CONNECTIONS}"
    );
    outln!();

    let start = Instant::now();
    let results = client.fetch_many(&urls);
    let wall = start.elapsed();

    let (ok, bytes, failures) = check_items(&urls, &results);
    let failed = results.len() - ok;
    let rate = results.len() as f64 / wall.as_secs_f64();

    outln!("  {:<12} {:>8}", "requests", results.len());
    outln!("  {:<12} {:>8}", "ok", ok);
    outln!("  {:<12} {:>8}", "failed", failed);
    outln!("  {:<12} {:>8}", "body bytes", bytes);
    outln!(
        "  {:<12} {:>8}   (kept alive and reused)",
        "connections",
        server.connections()
    );
    outln!("  {:<12} {:>8.2} s", "wall", wall.as_secs_f64());
    outln!("  {:<12} {:>8.0} req/s", "rate", rate);
    for line in failures.iter().take(10) {
        outln!("      {line}");
    }
    if failures.len() > 10 {
        outln!("      ... and {} more", failures.len() - 10);
    }
    Ok(failed == 0)
}

/// Counts the results whose body is the item's: (ok, body bytes, what went
/// wrong with the others).
fn check_items(
    urls: &[String],
    results: &[multifetch::Result<multifetch::Response>],
) -> (usize, usize, Vec<String>) {
    let mut ok = 0usize;
    let mut bytes = 0usize;
    let mut failures = Vec::new();
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(response)
                if response.status() == 200 && response.body() == item_body(i).as_bytes() =>
            {
                ok += 1;
                bytes += response.body().len();
            }
            Ok(response) => failures.push(format!(
                "{}: status {}, unexpected body {:?}",
                urls[i],
                response.status(),
                response.text()
            )),
            Err(error) => failures.push(format!("{} error: {error}", error.kind())),
        }
    }
    (ok, bytes, failures)
}

/// The items server: `/item/{i}` answers `item_body(i)`.
fn items(path: &str) -> common::Reply {
    match path.strip_prefix("/item/").and_then(|i| i.parse().ok()) {
        Some(i) => common::Reply::ok(item_body(i)),
        None => common::Reply::not_found(),
    }
}

// ---------------------------------------------------------------------------
// Part 3: the same over HTTPS
// ---------------------------------------------------------------------------

/// URLs fetched over each scheme in part 3.
#[cfg(feature = "tls")]
const SECURE: usize = 5_000;

/// Fetches the items over HTTPS and over plain HTTP from one local server
/// that speaks both, with a certificate from a CA made just now.
#[cfg(feature = "tls")]
fn https_urls() -> Result<bool, BoxError> {
    let (ca_pem, config) = common::tls::certificates()?;
    let server = common::tls::spawn_server(items, config)?;
    let port = server.addr.port();
    outln!(
        "Part 3: {SECURE} URLs over HTTPS and over HTTP from one local server (rustls, a CA \
         made at start-up), max_connections {CONNECTIONS}"
    );
    outln!();
    outln!(
        "  {:<8} {:>8} {:>8} {:>12} {:>10} {:>12}",
        "scheme",
        "ok",
        "failed",
        "connections",
        "wall",
        "rate"
    );
    let mut all_ok = true;
    for scheme in ["https", "http"] {
        // A fresh client each time, so its handshakes are part of the figure.
        let client = Client::builder()
            .max_connections(CONNECTIONS)
            .resolve("localhost", [std::net::Ipv4Addr::LOCALHOST.into()])
            .add_root_certificate_pem(ca_pem.as_bytes())?
            .build()?;
        let urls: Vec<String> = (0..SECURE)
            .map(|i| format!("{scheme}://localhost:{port}/item/{i}"))
            .collect();
        let before = server.connections();
        let start = Instant::now();
        let results = client.fetch_many(&urls);
        let wall = start.elapsed();
        let (ok, _, failures) = check_items(&urls, &results);
        outln!(
            "  {scheme:<8} {ok:>8} {:>8} {:>12} {:>8.2} s {:>8.0} req/s",
            failures.len(),
            server.connections() - before,
            wall.as_secs_f64(),
            urls.len() as f64 / wall.as_secs_f64()
        );
        for line in failures.iter().take(5) {
            outln!("      {line}");
        }
        all_ok &= failures.is_empty();
    }
    Ok(all_ok)
}

// ---------------------------------------------------------------------------
// Part 4: HTTP/1.1 and HTTP/2 over a link with a 50 ms round trip
// ---------------------------------------------------------------------------

/// URLs fetched over the long link, each way.
#[cfg(all(feature = "tls", feature = "http2"))]
const LONG_LINK_URLS: usize = 1_000;
/// The round trip the relay adds.
#[cfg(all(feature = "tls", feature = "http2"))]
const RTT: Duration = Duration::from_millis(50);

/// Fetches the same URLs over HTTP/1.1 and over HTTP/2 through a relay that
/// adds a 50 ms round trip, with at most 6 connections.
#[cfg(all(feature = "tls", feature = "http2"))]
fn h2_over_a_long_link() -> Result<bool, BoxError> {
    let (ca_pem, config) = common::tls::certificates()?;
    let server = common::h2::spawn_server((*config).clone(), 128, item_body)?;
    let relay = common::h2::spawn_relay(server, RTT)?;
    outln!(
        "Part 4: {LONG_LINK_URLS} URLs over HTTPS through a relay adding a {} ms round trip, \
         at most 6 connections",
        RTT.as_millis()
    );
    outln!();
    outln!(
        "  {:<9} {:>6} {:>7} {:>12} {:>9} {:>24}",
        "protocol",
        "ok",
        "failed",
        "connections",
        "wall",
        "round trips per request"
    );
    let mut all_ok = true;
    for (name, http1) in [("HTTP/1.1", true), ("HTTP/2", false)] {
        let builder = Client::builder()
            .max_connections(6)
            .resolve("localhost", [std::net::Ipv4Addr::LOCALHOST.into()])
            .add_root_certificate_pem(ca_pem.as_bytes())?;
        let client = if http1 { builder.http1_only() } else { builder }.build()?;
        let urls: Vec<String> = (0..LONG_LINK_URLS)
            .map(|i| format!("https://localhost:{}/item/{i}", relay.port()))
            .collect();
        let start = Instant::now();
        let mut results: Vec<Option<multifetch::Result<multifetch::Response>>> =
            urls.iter().map(|_| None).collect();
        let summary = client.fetch_each(&urls, |i, result| results[i] = Some(result));
        let wall = start.elapsed();
        // `fetch_each` hands every result over exactly once.
        let results: Vec<_> = results.into_iter().flatten().collect();
        let (ok, _, mut failures) = check_items(&urls, &results);
        if results.len() != urls.len() {
            failures.push(format!("{} results missing", urls.len() - results.len()));
        }
        outln!(
            "  {name:<9} {ok:>6} {:>7} {:>12} {:>7.2} s {:>24.3}",
            failures.len(),
            summary.connections_opened,
            wall.as_secs_f64(),
            wall.as_secs_f64() / RTT.as_secs_f64() / urls.len() as f64
        );
        for line in failures.iter().take(5) {
            outln!("      {line}");
        }
        all_ok &= failures.is_empty();
    }
    Ok(all_ok)
}

/// The body the fast server sends for `/item/{i}`; the client checks it.
fn item_body(i: usize) -> String {
    format!("multifetch demo item {i}\n")
}
