//! Run with: `cargo run --release --example download` (offline: 200 files of 4 MiB from a local server that cuts some off), or `-- --help`.
//!
//! Many downloads at once, each written to its own file as it arrives
//! (`Request::to_file`), with a progress line, automatic resume of the
//! downloads the server cuts off, and memory bounded by the read buffers
//! whatever the files' sizes.
//!
//! ```text
//! cargo run --release --example download                                  # 200 x 4 MiB, 16 connections, local
//! cargo run --release --example download -- --count 1000 --size-mib 8 --connections 64
//! cargo run --release --example download -- --count 1000 --size-mib 100 --connections 64 --discard
//! cargo run --release --example download -- --dir DIR URL [URL...]        # real files into DIR
//! ```
//!
//! The local server serves `/file/{i}` (a byte pattern, with `ETag` and
//! `Range` support) and cuts every seventh file off halfway the first time,
//! so those downloads resume with `Range` and `If-Range`. Each local file is
//! checked byte by byte (unless `--no-check`) and removed once done, so the
//! disk holds only the files in flight. `--discard` sends each body to a
//! writer that checks it and drops it instead (`Request::to_writer`, like
//! curl's `-o /dev/null`), for sizes the disk should not see. The summary
//! shows files, bytes, MB/s, resumes, and the peak RSS of the whole process
//! (server included).
//! The example uses `?` on errors; real code should report them per file.

#[macro_use]
mod common;

use std::error::Error;
use std::io::{self, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use multifetch::{Client, Request};

/// Downloads many files at once, each to disk as it arrives.
#[derive(Parser, Debug)]
#[command(name = "download")]
struct Args {
    /// Files to fetch from the local server (ignored with URLs).
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Size of each local file, in MiB.
    #[arg(long, default_value_t = 4)]
    size_mib: u64,
    /// Connections open at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    connections: usize,
    /// Skip reading each local file back to check it.
    #[arg(long)]
    no_check: bool,
    /// Check and drop each body instead of writing it to a file.
    #[arg(long)]
    discard: bool,
    /// Where real URLs are saved (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Real URLs to download instead of the local server's files.
    urls: Vec<String>,
}

const PERIOD: u64 = 251;

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let local = args.urls.is_empty();
    let size = args.size_mib * 1024 * 1024;
    let (urls, _server) = if local {
        // Only file downloads resume: a body to a writer is not cut.
        let server = FileServer::start(size, !args.discard)?;
        let urls: Vec<String> = (0..args.count).map(|i| server.url(i)).collect();
        (urls, Some(server))
    } else {
        (args.urls.clone(), None)
    };
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("multifetch-download-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let names: Vec<PathBuf> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let name = url.rsplit('/').find(|s| !s.is_empty()).unwrap_or("index");
            dir.join(format!("{i}-{name}"))
        })
        .collect();

    let client = Client::builder()
        .max_connections(args.connections)
        .read_idle_timeout(Duration::from_secs(30))
        .build()?;
    let window = Arc::new(pattern_window());
    let discard = args.discard;
    let requests = urls.iter().zip(&names).map(|(url, path)| {
        // No whole-request timeout: a large file takes as long as it takes;
        // the read-idle timeout notices a stalled one.
        Request::get(url).map(|r| {
            let r = r.timeout(None);
            match (discard, local) {
                (false, _) => r.to_file(path),
                (true, true) => r.to_writer(Check::new(Arc::clone(&window))),
                (true, false) => r.to_writer(io::sink()),
            }
        })
    });
    let started = Instant::now();
    let (mut ok, mut failed, mut bytes, mut resumes) = (0, 0, 0u64, 0);
    let mut last_shown = Instant::now();
    let total = urls.len();
    let summary = client.fetch_each_with_progress(
        requests,
        |index, result| match result {
            Ok(response) if response.status().is_success() && discard => {
                ok += 1;
                bytes += response.body_len();
            }
            Ok(response) if response.status().is_success() => {
                let download = response.download().cloned();
                let Some(download) = download else {
                    failed += 1;
                    return;
                };
                ok += 1;
                bytes += download.len;
                resumes += download.resumes;
                if local {
                    if !args.no_check && !matches_pattern(&download.path, size) {
                        eprintln!("\n{}: wrong bytes", download.path.display());
                        failed += 1;
                    }
                    let _ = std::fs::remove_file(&download.path);
                }
            }
            Ok(response) => {
                failed += 1;
                eprintln!("\n{}: status {}", urls[index], response.status());
            }
            Err(error) => {
                failed += 1;
                eprintln!("\n{error}");
            }
        },
        |progress| {
            if last_shown.elapsed() >= Duration::from_millis(200) {
                last_shown = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                eprint!(
                    "\r{} of {total} files done, {} MiB received, {:.0} MB/s   ",
                    progress.finished,
                    progress.bytes_received >> 20,
                    progress.bytes_received as f64 / secs / 1e6
                );
            }
        },
    );
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    if local {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let peak = common::peak_rss_bytes().map_or("unknown".into(), |b| format!("{} MiB", b >> 20));
    outln!(
        "{ok} files ({} MiB) in {secs:.2}s: {:.0} MB/s over {} connections; {resumes} resumed after a cut; {failed} failed; peak RSS {peak}",
        bytes >> 20,
        bytes as f64 / secs / 1e6,
        summary.connections_opened
    );
    if !local {
        outln!("saved in {}", dir.display());
    }
    Ok(())
}

