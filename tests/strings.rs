//! String commands through a stock client (RESP2 and RESP3) and raw bytes:
//! replies, error texts, TTL handling with a manual clock, binary safety.

mod common;

use common::{err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::{FromRedisValue, RedisResult};

/// Runs a command with binary-safe arguments.
async fn q<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&[u8]]) -> RedisResult<T> {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query_async(con).await
}

/// Runs a command that must fail and returns the error text.
async fn qerr(con: &mut MultiplexedConnection, args: &[&str]) -> String {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match q::<redis::Value>(con, &bytes).await {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => err_text(&e),
    }
}

/// Runs a command with text arguments and returns its value.
async fn c<T: FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match q(con, &bytes).await {
        Ok(v) => v,
        Err(e) => panic!("{args:?} failed: {}", err_text(&e)),
    }
}

/// GET as an optional string.
async fn get(con: &mut MultiplexedConnection, key: &str) -> Option<String> {
    c(con, &["GET", key]).await
}

/// The key's expiry straight from the keyspace: `None` if the key is
/// absent, `Some(None)` if it has no TTL.
fn expiry(srv: &TestServer, key: &str) -> Option<Option<i64>> {
    let mut ks = srv.shared.keyspace.lock().unwrap();
    let (db, stats) = ks.db(0);
    db.peek(key.as_bytes(), srv.clock.now_ms(), stats)
        .map(|e| e.expire_at())
}

/// Whether the key's entry is flagged as changed in place (raw encoding).
fn raw_encoding(srv: &TestServer, key: &str) -> bool {
    let mut ks = srv.shared.keyspace.lock().unwrap();
    let (db, stats) = ks.db(0);
    db.peek(key.as_bytes(), srv.clock.now_ms(), stats)
        .expect("key exists")
        .raw_encoding
}

async fn flush(srv: &TestServer) {
    let mut ks = srv.shared.keyspace.lock().unwrap();
    ks.flush_all();
}

#[tokio::test]
async fn get_set_basics_and_binary_values() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        assert_eq!(get(&mut con, "missing").await, None);
        let ok: String = c(&mut con, &["SET", "k", "v"]).await;
        assert_eq!(ok, "OK");
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("v"));
        // Binary keys and values, empty values.
        let bin: &[u8] = b"a\x00b\xff\r\n";
        let _: () = q(&mut con, &[b"SET", bin, bin]).await.unwrap();
        let back: Vec<u8> = q(&mut con, &[b"GET", bin]).await.unwrap();
        assert_eq!(back, bin);
        let _: () = q(&mut con, &[b"SET", b"empty", b""]).await.unwrap();
        let back: Option<Vec<u8>> = q(&mut con, &[b"GET", b"empty"]).await.unwrap();
        assert_eq!(back, Some(Vec::new()));
        let n: i64 = q(&mut con, &[b"STRLEN", bin]).await.unwrap();
        assert_eq!(n, 6);
        assert_eq!(
            qerr(&mut con, &["GET"]).await,
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            qerr(&mut con, &["GET", "a", "b"]).await,
            "ERR wrong number of arguments for 'get' command"
        );
    }
}

#[tokio::test]
async fn big_value_round_trip() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        let mut con = srv.connect(resp3).await;
        let value: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
        let _: () = q(&mut con, &[b"SET", b"big", &value]).await.unwrap();
        let back: Vec<u8> = q(&mut con, &[b"GET", b"big"]).await.unwrap();
        assert_eq!(back, value);
        let n: i64 = c(&mut con, &["STRLEN", "big"]).await;
        assert_eq!(n, 1024 * 1024);
        let n: i64 = c(&mut con, &["APPEND", "big", "xyz"]).await;
        assert_eq!(n, 1024 * 1024 + 3);
        let tail: Vec<u8> = c(&mut con, &["GETRANGE", "big", "-4", "-1"]).await;
        assert_eq!(tail[1..], *b"xyz");
    }
}

/// A raw connection that checks exact reply bytes (the shared raw client's
/// decoder only knows RESP3 framing).
struct Raw(tokio::net::TcpStream);

impl Raw {
    async fn expect(&mut self, request: &str, reply: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.0.write_all(request.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; reply.len()];
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.0.read_exact(&mut buf),
        )
        .await
        .expect("reply within 10 s")
        .expect("read");
        assert_eq!(String::from_utf8_lossy(&buf), reply, "reply to {request:?}");
    }
}

