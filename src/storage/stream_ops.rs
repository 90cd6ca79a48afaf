//! The journal encoding of streams: a whole stream (in `Put` records and
//! checkpoints) and the changes a command made to one (`Stream` ops).
//!
//! ```text
//! stream     meta, node count u32, nodes, group count u32, groups
//! meta       last_id id, entries_added u64, max_deleted id
//! node       master id, last id, master_loc loc, master_size u32,
//!            entries_size u32, deleted u32, entry count u32,
//!            entries: (id, loc)*
//! group      name bytes, last_id id, entries_read i64,
//!            consumer count u32, consumers: (name bytes, seen i64, active i64)*,
//!            pending count u32, pending: (id, consumer index u32, time i64, count u64)*
//! id         ms u64, seq u64
//! loc        segment u32, offset u32
//! stream op  tag u8, then by tag:
//!   1 Add          id, loc, new_node u8, entry_size u32, master_size u32
//!   2 Delete       count u32, ids
//!   3 Trim         has_upto u8, [upto id], count u32, ids
//!   4 SetMeta      meta
//!   5 GroupSet     name bytes, last_id id, entries_read i64
//!   6 GroupDestroy name bytes
//!   7 ConsumerSet  group bytes, name bytes, seen i64, active i64
//!   8 ConsumerDel  group bytes, name bytes
//!   9 PelSet       group bytes, consumer bytes, count u32, (id, time i64, count u64)*
//!  10 PelDel       group bytes, count u32, ids
//!  11 Relocate     count u32, (id, loc)*, count u32, (master id, loc)*
//! ```
//! Integers are little-endian; `bytes` is a u32 length and the bytes. The
//! entries' fields and values are not here: they are in the `Payload`
//! records the locs point at.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::format::codec::{put_bytes, put_i64, put_u32, put_u64, Reader};
use crate::keyspace::stream::{
    Group, Loc, Node, Placement, Stream, StreamId, StreamMeta, StreamOp,
};

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_u64(out, id.ms);
    put_u64(out, id.seq);
}

fn put_loc(out: &mut Vec<u8>, loc: Loc) {
    put_u32(out, loc.seg);
    put_u32(out, loc.offset);
}

fn put_ids(out: &mut Vec<u8>, ids: &[StreamId]) {
    put_u32(out, ids.len() as u32);
    for &id in ids {
        put_id(out, id);
    }
}

fn put_meta(out: &mut Vec<u8>, m: StreamMeta) {
    put_id(out, m.last_id);
    put_u64(out, m.entries_added);
    put_id(out, m.max_deleted);
}

fn id(r: &mut Reader<'_>) -> Option<StreamId> {
    Some(StreamId::new(r.u64()?, r.u64()?))
}

fn loc(r: &mut Reader<'_>) -> Option<Loc> {
    Some(Loc {
        seg: r.u32()?,
        offset: r.u32()?,
    })
}

fn ids(r: &mut Reader<'_>) -> Option<Vec<StreamId>> {
    let n = r.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        out.push(id(r)?);
    }
    Some(out)
}

fn meta(r: &mut Reader<'_>) -> Option<StreamMeta> {
    Some(StreamMeta {
        last_id: id(r)?,
        entries_added: r.u64()?,
        max_deleted: id(r)?,
    })
}

fn bytes(r: &mut Reader<'_>) -> Option<Bytes> {
    r.bytes().map(Bytes::copy_from_slice)
}

/// Encodes a whole stream.
pub fn encode_stream(out: &mut Vec<u8>, s: &Stream) {
    put_meta(out, s.meta());
    put_u32(out, s.node_count() as u32);
    for n in s.nodes() {
        put_id(out, n.master);
        put_id(out, n.last);
        put_loc(out, n.master_loc);
        put_u32(out, n.master_size);
        put_u32(out, n.entries_size);
        put_u32(out, n.deleted);
        put_u32(out, n.entries.len() as u32);
        for &(id, loc) in &n.entries {
            put_id(out, id);
            put_loc(out, loc);
        }
    }
    put_u32(out, s.groups().len() as u32);
    for (name, g) in s.groups() {
        put_bytes(out, name);
        put_id(out, g.last_id);
        put_i64(out, g.entries_read);
        put_u32(out, g.consumers.len() as u32);
        let mut index = BTreeMap::new();
        for (i, (cname, c)) in g.consumers.iter().enumerate() {
            put_bytes(out, cname);
            put_i64(out, c.seen_time);
            put_i64(out, c.active_time);
            index.insert(cname.clone(), i as u32);
        }
        put_u32(out, g.pel.len() as u32);
        for (&id, p) in &g.pel {
            put_id(out, id);
            put_u32(out, index.get(&p.consumer).copied().unwrap_or(u32::MAX));
            put_i64(out, p.delivery_time);
            put_u64(out, p.delivery_count);
        }
    }
}

