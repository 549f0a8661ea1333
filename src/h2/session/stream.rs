//! One stream's state (RFC 9113 §5.1, client side) and flow-control
//! windows (§5.2, §6.9).

use super::super::error::Violation;

/// The largest flow-control window (§6.9.1): 2^31−1.
pub(crate) const MAX_WINDOW: i64 = i32::MAX as i64;

/// Our side of a stream while we may still send on it.
#[derive(Debug, Clone)]
pub(crate) struct SendHalf {
    /// What the server's window lets us send; negative after a lowered
    /// SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2).
    pub(crate) window: i64,
    /// The caller offered more than the windows allowed: tell it when they
    /// open ([`super::Event::SendCapacity`]).
    pub(crate) blocked: bool,
}

/// The server's side of a stream while it may still send on it.
#[derive(Debug, Clone)]
pub(crate) struct RecvHalf {
    pub(crate) window: RecvWindow,
    pub(crate) response: ResponsePhase,
}

/// Where the response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponsePhase {
    /// No final head yet (informational heads may come).
    AwaitingHead,
    /// The final head came; DATA and then trailers may follow.
    Body {
        /// `content-length`, when it describes the DATA to come (not for
        /// HEAD, 204 or 304).
        content_length: Option<u64>,
        /// DATA bytes received, padding excluded.
        received: u64,
    },
}

/// A receive window: what the server may still send, and what the caller
/// has released but we have not yet announced with WINDOW_UPDATE.
#[derive(Debug, Clone)]
pub(crate) struct RecvWindow {
    /// What the server may still send, in bytes.
    pub(crate) window: i64,
    /// Released by the caller, not yet announced.
    pub(crate) pending: u32,
    /// The window's full size: an update is sent once half of it is
    /// pending, so WINDOW_UPDATEs stay few (python-hyper/h2 `windows.py`
    /// follows the same idea).
    pub(crate) target: u32,
    /// Credit WINDOW_UPDATEs may still grant, in bytes: a stream is never
    /// granted more than its body may hold (`Settings::max_body_size`);
    /// `u64::MAX` for the connection.
    pub(crate) budget: u64,
}

impl RecvWindow {
    pub(crate) fn new(initial: u32, target: u32) -> Self {
        RecvWindow::with_budget(initial, target, u64::MAX)
    }

    /// A window that grants at most `budget` bytes beyond `initial`.
    pub(crate) fn with_budget(initial: u32, target: u32, budget: u64) -> Self {
        RecvWindow {
            window: i64::from(initial),
            pending: 0,
            target,
            budget,
        }
    }

    /// Takes `len` flow-controlled bytes from the window.
    pub(crate) fn consume(&mut self, len: u32) -> Result<(), Violation> {
        if i64::from(len) > self.window {
            return Err(Violation::WindowExceeded {
                len,
                window: self.window,
            });
        }
        self.window -= i64::from(len);
        Ok(())
    }

    /// Credits `n` released bytes; returns the increment to announce now,
    /// if the pending credit reached half the window.
    pub(crate) fn release(&mut self, n: u32) -> Option<u32> {
        self.pending = self.pending.saturating_add(n);
        if self.pending > 0 && self.pending >= (self.target / 2).max(1) {
            // Never announce more than the window can hold (§6.9.1), nor
            // more than the budget allows.
            let room = (MAX_WINDOW - self.window).max(0);
            let budget = i64::try_from(self.budget).unwrap_or(i64::MAX);
            let increment = i64::from(self.pending).min(room).min(budget) as u32;
            self.pending -= increment;
            self.budget -= u64::from(increment);
            self.window += i64::from(increment);
            (increment > 0).then_some(increment)
        } else {
            None
        }
    }
}

