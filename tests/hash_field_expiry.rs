//! Hash field expiry (Redis 7.4) and 8.0's HGETDEL/HGETEX/HSETEX, on a
//! server whose clock only moves when the test moves it: the per-field
//! replies, the errors, lazy and active expiry, what keeps or clears a
//! TTL, and what survives a restart.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::Value;

fn ints(v: &[i64]) -> Value {
    Value::Array(v.iter().map(|&n| Value::Int(n)).collect())
}

#[tokio::test]
async fn hexpire_replies_per_field_with_conditions() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let r: Value = cmd(&mut con, &["HEXPIRE", "h", "100", "FIELDS", "2", "a", "b"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[-2, -2]), "missing key");
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"])
        .await
        .unwrap();
    let r: Value = cmd(
        &mut con,
        &["HEXPIRE", "h", "100", "XX", "FIELDS", "2", "a", "zz"],
    )
    .await
    .unwrap();
    assert_eq!(r, ints(&[0, -2]));
    let r: Value = cmd(&mut con, &["HEXPIRE", "h", "100", "NX", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[1]));
    let r: Value = cmd(&mut con, &["HEXPIRE", "h", "200", "NX", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[0]));
    let r: Value = cmd(
        &mut con,
        &["HEXPIRE", "h", "50", "GT", "FIELDS", "2", "a", "b"],
    )
    .await
    .unwrap();
    assert_eq!(r, ints(&[0, 0]), "no TTL counts as infinite for GT");
    let r: Value = cmd(
        &mut con,
        &["HEXPIRE", "h", "50", "LT", "FIELDS", "2", "a", "b"],
    )
    .await
    .unwrap();
    assert_eq!(r, ints(&[1, 1]), "… and for LT");
    let r: Value = cmd(&mut con, &["HTTL", "h", "FIELDS", "4", "a", "b", "c", "zz"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[50, 50, -1, -2]));
    let r: Value = cmd(&mut con, &["HPTTL", "h", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[50_000]));
    let now = srv.clock.now_ms();
    let r: Value = cmd(&mut con, &["HPEXPIRETIME", "h", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[now + 50_000]));
    let r: Value = cmd(&mut con, &["HEXPIRETIME", "h", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[(now + 50_000) / 1000]));
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "h"]).await.unwrap();
    assert_eq!(enc, "listpackex");
    let r: Value = cmd(&mut con, &["HPERSIST", "h", "FIELDS", "3", "a", "c", "zz"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[1, -1, -2]));
    // A time now or in the past deletes the field at once (reply 2), and
    // the last field takes the key with it.
    let r: Value = cmd(&mut con, &["HEXPIRE", "h", "0", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[2]));
    let r: Value = cmd(&mut con, &["HPEXPIREAT", "h", "1", "FIELDS", "2", "b", "c"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[2, 2]));
    let n: i64 = cmd(&mut con, &["EXISTS", "h"]).await.unwrap();
    assert_eq!(n, 0);
    let at = ((now / 1000) + 1000).to_string();
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1"]).await.unwrap();
    let r: Value = cmd(&mut con, &["HEXPIREAT", "h", &at, "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[1]));
    let r: Value = cmd(&mut con, &["HEXPIRETIME", "h", "FIELDS", "1", "a"])
        .await
        .unwrap();
    assert_eq!(r, ints(&[(now / 1000) + 1000]));
}

#[tokio::test]
async fn field_expiry_errors_match_redis() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "s", "v"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["HSET", "h", "f", "v"]).await.unwrap();
    let max_secs = ((1i64 << 48) / 1000 + 1).to_string();
    let max_ms = (1i64 << 48).to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["HEXPIRE", "s", "x", "FIELDS", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HTTL", "s", "FIELDS", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HEXPIRE", "h", "x", "FIELDS", "1", "f"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HEXPIRE", "h", "-1", "FIELDS", "1", "f"],
            "ERR invalid expire time, must be >= 0",
        ),
        (
            &["HEXPIRE", "h", &max_secs, "FIELDS", "1", "f"],
            "ERR invalid expire time in 'hexpire' command",
        ),
        (
            &["HPEXPIREAT", "h", &max_ms, "FIELDS", "1", "f"],
            "ERR invalid expire time in 'hpexpireat' command",
        ),
        (
            &["HEXPIRE", "h", "100", "BAD", "FIELDS", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HTTL", "h", "NOTFIELDS", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "100", "FIELDS", "0", "f"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "100", "FIELDS", "x", "f"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HTTL", "h", "FIELDS", "0", "f"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HPERSIST", "h", "FIELDS", "x", "f"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HEXPIRE", "h", "100", "FIELDS", "2", "f"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HTTL", "h", "FIELDS", "1", "f", "g"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "100", "FIELDS", "1"],
            "ERR wrong number of arguments for 'hexpire' command",
        ),
        (
            &["HGETDEL", "h", "FIELD", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HGETDEL", "h", "FIELDS", "0", "f"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HGETDEL", "h", "FIELDS", "2", "f"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HSETEX", "h", "FIELDS", "2", "f", "v"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &[
                "HSETEX", "h", "EX", "10", "PX", "10", "FIELDS", "1", "f", "v",
            ],
            "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &["HGETEX", "h", "EX", "-1", "FIELDS", "1", "f"],
            "ERR invalid expire time, must be >= 0",
        ),
    ];
    for (args, want) in cases {
        let e = cmd::<Value>(&mut con, args).await.unwrap_err();
        assert_eq!(err_text(&e), *want, "{args:?}");
    }
}

