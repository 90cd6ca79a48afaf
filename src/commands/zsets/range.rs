//! ZRANGE (and ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX,
//! ZREVRANGEBYLEX, ZREVRANGE, which are fixed forms of it), ZRANGESTORE,
//! ZCOUNT, ZLEXCOUNT, ZRANK and ZREVRANK.
//!
//! Every range becomes ascending ranks `[lo, hi)` of the set, then LIMIT
//! picks a window of it from the end the reply starts at.

use std::ops::Range;

use bytes::Bytes;

use super::{
    limits, members_reply, parse_lex_bound, parse_score_bound, read_zset, score_reply, store,
};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::zset::{LexBound, ScoreBound};
use crate::keyspace::ZSet;
use crate::protocol::Reply;

/// What a range selects.
#[derive(Debug, Clone)]
enum By {
    /// Positions (negative from the end), in the reply's direction.
    Rank(i64, i64),
    /// Scores.
    Score(ScoreBound, ScoreBound),
    /// Member bytes.
    Lex(LexBound, LexBound),
}

/// A parsed range request.
#[derive(Debug, Clone)]
struct RangeQuery {
    by: By,
    rev: bool,
    /// LIMIT offset count (count < 0: no limit).
    limit: Option<(i64, i64)>,
}

impl RangeQuery {
    /// The ascending ranks selected, and whether to walk them downwards.
    fn ranks(&self, z: &ZSet) -> Range<usize> {
        let len = z.len() as i64;
        let all = match &self.by {
            By::Rank(start, end) => {
                let (mut start, mut end) = (*start, *end);
                if start < 0 {
                    start += len;
                }
                if end < 0 {
                    end += len;
                }
                let start = start.max(0);
                if start > end || start >= len {
                    return 0..0;
                }
                let end = end.min(len - 1);
                if self.rev {
                    (len - 1 - end) as usize..(len - start) as usize
                } else {
                    start as usize..(end + 1) as usize
                }
            }
            By::Score(min, max) => z.score_ranks(*min, *max),
            By::Lex(min, max) => z.lex_ranks(min, max),
        };
        let Some((offset, count)) = self.limit else {
            return all;
        };
        if offset < 0 {
            return 0..0;
        }
        let offset = (offset as u64).min(all.len() as u64) as usize;
        let take = if count < 0 {
            all.len()
        } else {
            (count as u64).min(all.len() as u64) as usize
        };
        let take = take.min(all.len() - offset);
        if self.rev {
            all.end - offset - take..all.end - offset
        } else {
            all.start + offset..all.start + offset + take
        }
    }

    fn items<'a>(&self, z: &'a ZSet) -> crate::keyspace::zset::Iter<'a> {
        let ranks = self.ranks(z);
        if self.rev {
            z.range_rev(ranks)
        } else {
            z.range(ranks)
        }
    }
}

/// The form of ZRANGE being parsed.
#[derive(Debug, Clone, Copy)]
struct Form {
    /// BYSCORE/BYLEX fixed by the command name (None: ZRANGE chooses).
    by: Option<ByKind>,
    /// REV fixed by the command name.
    rev: Option<bool>,
    /// ZRANGESTORE: no WITHSCORES.
    store: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByKind {
    Rank,
    Score,
    Lex,
}

/// ZRANGE-family commands.
struct ZRange {
    key: Bytes,
    query: RangeQuery,
    withscores: bool,
    /// ZRANGESTORE's destination.
    dst: Option<Bytes>,
}

fn parse_range(mut args: Args, form: Form) -> Result<Box<dyn Execute>, CommandError> {
    let dst = if form.store {
        Some(args.next_arg()?)
    } else {
        None
    };
    let key = args.next_arg()?;
    let (first, second) = (args.next_arg()?, args.next_arg()?);
    let (mut by, mut rev) = (form.by, form.rev);
    let mut withscores = false;
    let mut limit = None;
    while let Some(opt) = args.try_next() {
        if is(&opt, "WITHSCORES") && !form.store {
            withscores = true;
        } else if is(&opt, "LIMIT") && args.len() >= 2 {
            limit = Some((args.next_i64()?, args.next_i64()?));
        } else if is(&opt, "BYSCORE") && by.is_none() {
            by = Some(ByKind::Score);
        } else if is(&opt, "BYLEX") && by.is_none() {
            by = Some(ByKind::Lex);
        } else if is(&opt, "REV") && rev.is_none() {
            rev = Some(true);
        } else {
            return Err(error::SYNTAX);
        }
    }
    let by = by.unwrap_or(ByKind::Rank);
    let rev = rev.unwrap_or(false);
    // Redis cannot tell `LIMIT 0 -1` from no LIMIT on a rank range.
    if by == ByKind::Rank && limit.is_some_and(|(_, count)| count != -1) {
        return Err(error::LIMIT_NEEDS_BY);
    }
    if withscores && by == ByKind::Lex {
        return Err(error::WITHSCORES_BYLEX);
    }
    // Reversed score and lex ranges are given highest first.
    let (min, max) = if rev && by != ByKind::Rank {
        (second, first)
    } else {
        (first, second)
    };
    let by = match by {
        ByKind::Rank => By::Rank(parse_i64(&min)?, parse_i64(&max)?),
        ByKind::Score => By::Score(parse_score_bound(&min)?, parse_score_bound(&max)?),
        ByKind::Lex => By::Lex(parse_lex_bound(&min)?, parse_lex_bound(&max)?),
    };
    let limit = match by {
        By::Rank(..) => None,
        _ => limit,
    };
    boxed(ZRange {
        key,
        query: RangeQuery { by, rev, limit },
        withscores,
        dst,
    })
}

const fn form(by: Option<ByKind>, rev: Option<bool>) -> Form {
    Form {
        by,
        rev,
        store: false,
    }
}

pub(super) fn parse_zrange(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(None, None))
}

