//! The journal encoding of hashes: a whole hash (in `Put` records and
//! checkpoints) and the changes a command made to one (`Hash` ops).
//!
//! ```text
//! hash       count u32, then count × (field bytes, value bytes),
//!            then ttls u32, then ttls × (field bytes, expire_at i64)
//! hash ops   count u32, then count × hash op
//! hash op    tag u8, then by tag:
//!   1 Set     field bytes, value bytes, expire_at i64 (i64::MIN = none)
//!   2 Del     field bytes
//!   3 Expire  field bytes, expire_at i64 (i64::MIN = none)
//! ```
//! Integers are little-endian; `bytes` is a u32 length and the bytes. A
//! field with no TTL costs no expiry bytes in a whole hash.

use bytes::Bytes;

use super::format::codec::{put_bytes, put_i64, put_u32, Reader};
use crate::keyspace::hash::Limits;
use crate::keyspace::{Hash, HashOp};

const SET: u8 = 1;
const DEL: u8 = 2;
const EXPIRE: u8 = 3;
const NO_EXPIRY: i64 = i64::MIN;

/// Encodes a whole hash.
pub fn encode_hash(out: &mut Vec<u8>, hash: &Hash) {
    put_u32(out, hash.len() as u32);
    let mut ttls = Vec::new();
    for (field, value) in hash.iter() {
        put_bytes(out, field);
        put_bytes(out, value);
        if let Some(at) = hash.expire_at(field) {
            ttls.push((field, at));
        }
    }
    encode_ttls(out, ttls.into_iter());
}

fn encode_ttls<'a>(out: &mut Vec<u8>, ttls: impl ExactSizeIterator<Item = (&'a [u8], i64)>) {
    put_u32(out, ttls.len() as u32);
    for (field, at) in ttls {
        put_bytes(out, field);
        put_i64(out, at);
    }
}

/// Encodes a hash of just `fields` (field, value, expiry): the same bytes
/// as [`encode_hash`] of such a hash, without building it.
pub fn encode_hash_fields(out: &mut Vec<u8>, fields: &[(Bytes, Bytes, Option<i64>)]) {
    put_u32(out, fields.len() as u32);
    for (field, value, _) in fields {
        put_bytes(out, field);
        put_bytes(out, value);
    }
    let ttls: Vec<(&[u8], i64)> = fields
        .iter()
        .filter_map(|(f, _, at)| Some((&f[..], (*at)?)))
        .collect();
    encode_ttls(out, ttls.into_iter());
}

/// Encodes ops that set each of `fields`, without building them.
pub fn encode_hash_sets(out: &mut Vec<u8>, fields: &[(Bytes, Bytes, Option<i64>)]) {
    put_u32(out, fields.len() as u32);
    for (field, value, at) in fields {
        out.push(SET);
        put_bytes(out, field);
        put_bytes(out, value);
        put_i64(out, at.unwrap_or(NO_EXPIRY));
    }
}

/// Decodes a whole hash.
pub fn decode_hash(r: &mut Reader<'_>) -> Option<Hash> {
    let n = r.u32()? as usize;
    let mut fields = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let field = Bytes::copy_from_slice(r.bytes()?);
        let value = Bytes::copy_from_slice(r.bytes()?);
        fields.push((field, value, None));
    }
    let ttls = r.u32()? as usize;
    let mut hash = Hash::restored(fields, Limits::default());
    for _ in 0..ttls {
        let field = Bytes::copy_from_slice(r.bytes()?);
        let at = r.i64()?;
        hash.apply(HashOp::Expire {
            field,
            at: Some(at),
        });
    }
    Some(hash)
}

/// Encodes the changes one command made to a hash.
pub fn encode_hash_ops(out: &mut Vec<u8>, ops: &[HashOp]) {
    put_u32(out, ops.len() as u32);
    for op in ops {
        match op {
            HashOp::Set {
                field,
                value,
                expire_at,
            } => {
                out.push(SET);
                put_bytes(out, field);
                put_bytes(out, value);
                put_i64(out, expire_at.unwrap_or(NO_EXPIRY));
            }
            HashOp::Del { field } => {
                out.push(DEL);
                put_bytes(out, field);
            }
            HashOp::Expire { field, at } => {
                out.push(EXPIRE);
                put_bytes(out, field);
                put_i64(out, at.unwrap_or(NO_EXPIRY));
            }
        }
    }
}

