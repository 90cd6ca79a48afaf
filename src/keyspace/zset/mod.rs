//! Sorted sets: members with scores, ordered by score then member bytes.
//!
//! ```text
//! ZSet
//!   scores: KeyTable<score>            O(1) ZSCORE, membership, ZSCAN
//!                                      cursors, random members
//!   index:  SkipList of (score, member) with spans   O(log n) rank, range
//!   encoding                            what OBJECT ENCODING reports
//!   ops: Vec<ZSetOp>                    changes not yet journaled
//! ```
//!
//! Both structures share each member's allocation (`Bytes` clones). Scores
//! are never NaN, and -0 is stored as 0, so equal scores compare equal and
//! the index's order is total. Every position in the index is a rank, so
//! the commands work in ranks throughout: a score or lex range becomes the
//! half-open rank range `[below min, up to max)`, and ZCOUNT, ZRANGE BYSCORE
//! and ZREMRANGEBYSCORE are then rank arithmetic plus a walk.
//!
//! Every change made through [`ZSet::insert`], [`ZSet::remove`] and the
//! other mutators is also recorded as a [`ZSetOp`] that sets or removes one
//! member; the keyspace hands them to the journal when the command ends
//! (one member added to a big set journals one small op, not the set), and
//! recovery replays them with [`ZSet::apply`]. Both ops state a final value,
//! so replaying one over a copy that already has it changes nothing.
//!
//! The encoding name follows Redis: `listpack` while the set is small
//! (at most `zset-max-listpack-entries` members, none longer than
//! `zset-max-listpack-value` bytes), then `skiplist` for good, even when it
//! shrinks again. A set read back from disk is re-judged by its contents,
//! as Redis does when it loads an RDB file.

mod skiplist;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::table::KeyTable;
use bytes::Bytes;

use skiplist::{SkipList, NIL};

/// The thresholds of the small (`listpack`) encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `zset-max-listpack-entries`.
    pub entries: usize,
    /// `zset-max-listpack-value`.
    pub value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 128,
            value: 64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Read back from disk: judged by contents until the next write.
    Unsettled,
    Listpack,
    Skiplist,
}

/// One recorded change to a sorted set, as the journal stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum ZSetOp {
    /// `member` now has `score` (added or updated).
    Set {
        /// The member.
        member: Bytes,
        /// Its score.
        score: f64,
    },
    /// `member` is no longer in the set.
    Rem {
        /// The member.
        member: Bytes,
    },
}

/// A score bound of a range (`1.5`, `(1.5`, `-inf`, `+inf`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    /// The score.
    pub value: f64,
    /// `(`: the bound itself is outside the range.
    pub exclusive: bool,
}

/// A member bound of a lexicographic range (`-`, `+`, `[a`, `(a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    /// `[m`: `m` included.
    Incl(Bytes),
    /// `(m`: `m` excluded.
    Excl(Bytes),
}

/// A sorted set.
pub struct ZSet {
    scores: KeyTable<f64>,
    index: SkipList,
    encoding: Encoding,
    ops: Vec<ZSetOp>,
    /// Which set this is (see [`ZSet::id`]).
    id: u64,
}

/// The identity of the next set made.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, AtomicOrdering::Relaxed)
}

impl Clone for ZSet {
    /// A copy with the same members, and an identity of its own.
    fn clone(&self) -> Self {
        ZSet {
            scores: self.scores.clone(),
            index: self.index.clone(),
            encoding: self.encoding,
            ops: self.ops.clone(),
            id: fresh_id(),
        }
    }
}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZSet")
            .field("len", &self.len())
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores (encodings and pending ops aside).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1 == s2)
    }
}

/// The score a sorted set stores for `score`: -0 becomes 0.
fn stored(score: f64) -> f64 {
    score + 0.0
}

impl ZSet {
    /// An empty set in the small encoding.
    pub fn new() -> Self {
        ZSet {
            scores: KeyTable::default(),
            index: SkipList::new(),
            encoding: Encoding::Listpack,
            ops: Vec::new(),
            id: fresh_id(),
        }
    }

