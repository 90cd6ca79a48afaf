//! Generic key commands through the stock `redis` crate and raw RESP:
//! DEL/UNLINK/EXISTS/TOUCH/TYPE/KEYS/SCAN/RENAME/RENAMENX/COPY/MOVE, the
//! EXPIRE and TTL families, PERSIST, RANDOMKEY, OBJECT, and the rule that a
//! key past its TTL is absent to all of them.
//!
//! Keys are written straight into the keyspace (these tests do not depend on
//! the string commands), with the server's own clock for their times.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use sluice::keyspace::{Entry, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Stores `key = value` in database `db`, optionally with a TTL in ms.
fn put_in(srv: &TestServer, db: usize, key: &str, value: &str, ttl_ms: Option<i64>) {
    let now = srv.clock.now_ms();
    let mut ks = srv.shared.keyspace.lock().unwrap();
    let (db, _) = ks.db(db);
    let key = Bytes::from(key.to_owned());
    db.insert(
        key.clone(),
        Entry::new(Value::Str(Bytes::from(value.to_owned())), now),
    );
    if let Some(ttl) = ttl_ms {
        assert!(db.set_expire(&key, Some(now + ttl)));
    }
}

fn put(srv: &TestServer, key: &str, value: &str) {
    put_in(srv, 0, key, value, None);
}

fn put_ttl(srv: &TestServer, key: &str, value: &str, ttl_ms: i64) {
    put_in(srv, 0, key, value, Some(ttl_ms));
}

/// The value of `key` in database `db`, read without side effects.
fn value_in(srv: &TestServer, db: usize, key: &str) -> Option<String> {
    let ks = srv.shared.keyspace.lock().unwrap();
    let found = ks.dbs()[db]
        .iter()
        .find(|(k, _)| k.as_ref() == key.as_bytes())
        .map(|(_, e)| match &e.value {
            Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
            Value::Stream(s) => format!("<stream of {}>", s.len()),
            Value::ZSet(z) => format!("<zset of {}>", z.len()),
            Value::Set(s) => format!("<set of {}>", s.len()),
            Value::List(l) => format!("<list of {}>", l.len()),
            Value::Hash(h) => format!("<hash of {}>", h.len()),
        });
    found
}

fn expired_keys(srv: &TestServer) -> u64 {
    srv.shared.keyspace.lock().unwrap().stats.expired_keys
}

/// A manual-clock server with the active sweep off, so only lazy expiry
/// can remove keys.
async fn manual_no_sweep() -> TestServer {
    let srv = TestServer::with_manual_clock().await;
    srv.shared.active_expire.store(false, Ordering::SeqCst);
    srv
}

async fn int(con: &mut MultiplexedConnection, args: &[&str]) -> i64 {
    cmd(con, args)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

async fn err(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    match cmd::<redis::Value>(con, args).await {
        Ok(v) => panic!("{args:?}: expected an error, got {v:?}"),
        Err(e) => err_text(&e),
    }
}

async fn sorted_keys(con: &mut MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut keys: Vec<String> = cmd(con, &["KEYS", pattern]).await.unwrap();
    keys.sort();
    keys
}

/// A raw connection that also understands RESP2's null bulk and null array
/// (the shared raw client decodes RESP3 only).
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    resp3: bool,
}

impl Raw {
    /// Connects; with `resp3`, switches the connection with HELLO 3 first.
    async fn connect(srv: &TestServer, resp3: bool) -> Raw {
        let mut raw = Raw {
            stream: TcpStream::connect(srv.addr).await.expect("connect"),
            buf: Vec::new(),
            resp3: false,
        };
        if resp3 {
            raw.resp3 = true;
            let hello = raw.request(&["HELLO", "3"]).await;
            assert!(hello.starts_with('%'), "{hello}");
        }
        raw
    }

