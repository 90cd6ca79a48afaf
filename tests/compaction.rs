//! Compaction: a checkpoint copies forward the few live payloads of
//! mostly-dead segments (so those files go), keeps segments that are still
//! mostly live, and the new positions survive restarts, reloads and a
//! crash right after.

mod common;

use common::{cmd, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;
use sluice::config::Config;
use sluice::keyspace::{Loc, Value as Stored};

fn small_segments() -> Config {
    Config {
        journal_segment_size: 8192,
        auto_aof_rewrite_percentage: 0,
        ..common::test_config()
    }
}

/// Appends `n` entries with ~100-byte values to `key`; returns their IDs.
async fn fill(con: &mut MultiplexedConnection, key: &str, n: usize) -> Vec<String> {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("XADD")
            .arg(key)
            .arg("*")
            .arg("n")
            .arg(i)
            .arg("body")
            .arg(format!("{i:>100}"));
    }
    pipe.query_async(con).await.unwrap()
}

/// The payload positions of the stream at `key` (entries and node masters).
fn locs(srv: &TestServer, key: &str) -> Vec<Loc> {
    let mut ks = srv.shared.keyspace.lock().unwrap();
    let (db, _) = ks.db(0);
    let entry = db.table().get(key.as_bytes()).expect("key exists");
    let Stored::Stream(s) = &entry.value else {
        panic!("not a stream")
    };
    let mut out = Vec::new();
    s.for_each_loc(|l| out.push(l));
    out
}

/// What a client sees of the streams, plus their exact index.
async fn snapshot(srv: &TestServer, keys: &[&str]) -> Vec<(Value, Value, Vec<Loc>)> {
    let mut con = srv.client().await;
    let mut out = Vec::new();
    for key in keys {
        let range: Value = cmd(&mut con, &["XRANGE", key, "-", "+"]).await.unwrap();
        let mut pending: Value = cmd(&mut con, &["XPENDING", key, "g", "-", "+", "1000"])
            .await
            .unwrap();
        // [id, consumer, idle ms, deliveries]: the idle time moves on.
        if let Value::Array(items) = &mut pending {
            for item in items {
                if let Value::Array(fields) = item {
                    fields.remove(2);
                }
            }
        }
        out.push((range, pending, locs(srv, key)));
    }
    out
}

fn segment_files(srv: &TestServer) -> Vec<u64> {
    let mut segs: Vec<u64> = std::fs::read_dir(srv.dir.path().join("journal"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".seg")?.parse().ok()
        })
        .collect();
    segs.sort_unstable();
    segs
}

/// A sparse stream (one entry in 200 left) and a dense one, then SAVE.
/// Returns the dense stream's positions before the checkpoint.
async fn sparse_and_dense(srv: &TestServer) -> Vec<Loc> {
    let mut con = srv.client().await;
    let ids = fill(&mut con, "sparse", 2000).await;
    let _: () = cmd(&mut con, &["XGROUP", "CREATE", "sparse", "g", "0"])
        .await
        .unwrap();
    let _: Value = cmd(
        &mut con,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "3000",
            "STREAMS",
            "sparse",
            ">",
        ],
    )
    .await
    .unwrap();
    let doomed: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 200 != 0)
        .map(|(_, id)| id.as_str())
        .collect();
    for chunk in doomed.chunks(500) {
        let mut args = vec!["XDEL", "sparse"];
        args.extend_from_slice(chunk);
        let _: i64 = cmd(&mut con, &args).await.unwrap();
    }
    fill(&mut con, "dense", 300).await;
    let _: () = cmd(&mut con, &["XGROUP", "CREATE", "dense", "g", "0"])
        .await
        .unwrap();
    locs(srv, "dense")
}

async fn save(srv: &TestServer) {
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SAVE"]).await.unwrap();
}

/// Compares snapshots, naming the first difference (they are too big to
/// print whole).
fn same(a: &[(Value, Value, Vec<Loc>)], b: &[(Value, Value, Vec<Loc>)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.0 == y.0, "{what}: stream {i} entries differ");
        assert!(x.1 == y.1, "{what}: stream {i} pending entries differ");
        if let Some(j) = (0..x.2.len().max(y.2.len())).find(|&j| x.2.get(j) != y.2.get(j)) {
            panic!(
                "{what}: stream {i} position {j}: {:?} vs {:?}",
                x.2.get(j),
                y.2.get(j)
            );
        }
    }
}

#[tokio::test]
async fn mostly_dead_segments_are_copied_forward_and_deleted() {
    let srv = TestServer::start_with(small_segments(), sluice::clock::Clock::system()).await;
    let dense = sparse_and_dense(&srv).await;
    let before_save = segment_files(&srv);
    save(&srv).await;
    // The dense stream is all live: its segments stay, untouched.
    assert_eq!(locs(&srv, "dense"), dense, "live segments are not copied");
    let sparse = locs(&srv, "sparse");
    assert_eq!(sparse.len(), 20, "10 entries, each its own node's master");
    let dense_segs: Vec<u64> = locs(&srv, "dense")
        .iter()
        .map(|l| u64::from(l.seg))
        .collect();
    let roll = *dense_segs.iter().max().unwrap() + 1;
    for l in &sparse {
        assert!(
            u64::from(l.seg) >= roll,
            "sparse entry still in old segment {} (roll {roll})",
            l.seg
        );
    }
    // Only the dense stream's segments survive from before the roll.
    let old: Vec<u64> = before_save.into_iter().filter(|&s| s < roll).collect();
    assert!(old.len() > 10, "the fill spans many segments: {old:?}");
    let kept: Vec<u64> = segment_files(&srv)
        .into_iter()
        .filter(|&s| s < roll)
        .collect();
    let min_dense = *dense_segs.iter().min().unwrap();
    assert!(
        kept.iter().all(|&s| s >= min_dense),
        "kept {kept:?}, dense from {min_dense}"
    );
    let mut con = srv.client().await;
    let len: i64 = cmd(&mut con, &["XLEN", "sparse"]).await.unwrap();
    assert_eq!(len, 10);
    let first: Value = cmd(&mut con, &["XRANGE", "sparse", "-", "+", "COUNT", "1"])
        .await
        .unwrap();
    assert!(
        format!("{first:?}").contains(&format!("{:>100}", 0)),
        "{first:?}"
    );
}

#[tokio::test]
async fn relocations_survive_restart_reload_and_another_checkpoint() {
    let srv = TestServer::start_with(small_segments(), sluice::clock::Clock::system()).await;
    sparse_and_dense(&srv).await;
    save(&srv).await;
    let keys = ["sparse", "dense"];
    let before = snapshot(&srv, &keys).await;
    // Restart: the checkpoint holds the old positions (in deleted files),
    // the log after it the relocation.
    let srv = srv.restart().await;
    same(&snapshot(&srv, &keys).await, &before, "checkpoint + replay");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["DEBUG", "LOADAOF"]).await.unwrap();
    same(&snapshot(&srv, &keys).await, &before, "DEBUG LOADAOF");
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    same(&snapshot(&srv, &keys).await, &before, "DEBUG RELOAD");
    let _: () = cmd(&mut con, &["SAVE"]).await.unwrap();
    drop(con);
    let srv = srv.restart().await;
    same(&snapshot(&srv, &keys).await, &before, "second checkpoint");
}
