//! The payload of a `Batch` record (and of a `CheckpointEntry`): keyspace
//! operations.
//!
//! ```text
//! batch      count u32, then `count` ops
//! op         tag u8, then by tag:
//!   1 Put      db u32, key bytes, expire_at i64 (i64::MIN = none),
//!              flags u8 (bit 0: raw string encoding), value
//!   2 Del      db u32, key bytes
//!   3 FlushDb  db u32
//!   4 SwapDb   a u32, b u32
//!   5 Append   db u32, key bytes, tail bytes
//!   6 Expire   db u32, key bytes, expire_at i64 (i64::MIN = none)
//!   7 Stream   db u32, key bytes, stream ops (see `stream_ops`)
//!   8 ZSet     db u32, key bytes, zset ops (see `zset_ops`)
//!   9 List     db u32, key bytes, list ops (see `list_ops`): a base
//!              version and positional ops that replay skips when the
//!              list already holds them
//!  10 Hash     db u32, key bytes, hash ops (see `hash_ops`)
//!  11 Set      db u32, key bytes, set ops (see `set_ops`)
//!  12 SetRange db u32, key bytes, offset u64, bytes: the string now holds
//!              these bytes at this offset (zero-padded before it if it was
//!              shorter; created if absent). SETBIT, BITFIELD and SETRANGE
//!              journal only what they changed. Idempotent.
//! value      type u8, then by type:
//!   1 string   bytes
//!   2 stream   a whole stream (see `stream_ops`)
//!   3 zset     a whole sorted set (see `zset_ops`)
//!   4 list     a whole list with its version (see `list_ops`)
//!   5 hash     a whole hash (see `hash_ops`)
//!   6 set      a whole set (see `set_ops`)
//! bytes      len u32, then len bytes
//! ```
//! All integers are little-endian.

use bytes::Bytes;

use super::format::codec::{put_bytes, put_i64, put_u32, put_u64, Reader};
use super::hash_ops::{
    decode_hash, decode_hash_ops, encode_hash, encode_hash_fields, encode_hash_ops,
    encode_hash_sets,
};
use super::list_ops::{decode_list, decode_list_ops, encode_list, encode_list_ops};
use super::set_ops::{
    decode_set, decode_set_ops, encode_set, encode_set_adds, encode_set_members, encode_set_ops,
};
use super::stream_ops::{decode_stream, decode_stream_ops, encode_stream, encode_stream_ops};
use super::zset_ops::{
    decode_zset, decode_zset_ops, encode_zset, encode_zset_ops, encode_zset_pairs, encode_zset_sets,
};
use crate::keyspace::{Entry, Op, Value};

const PUT: u8 = 1;
const DEL: u8 = 2;
const FLUSHDB: u8 = 3;
const SWAPDB: u8 = 4;
const APPEND: u8 = 5;
const EXPIRE: u8 = 6;
const STREAM_OPS: u8 = 7;
const ZSET_OPS: u8 = 8;
const SET_OPS: u8 = 11;
const SET_RANGE: u8 = 12;
const LIST_OPS: u8 = 9;
const HASH_OPS: u8 = 10;
const NO_EXPIRY: i64 = i64::MIN;
const STRING: u8 = 1;
const STREAM: u8 = 2;
const ZSET: u8 = 3;
const SET: u8 = 6;
const LIST: u8 = 4;
const HASH: u8 = 5;

/// Encodes a `Put` of `entry` at `key` without building the op (a
/// checkpoint writes every key this way, so it never clones a stream).
pub fn encode_put(out: &mut Vec<u8>, db: u32, key: &[u8], entry: &Entry) {
    out.push(PUT);
    put_u32(out, db);
    put_bytes(out, key);
    put_i64(out, entry.expire_at().unwrap_or(NO_EXPIRY));
    out.push(entry.raw_encoding as u8);
    match &entry.value {
        Value::Str(s) => {
            out.push(STRING);
            put_bytes(out, s);
        }
        Value::Stream(s) => {
            out.push(STREAM);
            encode_stream(out, s);
        }
        Value::ZSet(z) => {
            out.push(ZSET);
            encode_zset(out, z);
        }
        Value::Set(set) => {
            out.push(SET);
            encode_set(out, set);
        }
        Value::List(l) => {
            out.push(LIST);
            encode_list(out, l);
        }
        Value::Hash(h) => {
            out.push(HASH);
            encode_hash(out, h);
        }
    }
}

