//! Between the keyspace's [`Value`] and the RDB format's [`RdbValue`].
//!
//! This is the one place that knows both: [`to_rdb`] for DUMP and
//! [`from_rdb`] for RESTORE, one `match` arm per type.

use bytes::Bytes;

use crate::commands::streams::{append_entry, with_parts};
use crate::error::CommandError;
use crate::keyspace::stream::{NodeLimits, Stream, StreamId, StreamMeta, ENTRIES_READ_UNKNOWN};
use crate::keyspace::{Hash, List, Set, Value, ZSet};
use crate::rdb::{RdbConsumer, RdbGroup, RdbPending, RdbStream, RdbValue};
use crate::server::Shared;

/// The value as plain RDB data (stream payloads are read from the log).
pub fn to_rdb(shared: &Shared, value: &Value) -> Result<RdbValue, CommandError> {
    Ok(match value {
        Value::Str(s) => RdbValue::Str(s.clone()),
        Value::ZSet(z) => RdbValue::ZSet(z.members().map(|(m, s)| (m.clone(), s)).collect()),
        Value::Stream(s) => RdbValue::Stream(Box::new(stream_to_rdb(shared, s)?)),
        Value::Set(s) => RdbValue::Set(s.iter().map(Bytes::copy_from_slice).collect()),
        Value::List(l) => RdbValue::List(l.iter().map(|e| e.to_bytes()).collect()),
        Value::Hash(h) => RdbValue::Hash(
            h.iter()
                .map(|(f, v)| {
                    let at = h.expire_at(f);
                    (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v), at)
                })
                .collect(),
        ),
    })
}

/// A keyspace value built from RDB data. A stream's entries are appended
/// to the log (as XADD appends them) on the way.
pub fn from_rdb(shared: &Shared, value: RdbValue) -> Result<Value, CommandError> {
    Ok(match value {
        RdbValue::Str(s) => Value::Str(s),
        RdbValue::ZSet(pairs) => {
            let limits = shared.config.read().expect("config lock").zset_limits();
            Value::ZSet(Box::new(ZSet::from_pairs(pairs, limits)))
        }
        RdbValue::Stream(s) => Value::Stream(Box::new(stream_from_rdb(shared, *s)?)),
        // Decoded sets hold no duplicates and are never empty.
        RdbValue::Set(members) => Value::Set(Box::new(Set::restored(members))),
        // Decoded lists are never empty.
        RdbValue::List(elems) => {
            let fill = crate::commands::lists::fill(shared);
            Value::List(Box::new(List::from_elems(
                elems.iter().map(|e| &e[..]),
                fill,
            )))
        }
        // Fields already past their expiry are kept: the first access or
        // the active sweep removes them (and the key with its last one).
        RdbValue::Hash(fields) => {
            let limits = shared.config.read().expect("config lock").hash_limits();
            Value::Hash(Box::new(Hash::restored(fields, limits)))
        }
    })
}

fn id(id: StreamId) -> (u64, u64) {
    (id.ms, id.seq)
}

fn stream_id((ms, seq): (u64, u64)) -> StreamId {
    StreamId::new(ms, seq)
}

fn stream_to_rdb(shared: &Shared, s: &Stream) -> Result<RdbStream, CommandError> {
    let mut entries = Vec::with_capacity(s.len() as usize);
    for node in s.nodes() {
        for &(entry_id, loc) in &node.entries {
            let parts = with_parts(shared, loc, |parts| {
                parts.into_iter().map(Bytes::copy_from_slice).collect()
            })?;
            entries.push((id(entry_id), parts));
        }
    }
    let groups = s
        .groups()
        .iter()
        .map(|(name, g)| RdbGroup {
            name: name.clone(),
            last_id: id(g.last_id),
            entries_read: Some(g.entries_read),
            pel: g
                .pel
                .iter()
                .map(|(&pid, p)| RdbPending {
                    id: id(pid),
                    delivery_time: p.delivery_time,
                    delivery_count: p.delivery_count,
                    consumer: p.consumer.clone(),
                })
                .collect(),
            consumers: g
                .consumers
                .iter()
                .map(|(cname, c)| RdbConsumer {
                    name: cname.clone(),
                    seen_time: c.seen_time,
                    active_time: Some(c.active_time),
                })
                .collect(),
        })
        .collect();
    Ok(RdbStream {
        entries,
        last_id: id(s.last_id()),
        max_deleted: id(s.max_deleted()),
        entries_added: Some(s.entries_added()),
        groups,
    })
}

fn stream_from_rdb(shared: &Shared, r: RdbStream) -> Result<Stream, CommandError> {
    let limits = {
        let config = shared.config.read().expect("config lock");
        NodeLimits {
            max_entries: config.stream_node_max_entries,
            max_bytes: config.stream_node_max_bytes,
        }
    };
    let mut s = Stream::new();
    let length = r.entries.len() as u64;
    for (entry_id, parts) in r.entries {
        append_entry(shared, &mut s, stream_id(entry_id), &parts, limits)?;
    }
    s.set_meta(StreamMeta {
        last_id: stream_id(r.last_id),
        entries_added: r.entries_added.unwrap_or(length),
        max_deleted: stream_id(r.max_deleted),
    });
    for g in r.groups {
        let last_id = stream_id(g.last_id);
        let entries_read = g.entries_read.unwrap_or_else(|| {
            s.estimate_entries_read(last_id)
                .unwrap_or(ENTRIES_READ_UNKNOWN)
        });
        s.set_group(&g.name, last_id, entries_read);
        for c in &g.consumers {
            // Before Redis 7.2 there was no active time: the seen time is
            // the best estimate (as Redis itself loads it).
            s.set_consumer(
                &g.name,
                &c.name,
                c.seen_time,
                c.active_time.unwrap_or(c.seen_time),
            );
        }
        let mut owned: std::collections::HashMap<Bytes, Vec<(StreamId, i64, u64)>> =
            Default::default();
        for p in g.pel {
            owned.entry(p.consumer).or_default().push((
                stream_id(p.id),
                p.delivery_time,
                p.delivery_count,
            ));
        }
        for (consumer, pending) in owned {
            s.set_pending(&g.name, &consumer, pending);
        }
    }
    Ok(s)
}
