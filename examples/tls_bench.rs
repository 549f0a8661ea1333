//! HTTPS next to plain HTTP: small keep-alive requests against local servers.
//!
//! `cargo run --release --example tls_bench -- [REQUESTS] [CONCURRENCY]`
//! (defaults: 10000 requests, concurrency 64).
//!
//! One server on 127.0.0.1 speaks both (TLS when a connection starts with a
//! TLS record), with a thread per connection and a certificate from a CA
//! made at start-up by rcgen; the client trusts that CA. Each run uses a
//! fresh client, so its handshakes are counted. Like other examples this one
//! uses `unwrap()`; real code should handle the errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

const BODY: &[u8] = b"hello from the bench server\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map_or(10_000, |a| a.parse().unwrap());
    let concurrency: usize = args.next().map_or(64, |a| a.parse().unwrap());

    let (ca_pem, config) = certificates();
    let addr = serve(config);
    println!(
        "{requests} requests of {} bytes, concurrency {concurrency}",
        BODY.len()
    );
    for scheme in ["http", "https"].repeat(3) {
        let client = multifetch::Client::builder()
            .max_connections(concurrency)
            .resolve("localhost", [Ipv4Addr::LOCALHOST.into()])
            .add_root_certificate_pem(ca_pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let urls = (0..requests).map(|i| format!("{scheme}://localhost:{}/{i}", addr.port()));
        let started = Instant::now();
        let summary = client.fetch_each(urls, |_, result| {
            assert_eq!(result.unwrap().body(), BODY);
        });
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{scheme:>5}: {:>8.0} req/s  ({:.3} s, {} ok, {} failed, {} connections)",
            requests as f64 / secs,
            secs,
            summary.ok,
            summary.failed,
            summary.connections_opened,
        );
    }
}

/// A CA and a server configuration with a certificate for `localhost`.
fn certificates() -> (String, Arc<ServerConfig>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(config))
}

/// Serves `BODY` with keep-alive, over TLS or plain TCP, a thread per connection.
fn serve(config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            thread::spawn(move || {
                let _ = socket.set_nodelay(true);
                let mut first = [0u8; 1];
                if matches!(socket.peek(&mut first), Ok(1) if first[0] == 0x16) {
                    let conn = ServerConnection::new(config).unwrap();
                    answer(StreamOwned::new(conn, socket));
                } else {
                    answer(socket);
                }
            });
        }
    });
    addr
}

/// Answers each request head with `BODY` until the client closes.
fn answer(stream: impl Read + Write) {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", BODY.len());
    loop {
        // Skip to the blank line that ends the request head.
        loop {
            line.clear();
            match stream.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let out = stream.get_mut();
        let reply = [head.as_bytes(), BODY].concat();
        if out.write_all(&reply).and_then(|()| out.flush()).is_err() {
            return;
        }
    }
}
