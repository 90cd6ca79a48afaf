//! The pending entries list: XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::groups::*;
use super::{entry_reply, get_stream, get_stream_mut, parse_bound, parse_id};
use crate::commands::args::{is, parse_i64, parse_i64_opt};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::keyspace::stream::StreamId;
use crate::protocol::Reply;

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
        let new_consumer = !group.consumers.contains_key(&self.consumer);
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
        if new_consumer {
            db.notify(notify::STREAM, "xgroup-createconsumer", &self.key);
        }
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
        let new_consumer = !group.consumers.contains_key(&self.consumer);
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
        if new_consumer {
            db.notify(notify::STREAM, "xgroup-createconsumer", &self.key);
        }
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
