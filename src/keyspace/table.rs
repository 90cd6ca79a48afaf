//! A hash table of keys whose iteration order survives mutation, for SCAN.
//!
//! Entries live in slots of a vector that never moves them; a hash map from
//! key to slot finds them. A removed entry leaves a hole that a later insert
//! may fill. So a SCAN cursor is simply a slot number, and every key that is
//! present for a whole scan is returned exactly once, whatever is inserted
//! or removed meanwhile (keys added during a scan may or may not appear, as
//! Redis allows).

use ahash::AHashMap;
use bytes::Bytes;

/// Keys to values, with stable slot positions.
#[derive(Debug, Clone)]
pub struct KeyTable<V> {
    index: AHashMap<Bytes, usize>,
    slots: Vec<Option<(Bytes, V)>>,
    free: Vec<usize>,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        KeyTable {
            index: AHashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<V> KeyTable<V> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        let slot = *self.index.get(key)?;
        self.slots[slot].as_ref().map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let slot = *self.index.get(key)?;
        self.slots[slot].as_mut().map(|(_, v)| v)
    }

    /// The table's own copy of `key` (a cheap reference-counted clone).
    pub fn stored_key(&self, key: &[u8]) -> Option<Bytes> {
        let slot = *self.index.get(key)?;
        self.slots[slot].as_ref().map(|(k, _)| k.clone())
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: Bytes, value: V) -> Option<V> {
        if let Some(&slot) = self.index.get(&key) {
            let entry = self.slots[slot].as_mut().expect("indexed slot is full");
            return Some(std::mem::replace(&mut entry.1, value));
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some((key.clone(), value));
        self.index.insert(key, slot);
        None
    }

    /// Removes `key`; returns its stored key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Bytes, V)> {
        let slot = self.index.remove(key)?;
        let entry = self.slots[slot].take();
        if slot + 1 == self.slots.len() {
            // Trim trailing holes so an emptied table does not keep scanning
            // empty slots forever.
            self.slots.pop();
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            let len = self.slots.len();
            self.free.retain(|&s| s < len);
        } else {
            self.free.push(slot);
        }
        entry
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Iterates over all keys and values, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.slots.iter().flatten().map(|(k, v)| (k, v))
    }

    /// Visits up to `budget` slots starting at `cursor`, calling `visit` for
    /// each full one. Returns the next cursor, 0 when the scan is complete.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&Bytes, &V)) -> usize {
        let end = cursor.saturating_add(budget.max(1)).min(self.slots.len());
        for (key, value) in self.slots.get(cursor..end).unwrap_or(&[]).iter().flatten() {
            visit(key, value);
        }
        if end >= self.slots.len() {
            0
        } else {
            end
        }
    }

    /// A key chosen by `pick(slot_count)`: the first full slot at or after
    /// the picked slot, wrapping around.
    pub fn random_key(&self, pick: impl FnOnce(usize) -> usize) -> Option<&Bytes> {
        if self.is_empty() {
            return None;
        }
        let start = pick(self.slots.len()) % self.slots.len();
        self.slots[start..]
            .iter()
            .chain(self.slots[..start].iter())
            .flatten()
            .map(|(k, _)| k)
            .next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_returns_each_stable_key_once_despite_churn() {
        let mut t = KeyTable::default();
        for i in 0..100 {
            t.insert(Bytes::from(format!("k{i}")), i);
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = t.scan(cursor, 7, |k, _| seen.push(k.clone()));
            // Churn: remove odd keys, add new ones, between calls.
            t.remove(format!("k{}", 2 * round + 1).as_bytes());
            t.insert(Bytes::from(format!("new{round}")), 0);
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..100).step_by(2) {
            let key = Bytes::from(format!("k{i}"));
            assert_eq!(seen.iter().filter(|k| **k == key).count(), 1, "{key:?}");
        }
    }

    #[test]
    fn remove_reuses_and_trims() {
        let mut t = KeyTable::default();
        t.insert(Bytes::from("a"), 1);
        t.insert(Bytes::from("b"), 2);
        assert_eq!(t.remove(b"b").map(|e| e.1), Some(2));
        assert_eq!(t.remove(b"a").map(|e| e.1), Some(1));
        assert!(t.is_empty());
        assert_eq!(t.scan(0, 10, |_, _| panic!("empty")), 0);
        assert_eq!(t.insert(Bytes::from("a"), 3), None);
        assert_eq!(t.get(b"a"), Some(&3));
    }
}
