//! Replaying journaled operations into the keyspace (recovery, DEBUG
//! RELOAD/LOADAOF). Every op states a final value or an idempotent delta,
//! so replaying one over a checkpoint copy that already has it is harmless;
//! list ops, which are positional, carry the list's version and are
//! skipped when the copy already holds them.

use bytes::Bytes;

use super::{Entry, Keyspace, KeyspaceStats, Op, Value};

/// `s` with `bytes` written at `offset` (`end` is `offset + bytes.len()`),
/// zero-padded up to `offset` if it was shorter: the effect of a journaled
/// `SetRange`, which is the same whether or not `s` already holds it.
pub fn write_range(s: Bytes, offset: usize, bytes: &[u8], end: usize) -> Bytes {
    let mut buf = s.try_into_mut().unwrap_or_else(|b| b.as_ref().into());
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset..end].copy_from_slice(bytes);
    buf.freeze()
}

impl Keyspace {
    /// Applies one journaled operation (recovery). The changes it makes are
    /// recorded like any other; recovery discards them.
    pub fn apply(&mut self, op: Op) -> Result<(), String> {
        let check = |db: u32, count: usize| {
            if (db as usize) < count {
                Ok(db as usize)
            } else {
                Err(format!("database {db} out of range (databases is {count})"))
            }
        };
        let count = self.dbs.len();
        match op {
            Op::Put { db, key, entry } => {
                let db = check(db, count)?;
                self.dbs[db].insert(key, entry);
            }
            Op::Del { db, key } => {
                let db = check(db, count)?;
                self.dbs[db].remove(&key);
            }
            Op::FlushDb { db } => {
                let db = check(db, count)?;
                self.dbs[db].clear();
            }
            Op::Append { db, key, tail } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                let d = &mut self.dbs[db];
                match d.get_mut(&key, i64::MIN, &mut stats) {
                    Some(Entry {
                        value: Value::Str(s),
                        raw_encoding,
                        ..
                    }) => {
                        let mut grown = std::mem::take(s)
                            .try_into_mut()
                            .unwrap_or_else(|b| b.as_ref().into());
                        grown.extend_from_slice(&tail);
                        *s = grown.freeze();
                        *raw_encoding = true;
                    }
                    Some(_) => return Err("append to a key that is not a string".into()),
                    None => {
                        return Err(format!(
                            "append to missing key {:?}",
                            String::from_utf8_lossy(&key)
                        ))
                    }
                }
            }
            Op::Expire { db, key, at } => {
                let db = check(db, count)?;
                // A key missing here is deleted later in the log.
                self.dbs[db].set_expire(&key, at);
            }
            Op::Stream { db, key, ops } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                // Only a checkpoint's copy made after the key was deleted or
                // replaced lacks the stream; the log replaces it later too.
                if let Some(Entry {
                    value: Value::Stream(stream),
                    ..
                }) = self.dbs[db].get_stream_mut(&key, i64::MIN, &mut stats)
                {
                    for op in ops {
                        stream.apply(op);
                    }
                }
            }
            Op::ZSet { db, key, ops } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                // As for streams: a copy made after the key was deleted or
                // replaced lacks the set, and the log replaces it later too.
                if let Some(Entry {
                    value: Value::ZSet(zset),
                    ..
                }) = self.dbs[db].get_zset_mut(&key, i64::MIN, &mut stats)
                {
                    for op in ops {
                        zset.apply(op);
                    }
                    if zset.is_empty() {
                        self.dbs[db].remove(&key);
                    }
                }
            }
            Op::Set { db, key, ops } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                // As for sorted sets: a copy made after the key was deleted
                // or replaced lacks the set, and the log replaces it later.
                if let Some(Entry {
                    value: Value::Set(set),
                    ..
                }) = self.dbs[db].get_set_mut(&key, i64::MIN, &mut stats)
                {
                    for op in ops {
                        set.apply(op);
                    }
                    if set.is_empty() {
                        self.dbs[db].remove(&key);
                    }
                }
            }
            Op::List { db, key, base, ops } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                // A copy made after the key was deleted or replaced lacks
                // the list (or holds a newer one): the log replaces it
                // later, so a batch that does not fit is skipped.
                if let Some(Entry {
                    value: Value::List(list),
                    ..
                }) = self.dbs[db].get_list_mut(&key, i64::MIN, &mut stats)
                {
                    list.apply_from(base, ops, crate::keyspace::list::Fill::default());
                    if list.is_empty() {
                        self.dbs[db].remove(&key);
                    }
                }
            }
            Op::SetRange {
                db,
                key,
                offset,
                bytes,
            } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                let offset = usize::try_from(offset)
                    .ok()
                    .filter(|o| o.checked_add(bytes.len()).is_some())
                    .ok_or("range past the address space")?;
                // A checkpoint's copy made after the key was replaced by
                // another type lacks the string; the log replaces it later
                // too, so the write is skipped (it returns `None`).
                let _ = self.dbs[db].write_string_range(&key, offset, bytes, 0, &mut stats);
            }
            Op::Hash { db, key, ops } => {
                let db = check(db, count)?;
                let mut stats = KeyspaceStats::default();
                // As for sorted sets: a copy made after the key was deleted
                // or replaced lacks the hash, and the log replaces it too.
                if let Some(Entry {
                    value: Value::Hash(hash),
                    ..
                }) = self.dbs[db].get_hash_mut(&key, i64::MIN, &mut stats)
                {
                    for op in ops {
                        hash.apply(op);
                    }
                    let (empty, next) = (hash.is_empty(), hash.next_expiry());
                    if empty {
                        self.dbs[db].remove(&key);
                    } else if let Some(at) = next {
                        self.dbs[db].note_field_expiry(&key, at);
                    }
                }
            }
            Op::SwapDb { a, b } => {
                let (a, b) = (check(a, count)?, check(b, count)?);
                self.swap(a, b);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Set;

    fn range(key: &'static [u8], offset: u64, bytes: &'static [u8]) -> Op {
        Op::SetRange {
            db: 0,
            key: Bytes::from_static(key),
            offset,
            bytes: Bytes::from_static(bytes),
        }
    }

    fn string(ks: &mut Keyspace, key: &[u8]) -> Option<Bytes> {
        let (db, stats) = ks.db(0);
        match db.get(key, 0, stats) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn set_ranges_create_pad_and_replay_idempotently() {
        let mut ks = Keyspace::new(1);
        let ops = [
            range(b"k", 3, b"ab"),
            range(b"k", 0, b"x"),
            range(b"k", 4, b"Z"),
        ];
        for op in ops.iter().chain(ops.iter()) {
            ks.apply(op.clone()).unwrap();
        }
        assert_eq!(string(&mut ks, b"k").as_deref(), Some(&b"x\0\0aZ"[..]));
    }

    #[test]
    fn a_set_range_over_another_type_is_skipped() {
        // A checkpoint copy may hold the key's later value, of another
        // type; the log replaces it again after this op.
        let mut ks = Keyspace::new(1);
        ks.apply(Op::Put {
            db: 0,
            key: Bytes::from_static(b"k"),
            entry: Entry::new(
                Value::Set(Box::new(Set::restored([Bytes::from_static(b"m")]))),
                0,
            ),
        })
        .unwrap();
        ks.apply(range(b"k", 0, b"x")).unwrap();
        let (db, _) = ks.db(0);
        assert!(matches!(
            db.table().get(b"k"),
            Some(Entry {
                value: Value::Set(_),
                ..
            })
        ));
    }
}
