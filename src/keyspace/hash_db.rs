//! The database side of hashes: taking one to change it, and removing
//! expired fields (lazily, for each hash command, and from the active
//! sweep through `field_expires`).

use super::{Db, Dirty, Entry, KeyspaceStats, Value};

impl Db {
    /// Looks a key up for a command that changes the hash stored there
    /// through [`Hash`]'s methods, which record their own changes for the
    /// journal (one field, not the whole hash). A command that empties the
    /// hash must still [`Db::remove`] the key; one that gives a field a TTL
    /// calls [`Db::note_field_expiry`].
    pub fn get_hash_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    /// Removes the expired fields of the hash at `key` (lazy field
    /// expiry; every hash command calls it first), deleting the key if no
    /// field is left. Returns how many fields went.
    pub fn expire_hash_fields(&mut self, key: &[u8], now: i64, limit: usize) -> usize {
        let (due, next) = match self.data.table.get(key) {
            Some(Entry {
                value: Value::Hash(h),
                expire_at,
                ..
            }) => match h.next_expiry() {
                Some(at) => (at < now && expire_at.is_none_or(|t| now <= t), at),
                None => return 0,
            },
            _ => return 0,
        };
        let stored = self.stored_key(key);
        if !due {
            // Re-filed for the sweep only while it is in the future: a key
            // whose own TTL passed goes with the key sweep, and filing it
            // as due would spin the sweep.
            if next >= now {
                self.data.field_expires.insert((next, stored));
            }
            return 0;
        }
        self.touch(&stored);
        self.dirty.push(Dirty::Deltas(stored.clone()));
        let Some(Entry {
            value: Value::Hash(h),
            ..
        }) = self.data.table.get_mut(key)
        else {
            return 0;
        };
        let removed = h.remove_expired(now, limit);
        let (empty, next) = (h.is_empty(), h.next_expiry());
        if removed > 0 {
            self.notify(super::notify::HASH, "hexpired", key);
        }
        if empty {
            self.remove(key);
            self.notify(super::notify::GENERIC, "del", key);
        } else if let Some(at) = next {
            self.data.field_expires.insert((at, stored));
        }
        removed
    }

    /// Notes that a field of the hash at `key` now expires at `at`, for the
    /// active sweep.
    pub fn note_field_expiry(&mut self, key: &[u8], at: i64) {
        let stored = self.stored_key(key);
        self.data.field_expires.insert((at, stored));
    }
}
