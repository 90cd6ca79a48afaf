//! XINFO STREAM (plain and FULL), GROUPS, CONSUMERS and HELP through the
//! stock `redis` crate, in RESP2 (flat field/value arrays) and RESP3
//! (maps).
//!
//! Entries are added with XADD; consumer groups, consumers and pending
//! entries are written straight into the stream (these tests do not
//! depend on XGROUP/XREADGROUP), with the server's manual clock for their
//! times.

mod common;

use bytes::Bytes;
use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;
use sluice::keyspace::stream::{Stream, StreamId};
use sluice::keyspace::{Entry, Value as KValue};

const PLAIN_FIELDS: &[&str] = &[
    "length",
    "radix-tree-keys",
    "radix-tree-nodes",
    "last-generated-id",
    "max-deleted-entry-id",
    "entries-added",
    "recorded-first-entry-id",
    "groups",
    "first-entry",
    "last-entry",
];

const FULL_FIELDS: &[&str] = &[
    "length",
    "radix-tree-keys",
    "radix-tree-nodes",
    "last-generated-id",
    "max-deleted-entry-id",
    "entries-added",
    "recorded-first-entry-id",
    "entries",
    "groups",
];

async fn raw(con: &mut MultiplexedConnection, args: &[&str]) -> Value {
    cmd::<Value>(con, args).await.expect("command succeeds")
}

async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let e = cmd::<Value>(con, args).await.expect_err("command fails");
    err_text(&e)
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn array(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// A field/value reply as ordered (name, value) pairs, after checking its
/// wire shape: a map in RESP3, a flat even-length array in RESP2.
fn pairs(v: &Value, resp3: bool) -> Vec<(String, Value)> {
    match (v, resp3) {
        (Value::Map(items), true) => items.iter().map(|(k, v)| (text(k), v.clone())).collect(),
        (Value::Array(items), false) => {
            assert!(items.len().is_multiple_of(2), "odd field list: {items:?}");
            items
                .chunks(2)
                .map(|kv| (text(&kv[0]), kv[1].clone()))
                .collect()
        }
        (other, _) => panic!("not a field list for resp3={resp3}: {other:?}"),
    }
}

fn names(p: &[(String, Value)]) -> Vec<&str> {
    p.iter().map(|(k, _)| k.as_str()).collect()
}

fn get<'a>(p: &'a [(String, Value)], name: &str) -> &'a Value {
    &p.iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no field {name}"))
        .1
}

/// `[id, [f, v<i>]]` as fill() adds it.
fn entry(i: u64) -> Value {
    Value::Array(vec![
        Value::BulkString(format!("{i}-0").into_bytes()),
        Value::Array(vec![
            Value::BulkString(b"f".to_vec()),
            Value::BulkString(format!("v{i}").into_bytes()),
        ]),
    ])
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

async fn fill(con: &mut MultiplexedConnection, key: &str, from: u64, to: u64) {
    let mut pipe = redis::pipe();
    for i in from..=to {
        pipe.cmd("XADD")
            .arg(key)
            .arg(format!("{i}-0"))
            .arg("f")
            .arg(format!("v{i}"))
            .ignore();
    }
    let () = pipe.query_async(con).await.expect("xadd");
}

async fn info(con: &mut MultiplexedConnection, resp3: bool, args: &[&str]) -> Vec<(String, Value)> {
    let mut full = vec!["XINFO", "STREAM"];
    full.extend_from_slice(args);
    pairs(&raw(con, &full).await, resp3)
}

/// Changes the stream at `key` in place (groups, consumers, PEL), then
/// journals the change as a command would.
fn edit(srv: &TestServer, key: &str, f: impl FnOnce(&mut Stream)) {
    let now = srv.clock.now_ms();
    let mut ks = srv.shared.keyspace.lock().unwrap();
    {
        let (db, stats) = ks.db(0);
        match db.get_stream_mut(key.as_bytes(), now, stats) {
            Some(Entry {
                value: KValue::Stream(s),
                ..
            }) => f(s),
            _ => panic!("no stream at {key}"),
        }
    }
    srv.shared.journal_changes(&mut ks).expect("journal");
}

fn id(ms: u64) -> StreamId {
    StreamId::new(ms, 0)
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn plain_fields_in_order_with_ends() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        raw(&mut con, &["DEL", "s"]).await;
        fill(&mut con, "s", 1, 5).await;
        let i = info(&mut con, resp3, &["s"]).await;
        assert_eq!(names(&i), PLAIN_FIELDS);
        assert_eq!(int(get(&i, "length")), 5);
        assert_eq!(int(get(&i, "radix-tree-keys")), 1);
        assert_eq!(int(get(&i, "radix-tree-nodes")), 2);
        assert_eq!(text(get(&i, "last-generated-id")), "5-0");
        assert_eq!(text(get(&i, "max-deleted-entry-id")), "0-0");
        assert_eq!(int(get(&i, "entries-added")), 5);
        assert_eq!(text(get(&i, "recorded-first-entry-id")), "1-0");
        assert_eq!(int(get(&i, "groups")), 0);
        assert_eq!(get(&i, "first-entry"), &entry(1));
        assert_eq!(get(&i, "last-entry"), &entry(5));

        // Deleting both ends moves them and records the largest deletion.
        raw(&mut con, &["XDEL", "s", "1-0", "5-0"]).await;
        let i = info(&mut con, resp3, &["s"]).await;
        assert_eq!(int(get(&i, "length")), 3);
        assert_eq!(text(get(&i, "max-deleted-entry-id")), "5-0");
        assert_eq!(text(get(&i, "last-generated-id")), "5-0");
        assert_eq!(text(get(&i, "recorded-first-entry-id")), "2-0");
        assert_eq!(get(&i, "first-entry"), &entry(2));
        assert_eq!(get(&i, "last-entry"), &entry(4));

        // XSETID's counters show as set.
        raw(
            &mut con,
            &[
                "XSETID",
                "s",
                "9-9",
                "ENTRIESADDED",
                "40",
                "MAXDELETEDID",
                "7-0",
            ],
        )
        .await;
        let i = info(&mut con, resp3, &["s"]).await;
        assert_eq!(text(get(&i, "last-generated-id")), "9-9");
        assert_eq!(int(get(&i, "entries-added")), 40);
        assert_eq!(text(get(&i, "max-deleted-entry-id")), "7-0");
    }
}

