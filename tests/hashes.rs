//! Hashes through a stock client: replies in RESP2 and RESP3, errors, the
//! encodings, what survives a restart, a checkpoint and DEBUG RELOAD, how
//! little one change to a big hash writes to the journal, and the generic
//! key commands on hashes.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::Value;

/// Every hash in db 0 with its fields and values, sorted.
async fn snapshot(srv: &TestServer) -> Vec<(String, BTreeMap<String, String>)> {
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let map: BTreeMap<String, String> = cmd(&mut con, &["HGETALL", &key]).await.unwrap();
        out.push((key, map));
    }
    out
}

async fn hset_many(con: &mut redis::aio::MultiplexedConnection, key: &str, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    for i in from..to {
        pipe.cmd("HSET")
            .arg(key)
            .arg(format!("field-{i}"))
            .arg(format!("value-{}", i % 97));
    }
    let _: Value = pipe.query_async(con).await.unwrap();
}

async fn wait_for_checkpoint(con: &mut redis::aio::MultiplexedConnection) {
    for _ in 0..300 {
        match cmd::<()>(con, &["SAVE"]).await {
            Ok(()) => return,
            Err(e) if err_text(&e).contains("in progress") => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the background checkpoint never finished");
}

#[tokio::test]
async fn basic_commands_and_replies_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["DEL", "h"]).await.unwrap();
        let n: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2", "a", "3"])
            .await
            .unwrap();
        assert_eq!(n, 2);
        let v: String = cmd(&mut con, &["HGET", "h", "a"]).await.unwrap();
        assert_eq!(v, "3");
        let v: Value = cmd(&mut con, &["HGET", "h", "nope"]).await.unwrap();
        assert_eq!(v, Value::Nil);
        let v: Vec<Option<String>> = cmd(&mut con, &["HMGET", "h", "a", "x", "b"]).await.unwrap();
        assert_eq!(v, vec![Some("3".into()), None, Some("2".into())]);
        let all: Value = cmd(&mut con, &["HGETALL", "h"]).await.unwrap();
        if resp3 {
            assert!(matches!(&all, Value::Map(m) if m.len() == 2), "{all:?}");
        } else {
            assert!(matches!(&all, Value::Array(a) if a.len() == 4), "{all:?}");
        }
        let empty: Value = cmd(&mut con, &["HGETALL", "missing"]).await.unwrap();
        if resp3 {
            assert_eq!(empty, Value::Map(vec![]));
        } else {
            assert_eq!(empty, Value::Array(vec![]));
        }
        let n: i64 = cmd(&mut con, &["HLEN", "h"]).await.unwrap();
        assert_eq!(n, 2);
        let n: i64 = cmd(&mut con, &["HEXISTS", "h", "b"]).await.unwrap();
        assert_eq!(n, 1);
        let n: i64 = cmd(&mut con, &["HSTRLEN", "h", "a"]).await.unwrap();
        assert_eq!(n, 1);
        let mut keys: Vec<String> = cmd(&mut con, &["HKEYS", "h"]).await.unwrap();
        keys.sort();
        assert_eq!(keys, ["a", "b"]);
        let mut vals: Vec<String> = cmd(&mut con, &["HVALS", "h"]).await.unwrap();
        vals.sort();
        assert_eq!(vals, ["2", "3"]);
        let n: i64 = cmd(&mut con, &["HSETNX", "h", "a", "9"]).await.unwrap();
        assert_eq!(n, 0);
        let n: i64 = cmd(&mut con, &["HSETNX", "h", "c", "9"]).await.unwrap();
        assert_eq!(n, 1);
        let ok: String = cmd(&mut con, &["HMSET", "h", "d", "4"]).await.unwrap();
        assert_eq!(ok, "OK");
        let n: i64 = cmd(&mut con, &["HINCRBY", "h", "a", "-10"]).await.unwrap();
        assert_eq!(n, -7);
        let f: String = cmd(&mut con, &["HINCRBYFLOAT", "h", "new", "2.5"])
            .await
            .unwrap();
        assert_eq!(f, "2.5");
        let f: String = cmd(&mut con, &["HINCRBYFLOAT", "h", "new", "0.5"])
            .await
            .unwrap();
        assert_eq!(f, "3");
        let n: i64 = cmd(&mut con, &["HDEL", "h", "a", "b", "zz"]).await.unwrap();
        assert_eq!(n, 2);
        let n: i64 = cmd(&mut con, &["HDEL", "h", "c", "d", "new"])
            .await
            .unwrap();
        assert_eq!(n, 3);
        let n: i64 = cmd(&mut con, &["EXISTS", "h"]).await.unwrap();
        assert_eq!(n, 0, "the last HDEL deletes the key");
    }
}

