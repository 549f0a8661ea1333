//! `fetch_many` and `fetch` against a real HTTP server (hyper): every body
//! exactly right, results in input order, connection limits honoured as the
//! server sees them, and requests arriving as sent.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use multifetch::{Client, Request, StatusCode, Url};
use support::{Echo, HttpServer, assert_body, item_body};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `/item/{n}` for even `n`, `/chunked/{n}` for odd: both framings, one body.
fn item_url(server: &HttpServer, n: u64) -> String {
    let route = if n % 2 == 0 { "item" } else { "chunked" };
    server.url(&format!("/{route}/{n}"))
}

/// Fetches items `0..count` and checks every slot: Ok, 200, its own body,
/// its own URL (so results are in input order).
fn fetch_items(client: &Client, server: &HttpServer, count: u64) {
    let urls: Vec<String> = (0..count).map(|n| item_url(server, n)).collect();
    let results = client.fetch_many(&urls);
    assert_eq!(results.len(), urls.len(), "one result per URL");
    for (n, (url, result)) in (0..count).zip(urls.iter().zip(results)) {
        let response = result.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(
            response.url().as_str(),
            url,
            "slot {n} holds the response of another URL"
        );
        assert_body(response.body(), &item_body(n), url);
    }
}

#[test]
fn thousand_urls_through_fifty_connections() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(50).build().unwrap();
    fetch_items(&client, &server, 1000);
    assert_eq!(server.requests(), 1000);
    assert!(
        server.max_open() <= 50,
        "server saw {} connections at once",
        server.max_open()
    );
}

#[test]
fn thousand_urls_at_once() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(1000).build().unwrap();
    fetch_items(&client, &server, 1000);
    assert_eq!(server.requests(), 1000);
    assert_eq!(
        server.accepted(),
        1000,
        "one connection per request while keep-alive is off"
    );
}

#[test]
fn per_host_limit_is_honoured() {
    let server = HttpServer::start();
    let client = Client::builder()
        .max_connections(100)
        .max_connections_per_host(8)
        .build()
        .unwrap();
    // Each answer takes 20 ms, so connections pile up to whatever the limit lets through.
    let urls: Vec<String> = (0..200)
        .map(|n| server.url(&format!("/item/{n}?delay=20")))
        .collect();
    let results = client.fetch_many(&urls);
    for (n, result) in (0..200).zip(results) {
        assert_body(result.unwrap().body(), &item_body(n), &urls[n as usize]);
    }
    let max = server.max_open();
    assert!(
        max <= 8,
        "server saw {max} connections at once; the per-host limit is 8"
    );
    assert!(
        max >= 4,
        "server saw only {max} connection(s) at once; the requests did not overlap"
    );
}

/// Three origins (host names pinned to the one server) so that only the
/// total limit can hold connections back.
#[test]
fn total_limit_is_honoured_across_hosts() {
    let server = HttpServer::start();
    let client = Client::builder()
        .max_connections(5)
        .resolve("a.test", [LOCALHOST])
        .resolve("b.test", [LOCALHOST])
        .build()
        .unwrap();
    let port = server.port();
    let urls: Vec<String> = (0..150)
        .map(|n| {
            let host = ["127.0.0.1", "a.test", "b.test"][n % 3];
            format!("http://{host}:{port}/item/{n}?delay=10")
        })
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        assert_body(result.unwrap().body(), &item_body(n as u64), &urls[n]);
    }
    let max = server.max_open();
    assert!(
        max <= 5,
        "server saw {max} connections at once; the total limit is 5"
    );
    assert!(
        max >= 3,
        "server saw only {max} connection(s) at once; the requests did not overlap"
    );
}

/// The per-host limit is per host: three hosts at 2 each make 6 at once.
#[test]
fn per_host_limit_applies_to_each_host_separately() {
    let server = HttpServer::start();
    let client = Client::builder()
        .max_connections(100)
        .max_connections_per_host(2)
        .resolve("a.test", [LOCALHOST])
        .resolve("b.test", [LOCALHOST])
        .build()
        .unwrap();
    let port = server.port();
    let urls: Vec<String> = (0..60)
        .map(|n| {
            let host = ["127.0.0.1", "a.test", "b.test"][n % 3];
            format!("http://{host}:{port}/item/{n}?delay=30")
        })
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        assert_body(result.unwrap().body(), &item_body(n as u64), &urls[n]);
    }
    let max = server.max_open();
    assert!(
        max <= 6,
        "server saw {max} connections at once; 3 hosts at 2 each allow 6"
    );
    assert!(
        max > 2,
        "server saw only {max} connections at once; hosts were limited together"
    );
}

