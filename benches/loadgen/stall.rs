//! Checkpoint stalls: one big value on the server (a sorted set of many
//! members, or one huge string), then BGREWRITEAOF while one client sends
//! PING after PING. The figure is the worst PING round trip while the
//! rewrite runs: how long the checkpoint (Sluice) or the fork (Redis) kept
//! every other client waiting. Not part of the default run or the CI smoke
//! run (`--workloads ckpt-zset,ckpt-string` asks for it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::resp::{ClientError, Conn, Reply};
use crate::workloads::Round;

/// The big value the checkpoint has to copy.
#[derive(Debug, Clone, Copy)]
pub enum Big {
    /// A sorted set of this many members.
    ZSet(u64),
    /// A string of this many bytes.
    Str(usize),
}

const KEY: &[u8] = b"big";

async fn connect(port: u16) -> Result<Conn, ClientError> {
    Ok(Conn::connect(port).await?)
}

/// Stores the big value: ZADD 1,000 pairs a command, 16 commands a batch;
/// or one SET.
async fn fill(conn: &mut Conn, big: Big) -> Result<(), ClientError> {
    match big {
        Big::ZSet(n) => {
            let mut i = 0u64;
            while i < n {
                let mut sent = 0;
                for _ in 0..16 {
                    if i >= n {
                        break;
                    }
                    let end = (i + 1000).min(n);
                    let pairs: Vec<(String, String)> = (i..end)
                        .map(|j| {
                            // Scores out of member order, so the index
                            // is not built by appends only.
                            let score = (j.wrapping_mul(7919)) % n;
                            (score.to_string(), format!("member:{j:09}"))
                        })
                        .collect();
                    let mut args: Vec<&[u8]> = vec![b"ZADD", KEY];
                    for (s, m) in &pairs {
                        args.push(s.as_bytes());
                        args.push(m.as_bytes());
                    }
                    conn.push(&args);
                    sent += 1;
                    i = end;
                }
                conn.flush().await?;
                for _ in 0..sent {
                    conn.read_ok().await?;
                }
            }
            match conn.call(&[b"ZCARD", KEY]).await? {
                Reply::Int(c) if c as u64 == n => Ok(()),
                other => Err(ClientError::Other(format!(
                    "ZCARD replied {other:?} after {n} members"
                ))),
            }
        }
        Big::Str(len) => {
            let value: Vec<u8> = (0..len).map(|i| b'a' + (i % 23) as u8).collect();
            conn.call(&[b"SET", KEY, &value]).await?;
            Ok(())
        }
    }
}

/// Whether INFO persistence says a rewrite is running or scheduled.
async fn rewriting(conn: &mut Conn) -> Result<bool, ClientError> {
    let reply = conn.call(&[b"INFO", b"persistence"]).await?;
    let text = String::from_utf8_lossy(reply.bytes().unwrap_or_default()).into_owned();
    Ok(text.lines().any(|l| {
        let l = l.trim();
        l == "aof_rewrite_in_progress:1" || l == "aof_rewrite_scheduled:1"
    }))
}

/// Waits (up to 10 minutes) until no rewrite runs or is scheduled.
async fn settle(conn: &mut Conn) -> Result<(), ClientError> {
    let give_up = Instant::now() + Duration::from_secs(600);
    while rewriting(conn).await? {
        if Instant::now() > give_up {
            return Err(ClientError::Other("a rewrite never ended".into()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// One round: fill, let any automatic rewrite finish, then ping through a
/// BGREWRITEAOF (from 200 ms before it to 200 ms after it ends). Value: the
/// worst PING round trip, in ns.
pub async fn checkpoint_stall(port: u16, big: Big) -> Result<Round, ClientError> {
    let mut control = connect(port).await?;
    let filled = Instant::now();
    fill(&mut control, big).await?;
    let fill_secs = filled.elapsed().as_secs_f64();
    // Redis starts its automatic rewrite from a timer, a little after the
    // write that crossed the threshold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    settle(&mut control).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let stop = stop.clone();
        let mut conn = connect(port).await?;
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                match conn.call(&[b"PING"]).await? {
                    Reply::Status(_) => {}
                    other => {
                        return Err(ClientError::Other(format!("PING replied {other:?}")));
                    }
                }
                lat.push(t0.elapsed().as_nanos() as u64);
            }
            Ok::<_, ClientError>(lat)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut started = Instant::now();
    let mut tries = 0;
    loop {
        match control.call(&[b"BGREWRITEAOF"]).await {
            Ok(_) => break,
            // An automatic rewrite began after all: wait for it, try again.
            Err(ClientError::Server(e)) if e.contains("in progress") && tries < 3 => {
                tries += 1;
                settle(&mut control).await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
                started = Instant::now();
            }
            Err(e) => return Err(e),
        }
    }
    let give_up = started + Duration::from_secs(600);
    while rewriting(&mut control).await? {
        if Instant::now() > give_up {
            return Err(ClientError::Other("BGREWRITEAOF never ended".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rewrite_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let lat = pinger
        .await
        .map_err(|e| ClientError::Other(format!("pinger failed: {e}")))??;
    let worst = lat.iter().copied().max().unwrap_or(0);
    Ok(Round {
        ops: lat.len() as u64,
        secs: rewrite_secs,
        value: worst as f64,
        notes: vec![format!(
            "fill {fill_secs:.1} s; BGREWRITEAOF done after {rewrite_secs:.2} s \
             (as INFO shows it, polled every 20 ms); {} PINGs",
            lat.len()
        )],
        lat_ns: lat,
    })
}
