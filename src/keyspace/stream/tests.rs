use super::*;

fn pairs(v: &[u8]) -> Vec<&[u8]> {
    vec![b"field", v]
}

/// Appends `n` entries `1-0`, `2-0`, … with one field `field` and the
/// value `value`, as XADD does.
fn filled(n: u64, value: &[u8], limits: NodeLimits) -> Stream {
    let mut s = Stream::new();
    for i in 1..=n {
        let id = StreamId::new(i, 0);
        let p = pairs(value);
        let fields = s.tail_master().map(|_| vec![Bytes::from_static(b"field")]);
        let placement = s.place(id, &p, fields.as_deref(), limits);
        s.add(
            id,
            Loc {
                seg: 1,
                offset: i as u32,
            },
            placement,
        );
    }
    s
}

#[test]
fn nodes_close_at_the_entry_limit() {
    let s = filled(250, b"v", NodeLimits::default());
    assert_eq!(s.node_count(), 3);
    let sizes: Vec<usize> = s.nodes().map(|n| n.entries.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(s.len(), 250);
}

#[test]
fn nodes_close_at_the_byte_limit() {
    let big = vec![b'x'; 500];
    let s = filled(20, &big, NodeLimits::default());
    // Each entry takes a little over 500 bytes: 7 or 8 fit under 4096.
    let sizes: Vec<usize> = s.nodes().map(|n| n.entries.len()).collect();
    assert!(sizes.iter().all(|&n| n < 9), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 20);
    for n in s.nodes() {
        assert!(n.lp_bytes() < 4096 + 600);
    }
}

#[test]
fn approximate_trimming_removes_whole_nodes_only() {
    let mut s = filled(1000, b"v", NodeLimits::default());
    let removed = s.trim(Trim {
        by: TrimBy::MaxLen(555),
        approx: true,
        limit: 10_000,
    });
    assert_eq!(removed, 400);
    assert_eq!(s.len(), 600);
    assert_eq!(s.first_id(), StreamId::new(401, 0));
    let exact = s.trim(Trim {
        by: TrimBy::MaxLen(555),
        approx: false,
        limit: 0,
    });
    assert_eq!(exact, 45);
    assert_eq!(s.len(), 555);
    assert_eq!(s.nodes().next().unwrap().deleted, 45);
    assert_eq!(s.range(StreamId::MIN, StreamId::MAX).count(), 555);
}

#[test]
fn minid_trimming_and_limits() {
    let mut s = filled(300, b"v", NodeLimits::default());
    let removed = s.trim(Trim {
        by: TrimBy::MinId(StreamId::new(150, 0)),
        approx: true,
        limit: 0,
    });
    assert_eq!(removed, 100);
    let limited = s.trim(Trim {
        by: TrimBy::MaxLen(0),
        approx: true,
        limit: 150,
    });
    assert_eq!(limited, 100);
    assert_eq!(s.len(), 100);
}

#[test]
fn deleting_the_last_live_entry_of_a_node_removes_it() {
    let mut s = filled(150, b"v", NodeLimits::default());
    let ids: Vec<StreamId> = (101..=150).map(|i| StreamId::new(i, 0)).collect();
    assert_eq!(s.delete(&ids[..49]), 49);
    assert_eq!(s.node_count(), 2);
    assert_eq!(s.delete(&ids[49..]), 1);
    assert_eq!(s.node_count(), 1);
    assert_eq!(s.delete(&ids), 0);
    assert_eq!(s.max_deleted(), StreamId::new(150, 0));
    assert_eq!(s.len(), 100);
}

#[test]
fn ranges_run_both_ways_across_nodes() {
    let mut s = filled(250, b"v", NodeLimits::default());
    s.delete(&[StreamId::new(120, 0)]);
    let fwd: Vec<u64> = s
        .range(StreamId::new(95, 0), StreamId::new(125, 0))
        .map(|(id, _)| id.ms)
        .collect();
    assert_eq!(fwd.len(), 30);
    assert_eq!((fwd[0], *fwd.last().unwrap()), (95, 125));
    assert!(!fwd.contains(&120));
    let rev: Vec<u64> = s
        .range_rev(StreamId::new(95, 0), StreamId::new(125, 0))
        .map(|(id, _)| id.ms)
        .collect();
    let mut back = fwd.clone();
    back.reverse();
    assert_eq!(rev, back);
    assert_eq!(
        s.get(StreamId::new(121, 0)),
        Some(Loc {
            seg: 1,
            offset: 121
        })
    );
    assert_eq!(s.get(StreamId::new(120, 0)), None);
}

#[test]
fn replaying_the_recorded_ops_rebuilds_the_same_stream() {
    let mut s = filled(230, b"v", NodeLimits::default());
    let g = Bytes::from_static(b"g");
    let c = Bytes::from_static(b"alice");
    s.set_group(&g, StreamId::new(10, 0), 10);
    s.set_consumer(&g, &c, 5, 6);
    s.set_pending(&g, &c, vec![(StreamId::new(3, 0), 7, 2)]);
    s.delete(&[StreamId::new(5, 0), StreamId::new(205, 0)]);
    s.trim(Trim {
        by: TrimBy::MaxLen(120),
        approx: false,
        limit: 0,
    });
    s.remove_pending(&g, &[StreamId::new(3, 0)]);
    let ops = s.take_ops();
    let ops_again = ops.clone();
    let mut replayed = Stream::new();
    for op in ops {
        replayed.apply(op);
    }
    assert_eq!(replayed, s);
    assert!(replayed.take_ops().is_empty());
    // Replaying again on a state that already has every op changes nothing
    // (a checkpoint's copy plus the log after its start).
    let mut again = s.clone();
    for op in ops_again {
        again.apply(op);
    }
    assert_eq!(again, s);
}

#[test]
fn payloads_round_trip() {
    let parts: Vec<&[u8]> = vec![b"a", b"", b"\x00\xff", b"long value"];
    let enc = payload::encode(&parts);
    assert_eq!(payload::decode(&enc), Some(parts));
    assert_eq!(payload::decode(&enc[..enc.len() - 1]), None);
}

#[test]
fn a_clone_keeps_its_entries_while_the_original_changes() {
    // A checkpoint clones a stream under the lock and encodes the clone
    // later: writes meanwhile must not reach the clone.
    let mut s = filled(250, b"v", NodeLimits::default());
    let copy = s.clone();
    let snapshot: Vec<(StreamId, Loc)> = copy.range(StreamId::MIN, StreamId::MAX).collect();
    s.delete(&[StreamId::new(10, 0), StreamId::new(240, 0)]);
    s.trim(Trim {
        by: TrimBy::MaxLen(120),
        approx: false,
        limit: 0,
    });
    s.relocate(|loc| Some(Loc { seg: 9, ..loc }));
    let placement = s.place(
        StreamId::new(300, 0),
        &pairs(b"v"),
        None,
        NodeLimits::default(),
    );
    s.add(StreamId::new(300, 0), Loc { seg: 9, offset: 1 }, placement);
    assert_eq!(
        copy.range(StreamId::MIN, StreamId::MAX).collect::<Vec<_>>(),
        snapshot
    );
    assert_eq!(copy.len(), 250);
    assert_eq!(s.len(), 121);
    assert!(s
        .range(StreamId::MIN, StreamId::MAX)
        .all(|(_, loc)| loc.seg == 9));
    assert!(copy
        .range(StreamId::MIN, StreamId::MAX)
        .all(|(_, loc)| loc.seg == 1));
}