/// Decodes a whole stream.
pub fn decode_stream(r: &mut Reader<'_>) -> Option<Stream> {
    let m = meta(r)?;
    let node_count = r.u32()? as usize;
    let mut nodes = Vec::with_capacity(node_count.min(1 << 16));
    for _ in 0..node_count {
        let master = id(r)?;
        let last = id(r)?;
        let master_loc = loc(r)?;
        let master_size = r.u32()?;
        let entries_size = r.u32()?;
        let deleted = r.u32()?;
        let n = r.u32()? as usize;
        let mut entries = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            entries.push((id(r)?, loc(r)?));
        }
        nodes.push(Node {
            master,
            last,
            master_loc,
            master_size,
            entries_size,
            deleted,
            entries,
        });
    }
    let group_count = r.u32()?;
    let mut groups = BTreeMap::new();
    for _ in 0..group_count {
        let name = bytes(r)?;
        let mut g = Group::new(id(r)?, r.i64()?);
        let consumers = r.u32()?;
        let mut names = Vec::new();
        for _ in 0..consumers {
            let cname = bytes(r)?;
            g.set_consumer(&cname, r.i64()?, r.i64()?);
            names.push(cname);
        }
        let pending = r.u32()?;
        for _ in 0..pending {
            let pid = id(r)?;
            let owner = names.get(r.u32()? as usize)?.clone();
            g.set_pending(pid, &owner, r.i64()?, r.u64()?);
        }
        groups.insert(name, g);
    }
    Some(Stream::from_parts(m, nodes, groups))
}

const ADD: u8 = 1;
const DELETE: u8 = 2;
const TRIM: u8 = 3;
const SET_META: u8 = 4;
const GROUP_SET: u8 = 5;
const GROUP_DESTROY: u8 = 6;
const CONSUMER_SET: u8 = 7;
const CONSUMER_DEL: u8 = 8;
const PEL_SET: u8 = 9;
const PEL_DEL: u8 = 10;
const RELOCATE: u8 = 11;

fn put_locs(out: &mut Vec<u8>, locs: &[(StreamId, Loc)]) {
    put_u32(out, locs.len() as u32);
    for &(id, loc) in locs {
        put_id(out, id);
        put_loc(out, loc);
    }
}

fn locs(r: &mut Reader<'_>) -> Option<Vec<(StreamId, Loc)>> {
    let n = r.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        out.push((id(r)?, loc(r)?));
    }
    Some(out)
}

/// Encodes a list of stream changes.
pub fn encode_stream_ops(out: &mut Vec<u8>, ops: &[StreamOp]) {
    put_u32(out, ops.len() as u32);
    for op in ops {
        match op {
            StreamOp::Add { id, loc, placement } => {
                out.push(ADD);
                put_id(out, *id);
                put_loc(out, *loc);
                out.push(placement.new_node as u8);
                put_u32(out, placement.entry_size);
                put_u32(out, placement.master_size);
            }
            StreamOp::Delete { ids } => {
                out.push(DELETE);
                put_ids(out, ids);
            }
            StreamOp::Trim { upto, marked } => {
                out.push(TRIM);
                out.push(upto.is_some() as u8);
                if let Some(upto) = upto {
                    put_id(out, *upto);
                }
                put_ids(out, marked);
            }
            StreamOp::SetMeta {
                last_id,
                entries_added,
                max_deleted,
            } => {
                out.push(SET_META);
                put_meta(
                    out,
                    StreamMeta {
                        last_id: *last_id,
                        entries_added: *entries_added,
                        max_deleted: *max_deleted,
                    },
                );
            }
            StreamOp::GroupSet {
                name,
                last_id,
                entries_read,
            } => {
                out.push(GROUP_SET);
                put_bytes(out, name);
                put_id(out, *last_id);
                put_i64(out, *entries_read);
            }
            StreamOp::GroupDestroy { name } => {
                out.push(GROUP_DESTROY);
                put_bytes(out, name);
            }
            StreamOp::ConsumerSet {
                group,
                name,
                seen_time,
                active_time,
            } => {
                out.push(CONSUMER_SET);
                put_bytes(out, group);
                put_bytes(out, name);
                put_i64(out, *seen_time);
                put_i64(out, *active_time);
            }
            StreamOp::ConsumerDelete { group, name } => {
                out.push(CONSUMER_DEL);
                put_bytes(out, group);
                put_bytes(out, name);
            }
            StreamOp::PelSet {
                group,
                consumer,
                entries,
            } => {
                out.push(PEL_SET);
                put_bytes(out, group);
                put_bytes(out, consumer);
                put_u32(out, entries.len() as u32);
                for &(id, time, count) in entries {
                    put_id(out, id);
                    put_i64(out, time);
                    put_u64(out, count);
                }
            }
            StreamOp::PelDel { group, ids } => {
                out.push(PEL_DEL);
                put_bytes(out, group);
                put_ids(out, ids);
            }
            StreamOp::Relocate { entries, masters } => {
                out.push(RELOCATE);
                put_locs(out, entries);
                put_locs(out, masters);
            }
        }
    }
}

