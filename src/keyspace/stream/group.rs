//! Consumer groups: a cursor into the stream, the entries delivered but
//! not yet acknowledged (the PEL), and the consumers that hold them.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::StreamId;

/// `entries-read` is unknown (Redis reports it as nil).
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

/// One consumer group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// The last ID delivered to any consumer with `>`.
    pub last_id: StreamId,
    /// How many entries the group has read (its logical position), or
    /// [`ENTRIES_READ_UNKNOWN`].
    pub entries_read: i64,
    /// Delivered but unacknowledged entries.
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name.
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// One pending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The consumer that holds it.
    pub consumer: Bytes,
    /// When it was last delivered (Unix ms).
    pub delivery_time: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// One consumer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Consumer {
    /// Last time the consumer was seen (any read or claim attempt).
    pub seen_time: i64,
    /// Last time it read or claimed something (-1: never).
    pub active_time: i64,
    /// The IDs in the group's PEL that it holds.
    pub pel: BTreeSet<StreamId>,
}

impl Group {
    /// A group positioned at `last_id`.
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    /// Creates or updates a consumer's times.
    pub fn set_consumer(&mut self, name: &Bytes, seen_time: i64, active_time: i64) {
        let c = self.consumers.entry(name.clone()).or_default();
        c.seen_time = seen_time;
        c.active_time = active_time;
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Gives `id` to `consumer` with this delivery time and count, taking
    /// it from whoever held it. The consumer must exist.
    pub fn set_pending(&mut self, id: StreamId, consumer: &Bytes, time: i64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if old.consumer != *consumer {
                if let Some(c) = self.consumers.get_mut(&old.consumer) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Pending {
                consumer: consumer.clone(),
                delivery_time: time,
                delivery_count: count,
            },
        );
        self.consumers
            .entry(consumer.clone())
            .or_default()
            .pel
            .insert(id);
    }

    /// Removes `id` from the PEL (acknowledged, or its entry is gone);
    /// true if it was there.
    pub fn remove_pending(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }
}
