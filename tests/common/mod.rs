//! The one helper every integration test starts a server through: a real
//! Sluice server on 127.0.0.1, port 0, driven by the stock `redis` crate
//! (RESP2 or RESP3) or by raw bytes for protocol-level tests.

#![allow(dead_code)] // each test binary uses a different part of it

pub mod damage;
pub mod process;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use sluice::clock::Clock;
use sluice::config::{Config, DebugCommand};
use sluice::server::{Server, Shared};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running server for one test, on its own data directory; stopped when
/// dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its configuration (the data directory included).
    pub config: Config,
    /// The data directory, removed when the last server using it is gone.
    pub dir: Arc<tempfile::TempDir>,
    /// Its shared state (statistics, configuration).
    pub shared: Arc<Shared>,
    /// Its clock: manual for [`TestServer::with_manual_clock`].
    pub clock: Clock,
    /// The serving task, which ends with the final fsync's outcome.
    run: Option<tokio::task::JoinHandle<Result<(), sluice::storage::StorageError>>>,
}

impl TestServer {
    /// A server with the default configuration (DEBUG enabled) and the
    /// system clock.
    pub async fn start() -> TestServer {
        Self::start_with(test_config(), Clock::system()).await
    }

    /// A server whose clock only moves when the test moves it.
    pub async fn with_manual_clock() -> TestServer {
        let now = Clock::system().now_ms();
        Self::start_with(test_config(), Clock::manual(now)).await
    }