/// Whether the file holds `size` bytes of the pattern.
fn matches_pattern(path: &PathBuf, size: u64) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let pattern = pattern_window();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = vec![0; 1 << 20];
    let mut at = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return at == size,
            Ok(n) => {
                let start = (at % PERIOD) as usize;
                if buf[..n] != pattern[start..start + n] {
                    return false;
                }
                at += n as u64;
            }
            Err(_) => return false,
        }
    }
}

/// A writer that checks the pattern and keeps nothing; `flush` (once the
/// body is complete) fails if a byte was wrong, which fails the request.
struct Check {
    window: Arc<Vec<u8>>,
    at: u64,
    wrong: bool,
}

impl Check {
    fn new(window: Arc<Vec<u8>>) -> Check {
        Check {
            window,
            at: 0,
            wrong: false,
        }
    }
}

impl Write for Check {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(1 << 20);
        let start = (self.at % PERIOD) as usize;
        self.wrong |= buf[..n] != self.window[start..start + n];
        self.at += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.wrong {
            true => Err(io::Error::other("the body is not the pattern")),
            false => Ok(()),
        }
    }
}

/// The pattern from every phase: `window[p..p + n]` is the pattern from an
/// offset `≡ p (mod 251)`, for `n` up to 1 MiB.
fn pattern_window() -> Vec<u8> {
    (0..PERIOD + (1 << 20))
        .map(|i| (i % PERIOD) as u8)
        .collect()
}

/// The local file server: `/file/{i}`, `size` bytes of the pattern, with
/// `ETag`, `Accept-Ranges` and `Range: bytes=N-`; with `cuts`, every
/// seventh file is cut off halfway the first time it is asked for whole.
struct FileServer {
    addr: std::net::SocketAddr,
}

impl FileServer {
    fn start(size: u64, cuts: bool) -> io::Result<FileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let window = Arc::new(pattern_window());
        let cut_once = Arc::new(Mutex::new(std::collections::HashSet::new()));
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (window, cut_once) = (Arc::clone(&window), Arc::clone(&cut_once));
                let _ = thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || serve(conn, size, cuts, &window, &cut_once));
            }
        });
        Ok(FileServer { addr })
    }

    fn url(&self, i: usize) -> String {
        format!("http://{}/file/{i}", self.addr)
    }
}

/// Serves requests on one keep-alive connection.
fn serve(
    mut conn: TcpStream,
    size: u64,
    cuts: bool,
    window: &[u8],
    cut_once: &Mutex<std::collections::HashSet<u64>>,
) {
    let mut reader = match conn.try_clone() {
        Ok(c) => BufReader::new(c),
        Err(_) => return,
    };
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match io::BufRead::read_line(&mut reader, &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line.trim().is_empty() && !head.is_empty() => break,
                Ok(_) => head.push_str(&line),
            }
        }
        let file: Option<u64> = head
            .split_whitespace()
            .nth(1)
            .and_then(|t| t.strip_prefix("/file/"))
            .and_then(|n| n.parse().ok());
        let Some(file) = file else {
            let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            continue;
        };
        let from: u64 = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("range").then_some(value.trim())
            })
            .and_then(|v| v.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
            .unwrap_or(0);
        let answer = if from >= size && from > 0 {
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{size}\r\nContent-Length: 0\r\n\r\n"
            )
        } else if from > 0 {
            format!(
                "HTTP/1.1 206 Partial Content\r\nETag: \"f{file}\"\r\nContent-Range: bytes {from}-{}/{size}\r\nContent-Length: {}\r\n\r\n",
                size - 1,
                size - from
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nETag: \"f{file}\"\r\nAccept-Ranges: bytes\r\nContent-Length: {size}\r\n\r\n"
            )
        };
        if conn.write_all(answer.as_bytes()).is_err() {
            return;
        }
        if from >= size && from > 0 {
            continue;
        }
        let cut =
            cuts && from == 0 && file % 7 == 3 && cut_once.lock().is_ok_and(|mut s| s.insert(file));
        let end = if cut { size / 2 } else { size };
        let mut at = from;
        while at < end {
            let n = (end - at).min(1 << 20) as usize;
            let start = (at % PERIOD) as usize;
            if conn.write_all(&window[start..start + n]).is_err() {
                return;
            }
            at += n as u64;
        }
        if cut {
            return;
        }
    }
}
