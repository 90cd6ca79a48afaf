//! DUMP and RESTORE through a stock client: round trips of every type
//! Sluice holds (streams with groups, pending entries and consumers
//! included), the options (TTL, ABSTTL, REPLACE, IDLETIME, FREQ), Redis's
//! errors, `sanitize-dump-payload`, and restored keys surviving a restart
//! and DEBUG RELOAD.

mod common;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;

async fn dump(con: &mut MultiplexedConnection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query_async(con).await.unwrap()
}

async fn restore(
    con: &mut MultiplexedConnection,
    key: &str,
    ttl: &str,
    payload: &[u8],
    opts: &[&str],
) -> redis::RedisResult<String> {
    let mut c = redis::cmd("RESTORE");
    c.arg(key).arg(ttl).arg(payload);
    for o in opts {
        c.arg(*o);
    }
    c.query_async(con).await
}

async fn restore_err(
    con: &mut MultiplexedConnection,
    key: &str,
    ttl: &str,
    payload: &[u8],
    opts: &[&str],
) -> String {
    err_text(&restore(con, key, ttl, payload, opts).await.unwrap_err())
}

/// Wraps an object (type byte first) in a footer of RDB version `v`.
fn sealed(object: &[u8], v: u16) -> Vec<u8> {
    let mut p = object.to_vec();
    p.extend_from_slice(&v.to_le_bytes());
    let crc = sluice::rdb::crc64::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Builds a stream with two groups, pending entries, consumers, a deleted
/// entry and more than one node.
async fn make_stream(con: &mut MultiplexedConnection, key: &str) {
    for i in 1..=250 {
        let id = format!("{i}-1");
        let _: String = cmd(
            con,
            &["XADD", key, &id, "field", &i.to_string(), "other", "x"],
        )
        .await
        .unwrap();
    }
    let _: String = cmd(con, &["XADD", key, "300-0", "different", "fields"])
        .await
        .unwrap();
    let _: i64 = cmd(con, &["XDEL", key, "5-1"]).await.unwrap();
    let _: String = cmd(con, &["XGROUP", "CREATE", key, "g1", "0"])
        .await
        .unwrap();
    let _: String = cmd(con, &["XGROUP", "CREATE", key, "g2", "$"])
        .await
        .unwrap();
    let _: Value = cmd(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "3",
            "STREAMS",
            key,
            ">",
        ],
    )
    .await
    .unwrap();
    let _: Value = cmd(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "2",
            "STREAMS",
            key,
            ">",
        ],
    )
    .await
    .unwrap();
    let _: i64 = cmd(con, &["XACK", key, "g1", "1-1"]).await.unwrap();
    let _: String = cmd(con, &["XGROUP", "CREATECONSUMER", key, "g2", "carol"])
        .await
        .map(|n: i64| n.to_string())
        .unwrap();
}

