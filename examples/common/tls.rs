//! The TLS side of the local example server: a throwaway CA and a
//! certificate for `localhost`, made at start-up with rcgen, and a server
//! that speaks TLS (rustls) to clients that open with a TLS record and
//! plain HTTP to the others, on the same port.

use std::io;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::{Reply, Server, serve, spawn_with};

/// A new CA (its certificate as PEM, for the client to trust) and a server
/// configuration with a certificate for `localhost` signed by it.
pub fn certificates()
-> Result<(String, Arc<ServerConfig>), Box<dyn std::error::Error + Send + Sync>> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&key, &ca)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)?;
    Ok((ca.pem(), Arc::new(config)))
}

/// Like [`super::spawn_server`], answering in TLS to clients that start a
/// TLS handshake and in plain HTTP to the others.
pub fn spawn_server<H>(handler: H, config: Arc<ServerConfig>) -> io::Result<Server>
where
    H: Fn(&str) -> Reply + Send + Sync + 'static,
{
    spawn_with(handler, move |stream, handler| {
        let mut first = [0u8; 1];
        // 0x16: a TLS handshake record.
        if matches!(stream.peek(&mut first), Ok(1) if first[0] == 0x16) {
            if let Ok(conn) = ServerConnection::new(Arc::clone(&config)) {
                serve(StreamOwned::new(conn, stream), handler);
            }
        } else {
            serve(stream, handler);
        }
    })
}
