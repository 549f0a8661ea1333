//! Plain words for every way rustls and webpki can fail a TLS session: what
//! happened, the likely cause and the fix, with no library `Debug` text.
//!
//! ```text
//! rustls::Error ─┬─ InvalidCertificate(CertificateError) ─┬─ named cases ──────────▶ words
//!                │                                        └─ Other(OtherError) ─▶ webpki::Error ─▶ words
//!                ├─ AlertReceived(AlertDescription) ──────────────────────────────────────────▶ words
//!                ├─ PeerIncompatible / PeerMisbehaved / InvalidMessage ───────────────────────▶ words
//!                └─ the rest, and variants added later ─▶ words (+ the library's text if it is plain)
//! ```
//!
//! Every enum involved is `#[non_exhaustive]`, so each match names every
//! variant the pinned versions have (rustls 0.23, rustls-webpki 0.103) and
//! ends in a fallback that is still plain words. A library's own `Display`
//! text is added only where it reads as words: rustls prints several of its
//! errors with `{:?}` (`Other(OtherError(CaUsedAsEndEntity))`), which must
//! never reach a user.
#![allow(
    deprecated,
    reason = "deprecated rustls and webpki variants can still be reported and are named too"
)]

use std::fmt::Write as _;

use rustls::pki_types::pem;
use rustls::{
    AlertDescription, CertRevocationListError, CertificateError, EncryptedClientHelloError,
    Error as TlsError, InconsistentKeys, InvalidMessage, OtherError, PeerIncompatible,
    PeerMisbehaved,
};

/// What to do about a certificate the client does not trust.
const TRUST_FIX: &str = "trust its CA with ClientBuilder::add_root_certificate_pem (fetch: --cacert), \
     or have the server send its whole certificate chain";

/// Says in words why a TLS session with `host` failed: what happened, the
/// likely cause and the fix.
pub(crate) fn describe(error: &TlsError, host: &str) -> String {
    match error {
        TlsError::InvalidCertificate(cert) => certificate(cert, host),
        TlsError::AlertReceived(alert) => alert_received(*alert, host),
        TlsError::PeerIncompatible(why) => incompatible(why),
        TlsError::PeerMisbehaved(why) => format!(
            "the server broke the TLS protocol ({}): its TLS software is faulty, \
             or something on the way alters the traffic",
            misbehaved(why)
        ),
        TlsError::InvalidMessage(
            InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion,
        ) => "the server did not answer in TLS (is this a plain-HTTP port? then use http://)"
            .to_owned(),
        TlsError::InvalidMessage(message) => format!(
            "the server sent a malformed TLS message ({}): its TLS software is faulty, \
             or something on the way alters the traffic",
            invalid_message(message)
        ),
        TlsError::InappropriateMessage { .. } | TlsError::InappropriateHandshakeMessage { .. } => {
            "the server sent a TLS message out of order: its TLS software is faulty, \
             or something on the way alters the traffic"
                .to_owned()
        }
        TlsError::InvalidEncryptedClientHello(why) => format!(
            "encrypted client hello failed ({})",
            match why {
                EncryptedClientHelloError::InvalidConfigList => "its configuration list is invalid",
                EncryptedClientHelloError::NoCompatibleConfig => "no configuration is compatible",
                EncryptedClientHelloError::SniRequired => "it needs server name indication on",
                _ => "for a reason this client cannot name",
            }
        ),
        TlsError::NoCertificatesPresented => {
            "the server presented no certificate: it must be configured with one".to_owned()
        }
        TlsError::UnsupportedNameType => {
            format!("`{host}` is a kind of server name this client cannot verify")
        }
        TlsError::DecryptError => "a record from the server could not be decrypted: \
             the connection was corrupted or altered on the way"
            .to_owned(),
        TlsError::EncryptError => {
            "a record could not be encrypted: it was larger than TLS allows".to_owned()
        }
        TlsError::InvalidCertRevocationList(why) => format!(
            "a certificate revocation list is not usable: {}",
            revocation_list(why)
        ),
        TlsError::General(text) => with_plain_detail("the TLS session failed", text),
        TlsError::FailedToGetCurrentTime => {
            "this machine's clock could not be read, so certificates cannot be checked".to_owned()
        }
        TlsError::FailedToGetRandomBytes => {
            "the operating system's random number generator failed".to_owned()
        }
        TlsError::HandshakeNotComplete => {
            "the TLS session was used before its handshake was complete".to_owned()
        }
        TlsError::PeerSentOversizedRecord => {
            "the server sent a TLS record larger than the protocol allows: its TLS software \
             is faulty, or something on the way alters the traffic"
                .to_owned()
        }
        TlsError::NoApplicationProtocol => {
            "the server speaks none of the application protocols this client offers (http/1.1)"
                .to_owned()
        }
        TlsError::BadMaxFragmentSize => {
            "the TLS fragment size setting is out of range (32 to 16,389 bytes)".to_owned()
        }
        TlsError::InconsistentKeys(why) => match why {
            InconsistentKeys::KeyMismatch => {
                "a certificate does not match its private key".to_owned()
            }
            InconsistentKeys::Unknown => {
                "a private key cannot give its public key, so it cannot be checked against its \
                 certificate"
                    .to_owned()
            }
            _ => "a certificate and its private key do not fit together".to_owned(),
        },
        TlsError::Other(other) => other_error(other, host),
        _ => with_plain_detail(
            "the TLS session failed for a reason this client cannot name",
            &error.to_string(),
        ),
    }
}

