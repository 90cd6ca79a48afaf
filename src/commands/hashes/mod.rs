//! Hash commands.
//!
//! Changes go through [`Hash`]'s methods on a hash taken with
//! `Db::get_hash_mut`, so the journal gets one small op per field changed
//! instead of the whole hash; a command that creates a key stores a whole
//! new hash with `Db::insert`, and one that empties a hash deletes the key.
//! Every command first removes the hash's expired fields
//! (`Db::expire_hash_fields`), so no command ever sees one.
//!
//! - `basic.rs`: HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL, HLEN,
//!   HEXISTS, HKEYS, HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT
//! - `random.rs`: HRANDFIELD, HSCAN
//! - `ttl.rs`: HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL,
//!   HEXPIRETIME, HPEXPIRETIME, HPERSIST
//! - `ex.rs`: HGETDEL, HGETEX, HSETEX (Redis 8.0)

mod basic;
mod ex;
mod random;
mod ttl;

use bytes::Bytes;

use super::typed;
use super::{CommandSpec, Ctx, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::hash::Limits;
use crate::keyspace::{Db, Entry, Hash, KeyspaceStats, Value};

/// A `hash`-group command spec.
const fn hash(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new(
        "hash",
        name,
        arity,
        flags,
        (1, 1, 1),
        since,
        summary,
        parser,
    )
}

const WRITE_DENYOOM_FAST: &[&str] = &["write", "denyoom", "fast"];
const WRITE_FAST: &[&str] = &["write", "fast"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const READ: &[&str] = &["readonly"];

/// The hash family's table.
pub static COMMANDS: &[CommandSpec] = &[
    hash(
        "hset",
        -4,
        WRITE_DENYOOM_FAST,
        "2.0.0",
        "Sets fields of a hash.",
        basic::parse_hset,
    ),
    hash(
        "hsetnx",
        4,
        WRITE_DENYOOM_FAST,
        "2.0.0",
        "Sets a field of a hash only if it is absent.",
        basic::parse_hsetnx,
    ),
    hash(
        "hmset",
        -4,
        WRITE_DENYOOM_FAST,
        "2.0.0",
        "Sets fields of a hash (replies OK).",
        basic::parse_hmset,
    ),
    hash(
        "hget",
        3,
        READ_FAST,
        "2.0.0",
        "Gives the value of a field.",
        basic::parse_hget,
    ),
    hash(
        "hmget",
        -3,
        READ_FAST,
        "2.0.0",
        "Gives the values of several fields.",
        basic::parse_hmget,
    ),
    hash(
        "hgetall",
        2,
        READ,
        "2.0.0",
        "Gives every field and value of a hash.",
        basic::parse_hgetall,
    ),
    hash(
        "hdel",
        -3,
        WRITE_FAST,
        "2.0.0",
        "Removes fields from a hash.",
        basic::parse_hdel,
    ),
    hash(
        "hlen",
        2,
        READ_FAST,
        "2.0.0",
        "Counts the fields of a hash.",
        basic::parse_hlen,
    ),
    hash(
        "hexists",
        3,
        READ_FAST,
        "2.0.0",
        "Tells whether a field exists.",
        basic::parse_hexists,
    ),
    hash(
        "hkeys",
        2,
        READ,
        "2.0.0",
        "Gives every field of a hash.",
        basic::parse_hkeys,
    ),
    hash(
        "hvals",
        2,
        READ,
        "2.0.0",
        "Gives every value of a hash.",
        basic::parse_hvals,
    ),
    hash(
        "hstrlen",
        3,
        READ_FAST,
        "3.2.0",
        "Gives the length of a field's value.",
        basic::parse_hstrlen,
    ),
    hash(
        "hincrby",
        4,
        WRITE_DENYOOM_FAST,
        "2.0.0",
        "Adds an integer to a field's value.",
        basic::parse_hincrby,
    ),
    hash(
        "hincrbyfloat",
        4,
        WRITE_DENYOOM_FAST,
        "2.6.0",
        "Adds a float to a field's value.",
        basic::parse_hincrbyfloat,
    ),
    hash(
        "hrandfield",
        -2,
        READ,
        "6.2.0",
        "Gives random fields of a hash.",
        random::parse_hrandfield,
    ),
    hash(
        "hscan",
        -3,
        READ,
        "2.8.0",
        "Iterates over the fields of a hash.",
        random::parse_hscan,
    ),
    hash(
        "hexpire",
        -6,
        WRITE_FAST,
        "7.4.0",
        "Sets a TTL in seconds on fields.",
        ttl::parse_hexpire,
    ),
    hash(
        "hpexpire",
        -6,
        WRITE_FAST,
        "7.4.0",
        "Sets a TTL in milliseconds on fields.",
        ttl::parse_hpexpire,
    ),
    hash(
        "hexpireat",
        -6,
        WRITE_FAST,
        "7.4.0",
        "Sets an expiry time in Unix seconds on fields.",
        ttl::parse_hexpireat,
    ),
    hash(
        "hpexpireat",
        -6,
        WRITE_FAST,
        "7.4.0",
        "Sets an expiry time in Unix milliseconds on fields.",
        ttl::parse_hpexpireat,
    ),
    hash(
        "httl",
        -5,
        READ_FAST,
        "7.4.0",
        "Gives the TTL of fields in seconds.",
        ttl::parse_httl,
    ),
    hash(
        "hpttl",
        -5,
        READ_FAST,
        "7.4.0",
        "Gives the TTL of fields in milliseconds.",
        ttl::parse_hpttl,
    ),
    hash(
        "hexpiretime",
        -5,
        READ_FAST,
        "7.4.0",
        "Gives the expiry time of fields in Unix seconds.",
        ttl::parse_hexpiretime,
    ),
    hash(
        "hpexpiretime",
        -5,
        READ_FAST,
        "7.4.0",
        "Gives the expiry time of fields in Unix milliseconds.",
        ttl::parse_hpexpiretime,
    ),
    hash(
        "hpersist",
        -5,
        WRITE_FAST,
        "7.4.0",
        "Removes the TTL of fields.",
        ttl::parse_hpersist,
    ),
    hash(
        "hgetdel",
        -5,
        WRITE_FAST,
        "8.0.0",
        "Gives the values of fields and deletes them.",
        ex::parse_hgetdel,
    ),
    hash(
        "hgetex",
        -5,
        WRITE_FAST,
        "8.0.0",
        "Gives the values of fields and sets or removes their TTL.",
        ex::parse_hgetex,
    ),
    hash(
        "hsetex",
        -6,
        WRITE_DENYOOM_FAST,
        "8.0.0",
        "Sets fields with a TTL, maybe only if all or none exist.",
        ex::parse_hsetex,
    ),
];

// ---------------------------------------------------------------------------
// Shared helpers

/// The small-encoding thresholds from the configuration.
fn limits(ctx: &Ctx<'_>) -> Limits {
    ctx.shared.config.read().expect("config lock").hash_limits()
}

/// Looks a hash up for reading (hit/miss counted) after removing its
/// expired fields: `None` if absent, WRONGTYPE for another type.
fn read_hash<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Hash>, CommandError> {
    db.expire_hash_fields(key, now, usize::MAX);
    typed::read(db, key, now, stats)
}

/// Like [`read_hash`] without counting a hit (the first look of a write).
fn peek_hash<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Hash>, CommandError> {
    db.expire_hash_fields(key, now, usize::MAX);
    typed::peek(db, key, now, stats)
}

/// Looks a hash up to change it (its ops are journaled when the command
/// ends): `None` if absent, WRONGTYPE for another type.
fn hash_mut<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut Hash>, CommandError> {
    db.expire_hash_fields(key, now, usize::MAX);
    typed::write(db, key, now, stats)
}

/// The hash at `key` to change, created empty (and stored) if absent.
/// The caller must leave it non-empty or call [`drop_if_empty`].
fn hash_mut_or_new<'a>(
    db: &'a mut Db,
    key: &Bytes,
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<&'a mut Hash, CommandError> {
    if peek_hash(db, key, now, stats)?.is_none() {
        db.insert(key.clone(), Entry::new(Value::Hash(Box::default()), now));
    }
    match db.get_hash_mut(key, now, stats) {
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(h),
        _ => unreachable!("the hash was just stored"),
    }
}

/// Deletes `key` (raising `del`) if the hash there is empty: the keyspace
/// never keeps an empty hash.
fn drop_if_empty(db: &mut Db, key: &[u8]) {
    let empty = matches!(
        db.table().get(key),
        Some(Entry { value: Value::Hash(h), .. }) if h.is_empty()
    );
    if empty {
        db.remove(key);
        db.notify(crate::keyspace::notify::GENERIC, "del", key);
    }
}

/// Checks `FIELDS numfields field…` at the start of `rest` and returns
/// the fields. `positive` is the error for a count that is not a positive
/// integer (its text differs between commands, as in Redis).
fn parse_fields(rest: &[Bytes], positive: CommandError) -> Result<Vec<Bytes>, CommandError> {
    match rest.first() {
        Some(w) if super::args::is(w, "FIELDS") => {}
        _ => return Err(error::FIELDS_MISSING),
    }
    let n = rest
        .get(1)
        .and_then(|raw| super::args::parse_i64_opt(raw))
        .filter(|&n| n > 0)
        .ok_or(positive)?;
    if u64::try_from(rest.len() - 2).ok() != u64::try_from(n).ok() {
        return Err(error::NUMFIELDS_MISMATCH);
    }
    Ok(rest[2..].to_vec())
}
