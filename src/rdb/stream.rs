//! Streams: nodes of entries in listpacks, then metadata, then consumer
//! groups with their pending entries and consumers.
//!
//! ```text
//! stream:   node count, then per node: master ID (16 bytes BE, as a
//!           string) and a listpack (as a string)
//!           length | last ID (ms, seq)
//!           [v2+: first ID | max deleted ID | entries added]
//!           group count, then per group:
//!             name | last ID | [v2+: entries read]
//!             PEL count, per entry: ID (16 raw bytes BE) | delivery time
//!               (8 bytes LE) | delivery count
//!             consumer count, per consumer: name | seen time (8 LE)
//!               | [v3: active time (8 LE)] | PEL count | IDs (16 raw bytes)
//! node listpack:
//!   master entry: count | deleted | field count | fields... | 0
//!   entry: flags | ms - master ms | seq - master seq
//!          | SAMEFIELDS (2): values...   otherwise: field count | field,
//!          value...   then lp-count (elements of the entry but this one)
//!   flags: 1 deleted, 2 same fields as the master entry
//! ```
//!
//! IDs, counts and numbers are RDB lengths unless said otherwise; `v2` is
//! `STREAM_LISTPACKS_2` (Redis 7.0), `v3` `STREAM_LISTPACKS_3` (7.2).

use bytes::Bytes;

use super::codec::{id_from_be, Reader, Writer};
use super::listpack::{self, Item};
use super::RdbError;

/// A stream ID: milliseconds and sequence.
pub type Id = (u64, u64);

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;
/// Where the encoder starts a new node, as Redis's defaults
/// (`stream-node-max-entries`, `stream-node-max-bytes`) would.
const NODE_MAX_ENTRIES: usize = 100;
const NODE_MAX_BYTES: usize = 4096;

/// A stream as plain data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStream {
    /// Live entries, ascending: ID and field, value, field, value …
    pub entries: Vec<(Id, Vec<Bytes>)>,
    /// Last ID added (or set).
    pub last_id: Id,
    /// Largest ID deleted (`0-0` before v2).
    pub max_deleted: Id,
    /// Entries ever added (`None` before v2: the length stands in).
    pub entries_added: Option<u64>,
    /// Consumer groups.
    pub groups: Vec<RdbGroup>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbGroup {
    /// Its name.
    pub name: Bytes,
    /// Last delivered ID.
    pub last_id: Id,
    /// Entries read (`None` before v2; -1 when unknown).
    pub entries_read: Option<i64>,
    /// Pending entries, each owned by one consumer.
    pub pel: Vec<RdbPending>,
    /// Consumers.
    pub consumers: Vec<RdbConsumer>,
}

/// A delivered, unacknowledged entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbPending {
    /// Entry ID.
    pub id: Id,
    /// Last delivery, Unix ms.
    pub delivery_time: i64,
    /// Deliveries so far.
    pub delivery_count: u64,
    /// The consumer that holds it.
    pub consumer: Bytes,
}

/// A consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbConsumer {
    /// Its name.
    pub name: Bytes,
    /// Last time it was seen, Unix ms.
    pub seen_time: i64,
    /// Last time it read or claimed (`None` before v3).
    pub active_time: Option<i64>,
}

/// Reads a stream of RDB type version `v` (1, 2 or 3).
pub fn decode(r: &mut Reader<'_>, v: u8, deep: bool) -> Result<RdbStream, RdbError> {
    let bad = || RdbError::BadData;
    let mut s = RdbStream::default();
    let nodes = r.count()?;
    let mut last_seen: Option<Id> = None;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return Err(bad());
        }
        let master = id_from_be(&key);
        let lp = r.string()?;
        let items = listpack::decode(&lp, deep)?;
        if items.is_empty() {
            return Err(bad());
        }
        decode_node(master, items, deep, &mut s.entries, &mut last_seen)?;
    }
    let length = r.len()?;
    s.last_id = (r.len()?, r.len()?);
    if v >= 2 {
        let _first_id = (r.len()?, r.len()?);
        s.max_deleted = (r.len()?, r.len()?);
        s.entries_added = Some(r.len()?);
    }
    if deep && length != s.entries.len() as u64 {
        return Err(bad());
    }
    // Checked even without `deep`, because Sluice's stream relies on
    // them: an entry above the last ID would let XADD add a duplicate ID,
    // and counters out of range would overflow the lag arithmetic.
    if s.entries.last().is_some_and(|(id, _)| *id > s.last_id)
        || s.entries_added
            .is_some_and(|n| n < s.entries.len() as u64 || n > i64::MAX as u64)
    {
        return Err(bad());
    }
    let groups = r.count()?;
    let mut names = std::collections::HashSet::new();
    for _ in 0..groups {
        let g = decode_group(r, v, deep)?;
        if !names.insert(g.name.clone()) {
            return Err(bad());
        }
        s.groups.push(g);
    }
    Ok(s)
}