#[tokio::test]
async fn empty_stream_has_nil_ends() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        raw(&mut con, &["DEL", "e"]).await;
        raw(&mut con, &["XADD", "e", "MAXLEN", "0", "3-0", "f", "v"]).await;
        let i = info(&mut con, resp3, &["e"]).await;
        assert_eq!(names(&i), PLAIN_FIELDS);
        assert_eq!(int(get(&i, "length")), 0);
        assert_eq!(int(get(&i, "radix-tree-keys")), 0);
        assert_eq!(int(get(&i, "radix-tree-nodes")), 1);
        assert_eq!(text(get(&i, "last-generated-id")), "3-0");
        assert_eq!(text(get(&i, "recorded-first-entry-id")), "0-0");
        assert_eq!(int(get(&i, "entries-added")), 1);
        assert_eq!(get(&i, "first-entry"), &Value::Nil);
        assert_eq!(get(&i, "last-entry"), &Value::Nil);
        let i = info(&mut con, resp3, &["e", "FULL"]).await;
        assert_eq!(names(&i), FULL_FIELDS);
        assert_eq!(get(&i, "entries"), &Value::Array(vec![]));
        assert_eq!(get(&i, "groups"), &Value::Array(vec![]));
    }
}

#[tokio::test]
async fn radix_tree_nodes_follows_the_node_keys() {
    let srv = TestServer::start().await;
    let mut con = srv.connect(false).await;
    fill(&mut con, "many", 1, 1000).await;
    let i = info(&mut con, false, &["many"]).await;
    assert_eq!(int(get(&i, "radix-tree-keys")), 10);
    // Real Redis reports 26 for these ten node keys (1-0, 101-0 … 901-0).
    assert_eq!(int(get(&i, "radix-tree-nodes")), 26);
    raw(&mut con, &["XTRIM", "many", "MAXLEN", "~", "100"]).await;
    let i = info(&mut con, false, &["many"]).await;
    assert_eq!(int(get(&i, "radix-tree-keys")), 1);
    assert_eq!(int(get(&i, "radix-tree-nodes")), 2);
}

