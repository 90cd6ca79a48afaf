//! Lists through a stock client: replies in RESP2 and RESP3, errors, the
//! generic key commands on lists, what survives a restart, a checkpoint
//! and DEBUG RELOAD, and how little one change to a big list writes to the
//! journal.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::Value;

type Con = redis::aio::MultiplexedConnection;

async fn strings(con: &mut Con, args: &[&str]) -> Vec<String> {
    cmd(con, args).await.unwrap()
}

async fn int(con: &mut Con, args: &[&str]) -> i64 {
    cmd(con, args).await.unwrap()
}

async fn err(con: &mut Con, args: &[&str]) -> String {
    match cmd::<Value>(con, args).await {
        Ok(v) => panic!("{args:?} replied {v:?}, not an error"),
        Err(e) => err_text(&e),
    }
}

/// Every list in db 0 with its elements, sorted by key.
async fn snapshot(srv: &TestServer) -> Vec<(String, Vec<String>)> {
    let mut con = srv.client().await;
    let mut keys: Vec<String> = strings(&mut con, &["KEYS", "*"]).await;
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        out.push((
            key.clone(),
            strings(&mut con, &["LRANGE", &key, "0", "-1"]).await,
        ));
    }
    out
}

async fn rpush_many(con: &mut Con, key: &str, from: usize, to: usize) {
    let mut pipe = redis::pipe();
    for i in from..to {
        pipe.cmd("RPUSH").arg(key).arg(format!("item-{i}"));
    }
    let _: Value = pipe.query_async(con).await.unwrap();
}

#[tokio::test]
async fn pushes_pops_and_ranges_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["DEL", "l", "empty"]).await.unwrap();
        assert_eq!(int(&mut con, &["RPUSH", "l", "b", "c"]).await, 2);
        assert_eq!(int(&mut con, &["LPUSH", "l", "a", "0"]).await, 4);
        assert_eq!(
            strings(&mut con, &["LRANGE", "l", "0", "-1"]).await,
            ["0", "a", "b", "c"]
        );
        assert_eq!(
            strings(&mut con, &["LRANGE", "l", "-2", "100"]).await,
            ["b", "c"]
        );
        assert!(strings(&mut con, &["LRANGE", "l", "3", "1"])
            .await
            .is_empty());
        assert_eq!(int(&mut con, &["LLEN", "l"]).await, 4);
        assert_eq!(int(&mut con, &["LPUSHX", "empty", "x"]).await, 0);
        assert_eq!(int(&mut con, &["RPUSHX", "l", "d"]).await, 5);
        let v: Value = cmd(&mut con, &["LPOP", "l"]).await.unwrap();
        assert_eq!(v, Value::BulkString(b"0".to_vec()));
        let v: Vec<String> = cmd(&mut con, &["RPOP", "l", "2"]).await.unwrap();
        assert_eq!(v, ["d", "c"]);
        // Count 0 on a list: an empty array; any count on a missing key:
        // a null (array), and a null bulk string without a count.
        let v: Value = cmd(&mut con, &["LPOP", "l", "0"]).await.unwrap();
        assert_eq!(v, Value::Array(vec![]));
        let v: Value = cmd(&mut con, &["LPOP", "empty", "3"]).await.unwrap();
        assert_eq!(v, Value::Nil);
        let v: Value = cmd(&mut con, &["RPOP", "empty"]).await.unwrap();
        assert_eq!(v, Value::Nil);
        let v: Value = cmd(&mut con, &["LINDEX", "l", "-1"]).await.unwrap();
        assert_eq!(v, Value::BulkString(b"b".to_vec()));
        let v: Value = cmd(&mut con, &["LINDEX", "l", "9"]).await.unwrap();
        assert_eq!(v, Value::Nil);
        // Popping the last element deletes the key.
        let _: Vec<String> = cmd(&mut con, &["LPOP", "l", "10"]).await.unwrap();
        assert_eq!(int(&mut con, &["EXISTS", "l"]).await, 0);
    }
}

