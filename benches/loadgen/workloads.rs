//! The timed workloads. Each runs against one server on `port` and returns
//! what one round measured; an error reply from the server comes back as
//! `ClientError::Server` (the workload is unsupported there).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::resp::{ClientError, Conn, Reply};

/// What one round of one workload measured on one server.
#[derive(Debug, Default)]
pub struct Round {
    /// Operations completed in the measured window.
    pub ops: u64,
    /// Length of the measured window.
    pub secs: f64,
    /// Latency of each measured operation, in nanoseconds.
    pub lat_ns: Vec<u64>,
    /// The figure the ratio compares (throughput, a latency, a time…).
    pub value: f64,
    /// Extra facts for the notes under the table.
    pub notes: Vec<String>,
}

/// Field values for XADD: a pool of pseudo-random printable strings (a
/// 64-character alphabet), so that neither server's compression (Redis
/// LZF-compresses stream nodes in its RDB and AOF-rewrite base) is
/// flattered by a repeated byte.
pub struct Payloads(Vec<Vec<u8>>);

impl Payloads {
    /// 1024 values of `len` bytes each, the same in every run.
    pub fn new(len: usize) -> Payloads {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: cheap, and good enough to defeat compression.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        Payloads(
            (0..1024)
                .map(|_| {
                    (0..len)
                        .map(|_| ALPHABET[(next() >> 58) as usize])
                        .collect()
                })
                .collect(),
        )
    }

    /// The `i`th value (cycling through the pool).
    pub fn get(&self, i: u64) -> &[u8] {
        &self.0[i as usize % self.0.len()]
    }
}

/// Warm-up then measured time, for the workloads that run for a while.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
}

impl Window {
    fn start(self) -> (Instant, Instant) {
        let start = Instant::now() + self.warmup;
        (start, start + self.measure)
    }
}

/// Nanoseconds since a process-wide origin (for timestamps in payloads).
fn now_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// A spawned task's result, a panic or abort turned into an error.
fn joined<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, ClientError> {
    r.map_err(|e| ClientError::Other(format!("task failed: {e}")))
}

/// Runs every task; the first error aborts the rest.
async fn join_all<T: Send + 'static>(
    mut set: JoinSet<Result<T, ClientError>>,
) -> Result<Vec<T>, ClientError> {
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(ClientError::Other(format!("task failed: {e}"))),
        }
    }
    Ok(out)
}

async fn connect(port: u16) -> Result<Conn, ClientError> {
    Ok(Conn::connect(port).await?)
}

/// XADD with one field, from `clients` connections each keeping
/// `pipeline` commands in flight per batch. Value: ops/s.
pub async fn xadd(
    port: u16,
    clients: usize,
    pipeline: usize,
    payload: Arc<Payloads>,
    win: Window,
) -> Result<Round, ClientError> {
    let (start, end) = win.start();
    let mut set = JoinSet::new();
    for c in 0..clients {
        let payload = payload.clone();
        set.spawn(async move {
            let mut conn = connect(port).await?;
            let mut ops = 0u64;
            let mut lat = Vec::new();
            let mut i = c as u64 * 7;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                for _ in 0..pipeline {
                    i += 1;
                    conn.push(&[b"XADD", b"bench", b"*", b"f", payload.get(i)]);
                }
                conn.flush().await?;
                for _ in 0..pipeline {
                    conn.read_ok().await?;
                    let t1 = Instant::now();
                    if t0 >= start && t1 <= end {
                        ops += 1;
                        lat.push(ns(t1 - t0));
                    }
                }
            }
            Ok((ops, lat))
        });
    }
    let parts = join_all(set).await?;
    let mut round = Round {
        secs: win.measure.as_secs_f64(),
        ..Round::default()
    };
    for (ops, lat) in parts {
        round.ops += ops;
        round.lat_ns.extend(lat);
    }
    round.value = round.ops as f64 / round.secs;
    Ok(round)
}

