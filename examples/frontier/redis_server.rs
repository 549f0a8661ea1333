//! A redis-server of our own, for `frontier bench` and the frontier tests:
//! on a free port of 127.0.0.1 (redis-server cannot pick one itself), in a
//! fresh temporary directory, with persistence off unless AOF is asked for,
//! stopped and removed on drop.
#![allow(dead_code, reason = "the bench and the tests use different parts")]

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Ports tried before giving up when another process takes the free port
/// between our look and redis-server's bind.
const PORT_ATTEMPTS: usize = 5;
/// How long a starting or stopping server may take.
const WAIT: Duration = Duration::from_secs(10);

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    aof: bool,
}

enum SpawnError {
    /// The port was taken: try another.
    PortTaken,
    Fatal(String),
}

impl RedisServer {
    /// Starts a server with no persistence at all (`aof` false), or with an
    /// append-only file in its directory so a restart keeps the data.
    pub fn start(aof: bool) -> Result<RedisServer, String> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "multifetch-redis-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            aof,
        };
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port().map_err(|e| format!("cannot find a free port: {e}"))?;
            match server.spawn(port) {
                Ok(child) => {
                    server.child = Some(child);
                    server.port = port;
                    return Ok(server);
                }
                Err(SpawnError::PortTaken) => continue,
                Err(SpawnError::Fatal(message)) => return Err(message),
            }
        }
        Err(format!(
            "redis-server found no free port in {PORT_ATTEMPTS} tries"
        ))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Restarts the server as an operator would: `SHUTDOWN` (which writes
    /// out the append-only file), `down` with no server, then a new one on
    /// the same port and directory.
    pub fn restart(&mut self, down: Duration) -> Result<(), String> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("cannot reach redis-server to stop it: {e}"))?;
        let _ = conn.write_all(b"SHUTDOWN\r\n");
        let mut child = self.child.take().ok_or("redis-server is not running")?;
        let deadline = Instant::now() + WAIT;
        while child.try_wait().map_err(|e| e.to_string())?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not stop on SHUTDOWN".into());
            }
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(down);
        let deadline = Instant::now() + WAIT;
        loop {
            match self.spawn(self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                // The old socket may linger a moment.
                Err(SpawnError::PortTaken) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100));
                }
                Err(SpawnError::PortTaken) => {
                    return Err(format!("port {} stayed taken after the restart", self.port));
                }
                Err(SpawnError::Fatal(message)) => return Err(message),
            }
        }
    }

    fn spawn(&self, port: u16) -> Result<Child, SpawnError> {
        let log_path = self.dir.join(format!("redis-{port}.log"));
        let log = File::create(&log_path).map_err(|e| SpawnError::Fatal(e.to_string()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| SpawnError::Fatal(e.to_string()))?;
        let mut child = Command::new("redis-server")
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--daemonize", "no"])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| {
                SpawnError::Fatal(if e.kind() == io::ErrorKind::NotFound {
                    "redis-server is not installed (not found on PATH): install the Debian \
                     package redis-server (.ci/run does)"
                        .to_owned()
                } else {
                    format!("cannot start redis-server: {e}")
                })
            })?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                if log.contains("Address already in use") {
                    return Err(SpawnError::PortTaken);
                }
                return Err(SpawnError::Fatal(format!(
                    "redis-server exited ({status}) at start: {}",
                    log.trim()
                )));
            }
            if ping(port) {
                return Ok(child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SpawnError::Fatal(format!(
                    "redis-server did not answer on port {port} within {WAIT:?}"
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether a server on `port` answers PING.
fn ping(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    if conn.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    let answered = conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n";
    let _ = conn.shutdown(Shutdown::Both);
    answered
}
