//! The commit log: records appended in execution order to numbered segment
//! files, written before replies are sent, fsynced by policy.
//!
//! - `append` runs under the keyspace lock, so log order is execution
//!   order. It only copies the record into a buffer.
//! - `flush` writes the buffer to the OS. A connection calls it before it
//!   sends replies for commands that wrote, so a process crash can never
//!   lose an acknowledged write; one `write(2)` carries every record
//!   buffered by every connection meanwhile (group write).
//! - A syncer thread fsyncs: under `always` as soon as there is something
//!   unsynced, and connections wait for it before replying (group commit:
//!   one fsync covers every record written while the previous one ran);
//!   under `everysec` once a second; under `no` never.
//! - A failed write (a full disk, say) refuses appends until the disk
//!   takes writes again: what reached the file of the failed write is cut
//!   off, the buffer (nothing in it was acknowledged) is dropped, and the
//!   server rolls the keyspace back to what the log holds. The syncer
//!   thread probes the disk once a second and lifts the refusal when a
//!   probe write succeeds, as Redis resumes after a full disk.
//! - A failed fsync is for good (until restart). After fsync reports an
//!   error, the kernel may already have dropped the dirty pages it could
//!   not write and marked them clean, so a second fsync would report
//!   success for data that is not on disk (PostgreSQL's "fsyncgate"). The
//!   journal never fsyncs that file again: it refuses writes, serves
//!   reads, and shutdown exits non-zero. A restart re-reads what the disk
//!   really holds, checking every CRC.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::info;

use super::format::{
    encode_file_header, encode_record, read_record, record_end, RecordType, FILE_HEADER_LEN,
    SEGMENT_MAGIC,
};
use super::io::{Disk, LogFile};
use super::manifest::Manifest;
use super::mapguard::{report_damage, GuardedMap};
use super::StorageError;
use crate::config::FsyncPolicy;

#[path = "journal_failure.rs"]
mod failure;
use failure::Failure;
#[path = "journal_payload.rs"]
mod payload;
pub use failure::FailureKind;
use payload::read_at;
pub use payload::PayloadRef;

/// Where a record starts: segment sequence number and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// Segment sequence number.
    pub seq: u64,
    /// Offset of the record header in the segment file.
    pub offset: u64,
}

/// A segment that is no longer appended to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Sequence number (its file name).
    pub seq: u64,
    /// LSN of its first record.
    pub base_lsn: u64,
    /// Length in bytes.
    pub len: u64,
    /// Records in it, when known (a segment kept from before the last
    /// checkpoint is not read at start-up; it is counted when needed).
    pub records: Option<u64>,
}

/// The file name of segment `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:016}.seg")
}

struct Current {
    seq: u64,
    base_lsn: u64,
    file: Arc<dyn LogFile>,
    /// Bytes handed to the OS.
    written_len: u64,
}

/// Write buffer capacity kept after a write; a larger buffer is freed.
const BUF_KEEP: usize = 1024 * 1024;

struct State {
    /// LSN the next record gets (LSNs start at 1).
    next_lsn: u64,
    /// Encoded records not yet written.
    buf: Vec<u8>,
    /// Highest LSN handed to the OS.
    written_lsn: u64,
    /// Highest LSN known to be on stable storage.
    synced_lsn: u64,
    current: Current,
    /// Older segments, oldest first.
    sealed: Vec<SegmentMeta>,
    last_sync: Instant,
    shutdown: bool,
    /// LSN of the newest durable checkpoint (0: none), for the manifest.
    checkpoint_lsn: u64,
}

impl State {
    /// The files the directory must hold now.
    fn manifest(&self) -> Manifest {
        let mut segments: Vec<u64> = self.sealed.iter().map(|s| s.seq).collect();
        segments.push(self.current.seq);
        Manifest {
            checkpoint_lsn: self.checkpoint_lsn,
            segments,
        }
    }
}

/// Counters for INFO persistence.
#[derive(Debug, Default)]
pub struct JournalStats {
    /// fsyncs done.
    pub fsyncs: AtomicU64,
    /// Bytes written.
    pub bytes_written: AtomicU64,
    /// Writes that failed (each one dropped its buffer).
    pub write_failures: AtomicU64,
    /// Times the refusal after a failed write was lifted.
    pub resumes: AtomicU64,
    /// Times the keyspace was rolled back to the log after a failed write.
    pub rollbacks: AtomicU64,
}

