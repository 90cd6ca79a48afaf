//! The big encoding of a hash: a compact hash table of fields whose slots
//! never move, for HSCAN cursors and random fields.
//!
//! ```text
//! pages    Vec<Page>        buffers of up to 64 KiB (each starts at 64
//!                           bytes and doubles) the entries are appended to
//! entry    slot u32 LE, field-len varint, field, value-len varint, value
//! slots    Vec<Loc>         (page u32, offset u32) of each field's entry;
//!                           a slot number is an HSCAN cursor
//! free     Vec<u32>         empty slots a later insert fills
//! buckets  Vec<u32>         open addressing (linear probing) of slot
//!                           numbers; EMPTY, or TOMB for a removed one
//! ```
//!
//! A field costs its bytes, its entry header (five or six bytes), an
//! 8-byte slot and a 4-byte bucket (at most 7/8 full): no allocation of
//! its own. Changing a value appends a new entry; a removed or replaced
//! entry is dead space in its page, and a page more than half dead (not
//! the one being appended to) has its live entries moved to the tail and
//! is freed. An entry names its slot, so the move can tell live entries
//! (their slot still points at them) from dead ones.
//!
//! Slots never move, so fields present for a whole scan are visited
//! exactly once, whatever is inserted or removed meanwhile, as
//! [`crate::keyspace::KeyTable`] does for keys.

use std::sync::OnceLock;

const EMPTY: u32 = u32::MAX;
const TOMB: u32 = u32::MAX - 1;
/// Bytes per page (an entry longer than this gets a page of its own).
const PAGE: usize = 64 * 1024;
/// Bytes a new page starts with; it doubles up to [`PAGE`] as it fills.
const FIRST_PAGE: usize = 64;

fn hasher() -> &'static ahash::RandomState {
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new)
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint(buf: &[u8], at: &mut usize) -> usize {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let b = buf[*at];
        *at += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

/// The entry at `off` in `buf`: its slot, field, value and length.
fn entry_at(buf: &[u8], off: usize) -> (u32, &[u8], &[u8], usize) {
    let slot = u32::from_le_bytes(buf[off..off + 4].try_into().expect("4 bytes"));
    let mut at = off + 4;
    let flen = varint(buf, &mut at);
    let field = &buf[at..at + flen];
    at += flen;
    let vlen = varint(buf, &mut at);
    let value = &buf[at..at + vlen];
    (slot, field, value, at + vlen - off)
}

fn entry_len(field: &[u8], value: &[u8]) -> usize {
    let vl = |n: usize| (usize::BITS - n.max(1).leading_zeros()).div_ceil(7) as usize;
    4 + vl(field.len()) + field.len() + vl(value.len()) + value.len()
}

/// Where a field's entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    page: u32,
    off: u32,
}

const NO_LOC: Loc = Loc {
    page: u32::MAX,
    off: 0,
};

#[derive(Debug, Clone, Default)]
struct Page {
    data: Vec<u8>,
    dead: usize,
}

/// Fields to values with stable slots.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    pages: Vec<Page>,
    /// Page indices whose buffers were freed.
    free_pages: Vec<u32>,
    /// The page entries are appended to.
    tail: u32,
    slots: Vec<Loc>,
    free: Vec<u32>,
    buckets: Vec<u32>,
    len: usize,
    tombs: usize,
}

impl FieldTable {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entry(&self, slot: u32) -> (&[u8], &[u8]) {
        let loc = self.slots[slot as usize];
        let (_, f, v, _) = entry_at(&self.pages[loc.page as usize].data, loc.off as usize);
        (f, v)
    }

