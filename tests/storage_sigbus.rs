//! A segment file cut short by another process while the server runs.
//!
//! Stream entries are read through maps of the segment files; touching a
//! mapped page past the new end of the file raises SIGBUS, which used to
//! kill the server. Each scenario writes entries over several small
//! segments, reads them all once (so every segment is mapped), truncates a
//! segment from the test (as another process would), and checks that the
//! command touching it gets an error naming the file, that everything
//! else keeps working, and that the process is still alive.

mod common;

use std::path::{Path, PathBuf};

use common::{cmd, err_text, test_config, TestServer};
use redis::aio::MultiplexedConnection;
use sluice::clock::Clock;
use sluice::config::Config;

/// At least this many entries; more until the last segment spans
/// several pages (a cut inside the first page leaves zeros, not SIGBUS).
const ENTRIES: usize = 500;
const SEGMENT: u64 = 16384;

/// An entry as XRANGE returns it: ID, then field, value, field, value.
type Entry = (String, Vec<String>);

fn config() -> Config {
    Config {
        // Several segments of a few dozen entries each, and no automatic
        // checkpoint to compact or delete them behind the test's back.
        journal_segment_size: SEGMENT,
        auto_aof_rewrite_percentage: 0,
        ..test_config()
    }
}

/// The 100-byte value of entry `i`, unique so its segment can be found.
fn value(i: usize) -> String {
    format!("value-{i:06}-{}", "v".repeat(87))
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    out.sort();
    out
}

/// The indexes of the entries (of `1..=n`) whose payload is in `segment`.
fn entries_in(segment: &Path, n: usize) -> Vec<usize> {
    let bytes = std::fs::read(segment).unwrap();
    (1..=n)
        .filter(|&i| {
            let v = value(i);
            bytes.windows(v.len()).any(|w| w == v.as_bytes())
        })
        .collect()
}

/// A running server with `s` holding entries `1-1` … `n-1`, every
/// segment mapped by one full read; returns `n`.
async fn server_with_stream() -> (TestServer, MultiplexedConnection, usize) {
    let srv = TestServer::start_with(config(), Clock::system()).await;
    let mut con = srv.client().await;
    let mut n = 0;
    while n < ENTRIES || last_len(srv.dir.path()) < 2 * 4096 + 100 {
        n += 1;
        let i = n;
        let id: String = cmd(&mut con, &["XADD", "s", &format!("{i}-1"), "f", &value(i)])
            .await
            .unwrap();
        assert_eq!(id, format!("{i}-1"));
    }
    let _: () = cmd(&mut con, &["SET", "other", "still here"])
        .await
        .unwrap();
    let all: Vec<Entry> = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
    assert_eq!(all.len(), n);
    assert!(segments(srv.dir.path()).len() > 4, "too few segments");
    (srv, con, n)
}

