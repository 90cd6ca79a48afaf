//! The operations the journal records for keyspace changes.

use bytes::Bytes;

use super::{Entry, HashOp, ListOp, SetOp, StreamOp, ZSetOp};

/// One change to the keyspace, as the journal records it: a key's final
/// state after a command, or a database-wide operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `key` in database `db` now holds `entry`.
    Put {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// Its value and metadata.
        entry: Entry,
    },
    /// `key` in database `db` no longer exists.
    Del {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
    },
    /// Database `db` was emptied.
    FlushDb {
        /// Database number.
        db: u32,
    },
    /// `tail` was appended to the string at `key` in database `db`.
    Append {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The bytes appended.
        tail: Bytes,
    },
    /// The expiry of `key` in database `db` is now `at`.
    Expire {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// Absolute expiry in Unix ms, or none.
        at: Option<i64>,
    },
    /// The stream at `key` in database `db` changed like this.
    Stream {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The changes, in order.
        ops: Vec<StreamOp>,
    },
    /// The sorted set at `key` in database `db` changed like this.
    ZSet {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The changes, in order.
        ops: Vec<ZSetOp>,
    },
    /// The hash at `key` in database `db` changed like this.
    Hash {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The changes, in order.
        ops: Vec<HashOp>,
    },
    /// The set at `key` in database `db` changed like this.
    Set {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The changes, in order.
        ops: Vec<SetOp>,
    },
    /// The string at `key` in database `db` holds `bytes` at `offset`
    /// (zero-padded up to `offset` if it was shorter, created if absent):
    /// SETBIT, BITFIELD and SETRANGE journal only the bytes they changed.
    SetRange {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// Where the bytes go.
        offset: u64,
        /// The bytes now there.
        bytes: Bytes,
    },
    /// The list at `key` in database `db` changed like this. The ops are
    /// positional (not idempotent): `base` is the list's version before
    /// the first of them, so replay skips those a checkpoint copy holds.
    List {
        /// Database number.
        db: u32,
        /// The key.
        key: Bytes,
        /// The list's version before these ops.
        base: u64,
        /// The changes, in order.
        ops: Vec<ListOp>,
    },
    /// Databases `a` and `b` swapped contents.
    SwapDb {
        /// One database number.
        a: u32,
        /// The other.
        b: u32,
    },
}
