//! Consumer groups: XGROUP, and the error texts and helpers the group
//! commands share (XREADGROUP is in `readgroup.rs`, the pending-entry
//! commands in `pending.rs`).
//!
//! Every change goes through [`Stream`]'s group methods (`set_group`,
//! `set_consumer`, `set_pending`, …) on a stream looked up with
//! [`get_stream_mut`], so the journal records it. Commands first decide
//! what to do on a read-only view (and build their reply), then apply the
//! changes, so an error never leaves half a command applied.

use bytes::Bytes;

use super::{get_stream_mut, parse_id, parse_id_with};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{Group, Stream, StreamId, ENTRIES_READ_UNKNOWN};
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, Value};
use crate::protocol::reply::OK;
use crate::protocol::Reply;

// ---------------------------------------------------------------------------
// Errors

/// XGROUP on a key that does not exist.
pub(super) const MISSING_KEY: CommandError = CommandError::new_static(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
);
pub(super) const BUSYGROUP: CommandError =
    CommandError::new_static("BUSYGROUP Consumer Group name already exists");
pub(super) const ENTRIESREAD_RANGE: CommandError =
    CommandError::new_static("ERR value for ENTRIESREAD must be positive or -1");
pub(super) const MISSING_GROUP_OPTION: CommandError =
    CommandError::new_static("ERR Missing GROUP option for XREADGROUP");
pub(super) const DOLLAR_IN_XREADGROUP: CommandError = CommandError::new_static(
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
);
pub(super) const PLUS_IN_XREADGROUP: CommandError = CommandError::new_static(
    "ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.",
);
/// Redis 7.4's wording (7.0 said "Unbalanced XREAD list of streams").
pub(super) const UNBALANCED: CommandError = CommandError::new_static(
    "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.",
);
pub(super) const UNBLOCKED_NO_KEY: CommandError =
    CommandError::new_static("UNBLOCKED the stream key no longer exists");
pub(super) const COUNT_POSITIVE: CommandError = CommandError::new_static("ERR COUNT must be > 0");

pub(super) fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// XGROUP SETID / CREATECONSUMER / DELCONSUMER with a missing group.
pub(super) fn nogroup_for_key(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        text(group),
        text(key)
    ))
}

/// XREADGROUP with a missing key or group.
pub(super) fn nogroup_xreadgroup(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        text(key),
        text(group)
    ))
}

/// XPENDING / XCLAIM / XAUTOCLAIM with a missing key or group.
pub(super) fn nogroup(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

// ---------------------------------------------------------------------------
// Table

/// An XGROUP subcommand spec.
pub(super) const fn sub(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: crate::commands::Parser,
) -> CommandSpec {
    CommandSpec::new("stream", name, arity, flags, keys, since, summary, parser)
}

/// XGROUP's subcommands.
pub(super) static XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "create",
        -5,
        &["write", "denyoom"],
        (2, 2, 1),
        "5.0.0",
        "Creates a consumer group on a stream.",
        parse_create,
    ),
    sub(
        "createconsumer",
        5,
        &["write", "denyoom"],
        (2, 2, 1),
        "6.2.0",
        "Adds a consumer to a consumer group.",
        |a| parse_consumer(a, true),
    ),
    sub(
        "delconsumer",
        5,
        &["write"],
        (2, 2, 1),
        "5.0.0",
        "Removes a consumer and its pending entries from a consumer group.",
        |a| parse_consumer(a, false),
    ),
    sub(
        "destroy",
        4,
        &["write"],
        (2, 2, 1),
        "5.0.0",
        "Deletes a consumer group.",
        parse_destroy,
    ),
    sub(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "5.0.0",
        "Lists the XGROUP subcommands.",
        |_| boxed(XGroupHelp),
    ),
    sub(
        "setid",
        -5,
        &["write"],
        (2, 2, 1),
        "5.0.0",
        "Moves a consumer group's last delivered ID.",
        parse_setid,
    ),
];

// ---------------------------------------------------------------------------
// Lookups