/// A certificate the client refused, in words.
fn certificate(error: &CertificateError, host: &str) -> String {
    match error {
        CertificateError::BadEncoding => {
            "the server's certificate could not be parsed: the server must be given \
             a valid certificate file"
                .to_owned()
        }
        CertificateError::Expired => {
            "certificate has expired: the server must renew it, unless this machine's clock \
             is wrong"
                .to_owned()
        }
        CertificateError::ExpiredContext { time, not_after } => format!(
            "certificate has expired ({} ago): the server must renew it, unless this machine's \
             clock is wrong",
            Ago(time.as_secs().saturating_sub(not_after.as_secs()))
        ),
        CertificateError::NotValidYet => {
            "certificate is not valid yet: this machine's clock is behind, or the certificate \
             was put on the server before its start date"
                .to_owned()
        }
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "certificate is not valid yet (it starts in {}): this machine's clock is behind, \
             or the certificate was put on the server before its start date",
            Ago(not_before.as_secs().saturating_sub(time.as_secs()))
        ),
        CertificateError::Revoked => {
            "certificate has been revoked by its issuer: the server needs a new one".to_owned()
        }
        CertificateError::UnhandledCriticalExtension => {
            "certificate has a critical extension this client does not understand: the server \
             needs a certificate without it"
                .to_owned()
        }
        CertificateError::UnknownIssuer => format!(
            "certificate is not trusted (unknown issuer): it is self-signed or issued by a CA \
             this client does not trust, or the server leaves out its intermediate \
             certificates; {TRUST_FIX}"
        ),
        CertificateError::UnknownRevocationStatus => {
            "the certificate's revocation status is unknown: no revocation list covers it"
                .to_owned()
        }
        CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => {
            "the certificate revocation list has expired: load a current one".to_owned()
        }
        CertificateError::BadSignature => {
            "certificate is not correctly signed by its issuer: the chain the server sends \
             does not belong together (a certificate and a CA from different sets)"
                .to_owned()
        }
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. } => {
            "certificate is signed with an algorithm this client does not support: the server \
             needs a certificate signed with RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519"
                .to_owned()
        }
        CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "certificate's signature algorithm does not fit its issuer's key: the chain \
             the server sends is put together wrongly"
                .to_owned()
        }
        CertificateError::NotValidForName => format!(
            "certificate is not valid for {host}: use a name the certificate lists in the URL, \
             or give the server a certificate for {host}"
        ),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<&str> = presented.iter().filter_map(|n| plain_name(n)).collect();
            let mut text = format!("certificate is not valid for {host}");
            if names.is_empty() {
                text.push_str(" (it names no host)");
            } else {
                let _ = write!(text, " (it is for {})", names.join(", "));
            }
            let _ = write!(
                text,
                ": use a name the certificate lists in the URL, or give the server a \
                 certificate for {host}"
            );
            text
        }
        CertificateError::InvalidPurpose => {
            "certificate is not for server authentication: the server needs a certificate \
             whose extended key usage includes serverAuth"
                .to_owned()
        }
        CertificateError::InvalidPurposeContext { presented, .. } => {
            let uses: Vec<String> = presented.iter().map(ToString::to_string).collect();
            let uses = if uses.is_empty() {
                "none".to_owned()
            } else {
                uses.join("; ")
            };
            format!(
                "certificate is not for server authentication (it is for {uses}): the server \
                 needs a certificate whose extended key usage includes serverAuth"
            )
        }
        CertificateError::InvalidOcspResponse => {
            "the server's stapled revocation status (OCSP response) is invalid: the server must \
             fetch a fresh one or stop stapling"
                .to_owned()
        }
        CertificateError::ApplicationVerificationFailure => {
            "certificate was refused by the application's own check".to_owned()
        }
        CertificateError::Other(other) => other_error(other, host),
        _ => with_plain_detail(
            "certificate was refused for a reason this client cannot name",
            &error.to_string(),
        ),
    }
}

/// An error rustls passes on as it came: webpki's certificate errors that
/// rustls has no variant for (`CaUsedAsEndEntity`, …), or anything else.
fn other_error(other: &OtherError, host: &str) -> String {
    match other.0.downcast_ref::<webpki::Error>() {
        Some(error) => webpki_error(error, host),
        None => with_plain_detail(
            "the TLS session failed for a reason this client cannot name",
            &other.0.to_string(),
        ),
    }
}

