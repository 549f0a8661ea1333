//! Servers that close: with the last response (its FIN in the same segment,
//! as Apache's lingering close and tinyproxy send it), after reading the
//! request without answering (an empty reply), or with a reset in the
//! middle of a response; over TCP and TLS. A connection the server has left
//! is never reused, so nothing waits for a timeout, no POST fails and no GET
//! needs the stale-connection retry.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use multifetch::{Client, ErrorKind, Reactor, Request};
use support::{ScriptServer, drain, finish, read_request_head};

/// The answer of the servers here: a complete, framed response that says
/// nothing about closing.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n";

/// Sends `bytes` with the FIN in the same TCP segment: `TCP_CORK` holds
/// them back until `shutdown(SHUT_WR)` puts the FIN on the last segment and
/// pushes it out.
#[cfg(target_os = "linux")]
fn send_with_fin(conn: &mut TcpStream, bytes: &[u8]) {
    socket2::SockRef::from(&*conn)
        .set_tcp_cork(true)
        .expect("TCP_CORK");
    let _ = conn.write_all(bytes);
    let _ = conn.shutdown(Shutdown::Write);
}

/// Reads one request, head and `Content-Length` body; `None` if the
/// connection ends first. The whole request is read so that closing the
/// socket afterwards sends a FIN, not a reset (unread input means RST).
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

/// Makes closing `conn` reset it: with `SO_LINGER` 0, close sends RST, not
/// FIN.
fn reset_on_close(conn: &TcpStream) {
    socket2::SockRef::from(conn)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
}

#[cfg(target_os = "linux")]
mod close_with_the_response {
    use std::process::Command;

    use super::*;
    use support::example_binary;

    /// Per connection: reads the request head, sends [`OK`] with its FIN in
    /// the same segment, then keeps reading and discarding until the client
    /// closes (a lingering close, as Apache does): a request written to this
    /// connection afterwards is swallowed without an answer.
    fn lingering_close() -> ScriptServer {
        ScriptServer::start(|conn| {
            if read_request_head(conn).is_some() {
                send_with_fin(conn, OK);
            }
            drain(conn);
        })
    }

    /// Per connection: reads one request, body included, sends [`OK`] with
    /// the FIN in the same segment and closes, without `Connection: close`
    /// (as tinyproxy does): a request written to this connection afterwards
    /// meets a reset.
    fn closes_after_each_response() -> ScriptServer {
        ScriptServer::start(|conn| {
            if read_request(conn).is_some() {
                send_with_fin(conn, OK);
            }
        })
    }

    /// `fetch -c 1 -t 3 URL/a URL/b`: both answered (before, the second
    /// went onto the closed connection and waited out the 3 s).
    #[test]
    fn the_fetch_example_gets_both_answers_on_one_connection_at_a_time() {
        let server = lingering_close();
        let (a, b) = (server.url("/a"), server.url("/b"));
        let output = Command::new(example_binary("fetch"))
            .args(["-c", "1", "-t", "3", &a, &b])
            .output()
            .expect("run the fetch example");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        for (line, url) in lines.iter().zip([&a, &b]) {
            assert!(
                line.starts_with("200 ") && line.ends_with(url.as_str()),
                "{stdout}"
            );
        }
        assert!(lines[2].starts_with("ok=2 failed=0 "), "{stdout}");
        assert_eq!(server.accepted(), 2);
    }

    /// Two separate fetches on one client: the first connection is not
    /// kept, so the second opens its own.
    #[test]
    fn separate_fetches_each_get_their_answer() {
        let server = lingering_close();
        let client = Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        for path in ["/a", "/b", "/c"] {
            let response = client.fetch(server.url(path)).unwrap();
            assert_eq!(
                (response.status().as_u16(), response.body()),
                (200, &b"ok\n"[..])
            );
            assert!(!response.timings().reused, "{path}");
        }
        assert_eq!(server.accepted(), 3);
    }

