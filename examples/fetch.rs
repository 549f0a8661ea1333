//! Run with: `cargo run --release --example fetch -- [OPTIONS] [URL...]` (`--help` for options).
//!
//! A command-line fetcher for lists of URLs: every URL is fetched
//! concurrently on one thread, and one line per URL is printed in input
//! order as soon as it and all URLs before it have finished, then a summary:
//!
//! ```text
//! 200     1256 B      3.2 ms  http://127.0.0.1:8080/a
//! 302        0 B      0.9 ms  http://127.0.0.1:8080/old  (redirect not followed: Location `http://[::1/` is not a valid URL: invalid IPv6 address)
//! ERR  timeout  timeout after 5s waiting for the response from 127.0.0.1:8081 (http://127.0.0.1:8081/)
//! ok=2 failed=1 bytes=1256 wall=5.004s rate=0 req/s
//! ```
//!
//! A redirect that was handed back instead of followed says why
//! (`Response::redirect_declined`). `--json` prints one JSON object per line
//! instead, with a `"redirect_declined"` member in that case. The exit code is 0 when
//! every request got a 2xx or 3xx answer, 1 when any failed, 2 on a usage error.
//! No `unwrap()` on anything that can fail at run time.

#[macro_use]
#[path = "common/out.rs"]
mod out;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use multifetch::{Client, ClientBuilder, Completion, Reactor, Response, RetryPolicy};

const USAGE: &str = "\
Usage: fetch [OPTIONS] [URL...]

Fetches every URL concurrently and prints one line per URL, in input order.

Options:
  -i, --input FILE          read URLs from FILE, one per line (`-` for stdin);
                            blank lines and lines starting with `#` are skipped;
                            may be given more than once
  -c, --concurrency N       connections open at once, over all hosts [default: 256]
      --per-host N          connections open at once to one host [default: no extra limit]
  -t, --timeout SECS        deadline for each whole request, e.g. 2.5; 0 disables [default: 30]
      --connect-timeout SECS
                            deadline for DNS + TCP connect; 0 disables [default: 10]
      --retry N             retry a failed request up to N times, with backoff: connect
                            failures, timeouts before the response, resets, 429 and
                            503, honouring Retry-After [default: 0]
      --per-host-rate R     start at most R requests a second to one host, e.g. 0.5
                            [default: no limit]
      --root-cert FILE      also trust the CA certificate(s) in this PEM file (for
                            private CAs); may be given more than once
      --json                print one JSON object per line instead of text
  -h, --help                print this help

Exit status: 0 if every request succeeded (status below 400), 1 if any failed,
2 on a usage error.";

/// What the command line asked for.
#[derive(Debug, Default)]
struct Options {
    urls: Vec<String>,
    inputs: Vec<String>,
    concurrency: Option<usize>,
    per_host: Option<usize>,
    timeout: Option<Option<Duration>>,
    connect_timeout: Option<Option<Duration>>,
    retries: u32,
    per_host_rate: Option<f64>,
    root_certs: Vec<String>,
    json: bool,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            outln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fetch: {message}\nTry `fetch --help` for more information.");
            return ExitCode::from(2);
        }
    };
    let mut urls = options.urls.clone();
    for input in &options.inputs {
        if let Err(error) = read_urls(input, &mut urls) {
            eprintln!("fetch: cannot read {input}: {error}");
            return ExitCode::from(2);
        }
    }
    if urls.is_empty() {
        eprintln!("fetch: no URLs given\n\n{USAGE}");
        return ExitCode::from(2);
    }
    match run(&options, &urls) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // stdout went away (e.g. `| head`): stop quietly.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("fetch: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the arguments; `Ok(None)` means `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    let mut only_urls = false;
    while let Some(arg) = args.next() {
        if only_urls || !arg.starts_with('-') || arg == "-" {
            options.urls.push(arg);
            continue;
        }
        // Accept both `--name value` and `--name=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if inline.is_some() && matches!(name.as_str(), "--help" | "--json") {
            return Err(format!("{name} takes no value"));
        }
        let mut value = |what: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "--" => only_urls = true,
            "-h" | "--help" => return Ok(None),
            "--json" => options.json = true,
            "-i" | "--input" => options.inputs.push(value("a file name")?),
            "-c" | "--concurrency" => {
                options.concurrency = Some(count(&name, &value("a number")?)?)
            }
            "--per-host" => options.per_host = Some(count(&name, &value("a number")?)?),
            "--root-cert" => options.root_certs.push(value("a file name")?),
            "-t" | "--timeout" => options.timeout = Some(seconds(&name, &value("seconds")?)?),
            "--connect-timeout" => {
                options.connect_timeout = Some(seconds(&name, &value("seconds")?)?)
            }
            "--retry" => {
                let text = value("a number")?;
                options.retries = text.parse().map_err(|_| {
                    format!("{name} expects a whole number of retries, not `{text}`")
                })?;
            }
            "--per-host-rate" => {
                let text = value("requests a second")?;
                match text.parse::<f64>() {
                    Ok(rate) if rate.is_finite() && rate > 0.0 => {
                        options.per_host_rate = Some(rate);
                    }
                    _ => {
                        return Err(format!(
                            "{name} expects a positive number of requests a second, not `{text}`"
                        ));
                    }
                }
            }
            _ => return Err(format!("unknown option {name}")),
        }
    }
    Ok(Some(options))
}

