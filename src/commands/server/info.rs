//! INFO: the server's sections of `key:value` lines.

use super::*;

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
pub(super) struct Info {
    /// Which of [`SECTIONS`] to print.
    wanted: [bool; SECTIONS.len()],
}

impl Info {
    pub(super) fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
            let blocking = &ctx.keyspace.blocking;
            let (keys, on_nokey) = blocking.blocking_keys();
            field(out, "blocked_clients", blocking.blocked_clients());
            field(out, "total_blocking_keys", keys);
            field(out, "total_blocking_keys_on_nokey", on_nokey);
            field(out, "tracking_clients", 0);
            field(out, "pubsub_clients", shared.pubsub.clients());
            field(out, "clients_in_timeout_table", 0);
        }
        "memory" => {
            // `used_memory` is what the counting allocator has live (the
            // bytes Sluice holds), `used_memory_rss` what the kernel has
            // resident (that plus code, stacks, mapped journal pages and
            // whatever the allocator keeps free), as in Redis.
            let used = crate::memory::allocated();
            let peak = crate::memory::peak();
            let rss = crate::memory::rss();
            field(out, "used_memory", used);
            field(out, "used_memory_human", bytes_to_human(used));
            field(out, "used_memory_rss", rss);
            field(out, "used_memory_rss_human", bytes_to_human(rss));
            field(out, "used_memory_peak", peak);
            field(out, "used_memory_peak_human", bytes_to_human(peak));
            let engine = &shared.scripting;
            let (vm, scripts, cached) = (
                engine.used_memory() as u64,
                engine.script_bytes() as u64,
                engine.cached_scripts(),
            );
            field(out, "used_memory_lua", vm);
            field(out, "used_memory_vm_eval", vm);
            field(out, "used_memory_lua_human", bytes_to_human(vm));
            field(out, "used_memory_scripts_eval", scripts);
            field(out, "number_of_cached_scripts", cached);
            field(out, "number_of_functions", 0);
            field(out, "number_of_libraries", 0);
            field(out, "used_memory_vm_functions", 0);
            field(out, "used_memory_vm_total", vm);
            field(out, "used_memory_vm_total_human", bytes_to_human(vm));
            field(out, "used_memory_functions", 0);
            field(out, "used_memory_scripts", scripts);
            field(out, "used_memory_scripts_human", bytes_to_human(scripts));
            field(
                out,
                "mem_fragmentation_ratio",
                format!("{:.2}", rss as f64 / used.max(1) as f64),
            );
            field(out, "maxmemory", 0);
            field(out, "maxmemory_human", "0B");
            field(out, "maxmemory_policy", "noeviction");
            field(out, "mem_allocator", "libc");
        }
        "persistence" => {
            let storage = &shared.storage;
            let c = &storage.checkpoints;
            let load = |a: &std::sync::atomic::AtomicI64| a.load(Ordering::Relaxed);
            let in_progress = c.in_progress.load(Ordering::Relaxed) as u8;
            let status = if c.last_failed.load(Ordering::Relaxed) {
                "err"
            } else {
                "ok"
            };
            let journal = &storage.journal;
            let recovery = storage.recovery.lock().expect("recovery lock").clone();
            field(out, "loading", 0);
            field(out, "async_loading", 0);
            field(out, "rdb_changes_since_last_save", load(&c.changes));
            field(out, "rdb_bgsave_in_progress", in_progress);
            field(out, "rdb_last_save_time", load(&c.last_ok_unix));
            field(out, "rdb_last_bgsave_status", status);
            field(out, "rdb_saves", load(&c.count));
            field(out, "aof_enabled", 1);
            field(out, "aof_rewrite_in_progress", in_progress);
            field(out, "aof_rewrite_scheduled", 0);
            field(out, "aof_last_bgrewrite_status", status);
            field(
                out,
                "aof_last_write_status",
                if journal.failure().is_some() {
                    "err"
                } else {
                    "ok"
                },
            );
            field(out, "aof_current_size", journal.size());
            field(out, "aof_base_size", load(&c.last_size));
            field(out, "aof_pending_bio_fsync", journal.pending_fsync() as u8);
            field(out, "aof_delayed_fsync", 0);
            field(out, "sluice_appendfsync", journal.policy().name());
            field(
                out,
                "sluice_fsyncs",
                journal.stats.fsyncs.load(Ordering::Relaxed),
            );
            field(out, "sluice_journal_segments", journal.segment_count());
            field(
                out,
                "sluice_live_size_at_last_checkpoint",
                load(&c.last_size),
            );
            field(
                out,
                "sluice_journal_error",
                journal.failure().unwrap_or_default(),
            );
            field(
                out,
                "sluice_journal_status",
                match journal.failure_kind() {
                    None => "ok",
                    Some(crate::storage::journal::FailureKind::Write) => "write_failed_retrying",
                    Some(crate::storage::journal::FailureKind::Sync) => "fsync_failed",
                },
            );
            field(
                out,
                "sluice_journal_write_failures",
                journal.stats.write_failures.load(Ordering::Relaxed),
            );
            field(
                out,
                "sluice_journal_rollbacks",
                journal.stats.rollbacks.load(Ordering::Relaxed),
            );
            field(
                out,
                "sluice_journal_resumes",
                journal.stats.resumes.load(Ordering::Relaxed),
            );
            field(
                out,
                "sluice_recovery_checkpoint_keys",
                recovery.checkpoint_keys,
            );
            field(
                out,
                "sluice_recovery_records_replayed",
                recovery.records_replayed,
            );
            field(
                out,
                "sluice_recovery_truncated_bytes",
                recovery.truncated_bytes,
            );
            field(
                out,
                "sluice_recovery_skipped_records",
                recovery.skipped_records,
            );
            field(
                out,
                "sluice_recovery_dropped_entries",
                recovery.dropped_entries,
            );
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
            let [channels, patterns, shard] = shared.pubsub.sizes();
            field(out, "pubsub_channels", channels);
            field(out, "pubsub_patterns", patterns);
            field(out, "pubsubshard_channels", shard);
            // Sluice has no MIGRATE, so it caches no sockets for it.
            field(out, "migrate_cached_sockets", 0);
            field(
                out,
                "client_query_buffer_limit_disconnections",
                load(&stats.query_buffer_disconnections),
            );
            field(
                out,
                "client_output_buffer_limit_disconnections",
                load(&shared.pubsub.obuf_disconnections),
            );
            field(out, "total_error_replies", load(&stats.total_error_replies));
            let acl = &shared.acl;
            field(out, "acl_access_denied_auth", load(&acl.denied_auth));
            field(out, "acl_access_denied_cmd", load(&acl.denied_cmd));
            field(out, "acl_access_denied_key", load(&acl.denied_key));
            field(out, "acl_access_denied_channel", load(&acl.denied_channel));
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
    fn cpu_is_read() {
        let (sys, user) = process_cpu();
        assert!(sys >= 0.0 && user >= 0.0);
    }
}
