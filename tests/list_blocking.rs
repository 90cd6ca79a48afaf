//! Blocking list pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP): who is
//! served first, timeouts, MULTI/EXEC, chained wake-ups through BLMOVE,
//! keys deleted or replaced while clients wait.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::Value;

fn spawn_blocked(
    srv: &TestServer,
    resp3: bool,
    args: &'static [&'static str],
) -> tokio::task::JoinHandle<redis::RedisResult<Value>> {
    let url = srv.url(resp3);
    tokio::spawn(async move {
        let mut con = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new().set_response_timeout(Duration::from_secs(10)),
            )
            .await
            .unwrap();
        cmd(&mut con, args).await
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

fn pair(k: &str, v: &str) -> Value {
    Value::Array(vec![bulk(k), bulk(v)])
}

async fn reply(h: tokio::task::JoinHandle<redis::RedisResult<Value>>) -> Value {
    tokio::time::timeout(Duration::from_secs(5), h)
        .await
        .expect("the blocked client was never answered")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn first_blocked_is_first_served_across_lists() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let first = spawn_blocked(&srv, resp3, &["BLPOP", "q", "0"]);
        wait_blocked(&srv, 1).await;
        let second = spawn_blocked(&srv, resp3, &["BRPOP", "other", "q", "0"]);
        wait_blocked(&srv, 2).await;
        let third = spawn_blocked(&srv, resp3, &["BLPOP", "q", "0"]);
        wait_blocked(&srv, 3).await;
        let mut con = srv.connect(resp3).await;
        let n: i64 = cmd(&mut con, &["RPUSH", "q", "a", "b"]).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(reply(first).await, pair("q", "a"));
        assert_eq!(reply(second).await, pair("q", "b"));
        wait_blocked(&srv, 1).await;
        let _: i64 = cmd(&mut con, &["LPUSH", "other", "o"]).await.unwrap();
        let _: i64 = cmd(&mut con, &["LPUSH", "q", "c"]).await.unwrap();
        assert_eq!(reply(third).await, pair("q", "c"));
        let left: i64 = cmd(&mut con, &["LLEN", "other"]).await.unwrap();
        assert_eq!(left, 1);
        let _: () = cmd(&mut con, &["DEL", "other"]).await.unwrap();
    }
}

#[tokio::test]
async fn timeouts_fractional_and_their_null_shapes() {
    let srv = TestServer::start().await;
    // RESP2: every blocking list pop times out with a null array, as in
    // Redis (BLMOVE too; only inside MULTI does it reply a null bulk).
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"BLPOP nokey 0.05\r\n").await, "*-1\r\n");
    assert_eq!(
        raw.request(b"BLMOVE nokey dst LEFT LEFT 0.05\r\n").await,
        "*-1\r\n"
    );
    assert_eq!(
        raw.request(b"BRPOPLPUSH nokey dst 0.05\r\n").await,
        "*-1\r\n"
    );
    assert_eq!(
        raw.request(b"BLMPOP 0.05 1 nokey LEFT\r\n").await,
        "*-1\r\n"
    );
    wait_blocked(&srv, 0).await;
    // RESP3: nulls.
    let mut raw = srv.raw().await;
    let hello = raw.request(b"HELLO 3\r\n").await;
    assert!(hello.starts_with('%'), "{hello}");
    assert_eq!(raw.request(b"BLPOP nokey 0.01\r\n").await, "_\r\n");
    assert_eq!(
        raw.request(b"BLMOVE nokey dst LEFT LEFT 0.01\r\n").await,
        "_\r\n"
    );
    // Timeout 0 waits for ever: still waiting after a while.
    let waiter = spawn_blocked(&srv, false, &["BLPOP", "forever", "0"]);
    wait_blocked(&srv, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished());
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["RPUSH", "forever", "x"]).await.unwrap();
    assert_eq!(reply(waiter).await, pair("forever", "x"));
}

#[tokio::test]
async fn multi_wakes_after_exec_and_blocking_inside_multi_does_not_block() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let waiter = spawn_blocked(
        &srv,
        false,
        &["BLMPOP", "0", "1", "later", "RIGHT", "COUNT", "2"],
    );
    wait_blocked(&srv, 1).await;
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["RPUSH", "later", "a", "b", "c"])
        .await
        .unwrap();
    let _: () = cmd(&mut con, &["LPOP", "later"]).await.unwrap();
    let res: Vec<Value> = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, [Value::Int(3), bulk("a")]);
    // The waiter saw the list as EXEC left it: b, c.
    assert_eq!(
        reply(waiter).await,
        Value::Array(vec![
            bulk("later"),
            Value::Array(vec![bulk("c"), bulk("b")])
        ])
    );
    // Inside MULTI the blocking forms reply at once.
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["BLPOP", "nokey", "0"]).await.unwrap();
    let _: () = cmd(&mut con, &["BLMOVE", "nokey", "x", "LEFT", "LEFT", "0"])
        .await
        .unwrap();
    let _: () = cmd(&mut con, &["BRPOPLPUSH", "nokey", "x", "0"])
        .await
        .unwrap();
    let res: Vec<Value> = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, [Value::Nil, Value::Nil, Value::Nil]);
    let mut raw = srv.raw().await;
    raw.request(b"MULTI\r\n").await;
    raw.request(b"BLPOP nokey 0\r\n").await;
    raw.request(b"BLMOVE nokey x LEFT LEFT 0\r\n").await;
    assert_eq!(raw.request(b"EXEC\r\n").await, "*2\r\n*-1\r\n$-1\r\n");
}

