//! A checkpoint copying lists while commands change them. List ops are
//! positional (a push replayed twice pushes twice), so the log's ops from
//! before the copy must be skipped over the copy and those after it
//! applied: the disk runs list commands before each append to the
//! checkpoint file, and recovery must give exactly the state in memory.

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::io::{Disk, RealDisk};
use super::meddling::{Hook, Meddling};
use super::recovery::recover;
use super::{RecoveryMode, Storage};
use crate::config::FsyncPolicy;
use crate::keyspace::list::Fill;
use crate::keyspace::{Entry, Keyspace, KeyspaceStats, List, Value};

/// A command that changes the list at `key` in place (journaled as list
/// ops); does nothing if `key` holds none.
fn list_cmd(ks: &mut Keyspace, key: &[u8], change: impl FnOnce(&mut List)) {
    let mut stats = KeyspaceStats::default();
    let (db, _) = ks.db(0);
    if let Some(Entry {
        value: Value::List(l),
        ..
    }) = db.get_list_mut(key, 0, &mut stats)
    {
        change(l);
    }
}

type State = Vec<(Bytes, Value)>;

fn state(keyspace: &Keyspace) -> State {
    let mut out: Vec<_> = keyspace.dbs()[0]
        .iter()
        .map(|(k, e)| (k.clone(), e.value.clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn b(s: String) -> Bytes {
    Bytes::from(s)
}

/// Lists `l0`…`l3` (one of 20k elements) among 1000 strings, so the copy
/// takes several holds of the lock; `meddle` runs before each append to
/// the checkpoint file. Returns the state in memory and what recovery
/// rebuilds from checkpoint + log.
fn checkpoint_and_recover(
    meddle: impl Fn(&mut Keyspace, usize) + Send + Sync + 'static,
) -> (State, State) {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::Config {
        dir: dir.path().to_path_buf(),
        appendfsync: FsyncPolicy::No,
        ..Default::default()
    };
    let keyspace = Arc::new(Mutex::new(Keyspace::new(16)));
    let slot: Arc<OnceLock<Arc<Storage>>> = Arc::new(OnceLock::new());
    let hook: Hook = {
        let (keyspace, slot) = (keyspace.clone(), slot.clone());
        Arc::new(move |n| {
            let mut ks = keyspace.lock().unwrap();
            meddle(&mut ks, n);
            slot.get().unwrap().journal_changes(&mut ks).unwrap();
        })
    };
    let disk: Arc<dyn Disk> = Arc::new(Meddling { hook });
    let storage = {
        let mut ks = keyspace.lock().unwrap();
        Arc::new(Storage::open(&config, disk, &mut ks, 0).unwrap())
    };
    slot.set(storage.clone()).unwrap();
    {
        let mut ks = keyspace.lock().unwrap();
        let (db, _) = ks.db(0);
        for i in 0..1000 {
            db.insert(
                b(format!("s{i}")),
                Entry::new(Value::Str(Bytes::from("v")), 0),
            );
        }
        for k in 0..4 {
            let n = if k == 0 { 20_000 } else { 10 };
            let elems: Vec<Bytes> = (0..n).map(|i| b(format!("e{i}"))).collect();
            let mut l = List::new();
            l.push(false, &elems, Fill::default());
            db.insert(b(format!("l{k}")), Entry::new(Value::List(Box::new(l)), 0));
        }
        storage.journal_changes(&mut ks).unwrap();
    }
    storage.checkpoint(&keyspace, || 0).unwrap().unwrap();
    storage.journal.close().unwrap();
    let expected = state(&keyspace.lock().unwrap());
    let mut recovered = Keyspace::new(16);
    let jdir = dir.path().join("journal");
    let (_, stats) = recover(&jdir, &RealDisk, RecoveryMode::Strict, &mut recovered, 0).unwrap();
    assert!(stats.checkpoint_lsn > 0);
    (expected, state(&recovered))
}

/// Every kind of list op, on every list, before every append: some run
/// before a list is copied (the log holds them and so does the copy),
/// some after.
#[test]
fn lists_changed_while_a_checkpoint_copies_them_recover_exactly() {
    let (expected, recovered) = checkpoint_and_recover(|ks, n| {
        for k in 0..4 {
            let fill = Fill::default();
            list_cmd(ks, format!("l{k}").as_bytes(), |l| {
                l.push(true, &[b(format!("front-{n}"))], fill);
                l.push(
                    false,
                    &[b(format!("back-{n}")), b(format!("back2-{n}"))],
                    fill,
                );
                l.pop(true, 2, fill);
                l.set(l.len() / 2, b(format!("set-{n}")), fill);
                l.insert(3, b(format!("ins-{n}")), fill);
                l.remove(1, &b("e5".to_string()), fill);
                if n % 2 == 1 {
                    let len = l.len();
                    l.trim(1, len - 2, fill);
                }
            });
        }
    });
    assert_eq!(expected.len(), recovered.len());
    for ((k1, v1), (k2, v2)) in expected.iter().zip(recovered.iter()) {
        assert_eq!(k1, k2);
        assert!(v1 == v2, "{k1:?} differs after recovery");
    }
    let Some((_, Value::List(l))) = expected.iter().find(|(k, _)| &k[..] == b"l0") else {
        panic!("l0 is missing");
    };
    assert!(
        l.iter().any(|e| e.eq_bytes(b"back-0")),
        "the copy ran through the changes"
    );
}

/// A list deleted and made again while the copy runs: the log's ops for the
/// old list must not land on the new one.
#[test]
fn a_list_replaced_during_the_copy_recovers_exactly() {
    let (expected, recovered) = checkpoint_and_recover(|ks, n| {
        let fill = Fill::default();
        list_cmd(ks, b"l2", |l| l.push(false, &[b(format!("old-{n}"))], fill));
        if n == 1 {
            let (db, _) = ks.db(0);
            db.remove(b"l2");
            let mut l = List::new();
            l.push(false, &[b("new".into())], fill);
            db.insert(b("l2".into()), Entry::new(Value::List(Box::new(l)), 0));
        }
        list_cmd(ks, b"l0", |l| {
            l.pop(false, 1, fill);
        });
    });
    assert!(expected == recovered);
}
