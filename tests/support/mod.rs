//! Loopback peers for the integration tests; everything binds 127.0.0.1:0.
//!
//! - [`HttpServer`]: a real, independent HTTP server (hyper on a tokio
//!   current-thread runtime in its own thread) serving deterministic bodies
//!   and counting how many connections it has open at once: HTTP/1.1, h2c
//!   (HTTP/2 with prior knowledge), or TLS with ALPN choosing h2 or
//!   HTTP/1.1 ([`HttpServer::start_with`], [`TestCa`]).
//! - [`ScriptServer`]: a raw TCP server on std threads whose every connection
//!   runs a closure, for canned and deliberately broken responses.
//! - [`Arrivals`]: a server-side log of requests and when they arrived.
//! - [`python::PythonServer`]: the scripted HTTP/2 servers of `tests/h2/` on
//!   Python's `h2` library, as child processes.
//! - [`TempDir`], [`example_binary`], [`closed_port`], [`open_fds`] and
//!   small helpers.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fs;
use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

pub mod python;

// ---------------------------------------------------------------------------
// Deterministic bodies
// ---------------------------------------------------------------------------

/// The body the HTTP server sends for `/item/{n}` and `/chunked/{n}`: the
/// text `item {n}\n` repeated and cut to a length derived from `n`, so every
/// URL has its own, checkable body. Lengths run from 0 to about 20 KB, and
/// every 97th item is over 200 KB so that it takes many reads.
pub fn item_body(n: u64) -> Vec<u8> {
    let unit = format!("item {n}\n");
    let len = if n % 97 == 1 {
        200_000 + n as usize
    } else {
        (n as usize * 7919) % 20_000
    };
    unit.bytes().cycle().take(len).collect()
}

/// Byte `i` of a [`/bytes/{n}`](HttpServer) body.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// The block `/bytes/{n}` bodies are sent in: 256 periods of the pattern,
/// so that block after block continues it. Shared, so that a server sending
/// gigabytes holds 64 KiB.
fn pattern_block() -> Bytes {
    static BLOCK: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOCK
        .get_or_init(|| (0..251 * 256).map(pattern_byte).collect::<Vec<u8>>().into())
        .clone()
}

/// Panics with a short description of where two bodies differ (printing
/// megabytes of bytes helps nobody).
#[track_caller]
pub fn assert_body(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let at = actual
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        panic!(
            "{what}: body differs: got {} bytes, expected {}; first difference at byte {at}: got {:?}, expected {:?}",
            actual.len(),
            expected.len(),
            String::from_utf8_lossy(&actual[at..actual.len().min(at + 40)]),
            String::from_utf8_lossy(&expected[at..expected.len().min(at + 40)]),
        );
    }
}

// ---------------------------------------------------------------------------
// The hyper server
// ---------------------------------------------------------------------------

