//! Durability across restarts: whatever the string and key commands leave
//! behind comes back exactly (values, TTLs to the millisecond, encodings,
//! every database), through segment rolls, checkpoints (SAVE, BGSAVE,
//! BGREWRITEAOF, the automatic trigger), DEBUG RELOAD and DEBUG LOADAOF;
//! and checkpoints keep the log bounded.
//!
//! Time is a manual clock shared by the server before and after the
//! restart, so TTLs can be compared exactly.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use common::{cmd, test_config, TestServer};
use redis::aio::MultiplexedConnection;
use sluice::clock::Clock;
use sluice::config::Config;
use sluice::keyspace::Value;

/// A fixed start time (2024-01-01T00:00:00Z), so TTL arithmetic is exact.
const T0: i64 = 1_704_067_200_000;

/// One key's full state: value, absolute expiry, raw encoding flag.
type KeyState = (Vec<u8>, Option<i64>, bool);

/// Every live key of every database, read straight from the keyspace.
fn dump(srv: &TestServer) -> BTreeMap<(usize, Vec<u8>), KeyState> {
    let now = srv.clock.now_ms();
    let ks = srv.shared.keyspace.lock().unwrap();
    let mut out = BTreeMap::new();
    for (i, db) in ks.dbs().iter().enumerate() {
        for (key, entry) in db.iter() {
            if entry.expire_at().is_some_and(|at| now > at) {
                continue;
            }
            let Value::Str(v) = &entry.value else {
                panic!("this workload writes strings only");
            };
            out.insert(
                (i, key.to_vec()),
                (v.to_vec(), entry.expire_at(), entry.raw_encoding),
            );
        }
    }
    out
}

/// The same state as clients see it: for every database, KEYS * and each
/// key's GET, PTTL and OBJECT ENCODING.
async fn client_dump(
    con: &mut MultiplexedConnection,
    databases: usize,
) -> BTreeMap<(usize, String), (String, i64, String)> {
    let mut out = BTreeMap::new();
    for db in 0..databases {
        let _: () = cmd(con, &["SELECT", &db.to_string()]).await.unwrap();
        let keys: Vec<String> = cmd(con, &["KEYS", "*"]).await.unwrap();
        for key in keys {
            let value: String = cmd(con, &["GET", &key]).await.unwrap();
            let pttl: i64 = cmd(con, &["PTTL", &key]).await.unwrap();
            let enc: String = cmd(con, &["OBJECT", "ENCODING", &key]).await.unwrap();
            out.insert((db, key), (value, pttl, enc));
        }
    }
    let _: () = cmd(con, &["SELECT", "0"]).await.unwrap();
    out
}

fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

async fn persistence(con: &mut MultiplexedConnection) -> HashMap<String, String> {
    let text: String = cmd(con, &["INFO", "persistence"]).await.unwrap();
    info_fields(&text)
}

async fn num(con: &mut MultiplexedConnection, field: &str) -> i64 {
    persistence(con).await[field].parse().unwrap()
}

