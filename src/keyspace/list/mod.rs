//! Lists: sequences of binary-safe elements, pushed and popped at both ends.
//!
//! ```text
//! List
//!   chunks: VecDeque<Arc<Chunk>>   elements packed back to back, a few KB
//!                                  per chunk (see `chunk.rs`)
//!   len                            elements in all chunks
//!   version                        changes made since the list was born
//!   ops: Vec<ListOp>               changes not yet journaled
//!   quicklist                      what OBJECT ENCODING reports
//! ```
//!
//! Chunks follow Redis's `list-max-listpack-size` rule: a negative fill is
//! a size limit per chunk (-1 = 4 KB … -5 = 64 KB, counted in the bytes
//! Redis's listpack would spend), a positive fill a count of elements
//! (with an 8 KB safety limit). A push starts a new chunk when the end
//! chunk would exceed it. Chunks are shared (`Arc`): a clone of a list
//! costs a reference per chunk, so a checkpoint copies a big list under
//! the keyspace lock in time that grows with its chunk count only, and a
//! write to a shared chunk copies that chunk alone.
//!
//! Every change made through the mutators is also recorded as a
//! [`ListOp`] (a push of the elements given, a pop of a count, a set at an
//! index, …), so one push onto a million-element list journals a few
//! bytes. Those ops are positional, so replaying one twice is wrong; each
//! op therefore bumps the list's `version`, a `Put` records the version
//! the list had, and the journal records the version a batch of ops starts
//! from ([`List::take_ops`]). Replay ([`List::apply_from`]) skips the ops
//! a checkpoint copy already holds. A clone keeps its version: it is the
//! same list's state.
//!
//! OBJECT ENCODING follows Redis 7.2+: `listpack` while the whole list
//! fits one chunk, `quicklist` once it outgrows one, and back to
//! `listpack` when it shrinks to one chunk within half the limit.

mod chunk;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use chunk::{listpack_len, LISTPACK_OVERHEAD};
pub use chunk::{Chunk, Elem};

/// Redis's `list-max-listpack-size`: negative, a size limit per chunk;
/// positive, a count limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill(pub i64);

impl Default for Fill {
    fn default() -> Self {
        Fill(-2)
    }
}

/// The size limit Redis uses for positive fills.
const SAFETY_LIMIT: usize = 8192;

impl Fill {
    /// The byte and count limits of one chunk.
    fn limits(self) -> (usize, usize) {
        const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
        if self.0 >= 0 {
            (usize::MAX, (self.0.max(1)).min(u32::MAX as i64) as usize)
        } else {
            let i = ((-(self.0 + 1)) as usize).min(LEVELS.len() - 1);
            (LEVELS[i], usize::MAX)
        }
    }

    /// Whether a chunk of `bytes` (listpack bytes) and `count` elements is
    /// over the limit.
    fn exceeds(self, bytes: usize, count: usize) -> bool {
        let (size, n) = self.limits();
        if size != usize::MAX {
            bytes > size
        } else {
            bytes > SAFETY_LIMIT || count > n
        }
    }

    /// Whether a list shrunk to one chunk may go back to `listpack`.
    fn fits_half(self, bytes: usize, count: usize) -> bool {
        let (size, n) = self.limits();
        let size = if size == usize::MAX { size } else { size / 2 };
        let n = if n == usize::MAX { n } else { n / 2 };
        bytes <= size && count <= n
    }
}

/// One recorded change to a list, as the journal stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum ListOp {
    /// `elems` were pushed one by one at the front (LPUSH) or the back.
    Push {
        /// At the front?
        front: bool,
        /// The elements, in the order pushed.
        elems: Vec<Bytes>,
    },
    /// `count` elements were popped from the front or the back.
    Pop {
        /// From the front?
        front: bool,
        /// How many (never more than the list held).
        count: u64,
    },
    /// The element at `index` became `elem` (LSET).
    Set {
        /// Position from the front.
        index: u64,
        /// The new element.
        elem: Bytes,
    },
    /// `elem` was inserted so that it is now at `index` (LINSERT).
    Insert {
        /// Its position from the front.
        index: u64,
        /// The element.
        elem: Bytes,
    },
    /// LREM `count` `elem` ran (it removed at least one element).
    Rem {
        /// As LREM's count: > 0 from the front, < 0 from the back, 0 all.
        count: i64,
        /// The element removed.
        elem: Bytes,
    },
    /// Only `keep` elements from `start` on were kept (LTRIM).
    Trim {
        /// First kept position.
        start: u64,
        /// How many were kept.
        keep: u64,
    },
}