    /// Sends a command and returns its whole reply as text.
    async fn request(&mut self, args: &[&str]) -> String {
        self.stream.write_all(&resp(args)).await.expect("write");
        loop {
            let len = if self.resp3 {
                redis_protocol::resp3::decode::complete::decode(&self.buf)
                    .expect("valid RESP3")
                    .map(|(_, n)| n)
            } else {
                redis_protocol::resp2::decode::decode(&self.buf)
                    .expect("valid RESP2")
                    .map(|(_, n)| n)
            };
            if let Some(len) = len {
                let frame: Vec<u8> = self.buf.drain(..len).collect();
                return String::from_utf8_lossy(&frame).into_owned();
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("reply within 10 s")
                .expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A RESP request.
fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[tokio::test]
async fn del_unlink_exists_touch_count_keys() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        let mut con = srv.connect(resp3).await;
        put(&srv, "a", "1");
        put(&srv, "b", "2");
        assert_eq!(int(&mut con, &["EXISTS", "a", "a", "b", "nope"]).await, 3);
        assert_eq!(int(&mut con, &["TOUCH", "a", "a", "nope"]).await, 2);
        assert_eq!(int(&mut con, &["DEL", "a", "a", "nope"]).await, 1);
        assert_eq!(int(&mut con, &["UNLINK", "b", "b"]).await, 1);
        assert_eq!(int(&mut con, &["EXISTS", "a", "b"]).await, 0);
        assert_eq!(int(&mut con, &["DEL", "a"]).await, 0);
        assert_eq!(
            err(&mut con, &["DEL"]).await,
            "ERR wrong number of arguments for 'del' command"
        );
        assert_eq!(
            err(&mut con, &["EXISTS"]).await,
            "ERR wrong number of arguments for 'exists' command"
        );
    }
}

#[tokio::test]
async fn type_replies_status_none_for_missing() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        put(&srv, "s", "v");
        let mut raw = Raw::connect(&srv, resp3).await;
        assert_eq!(raw.request(&["TYPE", "s"]).await, "+string\r\n");
        assert_eq!(raw.request(&["TYPE", "nope"]).await, "+none\r\n");
        assert_eq!(
            raw.request(&["TYPE", "s", "x"]).await,
            "-ERR wrong number of arguments for 'type' command\r\n"
        );
    }
}

#[tokio::test]
async fn keys_matches_glob_patterns() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "user:1", "a*b",
    ] {
        put(&srv, k, "v");
    }
    assert_eq!(sorted_keys(&mut con, "*").await.len(), 7);
    assert_eq!(
        sorted_keys(&mut con, "h?llo").await,
        ["hallo", "hello", "hxllo"]
    );
    assert_eq!(
        sorted_keys(&mut con, "h*llo").await,
        ["hallo", "heeeello", "hello", "hllo", "hxllo"]
    );
    assert_eq!(sorted_keys(&mut con, "h[ae]llo").await, ["hallo", "hello"]);
    assert_eq!(sorted_keys(&mut con, "h[^e]llo").await, ["hallo", "hxllo"]);
    assert_eq!(sorted_keys(&mut con, "user:*").await, ["user:1"]);
    assert_eq!(sorted_keys(&mut con, "a\\*b").await, ["a*b"]);
    assert!(sorted_keys(&mut con, "nomatch*").await.is_empty());
}

/// Runs a full SCAN with the given options and returns every key with how
/// many times it came back, checking each reply's shape.
async fn full_scan(con: &mut MultiplexedConnection, opts: &[&str]) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let (next, keys): (String, Vec<String>) = cmd(con, &args).await.unwrap();
        for k in keys {
            *seen.entry(k).or_insert(0) += 1;
        }
        calls += 1;
        assert!(calls < 1000, "SCAN never finished");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    seen
}

#[tokio::test]
async fn scan_returns_every_key_exactly_once() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        let mut con = srv.connect(resp3).await;
        for i in 0..100 {
            put(&srv, &format!("key:{i}"), "v");
        }
        for i in 0..10 {
            put(&srv, &format!("other:{i}"), "v");
        }
        let seen = full_scan(&mut con, &["COUNT", "3"]).await;
        assert_eq!(seen.len(), 110);
        assert!(seen.values().all(|&n| n == 1), "{seen:?}");

        // One call with COUNT 3 visits a bounded number of slots.
        let (next, keys): (String, Vec<String>) =
            cmd(&mut con, &["SCAN", "0", "COUNT", "3"]).await.unwrap();
        assert_ne!(next, "0");
        assert!(keys.len() <= 3, "{keys:?}");

        let matched = full_scan(&mut con, &["MATCH", "other:*", "COUNT", "3"]).await;
        let mut names: Vec<_> = matched.keys().cloned().collect();
        names.sort();
        let want: Vec<String> = {
            let mut w: Vec<String> = (0..10).map(|i| format!("other:{i}")).collect();
            w.sort();
            w
        };
        assert_eq!(names, want);
        assert!(matched.values().all(|&n| n == 1));

        let strings = full_scan(&mut con, &["TYPE", "string", "COUNT", "3"]).await;
        assert_eq!(strings.len(), 110);
        let upper = full_scan(&mut con, &["TYPE", "STRING"]).await;
        assert_eq!(upper.len(), 110);
        assert!(full_scan(&mut con, &["TYPE", "hash"]).await.is_empty());
        assert!(full_scan(&mut con, &["TYPE", "nosuchtype"])
            .await
            .is_empty());
        let both = full_scan(&mut con, &["MATCH", "key:1*", "TYPE", "string"]).await;
        assert_eq!(both.len(), 11); // key:1, key:10..key:19
    }
}

