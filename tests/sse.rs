//! The server-sent events example (`examples/sse/`) against its local
//! server: many streams on one reactor, each dropped every few events (half
//! of the time in the middle of an event), reconnected with
//! `Last-Event-ID` after the server's `retry:` time, until the server
//! answers 204. Every event arrives once, in order, and each reconnect names
//! the last event dispatched (never a half-received one). The parser's own
//! tests (every split of the format) run here too.

#[path = "../examples/sse/parser.rs"]
mod parser;
#[path = "../examples/sse/server.rs"]
mod server;
#[path = "../examples/sse/subscriber.rs"]
mod subscriber;

use std::time::Duration;

use multifetch::Client;
use server::{Settings, SseServer};
use subscriber::State;

#[test]
fn dropped_streams_reconnect_with_last_event_id_and_lose_nothing() {
    const STREAMS: u64 = 12;
    const EVENTS: u64 = 30;
    let server = SseServer::start(Settings {
        events: EVENTS,
        drop_every: 7,
        interval: Duration::from_millis(2),
    })
    .unwrap();
    let urls: Vec<String> = (0..STREAMS).map(|n| server.url(n)).collect();
    let client = Client::builder().build().unwrap();
    let mut received: Vec<Vec<parser::Message>> = vec![Vec::new(); urls.len()];
    let subs = subscriber::run(&client, &urls, Duration::from_secs(10), |index, event| {
        received[index].push(event.clone());
    })
    .unwrap();

    for (n, (sub, events)) in subs.iter().zip(&received).enumerate() {
        assert_eq!(
            sub.state,
            State::Stopped("the server said 204 No Content".into()),
            "stream {n}"
        );
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let expected: Vec<String> = (1..=EVENTS).map(|i| i.to_string()).collect();
        assert_eq!(ids, expected, "stream {n}: every event once, in order");
        for event in events {
            assert_eq!(event.event, "tick");
            assert_eq!(
                event.data,
                format!("stream {n} event {}\nsecond line", event.id)
            );
        }
        // 7 events a connection: 1-7, 8-14, 15-21, 22-28, 29-30 and the
        // end, then the reconnect answered 204.
        assert_eq!(sub.connects, 6, "stream {n}");
        let resumed_from: Vec<Option<String>> = server
            .seen()
            .into_iter()
            .filter(|s| s.stream == n as u64)
            .map(|s| s.last_event_id)
            .collect();
        let expected: Vec<Option<String>> = [None, Some(7), Some(14), Some(21), Some(28), Some(30)]
            .iter()
            .map(|id| id.map(|id: u64| id.to_string()))
            .collect();
        assert_eq!(
            resumed_from, expected,
            "stream {n}: Last-Event-ID of each connection"
        );
    }
}

#[test]
fn a_stream_that_is_not_an_event_stream_stops_its_subscription() {
    let client = Client::builder().build().unwrap();
    let server = SseServer::start(Settings {
        events: 1,
        drop_every: 0,
        interval: Duration::ZERO,
    })
    .unwrap();
    // A path the server does not know: 404, never retried.
    let url = server.url(0).replace("/events/0", "/nothing");
    let subs = subscriber::run(&client, &[url], Duration::from_secs(5), |_, _| {}).unwrap();
    assert_eq!(subs[0].state, State::Stopped("status 404 Not Found".into()));
    assert_eq!(subs[0].connects, 1);
}
