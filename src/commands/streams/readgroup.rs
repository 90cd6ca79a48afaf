//! XREADGROUP: delivering entries to a group's consumers, blocking
//! included.

use std::time::Duration;

use bytes::Bytes;

use super::groups::*;
use super::read::{keyed_reply, parse_block_timeout};
use super::{get_stream, get_stream_mut, parse_id, ReplyBudget};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{Group, StreamId};
use crate::keyspace::{notify, Keyspace};
use crate::protocol::Reply;
use crate::server::blocking::{BlockRequest, BlockingRead};
use crate::server::Shared;

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
        let mut budget = ReplyBudget::new(shared);
        for (key, from) in self.keys.iter().zip(&self.from) {
            let (d, stats) = keyspace.db(db);
            // Every read below creates the consumer if it is new.
            let new_consumer = matches!(
                get_stream(d, key, now, stats)?.and_then(|s| s.group(&self.group)),
                Some(g) if !g.consumers.contains_key(&self.consumer)
            );
            if new_consumer && !matches!(from, GroupFrom::Bad(_)) {
                d.notify(notify::STREAM, "xgroup-createconsumer", key);
            }
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
                        // Past the reply bound the rest stays for the next
                        // read: the group's cursor stops at the last entry
                        // served.
                        let Some(reply) = budget.entry(shared, id, loc)? else {
                            break;
                        };
                        cursor.entries_read = stream.entries_read_after(&cursor, id);
                        cursor.last_id = id;
                        replies.push(reply);
                    }
                    if replies.is_empty() {
                        stream.set_consumer(&self.group, &self.consumer, now, active);
                        continue;
                    }
                    let entries = &entries[..replies.len()];
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
                                    let Some(reply) = budget.entry(shared, id, loc)? else {
                                        break;
                                    };
                                    replies.push(reply);
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