/// Waits (bounded) until `rdb_saves` reaches `count` and no checkpoint runs.
async fn wait_for_checkpoints(con: &mut MultiplexedConnection, count: i64) {
    for _ in 0..1000 {
        let p = persistence(con).await;
        if p["rdb_saves"].parse::<i64>().unwrap() >= count && p["aof_rewrite_in_progress"] == "0" {
            assert_eq!(p["aof_last_bgrewrite_status"], "ok");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("checkpoint {count} did not finish within 20 s");
}

/// Total size of the files in the journal directory (a file a running
/// checkpoint deletes meanwhile counts as empty).
fn journal_dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn config() -> Config {
    Config {
        // The automatic trigger stays out of the way unless a test wants it.
        auto_aof_rewrite_percentage: 0,
        ..test_config()
    }
}

async fn manual_server(config: Config) -> TestServer {
    TestServer::start_with(config, Clock::manual(T0)).await
}

async fn ok(con: &mut MultiplexedConnection, args: &[&str]) {
    let v: redis::Value = cmd(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        !matches!(v, redis::Value::ServerError(_)),
        "{args:?} failed: {v:?}"
    );
}

/// A workload over the string and key commands touching several databases.
async fn string_and_key_workload(con: &mut MultiplexedConnection) {
    let script: &[&[&str]] = &[
        // Every SET expiry form, and the others that set a TTL.
        &["SET", "plain", "v"],
        &["SET", "ex", "v", "EX", "100"],
        &["SET", "px", "v", "PX", "12345"],
        &["SET", "exat", "v", "EXAT", &((T0 / 1000) + 500).to_string()],
        &["SET", "pxat", "v", "PXAT", &(T0 + 77_777).to_string()],
        &["SET", "keepttl", "old", "PX", "5000"],
        &["SET", "keepttl", "new", "KEEPTTL"],
        &["SET", "dropttl", "old", "PX", "5000"],
        &["SET", "dropttl", "new"],
        &["SETEX", "setex", "30", "v"],
        &["PSETEX", "psetex", "4321", "v"],
        &["SET", "getex", "v"],
        &["GETEX", "getex", "PX", "999"],
        &["SET", "getexp", "v", "EX", "10"],
        &["GETEX", "getexp", "PERSIST"],
        &["SET", "nx", "first", "NX"],
        &["SET", "nx", "second", "NX"],
        &["SET", "xx", "never", "XX"],
        &["SET", "getset", "a"],
        &["SET", "getset", "b", "GET"],
        // In-place edits: raw encoding.
        &["APPEND", "app", "hello"],
        &["APPEND", "app", " world"],
        &["SET", "num", "10"],
        &["APPEND", "num", "5"],
        &["SET", "sr", "Hello World"],
        &["SETRANGE", "sr", "6", "Redis"],
        &["SETRANGE", "pad", "5", "x"],
        &["SET", "apx", "v", "PX", "60000"],
        &["APPEND", "apx", "w"],
        // Counters.
        &["INCR", "ctr"],
        &["INCRBY", "ctr", "41"],
        &["DECR", "ctr"],
        &["DECRBY", "ctr", "-2"],
        &["INCRBYFLOAT", "flt", "3.5"],
        &["INCRBYFLOAT", "flt", "0.25"],
        &["SET", "ttlctr", "1", "PX", "8000"],
        &["INCR", "ttlctr"],
        // Multi-key.
        &["MSET", "m1", "a", "m2", "b", "m3", "c"],
        &["MSETNX", "n1", "x", "n2", "y"],
        &["MSETNX", "n2", "z", "n3", "w"],
        // Key operations.
        &["SET", "todel", "v"],
        &["DEL", "todel", "m3"],
        &["SET", "ren", "v", "PX", "3000"],
        &["RENAME", "ren", "renamed"],
        &["GETDEL", "n1"],
        &["EXPIRE", "plain", "1000"],
        &["PERSIST", "plain"],
        &["EXPIRE", "m1", "200"],
        &["PEXPIRE", "m2", "2500"],
        &["EXPIREAT", "ctr", &((T0 / 1000) + 3600).to_string()],
        &["PEXPIREAT", "flt", &(T0 + 86_400_000).to_string()],
        &["COPY", "app", "appcopy"],
        &["COPY", "px", "pxcopy", "DB", "3"],
        &["COPY", "sr", "num", "REPLACE"],
        &["SET", "mover", "v", "PX", "4444"],
        &["MOVE", "mover", "2"],
        // Other databases.
        &["SELECT", "1"],
        &["SET", "one", "1"],
        &["SET", "gone-with-flush", "x"],
        &["FLUSHDB"],
        &["SET", "after-flush", "y", "EX", "70"],
        &["SELECT", "4"],
        &["SET", "four", "4"],
        &["SELECT", "5"],
        &["SET", "five", "5", "PX", "1500"],
        &["APPEND", "five", "!"],
        &["SWAPDB", "4", "5"],
        &["SELECT", "6"],
        &["SET", "six", "6"],
        &["SELECT", "7"],
        &["SET", "seven", "7"],
        &["SWAPDB", "6", "7"],
        &["SWAPDB", "6", "8"],
        &["SELECT", "0"],
        // A MULTI/EXEC block across databases.
        &["MULTI"],
        &["SET", "tx1", "a"],
        &["APPEND", "tx1", "b"],
        &["SELECT", "9"],
        &["SET", "tx9", "z", "PX", "9000"],
        &["SELECT", "0"],
        &["EXEC"],
    ];
    for args in script {
        ok(con, args).await;
    }
}

#[tokio::test]
async fn strings_and_key_ops_come_back_exactly() {
    for resp3 in [false, true] {
        let srv = manual_server(config()).await;
        let mut con = srv.connect(resp3).await;
        string_and_key_workload(&mut con).await;
        // Time passes before the restart: TTLs must keep counting down.
        srv.clock.advance(1234);
        let before = dump(&srv);
        let seen_before = client_dump(&mut con, 16).await;
        assert!(before.len() > 30, "workload wrote keys: {before:?}");
        // A few spot checks of the workload itself.
        let db0 = |k: &str| before.get(&(0, k.as_bytes().to_vec())).cloned();
        assert_eq!(db0("app"), Some((b"hello world".to_vec(), None, true)));
        assert_eq!(
            db0("keepttl"),
            Some((b"new".to_vec(), Some(T0 + 5000), false))
        );
        assert_eq!(db0("dropttl"), Some((b"new".to_vec(), None, false)));
        assert_eq!(db0("getexp").unwrap().1, None);
        assert_eq!(db0("plain").unwrap().1, None);
        assert_eq!(db0("num").unwrap().0, b"Hello Redis".to_vec());
        assert_eq!(db0("mover"), None);
        assert_eq!(
            before.get(&(2, b"mover".to_vec())),
            Some(&(b"v".to_vec(), Some(T0 + 4444), false))
        );
        assert_eq!(
            before.get(&(4, b"five".to_vec())),
            Some(&(b"5!".to_vec(), Some(T0 + 1500), true))
        );
        assert_eq!(
            before.get(&(8, b"seven".to_vec())),
            Some(&(b"7".to_vec(), None, false))
        );
        assert!(!before.contains_key(&(1, b"gone-with-flush".to_vec())));
        drop(con);

        let srv = srv.restart().await;
        assert_eq!(dump(&srv), before, "resp3={resp3}");
        let mut con = srv.connect(!resp3).await;
        assert_eq!(client_dump(&mut con, 16).await, seen_before);
        let p = persistence(&mut con).await;
        assert_eq!(p["sluice_recovery_truncated_bytes"], "0");
        assert_eq!(p["sluice_recovery_skipped_records"], "0");
        assert!(
            p["sluice_recovery_records_replayed"]
                .parse::<u64>()
                .unwrap()
                > 50
        );
    }
}

#[tokio::test]
async fn flushall_is_durable() {
    let srv = manual_server(config()).await;
    let mut con = srv.client().await;
    ok(&mut con, &["SET", "a", "1"]).await;
    ok(&mut con, &["SELECT", "3"]).await;
    ok(&mut con, &["SET", "b", "2"]).await;
    ok(&mut con, &["FLUSHALL"]).await;
    ok(&mut con, &["SET", "c", "3"]).await;
    drop(con);
    let srv = srv.restart().await;
    let keys: Vec<_> = dump(&srv).into_keys().collect();
    assert_eq!(keys, vec![(3, b"c".to_vec())]);
}

#[tokio::test]
async fn restart_does_not_extend_ttls_and_expired_keys_stay_gone() {
    let srv = manual_server(config()).await;
    let mut con = srv.client().await;
    ok(&mut con, &["SET", "short", "v", "PX", "1000"]).await;
    ok(&mut con, &["SET", "long", "v", "PX", "10000"]).await;
    ok(&mut con, &["SET", "forever", "v"]).await;
    srv.clock.advance(4000);
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    // 10 000 - 4 000, to the millisecond: the restart did not restart it.
    assert_eq!(cmd::<i64>(&mut con, &["PTTL", "long"]).await.unwrap(), 6000);
    assert_eq!(
        cmd::<i64>(&mut con, &["PTTL", "forever"]).await.unwrap(),
        -1
    );
    assert_eq!(cmd::<i64>(&mut con, &["EXISTS", "short"]).await.unwrap(), 0);
    drop(con);

    // Expires while the server is down.
    let (dir, config, clock) = (srv.dir.clone(), srv.config.clone(), srv.clock.clone());
    srv.stop().await;
    clock.advance(6001);
    let srv = TestServer::start_in(dir, config, clock).await;
    let mut con = srv.client().await;
    assert_eq!(cmd::<i64>(&mut con, &["EXISTS", "long"]).await.unwrap(), 0);
    assert_eq!(
        cmd::<Option<String>>(&mut con, &["GET", "long"])
            .await
            .unwrap(),
        None
    );
    let keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    assert_eq!(keys, vec!["forever".to_string()]);
    // And it stays gone after a checkpoint and another restart.
    ok(&mut con, &["SAVE"]).await;
    drop(con);
    let srv = srv.restart().await;
    let keys: Vec<_> = dump(&srv).into_keys().collect();
    assert_eq!(keys, vec![(0, b"forever".to_vec())]);
}

#[tokio::test]
async fn raw_encoding_survives_the_log_but_not_a_checkpoint() {
    let srv = manual_server(config()).await;
    let mut con = srv.client().await;
    ok(&mut con, &["SET", "int", "12345"]).await;
    ok(&mut con, &["SET", "emb", "short string"]).await;
    ok(&mut con, &["SET", "app", "12"]).await;
    ok(&mut con, &["APPEND", "app", "3"]).await;
    ok(&mut con, &["SETRANGE", "sr", "0", "abc"]).await;
    async fn encodings(con: &mut MultiplexedConnection) -> Vec<String> {
        let mut out = Vec::new();
        for k in ["int", "emb", "app", "sr"] {
            out.push(cmd(con, &["OBJECT", "ENCODING", k]).await.unwrap());
        }
        out
    }
    let expected = vec!["int", "embstr", "raw", "raw"];
    assert_eq!(encodings(&mut con).await, expected);
    drop(con);
    // From the log.
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(encodings(&mut con).await, expected);
    // From a checkpoint, strings are encoded afresh, as when Redis loads a
    // snapshot: "123" is an int again, "abc" an embstr.
    ok(&mut con, &["SAVE"]).await;
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(num(&mut con, "sluice_recovery_checkpoint_keys").await, 4);
    assert_eq!(
        encodings(&mut con).await,
        vec!["int", "embstr", "int", "embstr"]
    );
}

#[tokio::test]
async fn state_survives_many_segment_rolls() {
    let srv = manual_server(Config {
        journal_segment_size: 4096,
        ..config()
    })
    .await;
    let mut con = srv.client().await;
    for i in 0..1500 {
        let key = format!("key:{}", i % 400);
        let value = format!("value-{i}-{}", "x".repeat(i % 37));
        match i % 5 {
            0 => {
                ok(
                    &mut con,
                    &["SET", &key, &value, "PX", &(1_000_000 + i).to_string()],
                )
                .await
            }
            1 => ok(&mut con, &["APPEND", &key, &value]).await,
            2 => ok(&mut con, &["DEL", &key]).await,
            3 => ok(&mut con, &["SET", &key, &value]).await,
            _ => ok(&mut con, &["SETRANGE", &key, "3", "zz"]).await,
        }
    }
    let segments = num(&mut con, "sluice_journal_segments").await;
    assert!(segments > 10, "only {segments} segments");
    let files = std::fs::read_dir(srv.dir.path().join("journal"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "manifest")
        .count() as i64;
    assert_eq!(files, segments);
    let before = dump(&srv);
    assert!(before.len() > 100);
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), before);
    let mut con = srv.client().await;
    assert_eq!(num(&mut con, "sluice_journal_segments").await, segments);
    // Appends continue in the last segment and the next restart reads them.
    ok(&mut con, &["SET", "after", "restart"]).await;
    drop(con);
    let mut expected = before;
    expected.insert((0, b"after".to_vec()), (b"restart".to_vec(), None, false));
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), expected);
}

