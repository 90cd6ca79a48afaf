//! Disk failures through `FaultyDisk`: a failed write, a full disk, a
//! failed fsync. The client whose write was lost gets no acknowledgement,
//! later writes get MISCONF, reads keep working and INFO says
//! `aof_last_write_status:err`. After a failed write the keyspace is rolled
//! back to the log and writes resume by themselves once the disk takes
//! them; after a failed fsync the journal is failed until restart and that
//! fsync is never retried. A restart finds every acknowledged write.

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

/// Polls INFO until `aof_last_write_status` is `want` (the journal probes
/// the disk once a second), for at most 10 s.
async fn wait_write_status(srv: &TestServer, want: &str) {
    for _ in 0..200 {
        if persistence(srv).await["aof_last_write_status"] == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("aof_last_write_status never became {want}");
}

#[tokio::test]
async fn a_failed_write_is_rolled_back_and_writes_resume() {
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
    // The write that failed is not in memory either: no one reads a value
    // the log does not hold.
    assert_eq!(reader.request(b"GET a\r\n").await, "$1\r\n1\r\n");
    assert_eq!(reader.request(b"EXISTS b\r\n").await, ":0\r\n");
    assert_eq!(reader.request(b"DBSIZE\r\n").await, ":1\r\n");

    // The fault was a single one: the disk takes writes again, and within
    // about a second the journal says so and writes resume by themselves.
    wait_write_status(&srv, "ok").await;
    let p = persistence(&srv).await;
    assert_eq!(p["sluice_journal_write_failures"], "1");
    assert_eq!(p["sluice_journal_rollbacks"], "1");
    assert_eq!(p["sluice_journal_resumes"], "1");
    assert_eq!(p["sluice_journal_status"], "ok");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "c", "3"]).await.unwrap();
    drop(con);

    let srv = restart_on_real_disk(srv).await;
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "c"]);
    // Nothing of the failed write reached the file: no torn tail to cut.
    assert_eq!(
        persistence(&srv).await["sluice_recovery_truncated_bytes"],
        "0"
    );
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
async fn a_full_disk_keeps_every_acknowledged_write_and_recovers_by_itself() {
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
    // The 40 bytes of the failed write that fitted were cut off again: the
    // file ends at the last acknowledged record.
    let len = std::fs::metadata(segment(srv.dir.path())).unwrap().len();
    assert_eq!(len, good_len + 80, "each SET record is 80 bytes");
    let readable: Vec<(String, String)> = (0..acknowledged)
        .map(|i| (format!("k{i:03}"), "v".repeat(40)))
        .collect();
    let readable_refs: Vec<(&str, &str)> = readable
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // While the disk is full: writes refused, reads served, and memory
    // holds exactly what was acknowledged (not the refused k006).
    assert_failed_journal(&srv, &readable_refs).await;
    let p = persistence(&srv).await;
    assert!(p["sluice_journal_error"].contains("No space left"));
    assert_eq!(p["sluice_journal_status"], "write_failed_retrying");
    let mut con = srv.client().await;
    assert_eq!(
        cmd::<i64>(&mut con, &["DBSIZE"]).await.unwrap(),
        acknowledged as i64
    );

    // Space comes back: within about a second writes resume, no restart.
    faults.space_left.store(-1, Ordering::SeqCst);
    wait_write_status(&srv, "ok").await;
    let _: () = cmd(&mut con, &["SET", "after", "x"]).await.unwrap();
    drop(con);

    let srv = restart_on_real_disk(srv).await;
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    let mut expected: Vec<String> = readable.iter().map(|(k, _)| k.clone()).collect();
    expected.push("after".into());
    expected.sort();
    assert_eq!(keys, expected);
    for (k, v) in &readable {
        let got: String = cmd(&mut con, &["GET", k]).await.unwrap();
        assert_eq!(&got, v);
    }
    assert_eq!(
        persistence(&srv).await["sluice_recovery_truncated_bytes"],
        "0"
    );
}

/// The stream case of the full disk: an XADD refused for lack of space is
/// neither counted by XLEN nor left as an unreadable entry.
#[tokio::test]
async fn a_full_disk_leaves_no_unacknowledged_stream_entry() {
    let (srv, faults) = start_faulty(base_config()).await;
    let mut con = srv.client().await;
    for i in 0..10 {
        let _: String = cmd(&mut con, &["XADD", "s", "*", "n", &i.to_string()])
            .await
            .unwrap();
    }
    faults.space_left.store(0, Ordering::SeqCst);
    let mut raw = srv.raw().await;
    raw.send(b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\nn\r\n$2\r\n10\r\n")
        .await;
    if let Some(reply) = raw.read_reply().await {
        assert!(reply.starts_with(&format!("-{MISCONF}")), "{reply}");
    }
    assert_eq!(cmd::<i64>(&mut con, &["XLEN", "s"]).await.unwrap(), 10);
    let all: Vec<redis::Value> = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
    assert_eq!(all.len(), 10, "every counted entry reads back");
    faults.space_left.store(-1, Ordering::SeqCst);
    wait_write_status(&srv, "ok").await;
    let _: String = cmd(&mut con, &["XADD", "s", "*", "n", "after"])
        .await
        .unwrap();
    let all: Vec<redis::Value> = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
    assert_eq!(all.len(), 11);
}

/// An fsync that failed is never retried on that file (the kernel may have
/// dropped the pages it could not write and would report the next fsync
/// as a success): writes stay refused, the syncer stops fsyncing, and
/// shutdown reports the failure so the process exits non-zero.
#[tokio::test]
async fn a_failed_fsync_under_everysec_is_never_retried() {
    let (srv, faults) = start_faulty(Config {
        appendfsync: FsyncPolicy::EverySec,
        ..base_config()
    })
    .await;
    let mut con = srv.client().await;
    faults.fail_next_sync.store(true, Ordering::SeqCst);
    let _: () = cmd(&mut con, &["SET", "a", "1"]).await.unwrap();
    // The syncer's next round (within a second) meets the fault.
    for _ in 0..100 {
        if persistence(&srv).await["sluice_journal_status"] == "fsync_failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let p = persistence(&srv).await;
    assert_eq!(p["sluice_journal_status"], "fsync_failed");
    assert_eq!(p["aof_last_write_status"], "err");
    let syncs = faults.syncs.load(Ordering::SeqCst);
    // Long enough for two more everysec rounds and two disk probes.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        faults.syncs.load(Ordering::SeqCst),
        syncs,
        "an fsync was retried after it failed"
    );
    assert_failed_journal(&srv, &[("a", "1")]).await;
    assert_eq!(
        persistence(&srv).await["sluice_journal_status"],
        "fsync_failed"
    );
    drop(con);
    let result = srv.stop_with_result().await;
    assert!(
        result.is_err(),
        "shutdown after a failed fsync reported success"
    );
    assert_eq!(
        faults.syncs.load(Ordering::SeqCst),
        syncs,
        "shutdown retried the fsync"
    );
}

#[tokio::test]
async fn a_clean_shutdown_reports_success() {
    let (srv, _faults) = start_faulty(base_config()).await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "a", "1"]).await.unwrap();
    drop(con);
    assert_eq!(srv.stop_with_result().await, Ok(()));
}
