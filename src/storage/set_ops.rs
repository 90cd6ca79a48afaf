//! The journal encoding of sets: a whole set (in `Put` records and
//! checkpoints) and the changes a command made to one (`Set` ops).
//!
//! ```text
//! set        count u32, then count × member bytes
//! set ops    count u32, then count × set op
//! set op     tag u8, then by tag:
//!   1 Add    member bytes
//!   2 Rem    member bytes
//! ```
//! Integers are little-endian; `bytes` is a u32 length and the bytes.

use bytes::Bytes;

use super::format::codec::{put_bytes, put_u32, Reader};
use crate::keyspace::{Set, SetOp};

const ADD: u8 = 1;
const REM: u8 = 2;

/// Encodes a whole set.
pub fn encode_set(out: &mut Vec<u8>, set: &Set) {
    put_u32(out, set.len() as u32);
    for member in set.iter() {
        put_bytes(out, member);
    }
}

/// Encodes a set of just `members` (no member twice): the same bytes as
/// [`encode_set`] of such a set, without building it.
pub fn encode_set_members(out: &mut Vec<u8>, members: &[Bytes]) {
    put_u32(out, members.len() as u32);
    for member in members {
        put_bytes(out, member);
    }
}

/// Encodes ops that add each of `members`, without building them.
pub fn encode_set_adds(out: &mut Vec<u8>, members: &[Bytes]) {
    put_u32(out, members.len() as u32);
    for member in members {
        out.push(ADD);
        put_bytes(out, member);
    }
}

/// Decodes a whole set.
pub fn decode_set(r: &mut Reader<'_>) -> Option<Set> {
    let n = r.u32()? as usize;
    let mut members = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        members.push(Bytes::copy_from_slice(r.bytes()?));
    }
    Some(Set::restored(members))
}

/// Encodes the changes one command made to a set.
pub fn encode_set_ops(out: &mut Vec<u8>, ops: &[SetOp]) {
    put_u32(out, ops.len() as u32);
    for op in ops {
        let (tag, member) = match op {
            SetOp::Add { member } => (ADD, member),
            SetOp::Rem { member } => (REM, member),
        };
        out.push(tag);
        put_bytes(out, member);
    }
}

/// Decodes the changes one command made to a set.
pub fn decode_set_ops(r: &mut Reader<'_>) -> Option<Vec<SetOp>> {
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let tag = r.u8()?;
        let member = Bytes::copy_from_slice(r.bytes()?);
        ops.push(match tag {
            ADD => SetOp::Add { member },
            REM => SetOp::Rem { member },
            _ => return None,
        });
    }
    Some(ops)
}