/// Decodes a list of stream changes.
pub fn decode_stream_ops(r: &mut Reader<'_>) -> Option<Vec<StreamOp>> {
    let n = r.u32()? as usize;
    let mut ops = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        ops.push(match r.u8()? {
            ADD => StreamOp::Add {
                id: id(r)?,
                loc: loc(r)?,
                placement: Placement {
                    new_node: r.u8()? != 0,
                    entry_size: r.u32()?,
                    master_size: r.u32()?,
                },
            },
            DELETE => StreamOp::Delete { ids: ids(r)? },
            TRIM => {
                let upto = match r.u8()? {
                    0 => None,
                    _ => Some(id(r)?),
                };
                StreamOp::Trim {
                    upto,
                    marked: ids(r)?,
                }
            }
            SET_META => {
                let m = meta(r)?;
                StreamOp::SetMeta {
                    last_id: m.last_id,
                    entries_added: m.entries_added,
                    max_deleted: m.max_deleted,
                }
            }
            GROUP_SET => StreamOp::GroupSet {
                name: bytes(r)?,
                last_id: id(r)?,
                entries_read: r.i64()?,
            },
            GROUP_DESTROY => StreamOp::GroupDestroy { name: bytes(r)? },
            CONSUMER_SET => StreamOp::ConsumerSet {
                group: bytes(r)?,
                name: bytes(r)?,
                seen_time: r.i64()?,
                active_time: r.i64()?,
            },
            CONSUMER_DEL => StreamOp::ConsumerDelete {
                group: bytes(r)?,
                name: bytes(r)?,
            },
            PEL_SET => {
                let group = bytes(r)?;
                let consumer = bytes(r)?;
                let n = r.u32()? as usize;
                let mut entries = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    entries.push((id(r)?, r.i64()?, r.u64()?));
                }
                StreamOp::PelSet {
                    group,
                    consumer,
                    entries,
                }
            }
            PEL_DEL => StreamOp::PelDel {
                group: bytes(r)?,
                ids: ids(r)?,
            },
            RELOCATE => StreamOp::Relocate {
                entries: locs(r)?,
                masters: locs(r)?,
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
    fn every_stream_op_round_trips() {
        let id = |ms, seq| StreamId::new(ms, seq);
        let at = |seg, offset| Loc { seg, offset };
        let name = |s: &'static str| Bytes::from_static(s.as_bytes());
        let ops = vec![
            StreamOp::Add {
                id: id(1, 2),
                loc: at(3, 4),
                placement: Placement {
                    new_node: true,
                    entry_size: 5,
                    master_size: 6,
                },
            },
            StreamOp::Delete {
                ids: vec![id(1, 2), id(7, 0)],
            },
            StreamOp::Trim {
                upto: Some(id(9, 9)),
                marked: vec![id(10, 1)],
            },
            StreamOp::Trim {
                upto: None,
                marked: vec![],
            },
            StreamOp::SetMeta {
                last_id: id(11, 0),
                entries_added: 12,
                max_deleted: id(13, 1),
            },
            StreamOp::GroupSet {
                name: name("g"),
                last_id: id(14, 0),
                entries_read: -1,
            },
            StreamOp::GroupDestroy { name: name("g") },
            StreamOp::ConsumerSet {
                group: name("g"),
                name: name("c"),
                seen_time: 15,
                active_time: -1,
            },
            StreamOp::ConsumerDelete {
                group: name("g"),
                name: name("c"),
            },
            StreamOp::PelSet {
                group: name("g"),
                consumer: name("c"),
                entries: vec![(id(16, 0), 17, 18)],
            },
            StreamOp::PelDel {
                group: name("g"),
                ids: vec![id(16, 0)],
            },
            StreamOp::Relocate {
                entries: vec![(id(19, 0), at(20, 21)), (id(19, 1), at(20, 99))],
                masters: vec![(id(19, 0), at(20, 21))],
            },
        ];
        let mut out = Vec::new();
        encode_stream_ops(&mut out, &ops);
        let mut r = Reader::new(&out);
        assert_eq!(decode_stream_ops(&mut r), Some(ops));
        assert!(r.is_done(), "every byte read");
        // A cut anywhere fails to decode rather than inventing ops.
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut]);
            assert_eq!(decode_stream_ops(&mut r), None, "cut at {cut}");
        }
    }
}