    /// The bucket holding `field`, if present.
    fn find(&self, field: &[u8]) -> Option<usize> {
        if self.buckets.is_empty() {
            return None;
        }
        let mask = self.buckets.len() - 1;
        let mut i = hasher().hash_one(field) as usize & mask;
        loop {
            match self.buckets[i] {
                EMPTY => return None,
                TOMB => {}
                slot if self.entry(slot).0 == field => return Some(i),
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let b = self.find(field)?;
        Some(self.entry(self.buckets[b]).1)
    }

    fn rebuild(&mut self, buckets: usize) {
        self.buckets = vec![EMPTY; buckets];
        self.tombs = 0;
        let mask = buckets - 1;
        for slot in 0..self.slots.len() as u32 {
            if self.slots[slot as usize] == NO_LOC {
                continue;
            }
            let mut i = hasher().hash_one(self.entry(slot).0) as usize & mask;
            while self.buckets[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.buckets[i] = slot;
        }
    }

    /// Appends an entry for `slot` to the tail page; returns where.
    fn append(&mut self, slot: u32, field: &[u8], value: &[u8]) -> Loc {
        let len = entry_len(field, value);
        let fits = self
            .pages
            .get(self.tail as usize)
            .is_some_and(|p| p.data.capacity() - p.data.len() >= len);
        // A young tail page grows (doubling, up to a page) before a new one
        // starts, so a small table holds bytes in proportion to its size.
        let grows = !fits
            && self
                .pages
                .get(self.tail as usize)
                .is_some_and(|p| p.data.len() + len <= PAGE);
        if grows {
            let data = &mut self.pages[self.tail as usize].data;
            let want = (data.capacity() * 2).max(data.len() + len).min(PAGE);
            data.reserve_exact(want - data.len());
        } else if !fits {
            let page = Page {
                data: Vec::with_capacity(len.max(FIRST_PAGE)),
                dead: 0,
            };
            self.tail = match self.free_pages.pop() {
                Some(i) => {
                    self.pages[i as usize] = page;
                    i
                }
                None => {
                    self.pages.push(page);
                    (self.pages.len() - 1) as u32
                }
            };
        }
        let data = &mut self.pages[self.tail as usize].data;
        let off = data.len() as u32;
        data.extend_from_slice(&slot.to_le_bytes());
        put_varint(data, field.len());
        data.extend_from_slice(field);
        put_varint(data, value.len());
        data.extend_from_slice(value);
        Loc {
            page: self.tail,
            off,
        }
    }

    /// Marks the entry at `loc` dead, and frees its page once more than
    /// half of it is dead (its live entries move to the tail).
    fn kill(&mut self, loc: Loc) {
        let page = &mut self.pages[loc.page as usize];
        let (_, _, _, len) = entry_at(&page.data, loc.off as usize);
        page.dead += len;
        if loc.page == self.tail || page.dead * 2 <= page.data.len() {
            return;
        }
        let old = std::mem::take(&mut page.data);
        page.dead = 0;
        let mut off = 0;
        while off < old.len() {
            let (slot, field, value, len) = entry_at(&old, off);
            let here = Loc {
                page: loc.page,
                off: off as u32,
            };
            if self.slots.get(slot as usize) == Some(&here) {
                self.slots[slot as usize] = self.append(slot, field, value);
            }
            off += len;
        }
        // Only now may the page be reused: while moving, a position in it
        // still named the old entry there.
        self.free_pages.push(loc.page);
    }

    /// Sets `field` to `value`; true if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(b) = self.find(field) {
            let slot = self.buckets[b];
            let old = self.slots[slot as usize];
            self.slots[slot as usize] = self.append(slot, field, value);
            self.kill(old);
            return false;
        }
        if (self.len + self.tombs + 1) * 8 > self.buckets.len() * 7 {
            let want = ((self.len + 1) * 8 / 7 + 1).next_power_of_two().max(8);
            self.rebuild(want);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(NO_LOC);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[slot as usize] = self.append(slot, field, value);
        let mask = self.buckets.len() - 1;
        let mut i = hasher().hash_one(field) as usize & mask;
        loop {
            match self.buckets[i] {
                EMPTY => break,
                TOMB => {
                    self.tombs -= 1;
                    break;
                }
                _ => i = (i + 1) & mask,
            }
        }
        self.buckets[i] = slot;
        self.len += 1;
        true
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let Some(b) = self.find(field) else {
            return false;
        };
        let slot = self.buckets[b] as usize;
        self.buckets[b] = TOMB;
        self.tombs += 1;
        self.len -= 1;
        let old = std::mem::replace(&mut self.slots[slot], NO_LOC);
        if self.len == 0 {
            *self = FieldTable::default();
            return true;
        }
        self.kill(old);
        if slot + 1 == self.slots.len() {
            // Trailing holes are trimmed so scans of a shrunk table end.
            while self.slots.last() == Some(&NO_LOC) {
                self.slots.pop();
            }
            let len = self.slots.len() as u32;
            self.free.retain(|&s| s < len);
        } else {
            self.free.push(slot as u32);
        }
        true
    }

    fn full(&self, slot: usize) -> Option<(&[u8], &[u8])> {
        (self.slots[slot] != NO_LOC).then(|| self.entry(slot as u32))
    }

    /// Every field and value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        (0..self.slots.len()).filter_map(|s| self.full(s))
    }

    /// Visits up to `budget` slots from `cursor`; returns the next cursor,
    /// 0 when the scan is complete.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&[u8], &[u8])) -> usize {
        let end = cursor.saturating_add(budget.max(1)).min(self.slots.len());
        for slot in cursor.min(end)..end {
            if let Some((f, v)) = self.full(slot) {
                visit(f, v);
            }
        }
        if end >= self.slots.len() {
            0
        } else {
            end
        }
    }

