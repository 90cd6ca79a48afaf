//! Load generator: runs the same workloads against Sluice and Debian's
//! redis-server, one server at a time, alternating the two over several
//! rounds, and prints a Markdown table of throughput, latency percentiles
//! and the Sluice/Redis ratio (the median of the per-round ratios).
//!
//! Every measurement starts a fresh server in a temp directory on a free
//! port, with matching persistence: Sluice with `--appendfsync <policy>`,
//! Redis with `appendonly yes`, the same `appendfsync`, and `save ''`. A
//! workload that a server answers with an error reply is reported as
//! unsupported there and the run goes on; anything else that goes wrong
//! (a crash, a timeout, lost entries) is reported as FAILED and makes the
//! exit status 1 once the table is printed.
//!
//! Built as a cargo example (so `cargo bench` runs only the criterion
//! microbenches and the binary has a fixed path); `benches/run` builds and
//! runs it. `--help` lists the options.

mod memtypes;
mod persist;
mod report;
mod resp;
mod server;
mod stall;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use report::{Cell, Metric, Row};
use resp::ClientError;
use server::{Binaries, Kind, Server};
use workloads::{Round, Window};

const ALL: &str = "xadd,xadd-always,consume,e2e,delayq,restart,memory";

/// Workloads run only when asked for by name (not in the default run, so
/// not in the CI smoke run either): checkpoint stalls with one big value,
/// and memory per element of big lists, hashes and sets.
const EXTRA: &str = "ckpt-zset,ckpt-string,mem-types";

/// Sluice vs redis-server, side by side.
#[derive(Parser, Debug)]
#[command(name = "loadgen", version, about)]
struct Opts {
    /// Sluice server binary.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/sluice-server"))]
    sluice_bin: PathBuf,
    /// redis-server binary.
    #[arg(long, default_value = "redis-server")]
    redis_bin: PathBuf,
    /// Workloads, comma-separated, from: xadd, xadd-always, consume, e2e,
    /// delayq, restart, memory; and, only when named, ckpt-zset and
    /// ckpt-string (worst PING during BGREWRITEAOF of one big value) and
    /// mem-types (bytes per element of a big list, hash and set).
    #[arg(long, default_value = ALL, value_delimiter = ',')]
    workloads: Vec<String>,
    /// Clients of the many-client XADD workloads and the delay queue.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Pipeline depth of the pipelined XADD workload.
    #[arg(long, default_value_t = 16)]
    pipeline: usize,
    /// Bytes in each entry's field value.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// Measured seconds of each timed round.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured seconds before each timed round.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Rounds per workload (each round runs Sluice, then Redis).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// appendfsync of both servers (always, everysec, no), except in
    /// xadd-always, which always uses `always`.
    #[arg(long, default_value = "everysec")]
    fsync: String,
    /// Messages per second the end-to-end producer sends.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Entries pre-filled for the consume workload.
    #[arg(long, default_value_t = 500_000)]
    consume_entries: u64,
    /// Entries in the stream for restart and memory.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Restart and memory with 10 million entries.
    #[arg(long)]
    big: bool,
    /// Members of the sorted set in ckpt-zset.
    #[arg(long, default_value_t = 2_000_000)]
    ckpt_zset_members: u64,
    /// Megabytes (MiB) of the string in ckpt-string.
    #[arg(long, default_value_t = 500)]
    ckpt_string_mb: usize,
    /// Elements in each key of mem-types.
    #[arg(long, default_value_t = 1_000_000)]
    mem_types_elements: u64,
    /// Threads of the load generator's runtime. One leaves the other core
    /// of a two-core machine to the server.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Where the servers' temp data directories go.
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    tmp: PathBuf,
}

fn main() -> ExitCode {
    let mut opts = Opts::parse();
    if opts.big {
        opts.entries = 10_000_000;
    }
    for w in &opts.workloads {
        if !ALL.split(',').chain(EXTRA.split(',')).any(|a| a == w) {
            eprintln!("unknown workload {w:?}; known: {ALL},{EXTRA}");
            return ExitCode::from(2);
        }
    }
    if !["always", "everysec", "no"].contains(&opts.fsync.as_str()) {
        eprintln!("--fsync must be always, everysec or no");
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(opts))
}

