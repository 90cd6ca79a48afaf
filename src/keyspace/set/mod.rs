//! Sets: unordered collections of distinct binary-safe members.
//!
//! ```text
//! Set
//!   members: FieldTable       the hash's big table with empty values:
//!                             O(1) membership, stable SSCAN cursors,
//!                             random members (SPOP, SRANDMEMBER), and
//!                             members packed in pages (no allocation of
//!                             their own: ~35 bytes a small member)
//!   encoding                  what OBJECT ENCODING reports
//!   ops: Vec<SetOp>           changes not yet journaled
//! ```
//!
//! Every change made through [`Set::insert`] and [`Set::remove`] is also
//! recorded as a [`SetOp`] that adds or removes one member; the keyspace
//! hands them to the journal when the command ends (one SADD on a big set
//! journals one small op, not the set), and recovery replays them with
//! [`Set::apply`]. Both ops state a final fact ("m is in", "m is out"), so
//! replaying one over a copy that already has it changes nothing.
//!
//! The encoding name follows Redis 7.2+: a new set starts as `intset` when
//! its first member is an integer and the command adds at most
//! `set-max-intset-entries` members, else as `listpack` when it adds at
//! most `set-max-listpack-entries`, else `hashtable`. An `intset` that
//! takes a non-integer becomes `listpack` if the result still fits the
//! listpack limits, else `hashtable`; one that grows past
//! `set-max-intset-entries` becomes `hashtable`. A `listpack` becomes
//! `hashtable` past `set-max-listpack-entries` members or on a member
//! longer than `set-max-listpack-value`. Sets never go back to a smaller
//! encoding. A set read back from disk is judged by its contents, as
//! Redis does when it loads an RDB file. All encodings share one
//! representation here; only the name differs (and an `intset` lists its
//! members in ascending numeric order, as Redis's sorted array does).

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::hash::FieldTable;

/// The thresholds of the small encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `set-max-intset-entries`.
    pub intset_entries: usize,
    /// `set-max-listpack-entries`.
    pub listpack_entries: usize,
    /// `set-max-listpack-value`.
    pub listpack_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            intset_entries: 512,
            listpack_entries: 128,
            listpack_value: 64,
        }
    }
}

/// The representation Redis would use (reported by OBJECT ENCODING).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Read back from disk: judged by contents until the next write.
    Unsettled,
    /// Small, integers only.
    Intset,
    /// Small.
    Listpack,
    /// Big.
    Hashtable,
}

/// One recorded change to a set, as the journal stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOp {
    /// `member` is in the set.
    Add {
        /// The member.
        member: Bytes,
    },
    /// `member` is not in the set.
    Rem {
        /// The member.
        member: Bytes,
    },
}

