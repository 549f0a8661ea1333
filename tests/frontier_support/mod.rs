//! Support for the frontier tests: local hosts, the test's own
//! redis-server, worker processes (the built `frontier` example) and a
//! reader of the frontier as Redis has it. Every process is killed and every
//! file removed on drop; every wait is bounded.
#![allow(dead_code, reason = "not every test uses every helper")]

pub mod hosts;
#[path = "../../examples/frontier/redis_server.rs"]
pub mod redis_server;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;
use redis::streams::{StreamInfoGroupsReply, StreamPendingCountReply};
use sha2::{Digest, Sha256};

use hosts::{Behaviour, Hosts, body_for};
use redis_server::RedisServer;

pub const GROUP: &str = "fetchers";

/// One test at a time: each starts dozens of hosts and several processes.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A directory for one test's files, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "multifetch-frontier-{}-{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The `frontier` example binary, built by `cargo test` next to the tests.
pub fn frontier_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = target.join("examples").join("frontier");
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it; with `--test` alone, run \
         `cargo build --example frontier` first",
        binary.display()
    );
    binary
}

/// A worker process, killed on drop; its output goes to files.
pub struct Worker {
    pub name: String,
    pub child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Worker {
    pub fn spawn(
        redis: &RedisServer,
        prefix: &str,
        name: &str,
        dir: &Path,
        options: &[&str],
    ) -> Worker {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = Command::new(frontier_binary())
            .args([
                "--redis",
                &redis.url(),
                "--prefix",
                prefix,
                "worker",
                "--name",
                name,
            ])
            .args(options)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout).expect("create a log file"))
            .stderr(fs::File::create(&stderr).expect("create a log file"))
            .spawn()
            .expect("start a worker");
        Worker {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
        }
    }

    pub fn output(&self) -> String {
        format!(
            "--- {} stdout\n{}--- {} stderr\n{}",
            self.name,
            fs::read_to_string(&self.stdout).unwrap_or_default(),
            self.name,
            fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// The in-flight cap the worker announces when it starts.
    pub fn in_flight_cap(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = fs::read_to_string(&self.stdout).unwrap_or_default();
            if let Some(rest) = out.split("in-flight cap ").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                return digits.parse().expect("a number after `in-flight cap`");
            }
            assert!(
                Instant::now() < deadline,
                "the worker never said its in-flight cap\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
    }

    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for a worker") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "worker {} still running after {limit:?}\n{}",
                self.name,
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn still_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn outputs(workers: &[Worker]) -> String {
    workers.iter().map(Worker::output).collect()
}

/// Runs `frontier ARGS` to the end and returns its stdout.
pub fn frontier(redis: &RedisServer, prefix: &str, args: &[&str]) -> String {
    let mut child = Command::new(frontier_binary())
        .args(["--redis", &redis.url(), "--prefix", prefix])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run frontier");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait for frontier").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("frontier {args:?} did not finish within 60 s");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("frontier's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "frontier {args:?} failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

// ---------------------------------------------------------------------------
// The frontier as Redis has it

pub fn shard_key(prefix: &str, shard: u32, what: &str) -> String {
    format!("{{{prefix}:{shard}}}:{what}")
}

pub struct Frontier {
    pub conn: redis::Connection,
    prefix: String,
    shards: u32,
}

impl Frontier {
    pub fn open(redis: &RedisServer, prefix: &str, shards: u32) -> Frontier {
        let client = redis::Client::open(redis.url()).expect("a redis URL");
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect to the test's redis-server");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Frontier {
            conn,
            prefix: prefix.to_owned(),
            shards,
        }
    }

    pub fn counter(&mut self, name: &str) -> u64 {
        let mut total = 0;
        for shard in 0..self.shards {
            let value: Option<u64> = redis::cmd("HGET")
                .arg(shard_key(&self.prefix, shard, "stats"))
                .arg(name)
                .query(&mut self.conn)
                .expect("HGET stats");
            total += value.unwrap_or(0);
        }
        total
    }

    /// Whether every shard's group has delivered everything and has nothing
    /// pending.
    pub fn finished(&mut self) -> bool {
        (0..self.shards).all(|shard| {
            let groups: StreamInfoGroupsReply = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(shard_key(&self.prefix, shard, "urls"))
                .query(&mut self.conn)
                .expect("XINFO GROUPS");
            groups
                .groups
                .iter()
                .any(|g| g.name == GROUP && g.lag == Some(0) && g.pending == 0)
        })
    }

    /// Entries pending for one consumer, over all shards.
    pub fn pending_of(&mut self, consumer: &str) -> usize {
        let mut total = 0;
        for shard in 0..self.shards {
            let pending: StreamPendingCountReply = redis::cmd("XPENDING")
                .arg(shard_key(&self.prefix, shard, "urls"))
                .arg(GROUP)
                .arg("-")
                .arg("+")
                .arg(100_000)
                .arg(consumer)
                .query(&mut self.conn)
                .expect("XPENDING");
            total += pending.ids.len();
        }
        total
    }

    pub fn leases_held_by(&mut self, worker: &str) -> usize {
        (0..self.shards)
            .filter(|&shard| {
                let owner: Option<String> = redis::cmd("GET")
                    .arg(shard_key(&self.prefix, shard, "lease"))
                    .query(&mut self.conn)
                    .expect("GET lease");
                owner.as_deref() == Some(worker)
            })
            .count()
    }

    /// Every entry of one kind of stream (`results` or `dead`), as field maps
    /// (read from the raw reply: a typed one costs seconds in a debug build).
    pub fn entries(&mut self, what: &str) -> Vec<HashMap<String, String>> {
        let text = |value: &Value| match value {
            Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Value::SimpleString(text) => text.clone(),
            other => panic!("a stream field that is not a string: {other:?}"),
        };
        let mut all = Vec::new();
        for shard in 0..self.shards {
            let range: Value = redis::cmd("XRANGE")
                .arg(shard_key(&self.prefix, shard, what))
                .arg("-")
                .arg("+")
                .query(&mut self.conn)
                .expect("XRANGE");
            let Value::Array(entries) = range else {
                panic!("XRANGE answered {range:?}");
            };
            for entry in entries {
                let Value::Array(parts) = entry else {
                    panic!("a stream entry that is not an array: {entry:?}");
                };
                let Some(Value::Array(fields)) = parts.get(1) else {
                    panic!("a stream entry without fields: {parts:?}");
                };
                let map = fields
                    .chunks(2)
                    .map(|pair| (text(&pair[0]), text(&pair[1])))
                    .collect();
                all.push(map);
            }
        }
        all
    }

    /// Waits until `done` holds, failing with the workers' output after
    /// `limit`.
    pub fn wait(
        &mut self,
        limit: Duration,
        workers: &[Worker],
        what: &str,
        mut done: impl FnMut(&mut Frontier) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?} waiting for {what}; {} results so far\n{}",
                self.counter("results"),
                outputs(workers)
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------
// Sites

/// `hosts` local hosts and `per_host` URLs on each.
pub struct Site {
    pub hosts: Hosts,
    pub urls: Vec<String>,
}

impl Site {
    pub fn new(hosts: usize, per_host: usize) -> Site {
        let hosts = Hosts::start(&vec![Behaviour::Serve; hosts]);
        let urls = (0..hosts.len() * per_host)
            .map(|i| format!("http://{}/item/{i}", hosts.addr(i % hosts.len())))
            .collect();
        Site { hosts, urls }
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("urls.txt");
        let mut file = fs::File::create(&path).expect("create the URL file");
        for url in &self.urls {
            writeln!(file, "{url}").expect("write the URL file");
        }
        path
    }

    /// URLs the hosts served more than once, and the extra requests that made.
    pub fn fetched_twice(&self) -> (usize, usize) {
        let (mut urls, mut extra) = (0, 0);
        for host in 0..self.hosts.len() {
            for count in self.hosts.requests(host).into_values() {
                if count > 1 {
                    urls += 1;
                    extra += count as usize - 1;
                }
            }
        }
        (urls, extra)
    }

    /// Most connections any host had open at once.
    pub fn max_open(&self) -> usize {
        (0..self.hosts.len())
            .map(|host| self.hosts.max_open(host))
            .max()
            .unwrap_or(0)
    }
}

/// Results by URL; checks that every URL of the site has at least one, each
/// a 200 with the digest of the body its host serves. Returns how many URLs
/// were fetched more than once, and how many extra fetches that made.
pub fn check_results(results: &[HashMap<String, String>], site: &Site) -> (usize, usize) {
    let mut by_url: HashMap<&str, Vec<&HashMap<String, String>>> = HashMap::new();
    for result in results {
        by_url
            .entry(result["url"].as_str())
            .or_default()
            .push(result);
    }
    for url in &site.urls {
        let Some(found) = by_url.get(url.as_str()) else {
            panic!("no result for {url}");
        };
        // http://127.0.0.1:PORT/PATH, as Site::new writes them.
        let (authority, path) = url["http://".len()..].split_once('/').expect("a test URL");
        let port: u16 = authority
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        let expected = sha256_hex(&body_for(port, &format!("/{path}")));
        for result in found {
            assert_eq!(
                result.get("status").map(String::as_str),
                Some("200"),
                "{url}: {result:?}"
            );
            assert_eq!(result["sha256"], expected, "{url}: wrong body digest");
        }
    }
    assert_eq!(
        by_url.len(),
        site.urls.len(),
        "results for URLs never enqueued"
    );
    let twice = by_url.values().filter(|r| r.len() > 1).count();
    let extra = by_url.values().map(|r| r.len() - 1).sum();
    (twice, extra)
}
