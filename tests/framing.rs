//! Response framing against a scripted server that sends canned bytes:
//! Content-Length, chunked, close-delimited, interim responses, bodiless
//! responses, truncation, malformed framing and size limits.

mod support;

use std::io::Write;
use std::time::Duration;

use multifetch::{Client, ClientBuilder, ErrorKind, ProtocolError, Request, Response, StatusCode};
use support::{ScriptServer, drain, drip, finish, read_request_head};

/// Every framing test gets a deadline, so a client that waits for bytes that
/// never come fails instead of hanging.
fn builder() -> ClientBuilder {
    Client::builder().timeout(Duration::from_secs(3))
}

fn fetch_with(client: &Client, server: &ScriptServer) -> multifetch::Result<Response> {
    client.fetch(server.url("/framing"))
}

#[track_caller]
fn fetch_ok(server: &ScriptServer) -> Response {
    fetch_with(&builder().build().unwrap(), server)
        .unwrap_or_else(|e| panic!("expected a response, got {e}"))
}

#[track_caller]
fn fetch_err(client: &Client, server: &ScriptServer, kind: ErrorKind) -> multifetch::Error {
    match fetch_with(client, server) {
        Ok(response) => panic!(
            "expected {kind:?}, got a response: {} with {} body bytes {:?}",
            response.status(),
            response.body().len(),
            response.text()
        ),
        Err(error) => {
            assert_eq!(error.kind(), kind, "{error}");
            let url = server.url("/framing");
            assert_eq!(error.url(), Some(url.as_str()));
            assert!(error.to_string().ends_with(&format!(" ({url})")), "{error}");
            error
        }
    }
}

const CHUNKED_WITH_EXTENSIONS_AND_TRAILERS: &[u8] = b"HTTP/1.1 200 OK\r\n\
    Transfer-Encoding: chunked\r\n\
    X-Head: 1\r\n\
    \r\n\
    5;name=value\r\nhello\r\n\
    6;a;b=\"quoted;value\"\r\n world\r\n\
    A \t;ext\r\n, chunked!\r\n\
    0;last=yes\r\n\
    X-Trailer: yes\r\n\
    X-Checksum: abc\r\n\
    \r\n";

#[test]
fn chunked_with_extensions_and_trailers() {
    let server = ScriptServer::reply(CHUNKED_WITH_EXTENSIONS_AND_TRAILERS);
    let response = fetch_ok(&server);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"hello world, chunked!");
    assert_eq!(response.header("x-head").unwrap(), "1");
}

/// The same bytes one at a time: every split point of head, chunk sizes,
/// extensions, data and trailers crosses a read boundary.
#[test]
fn chunked_response_dripped_byte_by_byte() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.set_nodelay(true);
        drip(
            conn,
            CHUNKED_WITH_EXTENSIONS_AND_TRAILERS,
            Duration::from_millis(1),
        );
        drain(conn);
    });
    let response = fetch_ok(&server);
    assert_eq!(response.body(), b"hello world, chunked!");
}

#[test]
fn content_length_response_dripped_byte_by_byte() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.set_nodelay(true);
        drip(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\nhello, world",
            Duration::from_millis(1),
        );
        drain(conn);
    });
    let response = fetch_ok(&server);
    assert_eq!(response.body(), b"hello, world");
    assert_eq!(response.header("x-a").unwrap(), "b");
}

#[test]
fn content_length_body_does_not_wait_for_close() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    let started = std::time::Instant::now();
    assert_eq!(fetch_ok(&server).body(), b"hello");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the client waited for the server to close"
    );
}

#[test]
fn bytes_after_a_content_length_body_are_not_part_of_it() {
    let server =
        ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES");
    assert_eq!(fetch_ok(&server).body(), b"hello");
}

#[test]
fn close_delimited_body() {
    let server = ScriptServer::reply_then_close(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\r\n of the connection",
    );
    let response = fetch_ok(&server);
    assert_eq!(response.body(), b"until the end\r\n of the connection");
}

#[test]
fn close_delimited_http10_body() {
    let server = ScriptServer::reply_then_close("HTTP/1.0 200 OK\r\n\r\nold style");
    let response = fetch_ok(&server);
    assert_eq!(response.version(), multifetch::Version::HTTP_10);
    assert_eq!(response.body(), b"old style");
}

#[test]
fn close_delimited_empty_body() {
    let server = ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\n\r\n");
    assert!(fetch_ok(&server).body().is_empty());
}

#[test]
fn interim_responses_are_skipped() {
    let server = ScriptServer::reply(
        "HTTP/1.1 100 Continue\r\n\r\n\
         HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: 1\r\n\r\nok",
    );
    let response = fetch_ok(&server);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), b"ok");
    assert_eq!(response.header("x-final").unwrap(), "1");
    assert!(
        response.header("link").is_none(),
        "interim headers leaked into the final response"
    );
}

#[test]
fn interim_response_in_its_own_packet() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.set_nodelay(true);
        let _ = conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        std::thread::sleep(Duration::from_millis(50));
        let _ = conn.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
        drain(conn);
    });
    let response = fetch_ok(&server);
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.body(), b"done");
}

