//! Small std-thread peers on 127.0.0.1:0 for the feature tests: an origin
//! server that answers each request through a closure and records what it
//! saw, and a real forwarding proxy (absolute-form requests and CONNECT
//! tunnels) that records what went through it. Both stop on drop.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A request as a server or proxy received it.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (head and Content-Length body); `None` at EOF.
pub fn read_request(conn: &mut TcpStream) -> Option<Seen> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let mut seen = Seen {
        method: first.next()?.to_owned(),
        target: first.next()?.to_owned(),
        ..Seen::default()
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        seen.headers
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let len: usize = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    seen.body = vec![0; len];
    conn.read_exact(&mut seen.body).ok()?;
    Some(seen)
}

/// A simple response with a Content-Length body and extra header lines.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

type Handler = dyn Fn(&Seen) -> Vec<u8> + Send + Sync;

/// Accepts connections on its own thread, each served on another.
struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    fn start(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Acceptor {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let serve = Arc::new(serve);
        let thread = {
            let (stop, accepted) = (Arc::clone(&stop), Arc::clone(&accepted));
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let serve = Arc::clone(&serve);
                    thread::spawn(move || serve(conn));
                }
            })
        };
        Acceptor {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An origin server: answers every request with `handler`, keeps
/// connections alive, and records every request.
pub struct Server {
    acceptor: Acceptor,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let acceptor = {
            let seen = Arc::clone(&seen);
            Acceptor::start(move |mut conn| {
                while let Some(request) = read_request(&mut conn) {
                    let reply = handler(&request);
                    let close = request
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                    seen.lock().unwrap().push(request);
                    if conn.write_all(&reply).is_err() || close {
                        break;
                    }
                }
            })
        };
        Server { acceptor, seen }
    }

    pub fn port(&self) -> u16 {
        self.acceptor.addr.port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.acceptor.accepted.load(Ordering::SeqCst)
    }
}

/// A real forwarding proxy: absolute-form requests are sent on to their
/// origin (one upstream connection per request, answer relayed back, then
/// the client connection is closed); CONNECT opens a TCP tunnel. With
/// `require` set, requests without that `Proxy-Authorization` get a 407.
pub struct ForwardProxy {
    acceptor: Acceptor,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ForwardProxy {
    pub fn start(require: Option<&str>) -> ForwardProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let require = require.map(str::to_owned);
        let acceptor = {
            let seen = Arc::clone(&seen);
            Acceptor::start(move |mut conn| {
                let Some(request) = read_request(&mut conn) else {
                    return;
                };
                seen.lock().unwrap().push(request.clone());
                if let Some(expected) = &require {
                    if request.header("proxy-authorization") != Some(expected.as_str()) {
                        let _ = conn.write_all(&response(
                            "407 Proxy Authentication Required",
                            &[
                                ("Proxy-Authenticate", "Basic realm=\"test\""),
                                ("Connection", "close"),
                            ],
                            b"auth",
                        ));
                        return;
                    }
                }
                if request.method == "CONNECT" {
                    tunnel(conn, &request.target);
                } else {
                    forward(conn, &request);
                }
            })
        };
        ForwardProxy { acceptor, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.acceptor.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn forward(mut client: TcpStream, request: &Seen) {
    let Some(rest) = request.target.strip_prefix("http://") else {
        let _ = client.write_all(&response(
            "400 Bad Request",
            &[("Connection", "close")],
            b"",
        ));
        return;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        let _ = client.write_all(&response(
            "502 Bad Gateway",
            &[("Connection", "close")],
            b"",
        ));
        return;
    };
    let mut head = format!("{} {path} HTTP/1.1\r\n", request.method);
    for (name, value) in &request.headers {
        let hop = ["proxy-authorization", "connection"];
        if !hop.contains(&name.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let _ = upstream.write_all(head.as_bytes());
    let _ = upstream.write_all(&request.body);
    let mut answer = Vec::new();
    let _ = upstream.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
    let _ = client.shutdown(Shutdown::Both);
}

fn tunnel(mut client: TcpStream, authority: &str) {
    let Ok(upstream) = TcpStream::connect(authority) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        thread::spawn(move || {
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        })
    };
    let a = pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let b = pipe(upstream, client);
    let _ = a.join();
    let _ = b.join();
}