#[tokio::test]
async fn state_survives_checkpoints_with_log_after_them() {
    let srv = manual_server(Config {
        journal_segment_size: 4096,
        ..config()
    })
    .await;
    let mut con = srv.client().await;
    let mut saves = 0;
    for round in 0..4 {
        for i in 0..200 {
            let key = format!("k{}", i % 50);
            ok(&mut con, &["APPEND", &key, &format!("{round}.{i};")]).await;
            if i % 7 == 0 {
                ok(&mut con, &["PEXPIRE", &key, &(100_000 + i).to_string()]).await;
            }
        }
        ok(&mut con, &["SELECT", "2"]).await;
        ok(&mut con, &["SET", &format!("r{round}"), "x"]).await;
        ok(&mut con, &["SWAPDB", "2", "3"]).await;
        ok(&mut con, &["SELECT", "0"]).await;
        // Each kind of checkpoint in turn; the log continues after each.
        match round {
            0 => ok(&mut con, &["SAVE"]).await,
            1 => ok(&mut con, &["BGSAVE"]).await,
            2 => ok(&mut con, &["BGREWRITEAOF"]).await,
            _ => {
                let _: String = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
            }
        }
        saves += 1;
        wait_for_checkpoints(&mut con, saves).await;
    }
    for i in 0..30 {
        ok(&mut con, &["APPEND", &format!("k{i}"), "tail"]).await;
    }
    let before = dump(&srv);
    let files: Vec<String> = std::fs::read_dir(srv.dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".ckpt")).count(),
        1,
        "older checkpoints are deleted: {files:?}"
    );
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), before);
    let mut con = srv.client().await;
    assert_eq!(num(&mut con, "sluice_recovery_checkpoint_keys").await, 54);
    assert!(num(&mut con, "sluice_recovery_records_replayed").await >= 30);
}

