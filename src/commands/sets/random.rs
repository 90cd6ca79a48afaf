//! SPOP, SRANDMEMBER and SSCAN.

use ahash::AHashSet;
use bytes::Bytes;

use super::{array_reply, limits, peek_set, read_set, set_mut, set_reply};
use crate::commands::args::{parse_i64, parse_i64_opt};
use crate::commands::keys::{parse_cursor, random_u64};
use crate::commands::scan;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::set::Encoding;
use crate::keyspace::{glob, Set};
use crate::protocol::Reply;

fn pick(slots: usize) -> usize {
    (random_u64() % slots as u64) as usize
}

/// SPOP key [count]
struct SPop {
    key: Bytes,
    /// `None`: one member as a bulk string; else a set of up to this many.
    count: Option<u64>,
}

pub(super) fn parse_spop(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let count = match args.try_next() {
        None => None,
        Some(raw) => Some(
            parse_i64_opt(&raw)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or(error::MUST_BE_POSITIVE)?,
        ),
    };
    if !args.is_empty() {
        return Err(error::SYNTAX);
    }
    boxed(SPop { key, count })
}

impl Execute for SPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let len = match peek_set(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) if self.count.is_none() => return Reply::Null,
            Ok(None) => return Reply::Set(Vec::new()),
            Ok(Some(set)) => set.len(),
        };
        let Some(count) = self.count else {
            let Ok(Some(set)) = set_mut(db, &self.key, now, stats) else {
                return Reply::Null;
            };
            let Some(member) = set.random_member(pick).map(Bytes::copy_from_slice) else {
                return Reply::Null;
            };
            set.remove(&member);
            super::changed(db, &self.key, "spop");
            return Reply::Bulk(member);
        };
        if count == 0 {
            return Reply::Set(Vec::new());
        }
        if count >= len as u64 {
            // Everything: the key goes (journaled as a delete).
            let Some(entry) = db.remove(&self.key) else {
                return Reply::Set(Vec::new());
            };
            db.notify(crate::keyspace::notify::SET, "spop", &self.key);
            db.notify(crate::keyspace::notify::GENERIC, "del", &self.key);
            let crate::keyspace::Value::Set(set) = entry.value else {
                return Reply::Set(Vec::new());
            };
            return set_reply(set.iter().collect::<Vec<_>>().into_iter(), resp3);
        }
        let Ok(Some(set)) = set_mut(db, &self.key, now, stats) else {
            return Reply::Set(Vec::new());
        };
        let mut popped = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let Some(member) = set.random_member(pick).map(Bytes::copy_from_slice) else {
                break;
            };
            set.remove(&member);
            popped.push(member);
        }
        db.notify(crate::keyspace::notify::SET, "spop", &self.key);
        set_reply(popped.iter(), resp3)
    }
}

/// SRANDMEMBER key [count]
struct SRandMember {
    key: Bytes,
    /// `None`: one member as a bulk string. Negative: that many picks,
    /// repeats allowed; positive: distinct members.
    count: Option<i64>,
}

pub(super) fn parse_srandmember(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
    if !args.is_empty() {
        return Err(error::SYNTAX);
    }
    boxed(SRandMember { key, count })
}

/// `n` distinct members of `set` (`n` below its size), in no set order.
fn distinct(set: &Set, n: usize) -> Vec<&[u8]> {
    if n * 3 > set.len() {
        // Many of them: shuffle the first `n` of all members into place.
        let mut all: Vec<&[u8]> = set.iter().collect();
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
        if let Some(m) = set.random_member(pick) {
            if seen.insert(m) {
                out.push(m);
            }
        }
    }
    out
}

/// About how many bytes `n` members picked with repeats take as a reply
/// (and, as references, while it is built): the mean size of up to 64
/// sampled members plus the framing and the reference per element.
fn repeated_reply_estimate(set: &Set, n: u64) -> u64 {
    let samples = set.len().min(64);
    let sampled: u64 = (0..samples)
        .filter_map(|_| set.random_member(pick))
        .map(|m| m.len() as u64)
        .sum();
    let mean = sampled / samples.max(1) as u64;
    n.saturating_mul(mean + 32)
}

impl Execute for SRandMember {
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
        let set = match read_set(db, &self.key, now, stats) {
            Ok(set) => set,
            Err(e) => return e.into(),
        };
        let Some(count) = self.count else {
            return match set.and_then(|s| s.random_member(pick)) {
                Some(m) => Reply::Bulk(Bytes::copy_from_slice(m)),
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
            let estimate = repeated_reply_estimate(set, n as u64);
            if estimate > limit {
                return error::reply_too_large("SRANDMEMBER", estimate, limit).into();
            }
            let picked: Vec<&[u8]> = (0..n).filter_map(|_| set.random_member(pick)).collect();
            return array_reply(picked.into_iter(), resp3);
        }
        let picked: Vec<&[u8]> = if n >= set.len() {
            set.iter().collect()
        } else {
            distinct(set, n)
        };
        array_reply(picked.into_iter(), resp3)
    }
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
struct SScan {
    key: Bytes,
    cursor: u64,
    /// The options, or the error they gave: Redis judges them only when
    /// the key holds a set.
    options: Result<scan::ScanOptions, CommandError>,
}

pub(super) fn parse_sscan(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let cursor = parse_cursor(&args.next_arg()?).ok_or(error::INVALID_CURSOR)?;
    let options = scan::options(args, false);
    boxed(SScan {
        key,
        cursor,
        options,
    })
}

impl Execute for SScan {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let set = match read_set(db, &self.key, now, stats) {
            Ok(Some(set)) => set,
            Ok(None) => return scan::reply(0, Vec::new()),
            Err(e) => return e.into(),
        };
        let scan::ScanOptions { pattern, count, .. } = match self.options {
            Ok(opts) => opts,
            Err(e) => return e.into(),
        };
        let mut found = Vec::new();
        let mut visit = |member: &[u8]| {
            if pattern.as_ref().is_none_or(|p| glob::matches(p, member)) {
                found.push(Reply::Bulk(Bytes::copy_from_slice(member)));
            }
        };
        // A small set (intset, listpack) comes back whole with cursor 0,
        // as Redis sends it.
        let next = if set.encoding(limits) != Encoding::Hashtable {
            set.listed(limits).into_iter().for_each(&mut visit);
            0
        } else {
            let cursor = usize::try_from(self.cursor).unwrap_or(usize::MAX);
            set.scan(cursor, count, visit)
        };
        scan::reply(next, found)
    }
}
