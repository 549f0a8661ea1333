//! Requests through a small real forwarding proxy on 127.0.0.1: absolute
//! form for http, CONNECT tunnels, proxy basic auth, refusals, no_proxy.

mod feature_support;

use feature_support::{ForwardProxy, Server, response};
use multifetch::{Client, ErrorKind, Proxy, Request};

fn origin() -> Server {
    Server::start(|req| {
        response(
            "200 OK",
            &[],
            format!("origin saw {}", req.target).as_bytes(),
        )
    })
}

#[test]
fn http_goes_through_the_proxy_in_absolute_form() {
    let origin = origin();
    let proxy = ForwardProxy::start(Some("Basic dXNlcjpwdw=="));
    let client = Client::builder()
        .proxy(Proxy::http(&proxy.url()).unwrap().basic_auth("user", "pw"))
        .build()
        .unwrap();
    let resp = client
        .fetch(Request::post(&origin.url("/a?b=1")).unwrap().body("x"))
        .unwrap();
    assert_eq!(resp.text(), "origin saw /a?b=1");
    assert_eq!(resp.url().as_str(), origin.url("/a?b=1"));
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, origin.url("/a?b=1"));
    assert_eq!(
        seen[0].header("host").unwrap(),
        format!("127.0.0.1:{}", origin.port())
    );
    assert_eq!(origin.seen()[0].header("proxy-authorization"), None);
}

#[test]
fn connect_tunnels_to_the_origin() {
    let origin = origin();
    let proxy = ForwardProxy::start(Some("Basic dTpw"));
    let client = Client::builder()
        .proxy(
            Proxy::all(&format!("http://u:p@{}", &proxy.url()[7..]))
                .unwrap()
                .tunnel(true),
        )
        .build()
        .unwrap();
    let results = client.fetch_many([origin.url("/one"), origin.url("/two")]);
    for (result, path) in results.into_iter().zip(["/one", "/two"]) {
        assert_eq!(result.unwrap().text(), format!("origin saw {path}"));
    }
    for seen in proxy.seen() {
        assert_eq!(seen.method, "CONNECT");
        assert_eq!(seen.target, format!("127.0.0.1:{}", origin.port()));
        assert_eq!(seen.header("proxy-authorization"), Some("Basic dTpw"));
    }
    // Inside the tunnel the origin gets origin-form requests.
    let mut targets: Vec<String> = origin.seen().into_iter().map(|s| s.target).collect();
    targets.sort();
    assert_eq!(targets, ["/one", "/two"]);
}

#[test]
fn a_refused_connect_is_a_proxy_error() {
    let origin = origin();
    let proxy = ForwardProxy::start(Some("Basic secret"));
    let client = Client::builder()
        .proxy(Proxy::all(&proxy.url()).unwrap().tunnel(true))
        .build()
        .unwrap();
    let err = client.fetch(origin.url("/")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Proxy);
    assert!(
        err.to_string()
            .contains("refused CONNECT: 407 Proxy Authentication Required"),
        "{err}"
    );
    assert!(origin.seen().is_empty());
}

#[test]
fn no_proxy_hosts_are_fetched_directly() {
    let origin = origin();
    let proxy = ForwardProxy::start(None);
    let client = Client::builder()
        .proxy(
            Proxy::all(&proxy.url())
                .unwrap()
                .no_proxy("example.com, 127.0.0.0/8"),
        )
        .build()
        .unwrap();
    assert_eq!(
        client.fetch(origin.url("/direct")).unwrap().text(),
        "origin saw /direct"
    );
    assert!(proxy.seen().is_empty());
    assert_eq!(origin.seen()[0].target, "/direct");

    // A proxy for https only leaves http alone.
    let https_only = Client::builder()
        .proxy(Proxy::https(&proxy.url()).unwrap())
        .build()
        .unwrap();
    https_only.fetch(origin.url("/plain")).unwrap();
    assert!(proxy.seen().is_empty());
}

/// The report's case: `no_proxy("127.0.0.1:PORT")` names the origin with
/// its port, which is dropped before the rest is read as an address (it
/// used to land in the domain list and match nothing).
#[test]
fn an_ip_with_a_port_in_no_proxy_exempts_that_origin() {
    let origin = origin();
    let proxy = ForwardProxy::start(None);
    for entry in [
        format!("127.0.0.1:{}", origin.port()),
        "127.0.0.1:1".to_owned(),
        "[::1]:8080, 127.0.0.0/8:80".to_owned(),
    ] {
        let client = Client::builder()
            .proxy(Proxy::all(&proxy.url()).unwrap().no_proxy(&entry))
            .build()
            .unwrap();
        let resp = client.fetch(origin.url("/")).unwrap();
        assert_eq!(resp.text(), "origin saw /", "{entry}");
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(origin.seen().len(), 3);
    // Another address, with or without a port, still goes through the proxy.
    let client = Client::builder()
        .proxy(
            Proxy::all(&proxy.url())
                .unwrap()
                .no_proxy("127.0.0.2:80, 10.0.0.1"),
        )
        .build()
        .unwrap();
    client.fetch(origin.url("/proxied")).unwrap();
    assert_eq!(proxy.seen().len(), 1);
}

/// Runs `environment_child` in a child process with proxy variables set, so
/// that no test of this process sees them.
#[test]
fn proxies_come_from_the_environment_only_when_asked() {
    let origin = origin();
    let proxy = ForwardProxy::start(None);
    let run = |no_proxy: &str| {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "environment_child",
                "--include-ignored",
                "--test-threads=1",
            ])
            .env("http_proxy", proxy.url())
            .env("no_proxy", no_proxy)
            .env("MULTIFETCH_TEST_ORIGIN", origin.url("/env"))
            .status()
            .unwrap();
        assert!(status.success());
    };
    run("");
    // The child fetched once without and once with proxy_from_env.
    assert_eq!(proxy.seen().len(), 1);
    assert_eq!(proxy.seen()[0].target, origin.url("/env"));
    assert_eq!(origin.seen().len(), 2);
    run("127.0.0.1");
    assert_eq!(proxy.seen().len(), 1, "no_proxy is honoured");
    assert_eq!(origin.seen().len(), 4);
}

#[test]
#[ignore = "run by proxies_come_from_the_environment_only_when_asked"]
fn environment_child() {
    let url = std::env::var("MULTIFETCH_TEST_ORIGIN").unwrap();
    Client::new().fetch(url.as_str()).unwrap();
    let client = Client::builder().proxy_from_env(true).build().unwrap();
    client.fetch(url.as_str()).unwrap();
}
