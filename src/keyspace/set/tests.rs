use super::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn encodings_follow_redis_thresholds() {
    let limits = Limits {
        intset_entries: 4,
        listpack_entries: 3,
        listpack_value: 5,
    };
    let mut s = Set::for_adding(b"1", 1, limits);
    assert!(s.insert(b("1"), limits));
    assert!(!s.insert(b("1"), limits));
    assert_eq!(s.encoding_name(limits), "intset");
    s.insert(b("2"), limits);
    s.insert(b("abc"), limits);
    assert_eq!(s.encoding_name(limits), "listpack");
    s.insert(b("x"), limits);
    assert_eq!(s.encoding_name(limits), "hashtable");
    s.remove(b"x");
    s.remove(b"abc");
    assert_eq!(s.encoding_name(limits), "hashtable", "never shrinks back");

    let mut ints = Set::for_adding(b"1", 1, limits);
    for i in 0..5 {
        ints.insert(b(&i.to_string()), limits);
    }
    assert_eq!(ints.encoding_name(limits), "hashtable");

    let mut long = Set::for_adding(b"1", 1, limits);
    long.insert(b("1"), limits);
    long.insert(b("toolongvalue"), limits);
    assert_eq!(long.encoding_name(limits), "hashtable");

    assert_eq!(
        Set::for_adding(b"a", 4, limits).encoding,
        Encoding::Hashtable
    );
    assert_eq!(Set::for_adding(b"1", 4, limits).encoding, Encoding::Intset);
    assert_eq!(
        Set::for_adding(b"01", 2, limits).encoding,
        Encoding::Listpack
    );
}

#[test]
fn restored_sets_are_judged_by_contents() {
    let l = Limits::default();
    assert_eq!(Set::restored([b("1"), b("-5")]).encoding_name(l), "intset");
    assert_eq!(Set::restored([b("1"), b("a")]).encoding_name(l), "listpack");
    assert_eq!(
        Set::restored((0..200).map(|i| b(&format!("m{i}")))).encoding_name(l),
        "hashtable"
    );
}

#[test]
fn ops_record_changes_and_replay_idempotently() {
    let l = Limits::default();
    let mut s = Set::for_adding(b"a", 2, l);
    s.insert(b("a"), l);
    s.insert(b("b"), l);
    s.insert(b("a"), l);
    s.remove(b"a");
    s.remove(b"zz");
    let ops = s.take_ops();
    assert_eq!(
        ops,
        vec![
            SetOp::Add { member: b("a") },
            SetOp::Add { member: b("b") },
            SetOp::Rem { member: b("a") },
        ]
    );
    let mut replayed = Set::new();
    for op in ops.iter().chain(ops.iter()) {
        replayed.apply(op.clone());
    }
    assert_eq!(replayed, s);
    assert!(replayed.take_ops().is_empty());
}

#[test]
fn intsets_list_in_numeric_order() {
    let l = Limits::default();
    let mut s = Set::for_adding(b"10", 3, l);
    for m in ["10", "-3", "2"] {
        s.insert(b(m), l);
    }
    let listed: Vec<&[u8]> = s.listed(l);
    assert_eq!(listed, vec![&b"-3"[..], b"2", b"10"]);
}
