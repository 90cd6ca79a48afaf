//! Start-up: load the newest checkpoint, replay the log after it, check
//! every CRC.
//!
//! A bad record at the tail of the last segment is a torn write from a
//! crash: the file is cut there and the offset logged. A bad record
//! anywhere else is corruption: start-up stops with the file and offset,
//! unless the operator chose `--recovery tolerate-corruption`, which skips
//! what cannot be read and counts it. A file in the journal directory that
//! Sluice did not write, or a gap in the segment numbers, is an error too.

use std::path::Path;

use ahash::AHashSet;

use tracing::{info, warn};

use super::format::{
    decode_file_header, read_record, record_end, RecordType, FILE_HEADER_LEN, SEGMENT_MAGIC,
};
use super::io::Disk;
use super::journal::{segment_name, LogTail, SegmentMeta};
use super::manifest::{Manifest, MANIFEST_NAME, MANIFEST_TMP};
use super::ops::{decode_batch, decode_op};
use super::{checkpoint, RecoveryMode, StorageError};
use crate::keyspace::Keyspace;
use crate::storage::format::codec::Reader;

/// What recovery found, for the log and INFO persistence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// LSN the loaded checkpoint covers up to (exclusive), 0 without one.
    pub checkpoint_lsn: u64,
    /// Keys loaded from the checkpoint.
    pub checkpoint_keys: u64,
    /// Log records replayed.
    pub records_replayed: u64,
    /// Bytes cut from a torn tail.
    pub truncated_bytes: u64,
    /// Records skipped as corrupt (tolerate-corruption only).
    pub skipped_records: u64,
    /// Stream entries dropped because their payloads could not be read
    /// (tolerate-corruption only).
    pub dropped_entries: u64,
}