#[tokio::test]
async fn null_replies_in_raw_resp2_and_resp3() {
    let srv = TestServer::start().await;
    let mut raw = Raw(tokio::net::TcpStream::connect(srv.addr).await.unwrap());
    raw.expect("GET nope\r\n", "$-1\r\n").await;
    raw.expect("SET k v NX GET\r\n", "$-1\r\n").await;
    raw.expect("SET k w NX\r\n", "$-1\r\n").await;
    raw.expect("MGET k nope\r\n", "*2\r\n$1\r\nv\r\n$-1\r\n")
        .await;
    raw.expect("GETRANGE nope 0 -1\r\n", "$0\r\n\r\n").await;
    raw.expect("INCRBYFLOAT f 1.5\r\n", "$3\r\n1.5\r\n").await;
    raw.expect("SETNX k x\r\n", ":0\r\n").await;
    raw.expect(
        "SET k v EX 0\r\n",
        "-ERR invalid expire time in 'set' command\r\n",
    )
    .await;
    let mut raw3 = srv.raw().await;
    assert!(raw3.request(b"HELLO 3\r\n").await.starts_with('%'));
    assert_eq!(raw3.request(b"GET nope\r\n").await, "_\r\n");
    assert_eq!(raw3.request(b"GETDEL nope\r\n").await, "_\r\n");
    assert_eq!(raw3.request(b"GETEX nope\r\n").await, "_\r\n");
    assert_eq!(raw3.request(b"SET k w XX GET\r\n").await, "$1\r\nv\r\n");
    assert_eq!(raw3.request(b"SET k w NX\r\n").await, "_\r\n");
    assert_eq!(
        raw3.request(b"MGET k nope\r\n").await,
        "*2\r\n$1\r\nw\r\n_\r\n"
    );
    assert_eq!(raw3.request(b"INCRBYFLOAT f 1\r\n").await, "$3\r\n2.5\r\n");
    assert_eq!(raw3.request(b"SETNX k x\r\n").await, ":0\r\n");
}

#[tokio::test]
async fn set_conditions_and_get_option() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let r: Option<String> = c(&mut con, &["SET", "k", "1", "XX"]).await;
        assert_eq!(r, None);
        assert_eq!(get(&mut con, "k").await, None);
        let r: Option<String> = c(&mut con, &["SET", "k", "1", "NX"]).await;
        assert_eq!(r.as_deref(), Some("OK"));
        let r: Option<String> = c(&mut con, &["SET", "k", "2", "nx"]).await;
        assert_eq!(r, None);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("1"));
        let r: Option<String> = c(&mut con, &["SET", "k", "3", "xx"]).await;
        assert_eq!(r.as_deref(), Some("OK"));
        // GET replies with the old value, whether or not the set happens.
        let r: Option<String> = c(&mut con, &["SET", "k", "4", "GET"]).await;
        assert_eq!(r.as_deref(), Some("3"));
        let r: Option<String> = c(&mut con, &["SET", "k", "5", "NX", "GET"]).await;
        assert_eq!(r.as_deref(), Some("4"));
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("4"));
        let r: Option<String> = c(&mut con, &["SET", "new", "x", "GET"]).await;
        assert_eq!(r, None);
        assert_eq!(get(&mut con, "new").await.as_deref(), Some("x"));
        let r: Option<String> = c(&mut con, &["SET", "nope", "x", "XX", "GET"]).await;
        assert_eq!(r, None);
        assert_eq!(get(&mut con, "nope").await, None);
        let r: Option<String> = c(&mut con, &["SET", "k", "6", "GET", "XX", "GET"]).await;
        assert_eq!(r.as_deref(), Some("4"));
        // SETNX
        let n: i64 = c(&mut con, &["SETNX", "k", "7"]).await;
        assert_eq!(n, 0);
        let n: i64 = c(&mut con, &["SETNX", "k2", "7"]).await;
        assert_eq!(n, 1);
        assert_eq!(get(&mut con, "k2").await.as_deref(), Some("7"));
    }
}

#[tokio::test]
async fn set_option_errors() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    for opts in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "100"],
        &["PX", "100", "EXAT", "100"],
        &["EXAT", "100", "PXAT", "100"],
        &["KEEPTTL", "EX", "10"],
        &["EX", "10", "KEEPTTL"],
        &["PXAT", "10", "KEEPTTL"],
        &["EX"],
        &["NX", "PX"],
        &["PERSIST"],
        &["BOGUS"],
        &["GETX"],
        &["NXX"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(qerr(&mut con, &args).await, "ERR syntax error", "{opts:?}");
    }
    assert_eq!(get(&mut con, "k").await, None, "nothing stored");
    for (opt, n) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("PX", "-100"),
        ("EXAT", "0"),
        ("PXAT", "-1"),
        ("EX", "9223372036854775807"),
        ("EX", "9223372036854776"),
        ("PX", "9223372036854775807"),
        ("EXAT", "9223372036854776"),
    ] {
        assert_eq!(
            qerr(&mut con, &["SET", "k", "v", opt, n]).await,
            "ERR invalid expire time in 'set' command",
            "{opt} {n}"
        );
    }
    for n in ["abc", "1.5", "", " 1", "99999999999999999999"] {
        assert_eq!(
            qerr(&mut con, &["SET", "k", "v", "EX", n]).await,
            "ERR value is not an integer or out of range"
        );
    }
    // Repeating the same expiry kind is accepted: the last one wins.
    let ok: String = c(&mut con, &["SET", "k", "v", "EX", "10", "EX", "20"]).await;
    assert_eq!(ok, "OK");
    assert_eq!(
        qerr(&mut con, &["SET", "k"]).await,
        "ERR wrong number of arguments for 'set' command"
    );
}