/// webpki's reasons for refusing a certificate chain, in words.
fn webpki_error(error: &webpki::Error, host: &str) -> String {
    use webpki::Error as E;
    let malformed = |what: &str| {
        format!(
            "certificate is malformed ({what}): the server must be given a certificate made \
             by a standard tool"
        )
    };
    let revocation = |what: &str| format!("a certificate revocation list is not usable: {what}");
    match error {
        E::BadDer | E::BadDerTime | E::TrailingData(_) => malformed("its encoding is invalid"),
        E::CaUsedAsEndEntity => "the server presents a CA certificate as its server certificate; \
             sign a separate server certificate with that CA and trust the CA"
            .to_owned(),
        E::EndEntityUsedAsCa => "a server certificate was used as a CA to sign another \
             certificate of the chain: only a CA certificate may sign; reissue the chain from a CA"
            .to_owned(),
        E::CertDistrusted => "certificate's key is explicitly distrusted: the server needs a \
             certificate from another key and CA"
            .to_owned(),
        E::CertExpired { time, not_after } => certificate(
            &CertificateError::ExpiredContext {
                time: *time,
                not_after: *not_after,
            },
            host,
        ),
        E::CertNotValidYet { time, not_before } => certificate(
            &CertificateError::NotValidYetContext {
                time: *time,
                not_before: *not_before,
            },
            host,
        ),
        E::InvalidCertValidity => malformed("its validity period ends before it starts"),
        E::CertNotValidForName(_) => certificate(&CertificateError::NotValidForName, host),
        E::CertRevoked => certificate(&CertificateError::Revoked, host),
        E::UnknownIssuer => certificate(&CertificateError::UnknownIssuer, host),
        E::UnknownRevocationStatus => certificate(&CertificateError::UnknownRevocationStatus, host),
        E::CrlExpired { .. } => certificate(&CertificateError::ExpiredRevocationList, host),
        E::EmptyEkuExtension => malformed("its extended key usage extension lists no usage"),
        E::ExtensionValueInvalid => malformed("an extension has an invalid value"),
        E::InvalidSerialNumber => malformed("its serial number is invalid"),
        E::MalformedDnsIdentifier => malformed("a DNS name in it is not a valid name"),
        E::MalformedExtensions => malformed(
            "its extensions are invalid; host names must be in the subjectAltName extension",
        ),
        E::MalformedNameConstraint => malformed("a name constraint is invalid"),
        E::InvalidNetworkMaskConstraint => {
            malformed("an IP address name constraint has an invalid network mask")
        }
        E::UnsupportedCertVersion => malformed("it is not an X.509 version 3 certificate"),
        E::UnsupportedCriticalExtension => {
            certificate(&CertificateError::UnhandledCriticalExtension, host)
        }
        E::SignatureAlgorithmMismatch => {
            malformed("its two signature algorithm fields do not agree")
        }
        E::InvalidSignatureForPublicKey => certificate(&CertificateError::BadSignature, host),
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            certificate(&CertificateError::UnsupportedSignatureAlgorithm, host)
        }
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => {
            certificate(&CertificateError::InvalidPurpose, host)
        }
        E::NameConstraintViolation => format!(
            "certificate names a host its CA is not allowed to certify (a name constraint of \
             the CA): the server needs a certificate from a CA allowed to certify {host}"
        ),
        E::PathLenConstraintViolated => "the certificate chain is longer than a CA in it allows \
             (its path length constraint): reissue the chain with fewer intermediate CAs"
            .to_owned(),
        E::MaximumNameConstraintComparisonsExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumPathDepthExceeded
        | E::MaximumSignatureChecksExceeded => "the certificate chain is too long or too tangled \
             to verify: the server should send only its certificate and the intermediates up to \
             a root"
            .to_owned(),
        E::UnsupportedNameType => {
            format!("`{host}` is a kind of server name this client cannot verify")
        }
        E::InvalidCrlNumber => revocation("its CRL number is invalid"),
        E::InvalidCrlSignatureForPublicKey => revocation("it is not correctly signed"),
        E::IssuerNotCrlSigner => revocation("its issuer may not sign revocation lists"),
        E::UnsupportedCrlIssuingDistributionPoint => {
            revocation("its issuing distribution point is not supported")
        }
        E::UnsupportedCrlVersion => revocation("it is not an X.509 version 2 list"),
        E::UnsupportedDeltaCrl => revocation("delta lists are not supported"),
        E::UnsupportedIndirectCrl => revocation("indirect lists are not supported"),
        E::UnsupportedRevocationReason => revocation("it names an unsupported revocation reason"),
        E::UnsupportedRevocationReasonsPartitioning => {
            revocation("lists split by revocation reason are not supported")
        }
        E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => {
            revocation("it is signed with an unsupported algorithm")
        }
        _ => "certificate was refused for a reason this client cannot name".to_owned(),
    }
}

/// A fatal alert from the server, in words.
fn alert_received(alert: AlertDescription, host: &str) -> String {
    use AlertDescription as A;
    let mismatch = "no TLS protocol version in common (this client speaks TLS 1.2 and 1.3): \
                    the server only speaks an older one and needs upgrading";
    let faulty = "its TLS software is faulty, or something on the way alters the traffic";
    let client_certificate = "the server requires a client certificate, which this client \
                              does not send";
    let text = match alert {
        A::ProtocolVersion => return mismatch.to_owned(),
        A::HandshakeFailure => {
            return "handshake failed: no cipher suite or key exchange in common, or the server \
                    wants something this client does not offer (such as a client certificate)"
                .to_owned();
        }
        A::UnrecognisedName => {
            return format!(
                "the server does not serve the host name this client asked for ({host}): \
                 check the host in the URL"
            );
        }
        A::CloseNotify => "the server closed the TLS session during the handshake",
        A::UnexpectedMessage => {
            return format!("the server received a TLS message it did not expect: {faulty}");
        }
        A::BadRecordMac | A::DecryptionFailed => {
            "a record failed its integrity check at the server: the connection was corrupted \
             or altered on the way"
        }
        A::RecordOverflow => "the server received a record larger than TLS allows",
        A::DecompressionFailure => "the server could not decompress a record",
        A::NoCertificate | A::CertificateRequired => client_certificate,
        A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::CertificateUnobtainable
        | A::BadCertificateStatusResponse
        | A::BadCertificateHashValue => {
            "the server refused a certificate in the handshake (it may require a client \
             certificate, which this client does not send)"
        }
        A::IllegalParameter => {
            return format!("the server found a value of the handshake out of range: {faulty}");
        }
        A::AccessDenied => "the server denied access",
        A::DecodeError => {
            return format!("the server could not decode a handshake message: {faulty}");
        }
        A::DecryptError => {
            return format!("the server could not verify the handshake: {faulty}");
        }
        A::ExportRestriction => "the server refused an export-restricted setting",
        A::InsufficientSecurity => "the server requires stronger ciphers than this client offers",
        A::InternalError => {
            "the server had an internal TLS error: try again later, or check the server's logs"
        }
        A::InappropriateFallback => {
            "the server saw a downgraded retry of the handshake and refused it"
        }
        A::UserCanceled => "the server canceled the handshake",
        A::NoRenegotiation => "the server refused to renegotiate",
        A::MissingExtension => "the server misses an extension it needs in the handshake",
        A::UnsupportedExtension => {
            "the server received an extension it does not support in that place"
        }
        A::UnknownPSKIdentity => "the server does not know the resumed session's key",
        A::NoApplicationProtocol => {
            "the server speaks none of the application protocols this client offers (http/1.1)"
        }
        A::EncryptedClientHelloRequired => "the server requires encrypted client hello",
        A::Unknown(number) => return unknown_alert(number),
        other => return unknown_alert(u8::from(other)),
    };
    text.to_owned()
}

fn unknown_alert(number: u8) -> String {
    format!(
        "the server ended the handshake with TLS alert number {number}, which this client does not know"
    )
}