/// What a client can see of a stream: entries, XINFO STREAM's counters,
/// groups and their pending entries (idle times left out).
async fn stream_view(con: &mut MultiplexedConnection, key: &str) -> Vec<Value> {
    let range: Value = cmd(con, &["XRANGE", key, "-", "+"]).await.unwrap();
    let len: Value = cmd(con, &["XLEN", key]).await.unwrap();
    let info: Vec<Value> = cmd(con, &["XINFO", "STREAM", key]).await.unwrap();
    // last-generated-id, max-deleted-entry-id, entries-added, first/last entry.
    let mut counters = Vec::new();
    for pair in info.chunks(2) {
        if let Value::BulkString(name) = &pair[0] {
            let name = String::from_utf8_lossy(name).to_string();
            if [
                "length",
                "last-generated-id",
                "max-deleted-entry-id",
                "entries-added",
                "recorded-first-entry-id",
                "groups",
            ]
            .contains(&name.as_str())
            {
                counters.push(pair[1].clone());
            }
        }
    }
    let mut out = vec![range, len, Value::Array(counters)];
    let groups: Vec<Vec<Value>> = cmd(con, &["XINFO", "GROUPS", key]).await.unwrap();
    if groups.is_empty() {
        return out;
    }
    for group in ["g1", "g2"] {
        let pending: Value = cmd(con, &["XPENDING", key, group, "-", "+", "100"])
            .await
            .unwrap();
        // Drop idle times (field 2 of each entry), which move.
        let pending = match pending {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|e| match e {
                        Value::Array(mut f) => {
                            f.remove(2);
                            Value::Array(f)
                        }
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        };
        out.push(pending);
        let groups: Vec<Vec<Value>> = cmd(con, &["XINFO", "GROUPS", key]).await.unwrap();
        out.push(Value::Array(groups.into_iter().flatten().collect()));
        let consumers: Vec<Vec<Value>> =
            cmd(con, &["XINFO", "CONSUMERS", key, group]).await.unwrap();
        // name and pending count of each consumer.
        let names = consumers
            .into_iter()
            .map(|c| Value::Array(vec![c[1].clone(), c[3].clone()]))
            .collect();
        out.push(Value::Array(names));
    }
    out
}

#[tokio::test]
async fn strings_and_sorted_sets_round_trip() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let long = "x".repeat(70_000);
    for (key, value) in [
        ("s1", "hello"),
        ("s2", "12345"),
        ("s3", long.as_str()),
        ("s4", ""),
    ] {
        let _: () = cmd(&mut con, &["SET", key, value]).await.unwrap();
        let p = dump(&mut con, key).await.unwrap();
        assert_eq!(
            restore(&mut con, &format!("{key}-copy"), "0", &p, &[])
                .await
                .unwrap(),
            "OK"
        );
        let got: String = cmd(&mut con, &["GET", &format!("{key}-copy")])
            .await
            .unwrap();
        assert_eq!(got, value);
    }
    let _: i64 = cmd(&mut con, &["ZADD", "z", "1.5", "a", "-inf", "b", "3", "c"])
        .await
        .unwrap();
    let p = dump(&mut con, "z").await.unwrap();
    assert_eq!(restore(&mut con, "z2", "0", &p, &[]).await.unwrap(), "OK");
    let a: Vec<String> = cmd(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"])
        .await
        .unwrap();
    let b: Vec<String> = cmd(&mut con, &["ZRANGE", "z2", "0", "-1", "WITHSCORES"])
        .await
        .unwrap();
    assert_eq!(a, b);
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "z2"]).await.unwrap();
    assert_eq!(enc, "listpack");
    // A big set comes back in the big encoding.
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..200 {
        args.extend([i.to_string(), format!("m{i}")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _: i64 = cmd(&mut con, &refs).await.unwrap();
    let p = dump(&mut con, "big").await.unwrap();
    assert_eq!(restore(&mut con, "big2", "0", &p, &[]).await.unwrap(), "OK");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "big2"])
        .await
        .unwrap();
    assert_eq!(enc, "skiplist");
    let n: i64 = cmd(&mut con, &["ZCARD", "big2"]).await.unwrap();
    assert_eq!(n, 200);
    assert_eq!(dump(&mut con, "missing").await, None);
}

#[tokio::test]
async fn streams_round_trip_with_groups_pending_entries_and_consumers() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    make_stream(&mut con, "x").await;
    let p = dump(&mut con, "x").await.unwrap();
    let before = stream_view(&mut con, "x").await;
    assert_eq!(
        restore(&mut con, "x", "0", &p, &["REPLACE"]).await.unwrap(),
        "OK"
    );
    assert_eq!(stream_view(&mut con, "x").await, before);
    // The restored stream goes on working: XADD, XREADGROUP, XACK.
    let id: String = cmd(&mut con, &["XADD", "x", "*", "f", "v"]).await.unwrap();
    assert!(!id.is_empty());
    let _: Value = cmd(
        &mut con,
        &["XREADGROUP", "GROUP", "g2", "carol", "STREAMS", "x", ">"],
    )
    .await
    .unwrap();
    let acked: i64 = cmd(&mut con, &["XACK", "x", "g1", "2-1", "3-1"])
        .await
        .unwrap();
    assert_eq!(acked, 2);
    // An empty stream with only metadata round trips too.
    let _: String = cmd(&mut con, &["XADD", "e", "5-5", "f", "v"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["XDEL", "e", "5-5"]).await.unwrap();
    let p = dump(&mut con, "e").await.unwrap();
    assert_eq!(restore(&mut con, "e2", "0", &p, &[]).await.unwrap(), "OK");
    let a = stream_view(&mut con, "e").await;
    let b = stream_view(&mut con, "e2").await;
    assert_eq!(a[..3], b[..3]);
}