#[tokio::test]
async fn set_expiry_options_with_manual_clock() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let now = srv.clock.now_ms();
    let _: () = c(&mut con, &["SET", "ex", "v", "EX", "10"]).await;
    assert_eq!(expiry(&srv, "ex"), Some(Some(now + 10_000)));
    let _: () = c(&mut con, &["SET", "px", "v", "PX", "1500"]).await;
    assert_eq!(expiry(&srv, "px"), Some(Some(now + 1500)));
    let at = (now / 1000 + 100).to_string();
    let _: () = c(&mut con, &["SET", "exat", "v", "EXAT", &at]).await;
    assert_eq!(expiry(&srv, "exat"), Some(Some((now / 1000 + 100) * 1000)));
    let pat = (now + 12_345).to_string();
    let _: () = c(&mut con, &["SET", "pxat", "v", "PXAT", &pat]).await;
    assert_eq!(expiry(&srv, "pxat"), Some(Some(now + 12_345)));

    // Still there at the last millisecond, gone one after.
    srv.clock.advance(10_000);
    assert_eq!(get(&mut con, "ex").await.as_deref(), Some("v"));
    srv.clock.advance(1);
    assert_eq!(get(&mut con, "ex").await, None);
    assert_eq!(get(&mut con, "px").await, None);
    assert_eq!(get(&mut con, "pxat").await.as_deref(), Some("v"));

    // KEEPTTL keeps it; plain SET clears it.
    let now = srv.clock.now_ms();
    let _: () = c(&mut con, &["SET", "k", "v", "PX", "500"]).await;
    let _: () = c(&mut con, &["SET", "k", "w", "KEEPTTL"]).await;
    assert_eq!(expiry(&srv, "k"), Some(Some(now + 500)));
    assert_eq!(get(&mut con, "k").await.as_deref(), Some("w"));
    let _: () = c(&mut con, &["SET", "k", "x", "GET", "KEEPTTL", "XX"]).await;
    assert_eq!(expiry(&srv, "k"), Some(Some(now + 500)));
    let _: () = c(&mut con, &["SET", "k", "y"]).await;
    assert_eq!(expiry(&srv, "k"), Some(None));
    srv.clock.advance(1000);
    assert_eq!(get(&mut con, "k").await.as_deref(), Some("y"));
    // KEEPTTL on a new key: no TTL.
    let _: () = c(&mut con, &["SET", "fresh", "v", "KEEPTTL"]).await;
    assert_eq!(expiry(&srv, "fresh"), Some(None));

    // An absolute time in the past: OK, and the key is gone at once.
    let past = (srv.clock.now_ms() / 1000 - 10).to_string();
    let ok: String = c(&mut con, &["SET", "gone", "v", "EXAT", &past]).await;
    assert_eq!(ok, "OK");
    assert_eq!(expiry(&srv, "gone"), None);
    assert_eq!(get(&mut con, "gone").await, None);
    let now = srv.clock.now_ms().to_string();
    let _: () = c(&mut con, &["SET", "k", "v", "PXAT", &now]).await;
    assert_eq!(
        get(&mut con, "k").await,
        None,
        "PXAT now replaced then expired"
    );
    let old: Option<String> = c(&mut con, &["SET", "k2", "v", "GET", "PXAT", "1"]).await;
    assert_eq!(old, None);
    assert_eq!(get(&mut con, "k2").await, None);
}