/// Appends `n` entries of one field to `key` as fast as the server takes
/// them (4 connections, 256 commands per batch). Returns the time taken.
pub async fn fill(
    port: u16,
    key: &'static [u8],
    n: u64,
    payload: Arc<Payloads>,
) -> Result<Duration, ClientError> {
    const BATCH: u64 = 256;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..4 {
        let (next, payload) = (next.clone(), payload.clone());
        set.spawn(async move {
            let mut conn = connect(port).await?;
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= n {
                    return Ok(());
                }
                let count = BATCH.min(n - first);
                for i in first..first + count {
                    conn.push(&[b"XADD", key, b"*", b"f", payload.get(i)]);
                }
                conn.flush().await?;
                for _ in 0..count {
                    conn.read_ok().await?;
                }
            }
        });
    }
    join_all(set).await?;
    Ok(started.elapsed())
}

/// The entry IDs in an XREADGROUP reply (one stream), and the field value
/// of each entry's first field.
fn entries(reply: &Reply) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    for stream in reply.items() {
        let Some(list) = stream.items().get(1) else {
            continue;
        };
        for entry in list.items() {
            let items = entry.items();
            let id = items.first().and_then(Reply::bytes).unwrap_or_default();
            let value = items
                .get(1)
                .and_then(|f| f.items().get(1))
                .and_then(Reply::bytes)
                .unwrap_or_default();
            out.push((id.to_vec(), value.to_vec()));
        }
    }
    out
}

/// Drains a stream pre-filled with `n` entries through a consumer group of
/// 4 consumers, each reading COUNT 100 and acknowledging what it read.
/// Value: entries/s. Latency: one XREADGROUP + XACK cycle.
pub async fn consume(port: u16, n: u64, payload: Arc<Payloads>) -> Result<Round, ClientError> {
    let fill_time = fill(port, b"bench", n, payload).await?;
    let mut conn = connect(port).await?;
    conn.call(&[b"XGROUP", b"CREATE", b"bench", b"g", b"0"])
        .await?;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for c in 0..4 {
        set.spawn(async move {
            let mut conn = connect(port).await?;
            let name = format!("c{c}");
            let mut got = 0u64;
            let mut lat = Vec::new();
            loop {
                let t0 = Instant::now();
                let reply = conn
                    .call(&[
                        b"XREADGROUP",
                        b"GROUP",
                        b"g",
                        name.as_bytes(),
                        b"COUNT",
                        b"100",
                        b"STREAMS",
                        b"bench",
                        b">",
                    ])
                    .await?;
                let batch = entries(&reply);
                if batch.is_empty() {
                    return Ok((got, lat));
                }
                let mut ack: Vec<&[u8]> = vec![b"XACK", b"bench", b"g"];
                ack.extend(batch.iter().map(|(id, _)| id.as_slice()));
                conn.call(&ack).await?;
                lat.push(ns(t0.elapsed()));
                got += batch.len() as u64;
            }
        });
    }
    let parts = tokio::time::timeout(Duration::from_secs(600), join_all(set))
        .await
        .map_err(|_| ClientError::Other("consumers still reading after 600 s".into()))??;
    let secs = started.elapsed().as_secs_f64();
    let mut round = Round {
        secs,
        ..Round::default()
    };
    for (got, lat) in parts {
        round.ops += got;
        round.lat_ns.extend(lat);
    }
    if round.ops != n {
        return Err(ClientError::Other(format!(
            "consumers got {} entries of {n}",
            round.ops
        )));
    }
    round.value = round.ops as f64 / secs;
    round.notes.push(format!(
        "pre-fill {n} entries: {:.0} entries/s",
        n as f64 / fill_time.as_secs_f64()
    ));
    Ok(round)
}

