//! ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX, ZPOPMIN, ZPOPMAX and
//! ZMPOP.

use bytes::Bytes;

use super::{
    changed, parse_lex_bound, parse_score_bound, peek_zset, pop, popped_reply, zset_mut, End,
};
use crate::commands::args::{is, parse_i64, parse_i64_opt};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::zset::{LexBound, ScoreBound};
use crate::keyspace::{Db, KeyspaceStats, ZSet};
use crate::protocol::Reply;

/// What a ZREMRANGEBY* command removes.
enum Span {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

impl Span {
    fn ranks(&self, z: &ZSet) -> std::ops::Range<usize> {
        match self {
            Span::Rank(start, end) => {
                let len = z.len() as i64;
                let start = if *start < 0 { start + len } else { *start }.max(0);
                let end = if *end < 0 { end + len } else { *end };
                if start > end || start >= len {
                    return 0..0;
                }
                start as usize..(end.min(len - 1) + 1) as usize
            }
            Span::Score(min, max) => z.score_ranks(*min, *max),
            Span::Lex(min, max) => z.lex_ranks(min, max),
        }
    }
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max
struct ZRemRange {
    key: Bytes,
    span: Span,
}

pub(super) fn parse_zremrangebyrank(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let start = parse_i64(&args.next_arg()?)?;
    let end = parse_i64(&args.next_arg()?)?;
    boxed(ZRemRange {
        key,
        span: Span::Rank(start, end),
    })
}

pub(super) fn parse_zremrangebyscore(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let min = parse_score_bound(&args.next_arg()?)?;
    let max = parse_score_bound(&args.next_arg()?)?;
    boxed(ZRemRange {
        key,
        span: Span::Score(min, max),
    })
}

pub(super) fn parse_zremrangebylex(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let min = parse_lex_bound(&args.next_arg()?)?;
    let max = parse_lex_bound(&args.next_arg()?)?;
    boxed(ZRemRange {
        key,
        span: Span::Lex(min, max),
    })
}

impl Execute for ZRemRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // An empty range leaves the key alone (no WATCH flag, no journal).
        let ranks = match peek_zset(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            Ok(Some(z)) => self.span.ranks(z),
        };
        if ranks.is_empty() {
            return Reply::Int(0);
        }
        let Ok(Some(z)) = zset_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a sorted set");
        };
        let removed = z.remove_ranks(ranks);
        let event = match self.span {
            Span::Rank(..) => "zremrangebyrank",
            Span::Score(..) => "zremrangebyscore",
            Span::Lex(..) => "zremrangebylex",
        };
        changed(db, &self.key, event);
        Reply::Int(removed as i64)
    }
}

/// ZPOPMIN / ZPOPMAX key [count]
struct ZPop {
    key: Bytes,
    end: End,
    /// None: one member, replied flat.
    count: Option<usize>,
}

fn parse_pop(mut args: Args, end: End) -> Result<Box<dyn Execute>, CommandError> {
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
        return Err(error::SYNTAX);
    }
    boxed(ZPop { key, end, count })
}

pub(super) fn parse_zpopmin(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pop(args, End::Min)
}

pub(super) fn parse_zpopmax(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pop(args, End::Max)
}

impl Execute for ZPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let nested = ctx.session.resp3 && self.count.is_some();
        let (db, stats) = ctx.db();
        match peek_zset(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Array(Vec::new()),
            Ok(Some(_)) if self.count == Some(0) => return Reply::Array(Vec::new()),
            Ok(Some(_)) => {}
        }
        let popped = pop(db, stats, &self.key, self.end, self.count.unwrap_or(1), now);
        popped_reply(popped, nested)
    }
}

/// The keys, end and count of ZMPOP and BZMPOP.
#[derive(Debug, Clone)]
pub(super) struct MPop {
    pub keys: Vec<Bytes>,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key … MIN|MAX [COUNT count]`.
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
    let end = match args.next_arg()? {
        w if is(&w, "MIN") => End::Min,
        w if is(&w, "MAX") => End::Max,
        _ => return Err(error::SYNTAX),
    };
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
        end,
        count: count.unwrap_or(1),
    })
}

impl MPop {
    /// Pops from the first key holding a sorted set: `Ok(None)` if every
    /// key is missing. A key of another type is an error.
    pub fn run(
        &self,
        db: &mut Db,
        stats: &mut KeyspaceStats,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        for key in &self.keys {
            if peek_zset(db, key, now, stats)?.is_none() {
                continue;
            }
            let popped = pop(db, stats, key, self.end, self.count, now);
            return Ok(Some(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                popped_reply(popped, true),
            ])));
        }
        Ok(None)
    }
}

/// ZMPOP numkeys key … MIN|MAX [COUNT count]
struct ZMPop(MPop);

pub(super) fn parse_zmpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(ZMPop(parse_mpop_args(args)?))
}

impl Execute for ZMPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match self.0.run(db, stats, now) {
            Ok(Some(reply)) => reply,
            Ok(None) => Reply::NullArray,
            Err(e) => e.into(),
        }
    }
}