#[tokio::test]
async fn setex_psetex() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let now = srv.clock.now_ms();
        let ok: String = c(&mut con, &["SETEX", "a", "10", "v"]).await;
        assert_eq!(ok, "OK");
        assert_eq!(expiry(&srv, "a"), Some(Some(now + 10_000)));
        let ok: String = c(&mut con, &["PSETEX", "b", "250", "w"]).await;
        assert_eq!(ok, "OK");
        assert_eq!(expiry(&srv, "b"), Some(Some(now + 250)));
        assert_eq!(get(&mut con, "b").await.as_deref(), Some("w"));
        // Replaces an existing TTL.
        let _: () = c(&mut con, &["SETEX", "b", "100", "x"]).await;
        assert_eq!(expiry(&srv, "b"), Some(Some(now + 100_000)));
        for (cmd, n) in [
            ("SETEX", "0"),
            ("SETEX", "-5"),
            ("PSETEX", "0"),
            ("PSETEX", "-1"),
        ] {
            assert_eq!(
                qerr(&mut con, &[cmd, "k", n, "v"]).await,
                format!(
                    "ERR invalid expire time in '{}' command",
                    cmd.to_lowercase()
                )
            );
        }
        assert_eq!(
            qerr(&mut con, &["SETEX", "k", "9223372036854775807", "v"]).await,
            "ERR invalid expire time in 'setex' command"
        );
        assert_eq!(
            qerr(&mut con, &["PSETEX", "k", "9223372036854775807", "v"]).await,
            "ERR invalid expire time in 'psetex' command"
        );
        assert_eq!(
            qerr(&mut con, &["SETEX", "k", "ten", "v"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            qerr(&mut con, &["SETEX", "k", "10"]).await,
            "ERR wrong number of arguments for 'setex' command"
        );
        assert_eq!(get(&mut con, "k").await, None);
        srv.clock.advance(10_001);
        assert_eq!(get(&mut con, "a").await, None);
    }
}

#[tokio::test]
async fn getset_getdel_getex() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let now = srv.clock.now_ms();
        // GETSET replies with the old value and clears the TTL.
        let old: Option<String> = c(&mut con, &["GETSET", "k", "1"]).await;
        assert_eq!(old, None);
        let _: () = c(&mut con, &["SET", "k", "2", "EX", "100"]).await;
        let old: Option<String> = c(&mut con, &["GETSET", "k", "3"]).await;
        assert_eq!(old.as_deref(), Some("2"));
        assert_eq!(expiry(&srv, "k"), Some(None));

        // GETDEL
        let v: Option<String> = c(&mut con, &["GETDEL", "k"]).await;
        assert_eq!(v.as_deref(), Some("3"));
        assert_eq!(expiry(&srv, "k"), None);
        let v: Option<String> = c(&mut con, &["GETDEL", "k"]).await;
        assert_eq!(v, None);

        // GETEX without options is a GET that leaves the TTL alone.
        let _: () = c(&mut con, &["SET", "k", "v", "PX", "5000"]).await;
        let v: Option<String> = c(&mut con, &["GETEX", "k"]).await;
        assert_eq!(v.as_deref(), Some("v"));
        assert_eq!(expiry(&srv, "k"), Some(Some(now + 5000)));
        let _: String = c(&mut con, &["GETEX", "k", "EX", "20"]).await;
        assert_eq!(expiry(&srv, "k"), Some(Some(now + 20_000)));
        let _: String = c(&mut con, &["GETEX", "k", "PX", "20"]).await;
        assert_eq!(expiry(&srv, "k"), Some(Some(now + 20)));
        let at = now / 1000 + 50;
        let _: String = c(&mut con, &["GETEX", "k", "EXAT", &at.to_string()]).await;
        assert_eq!(expiry(&srv, "k"), Some(Some(at * 1000)));
        let _: String = c(&mut con, &["GETEX", "k", "PXAT", &(now + 7).to_string()]).await;
        assert_eq!(expiry(&srv, "k"), Some(Some(now + 7)));
        let _: String = c(&mut con, &["GETEX", "k", "PERSIST"]).await;
        assert_eq!(expiry(&srv, "k"), Some(None));
        let _: String = c(&mut con, &["GETEX", "k", "EX", "1", "EX", "2"]).await;
        assert_eq!(expiry(&srv, "k"), Some(Some(now + 2000)));
        // An absolute time already past deletes the key after replying.
        let v: Option<String> = c(&mut con, &["GETEX", "k", "PXAT", &now.to_string()]).await;
        assert_eq!(v.as_deref(), Some("v"));
        assert_eq!(expiry(&srv, "k"), None);

        // A missing key is nil, even with an invalid expiry.
        let v: Option<String> = c(&mut con, &["GETEX", "nope", "EX", "0"]).await;
        assert_eq!(v, None);
        let v: Option<String> = c(&mut con, &["GETEX", "nope", "EX", "abc"]).await;
        assert_eq!(v, None);
        let _: () = c(&mut con, &["SET", "k", "v"]).await;
        assert_eq!(
            qerr(&mut con, &["GETEX", "k", "EX", "0"]).await,
            "ERR invalid expire time in 'getex' command"
        );
        assert_eq!(
            qerr(&mut con, &["GETEX", "k", "PX", "9223372036854775807"]).await,
            "ERR invalid expire time in 'getex' command"
        );
        assert_eq!(
            qerr(&mut con, &["GETEX", "k", "EX", "x"]).await,
            "ERR value is not an integer or out of range"
        );
        for opts in [
            &["NX"][..],
            &["XX"],
            &["GET"],
            &["KEEPTTL"],
            &["EX"],
            &["EX", "10", "PERSIST"],
            &["PERSIST", "EX", "10"],
            &["EX", "10", "PX", "10"],
            &["FOO"],
        ] {
            let mut args = vec!["GETEX", "nope"];
            args.extend_from_slice(opts);
            assert_eq!(qerr(&mut con, &args).await, "ERR syntax error", "{opts:?}");
        }
        assert_eq!(expiry(&srv, "k"), Some(None), "errors change nothing");
    }
}

