//! HTTPS against real rustls servers on 127.0.0.1, with a test CA and
//! certificates made at test time by rcgen. Each server runs on std threads,
//! one per connection.
//!
//! Without the `tls` feature only the last test runs: https URLs then fail
//! with an error that says so.

#[cfg(feature = "tls")]
mod feature_support;

#[cfg(feature = "tls")]
mod tls {
    use std::io::{self, Read, Write};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::{Duration, Instant};

    use multifetch::{Client, ClientBuilder, ErrorKind, Phase};
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection, StreamOwned};

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // -----------------------------------------------------------------------
    // Certificates
    // -----------------------------------------------------------------------

    /// A certificate authority made for one test.
    struct Ca {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl Ca {
        fn new(name: &str) -> Ca {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            Ca { issuer }
        }

        fn pem(&self) -> String {
            self.issuer.pem()
        }

        /// A server configuration with a certificate for `names`; `expired`
        /// makes one whose validity ended a day ago.
        fn server(&self, names: &[&str], expired: bool) -> Arc<ServerConfig> {
            self.server_with(names, expired, None)
        }

        fn server_with(
            &self,
            names: &[&str],
            expired: bool,
            versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
        ) -> Arc<ServerConfig> {
            let mut params = leaf_params(names);
            if expired {
                params.not_before = rcgen::date_time_ymd(2020, 1, 1);
                params.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }
            self.server_from(params, versions)
        }

        /// A server configuration with a certificate made from `params`,
        /// signed by this CA and sent with it.
        fn server_from(
            &self,
            params: CertificateParams,
            versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
        ) -> Arc<ServerConfig> {
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let chain = vec![cert.der().clone(), self.issuer.der().clone()];
            server_config(chain, &key, versions)
        }
    }

    /// The parameters of a server certificate for `names`.
    fn leaf_params(names: &[&str]) -> CertificateParams {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test server");
        params
    }

    /// A rustls server configuration presenting `chain` with `key`.
    fn server_config(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: &KeyPair,
        versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
    ) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider);
        let builder = match versions {
            Some(versions) => builder.with_protocol_versions(versions),
            None => builder.with_safe_default_protocol_versions(),
        }
        .unwrap();
        let mut config = builder
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// What `openssl req -x509` makes by default: a self-signed certificate
    /// that is also a CA (basicConstraints CA:TRUE), used as the server's
    /// own certificate. Returns the server configuration and the PEM a
    /// client would trust.
    fn self_signed_ca_as_server(names: &[&str]) -> (Arc<ServerConfig>, String) {
        let mut params = leaf_params(names);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (
            server_config(vec![cert.der().clone()], &key, None),
            cert.pem(),
        )
    }

    /// A client that trusts `ca` and pins `localhost` to 127.0.0.1.
    fn client_for(ca: &Ca) -> ClientBuilder {
        Client::builder()
            .add_root_certificate_pem(ca.pem().as_bytes())
            .unwrap()
            .resolve("localhost", [LOCALHOST])
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
    }

    // -----------------------------------------------------------------------
    // The server
    // -----------------------------------------------------------------------

    /// The body served for `/item/{n}` and friends: every URL its own bytes.
    fn body(n: u64) -> Vec<u8> {
        let unit = format!("body {n};");
        let len = (n as usize * 7919) % 6_000 + if n % 50 == 7 { 100_000 } else { 0 };
        unit.bytes().cycle().take(len).collect()
    }

    /// A server on 127.0.0.1 that speaks TLS (when the first byte of a
    /// connection is a TLS handshake record and it has a config) or plain
    /// HTTP, and answers request after request on each connection.
    struct Server {
        addr: SocketAddr,
        tls_accepted: Arc<AtomicUsize>,
        plain_accepted: Arc<AtomicUsize>,
    }

    impl Server {
        fn start(tls: Option<Arc<ServerConfig>>) -> Server {
            let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
            let addr = listener.local_addr().unwrap();
            let tls_accepted = Arc::new(AtomicUsize::new(0));
            let plain_accepted = Arc::new(AtomicUsize::new(0));
            let (tls_count, plain_count) = (Arc::clone(&tls_accepted), Arc::clone(&plain_accepted));
            thread::spawn(move || {
                for socket in listener.incoming() {
                    let Ok(socket) = socket else { continue };
                    let tls = tls.clone();
                    let (tls_count, plain_count) = (tls_count.clone(), plain_count.clone());
                    thread::spawn(move || {
                        let mut first = [0u8; 1];
                        let is_tls = matches!(socket.peek(&mut first), Ok(1) if first[0] == 0x16);
                        match tls {
                            Some(config) if is_tls => {
                                tls_count.fetch_add(1, Ordering::SeqCst);
                                let conn = ServerConnection::new(config).unwrap();
                                let mut stream = StreamOwned::new(conn, socket);
                                let _ = serve(&mut stream, "https");
                                stream.conn.send_close_notify();
                                let _ = stream.flush();
                            }
                            None if is_tls => {
                                // What a plain HTTP server says to a ClientHello.
                                let mut socket = socket;
                                let _ = socket.write_all(
                                    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
                                );
                            }
                            _ => {
                                plain_count.fetch_add(1, Ordering::SeqCst);
                                let mut socket = socket;
                                let _ = serve(&mut socket, "http");
                            }
                        }
                    });
                }
            });
            Server {
                addr,
                tls_accepted,
                plain_accepted,
            }
        }

        fn url(&self, scheme: &str, path: &str) -> String {
            format!("{scheme}://localhost:{}{path}", self.addr.port())
        }

        fn https(&self, path: &str) -> String {
            self.url("https", path)
        }
    }

    /// Answers requests until the client closes. Paths:
    /// - `/item/{n}`: `body(n)` with Content-Length, kept alive;
    /// - `/chunked/{n}`: `body(n)` in chunks of up to 1000 bytes;
    /// - `/close/{n}`: `body(n)`, then close_notify and close (no framing);
    /// - `/close-abrupt/{n}`: `body(n)`, then close without close_notify;
    /// - `/truncated/{n}`: announces 100 bytes more than it sends, then
    ///   closes without close_notify;
    /// - `/scheme`: the scheme this connection speaks.
    fn serve(stream: &mut (impl Read + Write), scheme: &str) -> io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let Some(path) = read_request(stream, &mut buf)? else {
                return Ok(());
            };
            let (kind, n) = match path.rsplit_once('/') {
                Some((kind, n)) => (kind.to_owned(), n.parse::<u64>().unwrap_or(0)),
                None => (path.clone(), 0),
            };
            let data = body(n);
            match kind.as_str() {
                "/item" => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len());
                    stream.write_all(head.as_bytes())?;
                    stream.write_all(&data)?;
                }
                "/chunked" => {
                    stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
                    for chunk in data.chunks(1000) {
                        write!(stream, "{:x}\r\n", chunk.len())?;
                        stream.write_all(chunk)?;
                        stream.write_all(b"\r\n")?;
                    }
                    stream.write_all(b"0\r\n\r\n")?;
                }
                "/close" => {
                    stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
                    stream.write_all(&data)?;
                    stream.flush()?;
                    return Ok(());
                }
                "/close-abrupt" | "/truncated" => {
                    let head = if kind == "/truncated" {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                            data.len() + 100
                        )
                    } else {
                        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_owned()
                    };
                    stream.write_all(head.as_bytes())?;
                    stream.write_all(&data)?;
                    stream.flush()?;
                    // No close_notify: the caller's close_notify must not
                    // go out either.
                    return Err(io::Error::other("abrupt close"));
                }
                _ => {
                    let text = if path == "/scheme" {
                        scheme
                    } else {
                        "not found"
                    };
                    let status = if path == "/scheme" {
                        "200 OK"
                    } else {
                        "404 Not Found"
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
                        text.len()
                    );
                    stream.write_all(head.as_bytes())?;
                    stream.write_all(text.as_bytes())?;
                }
            }
            stream.flush()?;
        }
    }

    /// Reads one request head and returns its path; `None` at a clean end.
    fn read_request(stream: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<Option<String>> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 4);
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                return Ok(Some(path));
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A server whose every connection runs `script` on the raw socket.
    fn raw_server(script: fn(TcpStream)) -> SocketAddr {
        let listener = TcpListener::bind((LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for socket in listener.incoming().flatten() {
                thread::spawn(move || script(socket));
            }
        });
        addr
    }

    // -----------------------------------------------------------------------
    // Tests
    // -----------------------------------------------------------------------

    #[test]
    fn thousand_https_urls_at_concurrency_100_with_exact_bodies() {
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let client = client_for(&ca).max_connections(100).build().unwrap();
        let urls: Vec<String> = (0..1000)
            .map(|i| server.https(&format!("/item/{i}")))
            .collect();
        let started = Instant::now();
        let results = client.fetch_many(&urls);
        let elapsed = started.elapsed();
        assert_eq!(results.len(), 1000);
        let mut handshakes = 0;
        for (i, result) in results.into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("{i}: {e}"));
            assert_eq!(response.status(), 200);
            assert!(response.body() == body(i as u64), "{i}: body differs");
            let timings = response.timings();
            if timings.reused {
                assert_eq!(timings.tls, None, "{i}");
            } else {
                assert!(timings.tls.is_some() && timings.connect.is_some(), "{i}");
                handshakes += 1;
            }
        }
        let accepted = server.tls_accepted.load(Ordering::SeqCst);
        assert!(accepted <= 100, "{accepted} connections for a limit of 100");
        assert_eq!(handshakes, accepted, "one handshake per connection");
        assert_eq!(server.plain_accepted.load(Ordering::SeqCst), 0);
        assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    }

    /// An https URL through an http proxy: the client asks for a `CONNECT`
    /// tunnel, then does its TLS handshake with the origin inside it (the
    /// proxy sees only the tunnel; the origin sees only TLS).
    #[test]
    fn https_goes_through_a_connect_tunnel_with_tls_inside() {
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let proxy = crate::feature_support::ForwardProxy::start(Some("Basic dTpw"));
        let proxy_url = format!("http://u:p@{}", &proxy.url()["http://".len()..]);
        let client = client_for(&ca)
            .proxy(multifetch::Proxy::https(&proxy_url).unwrap())
            .max_connections(4)
            .build()
            .unwrap();
        let urls: Vec<String> = (0..40)
            .map(|i| server.https(&format!("/item/{i}")))
            .collect();
        for (i, result) in client.fetch_many(&urls).into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("{i}: {e}"));
            assert!(response.body() == body(i as u64), "{i}: body differs");
        }
        let seen = proxy.seen();
        let target = format!("localhost:{}", server.addr.port());
        assert!(
            (1..=4).contains(&seen.len()),
            "{} tunnels for 4 connections",
            seen.len()
        );
        for request in &seen {
            assert_eq!(
                (request.method.as_str(), request.target.as_str()),
                ("CONNECT", target.as_str())
            );
            assert_eq!(request.header("proxy-authorization"), Some("Basic dTpw"));
        }
        assert_eq!(server.tls_accepted.load(Ordering::SeqCst), seen.len());
        assert_eq!(server.plain_accepted.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn chunked_and_close_delimited_bodies_over_tls() {
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let client = client_for(&ca).max_connections(8).build().unwrap();
        let paths: Vec<(String, u64)> = (0..60u64)
            .map(|i| {
                let kind = ["chunked", "close", "close-abrupt"][i as usize % 3];
                (format!("/{kind}/{i}"), i)
            })
            .collect();
        let urls: Vec<String> = paths.iter().map(|(p, _)| server.https(p)).collect();
        for ((path, n), result) in paths.iter().zip(client.fetch_many(&urls)) {
            let response = result.unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(response.body() == body(*n), "{path}: body differs");
        }
    }

    #[test]
    fn framed_body_cut_without_close_notify_is_truncated() {
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let client = client_for(&ca).build().unwrap();
        let error = client.fetch(server.https("/truncated/5")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated, "{error}");
        assert!(error.to_string().contains("/truncated/5"), "{error}");
    }

    #[test]
    fn mixed_http_and_https_in_one_batch() {
        let ca = Ca::new("test CA");
        let secure = Server::start(Some(ca.server(&["localhost"], false)));
        let plain = Server::start(None);
        let client = client_for(&ca).max_connections(20).build().unwrap();
        let urls: Vec<String> = (0..300)
            .map(|i| match i % 2 {
                0 => secure.https(&format!("/item/{i}")),
                _ => plain.url("http", &format!("/chunked/{i}")),
            })
            .collect();
        for (i, result) in client.fetch_many(&urls).into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("{i}: {e}"));
            assert!(response.body() == body(i as u64), "{i}: body differs");
            assert_eq!(
                response.timings().tls.is_some(),
                i % 2 == 0 && !response.timings().reused
            );
        }
        assert!(secure.tls_accepted.load(Ordering::SeqCst) > 0);
        assert!(plain.plain_accepted.load(Ordering::SeqCst) > 0);
    }

    #[test]
    fn http_and_https_on_one_port_never_share_a_connection() {
        // One port that speaks both, so the origins differ only in scheme.
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let client = client_for(&ca).max_connections(4).build().unwrap();
        for round in 0..3 {
            let urls: Vec<String> = (0..40)
                .map(|i| server.url(["http", "https"][i % 2], "/scheme"))
                .collect();
            for (url, result) in urls.iter().zip(client.fetch_many(&urls)) {
                let response = result.unwrap_or_else(|e| panic!("{url}: {e}"));
                let scheme = url.split(':').next().unwrap();
                assert_eq!(response.text(), scheme, "round {round}: {url}");
            }
        }
        assert!(server.tls_accepted.load(Ordering::SeqCst) >= 1);
        assert!(server.plain_accepted.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn bad_certificates_fail_with_reasons_while_the_rest_succeed() {
        let ca = Ca::new("test CA");
        let stranger = Ca::new("someone else's CA");
        let good = Server::start(Some(ca.server(&["localhost"], false)));
        let untrusted = Server::start(Some(stranger.server(&["localhost"], false)));
        let wrong_name = Server::start(Some(ca.server(&["other.example"], false)));
        let expired = Server::start(Some(ca.server(&["localhost"], true)));
        let client = client_for(&ca).build().unwrap();
        let mut urls: Vec<String> = (0..30).map(|i| good.https(&format!("/item/{i}"))).collect();
        urls.insert(3, untrusted.https("/item/1"));
        urls.insert(10, wrong_name.https("/item/1"));
        urls.insert(20, expired.https("/item/1"));
        let results = client.fetch_many(&urls);
        let expect = [
            (3, "certificate is not trusted (unknown issuer)"),
            (
                10,
                "certificate is not valid for localhost (it is for other.example): ",
            ),
            (20, "certificate has expired ("),
        ];
        for (i, (url, result)) in urls.iter().zip(&results).enumerate() {
            match expect.iter().find(|(at, _)| *at == i) {
                Some((_, reason)) => {
                    let error = result.as_ref().unwrap_err();
                    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
                    let text = error.to_string();
                    assert!(text.contains(reason), "{text}");
                    assert!(text.starts_with("TLS handshake with 127.0.0.1:"), "{text}");
                    assert!(text.ends_with(&format!("({url})")), "{text}");
                }
                None => assert!(result.is_ok(), "{url}: {:?}", result.as_ref().err()),
            }
        }
    }

    /// Whether `text` has the shapes of `Debug` output: braces, or a word
    /// glued to an opening parenthesis (`Other(`, `IpAddress(`).
    fn looks_like_debug(text: &str) -> bool {
        text.contains(['{', '}'])
            || text
                .as_bytes()
                .windows(2)
                .any(|w| matches!(w, [a, b'('] if a.is_ascii_alphanumeric() || *a == b'_'))
    }

    /// The report's certificate cases, each from a real rustls server with
    /// rcgen certificates: the message names the cause and the fix in plain
    /// words, with no `Debug` text of any library type.
    #[test]
    fn certificate_errors_are_plain_words_with_the_fix() {
        let ca = Ca::new("test CA");
        let stranger = Ca::new("someone else's CA");
        let (ca_as_server, ca_as_server_pem) = self_signed_ca_as_server(&["localhost"]);
        let mut not_yet = leaf_params(&["localhost"]);
        not_yet.not_before = rcgen::date_time_ymd(2090, 1, 1);
        not_yet.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let cases = [
            (
                "CA used as end entity",
                Server::start(Some(ca_as_server)),
                "the server presents a CA certificate as its server certificate; sign a separate \
                 server certificate with that CA and trust the CA",
            ),
            (
                "wrong name",
                Server::start(Some(
                    ca.server(&["localhost", "127.0.0.1", "example.test"], false),
                )),
                "certificate is not valid for other.test (it is for localhost, 127.0.0.1, \
                 example.test): use a name the certificate lists in the URL, or give the server \
                 a certificate for other.test",
            ),
            (
                "expired",
                Server::start(Some(ca.server(&["localhost"], true))),
                "certificate has expired (",
            ),
            (
                "not yet valid",
                Server::start(Some(ca.server_from(not_yet, None))),
                "certificate is not valid yet (it starts in ",
            ),
            (
                "unknown issuer",
                Server::start(Some(stranger.server(&["localhost"], false))),
                "certificate is not trusted (unknown issuer): it is self-signed or issued by a \
                 CA this client does not trust",
            ),
        ];
        let client = client_for(&ca)
            .add_root_certificate_pem(ca_as_server_pem.as_bytes())
            .unwrap()
            .resolve("other.test", [LOCALHOST])
            .build()
            .unwrap();
        for (what, server, expected) in &cases {
            let host = if *what == "wrong name" {
                "other.test"
            } else {
                "localhost"
            };
            let url = format!("https://{host}:{}/item/1", server.addr.port());
            let error = client.fetch(url.as_str()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Tls, "{what}: {error}");
            let text = error.to_string();
            let prefix = format!(
                "TLS handshake with 127.0.0.1:{} failed: ",
                server.addr.port()
            );
            assert!(text.starts_with(&prefix), "{what}: {text}");
            assert!(text[prefix.len()..].starts_with(expected), "{what}: {text}");
            assert!(text.ends_with(&format!(" ({url})")), "{what}: {text}");
            assert!(!looks_like_debug(&text), "{what}: {text}");
        }
    }

    #[test]
    fn only_given_roots_and_der_roots() {
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost", "127.0.0.1"], false)));
        // Built-in roots do not know the test CA.
        let client = Client::builder().build().unwrap();
        let error = client.fetch(server.https("/item/1")).unwrap_err();
        assert!(error.to_string().contains("unknown issuer"), "{error}");
        // A DER root, and only that root; an IP address is checked against
        // the certificate's IP names.
        let client = Client::builder()
            .tls_built_in_roots(false)
            .add_root_certificate_der(ca.issuer.der().to_vec())
            .build()
            .unwrap();
        let url = format!("https://127.0.0.1:{}/item/2", server.addr.port());
        assert_eq!(client.fetch(url).unwrap().body(), body(2));
        // No roots at all, and roots that are not certificates.
        let error = Client::builder()
            .tls_built_in_roots(false)
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        let error = Client::builder()
            .add_root_certificate_pem(b"not a certificate")
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        let error = Client::builder()
            .add_root_certificate_der(b"junk".to_vec())
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    }

    /// `danger_accept_invalid_certs(true)` (curl's `-k`) takes what the
    /// default client refuses: an unknown issuer, another name, an expired
    /// certificate and a self-signed CA certificate, with no roots at all;
    /// a server that does not speak TLS still fails.
    #[test]
    fn danger_accept_invalid_certs_takes_any_certificate_and_is_off_by_default() {
        let stranger = Ca::new("someone else's CA");
        let (self_signed, _) = self_signed_ca_as_server(&["localhost"]);
        let servers = [
            Server::start(Some(stranger.server(&["localhost"], false))),
            Server::start(Some(stranger.server(&["other.example"], false))),
            Server::start(Some(stranger.server(&["localhost"], true))),
            Server::start(Some(self_signed)),
        ];
        let urls: Vec<String> = servers.iter().map(|s| s.https("/item/3")).collect();
        let strict = Client::builder()
            .resolve("localhost", [LOCALHOST])
            .build()
            .unwrap();
        for (url, result) in urls.iter().zip(strict.fetch_many(&urls)) {
            let error = result.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Tls, "{url}: {error}");
        }
        let insecure = Client::builder()
            .resolve("localhost", [LOCALHOST])
            .tls_built_in_roots(false)
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        for (url, result) in urls.iter().zip(insecure.fetch_many(&urls)) {
            let response = result.unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(response.body(), body(3), "{url}");
        }
        // Turned off again, verification is back.
        let again = Client::builder()
            .resolve("localhost", [LOCALHOST])
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_certs(false)
            .build()
            .unwrap();
        assert!(again.fetch(&urls[0]).is_err());
        let plain = Server::start(None);
        let error = insecure.fetch(plain.https("/item/1")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        assert!(
            error.to_string().contains("did not answer in TLS"),
            "{error}"
        );
    }

    #[test]
    fn tls12_only_server_works() {
        let ca = Ca::new("test CA");
        let config = ca.server_with(&["localhost"], false, Some(&[&rustls::version::TLS12]));
        let server = Server::start(Some(config));
        let client = client_for(&ca).build().unwrap();
        let urls: Vec<String> = (0..20)
            .map(|i| server.https(&format!("/chunked/{i}")))
            .collect();
        for (i, result) in client.fetch_many(&urls).into_iter().enumerate() {
            assert_eq!(result.unwrap().body(), body(i as u64));
        }
    }

    #[test]
    fn idle_tls_connection_is_reused_after_session_tickets() {
        // TLS 1.3 servers send session tickets after the handshake; they
        // may arrive while the connection is idle and must not close it.
        let ca = Ca::new("test CA");
        let server = Server::start(Some(ca.server(&["localhost"], false)));
        let client = client_for(&ca).build().unwrap();
        let first = client.fetch(server.https("/item/3")).unwrap();
        assert!(!first.timings().reused);
        thread::sleep(Duration::from_millis(200));
        for i in 0..5 {
            let again = client.fetch(server.https(&format!("/item/{i}"))).unwrap();
            assert!(
                again.timings().reused,
                "request {i} opened a new connection"
            );
            assert_eq!(again.body(), body(i));
        }
        assert_eq!(server.tls_accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn server_that_never_speaks_tls_times_out_in_the_handshake() {
        let addr = raw_server(|mut socket| {
            let mut sink = [0u8; 4096];
            while matches!(socket.read(&mut sink), Ok(n) if n > 0) {}
        });
        let client = Client::builder()
            .connect_timeout(Duration::from_millis(400))
            .build()
            .unwrap();
        let started = Instant::now();
        let error = client
            .fetch(format!("https://127.0.0.1:{}/", addr.port()))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert_eq!(error.timeout_phase(), Some(Phase::TlsHandshake));
        assert!(
            error
                .to_string()
                .starts_with("timeout after 400ms in the TLS handshake with 127.0.0.1:"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn reset_in_the_middle_of_the_handshake_is_a_clear_error() {
        let addr = raw_server(|mut socket| {
            // Read part of the ClientHello and close with the rest unread:
            // the kernel answers with a reset.
            let mut first = [0u8; 5];
            let _ = socket.read_exact(&mut first);
            thread::sleep(Duration::from_millis(50));
            drop(socket);
        });
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let started = Instant::now();
        let error = client
            .fetch(format!("https://127.0.0.1:{}/", addr.port()))
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Io | ErrorKind::Tls),
            "{:?}: {error}",
            error.kind()
        );
        let text = error.to_string();
        assert!(
            text.contains("in the TLS handshake with 127.0.0.1:"),
            "{text}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{text}");
    }

    #[test]
    fn plain_http_port_is_reported_as_not_tls() {
        let server = Server::start(None);
        let ca = Ca::new("test CA");
        let client = client_for(&ca).build().unwrap();
        let error = client.fetch(server.https("/item/1")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
        assert!(
            error.to_string().contains("did not answer in TLS"),
            "{error}"
        );
    }
}

#[cfg(not(feature = "tls"))]
#[test]
fn https_needs_the_tls_feature() {
    let client = multifetch::Client::new();
    let results = client.fetch_many(["https://127.0.0.1:9/", "http://127.0.0.1:1/"]);
    let error = results[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), multifetch::ErrorKind::InvalidUrl, "{error}");
    assert_eq!(
        error.to_string(),
        "https URLs need the `tls` feature of multifetch, which is off in this build (https://127.0.0.1:9/)"
    );
    // The plain URL is tried (and refused) as usual.
    assert_eq!(
        results[1].as_ref().unwrap_err().kind(),
        multifetch::ErrorKind::Connect
    );
}
