//! The keyspace: numbered databases of keys with values and expiry.
//!
//! All state lives behind one lock held for one command (or one MULTI/EXEC
//! block), so every command sees and leaves a consistent keyspace. Commands
//! reach keys only through [`Db`]'s narrow API, which applies lazy expiry on
//! every lookup and flags WATCHers on every change; that is what keeps
//! transactions correct without each command having to remember it.

mod changes;
pub mod glob;
pub mod hash;
mod hash_db;
pub mod list;
pub mod notify;
mod op;
mod replay;
pub mod set;
pub mod stream;
mod table;
pub mod zset;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ahash::AHashMap;
use bytes::Bytes;

use changes::Dirty;

pub use hash::{Hash, HashOp};
pub use list::{List, ListOp};
pub use op::Op;
pub use replay::write_range;
pub use set::{Set, SetOp};
pub use stream::{Loc, Stream, StreamOp};
pub use table::KeyTable;
pub use zset::{ZSet, ZSetOp};

/// A value stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A binary-safe string.
    Str(Bytes),
    /// A stream (its entries' payloads live in the commit log).
    Stream(Box<Stream>),
    /// A sorted set.
    ZSet(Box<ZSet>),
    /// A set.
    Set(Box<Set>),
    /// A list.
    List(Box<List>),
    /// A hash.
    Hash(Box<Hash>),
}

impl Value {
    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Stream(_) => "stream",
            Value::ZSet(_) => "zset",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
        }
    }

    /// Drops the changes the value recorded for the journal (its whole
    /// state is being journaled instead).
    fn discard_deltas(&mut self) {
        match self {
            Value::Stream(s) => drop(s.take_ops()),
            Value::ZSet(z) => drop(z.take_ops()),
            Value::Set(s) => drop(s.take_ops()),
            Value::List(l) => l.discard_ops(),
            Value::Hash(h) => drop(h.take_ops()),
            Value::Str(_) => {}
        }
    }
}