/// A stream's state (§5.1) as a client sees it; each variant holds the
/// halves still open.
#[derive(Debug, Clone)]
pub(crate) enum StreamState {
    /// Both sides may send.
    Open { send: SendHalf, recv: RecvHalf },
    /// We sent END_STREAM; the response is still coming.
    HalfClosedLocal { recv: RecvHalf },
    /// The server sent END_STREAM; our request body is still going.
    HalfClosedRemote { send: SendHalf },
    /// Both sides ended, or a RST_STREAM was sent or received. Kept only
    /// while the caller holds unreleased DATA bytes.
    Closed,
}

/// One stream.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub(crate) state: StreamState,
    /// DATA bytes handed to the caller and not yet released.
    pub(crate) unreleased: u32,
    /// The request was HEAD: `content-length` describes no DATA.
    pub(crate) head_request: bool,
    /// Informational (1xx) heads received.
    pub(crate) informational: usize,
    /// Most body bytes this stream may carry (`Settings::max_body_size`,
    /// or what [`Session::set_max_body_size`](super::Session::set_max_body_size) set).
    pub(crate) max_body: u64,
}

impl Stream {
    pub(crate) fn send(&mut self) -> Option<&mut SendHalf> {
        match &mut self.state {
            StreamState::Open { send, .. } | StreamState::HalfClosedRemote { send } => Some(send),
            _ => None,
        }
    }

    pub(crate) fn recv(&mut self) -> Option<&mut RecvHalf> {
        match &mut self.state {
            StreamState::Open { recv, .. } | StreamState::HalfClosedLocal { recv } => Some(recv),
            _ => None,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, StreamState::Closed)
    }

    /// We sent END_STREAM.
    pub(crate) fn close_send(&mut self) {
        self.state = match std::mem::replace(&mut self.state, StreamState::Closed) {
            StreamState::Open { recv, .. } => StreamState::HalfClosedLocal { recv },
            _ => StreamState::Closed,
        };
    }

    /// The server sent END_STREAM.
    pub(crate) fn close_recv(&mut self) {
        self.state = match std::mem::replace(&mut self.state, StreamState::Closed) {
            StreamState::Open { send, .. } => StreamState::HalfClosedRemote { send },
            _ => StreamState::Closed,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recv_window_announces_at_half() {
        let mut w = RecvWindow::new(100, 100);
        assert!(w.consume(60).is_ok());
        assert_eq!(w.release(30), None);
        assert_eq!(w.release(30), Some(60));
        assert_eq!(w.window, 100);
        assert_eq!(
            w.consume(101),
            Err(Violation::WindowExceeded {
                len: 101,
                window: 100
            })
        );
        // Never past 2^31-1.
        let mut w = RecvWindow::new(i32::MAX as u32, 2);
        assert_eq!(w.release(5), None);
        assert_eq!(w.window, MAX_WINDOW);
        // Never past the budget.
        let mut w = RecvWindow::with_budget(10, 10, 7);
        assert!(w.consume(10).is_ok());
        assert_eq!(w.release(10), Some(7));
        assert!(w.consume(7).is_ok());
        assert_eq!(w.release(7), None);
        assert_eq!(w.window, 0);
    }

    #[test]
    fn transitions() {
        let half = || SendHalf {
            window: 0,
            blocked: false,
        };
        let recv = || RecvHalf {
            window: RecvWindow::new(1, 1),
            response: ResponsePhase::AwaitingHead,
        };
        let mut s = Stream {
            state: StreamState::Open {
                send: half(),
                recv: recv(),
            },
            unreleased: 0,
            head_request: false,
            informational: 0,
            max_body: u64::MAX,
        };
        s.close_send();
        assert!(matches!(s.state, StreamState::HalfClosedLocal { .. }));
        assert!(s.send().is_none() && s.recv().is_some());
        s.close_recv();
        assert!(s.is_closed());
        let mut s = Stream {
            state: StreamState::Open {
                send: half(),
                recv: recv(),
            },
            unreleased: 0,
            head_request: false,
            informational: 0,
            max_body: u64::MAX,
        };
        s.close_recv();
        assert!(matches!(s.state, StreamState::HalfClosedRemote { .. }));
        s.close_send();
        assert!(s.is_closed());
    }
}