pub(super) fn parse_zrangestore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(
        args,
        Form {
            store: true,
            ..form(None, None)
        },
    )
}

pub(super) fn parse_zrangebyscore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(Some(ByKind::Score), Some(false)))
}

pub(super) fn parse_zrevrangebyscore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(Some(ByKind::Score), Some(true)))
}

pub(super) fn parse_zrangebylex(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(Some(ByKind::Lex), Some(false)))
}

pub(super) fn parse_zrevrangebylex(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(Some(ByKind::Lex), Some(true)))
}

pub(super) fn parse_zrevrange(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_range(args, form(Some(ByKind::Rank), Some(true)))
}

impl Execute for ZRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let nested = ctx.session.resp3;
        let limits = limits(ctx);
        let (db, stats) = ctx.db();
        let z = match read_zset(db, &self.key, now, stats) {
            Ok(z) => z,
            Err(e) => return e.into(),
        };
        let Some(dst) = self.dst else {
            return match z {
                Some(z) => members_reply(self.query.items(z), self.withscores, nested),
                None => Reply::Array(Vec::new()),
            };
        };
        let result = match z {
            Some(z) => ZSet::from_pairs(self.query.items(z).map(|(m, s)| (m.clone(), s)), limits),
            None => ZSet::new(),
        };
        let n = result.len();
        store(db, dst, result, now, "zrangestore");
        Reply::Int(n as i64)
    }
}

/// ZCOUNT key min max / ZLEXCOUNT key min max
struct ZCount {
    key: Bytes,
    by: By,
}

pub(super) fn parse_zcount(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let min = parse_score_bound(&args.next_arg()?)?;
    let max = parse_score_bound(&args.next_arg()?)?;
    boxed(ZCount {
        key,
        by: By::Score(min, max),
    })
}

pub(super) fn parse_zlexcount(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let min = parse_lex_bound(&args.next_arg()?)?;
    let max = parse_lex_bound(&args.next_arg()?)?;
    boxed(ZCount {
        key,
        by: By::Lex(min, max),
    })
}

impl Execute for ZCount {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let z = match read_zset(db, &self.key, now, stats) {
            Ok(Some(z)) => z,
            Ok(None) => return Reply::Int(0),
            Err(e) => return e.into(),
        };
        let query = RangeQuery {
            by: self.by,
            rev: false,
            limit: None,
        };
        Reply::Int(query.ranks(z).len() as i64)
    }
}

/// ZRANK / ZREVRANK key member [WITHSCORE]
struct ZRank {
    key: Bytes,
    member: Bytes,
    rev: bool,
    withscore: bool,
}

fn parse_rank(mut args: Args, rev: bool) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let member = args.next_arg()?;
    let withscore = match (args.try_next(), args.is_empty()) {
        (None, _) => false,
        (Some(w), true) if is(&w, "WITHSCORE") => true,
        _ => return Err(error::SYNTAX),
    };
    boxed(ZRank {
        key,
        member,
        rev,
        withscore,
    })
}

pub(super) fn parse_zrank(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_rank(args, false)
}

pub(super) fn parse_zrevrank(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_rank(args, true)
}

impl Execute for ZRank {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let missing = if self.withscore {
            Reply::NullArray
        } else {
            Reply::Null
        };
        let z = match read_zset(db, &self.key, now, stats) {
            Ok(Some(z)) => z,
            Ok(None) => return missing,
            Err(e) => return e.into(),
        };
        let (Some(rank), Some(score)) = (z.rank(&self.member), z.score(&self.member)) else {
            return missing;
        };
        let rank = if self.rev { z.len() - 1 - rank } else { rank };
        if self.withscore {
            Reply::Array(vec![Reply::Int(rank as i64), score_reply(score)])
        } else {
            Reply::Int(rank as i64)
        }
    }
}