/// A key's value and metadata.
#[derive(Debug, Clone, PartialEq)]
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

    /// An entry read back from the journal or a checkpoint.
    pub fn restored(value: Value, expire_at: Option<i64>, raw_encoding: bool, now: i64) -> Self {
        Entry {
            value,
            expire_at,
            last_access: now,
            raw_encoding,
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
    /// Its number.
    index: u32,
    data: DbData,
    /// Keys changed by the running command, for the journal.
    dirty: Vec<Dirty>,
    /// Watchers stay with the database number: SWAPDB swaps `data` only.
    watchers: AHashMap<Bytes, Vec<WatchFlag>>,
    /// Keys blocked clients wait on (they stay with the number too).
    waited: ahash::AHashSet<Bytes>,
    /// Waited-on keys changed since the blocked clients were last tried.
    ready: Vec<Bytes>,
    /// `notify-keyspace-events`, as [`notify`] flags.
    notify_flags: u16,
    /// Keyspace events raised and not yet published.
    events: Vec<notify::Event>,
    /// Commands that changed this database since
    /// [`Keyspace::take_change_count`] (INFO's `rdb_changes_since_last_save`).
    changes: u64,
    /// How much of `dirty` has been counted in `changes`.
    counted: usize,
}

#[derive(Debug, Default)]
struct DbData {
    table: KeyTable<Entry>,
    /// Keys with a TTL, ordered by expiry time, for the active sweep.
    expires: BTreeSet<(i64, Bytes)>,
    /// Hashes with field TTLs, by a time at or before their earliest one
    /// (entries may be stale: the sweep checks the key).
    field_expires: BTreeSet<(i64, Bytes)>,
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
            self.notify(notify::EXPIRED, "expired", key);
        }
        due
    }

    /// Raises a keyspace event (`notify-keyspace-events`): `event` of
    /// `class` on `key`. Costs one branch while the class is off.
    pub fn notify(&mut self, class: u16, event: &'static str, key: &[u8]) {
        let (flags, index) = (self.notify_flags, self.index);
        notify::raise(&mut self.events, flags, index, class, event, key);
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
                // The fields apart from `data`: the table stays borrowed.
                notify::raise(
                    &mut self.events,
                    self.notify_flags,
                    self.index,
                    notify::KEY_MISS,
                    "keymiss",
                    key,
                );
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
        let stored = self.data.table.stored_key(key)?;
        self.changed(stored);
        let entry = self.data.table.get_mut(key)?;
        entry.last_access = now;
        Some(entry)
    }

    /// Like [`Db::get_mut`] for a caller that will append exactly `tail`
    /// to the string value: the journal records the tail instead of the
    /// whole value.
    pub fn get_mut_for_append(
        &mut self,
        key: &[u8],
        tail: Bytes,
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.expire_if_due(key, now, stats);
        let stored = self.data.table.stored_key(key)?;
        self.touch(&stored);
        self.dirty.push(Dirty::Append(stored, tail));
        let entry = self.data.table.get_mut(key)?;
        entry.last_access = now;
        Some(entry)
    }

    /// Writes `bytes` at `offset` of the string at `key` (zero-padding it
    /// up to `offset` first if shorter; creating the key if absent, with no
    /// TTL): SETBIT, BITFIELD and SETRANGE. The journal records those bytes
    /// (an `Op::SetRange`), not the whole value. Returns the new length,
    /// or `None` (and changes nothing) if the key holds another type. The
    /// caller bounds `offset + bytes.len()` (proto-max-bulk-len).
    pub fn write_string_range(
        &mut self,
        key: &[u8],
        offset: usize,
        bytes: Bytes,
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<usize> {
        self.expire_if_due(key, now, stats);
        let end = offset + bytes.len();
        let stored = match self.data.table.get_mut(key) {
            Some(Entry {
                value: Value::Str(s),
                raw_encoding,
                last_access,
                ..
            }) => {
                *s = write_range(std::mem::take(s), offset, &bytes, end);
                *raw_encoding = true;
                *last_access = now;
                self.data.table.stored_key(key)?
            }
            Some(_) => return None,
            None => {
                let stored = Bytes::copy_from_slice(key);
                let mut entry = Entry::new(
                    Value::Str(write_range(Bytes::new(), offset, &bytes, end)),
                    now,
                );
                entry.raw_encoding = true;
                self.data.table.insert(stored.clone(), entry);
                stored
            }
        };
        let len = match self.data.table.get(key) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => s.len(),
            _ => 0,
        };
        self.touch(&stored);
        self.dirty
            .push(Dirty::SetRange(stored, offset as u64, bytes));
        Some(len)
    }

    /// Points the stream at `key` at new payload positions after
    /// compaction copied them forward (`map`: old position to new). Readers
    /// see the same stream, so watchers are not flagged; the change is
    /// journaled as the stream's `Relocate` op. Returns how many positions
    /// changed.
    pub fn relocate_stream(&mut self, key: &[u8], map: impl Fn(Loc) -> Option<Loc>) -> usize {
        let Some(stored) = self.data.table.stored_key(key) else {
            return 0;
        };
        let Some(Entry {
            value: Value::Stream(stream),
            ..
        }) = self.data.table.get_mut(key)
        else {
            return 0;
        };
        let n = stream.relocate(map);
        if n > 0 {
            self.dirty.push(Dirty::Deltas(stored));
        }
        n
    }

    /// Stores `entry` under `key`, replacing any value and TTL.
    pub fn insert(&mut self, key: Bytes, entry: Entry) -> Option<Entry> {
        if self.notify_flags & notify::NEW != 0 && self.data.table.get(&key).is_none() {
            self.notify(notify::NEW, "new", &key);
        }
        self.changed(key.clone());
        if let Some(at) = entry.expire_at {
            self.data.expires.insert((at, key.clone()));
        }
        if let Value::Hash(h) = &entry.value {
            if let Some(at) = h.next_expiry() {
                self.data.field_expires.insert((at, key.clone()));
            }
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
        if let Some(at) = entry.expire_at {
            self.data.expires.remove(&(at, stored.clone()));
        }
        self.changed(stored);
        Some(entry)
    }

    /// Sets or clears the expiry of an existing key; false if it is absent.
    pub fn set_expire(&mut self, key: &[u8], at: Option<i64>) -> bool {
        let Some(entry) = self.data.table.get_mut(key) else {
            return false;
        };
        let old = std::mem::replace(&mut entry.expire_at, at);
        let stored = self.stored_key(key);
        self.touch(&stored);
        self.dirty.push(Dirty::Expire(stored.clone()));
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
        self.wake_all_waited();
        // Changes to keys before the flush no longer matter.
        self.dirty.clear();
        self.dirty.push(Dirty::Flushed);
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

    /// The stream at `key`, for recovery's repairs of entries whose
    /// payloads are unreadable: no watcher is flagged and nothing is
    /// journaled (recovery discards changes it makes).
    pub fn stream_for_repair(&mut self, key: &[u8]) -> Option<&mut Stream> {
        match self.data.table.get_mut(key) {
            Some(Entry {
                value: Value::Stream(s),
                ..
            }) => Some(s),
            _ => None,
        }
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
            self.notify(notify::EXPIRED, "expired", &key);
            removed += 1;
        }
        // Hash fields whose TTL passed.
        while removed < limit {
            let Some((at, key)) = self.data.field_expires.first().cloned() else {
                break;
            };
            if at >= now {
                break;
            }
            self.data.field_expires.remove(&(at, key.clone()));
            removed += self.expire_hash_fields(&key, now, limit - removed);
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

    /// Marks or unmarks `key` as waited on by blocked clients.
    pub fn set_waited(&mut self, key: Bytes, on: bool) {
        if on {
            self.waited.insert(key);
        } else {
            self.waited.remove(&key);
        }
    }

    /// Marks every waited-on key ready (FLUSHDB, SWAPDB).
    fn wake_all_waited(&mut self) {
        let keys: Vec<Bytes> = self.waited.iter().cloned().collect();
        self.ready.extend(keys);
    }

    /// Flags every watcher of `key`: the key changed.
    pub fn touch(&mut self, key: &[u8]) {
        if !self.waited.is_empty() && self.waited.contains(key) {
            self.ready.push(Bytes::copy_from_slice(key));
        }
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
    /// Operations already put in order (around a SWAPDB), ahead of the
    /// databases' own changes.
    pending_ops: Vec<Op>,
    /// SWAPDBs so far (a checkpoint in progress starts over on one).
    swaps: u64,
    /// A checkpoint is copying keys: every change must be journaled as a
    /// final state (APPEND too), because replaying a delta on top of a copy
    /// that already holds it would apply it twice.
    checkpointing: bool,
    /// Counters for INFO stats.
    pub stats: KeyspaceStats,
    /// Blocked clients (XREAD/XREADGROUP BLOCK).
    pub blocking: crate::server::blocking::Registry,
}

impl Keyspace {
    /// A keyspace with `databases` empty databases.
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases)
                .map(|i| Db {
                    index: i as u32,
                    ..Db::default()
                })
                .collect(),
            pending_ops: Vec::new(),
            swaps: 0,
            checkpointing: false,
            stats: KeyspaceStats::default(),
            blocking: Default::default(),
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
        // Changes made before the swap are recorded before it.
        for db in [a, b] {
            self.dbs[db].drain_changes(&mut self.pending_ops, self.checkpointing);
        }
        self.pending_ops.push(Op::SwapDb {
            a: a as u32,
            b: b as u32,
        });
        self.swaps += 1;
        let (x, y, _) = self.two_dbs(a, b);
        std::mem::swap(&mut x.data, &mut y.data);
        x.wake_all_waited();
        y.wake_all_waited();
        self.dbs[a].touch_existing_watched();
        self.dbs[b].touch_existing_watched();
    }

    /// Empties every database; returns how many keys were removed.
    pub fn flush_all(&mut self) -> usize {
        self.dbs.iter_mut().map(Db::clear).sum()
    }

    /// Switches final-state journaling on for the duration of a checkpoint's
    /// copy (see the `checkpointing` field).
    pub fn set_checkpointing(&mut self, on: bool) {
        self.checkpointing = on;
    }

    /// How many SWAPDBs have run.
    pub fn swaps(&self) -> u64 {
        self.swaps
    }

    /// Replaces every database's contents with `other`'s (DEBUG RELOAD):
    /// watchers stay and are flagged for keys that existed before or after.
    pub fn replace_contents(&mut self, mut other: Keyspace) {
        for (mine, theirs) in self.dbs.iter_mut().zip(other.dbs.iter_mut()) {
            mine.touch_existing_watched();
            std::mem::swap(&mut mine.data, &mut theirs.data);
            mine.touch_existing_watched();
            mine.wake_all_waited();
            mine.dirty.clear();
            mine.events.clear();
        }
        self.pending_ops.clear();
    }

    /// Applies `notify-keyspace-events` to every database.
    pub fn set_notify_flags(&mut self, flags: u16) {
        for db in &mut self.dbs {
            db.notify_flags = flags;
        }
    }

    /// The flags set by [`Keyspace::set_notify_flags`].
    pub fn notify_flags(&self) -> u16 {
        self.dbs.first().map_or(0, |db| db.notify_flags)
    }

    /// Ends one command for the change count (the dispatcher calls it after
    /// each command, and the blocking registry after each client it
    /// serves).
    pub fn end_command(&mut self) {
        for db in &mut self.dbs {
            db.end_command();
        }
    }

    /// How many commands changed the keyspace (one each per database they
    /// changed) since the last call.
    pub fn take_change_count(&mut self) -> u64 {
        self.dbs
            .iter_mut()
            .map(|db| std::mem::take(&mut db.changes))
            .sum()
    }

    /// The keyspace events raised since the last call, in the order they
    /// were raised.
    pub fn take_events(&mut self) -> Vec<notify::Event> {
        let mut out = Vec::new();
        for db in &mut self.dbs {
            out.append(&mut db.events);
        }
        out.sort_by_key(|e| e.seq);
        out
    }

    /// Waited-on keys that changed since the last call, by database.
    pub fn take_ready(&mut self) -> Vec<(usize, Bytes)> {
        let mut out = Vec::new();
        for (i, db) in self.dbs.iter_mut().enumerate() {
            for key in db.ready.drain(..) {
                if !out.iter().any(|(d, k)| *d == i && *k == key) {
                    out.push((i, key));
                }
            }
        }
        out
    }

    /// The changes made since the last call, in an order that replays to
    /// the same state: what SWAPDB put in order first, then each
    /// database's flushes and final key states.
    pub fn take_changes(&mut self) -> Vec<Op> {
        let mut ops = std::mem::take(&mut self.pending_ops);
        for db in &mut self.dbs {
            db.drain_changes(&mut ops, self.checkpointing);
        }
        ops
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