#[tokio::test]
async fn mget_mset_msetnx() {
    let srv = TestServer::with_manual_clock().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let ok: String = c(&mut con, &["MSET", "a", "1", "b", "2", "a", "3"]).await;
        assert_eq!(ok, "OK");
        let v: Vec<Option<String>> = c(&mut con, &["MGET", "a", "b", "c", "a"]).await;
        assert_eq!(
            v,
            [Some("3".into()), Some("2".into()), None, Some("3".into())]
        );
        assert_eq!(
            qerr(&mut con, &["MSET", "a", "1", "b"]).await,
            "ERR wrong number of arguments for 'mset' command"
        );
        assert_eq!(
            qerr(&mut con, &["MSETNX", "x", "1", "y"]).await,
            "ERR wrong number of arguments for 'msetnx' command"
        );
        assert_eq!(
            qerr(&mut con, &["MGET"]).await,
            "ERR wrong number of arguments for 'mget' command"
        );
        // MSET clears TTLs.
        let _: () = c(&mut con, &["SET", "t", "v", "EX", "10"]).await;
        let _: () = c(&mut con, &["MSET", "t", "w"]).await;
        assert_eq!(expiry(&srv, "t"), Some(None));
        // MSETNX is all or nothing.
        let n: i64 = c(&mut con, &["MSETNX", "x", "1", "a", "9"]).await;
        assert_eq!(n, 0);
        assert_eq!(get(&mut con, "x").await, None);
        assert_eq!(get(&mut con, "a").await.as_deref(), Some("3"));
        let n: i64 = c(&mut con, &["MSETNX", "x", "1", "y", "2"]).await;
        assert_eq!(n, 1);
        let v: Vec<Option<String>> = c(&mut con, &["MGET", "x", "y"]).await;
        assert_eq!(v, [Some("1".into()), Some("2".into())]);
        // An expired key does not count as existing.
        let _: () = c(&mut con, &["SET", "e", "v", "PX", "10"]).await;
        srv.clock.advance(11);
        let n: i64 = c(&mut con, &["MSETNX", "e", "new"]).await;
        assert_eq!(n, 1);
    }
}

#[tokio::test]
async fn integer_counters() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let n: i64 = c(&mut con, &["INCR", "n"]).await;
        assert_eq!(n, 1);
        let n: i64 = c(&mut con, &["INCRBY", "n", "41"]).await;
        assert_eq!(n, 42);
        let n: i64 = c(&mut con, &["DECR", "n"]).await;
        assert_eq!(n, 41);
        let n: i64 = c(&mut con, &["DECRBY", "n", "50"]).await;
        assert_eq!(n, -9);
        let n: i64 = c(&mut con, &["INCRBY", "n", "-1"]).await;
        assert_eq!(n, -10);
        let n: i64 = c(&mut con, &["DECR", "fresh"]).await;
        assert_eq!(n, -1);
        assert_eq!(get(&mut con, "n").await.as_deref(), Some("-10"));

        let _: () = c(&mut con, &["SET", "max", "9223372036854775807"]).await;
        let _: () = c(&mut con, &["SET", "min", "-9223372036854775808"]).await;
        for args in [
            &["INCR", "max"][..],
            &["INCRBY", "max", "1"],
            &["DECR", "min"],
            &["DECRBY", "min", "1"],
            &["INCRBY", "min", "-1"],
            &["DECRBY", "max", "-1"],
        ] {
            assert_eq!(
                qerr(&mut con, args).await,
                "ERR increment or decrement would overflow",
                "{args:?}"
            );
        }
        assert_eq!(
            qerr(&mut con, &["DECRBY", "n", "-9223372036854775808"]).await,
            "ERR decrement would overflow"
        );
        let n: i64 = c(&mut con, &["INCRBY", "n", "-9223372036854775798"]).await;
        assert_eq!(n, i64::MIN);

        for bad in [
            "abc",
            " 1",
            "1 ",
            "01",
            "+1",
            "-0",
            "1.0",
            "",
            "9223372036854775808",
        ] {
            let _: () = c(&mut con, &["SET", "s", bad]).await;
            assert_eq!(
                qerr(&mut con, &["INCR", "s"]).await,
                "ERR value is not an integer or out of range",
                "{bad:?}"
            );
            assert_eq!(
                qerr(&mut con, &["INCRBY", "n", bad]).await,
                "ERR value is not an integer or out of range",
                "{bad:?}"
            );
            assert_eq!(get(&mut con, "s").await.as_deref(), Some(bad));
        }
        assert_eq!(
            qerr(&mut con, &["INCR", "a", "b"]).await,
            "ERR wrong number of arguments for 'incr' command"
        );
    }
}

