//! A checkpoint copying a big hash while commands change it between the
//! pieces of the copy, then recovery compared with the state in memory
//! (the hash twin of `checkpoint_tests`).

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::checkpoint::{self, CheckpointInfo};
use super::format::{read_record, RecordType, FILE_HEADER_LEN};
use super::io::{Disk, RealDisk};
use super::meddling::{Hook, Meddling};
use super::recovery::{decode_entry, recover};
use super::{RecoveryMode, Storage};
use crate::config::FsyncPolicy;
use crate::keyspace::hash::Limits;
use crate::keyspace::{Entry, Hash, Keyspace, KeyspaceStats, Op, Value};

const BIG: &[u8] = b"bighash";
const FIELDS: u32 = 20_000;

fn field(i: u32) -> Bytes {
    Bytes::from(format!("f{i:06}"))
}

/// Changes the hash at `key` in place (journaled as field ops).
fn hash_cmd(ks: &mut Keyspace, key: &[u8], change: impl FnOnce(&mut Hash)) {
    let mut stats = KeyspaceStats::default();
    let (db, _) = ks.db(0);
    if let Some(Entry {
        value: Value::Hash(h),
        ..
    }) = db.get_hash_mut(key, 0, &mut stats)
    {
        change(h);
    }
}

type State = Vec<(Bytes, Value, Option<i64>)>;

fn state(keyspace: &Keyspace) -> State {
    let mut out: Vec<_> = keyspace.dbs()[0]
        .iter()
        .map(|(k, e)| (k.clone(), e.value.clone(), e.expire_at()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

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
        let big = Hash::restored(
            (0..FIELDS).map(|i| {
                let at = (i % 10 == 0).then_some(5_000_000_000_000 + i64::from(i));
                (field(i), Bytes::from(i.to_string()), at)
            }),
            Limits::default(),
        );
        db.insert(
            Bytes::from_static(BIG),
            Entry::new(Value::Hash(Box::new(big)), 0),
        );
        let small = Hash::restored(
            [(Bytes::from("a"), Bytes::from("1"), None)],
            Limits::default(),
        );
        db.insert(
            Bytes::from("small"),
            Entry::new(Value::Hash(Box::new(small)), 0),
        );
        storage.journal_changes(&mut ks).unwrap();
    }
    let info = storage.checkpoint(&keyspace, || 0).unwrap().unwrap();
    {
        let mut ks = keyspace.lock().unwrap();
        hash_cmd(&mut ks, b"small", |h| {
            h.insert(Bytes::from("b"), Bytes::from("2"), Limits::default());
        });
        storage.journal_changes(&mut ks).unwrap();
    }
    storage.journal.close().unwrap();
    let expected = state(&keyspace.lock().unwrap());
    (expected, info, dir)
}

fn recovered(dir: &tempfile::TempDir) -> State {
    let mut keyspace = Keyspace::new(16);
    let jdir = dir.path().join("journal");
    let (_, stats) = recover(&jdir, &RealDisk, RecoveryMode::Strict, &mut keyspace, 0).unwrap();
    assert!(stats.checkpoint_lsn > 0);
    state(&keyspace)
}

fn big_records(dir: &tempfile::TempDir, info: &CheckpointInfo) -> usize {
    let path = dir
        .path()
        .join("journal")
        .join(checkpoint::checkpoint_name(info.lsn));
    let data = std::fs::read(path).unwrap();
    let mut offset = FILE_HEADER_LEN;
    let mut n = 0;
    loop {
        let (record, next) = read_record(&data, offset).unwrap();
        match record.kind {
            RecordType::CheckpointEntry => match decode_entry(record.payload, 0).unwrap() {
                Op::Put { key, .. } | Op::Hash { key, .. } if key == BIG => n += 1,
                _ => {}
            },
            RecordType::CheckpointEnd => return n,
            other => panic!("unexpected {other:?} record"),
        }
        offset = next;
    }
}

/// Fields removed behind and ahead of the copy, values and TTLs changed,
/// fields added: checkpoint + log give exactly the state in memory, and
/// the copy ran in pieces through those changes.
#[test]
fn a_big_hash_changed_between_pieces_recovers_exactly() {
    let (expected, info, dir) = checkpoint_with(|ks, n| {
        if !(2..=15).contains(&n) {
            return;
        }
        let n = n as u32;
        hash_cmd(ks, BIG, |h| {
            let limits = Limits::default();
            for i in 0..50 {
                h.remove(&field(n * 1000 + i));
                h.remove(&field(FIELDS - 1 - n * 100 - i));
            }
            h.insert(field(n * 7), Bytes::from("changed"), limits);
            h.insert_with_ttl(
                field(FIELDS - n),
                Bytes::from("ttl"),
                Some(9e12 as i64),
                limits,
            );
            h.insert(Bytes::from(format!("new{n}")), Bytes::from("x"), limits);
            h.set_expire(&field(n * 13 + 1), Some(i64::from(n) + 7_000_000_000_000));
            h.set_expire(&field(n * 10), None);
        });
    });
    assert!(
        big_records(&dir, &info) > 10,
        "the hash was not copied in pieces"
    );
    let got = recovered(&dir);
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert!(g == e, "{:?} came back different", e.0);
    }
    let Value::Hash(h) = &got.iter().find(|(k, ..)| k == BIG).unwrap().1 else {
        panic!("not a hash");
    };
    assert_eq!(h.expire_at(&field(27)), Some(7_000_000_000_002));
    assert_eq!(h.expire_at(&field(20)), None);
    assert_eq!(h.expire_at(&field(160)), Some(5_000_000_000_160));
    assert!(!h.contains(&field(2000)));
}

/// The key is deleted mid-copy and then holds a new small hash.
#[test]
fn a_big_hash_replaced_mid_copy_recovers_exactly() {
    let (expected, _info, dir) = checkpoint_with(|ks, n| {
        let (db, _) = ks.db(0);
        if n == 5 {
            db.remove(BIG);
            let h = Hash::restored(
                [(Bytes::from("only"), Bytes::from("1"), Some(8e12 as i64))],
                Limits::default(),
            );
            db.insert(
                Bytes::from_static(BIG),
                Entry::new(Value::Hash(Box::new(h)), 0),
            );
        }
    });
    assert_eq!(recovered(&dir), expected);
}