#[tokio::test]
async fn errors_match_redis() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "s", "x"]).await.unwrap();
    let _: i64 = cmd(
        &mut con,
        &["HSET", "h", "str", "abc", "big", "9223372036854775807"],
    )
    .await
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["HGET", "s", "a"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["HSET", "s", "a", "1"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["HSET", "h", "a"], "ERR wrong number of arguments for 'hset' command"),
        (&["HSET", "h", "a", "1", "b"], "ERR wrong number of arguments for 'hset' command"),
        (&["HMSET", "h", "a", "1", "b"], "ERR wrong number of arguments for 'hmset' command"),
        (&["HGET", "h"], "ERR wrong number of arguments for 'hget' command"),
        (&["HINCRBY", "h", "str", "1"], "ERR hash value is not an integer"),
        (&["HINCRBY", "h", "x", "abc"], "ERR value is not an integer or out of range"),
        (&["HINCRBY", "s", "x", "abc"], "ERR value is not an integer or out of range"),
        (&["HINCRBY", "h", "big", "1"], "ERR increment or decrement would overflow"),
        (&["HINCRBYFLOAT", "h", "str", "1"], "ERR hash value is not a float"),
        (&["HINCRBYFLOAT", "h", "x", "abc"], "ERR value is not a valid float"),
        (&["HINCRBYFLOAT", "h", "x", "inf"], "ERR value is NaN or Infinity"),
        (&["HRANDFIELD", "h", "-9223372036854775808"], "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (&["HRANDFIELD", "h", "1", "WITHVALUES", "x"], "ERR syntax error"),
        (&["HRANDFIELD", "h", "1", "foo"], "ERR syntax error"),
        (&["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"], "ERR value is out of range"),
        (&["HSCAN", "h", "abc"], "ERR invalid cursor"),
        (&["HSCAN", "h", "0", "COUNT", "0"], "ERR syntax error"),
        (&["HSCAN", "h", "0", "FOO"], "ERR syntax error"),
    ];
    for (args, want) in cases {
        let e = cmd::<Value>(&mut con, args).await.unwrap_err();
        assert_eq!(err_text(&e), *want, "{args:?}");
    }
    // A failed HINCRBY changed nothing.
    let v: String = cmd(&mut con, &["HGET", "h", "big"]).await.unwrap();
    assert_eq!(v, "9223372036854775807");
}

#[tokio::test]
async fn hrandfield_shapes_and_bounds() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"])
            .await
            .unwrap();
        let one: String = cmd(&mut con, &["HRANDFIELD", "h"]).await.unwrap();
        assert!(["a", "b", "c"].contains(&one.as_str()));
        let none: Value = cmd(&mut con, &["HRANDFIELD", "missing"]).await.unwrap();
        assert_eq!(none, Value::Nil);
        let empty: Vec<String> = cmd(&mut con, &["HRANDFIELD", "missing", "3"])
            .await
            .unwrap();
        assert!(empty.is_empty());
        let mut all: Vec<String> = cmd(&mut con, &["HRANDFIELD", "h", "10"]).await.unwrap();
        all.sort();
        assert_eq!(all, ["a", "b", "c"]);
        let two: Vec<String> = cmd(&mut con, &["HRANDFIELD", "h", "2"]).await.unwrap();
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        let many: Vec<String> = cmd(&mut con, &["HRANDFIELD", "h", "-20"]).await.unwrap();
        assert_eq!(many.len(), 20);
        let wv: Value = cmd(&mut con, &["HRANDFIELD", "h", "-5", "WITHVALUES"])
            .await
            .unwrap();
        let Value::Array(items) = wv else {
            panic!("{wv:?}")
        };
        if resp3 {
            assert_eq!(items.len(), 5);
            assert!(items
                .iter()
                .all(|p| matches!(p, Value::Array(kv) if kv.len() == 2)));
        } else {
            assert_eq!(items.len(), 10);
        }
    }
    // A huge negative count is refused before anything is built.
    let mut con = srv.client().await;
    let e = cmd::<Value>(&mut con, &["HRANDFIELD", "h", "-4000000000000"])
        .await
        .unwrap_err();
    assert!(
        err_text(&e).contains("proto-max-bulk-len"),
        "{}",
        err_text(&e)
    );
}

