use bytes::Bytes;

use super::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn grows_past_the_limits_and_keeps_fields() {
    let limits = Limits {
        entries: 4,
        value: 8,
    };
    let mut h = Hash::new();
    for i in 0..4 {
        h.insert(b(&format!("f{i}")), b("v"), limits);
    }
    assert_eq!(h.encoding_name(), "listpack");
    h.insert(b("f4"), b("v"), limits);
    assert_eq!(h.encoding_name(), "hashtable");
    assert_eq!(h.len(), 5);
    let mut h2 = Hash::new();
    h2.insert(b("a"), b("123456789"), limits);
    assert_eq!(h2.encoding_name(), "hashtable");
    assert_eq!(h2.get(b"a"), Some(&b"123456789"[..]));
}

#[test]
fn ops_replay_to_the_same_hash_even_twice() {
    let limits = Limits::default();
    let mut h = Hash::new();
    h.insert(b("a"), b("1"), limits);
    h.insert_with_ttl(b("b"), b("2"), Some(500), limits);
    h.insert(b("c"), b("3"), limits);
    h.remove(b"a");
    h.set_expire(b"c", Some(900));
    h.set_expire(b"b", None);
    let ops = h.take_ops();
    let mut replayed = Hash::new();
    for op in ops.iter().cloned().chain(ops.iter().cloned()) {
        replayed.apply(op);
    }
    assert_eq!(replayed, h);
    assert_eq!(replayed.expire_at(b"c"), Some(900));
    assert_eq!(replayed.expire_at(b"b"), None);
    assert!(!replayed.contains(b"a"));
}

#[test]
fn expired_fields_are_removed_and_recorded() {
    let limits = Limits::default();
    let mut h = Hash::new();
    h.insert_with_ttl(b("a"), b("1"), Some(10), limits);
    h.insert_with_ttl(b("b"), b("2"), Some(20), limits);
    h.insert(b("c"), b("3"), limits);
    assert_eq!(h.encoding_name(), "listpackex");
    h.take_ops();
    assert_eq!(h.remove_expired(15, 100), 1);
    assert_eq!(h.take_ops(), vec![HashOp::Del { field: b("a") }]);
    assert_eq!(h.next_expiry(), Some(20));
    // HSET clears the TTL.
    h.insert(b("b"), b("x"), limits);
    assert_eq!(h.next_expiry(), None);
    assert_eq!(h.encoding_name(), "listpack");
}

#[test]
fn big_scan_and_random() {
    let limits = Limits {
        entries: 2,
        value: 64,
    };
    let mut h = Hash::new();
    for i in 0..100 {
        h.insert(b(&format!("f{i}")), b(&i.to_string()), limits);
    }
    let mut seen = 0;
    let mut cursor = 0;
    loop {
        cursor = h.scan(cursor, 7, |_, _| seen += 1);
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen, 100);
    let (f, v) = h.random_field(|n| n / 2).unwrap();
    assert_eq!(h.get(f), Some(v));
}

#[test]
fn the_active_sweep_removes_due_fields_and_journals_them() {
    use crate::keyspace::{Entry, Keyspace, Op, Value};
    let limits = Limits::default();
    let mut ks = Keyspace::new(1);
    let mut h = Hash::new();
    h.insert_with_ttl(b("a"), b("1"), Some(10), limits);
    h.insert_with_ttl(b("b"), b("2"), Some(20), limits);
    h.take_ops();
    let mut e = Entry::new(Value::Hash(Box::new(h)), 0);
    e.last_access = 0;
    ks.db(0).0.insert(b("k"), e);
    // A hash whose own key TTL has passed goes with the key sweep.
    let mut other = Hash::new();
    other.insert_with_ttl(b("x"), b("1"), Some(3), limits);
    ks.db(0)
        .0
        .insert(b("gone"), Entry::new(Value::Hash(Box::new(other)), 0));
    ks.db(0).0.set_expire(b"gone", Some(5));
    ks.take_changes();

    assert_eq!(ks.expire_due(15, 100), 2);
    let ops = ks.take_changes();
    assert!(ops.contains(&Op::Hash {
        db: 0,
        key: b("k"),
        ops: vec![HashOp::Del { field: b("a") }],
    }));
    assert!(ops.contains(&Op::Del {
        db: 0,
        key: b("gone")
    }));
    assert_eq!(ks.expire_due(15, 100), 0, "nothing else is due");
    assert_eq!(ks.expire_due(25, 100), 1);
    assert_eq!(ks.take_changes(), vec![Op::Del { db: 0, key: b("k") }]);
    assert!(ks.dbs()[0].is_empty());
}