/// Encodes a `Put` of a hash holding just `fields` at `key`: the first
/// piece of a big hash that a checkpoint copies in pieces.
pub fn encode_hash_put(
    out: &mut Vec<u8>,
    db: u32,
    key: &[u8],
    expire_at: Option<i64>,
    fields: &[(Bytes, Bytes, Option<i64>)],
) {
    out.push(PUT);
    put_u32(out, db);
    put_bytes(out, key);
    put_i64(out, expire_at.unwrap_or(NO_EXPIRY));
    out.push(0);
    out.push(HASH);
    encode_hash_fields(out, fields);
}

/// Encodes a `Hash` op setting each of `fields` at `key`: a later piece of
/// a hash that a checkpoint copies in pieces.
pub fn encode_hash_sets_op(
    out: &mut Vec<u8>,
    db: u32,
    key: &[u8],
    fields: &[(Bytes, Bytes, Option<i64>)],
) {
    out.push(HASH_OPS);
    put_u32(out, db);
    put_bytes(out, key);
    encode_hash_sets(out, fields);
}

/// Encodes a `Put` of a set holding just `members` at `key`: the first
/// piece of a big set that a checkpoint copies in pieces.
pub fn encode_set_put(
    out: &mut Vec<u8>,
    db: u32,
    key: &[u8],
    expire_at: Option<i64>,
    members: &[Bytes],
) {
    out.push(PUT);
    put_u32(out, db);
    put_bytes(out, key);
    put_i64(out, expire_at.unwrap_or(NO_EXPIRY));
    out.push(0);
    out.push(SET);
    encode_set_members(out, members);
}

/// Encodes a `Set` op adding each of `members` at `key`: a later piece of
/// a set that a checkpoint copies in pieces.
pub fn encode_set_adds_op(out: &mut Vec<u8>, db: u32, key: &[u8], members: &[Bytes]) {
    out.push(SET_OPS);
    put_u32(out, db);
    put_bytes(out, key);
    encode_set_adds(out, members);
}

/// Encodes a `Put` of a sorted set holding just `pairs` (ascending) at
/// `key`: the first piece of a big set that a checkpoint copies in pieces.
pub fn encode_zset_put(
    out: &mut Vec<u8>,
    db: u32,
    key: &[u8],
    expire_at: Option<i64>,
    pairs: &[(Bytes, f64)],
) {
    out.push(PUT);
    put_u32(out, db);
    put_bytes(out, key);
    put_i64(out, expire_at.unwrap_or(NO_EXPIRY));
    out.push(0);
    out.push(ZSET);
    encode_zset_pairs(out, pairs);
}

/// Encodes a `ZSet` op setting each of `pairs` at `key`: a later piece of
/// a set that a checkpoint copies in pieces.
pub fn encode_zset_sets_op(out: &mut Vec<u8>, db: u32, key: &[u8], pairs: &[(Bytes, f64)]) {
    out.push(ZSET_OPS);
    put_u32(out, db);
    put_bytes(out, key);
    encode_zset_sets(out, pairs);
}

/// Encodes one op.
pub fn encode_op(out: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Put { db, key, entry } => encode_put(out, *db, key, entry),
        Op::Expire { db, key, at } => {
            out.push(EXPIRE);
            put_u32(out, *db);
            put_bytes(out, key);
            put_i64(out, at.unwrap_or(NO_EXPIRY));
        }
        Op::Stream { db, key, ops } => {
            out.push(STREAM_OPS);
            put_u32(out, *db);
            put_bytes(out, key);
            encode_stream_ops(out, ops);
        }
        Op::ZSet { db, key, ops } => {
            out.push(ZSET_OPS);
            put_u32(out, *db);
            put_bytes(out, key);
            encode_zset_ops(out, ops);
        }
        Op::Set { db, key, ops } => {
            out.push(SET_OPS);
            put_u32(out, *db);
            put_bytes(out, key);
            encode_set_ops(out, ops);
        }
        Op::SetRange {
            db,
            key,
            offset,
            bytes,
        } => {
            out.push(SET_RANGE);
            put_u32(out, *db);
            put_bytes(out, key);
            put_u64(out, *offset);
            put_bytes(out, bytes);
        }
        Op::List { db, key, base, ops } => {
            out.push(LIST_OPS);
            put_u32(out, *db);
            put_bytes(out, key);
            encode_list_ops(out, *base, ops);
        }
        Op::Hash { db, key, ops } => {
            out.push(HASH_OPS);
            put_u32(out, *db);
            put_bytes(out, key);
            encode_hash_ops(out, ops);
        }
        Op::Del { db, key } => {
            out.push(DEL);
            put_u32(out, *db);
            put_bytes(out, key);
        }
        Op::FlushDb { db } => {
            out.push(FLUSHDB);
            put_u32(out, *db);
        }
        Op::Append { db, key, tail } => {
            out.push(APPEND);
            put_u32(out, *db);
            put_bytes(out, key);
            put_bytes(out, tail);
        }
        Op::SwapDb { a, b } => {
            out.push(SWAPDB);
            put_u32(out, *a);
            put_u32(out, *b);
        }
    }
}

