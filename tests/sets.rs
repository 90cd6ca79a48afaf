//! Sets through a stock client: replies in RESP2 and RESP3, encodings,
//! the generic key commands on sets, what survives a restart, a checkpoint
//! and DEBUG RELOAD, and how little one change to a big set writes to the
//! journal.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;

/// Every set in db 0 with its members (sorted), sorted by key.
async fn snapshot(srv: &TestServer) -> Vec<(String, BTreeSet<String>)> {
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let members: BTreeSet<String> = cmd(&mut con, &["SMEMBERS", &key]).await.unwrap();
        out.push((key, members));
    }
    out
}

async fn sadd_many(con: &mut MultiplexedConnection, key: &str, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    for i in from..to {
        pipe.cmd("SADD").arg(key).arg(format!("member-{i}"));
    }
    let _: Value = pipe.query_async(con).await.unwrap();
}

async fn wait_for_save(con: &mut MultiplexedConnection) {
    for _ in 0..400 {
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

fn strings(v: &[Value]) -> BTreeSet<String> {
    v.iter()
        .map(|x| match x {
            Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn replies_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        let n: i64 = cmd(&mut con, &["SADD", "s", "a", "b", "c", "a"])
            .await
            .unwrap();
        assert_eq!(n, 3);
        let n: i64 = cmd(&mut con, &["SADD", "t", "b", "c", "d"]).await.unwrap();
        assert_eq!(n, 3);
        for (args, expect) in [
            (vec!["SMEMBERS", "s"], vec!["a", "b", "c"]),
            (vec!["SINTER", "s", "t"], vec!["b", "c"]),
            (vec!["SUNION", "s", "t"], vec!["a", "b", "c", "d"]),
            (vec!["SDIFF", "s", "t"], vec!["a"]),
            (vec!["SMEMBERS", "nokey"], vec![]),
            (vec!["SPOP", "nokey", "3"], vec![]),
        ] {
            let v: Value = cmd(&mut con, &args).await.unwrap();
            let items = match (&v, resp3) {
                (Value::Set(items), true) | (Value::Array(items), false) => items,
                _ => panic!("{args:?} in resp3={resp3}: {v:?}"),
            };
            let expect: BTreeSet<String> = expect.iter().map(|s| s.to_string()).collect();
            assert_eq!(strings(items), expect, "{args:?}");
        }
        // SRANDMEMBER with a count is an array in both protocols.
        let v: Value = cmd(&mut con, &["SRANDMEMBER", "s", "2"]).await.unwrap();
        assert!(
            matches!(&v, Value::Array(items) if items.len() == 2),
            "{v:?}"
        );
        let v: Value = cmd(&mut con, &["SRANDMEMBER", "nokey"]).await.unwrap();
        assert_eq!(v, Value::Nil);
        let v: Vec<i64> = cmd(&mut con, &["SMISMEMBER", "s", "a", "x"]).await.unwrap();
        assert_eq!(v, vec![1, 0]);
        let v: i64 = cmd(&mut con, &["SISMEMBER", "s", "b"]).await.unwrap();
        assert_eq!(v, 1);
        let v: i64 = cmd(&mut con, &["SCARD", "s"]).await.unwrap();
        assert_eq!(v, 3);
    }
}

#[tokio::test]
async fn errors_match_redis() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "str", "v"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SADD", "s", "1", "2"]).await.unwrap();
    for (args, text) in [
        (&["SADD", "str", "a"][..], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["SINTER", "nokey", "str"][..], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["SMOVE", "s", "str", "1"][..], "WRONGTYPE Operation against a key holding the wrong kind of value"),
        (&["SPOP", "s", "-1"][..], "ERR value is out of range, must be positive"),
        (&["SPOP", "s", "1", "2"][..], "ERR syntax error"),
        (&["SRANDMEMBER", "s", "x"][..], "ERR value is not an integer or out of range"),
        (&["SRANDMEMBER", "s", "-9223372036854775808"][..], "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
        (&["SINTERCARD", "0", "s"][..], "ERR numkeys should be greater than 0"),
        (&["SINTERCARD", "3", "s"][..], "ERR Number of keys can't be greater than number of args"),
        (&["SINTERCARD", "1", "s", "LIMIT", "-1"][..], "ERR LIMIT can't be negative"),
        (&["SINTERCARD", "1", "s", "FOO"][..], "ERR syntax error"),
        (&["SSCAN", "s", "x"][..], "ERR invalid cursor"),
        (&["SSCAN", "s", "0", "COUNT", "0"][..], "ERR syntax error"),
        (&["SADD", "s"][..], "ERR wrong number of arguments for 'sadd' command"),
    ] {
        let e = cmd::<Value>(&mut con, args).await.unwrap_err();
        assert_eq!(err_text(&e), text, "{args:?}");
    }
    // A missing source answers 0 before the destination's type is checked.
    let n: i64 = cmd(&mut con, &["SMOVE", "nokey", "str", "1"])
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn pop_move_random_and_algebra() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    sadd_many(&mut con, "s", 0, 50).await;
    let popped: Vec<String> = cmd(&mut con, &["SPOP", "s", "10"]).await.unwrap();
    assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 10);
    let left: i64 = cmd(&mut con, &["SCARD", "s"]).await.unwrap();
    assert_eq!(left, 40);
    for m in &popped {
        let n: i64 = cmd(&mut con, &["SISMEMBER", "s", m]).await.unwrap();
        assert_eq!(n, 0);
    }
    let all: Vec<String> = cmd(&mut con, &["SPOP", "s", "100"]).await.unwrap();
    assert_eq!(all.len(), 40);
    let exists: i64 = cmd(&mut con, &["EXISTS", "s"]).await.unwrap();
    assert_eq!(exists, 0, "SPOP of everything deletes the key");

    let _: i64 = cmd(&mut con, &["SADD", "a", "x", "y"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["SMOVE", "a", "b", "x"]).await.unwrap();
    assert_eq!(n, 1);
    let n: i64 = cmd(&mut con, &["SMOVE", "a", "b", "nope"]).await.unwrap();
    assert_eq!(n, 0);
    let n: i64 = cmd(&mut con, &["SMOVE", "a", "a", "y"]).await.unwrap();
    assert_eq!(n, 1);
    let n: i64 = cmd(&mut con, &["SMOVE", "a", "b", "y"]).await.unwrap();
    assert_eq!(n, 1);
    let exists: i64 = cmd(&mut con, &["EXISTS", "a"]).await.unwrap();
    assert_eq!(exists, 0, "an emptied source is deleted");
    let b: BTreeSet<String> = cmd(&mut con, &["SMEMBERS", "b"]).await.unwrap();
    assert_eq!(b, ["x", "y"].iter().map(|s| s.to_string()).collect());

    // Distinct picks never repeat; negative counts may.
    sadd_many(&mut con, "r", 0, 20).await;
    let picked: Vec<String> = cmd(&mut con, &["SRANDMEMBER", "r", "15"]).await.unwrap();
    assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 15);
    let picked: Vec<String> = cmd(&mut con, &["SRANDMEMBER", "r", "100"]).await.unwrap();
    assert_eq!(picked.len(), 20);
    let picked: Vec<String> = cmd(&mut con, &["SRANDMEMBER", "r", "-100"]).await.unwrap();
    assert_eq!(picked.len(), 100);
    // A count of the client's choosing is bounded before it is built.
    let e = cmd::<Value>(&mut con, &["SRANDMEMBER", "r", "-9223372036854775807"])
        .await
        .unwrap_err();
    assert!(err_text(&e).contains("proto-max-bulk-len"), "{e}");

    let _: i64 = cmd(&mut con, &["SADD", "p", "1", "2", "3", "4"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["SADD", "q", "3", "4", "5"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["SINTERCARD", "2", "p", "q"]).await.unwrap();
    assert_eq!(n, 2);
    let n: i64 = cmd(&mut con, &["SINTERCARD", "2", "p", "q", "LIMIT", "1"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n: i64 = cmd(&mut con, &["SINTERSTORE", "i", "p", "q"])
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = cmd(&mut con, &["SUNIONSTORE", "u", "p", "q", "nokey"])
        .await
        .unwrap();
    assert_eq!(n, 5);
    let n: i64 = cmd(&mut con, &["SDIFFSTORE", "d", "p", "q"]).await.unwrap();
    assert_eq!(n, 2);
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "u"]).await.unwrap();
    assert_eq!(enc, "intset");
    // An empty result deletes the destination.
    let n: i64 = cmd(&mut con, &["SINTERSTORE", "u", "p", "nokey"])
        .await
        .unwrap();
    assert_eq!(n, 0);
    let exists: i64 = cmd(&mut con, &["EXISTS", "u"]).await.unwrap();
    assert_eq!(exists, 0);
    // A store over another type replaces it.
    let _: () = cmd(&mut con, &["SET", "str", "v"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["SDIFFSTORE", "str", "p"]).await.unwrap();
    assert_eq!(n, 4);
    let t: String = cmd(&mut con, &["TYPE", "str"]).await.unwrap();
    assert_eq!(t, "set");
}

#[tokio::test]
async fn encodings_follow_the_config() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let enc = |con: &mut MultiplexedConnection, key: &'static str| {
        let mut con = con.clone();
        async move {
            cmd::<String>(&mut con, &["OBJECT", "ENCODING", key])
                .await
                .unwrap()
        }
    };
    let _: i64 = cmd(&mut con, &["SADD", "i", "1", "2", "-3"]).await.unwrap();
    assert_eq!(enc(&mut con, "i").await, "intset");
    let v: Vec<String> = cmd(&mut con, &["SMEMBERS", "i"]).await.unwrap();
    assert_eq!(v, vec!["-3", "1", "2"], "an intset lists in order");
    let _: i64 = cmd(&mut con, &["SADD", "i", "a"]).await.unwrap();
    assert_eq!(enc(&mut con, "i").await, "listpack");
    let long = "x".repeat(65);
    let _: i64 = cmd(&mut con, &["SADD", "i", &long]).await.unwrap();
    assert_eq!(enc(&mut con, "i").await, "hashtable");

    let _: () = cmd(&mut con, &["CONFIG", "SET", "set-max-intset-entries", "4"])
        .await
        .unwrap();
    let _: () = cmd(
        &mut con,
        &["CONFIG", "SET", "set-max-listpack-entries", "2"],
    )
    .await
    .unwrap();
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "set-max-*"])
        .await
        .unwrap();
    assert_eq!(v.len(), 6, "{v:?}");
    let _: i64 = cmd(&mut con, &["SADD", "j", "1", "2", "3", "4"])
        .await
        .unwrap();
    assert_eq!(enc(&mut con, "j").await, "intset");
    let _: i64 = cmd(&mut con, &["SADD", "j", "5"]).await.unwrap();
    assert_eq!(enc(&mut con, "j").await, "hashtable");
    let _: i64 = cmd(&mut con, &["SADD", "k", "a", "b", "c"]).await.unwrap();
    assert_eq!(enc(&mut con, "k").await, "hashtable");
    let _: i64 = cmd(&mut con, &["SADD", "l", "a", "b"]).await.unwrap();
    assert_eq!(enc(&mut con, "l").await, "listpack");
    // More arguments than a listpack holds convert it first, even when
    // most are already members.
    let _: i64 = cmd(&mut con, &["SADD", "m", "a"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SADD", "m", "a", "a", "b"]).await.unwrap();
    assert_eq!(enc(&mut con, "m").await, "hashtable");
}

#[tokio::test]
async fn key_commands_work_on_sets() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["SADD", "s", "a", "b"]).await.unwrap();
    let t: String = cmd(&mut con, &["TYPE", "s"]).await.unwrap();
    assert_eq!(t, "set");
    let _: () = cmd(&mut con, &["RENAME", "s", "r"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["COPY", "r", "c"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SADD", "c", "z"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["SCARD", "r"]).await.unwrap();
    assert_eq!(n, 2, "a copy is independent");
    let _: i64 = cmd(&mut con, &["MOVE", "c", "1"]).await.unwrap();
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["SCARD", "c"]).await.unwrap();
    assert_eq!(n, 3);
    let _: () = cmd(&mut con, &["SELECT", "0"]).await.unwrap();
    let _: () = cmd(&mut con, &["SET", "str", "v"]).await.unwrap();
    let v: Vec<Value> = cmd(&mut con, &["SCAN", "0", "TYPE", "set"]).await.unwrap();
    assert_eq!(v[1], Value::Array(vec![Value::BulkString(b"r".to_vec())]));
    let _: i64 = cmd(&mut con, &["PEXPIRE", "r", "50"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    let n: i64 = cmd(&mut con, &["SCARD", "r"]).await.unwrap();
    assert_eq!(n, 0, "expired");
    let _: i64 = cmd(&mut con, &["SADD", "w", "a"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["DEL", "w"]).await.unwrap();
    assert_eq!(n, 1);

    // WATCH sees a set change; SADD of an existing member changes nothing.
    let mut other = srv.client().await;
    let _: i64 = cmd(&mut other, &["SADD", "w", "a"]).await.unwrap();
    let _: () = cmd(&mut con, &["WATCH", "w"]).await.unwrap();
    let _: i64 = cmd(&mut other, &["SADD", "w", "a"]).await.unwrap();
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["SCARD", "w"]).await.unwrap();
    let res: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Array(vec![Value::Int(1)]));
    let _: () = cmd(&mut con, &["WATCH", "w"]).await.unwrap();
    let _: i64 = cmd(&mut other, &["SREM", "w", "a"]).await.unwrap();
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["SCARD", "w"]).await.unwrap();
    let res: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Nil, "EXEC aborts after the watched set changed");
}

#[tokio::test]
async fn sscan_visits_every_stable_member_once() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    sadd_many(&mut con, "s", 0, 2000).await;
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            cmd(&mut con, &["SSCAN", "s", &cursor, "COUNT", "50"])
                .await
                .unwrap();
        seen.extend(batch);
        // Churn between calls: remove members not yet seen, add new ones.
        let _: i64 = cmd(
            &mut con,
            &["SREM", "s", &format!("member-{}", 1999 - round)],
        )
        .await
        .unwrap();
        let _: i64 = cmd(&mut con, &["SADD", "s", &format!("new-{round}")])
            .await
            .unwrap();
        round += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..(2000 - round) {
        let m = format!("member-{i}");
        assert_eq!(seen.iter().filter(|s| **s == m).count(), 1, "{m}");
    }
    let (next, batch): (String, Vec<String>) = cmd(
        &mut con,
        &["SSCAN", "s", "0", "MATCH", "member-19??", "COUNT", "100000"],
    )
    .await
    .unwrap();
    assert_eq!(next, "0");
    assert!(batch.iter().all(|m| m.starts_with("member-19")));
    assert!(!batch.is_empty());
}

#[tokio::test]
async fn sets_survive_restart_checkpoint_and_reload() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    sadd_many(&mut con, "big", 0, 3000).await;
    let _: i64 = cmd(&mut con, &["SADD", "ints", "1", "2", "3"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["SREM", "big", "member-5", "member-6"])
        .await
        .unwrap();
    let _: Value = cmd(&mut con, &["SPOP", "big", "7"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SMOVE", "big", "ints", "member-9"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["SUNIONSTORE", "u", "ints", "nokey"])
        .await
        .unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "log replay");

    // A checkpoint (the big set is copied in pieces), then more changes in
    // the log after it.
    let mut con = srv.client().await;
    let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
    sadd_many(&mut con, "big", 3000, 3500).await;
    let _: Value = cmd(&mut con, &["SPOP", "big", "20"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["DEL", "u"]).await.unwrap();
    wait_for_save(&mut con).await;
    sadd_many(&mut con, "ints", 100, 110).await;
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "checkpoint + log");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(snapshot(&srv).await, before, "DEBUG RELOAD");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "big"]).await.unwrap();
    assert_eq!(enc, "hashtable");
}