/// Counters the server keeps; read them through [`HttpServer`].
#[derive(Debug, Default)]
struct Stats {
    open: AtomicUsize,
    max_open: AtomicUsize,
    accepted: AtomicUsize,
    requests: AtomicUsize,
    /// Requests that arrived over HTTP/2.
    h2_requests: AtomicUsize,
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard(Arc<Stats>);

impl OpenGuard {
    fn new(stats: &Arc<Stats>) -> OpenGuard {
        stats.accepted.fetch_add(1, Ordering::SeqCst);
        let now = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_open.fetch_max(now, Ordering::SeqCst);
        OpenGuard(Arc::clone(stats))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How an [`HttpServer`] speaks.
#[derive(Clone)]
pub enum Mode {
    /// HTTP/1.1; `keep_alive` keeps connections open for more requests.
    H1 { keep_alive: bool },
    /// HTTP/2 in cleartext with prior knowledge (h2c), at most
    /// `max_streams` concurrent streams per connection.
    H2c { max_streams: u32 },
    /// TLS with the configuration's ALPN list: h2 when the client and the
    /// list agree on it, else HTTP/1.1 (kept alive).
    Tls {
        config: Arc<ServerConfig>,
        max_streams: u32,
    },
}

/// A hyper HTTP server on 127.0.0.1, running until dropped.
///
/// [`HttpServer::start`] closes every connection after its response
/// (`Connection: close`), so connections and requests are one to one;
/// [`HttpServer::start_keep_alive`] keeps connections open for more requests.
///
/// Routes:
///
/// | path | response |
/// |---|---|
/// | `/item/{n}` | 200, [`item_body(n)`](item_body) with `Content-Length` |
/// | `/chunked/{n}` | 200, the same body sent chunked in pieces of up to 4 KiB |
/// | `/echo` | 200, `{method} {target}\n`, one `{name}: {value}\n` per request header, `\n`, then the request body |
/// | `/status/{code}` | that status, empty body |
/// | `/bytes/{n}` | 200, `n` bytes of [`pattern_byte`] with `Content-Length`, streamed from one shared 64 KiB block |
/// | `/redirect?to={url}` | 302 to `url` (taken as is: no percent-decoding) |
/// | `/big-header/{n}` | 200 with a header `x-big` of `n` bytes |
/// | anything else | 404 `not found` |
///
/// A `delay={ms}` query parameter on any route waits that long before
/// answering, so that connections overlap and limits can be observed.
pub struct HttpServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds 127.0.0.1:0 and starts serving; one request per connection.
    pub fn start() -> HttpServer {
        HttpServer::spawn(false)
    }

    /// Binds 127.0.0.1:0 and starts serving; connections stay open for
    /// further requests until the client closes them.
    pub fn start_keep_alive() -> HttpServer {
        HttpServer::spawn(true)
    }

    fn spawn(keep_alive: bool) -> HttpServer {
        HttpServer::start_with(Mode::H1 { keep_alive })
    }

    /// Binds 127.0.0.1:0 and starts serving in `mode`.
    pub fn start_with(mode: Mode) -> HttpServer {
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (addr_tx, addr_rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("test-http-server".into())
            .spawn({
                let stats = Arc::clone(&stats);
                move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("tokio runtime");
                    runtime.block_on(async move {
                        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
                        socket
                            .bind("127.0.0.1:0".parse().unwrap())
                            .expect("bind 127.0.0.1:0");
                        // A deep backlog: a thousand clients may connect at once.
                        let listener = socket.listen(4096).expect("listen");
                        addr_tx
                            .send(listener.local_addr().expect("local addr"))
                            .unwrap();
                        serve(listener, stats, stopped, mode).await;
                    });
                    // Dropping the runtime cancels every connection task and closes its socket.
                }
            })
            .expect("spawn the server thread");
        let addr = addr_rx.recv().expect("the server thread bound a port");
        HttpServer {
            addr,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections open right now.
    pub fn open(&self) -> usize {
        self.stats.open.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    pub fn max_open(&self) -> usize {
        self.stats.max_open.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }

    /// Requests handled so far.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Requests that arrived over HTTP/2 so far.
    pub fn h2_requests(&self) -> usize {
        self.stats.h2_requests.load(Ordering::SeqCst)
    }

    /// `https://localhost:{port}{path}` (clients pin `localhost` to 127.0.0.1).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Waits up to `limit` until no connection is open; true if none is.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        wait_until(limit, || self.open() == 0)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the server thread fails the test, unless the test is already failing.
            if thread.join().is_err() && !thread::panicking() {
                panic!("the HTTP server thread panicked");
            }
        }
    }
}

enum Accepted {
    Stop,
    Conn(io::Result<(tokio::net::TcpStream, SocketAddr)>),
}

async fn serve(
    listener: tokio::net::TcpListener,
    stats: Arc<Stats>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    mode: Mode,
) {
    loop {
        // `select!` without the macros feature: stop first, then accept.
        let next = poll_fn(|cx| {
            if Pin::new(&mut stopped).poll(cx).is_ready() {
                return Poll::Ready(Accepted::Stop);
            }
            listener.poll_accept(cx).map(Accepted::Conn)
        })
        .await;
        let stream = match next {
            Accepted::Stop => return,
            Accepted::Conn(Ok((stream, _))) => stream,
            // EMFILE and friends: wait a moment rather than spin.
            Accepted::Conn(Err(_)) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        // Let connection tasks see the ends that arrived before this
        // connection did (tokio runs a yielded task after polling for I/O):
        // a connection the client closed before opening this one must not
        // count as open at the same time.
        tokio::task::yield_now().await;
        let guard = OpenGuard::new(&stats);
        let stats = Arc::clone(&stats);
        let mode = mode.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, Arc::clone(&stats)));
            match mode {
                Mode::H1 { keep_alive } => {
                    let _ = http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Mode::H2c { max_streams } => {
                    let _ = http2::Builder::new(TokioExecutor::new())
                        .max_concurrent_streams(max_streams)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                Mode::Tls {
                    config,
                    max_streams,
                } => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    if h2 {
                        let _ = http2::Builder::new(TokioExecutor::new())
                            .max_concurrent_streams(max_streams)
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    } else {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                }
            }
            drop(guard);
        });
    }
}

type ResBody = BoxBody<Bytes, Infallible>;

async fn handle(
    req: hyper::Request<Incoming>,
    stats: Arc<Stats>,
) -> Result<hyper::Response<ResBody>, Infallible> {
    stats.requests.fetch_add(1, Ordering::SeqCst);
    if req.version() == hyper::Version::HTTP_2 {
        stats.h2_requests.fetch_add(1, Ordering::SeqCst);
    }
    let delay = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("delay="))
        .and_then(|ms| ms.parse::<u64>().ok());
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match segments.as_slice() {
        ["item", n] if n.parse::<u64>().is_ok() => full(200, item_body(n.parse().unwrap())),
        ["chunked", n] if n.parse::<u64>().is_ok() => {
            let body = Bytes::from(item_body(n.parse().unwrap()));
            let pieces = (0..body.len())
                .step_by(4096)
                .map(|at| body.slice(at..body.len().min(at + 4096)))
                .collect();
            hyper::Response::new(Chunks(pieces).boxed())
        }
        ["echo"] => {
            let mut out = format!("{} {}\n", req.method(), req.uri()).into_bytes();
            for (name, value) in req.headers() {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.push(b'\n');
            }
            out.push(b'\n');
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            out.extend_from_slice(&body);
            full(200, out)
        }
        ["status", code] if code.parse::<u16>().is_ok() => full(code.parse().unwrap(), Vec::new()),
        ["bytes", n] if n.parse::<u64>().is_ok() => {
            let left = n.parse().unwrap();
            let mut response = hyper::Response::new(Pattern { left }.boxed());
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, left.into());
            response
        }
        ["redirect"] => {
            let to = req
                .uri()
                .query()
                .unwrap_or("")
                .split('&')
                .find_map(|pair| pair.strip_prefix("to="))
                .unwrap_or("/")
                .to_owned();
            let mut response = full(302, Vec::new());
            response
                .headers_mut()
                .insert("location", to.parse().expect("a valid location"));
            response
        }
        ["big-header", n] if n.parse::<usize>().is_ok() => {
            let mut response = full(200, b"big".to_vec());
            let value = "h".repeat(n.parse().unwrap());
            response
                .headers_mut()
                .insert("x-big", value.parse().expect("a valid value"));
            response
        }
        _ => full(404, b"not found".to_vec()),
    };
    Ok(response)
}