    /// POSTs one at a time, each on a fresh connection: none is written to
    /// a connection whose server has gone, so none fails.
    #[test]
    fn posts_at_concurrency_one_all_succeed() {
        let server = lingering_close();
        let client = Client::builder()
            .max_connections(1)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let posts = (0..10).map(|n| {
            Request::post(&server.url(&format!("/form/{n}")))
                .unwrap()
                .body(format!("n={n}"))
        });
        for (n, result) in client.fetch_many(posts).into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("POST {n}: {e}"));
            assert_eq!(response.body(), b"ok\n", "POST {n}");
        }
        assert_eq!(server.accepted(), 10);
    }

    /// The tinyproxy case: POSTs at concurrency 1 all succeed, and GETs cost
    /// no stale-connection retry.
    #[test]
    fn a_server_closing_after_each_response_costs_no_retries() {
        let server = closes_after_each_response();
        let client = Client::builder()
            .max_connections(1)
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap();
        let mut reactor = Reactor::new(&client).unwrap();
        for n in 0..20 {
            let url = server.url(&format!("/{n}"));
            if n % 2 == 0 {
                reactor.submit(Request::post(&url).unwrap().body("payload"));
            } else {
                reactor.submit(url);
            }
        }
        let mut done = 0;
        while let Some(completion) = reactor.next_completion().unwrap() {
            let n = completion.id.get();
            let response = completion
                .result
                .unwrap_or_else(|e| panic!("request {n}: {e}"));
            assert_eq!(response.body(), b"ok\n", "request {n}");
            done += 1;
        }
        assert_eq!(done, 20);
        let counters = reactor.counters();
        assert_eq!(counters.retries, 0, "{counters:?}");
        assert_eq!(counters.connections_reused, 0, "{counters:?}");
        assert_eq!(server.accepted(), 20);
    }
}

/// The server reads the request and closes without a byte of response: an
/// empty reply, a protocol error, not retried on a fresh connection.
#[test]
fn an_empty_reply_is_a_protocol_error_that_says_so() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        finish(conn);
    });
    let url = server.url("/empty");
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let error = client.fetch(&url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "empty reply: the server closed the connection without sending a response from {} ({url})",
            server.addr()
        )
    );
    assert_eq!(server.accepted(), 1);
}

/// A server that resets the connection after sending `sent`.
fn resets_after(sent: Vec<u8>) -> ScriptServer {
    ScriptServer::start(move |conn| {
        // Sent at once (Nagle's algorithm must not hold any of it back
        // until the reset discards it).
        let _ = conn.set_nodelay(true);
        if read_request_head(conn).is_some() {
            let _ = conn.write_all(&sent);
        }
        // The server drops the connection when this returns.
        reset_on_close(conn);
    })
}

/// `Content-Length: 1000`, 500 bytes, then a reset: a truncation that says
/// how much came and how the connection ended; the same for chunked.
#[test]
fn a_reset_in_the_body_is_a_truncation() {
    let mut length = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    length.extend_from_slice(&[b'x'; 500]);
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n".to_vec();
    chunked.extend_from_slice(&[b'x'; 500]);
    chunked.extend_from_slice(b"\r\n");
    let cases = [
        (
            length,
            "body truncated: got 500 of 1000 bytes; connection reset by peer",
        ),
        (
            chunked,
            "body truncated after 500 bytes; connection reset by peer",
        ),
    ];
    for (sent, message) in cases {
        let server = resets_after(sent);
        let url = server.url("/reset");
        let client = Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let error = client.fetch(&url).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
        assert_eq!(
            error.to_string(),
            format!("{message} from {} ({url})", server.addr())
        );
        assert_eq!(
            error.io_error().map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionReset),
            "{error}"
        );
    }
}

/// A reset before any response byte stays the connection's failure.
#[test]
fn a_reset_before_the_response_is_an_io_error() {
    let server = resets_after(Vec::new());
    let url = server.url("/reset");
    let error = Client::new().fetch(&url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io, "{error}");
    assert_eq!(
        error.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::ConnectionReset),
        "{error}"
    );
}

