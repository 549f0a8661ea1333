//! Happy Eyeballs (RFC 8305) against a stalled address: a host pinned to
//! [an address whose connects stall, a working one] is fetched well within
//! the connect timeout. The stall is real: a listener with a backlog of 0
//! that never accepts, filled by a connect, so that the kernel drops later
//! SYNs (Linux). Without overlapping attempts the first address would hold
//! the fetch for its share of the 20 s connect timeout (10 s), past the 5 s
//! request deadline, and the fetch would fail.
#![cfg(target_os = "linux")]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use multifetch::Client;
use socket2::{Domain, Socket, Type};
use support::ScriptServer;

/// A listener on `addr` whose accept queue is full: it never accepts, and
/// the connects it already holds fill its backlog of 0. Returns it with the
/// connects that fill it, or `None` if `addr` cannot be bound.
fn stalled_listener(addr: SocketAddr) -> Option<(Socket, Vec<TcpStream>)> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    socket.bind(&addr.into()).ok()?;
    socket.listen(0).ok()?;
    let mut fillers = Vec::new();
    // Connect until one stalls: then the queue is full (bounded: a few).
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(conn) => fillers.push(conn),
            Err(_) => return Some((socket, fillers)),
        }
    }
    panic!("connects to a listener with a full backlog never stalled");
}

#[test]
fn a_stalled_address_does_not_hold_the_fetch() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nworking");
    let port = server.port();
    let stalled_ip = Ipv4Addr::new(127, 0, 0, 2);
    let (_listener, _fillers) = stalled_listener(SocketAddr::from((stalled_ip, port)))
        .expect("127.0.0.2 is on the loopback interface and the port is free there");

    let client = Client::builder()
        .resolve(
            "eyeballs.test",
            [IpAddr::V4(stalled_ip), IpAddr::V4(Ipv4Addr::LOCALHOST)],
        )
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("http://eyeballs.test:{port}/");
    let r = client
        .fetch(url.as_str())
        .expect("the working address answers");
    assert_eq!(r.body(), b"working");
    assert_eq!(
        r.remote_addr(),
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    );
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_zero_delay_races_every_address_at_once() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let port = server.port();
    let stalled_ip = Ipv4Addr::new(127, 0, 0, 3);
    let (_listener, _fillers) = stalled_listener(SocketAddr::from((stalled_ip, port)))
        .expect("127.0.0.3 is on the loopback interface and the port is free there");
    let client = Client::builder()
        .resolve(
            "race.test",
            [IpAddr::V4(stalled_ip), IpAddr::V4(Ipv4Addr::LOCALHOST)],
        )
        .happy_eyeballs_delay(Duration::ZERO)
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = client
        .fetch(format!("http://race.test:{port}/"))
        .expect("the working address answers");
    assert_eq!(r.body(), b"ok");
}

#[cfg(feature = "http2")]
#[test]
fn an_h2_connection_comes_through_past_a_stalled_address() {
    use support::{HttpServer, Mode};

    let server = HttpServer::start_with(Mode::H2c { max_streams: 100 });
    let port = server.addr().port();
    let stalled_ip = Ipv4Addr::new(127, 0, 0, 4);
    let (_listener, _fillers) = stalled_listener(SocketAddr::from((stalled_ip, port)))
        .expect("127.0.0.4 is on the loopback interface and the port is free there");
    let client = Client::builder()
        .resolve(
            "h2.test",
            [IpAddr::V4(stalled_ip), IpAddr::V4(Ipv4Addr::LOCALHOST)],
        )
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let urls: Vec<String> = (0..3)
        .map(|i| format!("http://h2.test:{port}/echo?{i}"))
        .collect();
    for result in client.fetch_many(urls) {
        let r = result.expect("the working address answers");
        assert_eq!(r.version(), multifetch::Version::HTTP_2);
        assert_eq!(r.status(), 200);
    }
    assert_eq!(server.h2_requests(), 3);
    assert_eq!(
        server.accepted(),
        1,
        "the three requests share one connection"
    );
}
