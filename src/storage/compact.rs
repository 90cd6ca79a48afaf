//! Compaction after a checkpoint: copying forward the few live stream
//! payloads of mostly-dead segments, so those segments can go.
//!
//! A checkpoint deletes every segment before its roll that no live stream
//! entry points into. A segment that still holds a live payload (one old
//! unacknowledged entry in a busy trimmed stream, say) would otherwise stay
//! whole until that entry dies. When a segment's live payloads are at most
//! [`LIVE_SHARE`] of its records, they are copied to the end of the log,
//! each stream that uses them is pointed at the copies (journaled as the
//! stream's idempotent `Relocate` op, after the checkpoint's roll, so
//! checkpoint + replay ends at the new positions), the log is fsynced, and
//! only then may the segment be deleted.
//!
//! Nothing here holds the keyspace lock while copying: a stream's old
//! positions are collected under one short hold, the payloads copied
//! without it, and the stream updated under another. An entry deleted in
//! between just leaves a dead copy. The copy is keyed by position, not by
//! stream, so whatever stream holds those positions when the update runs
//! is pointed at the same bytes. A stream written whole to the log while
//! this runs (RENAME, COPY) is covered by the checkpoint's `moved` set, and
//! a SWAPDB makes this pass keep every segment it meant to free.

use ahash::{AHashMap, AHashSet};
use bytes::Bytes;
use std::sync::Mutex;

use super::format::RecordType;
use super::journal::{Journal, Pos};
use super::ops::encode_batch;
use super::StorageError;
use crate::keyspace::{Entry, Keyspace, Loc, Stream, Value};

/// A segment whose live payloads are at most this share of its records
/// (one in ten) is copied forward rather than kept whole.
pub const LIVE_SHARE: u64 = 10;

/// What the checkpoint's copy learned about stream payloads.
#[derive(Debug, Default)]
pub struct LiveMap {
    /// Live positions per segment.
    pub counts: AHashMap<u64, u64>,
    /// Streams with payloads in segments before the roll: (db, key, those
    /// segments).
    pub streams: Vec<(usize, Bytes, Vec<u64>)>,
}

impl LiveMap {
    /// Notes the positions `stream` (at `key` in `db`) uses; `roll` is the
    /// checkpoint's first segment.
    pub fn note(&mut self, db: usize, key: &Bytes, stream: &Stream, roll: u64) {
        let mut old = Vec::new();
        stream.for_each_loc(|loc| {
            let seg = u64::from(loc.seg);
            *self.counts.entry(seg).or_default() += 1;
            if seg < roll && !old.contains(&seg) {
                old.push(seg);
            }
        });
        if !old.is_empty() {
            self.streams.push((db, key.clone(), old));
        }
    }

    /// Every segment a live payload is in.
    pub fn referenced(&self) -> AHashSet<u64> {
        self.counts.keys().copied().collect()
    }
}

/// The segments before `roll` worth copying forward.
pub fn candidates(
    journal: &Journal,
    roll: u64,
    live: &LiveMap,
) -> Result<AHashSet<u64>, StorageError> {
    Ok(journal
        .record_counts_before(roll)?
        .into_iter()
        .filter(|(seq, records)| {
            live.counts
                .get(seq)
                .is_some_and(|&n| n.saturating_mul(LIVE_SHARE) <= *records)
        })
        .map(|(seq, _)| seq)
        .collect())
}

fn pos(loc: Loc) -> Pos {
    Pos {
        seq: u64::from(loc.seg),
        offset: u64::from(loc.offset),
    }
}

fn loc(pos: Pos) -> Loc {
    Loc {
        seg: pos.seq as u32,
        offset: pos.offset as u32,
    }
}

/// Copies the live payloads in `doomed` forward and points their streams
/// at the copies, then fsyncs the log. Returns false when a SWAPDB ran
/// meanwhile (the caller then keeps the segments); `swaps` is the count the
/// checkpoint started with.
pub fn copy_forward(
    keyspace: &Mutex<Keyspace>,
    journal: &Journal,
    live: &LiveMap,
    doomed: &AHashSet<u64>,
    swaps: u64,
) -> Result<bool, StorageError> {
    let in_doomed = |l: &Loc| doomed.contains(&u64::from(l.seg));
    let mut moved_any = false;
    for (db, key, segs) in &live.streams {
        if !segs.iter().any(|s| doomed.contains(s)) {
            continue;
        }
        let old: Vec<Loc> = {
            let mut ks = keyspace.lock().expect("keyspace lock");
            if ks.swaps() != swaps {
                return Ok(false);
            }
            let (d, _) = ks.db(*db);
            let Some(Entry {
                value: Value::Stream(stream),
                ..
            }) = d.table().get(key)
            else {
                continue;
            };
            let mut old = Vec::new();
            stream.for_each_loc(|l| {
                if in_doomed(&l) {
                    old.push(l);
                }
            });
            old.sort_unstable();
            old.dedup();
            old
        };
        if old.is_empty() {
            continue;
        }
        let positions: Vec<Pos> = old.iter().map(|&l| pos(l)).collect();
        let copies = journal.copy_forward(&positions)?;
        let map: AHashMap<Loc, Loc> = old
            .iter()
            .zip(copies)
            .map(|(&from, to)| (from, loc(to)))
            .collect();
        let mut ks = keyspace.lock().expect("keyspace lock");
        if ks.swaps() != swaps {
            return Ok(false);
        }
        let (d, _) = ks.db(*db);
        if d.relocate_stream(key, |l| map.get(&l).copied()) > 0 {
            // Journaled under the lock, in execution order.
            let ops = ks.take_changes();
            journal.append(RecordType::Batch, &encode_batch(&ops))?;
            moved_any = true;
        }
    }
    if moved_any {
        journal.sync_now()?;
    }
    Ok(true)
}
