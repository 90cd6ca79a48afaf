//! kill -9 while writers change sets (and a big set is checkpointed in
//! pieces under the writers' feet): after the restart each set is exactly
//! what its acknowledged commands left, plus maybe the one command in
//! flight, under `always` and `everysec`.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, Server};

const ROUNDS: usize = 200_000;

/// The sets one writer owns: `s<t>` and `moved<t>`.
#[derive(Debug, Default, Clone, PartialEq)]
struct State {
    s: BTreeSet<String>,
    moved: BTreeSet<String>,
}

/// One writer's view: the state its acknowledged commands left, and the
/// state if the command in flight was applied too.
#[derive(Debug, Default)]
struct Book {
    acked: State,
    with_last: Option<State>,
    /// Members of `big` this writer's acknowledged SADDs put there.
    big: Vec<String>,
}

/// Writer `t`: SADD m<i> to `s<t>` or to `big` (which starts with
/// thousands of members so checkpoints copy it in pieces); every fifth
/// round SREM of an earlier member, every seventh SMOVE of one to
/// `moved<t>`; one command at a time, until the connection dies.
fn writer(url: String, t: usize, ready: Arc<Barrier>) -> Book {
    let mut con = connect(&url);
    let (key, moved) = (format!("s{t}"), format!("moved{t}"));
    let mut book = Book::default();
    ready.wait();
    for i in 0..ROUNDS {
        let mut next = book.acked.clone();
        let cmd = if i % 5 == 4 {
            let m = format!("m{t}-{}", i - 2);
            next.s.remove(&m);
            redis::cmd("SREM").arg(&key).arg(m).clone()
        } else if i % 7 == 6 {
            let m = format!("m{t}-{}", i - 3);
            if next.s.remove(&m) {
                next.moved.insert(m.clone());
            }
            redis::cmd("SMOVE").arg(&key).arg(&moved).arg(m).clone()
        } else if i % 2 == 1 {
            let m = format!("m{t}-{i}");
            next.s.insert(m.clone());
            redis::cmd("SADD").arg(&key).arg(m).clone()
        } else {
            let m = format!("m{t}-{i}");
            redis::cmd("SADD").arg("big").arg(m).clone()
        };
        book.with_last = Some(next.clone());
        match cmd.query::<redis::Value>(&mut con) {
            Ok(_) => {
                if i % 2 == 0 && i % 5 != 4 && i % 7 != 6 {
                    book.big.push(format!("m{t}-{i}"));
                }
                book.acked = next;
                book.with_last = None;
            }
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("writer {t}: {e}"),
        }
    }
    book
}

fn members(con: &mut redis::Connection, key: &str) -> BTreeSet<String> {
    redis::cmd("SMEMBERS").arg(key).query(con).unwrap()
}

fn kill(policy: &str) {
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
    {
        let mut con = server.connect();
        let mut pipe = redis::pipe();
        for i in 0..6000 {
            pipe.cmd("SADD")
                .arg("big")
                .arg(format!("base-{i}"))
                .ignore();
        }
        let () = pipe.query(&mut con).unwrap();
    }
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

    let server = Server::start(dir.path(), policy, &flags);
    let mut con = server.connect();
    for (t, book) in books.iter().enumerate() {
        assert!(!book.acked.s.is_empty(), "writer {t}: nothing acknowledged");
        let stored = State {
            s: members(&mut con, &format!("s{t}")),
            moved: members(&mut con, &format!("moved{t}")),
        };
        assert!(
            stored == book.acked || Some(&stored) == book.with_last.as_ref(),
            "writer {t}: recovered {}+{} members, acknowledged {}+{} (in flight: {:?}); log:\n{}",
            stored.s.len(),
            stored.moved.len(),
            book.acked.s.len(),
            book.acked.moved.len(),
            book.with_last.is_some(),
            server.log()
        );
    }
    // `big` keeps every base member (nobody removes them) and only
    // members the writers sent.
    let big = members(&mut con, "big");
    for i in 0..6000 {
        assert!(big.contains(&format!("base-{i}")), "big lost base-{i}");
    }
    for (t, book) in books.iter().enumerate() {
        for m in &book.big {
            assert!(
                big.contains(m),
                "writer {t}: acknowledged SADD big {m} lost"
            );
        }
    }
    assert!(big.len() > 6000, "no writer member reached big");
    let checkpoints = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".ckpt")
        })
        .count();
    let listing: Vec<String> = std::fs::read_dir(dir.path().join("journal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        checkpoints > 0,
        "no checkpoint was taken while the writers ran: {listing:?}, {} rounds",
        books.iter().map(|b| b.acked.s.len()).sum::<usize>()
    );
    server.shutdown();
}

