//! Stream commands: XADD, XRANGE, XREAD, consumer groups, XINFO.
//!
//! Entries' fields and values are read from the commit log through
//! [`read_fields`]; everything else a command needs is in the
//! [`Stream`] index. Changes go through `Stream`'s methods, which record
//! the ops the journal gets (see `keyspace::stream`).
//!
//! - `add.rs`: XADD, XTRIM, XDEL, XSETID
//! - `read.rs`: XRANGE, XREVRANGE, XLEN, XREAD
//! - `groups.rs`: XGROUP and shared group helpers; `readgroup.rs`:
//!   XREADGROUP; `pending.rs`: XACK, XPENDING, XCLAIM, XAUTOCLAIM
//! - `info.rs`: XINFO

mod add;
mod groups;
mod info;
mod pending;
mod read;
mod readgroup;

use bytes::Bytes;

use super::{CommandSpec, Kind, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{Loc, Stream, StreamId};
use crate::keyspace::{Db, Entry, KeyspaceStats, Value};
use crate::protocol::Reply;
use crate::server::Shared;
use crate::storage::Pos;

/// A `stream`-group command spec.
const fn stream(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("stream", name, arity, flags, keys, since, summary, parser)
}

/// The streams family's table.
pub static COMMANDS: &[CommandSpec] = &[
    stream(
        "xadd",
        -5,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Appends an entry to a stream, creating it if needed, and trims it.",
        add::parse_xadd,
    ),
    stream(
        "xtrim",
        -4,
        &["write"],
        (1, 1, 1),
        "5.0.0",
        "Removes the oldest entries of a stream by length or by ID.",
        add::parse_xtrim,
    ),
    stream(
        "xdel",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Deletes entries from a stream by ID.",
        add::parse_xdel,
    ),
    stream(
        "xsetid",
        -3,
        &["write", "denyoom", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Sets a stream's last ID and counters.",
        add::parse_xsetid,
    ),
    stream(
        "xrange",
        -4,
        &["readonly"],
        (1, 1, 1),
        "5.0.0",
        "Lists a stream's entries between two IDs.",
        read::parse_xrange,
    ),
    stream(
        "xrevrange",
        -4,
        &["readonly"],
        (1, 1, 1),
        "5.0.0",
        "Lists a stream's entries between two IDs, newest first.",
        read::parse_xrevrange,
    ),
    stream(
        "xlen",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Counts a stream's entries.",
        read::parse_xlen,
    ),
    stream(
        "xread",
        -4,
        &["readonly", "blocking", "movablekeys"],
        (0, 0, 0),
        "5.0.0",
        "Reads entries after given IDs from streams, waiting if asked.",
        read::parse_xread,
    ),
    stream(
        "xreadgroup",
        -7,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "5.0.0",
        "Reads entries for a consumer of a group, waiting if asked.",
        readgroup::parse_xreadgroup,
    ),
    stream(
        "xack",
        -4,
        &["write", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Acknowledges entries a group's consumer processed.",
        pending::parse_xack,
    ),
    stream(
        "xpending",
        -3,
        &["readonly"],
        (1, 1, 1),
        "5.0.0",
        "Lists a group's delivered but unacknowledged entries.",
        pending::parse_xpending,
    ),
    stream(
        "xclaim",
        -6,
        &["write", "fast"],
        (1, 1, 1),
        "5.0.0",
        "Takes pending entries over for another consumer.",
        pending::parse_xclaim,
    ),
    stream(
        "xautoclaim",
        -6,
        &["write", "fast"],
        (1, 1, 1),
        "6.2.0",
        "Takes over pending entries idle for long enough, scanning by cursor.",
        pending::parse_xautoclaim,
    ),
    CommandSpec {
        name: "xgroup",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Manages consumer groups.",
        kind: Kind::Container(groups::XGROUP_SUBCOMMANDS),
    },
    CommandSpec {
        name: "xinfo",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "stream",
        since: "5.0.0",
        summary: "Describes streams, their groups and consumers.",
        kind: Kind::Container(info::XINFO_SUBCOMMANDS),
    },
];

// ---------------------------------------------------------------------------
// IDs

/// `ERR Invalid stream ID specified as stream command argument`
pub(crate) const INVALID_ID: CommandError =
    CommandError::new_static("ERR Invalid stream ID specified as stream command argument");

/// A number part of an ID, read as Redis reads it: a canonical integer that
/// is not negative, or digits with optional leading blanks and `+`.
fn id_part(raw: &[u8]) -> Option<u64> {
    if let Some(v) = crate::keyspace::stream::listpack::canonical_i64(raw) {
        return u64::try_from(v).ok();
    }
    let trimmed = raw
        .iter()
        .position(|b| !b" \t\n\x0b\x0c\r".contains(b))
        .map_or(&raw[raw.len()..], |i| &raw[i..]);
    let digits = trimmed.strip_prefix(b"+").unwrap_or(trimmed);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Parses `<ms>` or `<ms>-<seq>`; a missing sequence is `missing_seq`.
/// With `allow_special`, `-` and `+` are the smallest and largest IDs.
pub(crate) fn parse_id_with(
    raw: &[u8],
    missing_seq: u64,
    allow_special: bool,
) -> Result<StreamId, CommandError> {
    if allow_special {
        match raw {
            b"-" => return Ok(StreamId::MIN),
            b"+" => return Ok(StreamId::MAX),
            _ => {}
        }
    }
    if raw.len() > 127 {
        return Err(INVALID_ID);
    }
    let (ms, seq) = match raw.iter().position(|&b| b == b'-') {
        Some(dash) => (&raw[..dash], Some(&raw[dash + 1..])),
        None => (raw, None),
    };
    let ms = id_part(ms).ok_or(INVALID_ID)?;
    let seq = match seq {
        Some(seq) => id_part(seq).ok_or(INVALID_ID)?,
        None => missing_seq,
    };
    Ok(StreamId::new(ms, seq))
}

/// A strict ID (no `-`/`+`), missing sequence 0: XDEL, XACK, XCLAIM …
pub(crate) fn parse_id(raw: &[u8]) -> Result<StreamId, CommandError> {
    parse_id_with(raw, 0, false)
}

/// An interval bound: `-`, `+`, an ID, or `(ID` for an exclusive bound.
/// `start` picks the missing sequence (0 vs the largest) and the error.
pub(crate) fn parse_bound(raw: &[u8], start: bool) -> Result<StreamId, CommandError> {
    let missing = if start { 0 } else { u64::MAX };
    match raw.strip_prefix(b"(") {
        Some(rest) if !rest.is_empty() => {
            let id = parse_id_with(rest, missing, false)?;
            if start {
                id.next().ok_or(CommandError::new_static(
                    "ERR invalid start ID for the interval",
                ))
            } else {
                id.prev().ok_or(CommandError::new_static(
                    "ERR invalid end ID for the interval",
                ))
            }
        }
        _ => parse_id_with(raw, missing, true),
    }
}

// ---------------------------------------------------------------------------
// Lookups

/// Reads a stream key: `None` if absent, WRONGTYPE for another type.
pub(crate) fn get_stream<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Stream>, CommandError> {
    match db.get(key, now, stats) {
        None => Ok(None),
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(error::WRONGTYPE),
    }
}

/// Looks a stream key up to change it (its ops are journaled when the
/// command ends): `None` if absent, WRONGTYPE for another type.
pub(crate) fn get_stream_mut<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut Stream>, CommandError> {
    if let Some(entry) = db.peek(key, now, stats) {
        if !matches!(entry.value, Value::Stream(_)) {
            return Err(error::WRONGTYPE);
        }
    }
    match db.get_stream_mut(key, now, stats) {
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(s)),
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// Payloads

/// The journal position of a location.
pub(crate) fn pos(loc: Loc) -> Pos {
    Pos {
        seq: u64::from(loc.seg),
        offset: u64::from(loc.offset),
    }
}

/// Reads the entry at `loc` from the log and hands its parts (field,
/// value, field, value …) to `f`, which copies out what it needs; the
/// copy is checked against the segment file being cut short meanwhile.
fn with_parts<T>(
    shared: &Shared,
    loc: Loc,
    f: impl FnOnce(Vec<&[u8]>) -> T,
) -> Result<T, CommandError> {
    let payload = shared
        .storage
        .journal
        .read_payload(pos(loc))
        .map_err(|e| CommandError::new(format!("ERR stream entry unreadable: {e}")))?;
    let out = crate::keyspace::stream::payload::decode(&payload).map(f);
    // The bytes `f` copied are the file's only if no page of the map
    // vanished under it (a segment cut short by another process).
    payload
        .verify()
        .map_err(|e| CommandError::new(format!("ERR stream entry unreadable: {e}")))?;
    out.ok_or_else(|| CommandError::new_static("ERR stream entry unreadable: bad payload"))
}

/// Reads an entry's field/value pairs from the log as reply items.
pub(crate) fn read_fields(shared: &Shared, loc: Loc) -> Result<Vec<Reply>, CommandError> {
    with_parts(shared, loc, |parts| {
        parts
            .into_iter()
            .map(|p| Reply::Bulk(Bytes::copy_from_slice(p)))
            .collect()
    })
}

/// Reads the field names of the entry at `loc` (a node's master fields).
pub(crate) fn read_field_names(shared: &Shared, loc: Loc) -> Result<Vec<Bytes>, CommandError> {
    with_parts(shared, loc, |parts| {
        parts
            .into_iter()
            .step_by(2)
            .map(Bytes::copy_from_slice)
            .collect()
    })
}

/// One entry as replies show it: `[id, [field, value, …]]`.
pub(crate) fn entry_reply(shared: &Shared, id: StreamId, loc: Loc) -> Result<Reply, CommandError> {
    Ok(Reply::Array(vec![
        Reply::Bulk(id.to_bytes()),
        Reply::Array(read_fields(shared, loc)?),
    ]))
}

/// A bound on the payload bytes one reply carries. A stream's backlog can
/// be larger than memory (its payloads live in the log), so a reply built
/// whole from an unbounded range could exhaust memory where Redis's could
/// not. The bound is `proto-max-bulk-len`, as for other replies whose size
/// the client chooses; the first entry always fits, so every read makes
/// progress.
pub(crate) struct ReplyBudget {
    used: u64,
    limit: u64,
}

impl ReplyBudget {
    /// A budget of `proto-max-bulk-len` bytes.
    pub(crate) fn new(shared: &Shared) -> Self {
        let limit = shared
            .config
            .read()
            .expect("config lock")
            .proto_max_bulk_len as u64;
        ReplyBudget { used: 0, limit }
    }

    /// The bound, for error texts.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// The entry as replies show it, or `None` when it would take the
    /// reply over the bound.
    pub(crate) fn entry(
        &mut self,
        shared: &Shared,
        id: StreamId,
        loc: Loc,
    ) -> Result<Option<Reply>, CommandError> {
        let fields = read_fields(shared, loc)?;
        // Each bulk costs its bytes plus a few of framing.
        let size: u64 = 32
            + fields
                .iter()
                .map(|f| match f {
                    Reply::Bulk(b) => b.len() as u64 + 16,
                    _ => 16,
                })
                .sum::<u64>();
        if self.used > 0 && self.used + size > self.limit {
            return Ok(None);
        }
        self.used += size;
        Ok(Some(Reply::Array(vec![
            Reply::Bulk(id.to_bytes()),
            Reply::Array(fields),
        ])))
    }
}

/// Entries as replies show them, refused with `command`'s name when they
/// would take the reply past [`ReplyBudget`]'s bound (XRANGE, XINFO
/// STREAM FULL: a reply that stopped short would look complete).
pub(crate) fn entries_reply(
    shared: &Shared,
    command: &str,
    entries: impl Iterator<Item = (StreamId, Loc)>,
) -> Result<Reply, CommandError> {
    let mut budget = ReplyBudget::new(shared);
    let mut out = Vec::new();
    for (id, loc) in entries {
        match budget.entry(shared, id, loc)? {
            Some(entry) => out.push(entry),
            None => return Err(error::reply_over_limit(command, budget.limit())),
        }
    }
    Ok(Reply::Array(out))
}

/// Entries as replies show them, stopping at [`ReplyBudget`]'s bound (XREAD:
/// the reader continues from the last ID it got, so a shorter reply loses
/// nothing).
pub(crate) fn entries_reply_upto(
    shared: &Shared,
    budget: &mut ReplyBudget,
    entries: impl Iterator<Item = (StreamId, Loc)>,
) -> Result<Reply, CommandError> {
    let mut out = Vec::new();
    for (id, loc) in entries {
        match budget.entry(shared, id, loc)? {
            Some(entry) => out.push(entry),
            None => break,
        }
    }
    Ok(Reply::Array(out))
}
