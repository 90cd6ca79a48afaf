//! An order-statistic skiplist over `(score, member)`: every link knows how
//! many elements it jumps over (its span), so the rank of an element, the
//! element at a rank and the number of elements below a bound are all
//! found in one descent, expected O(log n).
//!
//! ```text
//! level 2  HEAD ─────────────(3)────────────► c ──(2)──► NIL
//! level 1  HEAD ──(1)──► a ──────(2)────────► c ──(1)──► d ─(1)─► NIL
//! level 0  HEAD ──(1)──► a ──(1)──► b ──(1)─► c ──(1)──► d ─(1)─► NIL
//!                        ◄─ prev ── ◄─ prev ─ ◄── prev ── ◄
//! ```
//!
//! Nodes live in one vector and link to each other by index (`u32`), with
//! a free list for reuse; node 0 is the head. A link to NIL keeps the span
//! to the end of the list, so spans stay exact as the list grows. Ranks in
//! this module are 1-based (the head is rank 0); [`super::ZSet`] exposes
//! 0-based ones.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use bytes::Bytes;

/// Most levels a node can have: with p = 1/4 enough for 2^64 elements.
const MAX_LEVEL: usize = 32;
/// "No node".
pub const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Debug, Clone, Copy)]
struct Link {
    next: u32,
    /// Level-0 steps from this node to `next` (to the end for NIL).
    span: u32,
}

/// Links kept in the node itself. Three nodes in four have one level and
/// fifteen in sixteen at most two, so a descent mostly finds the link it
/// follows next to the score it just compared, instead of behind one more
/// pointer (the separate allocation cost a cache miss per step: the
/// profile of ZADD into a million-member set was a third skiplist).
const INLINE_LINKS: usize = 2;

#[derive(Debug, Clone)]
struct Node {
    member: Bytes,
    score: f64,
    /// The previous node on level 0 (NIL for the first).
    prev: u32,
    /// Levels 0 and 1.
    inline: [Link; INLINE_LINKS],
    /// Levels 2 and up; empty (no allocation) for most nodes.
    more: Box<[Link]>,
}

impl Node {
    fn new(member: Bytes, score: f64, prev: u32, levels: usize) -> Node {
        let unlinked = Link { next: NIL, span: 0 };
        Node {
            member,
            score,
            prev,
            inline: [unlinked; INLINE_LINKS],
            more: vec![unlinked; levels.saturating_sub(INLINE_LINKS)].into_boxed_slice(),
        }
    }
}

/// Compares two elements the way a sorted set orders them: by score, then
/// by member bytes. Scores are never NaN.
pub fn cmp_elem(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    match a_score.partial_cmp(&b_score) {
        Some(Ordering::Equal) | None => a_member.cmp(b_member),
        Some(o) => o,
    }
}

/// The skiplist. It does not check for duplicate members: [`super::ZSet`]'s
/// hash does.
#[derive(Debug, Clone)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    len: usize,
    /// Levels in use (at least 1).
    level: usize,
    tail: u32,
    rng: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

