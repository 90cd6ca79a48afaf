//! Server management: INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! SHUTDOWN, FUNCTION (an empty function library) and DEBUG.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tracing::{info, warn};

use super::args::{is, parse_i64_opt};
use super::{boxed, Args, CommandSpec, CommandTable, Ctx, Execute, Kind, Simple};
use crate::config::{self, ConfigError, DebugCommand};
use crate::error::{self, CommandError};
use crate::keyspace::{glob, KeyspaceStats};
use crate::protocol::{Reply, OK};
use crate::server::{REDIS_VERSION, SLUICE_VERSION};

/// CONFIG's subcommands.
static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: -3,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Returns the values of the parameters matching glob patterns.",
        kind: Kind::Parse(ConfigGet::parse),
    },
    CommandSpec {
        name: "set",
        arity: -4,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Changes parameters at run time, all of them or none.",
        kind: Kind::Parse(ConfigSet::parse),
    },
    CommandSpec {
        name: "resetstat",
        arity: 2,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Zeroes the counters INFO reports.",
        kind: Kind::Parse(parse_config_resetstat),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "5.0.0",
        summary: "Lists the CONFIG subcommands.",
        kind: Kind::Parse(parse_config_help),
    },
];

/// FUNCTION's subcommands (Sluice has no function engine: the library is
/// always empty).
static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "flush",
        arity: -2,
        flags: &["write", "noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Deletes every function library.",
        kind: Kind::Parse(FunctionFlush::parse),
    },
    CommandSpec {
        name: "list",
        arity: -2,
        flags: &["noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Lists the function libraries.",
        kind: Kind::Parse(FunctionList::parse),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Lists the FUNCTION subcommands.",
        kind: Kind::Parse(parse_function_help),
    },
];

/// The server family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Reports the server's state and counters, by section.",
        kind: Kind::Parse(Info::parse),
    },
    CommandSpec {
        name: "config",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Reads and changes the configuration at run time.",
        kind: Kind::Container(CONFIG_SUBCOMMANDS),
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: &["readonly", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Counts the keys of the selected database.",
        kind: Kind::Parse(parse_dbsize),
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: &["write"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of the selected database.",
        kind: Kind::Parse(Flush::parse_db),
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: &["write"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of every database.",
        kind: Kind::Parse(Flush::parse_all),
    },
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: &["write", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Exchanges the contents of two databases.",
        kind: Kind::Parse(SwapDb::parse),
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.6.0",
        summary: "Returns the server's clock as seconds and microseconds.",
        kind: Kind::Parse(parse_time),
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Stops the server.",
        kind: Kind::Parse(Shutdown::parse),
    },
    CommandSpec {
        name: "function",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Manages server-side function libraries (none in Sluice).",
        kind: Kind::Container(FUNCTION_SUBCOMMANDS),
    },
    CommandSpec {
        name: "debug",
        arity: -2,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Testing and troubleshooting helpers (needs enable-debug-command).",
        kind: Kind::Parse(DebugCmd::parse),
    },
];

/// A help reply: one status line per entry, as the HELP subcommands send.
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().copied().map(Reply::Simple).collect())
}

// ---------------------------------------------------------------- INFO

/// The sections INFO knows, in the order it prints them, and whether each
/// is part of the default set.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("cluster", true),
    ("keyspace", true),
];

/// INFO [section ...]
struct Info {
    /// Which of [`SECTIONS`] to print.
    wanted: [bool; SECTIONS.len()],
}

impl Info {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let mut wanted = [false; SECTIONS.len()];
        let args = args.rest();
        if args.is_empty() {
            for (i, (_, default)) in SECTIONS.iter().enumerate() {
                wanted[i] = *default;
            }
        }
        for arg in &args {
            if is(arg, "default") {
                for (i, (_, default)) in SECTIONS.iter().enumerate() {
                    wanted[i] |= *default;
                }
            } else if is(arg, "all") || is(arg, "everything") {
                wanted = [true; SECTIONS.len()];
            } else if let Some(i) = SECTIONS.iter().position(|(name, _)| is(arg, name)) {
                wanted[i] = true;
            }
            // Unknown section names are ignored, as in Redis.
        }
        boxed(Info { wanted })
    }
}

