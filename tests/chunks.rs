//! Bodies handed to the caller chunk by chunk through `Reactor::next_event`,
//! against a real server (hyper): many requests at once, each body put back
//! together byte-exact from its chunks, its head first and its completion
//! last; a request answered with an error status keeps its body in memory
//! and streams nothing.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use multifetch::{Client, Event, Reactor, Request};
use support::{HttpServer, assert_body, item_body};

#[test]
fn chunked_and_length_bodies_come_back_whole_from_their_chunks() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .max_connections(8)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut reactor = Reactor::new(&client).unwrap();
    let mut expected = HashMap::new();
    for n in 0..60u64 {
        let path = if n % 2 == 0 {
            format!("/item/{n}")
        } else {
            format!("/chunked/{n}")
        };
        let id = reactor.submit(Request::get(&server.url(&path)).unwrap().stream_chunks());
        expected.insert(id, item_body(n));
    }
    let missing = reactor.submit(
        Request::get(&server.url("/nothing"))
            .unwrap()
            .stream_chunks(),
    );

    #[derive(Default)]
    struct Seen {
        head: bool,
        body: Vec<u8>,
        done: bool,
    }
    let mut seen: HashMap<_, Seen> = HashMap::new();
    while let Some(event) = reactor.next_event().unwrap() {
        match event {
            Event::Head {
                id,
                status,
                headers,
            } => {
                let s = seen.entry(id).or_default();
                assert!(!s.head && s.body.is_empty() && !s.done, "{id}: head first");
                assert_eq!(status, 200);
                assert!(headers.contains_key("date"));
                s.head = true;
            }
            Event::Chunk { id, bytes } => {
                let s = seen.entry(id).or_default();
                assert!(s.head && !s.done, "{id}: chunks between head and done");
                assert!(!bytes.is_empty());
                s.body.extend_from_slice(&bytes);
            }
            Event::Done(done) => {
                let s = seen.entry(done.id).or_default();
                assert!(!s.done);
                s.done = true;
                let response = done.result.unwrap();
                if done.id == missing {
                    assert_eq!(response.status(), 404);
                    assert_eq!(response.body(), b"not found", "kept in memory");
                    assert!(!s.head && s.body.is_empty(), "nothing streamed");
                } else {
                    assert!(response.body().is_empty());
                    assert_eq!(response.body_len(), s.body.len() as u64);
                }
            }
            other => panic!("not asked for: {other:?}"),
        }
    }
    assert_eq!(seen.len(), 61);
    for (id, body) in &expected {
        let s = &seen[id];
        assert!(s.done, "{id} finished");
        // An empty body has a head and no chunks.
        assert!(s.head, "{id} had a head");
        assert_body(&s.body, body, &id.to_string());
    }
}
