//! Consumer groups through the stock `redis` crate: XGROUP, XREADGROUP
//! (blocking included), XACK, XPENDING, XCLAIM, XAUTOCLAIM, in RESP2 and
//! RESP3, and their state across a restart.
//!
//! Replies are rendered as compact text (`[a,b]` arrays, `{k:v}` maps,
//! `nil`) so a wrong shape shows up as a wrong string. Consumer times are
//! read straight from the keyspace, with a manual clock.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;
use sluice::keyspace::Value as KValue;

/// A reply as compact text.
fn show(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(n) => n.to_string(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Array(items) | Value::Set(items) => {
            format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(","))
        }
        Value::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}:{}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => format!("{other:?}"),
    }
}

/// Runs a command and renders its reply (or its error text).
async fn run(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    match cmd::<Value>(con, args).await {
        Ok(v) => show(&v),
        Err(e) => format!("ERR:{}", err_text(&e)),
    }
}

/// Runs a command that must fail and returns the error text.
async fn fail(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    match cmd::<Value>(con, args).await {
        Ok(v) => panic!("{args:?} succeeded with {}", show(&v)),
        Err(e) => err_text(&e),
    }
}

/// An XREAD(GROUP) reply for these (key, entries) in the protocol's shape.
fn streams(resp3: bool, per_key: &[(&str, &str)]) -> String {
    if resp3 {
        let inner: Vec<String> = per_key.iter().map(|(k, e)| format!("{k}:{e}")).collect();
        format!("{{{}}}", inner.join(","))
    } else {
        let inner: Vec<String> = per_key.iter().map(|(k, e)| format!("[{k},{e}]")).collect();
        format!("[{}]", inner.join(","))
    }
}

/// Adds entries `start..start+n` as `<i>-0 f v<i>`.
async fn fill(con: &mut MultiplexedConnection, key: &str, start: u64, n: u64) {
    for i in start..start + n {
        let id = format!("{i}-0");
        let v = format!("v{i}");
        let _: String = cmd(con, &["XADD", key, &id, "f", &v]).await.unwrap();
    }
}

/// A consumer's state as the keyspace holds it.
#[derive(Debug, PartialEq)]
struct ConsumerState {
    pending: usize,
    seen: i64,
    active: i64,
}

/// (last delivered ID, entries read, PEL size) of a group, and a consumer.
fn group_state(
    srv: &TestServer,
    key: &str,
    group: &str,
    consumer: &str,
) -> (String, i64, usize, Option<ConsumerState>) {
    let ks = srv.shared.keyspace.lock().unwrap();
    let (_, entry) = ks.dbs()[0]
        .iter()
        .find(|(k, _)| k.as_ref() == key.as_bytes())
        .expect("key exists");
    let KValue::Stream(s) = &entry.value else {
        panic!("not a stream")
    };
    let g = s.group(group.as_bytes()).expect("group exists");
    let c = g.consumers.get(consumer.as_bytes()).map(|c| ConsumerState {
        pending: c.pel.len(),
        seen: c.seen_time,
        active: c.active_time,
    });
    (
        String::from_utf8_lossy(&g.last_id.to_bytes()).into_owned(),
        g.entries_read,
        g.pel.len(),
        c,
    )
}

fn e(i: u64) -> String {
    format!("[{i}-0,[f,v{i}]]")
}

const MISSING_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

// ---------------------------------------------------------------------------
// XGROUP

