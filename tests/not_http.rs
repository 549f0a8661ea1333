//! Servers that answer in something other than HTTP/1.x: TLS (an https port
//! spoken to over http), an SSH banner, binary data, an HTTP/0.9-style body.
//! Each is a protocol error as soon as the first bytes prove it, with a
//! message that says what it looks like, while the server keeps the
//! connection open: the client's 20 s deadline never comes into it, and the
//! rest of the batch completes.

mod support;

use std::io::Write;
use std::time::Duration;

use multifetch::{Client, ErrorKind};
use support::{HttpServer, ScriptServer, assert_body, drain, item_body, read_request_head};

/// A client with a deadline far beyond what any of these errors may take:
/// a client that waited for more bytes would fail with `Timeout`.
fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Fetches `url`, which must fail with a protocol error whose message is
/// `message`, then the peer and the URL.
#[track_caller]
fn protocol_error(server: &ScriptServer, message: &str) {
    let url = server.url("/");
    let error = client().fetch(&url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert_eq!(
        error.to_string(),
        format!("{message} from {} ({url})", server.addr())
    );
}

/// The start of a TLS ClientHello record, as the issue report saw it.
const TLS_RECORD: &[u8] = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";

#[test]
fn a_tls_record_says_use_https() {
    let server = ScriptServer::reply(TLS_RECORD);
    protocol_error(&server, "the server answered in TLS: use https://");
}

/// A real TLS server (rustls) given a plain-text request answers with an
/// alert record.
#[cfg(feature = "tls")]
#[test]
fn a_real_tls_server_spoken_to_in_http_says_use_https() {
    use std::sync::Arc;

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap(),
    );
    let server = ScriptServer::start(move |conn| {
        let mut tls = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        while tls.read_tls(conn).is_ok_and(|n| n > 0) {
            if tls.process_new_packets().is_err() {
                // The alert rustls queued for what it could not read.
                while tls.wants_write() && tls.write_tls(conn).is_ok() {}
                break;
            }
        }
        drain(conn);
    });
    protocol_error(&server, "the server answered in TLS: use https://");
}

/// An SSH server speaks first and then waits for the client's banner.
#[test]
fn an_ssh_banner_is_named() {
    let server = ScriptServer::start(|conn| {
        let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
        drain(conn);
    });
    protocol_error(
        &server,
        "the server answered with the banner of an SSH server (`SSH-2.0-OpenSSH_9.2`), not HTTP",
    );
}

#[test]
fn binary_garbage_is_shown_as_bytes() {
    let server = ScriptServer::reply(b"\x00\xff\x13\x37\xde\xad\xbe\xef".to_vec());
    protocol_error(
        &server,
        "not an HTTP/1.x response: it starts with the bytes 00 ff 13 37 de ad be ef \
         instead of `HTTP/` (another protocol)",
    );
}

/// HTTP/0.9: the body, no head, then the close; not a truncation.
#[test]
fn a_headerless_body_is_not_http_1() {
    let server = ScriptServer::reply_then_close("hello, this is a body\n");
    protocol_error(
        &server,
        "not an HTTP/1.x response: it starts with `hello, this is a body` instead of \
         `HTTP/` (HTTP/0.9, or another protocol)",
    );
    // The same kept open: no wait for the close.
    let server = ScriptServer::reply("hello, this is a body\n");
    protocol_error(
        &server,
        "not an HTTP/1.x response: it starts with `hello, this is a body` instead of \
         `HTTP/` (HTTP/0.9, or another protocol)",
    );
}

/// An answer that begins as HTTP and goes wrong later is still judged on
/// the whole head, as before.
#[test]
fn a_bad_head_that_starts_right_is_a_malformed_head() {
    let server = ScriptServer::start(|conn| {
        read_request_head(conn);
        let _ = conn.write_all(b"HTTP/1.1 2OO OK\r\n\r\n");
        drain(conn);
    });
    protocol_error(&server, "malformed response head: invalid response status");
}

/// Every kind of foreign answer in one batch with good URLs: each slot has
/// its own result.
#[test]
fn foreign_answers_fail_only_their_own_requests() {
    let good = HttpServer::start_keep_alive();
    let foreign = [
        ScriptServer::reply(TLS_RECORD),
        ScriptServer::start(|conn| {
            let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
            drain(conn);
        }),
        ScriptServer::reply(b"\x00\xff\x13\x37".to_vec()),
        ScriptServer::reply("hello, this is a body\n"),
    ];
    let mut urls: Vec<String> = (0..20).map(|n| good.url(&format!("/item/{n}"))).collect();
    for (i, server) in foreign.iter().enumerate() {
        urls.insert(i * 5 + 2, server.url("/foreign"));
    }
    let results = client().fetch_many(&urls);
    let mut n = 0;
    for (url, result) in urls.iter().zip(results) {
        if url.ends_with("/foreign") {
            let error = result.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Protocol, "{url}: {error}");
        } else {
            assert_body(result.unwrap().body(), &item_body(n), url);
            n += 1;
        }
    }
    assert_eq!(n, 20);
}