#[tokio::test]
async fn expired_fields_are_gone_lazily_and_actively() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"])
        .await
        .unwrap();
    let _: Value = cmd(&mut con, &["HPEXPIRE", "h", "100", "FIELDS", "2", "a", "b"])
        .await
        .unwrap();
    srv.clock.advance(101);
    let v: Value = cmd(&mut con, &["HGET", "h", "a"]).await.unwrap();
    assert_eq!(v, Value::Nil);
    let n: i64 = cmd(&mut con, &["HLEN", "h"]).await.unwrap();
    assert_eq!(n, 1);
    let keys: Vec<String> = cmd(&mut con, &["HKEYS", "h"]).await.unwrap();
    assert_eq!(keys, ["c"]);
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "h"]).await.unwrap();
    assert_eq!(enc, "listpack", "no field has a TTL any more");

    // Active: nobody touches these keys; the sweep removes the fields and
    // deletes the key whose last field went.
    let _: i64 = cmd(&mut con, &["HSET", "gone", "x", "1"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["HSET", "part", "x", "1", "y", "2"])
        .await
        .unwrap();
    let _: Value = cmd(&mut con, &["HPEXPIRE", "gone", "50", "FIELDS", "1", "x"])
        .await
        .unwrap();
    let _: Value = cmd(&mut con, &["HPEXPIRE", "part", "50", "FIELDS", "1", "x"])
        .await
        .unwrap();
    srv.clock.advance(60);
    let mut swept = false;
    for _ in 0..100 {
        let size: i64 = cmd(&mut con, &["DBSIZE"]).await.unwrap();
        let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "part"])
            .await
            .unwrap();
        if size == 2 && enc == "listpack" {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(swept, "the active sweep did not remove the expired fields");
    // And what the sweep removed stays removed after a restart.
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    let n: i64 = cmd(&mut con, &["EXISTS", "gone"]).await.unwrap();
    assert_eq!(n, 0);
    let all: Vec<String> = cmd(&mut con, &["HGETALL", "part"]).await.unwrap();
    assert_eq!(all, ["y", "2"]);
}

#[tokio::test]
async fn what_keeps_and_what_clears_a_field_ttl() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["HSET", "h", "n", "1", "s", "x", "f", "1.5"])
        .await
        .unwrap();
    let _: Value = cmd(
        &mut con,
        &["HEXPIRE", "h", "100", "FIELDS", "3", "n", "s", "f"],
    )
    .await
    .unwrap();
    let _: i64 = cmd(&mut con, &["HINCRBY", "h", "n", "1"]).await.unwrap();
    let _: String = cmd(&mut con, &["HINCRBYFLOAT", "h", "f", "1"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["HSET", "h", "s", "y"]).await.unwrap();
    let r: Value = cmd(&mut con, &["HTTL", "h", "FIELDS", "3", "n", "f", "s"])
        .await
        .unwrap();
    assert_eq!(
        r,
        ints(&[100, 100, -1]),
        "HINCRBY keeps the TTL, HSET clears it"
    );
    // The TTLs survive a restart, to the millisecond.
    let before: Value = cmd(
        &mut con,
        &["HPEXPIRETIME", "h", "FIELDS", "3", "n", "f", "s"],
    )
    .await
    .unwrap();
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    let after: Value = cmd(
        &mut con,
        &["HPEXPIRETIME", "h", "FIELDS", "3", "n", "f", "s"],
    )
    .await
    .unwrap();
    assert_eq!(before, after);
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    let after: Value = cmd(
        &mut con,
        &["HPEXPIRETIME", "h", "FIELDS", "3", "n", "f", "s"],
    )
    .await
    .unwrap();
    assert_eq!(before, after, "DEBUG RELOAD");
}

