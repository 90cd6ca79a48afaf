//! The changes a stream records for the journal, and their replay.

use bytes::Bytes;

use super::{Loc, Placement, Stream, StreamId};

/// One recorded change to a stream, as the journal stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamOp {
    /// An entry was appended.
    Add {
        /// Its ID.
        id: StreamId,
        /// Its payload.
        loc: Loc,
        /// Where it went.
        placement: Placement,
    },
    /// Entries were deleted (XDEL): a node whose last live entry goes is
    /// removed, and the largest deleted ID is remembered.
    Delete {
        /// The IDs that were present.
        ids: Vec<StreamId>,
    },
    /// Trimming: the nodes up to the one whose master ID is `upto` were
    /// removed whole, then these entries of the next node were marked
    /// deleted.
    Trim {
        /// Master ID of the last node removed whole.
        upto: Option<StreamId>,
        /// Entries marked deleted.
        marked: Vec<StreamId>,
    },
    /// XSETID: the stream's metadata.
    SetMeta {
        /// Last ID.
        last_id: StreamId,
        /// Entries ever added.
        entries_added: u64,
        /// Largest deleted ID.
        max_deleted: StreamId,
    },
    /// A group was created or its cursor moved.
    GroupSet {
        /// Group name.
        name: Bytes,
        /// Last delivered ID.
        last_id: StreamId,
        /// Entries read.
        entries_read: i64,
    },
    /// A group was destroyed.
    GroupDestroy {
        /// Group name.
        name: Bytes,
    },
    /// A consumer was created or its times changed.
    ConsumerSet {
        /// Group name.
        group: Bytes,
        /// Consumer name.
        name: Bytes,
        /// Seen time.
        seen_time: i64,
        /// Active time.
        active_time: i64,
    },
    /// A consumer was deleted with its pending entries.
    ConsumerDelete {
        /// Group name.
        group: Bytes,
        /// Consumer name.
        name: Bytes,
    },
    /// Pending entries were given to a consumer with these delivery times
    /// and counts.
    PelSet {
        /// Group name.
        group: Bytes,
        /// Consumer name.
        consumer: Bytes,
        /// (ID, delivery time, delivery count).
        entries: Vec<(StreamId, i64, u64)>,
    },
    /// Pending entries were removed (XACK, or their entries are gone).
    PelDel {
        /// Group name.
        group: Bytes,
        /// The IDs.
        ids: Vec<StreamId>,
    },
    /// Payloads were copied forward by compaction: these entries and node
    /// masters now live at new positions.
    Relocate {
        /// (entry ID, new position).
        entries: Vec<(StreamId, Loc)>,
        /// (node master ID, new position of its master entry).
        masters: Vec<(StreamId, Loc)>,
    },
}

impl Stream {
    /// Replays one recorded change (recovery).
    pub fn apply(&mut self, op: StreamOp) {
        match op {
            StreamOp::Add { id, loc, placement } => {
                // At or below the last ID: this state already has it.
                if id > self.last_id {
                    self.add_quiet(id, loc, placement);
                }
            }
            StreamOp::Delete { ids } => {
                self.delete_quiet(&ids);
            }
            StreamOp::Trim { upto, marked } => self.trim_quiet(upto, &marked),
            StreamOp::SetMeta {
                last_id,
                entries_added,
                max_deleted,
            } => {
                self.last_id = last_id;
                self.entries_added = entries_added;
                self.max_deleted = max_deleted;
            }
            StreamOp::GroupSet {
                name,
                last_id,
                entries_read,
            } => {
                let g = self.groups.entry(name).or_default();
                g.last_id = last_id;
                g.entries_read = entries_read;
            }
            StreamOp::GroupDestroy { name } => {
                self.groups.remove(&name);
            }
            StreamOp::ConsumerSet {
                group,
                name,
                seen_time,
                active_time,
            } => {
                // A group missing here is destroyed later in the log.
                if let Some(g) = self.groups.get_mut(&group) {
                    g.set_consumer(&name, seen_time, active_time);
                }
            }
            StreamOp::ConsumerDelete { group, name } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.delete_consumer(&name);
                }
            }
            StreamOp::PelSet {
                group,
                consumer,
                entries,
            } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    for (id, time, count) in entries {
                        g.set_pending(id, &consumer, time, count);
                    }
                }
            }
            StreamOp::PelDel { group, ids } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    for id in ids {
                        g.remove_pending(id);
                    }
                }
            }
            StreamOp::Relocate { entries, masters } => self.relocate_quiet(&entries, &masters),
        }
        self.pending_ops.clear();
    }
}
