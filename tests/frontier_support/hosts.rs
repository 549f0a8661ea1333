//! Local HTTP/1.1 hosts for the frontier tests, each on its own port, all
//! served by one mio thread that counts each host's connections open at once.
//!
//! The count is exact for a client that closes a connection and then opens
//! another: the kernel queues the FIN before the new SYN, and the server
//! looks for end-of-stream on a host's connections (reads them) before it
//! counts a newly accepted one. A thread per connection could count the new
//! one before its thread noticed the old one close.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// Answers every GET with `body_for(port, path)`, keep-alive.
    Serve,
    /// Accepts and closes at once: every fetch fails.
    HangUp,
}

/// Counters of one host.
#[derive(Default)]
pub struct HostStats {
    open: AtomicUsize,
    max_open: AtomicUsize,
    accepted: AtomicUsize,
    /// Requests served, by path.
    requests: Mutex<HashMap<String, u32>>,
}

/// Running hosts; stopped on drop.
pub struct Hosts {
    addrs: Vec<SocketAddr>,
    stats: Vec<Arc<HostStats>>,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

/// The body a host serves for a path: small, and different for every URL.
pub fn body_for(port: u16, path: &str) -> Vec<u8> {
    let line = format!("{port} {path}\n");
    line.repeat(1 + path.len() % 4).into_bytes()
}

impl Hosts {
    pub fn start(behaviours: &[Behaviour]) -> Hosts {
        let poll = Poll::new().expect("a poller");
        let waker_token = Token(behaviours.len());
        let waker = Arc::new(Waker::new(poll.registry(), waker_token).expect("a waker"));
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for (i, _) in behaviours.iter().enumerate() {
            let mut listener =
                TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind a host");
            addrs.push(listener.local_addr().expect("its address"));
            poll.registry()
                .register(&mut listener, Token(i), Interest::READABLE)
                .expect("register a listener");
            listeners.push(listener);
        }
        let stats: Vec<Arc<HostStats>> = behaviours.iter().map(|_| Arc::default()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            poll,
            listeners,
            behaviours: behaviours.to_vec(),
            ports: addrs.iter().map(SocketAddr::port).collect(),
            stats: stats.clone(),
            conns: HashMap::new(),
            next_token: behaviours.len() + 1,
            stop: Arc::clone(&stop),
        };
        let thread = thread::Builder::new()
            .name("frontier-hosts".into())
            .spawn(move || server.run())
            .expect("start the hosts' thread");
        Hosts {
            addrs,
            stats,
            stop,
            waker,
            thread: Some(thread),
        }
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn addr(&self, host: usize) -> SocketAddr {
        self.addrs[host]
    }

    /// Most connections the host had open at once.
    pub fn max_open(&self, host: usize) -> usize {
        self.stats[host].max_open.load(Ordering::SeqCst)
    }

    /// Connections the host accepted in all.
    pub fn accepted(&self, host: usize) -> usize {
        self.stats[host].accepted.load(Ordering::SeqCst)
    }

    /// How many times the host served each path.
    pub fn requests(&self, host: usize) -> HashMap<String, u32> {
        self.stats[host]
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    host: usize,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Registered for writability too (output waits for room).
    writing: bool,
}

struct Server {
    poll: Poll,
    listeners: Vec<TcpListener>,
    behaviours: Vec<Behaviour>,
    ports: Vec<u16>,
    stats: Vec<Arc<HostStats>>,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        while !self.stop.load(Ordering::SeqCst) {
            if let Err(e) = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(100)))
            {
                assert_eq!(e.kind(), io::ErrorKind::Interrupted, "poll failed: {e}");
                continue;
            }
            // Connections first, so closes are seen before new connections count.
            let mut ready_listeners = Vec::new();
            for event in events.iter() {
                let token = event.token();
                if token.0 < self.listeners.len() {
                    ready_listeners.push(token.0);
                } else if self.conns.contains_key(&token) {
                    self.service(token);
                }
            }
            for host in ready_listeners {
                self.accept(host);
            }
        }
    }

    fn accept(&mut self, host: usize) {
        loop {
            let (mut stream, _) = match self.listeners[host].accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            self.stats[host].accepted.fetch_add(1, Ordering::SeqCst);
            if self.behaviours[host] == Behaviour::HangUp {
                drop(stream);
                continue;
            }
            // Any connection of this host the client has closed is gone now.
            let same_host: Vec<Token> = self
                .conns
                .iter()
                .filter(|(_, c)| c.host == host)
                .map(|(t, _)| *t)
                .collect();
            for token in same_host {
                self.service(token);
            }
            let _ = stream.set_nodelay(true);
            let token = Token(self.next_token);
            self.next_token += 1;
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                continue;
            }
            let stats = &self.stats[host];
            let now = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
            stats.max_open.fetch_max(now, Ordering::SeqCst);
            self.conns.insert(
                token,
                Conn {
                    stream,
                    host,
                    input: Vec::new(),
                    output: Vec::new(),
                    writing: false,
                },
            );
        }
    }

    /// Reads what the connection has, answers each complete request, writes
    /// what it can; closes it at end-of-stream or on an error.
    fn service(&mut self, token: Token) {
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let port = self.ports[conn.host];
        let mut closed = false;
        let mut chunk = [0u8; 4096];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => conn.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        while let Some(end) = conn.input.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&conn.input[..end]).into_owned();
            conn.input.drain(..end + 4);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            *self.stats[conn.host]
                .requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(path.to_owned())
                .or_default() += 1;
            let body = body_for(port, path);
            let _ = write!(
                conn.output,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.output.extend_from_slice(&body);
        }
        while !closed && !conn.output.is_empty() {
            match conn.stream.write(&conn.output) {
                Ok(n) => {
                    conn.output.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => closed = true,
            }
        }
        if closed {
            let mut conn = self
                .conns
                .remove(&token)
                .expect("the connection just served");
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.stats[conn.host].open.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let writing = !conn.output.is_empty();
        if writing != conn.writing {
            conn.writing = writing;
            let interest = if writing {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(&mut conn.stream, token, interest);
        }
    }
}