/// A stream looked up without counting a hit (as Redis's write lookups).
pub(super) fn peek_stream<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a Stream>, CommandError> {
    match db.peek(key, now, stats) {
        None => Ok(None),
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(error::WRONGTYPE),
    }
}

/// A consumer's active time, or -1 when it does not exist yet.
pub(super) fn active_time(group: &Group, consumer: &[u8]) -> i64 {
    group.consumers.get(consumer).map_or(-1, |c| c.active_time)
}

/// Parses an ENTRIESREAD value.
pub(super) fn parse_entries_read(raw: &[u8]) -> Result<i64, CommandError> {
    let n = parse_i64(raw)?;
    if n < 0 && n != ENTRIES_READ_UNKNOWN {
        return Err(ENTRIESREAD_RANGE);
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]

struct XGroupCreate {
    key: Bytes,
    group: Bytes,
    id: Bytes,
    mkstream: bool,
    entries_read: i64,
    /// More words than the command takes (reported after the key checks).
    too_many: bool,
}

pub(super) fn parse_create(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let too_many = args.len() > 7;
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    let id = args.next_arg()?;
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    while let Some(opt) = args.try_next() {
        if is(&opt, "MKSTREAM") {
            mkstream = true;
        } else if is(&opt, "ENTRIESREAD") && !args.is_empty() {
            entries_read = parse_entries_read(&args.next_arg()?)?;
        } else {
            return Err(error::subcommand_syntax(b"create", "xgroup"));
        }
    }
    boxed(XGroupCreate {
        key,
        group,
        id,
        mkstream,
        entries_read,
        too_many,
    })
}

impl XGroupCreate {
    fn run(&self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let (exists, last_id) = match peek_stream(db, &self.key, now, stats)? {
            Some(s) => (true, s.last_id()),
            None if self.mkstream => (false, StreamId::MIN),
            None => return Err(MISSING_KEY),
        };
        let id = if self.id[..] == b"$"[..] {
            last_id
        } else {
            parse_id(&self.id)?
        };
        if self.too_many {
            return Err(error::subcommand_syntax(b"create", "xgroup"));
        }
        if !exists {
            db.insert(
                self.key.clone(),
                Entry::new(Value::Stream(Box::new(Stream::new())), now),
            );
        }
        let stream = get_stream_mut(db, &self.key, now, stats)?.ok_or(MISSING_KEY)?;
        if stream.group(&self.group).is_some() {
            return Err(BUSYGROUP);
        }
        stream.set_group(&self.group, id, self.entries_read);
        db.notify(notify::STREAM, "xgroup-create", &self.key);
        Ok(OK)
    }
}

impl Execute for XGroupCreate {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).unwrap_or_else(Reply::from)
    }
}

// ---------------------------------------------------------------------------
// XGROUP SETID key group id|$ [ENTRIESREAD n]

struct XGroupSetId {
    key: Bytes,
    group: Bytes,
    id: Bytes,
    entries_read: i64,
}

pub(super) fn parse_setid(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    let id = args.next_arg()?;
    let rest = args.rest();
    let entries_read = match rest.as_slice() {
        [] => ENTRIES_READ_UNKNOWN,
        [opt, value] if is(opt, "ENTRIESREAD") => parse_entries_read(value)?,
        _ => return Err(error::subcommand_syntax(b"setid", "xgroup")),
    };
    boxed(XGroupSetId {
        key,
        group,
        id,
        entries_read,
    })
}

impl Execute for XGroupSetId {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let last_id = match peek_stream(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return MISSING_KEY.into(),
            Ok(Some(s)) if s.group(&self.group).is_none() => {
                return nogroup_for_key(&self.key, &self.group).into()
            }
            Ok(Some(s)) => s.last_id(),
        };
        let id = if self.id[..] == b"$"[..] {
            last_id
        } else {
            match parse_id_with(&self.id, 0, true) {
                Ok(id) => id,
                Err(e) => return e.into(),
            }
        };
        if let Ok(Some(stream)) = get_stream_mut(db, &self.key, now, stats) {
            stream.set_group(&self.group, id, self.entries_read);
        }
        db.notify(notify::STREAM, "xgroup-setid", &self.key);
        OK
    }
}