#[tokio::test]
async fn hgetdel_hgetex_hsetex() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let _: () = cmd(&mut con, &["DEL", "h"]).await.unwrap();
        // HSETEX: FNX/FXX are all-or-nothing; 1 if set, 0 if not.
        let n: i64 = cmd(&mut con, &["HSETEX", "h", "FXX", "FIELDS", "1", "a", "1"])
            .await
            .unwrap();
        assert_eq!(n, 0);
        let n: i64 = cmd(
            &mut con,
            &[
                "HSETEX", "h", "FNX", "EX", "100", "FIELDS", "2", "a", "1", "b", "2",
            ],
        )
        .await
        .unwrap();
        assert_eq!(n, 1);
        let n: i64 = cmd(
            &mut con,
            &["HSETEX", "h", "FNX", "FIELDS", "2", "a", "9", "c", "3"],
        )
        .await
        .unwrap();
        assert_eq!(n, 0, "a exists");
        let n: i64 = cmd(
            &mut con,
            &["HSETEX", "h", "KEEPTTL", "FIELDS", "1", "a", "10"],
        )
        .await
        .unwrap();
        assert_eq!(n, 1);
        let r: Value = cmd(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "b"])
            .await
            .unwrap();
        assert_eq!(r, ints(&[100, 100]));
        let n: i64 = cmd(&mut con, &["HSETEX", "h", "FIELDS", "1", "b", "20"])
            .await
            .unwrap();
        assert_eq!(n, 1);
        let r: Value = cmd(&mut con, &["HTTL", "h", "FIELDS", "1", "b"])
            .await
            .unwrap();
        assert_eq!(r, ints(&[-1]), "HSETEX without an expiry clears the TTL");
        // HGETEX: values, and the TTL set or removed.
        let v: Vec<Option<String>> = cmd(
            &mut con,
            &["HGETEX", "h", "PX", "5000", "FIELDS", "3", "a", "b", "zz"],
        )
        .await
        .unwrap();
        assert_eq!(v, vec![Some("10".into()), Some("20".into()), None]);
        let r: Value = cmd(&mut con, &["HPTTL", "h", "FIELDS", "2", "a", "b"])
            .await
            .unwrap();
        assert_eq!(r, ints(&[5000, 5000]));
        let _: Value = cmd(&mut con, &["HGETEX", "h", "PERSIST", "FIELDS", "1", "a"])
            .await
            .unwrap();
        let r: Value = cmd(&mut con, &["HPTTL", "h", "FIELDS", "2", "a", "b"])
            .await
            .unwrap();
        assert_eq!(r, ints(&[-1, 5000]));
        // HGETDEL: values, fields gone, the key with the last one.
        let v: Vec<Option<String>> = cmd(&mut con, &["HGETDEL", "h", "FIELDS", "2", "a", "zz"])
            .await
            .unwrap();
        assert_eq!(v, vec![Some("10".into()), None]);
        let v: Vec<Option<String>> = cmd(&mut con, &["HGETDEL", "h", "FIELDS", "1", "b"])
            .await
            .unwrap();
        assert_eq!(v, vec![Some("20".into())]);
        let n: i64 = cmd(&mut con, &["EXISTS", "h"]).await.unwrap();
        assert_eq!(n, 0);
        let v: Vec<Option<String>> = cmd(&mut con, &["HGETDEL", "h", "FIELDS", "1", "b"])
            .await
            .unwrap();
        assert_eq!(v, vec![None]);
    }
}

#[tokio::test]
async fn field_ttls_move_with_rename_copy_and_move() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["HSET", "h", "a", "1", "b", "2"])
        .await
        .unwrap();
    let _: Value = cmd(&mut con, &["HPEXPIRE", "h", "100", "FIELDS", "1", "a"])
        .await
        .unwrap();
    let _: () = cmd(&mut con, &["RENAME", "h", "r"]).await.unwrap();
    let n: i64 = cmd(&mut con, &["COPY", "r", "c"]).await.unwrap();
    assert_eq!(n, 1);
    let _: i64 = cmd(&mut con, &["COPY", "r", "m"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["MOVE", "m", "1"]).await.unwrap();
    for key in ["r", "c"] {
        let r: Value = cmd(&mut con, &["HPTTL", key, "FIELDS", "2", "a", "b"])
            .await
            .unwrap();
        assert_eq!(r, ints(&[100, -1]), "{key}");
    }
    // The active sweep finds the renamed and copied hashes too.
    srv.clock.advance(150);
    let mut swept = false;
    for _ in 0..100 {
        let r: String = cmd(&mut con, &["OBJECT", "ENCODING", "r"]).await.unwrap();
        let c: String = cmd(&mut con, &["OBJECT", "ENCODING", "c"]).await.unwrap();
        if r == "listpack" && c == "listpack" {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        swept,
        "expired fields of renamed/copied hashes were not swept"
    );
    let _: () = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
    let keys: Vec<String> = cmd(&mut con, &["HKEYS", "m"]).await.unwrap();
    assert_eq!(keys, ["b"]);
}
