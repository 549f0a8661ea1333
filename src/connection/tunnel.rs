//! A `CONNECT` tunnel through an HTTP proxy (RFC 9110 §9.3.6): write the
//! request, read the answer head; a 2xx opens the tunnel and the request
//! (after TLS, for https) goes through it, any other status ends the
//! exchange with a proxy error.

use std::io::{self, Read};

use http::Method;
use http::header;
use mio::Interest;

use super::io::write_until_blocked;
use super::{Connection, Ctx, State};
use crate::error::{Phase, Reason};
use crate::h1::{self, ProtocolError, ResponseReader};
use crate::origin::Origin;
use crate::proxy::ProxyEndpoint;

/// A `CONNECT` request to a proxy and its answer.
pub(super) struct Tunnel {
    out: Vec<u8>,
    written: usize,
    reader: ResponseReader,
}

impl Tunnel {
    /// The `CONNECT` request that asks `proxy` for a tunnel to `origin`.
    pub(super) fn new(origin: &Origin, proxy: &ProxyEndpoint, reader: ResponseReader) -> Tunnel {
        let mut out = Vec::with_capacity(128);
        write_connect_head(&mut out, origin, proxy);
        Tunnel {
            out,
            written: 0,
            reader,
        }
    }

    /// Writable until the request is out, then readable for the answer.
    pub(super) fn wants(&self) -> Interest {
        if self.written < self.out.len() {
            Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

/// The `CONNECT` request that asks `proxy` for a tunnel to `origin`.
pub(super) fn write_connect_head(out: &mut Vec<u8>, origin: &Origin, proxy: &ProxyEndpoint) {
    let authority = format!("{}:{}", origin.host, origin.port);
    let name = header::PROXY_AUTHORIZATION;
    let headers = || proxy.auth.iter().map(|auth| (&name, auth));
    h1::write_request_head(out, &Method::CONNECT, &authority, &authority, headers, None);
}

impl Connection {
    /// Asks the proxy for a tunnel: writes `CONNECT`, reads the answer head.
    pub(super) fn tunnel(&mut self, ctx: &mut Ctx<'_>) {
        let State::Tunneling(transport, tunnel) = &mut self.state else {
            return;
        };
        match write_until_blocked(
            transport,
            &tunnel.out,
            &[],
            &mut tunnel.written,
            ctx.counters,
        ) {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return self.fail_io(Phase::SendRequest, e, ctx),
        }
        loop {
            let State::Tunneling(transport, tunnel) = &mut self.state else {
                return;
            };
            // Read only what the proxy sends before the tunnel opens: never
            // more than a head plus what a refusal carries.
            let n = match transport.read(ctx.scratch) {
                Ok(0) => {
                    return match tunnel.reader.on_eof() {
                        Ok(()) => self.tunnel_answered(false, ctx),
                        Err(error) => self.fail_protocol(error, ctx),
                    };
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.fail_io(Phase::ReadHead, e, ctx),
            };
            ctx.counters.bytes_received += n as u64;
            let mut ignored = Vec::new();
            let input = ctx.scratch.get(..n).unwrap_or_default();
            match tunnel.reader.read(input, &mut ignored) {
                Ok(used) if tunnel.reader.head().is_some() => {
                    return self.tunnel_answered(used < n, ctx);
                }
                Ok(_) => {}
                Err(error) => return self.fail_protocol(error, ctx),
            }
        }
    }

    /// The proxy answered `CONNECT`; `leftover` says it sent bytes after
    /// the head.
    fn tunnel_answered(&mut self, leftover: bool, ctx: &mut Ctx<'_>) {
        let State::Tunneling(_, tunnel) = &self.state else {
            return;
        };
        let status = tunnel.reader.head().map(|h| h.status);
        match status {
            // A proxy sends nothing after its 2xx until the client speaks;
            // bytes there would be mistaken for the origin's.
            Some(status) if status.is_success() && leftover => {
                let error = ProtocolError::MalformedHead("bytes after the proxy's CONNECT answer");
                return self.fail_protocol(error, ctx);
            }
            Some(status) if status.is_success() => {}
            other => {
                let status = other.map_or_else(
                    || "no answer".to_owned(),
                    |s| format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or("")),
                );
                let proxy = self.origin.route.proxy().map(ToString::to_string);
                return self.fail(
                    Reason::ProxyRefused {
                        proxy: proxy.unwrap_or_default(),
                        status: status.trim_end().to_owned(),
                    },
                    ctx,
                );
            }
        }
        let State::Tunneling(transport, _) = std::mem::replace(&mut self.state, State::Closed)
        else {
            return;
        };
        // An https origin starts its TLS handshake here, through the tunnel.
        self.established(transport, ctx);
    }
}