#[test]
fn no_content_has_no_body() {
    // The server keeps the connection open: the client must not wait for a body.
    let server = ScriptServer::reply("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n");
    let response = fetch_ok(&server);
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.body().is_empty());
}

#[test]
fn not_modified_has_no_body_whatever_its_content_length() {
    let server = ScriptServer::reply(
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n",
    );
    let response = fetch_ok(&server);
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.body().is_empty());
    assert_eq!(response.header("content-length").unwrap(), "100");
}

#[test]
fn head_response_has_no_body_whatever_its_content_length() {
    let server = ScriptServer::start(|conn| {
        let head = read_request_head(conn).unwrap_or_default();
        let status = if head.starts_with("HEAD /framing HTTP/1.1\r\n") {
            "200 OK"
        } else {
            "400 Wrong Method"
        };
        let _ = write!(conn, "HTTP/1.1 {status}\r\nContent-Length: 1234\r\n\r\n");
        drain(conn);
    });
    let client = builder().build().unwrap();
    let response = client
        .fetch(Request::head(&server.url("/framing")).unwrap())
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    assert_eq!(response.header("content-length").unwrap(), "1234");
}

#[test]
fn head_response_with_chunked_has_no_body() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    let client = builder().build().unwrap();
    let response = client
        .fetch(Request::head(&server.url("/framing")).unwrap())
        .unwrap();
    assert!(response.body().is_empty());
}

#[test]
fn truncated_content_length_body() {
    let server = ScriptServer::reply_then_close(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly twenty bytes...",
    );
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Truncated);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::IncompleteBody {
                received: 20,
                expected: Some(100)
            })
        ),
        "{error:?}"
    );
}

#[test]
fn truncated_chunked_body_between_chunks() {
    let server = ScriptServer::reply_then_close(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Truncated);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::IncompleteBody { .. })
        ),
        "{error:?}"
    );
}

#[test]
fn truncated_chunked_body_inside_a_chunk() {
    let server = ScriptServer::reply_then_close(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhel",
    );
    fetch_err(&builder().build().unwrap(), &server, ErrorKind::Truncated);
}

#[test]
fn truncated_chunked_body_in_the_trailers() {
    let server = ScriptServer::reply_then_close(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: y",
    );
    fetch_err(&builder().build().unwrap(), &server, ErrorKind::Truncated);
}

#[test]
fn close_without_a_byte() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        finish(conn);
    });
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
    assert!(
        matches!(error.protocol_error(), Some(ProtocolError::EmptyReply)),
        "{error:?}"
    );
}

#[test]
fn close_in_the_middle_of_the_head() {
    let server = ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\nContent-");
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Truncated);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::IncompleteHead { received: 25 })
        ),
        "{error:?}"
    );
}

#[test]
fn conflicting_content_length_fields() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    );
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::ConflictingContentLength)
        ),
        "{error:?}"
    );
}

#[test]
fn conflicting_content_length_list() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!");
    fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
}

#[test]
fn invalid_content_length() {
    for value in ["abc", "-1", "+5", "5 5", "99999999999999999999999"] {
        let server = ScriptServer::reply(format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\nhello"
        ));
        let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
        assert!(
            matches!(
                error.protocol_error(),
                Some(ProtocolError::InvalidContentLength)
            ),
            "{value}: {error:?}"
        );
    }
}

#[test]
fn bad_chunk_size() {
    for size in ["zz", "-5", "", " ", "0x5"] {
        let server = ScriptServer::reply(format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nhello\r\n0\r\n\r\n"
        ));
        let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
        assert!(
            matches!(
                error.protocol_error(),
                Some(ProtocolError::InvalidChunkSize)
            ),
            "{size:?}: {error:?}"
        );
    }
}

#[test]
fn chunk_size_overflow() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    );
    fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
}

#[test]
fn missing_crlf_after_chunk_data() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    );
    fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
}

#[test]
fn garbage_instead_of_a_status_line() {
    let server = ScriptServer::reply("SSH-2.0-OpenSSH_9.6\r\n\r\n");
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
    assert!(
        matches!(error.protocol_error(), Some(ProtocolError::NotHttp { .. })),
        "{error:?}"
    );
}

#[test]
fn head_over_the_size_limit() {
    let big = "x".repeat(2000);
    let server = ScriptServer::reply(format!(
        "HTTP/1.1 200 OK\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\nok"
    ));
    let client = builder().max_head_size(1024).build().unwrap();
    let error = fetch_err(&client, &server, ErrorKind::TooLarge);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::HeadTooLarge { limit: 1024 })
        ),
        "{error:?}"
    );
}

/// A head that never ends is cut off at the limit, not read forever.
#[test]
fn endless_head_is_cut_off_at_the_size_limit() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n");
        let line = b"X-Filler: 0123456789012345678901234567890123456789\r\n";
        // Stops when the client gives up and closes (or after 10 MB).
        for _ in 0..200_000 {
            if conn.write_all(line).is_err() {
                return;
            }
        }
    });
    let client = builder()
        .max_head_size(4096)
        .max_headers(1_000_000)
        .build()
        .unwrap();
    fetch_err(&client, &server, ErrorKind::TooLarge);
}

