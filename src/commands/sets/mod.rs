//! Set commands.
//!
//! Changes go through [`Set`]'s methods on a set taken with
//! `Db::get_set_mut`, so the journal gets one small op per member changed
//! instead of the whole set; a command that creates a key (or replaces
//! one, the STORE forms) stores a whole new set with `Db::insert`, and one
//! that empties a set deletes the key.
//!
//! - `members.rs`: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SMOVE
//! - `random.rs`: SPOP, SRANDMEMBER, SSCAN
//! - `algebra.rs`: SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE,
//!   SDIFF, SDIFFSTORE

mod algebra;
mod members;
mod random;

use bytes::Bytes;

use super::typed;
use super::{CommandSpec, Ctx, Parser};
use crate::error::CommandError;
use crate::keyspace::set::Limits;
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, Set, Value};
use crate::protocol::{Encoder, Reply};

/// A `set`-group command spec.
const fn set(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("set", name, arity, flags, keys, since, summary, parser)
}

const WRITE_FAST: &[&str] = &["write", "fast"];
const WRITE_DENYOOM_FAST: &[&str] = &["write", "denyoom", "fast"];
const WRITE_DENYOOM: &[&str] = &["write", "denyoom"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const READ: &[&str] = &["readonly"];
const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);

/// The set family's table.
pub static COMMANDS: &[CommandSpec] = &[
    set(
        "sadd",
        -3,
        WRITE_DENYOOM_FAST,
        ONE,
        "1.0.0",
        "Adds members to a set, creating it if needed.",
        members::parse_sadd,
    ),
    set(
        "srem",
        -3,
        WRITE_FAST,
        ONE,
        "1.0.0",
        "Removes members from a set; deletes it when it empties.",
        members::parse_srem,
    ),
    set(
        "smembers",
        2,
        READ,
        ONE,
        "1.0.0",
        "Lists every member of a set.",
        members::parse_smembers,
    ),
    set(
        "sismember",
        3,
        READ_FAST,
        ONE,
        "1.0.0",
        "Tells whether a member is in a set.",
        members::parse_sismember,
    ),
    set(
        "smismember",
        -3,
        READ_FAST,
        ONE,
        "6.2.0",
        "Tells for each of several members whether it is in a set.",
        members::parse_smismember,
    ),
    set(
        "scard",
        2,
        READ_FAST,
        ONE,
        "1.0.0",
        "Counts the members of a set.",
        members::parse_scard,
    ),
    set(
        "smove",
        4,
        WRITE_FAST,
        (1, 2, 1),
        "1.0.0",
        "Moves a member from one set to another.",
        members::parse_smove,
    ),
    set(
        "spop",
        -2,
        WRITE_FAST,
        ONE,
        "1.0.0",
        "Removes and returns random members of a set.",
        random::parse_spop,
    ),
    set(
        "srandmember",
        -2,
        READ,
        ONE,
        "1.0.0",
        "Returns random members of a set without removing them.",
        random::parse_srandmember,
    ),
    set(
        "sscan",
        -3,
        READ,
        ONE,
        "2.8.0",
        "Iterates over the members of a set.",
        random::parse_sscan,
    ),
    set(
        "sinter",
        -2,
        READ,
        ALL,
        "1.0.0",
        "Lists the members common to all the sets.",
        algebra::parse_sinter,
    ),
    set(
        "sintercard",
        -3,
        &["readonly", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Counts the members common to all the sets.",
        algebra::parse_sintercard,
    ),
    set(
        "sinterstore",
        -3,
        WRITE_DENYOOM,
        ALL,
        "1.0.0",
        "Stores the intersection of sets at a key.",
        algebra::parse_sinterstore,
    ),
    set(
        "sunion",
        -2,
        READ,
        ALL,
        "1.0.0",
        "Lists the members of any of the sets.",
        algebra::parse_sunion,
    ),
    set(
        "sunionstore",
        -3,
        WRITE_DENYOOM,
        ALL,
        "1.0.0",
        "Stores the union of sets at a key.",
        algebra::parse_sunionstore,
    ),
    set(
        "sdiff",
        -2,
        READ,
        ALL,
        "1.0.0",
        "Lists the members of the first set that are in none of the others.",
        algebra::parse_sdiff,
    ),
    set(
        "sdiffstore",
        -3,
        WRITE_DENYOOM,
        ALL,
        "1.0.0",
        "Stores the difference of sets at a key.",
        algebra::parse_sdiffstore,
    ),
];

/// The encoding thresholds now configured.
fn limits(ctx: &Ctx<'_>) -> Limits {
    ctx.shared.config.read().expect("config lock").set_limits()
}

/// Looks a key up for reading (hit/miss counted): `None` if absent,
/// WRONGTYPE for another type.
fn read_set<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Set>, CommandError> {
    typed::read(db, key, now, stats)
}

/// Checks the type of `key` without counting a hit or changing anything:
/// `None` if absent, WRONGTYPE for another type.
fn peek_set<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Set>, CommandError> {
    typed::peek(db, key, now, stats)
}

/// Looks a set up to change it (its ops are journaled when the command
/// ends): `None` if absent, WRONGTYPE for another type.
fn set_mut<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut Set>, CommandError> {
    typed::write(db, key, now, stats)
}

/// Raises the keyspace event `event` for a change to the set at `key`,
/// then deletes the key (raising `del`) if the set is now empty: the
/// keyspace never keeps an empty set.
fn changed(db: &mut Db, key: &[u8], event: &'static str) {
    db.notify(notify::SET, event, key);
    let empty = matches!(
        db.table().get(key),
        Some(Entry { value: Value::Set(s), .. }) if s.is_empty()
    );
    if empty {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// Stores `set` at `key` as a new value (replacing whatever was there) and
/// raises `event`, or deletes the key (raising `del` if it existed) when
/// the set is empty.
fn store(db: &mut Db, key: Bytes, set: Set, now: i64, event: &'static str) {
    if set.is_empty() {
        if db.remove(&key).is_some() {
            db.notify(notify::GENERIC, "del", &key);
        }
    } else {
        db.insert(key.clone(), Entry::new(Value::Set(Box::new(set)), now));
        db.notify(notify::SET, event, &key);
    }
}

/// Members as a RESP3 set (an array in RESP2), encoded straight from the
/// set for the connection's protocol.
fn set_reply<M: AsRef<[u8]>>(members: impl ExactSizeIterator<Item = M>, resp3: bool) -> Reply {
    encoded(members, resp3, true)
}

/// Members as an array in both protocols.
fn array_reply<M: AsRef<[u8]>>(members: impl ExactSizeIterator<Item = M>, resp3: bool) -> Reply {
    encoded(members, resp3, false)
}

fn encoded<M: AsRef<[u8]>>(
    members: impl ExactSizeIterator<Item = M>,
    resp3: bool,
    as_set: bool,
) -> Reply {
    let members: Vec<M> = members.collect();
    let room = members.iter().map(|m| m.as_ref().len() + 16).sum::<usize>() + 16;
    let mut out = Encoder::with_capacity(resp3, room);
    if as_set {
        out.set(members.len());
    } else {
        out.array(members.len());
    }
    for m in members {
        out.bulk(m.as_ref());
    }
    out.finish()
}