impl Execute for Info {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let mut text = String::new();
        for (i, (name, _)) in SECTIONS.iter().enumerate() {
            if !self.wanted[i] {
                continue;
            }
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            info_section(ctx, name, &mut text);
        }
        Reply::Verbatim(Bytes::from(text))
    }
}

/// Appends one `key:value\r\n` line.
fn field(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

/// Appends one INFO section, header included.
fn info_section(ctx: &mut Ctx<'_>, name: &str, out: &mut String) {
    let shared = ctx.shared;
    let stats = &shared.stats;
    let header = match name {
        "cpu" => "CPU".to_string(),
        _ => {
            let mut h = name.to_string();
            h[..1].make_ascii_uppercase();
            h
        }
    };
    let _ = write!(out, "# {header}\r\n");
    match name {
        "server" => {
            let uptime = shared.started.elapsed().as_secs();
            let config = shared.config.read().expect("config lock");
            field(out, "redis_version", REDIS_VERSION);
            field(out, "sluice_version", SLUICE_VERSION);
            field(out, "redis_mode", "standalone");
            field(out, "os", os_name());
            field(out, "arch_bits", usize::BITS);
            field(out, "multiplexing_api", "epoll");
            field(out, "process_id", std::process::id());
            field(out, "process_supervised", "no");
            field(out, "run_id", &shared.run_id);
            field(out, "tcp_port", shared.port());
            field(out, "server_time_usec", shared.clock.now_us());
            field(out, "uptime_in_seconds", uptime);
            field(out, "uptime_in_days", uptime / 86400);
            field(out, "hz", 10);
            field(out, "configured_hz", 10);
            field(
                out,
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            field(
                out,
                "config_file",
                config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            field(out, "io_threads_active", 0);
        }
        "clients" => {
            let maxclients = shared.config.read().expect("config lock").maxclients;
            field(out, "connected_clients", shared.clients.len());
            field(out, "cluster_connections", 0);
            field(out, "maxclients", maxclients);
            field(out, "blocked_clients", 0);
            field(out, "tracking_clients", 0);
            field(out, "clients_in_timeout_table", 0);
        }
        "memory" => {
            // Sluice has no allocator statistics: `used_memory` is the
            // process's resident set size, and the peak its high-water mark.
            let (rss, peak) = process_memory();
            field(out, "used_memory", rss);
            field(out, "used_memory_human", bytes_to_human(rss));
            field(out, "used_memory_rss", rss);
            field(out, "used_memory_rss_human", bytes_to_human(rss));
            field(out, "used_memory_peak", peak);
            field(out, "used_memory_peak_human", bytes_to_human(peak));
            field(out, "maxmemory", 0);
            field(out, "maxmemory_human", "0B");
            field(out, "maxmemory_policy", "noeviction");
            field(out, "mem_allocator", "libc");
        }
        "persistence" => {
            // Nothing is persisted yet: no save or rewrite ever runs.
            field(out, "loading", 0);
            field(out, "async_loading", 0);
            field(out, "rdb_bgsave_in_progress", 0);
            field(out, "rdb_last_save_time", shared.started_ms / 1000);
            field(out, "rdb_last_bgsave_status", "ok");
            field(out, "rdb_saves", 0);
            field(out, "aof_enabled", 0);
            field(out, "aof_rewrite_in_progress", 0);
            field(out, "aof_rewrite_scheduled", 0);
            field(out, "aof_last_bgrewrite_status", "ok");
            field(out, "aof_last_write_status", "ok");
        }
        "stats" => {
            let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            let ks = ctx.keyspace.stats;
            field(
                out,
                "total_connections_received",
                load(&stats.total_connections_received),
            );
            field(
                out,
                "total_commands_processed",
                load(&stats.total_commands_processed),
            );
            field(out, "instantaneous_ops_per_sec", stats.ops_per_sec());
            field(
                out,
                "total_net_input_bytes",
                load(&stats.total_net_input_bytes),
            );
            field(
                out,
                "total_net_output_bytes",
                load(&stats.total_net_output_bytes),
            );
            field(
                out,
                "rejected_connections",
                load(&stats.rejected_connections),
            );
            field(out, "expired_keys", ks.expired_keys);
            field(out, "evicted_keys", 0);
            field(out, "keyspace_hits", ks.keyspace_hits);
            field(out, "keyspace_misses", ks.keyspace_misses);
            field(out, "pubsub_channels", 0);
            field(out, "pubsub_patterns", 0);
            field(out, "total_error_replies", load(&stats.total_error_replies));
        }
        "replication" => {
            field(out, "role", "master");
            field(out, "connected_slaves", 0);
            field(out, "master_failover_state", "no-failover");
            field(out, "master_repl_offset", 0);
            field(out, "repl_backlog_active", 0);
        }
        "cpu" => {
            let (sys, user) = process_cpu();
            field(out, "used_cpu_sys", format!("{sys:.6}"));
            field(out, "used_cpu_user", format!("{user:.6}"));
            field(out, "used_cpu_sys_children", "0.000000");
            field(out, "used_cpu_user_children", "0.000000");
        }
        "modules" => {}
        "commandstats" => {
            let table = CommandTable::global();
            for (id, stat) in stats.commands.iter().enumerate() {
                let calls = stat.calls.load(Ordering::Relaxed);
                let rejected = stat.rejected_calls.load(Ordering::Relaxed);
                let failed = stat.failed_calls.load(Ordering::Relaxed);
                if calls == 0 && rejected == 0 && failed == 0 {
                    continue;
                }
                let usec = stat.usec.load(Ordering::Relaxed);
                let per_call = if calls == 0 {
                    0.0
                } else {
                    usec as f64 / calls as f64
                };
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                    table.entry(id).full_name
                );
            }
        }
        "errorstats" => {
            let errors = stats.errors.lock().expect("errorstats lock");
            let mut codes: Vec<(&String, &u64)> = errors.iter().collect();
            codes.sort();
            for (code, count) in codes {
                let _ = write!(out, "errorstat_{code}:count={count}\r\n");
            }
        }
        "cluster" => field(out, "cluster_enabled", 0),
        "keyspace" => {
            for (i, db) in ctx.keyspace.dbs().iter().enumerate() {
                if !db.is_empty() {
                    let _ = write!(
                        out,
                        "db{i}:keys={},expires={},avg_ttl=0\r\n",
                        db.len(),
                        db.volatile_len()
                    );
                }
            }
        }
        _ => unreachable!("every section in SECTIONS is handled"),
    }
}

/// `Linux 6.1.0 x86_64`, from /proc (empty parts when unavailable).
fn os_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let kernel = read("/proc/sys/kernel/ostype");
    let kernel = if kernel.is_empty() {
        std::env::consts::OS.to_string()
    } else {
        kernel
    };
    format!(
        "{kernel} {} {}",
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

/// Resident set size and its peak, in bytes (0 when /proc is unavailable).
fn process_memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let rss = kb("VmRSS:");
    (rss, kb("VmHWM:").max(rss))
}

/// System and user CPU seconds used by the process, from /proc/self/stat
/// (in USER_HZ ticks, 100 a second on Linux).
fn process_cpu() -> (f64, f64) {
    const TICKS_PER_SEC: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold
    // spaces); utime and stime are the 14th and 15th fields overall.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
            / TICKS_PER_SEC
    };
    (tick(12), tick(11))
}

/// Byte counts the way INFO's `*_human` fields show them: `512B`, `1.50K`,
/// `2.00M`, …
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    for unit in UNITS {
        if value < 1024.0 || unit == "P" {
            return format!("{value:.2}{unit}");
        }
        value /= 1024.0;
    }
    unreachable!("the loop returns at P")
}