#[tokio::test]
async fn counters_keep_the_ttl() {
    let srv = TestServer::with_manual_clock().await;
    let mut con = srv.client().await;
    let now = srv.clock.now_ms();
    let _: () = c(&mut con, &["SET", "n", "5", "PX", "1000"]).await;
    let _: i64 = c(&mut con, &["INCR", "n"]).await;
    let _: i64 = c(&mut con, &["DECRBY", "n", "3"]).await;
    let v: String = c(&mut con, &["INCRBYFLOAT", "n", "0.5"]).await;
    assert_eq!(v, "3.5");
    let _: i64 = c(&mut con, &["APPEND", "n", "0"]).await;
    let _: i64 = c(&mut con, &["SETRANGE", "n", "0", "4"]).await;
    assert_eq!(expiry(&srv, "n"), Some(Some(now + 1000)));
    assert_eq!(get(&mut con, "n").await.as_deref(), Some("4.50"));
    srv.clock.advance(1001);
    assert_eq!(get(&mut con, "n").await, None);
    // After expiry, INCR starts from zero with no TTL.
    let n: i64 = c(&mut con, &["INCR", "n"]).await;
    assert_eq!(n, 1);
    assert_eq!(expiry(&srv, "n"), Some(None));
}

#[tokio::test]
async fn incrbyfloat_formatting_and_errors() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        for (start, incr, expect) in [
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("5.0e3", "2.0e2", "5200"),
            ("5.0e3", "0", "5000"),
            ("10", "-10", "0"),
            ("1", "-1.5", "-0.5"),
            ("10000000000", "0.1", "10000000000.09999999962747097"),
            ("3", "1.5e-17", "3.00000000000000001"),
            ("0", "-1e-20", "0"),
            ("7", "0x10", "23"),
            ("9223372036854775807", "1", "9223372036854775808"),
        ] {
            let _: () = c(&mut con, &["SET", "f", start]).await;
            let v: String = c(&mut con, &["INCRBYFLOAT", "f", incr]).await;
            assert_eq!(v, expect, "{start} + {incr}");
            assert_eq!(get(&mut con, "f").await.as_deref(), Some(expect));
        }
        let v: String = c(&mut con, &["INCRBYFLOAT", "new", "-2.25"]).await;
        assert_eq!(v, "-2.25");
        let _: () = c(&mut con, &["SET", "f", "abc"]).await;
        assert_eq!(
            qerr(&mut con, &["INCRBYFLOAT", "f", "1"]).await,
            "ERR value is not a valid float"
        );
        let _: () = c(&mut con, &["SET", "f", "1"]).await;
        for bad in ["x", " 1", "1 ", "nan", "", "1e", "1e99999"] {
            assert_eq!(
                qerr(&mut con, &["INCRBYFLOAT", "f", bad]).await,
                "ERR value is not a valid float",
                "{bad:?}"
            );
        }
        for inf in ["inf", "-inf", "+Infinity"] {
            assert_eq!(
                qerr(&mut con, &["INCRBYFLOAT", "f", inf]).await,
                "ERR increment would produce NaN or Infinity"
            );
        }
        let _: () = c(&mut con, &["SET", "f", "1.1e4932"]).await;
        assert_eq!(
            qerr(&mut con, &["INCRBYFLOAT", "f", "1.1e4932"]).await,
            "ERR increment would produce NaN or Infinity"
        );
        let _: () = c(&mut con, &["SET", "f", "inf"]).await;
        assert_eq!(
            qerr(&mut con, &["INCRBYFLOAT", "f", "1"]).await,
            "ERR increment would produce NaN or Infinity"
        );
        assert_eq!(get(&mut con, "f").await.as_deref(), Some("inf"));
    }
}

