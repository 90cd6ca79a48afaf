//! Streams through the stock `redis` crate: XADD, XRANGE, XREVRANGE, XLEN,
//! XDEL, XTRIM, XSETID and XREAD (blocking included), in RESP2 and RESP3,
//! and what survives a restart.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;
use sluice::config::Config;

fn bulk(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// `[[id, [f, v, …]], …]` as (id, fields) pairs.
fn entries(v: &Value) -> Vec<(String, Vec<String>)> {
    let Value::Array(items) = v else {
        panic!("not an array: {v:?}")
    };
    items
        .iter()
        .map(|e| {
            let Value::Array(pair) = e else {
                panic!("not an entry: {e:?}")
            };
            let Value::Array(fields) = &pair[1] else {
                panic!("no fields: {e:?}")
            };
            (bulk(&pair[0]), fields.iter().map(bulk).collect())
        })
        .collect()
}

fn ids(v: &Value) -> Vec<String> {
    entries(v).into_iter().map(|(id, _)| id).collect()
}

async fn xadd(con: &mut MultiplexedConnection, key: &str, id: &str, field: &str, value: &str) {
    let got: String = cmd(con, &["XADD", key, id, field, value]).await.unwrap();
    if id != "*" {
        assert_eq!(got, id);
    }
}

async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    match cmd::<Value>(con, args).await {
        Err(e) => err_text(&e),
        Ok(Value::ServerError(e)) => format!("{} {}", e.code(), e.details().unwrap_or("")),
        Ok(v) => panic!("{args:?} succeeded: {v:?}"),
    }
}

#[tokio::test]
async fn xadd_and_ranges() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        for i in 1..=5 {
            xadd(&mut con, "s", &format!("{i}-0"), "n", &i.to_string()).await;
        }
        xadd(&mut con, "s", "5-1", "n", "5.1").await;
        let auto: String = cmd(&mut con, &["XADD", "s", "7-*", "n", "7"])
            .await
            .unwrap();
        assert_eq!(auto, "7-0");
        let auto: String = cmd(&mut con, &["XADD", "s", "7-*", "n", "7b"])
            .await
            .unwrap();
        assert_eq!(auto, "7-1");
        let len: i64 = cmd(&mut con, &["XLEN", "s"]).await.unwrap();
        assert_eq!(len, 8);

        let all: Value = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
        let all = entries(&all);
        assert_eq!(all.len(), 8);
        assert_eq!(
            all[0],
            ("1-0".to_string(), vec!["n".to_string(), "1".to_string()])
        );
        let v: Value = cmd(&mut con, &["XRANGE", "s", "(2", "5"]).await.unwrap();
        assert_eq!(ids(&v), ["3-0", "4-0", "5-0", "5-1"]);
        let v: Value = cmd(&mut con, &["XRANGE", "s", "2", "(5-1"]).await.unwrap();
        assert_eq!(ids(&v), ["2-0", "3-0", "4-0", "5-0"]);
        let v: Value = cmd(&mut con, &["XRANGE", "s", "-", "+", "COUNT", "2"])
            .await
            .unwrap();
        assert_eq!(ids(&v), ["1-0", "2-0"]);
        let v: Value = cmd(&mut con, &["XREVRANGE", "s", "+", "-", "COUNT", "3"])
            .await
            .unwrap();
        assert_eq!(ids(&v), ["7-1", "7-0", "5-1"]);
        let v: Value = cmd(&mut con, &["XREVRANGE", "s", "5", "(3"]).await.unwrap();
        assert_eq!(ids(&v), ["5-1", "5-0", "4-0"]);
        let v: Value = cmd(&mut con, &["XRANGE", "s", "-", "+", "COUNT", "0"])
            .await
            .unwrap();
        assert_eq!(v, Value::Nil);
        let v: Value = cmd(&mut con, &["XRANGE", "missing", "-", "+"])
            .await
            .unwrap();
        assert_eq!(v, Value::Array(vec![]));

        assert!(err(&mut con, &["XADD", "s", "3-0", "f", "v"])
            .await
            .contains(
                "The ID specified in XADD is equal or smaller than the target stream top item"
            ));
        assert!(err(&mut con, &["XADD", "t", "0-0", "f", "v"])
            .await
            .contains("must be greater than 0-0"));
        assert!(err(&mut con, &["XADD", "t", "bad", "f", "v"])
            .await
            .contains("Invalid stream ID"));
        assert!(err(&mut con, &["XADD", "t", "*", "f"])
            .await
            .contains("wrong number of arguments for 'xadd'"));
        let nil: Value = cmd(&mut con, &["XADD", "t", "NOMKSTREAM", "*", "f", "v"])
            .await
            .unwrap();
        assert_eq!(nil, Value::Nil);
        let _: () = cmd(&mut con, &["SET", "str", "x"]).await.unwrap();
        assert!(err(&mut con, &["XADD", "str", "*", "f", "v"])
            .await
            .contains("WRONGTYPE"));
        assert!(err(&mut con, &["GET", "s"]).await.contains("WRONGTYPE"));
        let t: String = cmd(&mut con, &["TYPE", "s"]).await.unwrap();
        assert_eq!(t, "stream");
    }
}

