//! Why the journal refuses writes, and how it comes back: a failed write
//! is cut off, rolled back and probed for until the disk takes writes
//! again; a failed fsync is for good (see the `journal` module doc).

use std::sync::atomic::Ordering;

use tracing::{error, info};

use super::{segment_name, Journal, State};
use crate::storage::StorageError;

/// What kind of failure makes the journal refuse writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A write failed; lifted once a probe write succeeds.
    Write,
    /// An fsync failed (or the log could not be put back in order after a
    /// failed write): refused until restart.
    Sync,
}

#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) kind: FailureKind,
    pub(super) what: String,
}

impl Journal {
    /// Why the journal refuses writes, if it does.
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        let f = self.failure.lock().expect("failure lock");
        f.as_ref().map(|f| f.what.clone())
    }

    /// The kind of the failure in force, if any.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        let f = self.failure.lock().expect("failure lock");
        f.as_ref().map(|f| f.kind)
    }

    /// Refuses writes from now on. A failure in force is kept (it is the
    /// one reported), except that a `Sync` failure replaces a `Write` one:
    /// it is for good.
    pub fn fail_with(&self, kind: FailureKind, what: String) -> StorageError {
        let mut f = self.failure.lock().expect("failure lock");
        let replace = match f.as_ref() {
            None => true,
            Some(old) => old.kind == FailureKind::Write && kind == FailureKind::Sync,
        };
        if replace {
            match kind {
                FailureKind::Write => {
                    error!("journal write failed: {what}; refusing writes until the disk takes them again")
                }
                FailureKind::Sync => {
                    error!("journal failure: {what}; refusing writes until restart")
                }
            }
            *f = Some(Failure { kind, what });
        }
        self.failed.store(true, Ordering::Release);
        let reported = f.as_ref().expect("just set").what.clone();
        drop(f);
        // Wake everyone waiting for durability: it will not come.
        self.synced.send_modify(|_| {});
        self.wake_syncer.notify_all();
        StorageError::Failed(reported)
    }

    pub(super) fn fail(&self, what: String) -> StorageError {
        self.fail_with(FailureKind::Sync, what)
    }

    pub(super) fn check(&self) -> Result<(), StorageError> {
        match self.failure() {
            Some(f) => Err(StorageError::Failed(f)),
            None => Ok(()),
        }
    }

    /// Whether the keyspace must be rolled back to the log (a failed write
    /// dropped records it holds); true once per failed write.
    pub fn take_rollback(&self) -> bool {
        // Every command asks: a plain load keeps the usual answer free of
        // a locked read-modify-write.
        self.rollback.load(Ordering::Acquire) && self.rollback.swap(false, Ordering::SeqCst)
    }

    /// Asks for a rollback: the keyspace holds changes the journal refused.
    pub fn request_rollback(&self) {
        self.rollback.store(true, Ordering::SeqCst);
    }

    /// Whether a rollback is pending.
    pub fn rollback_pending(&self) -> bool {
        self.rollback.load(Ordering::SeqCst)
    }

    /// After a failed write: cuts from the file whatever part of the
    /// buffer reached it, and drops the buffer. Nothing in it was
    /// acknowledged (replies wait for the write), so the log is back to
    /// its last acknowledged record.
    pub(super) fn drop_failed_write(&self, st: &mut State, e: std::io::Error) -> StorageError {
        let path = self.dir.join(segment_name(st.current.seq));
        self.stats.write_failures.fetch_add(1, Ordering::Relaxed);
        st.buf.clear();
        st.next_lsn = st.written_lsn + 1;
        // A map made while the torn bytes were there must not outlive them.
        self.maps.lock().expect("maps lock").remove(&st.current.seq);
        self.rollback.store(true, Ordering::SeqCst);
        if let Err(t) = st.current.file.truncate(st.current.written_len) {
            // Later records would follow a torn one: never write again.
            return self.fail(format!(
                "write to {}: {e}; cutting the partial write failed: {t}",
                path.display()
            ));
        }
        self.fail_with(
            FailureKind::Write,
            format!("write to {}: {e}", path.display()),
        )
    }

    /// Whether the disk takes writes again: appends a block of zeros to
    /// the current segment and cuts it off again, then brings the manifest
    /// up to date. Only after the keyspace was rolled back.
    pub(super) fn probe(&self, st: &mut State) -> bool {
        if self.rollback.load(Ordering::SeqCst) {
            return false;
        }
        let wrote = st.current.file.append(&[0u8; 4096]);
        if let Err(e) = st.current.file.truncate(st.current.written_len) {
            self.fail(format!("cutting the journal's probe write: {e}"));
            return false;
        }
        wrote.is_ok() && st.manifest().store(&*self.disk, &self.dir).is_ok()
    }

    /// Lifts a `Write` failure (after a successful probe).
    pub(super) fn resume(&self) {
        let mut f = self.failure.lock().expect("failure lock");
        if f.as_ref().is_some_and(|f| f.kind == FailureKind::Write) {
            *f = None;
            self.failed.store(false, Ordering::Release);
            self.stats.resumes.fetch_add(1, Ordering::Relaxed);
            info!("journal: the disk takes writes again; writes resumed");
        }
    }
}