fn last_len(dir: &Path) -> u64 {
    std::fs::metadata(segments(dir).last().unwrap())
        .unwrap()
        .len()
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

async fn xrange(con: &mut MultiplexedConnection, from: usize, to: usize) -> Vec<Entry> {
    cmd(
        con,
        &["XRANGE", "s", &format!("{from}-1"), &format!("{to}-1")],
    )
    .await
    .unwrap_or_else(|e| panic!("XRANGE {from} {to}: {}", err_text(&e)))
}

fn assert_entries(got: &[Entry], from: usize, to: usize) {
    assert_eq!(got.len(), to - from + 1);
    for (e, i) in got.iter().zip(from..=to) {
        assert_eq!(e.0, format!("{i}-1"));
        assert_eq!(e.1, vec!["f".to_string(), value(i)]);
    }
}

/// The server still answers, on this connection and a new one, for keys
/// other than the damaged stream.
async fn assert_serving(srv: &TestServer, con: &mut MultiplexedConnection) {
    let pong: String = cmd(con, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
    let other: String = cmd(con, &["GET", "other"]).await.unwrap();
    assert_eq!(other, "still here");
    let mut fresh = srv.client().await;
    let pong: String = cmd(&mut fresh, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn reading_a_sealed_segment_cut_short_is_an_error_not_a_crash() {
    let (srv, mut con, n) = server_with_stream().await;
    let _: () = cmd(&mut con, &["XGROUP", "CREATE", "s", "g", "0"])
        .await
        .unwrap();
    let segs = segments(srv.dir.path());
    let victim = &segs[segs.len() / 2];
    let damaged = entries_in(victim, n);
    assert!(damaged.len() > 5, "{victim:?} holds {damaged:?}");
    let (first, last) = (damaged[0], *damaged.last().unwrap());
    truncate(victim, 40);

    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    let faults = sluice::storage::mapguard::faults_recovered();
    for _ in 0..2 {
        // Twice: the first read meets the vanished pages, the second a
        // fresh map of the short file.
        let e = cmd::<Vec<Entry>>(&mut con, &["XRANGE", "s", "-", "+"])
            .await
            .expect_err("XRANGE over a truncated segment succeeded");
        let text = err_text(&e);
        assert!(text.starts_with("ERR stream entry unreadable"), "{text}");
        assert!(text.contains(&name), "{text}");
        assert!(text.contains("shorter"), "{text}");
    }
    assert_serving(&srv, &mut con).await;

    // Entries in segments before and after the damaged one still read.
    assert_entries(&xrange(&mut con, 1, first - 1).await, 1, first - 1);
    assert_entries(&xrange(&mut con, last + 1, n).await, last + 1, n);
    // Each damaged entry is an error on its own.
    for i in [first, (first + last) / 2, last] {
        let e = cmd::<Vec<Entry>>(
            &mut con,
            &["XRANGE", "s", &format!("{i}-1"), &format!("{i}-1")],
        )
        .await
        .expect_err("a damaged entry read back");
        assert!(err_text(&e).contains(&name), "{}", err_text(&e));
    }
    // The later pages of the segment were mapped when it was cut: reading
    // them went through the SIGBUS handler (the server runs in this process).
    assert!(sluice::storage::mapguard::faults_recovered() > faults);

    // A group read that runs into the damage fails the same way.
    let e = cmd::<redis::Value>(
        &mut con,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
    )
    .await
    .expect_err("XREADGROUP over a truncated segment succeeded");
    assert!(err_text(&e).contains(&name), "{}", err_text(&e));
    // … and delivers nothing: no entry went pending.
    let pending: (i64, Option<String>, Option<String>, redis::Value) =
        cmd(&mut con, &["XPENDING", "s", "g"]).await.unwrap();
    assert_eq!(pending.0, 0);
    assert_serving(&srv, &mut con).await;
    // New entries still go in and read back.
    let id: String = cmd(&mut con, &["XADD", "s", "1000-1", "f", "new"])
        .await
        .unwrap();
    assert_eq!(id, "1000-1");
    let got: Vec<Entry> = cmd(&mut con, &["XRANGE", "s", "1000", "+"]).await.unwrap();
    assert_eq!(got, vec![("1000-1".into(), vec!["f".into(), "new".into()])]);
}

#[tokio::test]
async fn the_segment_being_appended_to_cut_short_refuses_writes_not_the_server() {
    let (srv, mut con, n) = server_with_stream().await;
    let segs = segments(srv.dir.path());
    let current = segs.last().unwrap();
    let damaged = entries_in(current, n);
    assert!(!damaged.is_empty(), "the last segment holds no entry");
    let first = damaged[0];
    truncate(current, 40);

    let name = current.file_name().unwrap().to_string_lossy().into_owned();
    let e = cmd::<Vec<Entry>>(&mut con, &["XRANGE", "s", &format!("{first}-1"), "+"])
        .await
        .expect_err("XRANGE over the truncated current segment succeeded");
    let text = err_text(&e);
    assert!(text.starts_with("ERR stream entry unreadable"), "{text}");
    assert!(text.contains(&name), "{text}");
    // The log no longer holds what the server acknowledged: later records
    // would land at offsets nothing points at, so writes are refused.
    let e = cmd::<String>(&mut con, &["XADD", "s", "*", "f", "v"])
        .await
        .expect_err("a write went into the truncated segment");
    assert!(err_text(&e).starts_with("MISCONF"), "{}", err_text(&e));
    assert!(err_text(&e).contains(&name), "{}", err_text(&e));
    let e = cmd::<()>(&mut con, &["SET", "k", "v"]).await.unwrap_err();
    assert!(err_text(&e).starts_with("MISCONF"), "{}", err_text(&e));
    // Reads go on, the undamaged entries included.
    assert_serving(&srv, &mut con).await;
    assert_entries(&xrange(&mut con, 1, first - 1).await, 1, first - 1);
}
