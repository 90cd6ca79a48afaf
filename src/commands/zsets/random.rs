//! ZRANDMEMBER and ZSCAN.

use ahash::AHashSet;
use bytes::Bytes;

use super::{limits, members_reply, read_zset};
use crate::commands::args::{is, parse_i64};
use crate::commands::keys::{parse_cursor, random_u64};
use crate::commands::scan;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::glob;
use crate::keyspace::ZSet;
use crate::protocol::reply::format_double;
use crate::protocol::Reply;

/// ZRANDMEMBER key [count [WITHSCORES]]
struct ZRandMember {
    key: Bytes,
    /// `None`: one member as a bulk string. Negative: that many picks,
    /// repeats allowed; positive: distinct members.
    count: Option<i64>,
    withscores: bool,
}

pub(super) fn parse_zrandmember(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let count = match args.try_next() {
        None => None,
        Some(raw) => {
            let n = parse_i64(&raw)?;
            if n == i64::MIN {
                return Err(error::RANDMEMBER_COUNT_RANGE);
            }
            Some(n)
        }
    };
    let withscores = match (args.try_next(), args.is_empty()) {
        (None, _) => false,
        (Some(word), true) if is(&word, "WITHSCORES") => true,
        _ => return Err(error::SYNTAX),
    };
    if withscores && count.is_some_and(|n| n.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err(error::VALUE_OUT_OF_RANGE);
    }
    boxed(ZRandMember {
        key,
        count,
        withscores,
    })
}

fn pick(slots: usize) -> usize {
    (random_u64() % slots as u64) as usize
}

/// `n` distinct members of `set` (`n` below its size), in no set order.
fn distinct(set: &ZSet, n: usize) -> Vec<(&Bytes, f64)> {
    if n * 3 > set.len() {
        // Many of them: shuffle the first `n` of all members into place.
        let mut all: Vec<(&Bytes, f64)> = set.members().collect();
        for i in 0..n {
            let j = i + pick(all.len() - i);
            all.swap(i, j);
        }
        all.truncate(n);
        return all;
    }
    let mut seen = AHashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        if let Some((m, s)) = set.random_member(pick) {
            if seen.insert(m.clone()) {
                out.push((m, s));
            }
        }
    }
    out
}

/// About how many bytes `n` members picked with repeats take as a reply
/// (and, as references, while it is built): the mean size of up to 64
/// sampled members plus the framing and the reference per element.
fn repeated_reply_estimate(set: &ZSet, n: u64, withscores: bool) -> u64 {
    let samples = set.len().min(64);
    let sampled: u64 = (0..samples)
        .filter_map(|_| set.random_member(pick))
        .map(|(m, _)| m.len() as u64)
        .sum();
    let mean = sampled / samples.max(1) as u64;
    let per_element = mean + 32 + if withscores { 32 } else { 0 };
    n.saturating_mul(per_element)
}

impl Execute for ZRandMember {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let limit = ctx
            .shared
            .config
            .read()
            .expect("config lock")
            .proto_max_bulk_len as u64;
        let (db, stats) = ctx.db();
        let set = match read_zset(db, &self.key, now, stats) {
            Ok(set) => set,
            Err(e) => return e.into(),
        };
        let Some(count) = self.count else {
            return match set.and_then(|s| s.random_member(pick)) {
                Some((m, _)) => Reply::Bulk(m.clone()),
                None => Reply::Null,
            };
        };
        let Some(set) = set.filter(|_| count != 0) else {
            return Reply::Array(Vec::new());
        };
        let n = count.unsigned_abs() as usize;
        if count < 0 {
            // Repeats allowed: the reply's size is the client's choice, not
            // the set's. Bound it before building it.
            let estimate = repeated_reply_estimate(set, n as u64, self.withscores);
            if estimate > limit {
                return error::reply_too_large("ZRANDMEMBER", estimate, limit).into();
            }
        }
        let picked: Vec<(&Bytes, f64)> = if count < 0 {
            (0..n).filter_map(|_| set.random_member(pick)).collect()
        } else if n >= set.len() {
            set.members().collect()
        } else {
            distinct(set, n)
        };
        members_reply(picked.into_iter(), self.withscores, resp3)
    }
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
struct ZScan {
    key: Bytes,
    cursor: u64,
    /// The options, or the error they gave: Redis judges them only when
    /// the key holds a sorted set.
    options: Result<scan::ScanOptions, CommandError>,
}

pub(super) fn parse_zscan(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let cursor = parse_cursor(&args.next_arg()?).ok_or(error::INVALID_CURSOR)?;
    let options = scan::options(args, false);
    boxed(ZScan {
        key,
        cursor,
        options,
    })
}

impl Execute for ZScan {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let set = match read_zset(db, &self.key, now, stats) {
            Ok(Some(set)) => set,
            Ok(None) => return scan::reply(0, Vec::new()),
            Err(e) => return e.into(),
        };
        let scan::ScanOptions { pattern, count, .. } = match self.options {
            Ok(opts) => opts,
            Err(e) => return e.into(),
        };
        let mut found = Vec::new();
        let mut visit = |member: &Bytes, score: f64| {
            if pattern.as_ref().is_none_or(|p| glob::matches(p, member)) {
                found.push(Reply::Bulk(member.clone()));
                found.push(Reply::Bulk(Bytes::from(format_double(score))));
            }
        };
        // A small set (Redis's listpack encoding) comes back whole, in
        // score order, with cursor 0, as Redis sends it.
        let next = if set.encoding_name(limits) == "listpack" {
            set.iter().for_each(|(m, s)| visit(m, s));
            0
        } else {
            let cursor = usize::try_from(self.cursor).unwrap_or(usize::MAX);
            set.scan(cursor, count, visit)
        };
        scan::reply(next, found)
    }
}