/// Overwrites the same 10 keys 20 000 times in pipelines of 1000.
async fn overwrite_storm(con: &mut MultiplexedConnection, rounds: std::ops::Range<usize>) {
    for chunk in rounds.step_by(1000) {
        let mut pipe = redis::pipe();
        for i in chunk..chunk + 1000 {
            pipe.cmd("SET")
                .arg(format!("key{}", i % 10))
                .arg(format!("value-{i:08}"))
                .ignore();
        }
        let _: () = pipe.query_async(con).await.unwrap();
    }
}

#[tokio::test]
async fn bgrewriteaof_keeps_the_log_bounded() {
    let srv = manual_server(Config {
        journal_segment_size: 4096,
        ..config()
    })
    .await;
    let mut con = srv.client().await;
    let mut saves = 0;
    let mut largest = 0;
    for part in 0..10 {
        overwrite_storm(&mut con, part * 2000..(part + 1) * 2000).await;
        // Without compaction this much log is written per part.
        let unbounded = journal_dir_size(srv.dir.path());
        assert!(unbounded > 40_000, "{unbounded} bytes after 2000 writes");
        ok(&mut con, &["BGREWRITEAOF"]).await;
        saves += 1;
        wait_for_checkpoints(&mut con, saves).await;
        let size = journal_dir_size(srv.dir.path());
        largest = largest.max(size);
    }
    assert!(largest < 8192, "journal dir grew to {largest} bytes");
    let before = dump(&srv);
    assert_eq!(before.len(), 10);
    assert_eq!(before[&(0, b"key9".to_vec())].0, b"value-00019999".to_vec());
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), before);
}