/// A producer at a fixed `rate` (msg/s) and a consumer blocked in
/// XREADGROUP; each payload starts with the time the message was due to be
/// sent, so the latency includes any lag of the producer behind schedule.
/// Value: p99 XADD-to-delivery latency in ns.
pub async fn end_to_end(
    port: u16,
    rate: u64,
    payload_len: usize,
    win: Window,
) -> Result<Round, ClientError> {
    let mut setup = connect(port).await?;
    setup
        .call(&[b"XGROUP", b"CREATE", b"e2e", b"g", b"$", b"MKSTREAM"])
        .await?;
    let (start, end) = win.start();
    let t_first = now_ns();
    let (start_ns, end_ns) = (
        t_first + ns(start.saturating_duration_since(Instant::now())),
        t_first + ns(end.saturating_duration_since(Instant::now())),
    );
    let sent = Arc::new(AtomicU64::new(0));
    let producer_done = Arc::new(AtomicBool::new(false));

    let consumer = {
        let (sent, producer_done) = (sent.clone(), producer_done.clone());
        tokio::spawn(async move {
            let mut conn = connect(port).await?;
            let mut seen = 0u64;
            let mut lat = Vec::new();
            let read: [&[u8]; 11] = [
                b"XREADGROUP",
                b"GROUP",
                b"g",
                b"c",
                b"COUNT",
                b"1000",
                b"BLOCK",
                b"100",
                b"STREAMS",
                b"e2e",
                b">",
            ];
            conn.push(&read);
            conn.flush().await?;
            let mut pending_ack = false;
            loop {
                if pending_ack {
                    conn.read_ok().await?;
                }
                let reply = conn.read_ok().await?;
                let now = now_ns();
                let batch = entries(&reply);
                for (_, value) in &batch {
                    let digits: &[u8] = &value[..value.len().min(20)];
                    let due: u64 = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| ClientError::Other("payload without a timestamp".into()))?;
                    if due >= start_ns && due <= end_ns {
                        lat.push(now.saturating_sub(due));
                    }
                }
                seen += batch.len() as u64;
                if producer_done.load(Ordering::Acquire) && seen >= sent.load(Ordering::Acquire) {
                    return Ok::<_, ClientError>((seen, lat));
                }
                pending_ack = !batch.is_empty();
                if pending_ack {
                    let mut ack: Vec<&[u8]> = vec![b"XACK", b"e2e", b"g"];
                    ack.extend(batch.iter().map(|(id, _)| id.as_slice()));
                    conn.push(&ack);
                }
                conn.push(&read);
                conn.flush().await?;
            }
        })
    };

    let producer = tokio::spawn(async move {
        let mut conn = connect(port).await?;
        let interval_ns = 1_000_000_000 / rate.max(1);
        let mut i = 0u64;
        let mut value = Vec::with_capacity(payload_len.max(20));
        loop {
            let now = now_ns();
            if now >= end_ns {
                break;
            }
            let due_count = (now - t_first) / interval_ns + 1;
            if due_count <= i {
                let next_due = t_first + i * interval_ns;
                tokio::time::sleep(Duration::from_nanos(next_due.saturating_sub(now))).await;
                continue;
            }
            let batch = (due_count - i).min(1000);
            for j in i..i + batch {
                value.clear();
                value.extend_from_slice(format!("{:020}", t_first + j * interval_ns).as_bytes());
                value.resize(payload_len.max(20), b'x');
                conn.push(&[b"XADD", b"e2e", b"*", b"t", &value]);
            }
            conn.flush().await?;
            for _ in 0..batch {
                conn.read_ok().await?;
            }
            i += batch;
            sent.store(i, Ordering::Release);
        }
        producer_done.store(true, Ordering::Release);
        Ok::<u64, ClientError>(i)
    });

    let produced = match joined(producer.await) {
        Ok(Ok(n)) => n,
        Ok(Err(e)) | Err(e) => {
            consumer.abort();
            return Err(e);
        }
    };
    let limit = Duration::from_secs(30);
    let (seen, mut lat) = match tokio::time::timeout(limit, consumer).await {
        Ok(r) => joined(r)??,
        Err(_) => {
            return Err(ClientError::Other(format!(
                "consumer still waiting {limit:?} after the producer stopped"
            )))
        }
    };
    if seen != produced {
        return Err(ClientError::Other(format!(
            "consumer got {seen} of {produced} messages"
        )));
    }
    lat.sort_unstable();
    let secs = win.measure.as_secs_f64();
    let mut round = Round {
        ops: lat.len() as u64,
        secs,
        value: crate::report::percentile(&lat, 99.0) as f64,
        ..Round::default()
    };
    round.lat_ns = lat;
    Ok(round)
}

