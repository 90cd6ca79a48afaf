//! HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL, HLEN, HEXISTS, HKEYS,
//! HVALS, HSTRLEN, HINCRBY and HINCRBYFLOAT.

use bytes::Bytes;

use super::{drop_if_empty, hash_mut, hash_mut_or_new, limits, peek_hash, read_hash};
use crate::commands::args::{parse_i64, parse_i64_opt};
use crate::commands::strings::longdouble;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::keyspace::Hash;
use crate::protocol::{Encoder, Reply};

/// HSET / HMSET key field value [field value …]
struct HSet {
    key: Bytes,
    pairs: Vec<(Bytes, Bytes)>,
    /// HMSET replies OK instead of the count of new fields.
    ok: bool,
}

fn parse_pairs(mut args: Args, name: &str, ok: bool) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let rest = args.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(error::wrong_arity(name));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    let mut words = rest.into_iter();
    while let (Some(f), Some(v)) = (words.next(), words.next()) {
        pairs.push((f, v));
    }
    boxed(HSet { key, pairs, ok })
}

pub(super) fn parse_hset(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pairs(args, "hset", false)
}

pub(super) fn parse_hmset(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_pairs(args, "hmset", true)
}

impl Execute for HSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let HSet { key, pairs, ok } = *self;
        let (db, stats) = ctx.db();
        let h = match hash_mut_or_new(db, &key, now, stats) {
            Ok(h) => h,
            Err(e) => return e.into(),
        };
        let longest = pairs
            .iter()
            .map(|(f, v)| f.len().max(v.len()))
            .max()
            .unwrap_or(0);
        h.reserve(pairs.len(), longest, limits);
        let mut added = 0;
        for (f, v) in pairs {
            if h.insert(f, v, limits) {
                added += 1;
            }
        }
        db.notify(notify::HASH, "hset", &key);
        if ok {
            Reply::Simple("OK")
        } else {
            Reply::Int(added)
        }
    }
}

/// HSETNX key field value
struct HSetNx {
    key: Bytes,
    field: Bytes,
    value: Bytes,
}

pub(super) fn parse_hsetnx(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(HSetNx {
        key: args.next_arg()?,
        field: args.next_arg()?,
        value: args.next_arg()?,
    })
}

impl Execute for HSetNx {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match peek_hash(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(Some(h)) if h.contains(&self.field) => return Reply::Int(0),
            Ok(_) => {}
        }
        match hash_mut_or_new(db, &self.key, now, stats) {
            Ok(h) => {
                let longest = self.field.len().max(self.value.len());
                h.reserve(1, longest, limits);
                h.insert(self.field, self.value, limits);
                db.notify(notify::HASH, "hset", &self.key);
                Reply::Int(1)
            }
            Err(e) => e.into(),
        }
    }
}

/// A read-only command on one hash: how it answers.
#[derive(Clone, Copy)]
enum Query {
    Len,
    GetAll,
    Keys,
    Vals,
}

/// HLEN / HGETALL / HKEYS / HVALS key
struct Whole {
    key: Bytes,
    what: Query,
}

fn parse_whole(mut args: Args, what: Query) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Whole {
        key: args.next_arg()?,
        what,
    })
}

pub(super) fn parse_hlen(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_whole(args, Query::Len)
}

pub(super) fn parse_hgetall(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_whole(args, Query::GetAll)
}

pub(super) fn parse_hkeys(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_whole(args, Query::Keys)
}

pub(super) fn parse_hvals(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_whole(args, Query::Vals)
}

/// Every field (and/or value) of `h`, encoded straight from the hash:
/// HGETALL is a map in RESP3, a flat array in RESP2.
fn whole_reply(h: Option<&Hash>, what: Query, resp3: bool) -> Reply {
    let len = h.map_or(0, Hash::len);
    let room: usize = h.map_or(0, |h| h.iter().map(|(f, v)| f.len() + v.len() + 32).sum());
    let mut out = Encoder::with_capacity(resp3, room + 16);
    match what {
        Query::GetAll => out.map(len),
        _ => out.array(len),
    }
    for (f, v) in h.into_iter().flat_map(Hash::iter) {
        match what {
            Query::GetAll => {
                out.bulk(f);
                out.bulk(v);
            }
            Query::Keys => out.bulk(f),
            Query::Vals => out.bulk(v),
            Query::Len => {}
        }
    }
    out.finish()
}

impl Execute for Whole {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let h = match read_hash(db, &self.key, now, stats) {
            Ok(h) => h,
            Err(e) => return e.into(),
        };
        match self.what {
            Query::Len => Reply::Int(h.map_or(0, Hash::len) as i64),
            what => whole_reply(h, what, resp3),
        }
    }
}

/// A command on one field of one hash.
#[derive(Clone, Copy)]
enum FieldQuery {
    Get,
    Exists,
    StrLen,
}

/// HGET / HEXISTS / HSTRLEN key field
struct OneField {
    key: Bytes,
    field: Bytes,
    what: FieldQuery,
}

fn parse_one(mut args: Args, what: FieldQuery) -> Result<Box<dyn Execute>, CommandError> {
    boxed(OneField {
        key: args.next_arg()?,
        field: args.next_arg()?,
        what,
    })
}

pub(super) fn parse_hget(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_one(args, FieldQuery::Get)
}

pub(super) fn parse_hexists(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_one(args, FieldQuery::Exists)
}

pub(super) fn parse_hstrlen(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_one(args, FieldQuery::StrLen)
}

