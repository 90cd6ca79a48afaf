//! Crash tests for streams and sorted sets against the real
//! `sluice-server` binary: producers XADD and consumers XREADGROUP + XACK,
//! or writers ZADD, ZINCRBY and ZREM, while the server is killed with
//! SIGKILL under `always` (and `everysec` for sorted sets), with small
//! segments and automatic checkpoints; after the restart nothing
//! acknowledged is lost.

mod common;

use std::collections::{BTreeMap, HashMap};
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

/// One sorted-set writer's view: the set as its acknowledged commands left
/// it, and the one command it sent without seeing the reply.
#[derive(Debug, Default)]
struct ZSetBook {
    acked: BTreeMap<String, f64>,
    in_flight: Option<(String, Option<f64>)>,
}

/// Writer `t` on key `z<t>`: ZADD m<i> with score i, every third round
/// ZINCRBY 1.5 on "counter", every fifth ZREM of an earlier member; one
/// command at a time, until the connection dies.
fn zset_writer(url: String, t: usize, ready: Arc<Barrier>) -> ZSetBook {
    let mut con = connect(&url);
    let key = format!("z{t}");
    let mut book = ZSetBook::default();
    ready.wait();
    for i in 0..MAX_ROUNDS * 4 {
        let (member, after): (String, Option<f64>) = if i % 5 == 4 {
            (format!("m{}", i - 2), None)
        } else if i % 3 == 2 {
            let now = book.acked.get("counter").copied().unwrap_or(0.0);
            ("counter".into(), Some(now + 1.5))
        } else {
            (format!("m{i}"), Some(i as f64))
        };
        book.in_flight = Some((member.clone(), after));
        let reply: redis::RedisResult<redis::Value> = match (member.as_str(), after) {
            (_, None) => redis::cmd("ZREM").arg(&key).arg(&member).query(&mut con),
            ("counter", Some(_)) => redis::cmd("ZINCRBY")
                .arg(&key)
                .arg(1.5)
                .arg(&member)
                .query(&mut con),
            (_, Some(score)) => redis::cmd("ZADD")
                .arg(&key)
                .arg(score)
                .arg(&member)
                .query(&mut con),
        };
        match reply {
            Ok(_) => {
                match after {
                    Some(score) => book.acked.insert(member, score),
                    None => book.acked.remove(&member),
                };
                book.in_flight = None;
            }
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("writer {t}: {e}"),
        }
    }
    book
}

fn zset_kill(policy: &str) {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--journal-segment-size",
        "65536",
        "--auto-aof-rewrite-percentage",
        "50",
        "--auto-aof-rewrite-min-size",
        "65536",
    ];
    let server = Server::start(dir.path(), policy, &flags);
    let ready = Arc::new(Barrier::new(4));
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let (url, r) = (server.url(), ready.clone());
            std::thread::spawn(move || zset_writer(url, t, r))
        })
        .collect();
    ready.wait();
    std::thread::sleep(Duration::from_millis(700));
    server.kill();
    let books: Vec<ZSetBook> = writers.into_iter().map(|h| h.join().unwrap()).collect();

    let server = Server::start(dir.path(), policy, &flags);
    let mut con = server.connect();
    for (t, book) in books.iter().enumerate() {
        assert!(!book.acked.is_empty(), "writer {t}: nothing acknowledged");
        let stored: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(format!("z{t}"))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut con)
            .unwrap();
        let stored: BTreeMap<String, f64> = stored.into_iter().collect();
        let mut with_last = book.acked.clone();
        if let Some((member, after)) = &book.in_flight {
            match after {
                Some(score) => with_last.insert(member.clone(), *score),
                None => with_last.remove(member),
            };
        }
        assert!(
            stored == book.acked || stored == with_last,
            "writer {t}: recovered {} members, acknowledged state has {} (in flight: {:?}); log:\n{}",
            stored.len(),
            book.acked.len(),
            book.in_flight,
            server.log()
        );
    }
    server.shutdown();
}

/// kill -9 while three writers change sorted sets under `always`: each set
/// comes back exactly as its acknowledged commands left it (plus, maybe,
/// the one command in flight).
#[test]
fn sigkill_during_sorted_set_writes_appendfsync_always() {
    zset_kill("always");
}

/// The same under `everysec`: kill -9 is a process crash, which loses
/// nothing that was acknowledged.
#[test]
fn sigkill_during_sorted_set_writes_appendfsync_everysec() {
    zset_kill("everysec");
}