#[tokio::test]
async fn ttl_absttl_replace_idletime_and_freq() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "foo", "bar"]).await.unwrap();
    let p = dump(&mut con, "foo").await.unwrap();
    assert_eq!(
        restore_err(&mut con, "foo", "0", &p, &[]).await,
        "BUSYKEY Target key name already exists."
    );
    assert_eq!(
        restore(&mut con, "foo", "5000", &p, &["REPLACE"])
            .await
            .unwrap(),
        "OK"
    );
    let pttl: i64 = cmd(&mut con, &["PTTL", "foo"]).await.unwrap();
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    // A TTL that does not fit in 32 bits.
    assert_eq!(
        restore(&mut con, "foo", "2569591501", &p, &["REPLACE"])
            .await
            .unwrap(),
        "OK"
    );
    let pttl: i64 = cmd(&mut con, &["PTTL", "foo"]).await.unwrap();
    assert!(pttl > 2569591501 - 3000, "{pttl}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let at = (now + 60_000).to_string();
    assert_eq!(
        restore(&mut con, "foo", &at, &p, &["REPLACE", "ABSTTL"])
            .await
            .unwrap(),
        "OK"
    );
    let pttl: i64 = cmd(&mut con, &["PTTL", "foo"]).await.unwrap();
    assert!((50_000..=60_000).contains(&pttl), "{pttl}");
    // ABSTTL in the past: nothing is created, and REPLACE deletes.
    let past = (now - 3000).to_string();
    assert_eq!(
        restore(&mut con, "foo", &past, &p, &["REPLACE", "ABSTTL"])
            .await
            .unwrap(),
        "OK"
    );
    let n: i64 = cmd(&mut con, &["EXISTS", "foo"]).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        restore(&mut con, "new", &past, &p, &["ABSTTL"])
            .await
            .unwrap(),
        "OK"
    );
    let n: i64 = cmd(&mut con, &["EXISTS", "new"]).await.unwrap();
    assert_eq!(n, 0);
    // IDLETIME sets the idle time; FREQ is checked and accepted.
    assert_eq!(
        restore(&mut con, "idle", "0", &p, &["IDLETIME", "1000"])
            .await
            .unwrap(),
        "OK"
    );
    let idle: i64 = cmd(&mut con, &["OBJECT", "IDLETIME", "idle"])
        .await
        .unwrap();
    assert!((1000..=1010).contains(&idle), "{idle}");
    assert_eq!(
        restore(&mut con, "freq", "0", &p, &["FREQ", "100"])
            .await
            .unwrap(),
        "OK"
    );
    let got: String = cmd(&mut con, &["GET", "freq"]).await.unwrap();
    assert_eq!(got, "bar");
}

#[tokio::test]
async fn errors_in_redis_order() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["SET", "foo", "bar"]).await.unwrap();
    let good = dump(&mut con, "foo").await.unwrap();
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("foo", "0", &["bogus"], "ERR syntax error"),
        ("foo", "0", &[], "BUSYKEY Target key name already exists."),
        (
            "foo",
            "-1",
            &["IDLETIME", "-1"],
            "ERR Invalid IDLETIME value, must be >= 0",
        ),
        (
            "nokey",
            "0",
            &["IDLETIME", "abc"],
            "ERR value is not an integer or out of range",
        ),
        (
            "nokey",
            "0",
            &["FREQ", "256"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            "nokey",
            "0",
            &["FREQ", "-1"],
            "ERR Invalid FREQ value, must be >= 0 and <= 255",
        ),
        (
            "nokey",
            "0",
            &["IDLETIME", "1", "FREQ", "1"],
            "ERR syntax error",
        ),
        (
            "nokey",
            "0",
            &["FREQ", "1", "IDLETIME", "1"],
            "ERR syntax error",
        ),
        ("nokey", "0", &["IDLETIME"], "ERR syntax error"),
        ("nokey", "-1", &[], "ERR Invalid TTL value, must be >= 0"),
        (
            "nokey",
            "abc",
            &[],
            "ERR value is not an integer or out of range",
        ),
    ];
    for (key, ttl, opts, want) in cases {
        assert_eq!(
            restore_err(&mut con, key, ttl, &good, opts).await,
            *want,
            "{key} {ttl} {opts:?}"
        );
    }
    let footer = "ERR DUMP payload version or checksum are wrong";
    assert_eq!(
        restore_err(&mut con, "nokey", "0", b"xx", &[]).await,
        footer
    );
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 0xff;
    assert_eq!(
        restore_err(&mut con, "nokey", "0", &bad_crc, &[]).await,
        footer
    );
    // Version 13 is newer than Redis 7.4's.
    assert_eq!(
        restore_err(&mut con, "nokey", "0", &sealed(&[0, 1, b'x'], 13), &[]).await,
        footer
    );
    assert_eq!(
        restore(&mut con, "v12", "0", &sealed(&[0, 1, b'x'], 12), &[])
            .await
            .unwrap(),
        "OK"
    );
    let bad = "ERR Bad data format";
    for obj in [&[0u8, 9, b'x'][..], &[2, 0], &[9, 0], &[99]] {
        assert_eq!(
            restore_err(&mut con, "nokey", "0", &sealed(obj, 10), &[]).await,
            bad
        );
    }
    let n: i64 = cmd(&mut con, &["EXISTS", "nokey"]).await.unwrap();
    assert_eq!(n, 0);
    let e = cmd::<Value>(&mut con, &["DUMP"]).await.unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR wrong number of arguments for 'dump' command"
    );
    let e = cmd::<Value>(&mut con, &["RESTORE", "a", "0"])
        .await
        .unwrap_err();
    assert_eq!(
        err_text(&e),
        "ERR wrong number of arguments for 'restore' command"
    );
}

