//! Hashes: binary-safe fields to values, with optional per-field expiry.
//!
//! ```text
//! Hash
//!   repr   Small(Packed)         fields and values packed in one buffer
//!                                (OBJECT ENCODING `listpack`/`listpackex`)
//!          Big(FieldTable)       O(1) lookups, stable slots for HSCAN
//!                                cursors and random fields (`hashtable`)
//!   ttls   field -> expiry ms, and (expiry, field) in order  (only when a
//!          field has a TTL)
//!   ops    Vec<HashOp>           changes not yet journaled
//! ```
//!
//! A hash starts small and turns big for good when it holds more than
//! `hash-max-listpack-entries` fields or a field or value longer than
//! `hash-max-listpack-value` bytes, as Redis converts a listpack to a hash
//! table. A hash read back from disk is judged by its contents.
//!
//! Every change made through the mutators is also recorded as a
//! [`HashOp`] that states a field's final state (its value and expiry, or
//! its absence, or its expiry alone); the keyspace hands them to the
//! journal when the command ends, and recovery replays them with
//! [`Hash::apply`]. Replaying one over a copy that already has it changes
//! nothing, so they are safe while a checkpoint copies the hash.
//!
//! Expired fields stay until something removes them: commands first call
//! [`Hash::remove_expired`] (through the keyspace), and the active sweep
//! does the same for hashes whose earliest field expiry has passed.

mod packed;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use ahash::AHashMap;
use bytes::Bytes;

pub use packed::Packed;
pub use table::FieldTable;

/// The thresholds of the small (`listpack`) encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `hash-max-listpack-entries`.
    pub entries: usize,
    /// `hash-max-listpack-value`.
    pub value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 512,
            value: 64,
        }
    }
}

/// One recorded change to a hash, as the journal stores it. Each states a
/// final state, so replaying it twice is harmless.
#[derive(Debug, Clone, PartialEq)]
pub enum HashOp {
    /// `field` now holds `value`, with this expiry (none: no TTL).
    Set {
        /// The field.
        field: Bytes,
        /// Its value.
        value: Bytes,
        /// Its absolute expiry in Unix ms.
        expire_at: Option<i64>,
    },
    /// `field` is gone.
    Del {
        /// The field.
        field: Bytes,
    },
    /// `field` (if present) now expires at `at` (none: never).
    Expire {
        /// The field.
        field: Bytes,
        /// Absolute expiry in Unix ms.
        at: Option<i64>,
    },
}

#[derive(Debug, Clone)]
enum Repr {
    Small(Packed),
    Big(FieldTable),
}

/// Per-field expiry times.
#[derive(Debug, Clone, Default)]
struct Ttls {
    at: AHashMap<Bytes, i64>,
    order: BTreeSet<(i64, Bytes)>,
}

impl Ttls {
    fn set(&mut self, field: &Bytes, at: Option<i64>) {
        if let Some(old) = self.at.remove(field) {
            self.order.remove(&(old, field.clone()));
        }
        if let Some(at) = at {
            self.at.insert(field.clone(), at);
            self.order.insert((at, field.clone()));
        }
    }
}

/// A hash.
pub struct Hash {
    repr: Repr,
    ttls: Option<Box<Ttls>>,
    ops: Vec<HashOp>,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Clone for Hash {
    /// A copy with the same fields, and an identity of its own.
    fn clone(&self) -> Self {
        Hash {
            repr: self.repr.clone(),
            ttls: self.ttls.clone(),
            ops: self.ops.clone(),
            id: fresh_id(),
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hash")
            .field("len", &self.len())
            .field("big", &matches!(self.repr, Repr::Big(_)))
            .finish()
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values and expiries (encoding aside).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(f, v)| other.get(f) == Some(v) && other.expire_at(f) == self.expire_at(f))
    }
}

impl Hash {
    /// An empty hash in the small encoding.
    pub fn new() -> Self {
        Hash {
            repr: Repr::Small(Packed::default()),
            ttls: None,
            ops: Vec::new(),
            id: fresh_id(),
        }
    }

    /// A hash read back from disk (nothing recorded), judged by `limits`.
    pub fn restored(
        fields: impl IntoIterator<Item = (Bytes, Bytes, Option<i64>)>,
        limits: Limits,
    ) -> Self {
        let mut h = Hash::new();
        for (field, value, at) in fields {
            h.set_quietly(field, value, at, limits);
        }
        h
    }