#[tokio::test]
async fn scan_argument_errors() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    put(&srv, "k", "v");
    for bad in ["abc", "-1", "18446744073709551616", "1x", ""] {
        assert_eq!(
            err(&mut con, &["SCAN", bad]).await,
            "ERR invalid cursor",
            "{bad:?}"
        );
    }
    // Anything strtoull takes whole is a cursor; past the end means done.
    for ok in ["18446744073709551615", "007", "+0"] {
        let (next, _): (String, Vec<String>) = cmd(&mut con, &["SCAN", ok]).await.unwrap();
        assert_eq!(next, "0", "{ok:?}");
    }
    let syntax = "ERR syntax error";
    assert_eq!(err(&mut con, &["SCAN", "0", "COUNT", "0"]).await, syntax);
    assert_eq!(err(&mut con, &["SCAN", "0", "COUNT", "-1"]).await, syntax);
    assert_eq!(
        err(&mut con, &["SCAN", "0", "COUNT", "abc"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(err(&mut con, &["SCAN", "0", "MATCH"]).await, syntax);
    assert_eq!(err(&mut con, &["SCAN", "0", "TYPE"]).await, syntax);
    assert_eq!(err(&mut con, &["SCAN", "0", "foo", "bar"]).await, syntax);
    // The cursor is checked first.
    assert_eq!(
        err(&mut con, &["SCAN", "x", "COUNT", "0"]).await,
        "ERR invalid cursor"
    );
}

#[tokio::test]
async fn scan_reply_shape_in_both_protocols() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        put(&srv, "only", "v");
        let mut raw = Raw::connect(&srv, resp3).await;
        assert_eq!(
            raw.request(&["SCAN", "0"]).await,
            "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nonly\r\n"
        );
        assert_eq!(raw.request(&["KEYS", "*"]).await, "*1\r\n$4\r\nonly\r\n");
    }
}

#[tokio::test]
async fn expired_keys_are_absent_everywhere() {
    let srv = manual_no_sweep().await;
    let mut con = srv.client().await;
    put_ttl(&srv, "gone", "v", 1000);
    put(&srv, "stay", "v");
    // At exactly the expiry time the key still lives.
    srv.clock.advance(1000);
    assert_eq!(int(&mut con, &["PTTL", "gone"]).await, 0);
    assert_eq!(int(&mut con, &["EXISTS", "gone"]).await, 1);
    srv.clock.advance(1);

    // Walks of the table must not report it (no lookup deletes it first).
    assert_eq!(sorted_keys(&mut con, "*").await, ["stay"]);
    let seen = full_scan(&mut con, &["COUNT", "1"]).await;
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["stay"]);
    // SCAN deleted the expired key it met, counting it.
    assert_eq!(expired_keys(&srv), 1);
    assert_eq!(value_in(&srv, 0, "gone"), None);

    for check in [
        "TYPE",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "EXISTS",
        "TOUCH",
        "PERSIST",
    ] {
        put_ttl(&srv, "gone", "v", 10);
        srv.clock.advance(11);
        let reply: redis::Value = cmd(&mut con, &[check, "gone"]).await.unwrap();
        let want = match check {
            "TYPE" => redis::Value::SimpleString("none".into()),
            "TTL" | "PTTL" | "EXPIRETIME" => redis::Value::Int(-2),
            _ => redis::Value::Int(0),
        };
        assert_eq!(reply, want, "{check}");
    }
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    let enc: Option<String> = cmd(&mut con, &["OBJECT", "ENCODING", "gone"])
        .await
        .unwrap();
    assert_eq!(enc, None);
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    assert_eq!(
        err(&mut con, &["RENAME", "gone", "x"]).await,
        "ERR no such key"
    );
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    assert_eq!(int(&mut con, &["DEL", "gone"]).await, 0);
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    assert_eq!(int(&mut con, &["COPY", "gone", "x"]).await, 0);
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    assert_eq!(int(&mut con, &["MOVE", "gone", "1"]).await, 0);
    put_ttl(&srv, "gone", "v", 10);
    srv.clock.advance(11);
    assert_eq!(int(&mut con, &["EXPIRE", "gone", "100"]).await, 0);
    assert_eq!(sorted_keys(&mut con, "*").await, ["stay"]);
}

#[tokio::test]
async fn randomkey_never_returns_expired_keys() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut raw = Raw::connect(&srv, resp3).await;
        let nil = if resp3 { "_\r\n" } else { "$-1\r\n" };
        assert_eq!(raw.request(&["RANDOMKEY"]).await, nil);
        for i in 0..20 {
            put_ttl(&srv, &format!("t{i}"), "v", 100);
        }
        let picked = raw.request(&["RANDOMKEY"]).await;
        assert!(
            picked.starts_with("$2\r\nt") || picked.starts_with("$3\r\nt"),
            "{picked}"
        );
        srv.clock.advance(101);
        // Only expired keys: each pick deletes one, then nil.
        assert_eq!(raw.request(&["RANDOMKEY"]).await, nil);
        assert_eq!(srv.shared.keyspace.lock().unwrap().dbs()[0].len(), 0);
        assert_eq!(expired_keys(&srv), 20);

        put(&srv, "live", "v");
        for i in 0..20 {
            put_ttl(&srv, &format!("t{i}"), "v", 100);
        }
        srv.clock.advance(101);
        for _ in 0..5 {
            assert_eq!(raw.request(&["RANDOMKEY"]).await, "$4\r\nlive\r\n");
        }
    }
}