/// A set.
pub struct Set {
    /// Members as fields with empty values: no allocation per member.
    members: FieldTable,
    encoding: Encoding,
    ops: Vec<SetOp>,
    /// Which set this is (see [`Set::id`]).
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl Clone for Set {
    /// A copy with the same members and encoding, and an identity of its
    /// own.
    fn clone(&self) -> Self {
        Set {
            members: self.members.clone(),
            encoding: self.encoding,
            ops: self.ops.clone(),
            id: fresh_id(),
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set")
            .field("len", &self.len())
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl PartialEq for Set {
    /// Same members (encodings and pending ops aside).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

/// Whether Redis would store `member` in an intset: the canonical text of
/// an i64.
pub fn is_integer(member: &[u8]) -> bool {
    crate::commands::args::parse_i64_opt(member).is_some()
}

impl Set {
    /// An empty set that is about to receive `size_hint` members, the
    /// first being `first` (Redis sizes a new set by the command's
    /// arguments).
    pub fn for_adding(first: &[u8], size_hint: usize, limits: Limits) -> Self {
        let encoding = if is_integer(first) && size_hint <= limits.intset_entries {
            Encoding::Intset
        } else if size_hint <= limits.listpack_entries {
            Encoding::Listpack
        } else {
            Encoding::Hashtable
        };
        Set {
            members: FieldTable::default(),
            encoding,
            ops: Vec::new(),
            id: fresh_id(),
        }
    }

    /// An empty `intset` (the start of SINTERSTORE/SUNIONSTORE/SDIFFSTORE
    /// results, as in Redis).
    pub fn new() -> Self {
        Set {
            members: FieldTable::default(),
            encoding: Encoding::Intset,
            ops: Vec::new(),
            id: fresh_id(),
        }
    }

    /// A set read back from disk; its encoding is judged when next asked.
    pub fn restored(members: impl IntoIterator<Item = Bytes>) -> Self {
        let mut s = Set::new();
        for m in members {
            s.members.insert(&m, b"");
        }
        s.encoding = Encoding::Unsettled;
        s
    }

    /// An identity no other set in this process shares, a clone included
    /// (a checkpoint copying a big set in pieces checks it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set is empty (the keyspace never keeps an empty set).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.get(member).is_some()
    }

    /// Adds `member`; true if it was new. The encoding follows `limits`.
    pub fn insert(&mut self, member: Bytes, limits: Limits) -> bool {
        if self.contains(&member) {
            return false;
        }
        self.grow_encoding(&member, limits);
        self.members.insert(&member, b"");
        self.ops.push(SetOp::Add { member });
        true
    }

    /// Adds `member` without recording an op (a new value that is
    /// journaled whole); true if it was new.
    pub fn insert_quietly(&mut self, member: Bytes, limits: Limits) -> bool {
        if self.contains(&member) {
            return false;
        }
        self.grow_encoding(&member, limits);
        self.members.insert(&member, b"");
        true
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        if self.members.remove(member) {
            self.ops.push(SetOp::Rem {
                member: Bytes::copy_from_slice(member),
            });
            true
        } else {
            false
        }
    }

    /// The encoding after adding `member` (before it is in the set).
    fn grow_encoding(&mut self, member: &[u8], limits: Limits) {
        self.settle(limits);
        let after = self.len() + 1;
        match self.encoding {
            Encoding::Intset if is_integer(member) => {
                if after > limits.intset_entries {
                    self.encoding = Encoding::Hashtable;
                }
            }
            Encoding::Intset => {
                let fits = after <= limits.listpack_entries
                    && member.len() <= limits.listpack_value
                    && self.iter().all(|m| m.len() <= limits.listpack_value);
                self.encoding = if fits {
                    Encoding::Listpack
                } else {
                    Encoding::Hashtable
                };
            }
            Encoding::Listpack => {
                if after > limits.listpack_entries || member.len() > limits.listpack_value {
                    self.encoding = Encoding::Hashtable;
                }
            }
            Encoding::Hashtable | Encoding::Unsettled => {}
        }
    }

    fn judged(&self, limits: Limits) -> Encoding {
        if self.encoding != Encoding::Unsettled {
            return self.encoding;
        }
        let n = self.len();
        if n <= limits.intset_entries && self.iter().all(is_integer) {
            Encoding::Intset
        } else if n <= limits.listpack_entries
            && self.iter().all(|m| m.len() <= limits.listpack_value)
        {
            Encoding::Listpack
        } else {
            Encoding::Hashtable
        }
    }

    fn settle(&mut self, limits: Limits) {
        self.encoding = self.judged(limits);
    }

    /// The encoding, as OBJECT ENCODING reports it.
    pub fn encoding(&self, limits: Limits) -> Encoding {
        self.judged(limits)
    }

    /// What OBJECT ENCODING reports.
    pub fn encoding_name(&self, limits: Limits) -> &'static str {
        match self.judged(limits) {
            Encoding::Intset => "intset",
            Encoding::Listpack => "listpack",
            _ => "hashtable",
        }
    }

    /// Before a command adds up to `size_hint` members: a small encoding
    /// that many would overflow becomes `hashtable` at once, as Redis
    /// converts before adding.
    pub fn prepare_for(&mut self, size_hint: usize, limits: Limits) {
        self.settle(limits);
        let over = match self.encoding {
            Encoding::Listpack => size_hint > limits.listpack_entries,
            Encoding::Intset => size_hint > limits.intset_entries,
            _ => false,
        };
        if over {
            self.encoding = Encoding::Hashtable;
        }
    }

    /// Every member, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|(m, _)| m)
    }

    /// Every member in the order Redis lists them: ascending numerically
    /// for an `intset`, table order otherwise.
    pub fn listed(&self, limits: Limits) -> Vec<&[u8]> {
        let mut all: Vec<&[u8]> = self.iter().collect();
        if self.judged(limits) == Encoding::Intset {
            all.sort_by_key(|m| crate::commands::args::parse_i64_opt(m).unwrap_or(0));
        }
        all
    }

    /// Visits up to `budget` slots from `cursor` (an SSCAN cursor: members
    /// present for the whole scan are visited exactly once). Returns the
    /// next cursor, 0 at the end.
    pub fn scan(&self, cursor: usize, budget: usize, mut visit: impl FnMut(&[u8])) -> usize {
        self.members.scan(cursor, budget, |m, _| visit(m))
    }

    /// A member chosen by `pick(slot_count)`.
    pub fn random_member(&self, pick: impl FnOnce(usize) -> usize) -> Option<&[u8]> {
        self.members.random(pick).map(|(m, _)| m)
    }

    /// Takes the changes recorded since the last call.
    pub fn take_ops(&mut self) -> Vec<SetOp> {
        std::mem::take(&mut self.ops)
    }

    /// Replays one recorded change (recovery). Replaying a change the set
    /// already has changes nothing.
    pub fn apply(&mut self, op: SetOp) {
        match op {
            SetOp::Add { member } => {
                if !self.contains(&member) {
                    self.members.insert(&member, b"");
                    // Judge the encoding afresh once replay is over.
                    self.encoding = Encoding::Unsettled;
                }
            }
            SetOp::Rem { member } => {
                self.members.remove(&member);
            }
        }
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}
