//! Name resolution: pinned names (like curl's `--resolve`), the system
//! resolver, and every address of a name being tried.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use multifetch::{Client, ErrorKind};
use support::{Echo, HttpServer, assert_body, item_body};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn pinned_name_reaches_the_server_with_its_host_header() {
    let server = HttpServer::start();
    let client = Client::builder()
        .resolve("my-test-host.example", [LOCALHOST])
        .build()
        .unwrap();
    let url = format!("http://my-test-host.example:{}/echo", server.port());
    let response = client.fetch(&url).unwrap();
    let echo = Echo::parse(response.body());
    assert_eq!(
        echo.one("host"),
        format!("my-test-host.example:{}", server.port())
    );
    assert_eq!(response.url().as_str(), url);
    assert_eq!(response.remote_addr(), Some(server.addr()));
}

#[test]
fn pinned_names_ignore_case() {
    let server = HttpServer::start();
    let client = Client::builder()
        .resolve("My-Test-Host.Example", [LOCALHOST])
        .build()
        .unwrap();
    let url = format!("http://MY-TEST-HOST.example:{}/echo", server.port());
    let echo = Echo::parse(client.fetch(&url).unwrap().body());
    assert_eq!(
        echo.one("host"),
        format!("my-test-host.example:{}", server.port())
    );
}

/// A pin wins over the system resolver, even for a name it cannot resolve.
#[test]
fn pinned_name_skips_the_system_resolver() {
    let server = HttpServer::start();
    let client = Client::builder()
        .resolve("nonexistent.invalid", [LOCALHOST])
        .build()
        .unwrap();
    let response = client
        .fetch(format!(
            "http://nonexistent.invalid:{}/item/8",
            server.port()
        ))
        .unwrap();
    assert_body(response.body(), &item_body(8), "pinned nonexistent.invalid");
}

#[test]
fn localhost_through_the_system_resolver() {
    let server = HttpServer::start();
    let client = Client::new();
    let urls: Vec<String> = (0..20)
        .map(|n| format!("http://localhost:{}/item/{n}", server.port()))
        .collect();
    for (n, result) in client.fetch_many(&urls).into_iter().enumerate() {
        let response = result.unwrap_or_else(|e| panic!("{}: {e}", urls[n]));
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
        assert_eq!(response.remote_addr(), Some(server.addr()));
        assert!(
            response.timings().dns.is_some(),
            "a name was looked up: {:?}",
            response.timings()
        );
    }
    let echo = Echo::parse(
        client
            .fetch(format!("http://localhost:{}/echo", server.port()))
            .unwrap()
            .body(),
    );
    assert_eq!(echo.one("host"), format!("localhost:{}", server.port()));
}

/// 127.0.0.2 is loopback too, but the server listens on 127.0.0.1 only, so
/// the first address refuses and the second must be tried.
#[test]
fn every_address_is_tried() {
    let server = HttpServer::start();
    let client = Client::builder()
        .resolve(
            "multi.test",
            [IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), LOCALHOST],
        )
        .build()
        .unwrap();
    let response = client
        .fetch(format!("http://multi.test:{}/item/11", server.port()))
        .unwrap();
    assert_body(response.body(), &item_body(11), "multi.test");
    assert_eq!(response.remote_addr(), Some(server.addr()));
}

#[test]
fn connect_error_after_every_address_failed() {
    let server = HttpServer::start();
    let port = server.port();
    let client = Client::builder()
        .resolve(
            "dead.test",
            [
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)),
            ],
        )
        .build()
        .unwrap();
    let url = format!("http://dead.test:{port}/");
    let error = client.fetch(&url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("connect to 127.0.0.3:{port} failed: ")),
        "{message}"
    );
    assert!(message.contains("(2 addresses tried)"), "{message}");
    assert!(message.ends_with(&format!("({url})")), "{message}");
}

#[test]
fn dns_failure_fails_every_request_for_the_name_and_nothing_else() {
    let server = HttpServer::start();
    let client = Client::new();
    let mut urls: Vec<String> = (0..5)
        .map(|n| format!("http://nonexistent.invalid/{n}"))
        .collect();
    urls.push(server.url("/item/6"));
    let results = client.fetch_many(&urls);
    for (url, result) in urls.iter().take(5).zip(&results) {
        let error = result.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Dns, "{error}");
        assert_eq!(error.url(), Some(url.as_str()));
    }
    assert_body(
        results[5].as_ref().unwrap().body(),
        &item_body(6),
        "the good URL",
    );
}