#[tokio::test]
async fn randomkey_covers_the_keyspace() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    for k in ["a", "b", "c"] {
        put(&srv, k, "v");
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let k: String = cmd(&mut con, &["RANDOMKEY"]).await.unwrap();
        seen.insert(k);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[tokio::test]
async fn rename_and_renamenx() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut con = srv.connect(resp3).await;
        assert_eq!(
            err(&mut con, &["RENAME", "no", "x"]).await,
            "ERR no such key"
        );
        assert_eq!(
            err(&mut con, &["RENAME", "no", "no"]).await,
            "ERR no such key"
        );
        assert_eq!(
            err(&mut con, &["RENAMENX", "no", "no"]).await,
            "ERR no such key"
        );

        put_ttl(&srv, "a", "va", 5000);
        let ok: String = cmd(&mut con, &["RENAME", "a", "a"]).await.unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(int(&mut con, &["RENAMENX", "a", "a"]).await, 0);
        assert_eq!(int(&mut con, &["PTTL", "a"]).await, 5000);

        // RENAME carries the TTL and replaces the destination with its TTL.
        put_ttl(&srv, "b", "vb", 9000);
        let ok: String = cmd(&mut con, &["RENAME", "a", "b"]).await.unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(value_in(&srv, 0, "b").as_deref(), Some("va"));
        assert_eq!(int(&mut con, &["PTTL", "b"]).await, 5000);
        assert_eq!(int(&mut con, &["EXISTS", "a"]).await, 0);

        // A source without TTL leaves the destination without one.
        put(&srv, "c", "vc");
        let _: String = cmd(&mut con, &["RENAME", "c", "b"]).await.unwrap();
        assert_eq!(int(&mut con, &["PTTL", "b"]).await, -1);
        assert_eq!(
            srv.shared.keyspace.lock().unwrap().dbs()[0].volatile_len(),
            0
        );

        put(&srv, "d", "vd");
        assert_eq!(int(&mut con, &["RENAMENX", "d", "b"]).await, 0);
        assert_eq!(value_in(&srv, 0, "b").as_deref(), Some("vc"));
        assert_eq!(int(&mut con, &["RENAMENX", "d", "e"]).await, 1);
        assert_eq!(value_in(&srv, 0, "e").as_deref(), Some("vd"));
        assert_eq!(value_in(&srv, 0, "d"), None);

        // An expired destination counts as free for RENAMENX.
        put_ttl(&srv, "old", "x", 10);
        srv.clock.advance(11);
        assert_eq!(int(&mut con, &["RENAMENX", "e", "old"]).await, 1);
        assert_eq!(int(&mut con, &["PTTL", "old"]).await, -1);
        assert_eq!(
            err(&mut con, &["RENAME", "x"]).await,
            "ERR wrong number of arguments for 'rename' command"
        );
    }
}

#[tokio::test]
async fn copy_options_and_errors() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut con = srv.connect(resp3).await;
        put_ttl(&srv, "a", "va", 7000);
        let same = "ERR source and destination objects are the same";
        assert_eq!(err(&mut con, &["COPY", "a", "a"]).await, same);
        assert_eq!(err(&mut con, &["COPY", "a", "a", "DB", "0"]).await, same);
        assert_eq!(err(&mut con, &["COPY", "a", "a", "REPLACE"]).await, same);
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "DB", "abc"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "DB", "4294967296"]).await,
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        let range = "ERR DB index is out of range";
        assert_eq!(err(&mut con, &["COPY", "a", "b", "DB", "16"]).await, range);
        assert_eq!(err(&mut con, &["COPY", "a", "b", "DB", "-1"]).await, range);
        // Options are checked in order: the bad DB comes first.
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "DB", "99", "foo"]).await,
            range
        );
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "DB", "1", "DB", "abc"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "foo"]).await,
            "ERR syntax error"
        );
        assert_eq!(
            err(&mut con, &["COPY", "a", "b", "DB"]).await,
            "ERR syntax error"
        );
        assert_eq!(
            err(&mut con, &["COPY", "a"]).await,
            "ERR wrong number of arguments for 'copy' command"
        );

        assert_eq!(int(&mut con, &["COPY", "nope", "b"]).await, 0);
        assert_eq!(int(&mut con, &["COPY", "a", "b"]).await, 1);
        assert_eq!(value_in(&srv, 0, "b").as_deref(), Some("va"));
        assert_eq!(int(&mut con, &["PTTL", "b"]).await, 7000);
        assert_eq!(value_in(&srv, 0, "a").as_deref(), Some("va"));

        put(&srv, "c", "vc");
        assert_eq!(int(&mut con, &["COPY", "c", "b"]).await, 0);
        assert_eq!(value_in(&srv, 0, "b").as_deref(), Some("va"));
        assert_eq!(
            int(&mut con, &["COPY", "c", "b", "REPLACE", "REPLACE"]).await,
            1
        );
        assert_eq!(value_in(&srv, 0, "b").as_deref(), Some("vc"));
        // Replacing drops the destination's old TTL.
        assert_eq!(int(&mut con, &["PTTL", "b"]).await, -1);

        // Into another database, same name allowed.
        assert_eq!(int(&mut con, &["COPY", "a", "a", "db", "1"]).await, 1);
        assert_eq!(value_in(&srv, 1, "a").as_deref(), Some("va"));
        put_in(&srv, 1, "z", "old", None);
        assert_eq!(int(&mut con, &["COPY", "a", "z", "DB", "1"]).await, 0);
        assert_eq!(
            int(&mut con, &["COPY", "a", "z", "REPLACE", "DB", "1"]).await,
            1
        );
        assert_eq!(value_in(&srv, 1, "z").as_deref(), Some("va"));
        let _: String = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
        assert_eq!(int(&mut con, &["PTTL", "z"]).await, 7000);
        assert_eq!(int(&mut con, &["PTTL", "a"]).await, 7000);
    }
}

