//! Streams: entries indexed by ID, whose fields and values live in the
//! commit log.
//!
//! ```text
//! Stream
//!   nodes: BTreeMap<master ID, Node>      the node layout Redis would have
//!     Node { master, last, master_loc, sizes, deleted,
//!            entries: Vec<(StreamId, Loc)> }   live entries, ascending
//!   last_id, entries_added, max_deleted      metadata
//!   groups: BTreeMap<name, Group>            consumer groups (group.rs)
//! ```
//!
//! An entry costs 24 bytes of RAM in its node's vector (a 16-byte ID and
//! an 8-byte log position); its fields and values stay in the log's
//! `Payload` record at that position and are read through the mmap.
//!
//! Entries are grouped into nodes exactly where Redis would start a new
//! listpack (see [`listpack`]): approximate trimming removes whole nodes,
//! and clients see the resulting lengths. A node keeps the position of the
//! entry whose field names are its master fields (later entries with the
//! same names are smaller), even after that entry is deleted.
//!
//! Every change is made through a method that also records a [`StreamOp`];
//! the keyspace hands those to the journal when the command ends, and
//! recovery replays them through [`Stream::apply`], so a restart rebuilds
//! the same nodes, groups and pending entries. Replaying an op on a state
//! that already has it changes nothing (an Add at or below the last ID is
//! skipped, the others set final values or remove what is present): a
//! checkpoint copies a stream at some point while the log after the
//! checkpoint's start still holds the ops that led there.

pub mod group;
mod id;
pub mod listpack;
mod ops;
pub mod payload;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

pub use group::{Consumer, Group, Pending, ENTRIES_READ_UNKNOWN};
pub use id::StreamId;
pub use ops::StreamOp;

/// Where an entry's payload record is in the log: segment number and byte
/// offset (segments are smaller than 4 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    /// Segment sequence number.
    pub seg: u32,
    /// Offset of the record in the segment.
    pub offset: u32,
}

/// One node: up to `stream-node-max-entries` entries and about
/// `stream-node-max-bytes` bytes, as Redis groups them.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// ID of the node's first entry (its key in Redis's radix tree).
    pub master: StreamId,
    /// ID of the last entry appended to it, deleted or not.
    pub last: StreamId,
    /// Payload of the entry whose field names are the master fields.
    pub master_loc: Loc,
    /// Listpack bytes of the master fields part.
    pub master_size: u32,
    /// Listpack bytes of every entry appended (deleted ones stay).
    pub entries_size: u32,
    /// Entries marked deleted but still counted in the node.
    pub deleted: u32,
    /// Live entries, ascending.
    pub entries: Vec<(StreamId, Loc)>,
}

impl Node {
    /// The listpack size Redis would report for this node.
    pub fn lp_bytes(&self) -> u64 {
        listpack::LISTPACK_OVERHEAD
            + listpack::int_size(self.entries.len() as i64)
            + listpack::int_size(i64::from(self.deleted))
            + u64::from(self.master_size)
            + u64::from(self.entries_size)
    }
}

/// Where a new entry goes: decided by the live path from the node limits
/// in force, recorded in the journal so that replay needs no limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The entry starts a new node.
    pub new_node: bool,
    /// Listpack bytes of the entry.
    pub entry_size: u32,
    /// Listpack bytes of the new node's master fields (when `new_node`).
    pub master_size: u32,
}

/// The node limits (`stream-node-max-entries`, `stream-node-max-bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Entries per node, deleted ones included; 0 for no limit.
    pub max_entries: u64,
    /// Bytes per node; 0 for no limit.
    pub max_bytes: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

/// How to trim (XTRIM, XADD's MAXLEN/MINID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimBy {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with smaller IDs.
    MinId(StreamId),
}

/// A trim request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    /// The strategy and its threshold.
    pub by: TrimBy,
    /// `~`: remove whole nodes only.
    pub approx: bool,
    /// At most this many entries (0: no limit).
    pub limit: u64,
}

/// A stream value.
#[derive(Debug, Default)]
pub struct Stream {
    /// Shared copy-on-write: a clone (a checkpoint's copy, taken under the
    /// keyspace lock and encoded after it) costs a reference per node, and
    /// a write copies only the node it changes while a clone holds it.
    nodes: BTreeMap<StreamId, Arc<Node>>,
    length: u64,
    last_id: StreamId,
    entries_added: u64,
    max_deleted: StreamId,
    groups: BTreeMap<Bytes, Group>,
    /// Field names of the tail node's master entry, once read.
    tail_fields: Option<(StreamId, Vec<Bytes>)>,
    /// Changes not yet handed to the journal.
    pending_ops: Vec<StreamOp>,
}

