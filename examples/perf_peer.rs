//! Run with: `cargo run --release --example perf_peer -- N C URL_LIST_FILE` (or a single `http(s)://` URL).
//!
//! multifetch as a peer of the benchmark harness: fetches N URLs with
//! `Client::fetch_each` and at most C connections open, and prints one line
//!
//! ```text
//! RESULT peer=multifetch n=N c=C ok=OK err=ERR bytes=BODY_BYTES wall=SECONDS
//! ```
//!
//! URL_LIST_FILE has one URL per line (the first N are used, repeating the
//! list when it is shorter); each line is parsed once and its repeats are
//! copies of that request, as h2load and curl parse a URL they repeat
//! once. A single `http://` or `https://` URL instead gets `?i=0` ..
//! `?i=N-1` appended, so that every request is distinct (and parsed).
//! At most C connections are open, and at most C to one host. A request
//! counts as ok when it gets status 200 with its whole body. `wall` covers
//! building the client and all requests, not reading the list.
//!
//! Environment:
//!
//! - `CERT`: a PEM file of CA certificates to trust besides the built-in
//!   roots (the latency harness exports its private CA there);
//! - `H2_CONNS=n`: `http2_max_connections_per_host(n)` (default 1);
//! - `HTTP1_ONLY=1`: `http1_only()`, no HTTP/2;
//! - `H2_PRIOR_KNOWLEDGE=1`: `http2_prior_knowledge()` for `http://` URLs;
//! - `H2_STREAM_WINDOW=bytes`, `H2_CONN_WINDOW=bytes`: the HTTP/2 receive
//!   windows (`http2_initial_stream_window_size`,
//!   `http2_initial_connection_window_size`);
//! - `H2_STREAMS=n`: `http2_max_concurrent_streams(n)`.
//!
//! Results are counted as they complete and bodies dropped, as the other
//! peers do: each body goes to a sink that counts it (`Request::to_writer`
//! with `io::sink()`, as curl writes to `/dev/null`), never into memory;
//! `KEEP_BODIES=1` keeps every body in memory until the end instead.
//! `PEER_DEADLINE_S` (default 600) bounds the run: past it the peer prints a
//! RESULT line with every request counted as an error and exits with 3.

#[macro_use]
#[path = "common/out.rs"]
mod out;

use std::io;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use multifetch::{Client, ClientBuilder, Request};

