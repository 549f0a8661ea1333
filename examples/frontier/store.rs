//! One Redis connection that survives Redis going away: a command that fails
//! because the server is unreachable, restarting or still loading its data
//! is retried on a new connection after a backoff (100 ms doubling up to
//! 5 s), for as long as it takes. Other errors (a wrong type, a script error)
//! are returned: retrying would not help.
//!
//! A command whose reply was lost with the connection is sent again, so a
//! write can happen twice (a result entry written twice): delivery is at
//! least once, and readers deduplicate (see the README).

use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, RedisError, RedisResult, ServerErrorKind};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A reply slower than this counts as a lost connection (no command here
/// blocks on the server side).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Store {
    client: redis::Client,
    conn: Option<Connection>,
    /// Who is talking, for the messages (`worker w1 writer`).
    who: String,
    /// Since when the server has been unreachable, if it is.
    down_since: Option<Instant>,
}

impl Store {
    /// A store for the server at `url` (`redis://host:port/db`); connects on
    /// first use.
    pub fn open(url: &str, who: impl Into<String>) -> Result<Store, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("{url} is not a Redis URL (redis://HOST:PORT/DB): {e}"))?;
        Ok(Store {
            client,
            conn: None,
            who: who.into(),
            down_since: None,
        })
    }

    /// Runs `op` on a live connection, reconnecting and retrying with backoff
    /// while Redis is unreachable; returns the first error that is not about
    /// reaching the server.
    pub fn run<T>(
        &mut self,
        mut op: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, RedisError> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let result = match self.connection() {
                Ok(conn) => op(conn),
                Err(error) => Err(error),
            };
            match result {
                Ok(value) => {
                    if let Some(since) = self.down_since.take() {
                        eprintln!(
                            "{}: redis reachable again after {:.1}s",
                            self.who,
                            since.elapsed().as_secs_f64()
                        );
                    }
                    return Ok(value);
                }
                Err(error) if is_unavailable(&error) => {
                    self.conn = None;
                    if self.down_since.is_none() {
                        self.down_since = Some(Instant::now());
                        eprintln!(
                            "{}: redis unreachable ({}); retrying with backoff",
                            self.who,
                            describe(&error)
                        );
                    }
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn connection(&mut self) -> RedisResult<&mut Connection> {
        if self.conn.is_none() {
            let conn = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            conn.set_read_timeout(Some(IO_TIMEOUT))?;
            conn.set_write_timeout(Some(IO_TIMEOUT))?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connected just above"))
    }
}

/// Whether an error means the server could not be reached or could not
/// answer yet (connection refused or dropped, a timeout, `LOADING` after a
/// restart, a cluster failover), so the same command may succeed later.
pub fn is_unavailable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || error.is_unrecoverable_error()
        || matches!(
            error.kind(),
            redis::ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}

/// An error in plain words: the server's code and message, or the I/O
/// error, never the client library's debug text.
pub fn describe(error: &RedisError) -> String {
    match (error.code(), error.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (None, Some(detail)) => format!("{}: {detail}", error.category()),
        _ if error.is_io_error() => error.to_string(),
        _ => error.category().to_owned(),
    }
}
