//! Crash tests against the real `sluice-server` binary: writers run on
//! their own connections, the server is killed with SIGKILL at a random
//! moment, restarted on the same directory, and everything it acknowledged
//! must be there, nothing doubled, every MULTI/EXEC whole or absent.
//!
//! The kill delays come from a seeded RNG; the seed is printed (set
//! `CRASH_SEED=<n>` to replay the same delays; thread scheduling still
//! varies from run to run).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, recovery_line, seed, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Writer threads, each with its own connection.
const WRITERS: usize = 4;
/// Most rounds one writer runs in one cycle (the kill normally comes first).
const MAX_ROUNDS: u64 = 3000;
/// Kill/restart cycles per policy.
const CYCLES: usize = 3;
/// A MULTI/EXEC block every this many rounds.
const EXEC_EVERY: u64 = 4;

// ---------------------------------------------------------------------------
// What each writer sent and what it saw acknowledged

/// One writer's bookkeeping, kept across cycles. "Sent" counts are upper
/// bounds (a request may or may not have reached the server), "acked"
/// counts are lower bounds (the reply was read).
#[derive(Debug, Default, Clone)]
struct Book {
    /// The last value an INCR of `counter:<t>` replied.
    incr_acked: i64,
    /// INCRs of `counter:<t>` sent so far (all cycles).
    incr_sent: i64,
    /// APPENDs to `log:<t>` acknowledged: seqs `0..log_acked` are in.
    log_acked: u64,
    /// APPENDs sent: seqs `0..log_sent` may be in.
    log_sent: u64,
    /// `key:<t>:<seq>` SETs acknowledged.
    set_acked: BTreeSet<u64>,
    /// `key:<t>:<seq>` SETs sent but not acknowledged.
    set_unacked: BTreeSet<u64>,
    /// The value of each EXEC sent, in order: after `n` EXECs ran,
    /// `pairs:<t>` is `n` and both `pair:<t>:a`/`b` are `execs[n-1]`.
    execs: Vec<u64>,
    /// EXECs acknowledged.
    execs_acked: usize,
    /// Next round number (never reused, so `key:<t>:<seq>` names are unique).
    next_seq: u64,
}

/// How a writer's cycle ended.
#[derive(Debug)]
struct WriterEnd {
    book: Book,
    rounds: u64,
    /// The error that stopped it (None: it ran out of rounds).
    error: Option<redis::RedisError>,
}

/// Runs rounds of INCR, APPEND, SET and (every few rounds) a MULTI/EXEC
/// until the connection fails or `MAX_ROUNDS` is reached. Every reply that
/// does arrive is checked against the bookkeeping.
fn writer(t: usize, url: String, mut book: Book, ready: Arc<Barrier>) -> WriterEnd {
    let mut con = connect(&url);
    ready.wait();
    let mut rounds = 0;
    let counter = format!("counter:{t}");
    let log = format!("log:{t}");
    let pairs = format!("pairs:{t}");
    let (pair_a, pair_b) = (format!("pair:{t}:a"), format!("pair:{t}:b"));
    // Byte length of log:<t> once seqs 0..n are in.
    let log_len = |n: u64| -> usize { (0..n).map(|i| format!("{i},").len()).sum() };
    let mut expected_log_len = log_len(book.log_sent);
    let error = loop {
        if rounds == MAX_ROUNDS {
            break None;
        }
        rounds += 1;
        let seq = book.next_seq;
        book.next_seq += 1;

        book.incr_sent += 1;
        match redis::cmd("INCR").arg(&counter).query::<i64>(&mut con) {
            Ok(v) => {
                assert_eq!(v, book.incr_sent, "INCR {counter} reply (seq {seq})");
                book.incr_acked = v;
            }
            Err(e) => break Some(e),
        }

        let item = format!("{},", book.log_sent);
        book.log_sent += 1;
        expected_log_len += item.len();
        match redis::cmd("APPEND")
            .arg(&log)
            .arg(&item)
            .query::<usize>(&mut con)
        {
            Ok(n) => {
                assert_eq!(n, expected_log_len, "APPEND {log} {item} reply");
                book.log_acked = book.log_sent;
            }
            Err(e) => break Some(e),
        }

        book.set_unacked.insert(seq);
        match redis::cmd("SET")
            .arg(format!("key:{t}:{seq}"))
            .arg(seq)
            .query::<String>(&mut con)
        {
            Ok(ok) => {
                assert_eq!(ok, "OK");
                book.set_unacked.remove(&seq);
                book.set_acked.insert(seq);
            }
            Err(e) => break Some(e),
        }

        if seq % EXEC_EVERY == EXEC_EVERY - 1 {
            book.execs.push(seq);
            let reply = redis::pipe()
                .atomic()
                .set(&pair_a, seq)
                .set(&pair_b, seq)
                .incr(&pairs, 1)
                .query::<(String, String, usize)>(&mut con);
            match reply {
                Ok((a, b, n)) => {
                    assert_eq!((a.as_str(), b.as_str()), ("OK", "OK"));
                    assert_eq!(n, book.execs.len(), "INCR {pairs} inside EXEC");
                    book.execs_acked = book.execs.len();
                }
                Err(e) => break Some(e),
            }
        }
    };
    WriterEnd {
        book,
        rounds,
        error,
    }
}