#[tokio::test]
async fn full_entries_and_count() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        raw(&mut con, &["DEL", "s"]).await;
        fill(&mut con, "s", 1, 25).await;
        let i = info(&mut con, resp3, &["s", "FULL"]).await;
        assert_eq!(names(&i), FULL_FIELDS);
        assert_eq!(int(get(&i, "length")), 25);
        assert_eq!(int(get(&i, "radix-tree-keys")), 1);
        assert_eq!(text(get(&i, "last-generated-id")), "25-0");
        assert_eq!(text(get(&i, "recorded-first-entry-id")), "1-0");
        let ten: Vec<Value> = (1..=10).map(entry).collect();
        assert_eq!(get(&i, "entries"), &Value::Array(ten));
        assert_eq!(get(&i, "groups"), &Value::Array(vec![]));

        let i = info(&mut con, resp3, &["s", "full", "count", "3"]).await;
        assert_eq!(
            get(&i, "entries"),
            &Value::Array(vec![entry(1), entry(2), entry(3)])
        );
        let all: Vec<Value> = (1..=25).map(entry).collect();
        for count in ["0", "100"] {
            let i = info(&mut con, resp3, &["s", "FULL", "COUNT", count]).await;
            assert_eq!(get(&i, "entries"), &Value::Array(all.clone()), "{count}");
        }
        // A negative count means the default (as in Redis 7.0), not all.
        let i = info(&mut con, resp3, &["s", "FULL", "COUNT", "-5"]).await;
        assert_eq!(array(get(&i, "entries")).len(), 10);
        raw(&mut con, &["XDEL", "s", "2-0", "3-0"]).await;
        let i = info(&mut con, resp3, &["s", "FULL", "COUNT", "3"]).await;
        assert_eq!(
            get(&i, "entries"),
            &Value::Array(vec![entry(1), entry(4), entry(5)])
        );
    }
}

/// Groups "g" (read 1-0..3-0: 1-0 and 3-0 pending for bob, 2-0 for alice,
/// carol never active) and "empty" (unknown entries-read) on stream `s`
/// with entries 1-0..5-0.
async fn setup_groups(srv: &TestServer, con: &mut MultiplexedConnection, t0: i64) {
    raw(con, &["DEL", "s"]).await;
    fill(con, "s", 1, 5).await;
    edit(srv, "s", |s| {
        let (g, e) = (b("g"), b("empty"));
        s.set_group(&g, id(3), 3);
        s.set_group(&e, id(0), -1);
        s.set_consumer(&g, &b("bob"), t0 + 10, t0 + 5);
        s.set_consumer(&g, &b("alice"), t0 + 20, t0 + 20);
        s.set_consumer(&g, &b("carol"), t0 + 30, -1);
        s.set_pending(&g, &b("bob"), vec![(id(1), t0 + 1, 1), (id(3), t0 + 3, 2)]);
        s.set_pending(&g, &b("alice"), vec![(id(2), t0 + 2, 4)]);
    });
}

#[tokio::test]
async fn full_groups_pel_and_consumers() {
    let srv = TestServer::with_manual_clock().await;
    let t0 = srv.clock.now_ms();
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        setup_groups(&srv, &mut con, t0).await;
        let i = info(&mut con, resp3, &["s"]).await;
        assert_eq!(int(get(&i, "groups")), 2);

        let i = info(&mut con, resp3, &["s", "FULL"]).await;
        let groups: Vec<_> = array(get(&i, "groups"))
            .iter()
            .map(|g| pairs(g, resp3))
            .collect();
        let group_fields = [
            "name",
            "last-delivered-id",
            "entries-read",
            "lag",
            "pel-count",
            "pending",
            "consumers",
        ];
        assert_eq!(groups.len(), 2);
        // Name order.
        let (empty, g) = (&groups[0], &groups[1]);
        assert_eq!(names(empty), group_fields);
        assert_eq!(names(g), group_fields);
        assert_eq!(text(get(empty, "name")), "empty");
        assert_eq!(get(empty, "entries-read"), &Value::Nil);
        assert_eq!(int(get(empty, "lag")), 5);
        assert_eq!(int(get(empty, "pel-count")), 0);
        assert_eq!(get(empty, "pending"), &Value::Array(vec![]));
        assert_eq!(get(empty, "consumers"), &Value::Array(vec![]));

        assert_eq!(text(get(g, "name")), "g");
        assert_eq!(text(get(g, "last-delivered-id")), "3-0");
        assert_eq!(int(get(g, "entries-read")), 3);
        assert_eq!(int(get(g, "lag")), 2);
        assert_eq!(int(get(g, "pel-count")), 3);
        let pel = |ms: u64, who: &str, count: i64| {
            Value::Array(vec![
                bulk(&format!("{ms}-0")),
                bulk(who),
                Value::Int(t0 + ms as i64),
                Value::Int(count),
            ])
        };
        assert_eq!(
            get(g, "pending"),
            &Value::Array(vec![pel(1, "bob", 1), pel(2, "alice", 4), pel(3, "bob", 2)])
        );
        let consumers: Vec<_> = array(get(g, "consumers"))
            .iter()
            .map(|c| pairs(c, resp3))
            .collect();
        let consumer_fields = ["name", "seen-time", "active-time", "pel-count", "pending"];
        assert_eq!(consumers.len(), 3);
        for c in &consumers {
            assert_eq!(names(c), consumer_fields);
        }
        let (alice, bob, carol) = (&consumers[0], &consumers[1], &consumers[2]);
        assert_eq!(text(get(alice, "name")), "alice");
        assert_eq!(text(get(bob, "name")), "bob");
        assert_eq!(text(get(carol, "name")), "carol");
        assert_eq!(int(get(bob, "seen-time")), t0 + 10);
        assert_eq!(int(get(bob, "active-time")), t0 + 5);
        assert_eq!(int(get(carol, "active-time")), -1);
        assert_eq!(int(get(bob, "pel-count")), 2);
        let cpel = |ms: u64, count: i64| {
            Value::Array(vec![
                bulk(&format!("{ms}-0")),
                Value::Int(t0 + ms as i64),
                Value::Int(count),
            ])
        };
        assert_eq!(
            get(bob, "pending"),
            &Value::Array(vec![cpel(1, 1), cpel(3, 2)])
        );
        assert_eq!(get(alice, "pending"), &Value::Array(vec![cpel(2, 4)]));
        assert_eq!(get(carol, "pending"), &Value::Array(vec![]));

        // COUNT also cuts the PEL lists, not the counts.
        let i = info(&mut con, resp3, &["s", "FULL", "COUNT", "1"]).await;
        assert_eq!(array(get(&i, "entries")).len(), 1);
        let g = pairs(&array(get(&i, "groups"))[1], resp3);
        assert_eq!(int(get(&g, "pel-count")), 3);
        assert_eq!(get(&g, "pending"), &Value::Array(vec![pel(1, "bob", 1)]));
        let bob = pairs(&array(get(&g, "consumers"))[1], resp3);
        assert_eq!(int(get(&bob, "pel-count")), 2);
        assert_eq!(get(&bob, "pending"), &Value::Array(vec![cpel(1, 1)]));
    }
}

