//! The sorted set against a naive model: a sorted vector of pairs.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// The naive model: pairs kept sorted by (score, member).
#[derive(Default)]
struct Model(Vec<(f64, Bytes)>);

impl Model {
    fn sort(&mut self) {
        self.0
            .sort_by(|a, b| skiplist::cmp_elem(a.0, &a.1, b.0, &b.1));
    }
    fn set(&mut self, m: Bytes, s: f64) {
        self.0.retain(|(_, x)| *x != m);
        self.0.push((s + 0.0, m));
        self.sort();
    }
    fn rem(&mut self, m: &[u8]) -> bool {
        let before = self.0.len();
        self.0.retain(|(_, x)| &x[..] != m);
        before != self.0.len()
    }
}

fn pairs(z: &ZSet) -> Vec<(f64, Bytes)> {
    z.iter().map(|(m, s)| (s, m.clone())).collect()
}

#[test]
fn randomized_against_model() {
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..20 {
        let mut z = ZSet::new();
        let mut model = Model::default();
        let members = if round % 2 == 0 { 20 } else { 400 };
        for _ in 0..3000 {
            let m = Bytes::from(format!("m{}", rng.random_range(0..members)));
            match rng.random_range(0..10) {
                0..=4 => {
                    // Few distinct scores, so ties (ordered by member) are common.
                    let s = rng.random_range(-5..5) as f64 / 2.0;
                    z.insert(m.clone(), s);
                    model.set(m, s);
                }
                5..=6 => {
                    assert_eq!(z.remove(&m).is_some(), model.rem(&m));
                }
                7 => {
                    let len = model.0.len();
                    let a = rng.random_range(0..=len);
                    let b = rng.random_range(a..=len + 2);
                    let n = z.remove_ranks(a..b);
                    let end = b.min(len);
                    assert_eq!(n, end.saturating_sub(a));
                    model.0.drain(a..end.max(a));
                }
                8 => {
                    let first = z.pop_first();
                    let expected = (!model.0.is_empty()).then(|| model.0.remove(0));
                    assert_eq!(first.map(|(m, s)| (s, m)), expected);
                }
                _ => {
                    let last = z.pop_last();
                    assert_eq!(last.map(|(m, s)| (s, m)), model.0.pop());
                }
            }
            assert_eq!(z.len(), model.0.len());
        }
        z.index.check();
        assert_eq!(pairs(&z), model.0);
        for (i, (s, m)) in model.0.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.at_rank(i), Some((m, *s)));
        }
        assert_eq!(z.at_rank(model.0.len()), None);
        // Score ranges, every combination of bounds.
        for lo in -6..6 {
            for hi in -6..6 {
                for (ex_lo, ex_hi) in [(false, false), (true, false), (false, true), (true, true)] {
                    let (min, max) = (lo as f64 / 2.0, hi as f64 / 2.0);
                    let want: Vec<_> = model
                        .0
                        .iter()
                        .filter(|(s, _)| {
                            (if ex_lo { *s > min } else { *s >= min })
                                && (if ex_hi { *s < max } else { *s <= max })
                        })
                        .cloned()
                        .collect();
                    let r = z.score_ranks(
                        ScoreBound {
                            value: min,
                            exclusive: ex_lo,
                        },
                        ScoreBound {
                            value: max,
                            exclusive: ex_hi,
                        },
                    );
                    let got: Vec<_> = z.range(r.clone()).map(|(m, s)| (s, m.clone())).collect();
                    assert_eq!(got, want);
                    let mut rev: Vec<_> = z.range_rev(r).map(|(m, s)| (s, m.clone())).collect();
                    rev.reverse();
                    assert_eq!(rev, want);
                }
            }
        }
    }
}

#[test]
fn lex_ranges() {
    let mut z = ZSet::new();
    for m in ["a", "b", "bb", "c", "d"] {
        z.insert(Bytes::from(m), 0.0);
    }
    let names = |r: Range<usize>| -> Vec<String> {
        z.range(r)
            .map(|(m, _)| String::from_utf8(m.to_vec()).unwrap())
            .collect()
    };
    let incl = |s: &str| LexBound::Incl(Bytes::from(s.to_string()));
    let excl = |s: &str| LexBound::Excl(Bytes::from(s.to_string()));
    assert_eq!(names(z.lex_ranks(&LexBound::Min, &LexBound::Max)).len(), 5);
    assert_eq!(names(z.lex_ranks(&incl("b"), &excl("c"))), ["b", "bb"]);
    assert_eq!(names(z.lex_ranks(&excl("b"), &incl("c"))), ["bb", "c"]);
    assert!(names(z.lex_ranks(&LexBound::Max, &LexBound::Min)).is_empty());
    assert!(names(z.lex_ranks(&incl("c"), &incl("b"))).is_empty());
}

