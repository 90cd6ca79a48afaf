//! Sorted sets through a stock client: replies in RESP2 and RESP3, what
//! survives a restart, a checkpoint and DEBUG RELOAD, how little one change
//! to a big set writes to the journal, and blocking pops.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::Value;

/// Every sorted set in db 0 with its members and scores, sorted by key.
async fn snapshot(srv: &TestServer) -> Vec<(String, Vec<(String, String)>)> {
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let flat: Vec<String> = cmd(&mut con, &["ZRANGE", &key, "0", "-1", "WITHSCORES"])
            .await
            .unwrap();
        let pairs = flat
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect();
        out.push((key, pairs));
    }
    out
}

async fn zadd_many(con: &mut redis::aio::MultiplexedConnection, key: &str, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    for i in from..to {
        pipe.cmd("ZADD")
            .arg(key)
            .arg((i % 97) as f64 / 4.0)
            .arg(format!("member-{i}"));
    }
    let _: Value = pipe.query_async(con).await.unwrap();
}

#[tokio::test]
async fn replies_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["DEL", "z"]).await.unwrap();
        let n: i64 = cmd(&mut con, &["ZADD", "z", "1.5", "a", "2", "b", "-inf", "c"])
            .await
            .unwrap();
        assert_eq!(n, 3);
        let score: Value = cmd(&mut con, &["ZSCORE", "z", "a"]).await.unwrap();
        if resp3 {
            assert_eq!(score, Value::Double(1.5));
        } else {
            assert_eq!(score, Value::BulkString(b"1.5".to_vec()));
        }
        let range: Value = cmd(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"])
            .await
            .unwrap();
        let Value::Array(items) = range else {
            panic!("not an array: {range:?}")
        };
        if resp3 {
            assert_eq!(items.len(), 3);
            assert_eq!(
                items[0],
                Value::Array(vec![
                    Value::BulkString(b"c".to_vec()),
                    Value::Double(f64::NEG_INFINITY)
                ])
            );
        } else {
            assert_eq!(items.len(), 6);
            assert_eq!(items[1], Value::BulkString(b"-inf".to_vec()));
        }
        let popped: Value = cmd(&mut con, &["ZPOPMAX", "z"]).await.unwrap();
        let Value::Array(flat) = popped else {
            panic!("not an array")
        };
        assert_eq!(
            flat.len(),
            2,
            "without COUNT the pair is flat in both protocols"
        );
        let mpop: Value = cmd(&mut con, &["ZMPOP", "1", "z", "MIN", "COUNT", "5"])
            .await
            .unwrap();
        let Value::Array(parts) = mpop else {
            panic!("not an array")
        };
        assert_eq!(parts[0], Value::BulkString(b"z".to_vec()));
        assert!(matches!(&parts[1], Value::Array(pairs) if pairs.len() == 2));
        let exists: i64 = cmd(&mut con, &["EXISTS", "z"]).await.unwrap();
        assert_eq!(exists, 0, "the emptied set is deleted");
        let e = cmd::<Value>(&mut con, &["ZADD", "z", "GT", "LT", "1", "a"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
    }
}

#[tokio::test]
async fn sorted_sets_survive_restart_checkpoint_and_reload() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    zadd_many(&mut con, "big", 0, 3000).await;
    zadd_many(&mut con, "small", 0, 10).await;
    let _: i64 = cmd(&mut con, &["ZREM", "big", "member-5", "member-6"])
        .await
        .unwrap();
    let _: f64 = cmd(&mut con, &["ZINCRBY", "big", "100", "member-7"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["ZREMRANGEBYRANK", "big", "0", "9"])
        .await
        .unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "log replay");

    // A checkpoint (BGREWRITEAOF), then more changes in the log after it.
    let mut con = srv.client().await;
    let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
    zadd_many(&mut con, "big", 3000, 3500).await;
    let _: Value = cmd(&mut con, &["ZPOPMIN", "big", "20"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["ZRANGESTORE", "copy", "big", "0", "99"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["DEL", "small"]).await.unwrap();
    // SAVE once the background checkpoint is done.
    let mut saved = false;
    for _ in 0..200 {
        match cmd::<()>(&mut con, &["SAVE"]).await {
            Ok(()) => {
                saved = true;
                break;
            }
            Err(e) if err_text(&e).contains("in progress") => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(saved, "the background checkpoint never finished");
    zadd_many(&mut con, "copy", 5000, 5010).await;
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "checkpoint + log");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(snapshot(&srv).await, before, "DEBUG RELOAD");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "copy"])
        .await
        .unwrap();
    assert_eq!(enc, "listpack", "110 short members load as a listpack");
}

#[tokio::test]
async fn one_member_added_to_a_big_set_writes_a_small_record() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    zadd_many(&mut con, "big", 0, 20_000).await;
    let journal = &srv.shared.storage.journal;
    let before = journal.size();
    let _: i64 = cmd(&mut con, &["ZADD", "big", "1.5", "one-more"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["ZREM", "big", "member-1"]).await.unwrap();
    let _: Value = cmd(&mut con, &["ZPOPMAX", "big"]).await.unwrap();
    let grown = journal.size() - before;
    // The set itself is ~20000 × 20 bytes.
    assert!(grown < 512, "three small changes wrote {grown} bytes");
    // ... and still replays to the same set.
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}

#[tokio::test]
async fn watch_sees_sorted_set_changes() {
    let srv = TestServer::start().await;
    let mut watcher = srv.client().await;
    let mut other = srv.client().await;
    let _: i64 = cmd(&mut other, &["ZADD", "z", "1", "a"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["WATCH", "z"]).await.unwrap();
    let _: i64 = cmd(&mut other, &["ZINCRBY", "z", "1", "a"])
        .await
        .map(|_: f64| 0)
        .unwrap();
    let _: () = cmd(&mut watcher, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut watcher, &["ZADD", "z", "5", "b"]).await.unwrap();
    let res: Value = cmd(&mut watcher, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Nil, "EXEC aborts after the watched set changed");
}

/// Sends a blocking command on its own connection; the handle yields its
/// reply.
fn spawn_blocked(
    srv: &TestServer,
    resp3: bool,
    args: &'static [&'static str],
) -> tokio::task::JoinHandle<Value> {
    let url = srv.url(resp3);
    tokio::spawn(async move {
        let mut con = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new().set_response_timeout(Duration::from_secs(10)),
            )
            .await
            .unwrap();
        cmd(&mut con, args).await.unwrap()
    })
}

