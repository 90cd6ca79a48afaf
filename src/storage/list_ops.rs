//! The journal encoding of lists: a whole list (in `Put` records and
//! checkpoints) and the changes a command made to one (`List` ops).
//!
//! ```text
//! list       version u64, chunks u32, then chunks × (count u32, bytes):
//!            each chunk's packed elements as the list holds them (see
//!            `keyspace::list::chunk`), checked element by element on read
//! list ops   base u64 (the list's version before them), count u32,
//!            then count × list op
//! list op    tag u8, then by tag:
//!   1 Push     front u8, n u32, n × bytes   (pushed one by one)
//!   2 Pop      front u8, count u64
//!   3 Set      index u64, bytes
//!   4 Insert   index u64, bytes
//!   5 Rem      count i64, bytes             (LREM's count and element)
//!   6 Trim     start u64, keep u64
//! ```
//! Integers are little-endian; `bytes` is a u32 length and the bytes.

use bytes::Bytes;

use super::format::codec::{put_bytes, put_i64, put_u32, put_u64, Reader};
use crate::keyspace::list::Chunk;
use crate::keyspace::{List, ListOp};

const PUSH: u8 = 1;
const POP: u8 = 2;
const SET: u8 = 3;
const INSERT: u8 = 4;
const REM: u8 = 5;
const TRIM: u8 = 6;

/// Encodes a whole list.
pub fn encode_list(out: &mut Vec<u8>, list: &List) {
    put_u64(out, list.version());
    put_u32(out, list.chunk_count() as u32);
    for c in list.chunks() {
        let (data, count) = c.raw();
        put_u32(out, count);
        put_bytes(out, data);
    }
}

/// Decodes a whole list; `None` if a chunk does not hold exactly the
/// elements it claims.
pub fn decode_list(r: &mut Reader<'_>) -> Option<List> {
    let version = r.u64()?;
    let n = r.u32()? as usize;
    let mut chunks = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let count = r.u32()?;
        chunks.push(Chunk::from_raw(r.bytes()?.to_vec(), count)?);
    }
    Some(List::restored(version, chunks))
}

/// Encodes the changes one command made to a list.
pub fn encode_list_ops(out: &mut Vec<u8>, base: u64, ops: &[ListOp]) {
    put_u64(out, base);
    put_u32(out, ops.len() as u32);
    for op in ops {
        match op {
            ListOp::Push { front, elems } => {
                out.push(PUSH);
                out.push(*front as u8);
                put_u32(out, elems.len() as u32);
                for e in elems {
                    put_bytes(out, e);
                }
            }
            ListOp::Pop { front, count } => {
                out.push(POP);
                out.push(*front as u8);
                put_u64(out, *count);
            }
            ListOp::Set { index, elem } => {
                out.push(SET);
                put_u64(out, *index);
                put_bytes(out, elem);
            }
            ListOp::Insert { index, elem } => {
                out.push(INSERT);
                put_u64(out, *index);
                put_bytes(out, elem);
            }
            ListOp::Rem { count, elem } => {
                out.push(REM);
                put_i64(out, *count);
                put_bytes(out, elem);
            }
            ListOp::Trim { start, keep } => {
                out.push(TRIM);
                put_u64(out, *start);
                put_u64(out, *keep);
            }
        }
    }
}

/// Decodes the changes one command made to a list, with their base
/// version.
pub fn decode_list_ops(r: &mut Reader<'_>) -> Option<(u64, Vec<ListOp>)> {
    let base = r.u64()?;
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(4096));
    let bytes = |r: &mut Reader<'_>| r.bytes().map(Bytes::copy_from_slice);
    let front = |r: &mut Reader<'_>| match r.u8()? {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    };
    for _ in 0..n {
        ops.push(match r.u8()? {
            PUSH => {
                let front = front(r)?;
                let k = r.u32()? as usize;
                let mut elems = Vec::with_capacity(k.min(4096));
                for _ in 0..k {
                    elems.push(bytes(r)?);
                }
                ListOp::Push { front, elems }
            }
            POP => ListOp::Pop {
                front: front(r)?,
                count: r.u64()?,
            },
            SET => ListOp::Set {
                index: r.u64()?,
                elem: bytes(r)?,
            },
            INSERT => ListOp::Insert {
                index: r.u64()?,
                elem: bytes(r)?,
            },
            REM => ListOp::Rem {
                count: r.i64()?,
                elem: bytes(r)?,
            },
            TRIM => ListOp::Trim {
                start: r.u64()?,
                keep: r.u64()?,
            },
            _ => return None,
        });
    }
    Some((base, ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::list::Fill;

    #[test]
    fn lists_and_ops_round_trip() {
        let big = "y".repeat(5000);
        let elems: Vec<&[u8]> = vec![b"a", b"", b"12", b"-70000", big.as_bytes(), b"z"];
        let mut list = List::from_elems(elems.iter().copied(), Fill(2));
        list.push(true, &[Bytes::from("f")], Fill(2));
        let (base, ops) = list.take_ops();
        let mut out = Vec::new();
        encode_list(&mut out, &list);
        let mut r = Reader::new(&out);
        let back = decode_list(&mut r).expect("decodes");
        assert!(r.is_done());
        assert_eq!(back, list);
        assert_eq!(back.version(), list.version());
        assert_eq!(back.encoding_name(), "quicklist");
        // A cut chunk is refused.
        let mut r = Reader::new(&out[..out.len() - 1]);
        assert!(decode_list(&mut r).is_none());

        let all = vec![
            ListOp::Push {
                front: false,
                elems: vec![Bytes::from("x"), Bytes::new()],
            },
            ListOp::Pop {
                front: true,
                count: 3,
            },
            ListOp::Set {
                index: 7,
                elem: Bytes::from("s"),
            },
            ListOp::Insert {
                index: 2,
                elem: Bytes::from("i"),
            },
            ListOp::Rem {
                count: -2,
                elem: Bytes::from("r"),
            },
            ListOp::Trim { start: 1, keep: 9 },
        ];
        out.clear();
        encode_list_ops(&mut out, 41, &all);
        let mut r = Reader::new(&out);
        assert_eq!(decode_list_ops(&mut r), Some((41, all)));
        assert!(r.is_done());
        out.clear();
        encode_list_ops(&mut out, base, &ops);
        assert!(out.len() < 32, "one push journals a few bytes");
    }
}