// ---------------------------------------------------------------------------
// Checking a restarted server

fn get(con: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(con).unwrap()
}

/// Checks the restarted server against every writer's book, then brings
/// each book to what the server now holds (the recovered state is the base
/// for the next cycle: unacknowledged writes that made it in count as done,
/// the others as never sent). `what` names the check in messages.
///
/// Returns how many unacknowledged writes turned out applied, and how many
/// not (each writer has at most one in flight when the server dies).
fn check_and_resync(con: &mut redis::Connection, books: &mut [Book], what: &str) -> (usize, usize) {
    let (mut applied, mut lost) = (0, 0);
    // No key the writers never wrote.
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(con).unwrap();
    let mut present: HashMap<usize, BTreeSet<u64>> = HashMap::new();
    for key in &keys {
        let parts: Vec<&str> = key.split(':').collect();
        let t: usize = parts[1]
            .parse()
            .unwrap_or_else(|_| panic!("{what}: stray key {key}"));
        assert!(t < books.len(), "{what}: stray key {key}");
        match (parts[0], parts.len()) {
            ("counter" | "log" | "pairs", 2) => {}
            ("pair", 3) if parts[2] == "a" || parts[2] == "b" => {}
            ("key", 3) => {
                let seq: u64 = parts[2].parse().unwrap();
                let b = &books[t];
                assert!(
                    b.set_acked.contains(&seq) || b.set_unacked.contains(&seq),
                    "{what}: {key} exists but was never sent"
                );
                present.entry(t).or_default().insert(seq);
            }
            _ => panic!("{what}: stray key {key}"),
        }
    }

    for (t, b) in books.iter_mut().enumerate() {
        // Counter: every acknowledged INCR, none applied twice.
        let counter: i64 = get(con, &format!("counter:{t}")).map_or(0, |v| v.parse().unwrap());
        assert!(
            counter >= b.incr_acked,
            "{what}: counter:{t} = {counter} lost acknowledged INCRs (last reply {})",
            b.incr_acked
        );
        assert!(
            counter <= b.incr_sent,
            "{what}: counter:{t} = {counter} but only {} INCRs were sent",
            b.incr_sent
        );
        applied += (counter - b.incr_acked) as usize;
        lost += (b.incr_sent - counter) as usize;
        b.incr_acked = counter;
        b.incr_sent = counter;

        // Log: 0,1,2,...,k, in order, a prefix of what was sent, covering
        // what was acknowledged.
        let log = get(con, &format!("log:{t}")).unwrap_or_default();
        let mut n = 0u64;
        if !log.is_empty() {
            assert!(
                log.ends_with(','),
                "{what}: log:{t} torn: ...{}",
                tail(&log)
            );
            let items: Vec<&str> = log[..log.len() - 1].split(',').collect();
            for (i, item) in items.iter().enumerate() {
                assert_eq!(
                    *item,
                    i.to_string(),
                    "{what}: log:{t} item {i} out of order: items {}..{} are {:?}; \
                     {} items in all, the last ones {:?}; {} APPENDs acked, {} sent",
                    i.saturating_sub(5),
                    (i + 5).min(items.len()),
                    &items[i.saturating_sub(5)..(i + 5).min(items.len())],
                    items.len(),
                    &items[items.len().saturating_sub(3)..],
                    b.log_acked,
                    b.log_sent,
                );
            }
            n = items.len() as u64;
        }
        assert!(
            n >= b.log_acked,
            "{what}: log:{t} has {n} items but {} APPENDs were acknowledged",
            b.log_acked
        );
        assert!(
            n <= b.log_sent,
            "{what}: log:{t} has {n} items but only {} APPENDs were sent",
            b.log_sent
        );
        applied += (n - b.log_acked) as usize;
        lost += (b.log_sent - n) as usize;
        b.log_acked = n;
        b.log_sent = n;

        // SET keys: every acknowledged one, with its value.
        let acked: Vec<u64> = b.set_acked.iter().copied().collect();
        for chunk in acked.chunks(1000) {
            let names: Vec<String> = chunk.iter().map(|s| format!("key:{t}:{s}")).collect();
            let values: Vec<Option<String>> = redis::cmd("MGET").arg(&names).query(con).unwrap();
            for (seq, v) in chunk.iter().zip(values) {
                assert_eq!(
                    v,
                    Some(seq.to_string()),
                    "{what}: acknowledged SET key:{t}:{seq} lost"
                );
            }
        }
        let here = present.remove(&t).unwrap_or_default();
        for seq in std::mem::take(&mut b.set_unacked) {
            if here.contains(&seq) {
                let v = get(con, &format!("key:{t}:{seq}"));
                assert_eq!(v, Some(seq.to_string()), "{what}: key:{t}:{seq} value");
                b.set_acked.insert(seq);
                applied += 1;
            } else {
                lost += 1;
            }
        }
        assert_eq!(
            here.len(),
            b.set_acked.len(),
            "{what}: writer {t}'s key:{t}:* count"
        );

        // MULTI/EXEC: whole or absent.
        let pairs: usize = get(con, &format!("pairs:{t}")).map_or(0, |v| v.parse().unwrap());
        let a = get(con, &format!("pair:{t}:a"));
        let bb = get(con, &format!("pair:{t}:b"));
        assert_eq!(
            a, bb,
            "{what}: pair:{t}:a and pair:{t}:b differ (EXEC torn)"
        );
        assert!(
            pairs >= b.execs_acked,
            "{what}: pairs:{t} = {pairs} lost acknowledged EXECs ({} acked)",
            b.execs_acked
        );
        assert!(
            pairs <= b.execs.len(),
            "{what}: pairs:{t} = {pairs} but only {} EXECs were sent",
            b.execs.len()
        );
        let expected = pairs.checked_sub(1).map(|i| b.execs[i].to_string());
        assert_eq!(
            a, expected,
            "{what}: pair:{t}:a is not the value of EXEC number {pairs}"
        );
        applied += pairs - b.execs_acked;
        lost += b.execs.len() - pairs;
        b.execs.truncate(pairs);
        b.execs_acked = pairs;
    }
    (applied, lost)
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(40);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

// ---------------------------------------------------------------------------
// The tests

/// How one crash test runs.
struct Plan {
    policy: &'static str,
    /// More server flags.
    extra: &'static [&'static str],
    /// Kill delay range, in ms after the writers are connected.
    delay_ms: std::ops::RangeInclusive<u64>,
}