#[tokio::test]
async fn hscan_visits_every_field_of_a_big_hash_once() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    hset_many(&mut con, "big", 0, 1000).await;
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "big"]).await.unwrap();
    assert_eq!(enc, "hashtable");
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            cmd(&mut con, &["HSCAN", "big", &cursor, "COUNT", "50"])
                .await
                .unwrap();
        for pair in items.chunks(2) {
            *seen.entry(pair[0].clone()).or_insert(0) += 1;
            if pair[0].starts_with("field-") {
                assert!(pair[1].starts_with("value-"), "{pair:?}");
            }
        }
        // Churn between calls: fields come and go.
        let _: i64 = cmd(&mut con, &["HSET", "big", &format!("extra-{rounds}"), "x"])
            .await
            .unwrap();
        rounds += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(rounds > 5, "a big hash is scanned in several calls");
    for i in 0..1000 {
        assert_eq!(seen.get(&format!("field-{i}")), Some(&1), "field-{i}");
    }
    // MATCH and NOVALUES; a small hash comes back whole with cursor 0.
    let _: i64 = cmd(&mut con, &["HSET", "small", "ab", "1", "ac", "2", "b", "3"])
        .await
        .unwrap();
    let (next, mut items): (String, Vec<String>) = cmd(
        &mut con,
        &["HSCAN", "small", "0", "MATCH", "a*", "NOVALUES"],
    )
    .await
    .unwrap();
    items.sort();
    assert_eq!(
        (next.as_str(), items),
        ("0", vec!["ab".to_string(), "ac".to_string()])
    );
    let (next, items): (String, Vec<String>) = cmd(&mut con, &["HSCAN", "missing", "0", "BADOPT"])
        .await
        .unwrap();
    assert_eq!(
        (next.as_str(), items.len()),
        ("0", 0),
        "options are judged only on a hash"
    );
}

#[tokio::test]
async fn encodings_follow_the_config() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1"]).await.unwrap();
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "h"]).await.unwrap();
    assert_eq!(enc, "listpack");
    let t: String = cmd(&mut con, &["TYPE", "h"]).await.unwrap();
    assert_eq!(t, "hash");
    let _: () = cmd(
        &mut con,
        &["CONFIG", "SET", "hash-max-ziplist-entries", "2"],
    )
    .await
    .unwrap();
    let got: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "hash-max-listpack-entries"])
        .await
        .unwrap();
    assert_eq!(got, ["hash-max-listpack-entries", "2"]);
    let _: i64 = cmd(&mut con, &["HSET", "h", "b", "2"]).await.unwrap();
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "h"]).await.unwrap();
    assert_eq!(enc, "listpack");
    let _: i64 = cmd(&mut con, &["HSET", "h", "c", "3"]).await.unwrap();
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "h"]).await.unwrap();
    assert_eq!(enc, "hashtable");
    let _: () = cmd(&mut con, &["CONFIG", "SET", "hash-max-listpack-value", "4"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["HSET", "v", "a", "12345"]).await.unwrap();
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "v"]).await.unwrap();
    assert_eq!(enc, "hashtable");
}