/// Why the server and this client have no TLS in common, in words.
fn incompatible(why: &PeerIncompatible) -> String {
    use PeerIncompatible as P;
    let upgrade = "the server's TLS configuration needs a modern setting this client supports";
    let what = match why {
        P::ServerDoesNotSupportTls12Or13
        | P::ServerTlsVersionIsDisabledByOurConfig
        | P::SupportedVersionsExtensionRequired
        | P::Tls12NotOffered
        | P::Tls12NotOfferedOrEnabled => {
            return "no TLS protocol version in common (this client speaks TLS 1.2 and 1.3): \
                    the server only speaks an older one and needs upgrading"
                .to_owned();
        }
        P::NoCipherSuitesInCommon => {
            return "handshake failed: no cipher suite in common (this client offers AES-GCM and \
                    ChaCha20-Poly1305 suites): the server's TLS configuration needs one of them"
                .to_owned();
        }
        P::NoKxGroupsInCommon => {
            return "handshake failed: no key exchange group in common (this client offers \
                    X25519, P-256 and P-384): the server's TLS configuration needs one of them"
                .to_owned();
        }
        P::EcPointsExtensionRequired => "it leaves out the EC point formats extension",
        P::ExtendedMasterSecretExtensionRequired => {
            "it does not support the extended master secret that TLS 1.2 needs here"
        }
        P::IncorrectCertificateTypeExtension => "its certificate type extension is wrong",
        P::KeyShareExtensionRequired => "it leaves out the key share extension",
        P::NamedGroupsExtensionRequired => "it leaves out the named groups extension",
        P::NoCertificateRequestSignatureSchemesInCommon => {
            "it asks for a client certificate with no signature scheme in common"
        }
        P::NoEcPointFormatsInCommon => "no EC point format in common",
        P::NoSignatureSchemesInCommon => "no signature scheme in common",
        P::SignatureAlgorithmsExtensionRequired => {
            "it leaves out the signature algorithms extension"
        }
        P::NullCompressionRequired => "it does not offer the null compression TLS requires",
        P::ServerSentHelloRetryRequestWithUnknownExtension => {
            "it asked to retry the handshake with an unknown extension"
        }
        P::Tls13RequiredForQuic => "QUIC needs TLS 1.3, which it does not speak",
        P::UncompressedEcPointsRequired => "it does not offer uncompressed EC points",
        P::UnsolicitedCertificateTypeExtension => "it sent a certificate type nobody asked for",
        P::ServerRejectedEncryptedClientHello(_) => "it refused the encrypted client hello",
        _ => "for a reason this client cannot name",
    };
    format!("the server's TLS is incompatible with this client ({what}): {upgrade}")
}

/// What the server did against the TLS protocol, in words.
fn misbehaved(why: &PeerMisbehaved) -> &'static str {
    use PeerMisbehaved as P;
    match why {
        P::AttemptedDowngradeToTls12WhenTls13IsSupported => {
            "it fell back to TLS 1.2 while saying it speaks TLS 1.3, a sign of a downgrade attack"
        }
        P::BadCertChainExtensions => "its certificate chain has invalid extensions",
        P::CipherSuiteDifferedOnRetry => "it changed the cipher suite on a retry",
        P::DisallowedEncryptedExtension => "it sent an extension not allowed encrypted",
        P::DuplicateClientHelloExtensions => "a client hello repeats an extension",
        P::DuplicateEncryptedExtensions => "its encrypted extensions repeat one",
        P::DuplicateHelloRetryRequestExtensions => "its retry request repeats an extension",
        P::DuplicateNewSessionTicketExtensions => "its session ticket repeats an extension",
        P::DuplicateServerHelloExtensions => "its server hello repeats an extension",
        P::DuplicateServerNameTypes => "a server name list repeats a type",
        P::EarlyDataAttemptedInSecondClientHello => "early data came in a second client hello",
        P::EarlyDataExtensionWithoutResumption => "early data was offered without resumption",
        P::EarlyDataOfferedWithVariedCipherSuite => "early data came with another cipher suite",
        P::EchAcceptanceVariedAfterRetry => "it changed its encrypted hello answer on a retry",
        P::HandshakeHashVariedAfterRetry => "the handshake hash changed on a retry",
        P::IllegalHelloRetryRequestWithEmptyCookie => "its retry request has an empty cookie",
        P::IllegalHelloRetryRequestWithNoChanges => "its retry request changes nothing",
        P::IllegalHelloRetryRequestWithOfferedGroup => {
            "its retry request asks for a key group already offered"
        }
        P::IllegalHelloRetryRequestWithUnofferedCipherSuite => {
            "its retry request picks a cipher suite never offered"
        }
        P::IllegalHelloRetryRequestWithUnofferedNamedGroup => {
            "its retry request picks a key group never offered"
        }
        P::IllegalHelloRetryRequestWithUnsupportedVersion => {
            "its retry request picks an unsupported version"
        }
        P::IllegalHelloRetryRequestWithWrongSessionId => {
            "its retry request has the wrong session id"
        }
        P::IllegalHelloRetryRequestWithInvalidEch => {
            "its retry request has an invalid encrypted hello answer"
        }
        P::IllegalMiddleboxChangeCipherSpec => "it sent a change-cipher-spec out of place",
        P::IllegalTlsInnerPlaintext => "a record's inner plaintext is invalid",
        P::IncorrectBinder => "a resumption binder is wrong",
        P::InvalidCertCompression => "a compressed certificate does not decompress",
        P::InvalidMaxEarlyDataSize => "its early data size is invalid",
        P::InvalidKeyShare => "its key share is invalid",
        P::KeyEpochWithPendingFragment => "it changed keys in the middle of a message",
        P::KeyUpdateReceivedInQuicConnection => "it sent a key update inside QUIC",
        P::MessageInterleavedWithHandshakeMessage => {
            "it put another message in the middle of a handshake message"
        }
        P::MissingBinderInPskExtension => "a resumption offer has no binder",
        P::MissingKeyShare => "it sent no key share",
        P::MissingPskExtensionInSecondClientHello => {
            "a second client hello leaves out the resumption offer"
        }
        P::MissingPskModesExtension => "a resumption offer has no modes",
        P::MissingQuicTransportParameters => "it sent no QUIC transport parameters",
        P::OfferedDuplicateCertificateCompressions => "it repeats a certificate compression",
        P::OfferedDuplicateKeyShares => "it repeats a key share",
        P::OfferedEarlyDataWithOldProtocolVersion => "it offered early data below TLS 1.3",
        P::OfferedEmptyApplicationProtocol => "it offered an empty application protocol",
        P::OfferedIncorrectCompressions => "it offered compression methods TLS 1.3 forbids",
        P::PskExtensionMustBeLast | P::PskExtensionWithMismatchedIdsAndBinders => {
            "its resumption offer is malformed"
        }
        P::RefusedToFollowHelloRetryRequest => "it ignored a retry request",
        P::RejectedEarlyDataInterleavedWithHandshakeMessage => {
            "rejected early data came in the middle of the handshake"
        }
        P::ResumptionAttemptedWithVariedEms
        | P::ResumptionOfferedWithVariedEms
        | P::ResumptionOfferedWithVariedCipherSuite
        | P::ResumptionOfferedWithIncompatibleCipherSuite => {
            "it resumed a session with different settings"
        }
        P::SelectedDifferentCipherSuiteAfterRetry => "it picked another cipher suite after a retry",
        P::SelectedInvalidPsk => "it picked an invalid resumption key",
        P::SelectedTls12UsingTls13VersionExtension => {
            "it picked TLS 1.2 through the TLS 1.3 version extension"
        }
        P::SelectedUnofferedApplicationProtocol => {
            "it picked an application protocol this client did not offer"
        }
        P::SelectedUnofferedCertCompression => "it picked a certificate compression never offered",
        P::SelectedUnofferedCipherSuite => "it picked a cipher suite this client did not offer",
        P::SelectedUnofferedCompression => "it picked a compression this client did not offer",
        P::SelectedUnofferedKxGroup => "it picked a key group this client did not offer",
        P::SelectedUnofferedPsk => "it picked a resumption key this client did not offer",
        P::SelectedUnusableCipherSuiteForVersion => {
            "it picked a cipher suite that does not fit the TLS version"
        }
        P::ServerEchoedCompatibilitySessionId => "it echoed the session id in the wrong place",
        P::ServerHelloMustOfferUncompressedEcPoints => "it does not offer uncompressed EC points",
        P::ServerNameDifferedOnRetry => "the server name changed on a retry",
        P::ServerNameMustContainOneHostName => "a server name list has more than one host",
        P::SignedKxWithWrongAlgorithm => "it signed its key exchange with the wrong algorithm",
        P::SignedHandshakeWithUnadvertisedSigScheme => {
            "it signed the handshake with a scheme this client did not offer"
        }
        P::TooManyEmptyFragments => "it sent too many empty records",
        P::TooManyKeyUpdateRequests => "it asked for too many key updates",
        P::TooManyRenegotiationRequests => "it asked to renegotiate too often",
        P::TooManyWarningAlertsReceived => "it sent too many warning alerts",
        P::TooMuchEarlyDataReceived => "it sent too much early data",
        P::UnexpectedCleartextExtension => "it sent in clear an extension that must be encrypted",
        P::UnsolicitedCertExtension => "its certificate carries an extension nobody asked for",
        P::UnsolicitedEncryptedExtension => "it sent an encrypted extension nobody asked for",
        P::UnsolicitedSctList => "it sent a certificate transparency list nobody asked for",
        P::UnsolicitedServerHelloExtension => "its server hello has an extension nobody asked for",
        P::WrongGroupForKeyShare => "its key share is for the wrong group",
        P::UnsolicitedEchExtension => "it sent an encrypted hello extension nobody asked for",
        _ => "in a way this client cannot name",
    }
}

