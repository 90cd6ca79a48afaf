//! Power cuts: `PowerCutDisk` keeps what each fsync made durable, and its
//! image is the data directory as a power failure at that moment would
//! leave it (files cut to their last fsynced length, unsynced creations
//! gone). Clients write while segments roll and BGREWRITEAOF runs; the image
//! is taken at a random moment and a new server starts on it.
//!
//! Under `always` every write acknowledged before the cut is in the image.
//! Under `everysec` recent writes may be lost, but what comes back is each
//! client's writes in order with no holes, and recovery starts cleanly.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{cmd, TestServer};
use redis::Value;
use sluice::clock::Clock;
use sluice::config::{Config, FsyncPolicy};
use sluice::storage::io::PowerCutDisk;

const CLIENTS: usize = 4;
/// Writes per client at most (the cut usually comes first).
const WRITES: u64 = 5000;
/// Power cuts per test.
const ROUNDS: usize = 4;

fn config(policy: FsyncPolicy) -> Config {
    Config {
        appendfsync: policy,
        journal_segment_size: 16 * 1024,
        auto_aof_rewrite_percentage: 0,
        ..common::test_config()
    }
}

/// A cut moment between 150 and 650 ms, varying from run to run.
fn cut_delay() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(150 + u64::from(nanos % 500))
}

/// Client `c` writes `SET c<c>:<i> <i>` then `XADD s<c> * n <i>` for
/// i = 0, 1, …, noting i once both are acknowledged.
async fn writer(
    srv: &TestServer,
    c: usize,
    acked: Arc<Mutex<Vec<Vec<u64>>>>,
    stop: Arc<AtomicBool>,
) {
    let mut con = srv.client().await;
    for i in 0..WRITES {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let key = format!("c{c}:{i}");
        let n = i.to_string();
        let _: () = cmd(&mut con, &["SET", &key, &n]).await.unwrap();
        let _: String = cmd(&mut con, &["XADD", &format!("s{c}"), "*", "n", &n])
            .await
            .unwrap();
        acked.lock().unwrap()[c].push(i);
    }
}

/// How many of client `c`'s SETs and XADDs came back, checking each is a
/// gap-free prefix of what it wrote.
async fn recovered(srv: &TestServer, c: usize, attempted: u64) -> (u64, u64) {
    let mut con = srv.client().await;
    let keys: Vec<String> = (0..attempted.max(1)).map(|i| format!("c{c}:{i}")).collect();
    let mut mget = redis::cmd("MGET");
    for k in &keys {
        mget.arg(k);
    }
    let values: Vec<Option<String>> = mget.query_async(&mut con).await.unwrap();
    let sets = values.iter().take_while(|v| v.is_some()).count() as u64;
    assert!(
        values[sets as usize..].iter().all(Option::is_none),
        "client {c}: SETs came back with a hole after {sets}"
    );
    for (i, v) in values[..sets as usize].iter().enumerate() {
        assert_eq!(v.as_deref(), Some(i.to_string().as_str()));
    }
    let range: Value = cmd(&mut con, &["XRANGE", &format!("s{c}"), "-", "+"])
        .await
        .unwrap();
    let Value::Array(entries) = range else {
        panic!("XRANGE gave {range:?}")
    };
    for (i, e) in entries.iter().enumerate() {
        let text = format!("{e:?}");
        assert!(
            text.contains(&format!("\"{i}\"")),
            "client {c}: entry {i} is {text}"
        );
    }
    let adds = entries.len() as u64;
    assert!(
        adds == sets || adds + 1 == sets,
        "client {c}: {sets} SETs but {adds} XADDs came back"
    );
    (sets, adds)
}

/// Runs the writers, cuts the power at a random moment, restarts on the
/// image. Returns per client (acknowledged before the cut, SETs back,
/// XADDs back).
async fn cut_and_recover(policy: FsyncPolicy) -> Vec<(u64, u64, u64)> {
    let disk = PowerCutDisk::default();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut cfg = config(policy);
    let srv = TestServer::try_start_in(
        dir.clone(),
        &mut cfg,
        Clock::system(),
        Arc::new(disk.clone()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let srv = Arc::new(srv);
    let acked = Arc::new(Mutex::new(vec![Vec::new(); CLIENTS]));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (srv, acked, stop) = (srv.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move { writer(&srv, c, acked, stop).await })
        })
        .collect();
    // Checkpoints run (and delete segments) while the clients write.
    let rewriter = {
        let (srv, stop) = (srv.clone(), stop.clone());
        tokio::spawn(async move {
            let mut con = srv.client().await;
            while !stop.load(Ordering::SeqCst) {
                if let Err(e) = cmd::<Value>(&mut con, &["BGREWRITEAOF"]).await {
                    assert!(e.to_string().contains("already in progress"), "{e}");
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        })
    };
    tokio::time::sleep(cut_delay()).await;
    // Everything acknowledged so far was acknowledged before the cut.
    let before: Vec<u64> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.last().map_or(0, |&i| i + 1))
        .collect();
    let image = Arc::new(tempfile::tempdir().unwrap());
    disk.image(dir.path(), image.path()).unwrap();
    let checkpoints = srv.shared.storage.checkpoints.count.load(Ordering::Relaxed);
    eprintln!("{policy:?}: cut after {before:?} acknowledged writes, {checkpoints} checkpoints");
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    rewriter.await.unwrap();
    let attempted: Vec<u64> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.len() as u64 + 1)
        .collect();
    Arc::try_unwrap(srv).ok().expect("sole owner").stop().await;
    assert!(
        before.iter().sum::<u64>() > 0,
        "nothing was written before the cut"
    );
    let srv = TestServer::start_in(image, config(policy), Clock::system()).await;
    let mut out = Vec::new();
    for c in 0..CLIENTS {
        let (sets, adds) = recovered(&srv, c, attempted[c]).await;
        out.push((before[c], sets, adds));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_keeps_every_acknowledged_write_through_a_power_cut() {
    // Each round cuts at another moment (see `cut_delay`).
    for _ in 0..ROUNDS {
        for (c, (acked, sets, adds)) in cut_and_recover(FsyncPolicy::Always)
            .await
            .into_iter()
            .enumerate()
        {
            assert!(
                sets >= acked && adds >= acked,
                "client {c}: {acked} acknowledged, {sets} SETs and {adds} XADDs came back"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everysec_comes_back_as_an_ordered_prefix_after_a_power_cut() {
    for _ in 0..ROUNDS {
        let out = cut_and_recover(FsyncPolicy::EverySec).await;
        // `recovered` checked each client's prefix (and that every stream
        // entry reads back); nothing comes back that was never written.
        for (c, (_, sets, _)) in out.iter().enumerate() {
            assert!(*sets <= WRITES, "client {c}");
        }
    }
}