/// Rebuilds `keyspace` from the journal directory `dir`. Returns where the
/// log continues and what was found.
pub fn recover(
    dir: &Path,
    disk: &dyn Disk,
    mode: RecoveryMode,
    keyspace: &mut Keyspace,
    now: i64,
) -> Result<(LogTail, RecoveryStats), StorageError> {
    disk.create_dir_all(dir)
        .map_err(|e| StorageError::io(dir.to_path_buf(), e))?;
    let names = disk
        .list(dir)
        .map_err(|e| StorageError::io(dir.to_path_buf(), e))?;
    let mut segments = Vec::new();
    let mut checkpoints = Vec::new();
    for name in names {
        if let Some(seq) = parse_numbered(&name, "", ".seg") {
            segments.push(seq);
        } else if let Some(lsn) = parse_numbered(&name, "checkpoint-", ".ckpt") {
            checkpoints.push(lsn);
        } else if name == MANIFEST_NAME {
            // Read below.
        } else if name == MANIFEST_TMP {
            // A manifest that was being replaced: the old one stands.
            let path = dir.join(&name);
            disk.remove(&path).map_err(|e| StorageError::io(path, e))?;
        } else if name.starts_with("checkpoint-") && name.ends_with(".tmp") {
            // A checkpoint that was being written when the server stopped.
            warn!("removing unfinished checkpoint {name}");
            let path = dir.join(&name);
            disk.remove(&path).map_err(|e| StorageError::io(path, e))?;
        } else {
            return Err(StorageError::Foreign {
                file: dir.join(&name).display().to_string(),
            });
        }
    }
    segments.sort_unstable();
    checkpoints.sort_unstable();
    let manifest = Manifest::load(disk, dir)?;
    let named = check_manifest(dir, disk, manifest.as_ref(), &mut segments, &checkpoints)?;

    let mut stats = RecoveryStats::default();
    if let Some(&lsn) = checkpoints.last() {
        let path = dir.join(checkpoint::checkpoint_name(lsn));
        let keys = checkpoint::load(&path, disk, keyspace, now)?;
        stats.checkpoint_lsn = lsn;
        stats.checkpoint_keys = keys;
        info!("loaded checkpoint {} ({keys} keys)", path.display());
    }

    // Segments wholly before the checkpoint stay only while live stream
    // entries keep payloads in them: they are not replayed, and numbers
    // between them may be gone. Replay starts at the last segment that
    // begins at or before the checkpoint's LSN.
    let mut metas = Vec::new();
    if stats.checkpoint_lsn > 0 {
        let mut start = 0;
        let mut bases = Vec::new();
        for (i, &seq) in segments.iter().enumerate() {
            match segment_base(dir, disk, seq)? {
                Some(base) if base <= stats.checkpoint_lsn => {
                    start = i;
                    bases.push(base);
                }
                Some(_) => break,
                // Only the newest segment may lack its header (a roll cut
                // short); a kept one without it lost its contents.
                None if i + 1 < segments.len() => {
                    return Err(StorageError::Corrupt {
                        file: dir.join(segment_name(seq)).display().to_string(),
                        offset: 0,
                        reason: "segment shorter than its header (emptied or cut?)".into(),
                    })
                }
                None => break,
            }
        }
        for (&seq, &base_lsn) in segments[..start].iter().zip(&bases) {
            let path = dir.join(segment_name(seq));
            let len = data_len(disk, &path)?;
            metas.push(SegmentMeta {
                seq,
                base_lsn,
                len: len as u64,
                records: None,
            });
        }
        segments.drain(..start);
    }
    for pair in segments.windows(2) {
        if pair[1] != pair[0] + 1 {
            return Err(StorageError::Missing {
                file: dir.join(segment_name(pair[0] + 1)).display().to_string(),
            });
        }
    }
    let archived_count = metas.len();
    // Segments whose payloads replay did not check record by record: those
    // kept from before the checkpoint, and those where damage was skipped.
    let mut unchecked: AHashSet<u64> = metas.iter().map(|m: &SegmentMeta| m.seq).collect();
    let mut next_lsn = stats.checkpoint_lsn.max(1);
    let mut skipped_before = false;
    let last_index = segments.len().wrapping_sub(1);
    for (i, &seq) in segments.iter().enumerate() {
        let path = dir.join(segment_name(seq));
        let file = path.display().to_string();
        let map = disk
            .map(&path)
            .map_err(|e| StorageError::io(path.clone(), e))?;
        let data: &[u8] = map.as_deref().unwrap_or(&[]);
        let is_last = i == last_index;
        if data.len() < FILE_HEADER_LEN && is_last && !named.contains(&seq) {
            // Created but its header never made it to disk: start it again.
            warn!("{file}: segment without a complete header; recreating it");
            drop(map);
            disk.remove(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?;
            continue;
        }
        let base_lsn = decode_file_header(data, SEGMENT_MAGIC, &file)?;
        // Each segment continues where the previous one ended; the first
        // must not start after what the checkpoint covers.
        let first = metas.len() == archived_count;
        let expected = if first {
            stats.checkpoint_lsn.max(1)
        } else {
            next_lsn
        };
        // Skipped damage may have hidden more than one record, so after it a
        // later start is tolerated too.
        let gap_tolerated = skipped_before && base_lsn > expected;
        if (first && base_lsn > expected) || (!first && base_lsn != expected && !gap_tolerated) {
            return Err(StorageError::Corrupt {
                file,
                offset: 0,
                reason: format!(
                    "segment starts at LSN {base_lsn}, expected {expected}: records are missing"
                ),
            });
        }
        let mut lsn = base_lsn;
        let mut skipped_here = false;
        let mut offset = FILE_HEADER_LEN;
        let mut end = data.len();
        while offset < data.len() {
            match read_record(data, offset) {
                Ok((record, next)) => {
                    if record.kind == RecordType::Batch && lsn >= stats.checkpoint_lsn {
                        let ops = decode_batch(record.payload, now).ok_or_else(|| {
                            StorageError::Corrupt {
                                file: file.clone(),
                                offset: offset as u64,
                                reason: "batch does not decode".into(),
                            }
                        })?;
                        for op in ops {
                            keyspace.apply(op).map_err(|reason| StorageError::Corrupt {
                                file: file.clone(),
                                offset: offset as u64,
                                reason,
                            })?;
                        }
                        stats.records_replayed += 1;
                    }
                    lsn += 1;
                    offset = next;
                }
                Err(bad) => {
                    let torn = is_last && is_torn_tail(data, offset);
                    if torn {
                        warn!(
                            "{file}: torn record at offset {offset} ({bad}); truncating {} bytes",
                            data.len() - offset
                        );
                        stats.truncated_bytes += (data.len() - offset) as u64;
                        end = offset;
                        break;
                    }
                    if mode == RecoveryMode::Strict {
                        return Err(StorageError::Corrupt {
                            file,
                            offset: offset as u64,
                            reason: bad.to_string(),
                        });
                    }
                    warn!("{file}: skipping corrupt record at offset {offset} ({bad})");
                    stats.skipped_records += 1;
                    skipped_here = true;
                    // Trust the length only when it leads to an intact
                    // record (or the end); the length itself may be what is
                    // damaged, so otherwise resume at the next intact record.
                    // Nothing is cut: this is not the log's torn tail.
                    let by_len = record_end(data, offset)
                        .filter(|&n| n == data.len() || read_record(data, n).is_ok());
                    match by_len.or_else(|| next_intact_record(data, offset + 1)) {
                        Some(next) => {
                            lsn += 1;
                            offset = next;
                        }
                        None => break,
                    }
                }
            }
        }
        drop(map);
        if end < data_len(disk, &path)? {
            let f = disk
                .open_append(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?;
            f.truncate(end as u64)
                .and_then(|()| f.sync())
                .map_err(|e| StorageError::io(path.clone(), e))?;
        }
        metas.push(SegmentMeta {
            seq,
            base_lsn,
            len: end as u64,
            records: Some(lsn - base_lsn),
        });
        next_lsn = lsn;
        skipped_before = skipped_here;
        if skipped_here {
            unchecked.insert(seq);
        }
    }
    let present: AHashSet<u64> = metas.iter().map(|m| m.seq).collect();
    stats.dropped_entries = verify_payloads(dir, disk, mode, keyspace, &unchecked, &present)?;
    keyspace.take_changes();
    Ok((
        LogTail {
            next_lsn: next_lsn.max(stats.checkpoint_lsn).max(1),
            segments: metas,
            checkpoint_lsn: stats.checkpoint_lsn,
        },
        stats,
    ))
}

/// Holds the directory to its manifest: every segment and the checkpoint
/// it names must be there. A segment it does not name is either newer than
/// every named one (a roll the stop cut short: kept) or older (a deletion
/// the stop cut short: removed). Returns the named segments. A directory
/// without a manifest was written before manifests existed (or lost it):
/// it is loaded as found, with a warning, and gets one when the journal
/// opens.
fn check_manifest(
    dir: &Path,
    disk: &dyn Disk,
    manifest: Option<&Manifest>,
    segments: &mut Vec<u64>,
    checkpoints: &[u64],
) -> Result<AHashSet<u64>, StorageError> {
    let Some(m) = manifest else {
        if !segments.is_empty() || !checkpoints.is_empty() {
            warn!(
                "{}: no manifest; loading the files found (a missing newest segment cannot be told from here)",
                dir.display()
            );
        }
        return Ok(AHashSet::new());
    };
    if m.checkpoint_lsn > 0 && !checkpoints.contains(&m.checkpoint_lsn) {
        return Err(StorageError::Missing {
            file: dir
                .join(checkpoint::checkpoint_name(m.checkpoint_lsn))
                .display()
                .to_string(),
        });
    }
    for seq in &m.segments {
        if segments.binary_search(seq).is_err() {
            return Err(StorageError::Missing {
                file: dir.join(segment_name(*seq)).display().to_string(),
            });
        }
    }
    let named: AHashSet<u64> = m.segments.iter().copied().collect();
    let newest = m.segments.last().copied().unwrap_or(0);
    let mut kept = Vec::with_capacity(segments.len());
    for &seq in segments.iter() {
        if named.contains(&seq) || seq > newest {
            kept.push(seq);
        } else {
            let path = dir.join(segment_name(seq));
            warn!(
                "removing {}: the manifest no longer names it (a deletion cut short)",
                path.display()
            );
            disk.remove(&path).map_err(|e| StorageError::io(path, e))?;
        }
    }
    *segments = kept;
    Ok(named)
}

/// Checks that every stream entry (and node master) whose payload is in an
/// `unchecked` segment reads back: the segment is there, and the record at
/// the position is whole, a payload, with its CRC. Strict recovery refuses
/// at the first that does not, naming file and offset; tolerant recovery
/// drops those entries from their streams (so readers and groups move on)
/// and returns how many. A node whose master payload is gone takes its
/// first readable entry as master.
fn verify_payloads(
    dir: &Path,
    disk: &dyn Disk,
    mode: RecoveryMode,
    keyspace: &mut Keyspace,
    unchecked: &AHashSet<u64>,
    present: &AHashSet<u64>,
) -> Result<u64, StorageError> {
    use crate::keyspace::stream::Loc;
    use crate::keyspace::Value;

    let mut maps: ahash::AHashMap<u32, Option<super::mapguard::GuardedMap>> =
        ahash::AHashMap::new();
    let mut problem = |loc: Loc| -> Result<Option<(String, u64, String)>, StorageError> {
        let seq = u64::from(loc.seg);
        if !present.contains(&seq) {
            let file = dir.join(segment_name(seq)).display().to_string();
            return Ok(Some((
                file,
                u64::from(loc.offset),
                "segment is missing".into(),
            )));
        }
        if !unchecked.contains(&seq) {
            return Ok(None);
        }
        let path = dir.join(segment_name(seq));
        if !maps.contains_key(&loc.seg) {
            let map = disk
                .map(&path)
                .map_err(|e| StorageError::io(path.clone(), e))?;
            maps.insert(loc.seg, map);
        }
        let data: &[u8] = maps[&loc.seg].as_deref().unwrap_or(&[]);
        let why = match read_record(data, loc.offset as usize) {
            Ok((r, _)) if r.kind == RecordType::Payload => return Ok(None),
            Ok((r, _)) => format!(
                "a {:?} record where a stream entry payload should be",
                r.kind
            ),
            Err(bad) => bad.to_string(),
        };
        Ok(Some((
            path.display().to_string(),
            u64::from(loc.offset),
            why,
        )))
    };
    let mut dropped = 0u64;
    for db in 0..keyspace.db_count() {
        let (d, _) = keyspace.db(db);
        let keys: Vec<bytes::Bytes> = d
            .iter()
            .filter(|(_, e)| matches!(e.value, Value::Stream(_)))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some(Value::Stream(stream)) = d.table().get(&key).map(|e| &e.value) else {
                continue;
            };
            let mut bad_entries = Vec::new();
            let mut bad_masters = Vec::new();
            for node in stream.nodes() {
                if let Some(p) = problem(node.master_loc)? {
                    bad_masters.push((node.master, p));
                }
                for &(id, loc) in &node.entries {
                    if let Some(p) = problem(loc)? {
                        bad_entries.push((id, p));
                    }
                }
            }
            let first = bad_entries.first().or(bad_masters.first());
            let Some((id, (file, offset, why))) = first else {
                continue;
            };
            let key_text = String::from_utf8_lossy(&key);
            if mode == RecoveryMode::Strict {
                return Err(StorageError::Corrupt {
                    file: file.clone(),
                    offset: *offset,
                    reason: format!("stream {key_text:?} entry {id}: payload unreadable: {why}"),
                });
            }
            warn!(
                "{file}: stream {key_text:?}: dropping {} entries whose payloads are unreadable (first {id} at offset {offset}: {why})",
                bad_entries.len()
            );
            let ids: Vec<_> = bad_entries.iter().map(|(id, _)| *id).collect();
            let masters: Vec<_> = bad_masters.iter().map(|(id, _)| *id).collect();
            if let Some(stream) = d.stream_for_repair(&key) {
                dropped += stream.delete(&ids);
                stream.rebase_masters(&masters);
            }
        }
    }
    Ok(dropped)
}

/// The base LSN in segment `seq`'s header; `None` if the header is
/// incomplete.
fn segment_base(dir: &Path, disk: &dyn Disk, seq: u64) -> Result<Option<u64>, StorageError> {
    let path = dir.join(segment_name(seq));
    let map = disk
        .map(&path)
        .map_err(|e| StorageError::io(path.clone(), e))?;
    let data: &[u8] = map.as_deref().unwrap_or(&[]);
    if data.len() < FILE_HEADER_LEN {
        return Ok(None);
    }
    decode_file_header(data, SEGMENT_MAGIC, &path.display().to_string()).map(Some)
}

fn data_len(disk: &dyn Disk, path: &Path) -> Result<usize, StorageError> {
    Ok(disk
        .map(path)
        .map_err(|e| StorageError::io(path.to_path_buf(), e))?
        .map_or(0, |m| m.len()))
}

/// Whether a bad record at `offset` of the last segment is a torn write.
///
/// A torn write is only ever the last, incomplete one, so the test is
/// what follows the damage, never what the damaged header claims (a
/// flipped bit in its length makes an intact-looking record run past the
/// end of the file, or end early): the tail is torn when everything from
/// `offset` on is zeros (space the file system allocated but the write
/// never filled) or when no intact record (whole, CRC valid, known type)
/// starts anywhere after `offset`. An intact record after the damage means
/// acknowledged writes follow it: that is corruption, not a tear.
fn is_torn_tail(data: &[u8], offset: usize) -> bool {
    data[offset..].iter().all(|&b| b == 0) || next_intact_record(data, offset + 1).is_none()
}

/// The offset of the first intact record (whole, CRC valid, known type)
/// starting at or after `from`.
fn next_intact_record(data: &[u8], from: usize) -> Option<usize> {
    let last_start = data.len().checked_sub(super::format::RECORD_HEADER_LEN)?;
    (from..=last_start).find(|&at| {
        // The type byte is the cheap test; the CRC decides.
        RecordType::from_byte(data[at + 8]).is_some() && read_record(data, at).is_ok()
    })
}

/// `prefix` + 16 digits + `suffix` → the number.
fn parse_numbered(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Decodes one checkpoint entry payload into an op.
pub(super) fn decode_entry(payload: &[u8], now: i64) -> Option<crate::keyspace::Op> {
    let mut r = Reader::new(payload);
    let op = decode_op(&mut r, now)?;
    r.is_done().then_some(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex, OnceLock};

    use bytes::Bytes;

    use crate::config::FsyncPolicy;
    use crate::keyspace::{Entry, KeyspaceStats, Value};
    use crate::storage::io::RealDisk;
    use crate::storage::Storage;

    use crate::storage::meddling::{Hook, Meddling};

    /// APPEND as the command does it: the log gets the tail, not the value.
    fn append(keyspace: &mut Keyspace, key: &[u8], tail: &'static [u8]) {
        let mut stats = KeyspaceStats::default();
        let (db, _) = keyspace.db(0);
        let entry = db
            .get_mut_for_append(key, Bytes::from_static(tail), 0, &mut stats)
            .unwrap();
        let Value::Str(s) = &mut entry.value else {
            panic!("{key:?} holds no string");
        };
        let mut grown = s.to_vec();
        grown.extend_from_slice(tail);
        *s = grown.into();
        entry.raw_encoding = true;
    }

    fn state(keyspace: &Keyspace) -> Vec<(Bytes, Value)> {
        let mut out: Vec<_> = keyspace.dbs()[0]
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A checkpoint copies keys a batch at a time while commands keep
    /// running. An APPEND that lands between two batches, on a key the copy
    /// has not reached yet, is both in the checkpoint and in the log after
    /// it: recovery must not apply it a second time.
    #[test]
    fn names() {
        assert_eq!(parse_numbered("0000000000000012.seg", "", ".seg"), Some(12));
        assert_eq!(parse_numbered("12.seg", "", ".seg"), None);
        assert_eq!(
            parse_numbered("checkpoint-0000000000000005.ckpt", "checkpoint-", ".ckpt"),
            Some(5)
        );
    }

    #[test]
    fn appends_during_a_checkpoint_copy_are_not_replayed_twice() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config {
            dir: dir.path().to_path_buf(),
            appendfsync: FsyncPolicy::No,
            ..Default::default()
        };
        let keyspace = Arc::new(Mutex::new(Keyspace::new(16)));
        let storage_slot: Arc<OnceLock<Arc<Storage>>> = Arc::new(OnceLock::new());
        let keys: Vec<Bytes> = (0..3000).map(|i| Bytes::from(format!("k{i}"))).collect();
        let hook: Hook = {
            let (keyspace, storage, keys) = (keyspace.clone(), storage_slot.clone(), keys.clone());
            // Between the first and second chunk of keys (append 0 is the
            // file header).
            Arc::new(move |n| {
                if n != 1 {
                    return;
                }
                let mut ks = keyspace.lock().unwrap();
                for key in &keys {
                    append(&mut ks, key, b"+");
                    storage.get().unwrap().journal_changes(&mut ks).unwrap();
                }
            })
        };
        let disk: Arc<dyn Disk> = Arc::new(Meddling { hook });
        let storage = {
            let mut ks = keyspace.lock().unwrap();
            Arc::new(Storage::open(&config, disk, &mut ks, 0).unwrap())
        };
        storage_slot.set(storage.clone()).unwrap();
        {
            let mut ks = keyspace.lock().unwrap();
            for key in &keys {
                let (db, _) = ks.db(0);
                db.insert(
                    key.clone(),
                    Entry::new(Value::Str(Bytes::from_static(b"v")), 0),
                );
                storage.journal_changes(&mut ks).unwrap();
            }
        }
        storage.checkpoint(&keyspace, || 0).unwrap().unwrap();
        // After the checkpoint, appends are logged as appends again.
        {
            let mut ks = keyspace.lock().unwrap();
            append(&mut ks, &keys[0], b"!");
            storage.journal_changes(&mut ks).unwrap();
        }
        storage.journal.close().unwrap();
        let expected = state(&keyspace.lock().unwrap());
        assert_eq!(expected[0].1, Value::Str(Bytes::from_static(b"v+!")));
        assert_eq!(
            expected
                .iter()
                .filter(|(_, v)| *v == Value::Str(Bytes::from_static(b"v+")))
                .count(),
            2999
        );

        let mut recovered = Keyspace::new(16);
        let jdir = dir.path().join("journal");
        let (_, stats) =
            recover(&jdir, &RealDisk, RecoveryMode::Strict, &mut recovered, 0).unwrap();
        assert!(stats.checkpoint_lsn > 0 && stats.records_replayed >= 3000);
        let got = state(&recovered);
        let wrong = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
        assert_eq!(
            wrong, 0,
            "{wrong} keys came back with an append applied twice"
        );
        assert_eq!(got, expected);
    }
}
