//! Checkpoints: the whole keyspace written to one file, so the log before
//! it can be deleted (the AOF-rewrite analog).
//!
//! Writing one never stops the server for long: the log rolls to a new
//! segment (the checkpoint's start LSN), then keys are copied out a few
//! hundred at a time, each batch under a short hold of the keyspace lock.
//! No value is encoded under the lock in time that grows with its size:
//! strings and streams are cloned cheaply there and encoded after it, and a
//! big sorted set is copied in pieces, each under a hold of its own
//! ([`copy_zset`]), and so are big sets ([`copy_set`]) and hashes
//! ([`copy_hash`]).
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
use bytes::Bytes;

use super::compact::{self, LiveMap};
use super::format::{
    decode_file_header, encode_file_header, encode_record, read_record, RecordType,
    CHECKPOINT_MAGIC, FILE_HEADER_LEN,
};
use super::io::{Disk, LogFile};
use super::journal::Journal;
use super::ops::{
    encode_hash_put, encode_hash_sets_op, encode_put, encode_set_adds_op, encode_set_put,
    encode_zset_put, encode_zset_sets_op,
};
use super::recovery::decode_entry;
use super::StorageError;
use crate::keyspace::{Entry, Keyspace, Op, Value};

/// Table slots visited per hold of the keyspace lock, at most.
const BATCH_SLOTS: usize = 256;

/// Members of a sorted set copied per hold of the keyspace lock: a bigger
/// set is copied in pieces of this many, each under a hold of its own.
const ZSET_PIECE: usize = 1024;

/// Work per hold of the keyspace lock, at most (a little more for the
/// slot that crosses it): a string or a stream counts one, as it is only
/// cloned under the lock, and a sorted set copied whole counts its members.
const HOLD_WORK: usize = 4096;

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

/// What one hold of the keyspace lock has taken on so far.
#[derive(Default)]
struct Hold {
    slots: usize,
    work: usize,
}

impl Hold {
    /// Takes one live key: copies it now, clones it into `later` (to be
    /// encoded once the lock is let go), or notes it in `big` (a sorted
    /// set to copy in pieces, by its identity).
    fn slot(
        &mut self,
        key: &Bytes,
        entry: &Entry,
        later: &mut Vec<(Bytes, Entry)>,
        big: &mut Vec<(Bytes, u64, BigKind)>,
        copy_now: impl FnOnce(&Bytes, &Entry),
    ) {
        self.slots += 1;
        // Every value type must say here how it is copied without holding
        // the lock for its size: only what is small or cheap to clone is
        // touched under the lock. Lists, hashes and sets, when they come,
        // go the sorted set's way (pieces resumed by position, with
        // final-state journal ops to replay over them) or the stream's
        // (copy-on-write, cloned here, encoded later).
        match &entry.value {
            // A string is reference-counted, so its clone costs the same
            // whatever its size; encoding (and CRC'ing) a 500 MB one under
            // the lock stalled every client for 3.4 s. A stream's nodes are
            // shared copy-on-write, so its clone is a reference per node of
            // 100 entries; encoding millions of entries here stalled every
            // client for 100+ ms.
            Value::Str(_) | Value::Stream(_) => {
                later.push((key.clone(), entry.clone()));
                self.work += 1;
            }
            // A list's chunks are shared copy-on-write too: its clone is a
            // reference per chunk of a few KB, and it keeps the list's
            // version, which the log's later list ops are replayed
            // against (so none applies twice over this copy).
            Value::List(l) => {
                later.push((key.clone(), entry.clone()));
                self.work += 1 + l.chunk_count() / 64;
            }
            Value::ZSet(z) if z.len() <= ZSET_PIECE => {
                copy_now(key, entry);
                self.work += z.len();
            }
            // Copying a 2-million-member set under one hold stalled every
            // client for 88 ms.
            Value::ZSet(z) => {
                big.push((key.clone(), z.id(), BigKind::ZSet));
                self.work += 1;
            }
            Value::Set(set) if set.len() <= ZSET_PIECE => {
                copy_now(key, entry);
                self.work += set.len();
            }
            // A big set goes the sorted set's way, in pieces.
            Value::Set(set) => {
                big.push((key.clone(), set.id(), BigKind::Set));
                self.work += 1;
            }
            // A hash's fields stay in their table slots, so its pieces
            // resume at a slot cursor (see `copy_hash`).
            Value::Hash(h) if h.len() <= ZSET_PIECE => {
                copy_now(key, entry);
                self.work += h.len();
            }
            Value::Hash(h) => {
                big.push((key.clone(), h.id(), BigKind::Hash));
                self.work += 1;
            }
        }
    }