async fn wait_blocked(srv: &TestServer, n: usize) {
    for _ in 0..300 {
        if srv
            .shared
            .keyspace
            .lock()
            .unwrap()
            .blocking
            .blocked_clients()
            == n
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never saw {n} blocked clients");
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[tokio::test]
async fn blocked_pops_are_served_in_fifo_order() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let first = spawn_blocked(&srv, resp3, &["BZPOPMIN", "q", "0"]);
        wait_blocked(&srv, 1).await;
        let second = spawn_blocked(&srv, resp3, &["BZPOPMIN", "other", "q", "0"]);
        wait_blocked(&srv, 2).await;
        let mut con = srv.connect(resp3).await;
        let _: i64 = cmd(&mut con, &["ZADD", "q", "1", "a", "2", "b"])
            .await
            .unwrap();
        let score = |s: &str| {
            if resp3 {
                Value::Double(s.parse().unwrap())
            } else {
                bulk(s)
            }
        };
        assert_eq!(
            first.await.unwrap(),
            Value::Array(vec![bulk("q"), bulk("a"), score("1")])
        );
        assert_eq!(
            second.await.unwrap(),
            Value::Array(vec![bulk("q"), bulk("b"), score("2")])
        );
        let exists: i64 = cmd(&mut con, &["EXISTS", "q"]).await.unwrap();
        assert_eq!(exists, 0);
    }
}

#[tokio::test]
async fn blocked_pop_times_out_and_is_woken_by_exec() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let timed_out = spawn_blocked(&srv, false, &["BZPOPMAX", "nokey", "0.05"]);
    assert_eq!(timed_out.await.unwrap(), Value::Nil);
    wait_blocked(&srv, 0).await;

    // A key created later by a transaction wakes the waiter once EXEC ends.
    let waiter = spawn_blocked(
        &srv,
        false,
        &["BZMPOP", "0", "1", "later", "MAX", "COUNT", "2"],
    );
    wait_blocked(&srv, 1).await;
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["ZADD", "later", "1", "a", "2", "b", "3", "c"])
        .await
        .unwrap();
    let _: () = cmd(&mut con, &["ZREM", "later", "c"]).await.unwrap();
    let _: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(
        waiter.await.unwrap(),
        Value::Array(vec![
            bulk("later"),
            Value::Array(vec![
                Value::Array(vec![bulk("b"), bulk("2")]),
                Value::Array(vec![bulk("a"), bulk("1")]),
            ])
        ])
    );

    // Inside MULTI a blocking pop never blocks.
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["BZPOPMIN", "nokey", "0"]).await.unwrap();
    let res: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Array(vec![Value::Nil]));
}