/// Reads one node's entries, appending the live ones.
fn decode_node(
    master: Id,
    items: Vec<Item>,
    deep: bool,
    out: &mut Vec<(Id, Vec<Bytes>)>,
    last_seen: &mut Option<Id>,
) -> Result<(), RdbError> {
    let bad = || RdbError::BadData;
    let mut it = items.into_iter();
    let int =
        |it: &mut std::vec::IntoIter<Item>| it.next().and_then(|i| i.as_int()).ok_or_else(bad);
    let count = int(&mut it)?;
    let deleted = int(&mut it)?;
    let nfields = usize::try_from(int(&mut it)?).map_err(|_| bad())?;
    if nfields > it.len() {
        return Err(bad());
    }
    let master_fields: Vec<Bytes> = (0..nfields)
        .map(|_| it.next().map(Item::into_bytes).ok_or_else(bad))
        .collect::<Result<_, _>>()?;
    if int(&mut it)? != 0 && deep {
        return Err(bad());
    }
    let (mut live, mut dead) = (0i64, 0i64);
    while it.len() > 0 {
        let flags = int(&mut it)?;
        let ms = master.0.wrapping_add(int(&mut it)? as u64);
        let seq = master.1.wrapping_add(int(&mut it)? as u64);
        let id = (ms, seq);
        let mut parts = Vec::new();
        let n = if flags & FLAG_SAMEFIELDS != 0 {
            if nfields > it.len() {
                return Err(bad());
            }
            for f in &master_fields {
                parts.push(f.clone());
                parts.push(it.next().ok_or_else(bad)?.into_bytes());
            }
            nfields
        } else {
            let n = usize::try_from(int(&mut it)?).map_err(|_| bad())?;
            if n.checked_mul(2).is_none_or(|n2| n2 > it.len()) {
                return Err(bad());
            }
            for _ in 0..2 * n {
                parts.push(it.next().ok_or_else(bad)?.into_bytes());
            }
            n
        };
        let lp_count = int(&mut it)?;
        if deep {
            let want = if flags & FLAG_SAMEFIELDS != 0 {
                n + 3
            } else {
                2 * n + 4
            };
            if lp_count != want as i64 || last_seen.is_some_and(|l| id <= l) || id < master {
                return Err(bad());
            }
        }
        if last_seen.is_some_and(|l| id <= l) {
            // Out of order entries can't be indexed; refuse them even
            // without deep checks.
            return Err(bad());
        }
        *last_seen = Some(id);
        if flags & FLAG_DELETED != 0 {
            dead += 1;
        } else {
            live += 1;
            out.push((id, parts));
        }
    }
    if deep && (live != count || dead != deleted) {
        return Err(bad());
    }
    Ok(())
}

fn decode_group(r: &mut Reader<'_>, v: u8, deep: bool) -> Result<RdbGroup, RdbError> {
    let bad = || RdbError::BadData;
    let mut g = RdbGroup {
        name: r.string()?,
        last_id: (r.len()?, r.len()?),
        ..RdbGroup::default()
    };
    if v >= 2 {
        let read = r.len()? as i64;
        if read < -1 {
            return Err(bad());
        }
        g.entries_read = Some(read);
    }
    let pel_count = r.count()?;
    let mut pel: std::collections::BTreeMap<Id, (i64, u64, Option<Bytes>)> = Default::default();
    for _ in 0..pel_count {
        let id = r.raw_id()?;
        let time = time(r)?;
        let count = r.len()?;
        if pel.insert(id, (time, count, None)).is_some() {
            return Err(bad());
        }
    }
    let consumers = r.count()?;
    let mut names = std::collections::HashSet::new();
    for _ in 0..consumers {
        let name = r.string()?;
        let seen_time = time(r)?;
        let active_time = if v >= 3 { Some(time(r)?) } else { None };
        let n = r.count()?;
        for _ in 0..n {
            let id = r.raw_id()?;
            match pel.get_mut(&id) {
                Some((_, _, owner @ None)) => *owner = Some(name.clone()),
                // Not in the group's PEL, or held twice.
                _ => return Err(bad()),
            }
        }
        if !names.insert(name.clone()) {
            return Err(bad());
        }
        g.consumers.push(RdbConsumer {
            name,
            seen_time,
            active_time,
        });
    }
    for (id, (delivery_time, delivery_count, owner)) in pel {
        match owner {
            Some(consumer) => g.pel.push(RdbPending {
                id,
                delivery_time,
                delivery_count,
                consumer,
            }),
            // A pending entry no consumer holds: Redis keeps it unless it
            // sanitizes; Sluice's PEL needs an owner, so it is dropped.
            None if deep => return Err(bad()),
            None => {}
        }
    }
    Ok(g)
}