#[cfg(feature = "tls")]
mod tls {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use support::{TestCa, tls_script_server};

    fn client(ca: &str) -> Client {
        Client::builder()
            .add_root_certificate_pem(ca.as_bytes())
            .unwrap()
            .resolve("localhost", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    #[test]
    fn an_empty_reply_over_tls() {
        let ca = TestCa::new();
        let addr = tls_script_server(ca.server_config(&[]), |mut stream| {
            stream.conn.send_close_notify();
            let _ = stream.flush();
            let _ = stream.sock.shutdown(Shutdown::Write);
            drain(&mut stream.sock);
        });
        let url = format!("https://localhost:{}/empty", addr.port());
        let error = client(&ca.pem()).fetch(&url).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "empty reply: the server closed the connection without sending a response from {addr} ({url})"
            )
        );
    }

    /// Reads the client's HTTP/2 preface rest and frames until the HEADERS
    /// of stream 1.
    #[cfg(feature = "http2")]
    fn read_h2_request(stream: &mut support::TlsStream) -> bool {
        let mut rest = [0u8; 6];
        if stream.read_exact(&mut rest).is_err() || &rest != b"SM\r\n\r\n" {
            return false;
        }
        for _ in 0..16 {
            let mut head = [0u8; 9];
            if stream.read_exact(&mut head).is_err() {
                return false;
            }
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            if stream.read_exact(&mut payload).is_err() {
                return false;
            }
            if head[3] == 1 {
                return true;
            }
        }
        false
    }

    /// An HTTP/2 server that answers with a head and part of a body, then
    /// `close_notify` in the same TCP segment, and keeps the TCP connection
    /// open (no FIN): the client must see the end of the TLS stream in the
    /// read that brought it, not wait for readiness that never comes.
    #[cfg(feature = "http2")]
    #[test]
    fn close_notify_with_the_last_h2_bytes_and_no_fin() {
        let ca = TestCa::new();
        let addr = tls_script_server(ca.server_config(&[b"h2"]), |mut stream| {
            if !read_h2_request(&mut stream) {
                return;
            }
            let mut frames = vec![0, 0, 0, 4, 0, 0, 0, 0, 0]; // SETTINGS
            frames.extend_from_slice(&[0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88]); // HEADERS :status 200
            frames.extend_from_slice(&[0, 0, 5, 0, 0, 0, 0, 0, 1]); // DATA, no END_STREAM
            frames.extend_from_slice(b"hello");
            let _ = stream.conn.writer().write_all(&frames);
            stream.conn.send_close_notify();
            let mut wire = Vec::new();
            while stream.conn.wants_write() {
                if stream.conn.write_tls(&mut wire).is_err() {
                    return;
                }
            }
            let _ = stream.sock.set_nodelay(true);
            let _ = stream.sock.write_all(&wire);
            drain(&mut stream.sock);
        });
        let url = format!("https://localhost:{}/close-notify", addr.port());
        let error = client(&ca.pem()).fetch(&url).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "HTTP/2: server closed the connection before the body was complete from {addr} ({url})"
            )
        );
    }

    #[test]
    fn a_reset_in_the_body_over_tls_is_a_truncation() {
        let ca = TestCa::new();
        let addr = tls_script_server(ca.server_config(&[]), |mut stream| {
            // One record in one segment, sent at once: Nagle's algorithm
            // must not hold any of it back until the reset discards it.
            let _ = stream.sock.set_nodelay(true);
            let mut sent = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
            sent.extend_from_slice(&[b'x'; 500]);
            let _ = stream.write_all(&sent);
            let _ = stream.flush();
            reset_on_close(&stream.sock);
        });
        let url = format!("https://localhost:{}/reset", addr.port());
        let error = client(&ca.pem()).fetch(&url).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
        assert_eq!(
            error.to_string(),
            format!(
                "body truncated: got 500 of 1000 bytes; connection reset by peer from {addr} ({url})"
            )
        );
    }
}
