//! Disk failures through `FaultyDisk`: a failed write, a failed fsync under
//! `appendfsync always`, a full disk. After any of them the journal is
//! failed for good: the client whose write was lost gets no
//! acknowledgement, later writes get MISCONF, reads keep working, INFO
//! says `aof_last_write_status:err`; and a restart on a working disk
//! finds every acknowledged write, with the torn tail repaired.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::{cmd, err_text, test_config, RawClient, TestServer};
use sluice::clock::Clock;
use sluice::config::{Config, FsyncPolicy};
use sluice::storage::io::{Faults, FaultyDisk};

const T0: i64 = 1_704_067_200_000;
const MISCONF: &str = "MISCONF Errors writing to the journal: ";

fn set_request(key: &str, value: &str) -> Vec<u8> {
    format!(
        "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
        key.len(),
        value.len()
    )
    .into_bytes()
}

/// Sends SET and returns the reply, or `None` if the server closed the
/// connection without one.
async fn raw_set(raw: &mut RawClient, key: &str, value: &str) -> Option<String> {
    raw.send(&set_request(key, value)).await;
    raw.read_reply().await
}

async fn start_faulty(config: Config) -> (TestServer, Arc<Faults>) {
    let (disk, faults) = FaultyDisk::new();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut config = config;
    let srv =
        match TestServer::try_start_in(dir, &mut config, Clock::manual(T0), Arc::new(disk)).await {
            Ok(srv) => srv,
            Err(e) => panic!("{e}"),
        };
    (srv, faults)
}

fn base_config() -> Config {
    Config {
        auto_aof_rewrite_percentage: 0,
        ..test_config()
    }
}

fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

async fn persistence(srv: &TestServer) -> HashMap<String, String> {
    let mut con = srv.client().await;
    let text: String = cmd(&mut con, &["INFO", "persistence"]).await.unwrap();
    info_fields(&text)
}

/// What every failure leaves behind: writes refused with MISCONF (in both
/// protocols, inside MULTI too), reads served, INFO reporting the error.
async fn assert_failed_journal(srv: &TestServer, readable: &[(&str, &str)]) {
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        for args in [&["SET", "refused", "x"][..], &["DEL", "a"], &["FLUSHALL"]] {
            let e = cmd::<redis::Value>(&mut con, args).await.unwrap_err();
            assert!(
                err_text(&e).starts_with(MISCONF),
                "{args:?}: {}",
                err_text(&e)
            );
        }
        for (key, value) in readable {
            let got: Option<String> = cmd(&mut con, &["GET", key]).await.unwrap();
            assert_eq!(got.as_deref(), Some(*value), "GET {key}");
        }
        assert_eq!(
            cmd::<i64>(&mut con, &["EXISTS", "refused"]).await.unwrap(),
            0
        );
    }
    let p = persistence(srv).await;
    assert_eq!(p["aof_last_write_status"], "err");
    assert!(!p["sluice_journal_error"].is_empty());
    // A raw client sees the same error, and its connection stays open.
    let mut raw = srv.raw().await;
    let reply = raw_set(&mut raw, "refused", "y").await.expect("a reply");
    assert!(reply.starts_with(&format!("-{MISCONF}")), "{reply}");
    assert_eq!(raw.request(b"PING\r\n").await, "+PONG\r\n");
}

/// Restarts on the real disk (same directory and clock).
async fn restart_on_real_disk(srv: TestServer) -> TestServer {
    let (dir, config, clock) = (srv.dir.clone(), srv.config.clone(), srv.clock.clone());
    srv.stop().await;
    TestServer::start_in(dir, config, clock).await
}

fn segment(dir: &Path) -> std::path::PathBuf {
    dir.join("journal").join(format!("{:016}.seg", 1))
}

#[tokio::test]
async fn a_failed_write_fails_the_journal_for_good() {
    let (srv, faults) = start_faulty(base_config()).await;
    let mut raw = srv.raw().await;
    assert_eq!(raw_set(&mut raw, "a", "1").await.unwrap(), "+OK\r\n");
    // A reader connected before the failure keeps its connection.
    let mut reader = srv.raw().await;
    assert_eq!(reader.request(b"PING\r\n").await, "+PONG\r\n");

    faults.fail_next_write.store(true, Ordering::SeqCst);
    match raw_set(&mut raw, "b", "2").await {
        None => {}
        Some(reply) => assert!(reply.starts_with(&format!("-{MISCONF}")), "{reply}"),
    }
    assert!(
        !faults.fail_next_write.load(Ordering::SeqCst),
        "the fault fired"
    );
    assert_eq!(
        reader.request(b"GET a\r\n").await,
        "$1\r\n1\r\n",
        "readers are unaffected"
    );
    assert_failed_journal(&srv, &[("a", "1")]).await;

    let srv = restart_on_real_disk(srv).await;
    let mut con = srv.client().await;
    assert_eq!(
        cmd::<Option<String>>(&mut con, &["GET", "a"])
            .await
            .unwrap(),
        Some("1".into())
    );
    assert_eq!(
        cmd::<i64>(&mut con, &["EXISTS", "refused"]).await.unwrap(),
        0
    );
    // The failed write reached nothing: b was never acknowledged and is
    // not on disk.
    assert_eq!(cmd::<i64>(&mut con, &["EXISTS", "b"]).await.unwrap(), 0);
    let p = persistence(&srv).await;
    assert_eq!(p["aof_last_write_status"], "ok");
    let _: () = cmd(&mut con, &["SET", "c", "3"]).await.unwrap();
}

