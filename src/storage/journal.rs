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
//! - A failed write or fsync is sticky: the journal refuses every later
//!   append, the server refuses writes (MISCONF) and keeps serving reads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use memmap2::Mmap;
use tokio::sync::watch;
use tracing::{error, info};

use super::format::{
    encode_file_header, encode_record, read_record, record_end, RecordType, FILE_HEADER_LEN,
    SEGMENT_MAGIC,
};
use super::io::{Disk, LogFile};
use super::StorageError;
use crate::config::FsyncPolicy;

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
}

/// Counters for INFO persistence.
#[derive(Debug, Default)]
pub struct JournalStats {
    /// fsyncs done.
    pub fsyncs: AtomicU64,
    /// Bytes written.
    pub bytes_written: AtomicU64,
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
    /// Set once, by the first failed write or fsync; read lock-free on
    /// every write command.
    failure: std::sync::OnceLock<String>,
    maps: Mutex<std::collections::BTreeMap<u64, Arc<Mmap>>>,
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
            }),
            wake_syncer: Condvar::new(),
            synced: watch::channel(last).0,
            failure: std::sync::OnceLock::new(),
            maps: Mutex::new(Default::default()),
            stats: JournalStats::default(),
        });
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

    /// Why the journal refuses writes, if it does.
    pub fn failure(&self) -> Option<String> {
        self.failure.get().cloned()
    }

    fn fail(&self, what: String) -> StorageError {
        error!("journal failure: {what}; refusing writes from now on");
        // The first failure is the one reported from now on.
        let first = self.failure.get_or_init(|| what).clone();
        // Wake everyone waiting for durability: it will not come.
        self.synced.send_modify(|_| {});
        StorageError::Failed(first)
    }

    fn check(&self) -> Result<(), StorageError> {
        match self.failure.get() {
            Some(f) => Err(StorageError::Failed(f.clone())),
            None => Ok(()),
        }
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
            let path = self.dir.join(segment_name(st.current.seq));
            return Err(self.fail(format!("write to {}: {e}", path.display())));
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
            .map_err(|e| self.fail(e.to_string()))?;
        let old = std::mem::replace(&mut st.current, next);
        st.sealed.push(SegmentMeta {
            seq: old.seq,
            base_lsn: old.base_lsn,
            len: old.written_len,
            records: Some(st.next_lsn - old.base_lsn),
        });
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
                    if st.shutdown || self.failure.get().is_some() {
                        return;
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

    /// Stops the syncer thread after a final write and fsync.
    pub fn close(&self) -> Result<(), StorageError> {
        let result = self.sync_now();
        self.state.lock().expect("journal lock").shutdown = true;
        self.wake_syncer.notify_all();
        result
    }

    /// Reads the payload of the record at `pos` through the segment's map,
    /// without copying it.
    pub fn read_payload(&self, pos: Pos) -> Result<PayloadRef, StorageError> {
        let path = self.dir.join(segment_name(pos.seq));
        {
            // A record still in the buffer must reach the file first.
            let mut st = self.state.lock().expect("journal lock");
            if pos.seq == st.current.seq && pos.offset >= st.current.written_len {
                self.write_buffered(&mut st)?;
            }
        }
        let map = self.map_segment_covering(pos.seq, pos.offset)?;
        let mut record = read_record(&map, pos.offset as usize);
        if matches!(record, Err(super::format::BadRecord::Truncated)) {
            // The map predates the record's last bytes: map again.
            let fresh = Arc::new(
                self.disk
                    .map(&path)
                    .map_err(|e| StorageError::io(path.clone(), e))?
                    .expect("non-empty"),
            );
            self.maps
                .lock()
                .expect("maps lock")
                .insert(pos.seq, fresh.clone());
            return read_at(fresh, pos, &path);
        }
        match record.as_mut() {
            Ok(_) => read_at(map, pos, &path),
            Err(e) => Err(StorageError::Corrupt {
                file: path.display().to_string(),
                offset: pos.offset,
                reason: e.to_string(),
            }),
        }
    }

    /// The map of segment `seq`, mapped again if the one held ends before
    /// `offset` plus a record header.
    fn map_segment_covering(&self, seq: u64, offset: u64) -> Result<Arc<Mmap>, StorageError> {
        let path = self.dir.join(segment_name(seq));
        let mut maps = self.maps.lock().expect("maps lock");
        let needs_map = maps
            .get(&seq)
            .is_none_or(|m| (m.len() as u64) < offset + super::format::RECORD_HEADER_LEN as u64);
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

    /// Copies the payload records at `positions` to the end of the log (for
    /// compaction: live payloads of segments about to be deleted) and
    /// returns their new positions, in the same order. Each is read through
    /// the map and appended as a new `Payload` record.
    pub fn copy_forward(&self, positions: &[Pos]) -> Result<Vec<Pos>, StorageError> {
        positions
            .iter()
            .map(|&pos| {
                let payload = self.read_payload(pos)?;
                self.append(RecordType::Payload, &payload)
                    .map(|(_, new)| new)
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
            let (dead, live): (Vec<_>, Vec<_>) = st
                .sealed
                .iter()
                .partition(|s| s.seq < seq && !keep.contains(&s.seq));
            st.sealed = live;
            dead
        };
        let mut maps = self.maps.lock().expect("maps lock");
        for s in &doomed {
            maps.remove(&s.seq);
            let path = self.dir.join(segment_name(s.seq));
            self.disk
                .remove(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?;
        }
        drop(maps);
        self.disk
            .sync_dir(&self.dir)
            .map_err(|e| StorageError::io(self.dir.clone(), e))?;
        Ok(doomed.len())
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn read_at(map: Arc<Mmap>, pos: Pos, path: &Path) -> Result<PayloadRef, StorageError> {
    let (record, _) =
        read_record(&map, pos.offset as usize).map_err(|e| StorageError::Corrupt {
            file: path.display().to_string(),
            offset: pos.offset,
            reason: e.to_string(),
        })?;
    let start = record.payload.as_ptr() as usize - map.as_ptr() as usize;
    let len = record.payload.len();
    Ok(PayloadRef { map, start, len })
}

/// A payload in a mapped segment; derefs to its bytes without a copy.
pub struct PayloadRef {
    map: Arc<Mmap>,
    start: usize,
    len: usize,
}

impl std::ops::Deref for PayloadRef {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
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
    file.append(&header)
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
mod tests {
    use super::*;
    use crate::storage::format::{FILE_HEADER_LEN, RECORD_HEADER_LEN};
    use crate::storage::io::RealDisk;

    fn open(dir: &Path, segment_max: u64) -> Arc<Journal> {
        Journal::open(
            dir,
            Arc::new(RealDisk),
            FsyncPolicy::No,
            segment_max,
            LogTail {
                next_lsn: 1,
                segments: Vec::new(),
            },
        )
        .unwrap()
    }

    #[test]
    fn payloads_read_back_through_the_map_and_copy_forward() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(dir.path(), 4096);
        let mut written = Vec::new();
        for i in 0..200u32 {
            let body = format!("payload-{i}-").repeat(5).into_bytes();
            let (lsn, pos) = journal.append(RecordType::Payload, &body).unwrap();
            assert_eq!(lsn, u64::from(i) + 1);
            written.push((pos, body));
        }
        // 200 payloads of ~60 bytes roll several 4 KB segments.
        assert!(journal.segment_count() > 2);
        for (pos, body) in &written {
            assert_eq!(&*journal.read_payload(*pos).unwrap(), &body[..]);
        }
        let old: Vec<Pos> = written.iter().map(|(p, _)| *p).take(10).collect();
        let moved = journal.copy_forward(&old).unwrap();
        assert_eq!(moved.len(), 10);
        let first_new = moved[0].seq;
        assert!(first_new > old[9].seq, "copies go to the end of the log");
        journal
            .drop_segments_before(first_new, &Default::default())
            .unwrap();
        // The old segments are gone; the copies read back.
        assert!(journal.read_payload(old[0]).is_err());
        for (new, (_, body)) in moved.iter().zip(&written) {
            assert_eq!(&*journal.read_payload(*new).unwrap(), &body[..]);
        }
        journal.close().unwrap();
    }

    fn payload(i: usize) -> Vec<u8> {
        (0..300 + i % 50).map(|j| (i * 31 + j) as u8).collect()
    }

    #[test]
    fn payloads_round_trip_through_the_map_across_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(dir.path(), 4096);
        let mut positions = Vec::new();
        for i in 0..40 {
            let (lsn, pos) = journal.append(RecordType::Payload, &payload(i)).unwrap();
            assert_eq!(lsn, i as u64 + 1);
            // Read straight back: still in the buffer, so it is written first.
            assert_eq!(&*journal.read_payload(pos).unwrap(), &payload(i)[..]);
            if i % 3 == 0 {
                journal.flush(lsn).unwrap();
            }
            positions.push(pos);
        }
        // Positions are in log order; the log rolled several times and the
        // first record of each segment sits right after its header.
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        let last_seq = positions.last().unwrap().seq;
        assert!(last_seq >= 3, "rolled only to segment {last_seq}");
        assert_eq!(journal.segment_count() as u64, last_seq);
        for w in positions.windows(2) {
            if w[1].seq != w[0].seq {
                assert_eq!(w[1].seq, w[0].seq + 1);
                assert_eq!(w[1].offset, FILE_HEADER_LEN as u64);
            }
        }
        for seq in 1..=last_seq {
            let len = std::fs::metadata(dir.path().join(segment_name(seq)))
                .unwrap()
                .len();
            assert!(len <= 4096, "segment {seq} is {len} bytes");
        }
        // Every payload reads back, from sealed segments and the current one.
        for (i, pos) in positions.iter().enumerate() {
            let got = journal.read_payload(*pos).unwrap();
            assert_eq!(&*got, &payload(i)[..], "record {i} at {pos:?}");
        }
        // No copy: two reads of one record see the same mapped bytes.
        let a = journal.read_payload(positions[0]).unwrap();
        let b = journal.read_payload(positions[0]).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr());
        let heap = payload(0);
        assert_ne!(a.as_ptr(), heap.as_ptr());
        journal.close().unwrap();
    }

    #[test]
    fn a_map_made_before_later_appends_is_refreshed() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(dir.path(), 1 << 20);
        let (_, first) = journal.append(RecordType::Payload, b"first").unwrap();
        assert_eq!(&*journal.read_payload(first).unwrap(), b"first");
        // The segment grows after it was mapped.
        let (lsn, second) = journal.append(RecordType::Payload, b"second").unwrap();
        journal.flush(lsn).unwrap();
        assert_eq!(
            second.offset,
            first.offset + (RECORD_HEADER_LEN + b"first".len()) as u64
        );
        assert_eq!(&*journal.read_payload(second).unwrap(), b"second");
        let (_, empty) = journal.append(RecordType::Payload, b"").unwrap();
        assert_eq!(&*journal.read_payload(empty).unwrap(), b"");
        journal.close().unwrap();
    }

    #[test]
    fn a_damaged_payload_is_reported_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(dir.path(), 1 << 20);
        let (_, a) = journal.append(RecordType::Payload, b"aaaa").unwrap();
        let (lsn, b) = journal.append(RecordType::Payload, b"bbbb").unwrap();
        journal.flush(lsn).unwrap();
        let path = dir.path().join(segment_name(b.seq));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[b.offset as usize + RECORD_HEADER_LEN] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(&*journal.read_payload(a).unwrap(), b"aaaa");
        match journal.read_payload(b) {
            Err(StorageError::Corrupt { file, offset, .. }) => {
                assert_eq!(offset, b.offset);
                assert!(file.ends_with(&segment_name(b.seq)), "{file}");
            }
            Err(other) => panic!("wrong error: {other:?}"),
            Ok(p) => panic!("damaged payload read back as {:?}", &*p),
        }
        journal.close().unwrap();
    }
}