/// kill -9 while three writers change sets under `always`, with automatic
/// checkpoints copying the big set in pieces while it changes.
#[test]
fn sigkill_during_set_writes_appendfsync_always() {
    kill("always");
}

/// The same under `everysec`: kill -9 is a process crash, which loses
/// nothing that was acknowledged.
#[test]
fn sigkill_during_set_writes_appendfsync_everysec() {
    kill("everysec");
}

/// kill -9 while writers set bits (each SETBIT journals one byte) and
/// BITFIELD counters climb, with automatic checkpoints: every acknowledged
/// bit and increment is there after the restart, plus maybe the one in
/// flight.
fn kill_bits(policy: &str) {
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
    let ready = Arc::new(Barrier::new(3));
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let (url, r) = (server.url(), ready.clone());
            std::thread::spawn(move || {
                let mut con = connect(&url);
                r.wait();
                // Bits set (every third one stays clear), then counter
                // increments, alternating; (acked, sent) per kind.
                let (mut bits, mut incrs) = ((0u64, 0u64), (0u64, 0u64));
                for i in 0..ROUNDS as u64 {
                    let reply = if i % 2 == 0 {
                        bits.1 += 1;
                        let bit = bits.1 - 1;
                        redis::cmd("SETBIT")
                            .arg(format!("bits{t}"))
                            .arg(bit * 5)
                            .arg(u8::from(bit % 3 != 0))
                            .query::<redis::Value>(&mut con)
                    } else {
                        incrs.1 += 1;
                        redis::cmd("BITFIELD")
                            .arg(format!("ctr{t}"))
                            .arg("INCRBY")
                            .arg("u32")
                            .arg("#3")
                            .arg(1)
                            .query::<redis::Value>(&mut con)
                    };
                    match reply {
                        Ok(_) if i % 2 == 0 => bits.0 = bits.1,
                        Ok(_) => incrs.0 = incrs.1,
                        Err(e) if is_connection_loss(&e) => break,
                        Err(e) => panic!("bit writer {t}: {e}"),
                    }
                }
                (bits, incrs)
            })
        })
        .collect();
    ready.wait();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    let books: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    let server = Server::start(dir.path(), policy, &flags);
    let mut con = server.connect();
    for (t, ((bits_acked, bits_sent), (incr_acked, incr_sent))) in books.into_iter().enumerate() {
        assert!(bits_acked > 0, "bit writer {t}: nothing acknowledged");
        let value: Vec<u8> = redis::cmd("GET")
            .arg(format!("bits{t}"))
            .query::<Option<Vec<u8>>>(&mut con)
            .unwrap()
            .unwrap_or_default();
        let bit = |n: u64| {
            let off = n * 5;
            value
                .get((off >> 3) as usize)
                .map_or(0, |b| (b >> (7 - (off & 7))) & 1)
        };
        for n in 0..bits_acked {
            assert_eq!(
                bit(n),
                u8::from(n % 3 != 0),
                "bit writer {t}: bit {n} (acked {bits_acked})"
            );
        }
        for n in bits_sent..bits_sent + 10 {
            assert_eq!(bit(n), 0, "bit writer {t}: bit {n} was never sent");
        }
        let counter: Vec<i64> = redis::cmd("BITFIELD")
            .arg(format!("ctr{t}"))
            .arg("GET")
            .arg("u32")
            .arg("#3")
            .query(&mut con)
            .unwrap();
        let c = counter[0] as u64;
        assert!(
            (incr_acked..=incr_sent).contains(&c),
            "bit writer {t}: counter {c}, acked {incr_acked}, sent {incr_sent}"
        );
    }
    server.shutdown();
}

/// kill -9 during SETBIT/BITFIELD writes under `always`.
#[test]
fn sigkill_during_bit_writes_appendfsync_always() {
    kill_bits("always");
}

/// kill -9 during SETBIT/BITFIELD writes under `everysec`.
#[test]
fn sigkill_during_bit_writes_appendfsync_everysec() {
    kill_bits("everysec");
}