#[tokio::test]
async fn a_failed_fsync_under_always_fails_the_journal_for_good() {
    let (srv, faults) = start_faulty(Config {
        appendfsync: FsyncPolicy::Always,
        ..base_config()
    })
    .await;
    let mut raw = srv.raw().await;
    assert_eq!(raw_set(&mut raw, "a", "1").await.unwrap(), "+OK\r\n");
    let fsyncs: u64 = persistence(&srv).await["sluice_fsyncs"].parse().unwrap();
    assert!(fsyncs >= 1, "always fsyncs before replying");

    faults.fail_next_sync.store(true, Ordering::SeqCst);
    // Under `always` the reply waits for the fsync, which fails: the
    // client must not get an OK.
    match raw_set(&mut raw, "b", "2").await {
        None => {}
        Some(reply) => assert!(reply.starts_with(&format!("-{MISCONF}")), "{reply}"),
    }
    assert!(
        !faults.fail_next_sync.load(Ordering::SeqCst),
        "the fault fired"
    );
    assert_failed_journal(&srv, &[("a", "1")]).await;
    assert!(persistence(&srv).await["sluice_journal_error"].contains("fsync"));

    let srv = restart_on_real_disk(srv).await;
    let mut con = srv.client().await;
    assert_eq!(
        cmd::<Option<String>>(&mut con, &["GET", "a"])
            .await
            .unwrap(),
        Some("1".into())
    );
    assert_eq!(
        cmd::<i64>(&mut con, &["EXISTS", "refused"]).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_full_disk_keeps_every_acknowledged_write() {
    let (srv, faults) = start_faulty(base_config()).await;
    let mut raw = srv.raw().await;
    for i in 0..5 {
        assert_eq!(
            raw_set(&mut raw, &format!("k{i:03}"), &"v".repeat(40))
                .await
                .unwrap(),
            "+OK\r\n"
        );
    }
    let good_len = std::fs::metadata(segment(srv.dir.path())).unwrap().len();
    // Room for a record and a half more.
    faults.space_left.store(120, Ordering::SeqCst);
    let mut acknowledged = 5;
    let mut refused = false;
    for i in 5..20 {
        match raw_set(&mut raw, &format!("k{i:03}"), &"v".repeat(40)).await {
            Some(reply) if reply == "+OK\r\n" => acknowledged += 1,
            Some(reply) => {
                assert!(reply.starts_with(&format!("-{MISCONF}")), "{reply}");
                refused = true;
                break;
            }
            None => {
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "a full disk must stop acknowledgements");
    assert_eq!(acknowledged, 6, "one more record fitted");
    assert_eq!(faults.space_left.load(Ordering::SeqCst), 0);
    let torn_len = std::fs::metadata(segment(srv.dir.path())).unwrap().len();
    assert_eq!(torn_len, good_len + 120, "the disk took what fitted");
    let readable: Vec<(String, String)> = (0..acknowledged)
        .map(|i| (format!("k{i:03}"), "v".repeat(40)))
        .collect();
    let readable_refs: Vec<(&str, &str)> = readable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_failed_journal(&srv, &readable_refs).await;
    assert!(persistence(&srv).await["sluice_journal_error"].contains("No space left"));

    // On a working disk: every acknowledged write is there, the torn
    // record is cut off and reported.
    let srv = restart_on_real_disk(srv).await;
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    let expected: Vec<String> = readable.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, expected);
    for (k, v) in &readable {
        let got: String = cmd(&mut con, &["GET", k]).await.unwrap();
        assert_eq!(&got, v);
    }
    let p = persistence(&srv).await;
    // Each SET record is 80 bytes: one fitted, 40 bytes of the next did.
    assert_eq!(p["sluice_recovery_truncated_bytes"], "40");
    let repaired = std::fs::metadata(segment(srv.dir.path())).unwrap().len();
    assert_eq!(repaired, good_len + 80);
    // The log goes on from the repaired end.
    let _: () = cmd(&mut con, &["SET", "after", "x"]).await.unwrap();
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(
        cmd::<i64>(&mut con, &["DBSIZE"]).await.unwrap(),
        acknowledged as i64 + 1
    );
    assert_eq!(
        persistence(&srv).await["sluice_recovery_truncated_bytes"],
        "0"
    );
}
