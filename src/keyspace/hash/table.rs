//! The big encoding of a hash: a compact hash table of fields whose slots
//! never move, for HSCAN cursors and random fields.
//!
//! ```text
//! slots    Vec<Option<Box<[u8]>>>   one allocation per field:
//!                                   field-len varint, field, value
//! free     Vec<u32>                 holes a later insert fills
//! buckets  Vec<u32>                 open addressing (linear probing) of
//!                                   slot numbers; EMPTY, or TOMB for a
//!                                   removed one
//! ```
//!
//! A field costs its bytes plus one allocation's header, a 16-byte slot and
//! a 4-byte bucket (at most 7/8 full), where a `KeyTable<Bytes>` cost four
//! `Bytes` headers, two allocations and a map entry: about 70 bytes per
//! short field instead of about 280. A slot number is an HSCAN cursor:
//! fields present for a whole scan are visited exactly once, whatever is
//! inserted or removed meanwhile, as [`crate::keyspace::KeyTable`] does for
//! keys.

use std::sync::OnceLock;

const EMPTY: u32 = u32::MAX;
const TOMB: u32 = u32::MAX - 1;

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

/// Splits a packed entry into field and value.
fn split(entry: &[u8]) -> (&[u8], &[u8]) {
    let (mut n, mut shift, mut at) = (0usize, 0, 0);
    loop {
        let b = entry[at];
        at += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&entry[at..at + n], &entry[at + n..])
}

fn pack(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut out = Vec::with_capacity(field.len() + value.len() + 3);
    put_varint(&mut out, field.len());
    out.extend_from_slice(field);
    out.extend_from_slice(value);
    out.into_boxed_slice()
}

/// Fields to values with stable slots.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    slots: Vec<Option<Box<[u8]>>>,
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
        split(
            self.slots[slot as usize]
                .as_deref()
                .expect("indexed slot is full"),
        )
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
        for (slot, entry) in self.slots.iter().enumerate() {
            let Some(entry) = entry else { continue };
            let mut i = hasher().hash_one(split(entry).0) as usize & mask;
            while self.buckets[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.buckets[i] = slot as u32;
        }
    }

    /// Sets `field` to `value`; true if the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(b) = self.find(field) {
            self.slots[self.buckets[b] as usize] = Some(pack(field, value));
            return false;
        }
        if (self.len + self.tombs + 1) * 8 > self.buckets.len() * 7 {
            let want = ((self.len + 1) * 8 / 7 + 1).next_power_of_two().max(8);
            self.rebuild(want);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        self.slots[slot as usize] = Some(pack(field, value));
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
        self.slots[slot] = None;
        if slot + 1 == self.slots.len() {
            // Trailing holes are trimmed so scans of a shrunk table end.
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            let len = self.slots.len() as u32;
            self.free.retain(|&s| s < len);
        } else {
            self.free.push(slot as u32);
        }
        if self.len == 0 {
            *self = FieldTable::default();
        }
        true
    }

    /// Every field and value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.slots.iter().flatten().map(|e| split(e))
    }

    /// Visits up to `budget` slots from `cursor`; returns the next cursor,
    /// 0 when the scan is complete.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&[u8], &[u8])) -> usize {
        let end = cursor.saturating_add(budget.max(1)).min(self.slots.len());
        for e in self.slots.get(cursor..end).unwrap_or(&[]).iter().flatten() {
            let (f, v) = split(e);
            visit(f, v);
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
        let start = pick(self.slots.len()) % self.slots.len();
        self.slots[start..]
            .iter()
            .chain(self.slots[..start].iter())
            .flatten()
            .map(|e| split(e))
            .next()
    }

    /// Bytes the table holds, roughly.
    pub fn memory(&self) -> usize {
        let heap: usize = self
            .slots
            .iter()
            .flatten()
            .map(|e| (e.len() + 8).next_multiple_of(16))
            .sum();
        heap + self.slots.capacity() * 16 + self.buckets.capacity() * 4 + self.free.capacity() * 4
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