impl SkipList {
    /// An empty list.
    pub fn new() -> Self {
        // Different lists get different level sequences; no need for
        // anything stronger than a counter through a mixer.
        static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let seed = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, AtomicOrdering::Relaxed) | 1;
        SkipList {
            nodes: vec![Node::new(Bytes::new(), 0.0, NIL, MAX_LEVEL)],
            free: Vec::new(),
            len: 0,
            level: 1,
            tail: NIL,
            rng: seed,
        }
    }

    fn random_level(&mut self) -> usize {
        // xorshift64*; each pair of trailing zero bits is one more level
        // (p = 1/4, as Redis uses).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (1 + r.trailing_zeros() as usize / 2).min(MAX_LEVEL)
    }

    fn link(&self, node: u32, level: usize) -> Link {
        let n = &self.nodes[node as usize];
        match level.checked_sub(INLINE_LINKS) {
            None => n.inline[level],
            Some(above) => n.more[above],
        }
    }

    fn link_mut(&mut self, node: u32, level: usize) -> &mut Link {
        let n = &mut self.nodes[node as usize];
        match level.checked_sub(INLINE_LINKS) {
            None => &mut n.inline[level],
            Some(above) => &mut n.more[above],
        }
    }

    fn before(&self, node: u32, score: f64, member: &[u8]) -> bool {
        let n = &self.nodes[node as usize];
        cmp_elem(n.score, &n.member, score, member) == Ordering::Less
    }

    /// Inserts an element that is not in the list.
    pub fn insert(&mut self, score: f64, member: Bytes) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.link(x, i);
                if l.next != NIL && self.before(l.next, score, &member) {
                    rank[i] += l.span;
                    x = l.next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let lvl = self.random_level();
        if lvl > self.level {
            for i in self.level..lvl {
                rank[i] = 0;
                update[i] = HEAD;
                self.link_mut(HEAD, i).span = self.len as u32;
            }
            self.level = lvl;
        }
        let prev = if update[0] == HEAD { NIL } else { update[0] };
        let node = Node::new(member, score, prev, lvl);
        let new = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..lvl {
            let prev = self.link(update[i], i);
            *self.link_mut(new, i) = Link {
                next: prev.next,
                span: prev.span - (rank[0] - rank[i]),
            };
            *self.link_mut(update[i], i) = Link {
                next: new,
                span: rank[0] - rank[i] + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(lvl) {
            self.link_mut(u, i).span += 1;
        }
        match self.link(new, 0).next {
            NIL => self.tail = new,
            next => self.nodes[next as usize].prev = new,
        }
        self.len += 1;
    }

    /// Removes an element; false if it is not in the list.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let next = self.link(x, i).next;
                if next != NIL && self.before(next, score, member) {
                    x = next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let x = self.link(x, 0).next;
        if x == NIL {
            return false;
        }
        let n = &self.nodes[x as usize];
        if n.score != score || n.member != member {
            return false;
        }
        self.unlink(x, &update);
        true
    }

    /// Unlinks node `x`, whose predecessors on every level are `update`.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.link(u, i);
            if ul.next == x {
                let xl = self.link(x, i);
                *self.link_mut(u, i) = Link {
                    next: xl.next,
                    span: ul.span + xl.span - 1,
                };
            } else {
                self.link_mut(u, i).span -= 1;
            }
        }
        let (next, prev) = (self.link(x, 0).next, self.nodes[x as usize].prev);
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        while self.level > 1 && self.link(HEAD, self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let node = &mut self.nodes[x as usize];
        node.member = Bytes::new();
        node.more = Box::new([]);
        self.free.push(x);
        // A list emptied by removals gives its memory back.
        if self.len == 0 {
            self.nodes.truncate(1);
            self.free.clear();
        }
    }

    /// Number of elements for which `below` holds. `below` must hold for a
    /// prefix of the list and not after it (a bound).
    pub fn count_below(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    break;
                }
                let n = &self.nodes[l.next as usize];
                if !below(n.score, &n.member) {
                    break;
                }
                rank += l.span as usize;
                x = l.next;
            }
        }
        rank
    }

    /// The 1-based rank of an element in the list.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let rank = self.count_below(|s, m| cmp_elem(s, m, score, member) != Ordering::Greater);
        let node = self.node_at(rank)?;
        let n = &self.nodes[node as usize];
        (n.member == member).then_some(rank)
    }

    /// The node at 1-based `rank`, if there is one.
    pub fn node_at(&self, rank: usize) -> Option<u32> {
        if rank == 0 || rank > self.len {
            return None;
        }
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return Some(x);
            }
        }
        None
    }

    /// Removes the elements at 1-based ranks `start..=end` and hands each
    /// to `removed`.
    pub fn remove_ranks(&mut self, start: usize, end: usize, mut removed: impl FnMut(Bytes, f64)) {
        if start == 0 || start > end || start > self.len {
            return;
        }
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.link(x, i);
                if l.next != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.next;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        let mut x = self.link(x, 0).next;
        while x != NIL && traversed <= end {
            let next = self.link(x, 0).next;
            let member = self.nodes[x as usize].member.clone();
            let score = self.nodes[x as usize].score;
            self.unlink(x, &update);
            removed(member, score);
            traversed += 1;
            x = next;
        }
    }

    /// The first node (NIL when empty).
    pub fn first(&self) -> u32 {
        self.link(HEAD, 0).next
    }

    /// The last node (NIL when empty).
    pub fn last(&self) -> u32 {
        self.tail
    }

    /// The node after `node` (NIL at the end).
    pub fn next(&self, node: u32) -> u32 {
        self.link(node, 0).next
    }

    /// The node before `node` (NIL at the start).
    pub fn prev(&self, node: u32) -> u32 {
        self.nodes[node as usize].prev
    }

    /// The element stored in `node`.
    pub fn get(&self, node: u32) -> (&Bytes, f64) {
        let n = &self.nodes[node as usize];
        (&n.member, n.score)
    }

    /// Checks every invariant (tests).
    #[cfg(test)]
    pub fn check(&self) {
        let mut count = 0;
        let mut x = self.first();
        let mut prev = NIL;
        while x != NIL {
            assert_eq!(self.nodes[x as usize].prev, prev);
            if prev != NIL {
                let (pm, ps) = self.get(prev);
                let (m, s) = self.get(x);
                assert_eq!(cmp_elem(ps, pm, s, m), Ordering::Less);
            }
            count += 1;
            prev = x;
            x = self.next(x);
        }
        assert_eq!(self.tail, prev);
        assert_eq!(count, self.len);
        // Every span equals the level-0 distance it jumps.
        for i in 0..self.level {
            let mut x = HEAD;
            let mut pos = 0usize;
            loop {
                let l = self.link(x, i);
                if l.next == NIL {
                    // Spans to NIL keep insertions exact: they reach the end.
                    assert_eq!(pos + l.span as usize, self.len, "level {i} tail span");
                    break;
                }
                let target = self.rank_by_walk(l.next);
                assert_eq!(pos + l.span as usize, target, "level {i} span");
                pos = target;
                x = l.next;
            }
        }
    }

    #[cfg(test)]
    fn rank_by_walk(&self, node: u32) -> usize {
        let mut x = self.first();
        let mut r = 1;
        while x != node {
            x = self.next(x);
            r += 1;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_rank_remove() {
        let mut l = SkipList::new();
        for (i, m) in ["c", "a", "b", "e", "d"].iter().enumerate() {
            l.insert(i as f64 % 2.0, Bytes::from(*m));
            l.check();
        }
        // Order: (0,b) (0,c) (0,d) (1,a) (1,e)
        let order: Vec<_> = (1..=5)
            .map(|r| l.get(l.node_at(r).unwrap()).0.clone())
            .collect();
        assert_eq!(order, ["b", "c", "d", "a", "e"]);
        assert_eq!(l.rank(1.0, b"a"), Some(4));
        assert_eq!(l.rank(0.0, b"a"), None);
        assert!(l.remove(0.0, b"c"));
        assert!(!l.remove(0.0, b"c"));
        l.check();
        assert_eq!(l.rank(1.0, b"e"), Some(4));
        let mut gone = Vec::new();
        l.remove_ranks(2, 3, |m, _| gone.push(m));
        l.check();
        assert_eq!(gone, ["d", "a"]);
        assert_eq!(l.len, 2);
        assert_eq!(l.count_below(|s, _| s < 1.0), 1);
    }
}
