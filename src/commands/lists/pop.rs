//! LPOP, RPOP, LREM, LTRIM, LMOVE, RPOPLPUSH and LMPOP.

use bytes::Bytes;

use super::read::span;
use super::{changed, ctx_fill, list_mut, parse_end, peek_list, pop_from, push_onto};
use crate::commands::args::{is, parse_i64, parse_i64_opt};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::list::Fill;
use crate::keyspace::{notify, Db, KeyspaceStats};
use crate::protocol::Reply;

/// LPOP / RPOP key [count]
struct Pop {
    key: Bytes,
    front: bool,
    /// None: one element, replied as a bulk string.
    count: Option<usize>,
}

fn parse_pop(mut args: Args, front: bool) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let count = match args.try_next() {
        None => None,
        Some(raw) => {
            let n = parse_i64_opt(&raw)
                .filter(|&n| n >= 0)
                .ok_or(error::MUST_BE_POSITIVE)?;
            Some(n as usize)
        }
    };
    if !args.is_empty() {
        return Err(error::wrong_arity(if front { "lpop" } else { "rpop" }));
    }
    boxed(Pop { key, front, count })
}

pub(super) fn parse_lpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pop(args, true)
}

pub(super) fn parse_rpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pop(args, false)
}

impl Execute for Pop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) if self.count.is_some() => return Reply::NullArray,
            Ok(None) => return Reply::Null,
            Ok(Some(_)) if self.count == Some(0) => return Reply::Array(Vec::new()),
            Ok(Some(_)) => {}
        }
        let popped = pop_from(
            db,
            stats,
            &self.key,
            self.front,
            self.count.unwrap_or(1),
            fill,
            now,
        );
        match self.count {
            None => Reply::bulk_or_null(popped.into_iter().next()),
            Some(_) => Reply::Array(popped.into_iter().map(Reply::Bulk).collect()),
        }
    }
}

/// LREM key count element
struct LRem {
    key: Bytes,
    count: i64,
    elem: Bytes,
}

pub(super) fn parse_lrem(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let count = parse_i64(&args.next_arg()?)?;
    boxed(LRem {
        key,
        count,
        elem: args.next_arg()?,
    })
}

impl Execute for LRem {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            // Nothing to remove: leave the key alone (no WATCH flag, no
            // journal record).
            Ok(Some(l)) if !l.iter().any(|e| e.eq_bytes(&self.elem)) => return Reply::Int(0),
            Ok(Some(_)) => {}
        }
        let Ok(Some(l)) = list_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a list");
        };
        let n = l.remove(self.count, &self.elem, fill);
        changed(db, &self.key, "lrem");
        Reply::Int(n as i64)
    }
}

/// LTRIM key start stop
struct LTrim {
    key: Bytes,
    start: i64,
    stop: i64,
}

pub(super) fn parse_ltrim(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let start = parse_i64(&args.next_arg()?)?;
    let stop = parse_i64(&args.next_arg()?)?;
    boxed(LTrim { key, start, stop })
}

impl Execute for LTrim {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        let r = match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Simple("OK"),
            Ok(Some(l)) => {
                let r = span(self.start, self.stop, l.len());
                if r.len() == l.len() {
                    // Nothing to remove: Redis still counts the key as
                    // modified (WATCH) and raises the event, but there is
                    // nothing to journal.
                    db.touch(&self.key);
                    db.notify(notify::LIST, "ltrim", &self.key);
                    return Reply::Simple("OK");
                }
                r
            }
        };
        if r.is_empty() {
            db.remove(&self.key);
            db.notify(notify::LIST, "ltrim", &self.key);
            db.notify(notify::GENERIC, "del", &self.key);
            return Reply::Simple("OK");
        }
        let Ok(Some(l)) = list_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a list");
        };
        l.trim(r.start, r.len(), fill);
        changed(db, &self.key, "ltrim");
        Reply::Simple("OK")
    }
}

/// An element moved from one end of a list to an end of another (LMOVE,
/// RPOPLPUSH and their blocking forms).
#[derive(Debug, Clone)]
pub(super) struct Move {
    pub keys: Vec<Bytes>,
    pub from_front: bool,
    pub to_front: bool,
}

