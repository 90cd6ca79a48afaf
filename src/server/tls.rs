//! TLS for clients (`tls-port`): rustls with its `ring` provider, through
//! tokio-rustls; no OpenSSL.
//!
//! A TLS connection is accepted on the TLS listener, completes its
//! handshake here (bounded by [`HANDSHAKE_TIMEOUT`]), and is then served by
//! the same connection task as a plain one: `connection::serve` is generic
//! over the stream (`connection::Transport`).
//!
//! The rustls configuration is built from the `tls-*` parameters by
//! [`server_config`]: the certificate chain and key (`tls-cert-file`,
//! `tls-key-file`), the client verifier (`tls-auth-clients` against
//! `tls-ca-cert-file`), the protocol versions (`tls-protocols`) and the
//! cipher suites (`tls-ciphersuites` for TLS 1.3, `tls-ciphers` for 1.2).
//! [`Tls`] holds the one in use; a
//! CONFIG SET of any `tls-*` parameter builds a new one from the files as
//! they are now and swaps it in for later handshakes, so a certificate
//! renewed in place is picked up by setting the same path again. If the
//! build fails (a missing file, a key that does not match), CONFIG SET
//! fails and the old configuration stays. Connections already up keep the
//! session they negotiated.
//!
//! Not supported: TLS 1.0/1.1, OpenSSL's cipher-string syntax (only lists
//! of suite names), encrypted keys (`tls-key-file-pass`), `tls-ca-cert-dir`,
//! DH parameter files (rustls uses ECDHE only), session-cache tuning.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig, SupportedCipherSuite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::connection::Transport;
use crate::config::{TlsAuthClients, TlsConfig, TLS12_SUITES};

/// Longest a client may take to complete its handshake; a client that
/// connects and says nothing (or speaks plain RESP) is dropped after it.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A required parameter is empty.
    #[error("{0} must be set when TLS is enabled")]
    Missing(&'static str),
    /// A file could not be read or holds no usable PEM item.
    #[error("can't load {param} '{path}': {reason}")]
    File {
        /// The parameter naming the file.
        param: &'static str,
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the combination (key not matching the certificate,
    /// no protocol left, bad CA certificate…).
    #[error("{0}")]
    Rustls(String),
}

/// The live TLS state of a server.
#[derive(Debug, Default)]
pub struct Tls {
    /// Addresses the TLS listener bound (empty when TLS is off).
    pub listening: Vec<SocketAddr>,
    /// The configuration new handshakes use; `None` when TLS is off.
    current: RwLock<Option<Arc<ServerConfig>>>,
}

impl Tls {
    /// TLS state serving `config` on `listening`.
    pub fn new(listening: Vec<SocketAddr>, config: Option<Arc<ServerConfig>>) -> Tls {
        Tls {
            listening,
            current: RwLock::new(config),
        }
    }

    /// Rebuilds the configuration from `settings` (the files are read
    /// again) for later handshakes. Without a TLS listener there is
    /// nothing to reload, as in Redis with `tls-port 0`. On error the
    /// configuration in use stays.
    pub fn reload(&self, settings: &TlsConfig) -> Result<(), TlsError> {
        if self.current.read().expect("tls lock").is_none() {
            return Ok(());
        }
        let fresh = server_config(settings)?;
        *self.current.write().expect("tls lock") = Some(fresh);
        Ok(())
    }

    /// Completes a client's handshake with the configuration in use.
    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        let config = self
            .current
            .read()
            .expect("tls lock")
            .clone()
            .ok_or_else(|| std::io::Error::other("TLS is not configured"))?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, TlsAcceptor::from(config).accept(stream))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake"))?
    }
}

impl Transport for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Builds a rustls server configuration from the `tls-*` parameters,
/// reading the certificate, key and CA files.
pub fn server_config(settings: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    if settings.cert_file.is_empty() {
        return Err(TlsError::Missing("tls-cert-file"));
    }
    if settings.key_file.is_empty() {
        return Err(TlsError::Missing("tls-key-file"));
    }
    let chain = load_certs("tls-cert-file", &settings.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&settings.key_file).map_err(|e| TlsError::File {
        param: "tls-key-file",
        path: settings.key_file.clone(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(provider(&settings.ciphersuites, &settings.ciphers));
    let mut versions = Vec::new();
    if settings.protocols.0 {
        versions.push(&rustls::version::TLS12);
    }
    if settings.protocols.1 {
        versions.push(&rustls::version::TLS13);
    }
    let rustls_err = |e: rustls::Error| TlsError::Rustls(e.to_string());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(rustls_err)?;
    let builder = match settings.auth_clients {
        TlsAuthClients::No => builder.with_no_client_auth(),
        auth => {
            if settings.ca_cert_file.is_empty() {
                return Err(TlsError::Missing(
                    "tls-ca-cert-file (with tls-auth-clients yes or optional)",
                ));
            }
            let mut roots = RootCertStore::empty();
            for cert in load_certs("tls-ca-cert-file", &settings.ca_cert_file)? {
                roots.add(cert).map_err(rustls_err)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == TlsAuthClients::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?,
            )
        }
    };
    // Checks that the key belongs to the certificate.
    let config = builder.with_single_cert(chain, key).map_err(rustls_err)?;
    Ok(Arc::new(config))
}

/// The `ring` provider, its TLS 1.3 suites cut to `tls13` (names from
/// `config::TLS13_SUITES`) and its TLS 1.2 ones to `tls12` (OpenSSL names
/// from [`TLS12_SUITES`]); an empty list keeps all of that version's.
fn provider(tls13: &[String], tls12: &[String]) -> CryptoProvider {
    let mut provider = ring::default_provider();
    provider.cipher_suites.retain(|suite| {
        let name = format!("{:?}", suite.suite());
        match suite {
            SupportedCipherSuite::Tls13(_) => {
                // rustls spells TLS_AES_128_GCM_SHA256 as TLS13_AES_128_GCM_SHA256.
                tls13.is_empty()
                    || tls13
                        .iter()
                        .any(|want| name.strip_prefix("TLS13_") == want.strip_prefix("TLS_"))
            }
            SupportedCipherSuite::Tls12(_) => {
                tls12.is_empty()
                    || TLS12_SUITES.iter().any(|(openssl, rustls)| {
                        *rustls == name && tls12.iter().any(|want| want == openssl)
                    })
            }
        }
    });
    provider
}

fn load_certs(param: &'static str, path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::File {
        param,
        path: path.to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no PEM certificate in it".into()));
    }
    Ok(certs)
}
