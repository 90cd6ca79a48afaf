//! Crash tests for hashes against the real `sluice-server` binary: writers
//! HSET, HINCRBY, HDEL and HPEXPIRE fields of big hashes (big enough that
//! automatic checkpoints copy them in pieces while the writers run) and
//! the server is killed with SIGKILL under `always` and `everysec`; after
//! the restart each hash is exactly what its acknowledged commands left
//! (plus, maybe, the one command in flight).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, Server};

/// Most operations one writer runs before the kill comes.
const MAX_ROUNDS: u64 = 12_000;
/// Fields each hash starts with (more than a checkpoint copies per piece).
const START_FIELDS: usize = 3000;

/// What a round does to one field.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    Set(String),
    Del,
    Ttl,
}

/// One writer's view: the hash as its acknowledged commands left it, the
/// fields given a TTL, and the one command sent without seeing the reply.
#[derive(Debug, Default)]
struct Book {
    acked: BTreeMap<String, String>,
    with_ttl: BTreeSet<String>,
    in_flight: Option<(String, Change)>,
}

fn apply(map: &mut BTreeMap<String, String>, ttls: &mut BTreeSet<String>, f: &str, c: &Change) {
    match c {
        Change::Set(v) => {
            map.insert(f.to_string(), v.clone());
            ttls.remove(f);
        }
        Change::Del => {
            map.remove(f);
            ttls.remove(f);
        }
        Change::Ttl => {
            if map.contains_key(f) {
                ttls.insert(f.to_string());
            }
        }
    }
}

/// Writer `t` on key `h<t>`: HSET f<i>, every third round HINCRBY
/// "counter", every fifth HDEL of an earlier field, every seventh a long
/// HPEXPIRE on an earlier field; one command at a time.
fn writer(url: String, t: usize, ready: Arc<Barrier>) -> Book {
    let mut con = connect(&url);
    let key = format!("h{t}");
    let mut book = Book::default();
    let mut pipe = redis::pipe();
    for i in 0..START_FIELDS {
        pipe.cmd("HSET").arg(&key).arg(format!("s{i}")).arg(i);
        book.acked.insert(format!("s{i}"), i.to_string());
    }
    let _: redis::Value = pipe.query(&mut con).unwrap();
    ready.wait();
    for i in 0..MAX_ROUNDS {
        let (field, change) = if i % 7 == 6 {
            (format!("f{}", i - 3), Change::Ttl)
        } else if i % 5 == 4 {
            (format!("f{}", i - 2), Change::Del)
        } else if i % 3 == 2 {
            let n: i64 = book.acked.get("counter").map_or(0, |v| v.parse().unwrap());
            ("counter".into(), Change::Set((n + 3).to_string()))
        } else {
            (format!("f{i}"), Change::Set(format!("v{i}")))
        };
        book.in_flight = Some((field.clone(), change.clone()));
        let reply: redis::RedisResult<redis::Value> = match &change {
            Change::Del => redis::cmd("HDEL").arg(&key).arg(&field).query(&mut con),
            Change::Ttl => redis::cmd("HPEXPIRE")
                .arg(&key)
                .arg(1_000_000_000)
                .arg("FIELDS")
                .arg(1)
                .arg(&field)
                .query(&mut con),
            Change::Set(_) if field == "counter" => redis::cmd("HINCRBY")
                .arg(&key)
                .arg(&field)
                .arg(3)
                .query(&mut con),
            Change::Set(v) => redis::cmd("HSET")
                .arg(&key)
                .arg(&field)
                .arg(v)
                .query(&mut con),
        };
        match reply {
            Ok(_) => {
                let (map, ttls) = (&mut book.acked, &mut book.with_ttl);
                apply(map, ttls, &field, &change);
                book.in_flight = None;
            }
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("writer {t}: {e}"),
        }
    }
    book
}

fn hash_kill(policy: &str) {
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
            std::thread::spawn(move || writer(url, t, r))
        })
        .collect();
    ready.wait();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    let books: Vec<Book> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    // The writers ran through at least one automatic checkpoint, which
    // copied their big hashes in pieces.
    let checkpointed = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("checkpoint-")
        });
    assert!(checkpointed, "no checkpoint ran while the writers wrote");

    let server = Server::start(dir.path(), policy, &flags);
    let mut con = server.connect();
    for (t, book) in books.iter().enumerate() {
        assert!(
            book.acked.len() > START_FIELDS,
            "writer {t}: nothing acknowledged"
        );
        let key = format!("h{t}");
        let stored: BTreeMap<String, String> =
            redis::cmd("HGETALL").arg(&key).query(&mut con).unwrap();
        let mut with_last = book.acked.clone();
        let mut ttls_last = book.with_ttl.clone();
        if let Some((f, c)) = &book.in_flight {
            apply(&mut with_last, &mut ttls_last, f, c);
        }
        let last = stored == with_last;
        assert!(
            stored == book.acked || last,
            "writer {t}: recovered {} fields, acknowledged state has {} (in flight: {:?}); log:\n{}",
            stored.len(),
            book.acked.len(),
            book.in_flight,
            server.log()
        );
        // Field TTLs too: every acknowledged one is there, nothing else.
        let fields: Vec<&String> = stored.keys().collect();
        let ttls: Vec<i64> = redis::cmd("HPTTL")
            .arg(&key)
            .arg("FIELDS")
            .arg(fields.len())
            .arg(&fields)
            .query(&mut con)
            .unwrap();
        let got: BTreeSet<String> = fields
            .iter()
            .zip(&ttls)
            .filter(|(_, &ms)| ms > 0)
            .map(|(f, _)| (*f).clone())
            .collect();
        assert!(
            got == book.with_ttl || got == ttls_last,
            "writer {t}: {} fields with a TTL, {} acknowledged (in flight: {:?})",
            got.len(),
            book.with_ttl.len(),
            book.in_flight
        );
    }
    server.shutdown();
}

/// kill -9 while three writers change hashes under `always`.
#[test]
fn sigkill_during_hash_writes_appendfsync_always() {
    hash_kill("always");
}

/// The same under `everysec`: a process crash loses nothing acknowledged.
#[test]
fn sigkill_during_hash_writes_appendfsync_everysec() {
    hash_kill("everysec");
}