// ---------------------------------------------------------------- CONFIG

/// CONFIG GET pattern [pattern ...]
struct ConfigGet(Vec<Bytes>);

impl ConfigGet {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(ConfigGet(args.rest()))
    }
}

impl Execute for ConfigGet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let config = ctx.shared.config.read().expect("config lock");
        // (name shown, canonical name); a parameter is listed once.
        let mut found: Vec<(String, &'static str)> = Vec::new();
        for pattern in &self.0 {
            let is_glob = pattern.iter().any(|c| b"*?[".contains(c));
            if is_glob {
                for &param in config::PARAMS {
                    if glob::matches_nocase(pattern, param.as_bytes(), true)
                        && !found.iter().any(|(_, p)| *p == param)
                    {
                        found.push((param.to_string(), param));
                    }
                }
            } else {
                // An exact name is looked up ignoring case and echoed as
                // given, as Redis does.
                let given = String::from_utf8_lossy(pattern).into_owned();
                let lower = given.to_ascii_lowercase();
                if let Some(&param) = config::PARAMS.iter().find(|p| **p == lower) {
                    if !found.iter().any(|(_, p)| *p == param) {
                        found.push((given, param));
                    }
                }
            }
        }
        Reply::Map(
            found
                .into_iter()
                .map(|(shown, param)| {
                    (
                        Reply::bulk(shown),
                        Reply::bulk(config.get(param).unwrap_or_default()),
                    )
                })
                .collect(),
        )
    }
}

