//! ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE and ZMSCORE.

use bytes::Bytes;

use super::{changed, limits, parse_score, peek_zset, read_zset, score_reply, store, zset_mut};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::keyspace::zset::Limits;
use crate::keyspace::ZSet;
use crate::protocol::Reply;

/// ZADD's flags.
#[derive(Debug, Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member …, and ZINCRBY.
struct ZAdd {
    key: Bytes,
    flags: AddFlags,
    pairs: Vec<(f64, Bytes)>,
}

pub(super) fn parse_zadd(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let mut flags = AddFlags::default();
    let mut rest = args.rest().into_iter().peekable();
    while let Some(word) = rest.peek() {
        let flag = match word.to_ascii_uppercase().as_slice() {
            b"NX" => &mut flags.nx,
            b"XX" => &mut flags.xx,
            b"GT" => &mut flags.gt,
            b"LT" => &mut flags.lt,
            b"CH" => &mut flags.ch,
            b"INCR" => &mut flags.incr,
            _ => break,
        };
        *flag = true;
        rest.next();
    }
    let words: Vec<Bytes> = rest.collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return Err(error::SYNTAX);
    }
    if flags.nx && flags.xx {
        return Err(error::ZADD_NX_XX);
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(error::ZADD_GT_LT_NX);
    }
    if flags.incr && words.len() > 2 {
        return Err(error::ZADD_INCR_PAIRS);
    }
    // Every score is checked before anything changes.
    let mut pairs = Vec::with_capacity(words.len() / 2);
    let mut words = words.into_iter();
    while let (Some(score), Some(member)) = (words.next(), words.next()) {
        pairs.push((parse_score(&score)?, member));
    }
    boxed(ZAdd { key, flags, pairs })
}

pub(super) fn parse_zincrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let incr = parse_score(&args.next_arg()?)?;
    let member = args.next_arg()?;
    boxed(ZAdd {
        key,
        flags: AddFlags {
            incr: true,
            ..AddFlags::default()
        },
        pairs: vec![(incr, member)],
    })
}

/// What adding one pair did.
#[derive(Debug, Default)]
struct Tally {
    added: i64,
    updated: i64,
    /// The last pair was applied (not skipped by NX/XX/GT/LT); its score.
    last: Option<f64>,
}

/// A planned change: member, new score, and whether the member is new.
type Change = (Bytes, f64, bool);

/// Works out what ZADD's pairs would do to `z` (absent: a new set),
/// without changing it: the members to set, in order, with whether each is
/// new. A pair sees the pairs before it in the same command.
fn plan(
    z: Option<&ZSet>,
    flags: AddFlags,
    pairs: Vec<(f64, Bytes)>,
) -> Result<(Vec<Change>, Tally), CommandError> {
    let mut tally = Tally::default();
    let mut changes: Vec<Change> = Vec::new();
    for (score, member) in pairs {
        tally.last = None;
        // The member's score as the pairs before this one left it.
        let planned = changes.iter().rev().find(|(m, _, _)| *m == member);
        let current = match planned {
            Some(&(_, s, _)) => Some(s),
            None => z.and_then(|z| z.score(&member)),
        };
        match current {
            Some(current) => {
                if flags.nx {
                    continue;
                }
                let score = if flags.incr { current + score } else { score };
                if score.is_nan() {
                    return Err(error::SCORE_NAN);
                }
                if (flags.lt && score >= current) || (flags.gt && score <= current) {
                    continue;
                }
                if score != current {
                    let new = planned.is_some_and(|&(_, _, new)| new);
                    changes.push((member, score, new));
                    // Even a member this command added counts as updated
                    // by a later pair (`ZADD z CH 1 a 2 a` is 2, as Redis).
                    tally.updated += 1;
                }
                tally.last = Some(score + 0.0);
            }
            None => {
                if flags.xx {
                    continue;
                }
                changes.push((member, score, true));
                tally.added += 1;
                tally.last = Some(score + 0.0);
            }
        }
    }
    Ok((changes, tally))
}

/// Applies planned changes to `z`.
fn apply(z: &mut ZSet, changes: Vec<Change>, limits: Limits) {
    for (member, score, new) in changes {
        let len = member.len();
        z.insert(member, score);
        if new {
            z.note_added(len, limits);
        }
    }
}

impl Execute for ZAdd {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let ZAdd { key, flags, pairs } = *self;
        let (db, stats) = ctx.db();
        let existing = match peek_zset(db, &key, now, stats) {
            Err(e) => return e.into(),
            Ok(z) => z,
        };
        let exists = existing.is_some();
        // Redis sizes a new set by its arguments.
        let longest = pairs.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
        let oversized = pairs.len() > limits.entries || longest > limits.value;
        let (changes, tally) = match plan(existing, flags, pairs) {
            Ok(planned) => planned,
            Err(e) => return e.into(),
        };
        // A ZADD that changes nothing leaves the key alone: no WATCH flag,
        // no wake-up, nothing journaled (as Redis).
        if !changes.is_empty() {
            let event = if flags.incr { "zincr" } else { "zadd" };
            if exists {
                if let Ok(Some(z)) = zset_mut(db, &key, now, stats) {
                    apply(z, changes, limits);
                }
                db.notify(notify::ZSET, event, &key);
            } else {
                let mut z = ZSet::new();
                if oversized {
                    z.force_skiplist();
                }
                apply(&mut z, changes, limits);
                z.take_ops();
                store(db, key, z, now, event);
            }
        }
        if flags.incr {
            tally.last.map_or(Reply::Null, score_reply)
        } else if flags.ch {
            Reply::Int(tally.added + tally.updated)
        } else {
            Reply::Int(tally.added)
        }
    }
}

/// ZREM key member …
struct ZRem {
    key: Bytes,
    members: Vec<Bytes>,
}

pub(super) fn parse_zrem(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(ZRem {
        key,
        members: args.rest(),
    })
}

impl Execute for ZRem {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // Nothing to remove: the key is left alone (no WATCH flag).
        match peek_zset(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            Ok(Some(z)) if !self.members.iter().any(|m| z.score(m).is_some()) => {
                return Reply::Int(0)
            }
            Ok(Some(_)) => {}
        }
        let Ok(Some(z)) = zset_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a sorted set");
        };
        let removed = self
            .members
            .iter()
            .filter(|m| z.remove(m).is_some())
            .count();
        changed(db, &self.key, "zrem");
        Reply::Int(removed as i64)
    }
}

/// ZCARD key
struct ZCard(Bytes);

pub(super) fn parse_zcard(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(ZCard(args.next_arg()?))
}

impl Execute for ZCard {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_zset(db, &self.0, now, stats) {
            Ok(z) => Reply::Int(z.map_or(0, |z| z.len() as i64)),
            Err(e) => e.into(),
        }
    }
}

/// ZSCORE key member / ZMSCORE key member …
struct ZScore {
    key: Bytes,
    members: Vec<Bytes>,
    /// ZMSCORE: an array even for one member.
    many: bool,
}

pub(super) fn parse_zscore(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let member = args.next_arg()?;
    boxed(ZScore {
        key,
        members: vec![member],
        many: false,
    })
}

pub(super) fn parse_zmscore(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(ZScore {
        key,
        members: args.rest(),
        many: true,
    })
}

impl Execute for ZScore {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let z = match read_zset(db, &self.key, now, stats) {
            Ok(z) => z,
            Err(e) => return e.into(),
        };
        let mut scores = self
            .members
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Null, score_reply));
        if self.many {
            Reply::Array(scores.collect())
        } else {
            scores.next().unwrap_or(Reply::Null)
        }
    }
}
