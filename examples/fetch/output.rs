//! What `fetch` prints: one line per URL (text, `--json` or `-w FORMAT`) on
//! stdout in input order, the summary line, the exit status, and the
//! progress bar on stderr.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use multifetch::{ErrorKind, Response};
use serde_json::{Value, json};

use crate::args::Args;

/// Why a URL failed, in the words and exit status the output uses.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `timeout`, `connect`, … (the library's `ErrorKind` as shown), `http`
    /// for a status ≥ 400 under `--fail`, `write` for a file.
    pub kind: String,
    pub message: String,
    /// curl's exit status for it.
    pub exit: u8,
}

impl Failure {
    /// A file that could not or must not be written (curl's 23).
    pub fn write(message: String) -> Failure {
        Failure {
            kind: "write".into(),
            message,
            exit: 23,
        }
    }

    fn from_error(error: &multifetch::Error) -> Failure {
        Failure {
            kind: error.kind().to_string(),
            message: error.to_string(),
            exit: exit_status(error.kind()),
        }
    }
}

/// curl's exit status for a failure of this kind.
pub fn exit_status(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidUrl => 3,
        ErrorKind::Dns => 6,
        ErrorKind::Connect => 7,
        ErrorKind::Protocol => 8,
        ErrorKind::Truncated => 18,
        ErrorKind::Timeout => 28,
        ErrorKind::Tls => 35,
        ErrorKind::Redirect => 47,
        ErrorKind::Io => 56,
        ErrorKind::Decode => 61,
        ErrorKind::TooLarge => 63,
        ErrorKind::Proxy => 97,
        // An invalid request (a header the URL's credentials could not
        // carry, …) and kinds added later.
        _ => 1,
    }
}

/// What became of one URL.
#[derive(Debug)]
pub struct Outcome {
    pub index: usize,
    pub url: String,
    pub response: Option<Response>,
    pub failure: Option<Failure>,
    pub saved: Option<PathBuf>,
    /// Attempts made under `--retry` (`None` when the URL was not fetched).
    pub attempts: Option<u32>,
}

impl Outcome {
    /// A URL that failed before it was fetched.
    pub fn failed(index: usize, url: &str, failure: Failure) -> Outcome {
        Outcome {
            index,
            url: url.to_owned(),
            response: None,
            failure: Some(failure),
            saved: None,
            attempts: None,
        }
    }

    /// A URL whose request could not be made.
    pub fn error(index: usize, url: &str, error: &multifetch::Error) -> Outcome {
        Outcome::failed(index, url, Failure::from_error(error))
    }

    /// A URL that was fetched and failed.
    fn fetch_error(index: usize, url: &str, error: &multifetch::Error) -> Outcome {
        Outcome {
            attempts: Some(error.attempts()),
            ..Outcome::error(index, url, error)
        }
    }

    /// A URL the event loop dropped when it failed.
    pub fn lost(index: usize, url: &str) -> Outcome {
        Outcome::failed(
            index,
            url,
            Failure {
                kind: "I/O".into(),
                message: "the event loop stopped before this request finished".into(),
                exit: 1,
            },
        )
    }

    /// A URL the reactor finished; with `fail`, a status of 400 and above
    /// is a failure (curl's 22).
    pub fn finished(
        index: usize,
        url: &str,
        result: multifetch::Result<Response>,
        fail: bool,
    ) -> Outcome {
        match result {
            Ok(response) => {
                let status = response.status();
                let failure = (fail && status.as_u16() >= 400).then(|| Failure {
                    kind: "http".into(),
                    message: format!("the server answered {status}"),
                    exit: 22,
                });
                Outcome {
                    index,
                    url: url.to_owned(),
                    attempts: Some(response.timings().attempts),
                    response: Some(response),
                    failure,
                    saved: None,
                }
            }
            Err(error) => Outcome::fetch_error(index, url, &error),
        }
    }
}

/// The indicatif bar on stderr: URLs done of all, bytes, rate, failures, ETA.
pub fn progress_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{elapsed:>4} [{wide_bar}] {pos}/{len} URLs  {msg}  ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// The format of the line printed for each URL.
#[derive(Debug)]
enum Format {
    Text,
    Json,
    WriteOut(Vec<Piece>),
}