/// CONFIG SET parameter value [parameter value ...]
struct ConfigSet(Vec<(Bytes, Bytes)>);

impl ConfigSet {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        if !args.len().is_multiple_of(2) {
            return Err(error::SYNTAX);
        }
        let pairs = args
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        boxed(ConfigSet(pairs))
    }
}

impl Execute for ConfigSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        // First pass, as in Redis: the first unknown, immutable or repeated
        // name is the error, before any value is looked at.
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in &self.0 {
            let given = String::from_utf8_lossy(name).into_owned();
            let lower = given.to_ascii_lowercase();
            if !config::is_known(&lower) {
                return error::config_unknown_option(&given).into();
            }
            if config::is_immutable(&lower) {
                return error::config_set_failed(&given, "can't set immutable config").into();
            }
            if seen.contains(&lower) {
                return error::config_set_failed(&given, "duplicate parameter").into();
            }
            seen.push(lower);
        }
        // Second pass on a copy: either every value is valid and the copy
        // replaces the configuration, or nothing changes.
        let mut config = ctx.shared.config.write().expect("config lock");
        let mut updated = config.clone();
        for (name, value) in &self.0 {
            let name = String::from_utf8_lossy(name);
            let value = String::from_utf8_lossy(value);
            if let Err(e) = updated.set(&name, &value, true) {
                return match e {
                    ConfigError::Invalid(param, reason) => {
                        error::config_set_failed(&param, &reason)
                    }
                    ConfigError::Immutable(param) => {
                        error::config_set_failed(&param, "can't set immutable config")
                    }
                    ConfigError::Unknown(param) => error::config_unknown_option(&param),
                }
                .into();
            }
        }
        *config = updated;
        OK
    }
}

fn parse_config_resetstat(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| {
        ctx.shared.stats.reset();
        ctx.keyspace.stats = KeyspaceStats::default();
        OK
    }))
}

fn parse_config_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern> [<pattern> ...]",
            "    Show every parameter whose name matches a glob <pattern>, with its value.",
            "SET <parameter> <value> [<parameter> <value> ...]",
            "    Change parameters while the server runs; if one value is refused, none changes.",
            "RESETSTAT",
            "    Zero the counters that INFO shows.",
            "HELP",
            "    Show this text.",
        ])
    }))
}