/// Trusts the CA certificates in each PEM file.
#[cfg(feature = "tls")]
fn add_roots(mut builder: ClientBuilder, files: &[String]) -> io::Result<ClientBuilder> {
    for file in files {
        let pem = std::fs::read(file)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot read {file}: {e}")))?;
        builder = builder
            .add_root_certificate_pem(&pem)
            .map_err(|e| io::Error::other(format!("{file}: {e}")))?;
    }
    Ok(builder)
}

/// Without TLS there is nothing to trust a certificate for.
#[cfg(not(feature = "tls"))]
fn add_roots(builder: ClientBuilder, files: &[String]) -> io::Result<ClientBuilder> {
    match files.first() {
        Some(file) => Err(io::Error::other(format!(
            "--root-cert {file}: this build has no TLS (the `tls` feature is off)"
        ))),
        None => Ok(builder),
    }
}

/// A count of at least 1.
fn count(name: &str, text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{name} expects a whole number of at least 1, not `{text}`"
        )),
    }
}

/// Seconds, fractions allowed; 0 means no deadline.
fn seconds(name: &str, text: &str) -> Result<Option<Duration>, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{name} expects seconds, such as 2.5, not `{text}`"))?;
    if secs == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| format!("{name} expects a positive number of seconds, not `{text}`"))
}

/// Appends the URLs in `path` (`-` is stdin), skipping blank lines and `#` comments.
fn read_urls(path: &str, urls: &mut Vec<String>) -> io::Result<()> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(File::open(path)?))
    };
    for line in reader.lines() {
        let line = line?;
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            urls.push(line.to_owned());
        }
    }
    Ok(())
}

