//! LLEN, LRANGE, LINDEX and LPOS.

use bytes::Bytes;

use super::{position, read_list};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::list::Elem;
use crate::protocol::{Encoder, Reply};

/// LLEN key
struct LLen {
    key: Bytes,
}

pub(super) fn parse_llen(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(LLen {
        key: args.next_arg()?,
    })
}

impl Execute for LLen {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_list(db, &self.key, now, stats) {
            Err(e) => e.into(),
            Ok(l) => Reply::Int(l.map_or(0, |l| l.len() as i64)),
        }
    }
}

/// LRANGE key start stop
struct LRange {
    key: Bytes,
    start: i64,
    stop: i64,
}

pub(super) fn parse_lrange(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let start = parse_i64(&args.next_arg()?)?;
    let stop = parse_i64(&args.next_arg()?)?;
    boxed(LRange { key, start, stop })
}

/// The positions `start..=stop` (Redis indexes, negative from the end)
/// select in a list of `len`, as a half-open range (empty if none).
pub(super) fn span(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let stop = if stop < 0 { stop + len } else { stop };
    if start > stop || start >= len {
        return 0..0;
    }
    start as usize..(stop.min(len - 1) + 1) as usize
}

/// Appends one element to a reply being encoded.
fn put_elem(out: &mut Encoder, e: Elem<'_>) {
    match e {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(v) => out.bulk(itoa::Buffer::new().format(v).as_bytes()),
    }
}

impl Execute for LRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let resp3 = ctx.session.resp3;
        let (db, stats) = ctx.db();
        let l = match read_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Array(Vec::new()),
            Ok(Some(l)) => l,
        };
        let r = span(self.start, self.stop, l.len());
        let mut room = 16;
        for e in l.range(r.start, r.end) {
            room += e.len() + 16;
        }
        let mut out = Encoder::with_capacity(resp3, room);
        out.array(r.len());
        for e in l.range(r.start, r.end) {
            put_elem(&mut out, e);
        }
        out.finish()
    }
}

/// LINDEX key index
struct LIndex {
    key: Bytes,
    index: i64,
}

pub(super) fn parse_lindex(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let index = parse_i64(&args.next_arg()?)?;
    boxed(LIndex { key, index })
}

impl Execute for LIndex {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_list(db, &self.key, now, stats) {
            Err(e) => e.into(),
            Ok(None) => Reply::Null,
            Ok(Some(l)) => {
                Reply::bulk_or_null(position(self.index, l.len()).and_then(|i| l.get(i)))
            }
        }
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
struct LPos {
    key: Bytes,
    elem: Bytes,
    rank: i64,
    /// None: one index, replied as an integer.
    count: Option<usize>,
    /// 0: every element.
    maxlen: usize,
}

pub(super) fn parse_lpos(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let elem = args.next_arg()?;
    let mut cmd = LPos {
        key,
        elem,
        rank: 1,
        count: None,
        maxlen: 0,
    };
    while let Some(opt) = args.try_next() {
        let Some(raw) = args.try_next() else {
            return Err(error::SYNTAX);
        };
        if is(&opt, "RANK") {
            let rank = parse_i64(&raw)?;
            if rank == 0 {
                return Err(error::LPOS_RANK_ZERO);
            }
            if rank == i64::MIN {
                return Err(error::LPOS_RANK_RANGE);
            }
            cmd.rank = rank;
        } else if is(&opt, "COUNT") {
            let n = parse_i64(&raw)?;
            if n < 0 {
                return Err(error::LPOS_COUNT_NEGATIVE);
            }
            cmd.count = Some(n as usize);
        } else if is(&opt, "MAXLEN") {
            let n = parse_i64(&raw)?;
            if n < 0 {
                return Err(error::LPOS_MAXLEN_NEGATIVE);
            }
            cmd.maxlen = n as usize;
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(cmd)
}

impl Execute for LPos {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let l = match read_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) if self.count.is_some() => return Reply::Array(Vec::new()),
            Ok(None) => return Reply::Null,
            Ok(Some(l)) => l,
        };
        let len = l.len();
        let want = match self.count {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => 1,
        };
        let limit = if self.maxlen == 0 { len } else { self.maxlen };
        let mut skip = self.rank.unsigned_abs() - 1;
        let mut found = Vec::new();
        let mut check = |i: usize, e: Elem<'_>| {
            if e.eq_bytes(&self.elem) {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push(i);
                }
            }
            found.len() < want
        };
        if self.rank > 0 {
            for (i, e) in l.iter().enumerate().take(limit) {
                if !check(i, e) {
                    break;
                }
            }
        } else {
            for (n, e) in l.iter().rev().enumerate().take(limit) {
                if !check(len - 1 - n, e) {
                    break;
                }
            }
        }
        match self.count {
            None => found.first().map_or(Reply::Null, |&i| Reply::Int(i as i64)),
            Some(_) => Reply::Array(found.into_iter().map(|i| Reply::Int(i as i64)).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_clamp_like_redis() {
        assert_eq!(span(0, -1, 5), 0..5);
        assert_eq!(span(-100, 100, 5), 0..5);
        assert_eq!(span(3, 1, 5), 0..0);
        assert_eq!(span(5, 10, 5), 0..0);
        assert_eq!(span(-2, -1, 5), 3..5);
        assert_eq!(span(0, 0, 0), 0..0);
        assert_eq!(span(i64::MIN, i64::MAX, 3), 0..3);
    }
}
