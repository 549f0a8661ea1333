//! In-memory tests of the state machines: the real [`Reactor`], with its
//! dispatcher, pool, timers, connections and exchanges, driven over a
//! [`FakeNet`] with a clock of the test's own. No sockets, no sleeps, no
//! threads: a [`Scenario`] submits requests, scripts what each peer sends,
//! moves time on, and reads what the client wrote and what it completed
//! (the shape of ureq-proto's `client/test/scenario.rs` and quinn's `Pair`).
//!
//! ```text
//!   Scenario ── submit / step(now) / advance(d) ──▶ Reactor ──▶ Connection ──▶ Stream::Fake ◀── FakePeer
//!      ▲                                             │                                         (send, close,
//!      └──────────────── completions ────────────────┘                                          take_written)
//! ```
//!
//! Every step reports every connection that has a socket as ready, so
//! each state also meets spurious readiness all the time.

mod backoff;
mod closes;
mod decoding;
mod eyeballs;
mod faults;
#[cfg(feature = "http2")]
mod h2;
mod lifecycle;
mod pacing;
mod redirects;
mod retries;
mod sinks;
mod timers;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::builder::ClientBuilder;
use crate::completion::{Completion, RequestId};
use crate::error::Error;
use crate::reactor::Reactor;
use crate::request::IntoRequest;
use crate::response::Response;
use crate::stream::fake::{FakeNet, FakePeer, Plan};

/// A reactor on a fake network, and the time it lives in.
pub(crate) struct Scenario {
    pub reactor: Reactor,
    pub net: FakeNet,
    pub now: Instant,
}

impl Scenario {
    /// A scenario whose client is built by `build` from the defaults.
    pub(crate) fn new(build: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Scenario {
        let client = build(ClientBuilder::new()).build().expect("client");
        let net = FakeNet::default();
        let mut reactor =
            Reactor::with_connector(Arc::clone(&client.config), Box::new(net.clone()))
                .expect("reactor");
        reactor.resolver_mut().go_offline();
        Scenario {
            reactor,
            net,
            now: Instant::now(),
        }
    }

    /// A scenario with the default client.
    pub(crate) fn default_client() -> Scenario {
        Scenario::new(|b| b)
    }

    /// Submits a request now.
    pub(crate) fn submit(&mut self, request: impl IntoRequest) -> RequestId {
        self.reactor.submit_at_for_test(request, self.now)
    }

    /// One turn of the loop at the current time.
    pub(crate) fn step(&mut self) {
        self.reactor.drive(self.now);
    }

    /// A few turns: enough for a retry or a redirect to be dispatched and
    /// written.
    pub(crate) fn run(&mut self) {
        for _ in 0..3 {
            self.step();
        }
    }

    /// Moves the clock on by `by`, then runs.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.now += by;
        self.run();
    }

    /// Plans the next connect to `addr`.
    pub(crate) fn plan(&self, addr: &str, plan: Plan) {
        self.net.plan(addr.parse().expect("address"), plan);
    }

    /// The most recently opened connection's peer.
    #[track_caller]
    pub(crate) fn peer(&self) -> FakePeer {
        self.net.last_peer().expect("a connection was opened")
    }

    /// Every connect tried, in order.
    pub(crate) fn attempts(&self) -> Vec<SocketAddr> {
        self.net.attempts()
    }

    /// The next completion, if any.
    pub(crate) fn completion(&mut self) -> Option<Completion> {
        self.reactor.take_completion()
    }

    /// The next completion, which must be a response.
    #[track_caller]
    pub(crate) fn response(&mut self) -> Response {
        match self.completion() {
            Some(Completion {
                result: Ok(response),
                ..
            }) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// The next completion, which must be an error.
    #[track_caller]
    pub(crate) fn error(&mut self) -> Error {
        match self.completion() {
            Some(Completion { result: Err(e), .. }) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

/// What the peer at `peer` read: the request heads written so far, as text.
pub(crate) fn written(peer: &FakePeer) -> String {
    String::from_utf8_lossy(&peer.take_written()).into_owned()
}

/// A 200 response with `body` and a `Content-Length`.
pub(crate) fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// An address for pinning names: `10.0.0.n`.
pub(crate) fn ip(n: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, n])
}