    fn full(&self) -> bool {
        self.slots >= BATCH_SLOTS || self.work >= HOLD_WORK
    }
}

/// Which kind of big value a checkpoint copies in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BigKind {
    /// A sorted set ([`copy_zset`]).
    ZSet,
    /// A set ([`copy_set`]).
    Set,
    /// A hash ([`copy_hash`]).
    Hash,
}

/// A big sorted set (or set, or hash) to copy in pieces: the one with identity `id` at `key`
/// in database `db`.
struct Piece<'a, F> {
    keyspace: &'a Mutex<Keyspace>,
    now: &'a F,
    swaps: u64,
    db: usize,
    key: &'a Bytes,
    id: u64,
}

/// How copying a big sorted set ended.
#[derive(Debug, PartialEq, Eq)]
enum ZSetCopy {
    /// Its `Put` (the first piece) and maybe more pieces are in the file.
    Written,
    /// The key was deleted, expired or replaced before the first piece.
    Gone,
    /// A SWAPDB ran: the checkpoint starts over.
    SwapSeen,
}

/// Copies a big sorted set [`ZSET_PIECE`] members at a time, each piece
/// under a short hold of the lock, appending each to `file` as its own
/// record: the first as a `Put` of a set of just those members, with the
/// key's expiry; the next ones as `ZSet` ops setting theirs.
///
/// A piece resumes strictly after the last (score, member) copied, not at
/// a rank: a member nobody touches while the copy runs keeps its position,
/// so it is copied exactly once, while removing members below the position
/// shifts every rank above it. Every member that is touched gets a
/// final-state op (`Set` or `Rem`) in the log after the checkpoint's LSN,
/// which replays to the same result over either the old or the new state.
///
/// If the key no longer holds this set (deleted, expired, another type,
/// or another set, as a new ZADD after a DEL makes), the copy stops: the
/// log holds that change as a `Del` or a whole `Put`, and replaying it
/// replaces whatever the pieces so far hold. The key's expiry is only
/// taken with the first piece; a change to it is in the log as well.
fn copy_zset<F: Fn() -> i64>(
    piece: &Piece<'_, F>,
    file: &dyn LogFile,
    chunk: &mut Vec<u8>,
    op: &mut Vec<u8>,
) -> std::io::Result<ZSetCopy> {
    let db = piece.db as u32;
    let mut last: Option<(f64, Bytes)> = None;
    let mut pairs: Vec<(Bytes, f64)> = Vec::with_capacity(ZSET_PIECE);
    let stopped = |last: &Option<_>| {
        Ok(if last.is_some() {
            ZSetCopy::Written
        } else {
            ZSetCopy::Gone
        })
    };
    loop {
        pairs.clear();
        let expire_at = {
            let mut ks = piece.keyspace.lock().expect("keyspace lock");
            if ks.swaps() != piece.swaps {
                return Ok(ZSetCopy::SwapSeen);
            }
            let at = (piece.now)();
            let (d, _) = ks.db(piece.db);
            let entry = match d.table().get(piece.key) {
                Some(e) if e.expire_at().is_none_or(|t| at <= t) => e,
                _ => return stopped(&last),
            };
            let Value::ZSet(z) = &entry.value else {
                return stopped(&last);
            };
            if z.id() != piece.id {
                return stopped(&last);
            }
            let after = last.as_ref().map(|(s, m)| (*s, &m[..]));
            pairs.extend(
                z.range_after(after, ZSET_PIECE)
                    .map(|(m, s)| (m.clone(), s)),
            );
            entry.expire_at()
        };
        let Some((member, score)) = pairs.last() else {
            return stopped(&last);
        };
        op.clear();
        if last.is_none() {
            encode_zset_put(op, db, piece.key, expire_at, &pairs);
        } else {
            encode_zset_sets_op(op, db, piece.key, &pairs);
        }
        chunk.clear();
        encode_record(chunk, RecordType::CheckpointEntry, op);
        file.append(chunk)?;
        last = Some((*score, member.clone()));
    }
}