fn full(status: u16, body: Vec<u8>) -> hyper::Response<ResBody> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response
}

/// A body of unknown length, so that hyper sends it chunked.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|piece| Ok(Frame::data(piece))))
    }
}

/// `/bytes/{n}`: the pattern, a shared block at a time.
struct Pattern {
    left: u64,
}

impl Body for Pattern {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let block = pattern_block();
        let n = block
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(block.slice(..n)))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// What `/echo` saw of a request.
#[derive(Debug)]
pub struct Echo {
    pub method: String,
    pub target: String,
    /// Header names lowercase, in the order the server received them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Echo {
    /// Parses an `/echo` response body.
    pub fn parse(bytes: &[u8]) -> Echo {
        let split = bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("an echo body has a blank line");
        let head = std::str::from_utf8(&bytes[..split]).expect("the echo head is UTF-8");
        let mut lines = head.lines();
        let (method, target) = lines
            .next()
            .and_then(|l| l.split_once(' '))
            .expect("an echo request line");
        let headers = lines
            .map(|l| {
                let (name, value) = l.split_once(": ").expect("an echo header line");
                (name.to_owned(), value.to_owned())
            })
            .collect();
        Echo {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            body: bytes[split + 2..].to_vec(),
        }
    }

    /// Every value of header `name` (lowercase), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`; panics if it is missing or repeated.
    #[track_caller]
    pub fn one(&self, name: &str) -> &str {
        match self.all(name).as_slice() {
            [value] => value,
            other => panic!(
                "expected one `{name}` header, got {other:?} in {:?}",
                self.headers
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The scripted raw-TCP server
// ---------------------------------------------------------------------------

/// A raw TCP server on 127.0.0.1:0; each connection runs the script on its
/// own thread and is closed when the script returns.
///
/// Dropping the server stops accepting (the accept loop polls a stop flag
/// every 2 ms) and joins the accept thread. Connection threads are not
/// joined: each ends when its script returns, and the helpers below return
/// once the client closes (or after [`SAFETY_TIMEOUT`]).
pub struct ScriptServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    active: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// No scripted connection blocks longer than this on a read or write, so a
/// broken client cannot hang a test forever.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(20);

impl ScriptServer {
    /// Starts serving every connection with `script`.
    pub fn start<F>(script: F) -> ScriptServer
    where
        F: Fn(&mut TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let active = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let thread = thread::Builder::new()
            .name("test-script-server".into())
            .spawn({
                let (stop, accepted, active) = (
                    Arc::clone(&stop),
                    Arc::clone(&accepted),
                    Arc::clone(&active),
                );
                move || {
                    while !stop.load(Ordering::SeqCst) {
                        let mut conn = match listener.accept() {
                            Ok((conn, _)) => conn,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                thread::sleep(Duration::from_millis(2));
                                continue;
                            }
                            Err(_) => {
                                thread::sleep(Duration::from_millis(2));
                                continue;
                            }
                        };
                        accepted.fetch_add(1, Ordering::SeqCst);
                        active.fetch_add(1, Ordering::SeqCst);
                        let script = Arc::clone(&script);
                        let active = Arc::clone(&active);
                        thread::spawn(move || {
                            // The accepted socket may inherit non-blocking mode on some platforms.
                            let _ = conn.set_nonblocking(false);
                            let _ = conn.set_read_timeout(Some(SAFETY_TIMEOUT));
                            let _ = conn.set_write_timeout(Some(SAFETY_TIMEOUT));
                            script(&mut conn);
                            drop(conn);
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                }
            })
            .expect("spawn the accept thread");
        ScriptServer {
            addr,
            stop,
            accepted,
            active,
            thread: Some(thread),
        }
    }

    /// A server that reads each request head, answers with `response` and
    /// keeps the connection open until the client closes it, so a client
    /// that waits for more than the framing says runs into its timeout.
    pub fn reply(response: impl Into<Vec<u8>>) -> ScriptServer {
        let response = response.into();
        ScriptServer::start(move |conn| {
            if read_request_head(conn).is_some() {
                let _ = conn.write_all(&response);
            }
            drain(conn);
        })
    }

    /// A server that reads each request head, answers with `response`, then
    /// closes its side (see [`finish`]): the end of the bytes is the end of
    /// the connection.
    pub fn reply_then_close(response: impl Into<Vec<u8>>) -> ScriptServer {
        let response = response.into();
        ScriptServer::start(move |conn| {
            if read_request_head(conn).is_some() {
                let _ = conn.write_all(&response);
            }
            finish(conn);
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections whose script is still running.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads up to and including the blank line that ends a request head and
/// returns the head as text; `None` if the connection ends first. Bytes of
/// a request body that arrive in the same read are consumed too.
pub fn read_request_head(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end + 4);
            return String::from_utf8(head).ok();
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// Answers request after request on one connection (keep-alive): `answer`
/// gets each request head and returns the bytes to send, or `None` to stop
/// and close. Requests must not have bodies.
pub fn serve_each(conn: &mut TcpStream, mut answer: impl FnMut(&str) -> Option<Vec<u8>>) {
    while let Some(head) = read_request_head(conn) {
        let Some(response) = answer(&head) else {
            return;
        };
        if conn.write_all(&response).is_err() {
            return;
        }
    }
}

/// Ends the connection gracefully: sends FIN, then reads until the client
/// closes. Closing with unread input would send a reset instead, which could
/// destroy response bytes the client has not read yet.
pub fn finish(conn: &mut TcpStream) {
    let _ = conn.shutdown(std::net::Shutdown::Write);
    drain(conn);
}

/// Reads and discards until the client closes (or an error or the safety
/// timeout).
pub fn drain(conn: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
}

/// Accepts the request and never answers; returns once the client gives up.
pub fn never_answer(conn: &mut TcpStream) {
    drain(conn);
}

/// Writes `bytes` one at a time with `delay` between them; stops when the
/// client goes away. Returns true if every byte was written.
pub fn drip(conn: &mut TcpStream, bytes: &[u8], delay: Duration) -> bool {
    for byte in bytes {
        if conn.write_all(std::slice::from_ref(byte)).is_err() {
            return false;
        }
        thread::sleep(delay);
    }
    true
}

/// Closes the connection with a reset: waits until the request has arrived,
/// then closes without reading it; Linux answers unread input with RST.
pub fn reset(conn: &mut TcpStream) {
    let mut buf = [0u8; 1];
    let _ = conn.peek(&mut buf);
    // Let the rest of the request head land in the receive buffer too; the
    // caller then drops the socket with it unread.
    thread::sleep(Duration::from_millis(20));
}

// ---------------------------------------------------------------------------
// Server-side logs
// ---------------------------------------------------------------------------

/// What a scripted server saw: each request's target (or a label) and the
/// instant it arrived, in arrival order. Clones share the log.
#[derive(Debug, Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<(Instant, String)>>>);

impl Arrivals {
    /// Records an arrival now; returns how many came before it.
    pub fn record(&self, what: impl Into<String>) -> usize {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.push((Instant::now(), what.into()));
        log.len() - 1
    }

    /// Every arrival so far.
    pub fn all(&self) -> Vec<(Instant, String)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The arrival instants.
    pub fn times(&self) -> Vec<Instant> {
        self.all().into_iter().map(|(at, _)| at).collect()
    }

    /// How many arrived.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// The request target of a request head (`/a?b` of `GET /a?b HTTP/1.1`).
pub fn target_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// The value of header `name` (any case) in a request head, if present.
pub fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A certificate authority made for one test, and server certificates it
/// signs for `localhost` and 127.0.0.1.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "multifetch test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestCa { issuer }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` and 127.0.0.1, and its key, PEM.
    pub fn server_pem(&self) -> (String, String) {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test server");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A rustls server configuration offering the ALPN protocols `alpn`
    /// (empty: no ALPN at all).
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test server");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = vec![cert.der().clone(), self.issuer.der().clone()];
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// A server-side TLS stream over a blocking socket.
pub type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// A TLS server on 127.0.0.1:0 with `config` (see [`TestCa::server_config`]):
/// on its own thread, every connection does the handshake, reads the
/// request head (byte by byte, so nothing after it is taken), then goes to
/// `script`. Reads wait at most [`SAFETY_TIMEOUT`]. Returns its address;
/// the server runs until the test process ends.
pub fn tls_script_server(config: Arc<ServerConfig>, script: fn(TlsStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let _ = socket.set_read_timeout(Some(SAFETY_TIMEOUT));
                let conn = ServerConnection::new(config).expect("a server connection");
                let mut stream = StreamOwned::new(conn, socket);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                script(stream);
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------
// Odds and ends
// ---------------------------------------------------------------------------

/// A port on 127.0.0.1 that nothing listens on (bound, then released), for
/// "connection refused".
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// The number of file descriptors this process has open.
#[cfg(target_os = "linux")]
pub fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A client speaking HTTP/2 from the first byte on `http://` URLs (h2c,
/// prior knowledge), as the h2c servers here need, with a 5 s connect
/// timeout and a 30 s request timeout.
#[cfg(feature = "http2")]
pub fn h2c_client() -> multifetch::ClientBuilder {
    multifetch::Client::builder()
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
}

/// A sink whose every write fails with `disk on fire`.
pub struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Asserts that `result` is the `200` over HTTP/2 whose body is `body of
/// {path}`, as the scripted HTTP/2 servers in `tests/h2/` answer.
#[track_caller]
pub fn assert_h2_ok(result: &multifetch::Result<multifetch::Response>, path: &str) {
    let response = result.as_ref().unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.version(), multifetch::Version::HTTP_2, "{path}");
    assert_eq!(response.text(), format!("body of {path}"), "{path}");
}

/// A directory of the test's own under the system's temporary directory,
/// `multifetch-{test binary}-{name}-{pid}`, emptied when made and removed
/// when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "multifetch-{}-{name}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the test directory");
        TempDir(path)
    }

    /// The path of `name` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The directory's path as text, for a command line.
    pub fn as_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary directory")
    }

    /// Every file name in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .expect("read the test directory")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The example binary `name`, which `cargo test` builds next to the tests
/// (in `target/<profile>/examples`); panics, saying how to build it, when
/// it is missing.
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = target.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it; with `--test` alone, run \
         `cargo build --example {name}` first",
        binary.display()
    );
    binary
}

/// Polls `condition` every 10 ms for up to `limit`; true once it holds.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
}