    /// An identity no other hash in this process shares, a clone included
    /// (a checkpoint copying a big hash in pieces checks the key still
    /// holds the same one).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Number of fields (expired ones not yet removed included).
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len(),
            Repr::Big(t) => t.len(),
        }
    }

    /// Whether the hash has no field (the keyspace never keeps one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(p) => p.get(field),
            Repr::Big(t) => t.get(field),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// The expiry of `field`, if it has one.
    pub fn expire_at(&self, field: &[u8]) -> Option<i64> {
        self.ttls.as_ref()?.at.get(field).copied()
    }

    /// The earliest field expiry, if any field has one.
    pub fn next_expiry(&self) -> Option<i64> {
        self.ttls.as_ref()?.order.first().map(|(at, _)| *at)
    }

    /// Whether any field has an expiry.
    pub fn has_ttls(&self) -> bool {
        self.ttls.as_ref().is_some_and(|t| !t.at.is_empty())
    }

    /// Every field and value (table order for a big hash, insertion order
    /// for a small one).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Small(p) => Box::new(p.iter()),
            Repr::Big(t) => Box::new(t.iter()),
        }
    }

    /// Whether the hash is in the small encoding.
    pub fn is_small(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match (&self.repr, self.has_ttls()) {
            (Repr::Small(_), false) => "listpack",
            (Repr::Small(_), true) => "listpackex",
            (Repr::Big(_), _) => "hashtable",
        }
    }

    fn grow(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut t = FieldTable::default();
            for (f, v) in p.iter() {
                t.insert(f, v);
            }
            self.repr = Repr::Big(t);
        }
    }

    /// Turns to the big encoding now if a command setting `fields` fields
    /// (of at most `longest` bytes, fields or values) is more than the
    /// small encoding holds, as Redis sizes a hash by a command's
    /// arguments before it sets them.
    pub fn reserve(&mut self, fields: usize, longest: usize, limits: Limits) {
        if self.is_small() && (fields > limits.entries || longest > limits.value) {
            self.grow();
        }
    }

    fn set_quietly(&mut self, field: Bytes, value: Bytes, at: Option<i64>, limits: Limits) -> bool {
        if let Repr::Small(p) = &self.repr {
            let too_long = field.len() > limits.value || value.len() > limits.value;
            let too_many = p.len() >= limits.entries && p.get(&field).is_none();
            if too_long || too_many {
                self.grow();
            }
        }
        let new = match &mut self.repr {
            Repr::Small(p) => p.set(&field, &value),
            Repr::Big(t) => t.insert(&field, &value),
        };
        if at.is_some() || self.ttls.is_some() {
            self.set_ttl_quietly(&field, at);
        }
        new
    }

    fn set_ttl_quietly(&mut self, field: &Bytes, at: Option<i64>) {
        let ttls = self.ttls.get_or_insert_with(Default::default);
        ttls.set(field, at);
        if ttls.at.is_empty() {
            self.ttls = None;
        }
    }

    fn remove_quietly(&mut self, field: &[u8]) -> bool {
        let removed = match &mut self.repr {
            Repr::Small(p) => p.remove(field),
            Repr::Big(t) => t.remove(field),
        };
        if removed && self.ttls.is_some() {
            self.set_ttl_quietly(&Bytes::copy_from_slice(field), None);
        }
        removed
    }

    /// Sets `field` to `value` with no TTL (a TTL it had is cleared, as
    /// HSET does); true if the field is new.
    pub fn insert(&mut self, field: Bytes, value: Bytes, limits: Limits) -> bool {
        self.insert_with_ttl(field, value, None, limits)
    }

    /// Sets `field` to `value` expiring at `at`; true if the field is new.
    pub fn insert_with_ttl(
        &mut self,
        field: Bytes,
        value: Bytes,
        at: Option<i64>,
        limits: Limits,
    ) -> bool {
        let new = self.set_quietly(field.clone(), value.clone(), at, limits);
        self.ops.push(HashOp::Set {
            field,
            value,
            expire_at: at,
        });
        new
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let removed = self.remove_quietly(field);
        if removed {
            self.ops.push(HashOp::Del {
                field: Bytes::copy_from_slice(field),
            });
        }
        removed
    }

    /// Sets or clears the expiry of `field`, which must exist.
    pub fn set_expire(&mut self, field: &[u8], at: Option<i64>) {
        let field = Bytes::copy_from_slice(field);
        self.set_ttl_quietly(&field, at);
        self.ops.push(HashOp::Expire { field, at });
    }

    /// Removes the fields whose expiry is before `now` (up to `limit`);
    /// returns how many.
    pub fn remove_expired(&mut self, now: i64, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            let Some((at, field)) = self.ttls.as_ref().and_then(|t| t.order.first().cloned())
            else {
                break;
            };
            if at >= now {
                break;
            }
            self.remove(&field);
            removed += 1;
        }
        removed
    }

    /// Visits up to `budget` table slots from `cursor` (an HSCAN cursor);
    /// a small hash is visited whole. Returns the next cursor, 0 at the end.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&[u8], &[u8])) -> usize {
        match &self.repr {
            Repr::Small(p) => {
                p.iter().for_each(|(f, v)| visit(f, v));
                0
            }
            Repr::Big(t) => t.scan(cursor, budget, |f, v| visit(f, v)),
        }
    }

    /// A field chosen by `pick(n)` (HRANDFIELD), with its value.
    pub fn random_field(&self, pick: impl FnOnce(usize) -> usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(p) => {
                if p.is_empty() {
                    return None;
                }
                p.iter().nth(pick(p.len()) % p.len())
            }
            Repr::Big(t) => t.random(pick),
        }
    }

    /// Takes the changes recorded since the last call.
    pub fn take_ops(&mut self) -> Vec<HashOp> {
        std::mem::take(&mut self.ops)
    }

    /// Replays one recorded change (recovery), judging the encoding by
    /// the default limits.
    pub fn apply(&mut self, op: HashOp) {
        match op {
            HashOp::Set {
                field,
                value,
                expire_at,
            } => {
                self.set_quietly(field, value, expire_at, Limits::default());
            }
            HashOp::Del { field } => {
                self.remove_quietly(&field);
            }
            HashOp::Expire { field, at } => {
                if self.contains(&field) {
                    self.set_ttl_quietly(&field, at);
                }
            }
        }
    }

    /// Bytes the hash takes, roughly (MEMORY USAGE).
    pub fn memory(&self) -> usize {
        let base = std::mem::size_of::<Self>();
        let body = match &self.repr {
            Repr::Small(p) => p.capacity(),
            Repr::Big(t) => t.iter().map(|(f, v)| f.len() + v.len() + 2 * 32 + 16).sum(),
        };
        let ttls = self
            .ttls
            .as_ref()
            .map_or(0, |t| t.at.len() * (2 * 32 + 32 + 16));
        base + body + ttls
    }
}
