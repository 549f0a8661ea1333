//! The sans-IO HTTP/2 session against an independent peer: a Python `h2`
//! server (`tests/h2/python_server.py`, h2c with prior knowledge) driven
//! over a blocking `std::net::TcpStream`. Several concurrent streams, a
//! body larger than the receive windows (so our WINDOW_UPDATEs must flow),
//! a request body larger than the server's window (so we must wait for
//! its), trailers, a RST_STREAM and a GOAWAY.
//!
//! Needs `python3` with the `h2` package (`.ci/run` installs it).

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use multifetch::__private::h2::{ErrorCode, Event, RequestHead, Session, Settings, StreamId};
use multifetch::{HeaderMap, Method};
use support::python::PythonServer;

const LARGE_LEN: usize = 300_000;
const UPLOAD_LEN: usize = 200_000;

/// What one stream received.
#[derive(Debug, Default)]
struct Exchange {
    status: Option<u16>,
    body: Vec<u8>,
    trailers: Option<HeaderMap>,
    reset: Option<ErrorCode>,
    refused: bool,
    done: bool,
}

struct Driver {
    session: Session,
    socket: TcpStream,
    out: Vec<u8>,
    exchanges: BTreeMap<StreamId, Exchange>,
    goaway: Option<(StreamId, ErrorCode)>,
    /// Request bodies still to send: stream, bytes, offset.
    uploads: Vec<(StreamId, Vec<u8>, usize)>,
}

impl Driver {
    fn request(&mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> StreamId {
        let headers = HeaderMap::new();
        let head = RequestHead {
            method: &method,
            scheme: "http",
            authority: "127.0.0.1",
            path,
            headers: &headers,
        };
        let stream = self.session.send_request(&head, body.is_none()).unwrap();
        if let Some(body) = body {
            self.uploads.push((stream, body, 0));
        }
        self.exchanges.insert(stream, Exchange::default());
        stream
    }

    fn push_uploads(&mut self) {
        for (stream, body, offset) in &mut self.uploads {
            if *offset < body.len() || body.is_empty() {
                let taken = self
                    .session
                    .send_data(*stream, &body[*offset..], true)
                    .unwrap();
                *offset += taken;
            }
        }
        self.uploads
            .retain(|(_, body, offset)| *offset < body.len());
    }

    fn flush(&mut self) {
        self.push_uploads();
        self.session.data_to_send(&mut self.out);
        self.socket.write_all(&self.out).unwrap();
        self.out.clear();
    }

    /// Reads and handles until `until` holds; bounded by the socket's read
    /// timeout and a read count.
    fn run(&mut self, until: impl Fn(&Driver) -> bool) {
        let mut buf = vec![0; 32 * 1024];
        for _ in 0..10_000 {
            self.flush();
            if until(self) {
                return;
            }
            let n = self
                .socket
                .read(&mut buf)
                .expect("read from the Python h2 server");
            if n == 0 {
                break;
            }
            let mut released = Vec::new();
            let exchanges = &mut self.exchanges;
            let goaway = &mut self.goaway;
            self.session
                .recv(&buf[..n], |event| match event {
                    Event::Response {
                        stream,
                        status,
                        end_stream,
                        ..
                    } => {
                        let e = exchanges.get_mut(&stream).unwrap();
                        e.status = Some(status.as_u16());
                        e.done |= end_stream;
                    }
                    Event::Data {
                        stream,
                        data,
                        end_stream,
                    } => {
                        let e = exchanges.get_mut(&stream).unwrap();
                        e.body.extend_from_slice(data);
                        e.done |= end_stream;
                        released.push((stream, data.len()));
                    }
                    Event::Trailers { stream, headers } => {
                        let e = exchanges.get_mut(&stream).unwrap();
                        e.trailers = Some(headers);
                        e.done = true;
                    }
                    Event::Reset { stream, code } => {
                        let e = exchanges.get_mut(&stream).unwrap();
                        e.reset = Some(code);
                        e.done = true;
                    }
                    Event::Refused { stream } => {
                        let e = exchanges.get_mut(&stream).unwrap();
                        e.refused = true;
                        e.done = true;
                    }
                    Event::GoAway {
                        last_stream_id,
                        code,
                        ..
                    } => *goaway = Some((last_stream_id, code)),
                    Event::StreamError { error, .. } => panic!("stream error: {error}"),
                    _ => {}
                })
                .unwrap_or_else(|e| panic!("connection error: {e}"));
            // The consumer has the bytes: give the credit back.
            for (stream, n) in released {
                self.session.release(stream, n);
            }
        }
        panic!("the exchange did not finish: {:#?}", self.exchanges);
    }
}

#[test]
fn python_h2_server() {
    let server = PythonServer::start("python_server.py", &[]);
    let port = server.port();
    let socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut driver = Driver {
        // Windows far below the large body, so it needs our WINDOW_UPDATEs.
        session: Session::new(Settings {
            stream_window: 65_535,
            connection_window: 100_000,
            ..Settings::default()
        }),
        socket,
        out: Vec::new(),
        exchanges: BTreeMap::new(),
        goaway: None,
        uploads: Vec::new(),
    };
    let upload: Vec<u8> = (0..UPLOAD_LEN).map(|i| (i % 256) as u8).collect();
    let upload_sum = upload.iter().map(|&b| u64::from(b)).sum::<u64>() % 65_536;
    let small = driver.request(Method::GET, "/small", None);
    let large = driver.request(Method::GET, "/large", None);
    let posted = driver.request(Method::POST, "/upload", Some(upload));
    let trailers = driver.request(Method::GET, "/trailers", None);
    let reset = driver.request(Method::GET, "/reset", None);
    assert_eq!(driver.session.open_streams(), 5);
    driver.run(|d| d.exchanges.values().all(|e| e.done));

    assert!(driver.session.peer_settings().received);
    assert_eq!(driver.exchanges[&small].status, Some(200));
    assert_eq!(driver.exchanges[&small].body, b"hello");
    let want: Vec<u8> = (0..LARGE_LEN).map(|i| (i % 251) as u8).collect();
    assert_eq!(driver.exchanges[&large].body.len(), LARGE_LEN);
    assert!(driver.exchanges[&large].body == want, "large body differs");
    assert_eq!(
        String::from_utf8_lossy(&driver.exchanges[&posted].body),
        format!("{UPLOAD_LEN}:{upload_sum}")
    );
    let e = &driver.exchanges[&trailers];
    assert_eq!(e.body, b"body");
    assert_eq!(e.trailers.as_ref().unwrap()["x-checksum"], "abc");
    assert_eq!(driver.exchanges[&reset].reset, Some(ErrorCode::CANCEL));
    assert_eq!(driver.session.open_streams(), 0);

    // GOAWAY naming the stream before ours: ours is refused.
    let last = driver.request(Method::GET, "/goaway", None);
    driver.run(|d| d.exchanges[&last].done);
    assert!(driver.exchanges[&last].refused);
    assert_eq!(
        driver.goaway,
        Some((StreamId::new(last.get() - 2), ErrorCode::NO_ERROR))
    );
    assert!(!driver.session.can_open_stream());
}