#[tokio::test]
async fn xgroup_create_setid_destroy() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 3).await;
        assert_eq!(
            run(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]).await,
            "OK"
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]).await,
            "BUSYGROUP Consumer Group name already exists"
        );
        assert_eq!(
            run(
                &mut c,
                &["XGROUP", "CREATE", "s", "d", "$", "ENTRIESREAD", "3"]
            )
            .await,
            "OK"
        );
        assert_eq!(group_state(&srv, "s", "d", "x").0, "3-0");
        assert_eq!(group_state(&srv, "s", "d", "x").1, 3);
        assert_eq!(group_state(&srv, "s", "g", "x").1, -1);
        // Missing key, MKSTREAM, wrong type.
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATE", "nokey", "g", "$"]).await,
            MISSING_KEY
        );
        assert_eq!(run(&mut c, &["EXISTS", "nokey"]).await, "0");
        assert_eq!(
            run(&mut c, &["XGROUP", "CREATE", "nokey", "g", "$", "MKSTREAM"]).await,
            "OK"
        );
        assert_eq!(run(&mut c, &["TYPE", "nokey"]).await, "stream");
        assert_eq!(run(&mut c, &["XLEN", "nokey"]).await, "0");
        assert_eq!(group_state(&srv, "nokey", "g", "x").0, "0-0");
        let _: () = cmd(&mut c, &["SET", "str", "x"]).await.unwrap();
        assert!(
            fail(&mut c, &["XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"])
                .await
                .starts_with("WRONGTYPE")
        );
        // Argument errors.
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATE", "s", "h", "bad"]).await,
            "ERR Invalid stream ID specified as stream command argument"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XGROUP", "CREATE", "s", "h", "0", "ENTRIESREAD", "-2"]
            )
            .await,
            "ERR value for ENTRIESREAD must be positive or -1"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XGROUP", "CREATE", "s", "h", "0", "ENTRIESREAD", "x"]
            )
            .await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATE", "s", "h", "0", "FOO"]).await,
            "ERR unknown subcommand or wrong number of arguments for 'create'. Try XGROUP HELP."
        );
        // SETID.
        assert_eq!(
            run(
                &mut c,
                &["XGROUP", "SETID", "s", "g", "2-0", "ENTRIESREAD", "2"]
            )
            .await,
            "OK"
        );
        assert_eq!(group_state(&srv, "s", "g", "x"), ("2-0".into(), 2, 0, None));
        assert_eq!(run(&mut c, &["XGROUP", "SETID", "s", "g", "$"]).await, "OK");
        assert_eq!(
            group_state(&srv, "s", "g", "x"),
            ("3-0".into(), -1, 0, None)
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "SETID", "s", "nog", "0"]).await,
            "NOGROUP No such consumer group 'nog' for key name 's'"
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "SETID", "missing", "g", "0"]).await,
            MISSING_KEY
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "SETID", "s", "g", "0", "FOO"]).await,
            "ERR unknown subcommand or wrong number of arguments for 'setid'. Try XGROUP HELP."
        );
        // DESTROY.
        assert_eq!(run(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await, "1");
        assert_eq!(run(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await, "0");
        assert_eq!(
            fail(&mut c, &["XGROUP", "DESTROY", "missing", "g"]).await,
            MISSING_KEY
        );
        assert_eq!(run(&mut c, &["XLEN", "s"]).await, "3");
        // HELP: status lines naming every subcommand.
        let help = cmd::<Value>(&mut c, &["XGROUP", "HELP"]).await.unwrap();
        let Value::Array(lines) = &help else {
            panic!("{help:?}")
        };
        assert!(lines.len() > 10);
        assert!(lines.iter().all(|l| matches!(l, Value::SimpleString(_))));
        let text = show(&help);
        for word in [
            "CREATE",
            "SETID",
            "DESTROY",
            "CREATECONSUMER",
            "DELCONSUMER",
            "MKSTREAM",
        ] {
            assert!(text.contains(word), "{word} missing from {text}");
        }
    }
}

#[tokio::test]
async fn xgroup_createconsumer_delconsumer() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 3).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        let create = ["XGROUP", "CREATECONSUMER", "s", "g", "alice"];
        assert_eq!(run(&mut c, &create).await, "1");
        assert_eq!(run(&mut c, &create).await, "0");
        let st = group_state(&srv, "s", "g", "alice").3.unwrap();
        assert_eq!((st.pending, st.active), (0, -1));
        run(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "2",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await;
        let del = ["XGROUP", "DELCONSUMER", "s", "g", "alice"];
        assert_eq!(run(&mut c, &del).await, "2");
        assert_eq!(run(&mut c, &del).await, "0");
        // Its pending entries left the group's PEL; the cursor stays.
        assert_eq!(
            group_state(&srv, "s", "g", "alice"),
            ("2-0".into(), 2, 0, None)
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATECONSUMER", "s", "nog", "c"]).await,
            "NOGROUP No such consumer group 'nog' for key name 's'"
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "DELCONSUMER", "s", "nog", "c"]).await,
            "NOGROUP No such consumer group 'nog' for key name 's'"
        );
        assert_eq!(
            fail(&mut c, &["XGROUP", "CREATECONSUMER", "nokey", "g", "c"]).await,
            MISSING_KEY
        );
    }
}

