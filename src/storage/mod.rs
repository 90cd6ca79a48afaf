//! Durable storage: one commit log in CRC-checked segment files, plus
//! checkpoints.
//!
//! ```text
//! <dir>/journal/0000000000000001.seg         segments, by sequence number
//! <dir>/journal/0000000000000002.seg
//! <dir>/journal/checkpoint-0000000000004711.ckpt   state up to LSN 4711
//! ```
//!
//! Every command's keyspace changes become one `Batch` record (a MULTI/EXEC
//! block is one record too, so recovery applies it whole or not at all):
//! each changed key's final state (`Put` with value and absolute expiry,
//! or `Del`), or a database-wide flush or swap. Records are appended in
//! execution order under the keyspace lock and written to the OS before
//! any reply that depends on them is sent; `appendfsync` decides when they
//! are fsynced (see [`crate::config::FsyncPolicy`]). The byte layout is in
//! [`format`] and [`ops`]; start-up in [`recovery`]; checkpoints in
//! [`checkpoint`], and the copying forward of live payloads in
//! [`compact`]; every file operation goes through [`io::Disk`] so tests can
//! inject failures, and every map is a [`mapguard::GuardedMap`], so a file
//! truncated under the running server gives errors, not SIGBUS.

pub mod checkpoint;
#[cfg(test)]
mod checkpoint_hash_tests;
#[cfg(test)]
mod checkpoint_list_tests;
#[cfg(test)]
mod checkpoint_tests;
pub mod compact;
pub mod format;
pub mod hash_ops;
pub mod io;
pub mod journal;
pub mod list_ops;
pub mod lock;
pub mod manifest;
pub mod mapguard;
#[cfg(test)]
mod meddling;
pub mod ops;
pub mod recovery;
pub mod set_ops;
pub mod stream_ops;
pub mod zset_ops;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub use journal::{Journal, PayloadRef, Pos};
pub use recovery::RecoveryStats;

use crate::config::Config;
use crate::keyspace::Keyspace;

/// A storage failure. Corruption and I/O errors name the file (and the
/// offset, for corruption).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Bytes that do not read back as what Sluice wrote.
    #[error("corrupt data in {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        file: String,
        /// Byte offset of the bad record or header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file Sluice did not write, in its journal directory.
    #[error("unexpected file {file} in the journal directory (Sluice did not write it)")]
    Foreign {
        /// The file.
        file: String,
    },
    /// A segment or checkpoint is missing: the manifest names it, or the
    /// segment numbers have a gap.
    #[error("journal file {file} is missing")]
    Missing {
        /// The missing file.
        file: String,
    },
    /// An I/O error.
    #[error("I/O error on {file}: {reason}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        reason: String,
    },
    /// Another server holds the data directory.
    #[error("the data directory {dir} is in use by another Sluice server{}; two servers on one directory would lose each other's writes", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The data directory.
        dir: String,
        /// The process id the lock file names, if it could be read.
        holder: Option<u32>,
    },
    /// The journal failed earlier and refuses writes.
    #[error("{0}")]
    Failed(String),
}

