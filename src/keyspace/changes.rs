//! What the running command changed, for the journal: the [`Dirty`]
//! marks every change leaves, the accessors through which a value records
//! its own ops (one member, not the whole value), and `drain_changes`,
//! which turns the marks into journal [`Op`]s when the command ends.

use bytes::Bytes;

use super::{Db, Entry, KeyspaceStats, Op, Value};

/// A change to remember until the command ends.
#[derive(Debug)]
pub(super) enum Dirty {
    /// This key changed.
    Key(Bytes),
    /// These bytes were appended to this key's string (APPEND journals the
    /// tail, not the whole value).
    Append(Bytes, Bytes),
    /// These bytes now sit at this offset of this key's string (SETBIT,
    /// BITFIELD, SETRANGE journal the bytes they changed).
    SetRange(Bytes, u64, Bytes),
    /// The whole database was emptied.
    Flushed,
    /// Only this key's expiry changed.
    Expire(Bytes),
    /// This value (a stream or a sorted set) recorded changes of its own
    /// ([`Stream::take_ops`], [`ZSet::take_ops`]).
    Deltas(Bytes),
}

impl Db {
    /// Looks a key up for a command that changes the stream stored there
    /// through [`Stream`]'s methods: the stream records its own changes for
    /// the journal, so the key is not journaled whole.
    pub fn get_stream_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    /// Looks a key up for a command that changes the sorted set stored
    /// there through [`ZSet`]'s methods, which record their own changes
    /// for the journal (one member, not the whole set). A command that
    /// empties the set must still [`Db::remove`] the key.
    pub fn get_zset_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    /// Looks a key up for a command that changes the set stored there
    /// through [`Set`]'s methods, which record their own changes for the
    /// journal (one member, not the whole set). A command that empties the
    /// set must still [`Db::remove`] the key.
    pub fn get_set_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    /// Looks a key up for a command that changes the list stored there
    /// through [`List`]'s methods, which record their own changes for the
    /// journal (one push, not the whole list). A command that empties the
    /// list must still [`Db::remove`] the key.
    pub fn get_list_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    /// Looks a key up for a command that changes its value (a list, hash,
    /// set, sorted set or stream) through the value's own methods, which
    /// record their changes for the journal; the key is not journaled
    /// whole. A command that empties the value must still [`Db::remove`]
    /// the key.
    pub fn get_deltas_mut(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.get_mut_with_deltas(key, now, stats)
    }

