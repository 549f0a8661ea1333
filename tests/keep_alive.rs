//! Keep-alive: idle connections are reused within and across calls, never
//! when the response or the server says they cannot be, and a request that
//! meets a connection the server has just closed is retried once when that
//! is safe.

mod support;

use std::io::Write;
use std::thread;
use std::time::Duration;

use multifetch::{Client, ErrorKind, Request, StatusCode};
use support::{
    HttpServer, ScriptServer, assert_body, item_body, read_request_head, serve_each, wait_until,
};

#[test]
fn sequential_fetches_reuse_one_connection() {
    let server = HttpServer::start_keep_alive();
    let client = Client::new();
    for n in 0..10 {
        let response = client.fetch(server.url(&format!("/item/{n}"))).unwrap();
        assert_body(response.body(), &item_body(n), "item");
        assert_eq!(response.timings().reused, n > 0, "{:?}", response.timings());
        if n > 0 {
            assert_eq!(
                response.timings().connect,
                None,
                "no connect on a reused connection: {:?}",
                response.timings()
            );
        }
    }
    assert_eq!(server.requests(), 10);
    assert_eq!(
        server.accepted(),
        1,
        "every request after the first reuses the connection"
    );
}

#[test]
fn batch_reuses_connections_within_the_per_host_limit() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .max_connections_per_host(4)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..300)
        .map(|n| server.url(&format!("/chunked/{n}")))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        assert_body(result.unwrap().body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(server.requests(), 300);
    assert!(
        server.accepted() <= 4,
        "{} connections for 300 requests at 4 per host",
        server.accepted()
    );
    assert!(
        server.max_open() <= 4,
        "server saw {} connections at once",
        server.max_open()
    );

    // The next batch on the same client starts with the idle connections.
    let more: Vec<String> = (300..340)
        .map(|n| server.url(&format!("/item/{n}")))
        .collect();
    for (n, result) in (300..).zip(client.fetch_many(&more)) {
        assert_body(result.unwrap().body(), &item_body(n), "second batch");
    }
    assert!(
        server.accepted() <= 4,
        "{} connections after a second batch",
        server.accepted()
    );
}

#[test]
fn connection_close_is_honoured() {
    // This server answers with `Connection: close` and closes.
    let server = HttpServer::start();
    let client = Client::new();
    for n in 0..5 {
        assert_body(
            client
                .fetch(server.url(&format!("/item/{n}")))
                .unwrap()
                .body(),
            &item_body(n),
            "item",
        );
    }
    assert_eq!(server.accepted(), 5);
}

/// Fetches `/` from `server` three times in a row, checking each body, and
/// returns how many connections the server accepted for them.
#[track_caller]
fn connections_for_three_fetches(server: &ScriptServer, body: &[u8]) -> usize {
    let client = Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(client.fetch(server.url("/")).unwrap().body(), body);
    }
    server.accepted()
}

#[test]
fn close_delimited_response_is_not_reused() {
    let server = ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\n\r\nto the end");
    assert_eq!(connections_for_three_fetches(&server, b"to the end"), 3);
}

#[test]
fn http10_response_is_not_reused() {
    let server = ScriptServer::start(|conn| {
        serve_each(conn, |_| {
            Some(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec())
        });
    });
    assert_eq!(
        connections_for_three_fetches(&server, b"ok"),
        3,
        "HTTP/1.0 without keep-alive closes after each response"
    );
}

/// Responses without a body leave the connection ready for the next one:
/// the client must not take the next response for a body.
#[test]
fn bodiless_responses_keep_the_connection_in_step() {
    let server = ScriptServer::start(|conn| {
        serve_each(conn, |head| {
            let path = head.split(' ').nth(1).unwrap_or("");
            let response: &[u8] = if head.starts_with("HEAD ") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
            } else if path == "/204" {
                b"HTTP/1.1 204 No Content\r\n\r\n"
            } else if path == "/304" {
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            };
            Some(response.to_vec())
        });
    });
    let client = Client::builder()
        .max_connections(1)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let requests = [
        Request::head(&server.url("/a")),
        Request::get(&server.url("/b")),
        Request::get(&server.url("/204")),
        Request::get(&server.url("/c")),
        Request::get(&server.url("/304")),
        Request::get(&server.url("/d")),
    ];
    let results = client.fetch_many(requests);
    let got: Vec<(u16, Vec<u8>)> = results
        .into_iter()
        .map(|r| {
            let r = r.unwrap();
            (r.status().as_u16(), r.into_body())
        })
        .collect();
    let expected: Vec<(u16, Vec<u8>)> = vec![
        (200, vec![]),
        (200, b"hello".to_vec()),
        (204, vec![]),
        (200, b"hello".to_vec()),
        (304, vec![]),
        (200, b"hello".to_vec()),
    ];
    assert_eq!(got, expected);
    assert_eq!(
        server.accepted(),
        1,
        "all six requests share one connection"
    );
}

/// A response the client gave up on (too large) leaves unread bytes: its
/// connection must not carry another request.
#[test]
fn failed_response_is_not_reused() {
    let server = ScriptServer::start(|conn| {
        serve_each(conn, |head| {
            Some(if head.starts_with("GET /big ") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789".to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall".to_vec()
            })
        });
    });
    let client = Client::builder()
        .max_body_size(10)
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(client.fetch(server.url("/small")).unwrap().body(), b"small");
    assert_eq!(
        client.fetch(server.url("/big")).unwrap_err().kind(),
        ErrorKind::TooLarge
    );
    assert_eq!(client.fetch(server.url("/small")).unwrap().body(), b"small");
    assert_eq!(
        server.accepted(),
        2,
        "the connection of the failed response was closed"
    );
}