#[tokio::test]
async fn deleting_and_trimming_follow_redis_node_boundaries() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let mut pipe = redis::pipe();
    for i in 1..=1000 {
        pipe.cmd("XADD")
            .arg("s")
            .arg(format!("{i}-0"))
            .arg("f")
            .arg("v");
    }
    let _: Value = pipe.query_async(&mut con).await.unwrap();
    // Real Redis removes 400 here: four whole nodes of 100 entries.
    let n: i64 = cmd(&mut con, &["XTRIM", "s", "MAXLEN", "~", "555"])
        .await
        .unwrap();
    assert_eq!(n, 400);
    // A LIMIT below a node's size removes nothing.
    let n: i64 = cmd(&mut con, &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "99"])
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = cmd(&mut con, &["XTRIM", "s", "MAXLEN", "555"])
        .await
        .unwrap();
    assert_eq!(n, 45);
    let n: i64 = cmd(&mut con, &["XTRIM", "s", "MINID", "~", "700"])
        .await
        .unwrap();
    assert_eq!(n, 155);
    let n: i64 = cmd(&mut con, &["XDEL", "s", "701-0", "702-0", "99999-0"])
        .await
        .unwrap();
    assert_eq!(n, 2);
    let len: i64 = cmd(&mut con, &["XLEN", "s"]).await.unwrap();
    assert_eq!(len, 398);
    assert!(err(&mut con, &["XTRIM", "s", "MAXLEN", "5", "LIMIT", "1"])
        .await
        .contains("LIMIT cannot be used without the special ~ option"));
    // XSETID moves the last ID; XADD then has to go past it.
    let _: () = cmd(&mut con, &["XSETID", "s", "5000-0", "ENTRIESADDED", "2000"])
        .await
        .unwrap();
    assert!(err(&mut con, &["XADD", "s", "4000-0", "f", "v"])
        .await
        .contains("top item"));
    assert!(err(&mut con, &["XSETID", "s", "1-0"])
        .await
        .contains("smaller than the target stream top item"));
    xadd(&mut con, "s", "5000-1", "f", "v").await;
}

/// Reads an XREAD reply into (key, ids) pairs, whatever the protocol.
fn per_stream(v: &Value) -> Vec<(String, Vec<String>)> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|kv| {
                let Value::Array(kv) = kv else {
                    panic!("not a pair: {kv:?}")
                };
                (bulk(&kv[0]), ids(&kv[1]))
            })
            .collect(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (bulk(k), ids(v))).collect(),
        other => panic!("unexpected XREAD reply {other:?}"),
    }
}