impl Move {
    pub fn new(src: Bytes, dst: Bytes, from_front: bool, to_front: bool) -> Self {
        Move {
            keys: vec![src, dst],
            from_front,
            to_front,
        }
    }

    /// Moves one element: `Ok(None)` when the source is missing.
    /// WRONGTYPE when either key holds another type.
    pub fn run(
        &self,
        db: &mut Db,
        stats: &mut KeyspaceStats,
        fill: Fill,
        now: i64,
    ) -> Result<Option<Bytes>, CommandError> {
        let (src, dst) = (&self.keys[0], &self.keys[1]);
        if peek_list(db, src, now, stats)?.is_none() {
            return Ok(None);
        }
        peek_list(db, dst, now, stats)?;
        // As Redis does: pop, push (raising the push event), then raise
        // the pop event and delete the source if it emptied, so a list
        // rotated onto itself is never deleted on the way.
        let popped = match list_mut(db, src, now, stats) {
            Ok(Some(l)) => l.pop(self.from_front, 1, fill).pop(),
            _ => None,
        };
        let Some(e) = popped else {
            return Ok(None);
        };
        push_onto(
            db,
            stats,
            dst,
            self.to_front,
            std::slice::from_ref(&e),
            fill,
            now,
        );
        changed(db, src, if self.from_front { "lpop" } else { "rpop" });
        Ok(Some(e))
    }
}

pub(super) fn parse_lmove(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let src = args.next_arg()?;
    let dst = args.next_arg()?;
    let from_front = parse_end(&args.next_arg()?)?;
    let to_front = parse_end(&args.next_arg()?)?;
    boxed(Move::new(src, dst, from_front, to_front))
}

pub(super) fn parse_rpoplpush(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let src = args.next_arg()?;
    let dst = args.next_arg()?;
    boxed(Move::new(src, dst, false, true))
}

impl Execute for Move {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        match self.run(db, stats, fill, now) {
            Ok(e) => Reply::bulk_or_null(e),
            Err(e) => e.into(),
        }
    }
}

/// The keys, end and count of LMPOP and BLMPOP.
#[derive(Debug, Clone)]
pub(super) struct MPop {
    pub keys: Vec<Bytes>,
    pub front: bool,
    pub count: usize,
}

/// Parses `numkeys key … LEFT|RIGHT [COUNT count]`.
pub(super) fn parse_mpop_args(mut args: Args) -> Result<MPop, CommandError> {
    let numkeys = parse_i64_opt(&args.next_arg()?)
        .filter(|&n| n > 0)
        .ok_or(error::NUMKEYS_POSITIVE)? as u64;
    if numkeys >= args.len() as u64 {
        return Err(error::SYNTAX);
    }
    let keys: Vec<Bytes> = (0..numkeys)
        .map(|_| args.next_arg())
        .collect::<Result<_, _>>()?;
    let front = parse_end(&args.next_arg()?)?;
    let mut count = None;
    while let Some(opt) = args.try_next() {
        if is(&opt, "COUNT") && count.is_none() && !args.is_empty() {
            let n = parse_i64_opt(&args.next_arg()?)
                .filter(|&n| n > 0)
                .ok_or(error::COUNT_POSITIVE)?;
            count = Some(n as usize);
        } else {
            return Err(error::SYNTAX);
        }
    }
    Ok(MPop {
        keys,
        front,
        count: count.unwrap_or(1),
    })
}

impl MPop {
    /// Pops from the first key holding a list: `Ok(None)` if every key is
    /// missing. A key of another type met first is an error.
    pub fn run(
        &self,
        db: &mut Db,
        stats: &mut KeyspaceStats,
        fill: Fill,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        for key in &self.keys {
            if peek_list(db, key, now, stats)?.is_none() {
                continue;
            }
            let popped = pop_from(db, stats, key, self.front, self.count, fill, now);
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::Array(popped.into_iter().map(Reply::Bulk).collect()),
            ])));
        }
        Ok(None)
    }
}

/// LMPOP numkeys key … LEFT|RIGHT [COUNT count]
struct LMPop(MPop);

pub(super) fn parse_lmpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(LMPop(parse_mpop_args(args)?))
}

impl Execute for LMPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        match self.0.run(db, stats, fill, now) {
            Ok(Some(reply)) => reply,
            Ok(None) => Reply::NullArray,
            Err(e) => e.into(),
        }
    }
}