const PEER: &str = "multifetch";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (n, c, urls) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("perf_peer: {message}\nusage: perf_peer N C URL_LIST_FILE|http://URL");
            return ExitCode::from(2);
        }
    };

    let start = Instant::now();
    let deadline = std::env::var("PEER_DEADLINE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // The watchdog outlives `main` only if the batch hangs; exiting ends it.
    let _ = thread::Builder::new()
        .name("deadline".into())
        .spawn(move || {
            thread::sleep(Duration::from_secs(deadline));
            eprintln!("perf_peer: deadline of {deadline}s reached, giving up");
            report(n, c, 0, n, 0, start.elapsed());
            std::process::exit(3);
        });

    let client = match builder(c).and_then(ClientBuilder::build) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("perf_peer: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Like the other peers, results are taken as they complete and bodies
    // dropped, unless KEEP_BODIES=1 asks to keep every body to the end.
    let keep = std::env::var("KEEP_BODIES").is_ok_and(|v| v == "1");
    let mut kept = Vec::new();
    let (mut ok, mut err, mut bytes) = (0, 0, 0);
    let mut first_error = None;
    let requests = urls.requests(n).map(|request| {
        if keep {
            request
        } else {
            request.map(|r| r.to_writer(io::sink()))
        }
    });
    client.fetch_each(requests, |_, result| match result {
        Ok(response) if response.status() == 200 => {
            ok += 1;
            bytes += response.body_len();
            if keep {
                kept.push(response.into_body());
            }
        }
        Ok(response) => {
            err += 1;
            first_error.get_or_insert_with(|| {
                format!("HTTP status {} ({})", response.status(), response.url())
            });
        }
        Err(error) => {
            err += 1;
            first_error.get_or_insert_with(|| error.to_string());
        }
    });
    let wall = start.elapsed();
    drop(kept);
    if let Some(message) = first_error {
        eprintln!("first error: {message}");
    }
    report(n, c, ok, err, bytes, wall);
    ExitCode::SUCCESS
}

/// The client for a cap of `c` connections, with what the environment asks.
fn builder(c: usize) -> multifetch::Result<ClientBuilder> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut builder = Client::builder()
        .max_connections(c)
        .max_connections_per_host(c);
    if let Some(path) = env("CERT") {
        let pem = std::fs::read(&path).unwrap_or_else(|e| {
            eprintln!("perf_peer: cannot read CERT={path}: {e}");
            std::process::exit(2);
        });
        builder = builder.add_root_certificate_pem(&pem)?;
    }
    if env("HTTP1_ONLY").as_deref() == Some("1") {
        builder = builder.http1_only();
    }
    if let Some(n) = env("H2_CONNS").and_then(|v| v.parse().ok()) {
        builder = builder.http2_max_connections_per_host(n);
    }
    if env("H2_PRIOR_KNOWLEDGE").as_deref() == Some("1") {
        builder = builder.http2_prior_knowledge();
    }
    if let Some(bytes) = env("H2_STREAM_WINDOW").and_then(|v| v.parse().ok()) {
        builder = builder.http2_initial_stream_window_size(bytes);
    }
    if let Some(bytes) = env("H2_CONN_WINDOW").and_then(|v| v.parse().ok()) {
        builder = builder.http2_initial_connection_window_size(bytes);
    }
    if let Some(n) = env("H2_STREAMS").and_then(|v| v.parse().ok()) {
        builder = builder.http2_max_concurrent_streams(n);
    }
    Ok(builder)
}

fn report(n: usize, c: usize, ok: usize, err: usize, bytes: u64, wall: Duration) {
    outln!(
        "RESULT peer={PEER} n={n} c={c} ok={ok} err={err} bytes={bytes} wall={:.3}",
        wall.as_secs_f64()
    );
}

/// Where the URLs come from.
enum Urls {
    /// `base?i=0` .. `base?i=N-1`: every request distinct.
    Numbered(String),
    /// The lines of a file, repeated to make N.
    List(Vec<String>),
}

impl Urls {
    /// The first `n` requests. A line of a list is parsed once; its repeats
    /// are clones (a line that does not parse gives its error each time).
    fn requests(self, n: usize) -> impl Iterator<Item = multifetch::Result<Request>> {
        let (numbered, parsed) = match self {
            Urls::Numbered(base) => (Some(base), Vec::new()),
            Urls::List(lines) => {
                let parsed: Vec<(String, Option<Request>)> = lines
                    .into_iter()
                    .map(|line| {
                        let request = Request::get(&line).ok();
                        (line, request)
                    })
                    .collect();
                (None, parsed)
            }
        };
        (0..n).map(move |i| match &numbered {
            Some(base) => {
                let separator = if base.contains('?') { '&' } else { '?' };
                Request::get(&format!("{base}{separator}i={i}"))
            }
            None => match &parsed[i % parsed.len()] {
                (_, Some(request)) => Ok(request.clone()),
                (line, None) => Request::get(line),
            },
        })
    }
}

/// `N C SOURCE` -> (N, C, the URLs).
fn parse(args: &[String]) -> Result<(usize, usize, Urls), String> {
    let [n, c, source] = args else {
        return Err(format!("expected 3 arguments, got {}", args.len()));
    };
    let positive = |what: &str, text: &str| match text.parse::<usize>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!(
            "{what} must be a whole number of at least 1, not `{text}`"
        )),
    };
    let n = positive("N", n)?;
    let c = positive("C", c)?;
    let urls = if source.starts_with("http://") || source.starts_with("https://") {
        Urls::Numbered(source.clone())
    } else {
        let text =
            std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?;
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .take(n)
            .collect();
        if lines.is_empty() {
            return Err(format!("{source} has no URLs"));
        }
        Urls::List(lines)
    };
    Ok((n, c, urls))
}