    /// An identity no other set in this process shares, a clone included.
    /// A checkpoint copying a big set over several holds of the keyspace
    /// lock uses it to tell that the key now holds another set.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A set built from pairs without recording ops (a new key, journaled
    /// whole); a member given twice keeps its last score. Its encoding is
    /// judged by `limits`.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Bytes, f64)>, limits: Limits) -> Self {
        let mut z = ZSet::new();
        for (member, score) in pairs {
            z.set_quietly(member, score);
        }
        z.encoding = Encoding::Unsettled;
        z.settle(limits);
        z
    }

    /// A set read back from disk; its encoding is judged when next asked.
    pub fn restored(pairs: impl IntoIterator<Item = (Bytes, f64)>) -> Self {
        let mut z = ZSet::from_pairs(pairs, Limits::default());
        z.encoding = Encoding::Unsettled;
        z
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// Whether the set is empty (the keyspace never keeps an empty set).
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    fn set_quietly(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let score = stored(score);
        debug_assert!(!score.is_nan(), "NaN never enters a sorted set");
        match self.scores.get_mut(&member) {
            Some(old) => {
                let was = *old;
                if was != score {
                    *old = score;
                    self.index.remove(was, &member);
                    self.index.insert(score, member);
                }
                Some(was)
            }
            None => {
                self.scores.insert(member.clone(), score);
                self.index.insert(score, member);
                None
            }
        }
    }

    fn remove_quietly(&mut self, member: &[u8]) -> Option<f64> {
        let (_, score) = self.scores.remove(member)?;
        self.index.remove(score, member);
        Some(score)
    }

    /// Sets `member`'s score (adding it if new); returns the old score.
    /// `score` must not be NaN.
    pub fn insert(&mut self, member: Bytes, score: f64) -> Option<f64> {
        let old = self.set_quietly(member.clone(), score);
        if old != Some(stored(score)) {
            self.ops.push(ZSetOp::Set {
                member,
                score: stored(score),
            });
        }
        old
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.remove_quietly(member)?;
        self.ops.push(ZSetOp::Rem {
            member: Bytes::copy_from_slice(member),
        });
        Some(score)
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        self.index.rank(score, member).map(|r| r - 1)
    }

    /// The member at 0-based ascending `rank`.
    pub fn at_rank(&self, rank: usize) -> Option<(&Bytes, f64)> {
        self.index.node_at(rank + 1).map(|n| self.index.get(n))
    }

    /// Members at ascending ranks `ranks`, in ascending order.
    pub fn range(&self, ranks: Range<usize>) -> Iter<'_> {
        let ranks = ranks.start..ranks.end.min(self.len());
        if ranks.is_empty() {
            return Iter::empty(&self.index);
        }
        Iter {
            list: &self.index,
            node: self.index.node_at(ranks.start + 1).unwrap_or(NIL),
            left: ranks.len(),
            rev: false,
        }
    }

    /// Up to `n` members, ascending, from the first one above `after` (a
    /// score and member; from the lowest member without it). A copy made in
    /// pieces resumes this way rather than by rank: a removal below the
    /// last member copied shifts every rank after it, and would make the
    /// copy skip a member it never saw.
    pub fn range_after(&self, after: Option<(f64, &[u8])>, n: usize) -> Iter<'_> {
        let start = after.map_or(0, |(score, member)| {
            self.index
                .count_below(|s, m| skiplist::cmp_elem(s, m, score, member) != Ordering::Greater)
        });
        self.range(start..start.saturating_add(n))
    }

    /// Members at ascending ranks `ranks`, in descending order.
    pub fn range_rev(&self, ranks: Range<usize>) -> Iter<'_> {
        let ranks = ranks.start..ranks.end.min(self.len());
        if ranks.is_empty() {
            return Iter::empty(&self.index);
        }
        Iter {
            list: &self.index,
            node: self.index.node_at(ranks.end).unwrap_or(NIL),
            left: ranks.len(),
            rev: true,
        }
    }

    /// Every member, ascending.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: &self.index,
            node: self.index.first(),
            left: self.len(),
            rev: false,
        }
    }

    /// The ascending ranks of the members whose scores are within
    /// `min..max` (possibly empty).
    pub fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> Range<usize> {
        let lo = self.index.count_below(|s, _| {
            if min.exclusive {
                s <= min.value
            } else {
                s < min.value
            }
        });
        let hi = self.index.count_below(|s, _| {
            if max.exclusive {
                s < max.value
            } else {
                s <= max.value
            }
        });
        lo..hi.max(lo)
    }

    /// The ascending ranks of the members within `min..max` by bytes
    /// (meaningful when all scores are equal, as in Redis).
    pub fn lex_ranks(&self, min: &LexBound, max: &LexBound) -> Range<usize> {
        let lo = self.index.count_below(|_, m| match min {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => m < &b[..],
            LexBound::Excl(b) => m <= &b[..],
        });
        let hi = self.index.count_below(|_, m| match max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        });
        lo..hi.max(lo)
    }

    /// Removes the members at ascending ranks `ranks`; returns how many.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let ranks = ranks.start..ranks.end.min(self.len());
        if ranks.is_empty() {
            return 0;
        }
        let (scores, ops) = (&mut self.scores, &mut self.ops);
        self.index
            .remove_ranks(ranks.start + 1, ranks.end, |member, _| {
                scores.remove(&member);
                ops.push(ZSetOp::Rem { member });
            });
        ranks.len()
    }

    /// Visits up to `budget` slots of the member table from `cursor` (a
    /// ZSCAN cursor: members present for a whole scan are visited exactly
    /// once, whatever changes meanwhile). Returns the next cursor, 0 at the
    /// end.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&Bytes, f64)) -> usize {
        self.scores.scan(cursor, budget, |m, s| visit(m, *s))
    }

    /// A member chosen by `pick(slot_count)` (ZRANDMEMBER), with its score.
    pub fn random_member(&self, pick: impl FnOnce(usize) -> usize) -> Option<(&Bytes, f64)> {
        let member = self.scores.random_key(pick)?;
        Some((member, self.score(member)?))
    }

    /// Every member with its score, in the member table's order.
    pub fn members(&self) -> impl Iterator<Item = (&Bytes, f64)> {
        self.scores.iter().map(|(m, s)| (m, *s))
    }

    /// Removes and returns the lowest member.
    pub fn pop_first(&mut self) -> Option<(Bytes, f64)> {
        let (member, score) = self.at_rank(0).map(|(m, s)| (m.clone(), s))?;
        self.remove(&member);
        Some((member, score))
    }

    /// Removes and returns the highest member.
    pub fn pop_last(&mut self) -> Option<(Bytes, f64)> {
        let node = self.index.last();
        if node == NIL {
            return None;
        }
        let (member, score) = self.index.get(node);
        let member = member.clone();
        self.remove(&member);
        Some((member, score))
    }

    /// Takes the changes recorded since the last call.
    pub fn take_ops(&mut self) -> Vec<ZSetOp> {
        std::mem::take(&mut self.ops)
    }

    /// Replays one recorded change (recovery). Replaying a change the set
    /// already has changes nothing.
    pub fn apply(&mut self, op: ZSetOp) {
        match op {
            ZSetOp::Set { member, score } if !score.is_nan() => {
                self.set_quietly(member, score);
            }
            ZSetOp::Set { .. } => {}
            ZSetOp::Rem { member } => {
                self.remove_quietly(&member);
            }
        }
    }

    fn settle(&mut self, limits: Limits) {
        if self.encoding == Encoding::Unsettled {
            let small = self.len() <= limits.entries
                && self.scores.iter().all(|(m, _)| m.len() <= limits.value);
            self.encoding = if small {
                Encoding::Listpack
            } else {
                Encoding::Skiplist
            };
        }
    }

    /// Called after a member of `member_len` bytes was added: the set
    /// leaves the small encoding when it outgrows `limits`.
    pub fn note_added(&mut self, member_len: usize, limits: Limits) {
        self.settle(limits);
        if self.encoding == Encoding::Listpack
            && (self.len() > limits.entries || member_len > limits.value)
        {
            self.encoding = Encoding::Skiplist;
        }
    }

    /// Uses the big encoding from the start (ZADD of more pairs than the
    /// small encoding holds, as Redis sizes a new set by its arguments).
    pub fn force_skiplist(&mut self) {
        self.encoding = Encoding::Skiplist;
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding_name(&self, limits: Limits) -> &'static str {
        let mut encoding = self.encoding;
        if encoding == Encoding::Unsettled {
            let small = self.len() <= limits.entries
                && self.scores.iter().all(|(m, _)| m.len() <= limits.value);
            encoding = if small {
                Encoding::Listpack
            } else {
                Encoding::Skiplist
            };
        }
        match encoding {
            Encoding::Skiplist => "skiplist",
            _ => "listpack",
        }
    }
}

/// Members of a [`ZSet`] in rank order (either direction).
pub struct Iter<'a> {
    list: &'a SkipList,
    node: u32,
    left: usize,
    rev: bool,
}

impl<'a> Iter<'a> {
    fn empty(list: &'a SkipList) -> Self {
        Iter {
            list,
            node: NIL,
            left: 0,
            rev: false,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.node == NIL {
            return None;
        }
        let item = self.list.get(self.node);
        self.node = if self.rev {
            self.list.prev(self.node)
        } else {
            self.list.next(self.node)
        };
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}
