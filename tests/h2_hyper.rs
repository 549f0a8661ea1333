//! HTTP/2 through the whole client against hyper's HTTP/2 server, an
//! independent implementation: over TLS with ALPN (h2, or HTTP/1.1 when
//! the server or the client will not speak h2) and in cleartext with prior
//! knowledge (h2c). Every body is checked byte for byte, and the server
//! counts the connections and which version each request came over.

mod feature_support;
mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use multifetch::{Client, ClientBuilder, ErrorKind, Reactor, Request, Version};
use support::{HttpServer, Mode, TestCa, assert_body, item_body};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A server speaking h2 over TLS (ALPN `h2`, `http/1.1`), and a client that
/// trusts it.
fn tls_h2(max_streams: u32) -> (HttpServer, ClientBuilder) {
    tls_server(&[b"h2", b"http/1.1"], max_streams)
}

fn tls_server(alpn: &[&[u8]], max_streams: u32) -> (HttpServer, ClientBuilder) {
    let ca = TestCa::new();
    let server = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(alpn),
        max_streams,
    });
    (server, client_for(&ca))
}

fn client_for(ca: &TestCa) -> ClientBuilder {
    Client::builder()
        .add_root_certificate_pem(ca.pem().as_bytes())
        .unwrap()
        .resolve("localhost", [LOCALHOST])
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
}

#[test]
fn a_batch_over_tls_h2_shares_one_connection_with_exact_bodies() {
    let (server, builder) = tls_h2(100);
    let client = builder.build().unwrap();
    let urls: Vec<String> = (0..300)
        .map(|n| server.https_url(&format!("/item/{n}")))
        .collect();
    let mut reactor = Reactor::new(&client).unwrap();
    let ids: Vec<_> = urls.iter().map(|u| reactor.submit(u.as_str())).collect();
    let mut done = std::collections::HashMap::new();
    while let Some(c) = reactor.next_completion().unwrap() {
        done.insert(c.id, c.result);
    }
    for (n, id) in ids.iter().enumerate() {
        let response = done.remove(id).unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), Version::HTTP_2);
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    let counters = reactor.counters();
    assert_eq!(counters.connections_opened, 1, "{counters:?}");
    assert_eq!(counters.h2_streams, 300, "{counters:?}");
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.h2_requests(), 300);
    // The connection waits in the pool once, not once per stream.
    assert_eq!(reactor.idle_connections(), 1);
}

#[test]
fn fetch_each_summary_counts_streams_and_timings_tell_reuse() {
    let (server, builder) = tls_h2(100);
    let client = builder.build().unwrap();
    let first = client.fetch(server.https_url("/item/3").as_str()).unwrap();
    assert!(!first.timings().reused);
    assert!(first.timings().tls.is_some());
    let urls: Vec<String> = (0..50)
        .map(|n| server.https_url(&format!("/item/{n}")))
        .collect();
    let mut reused = 0;
    let summary = client.fetch_each(urls, |_, result| {
        if result.unwrap().timings().reused {
            reused += 1;
        }
    });
    assert_eq!((summary.ok, summary.failed), (50, 0), "{summary}");
    assert_eq!(summary.h2_streams, 50, "{summary}");
    // The client keeps the connection the first fetch opened: it carries
    // the whole batch.
    assert_eq!(summary.connections_opened, 0, "{summary}");
    assert_eq!(reused, 50);
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_server_that_chooses_http11_in_alpn_gets_http11() {
    let (server, builder) = tls_server(&[b"http/1.1"], 100);
    let client = builder.max_connections_per_host(4).build().unwrap();
    let urls: Vec<String> = (0..40)
        .map(|n| server.https_url(&format!("/item/{n}?delay=20")))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        let response = result.unwrap();
        assert_eq!(response.version(), Version::HTTP_11);
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(server.h2_requests(), 0);
    // After the first answer said HTTP/1.1, requests opened their own
    // connections again, within the per-host limit.
    assert!(
        server.max_open() > 1 && server.max_open() <= 4,
        "{}",
        server.max_open()
    );
}

#[test]
fn http1_only_never_offers_h2() {
    let (server, builder) = tls_h2(100);
    let client = builder.http1_only().build().unwrap();
    let response = client.fetch(server.https_url("/item/5").as_str()).unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_body(response.body(), &item_body(5), "item 5");
    assert_eq!(server.h2_requests(), 0);
}

#[test]
fn h2c_with_prior_knowledge() {
    let server = HttpServer::start_with(Mode::H2c { max_streams: 50 });
    let client = Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..200)
        .map(|n| server.url(&format!("/chunked/{n}")))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        let response = result.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.h2_requests(), 200);
}