/// Encodes a batch: everything one command (or one EXEC) changed.
pub fn encode_batch(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    put_u32(&mut out, ops.len() as u32);
    for op in ops {
        encode_op(&mut out, op);
    }
    out
}

/// Decodes one op; `now` becomes the restored keys' access time.
pub fn decode_op(r: &mut Reader<'_>, now: i64) -> Option<Op> {
    let bytes = |r: &mut Reader<'_>| r.bytes().map(Bytes::copy_from_slice);
    Some(match r.u8()? {
        PUT => {
            let db = r.u32()?;
            let key = bytes(r)?;
            let expire_at = Some(r.i64()?).filter(|&at| at != NO_EXPIRY);
            let flags = r.u8()?;
            let value = match r.u8()? {
                STRING => Value::Str(bytes(r)?),
                STREAM => Value::Stream(Box::new(decode_stream(r)?)),
                ZSET => Value::ZSet(Box::new(decode_zset(r)?)),
                SET => Value::Set(Box::new(decode_set(r)?)),
                LIST => Value::List(Box::new(decode_list(r)?)),
                HASH => Value::Hash(Box::new(decode_hash(r)?)),
                _ => return None,
            };
            Op::Put {
                db,
                key,
                entry: Entry::restored(value, expire_at, flags & 1 == 1, now),
            }
        }
        DEL => Op::Del {
            db: r.u32()?,
            key: bytes(r)?,
        },
        FLUSHDB => Op::FlushDb { db: r.u32()? },
        EXPIRE => Op::Expire {
            db: r.u32()?,
            key: bytes(r)?,
            at: Some(r.i64()?).filter(|&at| at != NO_EXPIRY),
        },
        STREAM_OPS => Op::Stream {
            db: r.u32()?,
            key: bytes(r)?,
            ops: decode_stream_ops(r)?,
        },
        ZSET_OPS => Op::ZSet {
            db: r.u32()?,
            key: bytes(r)?,
            ops: decode_zset_ops(r)?,
        },
        SET_OPS => Op::Set {
            db: r.u32()?,
            key: bytes(r)?,
            ops: decode_set_ops(r)?,
        },
        SET_RANGE => Op::SetRange {
            db: r.u32()?,
            key: bytes(r)?,
            offset: r.u64()?,
            bytes: bytes(r)?,
        },
        LIST_OPS => {
            let db = r.u32()?;
            let key = bytes(r)?;
            let (base, ops) = decode_list_ops(r)?;
            Op::List { db, key, base, ops }
        }
        HASH_OPS => Op::Hash {
            db: r.u32()?,
            key: bytes(r)?,
            ops: decode_hash_ops(r)?,
        },
        APPEND => Op::Append {
            db: r.u32()?,
            key: bytes(r)?,
            tail: bytes(r)?,
        },
        SWAPDB => Op::SwapDb {
            a: r.u32()?,
            b: r.u32()?,
        },
        _ => return None,
    })
}