#[test]
fn head_within_the_size_limit() {
    let big = "x".repeat(500);
    let server = ScriptServer::reply(format!(
        "HTTP/1.1 200 OK\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\nok"
    ));
    let client = builder().max_head_size(1024).build().unwrap();
    assert_eq!(fetch_with(&client, &server).unwrap().body(), b"ok");
}

fn body_limit_client() -> Client {
    builder().max_body_size(10).build().unwrap()
}

#[test]
fn content_length_body_at_the_limit() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(
        fetch_with(&body_limit_client(), &server).unwrap().body(),
        b"0123456789"
    );
}

#[test]
fn content_length_body_over_the_limit() {
    let server = ScriptServer::reply("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n0123456789A");
    let error = fetch_err(&body_limit_client(), &server, ErrorKind::TooLarge);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::BodyTooLarge { limit: 10 })
        ),
        "{error:?}"
    );
}

#[test]
fn chunked_body_at_the_limit() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
    );
    assert_eq!(
        fetch_with(&body_limit_client(), &server).unwrap().body(),
        b"0123456789"
    );
}

#[test]
fn chunked_body_over_the_limit() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n7\r\n456789A\r\n0\r\n\r\n",
    );
    fetch_err(&body_limit_client(), &server, ErrorKind::TooLarge);
}

#[test]
fn close_delimited_body_at_the_limit() {
    let server = ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\n\r\n0123456789");
    assert_eq!(
        fetch_with(&body_limit_client(), &server).unwrap().body(),
        b"0123456789"
    );
}

#[test]
fn close_delimited_body_over_the_limit() {
    let server = ScriptServer::reply_then_close("HTTP/1.1 200 OK\r\n\r\n0123456789A");
    fetch_err(&body_limit_client(), &server, ErrorKind::TooLarge);
}

#[test]
fn more_headers_than_allowed() {
    let headers: String = (0..6).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let server = ScriptServer::reply(format!("HTTP/1.1 200 OK\r\n{headers}\r\n"));
    let client = builder().max_headers(5).build().unwrap();
    let error = fetch_err(&client, &server, ErrorKind::TooLarge);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::TooManyHeaders { limit: 5 })
        ),
        "{error:?}"
    );
}

#[test]
fn as_many_headers_as_allowed() {
    let headers: String = (0..4).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let server = ScriptServer::reply(format!(
        "HTTP/1.1 200 OK\r\n{headers}Content-Length: 0\r\n\r\n"
    ));
    let client = builder().max_headers(5).build().unwrap();
    let response = fetch_with(&client, &server).unwrap();
    assert_eq!(response.headers().len(), 5);
    assert_eq!(response.header("x-h3").unwrap(), "3");
}

#[test]
fn the_request_head_is_well_formed() {
    let server = ScriptServer::start(|conn| {
        let head = read_request_head(conn).unwrap_or_default();
        let body = head.replace("\r\n", "|");
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        drain(conn);
    });
    let client = builder().build().unwrap();
    let response = client
        .fetch(server.url("/a/b%20c?x=1&y=%2F#fragment"))
        .unwrap();
    let head = response.text().into_owned();
    assert!(
        head.starts_with("GET /a/b%20c?x=1&y=%2F HTTP/1.1|"),
        "{head}"
    );
    let lines: Vec<String> = head.split('|').map(str::to_ascii_lowercase).collect();
    assert!(
        lines.contains(&format!("host: 127.0.0.1:{}", server.port())),
        "{head}"
    );
    assert!(head.ends_with("||"), "{head}");
    assert!(
        !head.contains("fragment"),
        "the fragment is never sent: {head}"
    );
}

#[test]
fn switching_protocols_is_refused() {
    let server =
        ScriptServer::reply("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::UnexpectedUpgrade)
        ),
        "{error:?}"
    );
}

#[test]
fn unsupported_transfer_coding() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    let error = fetch_err(&builder().build().unwrap(), &server, ErrorKind::Protocol);
    assert!(
        matches!(
            error.protocol_error(),
            Some(ProtocolError::UnsupportedTransferCoding(_))
        ),
        "{error:?}"
    );
}

/// RFC 9112 §6.3: with both, Transfer-Encoding wins.
#[test]
fn chunked_wins_over_content_length() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(fetch_ok(&server).body(), b"hello");
}

#[test]
fn header_names_are_case_insensitive_for_framing() {
    let server = ScriptServer::reply(
        "HTTP/1.1 200 OK\r\ntransfer-ENCODING: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(fetch_ok(&server).body(), b"abc");
}

#[test]
fn large_chunked_body_in_big_chunks() {
    let chunk = vec![b'z'; 300_000];
    let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(&chunk);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");
    let server = ScriptServer::reply(response);
    let body = fetch_ok(&server).into_body();
    assert_eq!(body.len(), 1_200_000);
    assert!(body.iter().all(|b| *b == b'z'));
}