#[tokio::test]
async fn edits_in_the_middle() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    int(&mut con, &["RPUSH", "l", "a", "b", "c", "b", "a"]).await;
    assert_eq!(
        int(&mut con, &["LINSERT", "l", "BEFORE", "c", "x"]).await,
        6
    );
    assert_eq!(int(&mut con, &["LINSERT", "l", "after", "a", "y"]).await, 7);
    assert_eq!(
        int(&mut con, &["LINSERT", "l", "AFTER", "zz", "y"]).await,
        -1
    );
    assert_eq!(
        int(&mut con, &["LINSERT", "nokey", "AFTER", "a", "y"]).await,
        0
    );
    assert_eq!(
        strings(&mut con, &["LRANGE", "l", "0", "-1"]).await,
        ["a", "y", "b", "x", "c", "b", "a"]
    );
    let _: () = cmd(&mut con, &["LSET", "l", "-1", "z"]).await.unwrap();
    assert_eq!(
        err(&mut con, &["LSET", "l", "7", "z"]).await,
        "ERR index out of range"
    );
    assert_eq!(
        err(&mut con, &["LSET", "nokey", "0", "z"]).await,
        "ERR no such key"
    );
    assert_eq!(int(&mut con, &["LREM", "l", "-1", "b"]).await, 1);
    assert_eq!(int(&mut con, &["LREM", "l", "0", "nothing"]).await, 0);
    assert_eq!(
        strings(&mut con, &["LRANGE", "l", "0", "-1"]).await,
        ["a", "y", "b", "x", "c", "z"]
    );
    let _: () = cmd(&mut con, &["LTRIM", "l", "1", "-2"]).await.unwrap();
    assert_eq!(
        strings(&mut con, &["LRANGE", "l", "0", "-1"]).await,
        ["y", "b", "x", "c"]
    );
    let _: () = cmd(&mut con, &["LTRIM", "l", "5", "10"]).await.unwrap();
    assert_eq!(int(&mut con, &["EXISTS", "l"]).await, 0);
}

#[tokio::test]
async fn lpos_options_and_errors() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    int(
        &mut con,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
    )
    .await;
    assert_eq!(int(&mut con, &["LPOS", "l", "c"]).await, 2);
    assert_eq!(int(&mut con, &["LPOS", "l", "c", "RANK", "2"]).await, 6);
    assert_eq!(int(&mut con, &["LPOS", "l", "c", "RANK", "-1"]).await, 7);
    let v: Vec<i64> = cmd(&mut con, &["LPOS", "l", "c", "COUNT", "0"])
        .await
        .unwrap();
    assert_eq!(v, [2, 6, 7]);
    let v: Vec<i64> = cmd(&mut con, &["LPOS", "l", "c", "RANK", "-2", "COUNT", "5"])
        .await
        .unwrap();
    assert_eq!(v, [6, 2]);
    let v: Value = cmd(&mut con, &["LPOS", "l", "c", "MAXLEN", "2"])
        .await
        .unwrap();
    assert_eq!(v, Value::Nil);
    let v: Vec<i64> = cmd(&mut con, &["LPOS", "nokey", "c", "COUNT", "1"])
        .await
        .unwrap();
    assert!(v.is_empty());
    assert!(err(&mut con, &["LPOS", "l", "c", "RANK", "0"])
        .await
        .starts_with("ERR RANK can't be zero"));
    assert_eq!(
        err(&mut con, &["LPOS", "l", "c", "RANK", "-9223372036854775808"]).await,
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        err(&mut con, &["LPOS", "l", "c", "COUNT", "-1"]).await,
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        err(&mut con, &["LPOS", "l", "c", "MAXLEN", "-1"]).await,
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(
        err(&mut con, &["LPOS", "l", "c", "FOO", "1"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["LPOS", "l", "c", "RANK"]).await,
        "ERR syntax error"
    );
}

#[tokio::test]
async fn moves_and_multi_pops() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["FLUSHALL"]).await.unwrap();
        int(&mut con, &["RPUSH", "src", "a", "b", "c"]).await;
        let v: String = cmd(&mut con, &["LMOVE", "src", "dst", "LEFT", "RIGHT"])
            .await
            .unwrap();
        assert_eq!(v, "a");
        let v: String = cmd(&mut con, &["RPOPLPUSH", "src", "dst"]).await.unwrap();
        assert_eq!(v, "c");
        assert_eq!(
            strings(&mut con, &["LRANGE", "dst", "0", "-1"]).await,
            ["c", "a"]
        );
        // Rotating one list onto itself.
        let v: String = cmd(&mut con, &["LMOVE", "dst", "dst", "LEFT", "RIGHT"])
            .await
            .unwrap();
        assert_eq!(v, "c");
        assert_eq!(
            strings(&mut con, &["LRANGE", "dst", "0", "-1"]).await,
            ["a", "c"]
        );
        let v: Value = cmd(&mut con, &["LMOVE", "nokey", "dst", "LEFT", "LEFT"])
            .await
            .unwrap();
        assert_eq!(v, Value::Nil);
        let _: () = cmd(&mut con, &["SET", "str", "x"]).await.unwrap();
        assert!(err(&mut con, &["LMOVE", "src", "str", "LEFT", "LEFT"])
            .await
            .starts_with("WRONGTYPE"));
        assert_eq!(
            int(&mut con, &["LLEN", "src"]).await,
            1,
            "nothing popped on WRONGTYPE"
        );
        assert_eq!(
            err(&mut con, &["LMOVE", "src", "dst", "UP", "LEFT"]).await,
            "ERR syntax error"
        );

        let v: Value = cmd(
            &mut con,
            &["LMPOP", "2", "nokey", "dst", "RIGHT", "COUNT", "5"],
        )
        .await
        .unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::BulkString(b"dst".to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"c".to_vec()),
                    Value::BulkString(b"a".to_vec())
                ]),
            ])
        );
        let v: Value = cmd(&mut con, &["LMPOP", "1", "nokey", "LEFT"])
            .await
            .unwrap();
        assert_eq!(v, Value::Nil);
        assert_eq!(
            err(&mut con, &["LMPOP", "0", "k", "LEFT"]).await,
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            err(&mut con, &["LMPOP", "1", "k", "LEFT", "COUNT", "0"]).await,
            "ERR count should be greater than 0"
        );
        assert_eq!(
            err(&mut con, &["LMPOP", "1", "k", "MIDDLE"]).await,
            "ERR syntax error"
        );
        assert!(err(&mut con, &["LMPOP", "2", "str", "src", "LEFT"])
            .await
            .starts_with("WRONGTYPE"));
    }
}