#[test]
fn request_bodies_larger_than_the_servers_windows() {
    let (server, builder) = tls_h2(100);
    let client = builder.build().unwrap();
    let bodies: Vec<Vec<u8>> = (0..4u32)
        .map(|i| (0..3_000_000u32 + i).map(|b| (b % 251) as u8).collect())
        .collect();
    let requests: Vec<Request> = bodies
        .iter()
        .map(|b| {
            Request::post(&server.https_url("/echo"))
                .unwrap()
                .body(b.clone())
        })
        .collect();
    for (result, body) in client.fetch_many(requests).into_iter().zip(&bodies) {
        let response = result.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        let echo = support::Echo::parse(response.body());
        assert_eq!(echo.method, "POST");
        assert_eq!(echo.one("content-length"), body.len().to_string());
        assert_body(&echo.body, body, "echoed body");
    }
}

#[test]
fn headers_over_h2_authority_defaults_auth_and_no_connection_fields() {
    let (server, builder) = tls_h2(100);
    let client = builder
        .default_header("x-default", "d")
        .unwrap()
        .default_header("connection", "keep-alive")
        .unwrap()
        .build()
        .unwrap();
    let request = Request::get(&server.https_url("/echo?a=b"))
        .unwrap()
        .header("x-own", "o")
        .unwrap()
        .header("keep-alive", "timeout=5")
        .unwrap()
        .header("transfer-encoding", "chunked")
        .unwrap()
        .basic_auth("user", Some("pass"));
    let response = client.fetch(request).unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    let echo = support::Echo::parse(response.body());
    // hyper gives an h2 request's :scheme and :authority as the URI.
    assert_eq!(
        echo.target,
        format!("https://localhost:{}/echo?a=b", server.port())
    );
    assert_eq!(echo.one("x-own"), "o");
    assert_eq!(echo.one("x-default"), "d");
    assert_eq!(echo.one("authorization"), "Basic dXNlcjpwYXNz");
    assert!(echo.one("user-agent").starts_with("multifetch/"));
    for name in ["connection", "keep-alive", "transfer-encoding", "host"] {
        assert!(echo.all(name).is_empty(), "{name} must not be sent over h2");
    }
}

#[test]
fn redirects_between_h1_and_h2_origins() {
    let ca = TestCa::new();
    let h2 = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(&[b"h2", b"http/1.1"]),
        max_streams: 100,
    });
    let h1 = HttpServer::start_keep_alive();
    let client = client_for(&ca).build().unwrap();
    // h2 -> h1 -> h2.
    let back = h2.https_url("/item/7");
    let via_h1 = h1.url(&format!("/redirect?to={back}"));
    let start = h2.https_url(&format!("/redirect?to={via_h1}"));
    let response = client.fetch(start.as_str()).unwrap();
    assert_eq!(response.redirects(), 2);
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.url().as_str(), back);
    assert_body(response.body(), &item_body(7), "after two redirects");
    assert_eq!(h1.requests(), 1);
    assert_eq!(h2.h2_requests(), 2);
}

#[test]
fn gzip_is_decoded_over_h2_when_the_server_compresses() {
    // hyper serves what the handler makes; the decoding path is the same
    // as h1's and is exercised by tests/decompress.rs. Here: the request
    // asks for it over h2.
    let (server, builder) = tls_h2(100);
    let client = builder.build().unwrap();
    let response = client.fetch(server.https_url("/echo").as_str()).unwrap();
    let echo = support::Echo::parse(response.body());
    if cfg!(feature = "gzip") {
        assert_eq!(echo.one("accept-encoding"), "gzip, deflate");
    }
}

