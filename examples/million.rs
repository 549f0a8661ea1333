//! One million requests through `Client::fetch_each`, in bounded memory.
//!
//! ```text
//! cargo run --release --example million                       # local server, 1,000,000 requests
//! cargo run --release --example million -- COUNT               # local server, COUNT requests
//! cargo run --release --example million -- URL [COUNT] [--concurrency N]
//! ```
//!
//! With no URL it starts a local server and requests `/item/{i}` for every
//! `i`, checking each body. With a URL it requests `URL?i={i}` (or `&i=` if
//! the URL has a query). The URLs are generated lazily, so the input never
//! sits in memory: `fetch_each` pulls them as connections free up. A
//! progress bar shows the live rate; the end shows requests per second,
//! errors by kind and the peak memory of the whole process.

#[macro_use]
mod common;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use multifetch::Client;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("million: {message}");
            eprintln!("usage: million [URL] [COUNT] [--concurrency N]");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mut url = None;
    let mut count: u64 = 1_000_000;
    let mut concurrency = 64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--concurrency" | "-c" => {
                let value = args.next().ok_or("--concurrency needs a number")?;
                concurrency = value
                    .parse()
                    .map_err(|_| format!("bad concurrency `{value}`"))?;
            }
            "-h" | "--help" => {
                return Err("fetches COUNT URLs (default 1,000,000) through fetch_each".into());
            }
            _ if url.is_none() && arg.contains("://") => url = Some(arg),
            _ => {
                count = arg
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|_| format!("bad count `{arg}`"))?
            }
        }
    }

    let local = url.is_none();
    let base = match url {
        Some(url) => url,
        None => {
            let server = common::spawn_server(|path| match path.strip_prefix("/item/") {
                Some(i) => common::Reply::ok(item_body(i)),
                None => common::Reply::not_found(),
            })
            .map_err(|e| format!("cannot start the local server: {e}"))?;
            format!("http://{}/item/", server.addr)
        }
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let make_url = |i: u64| {
        if local {
            format!("{base}{i}")
        } else {
            format!("{base}{separator}i={i}")
        }
    };

    let client = Client::builder()
        .max_connections(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    outln!(
        "fetching {count} URLs like {} with {concurrency} connections",
        make_url(0)
    );

    let mut progress = Progress::new(count);
    let mut wrong_bodies = 0u64;
    let mut first_errors = Vec::new();
    let summary = client.fetch_each((0..count).map(make_url), |index, result| {
        match result {
            Ok(response) => {
                if local && response.body() != item_body(&index.to_string()).as_bytes() {
                    wrong_bodies += 1;
                }
            }
            Err(error) if first_errors.len() < 5 => first_errors.push(error.to_string()),
            Err(_) => {}
        }
        progress.tick();
    });
    progress.finish();

    outln!("{summary}");
    outln!(
        "{:.0} requests per second, {} connections opened",
        summary.requests_per_second(),
        summary.connections_opened
    );
    if summary.failed_by_kind.is_empty() {
        outln!("errors: none");
    } else {
        for (kind, n) in &summary.failed_by_kind {
            outln!("errors: {kind}: {n}");
        }
        for message in &first_errors {
            outln!("  e.g. {message}");
        }
    }
    if local {
        outln!("bodies checked: {} wrong", wrong_bodies);
    }
    match common::peak_rss_bytes() {
        Some(bytes) => outln!(
            "peak memory (whole process): {:.1} MiB",
            bytes as f64 / (1024.0 * 1024.0)
        ),
        None => outln!("peak memory: not available on this OS"),
    }
    Ok(summary.failed == 0 && wrong_bodies == 0)
}

/// The local server's body for `/item/{i}`.
fn item_body(i: &str) -> String {
    format!("item {i}\n")
}

/// A progress bar on stderr, redrawn at most five times a second.
struct Progress {
    total: u64,
    done: u64,
    started: Instant,
    last_draw: Instant,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            done: 0,
            started: now,
            last_draw: now,
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.last_draw.elapsed() >= Duration::from_millis(200) {
            self.draw();
        }
    }

    fn draw(&mut self) {
        const WIDTH: u64 = 40;
        self.last_draw = Instant::now();
        let filled = (self.done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r[{bar}] {}/{} {rate:>9.0} req/s",
            self.done, self.total
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        self.draw();
        eprintln!();
    }
}
