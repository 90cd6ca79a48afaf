//! Memory comes back after large requests and replies (issue #12, item 7):
//! once a large value is deleted, or a large reply has been read and its
//! connection sits idle, the server's held memory goes back near where it
//! was.
//!
//! The server runs in this process, so INFO's figures include the test's
//! own allocations. The large values therefore never exist in the test:
//! they are streamed to the socket from one small chunk and read back
//! through one, so whatever INFO counts above the baseline is the
//! server's.

mod common;

use std::time::Duration;

use common::{cmd, test_config, TestServer};
use sluice::clock::Clock;
use sluice::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// INFO figures are process-wide: tests in this file take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const MB: u64 = 1024 * 1024;
/// The byte every large value is made of.
const FILL: u8 = b'v';
/// Bytes per socket write or read of a large value.
const CHUNK: usize = 64 * 1024;

/// A server without automatic checkpoints: a checkpoint holds copies of
/// what it writes while it runs, which would move the baselines.
async fn start() -> TestServer {
    let config = Config {
        auto_aof_rewrite_percentage: 0,
        ..test_config()
    };
    TestServer::start_with(config, Clock::system()).await
}

/// INFO memory's `used_memory` and `used_memory_rss`.
async fn memory(con: &mut redis::aio::MultiplexedConnection) -> (u64, u64) {
    let text: String = cmd(con, &["INFO", "memory"]).await.unwrap();
    let get = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("INFO memory lacks {key}:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    (get("used_memory"), get("used_memory_rss"))
}

/// Polls INFO memory for up to 5 s until `done(used, rss)` holds; returns
/// the last figures.
async fn wait_for_memory(
    con: &mut redis::aio::MultiplexedConnection,
    done: impl Fn(u64, u64) -> bool,
) -> (u64, u64) {
    let mut last = memory(con).await;
    for _ in 0..100 {
        if done(last.0, last.1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = memory(con).await;
    }
    last
}

/// SET `key` to `len` bytes of [`FILL`], written chunk by chunk.
async fn set_streamed(stream: &mut TcpStream, key: &str, len: u64) {
    let header = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${len}\r\n", key.len());
    stream.write_all(header.as_bytes()).await.unwrap();
    let chunk = vec![FILL; CHUNK];
    let mut left = len as usize;
    while left > 0 {
        let n = left.min(CHUNK);
        stream.write_all(&chunk[..n]).await.unwrap();
        left -= n;
    }
    stream.write_all(b"\r\n").await.unwrap();
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"+OK\r\n");
}

/// GET `key` and read its `len`-byte reply through one small buffer,
/// checking every byte.
async fn get_streamed(stream: &mut TcpStream, key: &str, len: u64) {
    let request = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let header = format!("${len}\r\n");
    let mut got = vec![0u8; header.len()];
    stream.read_exact(&mut got).await.unwrap();
    assert_eq!(got, header.as_bytes());
    let mut buf = vec![0u8; CHUNK];
    let mut left = len as usize + 2;
    while left > 0 {
        let n = stream.read(&mut buf[..left.min(CHUNK)]).await.unwrap();
        assert!(n > 0, "server closed the connection mid-reply");
        let value_part = &buf[..n.min(left.saturating_sub(2))];
        assert!(value_part.iter().all(|&b| b == FILL), "value corrupted");
        left -= n;
    }
}

#[tokio::test]
async fn deleting_a_large_value_returns_its_memory() {
    const VALUE: u64 = 128 * MB;
    let _turn = SERIAL.lock().await;
    let server = start().await;
    let mut con = server.client().await;
    let _ = memory(&mut con).await;
    let (base_used, base_rss) = memory(&mut con).await;

    let mut writer = TcpStream::connect(server.addr).await.unwrap();
    set_streamed(&mut writer, "big", VALUE).await;
    let (held_used, _) = memory(&mut con).await;
    // The figure sees the value: without this the test below proves nothing.
    assert!(
        held_used > base_used + VALUE / 2,
        "used_memory {held_used} with a {VALUE}-byte value stored (baseline {base_used})"
    );

    assert_eq!(cmd::<i64>(&mut con, &["DEL", "big"]).await.unwrap(), 1);
    assert_eq!(cmd::<i64>(&mut con, &["DBSIZE"]).await.unwrap(), 0);
    let near = |base: u64, now: u64| now <= base + VALUE / 4;
    let settled = |used, rss| near(base_used, used) && near(base_rss, rss);
    // First with the writer still connected (its read buffer, grown for
    // the value, is idle), then without it.
    let connected = wait_for_memory(&mut con, settled).await;
    drop(writer);
    let closed = wait_for_memory(&mut con, settled).await;
    eprintln!(
        "SET {} MB, DEL: used_memory {} -> {} -> {} (writer idle) -> {} MB (writer gone), \
         rss {} -> {} -> {} MB",
        VALUE / MB,
        base_used / MB,
        held_used / MB,
        connected.0 / MB,
        closed.0 / MB,
        base_rss / MB,
        connected.1 / MB,
        closed.1 / MB
    );
    for (when, (used, rss)) in [("idle", connected), ("closed", closed)] {
        assert!(
            near(base_used, used),
            "used_memory {} MB after DEL with the writer {when}, baseline {} MB",
            used / MB,
            base_used / MB
        );
        assert!(
            near(base_rss, rss),
            "used_memory_rss {} MB after DEL with the writer {when}, baseline {} MB",
            rss / MB,
            base_rss / MB
        );
    }
}

#[tokio::test]
async fn idle_connections_give_back_their_reply_buffers() {
    idle_readers_give_back(64 * MB).await;
}

/// Below glibc's largest mmap threshold (32 MB) buffers come from its
/// arenas, which keep freed chunks resident unless trimmed.
#[tokio::test]
async fn medium_replies_give_back_resident_memory_too() {
    idle_readers_give_back(24 * MB).await;
}

/// Three connections each GET a `value`-byte string and then sit idle,
/// still connected: the server's memory goes back to what it held before.
async fn idle_readers_give_back(value: u64) {
    const READERS: usize = 3;
    let _turn = SERIAL.lock().await;
    let server = start().await;
    let mut con = server.client().await;
    let mut writer = TcpStream::connect(server.addr).await.unwrap();
    set_streamed(&mut writer, "big", value).await;
    drop(writer);
    let mut readers = Vec::new();
    for _ in 0..READERS {
        readers.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Each reader's connection is up (and its buffers allocated) before
    // the baseline, which holds the value once.
    let _ = memory(&mut con).await;
    let (base_used, base_rss) = memory(&mut con).await;

    for reader in &mut readers {
        get_streamed(reader, "big", value).await;
    }

    // The readers stay connected and idle.
    let near = |base: u64, now: u64| now <= base + value / 4;
    let (used, rss) = wait_for_memory(&mut con, |used, rss| {
        near(base_used, used) && near(base_rss, rss)
    })
    .await;
    let clients: String = cmd(&mut con, &["INFO", "clients"]).await.unwrap();
    let connected: usize = clients
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(connected > READERS, "{clients}");
    eprintln!(
        "{READERS} idle readers of {} MB: used_memory {} -> {} MB, rss {} -> {} MB",
        value / MB,
        base_used / MB,
        used / MB,
        base_rss / MB,
        rss / MB
    );
    assert!(
        near(base_used, used),
        "used_memory {} MB with {READERS} idle readers, baseline {} MB",
        used / MB,
        base_used / MB
    );
    assert!(
        near(base_rss, rss),
        "used_memory_rss {} MB with {READERS} idle readers, baseline {} MB",
        rss / MB,
        base_rss / MB
    );
    // Leave nothing large behind for the next test's baseline.
    drop(readers);
    assert_eq!(cmd::<i64>(&mut con, &["DEL", "big"]).await.unwrap(), 1);
}
