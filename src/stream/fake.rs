//! A scripted network for the in-memory tests: [`FakeNet`] is a
//! [`Connector`] whose connects follow a [`Plan`] per address, and each
//! stream it opens is driven from the test through its [`FakePeer`]:
//! scripted reads ([`ReadOp`]: bytes, `WouldBlock`, `Interrupted`, an error,
//! EOF), recorded writes, and a write budget that makes writes block.
//!
//! Nothing here touches a socket or a clock.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Connector, Stream};

/// What a connect to an address does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The connect is accepted at once (it completes on the next event).
    Accept,
    /// The connect stays in progress until the test calls
    /// [`FakePeer::accept`] or [`FakePeer::fail_connect`].
    Pending,
    /// `connect` itself fails with this error kind.
    Refuse(io::ErrorKind),
    /// `connect` fails with EMFILE: the process is out of descriptors.
    OutOfSockets,
}

/// One step of what the peer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadOp {
    /// These bytes (a read takes as many as fit; the rest stays first).
    Data(Vec<u8>),
    /// One read returns `WouldBlock` even though more is scripted.
    WouldBlock,
    /// One read returns `Interrupted`.
    Interrupted,
    /// One read fails with this error kind (then the script goes on).
    Error(io::ErrorKind),
    /// The end of the stream: every later read returns 0.
    Eof,
}

#[derive(Debug)]
enum Connect {
    Pending,
    Up,
    Failed(io::ErrorKind),
}

#[derive(Debug)]
struct PeerState {
    addr: SocketAddr,
    connect: Connect,
    reads: VecDeque<ReadOp>,
    written: Vec<u8>,
    /// Bytes writes may still take; `None`: no limit.
    write_budget: Option<usize>,
    /// Set when the client dropped its end.
    dropped: bool,
    /// Whether the end of the stream, once queued, shows as read-closed
    /// readiness (mio reports it on Linux, macOS and Windows).
    hints_eof: bool,
    /// Read calls the client made.
    read_calls: usize,
}

/// The test's end of one fake connection.
#[derive(Debug, Clone)]
pub(crate) struct FakePeer(Arc<Mutex<PeerState>>);

impl FakePeer {
    /// The address the client connected to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).addr
    }

    /// Completes a pending connect.
    pub(crate) fn accept(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .connect = Connect::Up;
    }

    /// Fails a pending connect with `kind` (as `take_error` reports it).
    pub(crate) fn fail_connect(&self, kind: io::ErrorKind) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .connect = Connect::Failed(kind);
    }

    /// Queues bytes for the client to read.
    pub(crate) fn send(&self, bytes: impl AsRef<[u8]>) {
        // Nothing sent is not a read of 0 bytes (that would be EOF).
        if !bytes.as_ref().is_empty() {
            self.op(ReadOp::Data(bytes.as_ref().to_vec()));
        }
    }

    /// Queues any read step.
    pub(crate) fn op(&self, op: ReadOp) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reads
            .push_back(op);
    }

    /// Closes the peer's side: the client reads EOF after what is queued.
    pub(crate) fn close(&self) {
        self.op(ReadOp::Eof);
    }

    /// Everything the client wrote so far, taken.
    pub(crate) fn take_written(&self) -> Vec<u8> {
        std::mem::take(
            &mut self
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .written,
        )
    }

    /// Lets writes take only `bytes` more (then `WouldBlock`); `None`
    /// lifts the limit.
    pub(crate) fn write_budget(&self, bytes: Option<usize>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write_budget = bytes;
    }

    /// Stops reporting a queued end of stream as read-closed readiness: the
    /// client then finds the end only by reading, as on a poller without
    /// that hint.
    pub(crate) fn hide_eof(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hints_eof = false;
    }

    /// How many reads the client made on this stream.
    pub(crate) fn read_calls(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read_calls
    }

    /// True once the client has dropped (closed) its end.
    pub(crate) fn is_dropped(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
    }
}

/// The client's end of one fake connection.
#[derive(Debug)]
pub(crate) struct FakeStream(Arc<Mutex<PeerState>>);

impl Drop for FakeStream {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped = true;
    }
}