// ---------------------------------------------------------------------------
// XREADGROUP

#[tokio::test]
async fn xreadgroup_new_entries_noack_and_history() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 5).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        let read = |consumer: &'static str, id: &'static str| {
            vec![
                "XREADGROUP",
                "GROUP",
                "g",
                consumer,
                "COUNT",
                "2",
                "STREAMS",
                "s",
                id,
            ]
        };
        assert_eq!(
            run(&mut c, &read("alice", ">")).await,
            streams(resp3, &[("s", &format!("[{},{}]", e(1), e(2)))])
        );
        assert_eq!(group_state(&srv, "s", "g", "alice").0, "2-0");
        assert_eq!(group_state(&srv, "s", "g", "alice").1, 2);
        // NOACK: delivered, the group moves on, nothing pending.
        let noack = [
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "1",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ];
        assert_eq!(
            run(&mut c, &noack).await,
            streams(resp3, &[("s", &format!("[{}]", e(3)))])
        );
        let (last, read_n, pel, bob) = group_state(&srv, "s", "g", "bob");
        assert_eq!(
            (last.as_str(), read_n, pel, bob.unwrap().pending),
            ("3-0", 3, 2, 0)
        );
        assert_eq!(
            run(
                &mut c,
                &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]
            )
            .await,
            streams(resp3, &[("s", &format!("[{},{}]", e(4), e(5)))])
        );
        // Nothing new: a null reply.
        assert_eq!(run(&mut c, &read("alice", ">")).await, "nil");
        // History: the consumer's own pending entries after the ID.
        assert_eq!(
            run(&mut c, &read("alice", "0")).await,
            streams(resp3, &[("s", &format!("[{},{}]", e(1), e(2)))])
        );
        assert_eq!(
            run(&mut c, &read("alice", "1-0")).await,
            streams(resp3, &[("s", &format!("[{}]", e(2)))])
        );
        assert_eq!(
            run(&mut c, &read("carol", "0")).await,
            streams(resp3, &[("s", "[]")])
        );
        assert!(group_state(&srv, "s", "g", "carol").3.is_some());
        // History reads count as deliveries; deleted entries come back nil.
        let _: i64 = cmd(&mut c, &["XDEL", "s", "1-0"]).await.unwrap();
        assert_eq!(
            run(&mut c, &read("alice", "0")).await,
            streams(resp3, &[("s", &format!("[[1-0,nil],{}]", e(2)))])
        );
        let rows = run(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "alice"]).await;
        // 1-0 was deleted before the third read: two deliveries; 2-0 three.
        assert!(rows.starts_with("[[1-0,alice,"), "{rows}");
        assert!(
            rows.contains(",2],[2-0,alice,") && rows.ends_with(",4]]"),
            "{rows}"
        );
        // Several streams: history of one and new entries of the other.
        fill(&mut c, "t", 1, 1).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "t", "g", "0"])
            .await
            .unwrap();
        assert_eq!(
            run(
                &mut c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "bob",
                    "STREAMS",
                    "s",
                    "t",
                    "3-0",
                    ">"
                ]
            )
            .await,
            streams(
                resp3,
                &[
                    ("s", &format!("[{},{}]", e(4), e(5))),
                    ("t", &format!("[{}]", e(1)))
                ]
            )
        );
    }
}

