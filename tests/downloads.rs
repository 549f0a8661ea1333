//! Downloads to files against local servers: byte-exact files for
//! length-framed, chunked and close-delimited bodies; a body cut off leaves
//! nothing at the target; resuming after a cut from a server that honours
//! `Range` and `If-Range` (after a close or a reset), one that ignores
//! `Range` (200), one that answers 416 for a file already complete; a
//! failing sink fails its request only; progress counts equal the bytes
//! written.

mod support;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use multifetch::{Client, ErrorKind, PART_SUFFIX, Request};
use support::{
    Broken, HttpServer, ScriptServer, TempDir, assert_body, finish, header_of, item_body,
    read_request_head,
};

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The body every scripted file server serves.
fn file_body() -> Vec<u8> {
    (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect()
}

/// `bytes=N-` as N.
fn range_start(head: &str) -> Option<usize> {
    header_of(head, "range")?
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

/// How a scripted file server answers each request (by its number, from 0).
type Answer = dyn Fn(usize, &str, &[u8], &mut TcpStream) + Send + Sync;

/// A raw-TCP server of one file, answering each request with `answer` and
/// recording every request head.
struct FileServer {
    server: ScriptServer,
    heads: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    fn start(answer: Box<Answer>) -> FileServer {
        let heads = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let body = Arc::new(file_body());
        let server = ScriptServer::start({
            let heads = Arc::clone(&heads);
            move |conn| {
                if let Some(head) = read_request_head(conn) {
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    heads.lock().unwrap().push(head.clone());
                    answer(n, &head, &body, conn);
                }
                finish(conn);
            }
        });
        FileServer { server, heads }
    }

    fn url(&self) -> String {
        self.server.url("/file.bin")
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

/// A 200 with the whole body (cut after `cut` bytes when given), an ETag
/// and `Connection: close`.
fn send_full(conn: &mut TcpStream, body: &[u8], etag: &str, cut: Option<usize>) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body[..cut.unwrap_or(body.len())]);
}

/// A 206 from `from` on.
fn send_partial(conn: &mut TcpStream, body: &[u8], from: usize) {
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {from}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len() - 1,
        body.len(),
        body.len() - from
    );
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body[from..]);
}

#[test]
fn files_are_byte_exact_for_length_chunked_and_close_delimited_bodies() {
    let dir = TempDir::new("exact");
    let http = HttpServer::start_keep_alive();
    let close_delimited = ScriptServer::start(|conn| {
        if read_request_head(conn).is_some() {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = conn.write_all(&item_body(1));
        }
        finish(conn);
    });
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for n in [0u64, 1, 5, 98, 500] {
        for (kind, url) in [
            ("length", http.url(&format!("/item/{n}"))),
            ("chunked", http.url(&format!("/chunked/{n}"))),
        ] {
            let path = dir.file(&format!("{kind}-{n}"));
            requests.push(Request::get(&url).unwrap().to_file(&path));
            expected.push((path, item_body(n)));
        }
    }
    let path = dir.file("close-delimited");
    requests.push(
        Request::get(&close_delimited.url("/x"))
            .unwrap()
            .to_file(&path),
    );
    expected.push((path, item_body(1)));

    let results = client().fetch_many(requests);
    for (result, (path, body)) in results.into_iter().zip(&expected) {
        let response = result.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(response.body().is_empty(), "not kept in memory");
        assert_eq!(response.body_len(), body.len() as u64);
        let download = response.download().expect("a file download");
        assert_eq!(&download.path, path);
        assert_eq!(download.len, body.len() as u64);
        assert_eq!((download.resumes, download.resumed_from), (0, 0));
        assert_body(&fs::read(path).unwrap(), body, &path.display().to_string());
    }
    assert!(
        dir.names().iter().all(|n| !n.ends_with(PART_SUFFIX)),
        "no part file left: {:?}",
        dir.names()
    );
}