impl FakeStream {
    /// True when the peer's end is queued and reported as read-closed
    /// readiness.
    pub(crate) fn fin_arrived(&self) -> bool {
        let peer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        peer.hints_eof && peer.reads.contains(&ReadOp::Eof)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut peer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(peer.connect, Connect::Up) {
            return Err(io::ErrorKind::NotConnected.into());
        }
        peer.read_calls += 1;
        let Some(op) = peer.reads.pop_front() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        match op {
            ReadOp::Data(mut bytes) => {
                let n = bytes.len().min(buf.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), bytes.get(..n)) {
                    to.copy_from_slice(from);
                }
                if n < bytes.len() {
                    bytes.drain(..n);
                    peer.reads.push_front(ReadOp::Data(bytes));
                }
                Ok(n)
            }
            ReadOp::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
            ReadOp::Interrupted => Err(io::ErrorKind::Interrupted.into()),
            ReadOp::Error(kind) => Err(kind.into()),
            ReadOp::Eof => {
                peer.reads.push_front(ReadOp::Eof);
                Ok(0)
            }
        }
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut peer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(peer.connect, Connect::Up) {
            return Err(io::ErrorKind::NotConnected.into());
        }
        let mut room = peer.write_budget.unwrap_or(usize::MAX);
        if room == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut n = 0;
        for buf in bufs {
            let take = buf.len().min(room);
            peer.written
                .extend_from_slice(buf.get(..take).unwrap_or_default());
            n += take;
            room -= take;
        }
        if let Some(budget) = peer.write_budget.as_mut() {
            *budget -= n;
        }
        Ok(n)
    }

    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .connect
        {
            Connect::Failed(kind) => Ok(Some(kind.into())),
            Connect::Pending | Connect::Up => Ok(None),
        }
    }

    pub(crate) fn peer_addr(&self) -> io::Result<SocketAddr> {
        let peer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match peer.connect {
            Connect::Up => Ok(peer.addr),
            Connect::Pending | Connect::Failed(_) => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

#[derive(Debug, Default)]
struct Net {
    plans: HashMap<SocketAddr, VecDeque<Plan>>,
    /// Every connect call, in order.
    attempts: Vec<SocketAddr>,
    /// Every stream opened, in order.
    peers: Vec<FakePeer>,
}

/// A network of scripted peers; cloning shares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeNet(Arc<Mutex<Net>>);

impl FakeNet {
    /// The next connect to `addr` follows `plan` (plans queue up per
    /// address; without one, a connect is [`Plan::Accept`]ed).
    pub(crate) fn plan(&self, addr: SocketAddr, plan: Plan) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .plans
            .entry(addr)
            .or_default()
            .push_back(plan);
    }

    /// Every address a connect was tried to, in order.
    pub(crate) fn attempts(&self) -> Vec<SocketAddr> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .attempts
            .clone()
    }

    /// The streams opened so far, oldest first.
    pub(crate) fn peers(&self) -> Vec<FakePeer> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peers
            .clone()
    }

    /// The most recently opened stream.
    pub(crate) fn last_peer(&self) -> Option<FakePeer> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peers
            .last()
            .cloned()
    }
}

impl Connector for FakeNet {
    fn connect(&mut self, addr: SocketAddr) -> io::Result<Stream> {
        let mut net = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        net.attempts.push(addr);
        let plan = net
            .plans
            .get_mut(&addr)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Plan::Accept);
        let connect = match plan {
            Plan::Accept => Connect::Up,
            Plan::Pending => Connect::Pending,
            Plan::Refuse(kind) => return Err(kind.into()),
            Plan::OutOfSockets => return Err(io::Error::from_raw_os_error(24)),
        };
        let state = Arc::new(Mutex::new(PeerState {
            addr,
            connect,
            reads: VecDeque::new(),
            written: Vec::new(),
            write_budget: None,
            dropped: false,
            hints_eof: true,
            read_calls: 0,
        }));
        net.peers.push(FakePeer(Arc::clone(&state)));
        Ok(Stream::Fake(FakeStream(state)))
    }
}
