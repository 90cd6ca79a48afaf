//! Restart and memory: fill one stream with N entries on each server, read
//! its resident set, stop it with SHUTDOWN (both servers fsync their log on
//! the way out), then restart each in turn and time until it answers PING,
//! checking that every entry came back.

use std::sync::Arc;
use std::time::Duration;

use crate::report::Row;
use crate::resp::{Conn, Reply};
use crate::server::{rss, Binaries, Kind, Rss, Server};
use crate::workloads::{fill, Round};

/// What to do.
pub struct Plan {
    pub entries: u64,
    pub payload: Arc<crate::workloads::Payloads>,
    pub fsync: String,
    pub rounds: usize,
}

struct Filled {
    server: Server,
    empty: Rss,
    full: Rss,
    disk: u64,
    fill_secs: f64,
}

async fn xlen(port: u16) -> Result<u64, String> {
    let mut conn = Conn::connect(port)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    match conn
        .call_within(Duration::from_secs(60), &[b"XLEN", b"bench"])
        .await
    {
        Ok(Reply::Int(n)) => Ok(n as u64),
        Ok(other) => Err(format!("XLEN replied {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

async fn fill_one(kind: Kind, bins: &Binaries, plan: &Plan) -> Result<Filled, String> {
    let mut server = Server::start(kind, &plan.fsync, bins).await?;
    let pid = server.pid().expect("running");
    let empty = rss(pid)?;
    let took = fill(server.port, b"bench", plan.entries, plan.payload.clone())
        .await
        .map_err(|e| e.to_string())?;
    let n = xlen(server.port).await?;
    if n != plan.entries {
        return Err(format!("XLEN {n} after adding {}", plan.entries));
    }
    let full = rss(pid)?;
    server.shutdown().await?;
    Ok(Filled {
        disk: server.disk_bytes(),
        server,
        empty,
        full,
        fill_secs: took.as_secs_f64(),
    })
}

fn mib(b: u64) -> String {
    format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0))
}

/// The rows this part fills; `None` for a workload not asked for.
pub struct Rows {
    pub restart: Option<Row>,
    /// Memory (VmRSS growth per entry) and disk (data directory bytes per
    /// entry) come from the same fill.
    pub memory: Option<(Row, Row)>,
}

/// Runs the plan and fills `rows`.
pub async fn run(plan: &Plan, bins: &Binaries, rows: &mut Rows) {
    let mut filled: Vec<Option<Filled>> = Vec::new();
    for kind in Kind::BOTH {
        eprintln!(
            "[persist] filling {} with {} entries",
            kind.name(),
            plan.entries
        );
        match fill_one(kind, bins, plan).await {
            Ok(f) => {
                eprintln!(
                    "[persist] {}: {:.0} entries/s, RSS {} -> {}, {} on disk",
                    kind.name(),
                    plan.entries as f64 / f.fill_secs,
                    mib(f.empty.total),
                    mib(f.full.total),
                    mib(f.disk)
                );
                if let Some((row, disk)) = rows.memory.as_mut() {
                    let per_entry =
                        f.full.total.saturating_sub(f.empty.total) as f64 / plan.entries as f64;
                    disk.cell(kind).push(Round {
                        value: f.disk as f64 / plan.entries as f64,
                        ..Round::default()
                    });
                    row.cell(kind).push(Round {
                        value: per_entry,
                        notes: vec![
                            format!(
                                "VmRSS {} empty, {} after {} entries (anon {}, file-backed {}); \
                                 {} in the data directory",
                                mib(f.empty.total),
                                mib(f.full.total),
                                plan.entries,
                                mib(f.full.anon),
                                mib(f.full.file),
                                mib(f.disk)
                            ),
                            format!(
                                "fill: {:.0} entries/s (4 clients, pipeline 256)",
                                plan.entries as f64 / f.fill_secs
                            ),
                        ],
                        ..Round::default()
                    });
                }
                filled.push(Some(f));
            }
            Err(e) => {
                eprintln!("[persist] {}: {e}", kind.name());
                let mut failed: Vec<&mut Row> = rows.restart.iter_mut().collect();
                if let Some((memory, disk)) = rows.memory.as_mut() {
                    failed.extend([memory, disk]);
                }
                for row in failed {
                    *row.cell(kind) = crate::report::Cell::Failed(e.clone());
                }
                filled.push(None);
            }
        }
    }
    let Some(row) = rows.restart.as_mut() else {
        return;
    };
    for round in 1..=plan.rounds {
        for kind in Kind::BOTH {
            let Some(f) = filled[kind as usize].as_mut() else {
                continue;
            };
            if !row.cell(kind).is_live() {
                continue;
            }
            let outcome = async {
                let took = f.server.restart(Duration::from_secs(1800)).await?;
                let n = xlen(f.server.port).await?;
                let after = rss(f.server.pid().expect("running"))?;
                f.server.shutdown().await?;
                if n != plan.entries {
                    return Err(format!(
                        "{n} entries after restart, {} before",
                        plan.entries
                    ));
                }
                Ok((took, after))
            }
            .await;
            match outcome {
                Ok((took, after)) => {
                    eprintln!(
                        "[restart] round {round}/{} {}: {:.2} s to PONG, RSS {}",
                        plan.rounds,
                        kind.name(),
                        took.as_secs_f64(),
                        mib(after.total)
                    );
                    row.cell(kind).push(Round {
                        value: took.as_secs_f64(),
                        notes: vec![
                            format!(
                                "VmRSS after restart {} (anon {}, file-backed {})",
                                mib(after.total),
                                mib(after.anon),
                                mib(after.file)
                            ),
                            format!("data directory: {}", f.server.disk_files()),
                        ],
                        ..Round::default()
                    });
                }
                Err(e) => {
                    eprintln!("[restart] {}: {e}", kind.name());
                    *row.cell(kind) = crate::report::Cell::Failed(e);
                }
            }
        }
    }
}
