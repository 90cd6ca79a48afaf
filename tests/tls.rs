//! TLS (`tls-port`): a CA, server and client certificates made at run time
//! with rcgen; real handshakes with tokio-rustls (and the stock `redis`
//! crate over `rediss://`), then RESP over the encrypted stream.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sluice::clock::Clock;
use sluice::config::{Config, TlsAuthClients};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// A certificate authority that signs server and client certificates into
/// a directory of PEM files.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate's PEM file.
    cert_file: PathBuf,
    dir: PathBuf,
}

/// A certificate and its key, as files and as the DER the peer sees.
struct Leaf {
    cert_file: PathBuf,
    key_file: PathBuf,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let cert_file = dir.join(format!("{name}.crt"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        Ca {
            issuer: Issuer::new(params, key),
            cert_file,
            dir: dir.to_path_buf(),
        }
    }

    /// A certificate for `localhost` and 127.0.0.1 (valid for a server and
    /// for a client) signed by this CA, written as `<name>.crt/.key`.
    fn leaf(&self, name: &str) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = self.dir.join(format!("{name}.crt"));
        let key_file = self.dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        Leaf {
            cert_file,
            key_file,
            der: cert.der().clone(),
        }
    }
}

/// The certificates of one test: a CA, a server and a client certificate.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    server: Leaf,
    client: Leaf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new(dir.path(), "ca");
        let server = ca.leaf("server");
        let client = ca.leaf("client");
        Pki {
            dir,
            ca,
            server,
            client,
        }
    }

    /// A server configuration with TLS on a port the OS picks.
    fn config(&self, auth: TlsAuthClients) -> Config {
        let mut config = common::test_config();
        config.tls.any_port = true;
        config.tls.cert_file = path(&self.server.cert_file);
        config.tls.key_file = path(&self.server.key_file);
        config.tls.ca_cert_file = path(&self.ca.cert_file);
        config.tls.auth_clients = auth;
        config
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

async fn start(config: Config) -> (TestServer, SocketAddr) {
    let server = TestServer::start_with(config, Clock::system()).await;
    let addr = server.shared.tls_addr().expect("a TLS listener");
    (server, addr)
}

/// A client configuration trusting `ca`, with `client` as its certificate
/// if given, limited to `versions`.
fn client_config(
    ca: &Path,
    client: Option<&Leaf>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(&leaf.cert_file).unwrap()],
                PrivateKeyDer::from_pem_file(&leaf.key_file).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

/// Sends one request and reads one reply (up to 5 s); an error if the
/// connection fails or closes first.
async fn roundtrip(stream: &mut TlsStream<TcpStream>, request: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(request).await?;
    stream.flush().await?;
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .map_err(|_| std::io::Error::other("no reply within 5 s"))??;
    if n == 0 {
        return Err(std::io::Error::other("closed"));
    }
    buf.truncate(n);
    Ok(buf)
}

/// Connects and PINGs: Ok only if the server answered PONG over TLS.
async fn ping(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<(), String> {
    let mut stream = connect(addr, config).await.map_err(|e| e.to_string())?;
    let reply = roundtrip(&mut stream, b"*1\r\n$4\r\nPING\r\n")
        .await
        .map_err(|e| e.to_string())?;
    if reply == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(format!(
            "unexpected reply {:?}",
            String::from_utf8_lossy(&reply)
        ))
    }
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS12, &rustls::version::TLS13];

#[tokio::test]
async fn mutual_tls_serves_resp_and_refuses_clients_without_a_certificate() {
    let pki = Pki::new();
    let (server, addr) = start(pki.config(TlsAuthClients::Yes)).await;
    let with_cert = client_config(&pki.ca.cert_file, Some(&pki.client), BOTH);

    let mut stream = connect(addr, with_cert.clone()).await.unwrap();
    assert_eq!(
        roundtrip(&mut stream, b"*1\r\n$4\r\nPING\r\n")
            .await
            .unwrap(),
        b"+PONG\r\n"
    );
    assert_eq!(
        roundtrip(
            &mut stream,
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
        )
        .await
        .unwrap(),
        b"+OK\r\n"
    );
    assert_eq!(
        roundtrip(&mut stream, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
            .await
            .unwrap(),
        b"$5\r\nhello\r\n"
    );
    // The plain port serves the same data alongside.
    let mut plain = server.client().await;
    let value: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut plain)
        .await
        .unwrap();
    assert_eq!(value, "hello");

    let without_cert = client_config(&pki.ca.cert_file, None, BOTH);
    let refused = ping(addr, without_cert).await;
    assert!(
        refused.is_err(),
        "a client without a certificate was served"
    );

    // A certificate from a CA the server does not trust is refused too.
    let stranger = Ca::new(pki.dir.path(), "stranger");
    let stranger_leaf = stranger.leaf("stranger-client");
    let foreign = client_config(&pki.ca.cert_file, Some(&stranger_leaf), BOTH);
    assert!(ping(addr, foreign).await.is_err());

    ping(addr, with_cert).await.unwrap();
}

#[tokio::test]
async fn optional_client_certificates_accept_both() {
    let pki = Pki::new();
    let (_server, addr) = start(pki.config(TlsAuthClients::Optional)).await;
    ping(addr, client_config(&pki.ca.cert_file, None, BOTH))
        .await
        .unwrap();
    ping(
        addr,
        client_config(&pki.ca.cert_file, Some(&pki.client), BOTH),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let pki = Pki::new();
    let (_server, addr) = start(pki.config(TlsAuthClients::No)).await;
    let other = Ca::new(pki.dir.path(), "other-ca");
    let err = connect(addr, client_config(&other.cert_file, None, BOTH))
        .await
        .expect_err("handshake with an untrusted server certificate");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    ping(addr, client_config(&pki.ca.cert_file, None, BOTH))
        .await
        .unwrap();
}

#[tokio::test]
async fn plain_text_on_the_tls_port_gets_nothing_useful() {
    let pki = Pki::new();
    let (server, addr) = start(pki.config(TlsAuthClients::No)).await;
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept a non-TLS client open");
    assert!(
        !String::from_utf8_lossy(&got).contains("PONG"),
        "answered plain text: {got:?}"
    );
    // Both ports still serve.
    ping(addr, client_config(&pki.ca.cert_file, None, BOTH))
        .await
        .unwrap();
    let mut plain = server.client().await;
    let pong: String = redis::cmd("PING").query_async(&mut plain).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_closed() {
    let pki = Pki::new();
    let (server, addr) = start(pki.config(TlsAuthClients::No)).await;
    // Opens the connection and says nothing: the handshake never starts.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    // Others are served meanwhile.
    ping(addr, client_config(&pki.ca.cert_file, None, BOTH))
        .await
        .unwrap();
    let mut got = Vec::new();
    // The server gives up after its handshake timeout (10 s); the guard is
    // only there so that a regression fails instead of hanging.
    let read = tokio::time::timeout(
        sluice::server::tls::HANDSHAKE_TIMEOUT + Duration::from_secs(20),
        stalled.read_to_end(&mut got),
    )
    .await;
    assert!(read.is_ok(), "a stalled handshake kept its connection open");
    assert!(got.is_empty(), "{got:?}");
    drop(server);
}

#[tokio::test]
async fn config_set_reloads_certificates_and_keeps_the_old_on_failure() {
    let pki = Pki::new();
    let (server, addr) = start(pki.config(TlsAuthClients::No)).await;
    let trust = client_config(&pki.ca.cert_file, None, BOTH);
    let served_cert =
        |stream: &TlsStream<TcpStream>| stream.get_ref().1.peer_certificates().unwrap()[0].clone();
    let before = connect(addr, trust.clone()).await.unwrap();
    assert_eq!(served_cert(&before), pki.server.der);

    let renewed = pki.ca.leaf("server2");
    let mut plain = server.client().await;
    let ok: String = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(path(&renewed.cert_file))
        .arg("tls-key-file")
        .arg(path(&renewed.key_file))
        .query_async(&mut plain)
        .await
        .unwrap();
    assert_eq!(ok, "OK");
    let mut after = connect(addr, trust.clone()).await.unwrap();
    assert_eq!(served_cert(&after), renewed.der);
    assert_eq!(
        roundtrip(&mut after, b"*1\r\n$4\r\nPING\r\n")
            .await
            .unwrap(),
        b"+PONG\r\n"
    );

    // A missing file: CONFIG SET fails, nothing changes.
    let missing = pki.dir.path().join("missing.crt");
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(path(&missing))
        .query_async::<String>(&mut plain)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration"
        ),
        "{err}"
    );
    let current: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("tls-cert-file")
        .query_async(&mut plain)
        .await
        .unwrap();
    assert_eq!(
        current,
        vec!["tls-cert-file".to_string(), path(&renewed.cert_file)]
    );
    let still = connect(addr, trust.clone()).await.unwrap();
    assert_eq!(served_cert(&still), renewed.der);

    // A key that does not belong to the certificate is refused as well.
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-key-file")
        .arg(path(&pki.server.key_file))
        .query_async::<String>(&mut plain)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unable to update TLS"), "{err}");

    // The same path again picks up a file renewed in place.
    std::fs::copy(&pki.server.cert_file, &renewed.cert_file).unwrap();
    std::fs::copy(&pki.server.key_file, &renewed.key_file).unwrap();
    let _: String = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-cert-file")
        .arg(path(&renewed.cert_file))
        .query_async(&mut plain)
        .await
        .unwrap();
    let renewed_in_place = connect(addr, trust).await.unwrap();
    assert_eq!(served_cert(&renewed_in_place), pki.server.der);
    // Connections made before keep working.
    drop(before);
    assert_eq!(
        roundtrip(&mut after, b"*1\r\n$4\r\nPING\r\n")
            .await
            .unwrap(),
        b"+PONG\r\n"
    );
}

#[tokio::test]
async fn protocols_and_cipher_suites_are_honoured() {
    let pki = Pki::new();
    let mut config = pki.config(TlsAuthClients::No);
    config.set("tls-protocols", "TLSv1.2", false).unwrap();
    let (server, addr) = start(config).await;
    let tls12 = client_config(&pki.ca.cert_file, None, &[&rustls::version::TLS12]);
    let tls13 = client_config(&pki.ca.cert_file, None, &[&rustls::version::TLS13]);
    ping(addr, tls12.clone()).await.unwrap();
    assert!(
        ping(addr, tls13.clone()).await.is_err(),
        "TLS 1.3 while only TLSv1.2 is allowed"
    );

    let mut plain = server.client().await;
    // rcgen's keys are ECDSA, so the ECDSA suites are the ones to pick.
    for (cipher, expected) in [
        (
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ),
        (
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        ),
    ] {
        let _: String = redis::cmd("CONFIG")
            .arg("SET")
            .arg("tls-ciphers")
            .arg(cipher)
            .query_async(&mut plain)
            .await
            .unwrap();
        let stream = connect(addr, tls12.clone()).await.unwrap();
        let suite = stream
            .get_ref()
            .1
            .negotiated_cipher_suite()
            .unwrap()
            .suite();
        assert_eq!(suite, expected, "tls-ciphers {cipher}");
    }

    let _: String = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-protocols")
        .arg("TLSv1.3")
        .arg("tls-ciphersuites")
        .arg("TLS_CHACHA20_POLY1305_SHA256")
        .query_async(&mut plain)
        .await
        .unwrap();
    assert!(
        ping(addr, tls12).await.is_err(),
        "TLS 1.2 after TLSv1.3 only"
    );
    let stream = connect(addr, tls13).await.unwrap();
    let suite = stream
        .get_ref()
        .1
        .negotiated_cipher_suite()
        .unwrap()
        .suite();
    assert_eq!(suite, rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
}

#[tokio::test]
async fn the_redis_crate_connects_with_rediss() {
    let pki = Pki::new();
    let (_server, addr) = start(pki.config(TlsAuthClients::Yes)).await;
    let certs = redis::TlsCertificates {
        client_tls: Some(redis::ClientTlsConfig {
            client_cert: std::fs::read(&pki.client.cert_file).unwrap(),
            client_key: std::fs::read(&pki.client.key_file).unwrap(),
        }),
        root_cert: Some(std::fs::read(&pki.ca.cert_file).unwrap()),
    };
    let client = redis::Client::build_with_tls(format!("rediss://{addr}/"), certs).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("tls")
        .arg("yes")
        .query_async(&mut conn)
        .await
        .unwrap();
    let got: String = redis::cmd("GET")
        .arg("tls")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, "yes");
}

#[tokio::test]
async fn a_bad_certificate_file_stops_start_up() {
    let pki = Pki::new();
    let mut config = pki.config(TlsAuthClients::Yes);
    config.tls.cert_file = path(&pki.dir.path().join("nope.crt"));
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let started = TestServer::try_start_in(
        dir,
        &mut config,
        Clock::system(),
        Arc::new(sluice::storage::io::RealDisk),
    )
    .await;
    assert!(
        matches!(&started, Err(sluice::server::BindError::Tls(_))),
        "{:?}",
        started.as_ref().err()
    );

    // Client certificates required but no CA to check them against.
    let mut config = pki.config(TlsAuthClients::Yes);
    config.tls.ca_cert_file.clear();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let started = TestServer::try_start_in(
        dir,
        &mut config,
        Clock::system(),
        Arc::new(sluice::storage::io::RealDisk),
    )
    .await;
    assert!(matches!(&started, Err(sluice::server::BindError::Tls(_))));
}

#[tokio::test]
async fn tls_parameters_in_config_get() {
    let pki = Pki::new();
    let (server, _addr) = start(pki.config(TlsAuthClients::Optional)).await;
    let mut plain = server.client().await;
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("tls-auth-clients")
        .query_async(&mut plain)
        .await
        .unwrap();
    assert_eq!(got, vec!["tls-auth-clients", "optional"]);
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("tls-port")
        .arg("7000")
        .query_async::<String>(&mut plain)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("can't set immutable config"),
        "{err}"
    );
}