#[tokio::test]
async fn xreadgroup_errors() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 2).await;
        fill(&mut c, "u", 1, 1).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        let rg = |key: &'static str, id: &'static str| {
            vec!["XREADGROUP", "GROUP", "g", "c", "STREAMS", key, id]
        };
        assert_eq!(
            fail(&mut c, &rg("x", ">")).await,
            "NOGROUP No such key 'x' or consumer group 'g' in XREADGROUP with GROUP option"
        );
        assert_eq!(
            fail(&mut c, &rg("u", ">")).await,
            "NOGROUP No such key 'u' or consumer group 'g' in XREADGROUP with GROUP option"
        );
        assert!(fail(&mut c, &rg("s", "$"))
            .await
            .starts_with("ERR The $ ID is meaningless"));
        assert!(fail(&mut c, &rg("s", "+"))
            .await
            .starts_with("ERR The + ID is meaningless"));
        assert_eq!(
            fail(&mut c, &rg("s", "bad")).await,
            "ERR Invalid stream ID specified as stream command argument"
        );
        let _: () = cmd(&mut c, &["SET", "str", "v"]).await.unwrap();
        assert!(fail(&mut c, &rg("str", ">")).await.starts_with("WRONGTYPE"));
        // A group missing on a later stream fails the whole call: nothing
        // was delivered from the first one.
        assert!(fail(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "s",
                "u",
                ">",
                ">"
            ]
        )
        .await
        .starts_with("NOGROUP No such key 'u'"));
        assert_eq!(group_state(&srv, "s", "g", "c").2, 0);
        assert_eq!(
            fail(
                &mut c,
                &["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"]
            )
            .await,
            "ERR Missing GROUP option for XREADGROUP"
        );
        assert_eq!(
            fail(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", ">"]).await,
            "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified."
        );
        assert_eq!(
            fail(
                &mut c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BOGUS",
                    "STREAMS",
                    "s",
                    ">"
                ]
            )
            .await,
            "ERR syntax error"
        );
        assert_eq!(
            fail(
                &mut c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "COUNT",
                    "x",
                    "STREAMS",
                    "s",
                    ">"
                ]
            )
            .await,
            "ERR value is not an integer or out of range"
        );
    }
}

#[tokio::test]
async fn consumer_seen_and_active_times() {
    let srv = TestServer::with_manual_clock().await;
    let mut c = srv.connect(false).await;
    fill(&mut c, "s", 1, 3).await;
    let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
        .await
        .unwrap();
    let t0 = srv.clock.now_ms();
    run(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "c"]).await;
    let st = |srv: &TestServer| group_state(srv, "s", "g", "c").3.unwrap();
    assert_eq!((st(&srv).seen, st(&srv).active), (t0, -1));
    // A read that delivers: both times.
    srv.clock.advance(100);
    let one = [
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ];
    run(&mut c, &one).await;
    assert_eq!((st(&srv).seen, st(&srv).active), (t0 + 100, t0 + 100));
    // NOACK delivers nothing into the PEL: seen only.
    srv.clock.advance(100);
    run(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "1",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await;
    assert_eq!((st(&srv).seen, st(&srv).active), (t0 + 200, t0 + 100));
    // A history read: seen only.
    srv.clock.advance(100);
    run(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
    )
    .await;
    assert_eq!((st(&srv).seen, st(&srv).active), (t0 + 300, t0 + 100));
    // The consumer is created by a read that returns nothing.
    srv.clock.advance(100);
    let _: () = cmd(&mut c, &["XGROUP", "SETID", "s", "g", "$"])
        .await
        .unwrap();
    assert_eq!(
        run(
            &mut c,
            &["XREADGROUP", "GROUP", "g", "new", "STREAMS", "s", ">"]
        )
        .await,
        "nil"
    );
    let new = group_state(&srv, "s", "g", "new").3.unwrap();
    assert_eq!((new.seen, new.active), (t0 + 400, -1));
    // XCLAIM that claims: active; that claims nothing: seen only.
    srv.clock.advance(100);
    run(&mut c, &["XCLAIM", "s", "g", "new", "0", "1-0", "JUSTID"]).await;
    let new = group_state(&srv, "s", "g", "new").3.unwrap();
    assert_eq!((new.seen, new.active, new.pending), (t0 + 500, t0 + 500, 1));
    srv.clock.advance(100);
    run(&mut c, &["XCLAIM", "s", "g", "new", "0", "9-0"]).await;
    let new = group_state(&srv, "s", "g", "new").3.unwrap();
    assert_eq!((new.seen, new.active), (t0 + 600, t0 + 500));
}

// ---------------------------------------------------------------------------
// XACK, XPENDING