/// What is wrong with a TLS message from the server, in words.
fn invalid_message(message: &InvalidMessage) -> &'static str {
    use InvalidMessage as M;
    match message {
        M::CertificatePayloadTooLarge => "its certificate chain is larger than 64 KiB",
        M::HandshakePayloadTooLarge | M::MessageTooLarge => "a message is larger than allowed",
        M::InvalidCcs => "a change-cipher-spec message is invalid",
        M::InvalidContentType => "a record has an unknown content type",
        M::InvalidCertificateStatusType => "a certificate status has an unknown type",
        M::InvalidCertRequest => "a certificate request is invalid",
        M::InvalidDhParams => "its Diffie-Hellman parameters are invalid",
        M::InvalidEmptyPayload => "a record is empty where that is not allowed",
        M::InvalidKeyUpdate => "a key update is invalid",
        M::InvalidServerName => "a server name is invalid",
        M::MessageTooShort | M::MissingData(_) => "a message ends early",
        M::MissingKeyExchange => "it names no key exchange group",
        M::NoSignatureSchemes => "it names no signature scheme",
        M::TrailingData(_) => "a message has bytes after its end",
        M::UnexpectedMessage(_) => "a message is of an unexpected type",
        M::UnknownProtocolVersion => "a record has an unknown protocol version",
        M::UnsupportedCompression => "it asks for compression",
        M::UnsupportedCurveType => "it names an unsupported elliptic curve type",
        M::UnsupportedKeyExchangeAlgorithm(_) => "it names an unsupported key exchange",
        M::EmptyTicketValue => "a session ticket is empty",
        M::IllegalEmptyList(_) => "a list is empty where that is not allowed",
        M::IllegalEmptyValue => "a value is empty where that is not allowed",
        M::DuplicateExtension(_) => "a message repeats an extension",
        M::PreSharedKeyIsNotFinalExtension => "the resumption extension is not the last one",
        M::UnknownHelloRetryRequestExtension => "a retry request has an unknown extension",
        M::UnknownCertificateExtension => "a certificate entry has an unknown extension",
        _ => "in a way this client cannot name",
    }
}