/// Fetches everything, printing results in input order as they become
/// available; returns whether every request succeeded.
fn run(options: &Options, urls: &[String]) -> io::Result<bool> {
    let start = Instant::now();
    let mut builder = Client::builder();
    if let Some(n) = options.concurrency {
        builder = builder.max_connections(n);
    }
    if let Some(n) = options.per_host {
        builder = builder.max_connections_per_host(n);
    }
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if options.retries > 0 {
        let attempts = options.retries.saturating_add(1);
        builder = builder.retry(RetryPolicy::new().max_attempts(attempts));
    }
    if let Some(rate) = options.per_host_rate {
        builder = builder.max_requests_per_second_per_host(rate);
    }
    builder = add_roots(builder, &options.root_certs)?;
    let client = builder.build().map_err(io::Error::other)?;
    let mut reactor = Reactor::new(&client).map_err(io::Error::other)?;

    // Request ids count up from the first one, so `id - first` is the input index.
    let mut first = None;
    for url in urls {
        let id = reactor.submit(url.as_str());
        first.get_or_insert(id.get());
    }
    let first = first.unwrap_or(0);

    let mut out = BufWriter::new(io::stdout().lock());
    let mut results: Vec<Option<multifetch::Result<Response>>> =
        urls.iter().map(|_| None).collect();
    let mut printed = 0;
    let mut tally = Tally::default();
    loop {
        let done = match reactor.next_completion() {
            Ok(Some(Completion { id, result })) => Some((id.get() - first, result)),
            Ok(None) => None,
            Err(error) => {
                // The event loop itself failed: every unfinished request fails with it.
                eprintln!("fetch: {error}");
                break;
            }
        };
        let Some((index, result)) = done else { break };
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| results.get_mut(i)) {
            *slot = Some(result);
        }
        // Print every result that is now next in input order.
        while let Some(Some(result)) = results.get_mut(printed).map(Option::take) {
            print_result(&mut out, options.json, &urls[printed], &result, &mut tally)?;
            printed += 1;
        }
        out.flush()?;
    }
    // Only reached early when the event loop failed: print what is left.
    for (url, result) in urls.iter().zip(results).skip(printed) {
        match result {
            Some(result) => print_result(&mut out, options.json, url, &result, &mut tally)?,
            None => {
                tally.failed += 1;
                let message = "the event loop stopped before this request finished";
                print_failure(&mut out, options.json, url, "I/O", message)?;
            }
        }
    }

    let wall = start.elapsed();
    let rate = (tally.ok + tally.failed) as f64 / wall.as_secs_f64();
    if options.json {
        writeln!(
            out,
            "{{\"ok\":{},\"failed\":{},\"bytes\":{},\"wall_s\":{:.3},\"rate\":{:.0}}}",
            tally.ok,
            tally.failed,
            tally.bytes,
            wall.as_secs_f64(),
            rate
        )?;
    } else {
        writeln!(
            out,
            "ok={} failed={} bytes={} wall={:.3}s rate={:.0} req/s",
            tally.ok,
            tally.failed,
            tally.bytes,
            wall.as_secs_f64(),
            rate
        )?;
    }
    out.flush()?;
    Ok(tally.failed == 0)
}

#[derive(Debug, Default)]
pub(crate) struct Tally {
    ok: u64,
    failed: u64,
    bytes: u64,
}

/// Prints one result. A response with status 400 or above is printed as
/// such but counts as failed; a redirect that was not followed says why.
/// (`tests/redirects.rs` compiles this file to check that line.)
pub(crate) fn print_result(
    out: &mut impl Write,
    json: bool,
    url: &str,
    result: &multifetch::Result<Response>,
    tally: &mut Tally,
) -> io::Result<()> {
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            tally.failed += 1;
            return print_failure(
                out,
                json,
                url,
                &error.kind().to_string(),
                &error.to_string(),
            );
        }
    };
    let status = response.status().as_u16();
    let bytes = response.body().len();
    let ms = response.timings().total.as_secs_f64() * 1000.0;
    tally.bytes += bytes as u64;
    if status < 400 {
        tally.ok += 1;
    } else {
        tally.failed += 1;
    }
    let declined = response.redirect_declined();
    if json {
        let declined = declined.map_or_else(String::new, |why| {
            format!(",\"redirect_declined\":{}", json_string(&why.to_string()))
        });
        writeln!(
            out,
            "{{\"url\":{},\"status\":{status},\"bytes\":{bytes},\"ms\":{ms:.1}{declined}}}",
            json_string(url)
        )
    } else {
        let declined = declined.map_or_else(String::new, |why| {
            format!("  (redirect not followed: {why})")
        });
        writeln!(
            out,
            "{status:<4} {bytes:>8} B  {ms:>8.1} ms  {url}{declined}"
        )
    }
}

fn print_failure(
    out: &mut impl Write,
    json: bool,
    url: &str,
    kind: &str,
    message: &str,
) -> io::Result<()> {
    if json {
        writeln!(
            out,
            "{{\"url\":{},\"error\":{{\"kind\":{},\"message\":{}}}}}",
            json_string(url),
            json_string(kind),
            json_string(message)
        )
    } else {
        writeln!(out, "ERR  {kind}  {message}")
    }
}

/// A JSON string literal (RFC 8259 §7): quotes, backslashes and control
/// characters escaped; everything else, including non-ASCII, as is.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