#[tokio::test]
async fn generic_key_commands_work_on_hashes() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["ZADD", "z", "1", "m"]).await.unwrap();
    let _: () = cmd(&mut con, &["RENAME", "h", "h2"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["COPY", "h2", "h3"]).await.unwrap();
    assert_eq!(n, 1);
    // The copy is independent of the original.
    let _: i64 = cmd(&mut con, &["HSET", "h3", "c", "3"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["HLEN", "h2"]).await.unwrap();
    assert_eq!(n, 2);
    let n: i64 = cmd(&mut con, &["MOVE", "h3", "1"]).await.unwrap();
    assert_eq!(n, 1);
    let (_, keys): (String, Vec<String>) =
        cmd(&mut con, &["SCAN", "0", "TYPE", "hash"]).await.unwrap();
    assert_eq!(keys, ["h2"]);
    let n: i64 = cmd(&mut con, &["EXPIRE", "h2", "100"]).await.unwrap();
    assert_eq!(n, 1);
    let ttl: i64 = cmd(&mut con, &["TTL", "h2"]).await.unwrap();
    assert!(ttl > 90);
    let n: i64 = cmd(&mut con, &["DEL", "h2"]).await.unwrap();
    assert_eq!(n, 1);
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["HLEN", "h3"]).await.unwrap();
    assert_eq!(n, 3);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["HLEN", "h3"]).await.unwrap();
    assert_eq!(n, 3, "the moved hash survives a restart");
}

#[tokio::test]
async fn watch_sees_hash_changes() {
    let srv = TestServer::start().await;
    let mut watcher = srv.client().await;
    let mut other = srv.client().await;
    let _: i64 = cmd(&mut other, &["HSET", "h", "a", "1"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["WATCH", "h"]).await.unwrap();
    let _: i64 = cmd(&mut other, &["HINCRBY", "h", "a", "1"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["HSET", "h", "b", "2"]).await.unwrap();
    let res: Value = cmd(&mut watcher, &["EXEC"]).await.unwrap();
    assert_eq!(
        res,
        Value::Nil,
        "EXEC aborts after the watched hash changed"
    );
    // A read, and an HDEL of nothing, do not flag the key.
    let _: () = cmd(&mut watcher, &["WATCH", "h"]).await.unwrap();
    let _: String = cmd(&mut other, &["HGET", "h", "a"]).await.unwrap();
    let _: i64 = cmd(&mut other, &["HDEL", "h", "nope"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["HSET", "h", "b", "2"]).await.unwrap();
    let res: Value = cmd(&mut watcher, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Array(vec![Value::Int(1)]));
}

#[tokio::test]
async fn hashes_survive_restart_checkpoint_and_reload() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    hset_many(&mut con, "big", 0, 3000).await;
    hset_many(&mut con, "small", 0, 10).await;
    let _: i64 = cmd(&mut con, &["HDEL", "big", "field-5", "field-6"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["HINCRBY", "big", "counter", "7"])
        .await
        .unwrap();
    let _: String = cmd(&mut con, &["HINCRBYFLOAT", "small", "f", "1.25"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["HSET", "bin", "\0\u{1}", "\u{7f}\0"])
        .await
        .unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "log replay");

    let mut con = srv.client().await;
    let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
    hset_many(&mut con, "big", 3000, 3500).await;
    let _: i64 = cmd(&mut con, &["HDEL", "big", "field-100"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["DEL", "small"]).await.unwrap();
    wait_for_checkpoint(&mut con).await;
    hset_many(&mut con, "after", 0, 5).await;
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "checkpoint + log");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(snapshot(&srv).await, before, "DEBUG RELOAD");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "after"])
        .await
        .unwrap();
    assert_eq!(enc, "listpack");
}

#[tokio::test]
async fn one_field_set_on_a_big_hash_writes_a_small_record() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    hset_many(&mut con, "big", 0, 20_000).await;
    let journal = &srv.shared.storage.journal;
    let before = journal.size();
    let _: i64 = cmd(&mut con, &["HSET", "big", "one-more", "v"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["HDEL", "big", "field-1"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["HINCRBY", "big", "n", "1"]).await.unwrap();
    let grown = journal.size() - before;
    assert!(grown < 512, "three small changes wrote {grown} bytes");
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}