/// Decodes a batch; `None` if it is malformed (a CRC-valid record that does
/// not decode means a bug or a foreign writer, never a torn write).
pub fn decode_batch(payload: &[u8], now: i64) -> Option<Vec<Op>> {
    let mut r = Reader::new(payload);
    let count = r.u32()? as usize;
    let mut ops = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        ops.push(decode_op(&mut r, now)?);
    }
    r.is_done().then_some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trip() {
        let mut entry = Entry::restored(
            Value::Str(Bytes::from_static(b"v\0\xff")),
            Some(123),
            true,
            5,
        );
        entry.last_access = 5;
        let ops = vec![
            Op::Put {
                db: 3,
                key: Bytes::from_static(b"k"),
                entry,
            },
            Op::Put {
                db: 0,
                key: Bytes::new(),
                entry: Entry::restored(Value::Str(Bytes::new()), None, false, 5),
            },
            Op::Del {
                db: 1,
                key: Bytes::from_static(b"gone"),
            },
            Op::FlushDb { db: 2 },
            Op::Append {
                db: 4,
                key: Bytes::from_static(b"k"),
                tail: Bytes::from_static(b"more"),
            },
            Op::SwapDb { a: 0, b: 9 },
            Op::Put {
                db: 1,
                key: Bytes::from_static(b"z"),
                entry: Entry::restored(
                    Value::ZSet(Box::new(crate::keyspace::ZSet::restored([
                        (Bytes::from_static(b"a"), -1.5),
                        (Bytes::from_static(b"b\0"), f64::INFINITY),
                    ]))),
                    None,
                    false,
                    5,
                ),
            },
            Op::ZSet {
                db: 2,
                key: Bytes::from_static(b"z"),
                ops: vec![
                    crate::keyspace::ZSetOp::Set {
                        member: Bytes::from_static(b"m"),
                        score: f64::NEG_INFINITY,
                    },
                    crate::keyspace::ZSetOp::Rem {
                        member: Bytes::from_static(b"a"),
                    },
                ],
            },
            Op::Put {
                db: 0,
                key: Bytes::from_static(b"s"),
                entry: Entry::restored(
                    Value::Set(Box::new(crate::keyspace::Set::restored([
                        Bytes::from_static(b"1"),
                        Bytes::from_static(b"x\0y"),
                    ]))),
                    None,
                    false,
                    5,
                ),
            },
            Op::Set {
                db: 3,
                key: Bytes::from_static(b"s"),
                ops: vec![
                    crate::keyspace::SetOp::Add {
                        member: Bytes::from_static(b"m"),
                    },
                    crate::keyspace::SetOp::Rem {
                        member: Bytes::new(),
                    },
                ],
            },
            Op::SetRange {
                db: 1,
                key: Bytes::from_static(b"bits"),
                offset: 1 << 33,
                bytes: Bytes::from_static(b"\x80\0"),
            },
        ];
        let encoded = encode_batch(&ops);
        assert_eq!(decode_batch(&encoded, 5), Some(ops));
        assert_eq!(decode_batch(&encoded[..encoded.len() - 1], 5), None);
        let mut longer = encoded.clone();
        longer.push(0);
        assert_eq!(decode_batch(&longer, 5), None);
    }

    #[test]
    fn set_pieces_decode_as_a_put_and_set_ops() {
        let pairs = vec![
            (Bytes::from_static(b"a"), -1.5),
            (Bytes::from_static(b"b\0"), 2.0),
        ];
        let mut out = Vec::new();
        encode_zset_put(&mut out, 2, b"z", Some(77), &pairs);
        let mut r = Reader::new(&out);
        let put = decode_op(&mut r, 5);
        assert!(r.is_done());
        assert_eq!(
            put,
            Some(Op::Put {
                db: 2,
                key: Bytes::from_static(b"z"),
                entry: Entry::restored(
                    Value::ZSet(Box::new(crate::keyspace::ZSet::restored(pairs.clone()))),
                    Some(77),
                    false,
                    5,
                ),
            })
        );
        out.clear();
        encode_zset_sets_op(&mut out, 2, b"z", &pairs);
        let mut r = Reader::new(&out);
        let sets = decode_op(&mut r, 5);
        assert!(r.is_done());
        let ops = pairs
            .into_iter()
            .map(|(member, score)| crate::keyspace::ZSetOp::Set { member, score })
            .collect();
        assert_eq!(
            sets,
            Some(Op::ZSet {
                db: 2,
                key: Bytes::from_static(b"z"),
                ops,
            })
        );
    }
}