#[tokio::test]
async fn xread_without_blocking() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        for i in 1..=3 {
            xadd(&mut con, "a", &format!("{i}-0"), "f", "v").await;
        }
        xadd(&mut con, "b", "9-0", "f", "v").await;
        let v: Value = cmd(
            &mut con,
            &["XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"],
        )
        .await
        .unwrap();
        if resp3 {
            assert!(matches!(v, Value::Map(_)), "{v:?}");
        }
        assert_eq!(
            per_stream(&v),
            [
                ("a".to_string(), vec!["1-0".to_string(), "2-0".to_string()]),
                ("b".to_string(), vec!["9-0".to_string()])
            ]
        );
        let v: Value = cmd(&mut con, &["XREAD", "STREAMS", "a", "b", "2", "$"])
            .await
            .unwrap();
        assert_eq!(per_stream(&v), [("a".to_string(), vec!["3-0".to_string()])]);
        let v: Value = cmd(&mut con, &["XREAD", "STREAMS", "a", "+"])
            .await
            .unwrap();
        assert_eq!(per_stream(&v), [("a".to_string(), vec!["3-0".to_string()])]);
        let v: Value = cmd(&mut con, &["XREAD", "STREAMS", "a", "3"])
            .await
            .unwrap();
        assert_eq!(v, Value::Nil);
        assert!(err(&mut con, &["XREAD", "STREAMS", "a", "b", "0"])
            .await
            .contains("Unbalanced"));
    }
}

async fn blocked_clients(con: &mut MultiplexedConnection) -> i64 {
    let info: String = cmd(con, &["INFO", "clients"]).await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn wait_blocked(con: &mut MultiplexedConnection, n: i64) {
    for _ in 0..300 {
        if blocked_clients(con).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never saw {n} blocked clients");
}

#[tokio::test]
async fn xread_blocks_until_an_entry_arrives() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        xadd(&mut con, "s", "1-0", "f", "old").await;
        // Two readers block on `$`; both get the new entry, not the old one.
        let mut readers = Vec::new();
        for _ in 0..2 {
            let mut c = srv.connect(resp3).await;
            readers.push(tokio::spawn(async move {
                let v: Value = cmd(&mut c, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
                    .await
                    .unwrap();
                per_stream(&v)
            }));
            let n = readers.len() as i64;
            wait_blocked(&mut con, n).await;
        }
        xadd(&mut con, "s", "2-0", "f", "new").await;
        for r in readers {
            let got = tokio::time::timeout(Duration::from_secs(5), r)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, [("s".to_string(), vec!["2-0".to_string()])]);
        }
        assert_eq!(blocked_clients(&mut con).await, 0);

        // A timeout is a null reply.
        let v: Value = cmd(&mut con, &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"])
            .await
            .unwrap();
        assert_eq!(v, Value::Nil);
    }
}

#[tokio::test]
async fn blocked_clients_go_away_with_their_connection_or_client_unblock() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    // A raw connection that blocks and then disconnects.
    let mut raw = srv.raw().await;
    raw.send(b"XREAD BLOCK 0 STREAMS s $\r\n").await;
    wait_blocked(&mut con, 1).await;
    drop(raw);
    wait_blocked(&mut con, 0).await;

    let mut c = srv.client().await;
    let id: i64 = cmd(&mut c, &["CLIENT", "ID"]).await.unwrap();
    let reader = tokio::spawn(async move {
        cmd::<Value>(&mut c, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]).await
    });
    wait_blocked(&mut con, 1).await;
    let n: i64 = cmd(&mut con, &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let got = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap();
    let e = got.expect_err("unblocked with an error");
    assert!(
        err_text(&e).contains("client unblocked via CLIENT UNBLOCK"),
        "{e}"
    );
    let n: i64 = cmd(&mut con, &["CLIENT", "UNBLOCK", &id.to_string()])
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// Every stream in database 0 with its index and groups, straight from the
/// keyspace, plus every entry's fields read back through XRANGE.
async fn snapshot(srv: &TestServer) -> Vec<(String, String, Vec<(String, Vec<String>)>)> {
    let keys: Vec<(String, String)> = {
        let mut ks = srv.shared.keyspace.lock().unwrap();
        let (db, _) = ks.db(0);
        let mut out: Vec<(String, String)> = db
            .iter()
            .filter_map(|(k, e)| match &e.value {
                sluice::keyspace::Value::Stream(s) => Some((
                    String::from_utf8_lossy(k).into_owned(),
                    format!(
                        "{:?} {:?} {:?}",
                        s.meta(),
                        s.nodes().collect::<Vec<_>>(),
                        s.groups()
                    ),
                )),
                _ => None,
            })
            .collect();
        out.sort();
        out
    };
    let mut con = srv.client().await;
    let mut out = Vec::new();
    for (key, state) in keys {
        let v: Value = cmd(&mut con, &["XRANGE", &key, "-", "+"]).await.unwrap();
        out.push((key, state, entries(&v)));
    }
    out
}

async fn workload(con: &mut MultiplexedConnection, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    for i in from..to {
        let key = format!("s{}", i % 3);
        pipe.cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(150)
            .arg("*")
            .arg("n")
            .arg(i)
            .arg(if i % 2 == 0 { "even" } else { "odd" })
            .arg("x".repeat(i % 40));
        if i % 7 == 0 {
            pipe.cmd("XDEL").arg(&key).arg(format!("{}-0", i));
        }
    }
    let _: Value = pipe.query_async(con).await.unwrap();
}

#[tokio::test]
async fn streams_survive_restarts_and_checkpoints_exactly() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    workload(&mut con, 0, 600).await;
    xadd(&mut con, "plain", "1-1", "a", "b").await;
    let _: () = cmd(&mut con, &["XSETID", "plain", "10-0", "ENTRIESADDED", "7"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["EXPIRE", "plain", "1000"]).await.unwrap();
    let before = snapshot(&srv).await;
    assert_eq!(before.len(), 4);
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "log replay");

    // A checkpoint, then more changes in the log after it.
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SAVE"]).await.unwrap();
    workload(&mut con, 600, 900).await;
    let _: i64 = cmd(&mut con, &["DEL", "s1"]).await.unwrap();
    let _: () = cmd(&mut con, &["RENAME", "s2", "renamed"]).await.unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "checkpoint + log");
    let mut con = srv.client().await;
    let ttl: i64 = cmd(&mut con, &["TTL", "plain"]).await.unwrap();
    assert!((1..=1000).contains(&ttl), "{ttl}");
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(snapshot(&srv).await, before, "DEBUG RELOAD");
}

