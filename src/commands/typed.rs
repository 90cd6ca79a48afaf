//! Looking a key up as one value type, for the type families (lists,
//! hashes, sets, sorted sets): absent is `None`, another type is
//! WRONGTYPE. One copy of the three lookups every family needs: a read
//! (counts a hit or a miss), a peek (a write command's first look: no hit
//! counted, nothing changed) and a write (the value's own recorded ops are
//! journaled when the command ends).

use crate::error::{self, CommandError};
use crate::keyspace::{Db, Entry, Hash, KeyspaceStats, List, Set, Value, ZSet};

/// A value type a family works on, and how to find it in a [`Value`].
pub(crate) trait Typed: Sized {
    /// The value as this type, if it is one.
    fn of(value: &Value) -> Option<&Self>;
    /// The value as this type, mutably.
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
}

macro_rules! typed {
    ($ty:ty, $variant:ident) => {
        impl Typed for $ty {
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

typed!(List, List);
typed!(Hash, Hash);
typed!(Set, Set);
typed!(ZSet, ZSet);

fn checked<T: Typed>(entry: Option<&Entry>) -> Result<Option<&T>, CommandError> {
    match entry {
        None => Ok(None),
        Some(entry) => T::of(&entry.value).map(Some).ok_or(error::WRONGTYPE),
    }
}

/// Looks `key` up for reading (a hit or a miss is counted).
pub(crate) fn read<'a, T: Typed>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a T>, CommandError> {
    checked(db.get(key, now, stats))
}

/// Checks the type of `key` without counting a hit or changing anything.
pub(crate) fn peek<'a, T: Typed>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a T>, CommandError> {
    checked(db.peek(key, now, stats))
}

/// Looks `key` up to change the value through its own methods, which
/// record the ops the journal gets when the command ends.
pub(crate) fn write<'a, T: Typed>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut T>, CommandError> {
    if peek::<T>(db, key, now, stats)?.is_none() {
        return Ok(None);
    }
    Ok(db
        .get_deltas_mut(key, now, stats)
        .and_then(|entry| T::of_mut(&mut entry.value)))
}
