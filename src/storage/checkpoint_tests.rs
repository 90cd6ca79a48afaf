//! A checkpoint copying big values while commands change them: a disk
//! whose checkpoint file runs client commands before chosen appends (the
//! copy appends once per hold of the keyspace lock, or per piece of a big
//! sorted set), then recovery compared with the state in memory.

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::checkpoint::{self, CheckpointInfo};
use super::format::{read_record, RecordType, FILE_HEADER_LEN};
use super::io::{Disk, RealDisk};
use super::recovery::{decode_entry, recover};
use super::{RecoveryMode, Storage};
use crate::config::FsyncPolicy;
use crate::keyspace::{Entry, Keyspace, KeyspaceStats, Op, Value, ZSet};

use super::meddling::{Hook, Meddling};

const BIG: &[u8] = b"big";
const MEMBERS: u32 = 50_000;

fn member(i: u32) -> Bytes {
    Bytes::from(format!("m{i:06}"))
}

/// A command that changes the sorted set at `key` in place (its changes
/// are journaled as member ops); does nothing if `key` holds none.
fn zset_cmd(ks: &mut Keyspace, key: &[u8], change: impl FnOnce(&mut ZSet)) {
    let mut stats = KeyspaceStats::default();
    let (db, _) = ks.db(0);
    if let Some(Entry {
        value: Value::ZSet(z),
        ..
    }) = db.get_zset_mut(key, 0, &mut stats)
    {
        change(z);
    }
}

/// Keys with their values and expiry, sorted by key.
type State = Vec<(Bytes, Value, Option<i64>)>;