#[tokio::test]
async fn a_checkpoint_while_sets_are_written_recovers_exactly() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    sadd_many(&mut con, "big", 0, 20_000).await;
    let writer = {
        let mut con = srv.client().await;
        tokio::spawn(async move {
            for i in 0..400 {
                let _: i64 = cmd(&mut con, &["SADD", "big", &format!("w-{i}")])
                    .await
                    .unwrap();
                let _: i64 = cmd(&mut con, &["SREM", "big", &format!("member-{}", i * 7)])
                    .await
                    .unwrap();
                let _: Value = cmd(&mut con, &["SPOP", "big"]).await.unwrap();
            }
        })
    };
    for _ in 0..3 {
        let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
        wait_for_save(&mut con).await;
    }
    writer.await.unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}

#[tokio::test]
async fn one_member_added_to_a_big_set_writes_a_small_record() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    sadd_many(&mut con, "big", 0, 20_000).await;
    let journal = &srv.shared.storage.journal;
    let before = journal.size();
    let _: i64 = cmd(&mut con, &["SADD", "big", "one-more"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SREM", "big", "member-1"]).await.unwrap();
    let _: Value = cmd(&mut con, &["SPOP", "big"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["SMOVE", "big", "other", "member-2"])
        .await
        .unwrap();
    let grown = journal.size() - before;
    assert!(grown < 600, "four small changes wrote {grown} bytes");
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}

#[tokio::test]
async fn acl_key_permissions_follow_what_each_key_is_used_for() {
    let srv = TestServer::start().await;
    let mut admin = srv.client().await;
    let _: () = cmd(
        &mut admin,
        &[
            "ACL", "SETUSER", "u", "on", ">pw", "+@all", "%R~src*", "%W~dst*",
        ],
    )
    .await
    .unwrap();
    let _: i64 = cmd(&mut admin, &["SADD", "src1", "a"]).await.unwrap();
    let _: () = cmd(&mut admin, &["SET", "srcbits", "x"]).await.unwrap();
    let mut con = srv.connect_as("u", "pw").await;
    for args in [
        &["SINTERSTORE", "dst", "src1"][..],
        &["SUNIONSTORE", "dst", "src1", "src2"][..],
        &["SDIFFSTORE", "dst", "src1"][..],
        &["SINTERCARD", "1", "src1"][..],
        &["BITOP", "NOT", "dstbits", "srcbits"][..],
    ] {
        let r = cmd::<Value>(&mut con, args).await;
        assert!(r.is_ok(), "{args:?}: {r:?}");
    }
    for args in [
        &["SINTERSTORE", "src1", "dst"][..],
        &["SMOVE", "src1", "dst", "a"][..],
        &["SPOP", "src1"][..],
        &["SETBIT", "dstbits", "0", "1"][..],
    ] {
        let e = cmd::<Value>(&mut con, args).await.unwrap_err();
        assert!(err_text(&e).starts_with("NOPERM"), "{args:?}: {e}");
    }
}