#[tokio::test]
async fn argument_errors_and_wrong_types() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "s", "v"]).await.unwrap();
    int(&mut con, &["RPUSH", "l", "a"]).await;
    for args in [
        &["LPUSH", "s", "x"][..],
        &["RPUSH", "s", "x"],
        &["LPUSHX", "s", "x"],
        &["LPOP", "s"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "x"],
        &["LREM", "s", "0", "x"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["RPOPLPUSH", "s", "l"],
        &["BLPOP", "s", "0"],
    ] {
        assert!(
            err(&mut con, args).await.starts_with("WRONGTYPE"),
            "{args:?}"
        );
    }
    assert!(err(&mut con, &["GET", "l"]).await.starts_with("WRONGTYPE"));
    assert_eq!(
        err(&mut con, &["LPOP", "l", "-1"]).await,
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        err(&mut con, &["LPOP", "l", "1", "2"]).await,
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(
        err(&mut con, &["LPUSH", "l"]).await,
        "ERR wrong number of arguments for 'lpush' command"
    );
    assert_eq!(
        err(&mut con, &["LRANGE", "l", "a", "1"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut con, &["LINSERT", "l", "MIDDLE", "a", "b"]).await,
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["BLPOP", "l", "-1"]).await,
        "ERR timeout is negative"
    );
    assert_eq!(
        err(&mut con, &["BLPOP", "l", "x"]).await,
        "ERR timeout is not a float or out of range"
    );
    // A huge count pops what there is.
    let v: Vec<String> = cmd(&mut con, &["RPOP", "l", "9223372036854775807"])
        .await
        .unwrap();
    assert_eq!(v, ["a"]);
}

#[tokio::test]
async fn type_encoding_and_config() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    int(&mut con, &["RPUSH", "l", "a", "b"]).await;
    let t: String = cmd(&mut con, &["TYPE", "l"]).await.unwrap();
    assert_eq!(t, "list");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "l"]).await.unwrap();
    assert_eq!(enc, "listpack");
    let _: () = cmd(&mut con, &["CONFIG", "SET", "list-max-ziplist-size", "4"])
        .await
        .unwrap();
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "list-max-listpack-size"])
        .await
        .unwrap();
    assert_eq!(v, ["list-max-listpack-size", "4"]);
    int(&mut con, &["RPUSH", "l", "c", "d"]).await;
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "l"]).await.unwrap();
    assert_eq!(enc, "listpack");
    int(&mut con, &["RPUSH", "l", "e"]).await;
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "l"]).await.unwrap();
    assert_eq!(enc, "quicklist");
    // Shrunk to one chunk within half the limit: back to listpack.
    let _: Vec<String> = cmd(&mut con, &["RPOP", "l", "3"]).await.unwrap();
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "l"]).await.unwrap();
    assert_eq!(enc, "listpack");
    let _: () = cmd(&mut con, &["CONFIG", "SET", "list-compress-depth", "2"])
        .await
        .unwrap();
    let v: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "list-compress-depth"])
        .await
        .unwrap();
    assert_eq!(v, ["list-compress-depth", "2"]);
    assert!(
        err(&mut con, &["CONFIG", "SET", "list-compress-depth", "-1"])
            .await
            .contains("list-compress-depth")
    );
    assert!(
        err(&mut con, &["CONFIG", "SET", "list-max-listpack-size", "x"])
            .await
            .contains("list-max-listpack-size")
    );
}