// ---------------------------------------------------------------- keyspace-wide

fn parse_dbsize(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| Reply::Int(ctx.db().0.len() as i64)))
}

/// FLUSHDB / FLUSHALL [ASYNC|SYNC]
struct Flush {
    all: bool,
}

impl Flush {
    fn parse_db(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, false)
    }

    fn parse_all(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, true)
    }

    fn parse(args: Args, all: bool) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        match args.as_slice() {
            [] => {}
            [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
            _ => return Err(error::SYNTAX),
        }
        // Freeing is cheap enough here that ASYNC and SYNC both flush at once.
        boxed(Flush { all })
    }
}

impl Execute for Flush {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if self.all {
            ctx.keyspace.flush_all();
        } else {
            ctx.db().0.clear();
        }
        OK
    }
}

/// SWAPDB index1 index2
struct SwapDb(i64, i64);

impl SwapDb {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        // Redis reads the indexes as C ints.
        let index = |raw: Bytes, e: CommandError| {
            parse_i64_opt(&raw)
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or(e)
        };
        let a = index(args.next_arg()?, error::INVALID_FIRST_DB)?;
        let b = index(args.next_arg()?, error::INVALID_SECOND_DB)?;
        boxed(SwapDb(a, b))
    }
}

impl Execute for SwapDb {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let count = ctx.keyspace.db_count() as i64;
        if !(0..count).contains(&self.0) || !(0..count).contains(&self.1) {
            return error::DB_OUT_OF_RANGE.into();
        }
        ctx.keyspace.swap(self.0 as usize, self.1 as usize);
        OK
    }
}

fn parse_time(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| {
        let us = ctx.shared.clock.now_us();
        Reply::Array(vec![
            Reply::bulk((us / 1_000_000).to_string()),
            Reply::bulk((us % 1_000_000).to_string()),
        ])
    }))
}

// ---------------------------------------------------------------- SHUTDOWN

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
struct Shutdown {
    abort: bool,
}

impl Shutdown {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
        for arg in args.rest() {
            if is(&arg, "NOSAVE") {
                nosave = true;
            } else if is(&arg, "SAVE") {
                save = true;
            } else if is(&arg, "NOW") || is(&arg, "FORCE") {
                other = true;
            } else if is(&arg, "ABORT") {
                abort = true;
            } else {
                return Err(error::SYNTAX);
            }
        }
        if (abort && (nosave || save || other)) || (nosave && save) {
            return Err(error::SYNTAX);
        }
        boxed(Shutdown { abort })
    }
}

impl Execute for Shutdown {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if self.abort {
            // A shutdown, once accepted, is immediate: none is ever pending.
            return error::NO_SHUTDOWN_IN_PROGRESS.into();
        }
        warn!("User requested shutdown...");
        ctx.session.shutdown_requested = true;
        // Success closes the connection without a reply, as in Redis.
        ctx.session.suppress_current = true;
        OK
    }
}

// ---------------------------------------------------------------- FUNCTION

/// FUNCTION FLUSH [ASYNC|SYNC]
struct FunctionFlush;

impl FunctionFlush {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        match args.as_slice() {
            [] => {}
            [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
            [_] => return Err(error::FUNCTION_FLUSH_OPTION),
            _ => return Err(error::subcommand_syntax(b"flush", "function")),
        }
        boxed(FunctionFlush)
    }
}

impl Execute for FunctionFlush {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        OK
    }
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
struct FunctionList;

impl FunctionList {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let (mut withcode, mut library) = (false, false);
        while let Some(arg) = args.try_next() {
            if is(&arg, "WITHCODE") && !withcode {
                withcode = true;
            } else if is(&arg, "LIBRARYNAME") && !library {
                if args.try_next().is_none() {
                    return Err(error::FUNCTION_LIST_NO_LIBRARY);
                }
                library = true;
            } else {
                return Err(error::unknown_argument(&arg));
            }
        }
        boxed(FunctionList)
    }
}

