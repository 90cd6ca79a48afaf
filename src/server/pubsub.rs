//! The pub/sub registry and each client's delivery queue.
//!
//! ```text
//! PUBLISH (under the keyspace lock)
//!   └─ PubSub::publish ── channel/pattern/shard maps ──► Mailbox::push (per subscriber)
//!                                                           │ encoded frame, tagged with
//!                                                           │ the publish sequence number
//! connection task ◄── Mailbox::notified ────────────────────┘
//!   drains frames with seq <= the mark of the command it is replying to
//!   before that reply, the rest after it, and all of them when idle.
//! ```
//!
//! Every publish takes a new sequence number; a command records the current
//! number (its *mark*) when it starts executing under the keyspace lock. A
//! message published before the command ran is written before its reply,
//! one published later (including one the command published to its own
//! connection) after it, so pushes never land inside a reply and the order
//! on the wire is the execution order.
//!
//! Output-buffer accounting: a mailbox counts the bytes of frames queued and
//! of frames moved into the connection's write buffer but not yet written
//! to the socket. Each push checks the `pubsub` class of
//! `client-output-buffer-limit`: at or over the hard limit, or over the soft
//! limit for longer than its seconds, the client is unsubscribed, its queue
//! dropped and its connection closed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ahash::AHashMap;
use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;
use tracing::warn;

use super::ClientHandle;
pub use crate::config::BufferLimit;
use crate::keyspace::glob;
use crate::protocol::Reply;

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    /// SUBSCRIBE: a channel name.
    Channel,
    /// PSUBSCRIBE: a glob pattern over channel names.
    Pattern,
    /// SSUBSCRIBE: a shard channel (all slots are local on one node).
    Shard,
}

impl SubKind {
    fn subscribe_word(self) -> &'static str {
        match self {
            SubKind::Channel => "subscribe",
            SubKind::Pattern => "psubscribe",
            SubKind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static str {
        match self {
            SubKind::Channel => "unsubscribe",
            SubKind::Pattern => "punsubscribe",
            SubKind::Shard => "sunsubscribe",
        }
    }
}

/// A client's pub/sub side: its subscription counts (read by CLIENT LIST
/// and the RESP2 subscribed-mode check) and its delivery queue.
#[derive(Debug, Default)]
pub struct Mailbox {
    counts: [AtomicUsize; 3],
    queue: Mutex<Queue>,
    notify: Notify,
    /// Cheap checks so that a connection without pub/sub traffic never
    /// takes the queue lock: frames queued / frames drained but unwritten.
    has_queued: AtomicBool,
    has_in_flight: AtomicBool,
}

#[derive(Debug, Default)]
struct Queue {
    /// Encoded frames with the sequence number of the publish that made them.
    frames: VecDeque<(u64, Bytes)>,
    /// Bytes in `frames`.
    queued: usize,
    /// Bytes drained into the connection's write buffer, not yet written.
    in_flight: usize,
    /// When the pending bytes were first seen at or over the soft limit.
    soft_since: Option<i64>,
    /// Dropped for overrunning its limit: take nothing more.
    closed: bool,
}

impl Mailbox {
    fn count_slot(kind: SubKind) -> usize {
        kind as usize
    }

    /// Subscriptions of one kind.
    pub fn count(&self, kind: SubKind) -> usize {
        self.counts[Self::count_slot(kind)].load(Ordering::Relaxed)
    }

    /// Whether the client has any subscription (Redis's pub/sub client
    /// flag `P`, and the `pubsub` client type).
    pub fn is_subscribed(&self) -> bool {
        self.counts.iter().any(|c| c.load(Ordering::Relaxed) > 0)
    }

    /// Bytes queued for the client and not yet written to its socket.
    pub fn pending_bytes(&self) -> usize {
        let q = self.queue.lock().expect("mailbox lock");
        q.queued + q.in_flight
    }

    /// Resolves when frames were queued since the last wait.
    pub async fn notified(&self) {
        self.notify.notified().await
    }

    /// Appends the frames published up to sequence `upto` (all of them
    /// with `None`) to `out`; they stay counted until [`Mailbox::written`].
    pub fn drain_into(&self, upto: Option<u64>, out: &mut BytesMut) {
        if !self.has_queued.load(Ordering::Acquire) {
            return;
        }
        let mut q = self.queue.lock().expect("mailbox lock");
        while let Some((seq, _)) = q.frames.front() {
            if upto.is_some_and(|mark| *seq > mark) {
                break;
            }
            let (_, frame) = q.frames.pop_front().expect("front exists");
            out.extend_from_slice(&frame);
            q.queued -= frame.len();
            q.in_flight += frame.len();
            self.has_in_flight.store(true, Ordering::Release);
        }
        if q.frames.is_empty() {
            self.has_queued.store(false, Ordering::Release);
        }
    }

