use std::collections::VecDeque;

use bytes::Bytes;

use super::*;

fn elems(l: &List) -> Vec<Bytes> {
    l.iter().map(Elem::to_bytes).collect()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// A tiny deterministic generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn random_edits_match_a_deque_and_replay_exactly() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for fill in [Fill(-2), Fill(3), Fill(-1), Fill(1)] {
        let mut list = List::new();
        let mut model: VecDeque<Bytes> = VecDeque::new();
        let mut replayed = List::new();
        for step in 0..3000 {
            let e = match rng.next(4) {
                0 => b(&format!("{}", rng.next(200))),
                1 => b(&"x".repeat(rng.next(300) as usize)),
                2 => b(&format!("-{}", rng.next(1 << 40))),
                _ => b(&format!("e{}", rng.next(50))),
            };
            match rng.next(8) {
                0 | 1 => {
                    let front = rng.next(2) == 0;
                    list.push(front, &[e.clone(), b("k")], fill);
                    for x in [e, b("k")] {
                        if front {
                            model.push_front(x);
                        } else {
                            model.push_back(x);
                        }
                    }
                }
                2 => {
                    let front = rng.next(2) == 0;
                    let n = rng.next(4) as usize;
                    let got = list.pop(front, n, fill);
                    let want: Vec<Bytes> = (0..n)
                        .filter_map(|_| {
                            if front {
                                model.pop_front()
                            } else {
                                model.pop_back()
                            }
                        })
                        .collect();
                    assert_eq!(got, want);
                }
                3 if !model.is_empty() => {
                    let i = rng.next(model.len() as u64) as usize;
                    list.set(i, e.clone(), fill);
                    model[i] = e;
                }
                4 => {
                    let i = rng.next(model.len() as u64 + 1) as usize;
                    list.insert(i, e.clone(), fill);
                    model.insert(i, e);
                }
                5 => {
                    let count = rng.next(5) as i64 - 2;
                    let target = b(&format!("e{}", rng.next(50)));
                    let n = list.remove(count, &target, fill);
                    let mut removed = 0;
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count.unsigned_abs() as usize
                    };
                    let idx: Vec<usize> = if count < 0 {
                        (0..model.len()).rev().collect()
                    } else {
                        (0..model.len()).collect()
                    };
                    let mut gone = Vec::new();
                    for i in idx {
                        if removed < limit && model[i] == target {
                            gone.push(i);
                            removed += 1;
                        }
                    }
                    gone.sort_unstable();
                    for i in gone.into_iter().rev() {
                        model.remove(i);
                    }
                    assert_eq!(n, removed);
                }
                6 if step % 50 == 0 => {
                    let start = rng.next(3) as usize;
                    let keep = rng.next(model.len() as u64 + 1) as usize;
                    list.trim(start, keep, fill);
                    let s = start.min(model.len());
                    let k = keep.min(model.len() - s);
                    model = model.iter().skip(s).take(k).cloned().collect();
                }
                _ => {}
            }
            assert_eq!(list.len(), model.len());
            let (base, ops) = list.take_ops();
            assert_eq!(base + ops.len() as u64, list.version());
            assert!(replayed.apply_from(base, ops, fill));
        }
        assert_eq!(elems(&list), model.iter().cloned().collect::<Vec<_>>());
        assert_eq!(replayed, list);
        assert_eq!(replayed.version(), list.version());
        for (i, want) in model.iter().enumerate().step_by(7) {
            assert_eq!(list.get(i).as_ref(), Some(want));
        }
        let mid = model.len() / 3;
        let got: Vec<Bytes> = list.range(mid, mid + 10).map(Elem::to_bytes).collect();
        let want: Vec<Bytes> = model.iter().skip(mid).take(10).cloned().collect();
        assert_eq!(got, want);
    }
}

#[test]
fn replay_over_a_copy_skips_what_the_copy_holds() {
    let fill = Fill::default();
    let mut list = List::new();
    list.push(false, &[b("a"), b("b")], fill);
    let (base1, ops1) = list.take_ops();
    list.pop(true, 1, fill);
    // The checkpoint copies the list here: it holds both ops so far.
    let (base2, ops2) = list.take_ops();
    let mut copy = list.clone();
    list.push(true, &[b("z")], fill);
    let (base3, ops3) = list.take_ops();
    // Replay from the checkpoint's LSN: the batches before the copy come
    // again and must change nothing.
    assert!(copy.apply_from(base1, ops1, fill));
    assert!(copy.apply_from(base2, ops2, fill));
    assert_eq!(elems(&copy), vec![b("b")]);
    assert!(copy.apply_from(base3, ops3, fill));
    assert_eq!(elems(&copy), vec![b("z"), b("b")]);
    // A batch from a later version does not fit.
    let mut fresh = List::new();
    assert!(!fresh.apply_from(5, vec![], fill));
}

#[test]
fn encoding_follows_the_fill_rule() {
    let mut list = List::new();
    let fill = Fill(4);
    list.push(false, &[b("1"), b("2"), b("3"), b("4")], fill);
    assert_eq!(list.encoding_name(), "listpack");
    list.push(false, &[b("5")], fill);
    assert_eq!(list.encoding_name(), "quicklist");
    list.pop(false, 3, fill);
    assert_eq!(list.encoding_name(), "listpack");
    // Size limits: -1 is 4 KB per chunk.
    let mut big = List::new();
    let v = b(&"x".repeat(1000));
    big.push(false, &[v.clone(), v.clone(), v.clone()], Fill(-1));
    assert_eq!(big.encoding_name(), "listpack");
    big.push(false, &[v.clone(), v.clone()], Fill(-1));
    assert_eq!(big.encoding_name(), "quicklist");
    assert!(big.chunk_count() > 1);
}

#[test]
fn small_elements_take_little_room() {
    let mut list = List::new();
    for i in 0..100_000 {
        list.push(false, &[b(&format!("item:{i}"))], Fill::default());
    }
    let per = list.heap_bytes() as f64 / list.len() as f64;
    // "item:12345" is 10 bytes: Redis's listpack spends 12 on it.
    assert!(per < 12.0, "{per} bytes per element");
}