impl StorageError {
    /// An I/O error on `path`.
    pub fn io(path: PathBuf, e: std::io::Error) -> Self {
        StorageError::Io {
            file: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// What start-up does with corruption that is not a torn tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Refuse to start, naming the file and offset (default).
    Strict,
    /// Skip what cannot be read, count it in INFO, and start.
    TolerateCorruption,
}

/// The state of checkpointing, for INFO persistence and LASTSAVE.
#[derive(Debug, Default)]
pub struct CheckpointState {
    /// A checkpoint is being written.
    pub in_progress: AtomicBool,
    /// Unix seconds of the last successful checkpoint (or start-up).
    pub last_ok_unix: AtomicI64,
    /// Whether the last checkpoint succeeded.
    pub last_failed: AtomicBool,
    /// Size of the last checkpoint file, for the automatic trigger.
    pub last_size: AtomicI64,
    /// Log size right after the last checkpoint.
    pub log_base_size: AtomicI64,
    /// Checkpoints written.
    pub count: AtomicI64,
    /// Changes journaled since the last successful checkpoint (INFO
    /// `rdb_changes_since_last_save`, Redis's "dirty" counter).
    pub changes: AtomicI64,
}

/// The storage engine as the server sees it.
#[derive(Debug)]
pub struct Storage {
    /// The commit log.
    pub journal: Arc<Journal>,
    /// The file-system access in use.
    pub disk: Arc<dyn io::Disk>,
    /// What recovery found at start-up (or the last reload).
    pub recovery: Mutex<RecoveryStats>,
    /// Checkpoint bookkeeping.
    pub checkpoints: CheckpointState,
    /// Segments of streams written whole to the log while a checkpoint
    /// copies keys (see [`checkpoint`]).
    moved: Mutex<ahash::AHashSet<u64>>,
    dir: PathBuf,
    mode: RecoveryMode,
    /// The data directory's lock, released by [`Storage::close`].
    lock: Mutex<Option<lock::DirLock>>,
}

impl Storage {
    /// Recovers `keyspace` from `config.dir` and opens the log for appends.
    pub fn open(
        config: &Config,
        disk: Arc<dyn io::Disk>,
        keyspace: &mut Keyspace,
        now: i64,
    ) -> Result<Storage, StorageError> {
        disk.create_dir_all(&config.dir)
            .map_err(|e| StorageError::io(config.dir.clone(), e))?;
        let dir_lock = lock::DirLock::acquire(&config.dir)?;
        let dir = config.dir.join("journal");
        let mode = config.recovery;
        let (tail, stats) = recovery::recover(&dir, &*disk, mode, keyspace, now)?;
        tracing::info!(
            "recovered {} keys from checkpoint and {} log records ({} torn bytes truncated, {} corrupt records skipped)",
            stats.checkpoint_keys,
            stats.records_replayed,
            stats.truncated_bytes,
            stats.skipped_records
        );
        let journal = Journal::open(
            &dir,
            disk.clone(),
            config.appendfsync,
            config.journal_segment_size,
            tail,
        )?;
        let storage = Storage {
            journal,
            disk,
            recovery: Mutex::new(stats),
            checkpoints: CheckpointState::default(),
            moved: Mutex::default(),
            dir,
            mode,
            lock: Mutex::new(Some(dir_lock)),
        };
        storage
            .checkpoints
            .last_ok_unix
            .store(now / 1000, Ordering::Relaxed);
        storage
            .checkpoints
            .log_base_size
            .store(storage.journal.size() as i64, Ordering::Relaxed);
        Ok(storage)
    }

    /// Journals the keyspace changes made since the last call as one batch
    /// record; returns its LSN, or 0 when nothing changed. Called with the
    /// keyspace lock held, so log order is execution order.
    pub fn journal_changes(&self, keyspace: &mut Keyspace) -> Result<u64, StorageError> {
        // While a checkpoint copies keys, the keyspace gives APPENDs as
        // final states (see `Keyspace::set_checkpointing`).
        let ops = keyspace.take_changes();
        let changes = keyspace.take_change_count();
        if ops.is_empty() {
            return Ok(0);
        }
        self.checkpoints
            .changes
            .fetch_add(changes as i64, Ordering::Relaxed);
        if self.checkpoints.in_progress.load(Ordering::SeqCst) {
            for op in &ops {
                if let crate::keyspace::Op::Put { entry, .. } = op {
                    if let crate::keyspace::Value::Stream(s) = &entry.value {
                        let mut moved = self.moved.lock().expect("moved lock");
                        checkpoint::stream_segments(s, &mut moved);
                    }
                }
            }
        }
        let (lsn, _) = self
            .journal
            .append(format::RecordType::Batch, &ops::encode_batch(&ops))?;
        Ok(lsn)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Shutdown: writes and fsyncs everything, stops the syncer, and
    /// releases the data directory for another server.
    pub fn close(&self) -> Result<(), StorageError> {
        let result = self.journal.close();
        self.lock.lock().expect("dir lock").take();
        result
    }

    /// Whether [`Storage::close`] has run to the end (the directory is free).
    pub fn is_closed(&self) -> bool {
        self.lock.lock().expect("dir lock").is_none()
    }

    /// Claims the right to write the next checkpoint; false if one is
    /// already being written. A command claims it before it replies, so
    /// INFO shows the checkpoint in progress as soon as the reply is out.
    pub fn claim_checkpoint(&self) -> bool {
        !self.checkpoints.in_progress.swap(true, Ordering::SeqCst)
    }

    /// Writes a checkpoint now if none is being written (`Ok(None)`
    /// otherwise).
    pub fn checkpoint(
        &self,
        keyspace: &Mutex<Keyspace>,
        now: impl Fn() -> i64,
    ) -> Result<Option<checkpoint::CheckpointInfo>, StorageError> {
        if !self.claim_checkpoint() {
            return Ok(None);
        }
        self.run_claimed_checkpoint(keyspace, now).map(Some)
    }

    /// Writes the checkpoint claimed with [`Storage::claim_checkpoint`],
    /// and releases the claim.
    pub fn run_claimed_checkpoint(
        &self,
        keyspace: &Mutex<Keyspace>,
        now: impl Fn() -> i64,
    ) -> Result<checkpoint::CheckpointInfo, StorageError> {
        let c = &self.checkpoints;
        // Changes made while the copy runs stay counted, as in Redis.
        let changes_before = c.changes.load(Ordering::Relaxed);
        let result = checkpoint::write(keyspace, &self.journal, &*self.disk, &now, &self.moved);
        match &result {
            Ok(info) => {
                c.changes.fetch_sub(changes_before, Ordering::Relaxed);
                c.last_ok_unix.store(now() / 1000, Ordering::Relaxed);
                c.last_failed.store(false, Ordering::Relaxed);
                c.last_size.store(info.bytes as i64, Ordering::Relaxed);
                c.log_base_size
                    .store(self.journal.size() as i64, Ordering::Relaxed);
                c.count.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "checkpoint at LSN {}: {} keys, {} bytes, {} segments removed",
                    info.lsn,
                    info.keys,
                    info.bytes,
                    info.segments_removed
                );
            }
            Err(e) => {
                c.last_failed.store(true, Ordering::Relaxed);
                tracing::warn!("checkpoint failed: {e}");
            }
        }
        c.in_progress.store(false, Ordering::SeqCst);
        result
    }

    /// Rebuilds a keyspace from what is on disk (DEBUG RELOAD / LOADAOF):
    /// the caller has made everything durable first.
    pub fn reload(&self, databases: usize, now: i64) -> Result<Keyspace, StorageError> {
        let mut keyspace = Keyspace::new(databases);
        let (_, stats) = recovery::recover(&self.dir, &*self.disk, self.mode, &mut keyspace, now)?;
        *self.recovery.lock().expect("recovery lock") = stats;
        Ok(keyspace)
    }
}