/// Decodes the changes one command made to a hash.
pub fn decode_hash_ops(r: &mut Reader<'_>) -> Option<Vec<HashOp>> {
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(4096));
    let bytes = |r: &mut Reader<'_>| r.bytes().map(Bytes::copy_from_slice);
    let at = |r: &mut Reader<'_>| r.i64().map(|at| Some(at).filter(|&at| at != NO_EXPIRY));
    for _ in 0..n {
        ops.push(match r.u8()? {
            SET => HashOp::Set {
                field: bytes(r)?,
                value: bytes(r)?,
                expire_at: at(r)?,
            },
            DEL => HashOp::Del { field: bytes(r)? },
            EXPIRE => HashOp::Expire {
                field: bytes(r)?,
                at: at(r)?,
            },
            _ => return None,
        });
    }
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_ops_round_trip() {
        let mut h = Hash::new();
        let limits = Limits::default();
        h.insert(
            Bytes::from_static(b"a"),
            Bytes::from_static(b"\0\xff"),
            limits,
        );
        h.insert_with_ttl(Bytes::from_static(b""), Bytes::new(), Some(1234), limits);
        h.remove(b"zz");
        h.set_expire(b"a", Some(-5));
        h.remove(b"a");
        let ops = h.take_ops();
        let mut out = Vec::new();
        encode_hash(&mut out, &h);
        let mut r = Reader::new(&out);
        assert_eq!(decode_hash(&mut r), Some(h.clone()));
        assert!(r.is_done());
        out.clear();
        encode_hash_ops(&mut out, &ops);
        let mut r = Reader::new(&out);
        assert_eq!(decode_hash_ops(&mut r), Some(ops));
        assert!(r.is_done());
        assert_eq!(
            decode_hash_ops(&mut Reader::new(&out[..out.len() - 1])),
            None
        );
    }

    #[test]
    fn pieces_encode_like_a_whole_hash() {
        let fields = vec![
            (Bytes::from_static(b"a"), Bytes::from_static(b"1"), None),
            (Bytes::from_static(b"b"), Bytes::from_static(b"2"), Some(99)),
        ];
        let mut out = Vec::new();
        encode_hash_fields(&mut out, &fields);
        let h = decode_hash(&mut Reader::new(&out)).unwrap();
        assert_eq!(h.expire_at(b"b"), Some(99));
        let mut whole = Vec::new();
        encode_hash(&mut whole, &h);
        assert_eq!(whole, out);
    }

    #[test]
    fn hash_puts_and_ops_round_trip_through_a_batch() {
        use crate::keyspace::{Entry, Op, Value};
        use crate::storage::ops::{
            decode_batch, encode_batch, encode_hash_put, encode_hash_sets_op,
        };
        let mut h = Hash::new();
        h.insert_with_ttl(
            Bytes::from_static(b"f"),
            Bytes::from_static(b"v"),
            Some(77),
            Limits::default(),
        );
        h.take_ops();
        let ops = vec![
            Op::Put {
                db: 1,
                key: Bytes::from_static(b"h"),
                entry: Entry::restored(Value::Hash(Box::new(h)), Some(5), false, 9),
            },
            Op::Hash {
                db: 2,
                key: Bytes::from_static(b"h"),
                ops: vec![
                    HashOp::Del {
                        field: Bytes::from_static(b"x"),
                    },
                    HashOp::Expire {
                        field: Bytes::from_static(b"f"),
                        at: None,
                    },
                ],
            },
        ];
        let encoded = encode_batch(&ops);
        assert_eq!(decode_batch(&encoded, 9), Some(ops));
        // A checkpoint's pieces decode as a Put and Set ops.
        let fields = vec![(Bytes::from_static(b"a"), Bytes::from_static(b"1"), Some(3))];
        let mut out = Vec::new();
        encode_hash_put(&mut out, 0, b"k", None, &fields);
        encode_hash_sets_op(&mut out, 0, b"k", &fields);
        let mut r = Reader::new(&out);
        let put = crate::storage::ops::decode_op(&mut r, 0);
        let sets = crate::storage::ops::decode_op(&mut r, 0);
        assert!(r.is_done());
        assert!(
            matches!(put, Some(Op::Put { entry, .. }) if matches!(&entry.value, Value::Hash(h) if h.expire_at(b"a") == Some(3)))
        );
        assert_eq!(
            sets,
            Some(Op::Hash {
                db: 0,
                key: Bytes::from_static(b"k"),
                ops: vec![HashOp::Set {
                    field: Bytes::from_static(b"a"),
                    value: Bytes::from_static(b"1"),
                    expire_at: Some(3),
                }],
            })
        );
    }
}