#[tokio::test]
async fn append_and_strlen() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let n: i64 = c(&mut con, &["APPEND", "k", "hello"]).await;
        assert_eq!(n, 5);
        assert!(
            !raw_encoding(&srv, "k"),
            "a new key is not changed in place"
        );
        let n: i64 = q(&mut con, &[b"APPEND", b"k", b" \x00\xff"]).await.unwrap();
        assert_eq!(n, 8);
        assert!(raw_encoding(&srv, "k"));
        let v: Vec<u8> = c(&mut con, &["GET", "k"]).await;
        assert_eq!(v, b"hello \x00\xff");
        let n: i64 = c(&mut con, &["APPEND", "k", ""]).await;
        assert_eq!(n, 8);
        let n: i64 = c(&mut con, &["STRLEN", "k"]).await;
        assert_eq!(n, 8);
        let n: i64 = c(&mut con, &["STRLEN", "nope"]).await;
        assert_eq!(n, 0);
        // SET resets the in-place flag.
        let _: () = c(&mut con, &["SET", "k", "x"]).await;
        assert!(!raw_encoding(&srv, "k"));
    }
}

#[tokio::test]
async fn repeated_append_is_linear() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    // 4 MB built from 32 768 appends of 128 bytes: quadratic copying (of the
    // value, or of the journal records) would move ~64 GB and never finish
    // within the test run. How fast it is belongs in a benchmark.
    let chunk = "x".repeat(128);
    let mut pipe = redis::pipe();
    for _ in 0..32_768 {
        pipe.cmd("APPEND").arg("k").arg(&chunk).ignore();
    }
    let _: () = pipe.query_async(&mut con).await.unwrap();
    let n: i64 = c(&mut con, &["STRLEN", "k"]).await;
    assert_eq!(n, 4 * 1024 * 1024);
}

#[tokio::test]
async fn getrange_and_substr() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let _: () = c(&mut con, &["SET", "s", "This is a string"]).await;
        for (start, end, expect) in [
            ("0", "3", "This"),
            ("-3", "-1", "ing"),
            ("0", "-1", "This is a string"),
            ("10", "100", "string"),
            ("5", "3", ""),
            ("-1", "-5", ""),
            ("-100", "-100", "T"),
            ("0", "-100", "T"),
            ("-100", "2", "Thi"),
            ("16", "20", ""),
            ("15", "15", "g"),
            (
                "-9223372036854775808",
                "9223372036854775807",
                "This is a string",
            ),
        ] {
            for cmd in ["GETRANGE", "SUBSTR"] {
                let v: String = c(&mut con, &[cmd, "s", start, end]).await;
                assert_eq!(v, expect, "{cmd} {start} {end}");
            }
        }
        let v: String = c(&mut con, &["GETRANGE", "nope", "0", "-1"]).await;
        assert_eq!(v, "");
        let _: () = c(&mut con, &["SET", "e", ""]).await;
        let v: String = c(&mut con, &["GETRANGE", "e", "0", "-1"]).await;
        assert_eq!(v, "");
        assert_eq!(
            qerr(&mut con, &["GETRANGE", "s", "a", "1"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            qerr(&mut con, &["SUBSTR", "s", "0", "-0"]).await,
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            qerr(&mut con, &["GETRANGE", "s", "0"]).await,
            "ERR wrong number of arguments for 'getrange' command"
        );
    }
}

