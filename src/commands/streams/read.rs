//! XRANGE, XREVRANGE, XLEN and XREAD (which can block).

use std::time::Duration;

use bytes::Bytes;

use super::{
    entries_reply, entries_reply_upto, entry_reply, get_stream, parse_bound, parse_id_with,
    ReplyBudget,
};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::StreamId;
use crate::keyspace::Keyspace;
use crate::protocol::Reply;
use crate::server::blocking::{BlockRequest, BlockingRead};
use crate::server::Shared;

/// XRANGE / XREVRANGE key start end [COUNT n]
struct XRange {
    key: Bytes,
    start: StreamId,
    end: StreamId,
    /// `Some(0)` (COUNT 0 or negative) replies null.
    count: Option<usize>,
    rev: bool,
}

fn parse_range(mut args: Args, rev: bool) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let (first, second) = (args.next_arg()?, args.next_arg()?);
    let (start, end) = if rev {
        (second, first)
    } else {
        (first, second)
    };
    let start = parse_bound(&start, true)?;
    let end = parse_bound(&end, false)?;
    let mut count = None;
    while let Some(opt) = args.try_next() {
        if is(&opt, "COUNT") && !args.is_empty() {
            count = Some(parse_i64(&args.next_arg()?)?.max(0) as usize);
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(XRange {
        key,
        start,
        end,
        count,
        rev,
    })
}

pub(super) fn parse_xrange(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, false)
}

pub(super) fn parse_xrevrange(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, true)
}

impl Execute for XRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let shared = ctx.shared;
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let stream = match get_stream(db, &self.key, now, stats) {
            Ok(Some(s)) => s,
            Ok(None) => return Reply::Array(Vec::new()),
            Err(e) => return e.into(),
        };
        if self.count == Some(0) {
            return Reply::NullArray;
        }
        let limit = self.count.unwrap_or(usize::MAX);
        if self.start > self.end {
            return Reply::Array(Vec::new());
        }
        let result = if self.rev {
            let entries = stream.range_rev(self.start, self.end).take(limit);
            entries_reply(shared, "XREVRANGE", entries)
        } else {
            entries_reply(
                shared,
                "XRANGE",
                stream.range(self.start, self.end).take(limit),
            )
        };
        result.into()
    }
}

/// XLEN key
struct XLen(Bytes);

pub(super) fn parse_xlen(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(XLen(args.next_arg()?))
}

impl Execute for XLen {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        match get_stream(db, &self.0, now, stats) {
            Ok(s) => Reply::Int(s.map_or(0, |s| s.len() as i64)),
            Err(e) => e.into(),
        }
    }
}

/// Where XREAD starts reading a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// Entries after this ID.
    After(StreamId),
    /// `$`: entries after the last one when the command ran.
    Last,
    /// `+`: the last entry (Redis 7.4).
    LastEntry,
}

/// The COUNT/BLOCK options of XREAD and XREADGROUP.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReadOptions {
    /// COUNT (0: no limit).
    pub count: usize,
    /// BLOCK: `Some(None)` waits for ever.
    pub block: Option<Option<Duration>>,
}