#[test]
fn fetch_one_url() {
    let server = HttpServer::start();
    let client = Client::new();
    let response = client.fetch(server.url("/item/42")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), multifetch::Version::HTTP_11);
    assert_body(response.body(), &item_body(42), "/item/42");
    assert_eq!(
        response.header("content-length").unwrap(),
        &item_body(42).len().to_string()
    );
    assert_eq!(response.text(), String::from_utf8(item_body(42)).unwrap());
    assert_eq!(response.into_body(), item_body(42));
}

#[test]
fn empty_batch_gives_no_results() {
    let client = Client::new();
    let results = client.fetch_many(Vec::<String>::new());
    assert!(results.is_empty());
}

#[test]
fn large_and_empty_bodies() {
    let server = HttpServer::start();
    let client = Client::new();
    // item 0 is empty, item 1 is over 200 KB; both framings.
    for path in [
        "/item/0",
        "/chunked/0",
        "/item/1",
        "/chunked/1",
        "/item/98",
        "/chunked/195",
    ] {
        let n: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
        let response = client.fetch(server.url(path)).unwrap();
        assert_body(response.body(), &item_body(n), path);
    }
}

#[test]
fn error_statuses_are_responses() {
    let server = HttpServer::start();
    let client = Client::new();
    let results = client.fetch_many([
        server.url("/status/404"),
        server.url("/status/500"),
        server.url("/nowhere"),
    ]);
    let statuses: Vec<u16> = results
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, [404, 500, 404]);
    assert_eq!(results[2].as_ref().unwrap().body(), b"not found");
}