#[tokio::test]
async fn sanitize_dump_payload_refuses_inconsistent_listpacks() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let got: Vec<String> = cmd(&mut con, &["CONFIG", "GET", "sanitize-dump-payload"])
        .await
        .unwrap();
    assert_eq!(got, ["sanitize-dump-payload", "no"]);
    let e = cmd::<String>(
        &mut con,
        &["CONFIG", "SET", "sanitize-dump-payload", "maybe"],
    )
    .await
    .unwrap_err();
    assert!(err_text(&e).contains("argument(s) must be one of the following: no, yes, clients"));
    // A zset listpack (redis-server 7.0.15's DUMP of ZADD z1 1.5 a 2 b -3 c)
    // with the backlen of its first element changed from 2 to 3.
    let hex = "111a1a0000000600816302dffd0281610283312e35048162020201ff";
    let mut obj: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(obj[2 + 6 + 2], 2);
    obj[2 + 6 + 2] = 3;
    let p = sealed(&obj, 10);
    for mode in ["yes", "clients"] {
        let _: String = cmd(&mut con, &["CONFIG", "SET", "sanitize-dump-payload", mode])
            .await
            .unwrap();
        assert_eq!(
            restore_err(&mut con, "z", "0", &p, &[]).await,
            "ERR Bad data format"
        );
    }
    // Under "clients", a user with skip-sanitize-payload is not checked.
    let _: String = cmd(
        &mut con,
        &[
            "ACL",
            "SETUSER",
            "trusted",
            "on",
            ">pw",
            "~*",
            "+@all",
            "skip-sanitize-payload",
        ],
    )
    .await
    .unwrap();
    let mut trusted = srv.client().await;
    let _: String = cmd(&mut trusted, &["AUTH", "trusted", "pw"]).await.unwrap();
    assert_eq!(
        restore(&mut trusted, "z", "0", &p, &[]).await.unwrap(),
        "OK"
    );
    let _: i64 = cmd(&mut con, &["DEL", "z"]).await.unwrap();
    let _: String = cmd(&mut con, &["CONFIG", "SET", "sanitize-dump-payload", "no"])
        .await
        .unwrap();
    assert_eq!(restore(&mut con, "z", "0", &p, &[]).await.unwrap(), "OK");
    let n: i64 = cmd(&mut con, &["ZCARD", "z"]).await.unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn restored_keys_survive_restart_and_reload() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    make_stream(&mut con, "src").await;
    let _: () = cmd(&mut con, &["SET", "s", "value"]).await.unwrap();
    let _: i64 = cmd(&mut con, &["ZADD", "z", "1", "a", "2", "b"])
        .await
        .unwrap();
    for key in ["src", "s", "z"] {
        let p = dump(&mut con, key).await.unwrap();
        let copy = format!("{key}-copy");
        assert_eq!(
            restore(&mut con, &copy, "100000", &p, &[]).await.unwrap(),
            "OK"
        );
    }
    let _: i64 = cmd(&mut con, &["DEL", "src"]).await.unwrap();
    let view = stream_view(&mut con, "src-copy").await;
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(stream_view(&mut con, "src-copy").await, view);
    let s: String = cmd(&mut con, &["GET", "s-copy"]).await.unwrap();
    assert_eq!(s, "value");
    let z: Vec<String> = cmd(&mut con, &["ZRANGE", "z-copy", "0", "-1"])
        .await
        .unwrap();
    assert_eq!(z, ["a", "b"]);
    let pttl: i64 = cmd(&mut con, &["PTTL", "s-copy"]).await.unwrap();
    assert!(pttl > 0 && pttl <= 100_000, "{pttl}");
    let _: Value = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(stream_view(&mut con, "src-copy").await, view);
}

