//! The cookie jar (the `cookies` feature) against a scripted server reached
//! under several pinned host names: cookies set on one path come back on the
//! next request and across a redirect, never go to another domain, and
//! expired ones are dropped; a `Domain` that is a public suffix is refused;
//! a saved jar works in the next run.

mod support;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use multifetch::{Client, CookieJar, Url};
use support::{Arrivals, ScriptServer, header_of, read_request_head, target_of};

/// A keep-alive server: `/set?COOKIE` answers with `Set-Cookie: COOKIE`,
/// `/redirect?TO` with a 302 to `TO` that also sets `hop=1`, anything else
/// with 200; every request's target and `Cookie` header go in the log.
fn server() -> (ScriptServer, Arrivals) {
    let log = Arrivals::default();
    let server = ScriptServer::start({
        let log = log.clone();
        move |conn| {
            while let Some(head) = read_request_head(conn) {
                let target = target_of(&head);
                let host = header_of(&head, "host").unwrap_or_default();
                let cookie = header_of(&head, "cookie").unwrap_or_default();
                log.record(format!("{host}{target} [{cookie}]"));
                let reply = if let Some(set) = target.strip_prefix("/set?") {
                    let set = set.replace("%20", " ");
                    format!("HTTP/1.1 200 OK\r\nSet-Cookie: {set}\r\nContent-Length: 0\r\n\r\n")
                } else if let Some(to) = target.strip_prefix("/redirect?") {
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: {to}\r\nSet-Cookie: hop=1; Path=/\r\n\
                         Content-Length: 0\r\n\r\n"
                    )
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned()
                };
                if conn.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    });
    (server, log)
}

fn client(jar: Option<CookieJar>) -> Client {
    let local = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let builder = Client::builder()
        .resolve("a.example", local)
        .resolve("www.a.example", local)
        .resolve("b.example", local)
        .resolve("shop.co.uk", local)
        .resolve("other.co.uk", local);
    match jar {
        Some(jar) => builder.cookie_jar(jar),
        None => builder.cookie_store(true),
    }
    .build()
    .unwrap()
}

/// Fetches `host`+`path` on the server's port; returns the `Cookie` header
/// the server saw for it (the last log line's).
fn visit(client: &Client, log: &Arrivals, port: u16, host: &str, path: &str) -> String {
    let url = format!("http://{host}:{port}{path}");
    client
        .fetch(url.as_str())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let (_, line) = log.all().pop().expect("the server saw it");
    let cookie = line.rsplit_once(" [").map(|(_, c)| c.trim_end_matches(']'));
    cookie.unwrap_or_default().to_owned()
}

#[test]
fn cookies_follow_paths_hosts_redirects_and_expiry() {
    let (server, log) = server();
    let port = server.port();
    let client = client(None);
    let visit = |host: &str, path: &str| visit(&client, &log, port, host, path);

    assert_eq!(visit("a.example", "/set?sid=s1;%20Path=/"), "");
    assert_eq!(
        visit("a.example", "/set?deep=d1;%20Path=/account"),
        "sid=s1"
    );
    assert_eq!(
        visit("a.example", "/home"),
        "sid=s1",
        "/account only under /account"
    );
    assert_eq!(
        visit("a.example", "/account/x"),
        "deep=d1; sid=s1",
        "longer path first"
    );
    // Host-only: not for another host, not even a subdomain.
    assert_eq!(visit("b.example", "/"), "");
    assert_eq!(visit("www.a.example", "/"), "");
    // A Domain cookie covers the subdomains.
    visit("a.example", "/set?wide=w1;%20Domain=a.example;%20Path=/");
    assert_eq!(visit("www.a.example", "/"), "wide=w1");
    assert_eq!(visit("b.example", "/"), "");

    // Across a redirect: the 302's own cookie is stored and sent on the next hop.
    let hop_url = format!("http://a.example:{port}/redirect?/landing");
    let r = client.fetch(hop_url.as_str()).unwrap();
    assert_eq!(r.url().path(), "/landing");
    let lines: Vec<String> = log.all().into_iter().map(|(_, l)| l).collect();
    let landing = lines.last().unwrap();
    assert!(
        landing.starts_with(&format!("a.example:{port}/landing [")),
        "{landing}"
    );
    for cookie in ["sid=s1", "wide=w1", "hop=1"] {
        assert!(landing.contains(cookie), "{cookie} in {landing}");
    }
    // A redirect to another domain carries none of a.example's cookies.
    let away = format!("http://a.example:{port}/redirect?http://b.example:{port}/away");
    client.fetch(away.as_str()).unwrap();
    let (_, away_line) = log.all().pop().unwrap();
    assert_eq!(away_line, format!("b.example:{port}/away []"));

    // An expiry in the past removes the cookie; an expired Max-Age too.
    visit(
        "a.example",
        "/set?sid=gone;%20Path=/;%20Expires=Thu,%2001%20Jan%201970%2000:00:00%20GMT",
    );
    visit(
        "a.example",
        "/set?wide=gone;%20Domain=a.example;%20Path=/;%20Max-Age=0",
    );
    let left = visit("a.example", "/home");
    assert!(!left.contains("sid") && !left.contains("wide"), "{left}");
    assert!(left.contains("hop=1"), "{left}");
    let jar = client.cookie_jar().expect("the client keeps cookies");
    assert!(jar.cookies().iter().all(|(_, _, name, _)| name != "sid"));
}

#[test]
fn a_public_suffix_cannot_take_cookies() {
    let (server, log) = server();
    let port = server.port();
    let client = client(None);
    let visit = |host: &str, path: &str| visit(&client, &log, port, host, path);
    visit("shop.co.uk", "/set?all=1;%20Domain=co.uk;%20Path=/");
    assert_eq!(
        visit("other.co.uk", "/"),
        "",
        "refused: co.uk is a public suffix"
    );
    assert_eq!(visit("shop.co.uk", "/"), "");
    visit("shop.co.uk", "/set?mine=1;%20Domain=shop.co.uk;%20Path=/");
    assert_eq!(visit("shop.co.uk", "/"), "mine=1");
    assert_eq!(visit("other.co.uk", "/"), "");
}

#[test]
fn a_saved_jar_carries_over_to_the_next_run() {
    let (server, log) = server();
    let port = server.port();
    let first = client(None);
    visit(
        &first,
        &log,
        port,
        "a.example",
        "/set?session=abc;%20Path=/",
    );
    visit(
        &first,
        &log,
        port,
        "a.example",
        "/set?remember=me;%20Path=/;%20Max-Age=3600",
    );
    let jar = first.cookie_jar().unwrap();
    let mut persistent = Vec::new();
    jar.save_json(&mut persistent, false).unwrap();
    let mut everything = Vec::new();
    jar.save_json(&mut everything, true).unwrap();

    let next_run = client(Some(CookieJar::load_json(&persistent[..]).unwrap()));
    assert_eq!(
        visit(&next_run, &log, port, "a.example", "/"),
        "remember=me"
    );
    let resumed = client(Some(CookieJar::load_json(&everything[..]).unwrap()));
    let sent = visit(&resumed, &log, port, "a.example", "/");
    assert!(
        sent.contains("session=abc") && sent.contains("remember=me"),
        "{sent}"
    );

    // The caller can write to the jar too.
    let url = Url::parse(&format!("http://b.example:{port}/")).unwrap();
    assert!(
        resumed
            .cookie_jar()
            .unwrap()
            .set_cookie("token=t; Path=/", &url)
    );
    assert_eq!(visit(&resumed, &log, port, "b.example", "/"), "token=t");
}

#[test]
fn a_request_with_its_own_cookie_header_keeps_it() {
    let (server, log) = server();
    let port = server.port();
    let client = client(None);
    visit(&client, &log, port, "a.example", "/set?sid=s1;%20Path=/");
    let own = multifetch::Request::get(&format!("http://a.example:{port}/own"))
        .unwrap()
        .header("cookie", "mine=1")
        .unwrap();
    client.fetch(own).unwrap();
    let (_, line) = log.all().pop().unwrap();
    assert_eq!(line, format!("a.example:{port}/own [mine=1]"));
}