// ---------------------------------------------------------------------------
// XGROUP DESTROY key group

struct XGroupDestroy {
    key: Bytes,
    group: Bytes,
}

pub(super) fn parse_destroy(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(XGroupDestroy {
        key: args.next_arg()?,
        group: args.next_arg()?,
    })
}

impl Execute for XGroupDestroy {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match peek_stream(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return MISSING_KEY.into(),
            Ok(Some(s)) if s.group(&self.group).is_none() => return Reply::Int(0),
            Ok(Some(_)) => {}
        }
        // Changing the stream wakes the group's blocked readers (NOGROUP).
        let destroyed = match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(stream)) => stream.destroy_group(&self.group),
            _ => false,
        };
        if destroyed {
            db.notify(notify::STREAM, "xgroup-destroy", &self.key);
        }
        Reply::Int(i64::from(destroyed))
    }
}

// ---------------------------------------------------------------------------
// XGROUP CREATECONSUMER / DELCONSUMER key group consumer

struct XGroupConsumer {
    key: Bytes,
    group: Bytes,
    consumer: Bytes,
    create: bool,
}

pub(super) fn parse_consumer(
    mut args: Args,
    create: bool,
) -> Result<Box<dyn Execute>, CommandError> {
    boxed(XGroupConsumer {
        key: args.next_arg()?,
        group: args.next_arg()?,
        consumer: args.next_arg()?,
        create,
    })
}

impl Execute for XGroupConsumer {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let exists = match peek_stream(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return MISSING_KEY.into(),
            Ok(Some(s)) => match s.group(&self.group) {
                None => return nogroup_for_key(&self.key, &self.group).into(),
                Some(g) => g.consumers.contains_key(&self.consumer),
            },
        };
        if exists == self.create {
            // CREATECONSUMER of an existing one, DELCONSUMER of a missing one.
            return Reply::Int(0);
        }
        let Ok(Some(stream)) = get_stream_mut(db, &self.key, now, stats) else {
            return Reply::Int(0);
        };
        if self.create {
            stream.set_consumer(&self.group, &self.consumer, now, -1);
            db.notify(notify::STREAM, "xgroup-createconsumer", &self.key);
            Reply::Int(1)
        } else {
            let n = stream.delete_consumer(&self.group, &self.consumer);
            db.notify(notify::STREAM, "xgroup-delconsumer", &self.key);
            Reply::Int(n.unwrap_or(0) as i64)
        }
    }
}

// ---------------------------------------------------------------------------
// XGROUP HELP

struct XGroupHelp;

impl Execute for XGroupHelp {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        const LINES: &[&str] = &[
            "XGROUP <subcommand> [<arg> ...], where <subcommand> is one of:",
            "CREATE <key> <group> <id>|$ [MKSTREAM] [ENTRIESREAD <n>]",
            "    Makes a consumer group <group> on the stream at <key>, positioned after <id>",
            "    ($: after the stream's last entry). MKSTREAM makes an empty stream when <key>",
            "    does not exist; ENTRIESREAD tells how many entries the group has read (for lag).",
            "SETID <key> <group> <id>|$ [ENTRIESREAD <n>]",
            "    Moves the group's last delivered ID to <id> ($: the stream's last entry).",
            "DESTROY <key> <group>",
            "    Deletes the group with its consumers and pending entries.",
            "CREATECONSUMER <key> <group> <consumer>",
            "    Adds <consumer> to the group when it is not there yet.",
            "DELCONSUMER <key> <group> <consumer>",
            "    Removes <consumer> and its pending entries; replies how many it had.",
            "HELP",
            "    Shows this text.",
        ];
        Reply::Array(LINES.iter().map(|&l| Reply::Simple(l)).collect())
    }
}