/// Copies a big set [`ZSET_PIECE`] members at a time, each piece under a
/// short hold of the lock, as [`copy_zset`] does: the first piece as a
/// `Put` of a set of just those members (with the key's expiry), the next
/// ones as `Set` ops adding theirs.
///
/// A piece resumes at the member table's scan cursor after the last piece:
/// the table never moves a member, so a member nobody touches while the
/// copy runs is copied exactly once; every member added or removed
/// meanwhile has a final-state op (`Add` or `Rem`) in the log after the
/// checkpoint's LSN, which replays to the same result whether or not the
/// copy saw it. As for sorted sets, a key that no longer holds this set
/// stops the copy (the log replaces it).
fn copy_set<F: Fn() -> i64>(
    piece: &Piece<'_, F>,
    file: &dyn LogFile,
    chunk: &mut Vec<u8>,
    op: &mut Vec<u8>,
) -> std::io::Result<ZSetCopy> {
    let db = piece.db as u32;
    let mut cursor = 0usize;
    let mut first = true;
    let mut members: Vec<Bytes> = Vec::with_capacity(ZSET_PIECE);
    let stopped = |first: bool| {
        Ok(if first {
            ZSetCopy::Gone
        } else {
            ZSetCopy::Written
        })
    };
    loop {
        members.clear();
        let (expire_at, next) = {
            let mut ks = piece.keyspace.lock().expect("keyspace lock");
            if ks.swaps() != piece.swaps {
                return Ok(ZSetCopy::SwapSeen);
            }
            let at = (piece.now)();
            let (d, _) = ks.db(piece.db);
            let entry = match d.table().get(piece.key) {
                Some(e) if e.expire_at().is_none_or(|t| at <= t) => e,
                _ => return stopped(first),
            };
            let Value::Set(set) = &entry.value else {
                return stopped(first);
            };
            if set.id() != piece.id {
                return stopped(first);
            }
            let next = set.scan(cursor, ZSET_PIECE, |m| {
                members.push(Bytes::copy_from_slice(m))
            });
            (entry.expire_at(), next)
        };
        // A piece that met only holes adds nothing.
        if !members.is_empty() {
            op.clear();
            if first {
                encode_set_put(op, db, piece.key, expire_at, &members);
            } else {
                encode_set_adds_op(op, db, piece.key, &members);
            }
            chunk.clear();
            encode_record(chunk, RecordType::CheckpointEntry, op);
            file.append(chunk)?;
            first = false;
        }
        if next == 0 {
            return stopped(first);
        }
        cursor = next;
    }
}

