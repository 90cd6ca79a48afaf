//! Consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.
//!
//! Every change goes through [`Stream`]'s group methods (`set_group`,
//! `set_consumer`, `set_pending`, …) on a stream looked up with
//! [`get_stream_mut`], so the journal records it. Commands first decide
//! what to do on a read-only view (and build their reply), then apply the
//! changes, so an error never leaves half a command applied.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use super::read::{keyed_reply, parse_block_timeout};
use super::{entry_reply, get_stream, get_stream_mut, parse_bound, parse_id, parse_id_with};
use crate::commands::args::{is, parse_i64, parse_i64_opt};
use crate::commands::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{Group, Stream, StreamId, ENTRIES_READ_UNKNOWN};
use crate::keyspace::{Db, Entry, Keyspace, KeyspaceStats, Value};
use crate::protocol::reply::OK;
use crate::protocol::Reply;
use crate::server::blocking::{BlockRequest, BlockingRead};
use crate::server::Shared;

// ---------------------------------------------------------------------------
// Errors

/// XGROUP on a key that does not exist.
const MISSING_KEY: CommandError = CommandError::new_static(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
);
const BUSYGROUP: CommandError =
    CommandError::new_static("BUSYGROUP Consumer Group name already exists");
const ENTRIESREAD_RANGE: CommandError =
    CommandError::new_static("ERR value for ENTRIESREAD must be positive or -1");
const MISSING_GROUP_OPTION: CommandError =
    CommandError::new_static("ERR Missing GROUP option for XREADGROUP");
const DOLLAR_IN_XREADGROUP: CommandError = CommandError::new_static(
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
);
const PLUS_IN_XREADGROUP: CommandError = CommandError::new_static(
    "ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.",
);
/// Redis 7.4's wording (7.0 said "Unbalanced XREAD list of streams").
const UNBALANCED: CommandError = CommandError::new_static(
    "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.",
);
const UNBLOCKED_NO_KEY: CommandError =
    CommandError::new_static("UNBLOCKED the stream key no longer exists");
const COUNT_POSITIVE: CommandError = CommandError::new_static("ERR COUNT must be > 0");

fn text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// XGROUP SETID / CREATECONSUMER / DELCONSUMER with a missing group.
fn nogroup_for_key(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        text(group),
        text(key)
    ))
}

/// XREADGROUP with a missing key or group.
fn nogroup_xreadgroup(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        text(key),
        text(group)
    ))
}