#[test]
fn a_body_cut_off_midway_leaves_no_file_at_the_target() {
    let dir = TempDir::new("cut");
    let server = FileServer::start(Box::new(|_, _, body, conn| {
        send_full(conn, body, "\"v1\"", Some(body.len() / 2));
    }));
    let target = dir.file("cut.bin");
    // Without resuming, and with the default resumes all cut off too.
    for request in [
        Request::get(&server.url())
            .unwrap()
            .to_file(&target)
            .max_resumes(0),
        Request::get(&server.url()).unwrap().to_file(&target),
    ] {
        let error = client().fetch(request).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
        assert!(!target.exists(), "nothing at the target");
        assert!(dir.names().is_empty(), "no part file: {:?}", dir.names());
    }
    assert_eq!(
        server.heads().len(),
        1 + 1 + 3,
        "once, then once plus 3 resumes"
    );
}

#[test]
fn a_cut_download_resumes_from_a_server_honouring_range_and_if_range() {
    let dir = TempDir::new("honour");
    let cut = 100_000;
    let server = FileServer::start(Box::new(move |n, head, body, conn| {
        match (n, range_start(head), header_of(head, "if-range")) {
            (0, None, _) => send_full(conn, body, "\"v1\"", Some(cut)),
            // Still the same representation: the rest.
            (_, Some(from), Some("\"v1\"")) => send_partial(conn, body, from),
            _ => {
                let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        }
    }));
    let target = dir.file("resumed.bin");
    let response = client()
        .fetch(Request::get(&server.url()).unwrap().to_file(&target))
        .unwrap();
    assert_eq!(response.status().as_u16(), 206);
    let download = response.download().unwrap();
    assert_eq!(
        (download.len, download.resumed_from, download.resumes),
        (300_000, cut as u64, 1)
    );
    assert_eq!(response.body_len(), 200_000, "this response's part");
    assert_body(&fs::read(&target).unwrap(), &file_body(), "resumed file");
    let heads = server.heads();
    assert_eq!(heads.len(), 2);
    assert!(header_of(&heads[0], "range").is_none());
    assert_eq!(
        header_of(&heads[0], "accept-encoding").is_some(),
        cfg!(feature = "gzip"),
        "{}",
        heads[0]
    );
    assert_eq!(range_start(&heads[1]), Some(cut));
    assert!(
        header_of(&heads[1], "accept-encoding").is_none(),
        "no Accept-Encoding with Range: {}",
        heads[1]
    );
    assert_eq!(dir.names(), ["resumed.bin"]);
}

#[test]
fn a_download_reset_part_way_resumes_like_a_cut_one() {
    let dir = TempDir::new("reset");
    let cut = 100_000;
    let heads = Arc::new(Mutex::new(Vec::new()));
    let server = ScriptServer::start({
        let heads = Arc::clone(&heads);
        move |conn| {
            let _ = conn.set_nodelay(true);
            let Some(head) = read_request_head(conn) else {
                return;
            };
            let first = {
                let mut heads = heads.lock().unwrap();
                heads.push(head.clone());
                heads.len() == 1
            };
            let body = file_body();
            if first {
                // Half the file, then a reset (SO_LINGER 0: close sends RST).
                send_full(conn, &body, "\"v1\"", Some(cut));
                socket2::SockRef::from(&*conn)
                    .set_linger(Some(Duration::ZERO))
                    .expect("SO_LINGER");
                return;
            }
            match (range_start(&head), header_of(&head, "if-range")) {
                (Some(from), Some("\"v1\"")) => send_partial(conn, &body, from),
                _ => {
                    let _ =
                        conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                }
            }
            finish(conn);
        }
    });
    let target = dir.file("reset.bin");
    let response = client()
        .fetch(
            Request::get(&server.url("/file.bin"))
                .unwrap()
                .to_file(&target),
        )
        .unwrap();
    assert_eq!(response.status().as_u16(), 206);
    let download = response.download().unwrap();
    assert_eq!(
        (download.len, download.resumed_from, download.resumes),
        (300_000, cut as u64, 1)
    );
    assert_body(&fs::read(&target).unwrap(), &file_body(), "resumed file");
    assert_eq!(heads.lock().unwrap().len(), 2);
    assert_eq!(dir.names(), ["reset.bin"]);
}

#[test]
fn a_server_that_ignores_range_restarts_the_file_from_zero() {
    let dir = TempDir::new("ignore");
    let server = FileServer::start(Box::new(|n, _, body, conn| {
        // Every answer is a 200; the first is cut.
        let cut = (n == 0).then_some(123_456);
        send_full(conn, body, "\"v1\"", cut);
    }));
    let target = dir.file("restarted.bin");
    let response = client()
        .fetch(Request::get(&server.url()).unwrap().to_file(&target))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let download = response.download().unwrap();
    assert_eq!((download.resumed_from, download.resumes), (0, 1));
    assert_body(&fs::read(&target).unwrap(), &file_body(), "restarted file");
    assert_eq!(range_start(&server.heads()[1]), Some(123_456));
}

#[test]
fn a_changed_file_fails_if_range_and_is_fetched_whole_again() {
    let dir = TempDir::new("changed");
    let server = FileServer::start(Box::new(|n, head, body, conn| {
        match (n, header_of(head, "if-range")) {
            (0, _) => send_full(conn, body, "\"old\"", Some(50_000)),
            // The validator no longer matches: the whole new file.
            (_, Some("\"old\"")) => send_full(conn, body, "\"new\"", None),
            _ => send_partial(conn, body, range_start(head).unwrap_or(0)),
        }
    }));
    let target = dir.file("changed.bin");
    let response = client()
        .fetch(Request::get(&server.url()).unwrap().to_file(&target))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_body(&fs::read(&target).unwrap(), &file_body(), "refetched file");
}

#[test]
fn a_complete_file_is_answered_416_and_counts_as_success() {
    let dir = TempDir::new("complete");
    let server = FileServer::start(Box::new(|_, head, body, conn| match range_start(head) {
        Some(from) if from >= body.len() => {
            let answer = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(answer.as_bytes());
        }
        Some(from) => send_partial(conn, body, from),
        None => send_full(conn, body, "\"v1\"", None),
    }));
    // A complete file from an earlier run, at the target.
    let target = dir.file("done.bin");
    fs::write(&target, file_body()).unwrap();
    let request = || {
        Request::get(&server.url())
            .unwrap()
            .to_file(&target)
            .continue_partial(true)
    };
    let response = client().fetch(request()).unwrap();
    assert_eq!(response.status().as_u16(), 416);
    let download = response.download().expect("the file is the download");
    assert!(download.already_complete);
    assert_eq!(download.len, 300_000);
    assert_body(&fs::read(&target).unwrap(), &file_body(), "untouched file");
    assert_eq!(dir.names(), ["done.bin"]);

    // A partial file an earlier run left: only the rest is fetched.
    fs::remove_file(&target).unwrap();
    fs::write(
        dir.file(&format!("done.bin{PART_SUFFIX}")),
        &file_body()[..77_777],
    )
    .unwrap();
    let response = client().fetch(request()).unwrap();
    assert_eq!(response.status().as_u16(), 206);
    assert_eq!(response.download().unwrap().resumed_from, 77_777);
    assert_body(&fs::read(&target).unwrap(), &file_body(), "continued file");
    assert_eq!(dir.names(), ["done.bin"]);
    let heads = server.heads();
    assert_eq!(range_start(&heads[0]), Some(300_000));
    assert_eq!(range_start(&heads[1]), Some(77_777));
}

#[test]
fn continuing_keeps_the_part_file_when_the_download_fails() {
    let dir = TempDir::new("keep");
    let server = FileServer::start(Box::new(|_, _, body, conn| {
        send_full(conn, body, "\"v1\"", Some(1000));
    }));
    let target = dir.file("kept.bin");
    let request = Request::get(&server.url())
        .unwrap()
        .to_file(&target)
        .continue_partial(true)
        .max_resumes(0);
    assert_eq!(
        client().fetch(request).unwrap_err().kind(),
        ErrorKind::Truncated
    );
    assert!(!target.exists());
    let part = dir.file(&format!("kept.bin{PART_SUFFIX}"));
    assert_eq!(fs::read(&part).unwrap(), &file_body()[..1000]);
}

/// A writer that fails every write.
#[test]
fn a_failing_sink_ends_its_request_with_an_io_error_naming_it_while_the_batch_goes_on() {
    let dir = TempDir::new("failing");
    let http = HttpServer::start_keep_alive();
    let missing = dir.file("no such directory").join("x.bin");
    let requests = vec![
        Request::get(&http.url("/item/5"))
            .unwrap()
            .to_file(&missing),
        Request::get(&http.url("/item/6"))
            .unwrap()
            .to_writer(Broken),
        Request::get(&http.url("/item/7"))
            .unwrap()
            .to_file(dir.file("ok.bin")),
        Request::get(&http.url("/item/8")).unwrap(),
    ];
    let results = client().fetch_many(requests);
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    let part = Path::new(&format!("{}{PART_SUFFIX}", missing.display())).to_path_buf();
    assert!(
        error
            .to_string()
            .starts_with(&format!("I/O error opening {}: ", part.display())),
        "{error}"
    );
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert_eq!(
        error.to_string(),
        format!(
            "I/O error writing the body to the request's writer: disk on fire ({})",
            http.url("/item/6")
        )
    );
    assert_body(
        &fs::read(dir.file("ok.bin")).unwrap(),
        &item_body(7),
        "the batch went on",
    );
    assert_eq!(results[3].as_ref().unwrap().body(), item_body(8));
}

#[test]
fn progress_counts_equal_the_bytes_written() {
    let dir = TempDir::new("progress");
    let http = HttpServer::start_keep_alive();
    let items: Vec<u64> = vec![1, 98, 195, 3, 0];
    let requests: Vec<Request> = items
        .iter()
        .map(|n| {
            Request::get(&http.url(&format!("/item/{n}")))
                .unwrap()
                .to_file(dir.file(&format!("{n}.bin")))
        })
        .collect();
    let mut seen: HashMap<usize, (u64, Option<u64>)> = HashMap::new();
    let mut last_batch_bytes = 0;
    let results = client().fetch_many_with_progress(requests, |p| {
        let entry = seen.entry(p.index).or_default();
        assert!(p.progress.received >= entry.0, "progress never goes back");
        *entry = (p.progress.received, p.progress.expected);
        assert!(p.bytes_received >= last_batch_bytes);
        last_batch_bytes = p.bytes_received;
    });
    for (index, (n, result)) in items.iter().zip(results).enumerate() {
        let response = result.unwrap();
        let on_disk = fs::metadata(dir.file(&format!("{n}.bin"))).unwrap().len();
        assert_eq!(on_disk, item_body(*n).len() as u64);
        let (received, expected) = seen.get(&index).copied().unwrap_or_default();
        assert_eq!(received, on_disk, "item {n}: progress = bytes written");
        assert_eq!(expected, Some(on_disk), "item {n}");
        assert_eq!(response.body_len(), on_disk);
    }
    // Through the Reactor too, chunked bodies included (no length known).
    let client = client();
    let mut reactor = multifetch::Reactor::new(&client).unwrap();
    reactor.report_progress(true);
    let id = reactor.submit(
        Request::get(&http.url("/chunked/98"))
            .unwrap()
            .to_file(dir.file("chunked.bin")),
    );
    let mut last = None;
    while let Some(event) = reactor.next_event().unwrap() {
        match event {
            multifetch::Event::Progress { id: of, progress } => {
                assert_eq!(of, id);
                assert_eq!(progress.expected, None);
                // Read straight from the reactor: as far or further (or
                // gone, once the request is done).
                if let Some(now) = reactor.progress(id) {
                    assert!(now.received >= progress.received);
                }
                last = Some(progress.received);
            }
            multifetch::Event::Done(done) => {
                done.result.unwrap();
            }
            other => panic!("{other:?}"),
        }
    }
    let on_disk = fs::metadata(dir.file("chunked.bin")).unwrap().len();
    assert_eq!(last, Some(on_disk));
    assert_eq!(on_disk, item_body(98).len() as u64);
}
