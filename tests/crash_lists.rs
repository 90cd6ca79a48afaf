//! Crash tests for lists against the real `sluice-server` binary: each
//! writer runs a queue (RPUSH of sequence numbers at the back, LPOP and
//! LMOVE to a done list at the front) while the server is killed with
//! SIGKILL, under `always` and `everysec`, with small segments and
//! automatic checkpoints (so kills land while checkpoints copy lists that
//! are being written, and the log's positional ops must replay exactly
//! once over the copies). After each restart, every acknowledged push,
//! pop and move is there, nothing is doubled, and the queue is whole.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::process::{connect, is_connection_loss, Server};

const WRITERS: usize = 3;
const MAX_ROUNDS: u64 = 20_000;
const CYCLES: usize = 3;

/// One writer's queue, as the client knows it. Sent counts are upper
/// bounds (a request may have reached the server unanswered), acked counts
/// lower bounds.
#[derive(Debug, Default, Clone)]
struct Book {
    /// Values 0..pushed_acked were pushed, and 0..pushed_sent may be.
    pushed_acked: u64,
    pushed_sent: u64,
    /// Values 0..removed_acked were taken from the front, 0..removed_sent
    /// may have been.
    removed_acked: u64,
    removed_sent: u64,
    /// Values an acknowledged LMOVE moved to the done list.
    moved: Vec<u64>,
    /// A move sent without an answer (it may or may not have run).
    moved_maybe: Option<u64>,
}

fn num(v: &str) -> u64 {
    v.parse().expect("a sequence number")
}

fn writer(t: usize, url: String, mut book: Book, ready: Arc<Barrier>) -> Book {
    let mut con = connect(&url);
    let q = format!("q:{t}");
    let done = format!("done:{t}");
    ready.wait();
    for round in 0..MAX_ROUNDS {
        let r: redis::RedisResult<()> = if round % 3 != 2 || book.removed_sent >= book.pushed_acked
        {
            let v = book.pushed_sent;
            book.pushed_sent += 1;
            redis::cmd("RPUSH")
                .arg(&q)
                .arg(v.to_string())
                .query::<i64>(&mut con)
                .map(|_| book.pushed_acked = v + 1)
        } else if round % 2 == 0 {
            let want = book.removed_sent;
            book.removed_sent += 1;
            redis::cmd("LPOP")
                .arg(&q)
                .query::<String>(&mut con)
                .map(|got| {
                    assert_eq!(num(&got), want, "LPOP of {q}");
                    book.removed_acked = want + 1;
                })
        } else {
            let want = book.removed_sent;
            book.removed_sent += 1;
            book.moved_maybe = Some(want);
            redis::cmd("LMOVE")
                .arg(&q)
                .arg(&done)
                .arg("LEFT")
                .arg("RIGHT")
                .query::<String>(&mut con)
                .map(|got| {
                    assert_eq!(num(&got), want, "LMOVE from {q}");
                    book.removed_acked = want + 1;
                    book.moved.push(want);
                    book.moved_maybe = None;
                })
        };
        match r {
            Ok(()) => {}
            Err(e) if is_connection_loss(&e) => break,
            Err(e) => panic!("writer {t}: {e}"),
        }
    }
    book
}

/// Checks the recovered queue against the book and returns the book as
/// the server now has it (for the next cycle).
fn check(con: &mut redis::Connection, t: usize, book: &Book, log: &str) -> Book {
    let q: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("q:{t}"))
        .arg(0)
        .arg(-1)
        .query(con)
        .unwrap();
    let q: Vec<u64> = q.iter().map(|v| num(v)).collect();
    let done: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("done:{t}"))
        .arg(0)
        .arg(-1)
        .query(con)
        .unwrap();
    let done: Vec<u64> = done.iter().map(|v| num(v)).collect();
    // The queue is a contiguous run [front, end).
    let front = q.first().copied().unwrap_or(book.removed_acked.max(
        // An empty queue: everything pushed was removed.
        book.pushed_acked.min(book.removed_sent),
    ));
    if let Some(i) = (0..q.len()).find(|&i| q[i] != front + i as u64) {
        let near = &q[i.saturating_sub(3)..(i + 3).min(q.len())];
        panic!("writer {t}: queue not contiguous at {i} (front {front}): {near:?}; log:\n{log}");
    }
    let end = front + q.len() as u64;
    assert!(
        (book.removed_acked..=book.removed_sent).contains(&front),
        "writer {t}: front {front} outside {}..={}; log:\n{log}",
        book.removed_acked,
        book.removed_sent
    );
    if !q.is_empty() {
        assert!(
            (book.pushed_acked..=book.pushed_sent).contains(&end),
            "writer {t}: end {end} outside {}..={}; log:\n{log}",
            book.pushed_acked,
            book.pushed_sent
        );
    }
    // The done list holds exactly the acknowledged moves, plus maybe the
    // unanswered one, in order.
    let mut want = book.moved.clone();
    if done.len() == want.len() + 1 {
        let maybe = book
            .moved_maybe
            .expect("an extra moved value with no move in doubt");
        assert!(maybe < front, "writer {t}: moved {maybe} is still queued");
        want.push(maybe);
    }
    assert_eq!(done, want, "writer {t}: done list; log:\n{log}");
    Book {
        pushed_acked: end.max(front),
        pushed_sent: end.max(front),
        removed_acked: front,
        removed_sent: front,
        moved: done,
        moved_maybe: None,
    }
}

fn run(policy: &str) {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--journal-segment-size",
        "65536",
        "--auto-aof-rewrite-percentage",
        "20",
        "--auto-aof-rewrite-min-size",
        "65536",
    ];
    let mut books = vec![Book::default(); WRITERS];
    let mut total = 0;
    for cycle in 0..CYCLES {
        let server = Server::start(dir.path(), policy, &flags);
        if cycle == 0 {
            // A long backlog, so checkpoints copy a list of many chunks.
            let mut con = server.connect();
            for (t, book) in books.iter_mut().enumerate() {
                let mut pipe = redis::pipe();
                for v in 0..20_000u64 {
                    pipe.cmd("RPUSH")
                        .arg(format!("q:{t}"))
                        .arg(v.to_string())
                        .ignore();
                }
                let _: () = pipe.query(&mut con).unwrap();
                book.pushed_acked = 20_000;
                book.pushed_sent = 20_000;
            }
        }
        let ready = Arc::new(Barrier::new(WRITERS + 1));
        let handles: Vec<_> = (0..WRITERS)
            .map(|t| {
                let (url, book, r) = (server.url(), books[t].clone(), ready.clone());
                std::thread::spawn(move || writer(t, url, book, r))
            })
            .collect();
        ready.wait();
        std::thread::sleep(Duration::from_millis(400 + 300 * cycle as u64));
        server.kill();
        let ended: Vec<Book> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let server = Server::start(dir.path(), policy, &flags);
        let mut con = server.connect();
        let log = server.log();
        for (t, book) in ended.iter().enumerate() {
            total += book.pushed_acked - books[t].pushed_acked;
            books[t] = check(&mut con, t, book, &log);
        }
        server.shutdown();
    }
    assert!(total > 0, "no push was acknowledged before the kills");
}

/// kill -9 under `appendfsync always`: nothing acknowledged is lost.
#[test]
fn sigkill_during_queue_traffic_always() {
    run("always");
}

/// kill -9 under `appendfsync everysec`: a process crash loses nothing
/// either (the page cache has every write).
#[test]
fn sigkill_during_queue_traffic_everysec() {
    run("everysec");
}