fn version_of(bin: &std::path::Path, arg: &str) -> String {
    std::process::Command::new(bin)
        .arg(arg)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("can't run {}: {e}", bin.display()))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One timed workload: its row, fsync policy and how to run a round.
struct Timed {
    row: Row,
    fsync: String,
    job: Job,
}

#[derive(Clone, Copy)]
enum Job {
    Xadd { clients: usize, pipeline: usize },
    Consume,
    E2e,
    DelayQ,
    Stall(stall::Big),
}

async fn run(opts: Opts) -> ExitCode {
    let bins = Binaries {
        sluice: opts.sluice_bin.clone(),
        redis: opts.redis_bin.clone(),
        tmp: opts.tmp.clone(),
    };
    let wants = |w: &str| opts.workloads.iter().any(|x| x == w);
    let payload = Arc::new(workloads::Payloads::new(opts.payload));
    let win = Window {
        warmup: Duration::from_secs_f64(opts.warmup),
        measure: Duration::from_secs_f64(opts.duration),
    };
    println!("# loadgen: Sluice vs redis-server\n");
    println!("- sluice: {}", opts.sluice_bin.display());
    println!("- redis: {}", version_of(&opts.redis_bin, "--version"));
    println!(
        "- rounds {}, {} s measured after {} s warm-up, payload {} B, fsync {}, \
         generator threads {}",
        opts.rounds, opts.duration, opts.warmup, opts.payload, opts.fsync, opts.threads
    );
    println!("- load average at start: {}\n", load_average());

    let mut timed = Vec::new();
    let shapes = [(1, 1), (opts.clients, 1), (opts.clients, opts.pipeline)];
    for (group, fsync) in [("xadd", opts.fsync.as_str()), ("xadd-always", "always")] {
        if !wants(group) {
            continue;
        }
        for (clients, pipeline) in shapes {
            timed.push(Timed {
                row: Row::new(
                    format!("XADD {clients}c p{pipeline} ({fsync})"),
                    Metric::Throughput,
                    true,
                ),
                fsync: fsync.to_string(),
                job: Job::Xadd { clients, pipeline },
            });
        }
    }
    if wants("consume") {
        timed.push(Timed {
            row: Row::new(
                format!(
                    "consume {} entries: group of 4, COUNT 100 + XACK (latency per batch)",
                    opts.consume_entries
                ),
                Metric::Throughput,
                true,
            ),
            fsync: opts.fsync.clone(),
            job: Job::Consume,
        });
    }
    if wants("e2e") {
        timed.push(Timed {
            row: Row::new(
                format!(
                    "end-to-end at {} msg/s: XADD to delivery to a blocked XREADGROUP",
                    opts.rate
                ),
                Metric::P99,
                true,
            ),
            fsync: opts.fsync.clone(),
            job: Job::E2e,
        });
    }
    if wants("delayq") {
        timed.push(Timed {
            row: Row::new(
                format!(
                    "delay queue {}c: SET NX EX + ZADD, mover ZRANGEBYSCORE/ZREM",
                    opts.clients
                ),
                Metric::Throughput,
                true,
            ),
            fsync: opts.fsync.clone(),
            job: Job::DelayQ,
        });
    }
    if wants("ckpt-zset") {
        timed.push(Timed {
            row: Row::new(
                format!(
                    "PING during BGREWRITEAOF of a {}-member sorted set",
                    opts.ckpt_zset_members
                ),
                Metric::Worst,
                true,
            ),
            fsync: opts.fsync.clone(),
            job: Job::Stall(stall::Big::ZSet(opts.ckpt_zset_members)),
        });
    }
    if wants("ckpt-string") {
        timed.push(Timed {
            row: Row::new(
                format!(
                    "PING during BGREWRITEAOF of a {} MiB string",
                    opts.ckpt_string_mb
                ),
                Metric::Worst,
                true,
            ),
            fsync: opts.fsync.clone(),
            job: Job::Stall(stall::Big::Str(opts.ckpt_string_mb << 20)),
        });
    }

    for t in &mut timed {
        for round in 1..=opts.rounds {
            for kind in Kind::BOTH {
                if !t.row.cell(kind).is_live() {
                    continue;
                }
                let outcome = one_round(t.job, kind, &t.fsync, &bins, &opts, &payload, win).await;
                match outcome {
                    Ok(r) => {
                        eprintln!(
                            "[{}] round {round}/{} {}: {:.0} ops/s ({} ops)",
                            t.row.name,
                            opts.rounds,
                            kind.name(),
                            r.ops as f64 / r.secs.max(1e-9),
                            r.ops
                        );
                        t.row.cell(kind).push(r);
                    }
                    Err(ClientError::Server(e)) => {
                        eprintln!("[{}] {}: unsupported: {e}", t.row.name, kind.name());
                        *t.row.cell(kind) = Cell::Unsupported(e);
                    }
                    Err(ClientError::Other(e)) => {
                        eprintln!("[{}] {}: FAILED: {e}", t.row.name, kind.name());
                        *t.row.cell(kind) = Cell::Failed(e);
                    }
                }
            }
        }
    }

    let mut rows: Vec<Row> = timed.into_iter().map(|t| t.row).collect();
    let (want_restart, want_memory) = (wants("restart"), wants("memory"));
    if want_restart || want_memory {
        let plan = persist::Plan {
            entries: opts.entries,
            payload: payload.clone(),
            fsync: opts.fsync.clone(),
            rounds: opts.rounds,
        };
        let mut persist_rows = persist::Rows {
            restart: want_restart.then(|| {
                Row::new(
                    format!("restart with {} entries: spawn to first PONG", opts.entries),
                    Metric::Seconds,
                    false,
                )
            }),
            memory: want_memory.then(|| {
                (
                    Row::new(
                        format!("memory: VmRSS growth per entry, {} entries", opts.entries),
                        Metric::Bytes,
                        false,
                    ),
                    Row::new(
                        format!("disk: data directory per entry, {} entries", opts.entries),
                        Metric::Bytes,
                        false,
                    ),
                )
            }),
        };
        persist::run(&plan, &bins, &mut persist_rows).await;
        rows.extend(persist_rows.restart);
        if let Some((memory, disk)) = persist_rows.memory {
            rows.extend([memory, disk]);
        }
    }

    if wants("mem-types") {
        let n = opts.mem_types_elements;
        let mut type_rows: Vec<Row> = memtypes::Type::ALL
            .iter()
            .map(|t| {
                Row::new(
                    format!("memory: VmRSS growth per element, one {} of {n}", t.name()),
                    Metric::Bytes,
                    false,
                )
            })
            .collect();
        memtypes::run(&bins, n, &mut type_rows).await;
        rows.extend(type_rows);
    }

    println!("{}", report::render(&rows));
    println!("- load average at end: {}", load_average());
    if rows.iter().any(Row::failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Starts a fresh server, runs one round of `job` on it, stops it.
async fn one_round(
    job: Job,
    kind: Kind,
    fsync: &str,
    bins: &Binaries,
    opts: &Opts,
    payload: &Arc<workloads::Payloads>,
    win: Window,
) -> Result<Round, ClientError> {
    let mut server = Server::start(kind, fsync, bins)
        .await
        .map_err(ClientError::Other)?;
    let port = server.port;
    // Every round is bounded: a server that stops answering fails the
    // round instead of hanging the run.
    let limit = win.warmup + win.measure + Duration::from_secs(660);
    let work = async {
        match job {
            Job::Xadd { clients, pipeline } => {
                workloads::xadd(port, clients, pipeline, payload.clone(), win).await
            }
            Job::Consume => workloads::consume(port, opts.consume_entries, payload.clone()).await,
            Job::E2e => workloads::end_to_end(port, opts.rate, opts.payload, win).await,
            Job::DelayQ => workloads::delay_queue(port, opts.clients, win).await,
            Job::Stall(big) => stall::checkpoint_stall(port, big).await,
        }
    };
    let result = match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(ClientError::Other(format!(
            "round still running after {limit:?}"
        ))),
    };
    let stopped = server.shutdown().await;
    let round = result.map_err(|e| match e {
        ClientError::Other(msg) => {
            ClientError::Other(format!("{msg}; server log:\n{}", server.log_tail()))
        }
        e => e,
    })?;
    stopped.map_err(ClientError::Other)?;
    Ok(round)
}