/// What is wrong with a certificate revocation list, in words.
fn revocation_list(why: &CertRevocationListError) -> &'static str {
    use CertRevocationListError as C;
    match why {
        C::BadSignature => "it is not correctly signed",
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "it is signed with an unsupported algorithm"
        }
        C::InvalidCrlNumber => "its CRL number is invalid",
        C::InvalidRevokedCertSerialNumber => "a revoked serial number in it is invalid",
        C::IssuerInvalidForCrl => "its issuer may not sign revocation lists",
        C::Other(_) => "for a reason this client cannot name",
        C::ParseError => "it could not be parsed",
        C::UnsupportedCrlVersion => "it is not an X.509 version 2 list",
        C::UnsupportedCriticalExtension => "it has an unsupported critical extension",
        C::UnsupportedDeltaCrl => "delta lists are not supported",
        C::UnsupportedIndirectCrl => "indirect lists are not supported",
        C::UnsupportedRevocationReason => "it names an unsupported revocation reason",
        _ => "for a reason this client cannot name",
    }
}

/// Why a PEM root certificate bundle could not be read, in words.
pub(crate) fn pem_error(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { .. } => {
            "a section has no END line: the file is cut short".to_owned()
        }
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_owned(),
        pem::Error::Base64Decode(_) => "a section is not valid base64".to_owned(),
        pem::Error::Io(error) => format!("it could not be read: {error}"),
        pem::Error::NoItemsFound => "it holds no certificate".to_owned(),
        pem::Error::SectionTooLarge => "a section is larger than 256 MB".to_owned(),
        _ => "it could not be read as PEM".to_owned(),
    }
}

/// Why a root certificate cannot be a trust anchor, in words.
pub(crate) fn root_error(error: &TlsError) -> String {
    match error {
        TlsError::InvalidCertificate(CertificateError::BadEncoding) => {
            "it could not be parsed as an X.509 certificate".to_owned()
        }
        TlsError::InvalidCertificate(CertificateError::Other(other)) => {
            match other.0.downcast_ref::<webpki::Error>() {
                Some(webpki::Error::UnsupportedCertVersion) => {
                    "it is not an X.509 version 3 certificate".to_owned()
                }
                Some(
                    webpki::Error::BadDer
                    | webpki::Error::BadDerTime
                    | webpki::Error::TrailingData(_),
                ) => "it could not be parsed as an X.509 certificate".to_owned(),
                _ => describe(error, "the root"),
            }
        }
        other => describe(other, "the root"),
    }
}

/// `generic`, followed by a library's own text when that reads as plain
/// words (no `Name(..)` or `{ .. }` shapes of `Debug` output).
fn with_plain_detail(generic: &str, detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() || looks_like_debug(detail) {
        generic.to_owned()
    } else {
        format!("{generic}: {detail}")
    }
}

/// Whether `text` has the shapes of `Debug` output: braces, or a word
/// glued to an opening parenthesis (`Other(`, `IpAddress(`).
pub(crate) fn looks_like_debug(text: &str) -> bool {
    text.contains(['{', '}'])
        || text
            .as_bytes()
            .windows(2)
            .any(|w| matches!(w, [a, b'('] if a.is_ascii_alphanumeric() || *a == b'_'))
}

/// A name a certificate presents, as webpki writes it (`DnsName("a.example")`,
/// `IpAddress(127.0.0.1)`), in plain words; `None` for kinds of names that
/// are no host (a directory name, an unsupported kind).
fn plain_name(presented: &str) -> Option<&str> {
    let (kind, inner) = match presented.split_once('(') {
        Some((kind, rest)) => (kind, rest.strip_suffix(')')?),
        // webpki's name kinds without a value are no host.
        None if presented == "DirectoryName" => return None,
        None => {
            return (!presented.is_empty() && !looks_like_debug(presented)).then_some(presented);
        }
    };
    let inner = inner.trim_matches('"');
    match kind {
        "DnsName" | "IpAddress" | "UniformResourceIdentifier" if !inner.is_empty() => Some(inner),
        _ => None,
    }
}

/// A rough age: `3 days`, `5 hours`, `42 seconds`.
struct Ago(u64);

