//! Bitmaps through a stock client: SETBIT, BITFIELD and SETRANGE on a big
//! string journal only the bytes they change, replay (log, checkpoint,
//! DEBUG RELOAD) rebuilds the string exactly, offsets past
//! proto-max-bulk-len are refused before anything is allocated, and a
//! write that changes nothing flags no WATCH.

mod common;

use std::time::Duration;

use common::{cmd, err_text, TestServer};
use redis::aio::MultiplexedConnection;
use redis::Value;

async fn get(con: &mut MultiplexedConnection, key: &str) -> Option<Vec<u8>> {
    cmd(con, &["GET", key]).await.unwrap()
}

async fn wait_for_save(con: &mut MultiplexedConnection) {
    for _ in 0..400 {
        match cmd::<()>(con, &["SAVE"]).await {
            Ok(()) => return,
            Err(e) if err_text(&e).contains("in progress") => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the background checkpoint never finished");
}

#[tokio::test]
async fn bit_writes_on_a_big_string_journal_a_few_bytes() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let journal = &srv.shared.storage.journal;
    let before = journal.size();
    // Creating a 10 MB string by writing its last byte journals that byte.
    let n: i64 = cmd(&mut con, &["SETRANGE", "big", "10000000", "x"])
        .await
        .unwrap();
    assert_eq!(n, 10_000_001);
    let _: i64 = cmd(&mut con, &["SETBIT", "big", "79999999", "1"])
        .await
        .unwrap();
    let _: i64 = cmd(&mut con, &["SETBIT", "big", "7", "1"]).await.unwrap();
    let _: Value = cmd(
        &mut con,
        &[
            "BITFIELD", "big", "SET", "u16", "#1000", "4660", "INCRBY", "i8", "40", "-3",
        ],
    )
    .await
    .unwrap();
    let _: i64 = cmd(&mut con, &["SETRANGE", "big", "5000000", "hello"])
        .await
        .unwrap();
    // SETBIT past the end grows the string; still a few bytes journaled.
    let _: i64 = cmd(&mut con, &["SETBIT", "big", "160000000", "1"])
        .await
        .unwrap();
    let grown = journal.size() - before;
    assert!(grown < 1024, "six small changes wrote {grown} bytes");
    let value = get(&mut con, "big").await.unwrap();
    assert_eq!(value.len(), 20_000_001);
    assert_eq!(value[0], 1);
    assert_eq!(&value[5_000_000..5_000_005], b"hello");
    let enc: String = cmd(&mut con, &["OBJECT", "ENCODING", "big"]).await.unwrap();
    assert_eq!(enc, "raw");
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(get(&mut con, "big").await.unwrap(), value, "log replay");
    let _: () = cmd(&mut con, &["DEBUG", "RELOAD"]).await.unwrap();
    assert_eq!(get(&mut con, "big").await.unwrap(), value, "DEBUG RELOAD");
}

#[tokio::test]
async fn bit_writes_during_and_after_a_checkpoint_replay_exactly() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let _: i64 = cmd(&mut con, &["SETRANGE", "bm", "100000", "z"])
        .await
        .unwrap();
    let writer = {
        let mut con = srv.client().await;
        tokio::spawn(async move {
            for i in 0..2000u64 {
                let off = (i * 7919) % 800_000;
                let _: i64 = cmd(
                    &mut con,
                    &["SETBIT", "bm", &off.to_string(), &(i % 2).to_string()],
                )
                .await
                .unwrap();
                let _: Value = cmd(
                    &mut con,
                    &[
                        "BITFIELD",
                        "bf",
                        "INCRBY",
                        "u32",
                        &format!("#{}", i % 50),
                        "1",
                    ],
                )
                .await
                .unwrap();
                if i == 1000 {
                    // Another type in between: later ranges create a
                    // fresh string again.
                    let _: i64 = cmd(&mut con, &["DEL", "bf"]).await.unwrap();
                    let _: i64 = cmd(&mut con, &["SADD", "bf", "x"]).await.unwrap();
                    let _: i64 = cmd(&mut con, &["DEL", "bf"]).await.unwrap();
                }
            }
        })
    };
    for _ in 0..3 {
        let _: Value = cmd(&mut con, &["BGREWRITEAOF"]).await.unwrap();
        wait_for_save(&mut con).await;
    }
    writer.await.unwrap();
    let _: i64 = cmd(&mut con, &["SETBIT", "bm", "5", "1"]).await.unwrap();
    let (bm, bf) = (get(&mut con, "bm").await, get(&mut con, "bf").await);
    drop(con);
    let srv = srv.restart().await;
    let mut con = srv.client().await;
    assert_eq!(get(&mut con, "bm").await, bm);
    assert_eq!(get(&mut con, "bf").await, bf);
}

#[tokio::test]
async fn offsets_past_proto_max_bulk_len_are_refused() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let offset_error = "ERR bit offset is not an integer or out of range";
    for args in [
        &["SETBIT", "k", "4294967296", "1"][..],
        &["GETBIT", "k", "4294967296"][..],
        &["BITFIELD", "k", "SET", "u8", "4294967296", "1"][..],
        &["BITFIELD", "k", "SET", "i64", "#67108864", "1"][..],
        &["BITFIELD", "k", "GET", "i64", "#9223372036854775807"][..],
    ] {
        let e = cmd::<Value>(&mut con, args).await.unwrap_err();
        assert_eq!(err_text(&e), offset_error, "{args:?}");
    }
    let _: () = cmd(
        &mut con,
        &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
    )
    .await
    .unwrap();
    let e = cmd::<i64>(&mut con, &["SETBIT", "k", "8388608", "1"])
        .await
        .unwrap_err();
    assert_eq!(err_text(&e), offset_error);
    let n: i64 = cmd(&mut con, &["SETBIT", "k", "8388607", "1"])
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = cmd(&mut con, &["STRLEN", "k"]).await.unwrap();
    assert_eq!(n, 1_048_576);
    // LCS refuses a table over the limit before building it.
    let _: () = cmd(&mut con, &["SET", "a", &"x".repeat(2000)])
        .await
        .unwrap();
    let e = cmd::<Value>(&mut con, &["LCS", "a", "a"])
        .await
        .unwrap_err();
    assert!(err_text(&e).contains("exceeds proto-max-bulk-len"), "{e}");
}

#[tokio::test]
async fn unchanged_bits_flag_no_watch() {
    let srv = TestServer::start().await;
    let mut con = srv.client().await;
    let mut other = srv.client().await;
    let _: i64 = cmd(&mut other, &["SETBIT", "b", "3", "1"]).await.unwrap();
    for (args, aborts) in [
        (&["SETBIT", "b", "3", "1"][..], false),
        (&["BITFIELD", "b", "SET", "u4", "0", "1"][..], false),
        (&["SETBIT", "b", "3", "0"][..], true),
        (&["BITFIELD", "b", "INCRBY", "u4", "0", "0"][..], true),
    ] {
        let _: () = cmd(&mut con, &["WATCH", "b"]).await.unwrap();
        let _: Value = cmd(&mut other, args).await.unwrap();
        let _: () = cmd(&mut con, &["MULTI"]).await.unwrap();
        let _: () = cmd(&mut con, &["GETBIT", "b", "3"]).await.unwrap();
        let res: Value = cmd(&mut con, &["EXEC"]).await.unwrap();
        assert_eq!(res == Value::Nil, aborts, "{args:?}: {res:?}");
    }
}
