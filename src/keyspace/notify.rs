//! Keyspace notifications (`notify-keyspace-events`): which classes of
//! events are on, and the events commands raise.
//!
//! A command that changes a key calls [`super::Db::notify`] with the
//! event's class and name (`set`, `zadd`, `xgroup-create`, …); the
//! database also raises `new` when a key is created, `expired` when one
//! expires and `keymiss` when a read misses. Events wait in their database
//! with a sequence number (MOVE raises events in two databases, in order)
//! and are published when the command's changes are journaled, so a
//! command whose write is rolled back notifies nobody. With every class
//! off (the default) raising an event costs one branch.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

/// `K`: published on `__keyspace@<db>__:<key>`, the event as message.
pub const KEYSPACE: u16 = 1 << 0;
/// `E`: published on `__keyevent@<db>__:<event>`, the key as message.
pub const KEYEVENT: u16 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, …).
pub const GENERIC: u16 = 1 << 2;
/// `$`: string commands.
pub const STRING: u16 = 1 << 3;
/// `l`: list commands.
pub const LIST: u16 = 1 << 4;
/// `s`: set commands.
pub const SET: u16 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u16 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u16 = 1 << 7;
/// `x`: expired events.
pub const EXPIRED: u16 = 1 << 8;
/// `e`: evicted events.
pub const EVICTED: u16 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u16 = 1 << 10;
/// `m`: key misses (not part of `A`).
pub const KEY_MISS: u16 = 1 << 11;
/// `d`: module events (Sluice has none; accepted as Redis does).
pub const MODULE: u16 = 1 << 12;
/// `n`: a key was created (not part of `A`).
pub const NEW: u16 = 1 << 13;
/// `A`: every class but `m` and `n`.
pub const ALL: u16 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The classes that `A` stands for, in the order CONFIG GET lists them.
const CLASSES: &[(char, u16)] = &[
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
];

/// Parses a `notify-keyspace-events` value; `None` for a character that
/// names no class.
pub fn parse(value: &str) -> Option<u16> {
    let mut flags = 0;
    for c in value.chars() {
        flags |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            'n' => NEW,
            c => CLASSES.iter().find(|(name, _)| *name == c)?.1,
        };
    }
    Some(flags)
}

/// The value CONFIG GET shows: `A` when every class it covers is on,
/// else those classes one by one and `n`; then `K`, `E` and `m`. Like
/// Redis 7.0 and Valkey 8.1 (checked), `n` is not shown after `A`, though
/// it stays on.
pub fn render(flags: u16) -> String {
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        for &(c, bit) in CLASSES {
            if flags & bit != 0 {
                out.push(c);
            }
        }
    }
    if flags & NEW != 0 && flags & ALL != ALL {
        out.push('n');
    }
    for (c, bit) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// An event waiting to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Raised in this order across databases.
    pub seq: u64,
    /// The database number.
    pub db: u32,
    /// The event name (`set`, `del`, …).
    pub event: &'static str,
    /// The key.
    pub key: Bytes,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Queues `event` of `class` on `key` in database `db` if `flags` has the
/// class on.
pub(super) fn raise(
    events: &mut Vec<Event>,
    flags: u16,
    db: u32,
    class: u16,
    event: &'static str,
    key: &[u8],
) {
    if enabled(flags, class) {
        events.push(Event {
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            db,
            event,
            key: Bytes::copy_from_slice(key),
        });
    }
}

/// Whether `flags` publishes events of `class` at all.
pub fn enabled(flags: u16, class: u16) -> bool {
    flags & class != 0 && flags & (KEYSPACE | KEYEVENT) != 0
}

/// The channel and message of each publication an event makes under
/// `flags`: the keyspace one, then the keyevent one.
pub fn publications(flags: u16, event: &Event) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::with_capacity(2);
    if flags & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{}__:", event.db).into_bytes();
        channel.extend_from_slice(&event.key);
        out.push((
            Bytes::from(channel),
            Bytes::from_static(event.event.as_bytes()),
        ));
    }
    if flags & KEYEVENT != 0 {
        let channel = format!("__keyevent@{}__:{}", event.db, event.event);
        out.push((Bytes::from(channel), event.key.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render_follow_redis() {
        assert_eq!(render(parse("KEA").unwrap()), "AKE");
        assert_eq!(render(parse("Kgx$").unwrap()), "g$xK");
        assert_eq!(render(parse("EKmdtexzhsl").unwrap()), "lshzxetdKEm");
        assert_eq!(render(parse("n").unwrap()), "n");
        assert_eq!(render(parse("gn").unwrap()), "gn");
        assert_eq!(render(parse("KEAmn").unwrap()), "AKEm");
        assert_eq!(render(parse("Ag").unwrap()), "A");
        assert_eq!(render(parse("").unwrap()), "");
        assert_eq!(parse("Q"), None);
        assert!(!enabled(parse("g").unwrap(), GENERIC));
        assert!(enabled(parse("Kg").unwrap(), GENERIC));
        assert!(!enabled(parse("KA").unwrap(), NEW));
    }
}