#[tokio::test]
async fn xack_and_xpending() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 6).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g"]).await,
            "[0,nil,nil,nil]"
        );
        run(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "COUNT",
                "2",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await;
        srv.clock.advance(1000);
        run(
            &mut c,
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
        )
        .await;
        run(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "idle"]).await;
        srv.clock.advance(500);
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g"]).await,
            "[6,1-0,6-0,[[alice,4],[bob,2]]]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "-", "+", "3"]).await,
            "[[1-0,bob,1500,1],[2-0,bob,1500,1],[3-0,alice,500,1]]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "(2-0", "(5-0", "10"]).await,
            "[[3-0,alice,500,1],[4-0,alice,500,1]]"
        );
        assert_eq!(
            run(
                &mut c,
                &["XPENDING", "s", "g", "IDLE", "1000", "-", "+", "10"]
            )
            .await,
            "[[1-0,bob,1500,1],[2-0,bob,1500,1]]"
        );
        assert_eq!(
            run(
                &mut c,
                &["XPENDING", "s", "g", "IDLE", "1000", "-", "+", "10", "alice"]
            )
            .await,
            "[]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "4", "+", "1", "alice"]).await,
            "[[4-0,alice,500,1]]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "nobody"]).await,
            "[]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "-", "+", "-1"]).await,
            "[]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "5", "2", "10"]).await,
            "[]"
        );
        assert_eq!(
            fail(&mut c, &["XPENDING", "s", "g", "-", "+"]).await,
            "ERR syntax error"
        );
        assert_eq!(
            fail(&mut c, &["XPENDING", "s", "g", "IDLE", "10", "-", "+"]).await,
            "ERR syntax error"
        );
        assert_eq!(
            fail(&mut c, &["XPENDING", "s", "g", "-", "+", "x"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            fail(&mut c, &["XPENDING", "s", "nog"]).await,
            "NOGROUP No such key 's' or consumer group 'nog'"
        );
        assert_eq!(
            fail(&mut c, &["XPENDING", "nokey", "g", "-", "+", "1"]).await,
            "NOGROUP No such key 'nokey' or consumer group 'g'"
        );
        // XACK
        assert_eq!(
            run(&mut c, &["XACK", "s", "g", "1-0", "3", "9-0", "3-0"]).await,
            "2"
        );
        assert_eq!(run(&mut c, &["XACK", "s", "g", "1-0"]).await, "0");
        assert_eq!(run(&mut c, &["XACK", "s", "nog", "2-0"]).await, "0");
        assert_eq!(run(&mut c, &["XACK", "nokey", "g", "2-0"]).await, "0");
        assert_eq!(
            fail(&mut c, &["XACK", "s", "g", "2-0", "bad"]).await,
            "ERR Invalid stream ID specified as stream command argument"
        );
        assert!(fail(&mut c, &["XACK", "str", "g", "bad"])
            .await
            .contains("Invalid stream ID"));
        let _: () = cmd(&mut c, &["SET", "str", "v"]).await.unwrap();
        assert!(fail(&mut c, &["XACK", "str", "g", "bad"])
            .await
            .starts_with("WRONGTYPE"));
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g"]).await,
            "[4,2-0,6-0,[[alice,3],[bob,1]]]"
        );
        let (_, _, pel, bob) = group_state(&srv, "s", "g", "bob");
        assert_eq!((pel, bob.unwrap().pending), (4, 1));
    }
}

// ---------------------------------------------------------------------------
// XCLAIM, XAUTOCLAIM

