//! Memory per element of one big list, hash and set: fill one key of each
//! type with N small elements on a fresh server, and divide the growth of
//! the server's resident set by N. The elements are the same on both
//! servers (`element:<i>`; hash fields `field:<i>` with values `v<i>`), sent
//! 1,000 per command.

use std::time::Duration;

use crate::report::{Cell, Row};
use crate::resp::{Conn, Reply};
use crate::server::{rss, Binaries, Kind, Server};
use crate::workloads::Round;

/// One of the measured types.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    List,
    Hash,
    Set,
}

impl Type {
    /// Every measured type, in report order.
    pub const ALL: [Type; 3] = [Type::List, Type::Hash, Type::Set];

    /// The name in row titles.
    pub fn name(self) -> &'static str {
        match self {
            Type::List => "list",
            Type::Hash => "hash",
            Type::Set => "set",
        }
    }

    /// The command that adds elements, and the one that counts them.
    fn commands(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Type::List => (b"RPUSH", b"LLEN"),
            Type::Hash => (b"HSET", b"HLEN"),
            Type::Set => (b"SADD", b"SCARD"),
        }
    }
}

const BATCH: u64 = 1000;
/// Commands in flight at once.
const PIPELINE: u64 = 16;

async fn fill(port: u16, t: Type, n: u64) -> Result<(), String> {
    let mut conn = Conn::connect(port).await.map_err(|e| e.to_string())?;
    let (add, count) = t.commands();
    let mut next = 0;
    while next < n {
        let mut sent = 0;
        while sent < PIPELINE && next < n {
            let end = (next + BATCH).min(n);
            let mut words: Vec<Vec<u8>> = vec![add.to_vec(), b"big".to_vec()];
            for i in next..end {
                match t {
                    Type::Hash => {
                        words.push(format!("field:{i}").into_bytes());
                        words.push(format!("v{i}").into_bytes());
                    }
                    _ => words.push(format!("element:{i}").into_bytes()),
                }
            }
            let args: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
            conn.push(&args);
            next = end;
            sent += 1;
        }
        conn.flush().await.map_err(|e| e.to_string())?;
        for _ in 0..sent {
            conn.read_ok().await.map_err(|e| format!("{e:?}"))?;
        }
    }
    match conn
        .call_within(Duration::from_secs(60), &[count, b"big"])
        .await
    {
        Ok(Reply::Int(got)) if got as u64 == n => Ok(()),
        other => Err(format!(
            "{} after adding {n}: {other:?}",
            String::from_utf8_lossy(count)
        )),
    }
}

async fn measure(kind: Kind, bins: &Binaries, t: Type, n: u64) -> Result<Round, String> {
    let mut server = Server::start(kind, "everysec", bins).await?;
    let pid = server.pid().expect("running");
    let empty = rss(pid)?;
    fill(server.port, t, n).await?;
    let full = rss(pid)?;
    server.shutdown().await?;
    let per = full.total.saturating_sub(empty.total) as f64 / n as f64;
    Ok(Round {
        value: per,
        notes: vec![format!(
            "VmRSS {:.0} MiB empty, {:.0} MiB after {n} elements (anon {:.0} MiB)",
            empty.total as f64 / 1048576.0,
            full.total as f64 / 1048576.0,
            full.anon as f64 / 1048576.0
        )],
        ..Round::default()
    })
}

/// Fills `rows` (one per type, in [`Type::ALL`] order) with bytes per
/// element at `n` elements.
pub async fn run(bins: &Binaries, n: u64, rows: &mut [Row]) {
    for (t, row) in Type::ALL.into_iter().zip(rows.iter_mut()) {
        for kind in Kind::BOTH {
            eprintln!(
                "[mem-types] {} with {n} elements on {}",
                t.name(),
                kind.name()
            );
            match measure(kind, bins, t, n).await {
                Ok(round) => {
                    eprintln!("[mem-types] {}: {:.1} B/element", kind.name(), round.value);
                    row.cell(kind).push(round);
                }
                Err(e) => {
                    eprintln!("[mem-types] {}: {e}", kind.name());
                    *row.cell(kind) = Cell::Failed(e);
                }
            }
        }
    }
}