/// A piece of a `-w` format.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Var(String),
    Header(String),
}

/// The `-w` variables fetch knows.
const VARIABLES: &[&str] = &[
    "http_code",
    "response_code",
    "url",
    "url_effective",
    "size_download",
    "time_total",
    "time_namelookup",
    "time_connect",
    "time_appconnect",
    "time_starttransfer",
    "time_queue",
    "http_version",
    "num_redirects",
    "num_retries",
    "remote_ip",
    "remote_port",
    "filename_effective",
    "content_type",
    "exitcode",
    "errormsg",
];

/// Reads a `-w` format: `%{name}`, `%header{name}` or `%{header{name}}`,
/// `%%`, and the escapes `\n`, `\t`, `\r`, `\\`.
pub fn parse_write_out(format: &str) -> Result<(), String> {
    write_out_pieces(format).map(|_| ())
}

fn write_out_pieces(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                let (out, len) = match rest.chars().next() {
                    Some('n') => ('\n', 1),
                    Some('t') => ('\t', 1),
                    Some('r') => ('\r', 1),
                    Some('\\') => ('\\', 1),
                    _ => ('\\', 0),
                };
                text.push(out);
                rest = &rest[len..];
            }
            '%' if rest.starts_with('%') => {
                text.push('%');
                rest = &rest[1..];
            }
            '%' if rest.starts_with("header{") || rest.starts_with("{header{") => {
                let skip = if rest.starts_with('{') { 8 } else { 7 };
                let Some(end) = rest[skip..].find('}') else {
                    return Err(format!("-w: `%{rest}` has no closing `}}`"));
                };
                let name = &rest[skip..skip + end];
                let mut after = skip + end + 1;
                if skip == 8 {
                    after += usize::from(rest[after..].starts_with('}'));
                }
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Header(name.to_ascii_lowercase()));
                rest = &rest[after..];
            }
            '%' if rest.starts_with('{') => {
                let Some(end) = rest.find('}') else {
                    return Err(format!("-w: `%{rest}` has no closing `}}`"));
                };
                let name = &rest[1..end];
                if !VARIABLES.contains(&name) {
                    return Err(format!(
                        "-w: unknown variable %{{{name}}}; fetch knows {}",
                        VARIABLES.join(", ")
                    ));
                }
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Var(name.to_owned()));
                rest = &rest[end + 1..];
            }
            c => text.push(c),
        }
    }
    pieces.push(Piece::Text(text));
    pieces.retain(|p| *p != Piece::Text(String::new()));
    Ok(pieces)
}

/// Counts for the summary line.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    failed_by_kind: BTreeMap<String, u64>,
    bytes: u64,
    /// The exit status: that of the first failure in input order.
    exit: u8,
}

/// Prints outcomes in input order as they become ready.
pub struct Printer<W: Write> {
    out: W,
    format: Format,
    silent: bool,
    progress: Option<ProgressBar>,
    tally: Tally,
    /// The next outcome to print.
    next: usize,
}

impl<W: Write> Printer<W> {
    pub fn new(args: &Args, out: W, progress: Option<ProgressBar>) -> Printer<W> {
        let format = if args.output.json {
            Format::Json
        } else if let Some(format) = &args.output.write_out {
            // Checked before anything was fetched (`parse_write_out`).
            Format::WriteOut(write_out_pieces(format).unwrap_or_default())
        } else {
            Format::Text
        };
        Printer {
            out,
            format,
            silent: args.output.silent,
            progress,
            tally: Tally::default(),
            next: 0,
        }
    }

    /// Prints every outcome that is next in input order.
    pub fn print_ready(&mut self, outcomes: &mut [Option<Outcome>]) -> io::Result<()> {
        let mut printed = false;
        while let Some(Some(outcome)) = outcomes.get_mut(self.next).map(Option::take) {
            self.count(&outcome);
            let line = self.line(&outcome);
            self.out.write_all(line.as_bytes())?;
            self.next += 1;
            printed = true;
        }
        if printed {
            self.flush()?;
        }
        Ok(())
    }