    /// A field chosen by `pick(slot_count)`: the first one at or after the
    /// picked slot, wrapping around.
    pub fn random(&self, pick: impl FnOnce(usize) -> usize) -> Option<(&[u8], &[u8])> {
        if self.len == 0 {
            return None;
        }
        let n = self.slots.len();
        let start = pick(n) % n;
        (start..n).chain(0..start).find_map(|s| self.full(s))
    }

    /// Bytes the table holds, roughly.
    pub fn memory(&self) -> usize {
        self.pages.iter().map(|p| p.data.capacity()).sum::<usize>()
            + self.slots.capacity() * 8
            + self.buckets.capacity() * 4
            + self.free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove_with_churn() {
        let mut t = FieldTable::default();
        for i in 0..1000 {
            assert!(t.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes()));
        }
        assert!(!t.insert(b"f7", b"new"));
        assert_eq!(t.get(b"f7"), Some(&b"new"[..]));
        for i in (0..1000).step_by(2) {
            assert!(t.remove(format!("f{i}").as_bytes()));
        }
        assert!(!t.remove(b"f0"));
        assert_eq!(t.len(), 500);
        for i in 0..1000 {
            let got = t.get(format!("f{i}").as_bytes()).is_some();
            assert_eq!(got, i % 2 == 1, "f{i}");
        }
        // Tombstones are reused and rebuilt away; lookups stay right.
        for round in 0..20 {
            for i in 0..300 {
                t.insert(format!("r{round}-{i}").as_bytes(), b"");
            }
            for i in 0..300 {
                assert!(t.remove(format!("r{round}-{i}").as_bytes()));
            }
        }
        assert_eq!(t.len(), 500);
        assert_eq!(t.iter().count(), 500);
        assert!(t.get(b"f999").is_some());
        assert!(t.insert(b"", b""));
        assert_eq!(t.get(b""), Some(&b""[..]));
    }

    #[test]
    fn replacing_values_frees_dead_pages_and_keeps_every_field() {
        let mut t = FieldTable::default();
        for i in 0..5000 {
            t.insert(format!("f{i}").as_bytes(), &[b'a'; 40]);
        }
        for round in 0..10u8 {
            for i in 0..5000 {
                let v = vec![round; 30 + (i % 20)];
                assert!(!t.insert(format!("f{i}").as_bytes(), &v));
            }
        }
        for i in 0..5000 {
            let v = t.get(format!("f{i}").as_bytes()).unwrap();
            assert_eq!(v, &vec![9u8; 30 + (i % 20)][..], "f{i}");
        }
        // Dead space is given back: the pages hold about the live entries.
        let live: usize = t.iter().map(|(f, v)| f.len() + v.len() + 6).sum();
        assert!(t.memory() < 3 * live + 200_000, "{} for {live}", t.memory());
        for i in 0..4990 {
            assert!(t.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(t.iter().count(), 10);
        assert!(t.get(b"f4995").is_some());
    }

    #[test]
    fn scan_visits_stable_fields_once() {
        let mut t = FieldTable::default();
        for i in 0..200 {
            t.insert(format!("k{i}").as_bytes(), b"v");
        }
        let mut seen = Vec::new();
        let (mut cursor, mut round) = (0, 0);
        loop {
            cursor = t.scan(cursor, 9, |f, _| seen.push(f.to_vec()));
            t.remove(format!("k{}", 2 * round + 1).as_bytes());
            t.insert(format!("new{round}").as_bytes(), b"");
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..200).step_by(2) {
            let k = format!("k{i}").into_bytes();
            assert_eq!(seen.iter().filter(|s| **s == k).count(), 1);
        }
        assert!(t.random(|n| n - 1).is_some());
    }
}
