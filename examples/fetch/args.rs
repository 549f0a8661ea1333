//! The command line: curl's names for the options curl has, clap (derive)
//! to parse them, and the checks that turn option values into library
//! settings (a bad value is a usage error, exit status 2).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

/// What `--help` prints after the options.
const AFTER_HELP: &str = "\
Output: one line per URL in input order (`--json`: one JSON object per line), then a summary
line; a progress bar on stderr when stderr is a terminal. With -o, only 2xx bodies are saved.

Exit status (curl's numbers where curl has one; the first failed URL in input order decides):
   0  every URL got a response (with --fail: every status below 400)
   2  usage error: unknown option, bad value, no URLs, unreadable input file
   3  malformed URL            6  could not resolve host     7  could not connect
   8  not an HTTP answer      18  body cut short            22  HTTP status >= 400 with --fail
  23  could not write a file (or it exists: see --clobber, -C)
  28  timeout                 35  TLS handshake failed      47  redirect loop or too many
  56  I/O error              61  body could not be decoded 63  body over the size limit
  97  proxy refused           1  anything else (the event loop failed)";

/// `--http2`, saying so when the build has no HTTP/2.
const HTTP2: &str = if cfg!(feature = "http2") {
    "HTTP/2 where the server offers it in TLS (ALPN); cleartext stays HTTP/1.1 [the default]"
} else {
    "HTTP/2 where the server offers it [not in this build: multifetch's `http2` feature is off]"
};

/// `--http2-prior-knowledge`, saying so when the build has no HTTP/2.
const HTTP2_PRIOR_KNOWLEDGE: &str = if cfg!(feature = "http2") {
    "HTTP/2 from the first byte on cleartext http:// URLs (h2c, for servers known to speak it)"
} else {
    "HTTP/2 on cleartext http:// URLs [not in this build: multifetch's `http2` feature is off]"
};

/// `-k`, saying so when the build has no TLS.
const INSECURE: &str = if cfg!(feature = "tls") {
    "Accept any TLS certificate for any name (encryption without authentication)"
} else {
    "Accept any TLS certificate [not in this build: multifetch's `tls` feature is off]"
};

/// `--cacert`, saying so when the build has no TLS.
const CACERT: &str = if cfg!(feature = "tls") {
    "Trust the CA certificate(s) in this PEM file instead of the built-in roots (repeatable)"
} else {
    "Trust the CA certificate(s) in this PEM file [not in this build: multifetch's `tls` feature is off]"
};

/// `--compressed`, with the codings this build decodes.
const COMPRESSED: &str = match (
    cfg!(feature = "gzip"),
    cfg!(feature = "brotli"),
    cfg!(feature = "zstd"),
) {
    (true, true, true) => {
        "Ask for compressed bodies and decode them: gzip, deflate, br, zstd (on by default)"
    }
    (true, true, false) => {
        "Ask for compressed bodies and decode them: gzip, deflate, br (on by default; zstd is not in this build)"
    }
    (true, false, true) => {
        "Ask for compressed bodies and decode them: gzip, deflate, zstd (on by default; br is not in this build)"
    }
    (true, false, false) => {
        "Ask for compressed bodies and decode them: gzip, deflate (on by default; br and zstd are not in this build: features `brotli`, `zstd`)"
    }
    (false, true, true) => {
        "Ask for compressed bodies and decode them: br, zstd (on by default; gzip is not in this build)"
    }
    (false, true, false) => {
        "Ask for compressed bodies and decode them: br (on by default; gzip and zstd are not in this build)"
    }
    (false, false, true) => {
        "Ask for compressed bodies and decode them: zstd (on by default; gzip and br are not in this build)"
    }
    (false, false, false) => {
        "Ask for compressed bodies [not in this build: no decoding feature, bodies come as sent]"
    }
};

/// Fetches many URLs at once, from one thread, and prints one line per URL.
#[derive(Debug, Parser)]
#[command(
    name = "fetch",
    version,
    about = "Fetch many URLs at once (one thread, no async runtime) and print one line per URL",
    after_help = AFTER_HELP
)]
pub struct Args {
    /// URLs to fetch (more with -i)
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,