#[tokio::test]
async fn automatic_checkpoint_keeps_the_log_bounded() {
    let srv = manual_server(Config {
        journal_segment_size: 4096,
        auto_aof_rewrite_percentage: 100,
        auto_aof_rewrite_min_size: 16 * 1024,
        ..config()
    })
    .await;
    let mut con = srv.client().await;
    overwrite_storm(&mut con, 0..20_000).await;
    // The trigger looks once a second; wait (bounded) until it has run and
    // the dead segments are gone.
    let mut size = u64::MAX;
    for _ in 0..500 {
        size = journal_dir_size(srv.dir.path());
        let p = persistence(&mut con).await;
        if p["rdb_saves"] != "0" && p["aof_rewrite_in_progress"] == "0" && size < 32 * 1024 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(num(&mut con, "rdb_saves").await >= 1);
    assert!(size < 32 * 1024, "journal dir is {size} bytes");
    let before = dump(&srv);
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), before);
}

/// The state without the raw-encoding marks, which a checkpoint drops (as
/// Redis's snapshot load does) and the log keeps.
fn without_raw_marks(
    state: &BTreeMap<(usize, Vec<u8>), KeyState>,
) -> BTreeMap<(usize, Vec<u8>), KeyState> {
    state
        .iter()
        .map(|(k, (v, at, _))| (k.clone(), (v.clone(), *at, false)))
        .collect()
}

