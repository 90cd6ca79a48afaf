//! Server statistics for INFO stats, commandstats and errorstats.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ahash::AHashMap;

/// Calls and time of one command (INFO commandstats).
#[derive(Debug, Default)]
pub struct CommandStat {
    /// Times it ran.
    pub calls: AtomicU64,
    /// Microseconds spent running it.
    pub usec: AtomicU64,
    /// Times it was refused before running (arity, auth, …).
    pub rejected_calls: AtomicU64,
    /// Times it ran and replied with an error.
    pub failed_calls: AtomicU64,
}

/// Server-wide counters.
#[derive(Debug)]
pub struct Stats {
    /// Connections accepted.
    pub total_connections_received: AtomicU64,
    /// Connections refused (maxclients, protected mode).
    pub rejected_connections: AtomicU64,
    /// Clients closed for exceeding `client-query-buffer-limit`.
    pub query_buffer_disconnections: AtomicU64,
    /// Commands run.
    pub total_commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub total_net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub total_net_output_bytes: AtomicU64,
    /// Error replies sent.
    pub total_error_replies: AtomicU64,
    /// Per command, indexed by command table id.
    pub commands: Vec<CommandStat>,
    /// Error replies by error code (INFO errorstats).
    pub errors: Mutex<AHashMap<String, u64>>,
    /// Last sample for `instantaneous_ops_per_sec`: when it was taken, the
    /// command count then, and the rate it gave.
    ops_sample: Mutex<(Instant, u64, u64)>,
}

/// Shortest interval over which `instantaneous_ops_per_sec` is measured.
const OPS_SAMPLE_MIN: Duration = Duration::from_millis(100);

impl Stats {
    /// Zeroed counters for a table of `commands` entries.
    pub fn new(commands: usize) -> Self {
        Stats {
            total_connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            query_buffer_disconnections: AtomicU64::new(0),
            total_commands_processed: AtomicU64::new(0),
            total_net_input_bytes: AtomicU64::new(0),
            total_net_output_bytes: AtomicU64::new(0),
            total_error_replies: AtomicU64::new(0),
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
            errors: Mutex::new(AHashMap::new()),
            ops_sample: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Counts one error reply under its code.
    pub fn count_error(&self, code: &[u8]) {
        self.total_error_replies.fetch_add(1, Ordering::Relaxed);
        let code = String::from_utf8_lossy(code).into_owned();
        *self
            .errors
            .lock()
            .expect("errorstats lock")
            .entry(code)
            .or_insert(0) += 1;
    }

    /// Commands per second since the previous sample (taken by an earlier
    /// call at least 100 ms ago); repeats the last rate for closer calls.
    pub fn ops_per_sec(&self) -> u64 {
        let mut sample = self.ops_sample.lock().expect("ops sample lock");
        let elapsed = sample.0.elapsed();
        if elapsed >= OPS_SAMPLE_MIN {
            let total = self.total_commands_processed.load(Ordering::Relaxed);
            let delta = total.saturating_sub(sample.1);
            let rate = (delta as f64 / elapsed.as_secs_f64()).round() as u64;
            *sample = (Instant::now(), total, rate);
        }
        sample.2
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for counter in [
            &self.total_connections_received,
            &self.rejected_connections,
            &self.query_buffer_disconnections,
            &self.total_commands_processed,
            &self.total_net_input_bytes,
            &self.total_net_output_bytes,
            &self.total_error_replies,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        for c in &self.commands {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected_calls.store(0, Ordering::Relaxed);
            c.failed_calls.store(0, Ordering::Relaxed);
        }
        self.errors.lock().expect("errorstats lock").clear();
        *self.ops_sample.lock().expect("ops sample lock") = (Instant::now(), 0, 0);
    }
}