/// Copies a big hash [`ZSET_PIECE`] table slots at a time, each piece
/// under a short hold of the lock, like [`copy_zset`]: the first piece as
/// a `Put` of a hash of just those fields (with the key's expiry), the
/// next ones as `Hash` ops setting theirs (with their field expiries).
///
/// A piece resumes at the next table slot: a field's slot never changes
/// while it exists, so a field nobody touches is copied exactly once, and
/// every field that is touched meanwhile has a final-state op in the log
/// after the checkpoint's LSN. A hash in the small encoding is copied in
/// one piece. If the key no longer holds this hash the copy stops, as for
/// sorted sets.
fn copy_hash<F: Fn() -> i64>(
    piece: &Piece<'_, F>,
    file: &dyn LogFile,
    chunk: &mut Vec<u8>,
    op: &mut Vec<u8>,
) -> std::io::Result<ZSetCopy> {
    let db = piece.db as u32;
    let mut cursor = 0usize;
    let mut first = true;
    let mut fields: Vec<(Bytes, Bytes, Option<i64>)> = Vec::with_capacity(ZSET_PIECE);
    loop {
        fields.clear();
        let (expire_at, next) = {
            let mut ks = piece.keyspace.lock().expect("keyspace lock");
            if ks.swaps() != piece.swaps {
                return Ok(ZSetCopy::SwapSeen);
            }
            let at = (piece.now)();
            let (d, _) = ks.db(piece.db);
            let entry = match d.table().get(piece.key) {
                Some(e) if e.expire_at().is_none_or(|t| at <= t) => e,
                _ => {
                    return Ok(if first {
                        ZSetCopy::Gone
                    } else {
                        ZSetCopy::Written
                    })
                }
            };
            let Value::Hash(h) = &entry.value else {
                return Ok(if first {
                    ZSetCopy::Gone
                } else {
                    ZSetCopy::Written
                });
            };
            if h.id() != piece.id {
                return Ok(if first {
                    ZSetCopy::Gone
                } else {
                    ZSetCopy::Written
                });
            }
            let next = h.scan(cursor, ZSET_PIECE, |f, v| {
                fields.push((
                    Bytes::copy_from_slice(f),
                    Bytes::copy_from_slice(v),
                    h.expire_at(f),
                ));
            });
            (entry.expire_at(), next)
        };
        if !fields.is_empty() {
            op.clear();
            if first {
                encode_hash_put(op, db, piece.key, expire_at, &fields);
            } else {
                encode_hash_sets_op(op, db, piece.key, &fields);
            }
            chunk.clear();
            encode_record(chunk, RecordType::CheckpointEntry, op);
            file.append(chunk)?;
            first = false;
        }
        if next == 0 {
            return Ok(if first {
                ZSetCopy::Gone
            } else {
                ZSetCopy::Written
            });
        }
        cursor = next;
    }
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
        let mut later = Vec::new();
        let mut big = Vec::new();
        for db in 0..dbs {
            let mut cursor = 0;
            loop {
                chunk.clear();
                let done = {
                    let mut ks = keyspace.lock().expect("keyspace lock");
                    if ks.swaps() != swaps {
                        drop(ks);
                        let _ = disk.remove(&tmp);
                        continue 'attempt;
                    }
                    let at = now();
                    let (d, _) = ks.db(db);
                    let mut hold = Hold::default();
                    loop {
                        cursor = d.table().scan(cursor, 1, |key, entry| {
                            if entry.expire_at().is_some_and(|t| at > t) {
                                return;
                            }
                            hold.slot(key, entry, &mut later, &mut big, |key, entry| {
                                put_record(&mut chunk, &mut op, db, key, entry);
                                keys += 1;
                            });
                        });
                        if cursor == 0 {
                            break true;
                        }
                        if hold.full() {
                            break false;
                        }
                    }
                };
                for (key, entry) in later.drain(..) {
                    if let Value::Stream(s) = &entry.value {
                        live.note(db, &key, s, seq);
                    }
                    put_record(&mut chunk, &mut op, db, &key, &entry);
                    keys += 1;
                }
                file.append(&chunk).map_err(io)?;
                for (key, id, kind) in std::mem::take(&mut big) {
                    let piece = Piece {
                        keyspace,
                        now: &now,
                        swaps,
                        db,
                        key: &key,
                        id,
                    };
                    let copied = match kind {
                        BigKind::ZSet => copy_zset(&piece, &*file, &mut chunk, &mut op),
                        BigKind::Set => copy_set(&piece, &*file, &mut chunk, &mut op),
                        BigKind::Hash => copy_hash(&piece, &*file, &mut chunk, &mut op),
                    };
                    match copied.map_err(io)? {
                        ZSetCopy::Written => keys += 1,
                        ZSetCopy::Gone => {}
                        ZSetCopy::SwapSeen => {
                            let _ = disk.remove(&tmp);
                            continue 'attempt;
                        }
                    }
                }
                if done {
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

/// Loads a checkpoint into `keyspace`; returns the number of keys (`Put`
/// records; the later pieces of a big sorted set are not keys of their
/// own). Every record must be intact and the end record present.
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
                match &mut op {
                    // Like Redis loading a snapshot, strings are encoded
                    // afresh: the "changed in place" (raw) mark does not
                    // survive.
                    Op::Put { entry, .. } => {
                        entry.raw_encoding = false;
                        keys += 1;
                    }
                    // A later piece of a big sorted set, set or hash: it
                    // continues the value a `Put` before it started.
                    Op::ZSet { db, key, .. }
                    | Op::Set { db, key, .. }
                    | Op::Hash { db, key, .. } => {
                        let held = keyspace
                            .dbs()
                            .get(*db as usize)
                            .and_then(|d| d.table().get(key))
                            .map(|e| e.value.type_name());
                        let wanted = match &op {
                            Op::ZSet { .. } => "zset",
                            Op::Set { .. } => "set",
                            _ => "hash",
                        };
                        if held != Some(wanted) {
                            return Err(corrupt(
                                offset,
                                format!("{wanted} piece without its {wanted}"),
                            ));
                        }
                    }
                    _ => return Err(corrupt(offset, "unexpected op in a checkpoint".into())),
                }
                keyspace.apply(op).map_err(|r| corrupt(offset, r))?;
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