#[tokio::test]
async fn move_between_databases() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut con = srv.connect(resp3).await;
        put_ttl(&srv, "a", "va", 3000);
        assert_eq!(
            err(&mut con, &["MOVE", "a", "0"]).await,
            "ERR source and destination objects are the same"
        );
        // The database is checked before the key.
        assert_eq!(
            err(&mut con, &["MOVE", "nope", "0"]).await,
            "ERR source and destination objects are the same"
        );
        let range = "ERR DB index is out of range";
        assert_eq!(err(&mut con, &["MOVE", "a", "16"]).await, range);
        assert_eq!(err(&mut con, &["MOVE", "a", "-1"]).await, range);
        let not_int = "ERR value is not an integer or out of range";
        assert_eq!(err(&mut con, &["MOVE", "a", "abc"]).await, not_int);
        assert_eq!(
            err(&mut con, &["MOVE", "a", "4294967296"]).await,
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(int(&mut con, &["MOVE", "nope", "1"]).await, 0);

        assert_eq!(int(&mut con, &["MOVE", "a", "1"]).await, 1);
        assert_eq!(value_in(&srv, 0, "a"), None);
        assert_eq!(value_in(&srv, 1, "a").as_deref(), Some("va"));
        put(&srv, "a", "again");
        assert_eq!(int(&mut con, &["MOVE", "a", "1"]).await, 0);
        assert_eq!(value_in(&srv, 0, "a").as_deref(), Some("again"));
        let _: String = cmd(&mut con, &["SELECT", "1"]).await.unwrap();
        assert_eq!(int(&mut con, &["PTTL", "a"]).await, 3000);
        // Back to 0 is refused: the name is taken there.
        assert_eq!(int(&mut con, &["MOVE", "a", "0"]).await, 0);
    }
}

#[tokio::test]
async fn expire_options_and_errors() {
    let srv = manual_no_sweep().await;
    let mut con = srv.client().await;
    put(&srv, "k", "v");
    let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    let gtlt = "ERR GT and LT options at the same time are not compatible";
    for name in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        assert_eq!(err(&mut con, &[name, "k", "100", "NX", "XX"]).await, nx);
        assert_eq!(err(&mut con, &[name, "k", "100", "nx", "gt"]).await, nx);
        assert_eq!(err(&mut con, &[name, "k", "100", "LT", "NX"]).await, nx);
        assert_eq!(err(&mut con, &[name, "k", "100", "GT", "LT"]).await, gtlt);
        assert_eq!(
            err(&mut con, &[name, "k", "100", "foo"]).await,
            "ERR Unsupported option foo"
        );
        // Options are checked before the time, and before the key.
        assert_eq!(
            err(&mut con, &[name, "missing", "abc", "Bar"]).await,
            "ERR Unsupported option Bar"
        );
        assert_eq!(err(&mut con, &[name, "k", "abc", "GT", "LT"]).await, gtlt);
        assert_eq!(
            err(&mut con, &[name, "k", "abc"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut con, &[name, "k"]).await,
            format!(
                "ERR wrong number of arguments for '{}' command",
                name.to_lowercase()
            )
        );
    }
    let max = "9223372036854775807";
    for (name, time) in [
        ("EXPIRE", max),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "-9223372036854776"),
        ("PEXPIRE", max),
        ("EXPIREAT", max),
        ("EXPIREAT", "-9223372036854775808"),
        // Fits once scaled, overflows once the current time is added.
        ("EXPIRE", "9223372036854775"),
    ] {
        assert_eq!(
            err(&mut con, &[name, "k", time]).await,
            format!(
                "ERR invalid expire time in '{}' command",
                name.to_lowercase()
            ),
            "{name} {time}"
        );
    }
    // Largest absolute times are fine.
    assert_eq!(int(&mut con, &["PEXPIREAT", "k", max]).await, 1);
    assert_eq!(int(&mut con, &["PEXPIRETIME", "k"]).await, i64::MAX);
    assert_eq!(int(&mut con, &["PERSIST", "k"]).await, 1);
    assert_eq!(int(&mut con, &["EXPIRE", "missing", "100"]).await, 0);
}