#[tokio::test]
async fn xclaim_options() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 6).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        run(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "5",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await;
        srv.clock.advance(1000);
        let now = srv.clock.now_ms();
        // Not idle long enough.
        assert_eq!(
            run(&mut c, &["XCLAIM", "s", "g", "bob", "2000", "1-0"]).await,
            "[]"
        );
        assert_eq!(
            run(&mut c, &["XCLAIM", "s", "g", "bob", "1000", "1-0", "9-0"]).await,
            format!("[{}]", e(1))
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "1-0", "1-0", "1"]).await,
            "[[1-0,bob,0,2]]"
        );
        // JUSTID: IDs, count unchanged. IDLE and RETRYCOUNT set as given.
        assert_eq!(
            run(
                &mut c,
                &[
                    "XCLAIM",
                    "s",
                    "g",
                    "bob",
                    "0",
                    "2-0",
                    "IDLE",
                    "500",
                    "RETRYCOUNT",
                    "7",
                    "JUSTID"
                ]
            )
            .await,
            "[2-0]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "2-0", "2-0", "1"]).await,
            "[[2-0,bob,500,7]]"
        );
        let time = (now - 300).to_string();
        assert_eq!(
            run(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "3-0", "TIME", &time, "JUSTID"]
            )
            .await,
            "[3-0]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "3-0", "3-0", "1"]).await,
            "[[3-0,bob,300,1]]"
        );
        // A time in the future means now.
        let future = (now + 100_000).to_string();
        run(
            &mut c,
            &[
                "XCLAIM", "s", "g", "bob", "0", "3-0", "TIME", &future, "JUSTID",
            ],
        )
        .await;
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "3-0", "3-0", "1"]).await,
            "[[3-0,bob,0,1]]"
        );
        // LASTID only moves the group forward.
        run(
            &mut c,
            &[
                "XCLAIM", "s", "g", "bob", "0", "4-0", "LASTID", "20-0", "JUSTID",
            ],
        )
        .await;
        run(
            &mut c,
            &[
                "XCLAIM", "s", "g", "bob", "0", "4-0", "LASTID", "2-0", "JUSTID",
            ],
        )
        .await;
        assert_eq!(group_state(&srv, "s", "g", "bob").0, "20-0");
        // FORCE: an existing entry not pending is added (count 1, or 2 as
        // it is also delivered now); a missing one is not.
        assert_eq!(
            run(
                &mut c,
                &["XCLAIM", "s", "g", "carol", "0", "6-0", "7-0", "FORCE"]
            )
            .await,
            format!("[{}]", e(6))
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "6-0", "+", "5"]).await,
            "[[6-0,carol,0,2]]"
        );
        // Deleted entries leave the PEL and are not returned.
        let _: i64 = cmd(&mut c, &["XDEL", "s", "5-0"]).await.unwrap();
        assert_eq!(
            run(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "5-0", "4-0", "JUSTID"]
            )
            .await,
            "[4-0]"
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "5-0", "5-0", "1"]).await,
            "[]"
        );
        assert_eq!(group_state(&srv, "s", "g", "alice").3.unwrap().pending, 0);
        // Errors, in Redis's order.
        assert_eq!(
            fail(&mut c, &["XCLAIM", "s", "nog", "bob", "x", "1-0"]).await,
            "NOGROUP No such key 's' or consumer group 'nog'"
        );
        assert_eq!(
            fail(&mut c, &["XCLAIM", "s", "g", "bob", "x", "1-0"]).await,
            "ERR Invalid min-idle-time argument for XCLAIM"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "1-0", "IDLE", "x"]
            )
            .await,
            "ERR Invalid IDLE option argument for XCLAIM"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "1-0", "TIME", "x"]
            )
            .await,
            "ERR Invalid TIME option argument for XCLAIM"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "1-0", "RETRYCOUNT", "x"]
            )
            .await,
            "ERR Invalid RETRYCOUNT option argument for XCLAIM"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XCLAIM", "s", "g", "bob", "0", "1-0", "LASTID", "x"]
            )
            .await,
            "ERR Invalid stream ID specified as stream command argument"
        );
        assert_eq!(
            fail(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0", "bogus"]).await,
            "ERR Unrecognized XCLAIM option 'bogus'"
        );
    }
}

#[tokio::test]
async fn xautoclaim_cursor_count_and_deleted() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        fill(&mut c, "s", 1, 6).await;
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        run(
            &mut c,
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"],
        )
        .await;
        let _: i64 = cmd(&mut c, &["XDEL", "s", "2-0", "5-0"]).await.unwrap();
        srv.clock.advance(100);
        assert_eq!(
            run(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "200", "0"]).await,
            "[0-0,[],[2-0,5-0]]"
        );
        assert_eq!(
            run(
                &mut c,
                &["XAUTOCLAIM", "s", "g", "bob", "50", "0", "COUNT", "1"]
            )
            .await,
            format!("[3-0,[{}],[]]", e(1))
        );
        assert_eq!(
            run(
                &mut c,
                &[
                    "XAUTOCLAIM",
                    "s",
                    "g",
                    "bob",
                    "50",
                    "(1-0",
                    "COUNT",
                    "2",
                    "JUSTID"
                ]
            )
            .await,
            "[6-0,[3-0,4-0],[]]"
        );
        assert_eq!(
            run(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "-"]).await,
            format!("[0-0,[{},{},{},{}],[]]", e(1), e(3), e(4), e(6))
        );
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]).await,
            "[[1-0,bob,0,3],[3-0,bob,0,2],[4-0,bob,0,2],[6-0,bob,0,2]]"
        );
        assert_eq!(group_state(&srv, "s", "g", "alice").3.unwrap().pending, 0);
        assert_eq!(
            fail(
                &mut c,
                &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0"]
            )
            .await,
            "ERR COUNT must be > 0"
        );
        assert_eq!(
            fail(
                &mut c,
                &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "x"]
            )
            .await,
            "ERR COUNT must be > 0"
        );
        assert_eq!(
            fail(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "x", "0"]).await,
            "ERR Invalid min-idle-time argument for XAUTOCLAIM"
        );
        assert_eq!(
            fail(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "BOGUS"]).await,
            "ERR syntax error"
        );
        assert_eq!(
            fail(&mut c, &["XAUTOCLAIM", "s", "nog", "bob", "0", "0"]).await,
            "NOGROUP No such key 's' or consumer group 'nog'"
        );
    }
}