#[test]
fn limits_over_h2_fail_only_the_response_that_breaks_them() {
    let (server, builder) = tls_h2(100);
    let client = builder
        .max_head_size(4096)
        .max_body_size(100_000)
        .build()
        .unwrap();
    let urls = [
        server.https_url("/item/2"),
        server.https_url("/big-header/10000"),
        server.https_url("/item/1"), // 200,001 bytes: over the body limit
        server.https_url("/item/4"),
    ];
    let results = client.fetch_many(&urls);
    assert_body(results[0].as_ref().unwrap().body(), &item_body(2), "item 2");
    let head = results[1].as_ref().unwrap_err();
    assert_eq!(head.kind(), ErrorKind::TooLarge, "{head}");
    assert!(head.to_string().contains("4096-byte limit"), "{head}");
    assert!(head.to_string().contains(&urls[1]), "{head}");
    let body = results[2].as_ref().unwrap_err();
    assert_eq!(body.kind(), ErrorKind::TooLarge, "{body}");
    assert!(body.to_string().contains("100000 bytes"), "{body}");
    assert_body(results[3].as_ref().unwrap().body(), &item_body(4), "item 4");
}

#[test]
fn more_h2_connections_only_when_asked_and_streams_are_full() {
    let (server, builder) = tls_h2(10);
    let client = builder.http2_max_connections_per_host(3).build().unwrap();
    let urls: Vec<String> = (0..60)
        .map(|n| server.https_url(&format!("/item/{n}?delay=100")))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        assert_body(result.unwrap().body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(server.accepted(), 3);

    let (server, builder) = tls_h2(10);
    let client = builder.build().unwrap();
    let urls: Vec<String> = (0..30)
        .map(|n| server.https_url(&format!("/item/{n}?delay=50")))
        .collect();
    assert!(client.fetch_many(&urls).iter().all(Result::is_ok));
    assert_eq!(
        server.accepted(),
        1,
        "requests beyond the streams wait for one"
    );
}

#[test]
fn ten_thousand_urls_at_a_thousand_concurrent_streams_in_order() {
    let server = HttpServer::start_with(Mode::H2c { max_streams: 1000 });
    let client = Client::builder()
        .http2_prior_knowledge()
        .http2_max_concurrent_streams(1000)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..10_000)
        .map(|n| server.url(&format!("/item/{n}")))
        .collect();
    let results = client.fetch_many(&urls);
    assert_eq!(results.len(), urls.len());
    for (n, result) in results.iter().enumerate() {
        let response = result.as_ref().unwrap();
        assert_eq!(response.url().as_str(), urls[n], "input order");
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.h2_requests(), 10_000);
}

#[test]
fn mixed_h1_h2_https_http_origins_in_one_batch() {
    let ca = TestCa::new();
    let h2 = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(&[b"h2", b"http/1.1"]),
        max_streams: 100,
    });
    let tls_h1 = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(&[b"http/1.1"]),
        max_streams: 100,
    });
    let no_alpn = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(&[]),
        max_streams: 100,
    });
    let plain = HttpServer::start_keep_alive();
    let client = client_for(&ca).build().unwrap();
    let mut urls = Vec::new();
    let mut expected = Vec::new();
    for n in 0..200u64 {
        let (url, version) = match n % 4 {
            0 => (h2.https_url(&format!("/item/{n}")), Version::HTTP_2),
            1 => (tls_h1.https_url(&format!("/item/{n}")), Version::HTTP_11),
            2 => (no_alpn.https_url(&format!("/item/{n}")), Version::HTTP_11),
            _ => (plain.url(&format!("/item/{n}")), Version::HTTP_11),
        };
        urls.push(url);
        expected.push(version);
    }
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        let response = result.unwrap();
        assert_eq!(response.version(), expected[n], "{}", urls[n]);
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    assert_eq!(h2.accepted(), 1);
    assert_eq!(h2.h2_requests(), 50);
}

#[test]
fn through_a_connect_tunnel_alpn_in_the_tunnelled_tls_picks_h2() {
    let (server, builder) = tls_h2(100);
    let proxy = feature_support::ForwardProxy::start(None);
    let client = builder
        .proxy(multifetch::Proxy::all(&proxy.url()).unwrap().tunnel(true))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..20)
        .map(|n| format!("https://127.0.0.1:{}/item/{n}", server.port()))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        let response = result.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "one tunnel carries every stream");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(server.h2_requests(), 20);
}