/// Parses BLOCK's timeout in milliseconds.
pub(crate) fn parse_block_timeout(raw: &[u8]) -> Result<Option<Duration>, CommandError> {
    let ms = crate::commands::args::parse_i64_opt(raw).ok_or(CommandError::new_static(
        "ERR timeout is not an integer or out of range",
    ))?;
    if ms < 0 {
        return Err(CommandError::new_static("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key … id …
#[derive(Debug, Clone)]
struct XRead {
    options: ReadOptions,
    keys: Vec<Bytes>,
    from: Vec<ReadFrom>,
}

/// Splits the words after STREAMS into keys and IDs.
pub(crate) fn split_streams(rest: Vec<Bytes>) -> Result<(Vec<Bytes>, Vec<Bytes>), CommandError> {
    if rest.is_empty() {
        return Err(error::SYNTAX);
    }
    if !rest.len().is_multiple_of(2) {
        return Err(CommandError::new_static(
            // Redis 7.2+'s wording (7.0 said "Unbalanced XREAD list").
            "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.",
        ));
    }
    let mut keys = rest;
    let ids = keys.split_off(keys.len() / 2);
    Ok((keys, ids))
}

pub(super) fn parse_xread(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let mut options = ReadOptions::default();
    let mut rest = None;
    while let Some(opt) = args.try_next() {
        let more = !args.is_empty();
        if is(&opt, "BLOCK") && more {
            options.block = Some(parse_block_timeout(&args.next_arg()?)?);
        } else if is(&opt, "COUNT") && more {
            options.count = parse_i64(&args.next_arg()?)?.max(0) as usize;
        } else if is(&opt, "STREAMS") && more {
            let mut words = Vec::new();
            while let Some(w) = args.try_next() {
                words.push(w);
            }
            rest = Some(words);
            break;
        } else {
            return Err(error::SYNTAX);
        }
    }
    let (keys, ids) = split_streams(rest.ok_or(error::SYNTAX)?)?;
    let from = ids
        .iter()
        .map(|id| match &id[..] {
            b"$" => Ok(ReadFrom::Last),
            b"+" => Ok(ReadFrom::LastEntry),
            b">" => Err(CommandError::new_static(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            )),
            _ => parse_id_with(id, 0, true).map(ReadFrom::After),
        })
        .collect::<Result<_, _>>()?;
    boxed(XRead {
        options,
        keys,
        from,
    })
}

impl XRead {
    /// Replaces `$` by the stream's last ID now (and `+` on a stream with
    /// no entries by the same), so a retry reads what came after.
    fn resolve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        now: i64,
    ) -> Result<(), CommandError> {
        for (key, from) in self.keys.iter().zip(self.from.iter_mut()) {
            let (d, stats) = keyspace.db(db);
            let stream = get_stream(d, key, now, stats).ok().flatten();
            let last = stream.map_or(StreamId::MIN, |s| s.last_id());
            match from {
                ReadFrom::Last => *from = ReadFrom::After(last),
                ReadFrom::LastEntry if stream.is_none_or(|s| s.is_empty()) => {
                    *from = ReadFrom::After(last)
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn read(
        &self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
        count: usize,
    ) -> Result<Option<Reply>, CommandError> {
        let mut out = Vec::new();
        let mut budget = ReplyBudget::new(shared);
        for (key, from) in self.keys.iter().zip(&self.from) {
            let (d, stats) = keyspace.db(db);
            let Some(stream) = get_stream(d, key, now, stats)? else {
                continue;
            };
            let entries = match *from {
                ReadFrom::LastEntry => match stream.last() {
                    Some((id, loc)) => Reply::Array(vec![entry_reply(shared, id, loc)?]),
                    None => continue,
                },
                ReadFrom::After(after) => {
                    let Some((last, _)) = stream.last() else {
                        continue;
                    };
                    if last <= after {
                        continue;
                    }
                    let Some(start) = after.next() else {
                        continue;
                    };
                    let limit = if count == 0 { usize::MAX } else { count };
                    let entries = stream.range(start, StreamId::MAX).take(limit);
                    let reply = entries_reply_upto(shared, &mut budget, entries)?;
                    if matches!(&reply, Reply::Array(a) if a.is_empty()) {
                        continue;
                    }
                    reply
                }
                ReadFrom::Last => continue,
            };
            out.push((key.clone(), entries));
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(keyed_reply(out)))
    }
}

/// Per-stream results: a map in RESP3, pairs in RESP2.
pub(crate) fn keyed_reply(per_key: Vec<(Bytes, Reply)>) -> Reply {
    Reply::PairMap(
        per_key
            .into_iter()
            .map(|(k, v)| (Reply::Bulk(k), v))
            .collect(),
    )
}

impl Execute for XRead {
    fn execute(mut self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let db = ctx.session.db;
        let now = ctx.now;
        if let Err(e) = self.resolve(ctx.keyspace, db, now) {
            return e.into();
        }
        match self.read(ctx.keyspace, db, ctx.shared, now, self.options.count) {
            Ok(Some(reply)) => reply,
            Err(e) => e.into(),
            Ok(None) => {
                if let Some(timeout) = self.options.block {
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

/// A blocked XREAD reads at most this many entries per stream when no
/// COUNT was given (as Redis does), so a low ID cannot flood it.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

impl BlockingRead for XRead {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        // `+` on an empty stream became "after its last ID" when blocking.
        let count = match self.options.count {
            0 => BLOCKED_DEFAULT_COUNT,
            n => n,
        };
        // A key that now holds another type is not an error for XREAD: it
        // keeps waiting.
        match self.read(keyspace, db, shared, now, count) {
            Err(e) if e == error::WRONGTYPE => Ok(None),
            other => other,
        }
    }

    fn keys(&self) -> &[Bytes] {
        &self.keys
    }
}