impl Execute for OneField {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let value = match read_hash(db, &self.key, now, stats) {
            Ok(h) => h.and_then(|h| h.get(&self.field)),
            Err(e) => return e.into(),
        };
        match self.what {
            FieldQuery::Get => {
                value.map_or(Reply::Null, |v| Reply::Bulk(Bytes::copy_from_slice(v)))
            }
            FieldQuery::Exists => Reply::Int(value.is_some() as i64),
            FieldQuery::StrLen => Reply::Int(value.map_or(0, <[u8]>::len) as i64),
        }
    }
}

/// HMGET key field [field …]
struct HMGet {
    key: Bytes,
    fields: Vec<Bytes>,
}

pub(super) fn parse_hmget(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HMGet {
        key,
        fields: args.rest(),
    })
}

/// The values of `fields` (nulls for missing ones), as HMGET replies.
pub(super) fn values_reply(h: Option<&Hash>, fields: &[Bytes]) -> Reply {
    Reply::Array(
        fields
            .iter()
            .map(|f| match h.and_then(|h| h.get(f)) {
                Some(v) => Reply::Bulk(Bytes::copy_from_slice(v)),
                None => Reply::Null,
            })
            .collect(),
    )
}

impl Execute for HMGet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_hash(db, &self.key, now, stats) {
            Ok(h) => values_reply(h, &self.fields),
            Err(e) => e.into(),
        }
    }
}

/// HDEL key field [field …]
struct HDel {
    key: Bytes,
    fields: Vec<Bytes>,
}

pub(super) fn parse_hdel(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HDel {
        key,
        fields: args.rest(),
    })
}

impl Execute for HDel {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // Nothing to delete: the key is left alone (no WATCH flag).
        match peek_hash(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            Ok(Some(h)) if !self.fields.iter().any(|f| h.contains(f)) => return Reply::Int(0),
            Ok(Some(_)) => {}
        }
        let mut removed = 0;
        if let Ok(Some(h)) = hash_mut(db, &self.key, now, stats) {
            for f in &self.fields {
                if h.remove(f) {
                    removed += 1;
                }
            }
        }
        db.notify(notify::HASH, "hdel", &self.key);
        drop_if_empty(db, &self.key);
        Reply::Int(removed)
    }
}

/// HINCRBY key field increment
struct HIncrBy {
    key: Bytes,
    field: Bytes,
    by: i64,
}

pub(super) fn parse_hincrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let field = args.next_arg()?;
    let by = parse_i64(&args.next_arg()?)?;
    boxed(HIncrBy { key, field, by })
}

impl Execute for HIncrBy {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let (current, ttl) = match peek_hash(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(h) => match h.and_then(|h| Some((h.get(&self.field)?, h.expire_at(&self.field)))) {
                Some((raw, ttl)) => match parse_i64_opt(raw) {
                    Some(n) => (n, ttl),
                    None => return error::HASH_NOT_INTEGER.into(),
                },
                None => (0, None),
            },
        };
        let Some(sum) = current.checked_add(self.by) else {
            return error::OVERFLOW.into();
        };
        match hash_mut_or_new(db, &self.key, now, stats) {
            Ok(h) => {
                let text = Bytes::from(sum.to_string());
                h.reserve(1, self.field.len().max(text.len()), limits);
                // The value changes, the field stays: its TTL is kept.
                h.insert_with_ttl(self.field, text, ttl, limits);
                db.notify(notify::HASH, "hincrby", &self.key);
                Reply::Int(sum)
            }
            Err(e) => e.into(),
        }
    }
}

/// HINCRBYFLOAT key field increment
struct HIncrByFloat {
    key: Bytes,
    field: Bytes,
    by: longdouble::Parsed,
}

pub(super) fn parse_hincrbyfloat(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let field = args.next_arg()?;
    let by = longdouble::parse(&args.next_arg()?).ok_or(error::NOT_FLOAT)?;
    if by == longdouble::Parsed::Infinite {
        return Err(INCREMENT_NAN_OR_INF);
    }
    boxed(HIncrByFloat { key, field, by })
}

/// An addition whose result is NaN or infinite.
const WOULD_PRODUCE_NAN_OR_INF: CommandError = error::NAN_OR_INF;

/// HINCRBYFLOAT's increment is infinite (its text differs from
/// INCRBYFLOAT's, as in Redis).
const INCREMENT_NAN_OR_INF: CommandError = error::HASH_INCREMENT_NAN_OR_INF;

impl Execute for HIncrByFloat {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let (current, ttl) = match peek_hash(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(h) => match h.and_then(|h| Some((h.get(&self.field)?, h.expire_at(&self.field)))) {
                Some((raw, ttl)) => match longdouble::parse(raw) {
                    Some(n) => (n, ttl),
                    None => return error::HASH_NOT_FLOAT.into(),
                },
                None => (
                    longdouble::Parsed::Finite(longdouble::LongDouble::ZERO),
                    None,
                ),
            },
        };
        let longdouble::Parsed::Finite(current) = current else {
            return WOULD_PRODUCE_NAN_OR_INF.into();
        };
        let Some(sum) = current.add(&self.by) else {
            return WOULD_PRODUCE_NAN_OR_INF.into();
        };
        match hash_mut_or_new(db, &self.key, now, stats) {
            Ok(h) => {
                let text = Bytes::from(sum.to_human_string());
                h.reserve(1, self.field.len().max(text.len()), limits);
                h.insert_with_ttl(self.field, text.clone(), ttl, limits);
                db.notify(notify::HASH, "hincrbyfloat", &self.key);
                Reply::Bulk(text)
            }
            Err(e) => e.into(),
        }
    }
}