#[tokio::test]
async fn expire_conditions_follow_redis() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut con = srv.connect(resp3).await;
        put(&srv, "j", "v");
        // No TTL counts as infinite: GT never wins, LT always does.
        assert_eq!(int(&mut con, &["EXPIRE", "j", "100", "GT"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "100", "XX"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "100", "NX"]).await, 1);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "200", "NX"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "50", "GT"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "100", "GT"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "200", "GT"]).await, 1);
        assert_eq!(int(&mut con, &["TTL", "j"]).await, 200);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "300", "LT"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "200", "lt"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "100", "LT"]).await, 1);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "150", "XX", "XX"]).await, 1);
        assert_eq!(int(&mut con, &["TTL", "j"]).await, 150);
        // A past time fails GT against a TTL...
        assert_eq!(int(&mut con, &["EXPIRE", "j", "-1", "GT"]).await, 0);
        assert_eq!(int(&mut con, &["EXISTS", "j"]).await, 1);
        assert_eq!(int(&mut con, &["PERSIST", "j"]).await, 1);
        assert_eq!(int(&mut con, &["PERSIST", "j"]).await, 0);
        assert_eq!(int(&mut con, &["EXPIRE", "j", "-1", "GT"]).await, 0);
        // ...but LT with no TTL takes it, deleting the key.
        assert_eq!(int(&mut con, &["EXPIRE", "j", "-1", "LT"]).await, 1);
        assert_eq!(int(&mut con, &["EXISTS", "j"]).await, 0);
        // Deleting by a past time is not an expiry in the stats.
        assert_eq!(expired_keys(&srv), 0);
    }
}

#[tokio::test]
async fn past_or_zero_times_delete_the_key() {
    let srv = manual_no_sweep().await;
    let mut con = srv.client().await;
    let now = srv.clock.now_ms();
    let cases: Vec<(&str, String)> = vec![
        ("EXPIRE", "0".into()),
        ("EXPIRE", "-5".into()),
        ("PEXPIRE", "0".into()),
        ("PEXPIRE", "-9223372036854775808".into()),
        ("EXPIREAT", "0".into()),
        ("EXPIREAT", (now / 1000 - 1).to_string()),
        ("PEXPIREAT", now.to_string()),
        ("PEXPIREAT", "1".into()),
    ];
    for (name, time) in &cases {
        put_ttl(&srv, "k", "v", 60_000);
        assert_eq!(int(&mut con, &[name, "k", time]).await, 1, "{name} {time}");
        assert_eq!(value_in(&srv, 0, "k"), None, "{name} {time}");
    }
    // One millisecond in the future keeps it.
    put(&srv, "k", "v");
    assert_eq!(
        int(&mut con, &["PEXPIREAT", "k", &(now + 1).to_string()]).await,
        1
    );
    assert_eq!(int(&mut con, &["PTTL", "k"]).await, 1);
    assert_eq!(expired_keys(&srv), 0);
}