#[tokio::test]
async fn blmove_chains_wake_ups() {
    let srv = TestServer::start().await;
    // A waits on a (moving to b), B waits on b (moving to c), C waits on c.
    let a = spawn_blocked(&srv, false, &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"]);
    wait_blocked(&srv, 1).await;
    let b = spawn_blocked(&srv, false, &["BRPOPLPUSH", "b", "c", "0"]);
    wait_blocked(&srv, 2).await;
    let c = spawn_blocked(&srv, true, &["BRPOP", "c", "0"]);
    wait_blocked(&srv, 3).await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["RPUSH", "a", "x"]).await.unwrap();
    assert_eq!(reply(a).await, bulk("x"));
    assert_eq!(reply(b).await, bulk("x"));
    assert_eq!(reply(c).await, pair("c", "x"));
    for key in ["a", "b", "c"] {
        let n: i64 = cmd(&mut con, &["EXISTS", key]).await.unwrap();
        assert_eq!(n, 0, "{key} is empty and gone");
    }
    // A BLMOVE onto the list its own source: rotation.
    let _: i64 = cmd(&mut con, &["RPUSH", "r", "1", "2"]).await.unwrap();
    let v: String = cmd(&mut con, &["BLMOVE", "r", "r", "LEFT", "RIGHT", "0"])
        .await
        .unwrap();
    assert_eq!(v, "1");
}

#[tokio::test]
async fn deleted_or_retyped_keys_keep_clients_waiting() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let waiter = spawn_blocked(&srv, false, &["BLPOP", "k", "0"]);
    wait_blocked(&srv, 1).await;
    // Another type at the key: the waiter keeps waiting.
    let _: () = cmd(&mut con, &["SET", "k", "string"]).await.unwrap();
    let _: () = cmd(&mut con, &["DEL", "k"]).await.unwrap();
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["RPUSH", "k", "gone"]).await.unwrap();
    let _: () = cmd(&mut con, &["DEL", "k"]).await.unwrap();
    let _: Vec<Value> = cmd(&mut con, &["EXEC"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    wait_blocked(&srv, 1).await;
    let _: i64 = cmd(&mut con, &["RPUSH", "k", "real"]).await.unwrap();
    assert_eq!(reply(waiter).await, pair("k", "real"));

    // A BLMOVE whose destination holds another type gets WRONGTYPE when
    // its source fills, and the source keeps its element.
    let _: () = cmd(&mut con, &["SET", "dst", "string"]).await.unwrap();
    let waiter = spawn_blocked(&srv, false, &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
    wait_blocked(&srv, 1).await;
    let _: i64 = cmd(&mut con, &["RPUSH", "src", "e"]).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(err_text(&outcome.unwrap_err()).starts_with("WRONGTYPE"));
    let n: i64 = cmd(&mut con, &["LLEN", "src"]).await.unwrap();
    assert_eq!(n, 1);
    // Straight away, a wrong-typed key is an error.
    let e = cmd::<Value>(&mut con, &["BLPOP", "dst", "0"])
        .await
        .unwrap_err();
    assert!(err_text(&e).starts_with("WRONGTYPE"));
}

#[tokio::test]
async fn a_served_waiter_is_journaled() {
    let srv = TestServer::start().await;
    let waiter = spawn_blocked(&srv, false, &["BLMOVE", "in", "out", "RIGHT", "LEFT", "0"]);
    wait_blocked(&srv, 1).await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["RPUSH", "in", "1", "2", "3"])
        .await
        .unwrap();
    assert_eq!(reply(waiter).await, bulk("3"));
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    let v: Vec<String> = cmd(&mut con, &["LRANGE", "in", "0", "-1"]).await.unwrap();
    assert_eq!(v, ["1", "2"]);
    let v: Vec<String> = cmd(&mut con, &["LRANGE", "out", "0", "-1"]).await.unwrap();
    assert_eq!(v, ["3"]);
}