    /// A server with a given configuration (port and bind are forced to
    /// 127.0.0.1:0, and the data directory to a fresh temporary one) and
    /// clock.
    pub async fn start_with(config: Config, clock: Clock) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, config, clock).await
    }

    /// A server on an existing data directory.
    pub async fn start_in(
        dir: Arc<tempfile::TempDir>,
        mut config: Config,
        clock: Clock,
    ) -> TestServer {
        Self::try_start_in(
            dir,
            &mut config,
            clock,
            Arc::new(sluice::storage::io::RealDisk),
        )
        .await
        .expect("server starts")
    }

    /// A server on `dir` with the given disk access; the start-up error if
    /// recovery refuses the directory.
    pub async fn try_start_in(
        dir: Arc<tempfile::TempDir>,
        config: &mut Config,
        clock: Clock,
        disk: Arc<dyn sluice::storage::io::Disk>,
    ) -> Result<TestServer, sluice::server::BindError> {
        config.bind = vec!["127.0.0.1".into()];
        Self::launch(dir, config, clock, disk).await
    }

    /// A server listening on every IPv4 address of this machine
    /// (`0.0.0.0`, port 0), for tests of clients that connect from a
    /// non-loopback address; otherwise as [`TestServer::start_with`].
    pub async fn start_on_all_interfaces(mut config: Config) -> TestServer {
        config.bind = vec!["0.0.0.0".into()];
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::launch(
            dir,
            &mut config,
            Clock::system(),
            Arc::new(sluice::storage::io::RealDisk),
        )
        .await
        .expect("server starts")
    }

    /// Starts a server on `config.bind`, port 0, in `dir`.
    async fn launch(
        dir: Arc<tempfile::TempDir>,
        config: &mut Config,
        clock: Clock,
        disk: Arc<dyn sluice::storage::io::Disk>,
    ) -> Result<TestServer, sluice::server::BindError> {
        config.port = 0;
        config.dir = dir.path().to_path_buf();
        let server = Server::bind_with_disk(config.clone(), clock.clone(), disk).await?;
        let addr = server.local_addr();
        let shared = server.shared();
        let run = Some(tokio::spawn(server.run()));
        Ok(TestServer {
            run,
            addr,
            config: config.clone(),
            dir,
            shared,
            clock,
        })
    }

    /// Stops this server gracefully (as SHUTDOWN or SIGTERM would) and
    /// starts a new one on the same data directory and clock.
    pub async fn restart(self) -> TestServer {
        let (dir, config, clock) = (self.dir.clone(), self.config.clone(), self.clock.clone());
        self.stop().await;
        Self::start_in(dir, config, clock).await
    }

    /// Stops the server and returns what its serving task ended with: an
    /// error when the final fsync could not make acknowledged writes
    /// durable (the binary then exits non-zero).
    pub async fn stop_with_result(mut self) -> Result<(), sluice::storage::StorageError> {
        self.shared.request_shutdown();
        let run = self.run.take().expect("running");
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("server did not stop within 5 s")
            .expect("the serving task panicked")
    }

    /// Stops the server and waits until its journal is closed.
    pub async fn stop(self) {
        self.shared.request_shutdown();
        for _ in 0..500 {
            if self.shared.storage.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server did not stop within 5 s");
    }

    /// The redis crate URL for this server.
    pub fn url(&self, resp3: bool) -> String {
        let proto = if resp3 { "?protocol=resp3" } else { "" };
        format!("redis://{}/{proto}", self.addr)
    }

    /// A stock `redis` crate connection, RESP2 or RESP3.
    pub async fn connect(&self, resp3: bool) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url(resp3))
            .expect("valid url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// A RESP2 connection authenticated as an ACL user.
    pub async fn connect_as(
        &self,
        user: &str,
        password: &str,
    ) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!("redis://{user}:{password}@{}/", self.addr))
            .expect("valid url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect")
    }

    /// A RESP2 connection.
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        self.connect(false).await
    }

    /// A raw TCP connection for byte-level tests.
    pub async fn raw(&self) -> RawClient {
        RawClient {
            stream: TcpStream::connect(self.addr).await.expect("connect"),
            buf: BytesMut::new(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.request_shutdown();
    }
}

/// The configuration tests start from.
pub fn test_config() -> Config {
    Config {
        enable_debug_command: DebugCommand::Yes,
        ..Config::default()
    }
}

/// Runs a command through a stock client and returns the value.
pub async fn cmd<T: redis::FromRedisValue>(
    con: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> redis::RedisResult<T> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await
}

/// The text of a server error, from a failed query.
pub fn err_text(e: &redis::RedisError) -> String {
    // The redis crate splits the code from the detail; join them back into
    // what the server sent.
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A raw connection: send bytes, read whole RESP replies back as text.
pub struct RawClient {
    stream: TcpStream,
    buf: BytesMut,
}

impl RawClient {
    /// Wraps a connection the test made itself (from a chosen address).
    pub fn from_stream(stream: TcpStream) -> RawClient {
        RawClient {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Sends bytes as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one complete RESP2/RESP3 reply and returns its bytes as text
    /// (lossy), or `None` if the server closed the connection first.
    pub async fn read_reply(&mut self) -> Option<String> {
        loop {
            if let Some(len) = complete_frame_len(&self.buf) {
                let frame = self.buf.split_to(len);
                return Some(String::from_utf8_lossy(&frame).into_owned());
            }
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("reply within 10 s")
                    .expect("read");
            if read == 0 {
                return None;
            }
        }
    }

    /// Sends a request and reads one reply.
    pub async fn request(&mut self, bytes: &[u8]) -> String {
        self.send(bytes).await;
        self.read_reply().await.expect("a reply before close")
    }

    /// Whether the server closes the connection (reads EOF) within 10 s,
    /// discarding anything else it sends.
    pub async fn closed(&mut self) -> bool {
        let mut scratch = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut scratch))
                .await
            {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// The length of the first complete RESP2/RESP3 frame in `buf`, using the
/// redis-protocol crate as an independent decoder. RESP2's null bulk and
/// null array (`$-1`, `*-1`) are not RESP3, so a frame the RESP3 decoder
/// refuses is tried as RESP2.
fn complete_frame_len(buf: &[u8]) -> Option<usize> {
    match redis_protocol::resp3::decode::complete::decode(buf) {
        Ok(Some((_, len))) => Some(len),
        Ok(None) => None,
        Err(e3) => match redis_protocol::resp2::decode::decode(buf) {
            Ok(Some((_, len))) => Some(len),
            Ok(None) => None,
            Err(e2) => panic!(
                "server sent invalid RESP: {e3:?} / {e2:?}: {:?}",
                String::from_utf8_lossy(buf)
            ),
        },
    }
}