#[tokio::test]
async fn commands_table_and_categories() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let info: Vec<Value> = cmd(&mut con, &["COMMAND", "INFO", "dump", "restore"])
        .await
        .unwrap();
    let flat = format!("{info:?}");
    for cat in ["@keyspace", "@read", "@slow", "@write", "@dangerous"] {
        assert!(flat.contains(cat), "{cat} missing in {flat}");
    }
}

/// Mutated payloads of every type go through RESTORE (both sanitize
/// modes), and whatever is accepted is then read through the type's
/// commands: the server must answer every one (no panic, no hang).
#[tokio::test]
async fn mutated_payloads_restore_or_fail_cleanly() {
    use rand::{Rng, SeedableRng};
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    make_stream(&mut con, "x").await;
    let _: () = cmd(&mut con, &["SET", "s", "some string value"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["ZADD", "z", "1", "a", "2", "b", "-5", "c"])
        .await
        .unwrap();
    let mut seeds = Vec::new();
    for key in ["x", "s", "z"] {
        let p = dump(&mut con, key).await.unwrap();
        seeds.push(p[..p.len() - 10].to_vec());
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let mut accepted = 0;
    for round in 0..1500 {
        let mode = if round % 2 == 0 { "no" } else { "yes" };
        let _: String = cmd(&mut con, &["CONFIG", "SET", "sanitize-dump-payload", mode])
            .await
            .unwrap();
        let mut body = seeds[round % seeds.len()].clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..body.len());
            match rng.random_range(0..3) {
                0 => body[i] = rng.random(),
                1 => body[i] ^= 1 << rng.random_range(0..8),
                _ => body.truncate(i.max(1)),
            }
        }
        let p = sealed(&body, 10);
        match restore(&mut con, "m", "0", &p, &["REPLACE"]).await {
            Ok(_) => {
                accepted += 1;
                let t: String = cmd(&mut con, &["TYPE", "m"]).await.unwrap();
                let reads: &[&[&str]] = match t.as_str() {
                    "stream" => &[
                        &["XRANGE", "m", "-", "+"],
                        &["XINFO", "STREAM", "m", "FULL"],
                        &["XINFO", "GROUPS", "m"],
                        &["XPENDING", "m", "g1", "-", "+", "10"],
                        &["XINFO", "CONSUMERS", "m", "g1"],
                        &["XADD", "m", "*", "f", "v"],
                    ],
                    "zset" => &[&["ZRANGE", "m", "0", "-1", "WITHSCORES"]],
                    _ => &[&["GET", "m"]],
                };
                for args in reads {
                    // Errors (NOGROUP, an ID too small) are fine; a dropped
                    // connection is not.
                    let r = cmd::<Value>(&mut con, args).await;
                    if let Err(e) = &r {
                        assert!(e.kind() != redis::ErrorKind::IoError, "{args:?}: {e}");
                    }
                }
                let again = dump(&mut con, "m").await.unwrap();
                assert_eq!(
                    restore(&mut con, "m2", "0", &again, &["REPLACE"])
                        .await
                        .unwrap(),
                    "OK"
                );
            }
            Err(e) => {
                let text = err_text(&e);
                assert!(
                    text == "ERR Bad data format"
                        || text == "ERR DUMP payload version or checksum are wrong",
                    "{text}"
                );
            }
        }
    }
    assert!(accepted > 0);
    let pong: String = cmd(&mut con, &["PING"]).await.unwrap();
    assert_eq!(pong, "PONG");
}
