//! Sorted-set commands.
//!
//! Changes go through [`ZSet`]'s methods on a set taken with
//! `Db::get_zset_mut`, so the journal gets one small op per member changed
//! instead of the whole set; a command that creates a key (or replaces
//! one, ZRANGESTORE) stores a whole new set with `Db::insert`, and one that
//! empties a set deletes the key.
//!
//! - `add.rs`: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE
//! - `range.rs`: ZRANGE and its older forms, ZRANGESTORE, ZCOUNT,
//!   ZLEXCOUNT, ZRANK, ZREVRANK
//! - `remove.rs`: ZREMRANGEBYRANK/SCORE/LEX, ZPOPMIN, ZPOPMAX, ZMPOP
//! - `blocking.rs`: BZPOPMIN, BZPOPMAX, BZMPOP
//! - `setops.rs`: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
//! - `random.rs`: ZRANDMEMBER, ZSCAN

mod add;
pub(crate) mod blocking;
mod random;
mod range;
mod remove;
mod setops;

use bytes::Bytes;

use super::args::parse_f64;
use super::typed;
use super::{CommandSpec, Ctx, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::zset::{LexBound, Limits, ScoreBound};
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, Value, ZSet};
use crate::protocol::{Encoder, Reply};

/// A `sorted-set`-group command spec.
const fn zset(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new(
        "sorted-set",
        name,
        arity,
        flags,
        keys,
        since,
        summary,
        parser,
    )
}

