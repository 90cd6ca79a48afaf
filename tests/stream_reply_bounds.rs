//! A stream's backlog can be larger than memory (its payloads live in the
//! log), so a read of an unbounded range must not build an unbounded
//! reply. Reads that are cursors (XREAD, XREADGROUP) stop at
//! `proto-max-bulk-len` bytes and the reader continues from the last ID it
//! got; reads that would look complete when cut short (XRANGE, XINFO
//! STREAM FULL) are refused and ask for COUNT.

mod common;

use common::{cmd, err_text, TestServer};
use redis::Value;

/// The IDs in an `[[id, fields], …]` reply.
fn ids(entries: &Value) -> Vec<String> {
    let Value::Array(entries) = entries else {
        panic!("not an array: {entries:?}");
    };
    entries
        .iter()
        .map(|e| match e {
            Value::Array(parts) => match &parts[0] {
                Value::BulkString(id) => String::from_utf8(id.clone()).unwrap(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The entries of the only stream in an XREAD/XREADGROUP reply.
fn only_stream(reply: &Value) -> &Value {
    match reply {
        Value::Array(streams) if streams.len() == 1 => match &streams[0] {
            Value::Array(kv) => &kv[1],
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unbounded_stream_reads_are_bounded_by_proto_max_bulk_len() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: () = cmd(&mut con, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"])
        .await
        .unwrap();
    let big = "x".repeat(400 * 1024);
    for i in 1..=3 {
        let _: String = cmd(&mut con, &["XADD", "s", &format!("{i}-0"), "f", &big])
            .await
            .unwrap();
    }

    let e = cmd::<Value>(&mut con, &["XRANGE", "s", "-", "+"])
        .await
        .unwrap_err();
    assert!(err_text(&e).contains("XRANGE reply would exceed"), "{e}");
    let e = cmd::<Value>(&mut con, &["XREVRANGE", "s", "+", "-"])
        .await
        .unwrap_err();
    assert!(err_text(&e).contains("XREVRANGE reply would exceed"), "{e}");
    let e = cmd::<Value>(&mut con, &["XINFO", "STREAM", "s", "FULL", "COUNT", "0"])
        .await
        .unwrap_err();
    assert!(
        err_text(&e).contains("XINFO STREAM FULL reply would exceed"),
        "{e}"
    );
    let part: Value = cmd(&mut con, &["XRANGE", "s", "-", "+", "COUNT", "2"])
        .await
        .unwrap();
    assert_eq!(ids(&part), ["1-0", "2-0"]);

    // XREAD stops short; reading on from the last ID gets the rest.
    let first: Value = cmd(&mut con, &["XREAD", "STREAMS", "s", "0"])
        .await
        .unwrap();
    assert_eq!(ids(only_stream(&first)), ["1-0", "2-0"]);
    let rest: Value = cmd(&mut con, &["XREAD", "STREAMS", "s", "2-0"])
        .await
        .unwrap();
    assert_eq!(ids(only_stream(&rest)), ["3-0"]);

    // XREADGROUP: the group's cursor and PEL follow what was served.
    let _: String = cmd(&mut con, &["XGROUP", "CREATE", "s", "g", "0"])
        .await
        .unwrap();
    let read = ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"];
    let first: Value = cmd(&mut con, &read).await.unwrap();
    assert_eq!(ids(only_stream(&first)), ["1-0", "2-0"]);
    let pending: Vec<Value> = cmd(&mut con, &["XPENDING", "s", "g"]).await.unwrap();
    assert_eq!(pending[0], Value::Int(2));
    let rest: Value = cmd(&mut con, &read).await.unwrap();
    assert_eq!(ids(only_stream(&rest)), ["3-0"]);
    let history: Value = cmd(
        &mut con,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
    )
    .await
    .unwrap();
    assert_eq!(ids(only_stream(&history)), ["1-0", "2-0"]);

    // Within the bound nothing changes.
    let _: () = cmd(&mut con, &["CONFIG", "SET", "proto-max-bulk-len", "8mb"])
        .await
        .unwrap();
    let all: Value = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
    assert_eq!(ids(&all), ["1-0", "2-0", "3-0"]);
}
