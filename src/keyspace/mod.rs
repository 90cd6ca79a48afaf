//! The keyspace: numbered databases of keys with values and expiry.
//!
//! All state lives behind one lock held for one command (or one MULTI/EXEC
//! block), so every command sees and leaves a consistent keyspace. Commands
//! reach keys only through [`Db`]'s narrow API, which applies lazy expiry on
//! every lookup and flags WATCHers on every change; that is what keeps
//! transactions correct without each command having to remember it.

pub mod glob;
mod table;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ahash::AHashMap;
use bytes::Bytes;

pub use table::KeyTable;

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string.
    Str(Bytes),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }
}

/// A key's value and metadata.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry time in Unix milliseconds.
    expire_at: Option<i64>,
    /// Last time a command read or wrote the key (OBJECT IDLETIME).
    pub last_access: i64,
    /// A string changed in place (APPEND, SETRANGE): OBJECT ENCODING says
    /// `raw` for it, as Redis does.
    pub raw_encoding: bool,
}

impl Entry {
    /// A fresh entry with no expiry.
    pub fn new(value: Value, now: i64) -> Self {
        Entry {
            value,
            expire_at: None,
            last_access: now,
            raw_encoding: false,
        }
    }

    /// The absolute expiry time, if any.
    pub fn expire_at(&self) -> Option<i64> {
        self.expire_at
    }
}

/// A flag WATCH leaves on a key; any change to the key sets it, and EXEC
/// then aborts.
pub type WatchFlag = Arc<AtomicBool>;

/// One numbered database.
#[derive(Debug, Default)]
pub struct Db {
    data: DbData,
    /// Watchers stay with the database number: SWAPDB swaps `data` only.
    watchers: AHashMap<Bytes, Vec<WatchFlag>>,
}

#[derive(Debug, Default)]
struct DbData {
    table: KeyTable<Entry>,
    /// Keys with a TTL, ordered by expiry time, for the active sweep.
    expires: BTreeSet<(i64, Bytes)>,
}

/// Counters for INFO stats.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyspaceStats {
    /// Keys deleted because their TTL passed.
    pub expired_keys: u64,
    /// Read lookups that found the key.
    pub keyspace_hits: u64,
    /// Read lookups that did not.
    pub keyspace_misses: u64,
}

impl Db {
    /// Number of keys, including expired ones not yet swept.
    pub fn len(&self) -> usize {
        self.data.table.len()
    }

    /// Whether the database is empty.
    pub fn is_empty(&self) -> bool {
        self.data.table.is_empty()
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.data.expires.len()
    }

    /// Removes `key` if its TTL has passed; true if it did.
    fn expire_if_due(&mut self, key: &[u8], now: i64, stats: &mut KeyspaceStats) -> bool {
        let due = matches!(
            self.data.table.get(key).and_then(|e| e.expire_at),
            Some(at) if now > at
        );
        if due {
            self.remove(key);
            stats.expired_keys += 1;
        }
        due
    }

    /// Whether `key` exists but its TTL has passed (it will be deleted on
    /// its next access or by the sweep). EXEC uses it: a WATCHed key that
    /// expired counts as changed.
    pub fn is_expired(&self, key: &[u8], now: i64) -> bool {
        matches!(self.data.table.get(key).and_then(|e| e.expire_at), Some(at) if now > at)
    }

