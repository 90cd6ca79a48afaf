//! Sorted-set algebra and sampling through a stock client, in RESP2 and
//! RESP3: ZUNION/ZINTER/ZDIFF (and STORE forms), ZINTERCARD, ZRANDMEMBER,
//! ZSCAN; and that stored results survive a restart.

mod common;

use std::collections::BTreeMap;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;

async fn setup(con: &mut MultiplexedConnection) {
    let _: () = cmd(con, &["FLUSHALL"]).await.unwrap();
    let _: i64 = cmd(con, &["ZADD", "z1", "1", "a", "2", "b", "3", "c"])
        .await
        .unwrap();
    let _: i64 = cmd(con, &["ZADD", "z2", "10", "b", "20", "c", "30", "d"])
        .await
        .unwrap();
}

/// (member, score) pairs from a WITHSCORES reply in either protocol.
fn pairs(v: &Value) -> Vec<(String, f64)> {
    let Value::Array(items) = v else {
        panic!("not an array: {v:?}")
    };
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
        Value::Double(d) => d.to_string(),
        other => panic!("unexpected {other:?}"),
    };
    let mut out = Vec::new();
    if items.iter().all(|i| matches!(i, Value::Array(_))) && !items.is_empty() {
        for item in items {
            let Value::Array(pair) = item else {
                unreachable!()
            };
            out.push((text(&pair[0]), text(&pair[1]).parse().unwrap()));
        }
    } else {
        for pair in items.chunks(2) {
            out.push((text(&pair[0]), text(&pair[1]).parse().unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn union_inter_diff_in_both_protocols() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        setup(&mut con).await;
        let union: Value = cmd(
            &mut con,
            &["ZUNION", "2", "z1", "z2", "WEIGHTS", "2", "1", "WITHSCORES"],
        )
        .await
        .unwrap();
        if resp3 {
            assert!(matches!(&union, Value::Array(v) if matches!(v[0], Value::Array(_))));
        }
        assert_eq!(
            pairs(&union),
            vec![
                ("a".into(), 2.0),
                ("b".into(), 14.0),
                ("c".into(), 26.0),
                ("d".into(), 30.0)
            ]
        );
        let inter: Value = cmd(
            &mut con,
            &["ZINTER", "2", "z1", "z2", "AGGREGATE", "MAX", "WITHSCORES"],
        )
        .await
        .unwrap();
        assert_eq!(pairs(&inter), vec![("b".into(), 10.0), ("c".into(), 20.0)]);
        let diff: Vec<String> = cmd(&mut con, &["ZDIFF", "2", "z2", "z1"]).await.unwrap();
        assert_eq!(diff, ["d"]);
        let card: i64 = cmd(&mut con, &["ZINTERCARD", "2", "z1", "z2", "LIMIT", "1"])
            .await
            .unwrap();
        assert_eq!(card, 1);
        let e = cmd::<Value>(&mut con, &["ZUNION", "0", "z1"])
            .await
            .unwrap_err();
        assert_eq!(
            err_text(&e),
            "ERR at least 1 input key is needed for 'zunion' command"
        );
        let _: () = cmd(&mut con, &["SET", "s", "x"]).await.unwrap();
        let e = cmd::<Value>(&mut con, &["ZINTER", "2", "z1", "s", "BOGUS"])
            .await
            .unwrap_err();
        assert!(err_text(&e).starts_with("WRONGTYPE"), "{e}");
    }
}

#[tokio::test]
async fn stored_results_replace_the_destination_and_survive_a_restart() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    setup(&mut con).await;
    let _: () = cmd(&mut con, &["SET", "dst", "old", "EX", "100"])
        .await
        .unwrap();
    let n: i64 = cmd(&mut con, &["ZUNIONSTORE", "dst", "2", "z1", "z2"])
        .await
        .unwrap();
    assert_eq!(n, 4);
    let ttl: i64 = cmd(&mut con, &["TTL", "dst"]).await.unwrap();
    assert_eq!(ttl, -1);
    let n: i64 = cmd(&mut con, &["ZINTERSTORE", "both", "2", "z1", "z2"])
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = cmd(&mut con, &["ZDIFFSTORE", "gone", "2", "z1", "z1"])
        .await
        .unwrap();
    assert_eq!(n, 0);
    let before: Vec<Vec<String>> = {
        let mut out = Vec::new();
        for key in ["dst", "both"] {
            out.push(
                cmd(&mut con, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
                    .await
                    .unwrap(),
            );
        }
        out
    };
    assert_eq!(before[0], ["a", "1", "b", "12", "c", "23", "d", "30"]);
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    for (key, want) in ["dst", "both"].iter().zip(&before) {
        let got: Vec<String> = cmd(&mut con, &["ZRANGE", key, "0", "-1", "WITHSCORES"])
            .await
            .unwrap();
        assert_eq!(&got, want, "{key}");
    }
    let exists: i64 = cmd(&mut con, &["EXISTS", "gone"]).await.unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn zrandmember_samples_members_with_their_scores() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        setup(&mut con).await;
        let truth: BTreeMap<String, f64> = [("a", 1.0), ("b", 2.0), ("c", 3.0)]
            .map(|(m, s)| (m.to_string(), s))
            .into();
        let one: String = cmd(&mut con, &["ZRANDMEMBER", "z1"]).await.unwrap();
        assert!(truth.contains_key(&one));
        let two: Value = cmd(&mut con, &["ZRANDMEMBER", "z1", "2", "WITHSCORES"])
            .await
            .unwrap();
        let two = pairs(&two);
        assert_eq!(two.len(), 2);
        assert_ne!(two[0].0, two[1].0, "distinct members");
        for (m, s) in &two {
            assert_eq!(truth.get(m), Some(s));
        }
        let many: Vec<String> = cmd(&mut con, &["ZRANDMEMBER", "z1", "-10"]).await.unwrap();
        assert_eq!(many.len(), 10);
        assert!(many.iter().all(|m| truth.contains_key(m)));
        let all: Vec<String> = cmd(&mut con, &["ZRANDMEMBER", "z1", "10"]).await.unwrap();
        let mut all = all;
        all.sort();
        assert_eq!(all, ["a", "b", "c"]);
        let none: Value = cmd(&mut con, &["ZRANDMEMBER", "nokey"]).await.unwrap();
        assert_eq!(none, Value::Nil);
    }
}

#[tokio::test]
async fn zscan_visits_every_member_of_a_big_set_once() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("ZADD").arg("big").arg(i).arg(format!("m{i}"));
    }
    let _: Value = pipe.query_async(&mut con).await.unwrap();
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, batch): (String, Vec<String>) =
            cmd(&mut con, &["ZSCAN", "big", &cursor, "COUNT", "25"])
                .await
                .unwrap();
        for pair in batch.chunks(2) {
            assert!(
                seen.insert(pair[0].clone(), pair[1].clone()).is_none(),
                "{} twice",
                pair[0]
            );
        }
        // Members removed mid-scan must not make others be skipped.
        if calls == 3 {
            let _: i64 = cmd(&mut con, &["ZREM", "big", "m499", "m498"])
                .await
                .unwrap();
        }
        calls += 1;
        if next == "0" {
            break;
        }
        cursor = next;
        assert!(calls < 1000);
    }
    assert!(calls > 1);
    for i in 0..498 {
        assert_eq!(seen.get(&format!("m{i}")), Some(&i.to_string()), "m{i}");
    }
}