    /// The write buffer reached the socket.
    pub fn written(&self) {
        if self.has_in_flight.swap(false, Ordering::AcqRel) {
            self.queue.lock().expect("mailbox lock").in_flight = 0;
        }
    }

    /// Queues a frame; false when the client is now over its limit (the
    /// caller disconnects it).
    fn push(&self, seq: u64, frame: Bytes, limit: BufferLimit, now_ms: i64) -> bool {
        let mut q = self.queue.lock().expect("mailbox lock");
        if q.closed {
            return true;
        }
        q.queued += frame.len();
        q.frames.push_back((seq, frame));
        self.has_queued.store(true, Ordering::Release);
        let pending = (q.queued + q.in_flight) as u64;
        let over_hard = limit.hard > 0 && pending >= limit.hard;
        let mut over_soft = false;
        if limit.soft > 0 && pending >= limit.soft {
            match q.soft_since {
                None => q.soft_since = Some(now_ms),
                Some(since) => {
                    over_soft = now_ms - since > (limit.soft_seconds as i64).saturating_mul(1000)
                }
            }
        } else {
            q.soft_since = None;
        }
        drop(q);
        self.notify.notify_one();
        !(over_hard || over_soft)
    }

    /// Drops everything queued and refuses further frames.
    fn close(&self) {
        let mut q = self.queue.lock().expect("mailbox lock");
        q.closed = true;
        q.frames.clear();
        q.queued = 0;
        self.has_queued.store(false, Ordering::Release);
    }
}

/// Whether a channel name matches a pub/sub pattern. As in Redis's
/// matcher, a non-empty pattern never matches the empty name (not even
/// `*`): the empty name only matches the empty pattern.
fn pattern_matches(pattern: &[u8], channel: &[u8]) -> bool {
    if channel.is_empty() {
        return pattern.is_empty();
    }
    glob::matches(pattern, channel)
}

/// Subscribers of one channel or pattern, by client id.
type Subscribers = AHashMap<u64, Arc<ClientHandle>>;

/// A client's subscriptions of one kind, in subscription order.
#[derive(Debug, Default)]
struct Names {
    order: u64,
    names: AHashMap<Bytes, u64>,
}

impl Names {
    fn insert(&mut self, name: &Bytes) -> bool {
        if self.names.contains_key(name) {
            return false;
        }
        self.order += 1;
        self.names.insert(name.clone(), self.order);
        true
    }