/// XPENDING / XCLAIM / XAUTOCLAIM with a missing key or group.
fn nogroup(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

// ---------------------------------------------------------------------------
// Table

/// An XGROUP subcommand spec.
const fn sub(
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
fn peek_stream<'a>(
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
fn active_time(group: &Group, consumer: &[u8]) -> i64 {
    group.consumers.get(consumer).map_or(-1, |c| c.active_time)
}

/// Parses an ENTRIESREAD value.
fn parse_entries_read(raw: &[u8]) -> Result<i64, CommandError> {
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

fn parse_create(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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

fn parse_setid(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
        OK
    }
}

// ---------------------------------------------------------------------------
// XGROUP DESTROY key group

struct XGroupDestroy {
    key: Bytes,
    group: Bytes,
}

fn parse_destroy(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
        match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(stream)) => Reply::Int(i64::from(stream.destroy_group(&self.group))),
            _ => Reply::Int(0),
        }
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

fn parse_consumer(mut args: Args, create: bool) -> Result<Box<dyn Execute>, CommandError> {
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
            Reply::Int(1)
        } else {
            let n = stream.delete_consumer(&self.group, &self.consumer);
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

// ---------------------------------------------------------------------------
// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key … id …

/// What XREADGROUP reads from one stream.
#[derive(Debug, Clone)]
enum GroupFrom {
    /// `>`: entries never delivered to the group.
    New,
    /// The consumer's pending entries after this ID.
    History(StreamId),
    /// An ID that does not parse: reported when its key is checked.
    Bad(CommandError),
}

struct XReadGroup {
    group: Bytes,
    consumer: Bytes,
    count: usize,
    block: Option<Option<Duration>>,
    noack: bool,
    keys: Vec<Bytes>,
    from: Vec<GroupFrom>,
}

/// A blocked XREADGROUP reads at most this many entries per stream when no
/// COUNT was given, as Redis does.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

pub(super) fn parse_xreadgroup(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let mut count = 0;
    let mut block = None;
    let mut noack = false;
    let mut names: Option<(Bytes, Bytes)> = None;
    let mut rest = None;
    while let Some(opt) = args.try_next() {
        let more = args.len();
        if is(&opt, "BLOCK") && more > 0 {
            block = Some(parse_block_timeout(&args.next_arg()?)?);
        } else if is(&opt, "COUNT") && more > 0 {
            count = parse_i64(&args.next_arg()?)?.max(0) as usize;
        } else if is(&opt, "STREAMS") && more > 0 {
            let mut words = Vec::new();
            while let Some(w) = args.try_next() {
                words.push(w);
            }
            rest = Some(words);
            break;
        } else if is(&opt, "GROUP") && more >= 2 {
            names = Some((args.next_arg()?, args.next_arg()?));
        } else if is(&opt, "NOACK") {
            noack = true;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let mut keys = rest.ok_or(error::SYNTAX)?;
    if !keys.len().is_multiple_of(2) {
        return Err(UNBALANCED);
    }
    let ids = keys.split_off(keys.len() / 2);
    let (group, consumer) = names.ok_or(MISSING_GROUP_OPTION)?;
    let from = ids
        .iter()
        .map(|id| match &id[..] {
            b">" => GroupFrom::New,
            b"$" => GroupFrom::Bad(DOLLAR_IN_XREADGROUP),
            b"+" => GroupFrom::Bad(PLUS_IN_XREADGROUP),
            _ => match parse_id(id) {
                Ok(id) => GroupFrom::History(id),
                Err(e) => GroupFrom::Bad(e),
            },
        })
        .collect();
    boxed(XReadGroup {
        group,
        consumer,
        count,
        block,
        noack,
        keys,
        from,
    })
}

impl XReadGroup {
    /// Checks every key and group before anything changes. `blocked`: the
    /// retry of a blocked read (a key gone or of another type ends it with
    /// UNBLOCKED). Returns whether anything can be served now.
    fn check(
        &self,
        keyspace: &mut Keyspace,
        db: usize,
        now: i64,
        blocked: bool,
    ) -> Result<bool, CommandError> {
        let mut servable = false;
        for (key, from) in self.keys.iter().zip(&self.from) {
            let (d, stats) = keyspace.db(db);
            let stream = if blocked {
                peek_stream(d, key, now, stats).map_err(|_| UNBLOCKED_NO_KEY)?
            } else {
                get_stream(d, key, now, stats)?
            };
            let stream = match stream {
                Some(s) => s,
                None if blocked => return Err(UNBLOCKED_NO_KEY),
                None => return Err(nogroup_xreadgroup(key, &self.group)),
            };
            let Some(group) = stream.group(&self.group) else {
                return Err(nogroup_xreadgroup(key, &self.group));
            };
            match from {
                GroupFrom::Bad(e) => return Err(e.clone()),
                GroupFrom::History(_) => servable = true,
                GroupFrom::New => {
                    if stream.last().is_some_and(|(id, _)| id > group.last_id) {
                        servable = true;
                    }
                }
            }
        }
        Ok(servable)
    }

    /// Serves the read: delivers new entries (moving the group and adding
    /// them to the PEL) and reads histories. `None` when nothing came back.
    /// Used both by the command and by its blocked retries.
    fn serve(
        &self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
        count: usize,
    ) -> Result<Option<Reply>, CommandError> {
        let limit = if count == 0 { usize::MAX } else { count };
        let mut out = Vec::new();
        for (key, from) in self.keys.iter().zip(&self.from) {
            let (d, stats) = keyspace.db(db);
            let Some(stream) = get_stream_mut(d, key, now, stats)? else {
                return Err(nogroup_xreadgroup(key, &self.group));
            };
            let Some(group) = stream.group(&self.group) else {
                return Err(nogroup_xreadgroup(key, &self.group));
            };
            let active = active_time(group, &self.consumer);
            match *from {
                GroupFrom::Bad(ref e) => return Err(e.clone()),
                GroupFrom::New => {
                    let start = group.last_id.next();
                    let entries: Vec<_> = match start {
                        Some(start) if stream.last().is_some_and(|(id, _)| id > group.last_id) => {
                            stream.range(start, StreamId::MAX).take(limit).collect()
                        }
                        _ => Vec::new(),
                    };
                    if entries.is_empty() {
                        stream.set_consumer(&self.group, &self.consumer, now, active);
                        continue;
                    }
                    let mut cursor = Group::new(group.last_id, group.entries_read);
                    let mut replies = Vec::with_capacity(entries.len());
                    for &(id, loc) in &entries {
                        cursor.entries_read = stream.entries_read_after(&cursor, id);
                        cursor.last_id = id;
                        replies.push(entry_reply(shared, id, loc)?);
                    }
                    stream.set_group(&self.group, cursor.last_id, cursor.entries_read);
                    // Only entries that enter the PEL make the consumer active.
                    let active = if self.noack { active } else { now };
                    stream.set_consumer(&self.group, &self.consumer, now, active);
                    if !self.noack {
                        let pel = entries.iter().map(|&(id, _)| (id, now, 1)).collect();
                        stream.set_pending(&self.group, &self.consumer, pel);
                    }
                    out.push((key.clone(), Reply::Array(replies)));
                }
                GroupFrom::History(after) => {
                    let mut replies = Vec::new();
                    let mut updates = Vec::new();
                    if let (Some(start), Some(consumer)) =
                        (after.next(), group.consumers.get(&self.consumer))
                    {
                        for &id in consumer.pel.range(start..).take(limit) {
                            match stream.get(id) {
                                Some(loc) => {
                                    replies.push(entry_reply(shared, id, loc)?);
                                    let p = &group.pel[&id];
                                    updates.push((id, now, p.delivery_count + 1));
                                }
                                None => replies.push(Reply::Array(vec![
                                    Reply::Bulk(id.to_bytes()),
                                    Reply::NullArray,
                                ])),
                            }
                        }
                    }
                    stream.set_consumer(&self.group, &self.consumer, now, active);
                    stream.set_pending(&self.group, &self.consumer, updates);
                    out.push((key.clone(), Reply::Array(replies)));
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(keyed_reply(out)))
    }
}

impl Execute for XReadGroup {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let db = ctx.session.db;
        let now = ctx.now;
        if let Err(e) = self.check(ctx.keyspace, db, now, false) {
            return e.into();
        }
        match self.serve(ctx.keyspace, db, ctx.shared, now, self.count) {
            Ok(Some(reply)) => reply,
            Err(e) => e.into(),
            Ok(None) => {
                // Only `>` reads get here (a history read always replies).
                if let Some(timeout) = self.block {
                    if !ctx.session.in_exec {
                        ctx.session.block_request = Some(BlockRequest {
                            read: self,
                            timeout,
                        });
                    }
                }
                Reply::NullArray
            }
        }
    }
}

impl BlockingRead for XReadGroup {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        // Nothing changes (and no key is touched) until there is something
        // to deliver.
        if !self.check(keyspace, db, now, true)? {
            return Ok(None);
        }
        let count = match self.count {
            0 => BLOCKED_DEFAULT_COUNT,
            n => n,
        };
        self.serve(keyspace, db, shared, now, count)
    }

    fn keys(&self) -> &[Bytes] {
        &self.keys
    }

    fn wakes_on_delete(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------
// XACK key group id …

struct XAck {
    key: Bytes,
    group: Bytes,
    /// The IDs, or the first that does not parse (reported after the type
    /// check, as Redis does).
    ids: Result<Vec<StreamId>, CommandError>,
}

pub(super) fn parse_xack(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    let ids = args.rest().iter().map(|id| parse_id(id)).collect();
    boxed(XAck { key, group, ids })
}

impl Execute for XAck {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let stream = match get_stream(db, &self.key, now, stats) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let ids = match self.ids {
            Ok(ids) => ids,
            Err(e) => return e.into(),
        };
        let Some(group) = stream.and_then(|s| s.group(&self.group)) else {
            return Reply::Int(0);
        };
        if !ids.iter().any(|id| group.pel.contains_key(id)) {
            return Reply::Int(0);
        }
        match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(stream)) => Reply::Int(stream.remove_pending(&self.group, &ids) as i64),
            _ => Reply::Int(0),
        }
    }
}

// ---------------------------------------------------------------------------
// XPENDING key group [[IDLE ms] start end count [consumer]]

struct PendingRange {
    min_idle: i64,
    start: StreamId,
    end: StreamId,
    count: usize,
    consumer: Option<Bytes>,
}

struct XPending {
    key: Bytes,
    group: Bytes,
    range: Option<PendingRange>,
}

pub(super) fn parse_xpending(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let argc = args.len() + 1;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(error::SYNTAX);
    }
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    let words = args.rest();
    let range = if words.is_empty() {
        None
    } else {
        let mut i = 0;
        let mut min_idle = 0;
        if is(&words[0], "IDLE") {
            min_idle = parse_i64(&words[1])?;
            if argc < 8 {
                return Err(error::SYNTAX);
            }
            i = 2;
        }
        let count = parse_i64(&words[i + 2])?.max(0) as usize;
        let start = parse_bound(&words[i], true)?;
        let end = parse_bound(&words[i + 1], false)?;
        PendingRange {
            min_idle,
            start,
            end,
            count,
            consumer: words.get(i + 3).cloned(),
        }
        .into()
    };
    boxed(XPending { key, group, range })
}

impl Execute for XPending {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let stream = match get_stream(db, &self.key, now, stats) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let Some(group) = stream.and_then(|s| s.group(&self.group)) else {
            return nogroup(&self.key, &self.group).into();
        };
        let Some(range) = self.range else {
            let (Some((first, _)), Some((last, _))) =
                (group.pel.first_key_value(), group.pel.last_key_value())
            else {
                return Reply::Array(vec![
                    Reply::Int(0),
                    Reply::Null,
                    Reply::Null,
                    Reply::NullArray,
                ]);
            };
            let consumers = group
                .consumers
                .iter()
                .filter(|(_, c)| !c.pel.is_empty())
                .map(|(name, c)| {
                    Reply::Array(vec![
                        Reply::Bulk(name.clone()),
                        Reply::Bulk(Bytes::from(c.pel.len().to_string())),
                    ])
                })
                .collect();
            return Reply::Array(vec![
                Reply::Int(group.pel.len() as i64),
                Reply::Bulk(first.to_bytes()),
                Reply::Bulk(last.to_bytes()),
                Reply::Array(consumers),
            ]);
        };
        if range.start > range.end || range.count == 0 {
            return Reply::Array(Vec::new());
        }
        let ids: Box<dyn Iterator<Item = &StreamId>> = match &range.consumer {
            Some(name) => match group.consumers.get(name) {
                Some(c) => Box::new(c.pel.range(range.start..=range.end)),
                None => return Reply::Array(Vec::new()),
            },
            None => Box::new(group.pel.range(range.start..=range.end).map(|(id, _)| id)),
        };
        let mut rows = Vec::new();
        for id in ids {
            let p = &group.pel[id];
            let idle = now - p.delivery_time;
            if range.min_idle != 0 && idle < range.min_idle {
                continue;
            }
            rows.push(Reply::Array(vec![
                Reply::Bulk(id.to_bytes()),
                Reply::Bulk(p.consumer.clone()),
                Reply::Int(idle.max(0)),
                Reply::Int(p.delivery_count as i64),
            ]));
            if rows.len() == range.count {
                break;
            }
        }
        Reply::Array(rows)
    }
}

// ---------------------------------------------------------------------------
// XCLAIM key group consumer min-idle id … [IDLE ms] [TIME ms] [RETRYCOUNT n]
//        [FORCE] [JUSTID] [LASTID id]

/// Parsed where Redis parses it: after the key and group checks.
struct XClaim {
    key: Bytes,
    group: Bytes,
    consumer: Bytes,
    words: Vec<Bytes>,
}

pub(super) fn parse_xclaim(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(XClaim {
        key: args.next_arg()?,
        group: args.next_arg()?,
        consumer: args.next_arg()?,
        words: args.rest(),
    })
}

struct ClaimOptions {
    min_idle: i64,
    ids: Vec<StreamId>,
    delivery_time: i64,
    retry_count: Option<u64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

fn claim_int(raw: &[u8], what: &str) -> Result<i64, CommandError> {
    parse_i64_opt(raw)
        .ok_or_else(|| CommandError::new(format!("ERR Invalid {what} argument for XCLAIM")))
}

fn parse_claim_options(words: &[Bytes], now: i64) -> Result<ClaimOptions, CommandError> {
    let min_idle = claim_int(&words[0], "min-idle-time")?.max(0);
    let mut ids = Vec::new();
    let mut j = 1;
    while j < words.len() {
        match parse_id(&words[j]) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let mut o = ClaimOptions {
        min_idle,
        ids,
        delivery_time: -1,
        retry_count: None,
        force: false,
        justid: false,
        last_id: StreamId::MIN,
    };
    let mut given_time = None;
    while j < words.len() {
        let opt = &words[j];
        let more = j + 1 < words.len();
        if is(opt, "FORCE") {
            o.force = true;
        } else if is(opt, "JUSTID") {
            o.justid = true;
        } else if is(opt, "IDLE") && more {
            j += 1;
            given_time = Some(now.saturating_sub(claim_int(&words[j], "IDLE option")?));
        } else if is(opt, "TIME") && more {
            j += 1;
            given_time = Some(claim_int(&words[j], "TIME option")?);
        } else if is(opt, "RETRYCOUNT") && more {
            j += 1;
            let n = claim_int(&words[j], "RETRYCOUNT option")?;
            o.retry_count = (n >= 0).then_some(n as u64);
        } else if is(opt, "LASTID") && more {
            j += 1;
            o.last_id = parse_id(&words[j])?;
        } else {
            return Err(CommandError::new(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        j += 1;
    }
    // A time in the future or before the epoch means now.
    o.delivery_time = match given_time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    Ok(o)
}

impl Execute for XClaim {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let shared = ctx.shared;
        let (db, stats) = ctx.db();
        let stream = match get_stream(db, &self.key, now, stats) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let Some((stream, group)) = stream.and_then(|s| Some((s, s.group(&self.group)?))) else {
            return nogroup(&self.key, &self.group).into();
        };
        let o = match parse_claim_options(&self.words, now) {
            Ok(o) => o,
            Err(e) => return e.into(),
        };
        let move_last = (o.last_id > group.last_id).then_some((o.last_id, group.entries_read));
        let active = active_time(group, &self.consumer);
        // Pending state as this command changed it so far (None: removed).
        let mut seen: BTreeMap<StreamId, Option<(bool, i64, u64)>> = BTreeMap::new();
        let mut removed = Vec::new();
        let mut claimed = Vec::new();
        let mut replies = Vec::new();
        for &id in &o.ids {
            // (held by some consumer, delivery time, count)
            let nack = match seen.get(&id) {
                Some(state) => *state,
                None => group
                    .pel
                    .get(&id)
                    .map(|p| (true, p.delivery_time, p.delivery_count)),
            };
            let Some(loc) = stream.get(id) else {
                if nack.is_some() {
                    removed.push(id);
                    seen.insert(id, None);
                }
                continue;
            };
            let nack = match nack {
                None if o.force => (false, now, 1),
                None => continue,
                Some(n) => n,
            };
            let (held, time, count) = nack;
            if held && o.min_idle != 0 && now - time < o.min_idle {
                continue;
            }
            let count = match o.retry_count {
                Some(n) => n,
                None if o.justid => count,
                None => count + 1,
            };
            seen.insert(id, Some((true, o.delivery_time, count)));
            claimed.push((id, o.delivery_time, count));
            if o.justid {
                replies.push(Reply::Bulk(id.to_bytes()));
            } else {
                match entry_reply(shared, id, loc) {
                    Ok(r) => replies.push(r),
                    Err(e) => return e.into(),
                }
            }
        }
        let Ok(Some(stream)) = get_stream_mut(db, &self.key, now, stats) else {
            return nogroup(&self.key, &self.group).into();
        };
        if let Some((last_id, entries_read)) = move_last {
            stream.set_group(&self.group, last_id, entries_read);
        }
        let active = if claimed.is_empty() { active } else { now };
        stream.set_consumer(&self.group, &self.consumer, now, active);
        stream.remove_pending(&self.group, &removed);
        stream.set_pending(&self.group, &self.consumer, claimed);
        Reply::Array(replies)
    }
}

// ---------------------------------------------------------------------------
// XAUTOCLAIM key group consumer min-idle start [COUNT n] [JUSTID]

struct XAutoClaim {
    key: Bytes,
    group: Bytes,
    consumer: Bytes,
    min_idle: i64,
    start: StreamId,
    count: u64,
    justid: bool,
}

pub(super) fn parse_xautoclaim(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    let consumer = args.next_arg()?;
    let min_idle = parse_i64_opt(&args.next_arg()?)
        .ok_or(CommandError::new_static(
            "ERR Invalid min-idle-time argument for XAUTOCLAIM",
        ))?
        .max(0);
    let start = parse_bound(&args.next_arg()?, true)?;
    let mut count = 100;
    let mut justid = false;
    while let Some(opt) = args.try_next() {
        if is(&opt, "COUNT") && !args.is_empty() {
            let max = i64::MAX / 16;
            count = match parse_i64_opt(&args.next_arg()?) {
                Some(n) if (1..=max).contains(&n) => n as u64,
                _ => return Err(COUNT_POSITIVE),
            };
        } else if is(&opt, "JUSTID") {
            justid = true;
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(XAutoClaim {
        key,
        group,
        consumer,
        min_idle,
        start,
        count,
        justid,
    })
}

impl Execute for XAutoClaim {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let shared = ctx.shared;
        let (db, stats) = ctx.db();
        let stream = match get_stream(db, &self.key, now, stats) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let Some((stream, group)) = stream.and_then(|s| Some((s, s.group(&self.group)?))) else {
            return nogroup(&self.key, &self.group).into();
        };
        let active = active_time(group, &self.consumer);
        // Every pending entry looked at counts as an attempt, claimed or not.
        let attempts = self.count.saturating_mul(10);
        let scan: Vec<(StreamId, i64, u64)> = group
            .pel
            .range(self.start..)
            .take(usize::try_from(attempts.saturating_add(1)).unwrap_or(usize::MAX))
            .map(|(&id, p)| (id, p.delivery_time, p.delivery_count))
            .collect();
        let mut left = self.count;
        let mut tries = attempts;
        let mut next = 0;
        let mut deleted = Vec::new();
        let mut claimed = Vec::new();
        let mut replies = Vec::new();
        while tries > 0 && left > 0 && next < scan.len() {
            tries -= 1;
            let (id, time, count) = scan[next];
            next += 1;
            let Some(loc) = stream.get(id) else {
                deleted.push(id);
                left -= 1;
                continue;
            };
            if self.min_idle != 0 && now - time < self.min_idle {
                continue;
            }
            let count = if self.justid { count } else { count + 1 };
            claimed.push((id, now, count));
            left -= 1;
            if self.justid {
                replies.push(Reply::Bulk(id.to_bytes()));
            } else {
                match entry_reply(shared, id, loc) {
                    Ok(r) => replies.push(r),
                    Err(e) => return e.into(),
                }
            }
        }
        let cursor = scan.get(next).map_or(StreamId::MIN, |&(id, _, _)| id);
        let Ok(Some(stream)) = get_stream_mut(db, &self.key, now, stats) else {
            return nogroup(&self.key, &self.group).into();
        };
        let active = if claimed.is_empty() { active } else { now };
        stream.set_consumer(&self.group, &self.consumer, now, active);
        stream.remove_pending(&self.group, &deleted);
        stream.set_pending(&self.group, &self.consumer, claimed);
        Reply::Array(vec![
            Reply::Bulk(cursor.to_bytes()),
            Reply::Array(replies),
            Reply::Array(
                deleted
                    .iter()
                    .map(|id| Reply::Bulk(id.to_bytes()))
                    .collect(),
            ),
        ])
    }
}
