//! kill -9 while scripts write thousands of keys each: after a restart
//! every script's writes are there whole or not at all (a script's changes
//! go to the journal as one batch record), and nothing acknowledged is
//! lost.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, seed, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Keys each script run writes.
const KEYS_PER_SCRIPT: usize = 2000;
/// Writer threads.
const WRITERS: usize = 2;
/// Kill/restart cycles per policy.
const CYCLES: usize = 3;

/// Sets `<prefix>:1` … `<prefix>:N` to the round number, then the round
/// marker; a torn script would leave keys with different rounds.
const SCRIPT: &str = "
for i = 1, tonumber(ARGV[2]) do
  redis.call('set', KEYS[1] .. ':' .. i, ARGV[1])
end
redis.call('set', KEYS[1] .. ':round', ARGV[1])
return tonumber(ARGV[1])
";

/// What one writer saw: the last round acknowledged, the last one sent.
struct Book {
    acked: u64,
    sent: u64,
}

fn writer(url: String, t: usize, first_round: u64, ready: Arc<Barrier>) -> Book {
    let mut con = connect(&url);
    ready.wait();
    let mut book = Book {
        acked: first_round - 1,
        sent: first_round - 1,
    };
    for round in first_round.. {
        book.sent = round;
        let result: redis::RedisResult<u64> = redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(1)
            .arg(format!("w{t}"))
            .arg(round)
            .arg(KEYS_PER_SCRIPT)
            .query(&mut con);
        match result {
            Ok(n) => {
                assert_eq!(n, round);
                book.acked = round;
            }
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("writer {t}: {e}"),
        }
    }
    book
}

fn check(server: &Server, books: &[Book]) -> Vec<u64> {
    let mut con = server.connect();
    let mut rounds = Vec::new();
    for (t, book) in books.iter().enumerate() {
        let names: Vec<String> = (1..=KEYS_PER_SCRIPT).map(|i| format!("w{t}:{i}")).collect();
        let values: Vec<Option<u64>> = redis::cmd("MGET").arg(&names).query(&mut con).unwrap();
        let marker: Option<u64> = redis::cmd("GET")
            .arg(format!("w{t}:round"))
            .query(&mut con)
            .unwrap();
        let first = values[0];
        assert!(
            values.iter().all(|v| *v == first),
            "writer {t}: a script's writes came back in part: {:?}",
            values.iter().collect::<std::collections::BTreeSet<_>>()
        );
        assert_eq!(marker, first, "writer {t}: marker and keys disagree");
        let round = first.unwrap_or(0);
        assert!(
            round >= book.acked && round <= book.sent,
            "writer {t}: recovered round {round}, acknowledged {}, sent {}",
            book.acked,
            book.sent
        );
        rounds.push(round);
    }
    rounds
}

fn script_kill(policy: &str) {
    let seed = seed();
    println!("CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--journal-segment-size", "1048576"];
    let mut next_round = [1u64; WRITERS];
    let mut acknowledged_any = false;
    for _ in 0..CYCLES {
        let server = Server::start(dir.path(), policy, &flags);
        let ready = Arc::new(Barrier::new(WRITERS + 1));
        let handles: Vec<_> = (0..WRITERS)
            .map(|t| {
                let (url, r, first) = (server.url(), ready.clone(), next_round[t]);
                std::thread::spawn(move || writer(url, t, first, r))
            })
            .collect();
        ready.wait();
        std::thread::sleep(Duration::from_millis(rng.random_range(200..900)));
        server.kill();
        let books: Vec<Book> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        acknowledged_any |= books.iter().any(|b| b.acked > 0);
        let server = Server::start(dir.path(), policy, &flags);
        let rounds = check(&server, &books);
        for (t, round) in rounds.into_iter().enumerate() {
            next_round[t] = books[t].sent.max(round) + 1;
        }
        server.shutdown();
    }
    assert!(acknowledged_any, "no script was acknowledged before a kill");
}

/// kill -9 during scripts under `always`.
#[test]
fn sigkill_during_scripts_appendfsync_always() {
    script_kill("always");
}

/// kill -9 during scripts under `everysec` (a process crash loses nothing
/// acknowledged).
#[test]
fn sigkill_during_scripts_appendfsync_everysec() {
    script_kill("everysec");
}