/// Writers, a SIGKILL at a random moment, restart, check; `CYCLES` times
/// (or `CRASH_CYCLES`, for soak runs) on the same directory; then a clean
/// SHUTDOWN, restart, check.
fn kill_during_writes(plan: Plan) {
    let Plan {
        policy,
        extra,
        delay_ms,
    } = plan;
    let label = format!("appendfsync {policy} {}", extra.join(" "));
    let label = label.trim_end();
    let seed = seed();
    eprintln!("[{label}] seed {seed} (CRASH_SEED={seed} replays the kill delays)");
    let cycles: usize = std::env::var("CRASH_CYCLES").map_or(CYCLES, |s| s.parse().unwrap());
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut books = vec![Book::default(); WRITERS];
    let mut server = Server::start(dir.path(), policy, extra);
    // Unacknowledged writes found applied / not applied after restarts.
    let (mut in_flight_applied, mut in_flight_lost) = (0, 0);

    for cycle in 1..=cycles {
        let delay = Duration::from_millis(rng.random_range(delay_ms.clone()));
        let ready = Arc::new(Barrier::new(WRITERS + 1));
        let handles: Vec<_> = books
            .iter()
            .enumerate()
            .map(|(t, book)| {
                let (url, book, ready) = (server.url(), book.clone(), ready.clone());
                std::thread::spawn(move || writer(t, url, book, ready))
            })
            .collect();
        ready.wait();
        std::thread::sleep(delay);
        server.kill();
        let mut rounds = Vec::new();
        for (t, h) in handles.into_iter().enumerate() {
            let end = match h.join() {
                Ok(end) => end,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            if let Some(e) = &end.error {
                assert!(
                    is_connection_loss(e),
                    "[{label}] seed {seed} cycle {cycle}: writer {t} stopped on a non-connection error: {e:?}"
                );
            }
            rounds.push(end.rounds);
            books[t] = end.book;
        }

        server = Server::start(dir.path(), policy, extra);
        let mut con = server.connect();
        let what = format!("[{label}] seed {seed}, cycle {cycle}");
        let (applied, lost) = check_and_resync(&mut con, &mut books, &what);
        in_flight_applied += applied;
        in_flight_lost += lost;
        eprintln!(
            "[{label}] cycle {cycle}: killed after {delay:?}, rounds per writer {rounds:?}, \
             unacknowledged writes applied {applied} / not applied {lost}; {}",
            recovery_line(&server)
        );
    }

    server.shutdown();
    let server = Server::start(dir.path(), policy, extra);
    let mut con = server.connect();
    let what = format!("[{label}] seed {seed}, after SHUTDOWN");
    // Nothing was in flight: the state must match the books exactly.
    let before = books.clone();
    assert_eq!(check_and_resync(&mut con, &mut books, &what), (0, 0));
    for (t, (b, a)) in before.iter().zip(&books).enumerate() {
        assert_eq!(b.incr_acked, a.incr_acked, "{what}: counter:{t}");
        assert_eq!(b.log_acked, a.log_acked, "{what}: log:{t}");
        assert_eq!(b.set_acked, a.set_acked, "{what}: key:{t}:*");
        assert_eq!(b.execs, a.execs, "{what}: pairs:{t}");
    }
    assert!(
        books
            .iter()
            .all(|b| b.incr_acked > 0 && !b.execs.is_empty()),
        "[{label}] the writers never got going: {books:?}"
    );
    eprintln!(
        "[{label}] done: {} keys, unacknowledged writes applied {in_flight_applied} / not applied {in_flight_lost}",
        books.iter().map(|b| b.set_acked.len()).sum::<usize>()
    );
    server.shutdown();
}

#[test]
fn sigkill_during_writes_appendfsync_always() {
    kill_during_writes(Plan {
        policy: "always",
        extra: &[],
        delay_ms: 50..=400,
    });
}

#[test]
fn sigkill_during_writes_appendfsync_everysec() {
    kill_during_writes(Plan {
        policy: "everysec",
        extra: &[],
        delay_ms: 50..=400,
    });
}

/// Tiny segments (the smallest allowed), so kills land around segment
/// rolls; no checkpoints.
#[test]
fn sigkill_during_writes_small_segments() {
    kill_during_writes(Plan {
        policy: "everysec",
        extra: &[
            "--journal-segment-size",
            "4096",
            "--auto-aof-rewrite-percentage",
            "0",
        ],
        delay_ms: 50..=400,
    });
}

/// Automatic checkpoints after a few kB of log growth (the trigger is
/// checked once a second, hence the longer delays), so the state at most
/// restarts comes from a checkpoint taken while the writers ran, plus the
/// log after it; kills also land during or after a checkpoint and its
/// segment removal.
///
/// At the time of writing this fails: a checkpoint copies keys while
/// writes go on and relies on replaying the log from its start LSN, but
/// APPEND is journaled as a delta (`Op::Append`), so an APPEND the copy
/// already saw is applied a second time (`log:<t>` gets a duplicated item).
/// It happens after a clean SHUTDOWN too, not only after a crash.
#[test]
fn sigkill_during_writes_with_auto_checkpoints() {
    kill_during_writes(Plan {
        policy: "everysec",
        extra: &[
            "--journal-segment-size",
            "4096",
            "--auto-aof-rewrite-percentage",
            "10",
            "--auto-aof-rewrite-min-size",
            "4096",
        ],
        delay_ms: 600..=2200,
    });
}

/// 10 000 SETs in one pipeline, all acknowledged, then SIGKILL at once:
/// every one must be there after the restart.
fn kill_after_pipeline(policy: &str) {
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), policy, &[]);
    let mut con = server.connect();
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.set(format!("p:{i}"), format!("v{i}"));
    }
    let replies: Vec<String> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), N);
    assert!(replies.iter().all(|r| r == "OK"), "{replies:?}");
    server.kill();

    let server = Server::start(dir.path(), policy, &[]);
    let mut con = server.connect();
    let names: Vec<String> = (0..N).map(|i| format!("p:{i}")).collect();
    let values: Vec<Option<String>> = redis::cmd("MGET").arg(&names).query(&mut con).unwrap();
    let lost: Vec<usize> = (0..N)
        .filter(|&i| values[i].as_deref() != Some(format!("v{i}").as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "appendfsync {policy}: {} acknowledged SETs lost, first {:?}; server log:\n{}",
        lost.len(),
        &lost[..lost.len().min(10)],
        server.log()
    );
    let size: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, N);
    server.shutdown();
}

#[test]
fn sigkill_right_after_a_pipeline_appendfsync_always() {
    kill_after_pipeline("always");
}

#[test]
fn sigkill_right_after_a_pipeline_appendfsync_everysec() {
    kill_after_pipeline("everysec");
}

#[test]
fn sigkill_right_after_a_pipeline_appendfsync_no() {
    kill_after_pipeline("no");
}