/// Database 0 as a [`State`].
fn state(keyspace: &Keyspace) -> State {
    let mut out: Vec<_> = keyspace.dbs()[0]
        .iter()
        .map(|(k, e)| (k.clone(), e.value.clone(), e.expire_at()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A keyspace holding a 50k-member set at `big` (scores 0, 1, 2, … by
/// member, so ranks and positions are easy to reason about), a small set
/// and a string; a checkpoint of it whose copy runs `meddle` before each
/// append to the file, with the storage to journal through; then the log
/// is closed. Returns the state in memory, the checkpoint's report, and
/// the journal directory.
fn checkpoint_with(
    meddle: impl Fn(&mut Keyspace, usize) + Send + Sync + 'static,
) -> (State, CheckpointInfo, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config {
        dir: dir.path().to_path_buf(),
        appendfsync: FsyncPolicy::No,
        ..Default::default()
    };
    let keyspace = Arc::new(Mutex::new(Keyspace::new(16)));
    let storage_slot: Arc<OnceLock<Arc<Storage>>> = Arc::new(OnceLock::new());
    let hook: Hook = {
        let (keyspace, storage) = (keyspace.clone(), storage_slot.clone());
        Arc::new(move |n| {
            let mut ks = keyspace.lock().unwrap();
            meddle(&mut ks, n);
            storage.get().unwrap().journal_changes(&mut ks).unwrap();
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
        let (db, _) = ks.db(0);
        let pairs = (0..MEMBERS).map(|i| (member(i), f64::from(i)));
        let big = ZSet::from_pairs(pairs, Default::default());
        db.insert(
            Bytes::from_static(BIG),
            Entry::new(Value::ZSet(Box::new(big)), 0),
        );
        let small = ZSet::from_pairs([(Bytes::from("a"), 1.0)], Default::default());
        db.insert(
            Bytes::from("small"),
            Entry::new(Value::ZSet(Box::new(small)), 0),
        );
        db.insert(
            Bytes::from("s"),
            Entry::new(Value::Str(Bytes::from_static(b"v")), 0),
        );
        storage.journal_changes(&mut ks).unwrap();
    }
    let info = storage.checkpoint(&keyspace, || 0).unwrap().unwrap();
    // After the checkpoint, one more change goes to the log only.
    {
        let mut ks = keyspace.lock().unwrap();
        zset_cmd(&mut ks, b"small", |z| {
            z.insert(Bytes::from("b"), 2.0);
        });
        storage.journal_changes(&mut ks).unwrap();
    }
    storage.journal.close().unwrap();
    let expected = state(&keyspace.lock().unwrap());
    (expected, info, dir)
}

/// Checkpoint + log, as start-up reads them.
fn recovered(dir: &tempfile::TempDir) -> (State, u64) {
    let mut keyspace = Keyspace::new(16);
    let jdir = dir.path().join("journal");
    let (_, stats) = recover(&jdir, &RealDisk, RecoveryMode::Strict, &mut keyspace, 0).unwrap();
    assert!(stats.checkpoint_lsn > 0);
    (state(&keyspace), stats.checkpoint_keys)
}

/// The checkpoint file's entry records, decoded.
fn checkpoint_ops(dir: &tempfile::TempDir, info: &CheckpointInfo) -> Vec<Op> {
    let path = dir
        .path()
        .join("journal")
        .join(checkpoint::checkpoint_name(info.lsn));
    let data = std::fs::read(path).unwrap();
    let mut offset = FILE_HEADER_LEN;
    let mut ops = Vec::new();
    loop {
        let (record, next) = read_record(&data, offset).unwrap();
        match record.kind {
            RecordType::CheckpointEntry => ops.push(decode_entry(record.payload, 0).unwrap()),
            RecordType::CheckpointEnd => return ops,
            other => panic!("unexpected {other:?} record"),
        }
        offset = next;
    }
}

fn key_of(op: &Op) -> &[u8] {
    match op {
        Op::Put { key, .. } | Op::ZSet { key, .. } => key,
        other => panic!("unexpected op {other:?} in a checkpoint"),
    }
}

/// Members of the big set that the checkpoint file alone holds.
fn checkpoint_members(ops: &[Op]) -> Vec<Bytes> {
    let mut out = Vec::new();
    for op in ops.iter().filter(|op| key_of(op) == BIG) {
        match op {
            Op::Put { entry, .. } => {
                let Value::ZSet(z) = &entry.value else {
                    panic!("big is not a set in the checkpoint");
                };
                out.extend(z.iter().map(|(m, _)| m.clone()));
            }
            Op::ZSet { ops, .. } => out.extend(ops.iter().map(|op| match op {
                crate::keyspace::ZSetOp::Set { member, .. } => member.clone(),
                other => panic!("a piece removes {other:?}"),
            })),
            _ => unreachable!(),
        }
    }
    out
}

/// Between pieces of the copy, members go at the lowest ranks (an untouched
/// member's rank shifts, its position does not), scores change both ways,
/// members come below and above the copy's position, and the expiry
/// changes. Checkpoint + log must give exactly the state in memory, and the
/// copy must have run through those changes (it is not one hold).
#[test]
fn a_big_sorted_set_changed_between_pieces_recovers_exactly() {
    let (expected, info, dir) = checkpoint_with(|ks, n| {
        if !(2..=40).contains(&n) || n % 3 != 0 {
            return;
        }
        let n = n as u32;
        zset_cmd(ks, BIG, |z| {
            for _ in 0..300 {
                let low = z.at_rank(0).map(|(m, _)| m.clone()).unwrap();
                z.remove(&low);
            }
            // Far ahead of the copy, down below it, and back up.
            z.insert(member(MEMBERS - 1 - n), -f64::from(n));
            z.insert(member(1000 * n + 1), f64::from(MEMBERS + n));
            z.remove(&member(1000 * n + 2));
            z.insert(Bytes::from(format!("new-low-{n}")), -0.5);
            z.insert(Bytes::from(format!("new-high-{n}")), f64::from(MEMBERS));
        });
        let (db, _) = ks.db(0);
        db.set_expire(BIG, Some(1_000_000_000_000 + i64::from(n)));
    });
    let big = expected.iter().find(|(k, ..)| k == BIG).unwrap();
    assert!(big.2.is_some(), "the hook never ran");

    let ops = checkpoint_ops(&dir, &info);
    let pieces = ops.iter().filter(|op| key_of(op) == BIG).count();
    assert!(
        pieces > 40,
        "the big set went into {pieces} record(s): copied under one hold"
    );
    // Members the hook added far ahead of the copy are in the file: the
    // copy read the set after the hook had run, between two pieces.
    let copied = checkpoint_members(&ops);
    assert!(copied.contains(&Bytes::from("new-high-3")));
    assert!(!copied.contains(&Bytes::from("new-low-39")));
    assert_eq!(info.keys, 3, "keys, not records");

    let (got, keys) = recovered(&dir);
    assert_eq!(keys, 3);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!(g == e, "{:?} came back different", e.0);
    }
}

/// The key is deleted between two pieces, then holds a string: the copy
/// stops, and the log's `Del` and `Put` decide.
#[test]
fn a_big_sorted_set_deleted_mid_copy_recovers_exactly() {
    let (expected, info, dir) = checkpoint_with(|ks, n| {
        let (db, _) = ks.db(0);
        if n == 10 {
            db.remove(BIG);
        }
        if n == 12 {
            db.insert(
                Bytes::from_static(BIG),
                Entry::new(Value::Str(Bytes::from_static(b"now a string")), 0),
            );
        }
    });
    let ops = checkpoint_ops(&dir, &info);
    let pieces = ops.iter().filter(|op| key_of(op) == BIG).count();
    assert!((2..15).contains(&pieces), "{pieces} pieces");
    let (got, _) = recovered(&dir);
    assert_eq!(got, expected);
    assert!(matches!(
        &expected.iter().find(|(k, ..)| k == BIG).unwrap().1,
        Value::Str(_)
    ));
}

/// The key is replaced by another, smaller set between two pieces (with
/// members above the copy's position that the old set never had), which
/// then changes in place: the copy stops at the old set, and the log's
/// whole `Put` of the new set and its member ops decide.
#[test]
fn a_big_sorted_set_replaced_mid_copy_recovers_exactly() {
    let (expected, info, dir) = checkpoint_with(|ks, n| {
        if n == 10 {
            let (db, _) = ks.db(0);
            db.remove(BIG);
            let pairs = (0..MEMBERS)
                .step_by(7)
                .map(|i| (member(i), f64::from(i) + 0.5));
            let new = ZSet::from_pairs(pairs, Default::default());
            db.insert(
                Bytes::from_static(BIG),
                Entry::new(Value::ZSet(Box::new(new)), 0),
            );
        }
        if n == 12 {
            zset_cmd(ks, BIG, |z| {
                z.remove(&member(MEMBERS - 1 - (MEMBERS - 1) % 7));
                z.insert(Bytes::from("late"), 1e9);
            });
        }
    });
    let ops = checkpoint_ops(&dir, &info);
    let copied = checkpoint_members(&ops);
    // The copy stopped at the old set: nothing of the new one is in it.
    assert!(copied.len() < 15 * 1024, "{} members copied", copied.len());
    assert!(!copied.contains(&Bytes::from("late")));
    let (got, _) = recovered(&dir);
    assert_eq!(got, expected);
    let Value::ZSet(z) = &expected.iter().find(|(k, ..)| k == BIG).unwrap().1 else {
        panic!("big is not a set");
    };
    assert_eq!(z.score(b"late"), Some(1e9));
}
