//! Run with: `cargo run --release --example fetch -- [OPTIONS] [URL...]` (`--help` for options);
//! install with `cargo install --path . --example fetch`.
//!
//! A command-line fetcher for lists of URLs, with curl's option names:
//! every URL is fetched concurrently on one thread, one line per URL is
//! printed in input order as soon as it and all URLs before it are done,
//! then a summary:
//!
//! ```text
//! 200     1256 B      3.2 ms  http://127.0.0.1:8080/a  -> out/a
//! 302        0 B      0.9 ms  http://127.0.0.1:8080/old  (redirect not followed: redirects are off)
//! ERR  timeout  timeout after 5s waiting for the response from 127.0.0.1:8081 (http://127.0.0.1:8081/)
//! ok=2 failed=1 (timeout: 1) bytes=1256 wall=5.004s rate=0.6 req/s 251 B/s
//! ```
//!
//! `--json` prints one JSON object per line instead (serde_json), `-w`
//! curl's write-out format, `-o DIR` saves each 2xx body to a file, and an
//! indicatif progress bar runs on stderr when stderr is a terminal. The exit
//! status is curl's number for the first failure in input order (`--help`
//! lists them), 2 for a usage error. No `unwrap()` on anything that can fail
//! at run time.

#[macro_use]
#[path = "../common/out.rs"]
mod out;

mod args;
mod client;
mod output;
mod save;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use clap::error::ErrorKind as ClapErrorKind;
use multifetch::{Completion, Event, Reactor};

use crate::args::Args;
use crate::output::{Outcome, Printer};

/// The exit status of a usage error.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error)
            if matches!(
                error.kind(),
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
            ) =>
        {
            out!("{}", error.render());
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(USAGE);
        }
    };
    let plan = match client::Plan::new(&args) {
        Ok(plan) => plan,
        Err(message) => return usage(&message),
    };
    let mut urls = args.urls.clone();
    for input in &args.inputs {
        if let Err(error) = read_urls(input, &mut urls) {
            return usage(&format!("cannot read {input}: {error}"));
        }
    }
    if urls.is_empty() {
        return usage("no URLs given");
    }
    let files = match save::Files::new(&args, urls.len()) {
        Ok(files) => files,
        Err(message) => return usage(&message),
    };
    match run(&args, &plan, files, &urls) {
        Ok(code) => ExitCode::from(code),
        // stdout went away (`| head`): whoever read it has what they wanted.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fetch: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Reports a usage error and returns its exit status.
fn usage(message: &str) -> ExitCode {
    eprintln!("fetch: {message}\nTry 'fetch --help' for more information.");
    ExitCode::from(USAGE)
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
/// available; returns the exit status.
fn run(
    args: &Args,
    plan: &client::Plan,
    mut files: save::Files,
    urls: &[String],
) -> io::Result<u8> {
    let start = Instant::now();
    let client = plan.client().map_err(io::Error::other)?;
    let mut reactor = Reactor::new(&client).map_err(io::Error::other)?;

    // Every URL's outcome, in input order; those that never reach the
    // reactor (a malformed URL, a file that must not be replaced) are known
    // at once.
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(urls.len());
    let mut pending: HashMap<u64, (usize, Option<save::Target>)> = HashMap::new();
    for (index, url) in urls.iter().enumerate() {
        let request = match plan.request(url) {
            Ok(request) => request,
            Err(error) => {
                outcomes.push(Some(Outcome::error(index, url, &error)));
                continue;
            }
        };
        match files.target(index, url) {
            Ok(target) => {
                // A 2xx body streams to its file (`<file>.part` until it is
                // complete); any other body stays in memory, unsaved.
                let request = match &target {
                    Some(target) => request
                        .to_file(&target.path)
                        .continue_partial(args.output.resume.is_some()),
                    None => request,
                };
                let id = reactor.submit(request);
                pending.insert(id.get(), (index, target));
                outcomes.push(None);
            }
            Err(failure) => outcomes.push(Some(Outcome::failed(index, url, failure))),
        }
    }

    let progress = (!args.output.no_progress && !args.output.silent && io::stderr().is_terminal())
        .then(|| output::progress_bar(urls.len()));
    let mut printer = Printer::new(args, BufWriter::new(io::stdout().lock()), progress);
    printer.print_ready(&mut outcomes)?;
    while !pending.is_empty() {
        // Wake a few times a second to show the bytes of bodies in flight.
        let deadline = Instant::now() + Duration::from_millis(200);
        let Completion { id, result } = match reactor.next_event_before(deadline) {
            Ok(Some(Event::Done(done))) => done,
            Ok(Some(_)) => continue,
            Ok(None) if reactor.pending() > 0 => {
                printer.show_received(reactor.counters().bytes_received);
                continue;
            }
            Ok(None) => break,
            Err(error) => {
                // The event loop itself failed: every unfinished request with it.
                eprintln!("fetch: {error}");
                break;
            }
        };
        let Some((index, target)) = pending.remove(&id.get()) else {
            continue;
        };
        let url = &urls[index];
        let outcome = Outcome::finished(index, url, result, args.request.fail);
        let outcome = match target {
            Some(_) => save::saved(outcome),
            None => outcome,
        };
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = Some(outcome);
        }
        printer.print_ready(&mut outcomes)?;
        printer.show_received(reactor.counters().bytes_received);
    }
    for (index, _) in pending.into_values() {
        if let Some(slot) = outcomes.get_mut(index) {
            *slot = Some(Outcome::lost(index, &urls[index]));
        }
    }
    printer.print_ready(&mut outcomes)?;
    printer.finish(start.elapsed())
}