#[tokio::test]
async fn xautoclaim_attempts_limit_the_scan() {
    // COUNT 1 looks at no more than 10 pending entries per call.
    let srv = TestServer::with_manual_clock().await;
    let mut c = srv.connect(false).await;
    fill(&mut c, "s", 1, 15).await;
    let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
        .await
        .unwrap();
    run(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "a",
            "COUNT",
            "14",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await;
    srv.clock.advance(1000);
    run(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"],
    )
    .await;
    // 1-0..10-0 are idle 1000 ms: not enough, and the scan stops there.
    assert_eq!(
        run(
            &mut c,
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "b",
                "2000",
                "0",
                "COUNT",
                "1",
                "JUSTID"
            ]
        )
        .await,
        "[11-0,[],[]]"
    );
    assert_eq!(
        run(
            &mut c,
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "b",
                "500",
                "11-0",
                "COUNT",
                "1",
                "JUSTID"
            ]
        )
        .await,
        "[12-0,[11-0],[]]"
    );
}

// ---------------------------------------------------------------------------
// Restart

#[tokio::test]
async fn groups_survive_a_restart() {
    let srv = TestServer::with_manual_clock().await;
    let mut c = srv.client().await;
    fill(&mut c, "s", 1, 5).await;
    let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "0"])
        .await
        .unwrap();
    let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "gone", "0"])
        .await
        .unwrap();
    run(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "3",
            "STREAMS",
            "s",
            ">",
        ],
    )
    .await;
    run(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
    )
    .await;
    run(
        &mut c,
        &[
            "XCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "3-0",
            "RETRYCOUNT",
            "9",
            "JUSTID",
        ],
    )
    .await;
    run(&mut c, &["XACK", "s", "g", "1-0"]).await;
    run(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "carol"]).await;
    run(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "dave"]).await;
    run(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "dave"]).await;
    run(&mut c, &["XGROUP", "DESTROY", "s", "gone"]).await;
    let _: () = cmd(&mut c, &["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"])
        .await
        .unwrap();
    srv.clock.advance(250);
    let before_pending = run(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]).await;
    let before = [
        group_state(&srv, "s", "g", "alice"),
        group_state(&srv, "s", "g", "bob"),
        group_state(&srv, "s", "g", "carol"),
    ];
    drop(c);

    let srv = srv.restart().await;
    let mut c = srv.client().await;
    assert_eq!(before_pending, "[[2-0,alice,250,2],[3-0,bob,250,9]]");
    assert_eq!(
        run(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]).await,
        before_pending
    );
    let after = [
        group_state(&srv, "s", "g", "alice"),
        group_state(&srv, "s", "g", "bob"),
        group_state(&srv, "s", "g", "carol"),
    ];
    assert_eq!(after, before);
    assert!(group_state(&srv, "s", "g", "dave").3.is_none());
    assert_eq!(
        fail(&mut c, &["XGROUP", "SETID", "s", "gone", "0"]).await,
        "NOGROUP No such consumer group 'gone' for key name 's'"
    );
    assert_eq!(run(&mut c, &["TYPE", "e"]).await, "stream");
    // The cursor survived: the next read starts after 3-0.
    assert_eq!(
        run(
            &mut c,
            &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"]
        )
        .await,
        format!("[[s,[{},{}]]]", e(4), e(5))
    );
}

// ---------------------------------------------------------------------------
// Blocking

