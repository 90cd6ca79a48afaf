//! XADD, XTRIM, XDEL, XSETID: the commands that add and remove entries.

use bytes::Bytes;

use super::{get_stream_mut, parse_id, parse_id_with, read_field_names};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{
    payload, Loc, NodeLimits, Stream, StreamId, StreamMeta, Trim, TrimBy,
};
use crate::keyspace::{notify, Entry, Value};
use crate::protocol::Reply;
use crate::server::Shared;
use crate::storage::format::RecordType;

const TOP_ITEM: CommandError = CommandError::new_static(
    "ERR The ID specified in XADD is equal or smaller than the target stream top item",
);
const ZERO_ID: CommandError =
    CommandError::new_static("ERR The ID specified in XADD must be greater than 0-0");
const EXHAUSTED: CommandError = CommandError::new_static(
    "ERR The stream has exhausted the last possible ID, unable to add more items",
);
const TOO_LARGE: CommandError = CommandError::new_static("ERR Elements are too large to be stored");

/// MAXLEN/MINID with `=`/`~` and LIMIT, as XADD and XTRIM take them.
#[derive(Debug, Clone, Copy)]
struct TrimArgs {
    by: TrimBy,
    approx: bool,
    /// LIMIT as given.
    limit: Option<u64>,
}

impl TrimArgs {
    /// The trim to run, with Redis's default LIMIT for `~`.
    fn resolve(self, limits: NodeLimits) -> Trim {
        let limit = match (self.approx, self.limit) {
            (true, Some(l)) => l,
            (true, None) => match limits.max_entries.saturating_mul(100) {
                0 => 10_000,
                n => n.min(1_000_000),
            },
            (false, _) => 0,
        };
        Trim {
            by: self.by,
            approx: self.approx,
            limit,
        }
    }
}

/// How XADD names the new entry.
#[derive(Debug, Clone, Copy)]
enum NewId {
    /// `*`
    Auto,
    /// `<ms>-*`
    Ms(u64),
    /// An explicit ID.
    Exact(StreamId),
}