    fn in_order(&self) -> Vec<Bytes> {
        let mut all: Vec<(&Bytes, &u64)> = self.names.iter().collect();
        all.sort_by_key(|(_, order)| **order);
        all.into_iter().map(|(name, _)| name.clone()).collect()
    }
}

#[derive(Debug, Default)]
struct Registry {
    /// Channel, pattern and shard channel maps, indexed by `SubKind`.
    maps: [AHashMap<Bytes, Subscribers>; 3],
    /// Each subscribed client's own names, per kind.
    clients: AHashMap<u64, [Names; 3]>,
}

impl Registry {
    fn add(&mut self, handle: &Arc<ClientHandle>, kind: SubKind, name: &Bytes) {
        let own = self.clients.entry(handle.id).or_default();
        if own[kind as usize].insert(name) {
            self.maps[kind as usize]
                .entry(name.clone())
                .or_default()
                .insert(handle.id, handle.clone());
            handle.pubsub.counts[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn remove(&mut self, handle: &ClientHandle, kind: SubKind, name: &Bytes) {
        let Some(own) = self.clients.get_mut(&handle.id) else {
            return;
        };
        if own[kind as usize].names.remove(name).is_none() {
            return;
        }
        if own.iter().all(|n| n.names.is_empty()) {
            self.clients.remove(&handle.id);
        }
        let map = &mut self.maps[kind as usize];
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&handle.id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
        handle.pubsub.counts[kind as usize].fetch_sub(1, Ordering::Relaxed);
    }

    fn names(&self, id: u64, kind: SubKind) -> Vec<Bytes> {
        self.clients
            .get(&id)
            .map(|own| own[kind as usize].in_order())
            .unwrap_or_default()
    }

    fn remove_all(&mut self, handle: &ClientHandle) {
        for kind in [SubKind::Channel, SubKind::Pattern, SubKind::Shard] {
            for name in self.names(handle.id, kind) {
                self.remove(handle, kind, &name);
            }
        }
    }
}

/// The server's pub/sub state.
#[derive(Debug, Default)]
pub struct PubSub {
    registry: Mutex<Registry>,
    seq: AtomicU64,
    /// Clients disconnected for overrunning their output-buffer limit
    /// (INFO `client_output_buffer_limit_disconnections`).
    pub obuf_disconnections: AtomicU64,
}

/// The confirmation count a (un)subscribe frame carries: channels plus
/// patterns for those two kinds, shard channels alone for the shard kind.
fn confirmation_count(handle: &ClientHandle, kind: SubKind) -> i64 {
    let m = &handle.pubsub;
    match kind {
        SubKind::Shard => m.count(SubKind::Shard) as i64,
        _ => (m.count(SubKind::Channel) + m.count(SubKind::Pattern)) as i64,
    }
}

fn frame(word: &'static str, name: Reply, count: i64) -> Reply {
    Reply::Push(vec![Reply::bulk(word), name, Reply::Int(count)])
}

impl PubSub {
    /// The sequence number of the latest publish: a command's mark.
    pub fn mark(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Subscribes a client; one confirmation frame per name, in order.
    pub fn subscribe(&self, handle: &Arc<ClientHandle>, kind: SubKind, names: &[Bytes]) -> Reply {
        let mut reg = self.registry.lock().expect("pubsub lock");
        let frames = names
            .iter()
            .map(|name| {
                reg.add(handle, kind, name);
                frame(
                    kind.subscribe_word(),
                    Reply::Bulk(name.clone()),
                    confirmation_count(handle, kind),
                )
            })
            .collect();
        Reply::Frames(frames)
    }

    /// Unsubscribes a client from the given names, or from all of its
    /// names of that kind (`None`); one frame per name, or one with a null
    /// name when there was nothing to leave.
    pub fn unsubscribe(
        &self,
        handle: &Arc<ClientHandle>,
        kind: SubKind,
        names: Option<Vec<Bytes>>,
    ) -> Reply {
        let mut reg = self.registry.lock().expect("pubsub lock");
        let names = names.unwrap_or_else(|| reg.names(handle.id, kind));
        if names.is_empty() {
            return Reply::Frames(vec![frame(
                kind.unsubscribe_word(),
                Reply::Null,
                confirmation_count(handle, kind),
            )]);
        }
        let frames = names
            .into_iter()
            .map(|name| {
                reg.remove(handle, kind, &name);
                frame(
                    kind.unsubscribe_word(),
                    Reply::Bulk(name),
                    confirmation_count(handle, kind),
                )
            })
            .collect();
        Reply::Frames(frames)
    }

    /// A client's subscriptions of one kind, in subscription order (the
    /// ACL re-check after a user's channel rules change).
    pub fn subscriptions(&self, client_id: u64, kind: SubKind) -> Vec<Bytes> {
        self.registry
            .lock()
            .expect("pubsub lock")
            .names(client_id, kind)
    }

    /// Drops every subscription of a client without notifying it (RESET,
    /// disconnect).
    pub fn unsubscribe_all(&self, handle: &ClientHandle) {
        self.registry
            .lock()
            .expect("pubsub lock")
            .remove_all(handle);
    }

    /// Delivers a message; returns the number of receivers (channel
    /// subscribers plus matching pattern subscriptions; shard subscribers
    /// for a shard message). Runs under the keyspace lock, so publishes are
    /// totally ordered with every other command.
    pub fn publish(
        &self,
        channel: &Bytes,
        message: &Bytes,
        shard: bool,
        limit: BufferLimit,
        now_ms: i64,
    ) -> i64 {
        let mut reg = self.registry.lock().expect("pubsub lock");
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let mut receivers = 0;
        let mut overrun: Vec<Arc<ClientHandle>> = Vec::new();
        let kind = if shard {
            SubKind::Shard
        } else {
            SubKind::Channel
        };
        if let Some(subs) = reg.maps[kind as usize].get(channel) {
            let word = if shard { "smessage" } else { "message" };
            let mut enc = Encoded::new(Reply::Push(vec![
                Reply::bulk(word),
                Reply::Bulk(channel.clone()),
                Reply::Bulk(message.clone()),
            ]));
            for handle in subs.values() {
                receivers += 1;
                let bytes = enc.get(handle.resp() == 3);
                if !handle.pubsub.push(seq, bytes, limit, now_ms) {
                    overrun.push(handle.clone());
                }
            }
        }
        if !shard {
            for (pattern, subs) in &reg.maps[SubKind::Pattern as usize] {
                if !pattern_matches(pattern, channel) {
                    continue;
                }
                let mut enc = Encoded::new(Reply::Push(vec![
                    Reply::bulk("pmessage"),
                    Reply::Bulk(pattern.clone()),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(message.clone()),
                ]));
                for handle in subs.values() {
                    receivers += 1;
                    let bytes = enc.get(handle.resp() == 3);
                    if !handle.pubsub.push(seq, bytes, limit, now_ms) {
                        overrun.push(handle.clone());
                    }
                }
            }
        }
        for handle in overrun {
            if handle.pubsub.queue.lock().expect("mailbox lock").closed {
                continue;
            }
            warn!(
                "client id={} addr={} closed for overcoming of output buffer limits",
                handle.id, handle.addr
            );
            handle.pubsub.close();
            reg.remove_all(&handle);
            self.obuf_disconnections.fetch_add(1, Ordering::Relaxed);
            handle.kill();
        }
        receivers
    }

    /// Channel names (or shard channel names) with subscribers, matching
    /// `pattern` if given.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let reg = self.registry.lock().expect("pubsub lock");
        let kind = if shard {
            SubKind::Shard
        } else {
            SubKind::Channel
        };
        reg.maps[kind as usize]
            .keys()
            .filter(|name| pattern.is_none_or(|p| pattern_matches(p, name)))
            .cloned()
            .collect()
    }

    /// Subscriber counts of the given channels (not counting patterns).
    pub fn numsub(&self, shard: bool, names: &[Bytes]) -> Vec<i64> {
        let reg = self.registry.lock().expect("pubsub lock");
        let kind = if shard {
            SubKind::Shard
        } else {
            SubKind::Channel
        };
        names
            .iter()
            .map(|n| reg.maps[kind as usize].get(n).map_or(0, |s| s.len()) as i64)
            .collect()
    }

    /// Distinct channels, patterns and shard channels with subscribers.
    pub fn sizes(&self) -> [usize; 3] {
        let reg = self.registry.lock().expect("pubsub lock");
        [reg.maps[0].len(), reg.maps[1].len(), reg.maps[2].len()]
    }

    /// Clients with at least one subscription (INFO `pubsub_clients`).
    pub fn clients(&self) -> usize {
        self.registry.lock().expect("pubsub lock").clients.len()
    }
}

/// A frame encoded lazily, once per protocol version.
struct Encoded {
    reply: Reply,
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl Encoded {
    fn new(reply: Reply) -> Self {
        Encoded {
            reply,
            resp2: None,
            resp3: None,
        }
    }

    fn get(&mut self, resp3: bool) -> Bytes {
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut out = BytesMut::new();
            self.reply.encode(&mut out, resp3);
            out.freeze()
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_channel_matches_only_the_empty_pattern() {
        assert!(!pattern_matches(b"*", b""));
        assert!(pattern_matches(b"", b""));
        assert!(pattern_matches(b"*", b"a"));
        assert!(pattern_matches(b"a*", b"a"));
    }

    #[test]
    fn hard_limit_trips_at_the_limit() {
        let m = Mailbox::default();
        let limit = BufferLimit {
            hard: 10,
            soft: 0,
            soft_seconds: 0,
        };
        assert!(m.push(1, Bytes::from_static(b"12345"), limit, 0));
        assert!(!m.push(2, Bytes::from_static(b"12345"), limit, 0));
    }

    #[test]
    fn soft_limit_needs_to_last() {
        let m = Mailbox::default();
        let limit = BufferLimit {
            hard: 0,
            soft: 4,
            soft_seconds: 2,
        };
        assert!(m.push(1, Bytes::from_static(b"12345"), limit, 1_000));
        assert!(m.push(2, Bytes::from_static(b"1"), limit, 3_000));
        assert!(!m.push(3, Bytes::from_static(b"1"), limit, 3_001));
    }

    #[test]
    fn going_under_the_soft_limit_resets_its_timer() {
        let m = Mailbox::default();
        let limit = BufferLimit {
            hard: 0,
            soft: 4,
            soft_seconds: 1,
        };
        assert!(m.push(1, Bytes::from_static(b"12345"), limit, 0));
        let mut out = BytesMut::new();
        m.drain_into(None, &mut out);
        m.written();
        assert!(m.push(2, Bytes::from_static(b"1"), limit, 5_000));
        assert!(m.push(3, Bytes::from_static(b"12345"), limit, 5_000));
        assert!(m.push(4, Bytes::from_static(b"1"), limit, 6_000));
    }

    #[test]
    fn drain_stops_at_the_mark_and_counts_until_written() {
        let m = Mailbox::default();
        let none = BufferLimit::default();
        m.push(1, Bytes::from_static(b"a"), none, 0);
        m.push(2, Bytes::from_static(b"b"), none, 0);
        let mut out = BytesMut::new();
        m.drain_into(Some(1), &mut out);
        assert_eq!(&out[..], b"a");
        assert_eq!(m.pending_bytes(), 2);
        m.written();
        assert_eq!(m.pending_bytes(), 1);
        m.drain_into(None, &mut out);
        assert_eq!(&out[..], b"ab");
    }
}