const WRITE_FAST: &[&str] = &["write", "fast"];
const WRITE_DENYOOM_FAST: &[&str] = &["write", "denyoom", "fast"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const READ: &[&str] = &["readonly"];
const WRITE: &[&str] = &["write"];
const BLOCKING: &[&str] = &["write", "noscript", "blocking", "fast"];

/// The sorted-set family's table.
pub static COMMANDS: &[CommandSpec] = &[
    zset(
        "zadd",
        -4,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "1.2.0",
        "Adds members with scores to a sorted set or updates their scores.",
        add::parse_zadd,
    ),
    zset(
        "zincrby",
        4,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "1.2.0",
        "Adds an increment to a member's score.",
        add::parse_zincrby,
    ),
    zset(
        "zrem",
        -3,
        WRITE_FAST,
        (1, 1, 1),
        "1.2.0",
        "Removes members from a sorted set.",
        add::parse_zrem,
    ),
    zset(
        "zcard",
        2,
        READ_FAST,
        (1, 1, 1),
        "1.2.0",
        "Counts the members of a sorted set.",
        add::parse_zcard,
    ),
    zset(
        "zscore",
        3,
        READ_FAST,
        (1, 1, 1),
        "1.2.0",
        "Gives a member's score.",
        add::parse_zscore,
    ),
    zset(
        "zmscore",
        -3,
        READ_FAST,
        (1, 1, 1),
        "6.2.0",
        "Gives several members' scores.",
        add::parse_zmscore,
    ),
    zset(
        "zrank",
        -3,
        READ_FAST,
        (1, 1, 1),
        "2.0.0",
        "Gives a member's position counted from the lowest score.",
        range::parse_zrank,
    ),
    zset(
        "zrevrank",
        -3,
        READ_FAST,
        (1, 1, 1),
        "2.0.0",
        "Gives a member's position counted from the highest score.",
        range::parse_zrevrank,
    ),
    zset(
        "zcount",
        4,
        READ_FAST,
        (1, 1, 1),
        "2.0.0",
        "Counts the members within a score range.",
        range::parse_zcount,
    ),
    zset(
        "zlexcount",
        4,
        READ_FAST,
        (1, 1, 1),
        "2.8.9",
        "Counts the members within a lexicographic range.",
        range::parse_zlexcount,
    ),
    zset(
        "zrange",
        -4,
        READ,
        (1, 1, 1),
        "1.2.0",
        "Lists members by position, score or lexicographic range.",
        range::parse_zrange,
    ),
    zset(
        "zrangestore",
        -5,
        &["write", "denyoom"],
        (1, 2, 1),
        "6.2.0",
        "Stores a range of a sorted set as a new sorted set.",
        range::parse_zrangestore,
    ),
    zset(
        "zrangebyscore",
        -4,
        READ,
        (1, 1, 1),
        "1.0.5",
        "Lists members within a score range, lowest first.",
        range::parse_zrangebyscore,
    ),
    zset(
        "zrevrangebyscore",
        -4,
        READ,
        (1, 1, 1),
        "2.2.0",
        "Lists members within a score range, highest first.",
        range::parse_zrevrangebyscore,
    ),
    zset(
        "zrangebylex",
        -4,
        READ,
        (1, 1, 1),
        "2.8.9",
        "Lists members within a lexicographic range, ascending.",
        range::parse_zrangebylex,
    ),
    zset(
        "zrevrangebylex",
        -4,
        READ,
        (1, 1, 1),
        "2.8.9",
        "Lists members within a lexicographic range, descending.",
        range::parse_zrevrangebylex,
    ),
    zset(
        "zrevrange",
        -4,
        READ,
        (1, 1, 1),
        "1.2.0",
        "Lists members by position, highest score first.",
        range::parse_zrevrange,
    ),
    zset(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        "2.0.0",
        "Removes the members within a range of positions.",
        remove::parse_zremrangebyrank,
    ),
    zset(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        "1.2.0",
        "Removes the members within a score range.",
        remove::parse_zremrangebyscore,
    ),
    zset(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        "2.8.9",
        "Removes the members within a lexicographic range.",
        remove::parse_zremrangebylex,
    ),
    zset(
        "zpopmin",
        -2,
        WRITE_FAST,
        (1, 1, 1),
        "5.0.0",
        "Removes and returns the lowest-scored members.",
        remove::parse_zpopmin,
    ),
    zset(
        "zpopmax",
        -2,
        WRITE_FAST,
        (1, 1, 1),
        "5.0.0",
        "Removes and returns the highest-scored members.",
        remove::parse_zpopmax,
    ),
    zset(
        "zmpop",
        -4,
        &["write", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Pops members from the first non-empty sorted set of several.",
        remove::parse_zmpop,
    ),
    zset(
        "bzpopmin",
        -3,
        BLOCKING,
        (1, -2, 1),
        "5.0.0",
        "Pops the lowest-scored member of the first non-empty set, waiting if none.",
        blocking::parse_bzpopmin,
    ),
    zset(
        "bzpopmax",
        -3,
        BLOCKING,
        (1, -2, 1),
        "5.0.0",
        "Pops the highest-scored member of the first non-empty set, waiting if none.",
        blocking::parse_bzpopmax,
    ),
    zset(
        "bzmpop",
        -5,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Pops members from the first non-empty sorted set, waiting if none.",
        blocking::parse_bzmpop,
    ),
    zset(
        "zunion",
        -3,
        &["readonly", "movablekeys"],
        (0, 0, 0),
        "6.2.0",
        "Returns the union of sorted sets, scores combined.",
        setops::parse_zunion,
    ),
    zset(
        "zinter",
        -3,
        &["readonly", "movablekeys"],
        (0, 0, 0),
        "6.2.0",
        "Returns the members common to all the sorted sets, scores combined.",
        setops::parse_zinter,
    ),
    zset(
        "zdiff",
        -3,
        &["readonly", "movablekeys"],
        (0, 0, 0),
        "6.2.0",
        "Returns the members of the first sorted set that are in none of the others.",
        setops::parse_zdiff,
    ),
    zset(
        "zintercard",
        -3,
        &["readonly", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Counts the members common to all the sorted sets.",
        setops::parse_zintercard,
    ),
    zset(
        "zunionstore",
        -4,
        &["write", "denyoom", "movablekeys"],
        (1, 1, 1),
        "2.0.0",
        "Stores the union of sorted sets at a key.",
        setops::parse_zunionstore,
    ),
    zset(
        "zinterstore",
        -4,
        &["write", "denyoom", "movablekeys"],
        (1, 1, 1),
        "2.0.0",
        "Stores the intersection of sorted sets at a key.",
        setops::parse_zinterstore,
    ),
    zset(
        "zdiffstore",
        -4,
        &["write", "denyoom", "movablekeys"],
        (1, 1, 1),
        "6.2.0",
        "Stores the difference of sorted sets at a key.",
        setops::parse_zdiffstore,
    ),
    zset(
        "zrandmember",
        -2,
        READ,
        (1, 1, 1),
        "6.2.0",
        "Returns random members of a sorted set.",
        random::parse_zrandmember,
    ),
    zset(
        "zscan",
        -3,
        READ,
        (1, 1, 1),
        "2.8.0",
        "Iterates over members and scores of a sorted set.",
        random::parse_zscan,
    ),
];

// ---------------------------------------------------------------------------
// Shared helpers

/// The small-encoding thresholds from the configuration.
fn limits(ctx: &Ctx<'_>) -> Limits {
    ctx.shared.config.read().expect("config lock").zset_limits()
}

/// Parses a score to store (ZADD, ZINCRBY): like C's `strtod` as Redis
/// checks it, so a value that overflows to infinity or underflows to zero
/// is refused rather than rounded.
fn parse_score(raw: &[u8]) -> Result<f64, CommandError> {
    let v = parse_f64(raw).ok_or(error::NOT_FLOAT)?;
    let lower = raw.to_ascii_lowercase();
    let mantissa = lower.split(|&b| b == b'e').next().unwrap_or(&[]);
    let overflow = v.is_infinite() && !lower.windows(3).any(|w| w == b"inf");
    let underflow = v == 0.0 && mantissa.iter().any(|b| (b'1'..=b'9').contains(b));
    if overflow || underflow {
        return Err(error::NOT_FLOAT);
    }
    Ok(v)
}

/// Parses a score range bound: a float, `-inf`/`+inf`, `(` for exclusive.
fn parse_score_bound(raw: &[u8]) -> Result<ScoreBound, CommandError> {
    let (exclusive, text) = match raw.first() {
        Some(b'(') => (true, &raw[1..]),
        _ => (false, raw),
    };
    let value = parse_f64(text).ok_or(error::MIN_MAX_NOT_FLOAT)?;
    Ok(ScoreBound { value, exclusive })
}

/// Parses a lex range bound: `-`, `+`, `[member` or `(member`.
fn parse_lex_bound(raw: &[u8]) -> Result<LexBound, CommandError> {
    match raw {
        b"-" => Ok(LexBound::Min),
        b"+" => Ok(LexBound::Max),
        [b'[', rest @ ..] => Ok(LexBound::Incl(Bytes::copy_from_slice(rest))),
        [b'(', rest @ ..] => Ok(LexBound::Excl(Bytes::copy_from_slice(rest))),
        _ => Err(error::MIN_MAX_NOT_LEX),
    }
}

/// Looks a key up for reading (hit/miss counted): `None` if absent,
/// WRONGTYPE for another type.
fn read_zset<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a ZSet>, CommandError> {
    typed::read(db, key, now, stats)
}

/// Looks a key up for a write command without counting a hit or changing
/// anything: `None` if absent, WRONGTYPE for another type.
fn peek_zset<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a ZSet>, CommandError> {
    typed::peek(db, key, now, stats)
}

/// Looks a sorted set up to change it (its ops are journaled when the
/// command ends): `None` if absent, WRONGTYPE for another type.
fn zset_mut<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut ZSet>, CommandError> {
    typed::write(db, key, now, stats)
}

/// Raises the keyspace event `event` for a change to the set at `key`,
/// then deletes the key (raising `del`) if the set is now empty: the
/// keyspace never keeps an empty set.
fn changed(db: &mut Db, key: &[u8], event: &'static str) {
    db.notify(notify::ZSET, event, key);
    let empty = matches!(
        db.table().get(key),
        Some(Entry { value: Value::ZSet(z), .. }) if z.is_empty()
    );
    if empty {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// Stores `zset` at `key` as a new value (replacing whatever was there)
/// and raises `event`, or deletes the key (raising `del` if it existed)
/// when the set is empty.
fn store(db: &mut Db, key: Bytes, zset: ZSet, now: i64, event: &'static str) {
    if zset.is_empty() {
        if db.remove(&key).is_some() {
            db.notify(notify::GENERIC, "del", &key);
        }
    } else {
        db.insert(key.clone(), Entry::new(Value::ZSet(Box::new(zset)), now));
        db.notify(notify::ZSET, event, &key);
    }
}

/// A score in a reply: a double in RESP3, a bulk string in RESP2.
fn score_reply(score: f64) -> Reply {
    Reply::Double(score)
}

/// Members, with their scores when asked: flat `[m, s, …]` in RESP2,
/// `[[m, s], …]` in RESP3 (`resp3`), as ZRANGE replies. Encoded here,
/// straight from the set, for the connection's protocol.
fn members_reply<'a>(
    items: impl Iterator<Item = (&'a Bytes, f64)>,
    withscores: bool,
    resp3: bool,
) -> Reply {
    let items: Vec<(&Bytes, f64)> = items.collect();
    // Room for every member with its header, and a score's usual length.
    let room = items.iter().map(|(m, _)| m.len() + 16).sum::<usize>()
        + if withscores { 32 * items.len() } else { 0 };
    let mut out = Encoder::with_capacity(resp3, room + 16);
    let nested = withscores && resp3;
    out.array(if withscores && !resp3 {
        2 * items.len()
    } else {
        items.len()
    });
    for (member, score) in items {
        if nested {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.reply(&score_reply(score));
        }
    }
    out.finish()
}

/// Popped pairs: `[m, s, …]`, or `[[m, s], …]` when `nested`. Built as
/// replies, not encoded: a blocked client's pop is answered from another
/// client's command, in the blocked client's protocol.
fn popped_reply(popped: Vec<(Bytes, f64)>, nested: bool) -> Reply {
    let mut out = Vec::with_capacity(popped.len() * if nested { 1 } else { 2 });
    for (member, score) in popped {
        let member = Reply::Bulk(member);
        if nested {
            out.push(Reply::Array(vec![member, score_reply(score)]));
        } else {
            out.push(member);
            out.push(score_reply(score));
        }
    }
    Reply::Array(out)
}

/// Which end a pop takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The lowest scores.
    Min,
    /// The highest scores.
    Max,
}

/// Pops up to `count` members from the set at `key` (which must exist and
/// hold a sorted set), deleting the key when it empties.
fn pop(
    db: &mut Db,
    stats: &mut KeyspaceStats,
    key: &[u8],
    end: End,
    count: usize,
    now: i64,
) -> Vec<(Bytes, f64)> {
    let mut out = Vec::new();
    if let Ok(Some(z)) = zset_mut(db, key, now, stats) {
        for _ in 0..count {
            let next = match end {
                End::Min => z.pop_first(),
                End::Max => z.pop_last(),
            };
            match next {
                Some(pair) => out.push(pair),
                None => break,
            }
        }
    }
    if !out.is_empty() {
        let event = match end {
            End::Min => "zpopmin",
            End::Max => "zpopmax",
        };
        changed(db, key, event);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod_with_range_checks() {
        assert_eq!(parse_score(b"1.5"), Ok(1.5));
        assert_eq!(parse_score(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+inf"), Ok(f64::INFINITY));
        assert_eq!(parse_score(b"0e10"), Ok(0.0));
        assert_eq!(parse_score(b"1e400"), Err(error::NOT_FLOAT));
        assert_eq!(parse_score(b"1e-400"), Err(error::NOT_FLOAT));
        assert_eq!(parse_score(b"nan"), Err(error::NOT_FLOAT));
        assert_eq!(parse_score(b"abc"), Err(error::NOT_FLOAT));
    }

    #[test]
    fn bounds() {
        assert_eq!(
            parse_score_bound(b"(1"),
            Ok(ScoreBound {
                value: 1.0,
                exclusive: true
            })
        );
        assert_eq!(parse_score_bound(b"(x"), Err(error::MIN_MAX_NOT_FLOAT));
        assert_eq!(parse_lex_bound(b"-"), Ok(LexBound::Min));
        assert_eq!(parse_lex_bound(b"[a"), Ok(LexBound::Incl(Bytes::from("a"))));
        assert_eq!(parse_lex_bound(b"(a"), Ok(LexBound::Excl(Bytes::from("a"))));
        assert_eq!(parse_lex_bound(b"a"), Err(error::MIN_MAX_NOT_LEX));
        assert_eq!(parse_lex_bound(b"--"), Err(error::MIN_MAX_NOT_LEX));
    }
}