/// Reads the options shared by XADD and XTRIM from `args` until something
/// else comes (returned, for XADD: the ID). `xadd` allows NOMKSTREAM.
fn parse_trim_options(
    args: &mut Args,
    xadd: bool,
) -> Result<(Option<TrimArgs>, bool, Option<Bytes>), CommandError> {
    let mut by: Option<(TrimBy, bool)> = None;
    let mut limit: Option<i64> = None;
    let mut nomkstream = false;
    let mut id = None;
    while let Some(opt) = args.try_next() {
        let more = !args.is_empty();
        if xadd && opt[..] == b"*"[..] {
            id = Some(opt);
            break;
        } else if (is(&opt, "MAXLEN") || is(&opt, "MINID")) && more {
            if by.is_some() {
                return Err(CommandError::new_static(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let mut value = args.next_arg()?;
            let mut approx = false;
            if (value[..] == b"~"[..] || value[..] == b"="[..]) && !args.is_empty() {
                approx = value[..] == b"~"[..];
                value = args.next_arg()?;
            }
            let strategy = if is(&opt, "MAXLEN") {
                let n = parse_i64(&value)?;
                if n < 0 {
                    return Err(CommandError::new_static(
                        "ERR The MAXLEN argument must be >= 0.",
                    ));
                }
                TrimBy::MaxLen(n as u64)
            } else {
                TrimBy::MinId(parse_id(&value)?)
            };
            by = Some((strategy, approx));
        } else if is(&opt, "LIMIT") && more {
            let n = parse_i64(&args.next_arg()?)?;
            if n < 0 {
                return Err(CommandError::new_static(
                    "ERR The LIMIT argument must be >= 0.",
                ));
            }
            limit = Some(n);
        } else if xadd && is(&opt, "NOMKSTREAM") {
            nomkstream = true;
        } else if xadd {
            id = Some(opt);
            break;
        } else {
            return Err(error::SYNTAX);
        }
    }
    if limit.is_some_and(|l| l != 0) && by.is_none() {
        return Err(CommandError::new_static(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && by.is_none() {
        return Err(CommandError::new_static(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit.is_some() && by.is_some_and(|(_, approx)| !approx) {
        return Err(CommandError::new_static(
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    let trim = by.map(|(by, approx)| TrimArgs {
        by,
        approx,
        limit: limit.map(|l| l as u64),
    });
    Ok((trim, nomkstream, id))
}

/// The node limits in force.
fn node_limits(shared: &Shared) -> NodeLimits {
    let config = shared.config.read().expect("config lock");
    NodeLimits {
        max_entries: config.stream_node_max_entries,
        max_bytes: config.stream_node_max_bytes,
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value …
struct XAdd {
    key: Bytes,
    nomkstream: bool,
    trim: Option<TrimArgs>,
    id: NewId,
    pairs: Vec<Bytes>,
}

pub(super) fn parse_xadd(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let (trim, nomkstream, id) = parse_trim_options(&mut args, true)?;
    let id = id.ok_or_else(|| error::wrong_arity("xadd"))?;
    // The ID is checked before the field count, as Redis does.
    let id = if id[..] == b"*"[..] {
        NewId::Auto
    } else if let Some(ms) = id.strip_suffix(b"-*") {
        NewId::Ms(parse_id(ms)?.ms)
    } else {
        let id = parse_id_with(&id, 0, false)?;
        if id.is_zero() {
            return Err(ZERO_ID);
        }
        NewId::Exact(id)
    };
    let pairs = args.rest();
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(error::wrong_arity("xadd"));
    }
    boxed(XAdd {
        key,
        nomkstream,
        trim,
        id,
        pairs,
    })
}

impl XAdd {
    /// The new entry's ID after `last`, or the error XADD gives.
    fn next_id(&self, last: StreamId, now: i64) -> Result<StreamId, CommandError> {
        if last == StreamId::MAX {
            return Err(EXHAUSTED);
        }
        let id = match self.id {
            NewId::Auto => {
                let now = now.max(0) as u64;
                if last.ms < now {
                    StreamId::new(now, 0)
                } else {
                    last.next().ok_or(EXHAUSTED)?
                }
            }
            NewId::Ms(ms) if ms == last.ms => last.next().filter(|n| n.ms == ms).ok_or(TOP_ITEM)?,
            NewId::Ms(ms) => StreamId::new(ms, 0),
            NewId::Exact(id) => id,
        };
        if id <= last {
            return Err(TOP_ITEM);
        }
        Ok(id)
    }
}

/// Appends an entry's payload to the log and the entry to `stream`.
fn append_entry(
    shared: &Shared,
    stream: &mut Stream,
    id: StreamId,
    pairs: &[Bytes],
    limits: NodeLimits,
) -> Result<(), CommandError> {
    let parts: Vec<&[u8]> = pairs.iter().map(|p| &p[..]).collect();
    if parts.iter().map(|p| p.len() as u64).sum::<u64>() > 1 << 30 {
        return Err(TOO_LARGE);
    }
    if let Some((master, loc)) = stream.tail_master() {
        if stream.cached_tail_fields().is_none() {
            let names = read_field_names(shared, loc)?;
            stream.cache_tail_fields(master, names);
        }
    }
    let placement = stream.place(id, &parts, stream.cached_tail_fields(), limits);
    let (_, pos) = shared
        .storage
        .journal
        .append(RecordType::Payload, &payload::encode(&parts))
        .map_err(|e| error::misconf(&e.to_string()))?;
    let loc = Loc {
        seg: pos.seq as u32,
        offset: pos.offset as u32,
    };
    if placement.new_node {
        stream.cache_tail_fields(id, pairs.iter().step_by(2).cloned().collect());
    }
    stream.add(id, loc, placement);
    Ok(())
}

impl Execute for XAdd {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let shared = ctx.shared;
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let limits = node_limits(shared);
        let existing = match get_stream_mut(db, &self.key, now, stats) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let result = match existing {
            Some(stream) => self.add_to(shared, stream, now, limits),
            None if self.nomkstream => return Reply::Null,
            None => {
                let mut stream = Stream::new();
                let result = self.add_to(shared, &mut stream, now, limits);
                if result.is_ok() {
                    db.insert(
                        self.key.clone(),
                        Entry::new(Value::Stream(Box::new(stream)), now),
                    );
                }
                result
            }
        };
        match result {
            Ok((id, trimmed)) => {
                db.notify(notify::STREAM, "xadd", &self.key);
                if trimmed > 0 {
                    db.notify(notify::STREAM, "xtrim", &self.key);
                }
                Reply::Bulk(id.to_bytes())
            }
            Err(e) => e.into(),
        }
    }
}

impl XAdd {
    fn add_to(
        &self,
        shared: &Shared,
        stream: &mut Stream,
        now: i64,
        limits: NodeLimits,
    ) -> Result<(StreamId, u64), CommandError> {
        let id = self.next_id(stream.last_id(), now)?;
        append_entry(shared, stream, id, &self.pairs, limits)?;
        let trimmed = match self.trim {
            Some(trim) => stream.trim(trim.resolve(limits)),
            None => 0,
        };
        Ok((id, trimmed))
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
struct XTrim {
    key: Bytes,
    trim: TrimArgs,
}

pub(super) fn parse_xtrim(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let (trim, _, _) = parse_trim_options(&mut args, false)?;
    boxed(XTrim {
        key,
        trim: trim.ok_or(error::SYNTAX)?,
    })
}

impl Execute for XTrim {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = node_limits(ctx.shared);
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let trimmed = match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(stream)) => stream.trim(self.trim.resolve(limits)),
            Ok(None) => 0,
            Err(e) => return e.into(),
        };
        if trimmed > 0 {
            db.notify(notify::STREAM, "xtrim", &self.key);
        }
        Reply::Int(trimmed as i64)
    }
}

/// XDEL key id [id …]
struct XDel {
    key: Bytes,
    ids: Vec<StreamId>,
}

pub(super) fn parse_xdel(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let ids = args
        .rest()
        .iter()
        .map(|a| parse_id(a))
        .collect::<Result<_, _>>()?;
    boxed(XDel { key, ids })
}

impl Execute for XDel {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let deleted = match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(stream)) => stream.delete(&self.ids),
            Ok(None) => 0,
            Err(e) => return e.into(),
        };
        if deleted > 0 {
            db.notify(notify::STREAM, "xdel", &self.key);
        }
        Reply::Int(deleted as i64)
    }
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
struct XSetId {
    key: Bytes,
    last_id: StreamId,
    entries_added: Option<u64>,
    max_deleted: Option<StreamId>,
}

pub(super) fn parse_xsetid(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let last_id = parse_id_with(&args.next_arg()?, 0, false)?;
    let mut entries_added = None;
    let mut max_deleted = None;
    while let Some(opt) = args.try_next() {
        if is(&opt, "ENTRIESADDED") && !args.is_empty() {
            let n = parse_i64(&args.next_arg()?)?;
            if n < 0 {
                return Err(CommandError::new_static(
                    "ERR entries_added must be positive",
                ));
            }
            entries_added = Some(n as u64);
        } else if is(&opt, "MAXDELETEDID") && !args.is_empty() {
            let id = parse_id_with(&args.next_arg()?, 0, false)?;
            if last_id < id {
                return Err(CommandError::new_static(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(id).filter(|id| !id.is_zero());
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(XSetId {
        key,
        last_id,
        entries_added,
        max_deleted,
    })
}

impl Execute for XSetId {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let stream = match get_stream_mut(db, &self.key, now, stats) {
            Ok(Some(s)) => s,
            Ok(None) => return CommandError::new_static("ERR no such key").into(),
            Err(e) => return e.into(),
        };
        if let Some(added) = self.entries_added {
            if added < stream.len() {
                return CommandError::new_static(
                    "ERR The entries_added specified in XSETID is smaller than the target stream length",
                )
                .into();
            }
        }
        if let Some((top, _)) = stream.last() {
            if self.last_id < top {
                return CommandError::new_static(
                    "ERR The ID specified in XSETID is smaller than the target stream top item",
                )
                .into();
            }
        }
        let meta = stream.meta();
        stream.set_meta(StreamMeta {
            last_id: self.last_id,
            entries_added: self.entries_added.unwrap_or(meta.entries_added),
            max_deleted: self.max_deleted.unwrap_or(meta.max_deleted),
        });
        db.notify(notify::STREAM, "xsetid", &self.key);
        crate::protocol::OK
    }
}