#[tokio::test]
async fn groups_summary_and_lag() {
    let srv = TestServer::with_manual_clock().await;
    let t0 = srv.clock.now_ms();
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        setup_groups(&srv, &mut con, t0).await;
        let reply = raw(&mut con, &["XINFO", "GROUPS", "s"]).await;
        let groups: Vec<_> = array(&reply).iter().map(|g| pairs(g, resp3)).collect();
        let fields = [
            "name",
            "consumers",
            "pending",
            "last-delivered-id",
            "entries-read",
            "lag",
        ];
        assert_eq!(groups.len(), 2);
        let (empty, g) = (&groups[0], &groups[1]);
        assert_eq!(names(empty), fields);
        assert_eq!(names(g), fields);
        assert_eq!(text(get(empty, "name")), "empty");
        assert_eq!(int(get(empty, "consumers")), 0);
        assert_eq!(int(get(empty, "pending")), 0);
        assert_eq!(text(get(empty, "last-delivered-id")), "0-0");
        assert_eq!(get(empty, "entries-read"), &Value::Nil);
        assert_eq!(int(get(empty, "lag")), 5);
        assert_eq!(text(get(g, "name")), "g");
        assert_eq!(int(get(g, "consumers")), 3);
        assert_eq!(int(get(g, "pending")), 3);
        assert_eq!(text(get(g, "last-delivered-id")), "3-0");
        assert_eq!(int(get(g, "entries-read")), 3);
        assert_eq!(int(get(g, "lag")), 2);

        // A deletion after g's position makes its lag unknown (nil).
        raw(&mut con, &["XDEL", "s", "4-0"]).await;
        let reply = raw(&mut con, &["XINFO", "GROUPS", "s"]).await;
        let g = pairs(&array(&reply)[1], resp3);
        assert_eq!(int(get(&g, "entries-read")), 3);
        assert_eq!(get(&g, "lag"), &Value::Nil);

        // A stream without groups.
        raw(&mut con, &["DEL", "plain"]).await;
        fill(&mut con, "plain", 1, 1).await;
        assert_eq!(
            raw(&mut con, &["XINFO", "GROUPS", "plain"]).await,
            Value::Array(vec![])
        );
    }
}