impl std::fmt::Display for Ago {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        let (n, unit) = match s {
            0..120 => (s, "second"),
            120..7_200 => (s / 60, "minute"),
            7_200..172_800 => (s / 3_600, "hour"),
            _ => (s / 86_400, "day"),
        };
        write!(f, "{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::{ContentType, ExtendedKeyPurpose, HandshakeType};

    use super::*;

    /// Checks that a message is plain words: non-empty, lowercase start,
    /// no trailing period, no `Debug` shapes.
    #[track_caller]
    fn assert_plain(text: &str) {
        assert!(!text.is_empty(), "empty message");
        assert!(!looks_like_debug(text), "Debug shape in: {text}");
        assert!(!text.ends_with('.'), "trailing period: {text}");
        assert!(
            !text.starts_with(|c: char| c.is_ascii_uppercase()),
            "capital start: {text}"
        );
    }

    fn cert(error: CertificateError) -> String {
        describe(&TlsError::InvalidCertificate(error), "a.example")
    }

    fn webpki_other(error: webpki::Error) -> TlsError {
        TlsError::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(error))))
    }

    #[test]
    fn certificate_errors_say_why_and_what_to_do() {
        assert!(
            cert(CertificateError::UnknownIssuer)
                .starts_with("certificate is not trusted (unknown issuer): ")
        );
        assert!(cert(CertificateError::UnknownIssuer).contains("add_root_certificate_pem"));
        assert!(cert(CertificateError::Expired).starts_with("certificate has expired: "));
        assert!(cert(CertificateError::NotValidForName).starts_with(
            "certificate is not valid for a.example: use a name the certificate lists"
        ));
        let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_000_000));
        let earlier =
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_000_000 - 3 * 86_400));
        assert!(
            cert(CertificateError::ExpiredContext {
                time: now,
                not_after: earlier
            })
            .starts_with("certificate has expired (3 days ago): ")
        );
        assert!(
            cert(CertificateError::NotValidYetContext {
                time: earlier,
                not_before: now
            })
            .starts_with("certificate is not valid yet (it starts in 3 days): ")
        );
    }

    /// The report's case: a self-signed CA certificate used as the server's
    /// own certificate came out as `Other(OtherError(CaUsedAsEndEntity))`.
    #[test]
    fn a_ca_certificate_as_server_certificate_is_explained() {
        assert_eq!(
            describe(&webpki_other(webpki::Error::CaUsedAsEndEntity), "a.example"),
            "the server presents a CA certificate as its server certificate; sign a separate \
             server certificate with that CA and trust the CA"
        );
    }

    /// The report's case: an IP address name came out as
    /// `IpAddress(127.0.0.1)`.
    #[test]
    fn presented_names_are_listed_plainly() {
        let text = cert(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("a.example").unwrap(),
            presented: vec![
                "DnsName(\"localhost\")".into(),
                "IpAddress(127.0.0.1)".into(),
                "DnsName(\"example.test\")".into(),
                "DirectoryName".into(),
                "Unsupported(0x88)".into(),
                "IpAddress(::1)".into(),
            ],
        });
        assert!(
            text.starts_with(
                "certificate is not valid for a.example (it is for localhost, 127.0.0.1, \
                 example.test, ::1): "
            ),
            "{text}"
        );
        assert_plain(&text);
        let none = cert(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("a.example").unwrap(),
            presented: vec![],
        });
        assert!(none.contains("(it names no host)"), "{none}");
    }

    #[test]
    fn every_certificate_error_is_plain_words() {
        let now = UnixTime::now();
        let cases = [
            CertificateError::BadEncoding,
            CertificateError::Expired,
            CertificateError::ExpiredContext {
                time: now,
                not_after: now,
            },
            CertificateError::NotValidYet,
            CertificateError::NotValidYetContext {
                time: now,
                not_before: now,
            },
            CertificateError::Revoked,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::UnknownIssuer,
            CertificateError::UnknownRevocationStatus,
            CertificateError::ExpiredRevocationList,
            CertificateError::ExpiredRevocationListContext {
                time: now,
                next_update: now,
            },
            CertificateError::BadSignature,
            CertificateError::UnsupportedSignatureAlgorithm,
            CertificateError::UnsupportedSignatureAlgorithmContext {
                signature_algorithm_id: vec![1, 2],
                supported_algorithms: vec![],
            },
            CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                signature_algorithm_id: vec![1],
                public_key_algorithm_id: vec![2],
            },
            CertificateError::NotValidForName,
            CertificateError::InvalidPurpose,
            CertificateError::InvalidPurposeContext {
                required: ExtendedKeyPurpose::ServerAuth,
                presented: vec![
                    ExtendedKeyPurpose::ClientAuth,
                    ExtendedKeyPurpose::Other(vec![1, 3, 6]),
                ],
            },
            CertificateError::InvalidOcspResponse,
            CertificateError::ApplicationVerificationFailure,
            CertificateError::Other(OtherError(Arc::new(std::io::Error::other("Custom { x }")))),
        ];
        for case in cases {
            assert_plain(&cert(case));
        }
    }

    #[test]
    fn every_webpki_error_is_plain_words() {
        use webpki::Error as E;
        let now = UnixTime::now();
        let cases = [
            E::BadDer,
            E::BadDerTime,
            E::CaUsedAsEndEntity,
            E::CertDistrusted,
            E::CertExpired {
                time: now,
                not_after: now,
            },
            E::CertNotValidYet {
                time: now,
                not_before: now,
            },
            E::CertRevoked,
            E::CrlExpired {
                time: now,
                next_update: now,
            },
            E::EmptyEkuExtension,
            E::EndEntityUsedAsCa,
            E::ExtensionValueInvalid,
            E::InvalidCertValidity,
            E::InvalidCrlNumber,
            E::InvalidNetworkMaskConstraint,
            E::InvalidSerialNumber,
            E::InvalidCrlSignatureForPublicKey,
            E::InvalidSignatureForPublicKey,
            E::IssuerNotCrlSigner,
            E::MalformedDnsIdentifier,
            E::MalformedExtensions,
            E::MalformedNameConstraint,
            E::MaximumNameConstraintComparisonsExceeded,
            E::MaximumPathBuildCallsExceeded,
            E::MaximumPathDepthExceeded,
            E::MaximumSignatureChecksExceeded,
            E::NameConstraintViolation,
            E::PathLenConstraintViolated,
            E::RequiredEkuNotFound,
            E::SignatureAlgorithmMismatch,
            E::UnknownIssuer,
            E::UnknownRevocationStatus,
            E::UnsupportedCertVersion,
            E::UnsupportedCriticalExtension,
            E::UnsupportedCrlIssuingDistributionPoint,
            E::UnsupportedCrlVersion,
            E::UnsupportedDeltaCrl,
            E::UnsupportedIndirectCrl,
            E::UnsupportedNameType,
            E::UnsupportedRevocationReason,
            E::UnsupportedRevocationReasonsPartitioning,
            E::UnsupportedCrlSignatureAlgorithm,
            E::UnsupportedSignatureAlgorithm,
            E::UnsupportedCrlSignatureAlgorithmForPublicKey,
            E::UnsupportedSignatureAlgorithmForPublicKey,
        ];
        for case in cases {
            let text = describe(&webpki_other(case.clone()), "a.example");
            assert_plain(&text);
            assert!(!text.contains("cannot name"), "{case:?}: {text}");
        }
    }

    #[test]
    fn every_top_level_error_is_plain_words() {
        let cases = [
            TlsError::InappropriateMessage {
                expect_types: vec![ContentType::Handshake],
                got_type: ContentType::ApplicationData,
            },
            TlsError::InappropriateHandshakeMessage {
                expect_types: vec![HandshakeType::ServerHello],
                got_type: HandshakeType::Finished,
            },
            TlsError::InvalidEncryptedClientHello(EncryptedClientHelloError::SniRequired),
            TlsError::InvalidMessage(InvalidMessage::MissingData("x")),
            TlsError::NoCertificatesPresented,
            TlsError::UnsupportedNameType,
            TlsError::DecryptError,
            TlsError::EncryptError,
            TlsError::PeerIncompatible(PeerIncompatible::NullCompressionRequired),
            TlsError::PeerMisbehaved(PeerMisbehaved::TooManyEmptyFragments),
            TlsError::AlertReceived(AlertDescription::InternalError),
            TlsError::InvalidCertRevocationList(CertRevocationListError::ParseError),
            TlsError::General("Weird { shape }".into()),
            TlsError::General("`x y` is not a valid server name".into()),
            TlsError::FailedToGetCurrentTime,
            TlsError::FailedToGetRandomBytes,
            TlsError::HandshakeNotComplete,
            TlsError::PeerSentOversizedRecord,
            TlsError::NoApplicationProtocol,
            TlsError::BadMaxFragmentSize,
            TlsError::InconsistentKeys(InconsistentKeys::KeyMismatch),
            TlsError::InconsistentKeys(InconsistentKeys::Unknown),
            TlsError::Other(OtherError(Arc::new(std::io::Error::other("Opaque(3)")))),
        ];
        for case in cases {
            assert_plain(&describe(&case, "a.example"));
        }
        assert_eq!(
            describe(
                &TlsError::General("`x y` is not a valid server name".into()),
                "h"
            ),
            "the TLS session failed: `x y` is not a valid server name"
        );
        assert_eq!(
            describe(&TlsError::General("Weird { shape }".into()), "h"),
            "the TLS session failed"
        );
    }

    #[test]
    fn every_alert_is_plain_words() {
        for n in 0..=255u8 {
            let text = describe(
                &TlsError::AlertReceived(AlertDescription::from(n)),
                "a.example",
            );
            assert_plain(&text);
        }
        assert_eq!(
            describe(
                &TlsError::AlertReceived(AlertDescription::ProtocolVersion),
                "h"
            ),
            describe(
                &TlsError::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13),
                "h"
            )
        );
        assert!(
            describe(
                &TlsError::AlertReceived(AlertDescription::HandshakeFailure),
                "h"
            )
            .starts_with("handshake failed")
        );
        assert!(
            describe(
                &TlsError::AlertReceived(AlertDescription::UnrecognisedName),
                "a.example"
            )
            .contains("(a.example)")
        );
        assert!(
            describe(&TlsError::AlertReceived(AlertDescription::from(0xee)), "h")
                .contains("alert number 238")
        );
    }

    #[test]
    fn every_incompatibility_and_misbehaviour_is_plain_words() {
        use PeerIncompatible as I;
        for case in [
            I::EcPointsExtensionRequired,
            I::ExtendedMasterSecretExtensionRequired,
            I::IncorrectCertificateTypeExtension,
            I::KeyShareExtensionRequired,
            I::NamedGroupsExtensionRequired,
            I::NoCertificateRequestSignatureSchemesInCommon,
            I::NoCipherSuitesInCommon,
            I::NoEcPointFormatsInCommon,
            I::NoKxGroupsInCommon,
            I::NoSignatureSchemesInCommon,
            I::NullCompressionRequired,
            I::ServerDoesNotSupportTls12Or13,
            I::ServerSentHelloRetryRequestWithUnknownExtension,
            I::ServerTlsVersionIsDisabledByOurConfig,
            I::SignatureAlgorithmsExtensionRequired,
            I::SupportedVersionsExtensionRequired,
            I::Tls12NotOffered,
            I::Tls12NotOfferedOrEnabled,
            I::Tls13RequiredForQuic,
            I::UncompressedEcPointsRequired,
            I::UnsolicitedCertificateTypeExtension,
            I::ServerRejectedEncryptedClientHello(None),
        ] {
            assert_plain(&describe(&TlsError::PeerIncompatible(case), "h"));
        }
        use PeerMisbehaved as M;
        for case in [
            M::AttemptedDowngradeToTls12WhenTls13IsSupported,
            M::BadCertChainExtensions,
            M::IllegalHelloRetryRequestWithInvalidEch,
            M::SelectedUnofferedApplicationProtocol,
            M::UnsolicitedEchExtension,
        ] {
            let text = describe(&TlsError::PeerMisbehaved(case), "h");
            assert_plain(&text);
            assert!(
                text.starts_with("the server broke the TLS protocol ("),
                "{text}"
            );
        }
        assert!(
            describe(
                &TlsError::InvalidMessage(InvalidMessage::InvalidContentType),
                "h"
            )
            .starts_with("the server did not answer in TLS")
        );
    }

    #[test]
    fn root_and_pem_errors_are_plain_words() {
        assert_eq!(
            root_error(&TlsError::InvalidCertificate(CertificateError::BadEncoding)),
            "it could not be parsed as an X.509 certificate"
        );
        assert_eq!(
            root_error(&webpki_other(webpki::Error::UnsupportedCertVersion)),
            "it is not an X.509 version 3 certificate"
        );
        for error in [
            pem::Error::MissingSectionEnd {
                end_marker: b"-----END X-----".to_vec(),
            },
            pem::Error::IllegalSectionStart {
                line: b"x".to_vec(),
            },
            pem::Error::Base64Decode("InvalidByte(1, 2)".into()),
            pem::Error::NoItemsFound,
            pem::Error::SectionTooLarge,
        ] {
            assert_plain(&pem_error(&error));
        }
    }

    #[test]
    fn debug_shapes_are_recognised() {
        for debug in [
            "Other(OtherError(X))",
            "IpAddress(1.2.3.4)",
            "S { a: 1 }",
            "f_(",
        ] {
            assert!(looks_like_debug(debug), "{debug}");
        }
        for plain in [
            "certificate has expired (3 days ago)",
            "a (b) c",
            "TLS 1.2 and 1.3",
        ] {
            assert!(!looks_like_debug(plain), "{plain}");
        }
        assert_eq!(plain_name("DnsName(\"a.example\")"), Some("a.example"));
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), Some("10.0.0.1"));
        assert_eq!(plain_name("a.example"), Some("a.example"));
        assert_eq!(plain_name("DirectoryName"), None);
        assert_eq!(plain_name("Unsupported(0x88)"), None);
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(Ago(1).to_string(), "1 second");
        assert_eq!(Ago(600).to_string(), "10 minutes");
        assert_eq!(Ago(86_400 * 3).to_string(), "3 days");
    }
}