#[tokio::test]
async fn setrange() {
    let srv = TestServer::start().await;
    for resp3 in [false, true] {
        flush(&srv).await;
        let mut con = srv.connect(resp3).await;
        let _: () = c(&mut con, &["SET", "k", "Hello World"]).await;
        let n: i64 = c(&mut con, &["SETRANGE", "k", "6", "Redis"]).await;
        assert_eq!(n, 11);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("Hello Redis"));
        assert!(raw_encoding(&srv, "k"));
        let n: i64 = c(&mut con, &["SETRANGE", "k", "9", "xyz!"]).await;
        assert_eq!(n, 13);
        assert_eq!(get(&mut con, "k").await.as_deref(), Some("Hello Redxyz!"));
        // Padding with zero bytes, on a new key and past the end.
        let n: i64 = c(&mut con, &["SETRANGE", "new", "3", "ab"]).await;
        assert_eq!(n, 5);
        let v: Vec<u8> = c(&mut con, &["GET", "new"]).await;
        assert_eq!(v, b"\0\0\0ab");
        let n: i64 = c(&mut con, &["SETRANGE", "new", "7", "c"]).await;
        assert_eq!(n, 8);
        let v: Vec<u8> = c(&mut con, &["GET", "new"]).await;
        assert_eq!(v, b"\0\0\0ab\0\0c");
        // An empty value writes nothing and creates nothing.
        let n: i64 = c(&mut con, &["SETRANGE", "none", "100", ""]).await;
        assert_eq!(n, 0);
        assert_eq!(get(&mut con, "none").await, None);
        let n: i64 = c(&mut con, &["SETRANGE", "new", "1000000000", ""]).await;
        assert_eq!(n, 8);
        assert_eq!(
            qerr(&mut con, &["SETRANGE", "k", "-1", "x"]).await,
            "ERR offset is out of range"
        );
        assert_eq!(
            qerr(&mut con, &["SETRANGE", "k", "x", "x"]).await,
            "ERR value is not an integer or out of range"
        );
        // Default proto-max-bulk-len is 512 MB.
        assert_eq!(
            qerr(&mut con, &["SETRANGE", "k", "536870912", "x"]).await,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(
            qerr(&mut con, &["SETRANGE", "k", "9223372036854775807", "x"]).await,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(
            qerr(&mut con, &["SETRANGE", "big", "536870911", "xy"]).await,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(get(&mut con, "big").await, None);
    }
}

#[tokio::test]
async fn length_limit_follows_config() {
    let mut config = common::test_config();
    config.proto_max_bulk_len = 1024 * 1024;
    let srv = TestServer::start_with(config, sluice::clock::Clock::system()).await;
    let mut con = srv.client().await;
    let n: i64 = c(&mut con, &["SETRANGE", "k", "1048575", "x"]).await;
    assert_eq!(n, 1024 * 1024);
    assert_eq!(
        qerr(&mut con, &["APPEND", "k", "y"]).await,
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    assert_eq!(
        qerr(&mut con, &["SETRANGE", "k", "1048575", "xy"]).await,
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    let n: i64 = c(&mut con, &["STRLEN", "k"]).await;
    assert_eq!(n, 1024 * 1024);
    let n: i64 = c(&mut con, &["SETRANGE", "k", "1048575", "z"]).await;
    assert_eq!(n, 1024 * 1024);
}

#[tokio::test]
async fn writes_in_place_are_seen_by_watch() {
    let srv = TestServer::start().await;
    for args in [
        &["INCR", "k"][..],
        &["INCRBYFLOAT", "k", "1"],
        &["APPEND", "k", "x"],
        &["SETRANGE", "k", "0", "9"],
        &["SET", "k", "2", "KEEPTTL"],
        &["GETEX", "k", "EX", "100"],
        &["GETDEL", "k"],
        &["MSET", "k", "3"],
    ] {
        let mut a = srv.client().await;
        let mut b = srv.client().await;
        let _: () = c(&mut a, &["SET", "k", "1"]).await;
        let _: () = c(&mut a, &["WATCH", "k"]).await;
        let _: redis::Value = c(&mut b, args).await;
        let _: () = c(&mut a, &["MULTI"]).await;
        let _: () = c(&mut a, &["GET", "k"]).await;
        let r: Option<Vec<redis::Value>> = c(&mut a, &["EXEC"]).await;
        assert_eq!(r, None, "{args:?} must abort the transaction");
    }
    // A failed write is not a change.
    let mut a = srv.client().await;
    let mut b = srv.client().await;
    let _: () = c(&mut a, &["SET", "k", "abc"]).await;
    let _: () = c(&mut a, &["WATCH", "k"]).await;
    assert_eq!(
        qerr(&mut b, &["INCR", "k"]).await,
        "ERR value is not an integer or out of range"
    );
    let _: String = c(&mut b, &["GETEX", "k", "PERSIST"]).await;
    let _: () = c(&mut a, &["MULTI"]).await;
    let _: () = c(&mut a, &["GET", "k"]).await;
    let r: Option<Vec<String>> = c(&mut a, &["EXEC"]).await;
    assert_eq!(r, Some(vec!["abc".to_string()]));
}

#[tokio::test]
async fn errors_inside_exec_are_per_command() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    assert_eq!(raw.request(b"MULTI\r\n").await, "+OK\r\n");
    assert_eq!(raw.request(b"SET k v EX 0\r\n").await, "+QUEUED\r\n");
    assert_eq!(raw.request(b"SET k v NX XX\r\n").await, "+QUEUED\r\n");
    assert_eq!(raw.request(b"SET k v\r\n").await, "+QUEUED\r\n");
    assert_eq!(
        raw.request(b"EXEC\r\n").await,
        "*3\r\n-ERR invalid expire time in 'set' command\r\n-ERR syntax error\r\n+OK\r\n"
    );
}

#[tokio::test]
async fn command_table_entries() {
    let srv = TestServer::start().await;
    let mut raw = srv.raw().await;
    // Arity errors come from the table.
    for (req, name) in [
        (&b"SETNX k\r\n"[..], "setnx"),
        (b"GETDEL\r\n", "getdel"),
        (b"INCRBYFLOAT k\r\n", "incrbyfloat"),
        (b"SETRANGE k 0\r\n", "setrange"),
        (b"STRLEN\r\n", "strlen"),
        (b"MSETNX k\r\n", "msetnx"),
        (b"GETSET k\r\n", "getset"),
        (b"PSETEX k 1\r\n", "psetex"),
        (b"DECRBY k\r\n", "decrby"),
        (b"GETEX\r\n", "getex"),
    ] {
        assert_eq!(
            raw.request(req).await,
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
}
