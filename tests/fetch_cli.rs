//! The `fetch` example through its built binary (`cargo test` builds it next
//! to the tests), against local servers that record what they receive: each
//! option reaches the server as curl would send it, `-o` writes exact files
//! and refuses to overwrite, `--json` lines parse and carry every field,
//! `-w` fills in curl's variables, no progress bar when stderr is a pipe,
//! and the exit statuses `--help` documents.

mod feature_support;
mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use feature_support::{ForwardProxy, Server, response};
use serde_json::Value;
use support::{TempDir, example_binary};

/// The `fetch` example, built by `cargo test` next to the tests.
fn binary() -> PathBuf {
    example_binary("fetch")
}

/// What a run printed and how it ended.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The stdout lines parsed as JSON.
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect()
    }
}

/// Runs `fetch ARGS` with `stdin` as its input, killed after 60 s.
fn fetch_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fetch binary starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fetch {args:?} ran for more than 60 s");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn fetch(args: &[&str]) -> Run {
    fetch_with_stdin(args, b"")
}

/// `/status/N` answers N; `/redirect` 302s to `/end`; `/slow` never
/// answers; everything else 200 with a body made from its path.
fn server() -> Server {
    Server::start(|req| {
        let path = req.target.as_str();
        if let Some(code) = path.strip_prefix("/status/") {
            let status = match code {
                "404" => "404 Not Found",
                "500" => "500 Internal Server Error",
                _ => "204 No Content",
            };
            return response(status, &[], b"");
        }
        match path {
            "/redirect" => response("302 Found", &[("Location", "/end")], b""),
            "/bad-location" => response(
                "301 Moved Permanently",
                &[("Location", "http://[::1/")],
                b"",
            ),
            "/slow" => {
                thread::sleep(Duration::from_secs(5));
                response("200 OK", &[], b"late")
            }
            _ => response(
                "200 OK",
                &[("Content-Type", "text/plain"), ("X-Path", path)],
                body_for(path).as_slice(),
            ),
        }
    })
}

/// The body served for `path`: its own bytes, some binary.
fn body_for(path: &str) -> Vec<u8> {
    let mut body = format!("body of {path}\n").into_bytes();
    body.extend((0..=255u8).cycle().take(path.len() * 1000));
    body
}