/// The commit log.
pub struct Journal {
    dir: PathBuf,
    disk: Arc<dyn Disk>,
    segment_max: u64,
    policy: AtomicU8,
    state: Mutex<State>,
    wake_syncer: Condvar,
    synced: watch::Sender<u64>,
    /// Whether `failure` is set: read lock-free on every write command.
    failed: AtomicBool,
    failure: Mutex<Option<Failure>>,
    /// A failed write dropped records the keyspace already holds: the
    /// server must roll the keyspace back to the log before anything else
    /// runs ([`Journal::take_rollback`]).
    rollback: AtomicBool,
    maps: Mutex<std::collections::BTreeMap<u64, Arc<GuardedMap>>>,
    /// Counters.
    pub stats: JournalStats,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("dir", &self.dir).finish()
    }
}

/// Where recovery left the log: what to continue from.
#[derive(Debug, Clone)]
pub struct LogTail {
    /// LSN the next record gets.
    pub next_lsn: u64,
    /// Segments found, oldest first; the last is appended to.
    pub segments: Vec<SegmentMeta>,
    /// LSN of the checkpoint loaded (0: none).
    pub checkpoint_lsn: u64,
}

fn policy_code(p: FsyncPolicy) -> u8 {
    match p {
        FsyncPolicy::Always => 0,
        FsyncPolicy::EverySec => 1,
        FsyncPolicy::No => 2,
    }
}

impl Journal {
    /// Opens the log after recovery: appends continue in the last segment,
    /// or a first segment is created. Starts the syncer thread.
    pub fn open(
        dir: &Path,
        disk: Arc<dyn Disk>,
        policy: FsyncPolicy,
        segment_max: u64,
        tail: LogTail,
    ) -> Result<Arc<Journal>, StorageError> {
        let mut sealed = tail.segments;
        let current = match sealed.pop() {
            Some(last) => Current {
                seq: last.seq,
                base_lsn: last.base_lsn,
                file: disk
                    .open_append(&dir.join(segment_name(last.seq)))
                    .map_err(|e| StorageError::io(dir.join(segment_name(last.seq)), e))?,
                written_len: last.len,
            },
            None => create_segment(&*disk, dir, 1, tail.next_lsn)?,
        };
        let last = tail.next_lsn.saturating_sub(1);
        let journal = Arc::new(Journal {
            dir: dir.to_path_buf(),
            disk,
            segment_max: segment_max.max(4096),
            policy: AtomicU8::new(policy_code(policy)),
            state: Mutex::new(State {
                next_lsn: tail.next_lsn,
                buf: Vec::with_capacity(64 * 1024),
                written_lsn: last,
                synced_lsn: last,
                current,
                sealed,
                last_sync: Instant::now(),
                shutdown: false,
                checkpoint_lsn: tail.checkpoint_lsn,
            }),
            wake_syncer: Condvar::new(),
            synced: watch::channel(last).0,
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            rollback: AtomicBool::new(false),
            maps: Mutex::new(Default::default()),
            stats: JournalStats::default(),
        });
        // Whatever recovery removed or created, the manifest now names
        // exactly what is there.
        {
            let st = journal.state.lock().expect("journal lock");
            st.manifest().store(&*journal.disk, dir)?;
        }
        let syncer = journal.clone();
        std::thread::Builder::new()
            .name("sluice-fsync".into())
            .spawn(move || syncer.sync_loop())
            .map_err(|e| StorageError::io(dir.to_path_buf(), e))?;
        Ok(journal)
    }

    /// The fsync policy in force.
    pub fn policy(&self) -> FsyncPolicy {
        match self.policy.load(Ordering::Relaxed) {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        }
    }