#[test]
fn ops_replay_to_the_same_set_even_twice() {
    let mut z = ZSet::new();
    z.insert(Bytes::from("a"), 1.0);
    z.insert(Bytes::from("b"), 2.0);
    z.insert(Bytes::from("a"), 3.0);
    // Same score again: nothing to record.
    z.insert(Bytes::from("b"), 2.0);
    z.remove(b"b");
    z.insert(Bytes::from("c"), -0.0);
    let ops = z.take_ops();
    assert_eq!(ops.len(), 5);
    let mut replayed = ZSet::new();
    for op in ops.iter().cloned().chain(ops.iter().cloned()) {
        replayed.apply(op);
    }
    assert_eq!(replayed, z);
    assert_eq!(
        pairs(&z),
        [(0.0, Bytes::from("c")), (3.0, Bytes::from("a"))]
    );
    assert!(z.score(b"c").unwrap().is_sign_positive());
}

#[test]
fn encoding_follows_redis() {
    let limits = Limits {
        entries: 3,
        value: 4,
    };
    let mut z = ZSet::new();
    for m in ["a", "b", "c"] {
        z.insert(Bytes::from(m), 1.0);
        z.note_added(1, limits);
    }
    assert_eq!(z.encoding_name(limits), "listpack");
    z.insert(Bytes::from("d"), 1.0);
    z.note_added(1, limits);
    assert_eq!(z.encoding_name(limits), "skiplist");
    z.remove(b"d");
    assert_eq!(z.encoding_name(limits), "skiplist", "stays converted");
    let restored = ZSet::restored(z.iter().map(|(m, s)| (m.clone(), s)));
    assert_eq!(restored.encoding_name(limits), "listpack");
    let long = ZSet::from_pairs([(Bytes::from("toolong"), 1.0)], limits);
    assert_eq!(long.encoding_name(limits), "skiplist");
}

#[test]
fn many_members_stay_fast() {
    // Not a timing test: a quadratic structure would not finish.
    let mut z = ZSet::new();
    for i in 0..200_000u32 {
        z.insert(Bytes::from(i.to_be_bytes().to_vec()), (i % 1000) as f64);
    }
    z.take_ops();
    assert_eq!(z.rank(&7u32.to_be_bytes()), Some(7 * 200));
    assert_eq!(z.at_rank(199_999).map(|(_, s)| s), Some(999.0));
    let r = z.score_ranks(
        ScoreBound {
            value: 10.0,
            exclusive: false,
        },
        ScoreBound {
            value: 10.0,
            exclusive: false,
        },
    );
    assert_eq!(r.len(), 200);
    assert_eq!(z.remove_ranks(0..100_000), 100_000);
    assert_eq!(z.len(), 100_000);
}

#[test]
fn range_after_resumes_past_removed_and_moved_members() {
    let mut z = ZSet::new();
    for i in 0..1000u32 {
        z.insert(Bytes::from(format!("m{i:04}")), f64::from(i / 10));
    }
    let untouched: Vec<Bytes> = z
        .iter()
        .map(|(m, _)| m.clone())
        .filter(|m| m.ends_with(b"7"))
        .collect();
    let mut copied: Vec<Bytes> = Vec::new();
    let mut last: Option<(f64, Bytes)> = None;
    let mut round = 0u32;
    loop {
        let after = last.as_ref().map(|(s, m)| (*s, &m[..]));
        let chunk: Vec<(Bytes, f64)> = z
            .range_after(after, 50)
            .map(|(m, s)| (m.clone(), s))
            .collect();
        let Some((m, s)) = chunk.last() else { break };
        last = Some((*s, m.clone()));
        copied.extend(chunk.into_iter().map(|(m, _)| m));
        // Between pieces: the lowest members go (ranks shift down), and a
        // member from far ahead moves below the cursor.
        for _ in 0..20 {
            let low = z
                .iter()
                .map(|(m, _)| m.clone())
                .find(|m| !m.ends_with(b"7"));
            if let Some(low) = low {
                z.remove(&low);
            }
        }
        z.insert(Bytes::from(format!("m{:04}", 999 - round * 10)), -1.0);
        round += 1;
    }
    // A member nobody touched is copied exactly once.
    for m in &untouched {
        let times = copied.iter().filter(|c| *c == m).count();
        assert_eq!(times, 1, "{m:?} copied {times} times");
    }
    assert!(round > 5, "the copy took {round} pieces");
    // From the start when there is no position yet; nothing past the end.
    assert_eq!(z.range_after(None, 1).next(), z.iter().next());
    let (m, s) = z.at_rank(z.len() - 1).map(|(m, s)| (m.clone(), s)).unwrap();
    assert_eq!(z.range_after(Some((s, &m)), 10).count(), 0);
}

#[test]
fn a_clone_is_another_set() {
    let mut z = ZSet::new();
    z.insert(Bytes::from("a"), 1.0);
    let copy = z.clone();
    assert_ne!(copy.id(), z.id());
    assert_eq!(copy, z);
    let id = z.id();
    z.insert(Bytes::from("b"), 2.0);
    assert_eq!(z.id(), id, "a change keeps the identity");
}