#[test]
fn help_names_the_options_as_curl_does_and_usage_errors_exit_2() {
    let help = fetch(&["--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    for option in [
        "-H, --header",
        "-X, --request",
        "-d, --data",
        "-A, --user-agent",
        "-x, --proxy",
        "--noproxy",
        "-k, --insecure",
        "--cacert",
        "--http1.1",
        "--http2",
        "--http2-prior-knowledge",
        "-L, --location",
        "--max-redirs",
        "--compressed",
        "--no-compressed",
        "-m, --max-time",
        "--connect-timeout",
        "--retry",
        "--retry-delay",
        "--retry-max-time",
        "--rate",
        "--per-host",
        "-Z, --parallel-max",
        "-f, --fail",
        "-o, --output-dir",
        "-C, --continue",
        "--json",
        "-w, --write-out",
        "--no-progress",
        "Exit status",
    ] {
        assert!(help.stdout.contains(option), "--help lacks {option}");
    }
    // What this build lacks, --help says.
    assert_eq!(
        help.stdout.contains("`http2` feature is off"),
        !cfg!(feature = "http2")
    );
    assert_eq!(
        help.stdout.contains("`tls` feature is off"),
        !cfg!(feature = "tls"),
        "{}",
        help.stdout
    );
    assert_eq!(
        help.stdout.contains("zstd is not in this build")
            || help.stdout.contains("br and zstd are not in this build"),
        !cfg!(feature = "zstd") && cfg!(feature = "gzip"),
    );
    for (args, words) in [
        (&[][..], "no URLs given"),
        (&["--bogus", "http://x/"][..], "unexpected argument"),
        (&["-m", "soon", "http://x/"][..], "expected seconds"),
        (
            &["--rate", "0", "http://x/"][..],
            "positive number of requests",
        ),
        (&["-Z", "0", "http://x/"][..], "at least 1"),
        (
            &["-w", "%{nope}", "http://x/"][..],
            "unknown variable %{nope}",
        ),
        (
            &["-H", "no colon", "http://x/"][..],
            "expected `Name: value`",
        ),
        (&["-X", "BAD METHOD", "http://x/"][..], "not a valid method"),
        (&["--clobber", "http://x/"][..], "no -o is given"),
        (&["-i", "/no/such/file"][..], "cannot read /no/such/file"),
        (
            &[
                "-o",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
                "http://x/",
            ][..],
            "it is a file, not a directory",
        ),
        (
            &["--noproxy", "*", "http://x/"][..],
            "--noproxy applies to the proxy of -x",
        ),
    ] {
        let run = fetch(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn request_options_reach_the_server_as_curl_sends_them() {
    let server = server();
    let dir = TempDir::new("data");
    let form = dir.file("form.txt");
    std::fs::write(&form, "x=1\r\n&y=2\n").unwrap();
    let binary_file = dir.file("bytes.bin");
    std::fs::write(&binary_file, b"line\r\n\x00end\n").unwrap();
    let run = fetch(&[
        "-X",
        "PUT",
        "-H",
        "X-Test: one two",
        "-H",
        "Accept: text/plain",
        "-H",
        "X-Empty;",
        "-A",
        "agent/1.0",
        "-d",
        "a=1",
        "-d",
        &format!("@{}", form.display()),
        &server.url("/put"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let run_binary = fetch(&[
        "--data-binary",
        &format!("@{}", binary_file.display()),
        "-H",
        "Content-Type: application/octet-stream",
        &server.url("/post"),
    ]);
    assert_eq!(run_binary.code, 0, "{run_binary:?}");
    let plain = fetch(&[&server.url("/get")]);
    let raw = fetch(&["--no-compressed", &server.url("/raw")]);
    let stdin = fetch_with_stdin(&["-d", "@-", &server.url("/stdin")], b"from=stdin\n");
    assert_eq!((plain.code, raw.code, stdin.code), (0, 0, 0));

    let seen = server.seen();
    let find = |path: &str| seen.iter().find(|s| s.target == path).unwrap().clone();
    let put = find("/put");
    assert_eq!(put.method, "PUT");
    assert_eq!(put.header("x-test"), Some("one two"));
    assert_eq!(put.header("accept"), Some("text/plain"));
    assert_eq!(put.header("x-empty"), Some(""));
    assert_eq!(put.header("user-agent"), Some("agent/1.0"));
    assert_eq!(
        put.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // Several -d joined by `&`, a file's line breaks dropped, as curl does.
    assert_eq!(put.body, b"a=1&x=1&y=2");
    let post = find("/post");
    assert_eq!(post.method, "POST", "--data-binary makes a POST");
    assert_eq!(post.body, b"line\r\n\x00end\n", "byte for byte");
    assert_eq!(
        post.header("content-type"),
        Some("application/octet-stream")
    );
    let get = find("/get");
    assert_eq!(get.method, "GET");
    assert!(get.body.is_empty());
    assert!(
        get.header("user-agent").unwrap().starts_with("multifetch/"),
        "{get:?}"
    );
    if cfg!(feature = "gzip") {
        assert!(
            get.header("accept-encoding")
                .unwrap()
                .starts_with("gzip, deflate"),
            "--compressed is the default"
        );
    }
    assert_eq!(find("/raw").header("accept-encoding"), None);
    let from_stdin = find("/stdin");
    assert_eq!(
        (from_stdin.method.as_str(), from_stdin.body.as_slice()),
        ("POST", &b"from=stdin"[..])
    );
}

#[test]
fn redirects_are_followed_only_with_location() {
    let server = server();
    let url = server.url("/redirect");
    let off = fetch(&[&url]);
    assert_eq!(off.code, 0, "{off:?}");
    assert!(off.stdout.starts_with("302 "), "{}", off.stdout);
    assert!(
        off.stdout.contains("(redirect not followed: "),
        "{}",
        off.stdout
    );
    let on = fetch(&["-L", "--json", &url]);
    let lines = on.json();
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["redirects"], 1);
    assert_eq!(lines[0]["final_url"], server.url("/end"));
    assert_eq!(lines[0]["redirect_declined"], Value::Null);
    let off_json = fetch(&["--json", &url]).json();
    assert!(
        off_json[0]["redirect_declined"].is_string(),
        "{:?}",
        off_json[0]
    );
    // A redirect that cannot be followed says why, in text and JSON.
    let bad = server.url("/bad-location");
    let why = "Location `http://[::1/` is not a valid URL: invalid IPv6 address";
    let text = fetch(&["-L", &bad]);
    assert!(
        text.stdout
            .lines()
            .next()
            .unwrap()
            .ends_with(&format!("(redirect not followed: {why})")),
        "{}",
        text.stdout
    );
    assert_eq!(
        fetch(&["-L", "--json", &bad]).json()[0]["redirect_declined"],
        why
    );
    // --max-redirs 0 with -L: nothing followed either.
    let zero = fetch(&["-L", "--max-redirs", "0", "--json", &url]).json();
    assert_eq!(zero[0]["status"], 302);
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|s| s.target == "/end").count(), 1);
}

/// The fields every `--json` line has.
const FIELDS: &[&str] = &[
    "index",
    "url",
    "ok",
    "status",
    "http_version",
    "bytes",
    "final_url",
    "redirects",
    "attempts",
    "redirect_declined",
    "remote_addr",
    "content_type",
    "timings",
    "saved",
    "error",
    "exit_code",
];

#[test]
fn json_lines_parse_and_carry_every_field() {
    let server = server();
    let dir = TempDir::new("json");
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let run = fetch(&[
        "--json",
        "-f",
        "-o",
        dir.as_str(),
        &server.url("/a.txt"),
        &server.url("/status/404"),
        &refused,
        "http://[::1",
    ]);
    assert_eq!(run.code, 22, "the first failure decides: {run:?}");
    let lines = run.json();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    for (i, line) in lines[..4].iter().enumerate() {
        let object = line.as_object().unwrap();
        for field in FIELDS {
            assert!(
                object.contains_key(*field),
                "line {i} lacks {field}: {line}"
            );
        }
        assert_eq!(line["index"], i);
    }
    let ok = &lines[0];
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["http_version"], "HTTP/1.1");
    assert_eq!(ok["bytes"], body_for("/a.txt").len());
    assert_eq!(ok["content_type"], "text/plain");
    assert_eq!(ok["exit_code"], 0);
    assert_eq!(ok["error"], Value::Null);
    assert_eq!(ok["remote_addr"], format!("127.0.0.1:{}", server.port()));
    assert_eq!(ok["saved"], dir.file("a.txt").to_str().unwrap());
    let timings = ok["timings"].as_object().unwrap();
    for key in [
        "queue_ms",
        "dns_ms",
        "connect_ms",
        "tls_ms",
        "first_byte_ms",
        "total_ms",
        "reused",
    ] {
        assert!(timings.contains_key(key), "timings lack {key}: {ok}");
    }
    assert!(timings["total_ms"].as_f64().unwrap() >= timings["first_byte_ms"].as_f64().unwrap());
    assert_eq!(timings["tls_ms"], Value::Null, "plain HTTP");
    let not_found = &lines[1];
    assert_eq!(not_found["ok"], false);
    assert_eq!(not_found["status"], 404);
    assert_eq!(not_found["error"]["kind"], "http");
    assert_eq!(not_found["exit_code"], 22);
    assert_eq!(
        not_found["saved"],
        Value::Null,
        "--fail saves no error page"
    );
    let refused = &lines[2];
    assert_eq!(refused["status"], Value::Null);
    assert_eq!(refused["timings"], Value::Null);
    assert_eq!(refused["error"]["kind"], "connect");
    assert_eq!(refused["exit_code"], 7);
    assert_eq!(lines[3]["error"]["kind"], "invalid URL");
    assert_eq!(lines[3]["exit_code"], 3);
    let summary = &lines[4]["summary"];
    assert_eq!(summary["ok"], 1);
    assert_eq!(summary["failed"], 3);
    assert_eq!(summary["failed_by_kind"]["http"], 1);
    assert_eq!(summary["failed_by_kind"]["connect"], 1);
    assert_eq!(summary["failed_by_kind"]["invalid URL"], 1);
    assert_eq!(summary["bytes"], body_for("/a.txt").len());
    assert_eq!(summary["exit_code"], 22);
    for key in ["wall_s", "requests_per_s", "bytes_per_s"] {
        assert!(summary[key].is_number(), "{key}: {summary}");
    }
}

#[test]
fn write_out_fills_in_curls_variables() {
    let server = server();
    let url = server.url("/w");
    let run = fetch(&[
        "-s",
        "-w",
        "%{http_code}|%{size_download}|%{url}|%{url_effective}|%{num_redirects}|%header{x-path}|\
         %{content_type}|%{http_version}|%{remote_ip}|%{remote_port}|%{exitcode}|%{time_total}|\
         %{time_namelookup}|%{time_connect}|%{time_appconnect}|%{time_starttransfer}|100%%\\n",
        &url,
        &server.url("/status/404"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "-s prints no summary: {}", run.stdout);
    let fields: Vec<&str> = lines[0].split('|').collect();
    assert_eq!(
        fields[..11],
        [
            "200",
            &body_for("/w").len().to_string(),
            &url,
            &url,
            "0",
            "/w",
            "text/plain",
            "1.1",
            "127.0.0.1",
            &server.port().to_string(),
            "0",
        ]
    );
    let times: Vec<f64> = fields[11..16].iter().map(|t| t.parse().unwrap()).collect();
    assert!(times.iter().all(|t| *t >= 0.0 && *t < 30.0), "{times:?}");
    assert!(times[0] >= times[4], "total ≥ start of transfer: {times:?}");
    assert_eq!(fields[16], "100%");
    assert!(lines[1].starts_with("404|0|"), "{}", lines[1]);
}

#[test]
fn exit_statuses_are_curls() {
    let server = server();
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    for (args, code) in [
        (vec![server.url("/a")], 0),
        // Without --fail a 404 is an answer, as in curl.
        (vec![server.url("/status/404")], 0),
        (vec!["-f".into(), server.url("/status/500")], 22),
        (vec![refused.clone()], 7),
        (vec!["http://[::1".into()], 3),
        (vec!["-m".into(), "0.3".into(), server.url("/slow")], 28),
        (vec!["http://no-such-host.invalid/".into()], 6),
        // The first failure in input order decides.
        (
            vec![
                "-f".into(),
                server.url("/a"),
                refused.clone(),
                server.url("/status/404"),
            ],
            7,
        ),
        (vec!["-f".into(), server.url("/status/404"), refused], 22),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = fetch(&args);
        assert_eq!(run.code, code, "{args:?}: {run:?}");
    }
}

#[test]
fn output_dir_writes_exact_files_and_never_overwrites() {
    let server = server();
    let dir = TempDir::new("out");
    let urls = [
        server.url("/files/a.bin"),
        server.url("/files/b%20c.txt"),
        server.url("/"),
        server.url("/status/404"),
    ];
    let mut args = vec!["-o", dir.as_str()];
    args.extend(urls.iter().map(String::as_str));
    let first = fetch(&args);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        std::fs::read(dir.file("a.bin")).unwrap(),
        body_for("/files/a.bin")
    );
    assert_eq!(
        std::fs::read(dir.file("b c.txt")).unwrap(),
        body_for("/files/b%20c.txt")
    );
    assert_eq!(
        std::fs::read(dir.file("index.html")).unwrap(),
        body_for("/")
    );
    assert!(!dir.file("404").exists(), "only 2xx bodies are saved");
    assert!(
        first
            .stdout
            .contains(&format!("-> {}", dir.file("a.bin").display())),
        "{}",
        first.stdout
    );
    let requests = server.seen().len();

    // Again: every file exists, so nothing is fetched or written.
    std::fs::write(dir.file("a.bin"), b"mine").unwrap();
    let again = fetch(&args[..4]);
    assert_eq!(again.code, 23, "{again:?}");
    assert_eq!(
        again
            .stdout
            .matches("exists; --clobber replaces it")
            .count(),
        2
    );
    assert_eq!(std::fs::read(dir.file("a.bin")).unwrap(), b"mine");
    assert_eq!(
        server.seen().len(),
        requests,
        "no request for a refused file"
    );

    // --clobber replaces them.
    let mut clobber = args[..4].to_vec();
    clobber.push("--clobber");
    assert_eq!(fetch(&clobber).code, 0);
    assert_eq!(
        std::fs::read(dir.file("a.bin")).unwrap(),
        body_for("/files/a.bin")
    );

    // Two URLs with one name: the second fails, the first is written.
    let same = fetch(&[
        "-o",
        dir.as_str(),
        &server.url("/x/same.txt"),
        &server.url("/y/same.txt"),
    ]);
    assert_eq!(same.code, 23, "{same:?}");
    assert!(
        same.stdout.contains("is also the file of URL 1"),
        "{}",
        same.stdout
    );
    assert_eq!(
        std::fs::read(dir.file("same.txt")).unwrap(),
        body_for("/x/same.txt")
    );

    // --name index: the position in the input, with the path's extension.
    let indexed = TempDir::new("indexed");
    let run = fetch(&[
        "-o",
        indexed.as_str(),
        "--name",
        "index",
        &server.url("/x/same.txt"),
        &server.url("/y/same.txt"),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read(indexed.file("1.txt")).unwrap(),
        body_for("/x/same.txt")
    );
    assert_eq!(
        std::fs::read(indexed.file("2.txt")).unwrap(),
        body_for("/y/same.txt")
    );
}

#[test]
fn no_progress_bar_when_stderr_is_a_pipe() {
    let server = server();
    let urls: Vec<String> = (0..50).map(|i| server.url(&format!("/p/{i}"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-Z", "4"]);
    let run = fetch(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "", "nothing on a piped stderr");
    assert_eq!(run.stdout.lines().count(), 51);
    assert!(!run.stdout.contains('\x1b'), "no escape codes in stdout");
}

#[test]
fn urls_come_from_files_and_stdin_in_order() {
    let server = server();
    let dir = TempDir::new("input");
    let list = dir.file("urls.txt");
    std::fs::write(
        &list,
        format!(
            "# a comment\n\n{}\n  {}  \n",
            server.url("/1"),
            server.url("/2")
        ),
    )
    .unwrap();
    let stdin = format!("{}\n", server.url("/3"));
    let run = fetch_with_stdin(
        &[
            "--json",
            &server.url("/0"),
            "-i",
            list.to_str().unwrap(),
            "-i",
            "-",
        ],
        stdin.as_bytes(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let lines = run.json();
    let urls: Vec<&str> = lines[..4]
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            server.url("/0"),
            server.url("/1"),
            server.url("/2"),
            server.url("/3")
        ]
    );
}

#[test]
fn proxy_and_noproxy_route_as_curl_does() {
    let server = server();
    let proxy = ForwardProxy::start(None);
    let proxy_url = proxy.url();
    let run = fetch(&["-x", &proxy_url, &server.url("/via")]);
    assert_eq!(run.code, 0, "{run:?}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, server.url("/via"), "absolute form");
    let direct = fetch(&[
        "-x",
        &proxy_url,
        "--noproxy",
        "127.0.0.1",
        &server.url("/direct"),
    ]);
    assert_eq!(direct.code, 0, "{direct:?}");
    assert_eq!(proxy.seen().len(), 1, "--noproxy bypassed the proxy");
}

#[test]
fn concurrency_and_per_host_limits_hold() {
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (o, m) = (Arc::clone(&open), Arc::clone(&most));
    let server = Server::start(move |_| {
        let now = o.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(20));
        o.fetch_sub(1, Ordering::SeqCst);
        response("200 OK", &[], b"ok")
    });
    let urls: Vec<String> = (0..24).map(|i| server.url(&format!("/{i}"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-Z", "8", "--per-host", "3"]);
    let run = fetch(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let most = most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} at once");
}

/// A port with nothing listening.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Without the `tls` feature, `-k` and `--cacert` are usage errors that
/// say why.
#[cfg(not(feature = "tls"))]
#[test]
fn tls_options_without_tls_say_so() {
    for args in [
        &["-k", "http://x/"][..],
        &["--cacert", "ca.pem", "http://x/"][..],
    ] {
        let run = fetch(args);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("`tls` feature is off"),
            "{}",
            run.stderr
        );
    }
}

/// `-k` and `--cacert` against a rustls server whose certificate (for
/// 127.0.0.1) a test CA signed: refused by default (exit 35), accepted with
/// `-k`, and with the CA given by `--cacert`.
#[cfg(feature = "tls")]
#[test]
fn insecure_and_cacert_decide_which_certificates_pass() {
    use support::{TestCa, tls_script_server};

    let ca = TestCa::new();
    let addr = tls_script_server(ca.server_config(&[]), |mut tls| {
        let _ = tls.write_all(&response("200 OK", &[("Connection", "close")], b"secret"));
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    let port = addr.port();
    let url = format!("https://127.0.0.1:{port}/");
    let strict = fetch(&[&url]);
    assert_eq!(strict.code, 35, "{strict:?}");
    assert!(
        strict.stdout.contains("certificate is not trusted"),
        "{}",
        strict.stdout
    );
    let insecure = fetch(&["-k", "--json", &url]);
    assert_eq!(insecure.code, 0, "{insecure:?}");
    assert_eq!(insecure.json()[0]["bytes"], 6);
    let dir = TempDir::new("cacert");
    let pem = dir.file("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let trusted = fetch(&["--cacert", pem.to_str().unwrap(), "--json", &url]);
    assert_eq!(trusted.code, 0, "{trusted:?}");
    let timings = &trusted.json()[0]["timings"];
    assert!(timings["tls_ms"].is_number(), "{timings}");
    let bad = fetch(&["--cacert", "/no/such/ca.pem", &url]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

/// Runs `fetch ARGS` with stderr on a pseudo-terminal (through python3's
/// `pty`), stdout discarded; returns the exit status and what the terminal
/// showed.
fn fetch_on_a_terminal(args: &[&str]) -> (i32, String) {
    const SCRIPT: &str = r#"
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
child.wait()
sys.stdout.buffer.write(seen)
sys.exit(child.returncode)
"#;
    let mut command = vec!["-c", SCRIPT];
    let binary = binary();
    command.push(binary.to_str().unwrap());
    command.extend(args);
    let output = Command::new("python3")
        .args(&command)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs (the h2 tests need it too)");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// On a terminal the bar shows URLs done of all and the failures; with
/// `--no-progress` (or `-s`) the terminal stays empty.
#[test]
fn the_progress_bar_runs_only_on_a_terminal_and_when_asked() {
    let server = Server::start(|_| {
        thread::sleep(Duration::from_millis(60));
        response("200 OK", &[], b"ok")
    });
    let urls: Vec<String> = (0..20).map(|i| server.url(&format!("/t/{i}"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-Z", "1"]);
    let (code, shown) = fetch_on_a_terminal(&args);
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("/20 URLs"),
        "no bar on the terminal: {shown:?}"
    );
    assert!(shown.contains("failed"), "{shown:?}");
    for quiet in ["--no-progress", "-s"] {
        let mut args = args.clone();
        args.push(quiet);
        let (code, shown) = fetch_on_a_terminal(&args);
        assert_eq!(code, 0, "{shown}");
        assert_eq!(shown, "", "{quiet}");
    }
}

/// A server that honours `Range: bytes=N-` on `/ranged/*` (206, or 416
/// past the end) and ignores it elsewhere.
fn range_server() -> Server {
    Server::start(|req| {
        let body = body_for(&req.target);
        let len = body.len();
        let from = req
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok());
        match from {
            Some(from) if req.target.starts_with("/ranged/") && from >= len => response(
                "416 Range Not Satisfiable",
                &[("Content-Range", &format!("bytes */{len}"))],
                b"",
            ),
            Some(from) if req.target.starts_with("/ranged/") => response(
                "206 Partial Content",
                &[("Content-Range", &format!("bytes {from}-{}/{len}", len - 1))],
                &body[from..],
            ),
            _ => response("200 OK", &[], &body),
        }
    })
}

#[test]
fn continue_resumes_partial_files() {
    let server = range_server();
    let dir = TempDir::new("resume");
    let url = server.url("/ranged/big.bin");
    let full = body_for("/ranged/big.bin");
    std::fs::write(dir.file("big.bin"), &full[..1000]).unwrap();
    let run = fetch(&["-C", "-o", dir.as_str(), &url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        std::fs::read(dir.file("big.bin")).unwrap() == full,
        "resumed byte-exact"
    );
    let seen = server.seen();
    assert_eq!(seen.last().unwrap().header("range"), Some("bytes=1000-"));
    assert_eq!(seen.last().unwrap().header("accept-encoding"), None);

    // Complete already: the server answers 416, which is no failure, even
    // with --fail, and the file stays as it is.
    let again = fetch(&["-C", "-", "--fail", "--json", "-o", dir.as_str(), &url]);
    assert_eq!(again.code, 0, "{again:?}");
    let line = &again.json()[0];
    assert_eq!(line["status"], 416);
    assert_eq!(line["saved"], dir.file("big.bin").to_str().unwrap());
    assert!(std::fs::read(dir.file("big.bin")).unwrap() == full);
    let expected_range = format!("bytes={}-", full.len());
    assert_eq!(
        server.seen().last().unwrap().header("range"),
        Some(expected_range.as_str())
    );

    // A server that ignores Range sends it all: the file starts again.
    let plain = server.url("/plain/whole.bin");
    std::fs::write(dir.file("whole.bin"), b"stale bytes").unwrap();
    let run = fetch(&["-C", "-o", dir.as_str(), &plain]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(std::fs::read(dir.file("whole.bin")).unwrap() == body_for("/plain/whole.bin"));

    // No file yet: a plain download, with no Range.
    let fresh = server.url("/ranged/fresh.bin");
    assert_eq!(fetch(&["-C", "-o", dir.as_str(), &fresh]).code, 0);
    assert!(std::fs::read(dir.file("fresh.bin")).unwrap() == body_for("/ranged/fresh.bin"));
    let seen = server.seen();
    assert_eq!(seen.last().unwrap().header("range"), None);
}

/// `--http2-prior-knowledge` speaks h2c to hyper's HTTP/2 server; over TLS
/// ALPN picks h2 unless `--http1.1`; the JSON line and `%{http_version}`
/// say which version carried the answer.
#[cfg(all(feature = "http2", feature = "tls"))]
#[test]
fn http_version_options_choose_the_protocol() {
    use support::{HttpServer, Mode, TestCa, item_body};

    let h2c = HttpServer::start_with(Mode::H2c { max_streams: 100 });
    let run = fetch(&["--http2-prior-knowledge", "--json", &h2c.url("/item/7")]);
    assert_eq!(run.code, 0, "{run:?}");
    let line = &run.json()[0];
    assert_eq!(line["http_version"], "HTTP/2");
    assert_eq!(line["bytes"], item_body(7).len());
    assert_eq!(h2c.h2_requests(), 1);
    // Without it, cleartext is HTTP/1.1, which an h2c-only server refuses.
    let h1 = fetch(&[&h2c.url("/item/7")]);
    assert_ne!(h1.code, 0, "{h1:?}");
    assert_eq!(h2c.h2_requests(), 1);

    let ca = TestCa::new();
    let tls = HttpServer::start_with(Mode::Tls {
        config: ca.server_config(&[b"h2", b"http/1.1"]),
        max_streams: 100,
    });
    let dir = TempDir::new("h2");
    let pem = dir.file("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let pem = pem.to_str().unwrap();
    let url = tls.https_url("/item/3");
    for (option, version, short) in [
        (None, "HTTP/2", "2"),
        (Some("--http2"), "HTTP/2", "2"),
        (Some("--http1.1"), "HTTP/1.1", "1.1"),
    ] {
        let mut args = vec!["--cacert", pem, "--json", url.as_str()];
        args.extend(option);
        let run = fetch(&args);
        assert_eq!(run.code, 0, "{option:?}: {run:?}");
        assert_eq!(run.json()[0]["http_version"], version, "{option:?}");
        let mut args = vec!["--cacert", pem, "-s", "-w", "%{http_version}", url.as_str()];
        args.extend(option);
        assert_eq!(fetch(&args).stdout, short, "{option:?}");
    }
}

/// Without the `http2` feature, the HTTP/2 options say so.
#[cfg(not(feature = "http2"))]
#[test]
fn http2_options_without_http2_say_so() {
    for option in ["--http2", "--http2-prior-knowledge"] {
        let run = fetch(&[option, "http://x/"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("`http2` feature is off"),
            "{}",
            run.stderr
        );
    }
}

/// `-o` streams a body to disk as it arrives: the server sends half, waits
/// until the half is in `<file>.part`, then sends the rest; the file ends
/// complete under its own name and the part file is gone.
#[test]
fn output_dir_streams_bodies_to_disk_as_they_arrive() {
    let dir = TempDir::new("stream");
    let part = dir.file("big.bin.part");
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let half = body.len() / 2;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = body.clone();
    let watched = part.clone();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let start = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            served.len()
        );
        conn.write_all(start.as_bytes()).unwrap();
        conn.write_all(&served[..half]).unwrap();
        // Wait (at most 30 s) for the first half to reach the disk.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut streamed = false;
        while Instant::now() < deadline {
            if std::fs::metadata(&watched).is_ok_and(|m| m.len() as usize >= half) {
                streamed = true;
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        conn.write_all(&served[half..]).unwrap();
        streamed
    });
    let url = format!("http://127.0.0.1:{port}/big.bin");
    let run = fetch(&["-o", dir.as_str(), "--json", &url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        server.join().unwrap(),
        "the first half never reached the part file"
    );
    assert!(std::fs::read(dir.file("big.bin")).unwrap() == body);
    assert!(!part.exists());
    let line = &run.json()[0];
    assert_eq!(line["bytes"], body.len());
    assert_eq!(line["saved"], dir.file("big.bin").to_str().unwrap());
}

/// `/flaky/*` answers 503 to its first two requests, then 200.
fn flaky_server() -> Server {
    let counts = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        u32,
    >::new()));
    Server::start(move |req| {
        let mut counts = counts.lock().unwrap();
        let n = counts.entry(req.target.clone()).or_default();
        *n += 1;
        if req.target.starts_with("/flaky/") && *n <= 2 {
            response("503 Service Unavailable", &[], b"busy")
        } else {
            response("200 OK", &[], b"fine")
        }
    })
}

#[test]
fn retry_runs_transient_failures_again_as_curl_does() {
    let server = flaky_server();
    let enough = fetch(&[
        "--retry",
        "2",
        "--retry-delay",
        "0.01",
        "--json",
        &server.url("/flaky/a"),
    ]);
    assert_eq!(enough.code, 0, "{enough:?}");
    let line = &enough.json()[0];
    assert_eq!(line["status"], 200);
    assert_eq!(line["attempts"], 3);
    let too_few = fetch(&[
        "--retry",
        "1",
        "--retry-delay",
        "0.01",
        "-f",
        "-s",
        "-w",
        "%{http_code} %{num_retries}",
        &server.url("/flaky/b"),
    ]);
    assert_eq!(too_few.code, 22, "{too_few:?}");
    assert_eq!(too_few.stdout, "503 1");
    let none = fetch(&["--json", &server.url("/flaky/c")]);
    assert_eq!(none.json()[0]["attempts"], 1);
    let seen = server.seen();
    let count = |path: &str| seen.iter().filter(|s| s.target == path).count();
    assert_eq!(
        (count("/flaky/a"), count("/flaky/b"), count("/flaky/c")),
        (3, 2, 1)
    );
    // A refused connect is retried too, and the error counts the attempts.
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let run = fetch(&["--retry", "2", "--retry-delay", "0.01", "--json", &refused]);
    assert_eq!(run.code, 7, "{run:?}");
    assert_eq!(run.json()[0]["attempts"], 3);
}

/// `--rate 20/s`: requests to one host start at least 50 ms apart (the
/// token bucket holds one), whatever the concurrency.
#[test]
fn rate_paces_requests_to_one_host() {
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrivals);
    let server = Server::start(move |_| {
        seen.lock().unwrap().push(Instant::now());
        response("200 OK", &[], b"ok")
    });
    let urls: Vec<String> = (0..6).map(|i| server.url(&format!("/r/{i}"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["--rate", "1200/m", "-Z", "6"]);
    let run = fetch(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 6);
    let span = *arrivals.last().unwrap() - arrivals[0];
    // Five gaps of at least 50 ms each (a little slack for the clock).
    assert!(span >= Duration::from_millis(5 * 45), "{span:?}");
}