    /// Shows the bytes received so far (bodies in flight included) on the
    /// bar.
    pub fn show_received(&mut self, received: u64) {
        if let Some(bar) = &self.progress {
            let rate = received as f64 / bar.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{}  {}/s  {} failed",
                HumanBytes(received),
                HumanBytes(rate as u64),
                self.tally.failed
            ));
        }
    }

    /// Writes what is buffered, with the bar out of the way.
    fn flush(&mut self) -> io::Result<()> {
        match &self.progress {
            Some(bar) => bar.suspend(|| self.out.flush()),
            None => self.out.flush(),
        }
    }

    fn count(&mut self, outcome: &Outcome) {
        let t = &mut self.tally;
        if let Some(response) = &outcome.response {
            t.bytes += response.body_len();
        }
        match &outcome.failure {
            None => t.ok += 1,
            Some(failure) => {
                t.failed += 1;
                *t.failed_by_kind.entry(failure.kind.clone()).or_default() += 1;
                if t.exit == 0 {
                    t.exit = failure.exit;
                }
            }
        }
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
    }

    fn line(&self, outcome: &Outcome) -> String {
        match &self.format {
            Format::Text => text_line(outcome),
            Format::Json => format!("{}\n", json_line(outcome)),
            Format::WriteOut(pieces) => write_out(pieces, outcome),
        }
    }

    /// Prints the summary line; returns the exit status.
    pub fn finish(mut self, wall: Duration) -> io::Result<u8> {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let t = &self.tally;
        let secs = wall.as_secs_f64().max(1e-9);
        let requests_per_s = (t.ok + t.failed) as f64 / secs;
        let bytes_per_s = t.bytes as f64 / secs;
        if !self.silent {
            match self.format {
                Format::Json => {
                    let summary = json!({ "summary": {
                        "ok": t.ok,
                        "failed": t.failed,
                        "failed_by_kind": t.failed_by_kind,
                        "bytes": t.bytes,
                        "wall_s": round3(wall.as_secs_f64()),
                        "requests_per_s": round3(requests_per_s),
                        "bytes_per_s": bytes_per_s.round(),
                        "exit_code": t.exit,
                    }});
                    writeln!(self.out, "{summary}")?;
                }
                Format::Text | Format::WriteOut(_) => {
                    let kinds = if t.failed_by_kind.is_empty() {
                        String::new()
                    } else {
                        let list: Vec<String> = t
                            .failed_by_kind
                            .iter()
                            .map(|(kind, n)| format!("{kind}: {n}"))
                            .collect();
                        format!(" ({})", list.join(", "))
                    };
                    writeln!(
                        self.out,
                        "ok={} failed={}{kinds} bytes={} wall={:.3}s rate={:.1} req/s {}/s",
                        t.ok,
                        t.failed,
                        t.bytes,
                        wall.as_secs_f64(),
                        requests_per_s,
                        HumanBytes(bytes_per_s as u64)
                    )?;
                }
            }
        }
        self.out.flush()?;
        Ok(self.tally.exit)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The text line: `STATUS BYTES B MS ms URL`, what was not followed and
/// where the body went; `ERR KIND MESSAGE` for a failure without an answer.
fn text_line(outcome: &Outcome) -> String {
    let Some(response) = &outcome.response else {
        let failure = outcome.failure.as_ref();
        return format!(
            "ERR  {}  {}\n",
            failure.map_or("", |f| f.kind.as_str()),
            failure.map_or("", |f| f.message.as_str())
        );
    };
    let status = response.status().as_u16();
    let bytes = response.body_len();
    let ms = response.timings().total.as_secs_f64() * 1000.0;
    let mut line = format!("{status:<4} {bytes:>8} B  {ms:>8.1} ms  {}", outcome.url);
    if let Some(why) = response.redirect_declined() {
        line.push_str(&format!("  (redirect not followed: {why})"));
    }
    if let Some(path) = &outcome.saved {
        line.push_str(&format!("  -> {}", path.display()));
    }
    match &outcome.failure {
        Some(failure) if failure.kind != "http" => {
            line.push_str(&format!("\nERR  {}  {}", failure.kind, failure.message));
        }
        _ => {}
    }
    line.push('\n');
    line
}

/// The HTTP version as curl's `%{http_version}` writes it.
fn version(response: &Response) -> &'static str {
    match response.version() {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The `--json` object: every field, `null` where it does not apply.
pub fn json_line(outcome: &Outcome) -> Value {
    let response = outcome.response.as_ref();
    let timings = response.map(|r| {
        let t = r.timings();
        json!({
            "queue_ms": ms(t.queued),
            "dns_ms": t.dns.map(ms),
            "connect_ms": t.connect.map(ms),
            "tls_ms": t.tls.map(ms),
            "first_byte_ms": ms(t.first_byte),
            "total_ms": ms(t.total),
            "reused": t.reused,
        })
    });
    json!({
        "index": outcome.index,
        "url": outcome.url,
        "ok": outcome.failure.is_none(),
        "status": response.map(|r| r.status().as_u16()),
        "http_version": response.map(|r| format!("HTTP/{}", version(r))),
        "bytes": response.map(|r| r.body_len()),
        "final_url": response.map(|r| r.url().as_str()),
        "redirects": response.map(|r| r.redirects()),
        "attempts": outcome.attempts,
        "redirect_declined": response.and_then(|r| r.redirect_declined()).map(|w| w.to_string()),
        "remote_addr": response.and_then(|r| r.remote_addr()).map(|a| a.to_string()),
        "content_type": response
            .and_then(|r| r.header("content-type"))
            .and_then(|v| v.to_str().ok()),
        "timings": timings,
        "saved": outcome.saved.as_ref().map(|p| p.display().to_string()),
        "error": outcome.failure.as_ref().map(|f| json!({ "kind": f.kind, "message": f.message })),
        "exit_code": outcome.failure.as_ref().map_or(0, |f| f.exit),
    })
}

/// The `-w` format filled in for one URL.
fn write_out(pieces: &[Piece], outcome: &Outcome) -> String {
    let response = outcome.response.as_ref();
    let t = response.map(|r| *r.timings()).unwrap_or_default();
    let secs = |d: Duration| format!("{:.6}", d.as_secs_f64());
    let zero = Duration::ZERO;
    let dns = t.dns.unwrap_or(zero);
    let connect = dns + t.connect.unwrap_or(zero);
    let mut out = String::new();
    for piece in pieces {
        let value = match piece {
            Piece::Text(text) => text.clone(),
            Piece::Header(name) => response
                .and_then(|r| r.header(name.as_str()))
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            Piece::Var(name) => match name.as_str() {
                "http_code" | "response_code" => {
                    format!("{:03}", response.map_or(0, |r| r.status().as_u16()))
                }
                "url" => outcome.url.clone(),
                "url_effective" => response.map_or(outcome.url.clone(), |r| r.url().to_string()),
                "size_download" => response.map_or(0, |r| r.body_len()).to_string(),
                "time_total" => secs(t.total),
                "time_namelookup" => secs(dns),
                "time_connect" => secs(connect),
                "time_appconnect" => secs(t.tls.map_or(zero, |tls| connect + tls)),
                "time_starttransfer" => secs(t.first_byte),
                "time_queue" => secs(t.queued),
                "http_version" => response.map_or("0", version).to_owned(),
                "num_redirects" => response.map_or(0, |r| r.redirects()).to_string(),
                "num_retries" => outcome
                    .attempts
                    .map_or(0, |n| n.saturating_sub(1))
                    .to_string(),
                "remote_ip" => response
                    .and_then(|r| r.remote_addr())
                    .map_or_else(String::new, |a| a.ip().to_string()),
                "remote_port" => response
                    .and_then(|r| r.remote_addr())
                    .map_or_else(String::new, |a| a.port().to_string()),
                "filename_effective" => outcome
                    .saved
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
                "content_type" => response
                    .and_then(|r| r.header("content-type"))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned(),
                "exitcode" => outcome.failure.as_ref().map_or(0, |f| f.exit).to_string(),
                "errormsg" => outcome
                    .failure
                    .as_ref()
                    .map_or_else(String::new, |f| f.message.clone()),
                _ => String::new(),
            },
        };
        out.push_str(&value);
    }
    out
}