/// A millisecond time; beyond ±2^62 it would overflow the idle-time
/// arithmetic (`now - time`), so it is refused.
fn time(r: &mut Reader<'_>) -> Result<i64, RdbError> {
    let t = r.le_u64()? as i64;
    if t.unsigned_abs() > 1 << 62 {
        return Err(RdbError::BadData);
    }
    Ok(t)
}

/// Writes a stream as `STREAM_LISTPACKS_2` (what Redis 7.0 reads and
/// writes): consumers' active times are not part of it.
pub fn encode(w: &mut Writer, s: &RdbStream) {
    let chunks = node_chunks(&s.entries);
    w.len(chunks.len() as u64);
    for chunk in &chunks {
        let (master, master_parts) = &chunk[0];
        let mut key = Writer::default();
        key.raw_id(*master);
        w.string(&key.buf);
        let fields: Vec<&Bytes> = master_parts.iter().step_by(2).collect();
        let mut lp = listpack::Builder::new();
        lp.push_int(chunk.len() as i64);
        lp.push_int(0);
        lp.push_int(fields.len() as i64);
        for f in &fields {
            lp.push_str(f);
        }
        lp.push_int(0);
        for (id, parts) in chunk.iter() {
            let same = parts.len() / 2 == fields.len()
                && parts.iter().step_by(2).zip(&fields).all(|(a, b)| a == *b);
            lp.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
            lp.push_int(id.0.wrapping_sub(master.0) as i64);
            lp.push_int(id.1.wrapping_sub(master.1) as i64);
            let n = parts.len() / 2;
            if same {
                for value in parts.iter().skip(1).step_by(2) {
                    lp.push_str(value);
                }
                lp.push_int(n as i64 + 3);
            } else {
                lp.push_int(n as i64);
                for p in parts {
                    lp.push_str(p);
                }
                lp.push_int(2 * n as i64 + 4);
            }
        }
        w.string(&lp.finish());
    }
    let length = s.entries.len() as u64;
    w.len(length);
    w.len(s.last_id.0);
    w.len(s.last_id.1);
    let first = s.entries.first().map_or((0, 0), |(id, _)| *id);
    w.len(first.0);
    w.len(first.1);
    w.len(s.max_deleted.0);
    w.len(s.max_deleted.1);
    w.len(s.entries_added.unwrap_or(length));
    w.len(s.groups.len() as u64);
    for g in &s.groups {
        w.string(&g.name);
        w.len(g.last_id.0);
        w.len(g.last_id.1);
        w.len(g.entries_read.unwrap_or(-1) as u64);
        w.len(g.pel.len() as u64);
        for p in &g.pel {
            w.raw_id(p.id);
            w.le_u64(p.delivery_time as u64);
            w.len(p.delivery_count);
        }
        let mut owned: std::collections::HashMap<&Bytes, Vec<Id>> = Default::default();
        for p in &g.pel {
            owned.entry(&p.consumer).or_default().push(p.id);
        }
        w.len(g.consumers.len() as u64);
        for c in &g.consumers {
            w.string(&c.name);
            w.le_u64(c.seen_time as u64);
            let ids = owned.get(&c.name).map_or(&[][..], Vec::as_slice);
            w.len(ids.len() as u64);
            for &id in ids {
                w.raw_id(id);
            }
        }
    }
}

/// Splits entries into nodes of at most [`NODE_MAX_ENTRIES`] entries and
/// about [`NODE_MAX_BYTES`] bytes.
fn node_chunks(entries: &[(Id, Vec<Bytes>)]) -> Vec<&[(Id, Vec<Bytes>)]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, parts)) in entries.iter().enumerate() {
        let size: usize = parts.iter().map(|p| p.len() + 2).sum::<usize>() + 8;
        if i > start && (i - start >= NODE_MAX_ENTRIES || bytes + size > NODE_MAX_BYTES) {
            out.push(&entries[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}