#[tokio::test]
async fn generic_key_commands_on_lists() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    int(&mut con, &["RPUSH", "l", "a", "b"]).await;
    let _: () = cmd(&mut con, &["RENAME", "l", "m"]).await.unwrap();
    assert_eq!(
        strings(&mut con, &["LRANGE", "m", "0", "-1"]).await,
        ["a", "b"]
    );
    assert_eq!(int(&mut con, &["COPY", "m", "c"]).await, 1);
    int(&mut con, &["RPUSH", "c", "x"]).await;
    assert_eq!(
        strings(&mut con, &["LRANGE", "m", "0", "-1"]).await,
        ["a", "b"],
        "a copy is independent"
    );
    assert_eq!(int(&mut con, &["MOVE", "c", "1"]).await, 1);
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    assert_eq!(
        strings(&mut con, &["LRANGE", "c", "0", "-1"]).await,
        ["a", "b", "x"]
    );
    let _: () = cmd(&mut con, &["SELECT", "0"]).await.unwrap();
    assert_eq!(int(&mut con, &["PEXPIRE", "m", "50"]).await, 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(int(&mut con, &["LLEN", "m"]).await, 0);
    int(&mut con, &["RPUSH", "l1", "a"]).await;
    let _: () = cmd(&mut con, &["SET", "s", "a"]).await.unwrap();
    let (_, keys): (String, Vec<String>) =
        cmd(&mut con, &["SCAN", "0", "TYPE", "list", "COUNT", "100"])
            .await
            .unwrap();
    assert_eq!(keys, ["l1"]);
    assert_eq!(int(&mut con, &["DEL", "l1"]).await, 1);

    // WATCH sees a push, and EXEC aborts.
    let mut other = srv.client().await;
    int(&mut con, &["RPUSH", "w", "a"]).await;
    let _: () = cmd(&mut con, &["WATCH", "w"]).await.unwrap();
    int(&mut other, &["RPUSH", "w", "b"]).await;
    let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
    let _: () = cmd(&mut con, &["LPOP", "w"]).await.unwrap();
    let res: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
    assert_eq!(res, Value::Nil);
}

#[tokio::test]
async fn lists_survive_restart_checkpoint_and_reload() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    rpush_many(&mut con, "big", 0, 3000).await;
    int(&mut con, &["RPUSH", "small", "1", "2", "-3", "x"]).await;
    let _: Value = cmd(&mut con, &["LPOP", "big", "7"]).await.unwrap();
    let _: () = cmd(&mut con, &["LSET", "big", "1000", "changed"])
        .await
        .unwrap();
    int(
        &mut con,
        &["LINSERT", "big", "BEFORE", "changed", "inserted"],
    )
    .await;
    int(&mut con, &["LREM", "big", "0", "item-50"]).await;
    let _: () = cmd(&mut con, &["LTRIM", "big", "3", "-4"]).await.unwrap();
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "log replay");

    let mut con = srv.client().await;
    let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
    rpush_many(&mut con, "big", 3000, 3500).await;
    let _: Value = cmd(&mut con, &["RPOP", "big", "20"]).await.unwrap();
    let _: Value = cmd(&mut con, &["LMOVE", "big", "small", "LEFT", "RIGHT"])
        .await
        .unwrap();
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
    int(&mut con, &["LPUSH", "small", "after-save"]).await;
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before, "checkpoint + log");
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(snapshot(&srv).await, before, "DEBUG RELOAD");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "big"]).await.unwrap();
    assert_eq!(enc, "quicklist");
}

#[tokio::test]
async fn one_push_onto_a_big_list_writes_a_small_record() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    rpush_many(&mut con, "big", 0, 20_000).await;
    let journal = &srv.shared.storage.journal;
    let before = journal.size();
    int(&mut con, &["LPUSH", "big", "one-more"]).await;
    let _: Value = cmd(&mut con, &["RPOP", "big"]).await.unwrap();
    let _: () = cmd(&mut con, &["LSET", "big", "5", "five"]).await.unwrap();
    let _: Value = cmd(&mut con, &["LMOVE", "big", "big", "RIGHT", "LEFT"])
        .await
        .unwrap();
    let grown = journal.size() - before;
    assert!(grown < 512, "four small changes wrote {grown} bytes");
    let before = snapshot(&srv).await;
    drop(con);
    let srv = srv.restart().await;
    assert_eq!(snapshot(&srv).await, before);
}