    /// Read URLs from FILE, one per line (`-` for stdin; blank lines and `#` comments skipped)
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub inputs: Vec<String>,

    #[command(flatten, next_help_heading = "Request")]
    pub request: RequestOptions,

    #[command(flatten, next_help_heading = "Connection")]
    pub connection: ConnectionOptions,

    #[command(flatten, next_help_heading = "Output")]
    pub output: OutputOptions,
}

// What each request asks for (`--help` lists them under "Request"). Plain
// comments: a doc comment here would become the command's `about`.
#[derive(Debug, clap::Args)]
pub struct RequestOptions {
    /// Request method [default: GET, or POST with -d]
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Extra header, e.g. -H 'Accept: text/html' (`Name;` sends it empty)
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,

    /// Body to send, as a form (POST, `Content-Type: application/x-www-form-urlencoded`);
    /// `@FILE` reads it from FILE without its line breaks (`@-`: stdin); several are joined by `&`
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,

    /// Like -d, but `@FILE` is sent byte for byte
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,

    /// User-Agent header [default: multifetch/VERSION]
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    #[arg(
        long = "compressed",
        overrides_with = "no_compressed",
        help = COMPRESSED
    )]
    pub compressed: bool,

    /// Ask for bodies as they are, and save them so
    #[arg(long = "no-compressed", overrides_with = "compressed")]
    pub no_compressed: bool,

    /// Follow redirects (301, 302, 303, 307, 308); off by default, as in curl
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Most redirects followed with -L [default: 10]
    #[arg(long = "max-redirs", value_name = "N")]
    pub max_redirs: Option<u32>,

    /// Fail on HTTP status 400 and above: exit 22, and no body saved
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
}

// How the client connects, waits and retries (under "Connection").
#[derive(Debug, clap::Args)]
pub struct ConnectionOptions {
    /// Use this HTTP proxy for every URL: http://[USER:PASS@]HOST:PORT (https URLs go through CONNECT)
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,

    /// Hosts that bypass the proxy: comma-separated names, domains, IPs, CIDR ranges, `*`
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,

    #[arg(short = 'k', long = "insecure", help = INSECURE)]
    pub insecure: bool,

    #[arg(long = "cacert", value_name = "FILE", help = CACERT)]
    pub cacert: Vec<PathBuf>,

    /// Speak HTTP/1.1 only (no HTTP/2 in TLS ALPN)
    #[arg(
        long = "http1.1",
        conflicts_with_all = ["http2", "http2_prior_knowledge"]
    )]
    pub http1_1: bool,

    #[arg(long = "http2", help = HTTP2)]
    pub http2: bool,

    #[arg(long = "http2-prior-knowledge", help = HTTP2_PRIOR_KNOWLEDGE)]
    pub http2_prior_knowledge: bool,

    /// Deadline for each whole request, e.g. 2.5; 0 disables [default: 30]
    #[arg(
        short = 'm',
        long = "max-time",
        visible_alias = "timeout",
        short_alias = 't',
        value_name = "SECS",
        value_parser = seconds
    )]
    pub max_time: Option<Seconds>,

    /// Deadline for DNS, TCP connect and TLS handshake; 0 disables [default: 10]
    #[arg(long = "connect-timeout", value_name = "SECS", value_parser = seconds)]
    pub connect_timeout: Option<Seconds>,

    /// Retry a failed request up to N times with backoff: connect failures, timeouts, resets,
    /// 408, 429, 500, 502, 503 and 504 (honouring Retry-After) [default: 0]
    #[arg(long = "retry", value_name = "N")]
    pub retry: Option<u32>,

    /// Wait up to this long before each retry (a random wait, so that failed clients spread out)
    /// [default: from 0.5 s, doubling, at most 30 s; a Retry-After header is waited exactly]
    #[arg(long = "retry-delay", value_name = "SECS", value_parser = seconds)]
    pub retry_delay: Option<Seconds>,

    /// End every attempt and wait within this long (with -m, the smaller of the two)
    #[arg(long = "retry-max-time", value_name = "SECS", value_parser = seconds)]
    pub retry_max_time: Option<Seconds>,

    /// Start at most this many requests per host: N (per second), N/s, N/m, N/h
    #[arg(long = "rate", value_name = "N[/s|/m|/h]", value_parser = rate)]
    pub rate: Option<f64>,

    /// Connections open at once to one host [default: same as -Z]
    #[arg(long = "per-host", value_name = "N", value_parser = count)]
    pub per_host: Option<usize>,

    /// Connections open at once over all hosts (the concurrency) [default: 256]
    #[arg(
        short = 'Z',
        long = "parallel-max",
        visible_alias = "concurrency",
        short_alias = 'c',
        value_name = "N",
        value_parser = count
    )]
    pub parallel_max: Option<usize>,
}