/// A list.
#[derive(Debug, Clone, Default)]
pub struct List {
    chunks: VecDeque<Arc<Chunk>>,
    len: usize,
    version: u64,
    ops: Vec<ListOp>,
    quicklist: bool,
}

impl PartialEq for List {
    /// Same elements in the same order (chunking, versions and pending ops
    /// aside).
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        List::default()
    }

    /// A list read back from disk at `version`, from its chunks; its
    /// encoding is judged by its size.
    pub fn restored(version: u64, chunks: Vec<Chunk>) -> Self {
        let len = chunks.iter().map(|c| c.count as usize).sum();
        let quicklist = chunks.len() > 1;
        List {
            chunks: chunks.into_iter().map(Arc::new).collect(),
            len,
            version,
            ops: Vec::new(),
            quicklist,
        }
    }

    /// A list of `elems` at version 0, recording nothing (tests, COPY-like
    /// builders).
    pub fn from_elems<'a>(elems: impl IntoIterator<Item = &'a [u8]>, fill: Fill) -> Self {
        let mut l = List::new();
        for e in elems {
            l.push_quiet(false, e, fill);
        }
        l
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (the keyspace never keeps an empty list).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Changes made since the list was created (see the module doc).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Its chunks, front to back (the journal writes them as they are).
    pub fn chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.chunks.iter().map(|c| &**c)
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Heap bytes the list holds (MEMORY USAGE and the memory figures).
    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.heap_bytes() + std::mem::size_of::<Chunk>() + 16)
            .sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<usize>()
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Every element, front to back.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Elem<'_>> + '_ {
        self.chunks.iter().flat_map(|c| ChunkElems::new(c))
    }

    /// The elements at positions `start..end` (clamped), front to back.
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = Elem<'_>> + '_ {
        let end = end.min(self.len);
        let start = start.min(end);
        let (ci, off) = self.locate_or_end(start);
        self.chunks
            .iter()
            .skip(ci)
            .flat_map(|c| c.iter())
            .skip(off)
            .take(end - start)
    }

    /// The element at `index` (from the front).
    pub fn get(&self, index: usize) -> Option<Bytes> {
        if index >= self.len {
            return None;
        }
        let (ci, off) = self.locate(index);
        self.chunks[ci].iter().nth(off).map(Elem::to_bytes)
    }

    /// The chunk holding position `index` (< len) and the offset in it.
    fn locate(&self, index: usize) -> (usize, usize) {
        if index < self.len / 2 {
            let mut left = index;
            for (i, c) in self.chunks.iter().enumerate() {
                if left < c.count as usize {
                    return (i, left);
                }
                left -= c.count as usize;
            }
        } else {
            let mut from_end = self.len - index;
            for (i, c) in self.chunks.iter().enumerate().rev() {
                let n = c.count as usize;
                if from_end <= n {
                    return (i, n - from_end);
                }
                from_end -= n;
            }
        }
        unreachable!("index {index} is below the length {}", self.len)
    }

    fn locate_or_end(&self, index: usize) -> (usize, usize) {
        if index >= self.len {
            (self.chunks.len(), 0)
        } else {
            self.locate(index)
        }
    }

    fn record(&mut self, op: ListOp) {
        self.version += 1;
        self.ops.push(op);
    }

    /// Takes the changes recorded since the last call, with the version
    /// the list had before the first of them.
    pub fn take_ops(&mut self) -> (u64, Vec<ListOp>) {
        let ops = std::mem::take(&mut self.ops);
        (self.version - ops.len() as u64, ops)
    }

    /// Drops the recorded changes (the list is journaled whole instead).
    pub fn discard_ops(&mut self) {
        self.ops.clear();
    }

    /// Pushes `elems` one by one at the front or the back.
    pub fn push(&mut self, front: bool, elems: &[Bytes], fill: Fill) {
        for e in elems {
            self.push_quiet(front, e, fill);
        }
        self.record(ListOp::Push {
            front,
            elems: elems.to_vec(),
        });
    }

    fn push_quiet(&mut self, front: bool, e: &[u8], fill: Fill) {
        let add = listpack_len(e);
        let end = if front {
            self.chunks.front_mut()
        } else {
            self.chunks.back_mut()
        };
        match end {
            Some(c) if !fill.exceeds(c.lp as usize + add, c.count as usize + 1) => {
                let c = Arc::make_mut(c);
                if front {
                    c.push_front(e);
                } else {
                    c.push_back(e);
                }
            }
            end => {
                if let Some(c) = end.and_then(Arc::get_mut) {
                    c.data.shrink_to_fit();
                }
                let c = Arc::new(Chunk::of([e]));
                if front {
                    self.chunks.push_front(c);
                } else {
                    self.chunks.push_back(c);
                }
            }
        }
        self.len += 1;
        // One element too big for a listpack makes a quicklist too, as in
        // Redis (its single node holds more than the fill allows).
        let end = if front {
            self.chunks.front()
        } else {
            self.chunks.back()
        };
        let oversized = end.is_some_and(|c| fill.exceeds(c.lp as usize, c.count as usize));
        if self.chunks.len() > 1 || oversized {
            self.quicklist = true;
        }
    }

    /// Pops up to `count` elements from one end, in the order popped.
    pub fn pop(&mut self, front: bool, count: usize, fill: Fill) -> Vec<Bytes> {
        let out = self.pop_quiet(front, count);
        if !out.is_empty() {
            self.record(ListOp::Pop {
                front,
                count: out.len() as u64,
            });
            self.settle_shrunk(fill);
        }
        out
    }

    fn pop_quiet(&mut self, front: bool, count: usize) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(count.min(self.len).min(1024));
        while out.len() < count {
            let end = if front {
                self.chunks.front_mut()
            } else {
                self.chunks.back_mut()
            };
            let Some(c) = end else { break };
            let c = Arc::make_mut(c);
            let e = if front { c.pop_front() } else { c.pop_back() };
            if c.count == 0 {
                if front {
                    self.chunks.pop_front();
                } else {
                    self.chunks.pop_back();
                }
            }
            match e {
                Some(e) => {
                    out.push(e);
                    self.len -= 1;
                }
                None => break,
            }
        }
        out
    }

    /// Drops `n` elements from one end without returning them (whole
    /// chunks at a time where it can).
    fn drop_end(&mut self, front: bool, mut n: usize) {
        while n > 0 {
            let end = if front {
                self.chunks.front()
            } else {
                self.chunks.back()
            };
            let Some(c) = end else { break };
            let count = c.count as usize;
            if count <= n {
                if front {
                    self.chunks.pop_front();
                } else {
                    self.chunks.pop_back();
                }
                self.len -= count;
                n -= count;
            } else {
                let elems = c.to_vec();
                let kept = if front {
                    &elems[n..]
                } else {
                    &elems[..count - n]
                };
                let rebuilt = Arc::new(Chunk::of(kept.iter().map(|b| &b[..])));
                if front {
                    self.chunks[0] = rebuilt;
                } else {
                    let last = self.chunks.len() - 1;
                    self.chunks[last] = rebuilt;
                }
                self.len -= n;
                n = 0;
            }
        }
    }

    /// Goes back to `listpack` when the list shrank enough.
    fn settle_shrunk(&mut self, fill: Fill) {
        if self.quicklist && self.chunks.len() <= 1 {
            let (lp, count) = self
                .chunks
                .front()
                .map_or((0, 0), |c| (c.lp as usize, c.count as usize));
            if fill.fits_half(lp, count) {
                self.quicklist = false;
            }
        }
    }

    /// Replaces chunk `ci` by chunks holding `elems` (none if empty), each
    /// within `fill`.
    fn replace_chunk(&mut self, ci: usize, elems: &[Bytes], fill: Fill) {
        let mut pieces: Vec<Arc<Chunk>> = Vec::new();
        let mut cur: Vec<&[u8]> = Vec::new();
        let mut lp = LISTPACK_OVERHEAD;
        for e in elems {
            let add = listpack_len(e);
            if !cur.is_empty() && fill.exceeds(lp + add, cur.len() + 1) {
                pieces.push(Arc::new(Chunk::of(cur.drain(..))));
                lp = LISTPACK_OVERHEAD;
            }
            cur.push(e);
            lp += add;
        }
        if !cur.is_empty() {
            pieces.push(Arc::new(Chunk::of(cur)));
        }
        let old = self.chunks[ci].count as usize;
        self.len = self.len - old + elems.len();
        self.chunks.remove(ci);
        let oversized = pieces
            .iter()
            .any(|c| fill.exceeds(c.lp as usize, c.count as usize));
        for (i, p) in pieces.into_iter().enumerate() {
            self.chunks.insert(ci + i, p);
        }
        if self.chunks.len() > 1 || oversized {
            self.quicklist = true;
        }
    }

    /// Sets the element at `index` (< len).
    pub fn set(&mut self, index: usize, elem: Bytes, fill: Fill) {
        // As Redis 7.2: LSET first judges a listpack as if the value were
        // added (one more element), then shrinks back if the list is small.
        if !self.quicklist {
            if let Some(c) = self.chunks.front() {
                let (lp, count) = (c.lp as usize, c.count as usize);
                if fill.exceeds(lp + listpack_len(&elem), count + 1) {
                    self.quicklist = true;
                }
            }
        }
        self.set_quiet(index, &elem, fill);
        self.settle_shrunk(fill);
        self.record(ListOp::Set {
            index: index as u64,
            elem,
        });
    }

    fn set_quiet(&mut self, index: usize, elem: &Bytes, fill: Fill) {
        let (ci, off) = self.locate(index);
        let mut elems = self.chunks[ci].to_vec();
        elems[off] = elem.clone();
        self.replace_chunk(ci, &elems, fill);
    }

    /// Inserts `elem` so that it ends up at `index` (<= len).
    pub fn insert(&mut self, index: usize, elem: Bytes, fill: Fill) {
        self.insert_quiet(index, &elem, fill);
        self.record(ListOp::Insert {
            index: index as u64,
            elem,
        });
    }

    fn insert_quiet(&mut self, index: usize, elem: &[u8], fill: Fill) {
        if index == 0 {
            return self.push_quiet(true, elem, fill);
        }
        if index >= self.len {
            return self.push_quiet(false, elem, fill);
        }
        let (ci, off) = self.locate(index);
        let mut elems = self.chunks[ci].to_vec();
        elems.insert(off, Bytes::copy_from_slice(elem));
        self.replace_chunk(ci, &elems, fill);
    }

    /// LREM: removes up to |count| elements equal to `elem` (all for 0),
    /// from the front for count > 0, from the back for count < 0. Returns
    /// how many it removed.
    pub fn remove(&mut self, count: i64, elem: &Bytes, fill: Fill) -> usize {
        let n = self.remove_quiet(count, elem);
        if n > 0 {
            self.record(ListOp::Rem {
                count,
                elem: elem.clone(),
            });
            self.settle_shrunk(fill);
        }
        n
    }

    fn remove_quiet(&mut self, count: i64, elem: &[u8]) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs().min(usize::MAX as u64) as usize
        };
        let mut removed = 0;
        let order: Vec<usize> = if count < 0 {
            (0..self.chunks.len()).rev().collect()
        } else {
            (0..self.chunks.len()).collect()
        };
        let mut emptied = Vec::new();
        for ci in order {
            if removed >= limit {
                break;
            }
            if !self.chunks[ci].iter().any(|e| e.eq_bytes(elem)) {
                continue;
            }
            let mut elems = self.chunks[ci].to_vec();
            let before = elems.len();
            if count < 0 {
                let mut i = elems.len();
                while i > 0 && removed < limit {
                    i -= 1;
                    if elems[i] == elem {
                        elems.remove(i);
                        removed += 1;
                    }
                }
            } else {
                let mut i = 0;
                while i < elems.len() && removed < limit {
                    if elems[i] == elem {
                        elems.remove(i);
                        removed += 1;
                    } else {
                        i += 1;
                    }
                }
            }
            self.len -= before - elems.len();
            if elems.is_empty() {
                emptied.push(ci);
            } else {
                self.chunks[ci] = Arc::new(Chunk::of(elems.iter().map(|b| &b[..])));
            }
        }
        emptied.sort_unstable();
        for ci in emptied.into_iter().rev() {
            self.chunks.remove(ci);
        }
        removed
    }

    /// LTRIM: keeps only `keep` elements from `start` on (clamped).
    pub fn trim(&mut self, start: usize, keep: usize, fill: Fill) {
        let start = start.min(self.len);
        let keep = keep.min(self.len - start);
        if start == 0 && keep == self.len {
            return;
        }
        self.trim_quiet(start, keep);
        self.record(ListOp::Trim {
            start: start as u64,
            keep: keep as u64,
        });
        self.settle_shrunk(fill);
    }

    fn trim_quiet(&mut self, start: usize, keep: usize) {
        let start = start.min(self.len);
        let keep = keep.min(self.len - start);
        let back = self.len - start - keep;
        self.drop_end(true, start);
        self.drop_end(false, back);
    }

    /// Replays one recorded change (recovery).
    fn apply(&mut self, op: ListOp, fill: Fill) {
        match op {
            ListOp::Push { front, elems } => {
                for e in &elems {
                    self.push_quiet(front, e, fill);
                }
            }
            ListOp::Pop { front, count } => {
                self.drop_end(front, usize::try_from(count).unwrap_or(usize::MAX));
            }
            ListOp::Set { index, elem } => {
                if let Ok(i) = usize::try_from(index) {
                    if i < self.len {
                        self.set_quiet(i, &elem, fill);
                    }
                }
            }
            ListOp::Insert { index, elem } => {
                self.insert_quiet(usize::try_from(index).unwrap_or(usize::MAX), &elem, fill);
            }
            ListOp::Rem { count, elem } => {
                self.remove_quiet(count, &elem);
            }
            ListOp::Trim { start, keep } => {
                let c = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
                self.trim_quiet(c(start), c(keep));
            }
        }
        self.version += 1;
        self.settle_shrunk(fill);
    }

    /// Replays a journaled batch of ops that started at version `base`
    /// (recovery): ops this list already holds (a checkpoint copied it
    /// after they ran) are skipped, so none is applied twice. Returns
    /// false when the batch does not fit this list at all (it starts past
    /// the list's version: the log replaces the key later).
    pub fn apply_from(&mut self, base: u64, ops: Vec<ListOp>, fill: Fill) -> bool {
        if base > self.version {
            return false;
        }
        let skip = (self.version - base).min(ops.len() as u64) as usize;
        for op in ops.into_iter().skip(skip) {
            self.apply(op, fill);
        }
        true
    }
}

/// A chunk's elements as a double-ended iterator (backwards walks decode
/// the chunk once).
struct ChunkElems<'a> {
    elems: std::collections::VecDeque<Elem<'a>>,
}

impl<'a> ChunkElems<'a> {
    fn new(c: &'a Chunk) -> Self {
        ChunkElems {
            elems: c.iter().collect(),
        }
    }
}

impl<'a> Iterator for ChunkElems<'a> {
    type Item = Elem<'a>;
    fn next(&mut self) -> Option<Elem<'a>> {
        self.elems.pop_front()
    }
}

impl DoubleEndedIterator for ChunkElems<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.elems.pop_back()
    }
}