fn blocked_clients(srv: &TestServer) -> usize {
    srv.shared
        .keyspace
        .lock()
        .unwrap()
        .blocking
        .blocked_clients()
}

async fn wait_blocked(srv: &TestServer, n: usize) {
    for _ in 0..300 {
        if blocked_clients(srv) == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "expected {n} blocked clients, have {}",
        blocked_clients(srv)
    );
}

fn spawn_read(
    mut con: MultiplexedConnection,
    args: Vec<&'static str>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move { run(&mut con, &args).await })
}

async fn joined(h: tokio::task::JoinHandle<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), h)
        .await
        .expect("answered in time")
        .expect("task")
}

#[tokio::test]
async fn blocking_xreadgroup() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut c = srv.connect(resp3).await;
        let _: () = cmd(&mut c, &["FLUSHALL"]).await.unwrap();
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])
            .await
            .unwrap();
        // Two blocked consumers: the first to block gets the first entry.
        let first = spawn_read(
            srv.connect(resp3).await,
            vec![
                "XREADGROUP",
                "GROUP",
                "g",
                "c1",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        wait_blocked(&srv, 1).await;
        let second = spawn_read(
            srv.connect(resp3).await,
            vec![
                "XREADGROUP",
                "GROUP",
                "g",
                "c2",
                "COUNT",
                "5",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        wait_blocked(&srv, 2).await;
        fill(&mut c, "s", 1, 1).await;
        assert_eq!(
            joined(first).await,
            streams(resp3, &[("s", &format!("[{}]", e(1)))])
        );
        wait_blocked(&srv, 1).await;
        assert!(!second.is_finished());
        fill(&mut c, "s", 2, 1).await;
        assert_eq!(
            joined(second).await,
            streams(resp3, &[("s", &format!("[{}]", e(2)))])
        );
        // Delivered exactly as a plain read would.
        assert_eq!(
            run(&mut c, &["XPENDING", "s", "g"]).await,
            "[2,1-0,2-0,[[c1,1],[c2,1]]]"
        );
        assert_eq!(group_state(&srv, "s", "g", "c1").0, "2-0");
        assert_eq!(group_state(&srv, "s", "g", "c1").1, 2);

        // DESTROY wakes the reader with NOGROUP.
        let reader = spawn_read(
            srv.connect(resp3).await,
            vec![
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        wait_blocked(&srv, 1).await;
        assert_eq!(run(&mut c, &["XGROUP", "DESTROY", "s", "g"]).await, "1");
        assert_eq!(
            joined(reader).await,
            "ERR:NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option"
        );
        wait_blocked(&srv, 0).await;

        // DEL (and a type change) wake it with UNBLOCKED.
        for change in [["DEL", "s", ""], ["SET", "s", "x"]] {
            let _: Value = cmd(&mut c, &["DEL", "s"]).await.unwrap();
            let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])
                .await
                .unwrap();
            let reader = spawn_read(
                srv.connect(resp3).await,
                vec![
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "s",
                    ">",
                ],
            );
            wait_blocked(&srv, 1).await;
            let args: Vec<&str> = change.iter().copied().filter(|a| !a.is_empty()).collect();
            let _: Value = cmd(&mut c, &args).await.unwrap();
            assert_eq!(
                joined(reader).await,
                "ERR:UNBLOCKED the stream key no longer exists"
            );
            wait_blocked(&srv, 0).await;
        }

        // A timeout replies null; history reads never block.
        let _: Value = cmd(&mut c, &["DEL", "s"]).await.unwrap();
        let _: () = cmd(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])
            .await
            .unwrap();
        assert_eq!(
            run(
                &mut c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BLOCK",
                    "50",
                    "STREAMS",
                    "s",
                    ">"
                ]
            )
            .await,
            "nil"
        );
        assert_eq!(
            run(
                &mut c,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "s",
                    "0"
                ]
            )
            .await,
            streams(resp3, &[("s", "[]")])
        );
        // Inside MULTI it does not block.
        let _: () = cmd(&mut c, &["MULTI"]).await.unwrap();
        let _: Value = cmd(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await
        .unwrap();
        assert_eq!(run(&mut c, &["EXEC"]).await, "[nil]");
        assert_eq!(blocked_clients(&srv), 0);
    }
}