    /// Looks a key up for reading: lazy expiry, hit/miss counting, access
    /// time update.
    pub fn get(&mut self, key: &[u8], now: i64, stats: &mut KeyspaceStats) -> Option<&Entry> {
        self.expire_if_due(key, now, stats);
        match self.data.table.get_mut(key) {
            Some(entry) => {
                stats.keyspace_hits += 1;
                entry.last_access = now;
                Some(entry)
            }
            None => {
                stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Looks a key up without touching access time or hit counters (TYPE,
    /// EXISTS-like internal checks, OBJECT): lazy expiry still applies.
    pub fn peek(&mut self, key: &[u8], now: i64, stats: &mut KeyspaceStats) -> Option<&Entry> {
        self.expire_if_due(key, now, stats);
        self.data.table.get(key)
    }

    /// Looks a key up for writing in place. The key counts as modified.
    pub fn get_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.expire_if_due(key, now, stats);
        self.touch(key);
        let entry = self.data.table.get_mut(key)?;
        entry.last_access = now;
        Some(entry)
    }

    /// Stores `entry` under `key`, replacing any value and TTL.
    pub fn insert(&mut self, key: Bytes, entry: Entry) -> Option<Entry> {
        self.touch(&key);
        if let Some(at) = entry.expire_at {
            self.data.expires.insert((at, key.clone()));
        }
        let old = self.data.table.insert(key.clone(), entry)?;
        if let Some(at) = old.expire_at {
            if Some(at) != self.data.table.get(&key).and_then(|e| e.expire_at) {
                self.data.expires.remove(&(at, key));
            }
        }
        Some(old)
    }

    /// Removes `key`; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (stored, entry) = self.data.table.remove(key)?;
        self.touch(key);
        if let Some(at) = entry.expire_at {
            self.data.expires.remove(&(at, stored));
        }
        Some(entry)
    }

    /// Sets or clears the expiry of an existing key; false if it is absent.
    pub fn set_expire(&mut self, key: &[u8], at: Option<i64>) -> bool {
        let Some(entry) = self.data.table.get_mut(key) else {
            return false;
        };
        let old = std::mem::replace(&mut entry.expire_at, at);
        self.touch(key);
        let stored = self.stored_key(key);
        if let Some(old) = old {
            self.data.expires.remove(&(old, stored.clone()));
        }
        if let Some(at) = at {
            self.data.expires.insert((at, stored));
        }
        true
    }

    fn stored_key(&self, key: &[u8]) -> Bytes {
        // Share the table's allocation rather than copying the key again.
        self.data
            .table
            .stored_key(key)
            .unwrap_or_else(|| Bytes::copy_from_slice(key))
    }

    /// Removes every key. Returns how many there were.
    pub fn clear(&mut self) -> usize {
        let n = self.len();
        if !self.watchers.is_empty() {
            let keys: Vec<Bytes> = self.watchers.keys().cloned().collect();
            for key in keys {
                if self.data.table.get(&key).is_some() {
                    self.touch(&key);
                }
            }
        }
        self.data = DbData::default();
        n
    }

    /// All keys and entries, in table order (expired ones included: callers
    /// filter by `now`).
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.data.table.iter()
    }

    /// The underlying table, for SCAN and RANDOMKEY.
    pub fn table(&self) -> &KeyTable<Entry> {
        &self.data.table
    }

    /// Deletes up to `limit` keys whose TTL passed; returns how many.
    pub fn expire_due(&mut self, now: i64, limit: usize, stats: &mut KeyspaceStats) -> usize {
        let mut removed = 0;
        while removed < limit {
            let Some((at, key)) = self.data.expires.first().cloned() else {
                break;
            };
            if at >= now {
                break;
            }
            self.remove(&key);
            stats.expired_keys += 1;
            removed += 1;
        }
        removed
    }

    /// Registers a WATCH flag on `key`.
    pub fn watch(&mut self, key: Bytes, flag: WatchFlag) {
        self.watchers.entry(key).or_default().push(flag);
    }

    /// Removes a WATCH flag from `key`.
    pub fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(flags) = self.watchers.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.watchers.remove(key);
            }
        }
    }

    /// Flags every watcher of `key`: the key changed.
    pub fn touch(&mut self, key: &[u8]) {
        if self.watchers.is_empty() {
            return;
        }
        if let Some(flags) = self.watchers.get(key) {
            for flag in flags {
                flag.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Flags the watchers of every watched key that exists (FLUSHDB, SWAPDB).
    fn touch_existing_watched(&mut self) {
        for (key, flags) in &self.watchers {
            if self.data.table.get(key).is_some() {
                for flag in flags {
                    flag.store(true, Ordering::SeqCst);
                }
            }
        }
    }
}

/// Every database, plus counters.
#[derive(Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
    /// Counters for INFO stats.
    pub stats: KeyspaceStats,
}

impl Keyspace {
    /// A keyspace with `databases` empty databases.
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: KeyspaceStats::default(),
        }
    }

    /// Number of databases.
    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index` with the shared counters. Panics on an index out of
    /// range: callers validate SELECT/MOVE/SWAPDB arguments first.
    pub fn db(&mut self, index: usize) -> (&mut Db, &mut KeyspaceStats) {
        (&mut self.dbs[index], &mut self.stats)
    }

    /// Two different databases at once (MOVE, COPY … DB).
    pub fn two_dbs(&mut self, a: usize, b: usize) -> (&mut Db, &mut Db, &mut KeyspaceStats) {
        assert_ne!(a, b, "two_dbs needs two different databases");
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = self.dbs.split_at_mut(hi);
        let (low, high) = (&mut left[lo], &mut right[0]);
        if a < b {
            (low, high, &mut self.stats)
        } else {
            (high, low, &mut self.stats)
        }
    }

    /// All databases, read-only (INFO keyspace, DBSIZE).
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Swaps the contents of two databases; watchers stay with their number
    /// and are flagged for keys that exist on either side.
    pub fn swap(&mut self, a: usize, b: usize) {
        if a == b {
            return;
        }
        self.dbs[a].touch_existing_watched();
        self.dbs[b].touch_existing_watched();
        let (x, y, _) = self.two_dbs(a, b);
        std::mem::swap(&mut x.data, &mut y.data);
        self.dbs[a].touch_existing_watched();
        self.dbs[b].touch_existing_watched();
    }

    /// Empties every database; returns how many keys were removed.
    pub fn flush_all(&mut self) -> usize {
        self.dbs.iter_mut().map(Db::clear).sum()
    }

    /// The active expiry sweep: deletes up to `limit` due keys in all
    /// databases. Returns how many were deleted.
    pub fn expire_due(&mut self, now: i64, limit: usize) -> usize {
        let mut removed = 0;
        for db in &mut self.dbs {
            removed += db.expire_due(now, limit - removed, &mut self.stats);
            if removed >= limit {
                break;
            }
        }
        removed
    }
}
