//! A small local HTTP/1.1 server for the examples and benches: std threads,
//! one per connection, keep-alive, GET requests only. It exists so that
//! everything runs offline; it is not part of the library.

#![allow(dead_code, reason = "each example uses a different part")]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[cfg(all(feature = "tls", feature = "http2"))]
pub mod h2;
#[macro_use]
pub mod out;
#[cfg(feature = "tls")]
pub mod tls;

/// What the server answers for one request path.
pub struct Reply {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: "200 OK",
            content_type: "text/plain",
            body: body.into(),
        }
    }

    pub fn html(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            body: body.into(),
        }
    }

    pub fn not_found() -> Reply {
        Reply {
            status: "404 Not Found",
            content_type: "text/plain",
            body: b"not found\n".to_vec(),
        }
    }
}

/// A running local server.
pub struct Server {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Server {
    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Starts a server on 127.0.0.1 (a free port) that answers every request
/// with `handler(path)`, where the path includes the query. Each connection
/// gets its own thread, so a slow handler delays only its own connection.
/// The server runs until the process exits.
pub fn spawn_server<H>(handler: H) -> io::Result<Server>
where
    H: Fn(&str) -> Reply + Send + Sync + 'static,
{
    spawn_with(handler, |stream, handler| serve(stream, handler))
}

/// Accepts connections and runs `session` on each, on its own thread.
fn spawn_with<H, S>(handler: H, session: S) -> io::Result<Server>
where
    H: Fn(&str) -> Reply + Send + Sync + 'static,
    S: Fn(TcpStream, &dyn Fn(&str) -> Reply) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let handler = Arc::new(handler);
    let session = Arc::new(session);
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    thread::Builder::new()
        .name("example-server".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                counter.fetch_add(1, Ordering::Relaxed);
                let handler = Arc::clone(&handler);
                let session = Arc::clone(&session);
                // A small stack: thousands of connections may be open at once.
                // Out of threads, the connection is dropped: the client reports it.
                let _ = thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn(move || session(stream, &*handler));
            }
        })?;
    Ok(Server { addr, accepted })
}

/// Serves requests on one connection until the client closes it.
fn serve(mut stream: impl Read + Write, handler: &dyn Fn(&str) -> Reply) {
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    let mut out = Vec::with_capacity(512);
    loop {
        // Answer every complete request head in the buffer (pipelining works too).
        while let Some(end) = find_head_end(&buf[..filled]) {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.copy_within(end..filled, 0);
            filled -= end;
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let close = head.lines().any(|line| {
                line.split_once(':').is_some_and(|(name, value)| {
                    name.eq_ignore_ascii_case("connection")
                        && value.trim().eq_ignore_ascii_case("close")
                })
            });
            let reply = handler(path);
            out.clear();
            let _ = write!(
                out,
                "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
                reply.status,
                reply.content_type,
                reply.body.len(),
                if close { "Connection: close\r\n" } else { "" }
            );
            out.extend_from_slice(&reply.body);
            if stream
                .write_all(&out)
                .and_then(|()| stream.flush())
                .is_err()
                || close
            {
                return;
            }
        }
        if filled == buf.len() {
            return; // a head larger than 8 KiB: not for this server
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The process's peak resident memory in bytes, where the OS tells it
/// (`VmHWM` in `/proc/self/status` on Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
