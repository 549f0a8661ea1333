//! Run with: `cargo run --release --example sse` (offline: a local server, 40 streams), or `-- URL...`.
//!
//! Server-sent events on one thread: subscribes to many `text/event-stream`
//! endpoints at once over one `Reactor`, parses their events as the WHATWG
//! HTML standard says (`event`, `data`, `id`, `retry`, comments, any line
//! ending), and reconnects a stream that drops with `Last-Event-ID`, so no
//! event is lost or repeated. This is the "server-sent events and long
//! polling" use of an event loop: responses that never end, each read as it
//! arrives.
//!
//! ```text
//! cargo run --release --example sse                        # local server: 40 streams x 60 events, dropped now and then
//! cargo run --release --example sse -- URL [URL...]        # real endpoints, until every one stops (Ctrl-C to end)
//! ```
//!
//! Each event is printed as `STREAM<TAB>ID<TAB>TYPE<TAB>DATA` (line breaks in
//! the data as `\n`), then a summary per stream: events, connections, and
//! why it stopped. Requests have no whole-request timeout and a 15 s
//! read-idle timeout (pick more than the server's keep-alive interval).
//! The example uses `?` on errors; real code should report them per stream.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;
mod parser;
mod server;
mod subscriber;

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use multifetch::Client;

use server::{Settings, SseServer};
use subscriber::State;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (urls, _server) = if args.is_empty() {
        let server = SseServer::start(Settings {
            events: 60,
            drop_every: 25,
            interval: Duration::from_millis(10),
        })?;
        let urls = (0..40).map(|n| server.url(n)).collect();
        (urls, Some(server))
    } else {
        (args, None)
    };
    let client = Client::builder().max_connections(256).build()?;
    let started = Instant::now();
    let mut ids: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let subs = subscriber::run(&client, &urls, Duration::from_secs(15), |index, event| {
        ids.entry(index).or_default().push(event.id.clone());
        outln!(
            "{index}\t{}\t{}\t{}",
            event.id,
            event.event,
            event.data.replace('\n', "\\n")
        );
    })?;
    let wall = started.elapsed();
    let (mut events, mut connects) = (0, 0);
    for (index, sub) in subs.iter().enumerate() {
        events += sub.events;
        connects += sub.connects;
        let why = match &sub.state {
            State::Stopped(why) => why.as_str(),
            State::Connected(_) | State::Waiting(_) => "still running",
        };
        outln!(
            "stream {index}: {} events over {} connections; stopped: {why} ({})",
            sub.events,
            sub.connects,
            sub.url
        );
    }
    if let Some(server) = &_server {
        // Ids are 1, 2, 3, … per stream: a lost or repeated event shows.
        let whole = ids.values().all(|ids| {
            ids.iter()
                .enumerate()
                .all(|(i, id)| id.parse::<usize>() == Ok(i + 1))
        });
        let resumed = server
            .seen()
            .iter()
            .filter(|s| s.last_event_id.is_some())
            .count();
        outln!(
            "{events} events from {} streams in {:.2}s over {connects} connections \
             ({resumed} reconnects with Last-Event-ID); every stream whole and in order: {whole}",
            subs.len(),
            wall.as_secs_f64()
        );
    } else {
        outln!(
            "{events} events from {} streams in {:.2}s over {connects} connections",
            subs.len(),
            wall.as_secs_f64()
        );
    }
    Ok(())
}