/// A delay queue with deduplication: `clients` producers each check
/// `SET dedup:<id> 1 NX EX 3600` and, if the id is new, `ZADD delayq
/// <due ms> <id>` with a due time up to a second ahead (every tenth id
/// repeats an earlier one, so the dedup check says no). One mover takes
/// due ids with ZRANGEBYSCORE … LIMIT 0 100 and removes them with ZREM.
/// Value: messages/s (a message = the dedup check plus its ZADD).
pub async fn delay_queue(port: u16, clients: usize, win: Window) -> Result<Round, ClientError> {
    let (start, end) = win.start();
    let epoch_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    };
    let mover = tokio::spawn(async move {
        let mut conn = connect(port).await?;
        let mut moved = 0u64;
        while Instant::now() < end {
            let now = epoch_ms().to_string();
            let reply = conn
                .call(&[
                    b"ZRANGEBYSCORE",
                    b"delayq",
                    b"-inf",
                    now.as_bytes(),
                    b"LIMIT",
                    b"0",
                    b"100",
                ])
                .await?;
            let ids: Vec<&[u8]> = reply.items().iter().filter_map(Reply::bytes).collect();
            if ids.is_empty() {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let mut zrem: Vec<&[u8]> = vec![b"ZREM", b"delayq"];
            zrem.extend(ids.iter().copied());
            conn.call(&zrem).await?;
            if Instant::now() >= start {
                moved += ids.len() as u64;
            }
        }
        Ok::<u64, ClientError>(moved)
    });
    let mut set = JoinSet::new();
    for c in 0..clients as u64 {
        set.spawn(async move {
            let mut conn = connect(port).await?;
            let mut ops = 0u64;
            let mut lat = Vec::new();
            let mut seq = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                seq += 1;
                let id = if seq.is_multiple_of(10) { seq - 5 } else { seq };
                let id = format!("{c}:{id}");
                let key = format!("dedup:{id}");
                let fresh = conn
                    .call(&[b"SET", key.as_bytes(), b"1", b"NX", b"EX", b"3600"])
                    .await?;
                if matches!(fresh, Reply::Status(_)) {
                    let due = (epoch_ms() + seq * 7919 % 1000).to_string();
                    conn.call(&[b"ZADD", b"delayq", due.as_bytes(), id.as_bytes()])
                        .await?;
                }
                let t1 = Instant::now();
                if t0 >= start && t1 <= end {
                    ops += 1;
                    lat.push(ns(t1 - t0));
                }
            }
            Ok((ops, lat))
        });
    }
    let parts = match join_all(set).await {
        Ok(parts) => parts,
        Err(e) => {
            mover.abort();
            return Err(e);
        }
    };
    let moved = mover
        .await
        .map_err(|e| ClientError::Other(format!("mover failed: {e}")))??;
    let mut round = Round {
        secs: win.measure.as_secs_f64(),
        ..Round::default()
    };
    for (ops, lat) in parts {
        round.ops += ops;
        round.lat_ns.extend(lat);
    }
    round.value = round.ops as f64 / round.secs;
    round.notes.push(format!(
        "mover: {:.0} due ids/s moved",
        moved as f64 / round.secs
    ));
    Ok(round)
}