#[tokio::test]
async fn ttl_family_values() {
    for resp3 in [false, true] {
        let srv = manual_no_sweep().await;
        let mut con = srv.connect(resp3).await;
        let now = srv.clock.now_ms();
        for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(int(&mut con, &[name, "missing"]).await, -2, "{name}");
        }
        put(&srv, "k", "v");
        for name in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            assert_eq!(int(&mut con, &[name, "k"]).await, -1, "{name}");
        }
        assert_eq!(int(&mut con, &["PEXPIRE", "k", "1499"]).await, 1);
        assert_eq!(int(&mut con, &["TTL", "k"]).await, 1);
        assert_eq!(int(&mut con, &["PTTL", "k"]).await, 1499);
        assert_eq!(int(&mut con, &["PEXPIRE", "k", "1500"]).await, 1);
        // Seconds round to the nearest.
        assert_eq!(int(&mut con, &["TTL", "k"]).await, 2);
        assert_eq!(int(&mut con, &["PEXPIRETIME", "k"]).await, now + 1500);
        assert_eq!(int(&mut con, &["EXPIRE", "k", "100"]).await, 1);
        assert_eq!(int(&mut con, &["TTL", "k"]).await, 100);
        assert_eq!(int(&mut con, &["PTTL", "k"]).await, 100_000);
        srv.clock.advance(40_000);
        assert_eq!(int(&mut con, &["TTL", "k"]).await, 60);
        assert_eq!(int(&mut con, &["PEXPIRETIME", "k"]).await, now + 100_000);

        assert_eq!(int(&mut con, &["PEXPIREAT", "k", "1999999999500"]).await, 1);
        assert_eq!(int(&mut con, &["EXPIRETIME", "k"]).await, 2_000_000_000);
        assert_eq!(int(&mut con, &["PEXPIREAT", "k", "1999999999499"]).await, 1);
        assert_eq!(int(&mut con, &["EXPIRETIME", "k"]).await, 1_999_999_999);
        assert_eq!(int(&mut con, &["EXPIREAT", "k", "1999999999"]).await, 1);
        assert_eq!(
            int(&mut con, &["PEXPIRETIME", "k"]).await,
            1_999_999_999_000
        );

        assert_eq!(int(&mut con, &["PERSIST", "k"]).await, 1);
        assert_eq!(int(&mut con, &["TTL", "k"]).await, -1);
        assert_eq!(int(&mut con, &["PERSIST", "missing"]).await, 0);
        assert_eq!(
            srv.shared.keyspace.lock().unwrap().dbs()[0].volatile_len(),
            0
        );
    }
}

#[tokio::test]
async fn key_expires_by_clock_through_lazy_lookup() {
    let srv = manual_no_sweep().await;
    let mut con = srv.client().await;
    put(&srv, "k", "v");
    assert_eq!(int(&mut con, &["PEXPIRE", "k", "500"]).await, 1);
    srv.clock.advance(499);
    assert_eq!(int(&mut con, &["EXISTS", "k"]).await, 1);
    srv.clock.advance(2);
    assert_eq!(int(&mut con, &["EXISTS", "k"]).await, 0);
    assert_eq!(expired_keys(&srv), 1);
}

#[tokio::test]
async fn active_sweep_removes_untouched_keys() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    put(&srv, "a", "v");
    put(&srv, "b", "v");
    assert_eq!(int(&mut con, &["PEXPIRE", "a", "100"]).await, 1);
    assert_eq!(int(&mut con, &["EXPIRE", "b", "1"]).await, 1);
    srv.clock.advance(1001);
    let mut left = usize::MAX;
    for _ in 0..150 {
        left = srv.shared.keyspace.lock().unwrap().dbs()[0].len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "the sweep did not delete the keys");
    assert_eq!(expired_keys(&srv), 2);
}

#[tokio::test]
async fn object_encoding_and_refcount() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        let mut con = srv.connect(resp3).await;
        let cases = [
            ("100", "int", i64::from(i32::MAX)),
            ("9999", "int", i64::from(i32::MAX)),
            ("0", "int", i64::from(i32::MAX)),
            ("10000", "int", 1),
            ("-1", "int", 1),
            ("9223372036854775807", "int", 1),
            ("12345678901234567890", "embstr", 1),
            ("-0", "embstr", 1),
            ("007", "embstr", 1),
            ("+1", "embstr", 1),
            ("abc", "embstr", 1),
            ("", "embstr", 1),
        ];
        for (value, enc, refs) in cases {
            put(&srv, "k", value);
            let got: String = cmd(&mut con, &["OBJECT", "ENCODING", "k"]).await.unwrap();
            assert_eq!(got, enc, "{value:?}");
            assert_eq!(
                int(&mut con, &["object", "refcount", "k"]).await,
                refs,
                "{value:?}"
            );
        }
        put(&srv, "k", &"x".repeat(44));
        let got: String = cmd(&mut con, &["OBJECT", "ENCODING", "k"]).await.unwrap();
        assert_eq!(got, "embstr");
        put(&srv, "k", &"x".repeat(45));
        let got: String = cmd(&mut con, &["OBJECT", "ENCODING", "k"]).await.unwrap();
        assert_eq!(got, "raw");
        // A string changed in place is raw whatever it holds.
        put(&srv, "k", "51");
        srv.shared
            .keyspace
            .lock()
            .unwrap()
            .db(0)
            .0
            .get_mut(b"k", 0, &mut Default::default())
            .unwrap()
            .raw_encoding = true;
        let got: String = cmd(&mut con, &["OBJECT", "ENCODING", "k"]).await.unwrap();
        assert_eq!(got, "raw");
        assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", "k"]).await, 1);

        let missing: Option<String> = cmd(&mut con, &["OBJECT", "ENCODING", "nope"])
            .await
            .unwrap();
        assert_eq!(missing, None);
        let missing: Option<i64> = cmd(&mut con, &["OBJECT", "REFCOUNT", "nope"])
            .await
            .unwrap();
        assert_eq!(missing, None);
    }
}