impl Execute for FunctionList {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        Reply::Array(Vec::new())
    }
}

fn parse_function_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
            "    List the function libraries (Sluice has no function engine: always none).",
            "FLUSH [ASYNC|SYNC]",
            "    Delete every function library.",
            "HELP",
            "    Show this text.",
        ])
    }))
}

// ---------------------------------------------------------------- DEBUG

/// DEBUG subcommand [argument ...]
struct DebugCmd(Vec<Bytes>);

impl DebugCmd {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        // Everything is decided at run time: the enable-debug-command check
        // comes before any argument check, as in Redis.
        boxed(DebugCmd(args.rest()))
    }
}

/// Whether this connection may run DEBUG.
fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    match ctx
        .shared
        .config
        .read()
        .expect("config lock")
        .enable_debug_command
    {
        DebugCommand::Yes => true,
        DebugCommand::Local => ctx.session.is_local,
        DebugCommand::No => false,
    }
}

impl Execute for DebugCmd {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if !debug_allowed(ctx) {
            return error::DEBUG_DISABLED.into();
        }
        let sub = &self.0[0];
        let arg = match self.0.len() {
            1 => None,
            2 => Some(&self.0[1]),
            _ => return error::subcommand_syntax(sub, "debug").into(),
        };
        match (sub.to_ascii_lowercase().as_slice(), arg) {
            (b"help", None) => help_reply(&[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "SLEEP <seconds>",
                "    Stop serving every client for <seconds> (a decimal number).",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Turn the background deletion of expired keys off (0) or on (1).",
                "LOG <message>",
                "    Write <message> to the server log.",
                "HELP",
                "    Show this text.",
            ]),
            (b"sleep", Some(seconds)) => {
                // The keyspace lock is held: the whole server pauses.
                let seconds = strtod_prefix(seconds);
                if let Ok(pause) = Duration::try_from_secs_f64(seconds) {
                    std::thread::sleep(pause);
                }
                OK
            }
            (b"set-active-expire", Some(flag)) => {
                ctx.shared
                    .active_expire
                    .store(atoi(flag) != 0, Ordering::Relaxed);
                OK
            }
            (b"log", Some(message)) => {
                info!("DEBUG LOG: {}", String::from_utf8_lossy(message));
                OK
            }
            _ => error::subcommand_syntax(sub, "debug").into(),
        }
    }
}

/// The number at the start of `raw`, as C's `strtod` reads it (0 when there
/// is none).
fn strtod_prefix(raw: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    let max = text.len().min(64);
    (1..=max)
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The integer at the start of `raw`, as C's `atoi` reads it (0 when there
/// is none; saturating instead of overflowing).
fn atoi(raw: &[u8]) -> i64 {
    let mut rest = raw;
    while let [c, tail @ ..] = rest {
        if c.is_ascii_whitespace() {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let mut n: i64 = 0;
    for &c in rest.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if negative {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1536), "1.50K");
        assert_eq!(bytes_to_human(3 * 1024 * 1024), "3.00M");
        assert_eq!(bytes_to_human(5 * 1024 * 1024 * 1024), "5.00G");
    }

    #[test]
    fn c_number_prefixes() {
        assert_eq!(strtod_prefix(b"0.25"), 0.25);
        assert_eq!(strtod_prefix(b" 1.5s"), 1.5);
        assert_eq!(strtod_prefix(b"x"), 0.0);
        assert_eq!(strtod_prefix(b"1e-3"), 0.001);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" -12abc"), -12);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"2"), 2);
    }

    #[test]
    fn cpu_and_memory_are_read() {
        let (rss, peak) = process_memory();
        assert!(rss > 0 && peak >= rss);
        let (sys, user) = process_cpu();
        assert!(sys >= 0.0 && user >= 0.0);
    }
}
