//! Many server-sent event subscriptions on one thread, over one `Reactor`:
//! each stream's body comes as `Event::Chunk`s through the parser, and a
//! stream that drops is reconnected after the server's `retry:` time with
//! `Last-Event-ID`, as the WHATWG `EventSource` does (§9.2.3): a network
//! error or the end of the stream reconnects; `204 No Content`, another
//! status, or a `Content-Type` other than `text/event-stream` stops the
//! subscription.
//!
//! ```text
//!  Connecting(id) ──Head 200 text/event-stream──▶ Open(id) ──Chunk──▶ parser ──▶ on_event
//!       ▲                                            │
//!       │  retry elapsed                             │ Done: cut, reset, ended
//!  Waiting(until) ◀──────────────────────────────────┘
//!       Done: 204, other status, wrong type ──▶ Stopped(why)
//! ```
//!
//! Requests have no whole-request timeout (a stream runs for hours) but a
//! read-idle timeout, so a stream that goes quiet (a dead peer, a lost
//! network) is noticed and reconnected.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use multifetch::{Client, ErrorKind, Event, Reactor, Request, RequestId};

use crate::parser::{Message, Parser};

/// The reconnection time until the server sets one (browsers use a few
/// seconds).
const DEFAULT_RETRY: Duration = Duration::from_secs(3);
/// Connection attempts in a row without an event before giving up.
const MAX_FAILURES: u32 = 10;

/// Where a subscription is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its request is out (or its stream open).
    Connected(RequestId),
    /// Reconnecting at this instant.
    Waiting(Instant),
    /// Given up, and why.
    Stopped(String),
}

/// One subscription.
#[derive(Debug)]
pub struct Subscription {
    pub url: String,
    pub parser: Parser,
    pub state: State,
    /// Connections made.
    pub connects: u32,
    /// Events received.
    pub events: u64,
    /// Connection attempts in a row that brought no event.
    failures: u32,
    got_event: bool,
}

/// Subscribes to every URL, calls `on_event(index of the URL, event)` for
/// each event, and returns once every subscription has stopped.
pub fn run(
    client: &Client,
    urls: &[String],
    read_idle: Duration,
    mut on_event: impl FnMut(usize, &Message),
) -> multifetch::Result<Vec<Subscription>> {
    let mut reactor = Reactor::new(client)?;
    let mut subs: Vec<Subscription> = urls
        .iter()
        .map(|url| Subscription {
            url: url.clone(),
            parser: Parser::new(),
            state: State::Waiting(Instant::now()),
            connects: 0,
            events: 0,
            failures: 0,
            got_event: false,
        })
        .collect();
    let mut by_id: HashMap<RequestId, usize> = HashMap::new();
    loop {
        // (Re)connect every subscription whose time has come.
        let now = Instant::now();
        for (index, sub) in subs.iter_mut().enumerate() {
            if matches!(sub.state, State::Waiting(at) if at <= now) {
                let id = reactor.submit(request(sub, read_idle));
                sub.state = State::Connected(id);
                sub.connects += 1;
                sub.got_event = false;
                sub.parser.reconnect();
                by_id.insert(id, index);
            }
        }
        let next_connect = subs
            .iter()
            .filter_map(|s| match s.state {
                State::Waiting(at) => Some(at),
                _ => None,
            })
            .min();
        if next_connect.is_none() && reactor.pending() == 0 {
            return Ok(subs);
        }
        let event = match next_connect {
            Some(at) => reactor.next_event_before(at)?,
            None => reactor.next_event()?,
        };
        let Some(event) = event else { continue };
        match event {
            Event::Head {
                id,
                status,
                headers,
            } => {
                let Some(sub) = by_id.get(&id).and_then(|&i| subs.get_mut(i)) else {
                    continue;
                };
                let event_stream = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().starts_with("text/event-stream"));
                // Its chunks are then ignored, and its completion stops it.
                if status == 204 {
                    sub.state = State::Stopped("the server said 204 No Content".into());
                } else if status != 200 {
                    sub.state = State::Stopped(format!("status {status}"));
                } else if !event_stream {
                    sub.state = State::Stopped("not a text/event-stream".into());
                }
            }
            Event::Chunk { id, bytes } => {
                let Some(&index) = by_id.get(&id) else {
                    continue;
                };
                let sub = &mut subs[index];
                if !matches!(sub.state, State::Connected(_)) {
                    continue;
                }
                sub.parser.feed(&bytes, |message| {
                    sub.events += 1;
                    sub.got_event = true;
                    on_event(index, &message);
                });
            }
            Event::Done(done) => {
                let Some(index) = by_id.remove(&done.id) else {
                    continue;
                };
                let sub = &mut subs[index];
                if matches!(sub.state, State::Stopped(_)) {
                    continue;
                }
                sub.failures = if sub.got_event { 0 } else { sub.failures + 1 };
                let retry = sub.parser.retry().unwrap_or(DEFAULT_RETRY);
                sub.state = match done.result {
                    Ok(response) if response.status() == 204 => {
                        State::Stopped("the server said 204 No Content".into())
                    }
                    Ok(response) if response.status() != 200 => {
                        State::Stopped(format!("status {}", response.status()))
                    }
                    Err(error)
                        if matches!(
                            error.kind(),
                            ErrorKind::InvalidUrl | ErrorKind::InvalidRequest
                        ) =>
                    {
                        State::Stopped(error.to_string())
                    }
                    _ if sub.failures >= MAX_FAILURES => {
                        State::Stopped(format!("{MAX_FAILURES} attempts in a row brought nothing"))
                    }
                    // The stream ended or broke: reconnect.
                    _ => State::Waiting(Instant::now() + retry),
                };
            }
            _ => {}
        }
    }
}

/// The request for a (re)connection.
fn request(sub: &Subscription, read_idle: Duration) -> multifetch::Result<Request> {
    let mut request = Request::get(&sub.url)?
        .header("accept", "text/event-stream")?
        .header("cache-control", "no-cache")?
        .stream_chunks()
        .timeout(None)
        .read_idle_timeout(read_idle);
    let last = sub.parser.last_event_id();
    if !last.is_empty() {
        request = request.header("last-event-id", last)?;
    }
    Ok(request)
}