impl Clone for Stream {
    fn clone(&self) -> Self {
        Stream {
            nodes: self.nodes.clone(),
            length: self.length,
            last_id: self.last_id,
            entries_added: self.entries_added,
            max_deleted: self.max_deleted,
            groups: self.groups.clone(),
            tail_fields: self.tail_fields.clone(),
            pending_ops: Vec::new(),
        }
    }
}

impl PartialEq for Stream {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
            && self.length == other.length
            && self.last_id == other.last_id
            && self.entries_added == other.entries_added
            && self.max_deleted == other.max_deleted
            && self.groups == other.groups
    }
}

/// The state of a stream apart from its entries and groups, for the
/// journal's full-state records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamMeta {
    /// Last ID.
    pub last_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Largest deleted ID.
    pub max_deleted: StreamId,
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Stream::default()
    }

    /// Rebuilds a stream from its parts (checkpoint load).
    pub fn from_parts(meta: StreamMeta, nodes: Vec<Node>, groups: BTreeMap<Bytes, Group>) -> Self {
        let length = nodes.iter().map(|n| n.entries.len() as u64).sum();
        Stream {
            nodes: nodes.into_iter().map(|n| (n.master, Arc::new(n))).collect(),
            length,
            last_id: meta.last_id,
            entries_added: meta.entries_added,
            max_deleted: meta.max_deleted,
            groups,
            tail_fields: None,
            pending_ops: Vec::new(),
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether there are no live entries.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The metadata.
    pub fn meta(&self) -> StreamMeta {
        StreamMeta {
            last_id: self.last_id,
            entries_added: self.entries_added,
            max_deleted: self.max_deleted,
        }
    }

    /// The last ID ever added (or set with XSETID).
    pub fn last_id(&self) -> StreamId {
        self.last_id
    }

    /// How many entries were ever added.
    pub fn entries_added(&self) -> u64 {
        self.entries_added
    }

    /// The largest ID ever deleted with XDEL.
    pub fn max_deleted(&self) -> StreamId {
        self.max_deleted
    }

    /// The nodes, in ID order.
    pub fn nodes(&self) -> impl DoubleEndedIterator<Item = &Node> + ExactSizeIterator {
        self.nodes.values().map(|n| &**n)
    }

    /// Number of nodes (XINFO STREAM's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The consumer groups.
    pub fn groups(&self) -> &BTreeMap<Bytes, Group> {
        &self.groups
    }

    /// One group.
    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.groups.get(name)
    }

    /// The first live entry.
    pub fn first(&self) -> Option<(StreamId, Loc)> {
        self.nodes.values().find_map(|n| n.entries.first().copied())
    }

    /// The last live entry.
    pub fn last(&self) -> Option<(StreamId, Loc)> {
        self.nodes
            .values()
            .rev()
            .find_map(|n| n.entries.last().copied())
    }

    /// The first live ID, or `0-0` when empty (Redis's `first_id`).
    pub fn first_id(&self) -> StreamId {
        self.first().map_or(StreamId::MIN, |(id, _)| id)
    }

    /// Live entries with IDs in `start..=end`, ascending.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl Iterator<Item = (StreamId, Loc)> + '_ {
        let first_node = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(StreamId::MIN, |(k, _)| *k);
        self.nodes
            .range(first_node..)
            .take_while(move |(k, _)| **k <= end)
            .flat_map(move |(_, n)| {
                let from = n.entries.partition_point(|(id, _)| *id < start);
                n.entries[from..].iter().copied()
            })
            .take_while(move |(id, _)| *id <= end)
    }

    /// Live entries with IDs in `start..=end`, descending.
    pub fn range_rev(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl Iterator<Item = (StreamId, Loc)> + '_ {
        self.nodes
            .range(..=end)
            .rev()
            .take_while(move |(_, n)| n.last >= start)
            .flat_map(move |(_, n)| {
                let to = n.entries.partition_point(|(id, _)| *id <= end);
                n.entries[..to].iter().rev().copied()
            })
            .take_while(move |(id, _)| *id >= start)
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<Loc> {
        let (_, node) = self.nodes.range(..=id).next_back()?;
        let i = node.entries.binary_search_by(|(e, _)| e.cmp(&id)).ok()?;
        Some(node.entries[i].1)
    }

    /// The tail node's master entry: its ID and payload position, for
    /// [`Stream::place`]'s caller to read the master field names from.
    pub fn tail_master(&self) -> Option<(StreamId, Loc)> {
        self.nodes
            .values()
            .next_back()
            .map(|n| (n.master, n.master_loc))
    }

    /// The tail node's master field names if they are cached.
    pub fn cached_tail_fields(&self) -> Option<&[Bytes]> {
        let (master, fields) = self.tail_fields.as_ref()?;
        (self.nodes.keys().next_back() == Some(master)).then_some(fields.as_slice())
    }

    /// Caches the tail node's master field names.
    pub fn cache_tail_fields(&mut self, master: StreamId, fields: Vec<Bytes>) {
        self.tail_fields = Some((master, fields));
    }

    /// Decides where an entry with this ID and these field/value `pairs`
    /// goes, given the tail node's master fields (`None` when there is no
    /// tail node).
    pub fn place(
        &self,
        id: StreamId,
        pairs: &[&[u8]],
        tail_fields: Option<&[Bytes]>,
        limits: NodeLimits,
    ) -> Placement {
        let payload: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        let tail = self.nodes.values().next_back();
        let max_bytes = match limits.max_bytes {
            0 => 1 << 30,
            b => b.min(1 << 30),
        };
        let fits = tail.is_some_and(|n| {
            n.lp_bytes() + payload < max_bytes
                && (limits.max_entries == 0
                    || (n.entries.len() as u64 + u64::from(n.deleted)) < limits.max_entries)
        });
        let field_names = || pairs.iter().step_by(2).copied();
        match (tail, fits) {
            (Some(node), true) => {
                let same = tail_fields.is_some_and(|master| {
                    master.len() == pairs.len() / 2
                        && master.iter().zip(field_names()).all(|(m, f)| m[..] == *f)
                });
                Placement {
                    new_node: false,
                    entry_size: listpack::entry_size(
                        same,
                        id.ms.wrapping_sub(node.master.ms) as i64,
                        id.seq.wrapping_sub(node.master.seq) as i64,
                        pairs,
                    ) as u32,
                    master_size: 0,
                }
            }
            _ => Placement {
                new_node: true,
                entry_size: listpack::entry_size(true, 0, 0, pairs) as u32,
                master_size: listpack::master_fixed_size(
                    field_names().collect::<Vec<_>>().into_iter(),
                ) as u32,
            },
        }
    }

    /// Appends an entry placed by [`Stream::place`]. The caller has checked
    /// that `id` is greater than the last ID.
    pub fn add(&mut self, id: StreamId, loc: Loc, placement: Placement) {
        self.add_quiet(id, loc, placement);
        self.pending_ops.push(StreamOp::Add { id, loc, placement });
    }

    fn add_quiet(&mut self, id: StreamId, loc: Loc, p: Placement) {
        if p.new_node || self.nodes.is_empty() {
            self.nodes.insert(
                id,
                Arc::new(Node {
                    master: id,
                    last: id,
                    master_loc: loc,
                    master_size: p.master_size,
                    entries_size: p.entry_size,
                    deleted: 0,
                    entries: vec![(id, loc)],
                }),
            );
        } else {
            let node = Arc::make_mut(
                self.nodes
                    .values_mut()
                    .next_back()
                    .expect("a tail node exists"),
            );
            node.last = id;
            node.entries_size += p.entry_size;
            node.entries.push((id, loc));
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// Deletes the entries with these IDs (XDEL); returns how many existed.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let gone = self.delete_quiet(ids);
        if !gone.is_empty() {
            let n = gone.len() as u64;
            self.pending_ops.push(StreamOp::Delete { ids: gone });
            n
        } else {
            0
        }
    }

    fn delete_quiet(&mut self, ids: &[StreamId]) -> Vec<StreamId> {
        let mut gone = Vec::new();
        for &id in ids {
            let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
                continue;
            };
            let Ok(i) = node.entries.binary_search_by(|(e, _)| e.cmp(&id)) else {
                continue;
            };
            if node.entries.len() == 1 {
                self.nodes.remove(&master);
            } else {
                let node = Arc::make_mut(node);
                node.entries.remove(i);
                node.deleted += 1;
            }
            self.length -= 1;
            self.max_deleted = self.max_deleted.max(id);
            gone.push(id);
        }
        gone
    }

    /// Trims as Redis does; returns how many entries were removed.
    pub fn trim(&mut self, t: Trim) -> u64 {
        let mut length = self.length;
        let mut removed = 0u64;
        let mut upto = None;
        let mut marked = Vec::new();
        for node in self.nodes.values() {
            if let TrimBy::MaxLen(max) = t.by {
                if length <= max {
                    break;
                }
            }
            let live = node.entries.len() as u64;
            if t.limit > 0 && removed + live > t.limit {
                break;
            }
            let whole = match t.by {
                TrimBy::MaxLen(max) => length - live >= max,
                TrimBy::MinId(min) => node.last < min,
            };
            if whole {
                removed += live;
                length -= live;
                upto = Some(node.master);
                continue;
            }
            if t.approx {
                break;
            }
            for &(id, _) in &node.entries {
                let stop = match t.by {
                    TrimBy::MaxLen(max) => length <= max,
                    TrimBy::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                marked.push(id);
                length -= 1;
                removed += 1;
            }
            break;
        }
        if upto.is_some() || !marked.is_empty() {
            self.trim_quiet(upto, &marked);
            self.pending_ops.push(StreamOp::Trim { upto, marked });
        }
        removed
    }

    fn trim_quiet(&mut self, upto: Option<StreamId>, marked: &[StreamId]) {
        if let Some(upto) = upto {
            while let Some(entry) = self.nodes.first_entry() {
                if *entry.key() > upto {
                    break;
                }
                self.length -= entry.remove().entries.len() as u64;
            }
        }
        if let Some((_, node)) = self.nodes.iter_mut().next().filter(|_| !marked.is_empty()) {
            let node = Arc::make_mut(node);
            for id in marked {
                if let Ok(i) = node.entries.binary_search_by(|(e, _)| e.cmp(id)) {
                    node.entries.remove(i);
                    node.deleted += 1;
                    self.length -= 1;
                }
            }
        }
    }

    /// XSETID: sets the metadata.
    pub fn set_meta(&mut self, meta: StreamMeta) {
        self.last_id = meta.last_id;
        self.entries_added = meta.entries_added;
        self.max_deleted = meta.max_deleted;
        self.pending_ops.push(StreamOp::SetMeta {
            last_id: meta.last_id,
            entries_added: meta.entries_added,
            max_deleted: meta.max_deleted,
        });
    }

    /// Creates a group or moves its cursor.
    pub fn set_group(&mut self, name: &Bytes, last_id: StreamId, entries_read: i64) {
        let g = self.groups.entry(name.clone()).or_default();
        g.last_id = last_id;
        g.entries_read = entries_read;
        self.pending_ops.push(StreamOp::GroupSet {
            name: name.clone(),
            last_id,
            entries_read,
        });
    }

    /// Destroys a group; false if there was none.
    pub fn destroy_group(&mut self, name: &Bytes) -> bool {
        let existed = self.groups.remove(name).is_some();
        if existed {
            self.pending_ops
                .push(StreamOp::GroupDestroy { name: name.clone() });
        }
        existed
    }

    /// Creates a consumer or sets its times. The group must exist.
    pub fn set_consumer(&mut self, group: &Bytes, name: &Bytes, seen_time: i64, active_time: i64) {
        if let Some(g) = self.groups.get_mut(group) {
            g.set_consumer(name, seen_time, active_time);
            self.pending_ops.push(StreamOp::ConsumerSet {
                group: group.clone(),
                name: name.clone(),
                seen_time,
                active_time,
            });
        }
    }

    /// Deletes a consumer and its pending entries; returns how many it
    /// had, or `None` if there was no such consumer.
    pub fn delete_consumer(&mut self, group: &Bytes, name: &Bytes) -> Option<usize> {
        let n = self.groups.get_mut(group)?.delete_consumer(name)?;
        self.pending_ops.push(StreamOp::ConsumerDelete {
            group: group.clone(),
            name: name.clone(),
        });
        Some(n)
    }

    /// Gives pending entries to `consumer` with these (ID, delivery time,
    /// delivery count). The group and consumer must exist.
    pub fn set_pending(
        &mut self,
        group: &Bytes,
        consumer: &Bytes,
        entries: Vec<(StreamId, i64, u64)>,
    ) {
        if entries.is_empty() {
            return;
        }
        if let Some(g) = self.groups.get_mut(group) {
            for &(id, time, count) in &entries {
                g.set_pending(id, consumer, time, count);
            }
            self.pending_ops.push(StreamOp::PelSet {
                group: group.clone(),
                consumer: consumer.clone(),
                entries,
            });
        }
    }

    /// Removes pending entries; returns how many were pending.
    pub fn remove_pending(&mut self, group: &Bytes, ids: &[StreamId]) -> u64 {
        let Some(g) = self.groups.get_mut(group) else {
            return 0;
        };
        let removed: Vec<StreamId> = ids
            .iter()
            .copied()
            .filter(|&id| g.remove_pending(id))
            .collect();
        let n = removed.len() as u64;
        if n > 0 {
            self.pending_ops.push(StreamOp::PelDel {
                group: group.clone(),
                ids: removed,
            });
        }
        n
    }

    /// Whether an XDEL'd entry may lie in `start..` (Redis's tombstone
    /// check for the lag estimate).
    pub fn range_has_tombstones(&self, start: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted.is_zero() {
            return false;
        }
        let start = start.unwrap_or(StreamId::MIN);
        start <= self.max_deleted
    }

    /// The logical position ("entries read") of `id` counted from the first
    /// entry ever added, when it can be known.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added as i64);
        }
        if id == self.last_id {
            return Some(self.entries_added as i64);
        }
        if id > self.last_id {
            return None;
        }
        let first = self.first_id();
        if self.max_deleted.is_zero() || self.max_deleted < first {
            if id < first {
                return Some((self.entries_added - self.length) as i64);
            }
            if id == first {
                return Some((self.entries_added - self.length + 1) as i64);
            }
        }
        None
    }

    /// A group's lag (XINFO GROUPS), when it can be known.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_UNKNOWN
            && !self.range_has_tombstones(Some(group.last_id))
        {
            return Some(self.entries_added as i64 - group.entries_read);
        }
        self.estimate_entries_read(group.last_id)
            .map(|read| self.entries_added as i64 - read)
    }

    /// The group's entries-read after it is delivered `id` with `>`.
    pub fn entries_read_after(&self, group: &Group, id: StreamId) -> i64 {
        if group.entries_read != ENTRIES_READ_UNKNOWN && !self.range_has_tombstones(Some(id)) {
            group.entries_read + 1
        } else if self.entries_added > 0 {
            self.estimate_entries_read(id)
                .unwrap_or(ENTRIES_READ_UNKNOWN)
        } else {
            group.entries_read
        }
    }

    /// Every log position the stream still needs: live entries and the
    /// master entries of its nodes.
    pub fn for_each_loc(&self, mut f: impl FnMut(Loc)) {
        for node in self.nodes.values() {
            f(node.master_loc);
            for &(_, loc) in &node.entries {
                f(loc);
            }
        }
    }

    /// Makes the first live entry of each node whose master ID is in
    /// `masters` that node's master (recovery: the old master's payload is
    /// unreadable). Not journaled.
    pub fn rebase_masters(&mut self, masters: &[StreamId]) {
        for master in masters {
            if let Some(node) = self.nodes.get_mut(master) {
                if let Some(&(_, loc)) = node.entries.first() {
                    Arc::make_mut(node).master_loc = loc;
                }
            }
        }
    }

    /// Points entries (and node masters) at new log positions after their
    /// payloads were copied forward; `map` gives the new position of an
    /// old one, or `None` to leave it. Records a `Relocate` op; returns how
    /// many positions changed.
    pub fn relocate(&mut self, map: impl Fn(Loc) -> Option<Loc>) -> usize {
        let mut entries = Vec::new();
        let mut masters = Vec::new();
        for (&master, node) in self.nodes.iter_mut() {
            let node = Arc::make_mut(node);
            if let Some(new) = map(node.master_loc) {
                node.master_loc = new;
                masters.push((master, new));
            }
            for (id, loc) in &mut node.entries {
                if let Some(new) = map(*loc) {
                    *loc = new;
                    entries.push((*id, new));
                }
            }
        }
        let n = entries.len() + masters.len();
        if n > 0 {
            self.pending_ops
                .push(StreamOp::Relocate { entries, masters });
        }
        n
    }

    /// Replays a `Relocate` op: by ID, so it costs O(log n) per position.
    fn relocate_quiet(&mut self, entries: &[(StreamId, Loc)], masters: &[(StreamId, Loc)]) {
        for &(master, loc) in masters {
            if let Some(node) = self.nodes.get_mut(&master) {
                Arc::make_mut(node).master_loc = loc;
            }
        }
        for &(id, loc) in entries {
            let Some((_, node)) = self.nodes.range_mut(..=id).next_back() else {
                continue;
            };
            if let Ok(i) = node.entries.binary_search_by(|(e, _)| e.cmp(&id)) {
                Arc::make_mut(node).entries[i].1 = loc;
            }
        }
    }

    /// Takes the changes recorded since the last call.
    pub fn take_ops(&mut self) -> Vec<StreamOp> {
        std::mem::take(&mut self.pending_ops)
    }
}

#[cfg(test)]
mod tests;
