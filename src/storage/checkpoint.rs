//! Checkpoints: the whole keyspace written to one file, so the log before
//! it can be deleted (the AOF-rewrite analog).
//!
//! Writing one never stops the server for long: the log rolls to a new
//! segment (the checkpoint's start LSN), then keys are copied out a few
//! hundred at a time, each batch under a short hold of the keyspace lock.
//! A key changed while the copy runs is copied in whichever state the copy
//! saw, and the log from the start LSN on has its later changes, so
//! checkpoint + replay gives the exact state. That holds because every
//! record written while the copy runs is a final state: the keyspace
//! journals APPEND as a delta only outside that window
//! (`Keyspace::set_checkpointing`). Only SWAPDB moves keys
//! between databases behind the copy's back; a checkpoint that sees one
//! starts over. The file is written under a temporary name, fsynced,
//! renamed, and the directory fsynced; only then are older checkpoints
//! and segments deleted: every segment before the roll that no live stream
//! payload is in, and those whose few live payloads [`compact`] copied
//! forward.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use ahash::AHashSet;

use super::compact::{self, LiveMap};
use super::format::{
    decode_file_header, encode_file_header, encode_record, read_record, RecordType,
    CHECKPOINT_MAGIC, FILE_HEADER_LEN,
};
use super::io::Disk;
use super::journal::Journal;
use super::ops::encode_put;
use super::recovery::decode_entry;
use super::StorageError;
use crate::keyspace::{Entry, Keyspace, Op, Value};

/// Keys copied per hold of the keyspace lock.
const BATCH_SLOTS: usize = 256;

/// The file name of the checkpoint that replays from `lsn`.
pub fn checkpoint_name(lsn: u64) -> String {
    format!("checkpoint-{lsn:016}.ckpt")
}

/// What a finished checkpoint wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The LSN replay starts from.
    pub lsn: u64,
    /// Keys written.
    pub keys: u64,
    /// File size.
    pub bytes: u64,
    /// Segments deleted.
    pub segments_removed: usize,
}

/// Appends one key's checkpoint record to `chunk` (`op` is scratch).
fn put_record(chunk: &mut Vec<u8>, op: &mut Vec<u8>, db: usize, key: &[u8], entry: &Entry) {
    op.clear();
    encode_put(op, db as u32, key, entry);
    encode_record(chunk, RecordType::CheckpointEntry, op);
}

/// Writes a checkpoint of `keyspace` and deletes what it makes dead.
pub fn write(
    keyspace: &Mutex<Keyspace>,
    journal: &Journal,
    disk: &dyn Disk,
    now: impl Fn() -> i64,
    moved: &Mutex<AHashSet<u64>>,
) -> Result<CheckpointInfo, StorageError> {
    let dir = journal.dir().to_path_buf();
    let mut failures_at_start;
    'attempt: loop {
        let (lsn, seq, swaps, dbs) = {
            let mut ks = keyspace.lock().expect("keyspace lock");
            let (lsn, seq) = journal.roll_now()?;
            failures_at_start = journal.stats.write_failures.load(Ordering::SeqCst);
            ks.set_checkpointing(true);
            moved.lock().expect("moved lock").clear();
            (lsn, seq, ks.swaps(), ks.db_count())
        };
        // Where live stream payloads are (segments before the roll that
        // they use must stay, or be copied forward).
        let mut live = LiveMap::default();
        // Whatever happens next, deltas come back once the copy is over.
        let _window = CopyWindow(keyspace);
        let tmp = dir.join(format!("checkpoint-{lsn:016}.tmp"));
        let file = disk
            .open_append(&tmp)
            .map_err(|e| StorageError::io(tmp.clone(), e))?;
        let io = |e| StorageError::io(tmp.clone(), e);
        file.truncate(0).map_err(io)?;
        file.append(&encode_file_header(CHECKPOINT_MAGIC, lsn))
            .map_err(io)?;
        let mut keys = 0u64;
        let mut chunk = Vec::new();
        let mut op = Vec::new();
        let mut streams = Vec::new();
        for db in 0..dbs {
            let mut cursor = 0;
            loop {
                chunk.clear();
                {
                    let mut ks = keyspace.lock().expect("keyspace lock");
                    if ks.swaps() != swaps {
                        drop(ks);
                        let _ = disk.remove(&tmp);
                        continue 'attempt;
                    }
                    let at = now();
                    let (d, _) = ks.db(db);
                    cursor = d.table().scan(cursor, BATCH_SLOTS, |key, entry| {
                        if entry.expire_at().is_some_and(|t| at > t) {
                            return;
                        }
                        // A stream may hold millions of entries: under the
                        // lock it is only cloned (a reference per node),
                        // and encoded once the lock is let go. Encoding it
                        // here stalled every client for 100+ ms.
                        if let Value::Stream(_) = &entry.value {
                            streams.push((key.clone(), entry.clone()));
                        } else {
                            put_record(&mut chunk, &mut op, db, key, entry);
                            keys += 1;
                        }
                    });
                }
                for (key, entry) in streams.drain(..) {
                    if let Value::Stream(s) = &entry.value {
                        live.note(db, &key, s, seq);
                    }
                    put_record(&mut chunk, &mut op, db, &key, &entry);
                    keys += 1;
                }
                file.append(&chunk).map_err(io)?;
                if cursor == 0 {
                    break;
                }
            }
        }
        // The copy may hold changes made after the roll (and stream entries
        // whose payloads are after it): their records must be durable
        // before the checkpoint is, or a power cut under `everysec` could
        // leave a checkpoint ahead of the log, pointing at payloads that
        // are gone.
        journal.sync_now()?;
        // A write that failed during the copy dropped records whose effects
        // (and payload positions) the copy may hold; the keyspace was
        // rolled back, but this copy was not.
        if journal.stats.write_failures.load(Ordering::SeqCst) != failures_at_start {
            let _ = disk.remove(&tmp);
            return Err(StorageError::Failed(
                "a journal write failed while the checkpoint was copying".into(),
            ));
        }
        chunk.clear();
        encode_record(&mut chunk, RecordType::CheckpointEnd, &keys.to_le_bytes());
        file.append(&chunk).and_then(|()| file.sync()).map_err(io)?;
        let bytes = file.size().map_err(io)?;
        drop(file);
        let path = dir.join(checkpoint_name(lsn));
        disk.rename(&tmp, &path)
            .map_err(|e| StorageError::io(path.clone(), e))?;
        disk.sync_dir(&dir)
            .map_err(|e| StorageError::io(dir.clone(), e))?;
        journal.note_checkpoint(lsn)?;
        // The new checkpoint is durable and named by the manifest: older
        // ones and the segments before the roll hold nothing live any more.
        for name in disk
            .list(&dir)
            .map_err(|e| StorageError::io(dir.clone(), e))?
        {
            if name.starts_with("checkpoint-")
                && name.ends_with(".ckpt")
                && name != checkpoint_name(lsn)
            {
                let old = dir.join(&name);
                disk.remove(&old).map_err(|e| StorageError::io(old, e))?;
            }
        }
        let mut keep = live.referenced();
        let doomed = compact::candidates(journal, seq, &live)?;
        if !doomed.is_empty() && compact::copy_forward(keyspace, journal, &live, &doomed, swaps)? {
            keep.retain(|s| !doomed.contains(s));
        }
        // Streams written whole to the log since the roll may still point
        // anywhere they pointed then.
        keep.extend(moved.lock().expect("moved lock").iter().copied());
        let segments_removed = journal.drop_segments_before(seq, &keep)?;
        return Ok(CheckpointInfo {
            lsn,
            keys,
            bytes,
            segments_removed,
        });
    }
}