// What is printed and saved (under "Output").
#[derive(Debug, clap::Args)]
pub struct OutputOptions {
    /// Save each 2xx body in DIR (created if missing), named from the URL path
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// How -o names files: `path` (the URL's last path segment, `index.html` for `/`) or `index`
    /// (the URL's position in the input)
    #[arg(long = "name", value_enum, default_value_t = Naming::Path)]
    pub name: Naming,

    /// Let -o replace files that exist (by default such a URL fails and nothing is written)
    #[arg(long = "clobber")]
    pub clobber: bool,

    /// Resume partial files in the -o directory: only the missing rest is requested (`-C -` too)
    #[arg(
        short = 'C',
        long = "continue",
        visible_alias = "continue-at",
        num_args = 0..=1,
        default_missing_value = "-",
        value_parser = ["-"],
        value_name = "-"
    )]
    pub resume: Option<String>,

    /// Print one JSON object per line (every field, null where it does not apply)
    #[arg(long = "json", conflicts_with = "write_out")]
    pub json: bool,

    /// Print FORMAT for each URL instead of the line: %{http_code}, %{url}, %{url_effective},
    /// %{size_download}, %{time_total}, %{time_namelookup}, %{time_connect}, %{time_appconnect},
    /// %{time_starttransfer}, %{time_queue}, %{http_version}, %{num_redirects}, %{num_retries},
    /// %{remote_ip}, %{remote_port}, %{filename_effective}, %{content_type}, %{header{NAME}},
    /// %{exitcode}, %{errormsg}; \n \t \\ and %% as in curl
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// No progress bar (there is none anyway when stderr is not a terminal)
    #[arg(long = "no-progress")]
    pub no_progress: bool,

    /// No progress bar and no summary line
    #[arg(short = 's', long = "silent", action = ArgAction::SetTrue)]
    pub silent: bool,
}

// How `-o` names files: the last segment of the URL's path, or the URL's
// position in the input, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Naming {
    Path,
    Index,
}

/// A duration in seconds from the command line; `None` for 0 (no deadline).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub Option<Duration>);

/// Seconds, fractions allowed; 0 means no deadline.
fn seconds(text: &str) -> Result<Seconds, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("expected seconds, such as 2.5, not `{text}`"))?;
    if secs == 0.0 {
        return Ok(Seconds(None));
    }
    Duration::try_from_secs_f64(secs)
        .map(|d| Seconds(Some(d)))
        .map_err(|_| format!("expected a positive number of seconds, not `{text}`"))
}

/// A count of at least 1.
fn count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "expected a whole number of at least 1, not `{text}`"
        )),
    }
}

/// curl's `--rate`: `N`, `N/s`, `N/m`, `N/h` or `N/d` (requests per unit),
/// as requests per second.
fn rate(text: &str) -> Result<f64, String> {
    let (number, per) = match text.split_once('/') {
        Some((number, unit)) => {
            let per = match unit {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86_400.0,
                _ => {
                    return Err(format!(
                        "expected a unit of s, m, h or d after `/`, not `{unit}`"
                    ));
                }
            };
            (number, per)
        }
        None => (text, 1.0),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n / per),
        _ => Err(format!(
            "expected a positive number of requests, such as 2/s or 100/m, not `{text}`"
        )),
    }
}