#[test]
fn request_line_and_default_headers_reach_the_server() {
    let server = HttpServer::start();
    let response = Client::new().fetch(server.url("/echo?a=1&b=%20x")).unwrap();
    let echo = Echo::parse(response.body());
    assert_eq!(echo.method, "GET");
    assert_eq!(echo.target, "/echo?a=1&b=%20x");
    assert_eq!(echo.one("host"), format!("127.0.0.1:{}", server.port()));
    assert_eq!(
        echo.one("user-agent"),
        concat!("multifetch/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(echo.one("accept"), "*/*");
    assert!(
        echo.all("connection").is_empty(),
        "no Connection header expected: {:?}",
        echo.headers
    );
    assert!(
        echo.all("content-length").is_empty(),
        "a GET without a body has no Content-Length"
    );
    assert!(echo.body.is_empty());
}

#[test]
fn post_body_and_headers_reach_the_server() {
    let server = HttpServer::start();
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let request = Request::post(&server.url("/echo"))
        .unwrap()
        .header("content-type", "application/octet-stream")
        .unwrap()
        .header("x-repeat", "1")
        .unwrap()
        .header("x-repeat", "2")
        .unwrap()
        .body(body.clone());
    let response = Client::new().fetch(request).unwrap();
    let echo = Echo::parse(response.body());
    assert_eq!(echo.method, "POST");
    assert_eq!(echo.target, "/echo");
    assert_eq!(echo.one("content-length"), "100000");
    assert_eq!(echo.one("content-type"), "application/octet-stream");
    assert_eq!(echo.all("x-repeat"), ["1", "2"]);
    assert_body(&echo.body, &body, "echoed POST body");
}

#[test]
fn other_methods_reach_the_server() {
    let server = HttpServer::start();
    let url = server.url("/echo");
    let requests = [
        Request::put(&url).map(|r| r.body("put body")),
        Request::delete(&url),
        Request::new(multifetch::Method::PATCH, Url::parse(&url).unwrap()).map(|r| r.body("")),
    ];
    let results = Client::new().fetch_many(requests);
    let echoes: Vec<Echo> = results
        .into_iter()
        .map(|r| Echo::parse(r.unwrap().body()))
        .collect();
    assert_eq!(echoes[0].method, "PUT");
    assert_eq!(echoes[0].body, b"put body");
    assert_eq!(echoes[1].method, "DELETE");
    assert!(echoes[1].body.is_empty());
    assert_eq!(echoes[2].method, "PATCH");
    assert_eq!(
        echoes[2].one("content-length"),
        "0",
        "an empty body is still announced"
    );
}

#[test]
fn head_request_has_no_body() {
    let server = HttpServer::start();
    let response = Client::new()
        .fetch(Request::head(&server.url("/item/7")).unwrap())
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.header("content-length").unwrap(),
        &item_body(7).len().to_string()
    );
    assert!(response.body().is_empty());
}

#[test]
fn default_headers_are_sent_and_request_headers_win() {
    let server = HttpServer::start();
    let client = Client::builder()
        .default_header("x-api-key", "secret")
        .unwrap()
        .default_header("user-agent", "custom-agent/1")
        .unwrap()
        .default_header("accept", "text/plain")
        .unwrap()
        .build()
        .unwrap();
    let plain = client.fetch(server.url("/echo")).unwrap();
    let echo = Echo::parse(plain.body());
    assert_eq!(echo.one("x-api-key"), "secret");
    assert_eq!(echo.one("user-agent"), "custom-agent/1");
    assert_eq!(echo.one("accept"), "text/plain");

    let request = Request::get(&server.url("/echo"))
        .unwrap()
        .header("accept", "application/json")
        .unwrap();
    let echo = Echo::parse(client.fetch(request).unwrap().body());
    assert_eq!(
        echo.one("accept"),
        "application/json",
        "the request's own header replaces the default"
    );
    assert_eq!(echo.one("x-api-key"), "secret");
}

#[test]
fn invalid_default_header_is_refused() {
    let error = Client::builder()
        .default_header("bad name", "v")
        .unwrap_err();
    assert_eq!(error.kind(), multifetch::ErrorKind::InvalidRequest);
    let error = Client::builder()
        .default_header("x-ok", "a\r\nx-evil: 1")
        .unwrap_err();
    assert_eq!(error.kind(), multifetch::ErrorKind::InvalidRequest);
}

#[test]
fn every_kind_of_input_is_accepted() {
    let server = HttpServer::start();
    let s = server.url("/item/1");
    let string = server.url("/item/2");
    let url = Url::parse(&server.url("/item/3")).unwrap();
    let client = Client::new();
    let results = [
        client.fetch(s.as_str()),
        client.fetch(&string),
        client.fetch(string.clone()),
        client.fetch(&url),
        client.fetch(url.clone()),
        client.fetch(Request::get(&s)),
        client.fetch(Request::get(&s).unwrap()),
    ];
    let expected = [1, 2, 2, 3, 3, 1, 1];
    for (result, n) in results.into_iter().zip(expected) {
        assert_body(result.unwrap().body(), &item_body(n), "input kinds");
    }
}

#[test]
fn response_url_address_and_timings() {
    let server = HttpServer::start();
    let url = server.url("/item/9?delay=50");
    let response = Client::new().fetch(&url).unwrap();
    assert_eq!(response.url(), &Url::parse(&url).unwrap());
    assert_eq!(response.remote_addr(), Some(server.addr()));
    let t = *response.timings();
    assert!(t.connect.is_some(), "{t:?}");
    assert!(t.connect.unwrap() <= t.first_byte, "{t:?}");
    assert!(
        t.first_byte >= Duration::from_millis(50),
        "the server waited 50 ms before answering: {t:?}"
    );
    assert!(t.total >= t.first_byte, "{t:?}");
    assert!(t.total < Duration::from_secs(5), "{t:?}");
    assert!(t.queued < Duration::from_secs(1), "{t:?}");
}

/// `Timings` documents that phases that did not happen, such as a DNS
/// lookup for an IP address, are `None`.
#[test]
fn ip_literal_has_no_dns_timing() {
    let server = HttpServer::start();
    let response = Client::new().fetch(server.url("/item/9")).unwrap();
    assert_eq!(response.timings().dns, None, "{:?}", response.timings());
}

#[test]
fn queued_time_is_measured_when_the_limit_holds_requests_back() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(1).build().unwrap();
    let results = client.fetch_many([server.url("/item/1?delay=100"), server.url("/item/2")]);
    let first = *results[0].as_ref().unwrap().timings();
    let second = *results[1].as_ref().unwrap().timings();
    assert!(first.queued < Duration::from_millis(50), "{first:?}");
    assert!(
        second.queued >= Duration::from_millis(100),
        "the second waited for the first: {second:?}"
    );
    assert!(
        second.total < Duration::from_millis(100),
        "queueing does not count in total: {second:?}"
    );
}

/// A body far larger than the socket buffers: the request goes out over many
/// partial writes.
#[test]
fn large_request_body_is_sent_whole() {
    let server = HttpServer::start();
    let body: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    let request = Request::put(&server.url("/echo"))
        .unwrap()
        .body(body.clone());
    let response = Client::new().fetch(request).unwrap();
    let echo = Echo::parse(response.body());
    assert_eq!(echo.one("content-length"), "8000000");
    assert_body(&echo.body, &body, "echoed PUT body");
}

/// The whole-request timeout starts when a request leaves the queue: one
/// stuck request does not make the ones queued behind it time out.
#[test]
fn time_in_the_queue_does_not_count_against_the_timeout() {
    let server = HttpServer::start();
    let client = Client::builder()
        .max_connections(1)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let results = client.fetch_many([
        server.url("/item/1?delay=2000"),
        server.url("/item/2?delay=100"),
        server.url("/item/3?delay=100"),
    ]);
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), multifetch::ErrorKind::Timeout, "{error}");
    assert_eq!(error.timeout_phase(), Some(multifetch::Phase::ReadHead));
    assert_body(results[1].as_ref().unwrap().body(), &item_body(2), "second");
    assert_body(results[2].as_ref().unwrap().body(), &item_body(3), "third");
}

/// Clones of one client used from several threads at once.
#[test]
fn one_client_from_several_threads() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(16).build().unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let client = client.clone();
            let server = &server;
            scope.spawn(move || {
                let urls: Vec<String> = (0..100).map(|i| item_url(server, t * 1000 + i)).collect();
                for (i, result) in (0..100).zip(client.fetch_many(&urls)) {
                    let n = t * 1000 + i;
                    assert_body(result.unwrap().body(), &item_body(n), &urls[i as usize]);
                }
            });
        }
    });
    assert_eq!(server.requests(), 400);
}

/// `fetch_each` hands every input position over exactly once, with its own
/// result, and counts what happened.
#[test]
fn fetch_each_reports_every_position_once() {
    let server = HttpServer::start();
    let client = Client::builder().max_connections(8).build().unwrap();
    let inputs: Vec<String> = (0..500u64)
        .map(|n| {
            if n % 50 == 7 {
                "not a url".to_owned()
            } else {
                item_url(&server, n)
            }
        })
        .collect();
    let mut seen = vec![false; inputs.len()];
    let summary = client.fetch_each(&inputs, |index, result| {
        assert!(!seen[index], "position {index} reported twice");
        seen[index] = true;
        if index % 50 == 7 {
            assert_eq!(
                result.unwrap_err().kind(),
                multifetch::ErrorKind::InvalidUrl
            );
        } else {
            assert_body(
                result.unwrap().body(),
                &item_body(index as u64),
                &inputs[index],
            );
        }
    });
    assert!(
        seen.iter().all(|s| *s),
        "some positions were never reported"
    );
    assert_eq!(summary.ok, 490);
    assert_eq!(summary.failed, 10);
    assert_eq!(summary.total(), 500);
    assert_eq!(
        summary
            .failed_by_kind
            .get(&multifetch::ErrorKind::InvalidUrl),
        Some(&10)
    );
    let body_bytes: u64 = (0..500u64)
        .filter(|n| n % 50 != 7)
        .map(|n| item_body(n).len() as u64)
        .sum();
    assert_eq!(summary.body_bytes, body_bytes);
    assert_eq!(
        summary.connections_opened, 490,
        "the server closes every connection"
    );
    assert!(summary.bytes_received > body_bytes);
}