#[tokio::test]
async fn consumers_idle_and_inactive_follow_the_clock() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        let t0 = srv.clock.now_ms();
        let mut con = srv.connect(resp3).await;
        setup_groups(&srv, &mut con, t0).await;
        srv.clock.advance(1000);
        let reply = raw(&mut con, &["XINFO", "CONSUMERS", "s", "g"]).await;
        let consumers: Vec<_> = array(&reply).iter().map(|c| pairs(c, resp3)).collect();
        assert_eq!(consumers.len(), 3);
        for c in &consumers {
            assert_eq!(names(c), ["name", "pending", "idle", "inactive"]);
        }
        let (alice, bob, carol) = (&consumers[0], &consumers[1], &consumers[2]);
        assert_eq!(text(get(alice, "name")), "alice");
        assert_eq!(int(get(alice, "pending")), 1);
        assert_eq!(int(get(alice, "idle")), 980);
        assert_eq!(int(get(alice, "inactive")), 980);
        assert_eq!(text(get(bob, "name")), "bob");
        assert_eq!(int(get(bob, "pending")), 2);
        assert_eq!(int(get(bob, "idle")), 990);
        assert_eq!(int(get(bob, "inactive")), 995);
        assert_eq!(text(get(carol, "name")), "carol");
        assert_eq!(int(get(carol, "pending")), 0);
        assert_eq!(int(get(carol, "idle")), 970);
        // Never read or claimed anything.
        assert_eq!(int(get(carol, "inactive")), -1);

        srv.clock.advance(500);
        let reply = raw(&mut con, &["XINFO", "CONSUMERS", "s", "g"]).await;
        let bob = pairs(&array(&reply)[1], resp3);
        assert_eq!(
            (int(get(&bob, "idle")), int(get(&bob, "inactive"))),
            (1490, 1495)
        );

        assert_eq!(
            raw(&mut con, &["XINFO", "CONSUMERS", "s", "empty"]).await,
            Value::Array(vec![])
        );
    }
}

#[tokio::test]
async fn errors() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        raw(&mut con, &["DEL", "s", "str"]).await;
        fill(&mut con, "s", 1, 2).await;
        raw(&mut con, &["SET", "str", "x"]).await;
        let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
        for sub in [&["STREAM"][..], &["GROUPS"], &["STREAM", "FULL"]] {
            let mut args = vec!["XINFO", sub[0], "missing"];
            args.extend_from_slice(&sub[1..]);
            assert_eq!(err(&mut con, &args).await, "ERR no such key");
            args[2] = "str";
            assert_eq!(err(&mut con, &args).await, wrongtype);
        }
        assert_eq!(
            err(&mut con, &["XINFO", "CONSUMERS", "missing", "g"]).await,
            "ERR no such key"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "CONSUMERS", "str", "g"]).await,
            wrongtype
        );
        assert_eq!(
            err(&mut con, &["XINFO", "CONSUMERS", "s", "nog"]).await,
            "NOGROUP No such consumer group 'nog' for key name 's'"
        );
        // The key is judged before the options after it.
        assert_eq!(
            err(&mut con, &["XINFO", "STREAM", "missing", "FOO"]).await,
            "ERR no such key"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "STREAM", "str", "FULL", "COUNT", "x"]).await,
            wrongtype
        );
        let bad =
            "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.";
        for args in [
            &["XINFO", "STREAM", "s", "FOO"][..],
            &["XINFO", "STREAM", "s", "FULL", "COUNT"],
            &["XINFO", "STREAM", "s", "FULL", "LIMIT", "1"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "1", "extra"],
            &["XINFO", "STREAM", "s", "COUNT", "1"],
        ] {
            assert_eq!(err(&mut con, args).await, bad, "{args:?}");
        }
        assert_eq!(
            err(&mut con, &["XINFO", "STREAM", "s", "FULL", "COUNT", "x"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "STREAM"]).await,
            "ERR wrong number of arguments for 'xinfo|stream' command"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "GROUPS", "s", "x"]).await,
            "ERR wrong number of arguments for 'xinfo|groups' command"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "CONSUMERS", "s"]).await,
            "ERR wrong number of arguments for 'xinfo|consumers' command"
        );
        assert_eq!(
            err(&mut con, &["XINFO", "foo"]).await,
            "ERR unknown subcommand 'foo'. Try XINFO HELP."
        );
    }
}

#[tokio::test]
async fn help_lists_subcommands() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let reply = raw(&mut con, &["XINFO", "HELP"]).await;
        let lines = array(&reply);
        assert!(lines.len() > 4);
        for line in lines {
            assert!(
                matches!(line, Value::SimpleString(s) if !s.is_empty()),
                "{line:?}"
            );
        }
        let all: Vec<String> = lines.iter().map(text).collect();
        for sub in ["STREAM", "GROUPS", "CONSUMERS", "HELP"] {
            assert!(all.iter().any(|l| l.starts_with(sub)), "{sub} missing");
        }
        assert_eq!(raw(&mut con, &["xinfo", "help"]).await, reply);
    }
}
