//! The `Reactor`: work added while it runs, ids, idleness, and requests that
//! fail before they start.

mod support;

use std::collections::HashMap;

use multifetch::{Client, ErrorKind, Reactor, RequestId};
use support::{HttpServer, assert_body, item_body};

/// A crawler's shape: one seed, and every completion submits up to two more
/// until `TOTAL` have been submitted.
#[test]
fn work_added_mid_run_all_completes() {
    const TOTAL: u64 = 300;
    let server = HttpServer::start();
    let client = Client::builder().max_connections(16).build().unwrap();
    let mut reactor = Reactor::new(&client).unwrap();
    let mut submitted: HashMap<RequestId, u64> = HashMap::new();
    let mut next = 0u64;
    let mut submit = |reactor: &mut Reactor, submitted: &mut HashMap<RequestId, u64>| {
        let n = next;
        next += 1;
        let id = reactor.submit(server.url(&format!("/chunked/{n}")));
        assert_eq!(id.get(), n, "ids count up from 0 in submission order");
        assert!(
            submitted.insert(id, n).is_none(),
            "id {id} handed out twice"
        );
    };
    submit(&mut reactor, &mut submitted);
    let mut completed: HashMap<RequestId, ()> = HashMap::new();
    while let Some(done) = reactor.next_completion().unwrap() {
        assert!(
            completed.insert(done.id, ()).is_none(),
            "{} completed twice",
            done.id
        );
        let n = submitted[&done.id];
        assert_body(
            done.result.unwrap().body(),
            &item_body(n),
            &format!("request {n}"),
        );
        for _ in 0..2 {
            if (submitted.len() as u64) < TOTAL {
                submit(&mut reactor, &mut submitted);
            }
        }
    }
    assert_eq!(submitted.len() as u64, TOTAL);
    assert_eq!(completed.len() as u64, TOTAL);
    assert!(completed.keys().all(|id| id.get() < TOTAL));
    assert_eq!(reactor.pending(), 0);
    assert_eq!(reactor.in_flight(), 0);
    assert_eq!(server.requests() as u64, TOTAL);
}

#[test]
fn idle_reactor_has_nothing_to_complete() {
    let client = Client::new();
    let mut reactor = Reactor::new(&client).unwrap();
    assert_eq!(reactor.pending(), 0);
    assert!(reactor.next_completion().unwrap().is_none());
    assert!(
        reactor.next_completion().unwrap().is_none(),
        "still none when asked again"
    );
}

#[test]
fn reactor_is_idle_again_after_its_work() {
    let server = HttpServer::start();
    let client = Client::new();
    let mut reactor = Reactor::new(&client).unwrap();
    let id = reactor.submit(server.url("/item/3"));
    assert_eq!(reactor.pending(), 1);
    let done = reactor.next_completion().unwrap().expect("one completion");
    assert_eq!(done.id, id);
    assert_body(done.result.unwrap().body(), &item_body(3), "/item/3");
    assert!(reactor.next_completion().unwrap().is_none());
    assert_eq!(reactor.pending(), 0);

    // And it can be used again.
    let again = reactor.submit(server.url("/item/4"));
    assert_eq!(again.get(), 1);
    let done = reactor
        .next_completion()
        .unwrap()
        .expect("a second completion");
    assert_eq!(done.id, again);
    assert_body(done.result.unwrap().body(), &item_body(4), "/item/4");
    assert!(reactor.next_completion().unwrap().is_none());
}

#[test]
fn invalid_url_completes_with_its_error() {
    let server = HttpServer::start();
    let client = Client::new();
    let mut reactor = Reactor::new(&client).unwrap();
    let good = reactor.submit(server.url("/item/5"));
    let bad = reactor.submit("not a url");
    let scheme = reactor.submit("ftp://x/");
    assert_eq!((good.get(), bad.get(), scheme.get()), (0, 1, 2));
    assert_eq!(reactor.pending(), 3);
    let mut results = HashMap::new();
    while let Some(done) = reactor.next_completion().unwrap() {
        assert!(results.insert(done.id, done.result).is_none());
    }
    assert_eq!(results.len(), 3);
    let error = results.remove(&bad).unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidUrl);
    assert_eq!(error.url(), Some("not a url"));
    let error = results.remove(&scheme).unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidUrl);
    assert_eq!(error.url(), Some("ftp://x/"));
    assert_body(
        results.remove(&good).unwrap().unwrap().body(),
        &item_body(5),
        "/item/5",
    );
}

#[test]
fn ids_count_from_zero_per_reactor() {
    let client = Client::new();
    let mut a = Reactor::new(&client).unwrap();
    let mut b = Reactor::new(&client).unwrap();
    assert_eq!(a.submit("not a url").get(), 0);
    assert_eq!(a.submit("not a url").get(), 1);
    assert_eq!(b.submit("not a url").get(), 0);
    let ids: Vec<u64> = std::iter::from_fn(|| a.next_completion().unwrap())
        .map(|d| d.id.get())
        .collect();
    assert_eq!(ids, [0, 1]);
}

#[test]
fn in_flight_respects_the_connection_limit() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(3).build().unwrap();
    let mut reactor = Reactor::new(&client).unwrap();
    for n in 0..10 {
        reactor.submit(server.url(&format!("/item/{n}?delay=20")));
    }
    assert_eq!(reactor.pending(), 10);
    let mut count = 0;
    while let Some(done) = reactor.next_completion().unwrap() {
        count += 1;
        assert!(
            reactor.in_flight() <= 3,
            "{} in flight",
            reactor.in_flight()
        );
        assert_eq!(reactor.pending(), 10 - count);
        assert_body(
            done.result.unwrap().body(),
            &item_body(done.id.get()),
            "item",
        );
    }
    assert_eq!(count, 10);
    assert!(
        server.max_open() <= 3,
        "server saw {} connections at once",
        server.max_open()
    );
}
