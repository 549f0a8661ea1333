//! The TLS handshake on a connected (or tunnelled) socket: rustls's
//! sans-IO `ClientConnection` wrapped by [`crate::tls::TlsStream`], moved on
//! by readiness events. The connect budget stays armed, renamed
//! [`ConnTimer::TlsHandshake`], until the handshake is done, so a stall ends
//! in a timeout in `Phase::TlsHandshake`.

use super::{Connection, Ctx, State, Transport};
#[cfg(feature = "tls")]
use crate::error::Phase;
use crate::error::Reason;
#[cfg(feature = "tls")]
use crate::timer::ConnTimer;

impl Connection {
    /// Wraps the TCP stream in a TLS session and starts the handshake.
    #[cfg(feature = "tls")]
    pub(super) fn start_tls(&mut self, transport: Transport, ctx: &mut Ctx<'_>) {
        self.timers.rename(
            &[ConnTimer::Resolve, ConnTimer::Connect],
            ConnTimer::TlsHandshake,
        );
        // The socket stays in the state until it is wrapped, so that a
        // failure deregisters it before it is dropped.
        self.state = State::Handshaking(transport, ctx.now);
        let config = match &ctx.config.tls {
            Some(config) => Ok(std::sync::Arc::clone(config)),
            None => crate::tls::default_config(ctx.config.http2.enabled),
        };
        let config = match config {
            Ok(config) => config,
            Err(message) => return self.fail(Reason::TlsConfig(message), ctx),
        };
        let State::Handshaking(Transport::Plain(socket), _) =
            std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        match crate::tls::TlsStream::new(config, &self.origin.host, socket) {
            Ok(stream) => {
                self.state = State::Handshaking(Transport::Tls(Box::new(stream)), ctx.now);
                self.handshake(ctx);
            }
            Err((error, socket)) => {
                self.state = State::Handshaking(Transport::Plain(socket), ctx.now);
                let reason = Reason::Tls {
                    peer: self.peer,
                    handshake: true,
                    message: crate::tls::describe(&error, &self.origin.host),
                };
                self.fail(reason, ctx);
            }
        }
    }

    /// Without the `tls` feature an https request never gets this far (the
    /// reactor refuses it); fail rather than send it in the clear.
    #[cfg(not(feature = "tls"))]
    pub(super) fn start_tls(&mut self, transport: Transport, ctx: &mut Ctx<'_>) {
        self.state = State::Handshaking(transport, ctx.now);
        self.fail(Reason::TlsOff, ctx);
    }

    /// Moves the TLS handshake on; once it is done, the connection opens.
    pub(super) fn handshake(&mut self, ctx: &mut Ctx<'_>) {
        #[cfg(feature = "tls")]
        {
            let State::Handshaking(Transport::Tls(tls), _) = &mut self.state else {
                return;
            };
            match tls.handshake() {
                // The TLS session decides the interest while it handshakes.
                Ok(false) => return,
                Ok(true) => {}
                Err(e) => return self.fail_io(Phase::TlsHandshake, e, ctx),
            }
            let State::Handshaking(transport, started) =
                std::mem::replace(&mut self.state, State::Closed)
            else {
                return;
            };
            self.fresh.tls = Some(ctx.now.saturating_duration_since(started));
            self.open(transport, ctx);
        }
        #[cfg(not(feature = "tls"))]
        {
            self.fail(Reason::TlsOff, ctx);
        }
    }
}
