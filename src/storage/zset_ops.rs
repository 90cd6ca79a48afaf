//! The journal encoding of sorted sets: a whole set (in `Put` records and
//! checkpoints) and the changes a command made to one (`ZSet` ops).
//!
//! ```text
//! zset       count u32, then count × (member bytes, score f64), ascending
//! zset ops   count u32, then count × zset op
//! zset op    tag u8, then by tag:
//!   1 Set    member bytes, score f64
//!   2 Rem    member bytes
//! ```
//! Integers are little-endian; `bytes` is a u32 length and the bytes; an
//! f64 is its IEEE 754 bits as a little-endian u64 (never NaN).

use bytes::Bytes;

use super::format::codec::{put_bytes, put_u32, put_u64, Reader};
use crate::keyspace::{ZSet, ZSetOp};

const SET: u8 = 1;
const REM: u8 = 2;

fn score(r: &mut Reader<'_>) -> Option<f64> {
    Some(f64::from_bits(r.u64()?)).filter(|s| !s.is_nan())
}

/// Encodes a whole sorted set.
pub fn encode_zset(out: &mut Vec<u8>, zset: &ZSet) {
    put_u32(out, zset.len() as u32);
    for (member, score) in zset.iter() {
        put_bytes(out, member);
        put_u64(out, score.to_bits());
    }
}

/// Encodes a sorted set of just `pairs` (ascending, no member twice): the
/// same bytes as [`encode_zset`] of such a set, without building it.
pub fn encode_zset_pairs(out: &mut Vec<u8>, pairs: &[(Bytes, f64)]) {
    put_u32(out, pairs.len() as u32);
    for (member, score) in pairs {
        put_bytes(out, member);
        put_u64(out, score.to_bits());
    }
}

/// Encodes ops that set each of `pairs`, without building them.
pub fn encode_zset_sets(out: &mut Vec<u8>, pairs: &[(Bytes, f64)]) {
    put_u32(out, pairs.len() as u32);
    for (member, score) in pairs {
        out.push(SET);
        put_bytes(out, member);
        put_u64(out, score.to_bits());
    }
}

/// Decodes a whole sorted set.
pub fn decode_zset(r: &mut Reader<'_>) -> Option<ZSet> {
    let n = r.u32()? as usize;
    let mut pairs = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let member = Bytes::copy_from_slice(r.bytes()?);
        pairs.push((member, score(r)?));
    }
    Some(ZSet::restored(pairs))
}

/// Encodes the changes one command made to a sorted set.
pub fn encode_zset_ops(out: &mut Vec<u8>, ops: &[ZSetOp]) {
    put_u32(out, ops.len() as u32);
    for op in ops {
        match op {
            ZSetOp::Set { member, score } => {
                out.push(SET);
                put_bytes(out, member);
                put_u64(out, score.to_bits());
            }
            ZSetOp::Rem { member } => {
                out.push(REM);
                put_bytes(out, member);
            }
        }
    }
}

/// Decodes the changes one command made to a sorted set.
pub fn decode_zset_ops(r: &mut Reader<'_>) -> Option<Vec<ZSetOp>> {
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let member = |r: &mut Reader<'_>| r.bytes().map(Bytes::copy_from_slice);
        ops.push(match r.u8()? {
            SET => ZSetOp::Set {
                member: member(r)?,
                score: score(r)?,
            },
            REM => ZSetOp::Rem { member: member(r)? },
            _ => return None,
        });
    }
    Some(ops)
}