/// Adds the segments `stream`'s entries (and node masters) live in.
pub fn stream_segments(stream: &crate::keyspace::Stream, into: &mut AHashSet<u64>) {
    let mut last = None;
    stream.for_each_loc(|loc| {
        if last != Some(loc.seg) {
            last = Some(loc.seg);
            into.insert(u64::from(loc.seg));
        }
    });
}

/// Ends the final-state journaling window when the copy ends, however it
/// ends.
struct CopyWindow<'a>(&'a Mutex<Keyspace>);

impl Drop for CopyWindow<'_> {
    fn drop(&mut self) {
        if let Ok(mut ks) = self.0.lock() {
            ks.set_checkpointing(false);
        }
    }
}

/// Loads a checkpoint into `keyspace`; returns the number of keys. Every
/// record must be intact and the end record present.
pub fn load(
    path: &Path,
    disk: &dyn Disk,
    keyspace: &mut Keyspace,
    now: i64,
) -> Result<u64, StorageError> {
    let file = path.display().to_string();
    let corrupt = |offset: usize, reason: String| StorageError::Corrupt {
        file: file.clone(),
        offset: offset as u64,
        reason,
    };
    let map = disk
        .map(path)
        .map_err(|e| StorageError::io(path.to_path_buf(), e))?;
    let data: &[u8] = map.as_deref().unwrap_or(&[]);
    decode_file_header(data, CHECKPOINT_MAGIC, &file)?;
    let mut offset = FILE_HEADER_LEN;
    let mut keys = 0u64;
    loop {
        let (record, next) =
            read_record(data, offset).map_err(|e| corrupt(offset, e.to_string()))?;
        match record.kind {
            RecordType::CheckpointEntry => {
                let mut op = decode_entry(record.payload, now)
                    .ok_or_else(|| corrupt(offset, "entry does not decode".into()))?;
                // Like Redis loading a snapshot, strings are encoded afresh:
                // the "changed in place" (raw) mark does not survive.
                if let Op::Put { entry, .. } = &mut op {
                    entry.raw_encoding = false;
                }
                keyspace.apply(op).map_err(|r| corrupt(offset, r))?;
                keys += 1;
            }
            RecordType::CheckpointEnd => {
                let count = record
                    .payload
                    .try_into()
                    .map(u64::from_le_bytes)
                    .map_err(|_| corrupt(offset, "bad end record".into()))?;
                if count != keys || next != data.len() {
                    return Err(corrupt(
                        offset,
                        format!("end record says {count} keys, found {keys}"),
                    ));
                }
                keyspace.take_changes();
                return Ok(keys);
            }
            other => return Err(corrupt(offset, format!("unexpected {other:?} record"))),
        }
        offset = next;
    }
}
