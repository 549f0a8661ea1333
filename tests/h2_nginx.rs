//! Interop with nginx's HTTP/2 (the Debian package; `.ci/run` installs it
//! when missing): the test starts its own nginx on a free port, with a
//! temporary prefix and a certificate made at test time, serving static
//! files over TLS with ALPN `h2` and `http/1.1`, gzip on, and a redirect.
//! Where nginx cannot be found the test says so and passes; in CI (the
//! `CI` variable set) a missing nginx fails it.

mod support;

use std::fs;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use multifetch::{Client, ClientBuilder, Request, Version};
use support::{TestCa, assert_body, item_body, wait_until};

const FILES: u64 = 500;

/// An nginx started for one test, stopped and cleaned up when dropped.
struct Nginx {
    child: Child,
    prefix: PathBuf,
    port: u16,
    ca: TestCa,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.prefix);
    }
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Nginx {
    /// Starts nginx, or `None` (with a notice) where it is not installed.
    fn start() -> Option<Nginx> {
        let Some(binary) = nginx_binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "nginx is missing in CI: .ci/run installs the Debian package"
            );
            eprintln!("skipped: nginx is not installed (apt-get install nginx)");
            return None;
        };
        let prefix = std::env::temp_dir().join(format!(
            "multifetch-nginx-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        fs::create_dir_all(prefix.join("www")).unwrap();
        fs::create_dir_all(prefix.join("tmp")).unwrap();
        for n in 0..FILES {
            fs::write(prefix.join(format!("www/item{n}.txt")), item_body(n)).unwrap();
        }
        let ca = TestCa::new();
        let (cert, key) = ca.server_pem();
        fs::write(prefix.join("cert.pem"), cert).unwrap();
        fs::write(prefix.join("key.pem"), key).unwrap();
        // A free port: bound, then released for nginx.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        fs::write(prefix.join("nginx.conf"), config(&prefix, port)).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            child,
            prefix,
            port,
            ca,
        };
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            up,
            "nginx did not listen on {port} within 10 s: {}",
            fs::read_to_string(nginx.prefix.join("error.log")).unwrap_or_default()
        );
        Some(nginx)
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn client(&self) -> ClientBuilder {
        Client::builder()
            .add_root_certificate_pem(self.ca.pem().as_bytes())
            .unwrap()
            .resolve("localhost", [IpAddr::V4(Ipv4Addr::LOCALHOST)])
            .timeout(Duration::from_secs(60))
    }
}

/// A suffix that keeps two tests of one process apart.
fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn config(prefix: &Path, port: u16) -> String {
    let p = prefix.display();
    format!(
        r#"worker_processes 1;
daemon off;
master_process off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {p}/cert.pem;
        ssl_certificate_key {p}/key.pem;
        http2_max_concurrent_streams 64;
        root {p}/www;
        gzip on;
        gzip_types text/plain;
        gzip_min_length 0;
        location = /moved {{ return 301 /item7.txt; }}
        location / {{ }}
    }}
}}
"#
    )
}

#[test]
fn nginx_serves_a_batch_over_one_h2_connection() {
    let Some(nginx) = Nginx::start() else {
        return;
    };
    let client = nginx.client().build().unwrap();
    let urls: Vec<String> = (0..FILES)
        .map(|n| nginx.url(&format!("/item{n}.txt")))
        .collect();
    let mut reactor = multifetch::Reactor::new(&client).unwrap();
    let ids: Vec<_> = urls.iter().map(|u| reactor.submit(u.as_str())).collect();
    let mut results = std::collections::HashMap::new();
    while let Some(done) = reactor.next_completion().unwrap() {
        results.insert(done.id, done.result);
    }
    for (n, id) in ids.iter().enumerate() {
        let response = results.remove(id).unwrap().unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        // nginx compressed it (gzip on), the client decoded it.
        assert!(response.header("content-encoding").is_none());
        assert_body(response.body(), &item_body(n as u64), &urls[n]);
    }
    let counters = reactor.counters();
    assert_eq!(counters.connections_opened, 1, "{counters:?}");
    assert_eq!(counters.h2_streams, FILES, "{counters:?}");
}

#[test]
fn nginx_redirects_heads_and_missing_files_over_h2() {
    let Some(nginx) = Nginx::start() else {
        return;
    };
    let client = nginx.client().build().unwrap();
    let requests = vec![
        Request::get(&nginx.url("/moved")).unwrap(),
        Request::head(&nginx.url("/item3.txt")).unwrap(),
        Request::get(&nginx.url("/missing")).unwrap(),
        Request::get(&nginx.url("/item1.txt"))
            .unwrap()
            .header("accept-encoding", "identity")
            .unwrap(),
    ];
    let results = client.fetch_many(requests);
    let moved = results[0].as_ref().unwrap();
    assert_eq!(moved.redirects(), 1);
    assert_eq!(moved.url().as_str(), nginx.url("/item7.txt"));
    assert_body(moved.body(), &item_body(7), "after the redirect");
    let head = results[1].as_ref().unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.body().is_empty());
    assert_eq!(results[2].as_ref().unwrap().status(), 404);
    let plain = results[3].as_ref().unwrap();
    assert_eq!(plain.version(), Version::HTTP_2);
    assert_body(plain.body(), &item_body(1), "uncompressed, 200 KB");
}
