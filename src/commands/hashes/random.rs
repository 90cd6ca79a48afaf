//! HRANDFIELD and HSCAN.

use ahash::AHashSet;
use bytes::Bytes;

use super::read_hash;
use crate::commands::args::{is, parse_i64};
use crate::commands::keys::{parse_cursor, random_u64};
use crate::commands::scan;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::{glob, Hash};
use crate::protocol::{Encoder, Reply};

/// HRANDFIELD key [count [WITHVALUES]]
struct HRandField {
    key: Bytes,
    /// `None`: one field as a bulk string. Negative: that many picks,
    /// repeats allowed; positive: distinct fields.
    count: Option<i64>,
    withvalues: bool,
}

pub(super) fn parse_hrandfield(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let count = match args.try_next() {
        None => None,
        Some(raw) => {
            let n = parse_i64(&raw)?;
            if n == i64::MIN {
                return Err(error::HRANDFIELD_COUNT_RANGE);
            }
            Some(n)
        }
    };
    let withvalues = match (args.try_next(), args.is_empty()) {
        (None, _) => false,
        (Some(word), true) if is(&word, "WITHVALUES") => true,
        _ => return Err(error::SYNTAX),
    };
    if withvalues && count.is_some_and(|n| n.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err(error::VALUE_OUT_OF_RANGE);
    }
    boxed(HRandField {
        key,
        count,
        withvalues,
    })
}

fn pick(n: usize) -> usize {
    (random_u64() % n as u64) as usize
}

/// `n` distinct fields of `h` (`n` below its size).
fn distinct(h: &Hash, n: usize) -> Vec<(&[u8], &[u8])> {
    if n * 3 > h.len() {
        let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
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
        if let Some((f, v)) = h.random_field(pick) {
            if seen.insert(f) {
                out.push((f, v));
            }
        }
    }
    out
}

/// About how many bytes `n` fields picked with repeats take as a reply:
/// the mean size of up to 64 sampled fields plus framing per element.
fn repeated_reply_estimate(h: &Hash, n: u64, withvalues: bool) -> u64 {
    let samples = h.len().min(64);
    let sampled: u64 = (0..samples)
        .filter_map(|_| h.random_field(pick))
        .map(|(f, v)| (f.len() + if withvalues { v.len() } else { 0 }) as u64)
        .sum();
    let mean = sampled / samples.max(1) as u64;
    let per_element = mean + 32 + if withvalues { 32 } else { 0 };
    n.saturating_mul(per_element)
}

/// Fields, with their values when asked: flat in RESP2, `[[f, v], …]` in
/// RESP3.
fn fields_reply(items: &[(&[u8], &[u8])], withvalues: bool, resp3: bool) -> Reply {
    let room = items
        .iter()
        .map(|(f, v)| f.len() + v.len() + 32)
        .sum::<usize>();
    let mut out = Encoder::with_capacity(resp3, room + 16);
    let nested = withvalues && resp3;
    out.array(if withvalues && !resp3 {
        2 * items.len()
    } else {
        items.len()
    });
    for (f, v) in items {
        if nested {
            out.array(2);
        }
        out.bulk(f);
        if withvalues {
            out.bulk(v);
        }
    }
    out.finish()
}

impl Execute for HRandField {
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
        let h = match read_hash(db, &self.key, now, stats) {
            Ok(h) => h,
            Err(e) => return e.into(),
        };
        let Some(count) = self.count else {
            return match h.and_then(|h| h.random_field(pick)) {
                Some((f, _)) => Reply::Bulk(Bytes::copy_from_slice(f)),
                None => Reply::Null,
            };
        };
        let Some(h) = h.filter(|_| count != 0) else {
            return Reply::Array(Vec::new());
        };
        let n = count.unsigned_abs() as usize;
        if count < 0 {
            // Repeats allowed: the reply's size is the client's choice.
            let estimate = repeated_reply_estimate(h, n as u64, self.withvalues);
            if estimate > limit {
                return error::reply_too_large("HRANDFIELD", estimate, limit).into();
            }
        }
        let picked: Vec<(&[u8], &[u8])> = if count < 0 {
            (0..n).filter_map(|_| h.random_field(pick)).collect()
        } else if n >= h.len() {
            h.iter().collect()
        } else {
            distinct(h, n)
        };
        fields_reply(&picked, self.withvalues, resp3)
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]
struct HScan {
    key: Bytes,
    cursor: u64,
    /// The options, or the error they gave: judged only when the key holds
    /// a hash, as Redis does.
    options: Result<scan::ScanOptions, CommandError>,
}

pub(super) fn parse_hscan(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let cursor = parse_cursor(&args.next_arg()?).ok_or(error::INVALID_CURSOR)?;
    let options = scan::options(args, true);
    boxed(HScan {
        key,
        cursor,
        options,
    })
}

impl Execute for HScan {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let h = match read_hash(db, &self.key, now, stats) {
            Ok(Some(h)) => h,
            Ok(None) => return scan::reply(0, Vec::new()),
            Err(e) => return e.into(),
        };
        let opts = match self.options {
            Ok(opts) => opts,
            Err(e) => return e.into(),
        };
        let mut found = Vec::new();
        // A small hash (Redis's listpack) comes back whole with cursor 0.
        let cursor = usize::try_from(self.cursor).unwrap_or(usize::MAX);
        let next = h.scan(cursor, opts.count, |f, v| {
            if opts.pattern.as_ref().is_none_or(|p| glob::matches(p, f)) {
                found.push(Reply::Bulk(Bytes::copy_from_slice(f)));
                if !opts.novalues {
                    found.push(Reply::Bulk(Bytes::copy_from_slice(v)));
                }
            }
        });
        scan::reply(next, found)
    }
}