    /// Changes the fsync policy (CONFIG SET appendfsync).
    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.policy.store(policy_code(policy), Ordering::Relaxed);
        self.wake_syncer.notify_all();
    }

    /// Appends one record; returns its LSN and position. Runs under the
    /// keyspace lock, so it only buffers (and, once per segment, rolls).
    pub fn append(&self, kind: RecordType, payload: &[u8]) -> Result<(u64, Pos), StorageError> {
        self.check()?;
        let mut st = self.state.lock().expect("journal lock");
        let size = st.current.written_len + st.buf.len() as u64;
        let record_len = (super::format::RECORD_HEADER_LEN + payload.len()) as u64;
        if size + record_len > self.segment_max && size > super::format::FILE_HEADER_LEN as u64 {
            self.roll(&mut st)?;
        }
        let offset = st.current.written_len + st.buf.len() as u64;
        encode_record(&mut st.buf, kind, payload);
        let lsn = st.next_lsn;
        st.next_lsn += 1;
        Ok((
            lsn,
            Pos {
                seq: st.current.seq,
                offset,
            },
        ))
    }

    /// Writes everything buffered up to (at least) `lsn` to the OS.
    pub fn flush(&self, lsn: u64) -> Result<(), StorageError> {
        let mut st = self.state.lock().expect("journal lock");
        if st.written_lsn >= lsn {
            return self.check();
        }
        self.write_buffered(&mut st)
    }

    fn write_buffered(&self, st: &mut State) -> Result<(), StorageError> {
        self.check()?;
        if st.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = st.current.file.append(&st.buf) {
            return Err(self.drop_failed_write(st, e));
        }
        st.current.written_len += st.buf.len() as u64;
        self.stats
            .bytes_written
            .fetch_add(st.buf.len() as u64, Ordering::Relaxed);
        st.buf.clear();
        if st.buf.capacity() > BUF_KEEP {
            // A large batch must not pin its size for the life of the process.
            crate::memory::released(std::mem::take(&mut st.buf).capacity());
        }
        st.written_lsn = st.next_lsn - 1;
        // Only `always` has a writer waiting on the fsync; under `everysec`
        // and `no` the syncer polls on its own, and waking it per write
        // cost a futex call per command for nothing.
        if self.policy() == FsyncPolicy::Always {
            self.wake_syncer.notify_one();
        }
        Ok(())
    }

    /// Seals the current segment (written and fsynced) and starts a new one
    /// whose first record will get the next LSN. Returns that LSN.
    fn roll(&self, st: &mut State) -> Result<u64, StorageError> {
        self.write_buffered(st)?;
        if let Err(e) = st.current.file.sync() {
            return Err(self.fail(format!("fsync before rolling the segment: {e}")));
        }
        st.synced_lsn = st.written_lsn;
        self.synced.send_replace(st.synced_lsn);
        let next = create_segment(&*self.disk, &self.dir, st.current.seq + 1, st.next_lsn)
            .map_err(|e| self.fail_with(FailureKind::Write, e.to_string()))?;
        let old = std::mem::replace(&mut st.current, next);
        st.sealed.push(SegmentMeta {
            seq: old.seq,
            base_lsn: old.base_lsn,
            len: old.written_len,
            records: Some(st.next_lsn - old.base_lsn),
        });
        // The new segment's header is durable; from now on its absence is
        // damage, not a roll cut short.
        st.manifest()
            .store(&*self.disk, &self.dir)
            .map_err(|e| self.fail_with(FailureKind::Write, format!("manifest: {e}")))?;
        info!("journal: started segment {}", segment_name(st.current.seq));
        Ok(st.next_lsn)
    }

    /// Starts a new segment now (checkpoints replay from its first LSN).
    /// Returns (first LSN of the new segment, its sequence number).
    pub fn roll_now(&self) -> Result<(u64, u64), StorageError> {
        let mut st = self.state.lock().expect("journal lock");
        let lsn = self.roll(&mut st)?;
        Ok((lsn, st.current.seq))
    }

    /// Writes and fsyncs everything appended so far (SHUTDOWN, SAVE).
    pub fn sync_now(&self) -> Result<(), StorageError> {
        let mut st = self.state.lock().expect("journal lock");
        self.write_buffered(&mut st)?;
        if let Err(e) = st.current.file.sync() {
            return Err(self.fail(format!("fsync: {e}")));
        }
        st.synced_lsn = st.written_lsn;
        self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.synced.send_replace(st.synced_lsn);
        Ok(())
    }

    /// Waits until `lsn` is on stable storage (after [`Journal::flush`]).
    pub async fn wait_durable(&self, lsn: u64) -> Result<(), StorageError> {
        let mut rx = self.synced.subscribe();
        loop {
            self.check()?;
            if *rx.borrow_and_update() >= lsn {
                return Ok(());
            }
            if rx.changed().await.is_err() {
                return self.check();
            }
        }
    }

    /// The syncer thread.
    fn sync_loop(&self) {
        loop {
            let (target, file) = {
                let mut st = self.state.lock().expect("journal lock");
                loop {
                    if st.shutdown {
                        return;
                    }
                    match self.failure_kind() {
                        None => {}
                        Some(FailureKind::Sync) => return,
                        Some(FailureKind::Write) => {
                            // Once a second, see whether the disk takes
                            // writes again. Nothing is pending: the failed
                            // write's buffer was dropped.
                            st = self
                                .wake_syncer
                                .wait_timeout(st, Duration::from_secs(1))
                                .expect("journal lock")
                                .0;
                            if st.shutdown {
                                return;
                            }
                            if self.failure_kind() == Some(FailureKind::Write)
                                && self.probe(&mut st)
                            {
                                self.resume();
                            }
                            continue;
                        }
                    }
                    let pending = st.written_lsn > st.synced_lsn;
                    let due = match self.policy() {
                        FsyncPolicy::Always => pending,
                        FsyncPolicy::EverySec => {
                            pending && st.last_sync.elapsed() >= Duration::from_secs(1)
                        }
                        FsyncPolicy::No => false,
                    };
                    if due {
                        break;
                    }
                    let wait = match self.policy() {
                        FsyncPolicy::Always => Duration::from_secs(1),
                        _ => Duration::from_millis(100),
                    };
                    st = self
                        .wake_syncer
                        .wait_timeout(st, wait)
                        .expect("journal lock")
                        .0;
                }
                st.last_sync = Instant::now();
                (st.written_lsn, st.current.file.clone())
            };
            if let Err(e) = file.sync() {
                self.fail(format!("fsync: {e}"));
                return;
            }
            self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
            let mut st = self.state.lock().expect("journal lock");
            // A roll meanwhile may have synced further already.
            st.synced_lsn = st.synced_lsn.max(target);
            self.synced.send_replace(st.synced_lsn);
        }
    }

    /// Whether [`Journal::close`] has run.
    pub fn is_closed(&self) -> bool {
        self.state.lock().expect("journal lock").shutdown
    }

    /// Stops the syncer thread after a final write and fsync. Fails if
    /// what was acknowledged could not be made durable.
    pub fn close(&self) -> Result<(), StorageError> {
        let result = match self.failure_kind() {
            None => self.sync_now(),
            // The failed write's records were dropped, never acknowledged;
            // everything before them is in the file and no fsync has
            // failed, so one more is trustworthy.
            Some(FailureKind::Write) => {
                let st = self.state.lock().expect("journal lock");
                st.current
                    .file
                    .sync()
                    .map_err(|e| self.fail(format!("final fsync: {e}")))
            }
            Some(FailureKind::Sync) => self.check(),
        };
        self.state.lock().expect("journal lock").shutdown = true;
        self.wake_syncer.notify_all();
        result
    }

    /// Reads the payload of the record at `pos` through the segment's map,
    /// without copying it. Bytes read through the result after this returns
    /// are only the file's if [`PayloadRef::verify`] says so afterwards.
    pub fn read_payload(&self, pos: Pos) -> Result<PayloadRef, StorageError> {
        let path = self.dir.join(segment_name(pos.seq));
        {
            // A record still in the buffer must reach the file first.
            let mut st = self.state.lock().expect("journal lock");
            if pos.seq == st.current.seq && pos.offset >= st.current.written_len {
                self.write_buffered(&mut st)?;
            }
        }
        let mut map = self.map_segment_covering(pos.seq, pos.offset)?;
        if matches!(
            read_record(&map, pos.offset as usize),
            Err(super::format::BadRecord::Truncated)
        ) {
            // The map predates the record's last bytes: map again.
            let Some(fresh) = self
                .disk
                .map(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?
            else {
                // Cut to nothing by someone else.
                return Err(self.unreadable(pos, &map, None));
            };
            map = Arc::new(fresh);
            self.maps
                .lock()
                .expect("maps lock")
                .insert(pos.seq, map.clone());
        }
        match read_at(map.clone(), pos, &path) {
            Ok(payload) if !map.is_damaged() => Ok(payload),
            result => Err(self.unreadable(pos, &map, result.err())),
        }
    }

    /// The map of segment `seq`, mapped again if the one held ends before
    /// `offset` plus a record header, or lost pages to a truncation.
    fn map_segment_covering(&self, seq: u64, offset: u64) -> Result<Arc<GuardedMap>, StorageError> {
        let path = self.dir.join(segment_name(seq));
        let mut maps = self.maps.lock().expect("maps lock");
        let needs_map = maps.get(&seq).is_none_or(|m| {
            (m.len() as u64) < offset + super::format::RECORD_HEADER_LEN as u64 || m.is_damaged()
        });
        if needs_map {
            let map = self
                .disk
                .map(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?
                .ok_or_else(|| StorageError::Corrupt {
                    file: path.display().to_string(),
                    offset,
                    reason: "empty segment".into(),
                })?;
            maps.insert(seq, Arc::new(map));
        }
        Ok(maps[&seq].clone())
    }

    /// The error for a record at `pos` that did not read back (`cause`, or
    /// `map` lost pages under the read). A file shorter than what was
    /// written to it was cut by someone else: that is the error then,
    /// logged once per file; for the segment being appended to, the log
    /// also refuses writes from now on, since records appended at the new
    /// end would not be where their positions say.
    fn unreadable(
        &self,
        pos: Pos,
        map: &Arc<GuardedMap>,
        cause: Option<StorageError>,
    ) -> StorageError {
        let path = map.path();
        let corrupt = |reason: String| StorageError::Corrupt {
            file: path.display().to_string(),
            offset: pos.offset,
            reason,
        };
        if map.is_damaged() {
            // Drop the damaged map so the next read maps the file afresh.
            let mut maps = self.maps.lock().expect("maps lock");
            if maps.get(&pos.seq).is_some_and(|m| Arc::ptr_eq(m, map)) {
                maps.remove(&pos.seq);
            }
        }
        let (written, current) = {
            let st = self.state.lock().expect("journal lock");
            if st.current.seq == pos.seq {
                (Some(st.current.written_len), true)
            } else {
                let sealed = st.sealed.iter().find(|s| s.seq == pos.seq);
                (sealed.map(|s| s.len), false)
            }
        };
        // The length check, on the error path only.
        let now = match self.disk.map(path) {
            Ok(fresh) => fresh.map_or(0, |m| m.len() as u64),
            Err(e) => return StorageError::io(path.to_path_buf(), e),
        };
        let reason = match written {
            Some(written) if now < written => format!(
                "segment file is {now} bytes, shorter than the {written} written to it \
                 (cut by another process?)"
            ),
            _ if map.is_damaged() => "mapped bytes of the segment file vanished while \
                 being read (cut by another process?)"
                .to_string(),
            _ => return cause.unwrap_or_else(|| corrupt("unreadable record".into())),
        };
        report_damage(path, pos.offset, &reason);
        if current && self.failure().is_none() {
            self.fail(format!("segment {}: {reason}", path.display()));
        }
        corrupt(reason)
    }

    /// Copies the payload records at `positions` to the end of the log (for
    /// compaction: live payloads of segments about to be deleted) and
    /// returns their new positions, in the same order. Each is read through
    /// the map and appended as a new `Payload` record.
    pub fn copy_forward(&self, positions: &[Pos]) -> Result<Vec<Pos>, StorageError> {
        positions
            .iter()
            .map(|&pos| {
                let payload = self.read_payload(pos)?;
                let (_, new) = self.append(RecordType::Payload, &payload)?;
                // A copy of vanished bytes stays an orphan nothing points at.
                payload.verify()?;
                Ok(new)
            })
            .collect()
    }

    /// Bytes in all segments plus the buffer.
    pub fn size(&self) -> u64 {
        let st = self.state.lock().expect("journal lock");
        st.sealed.iter().map(|s| s.len).sum::<u64>() + st.current.written_len + st.buf.len() as u64
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.state.lock().expect("journal lock").sealed.len() + 1
    }

    /// Whether appended records wait for an fsync (INFO aof_pending_fsync).
    pub fn pending_fsync(&self) -> bool {
        let st = self.state.lock().expect("journal lock");
        st.next_lsn - 1 > st.synced_lsn
    }

    /// Sequence numbers and record counts of the sealed segments older than
    /// `seq` (compaction weighs their live entries against this). A count
    /// not known yet is found by walking the segment's record headers.
    pub fn record_counts_before(&self, seq: u64) -> Result<Vec<(u64, u64)>, StorageError> {
        let unknown: Vec<u64> = {
            let st = self.state.lock().expect("journal lock");
            st.sealed
                .iter()
                .filter(|s| s.seq < seq && s.records.is_none())
                .map(|s| s.seq)
                .collect()
        };
        let mut counted = Vec::with_capacity(unknown.len());
        for s in unknown {
            let map = self.map_segment_covering(s, 0)?;
            let mut offset = FILE_HEADER_LEN;
            let mut n = 0u64;
            while let Some(next) = record_end(&map, offset) {
                n += 1;
                offset = next;
            }
            if map.is_damaged() {
                return Err(self.unreadable(Pos { seq: s, offset: 0 }, &map, None));
            }
            counted.push((s, n));
        }
        let mut st = self.state.lock().expect("journal lock");
        for meta in &mut st.sealed {
            if let Some(&(_, n)) = counted.iter().find(|(s, _)| *s == meta.seq) {
                meta.records = Some(n);
            }
        }
        Ok(st
            .sealed
            .iter()
            .filter(|s| s.seq < seq)
            .filter_map(|s| Some((s.seq, s.records?)))
            .collect())
    }

    /// Sealed segments older than `seq`, which a checkpoint made dead,
    /// except those in `keep` (they still hold live payloads): removes
    /// their files and forgets them. Returns how many.
    pub fn drop_segments_before(
        &self,
        seq: u64,
        keep: &ahash::AHashSet<u64>,
    ) -> Result<usize, StorageError> {
        let doomed: Vec<SegmentMeta> = {
            let mut st = self.state.lock().expect("journal lock");
            let (dead, live): (Vec<SegmentMeta>, Vec<SegmentMeta>) = st
                .sealed
                .iter()
                .partition(|s| s.seq < seq && !keep.contains(&s.seq));
            if dead.is_empty() {
                return Ok(0);
            }
            // The manifest stops naming them before any is deleted.
            let mut without = st.manifest();
            without
                .segments
                .retain(|s| !dead.iter().any(|d| d.seq == *s));
            without.store(&*self.disk, &self.dir)?;
            st.sealed = live;
            dead
        };
        let mut maps = self.maps.lock().expect("maps lock");
        for s in &doomed {
            maps.remove(&s.seq);
            let path = self.dir.join(segment_name(s.seq));
            match self.disk.remove(&path) {
                Ok(()) => {}
                // A DEBUG RELOAD meanwhile may have removed the leftover.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io(path.clone(), e)),
            }
        }
        drop(maps);
        self.disk
            .sync_dir(&self.dir)
            .map_err(|e| StorageError::io(self.dir.clone(), e))?;
        Ok(doomed.len())
    }

    /// Records that the checkpoint replaying from `lsn` is durable (renamed
    /// into place, directory fsynced): the manifest names it from now on,
    /// so older checkpoints may go.
    pub fn note_checkpoint(&self, lsn: u64) -> Result<(), StorageError> {
        let mut st = self.state.lock().expect("journal lock");
        st.checkpoint_lsn = lsn;
        st.manifest().store(&*self.disk, &self.dir)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Creates segment `seq` with its header, fsynced along with the directory.
fn create_segment(
    disk: &dyn Disk,
    dir: &Path,
    seq: u64,
    base_lsn: u64,
) -> Result<Current, StorageError> {
    let path = dir.join(segment_name(seq));
    let file = disk
        .open_append(&path)
        .map_err(|e| StorageError::io(path.clone(), e))?;
    let header = encode_file_header(SEGMENT_MAGIC, base_lsn);
    // An earlier attempt (on a full disk) may have left part of a header.
    file.truncate(0)
        .and_then(|()| file.append(&header))
        .and_then(|()| file.sync())
        .map_err(|e| StorageError::io(path.clone(), e))?;
    disk.sync_dir(dir)
        .map_err(|e| StorageError::io(dir.to_path_buf(), e))?;
    Ok(Current {
        seq,
        base_lsn,
        file,
        written_len: header.len() as u64,
    })
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