#[tokio::test]
async fn object_replies_and_errors_raw() {
    for resp3 in [false, true] {
        let srv = TestServer::start().await;
        put(&srv, "k", "v");
        let mut raw = Raw::connect(&srv, resp3).await;
        let nil = if resp3 { "_\r\n" } else { "$-1\r\n" };
        assert_eq!(
            raw.request(&["OBJECT", "ENCODING", "k"]).await,
            // A bulk string, as real Redis sends it.
            "$6\r\nembstr\r\n"
        );
        for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"] {
            assert_eq!(raw.request(&["OBJECT", sub, "nope"]).await, nil, "{sub}");
        }
        assert_eq!(
            raw.request(&["OBJECT", "FREQ", "k"]).await,
            "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
        );
        assert_eq!(
            raw.request(&["OBJECT", "foo", "k"]).await,
            "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
        );
        assert_eq!(
            raw.request(&["OBJECT", "ENCODING", "k", "x"]).await,
            "-ERR wrong number of arguments for 'object|encoding' command\r\n"
        );
        assert_eq!(
            raw.request(&["OBJECT", "HELP", "x"]).await,
            "-ERR wrong number of arguments for 'object|help' command\r\n"
        );
        assert_eq!(
            raw.request(&["OBJECT"]).await,
            "-ERR wrong number of arguments for 'object' command\r\n"
        );
        let help = raw.request(&["OBJECT", "HELP"]).await;
        assert!(help.starts_with('*'), "{help}");
        for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP"] {
            assert!(help.contains(&format!("+{sub}")), "{sub} in {help}");
        }
    }
}

#[tokio::test]
async fn object_idletime_follows_access_but_not_inspection() {
    let srv = manual_no_sweep().await;
    let mut con = srv.client().await;
    put(&srv, "k", "v");
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "k"]).await, 0);
    srv.clock.advance(5_900);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "k"]).await, 5);
    // Inspecting commands leave the access time alone.
    for check in [
        vec!["OBJECT", "ENCODING", "k"],
        vec!["OBJECT", "REFCOUNT", "k"],
        vec!["TYPE", "k"],
        vec!["EXISTS", "k"],
        vec!["TTL", "k"],
        vec!["KEYS", "*"],
        vec!["SCAN", "0"],
    ] {
        let _: redis::Value = cmd(&mut con, &check).await.unwrap();
    }
    srv.clock.advance(200);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "k"]).await, 6);
    // TOUCH counts as a use.
    assert_eq!(int(&mut con, &["TOUCH", "k"]).await, 1);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "k"]).await, 0);
    srv.clock.advance(3_000);
    // A rename keeps the key's clock; a copy starts its own.
    let _: String = cmd(&mut con, &["RENAME", "k", "r"]).await.unwrap();
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "r"]).await, 3);
    srv.clock.advance(2_000);
    assert_eq!(int(&mut con, &["COPY", "r", "c"]).await, 1);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "c"]).await, 0);
}

#[tokio::test]
async fn commands_work_in_other_databases() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    put_in(&srv, 3, "k", "v", None);
    assert_eq!(int(&mut con, &["EXISTS", "k"]).await, 0);
    let _: String = cmd(&mut con, &["SELECT", "3"]).await.unwrap();
    assert_eq!(int(&mut con, &["EXISTS", "k"]).await, 1);
    assert_eq!(sorted_keys(&mut con, "*").await, ["k"]);
    let k: String = cmd(&mut con, &["RANDOMKEY"]).await.unwrap();
    assert_eq!(k, "k");
    assert_eq!(int(&mut con, &["COPY", "k", "k", "DB", "0"]).await, 1);
    assert_eq!(value_in(&srv, 0, "k").as_deref(), Some("v"));
    assert_eq!(int(&mut con, &["DEL", "k"]).await, 1);
    assert_eq!(value_in(&srv, 3, "k"), None);
    assert_eq!(value_in(&srv, 0, "k").as_deref(), Some("v"));
}

#[tokio::test]
async fn key_changes_abort_watchers() {
    let srv = TestServer::start().await;
    put(&srv, "w", "v");
    let mut raw = Raw::connect(&srv, false).await;
    let mut other = srv.client().await;
    for change in [
        vec!["EXPIRE", "w", "100"],
        vec!["PERSIST", "w"],
        vec!["RENAME", "w", "w2"],
        vec!["RENAME", "w2", "w"],
        vec!["DEL", "w"],
    ] {
        assert_eq!(raw.request(&["WATCH", "w"]).await, "+OK\r\n");
        let _: redis::Value = cmd(&mut other, &change).await.unwrap();
        assert_eq!(raw.request(&["MULTI"]).await, "+OK\r\n");
        assert_eq!(raw.request(&["EXISTS", "w"]).await, "+QUEUED\r\n");
        assert_eq!(raw.request(&["EXEC"]).await, "*-1\r\n", "{change:?}");
    }
}