/// The server closes an idle connection between two requests.
#[test]
fn connection_closed_while_idle_is_not_used() {
    let server = ScriptServer::start(|conn| {
        if read_request_head(conn).is_some() {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        }
        thread::sleep(Duration::from_millis(30));
        // Returning closes the connection: a keep-alive timeout on the server.
    });
    let client = Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(client.fetch(server.url("/1")).unwrap().body(), b"first");
    assert!(wait_until(Duration::from_secs(2), || server.active() == 0));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(client.fetch(server.url("/2")).unwrap().body(), b"first");
    assert_eq!(server.accepted(), 2);
}

/// The server closes the connection just as the next request arrives (its
/// keep-alive timer ran out at that moment): no byte of a response came
/// back, so a GET is sent again on a fresh connection.
fn closes_on_second_request() -> ScriptServer {
    ScriptServer::start(|conn| {
        if read_request_head(conn).is_some() {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
        }
        read_request_head(conn);
    })
}

#[test]
fn idempotent_request_is_retried_once_on_a_fresh_connection() {
    let server = closes_on_second_request();
    let client = Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(client.fetch(server.url("/1")).unwrap().body(), b"first");
    let response = client.fetch(server.url("/2")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"first");
    assert_eq!(server.accepted(), 2);
}

#[test]
fn post_is_not_retried() {
    let server = closes_on_second_request();
    let client = Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(client.fetch(server.url("/1")).unwrap().body(), b"first");
    let post = Request::post(&server.url("/2")).unwrap().body("payload");
    let error = client.fetch(post).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().starts_with("empty reply: "), "{error}");
    assert_eq!(server.accepted(), 1, "a POST is never sent twice");
}

#[test]
fn idle_connections_expire() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .pool_idle_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert_body(
        client.fetch(server.url("/item/1")).unwrap().body(),
        &item_body(1),
        "first",
    );
    thread::sleep(Duration::from_millis(300));
    assert_body(
        client.fetch(server.url("/item/2")).unwrap().body(),
        &item_body(2),
        "second",
    );
    assert_eq!(
        server.accepted(),
        2,
        "the expired connection was not reused"
    );
    assert!(
        wait_until(Duration::from_secs(2), || server.open() == 1),
        "{} open; the expired one was not closed",
        server.open()
    );
}

#[test]
fn dropping_the_client_closes_idle_connections() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .max_connections_per_host(3)
        .build()
        .unwrap();
    let urls: Vec<String> = (0..30)
        .map(|n| server.url(&format!("/item/{n}?delay=5")))
        .collect();
    assert!(client.fetch_many(&urls).into_iter().all(|r| r.is_ok()));
    assert!(server.open() > 0, "the client keeps idle connections");
    drop(client);
    assert!(
        server.wait_idle(Duration::from_secs(2)),
        "{} connections still open",
        server.open()
    );
}

/// Idle connections count against `max_connections`; another origin that
/// needs a slot gets one by closing an idle connection, not by waiting.
#[test]
fn idle_connections_make_room_for_other_hosts() {
    let server = HttpServer::start_keep_alive();
    let localhost = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let client = Client::builder()
        .max_connections(2)
        .resolve("a.test", [localhost])
        .resolve("b.test", [localhost])
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let port = server.port();
    for host in ["a.test", "b.test", "a.test"] {
        let urls: Vec<String> = (0..10)
            .map(|n| format!("http://{host}:{port}/item/{n}?delay=5"))
            .collect();
        for (n, result) in (0..).zip(client.fetch_many(&urls)) {
            assert_body(result.unwrap().body(), &item_body(n), &urls[n as usize]);
        }
    }
    assert!(
        server.max_open() <= 2,
        "server saw {} connections at once",
        server.max_open()
    );
}

#[test]
fn no_idle_connections_kept_when_the_pool_is_off() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    for n in 0..3 {
        assert_body(
            client
                .fetch(server.url(&format!("/item/{n}")))
                .unwrap()
                .body(),
            &item_body(n),
            "item",
        );
    }
    assert_eq!(server.accepted(), 3);
    assert!(
        server.wait_idle(Duration::from_secs(2)),
        "{} connections still open",
        server.open()
    );
}

#[test]
fn reactor_reports_its_idle_connections() {
    let server = HttpServer::start_keep_alive();
    let client = Client::builder()
        .max_connections_per_host(3)
        .build()
        .unwrap();
    let mut reactor = multifetch::Reactor::new(&client).unwrap();
    for n in 0..9 {
        reactor.submit(server.url(&format!("/item/{n}?delay=20")));
    }
    while let Some(done) = reactor.next_completion().unwrap() {
        assert_body(
            done.result.unwrap().body(),
            &item_body(done.id.get()),
            "item",
        );
    }
    assert_eq!(reactor.in_flight(), 0);
    assert_eq!(reactor.idle_connections(), 3);
    assert_eq!(server.accepted(), 3);
    drop(reactor);
    assert!(
        server.wait_idle(Duration::from_secs(2)),
        "{} connections still open",
        server.open()
    );
}

/// Bytes after a complete response are not the start of the next one: the
/// connection that carried them must not be reused.
#[test]
fn connection_with_bytes_after_the_response_is_not_reused() {
    let server = ScriptServer::start(|conn| {
        serve_each(conn, |_| {
            Some(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale".to_vec())
        });
    });
    assert_eq!(connections_for_three_fetches(&server, b"ok"), 3);
}