#[tokio::test]
async fn debug_reload_and_loadaof_give_back_the_same_state() {
    let srv = manual_server(Config {
        journal_segment_size: 4096,
        ..config()
    })
    .await;
    let mut con = srv.client().await;
    string_and_key_workload(&mut con).await;
    srv.clock.advance(700);
    let before = dump(&srv);
    assert!(
        before.values().any(|(_, _, raw)| *raw),
        "the workload makes raw strings"
    );
    let _: String = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(dump(&srv), without_raw_marks(&before));
    // More writes after the checkpoint RELOAD wrote, then LOADAOF, which
    // replays the log and so keeps the marks exactly.
    ok(&mut con, &["APPEND", "app", "!"]).await;
    ok(&mut con, &["SWAPDB", "0", "10"]).await;
    ok(&mut con, &["SELECT", "10"]).await;
    ok(&mut con, &["SETRANGE", "plain", "0", "V"]).await;
    let before = dump(&srv);
    let _: String = cmd(&mut con, &["DEBUG", "LOADAOF"]).await.unwrap();
    assert_eq!(dump(&srv), before);
    assert_eq!(before[&(10, b"app".to_vec())].0, b"hello world!".to_vec());
    let _: String = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    let reloaded = dump(&srv);
    assert_eq!(reloaded, without_raw_marks(&before));
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(dump(&srv), reloaded);
}

/// APPEND is journaled as "append these bytes", not as the final value. A
/// checkpoint copies keys while clients keep writing; an append that lands
/// after the checkpoint's start but before the copy reaches its key is in
/// the copy AND in the log after the checkpoint, and must not come back
/// twice.
#[tokio::test]
async fn appends_racing_a_checkpoint_are_not_applied_twice() {
    let srv = manual_server(config()).await;
    let mut con = srv.client().await;
    let keys = 20_000;
    for chunk in (0..keys).step_by(1000) {
        let mut pipe = redis::pipe();
        for i in chunk..chunk + 1000 {
            pipe.cmd("SET").arg(format!("k{i}")).arg("v").ignore();
        }
        let _: () = pipe.query_async(&mut con).await.unwrap();
    }
    let mut appender = srv.client().await;
    for attempt in 1..=3 {
        ok(&mut con, &["BGSAVE"]).await;
        // Append to every key while the copy runs.
        for chunk in (0..keys).step_by(500) {
            let mut pipe = redis::pipe();
            for i in chunk..chunk + 500 {
                pipe.cmd("APPEND").arg(format!("k{i}")).arg("+").ignore();
            }
            let _: () = pipe.query_async(&mut appender).await.unwrap();
        }
        wait_for_checkpoints(&mut con, attempt).await;
    }
    let before = dump(&srv);
    assert_eq!(before[&(0, b"k0".to_vec())].0, b"v+++".to_vec());
    drop((con, appender));
    let srv = srv.restart().await;
    let after = dump(&srv);
    let wrong: Vec<_> = after
        .iter()
        .filter(|(_, (v, _, _))| v != b"v+++")
        .map(|((_, k), (v, _, _))| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "appends replayed twice: {wrong:?}");
    // Keys that came back from the checkpoint lost the raw mark (as with
    // Redis's snapshot load); those replayed from the log kept it.
    assert_eq!(without_raw_marks(&after), without_raw_marks(&before));
}
