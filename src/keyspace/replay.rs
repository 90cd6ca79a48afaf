//! Replaying journaled operations into the keyspace (recovery, DEBUG
//! RELOAD/LOADAOF). Every op states a final value or an idempotent delta,
//! so replaying one over a checkpoint copy that already has it is harmless.

use super::{Entry, Keyspace, KeyspaceStats, Op, Value};

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
