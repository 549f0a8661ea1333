//! The scripted HTTP/2 servers in `tests/h2/` (Python's `h2` library),
//! started as child processes: each prints its port on its first line of
//! output, then serves until it is killed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a script may take to print its port.
const START_LIMIT: Duration = Duration::from_secs(20);

/// One of the `tests/h2/*.py` servers, killed (and waited for) when dropped.
pub struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    /// Starts `tests/h2/{script}` with `args` and waits for its port; the
    /// lines it prints after that are dropped.
    pub fn start(script: &str, args: &[&str]) -> PythonServer {
        PythonServer::start_with_lines(script, args, |_| {})
    }

    /// Like [`PythonServer::start`], and hands every line the script prints
    /// after its port to `on_line`, on a thread of its own, until the
    /// script ends.
    ///
    /// Panics (naming `python3` and the `h2` package) when the script
    /// cannot start or prints no port within 20 s.
    pub fn start_with_lines(
        script: &str,
        args: &[&str],
        mut on_line: impl FnMut(String) + Send + 'static,
    ) -> PythonServer {
        let path = format!("{}/tests/h2/{script}", env!("CARGO_MANIFEST_DIR"));
        // `-B`: no `__pycache__` of the shared `peer.py` in the source tree.
        let mut child = Command::new("python3")
            .arg("-B")
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 must be installed to run {script}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        // Killed on drop from here on, even if no port comes.
        let mut server = PythonServer { child, port: 0 };
        let (port_tx, port_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = port_tx.send(first);
            for line in lines.map_while(Result::ok) {
                on_line(line);
            }
        });
        let line = port_rx
            .recv_timeout(START_LIMIT)
            .unwrap_or_else(|_| panic!("{script} did not print its port within 20 s"));
        server.port = line.trim().parse().unwrap_or_else(|_| {
            panic!("{script} failed to start (is `pip install h2` done?): {line:?}")
        });
        server
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