#[tokio::test]
async fn entries_are_read_from_the_log_not_the_heap() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    xadd(&mut con, "s", "1-0", "field", "the-payload-bytes").await;
    let _: () = cmd(&mut con, &["SAVE"]).await.unwrap();
    // Where the entry lives, by the index.
    let loc = {
        let mut ks = srv.shared.keyspace.lock().unwrap();
        let (db, _) = ks.db(0);
        let sluice::keyspace::Value::Stream(s) = &db.iter().next().unwrap().1.value else {
            panic!("not a stream")
        };
        s.get(sluice::keyspace::stream::StreamId::new(1, 0))
            .unwrap()
    };
    let path = srv
        .dir
        .path()
        .join("journal")
        .join(format!("{:016}.seg", loc.seg));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(17)
        .position(|w| w == b"the-payload-bytes")
        .expect("the value is in the segment");
    assert!(at > loc.offset as usize);
    bytes[at] = b'T';
    std::fs::write(&path, &bytes).unwrap();
    // The changed byte fails the record's CRC: the read went to the log.
    let e = err(&mut con, &["XRANGE", "s", "-", "+"]).await;
    assert!(e.contains("stream entry unreadable"), "{e}");
}

#[tokio::test]
async fn a_trimmed_stream_keeps_the_log_bounded() {
    let srv = TestServer::start_with(
        Config {
            journal_segment_size: 8192,
            auto_aof_rewrite_percentage: 0,
            ..common::test_config()
        },
        sluice::clock::Clock::system(),
    )
    .await;
    let mut con = srv.client().await;
    let value = "v".repeat(100);
    let mut largest = 0;
    for round in 0..8 {
        let mut pipe = redis::pipe();
        for i in 0..500 {
            pipe.cmd("XADD")
                .arg("s")
                .arg("MAXLEN")
                .arg(50)
                .arg("*")
                .arg("i")
                .arg(round * 500 + i)
                .arg("v")
                .arg(&value);
        }
        let _: Value = pipe.query_async(&mut con).await.unwrap();
        let _: () = cmd(&mut con, &["SAVE"]).await.unwrap();
        let size: u64 = std::fs::read_dir(srv.dir.path().join("journal"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        largest = largest.max(size);
    }
    // 4000 entries of ~130 bytes were written; 50 stay live.
    assert!(largest < 64 * 1024, "journal dir grew to {largest} bytes");
    let len: i64 = cmd(&mut con, &["XLEN", "s"]).await.unwrap();
    assert_eq!(len, 50);
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}
