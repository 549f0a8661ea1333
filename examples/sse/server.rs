//! A local server-sent events server for the example and its test: std
//! threads, one per connection. `GET /events/{n}` streams events `1..=events`
//! of stream `n` (chunked, `text/event-stream`), starting after the
//! `Last-Event-ID` the request carries, and drops the connection every
//! `drop_every` events, half of the time in the middle of an event. When
//! every event has been sent it ends the stream; a reconnect after the last
//! event is answered `204 No Content`, which tells a client to stop.
//!
//! Streams use different line endings (LF, CRLF, CR) and send comments, so
//! that a client meets the whole of the format.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the server sends.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Events per stream.
    pub events: u64,
    /// Drop the connection after this many events on it (0: never).
    pub drop_every: u64,
    /// Time between two events.
    pub interval: Duration,
}

/// A request the server received: which stream, and from which event on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub stream: u64,
    pub last_event_id: Option<String>,
}

/// A running server; stops when dropped.
pub struct SseServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl SseServer {
    /// Binds 127.0.0.1:0 and serves.
    pub fn start(settings: Settings) -> io::Result<SseServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = thread::spawn({
            let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
            move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
                            thread::spawn(move || {
                                let _ = serve(conn, settings, &stop, &seen);
                            });
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            }
        });
        Ok(SseServer {
            addr,
            stop,
            seen,
            thread: Some(thread),
        })
    }

    /// The URL of stream `n`.
    pub fn url(&self, n: u64) -> String {
        format!("http://{}/events/{n}", self.addr)
    }

    /// Every request so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SseServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves one connection.
fn serve(
    conn: TcpStream,
    settings: Settings,
    stop: &AtomicBool,
    seen: &Mutex<Vec<Seen>>,
) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut last_event_id = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("last-event-id") {
                last_event_id = Some(value.trim().to_owned());
            }
        }
    }
    let stream = request_line
        .split_whitespace()
        .nth(1)
        .and_then(|target| target.strip_prefix("/events/"))
        .and_then(|n| n.parse::<u64>().ok());
    let mut conn = conn;
    let Some(stream) = stream else {
        conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    };
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen {
            stream,
            last_event_id: last_event_id.clone(),
        });
    let first = last_event_id
        .and_then(|id| id.parse::<u64>().ok())
        .map_or(1, |id| id + 1);
    if first > settings.events {
        conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    conn.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
          Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )?;
    let eol = ["\n", "\r\n", "\r"][(stream % 3) as usize];
    let chunk = |conn: &mut TcpStream, text: &str| -> io::Result<()> {
        write!(conn, "{:x}\r\n{text}\r\n", text.len())
    };
    // A byte order mark and the reconnection time open the stream.
    chunk(
        &mut conn,
        &format!("\u{feff}: stream {stream}{eol}retry: 50{eol}{eol}"),
    )?;
    for (sent, id) in (first..=settings.events).enumerate() {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let event = format!(
            "id: {id}{eol}event: tick{eol}data: stream {stream} event {id}{eol}data: second line{eol}{eol}"
        );
        if settings.drop_every > 0 && sent as u64 == settings.drop_every {
            if id % 2 == 0 {
                // Half an event, then nothing: it must not be dispatched.
                let half = &event[..event.len() / 2];
                chunk(&mut conn, half)?;
            }
            return Ok(());
        }
        chunk(&mut conn, &event)?;
        if id % 5 == 0 {
            chunk(&mut conn, &format!(": keep-alive{eol}"))?;
        }
        thread::sleep(settings.interval);
    }
    // Every event sent: the end of the stream.
    conn.write_all(b"0\r\n\r\n")?;
    conn.flush()
}
