//! Crash test for streams against the real `sluice-server` binary:
//! producers XADD and consumers XREADGROUP + XACK while the server is
//! killed with SIGKILL under `always`, with small segments and automatic
//! checkpoints; after the restart nothing acknowledged is lost.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, Server};

/// Most operations one thread runs before the kill comes.
const MAX_ROUNDS: u64 = 3000;

/// What one stream thread saw acknowledged before the kill.
#[derive(Default)]
struct StreamBook {
    /// XADDs acknowledged: ID and the value written.
    added: Vec<(String, String)>,
    /// Entries delivered to this consumer by an acknowledged XREADGROUP.
    delivered: Vec<String>,
    /// Entries whose XACK was acknowledged.
    acked: Vec<String>,
}

fn stream_producer(url: String, t: usize, ready: Arc<Barrier>) -> StreamBook {
    let mut con = connect(&url);
    let mut book = StreamBook::default();
    ready.wait();
    for i in 0..MAX_ROUNDS * 4 {
        let value = format!("p{t}-{i}");
        let r: redis::RedisResult<String> = redis::cmd("XADD")
            .arg("orders")
            .arg("*")
            .arg("v")
            .arg(&value)
            .query(&mut con);
        match r {
            Ok(id) => book.added.push((id, value)),
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("XADD failed: {e}"),
        }
    }
    book
}

fn stream_consumer(url: String, t: usize, ready: Arc<Barrier>) -> StreamBook {
    let mut con = connect(&url);
    let mut book = StreamBook::default();
    let name = format!("c{t}");
    ready.wait();
    for _ in 0..MAX_ROUNDS * 4 {
        let r: redis::RedisResult<redis::Value> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg(&name)
            .arg("COUNT")
            .arg(10)
            .arg("STREAMS")
            .arg("orders")
            .arg(">")
            .query(&mut con);
        let ids = match r {
            Ok(v) => delivered_ids(&v),
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("XREADGROUP failed: {e}"),
        };
        book.delivered.extend(ids.iter().cloned());
        // Acknowledge every other entry; the rest stay pending.
        let to_ack: Vec<&String> = ids.iter().step_by(2).collect();
        if to_ack.is_empty() {
            continue;
        }
        let r: redis::RedisResult<i64> = redis::cmd("XACK")
            .arg("orders")
            .arg("g")
            .arg(&to_ack)
            .query(&mut con);
        match r {
            Ok(n) => {
                assert_eq!(n as usize, to_ack.len());
                book.acked.extend(to_ack.into_iter().cloned());
            }
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("XACK failed: {e}"),
        }
    }
    book
}

/// The entry IDs in an XREADGROUP reply (RESP2).
fn delivered_ids(v: &redis::Value) -> Vec<String> {
    use redis::Value;
    let Value::Array(streams) = v else {
        return Vec::new(); // nil: nothing new
    };
    let mut out = Vec::new();
    for s in streams {
        let Value::Array(kv) = s else { continue };
        let Value::Array(entries) = &kv[1] else {
            continue;
        };
        for e in entries {
            let Value::Array(pair) = e else { continue };
            if let Value::BulkString(id) = &pair[0] {
                out.push(String::from_utf8_lossy(id).into_owned());
            }
        }
    }
    out
}

/// kill -9 while producers XADD and a consumer group reads and acks, under
/// `appendfsync always` with small segments and automatic checkpoints: every
/// acknowledged entry is there after restart, every acknowledged delivery
/// that was not acknowledged by XACK is still pending for its consumer, and
/// no acknowledged XACK comes back as pending.
#[test]
fn sigkill_during_stream_produce_and_consume() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--journal-segment-size",
        "65536",
        "--auto-aof-rewrite-percentage",
        "50",
        "--auto-aof-rewrite-min-size",
        "65536",
    ];
    let server = Server::start(dir.path(), "always", &flags);
    let mut con = server.connect();
    let _: () = redis::cmd("XGROUP")
        .arg(&["CREATE", "orders", "g", "$", "MKSTREAM"][..])
        .query(&mut con)
        .unwrap();
    let ready = Arc::new(Barrier::new(5));
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    for t in 0..2 {
        let (url, r) = (server.url(), ready.clone());
        producers.push(std::thread::spawn(move || stream_producer(url, t, r)));
        let (url, r) = (server.url(), ready.clone());
        consumers.push(std::thread::spawn(move || stream_consumer(url, t, r)));
    }
    ready.wait();
    std::thread::sleep(Duration::from_millis(700));
    server.kill();
    let produced: Vec<StreamBook> = producers.into_iter().map(|h| h.join().unwrap()).collect();
    let consumed: Vec<StreamBook> = consumers.into_iter().map(|h| h.join().unwrap()).collect();

    let server = Server::start(dir.path(), "always", &flags);
    let mut con = server.connect();
    let all: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&["orders", "-", "+"][..])
        .query(&mut con)
        .unwrap();
    let stored: HashMap<String, String> = all
        .into_iter()
        .map(|(id, fields)| (id, fields[0].1.clone()))
        .collect();
    let mut added = 0;
    for (id, value) in produced.iter().flat_map(|b| &b.added) {
        assert_eq!(
            stored.get(id),
            Some(value),
            "acknowledged XADD {id} lost; log:\n{}",
            server.log()
        );
        added += 1;
    }
    assert!(added > 0, "no XADD was acknowledged before the kill");
    let pending: Vec<(String, String, i64, i64)> = redis::cmd("XPENDING")
        .arg(&["orders", "g", "-", "+", "1000000"][..])
        .query(&mut con)
        .unwrap();
    let pending: HashMap<String, String> = pending
        .into_iter()
        .map(|(id, consumer, _, count)| {
            assert!(count >= 1);
            (id, consumer)
        })
        .collect();
    for (t, book) in consumed.iter().enumerate() {
        let acked: std::collections::HashSet<&String> = book.acked.iter().collect();
        for id in &book.delivered {
            if acked.contains(id) {
                assert!(!pending.contains_key(id), "acknowledged XACK of {id} lost");
            } else {
                // Delivered and not acked by us: still pending for us,
                // unless an XACK we sent got no reply (then it may be gone).
                if let Some(owner) = pending.get(id) {
                    assert_eq!(owner, &format!("c{t}"));
                } else {
                    let last_sent = book.delivered.iter().rposition(|d| d == id).unwrap();
                    assert!(
                        book.delivered.len() - last_sent <= 10,
                        "delivered entry {id} is no longer pending"
                    );
                }
            }
        }
    }
    server.shutdown();
}