    pub(super) fn get_mut_with_deltas(
        &mut self,
        key: &[u8],
        now: i64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry> {
        self.expire_if_due(key, now, stats);
        let stored = self.data.table.stored_key(key)?;
        self.touch(&stored);
        self.dirty.push(Dirty::Deltas(stored));
        let entry = self.data.table.get_mut(key)?;
        entry.last_access = now;
        Some(entry)
    }

    /// Records that `key` changed: its watchers are flagged, and its final
    /// state goes to the journal when the command ends.
    pub(super) fn changed(&mut self, key: Bytes) {
        self.touch(&key);
        self.dirty.push(Dirty::Key(key));
    }

    /// Turns the keys changed since the last call into journal operations:
    /// each key's final state (a put or a delete), and a flush where the
    /// database was emptied.
    pub(super) fn drain_changes(&mut self, ops: &mut Vec<Op>, appends_as_puts: bool) {
        self.end_command();
        self.counted = 0;
        if self.dirty.is_empty() {
            return;
        }
        if appends_as_puts {
            for d in &mut self.dirty {
                if let Dirty::Append(key, _) = d {
                    *d = Dirty::Key(key.clone());
                }
            }
        }
        // Most commands change one key: no de-duplication needed then, and
        // no hash sets to build (seeding one showed in profiles).
        let many = self.dirty.len() > 1;
        let mut seen: Option<ahash::AHashSet<Bytes>> = many.then(Default::default);
        // A key whose final state is written anyway needs no deltas.
        let put: Option<ahash::AHashSet<Bytes>> = many.then(|| {
            self.dirty
                .iter()
                .filter_map(|d| match d {
                    Dirty::Key(k) => Some(k.clone()),
                    _ => None,
                })
                .collect()
        });
        let is_put = |key: &Bytes| put.as_ref().is_some_and(|p| p.contains(key));
        // Keep the list's buffer for the next command.
        let mut dirty = std::mem::take(&mut self.dirty);
        for change in dirty.drain(..) {
            match change {
                Dirty::Append(key, tail) => {
                    if !is_put(&key) {
                        ops.push(Op::Append {
                            db: self.index,
                            key,
                            tail,
                        });
                    }
                }
                Dirty::SetRange(key, offset, bytes) => {
                    if !is_put(&key) {
                        ops.push(Op::SetRange {
                            db: self.index,
                            key,
                            offset,
                            bytes,
                        });
                    }
                }
                Dirty::Expire(key) => {
                    if !is_put(&key) {
                        if let Some(entry) = self.data.table.get(&key) {
                            ops.push(Op::Expire {
                                db: self.index,
                                key,
                                at: entry.expire_at,
                            });
                        }
                    }
                }
                Dirty::Deltas(key) => {
                    let Some(entry) = self.data.table.get_mut(&key) else {
                        continue;
                    };
                    let op = match &mut entry.value {
                        Value::Stream(stream) => {
                            let stream_ops = stream.take_ops();
                            (!stream_ops.is_empty()).then_some(Op::Stream {
                                db: self.index,
                                key: key.clone(),
                                ops: stream_ops,
                            })
                        }
                        Value::ZSet(zset) => {
                            let zset_ops = zset.take_ops();
                            (!zset_ops.is_empty()).then_some(Op::ZSet {
                                db: self.index,
                                key: key.clone(),
                                ops: zset_ops,
                            })
                        }
                        Value::Set(set) => {
                            let set_ops = set.take_ops();
                            (!set_ops.is_empty()).then_some(Op::Set {
                                db: self.index,
                                key: key.clone(),
                                ops: set_ops,
                            })
                        }
                        Value::List(list) => {
                            let (base, list_ops) = list.take_ops();
                            (!list_ops.is_empty()).then_some(Op::List {
                                db: self.index,
                                key: key.clone(),
                                base,
                                ops: list_ops,
                            })
                        }
                        Value::Hash(hash) => {
                            let hash_ops = hash.take_ops();
                            (!hash_ops.is_empty()).then_some(Op::Hash {
                                db: self.index,
                                key: key.clone(),
                                ops: hash_ops,
                            })
                        }
                        Value::Str(_) => None,
                    };
                    if let Some(op) = op {
                        if !is_put(&key) {
                            ops.push(op);
                        }
                    }
                }
                Dirty::Flushed => {
                    if let Some(seen) = seen.as_mut() {
                        seen.clear();
                    }
                    ops.push(Op::FlushDb { db: self.index });
                }
                Dirty::Key(key) => {
                    if let Some(seen) = seen.as_mut() {
                        if !seen.insert(key.clone()) {
                            continue;
                        }
                    }
                    ops.push(match self.data.table.get_mut(&key) {
                        Some(entry) => {
                            // The whole state is written: drop the deltas.
                            entry.value.discard_deltas();
                            Op::Put {
                                db: self.index,
                                key,
                                entry: entry.clone(),
                            }
                        }
                        None => Op::Del {
                            db: self.index,
                            key,
                        },
                    });
                }
            }
        }
        self.dirty = dirty;
    }

    /// Counts the command that just ran in `changes` if it changed
    /// anything in this database. Redis counts some commands by element
    /// (LPUSH of three elements is 3, MSET of two keys 2); Sluice counts one
    /// per command, which is what a "changed since the last save" check
    /// needs.
    pub(super) fn end_command(&mut self) {
        if self.dirty.len() > self.counted {
            self.changes += 1;
        }
        self.counted = self.dirty.len();
    }
}
