//! String commands: GET, SET and its variants, the GET-and-change family,
//! MGET/MSET, the counters, APPEND, STRLEN, GETRANGE/SUBSTR and SETRANGE.
//!
//! Values are binary-safe [`Bytes`]. A command that replaces a value also
//! drops its TTL unless it is one that keeps it (SET … KEEPTTL, the INCR
//! family, APPEND, SETRANGE); in-place changes go through `Db::get_mut` so
//! WATCH sees them. INCRBYFLOAT computes in the 80-bit extended precision
//! Redis uses (see [`longdouble`]), so its replies match digit for digit.

use bytes::{Bytes, BytesMut};

use super::args::{is, parse_i64};
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::{Db, Entry, KeyspaceStats, Value};
use crate::protocol::{Reply, OK};

/// A string-group table row.
const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group: "string",
        since,
        summary,
        kind: Kind::Parse(parser),
    }
}

const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "denyoom", "fast"];
const RF: &[&str] = &["readonly", "fast"];
const ONE: (i32, i32, i32) = (1, 1, 1);

/// The string family's table.
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "get",
        2,
        RF,
        ONE,
        "1.0.0",
        "Reads the string stored at a key.",
        Get::parse,
    ),
    spec(
        "set",
        -3,
        W,
        ONE,
        "1.0.0",
        "Stores a string at a key, with optional conditions, expiry and old-value reply.",
        Set::parse_set,
    ),
    spec(
        "setnx",
        3,
        WF,
        ONE,
        "1.0.0",
        "Stores a string only if the key is absent.",
        Set::parse_setnx,
    ),
    spec(
        "setex",
        4,
        W,
        ONE,
        "2.0.0",
        "Stores a string with a TTL in seconds.",
        Set::parse_setex,
    ),
    spec(
        "psetex",
        4,
        W,
        ONE,
        "2.6.0",
        "Stores a string with a TTL in milliseconds.",
        Set::parse_psetex,
    ),
    spec(
        "getset",
        3,
        WF,
        ONE,
        "1.0.0",
        "Stores a string and replies with the one it replaced.",
        GetSet::parse,
    ),
    spec(
        "getdel",
        2,
        &["write", "fast"],
        ONE,
        "6.2.0",
        "Reads a string and deletes its key.",
        GetDel::parse,
    ),
    spec(
        "getex",
        -2,
        &["write", "fast"],
        ONE,
        "6.2.0",
        "Reads a string and changes or removes its TTL.",
        GetEx::parse,
    ),
    spec(
        "mget",
        -2,
        RF,
        (1, -1, 1),
        "1.0.0",
        "Reads the strings at several keys.",
        MGet::parse,
    ),
    spec(
        "mset",
        -3,
        W,
        (1, -1, 2),
        "1.0.1",
        "Stores several key/value pairs at once.",
        MSet::parse_mset,
    ),
    spec(
        "msetnx",
        -3,
        W,
        (1, -1, 2),
        "1.0.1",
        "Stores several pairs, only if none of the keys exists.",
        MSet::parse_msetnx,
    ),
    spec(
        "incr",
        2,
        WF,
        ONE,
        "1.0.0",
        "Adds one to the integer stored at a key.",
        IncrBy::parse_incr,
    ),
    spec(
        "incrby",
        3,
        WF,
        ONE,
        "1.0.0",
        "Adds an integer to the integer stored at a key.",
        IncrBy::parse_incrby,
    ),
    spec(
        "decr",
        2,
        WF,
        ONE,
        "1.0.0",
        "Subtracts one from the integer stored at a key.",
        IncrBy::parse_decr,
    ),
    spec(
        "decrby",
        3,
        WF,
        ONE,
        "1.0.0",
        "Subtracts an integer from the integer stored at a key.",
        IncrBy::parse_decrby,
    ),
    spec(
        "incrbyfloat",
        3,
        WF,
        ONE,
        "2.6.0",
        "Adds a decimal number to the number stored at a key.",
        IncrByFloat::parse,
    ),
    spec(
        "append",
        3,
        WF,
        ONE,
        "2.0.0",
        "Adds bytes to the end of a string.",
        Append::parse,
    ),
    spec(
        "strlen",
        2,
        RF,
        ONE,
        "2.2.0",
        "Replies with the length of a string.",
        StrLen::parse,
    ),
    spec(
        "getrange",
        4,
        &["readonly"],
        ONE,
        "2.4.0",
        "Reads part of a string, by byte offsets.",
        GetRange::parse,
    ),
    spec(
        "setrange",
        4,
        W,
        ONE,
        "2.2.0",
        "Overwrites part of a string from an offset, padding with zero bytes.",
        SetRange::parse,
    ),
    spec(
        "substr",
        4,
        &["readonly"],
        ONE,
        "1.0.0",
        "Old name of GETRANGE.",
        GetRange::parse,
    ),
];

// ---------------------------------------------------------------------------
// Shared helpers

/// The string inside a value, or `None` for a value of another type. Every
/// string command reads values through this (or [`as_str_mut`]), so a new
/// value type must be handled here, and is then WRONGTYPE everywhere.
fn as_str(value: &Value) -> Option<&Bytes> {
    match value {
        Value::Str(s) => Some(s),
    }
}

/// Mutable form of [`as_str`].
fn as_str_mut(value: &mut Value) -> Option<&mut Bytes> {
    match value {
        Value::Str(s) => Some(s),
    }
}

/// Reads a string key as a read command does (hit/miss counted, access time
/// updated): `None` if absent, WRONGTYPE if it holds another type.
fn read_str(
    db: &mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<Bytes>, CommandError> {
    match db.get(key, now, stats) {
        None => Ok(None),
        Some(entry) => as_str(&entry.value)
            .cloned()
            .map(Some)
            .ok_or(error::WRONGTYPE),
    }
}

/// Looks a key up before writing it (no hit/miss counting): `None` if
/// absent, WRONGTYPE if it holds another type.
fn peek_str(
    db: &mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<Bytes>, CommandError> {
    match db.peek(key, now, stats) {
        None => Ok(None),
        Some(entry) => as_str(&entry.value)
            .cloned()
            .map(Some)
            .ok_or(error::WRONGTYPE),
    }
}

/// Replaces the string at `key`, keeping its TTL if it exists (the key was
/// checked to be absent or a string).
fn store_keep_ttl(db: &mut Db, key: &Bytes, value: Bytes, now: i64, stats: &mut KeyspaceStats) {
    match db.get_mut(key, now, stats) {
        Some(entry) => {
            entry.value = Value::Str(value);
            entry.raw_encoding = false;
        }
        None => {
            db.insert(key.clone(), Entry::new(Value::Str(value), now));
        }
    }
}

/// The proto-max-bulk-len check of APPEND and SETRANGE: `size + extra`
/// bytes must fit.
fn check_length(ctx: &Ctx<'_>, size: u64, extra: u64) -> Result<(), CommandError> {
    let limit = ctx.shared.config.read().unwrap().proto_max_bulk_len as u64;
    match size.checked_add(extra) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(error::STRING_TOO_LONG),
    }
}

/// Makes `b` uniquely owned and mutable, without copying when it already
/// is (so repeated APPENDs grow one buffer with amortized doubling).
fn take_mut(b: &mut Bytes, extra: usize) -> BytesMut {
    let owned = std::mem::take(b);
    match owned.try_into_mut() {
        Ok(m) => m,
        Err(shared) => {
            let mut m = BytesMut::with_capacity((shared.len() + extra).max(shared.len() * 2));
            m.extend_from_slice(&shared);
            m
        }
    }
}

/// An expiry option as given: the raw number, its unit and whether it is an
/// absolute Unix time.
#[derive(Debug, Clone)]
struct ExpireArg {
    raw: Bytes,
    seconds: bool,
    absolute: bool,
}

impl ExpireArg {
    /// The absolute expiry in Unix ms, with Redis's checks: the number must
    /// be a positive integer that does not overflow once in milliseconds
    /// and (when relative) added to the current time.
    fn resolve(&self, now: i64, cmd: &str) -> Result<i64, CommandError> {
        let n = parse_i64(&self.raw)?;
        if n <= 0 || (self.seconds && n > i64::MAX / 1000) {
            return Err(error::invalid_expire(cmd));
        }
        let mut ms = if self.seconds { n * 1000 } else { n };
        if !self.absolute {
            ms = ms
                .checked_add(now)
                .ok_or_else(|| error::invalid_expire(cmd))?;
        }
        if ms <= 0 {
            return Err(error::invalid_expire(cmd));
        }
        Ok(ms)
    }
}

/// Options of SET and GETEX.
#[derive(Debug, Default)]
struct StrOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<ExpireArg>,
}

/// Parses SET options (`for_set`) or GETEX options. Each option may repeat;
/// conflicting ones (NX with XX, two different expiry kinds, an expiry with
/// KEEPTTL or PERSIST, an expiry without its number) are a syntax error, as
/// is an option the command does not take.
fn parse_options(args: Vec<Bytes>, for_set: bool) -> Result<StrOptions, CommandError> {
    // Which expiry kind was seen: (seconds, absolute).
    let mut kind: Option<(bool, bool)> = None;
    let mut opts = StrOptions::default();
    let mut i = 0;
    while i < args.len() {
        let opt = &args[i];
        let has_next = i + 1 < args.len();
        let expiry = [
            ("EX", true, false),
            ("PX", false, false),
            ("EXAT", true, true),
            ("PXAT", false, true),
        ]
        .into_iter()
        .find(|(word, _, _)| is(opt, word));
        if for_set && is(opt, "NX") && !opts.xx {
            opts.nx = true;
        } else if for_set && is(opt, "XX") && !opts.nx {
            opts.xx = true;
        } else if for_set && is(opt, "GET") {
            opts.get = true;
        } else if for_set && is(opt, "KEEPTTL") && kind.is_none() {
            opts.keepttl = true;
        } else if !for_set && is(opt, "PERSIST") && kind.is_none() {
            opts.persist = true;
        } else if let Some((_, seconds, absolute)) = expiry.filter(|&(_, s, a)| {
            !opts.keepttl && !opts.persist && has_next && kind.is_none_or(|k| k == (s, a))
        }) {
            kind = Some((seconds, absolute));
            opts.expire = Some(ExpireArg {
                raw: args[i + 1].clone(),
                seconds,
                absolute,
            });
            i += 1;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }
    Ok(opts)
}

// ---------------------------------------------------------------------------
// GET, SET and friends

/// GET key
struct Get(Bytes);

impl Get {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Get(args.next_arg()?))
    }
}

impl Execute for Get {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        read_str(db, &self.0, now, stats)
            .map(Reply::bulk_or_null)
            .into()
    }
}

/// What SET-like commands reply when NX/XX stops them, and on success.
#[derive(Debug, Clone, Copy)]
enum SetReply {
    /// SET, SETEX, PSETEX: `+OK`, or null when not set.
    Ok,
    /// SETNX: 1 or 0.
    Int,
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL], and
/// SETNX, SETEX, PSETEX, which are SET with fixed options.
struct Set {
    key: Bytes,
    value: Bytes,
    opts: StrOptions,
    reply: SetReply,
    /// The name invalid-expire errors show.
    name: &'static str,
}

impl Set {
    fn parse_set(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let value = args.next_arg()?;
        let opts = parse_options(args.rest(), true)?;
        boxed(Set {
            key,
            value,
            opts,
            reply: SetReply::Ok,
            name: "set",
        })
    }

    fn parse_setnx(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let value = args.next_arg()?;
        let opts = StrOptions {
            nx: true,
            ..StrOptions::default()
        };
        boxed(Set {
            key,
            value,
            opts,
            reply: SetReply::Int,
            name: "setnx",
        })
    }

    fn parse_timed(
        mut args: Args,
        seconds: bool,
        name: &'static str,
    ) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let raw = args.next_arg()?;
        let value = args.next_arg()?;
        let opts = StrOptions {
            expire: Some(ExpireArg {
                raw,
                seconds,
                absolute: false,
            }),
            ..StrOptions::default()
        };
        boxed(Set {
            key,
            value,
            opts,
            reply: SetReply::Ok,
            name,
        })
    }

    fn parse_setex(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse_timed(args, true, "setex")
    }

    fn parse_psetex(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse_timed(args, false, "psetex")
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let expire_at = match &self.opts.expire {
            Some(arg) => Some(arg.resolve(now, self.name)?),
            None => None,
        };
        let (db, stats) = ctx.db();
        let old = if self.opts.get {
            read_str(db, &self.key, now, stats)?
        } else {
            None
        };
        let found = db.peek(&self.key, now, stats).is_some();
        if (self.opts.nx && found) || (self.opts.xx && !found) {
            return Ok(match (self.opts.get, self.reply) {
                (true, _) => Reply::bulk_or_null(old),
                (false, SetReply::Ok) => Reply::Null,
                (false, SetReply::Int) => Reply::Int(0),
            });
        }
        if self.opts.keepttl {
            store_keep_ttl(db, &self.key, self.value, now, stats);
        } else {
            db.insert(self.key.clone(), Entry::new(Value::Str(self.value), now));
            if let Some(at) = expire_at {
                db.set_expire(&self.key, Some(at));
                if self.opts.expire.as_ref().is_some_and(|e| e.absolute) && at <= now {
                    // An absolute time already past: the key is gone at once.
                    db.remove(&self.key);
                    stats.expired_keys += 1;
                }
            }
        }
        Ok(match (self.opts.get, self.reply) {
            (true, _) => Reply::bulk_or_null(old),
            (false, SetReply::Ok) => OK,
            (false, SetReply::Int) => Reply::Int(1),
        })
    }
}

impl Execute for Set {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// GETSET key value
struct GetSet(Bytes, Bytes);

impl GetSet {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(GetSet(args.next_arg()?, args.next_arg()?))
    }
}

impl Execute for GetSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let GetSet(key, value) = *self;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_str(db, &key, now, stats) {
            Err(e) => e.into(),
            Ok(old) => {
                db.insert(key, Entry::new(Value::Str(value), now));
                Reply::bulk_or_null(old)
            }
        }
    }
}

/// GETDEL key
struct GetDel(Bytes);

impl GetDel {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(GetDel(args.next_arg()?))
    }
}

impl Execute for GetDel {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_str(db, &self.0, now, stats) {
            Err(e) => e.into(),
            Ok(None) => Reply::Null,
            Ok(Some(value)) => {
                db.remove(&self.0);
                Reply::Bulk(value)
            }
        }
    }
}

/// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
struct GetEx {
    key: Bytes,
    opts: StrOptions,
}

impl GetEx {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let opts = parse_options(args.rest(), false)?;
        boxed(GetEx { key, opts })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // A missing key is nil even when the expiry is invalid.
        let Some(value) = read_str(db, &self.key, now, stats)? else {
            return Ok(Reply::Null);
        };
        match &self.opts.expire {
            Some(arg) => {
                let at = arg.resolve(now, "getex")?;
                if arg.absolute && at <= now {
                    db.remove(&self.key);
                } else {
                    db.set_expire(&self.key, Some(at));
                }
            }
            // PERSIST on a key without a TTL changes nothing (WATCH
            // does not see it).
            None if self.opts.persist
                && db
                    .peek(&self.key, now, stats)
                    .and_then(Entry::expire_at)
                    .is_some() =>
            {
                db.set_expire(&self.key, None);
            }
            None => {}
        }
        Ok(Reply::Bulk(value))
    }
}

impl Execute for GetEx {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// MGET key [key ...]
struct MGet(Vec<Bytes>);

impl MGet {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(MGet(args.rest()))
    }
}

impl Execute for MGet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let values = self
            .0
            .iter()
            .map(|key| match db.get(key, now, stats) {
                Some(entry) => as_str(&entry.value).map_or(Reply::Null, |s| Reply::Bulk(s.clone())),
                None => Reply::Null,
            })
            .collect();
        Reply::Array(values)
    }
}

/// MSET key value [key value ...] and MSETNX.
struct MSet {
    pairs: Vec<(Bytes, Bytes)>,
    nx: bool,
}

impl MSet {
    fn parse(args: Args, nx: bool, name: &str) -> Result<Box<dyn Execute>, CommandError> {
        let rest = args.rest();
        if !rest.len().is_multiple_of(2) {
            return Err(error::wrong_arity(name));
        }
        let mut pairs = Vec::with_capacity(rest.len() / 2);
        let mut it = rest.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        boxed(MSet { pairs, nx })
    }

    fn parse_mset(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, false, "mset")
    }

    fn parse_msetnx(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, true, "msetnx")
    }
}

impl Execute for MSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        if self.nx
            && self
                .pairs
                .iter()
                .any(|(k, _)| db.peek(k, now, stats).is_some())
        {
            return Reply::Int(0);
        }
        for (key, value) in self.pairs {
            db.insert(key, Entry::new(Value::Str(value), now));
        }
        if self.nx {
            Reply::Int(1)
        } else {
            OK
        }
    }
}

// ---------------------------------------------------------------------------
// Counters

/// INCR, INCRBY, DECR, DECRBY: add `delta` to the integer at `key`.
struct IncrBy {
    key: Bytes,
    delta: i64,
}

impl IncrBy {
    fn parse_incr(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(IncrBy {
            key: args.next_arg()?,
            delta: 1,
        })
    }

    fn parse_decr(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(IncrBy {
            key: args.next_arg()?,
            delta: -1,
        })
    }

    fn parse_incrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let delta = args.next_i64()?;
        boxed(IncrBy { key, delta })
    }

    fn parse_decrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let delta = args.next_i64()?;
        // Negating i64::MIN would overflow.
        let delta = delta.checked_neg().ok_or(error::DECREMENT_OVERFLOW)?;
        boxed(IncrBy { key, delta })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let current = match peek_str(db, &self.key, now, stats)? {
            Some(raw) => parse_i64(&raw)?,
            None => 0,
        };
        let value = current.checked_add(self.delta).ok_or(error::OVERFLOW)?;
        store_keep_ttl(db, &self.key, Bytes::from(value.to_string()), now, stats);
        Ok(Reply::Int(value))
    }
}

impl Execute for IncrBy {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// INCRBYFLOAT key increment
struct IncrByFloat {
    key: Bytes,
    /// Parsed at run time: a key of the wrong type is reported first.
    increment: Bytes,
}

impl IncrByFloat {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(IncrByFloat {
            key: args.next_arg()?,
            increment: args.next_arg()?,
        })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let current = match peek_str(db, &self.key, now, stats)? {
            Some(raw) => longdouble::parse(&raw).ok_or(error::NOT_FLOAT)?,
            None => longdouble::Parsed::Finite(longdouble::LongDouble::ZERO),
        };
        let increment = longdouble::parse(&self.increment).ok_or(error::NOT_FLOAT)?;
        let longdouble::Parsed::Finite(current) = current else {
            return Err(error::NAN_OR_INF);
        };
        let sum = current.add(&increment).ok_or(error::NAN_OR_INF)?;
        let text = Bytes::from(sum.to_human_string());
        store_keep_ttl(db, &self.key, text.clone(), now, stats);
        Ok(Reply::Bulk(text))
    }
}

impl Execute for IncrByFloat {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

// ---------------------------------------------------------------------------
// Partial reads and writes

/// APPEND key value
struct Append(Bytes, Bytes);

impl Append {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Append(args.next_arg()?, args.next_arg()?))
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let Append(key, tail) = self;
        let now = ctx.now;
        let existing = {
            let (db, stats) = ctx.db();
            peek_str(db, &key, now, stats)?.map(|s| s.len())
        };
        let Some(len) = existing else {
            let (db, _) = ctx.db();
            let n = tail.len();
            db.insert(key, Entry::new(Value::Str(tail), now));
            return Ok(Reply::Int(n as i64));
        };
        check_length(ctx, len as u64, tail.len() as u64)?;
        let (db, stats) = ctx.db();
        let entry = db.get_mut(&key, now, stats).expect("checked above");
        let s = as_str_mut(&mut entry.value).expect("checked above");
        let mut buf = take_mut(s, tail.len());
        buf.extend_from_slice(&tail);
        let n = buf.len();
        *s = buf.freeze();
        entry.raw_encoding = true;
        Ok(Reply::Int(n as i64))
    }
}

impl Execute for Append {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// STRLEN key
struct StrLen(Bytes);

impl StrLen {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(StrLen(args.next_arg()?))
    }
}

impl Execute for StrLen {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        read_str(db, &self.0, now, stats)
            .map(|v| Reply::Int(v.map_or(0, |s| s.len() as i64)))
            .into()
    }
}

/// GETRANGE key start end (and SUBSTR)
struct GetRange {
    key: Bytes,
    start: i64,
    end: i64,
}

impl GetRange {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let start = args.next_i64()?;
        let end = args.next_i64()?;
        boxed(GetRange { key, start, end })
    }
}

/// The byte range GETRANGE returns for a string of `len` bytes, as Redis
/// computes it: negative offsets count from the end and are then clamped
/// to 0 (so an end before the start of the string still selects the first
/// byte), an end past the string is clamped to its last byte.
fn byte_range(len: usize, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize + 1))
}

impl Execute for GetRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_str(db, &self.key, now, stats) {
            Err(e) => e.into(),
            Ok(None) => Reply::Bulk(Bytes::new()),
            Ok(Some(s)) => match byte_range(s.len(), self.start, self.end) {
                Some((from, to)) => Reply::Bulk(s.slice(from..to)),
                None => Reply::Bulk(Bytes::new()),
            },
        }
    }
}

/// SETRANGE key offset value
struct SetRange {
    key: Bytes,
    offset: u64,
    value: Bytes,
}

impl SetRange {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let offset = args.next_i64()?;
        if offset < 0 {
            return Err(error::OFFSET_OUT_OF_RANGE);
        }
        let value = args.next_arg()?;
        boxed(SetRange {
            key,
            offset: offset as u64,
            value,
        })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let existing = {
            let (db, stats) = ctx.db();
            peek_str(db, &self.key, now, stats)?.map(|s| s.len())
        };
        if self.value.is_empty() {
            // Nothing to write: the length as it is (0 for a missing key).
            return Ok(Reply::Int(existing.unwrap_or(0) as i64));
        }
        check_length(ctx, self.offset, self.value.len() as u64)?;
        // Fits in memory terms: at most proto-max-bulk-len.
        let offset = self.offset as usize;
        let end = offset + self.value.len();
        let (db, stats) = ctx.db();
        let len = match existing {
            None => {
                let mut buf = BytesMut::zeroed(end);
                buf[offset..].copy_from_slice(&self.value);
                let mut entry = Entry::new(Value::Str(buf.freeze()), now);
                entry.raw_encoding = true;
                db.insert(self.key, entry);
                end
            }
            Some(_) => {
                let entry = db.get_mut(&self.key, now, stats).expect("checked above");
                let s = as_str_mut(&mut entry.value).expect("checked above");
                let mut buf = take_mut(s, end.saturating_sub(s.len()));
                if buf.len() < end {
                    buf.resize(end, 0);
                }
                buf[offset..end].copy_from_slice(&self.value);
                let n = buf.len();
                *s = buf.freeze();
                entry.raw_encoding = true;
                n
            }
        };
        Ok(Reply::Int(len as i64))
    }
}

impl Execute for SetRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

// ---------------------------------------------------------------------------

/// The x87 80-bit extended precision ("long double") arithmetic that
/// INCRBYFLOAT uses in Redis: numbers are read with a correctly rounded
/// conversion to a 64-bit significand, added with one rounding, and printed
/// with 17 digits after the point (trailing zeros dropped), so that
/// `0.1 + 0.2` gives `0.3` and `10000000000 + 0.1` gives
/// `10000000000.09999999962747097`, exactly as Redis replies.
pub mod longdouble {
    use std::cmp::Ordering;

    /// Exponent of the lowest significand bit of the smallest subnormal.
    const MIN_LSB_EXP: i64 = -16445;
    /// Values must stay below 2^MAX_EXP.
    const MAX_EXP: i64 = 16384;
    /// The longest text Redis reads as a long double.
    const MAX_CHARS: usize = 5 * 1024;

    /// A finite extended-precision value: `(-1)^neg * mant * 2^exp`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct LongDouble {
        neg: bool,
        mant: u64,
        exp: i64,
    }

    /// Either a finite value or an infinity (which INCRBYFLOAT rejects).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Parsed {
        /// A finite value.
        Finite(LongDouble),
        /// Plus or minus infinity.
        Infinite,
    }

    impl LongDouble {
        /// Zero.
        pub const ZERO: LongDouble = LongDouble {
            neg: false,
            mant: 0,
            exp: 0,
        };

        fn is_zero(&self) -> bool {
            self.mant == 0
        }

        /// The sum, rounded to nearest; `None` if it overflows (or either
        /// side is infinite).
        pub fn add(&self, other: &Parsed) -> Option<LongDouble> {
            let Parsed::Finite(b) = other else {
                return None;
            };
            let a = *self;
            let b = *b;
            if a.is_zero() {
                return Some(b);
            }
            if b.is_zero() {
                return Some(a);
            }
            let emin = a.exp.min(b.exp);
            if a.exp - emin > 200 || b.exp - emin > 200 {
                // One side is below a quarter of the other's last bit: the
                // larger side is the rounded result.
                return Some(if a.exp > b.exp { a } else { b });
            }
            let mut x = Big::from_u64(a.mant);
            x.shl(((a.exp - emin) as u64) as u32);
            let mut y = Big::from_u64(b.mant);
            y.shl(((b.exp - emin) as u64) as u32);
            let (neg, sum) = if a.neg == b.neg {
                x.add(&y);
                (a.neg, x)
            } else {
                match x.cmp(&y) {
                    Ordering::Equal => return Some(LongDouble::ZERO),
                    Ordering::Greater => {
                        x.sub(&y);
                        (a.neg, x)
                    }
                    Ordering::Less => {
                        y.sub(&x);
                        (b.neg, y)
                    }
                }
            };
            match round(sum, emin, false, neg) {
                Parsed::Finite(v) => Some(v),
                Parsed::Infinite => None,
            }
        }

        /// `printf("%.17Lf")` with trailing zeros (and a bare point)
        /// removed, and `-0` shown as `0`: Redis's human-friendly form.
        pub fn to_human_string(&self) -> String {
            // value * 10^17, rounded half to even.
            let mut scaled = Big::from_u64(self.mant);
            scaled.mul_pow10(17);
            let scaled = if self.exp >= 0 {
                scaled.shl(self.exp as u32);
                scaled
            } else {
                let shift = (-self.exp) as u64;
                let mut q = scaled.shr(shift);
                let half = shift > 0 && scaled.bit(shift - 1);
                let sticky = shift > 1 && scaled.any_below(shift - 1);
                if half && (sticky || q.bit(0)) {
                    q.add(&Big::from_u64(1));
                }
                q
            };
            let mut digits = scaled.to_decimal();
            if digits.len() < 18 {
                digits = format!("{}{digits}", "0".repeat(18 - digits.len()));
            }
            let (int, frac) = digits.split_at(digits.len() - 17);
            let frac = frac.trim_end_matches('0');
            let mut out = String::with_capacity(digits.len() + 2);
            if self.neg {
                out.push('-');
            }
            out.push_str(int);
            if !frac.is_empty() {
                out.push('.');
                out.push_str(frac);
            }
            if out == "-0" {
                out = "0".into();
            }
            out
        }
    }

    /// Reads a number as Redis's `strtold`-based check does: decimal or
    /// hexadecimal notation, optional sign and exponent, `inf`/`infinity`;
    /// no NaN, no surrounding spaces, nothing left over, no overflow, and no
    /// underflow to zero. `None` means "not a valid float".
    pub fn parse(raw: &[u8]) -> Option<Parsed> {
        if raw.is_empty() || raw.len() >= MAX_CHARS {
            return None;
        }
        let (neg, body) = match raw[0] {
            b'-' => (true, &raw[1..]),
            b'+' => (false, &raw[1..]),
            _ => (false, raw),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(Parsed::Infinite);
        }
        let (hex, body) = if lower.starts_with(b"0x") {
            (true, &lower[2..])
        } else {
            (false, &lower[..])
        };
        let radix: u32 = if hex { 16 } else { 10 };
        let exp_char = if hex { b'p' } else { b'e' };
        // Significand digits, with the count of those after the point.
        let mut mant = Big::from_u64(0);
        let mut any_digit = false;
        let mut frac_digits: i64 = 0;
        let mut seen_point = false;
        let mut significant = 0usize;
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            if c == b'.' && !seen_point {
                seen_point = true;
            } else if let Some(d) = (c as char).to_digit(radix) {
                any_digit = true;
                if d != 0 || !mant.is_zero() {
                    significant += 1;
                }
                mant.mul_small(radix);
                mant.add(&Big::from_u64(d as u64));
                if seen_point {
                    frac_digits += 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        if !any_digit {
            return None;
        }
        let mut exp: i64 = 0;
        if i < body.len() {
            if body[i] != exp_char {
                return None;
            }
            i += 1;
            let exp_neg = match body.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            if i >= body.len() {
                return None;
            }
            for &c in &body[i..] {
                if !c.is_ascii_digit() {
                    return None;
                }
                exp = (exp * 10 + (c - b'0') as i64).min(1_000_000);
            }
            if exp_neg {
                exp = -exp;
            }
        }
        if mant.is_zero() {
            return Some(Parsed::Finite(LongDouble::ZERO));
        }
        let parsed = if hex {
            round(mant, exp - 4 * frac_digits, false, neg)
        } else {
            let e10 = exp - frac_digits;
            let magnitude = significant as i64 + e10; // value < 10^magnitude
            if magnitude > 4934 {
                return None; // far beyond the largest long double
            }
            if magnitude < -4952 {
                return None; // rounds to zero
            }
            if e10 >= 0 {
                mant.mul_pow10(e10 as u32);
                round(mant, 0, false, neg)
            } else {
                // mant / 10^m with about 68 quotient bits and a sticky
                // remainder.
                let mut den = Big::from_u64(1);
                den.mul_pow10((-e10) as u32);
                let k = 68 + den.bits() as i64 - mant.bits() as i64;
                if k > 0 {
                    mant.shl(k as u32);
                } else {
                    den.shl((-k) as u32);
                }
                let (q, inexact) = mant.div(&den);
                round(q, -k, inexact, neg)
            }
        };
        match parsed {
            Parsed::Finite(v) if v.is_zero() => None,
            Parsed::Infinite => None,
            p => Some(p),
        }
    }

    /// Rounds `n * 2^e2` (plus a sticky bit below it when `inexact`) to a
    /// 64-bit significand, half to even, with gradual underflow.
    fn round(n: Big, e2: i64, inexact: bool, neg: bool) -> Parsed {
        let (n, e2) = if inexact {
            let mut n = n;
            n.shl(1);
            n.add(&Big::from_u64(1));
            (n, e2 - 1)
        } else {
            (n, e2)
        };
        if n.is_zero() {
            return Parsed::Finite(LongDouble::ZERO);
        }
        let bits = n.bits() as i64;
        let shift = (bits - 64).max(MIN_LSB_EXP - e2);
        let (mut mant, mut exp) = if shift <= 0 {
            (n.low_u64() << (-shift) as u32, e2 + shift)
        } else {
            let s = shift as u64;
            let mant = n.shr(s).low_u64();
            let half = n.bit(s - 1);
            let sticky = s > 1 && n.any_below(s - 1);
            let mut mant = mant;
            let mut exp = e2 + shift;
            if half && (sticky || mant & 1 == 1) {
                match mant.checked_add(1) {
                    Some(m) => mant = m,
                    None => {
                        mant = 1 << 63;
                        exp += 1;
                    }
                }
            }
            (mant, exp)
        };
        if mant == 0 {
            return Parsed::Finite(LongDouble::ZERO);
        }
        // Keep the significand normalized where the exponent allows, so
        // that equal values compare equal.
        while mant >> 63 == 0 && exp > MIN_LSB_EXP {
            mant <<= 1;
            exp -= 1;
        }
        let top = exp + 64 - mant.leading_zeros() as i64;
        if top > MAX_EXP {
            return Parsed::Infinite;
        }
        Parsed::Finite(LongDouble { neg, mant, exp })
    }

    /// A small unsigned big integer (little-endian 32-bit limbs), just
    /// enough for exact conversions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }

        fn bits(&self) -> u64 {
            match self.0.last() {
                None => 0,
                Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros()) as u64,
            }
        }

        fn bit(&self, i: u64) -> bool {
            let limb = (i / 32) as usize;
            limb < self.0.len() && (self.0[limb] >> (i % 32)) & 1 == 1
        }

        /// Whether any bit below position `i` is set.
        fn any_below(&self, i: u64) -> bool {
            let full = ((i / 32) as usize).min(self.0.len());
            if self.0[..full].iter().any(|&l| l != 0) {
                return true;
            }
            let rem = i % 32;
            full < self.0.len() && rem > 0 && self.0[full] & ((1u32 << rem) - 1) != 0
        }

        fn low_u64(&self) -> u64 {
            let lo = self.0.first().copied().unwrap_or(0) as u64;
            let hi = self.0.get(1).copied().unwrap_or(0) as u64;
            lo | (hi << 32)
        }

        fn mul_small(&mut self, m: u32) {
            let mut carry = 0u64;
            for limb in &mut self.0 {
                let v = *limb as u64 * m as u64 + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
            self.trim();
        }

        fn mul_pow10(&mut self, mut n: u32) {
            while n >= 9 {
                self.mul_small(1_000_000_000);
                n -= 9;
            }
            if n > 0 {
                self.mul_small(10u32.pow(n));
            }
        }

        fn add(&mut self, other: &Big) {
            if self.0.len() < other.0.len() {
                self.0.resize(other.0.len(), 0);
            }
            let mut carry = 0u64;
            for i in 0..self.0.len() {
                let v = self.0[i] as u64 + other.0.get(i).copied().unwrap_or(0) as u64 + carry;
                self.0[i] = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }

        /// `self -= other`; `self` must not be smaller.
        fn sub(&mut self, other: &Big) {
            let mut borrow = 0i64;
            for i in 0..self.0.len() {
                let v = self.0[i] as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
                if v < 0 {
                    self.0[i] = (v + (1i64 << 32)) as u32;
                    borrow = 1;
                } else {
                    self.0[i] = v as u32;
                    borrow = 0;
                }
            }
            debug_assert_eq!(borrow, 0, "subtraction underflow");
            self.trim();
        }

        fn cmp(&self, other: &Big) -> Ordering {
            self.0
                .len()
                .cmp(&other.0.len())
                .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
        }

        fn shl(&mut self, bits: u32) {
            if self.is_zero() {
                return;
            }
            let limbs = (bits / 32) as usize;
            let rem = bits % 32;
            if rem > 0 {
                let mut carry = 0u32;
                for limb in &mut self.0 {
                    let v = *limb;
                    *limb = (v << rem) | carry;
                    carry = v >> (32 - rem);
                }
                if carry > 0 {
                    self.0.push(carry);
                }
            }
            if limbs > 0 {
                self.0.splice(0..0, std::iter::repeat_n(0, limbs));
            }
        }

        fn shr(&self, bits: u64) -> Big {
            let limbs = (bits / 32) as usize;
            if limbs >= self.0.len() {
                return Big(Vec::new());
            }
            let rem = (bits % 32) as u32;
            let src = &self.0[limbs..];
            let mut out = Vec::with_capacity(src.len());
            for i in 0..src.len() {
                let lo = src[i] >> rem;
                let hi = if rem > 0 {
                    src.get(i + 1).map_or(0, |&h| h << (32 - rem))
                } else {
                    0
                };
                out.push(lo | hi);
            }
            let mut b = Big(out);
            b.trim();
            b
        }

        /// Quotient of `self / den` and whether there is a remainder.
        fn div(&self, den: &Big) -> (Big, bool) {
            let nb = self.bits();
            let db = den.bits();
            if nb < db {
                return (Big(Vec::new()), !self.is_zero());
            }
            let steps = nb - db;
            let mut rem = self.clone();
            let mut d = den.clone();
            d.shl(steps as u32);
            let mut q = Big(vec![0; (steps / 32 + 1) as usize]);
            for i in (0..=steps).rev() {
                if rem.cmp(&d) != Ordering::Less {
                    rem.sub(&d);
                    q.0[(i / 32) as usize] |= 1 << (i % 32);
                }
                d = d.shr(1);
            }
            q.trim();
            (q, !rem.is_zero())
        }

        /// Divides in place by a small number; returns the remainder.
        fn div_small(&mut self, d: u32) -> u32 {
            let mut rem = 0u64;
            for limb in self.0.iter_mut().rev() {
                let v = (rem << 32) | *limb as u64;
                *limb = (v / d as u64) as u32;
                rem = v % d as u64;
            }
            self.trim();
            rem as u32
        }

        fn to_decimal(&self) -> String {
            if self.is_zero() {
                return "0".into();
            }
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.is_zero() {
                chunks.push(n.div_small(1_000_000_000));
            }
            let mut out = chunks.pop().expect("nonzero").to_string();
            for chunk in chunks.iter().rev() {
                out.push_str(&format!("{chunk:09}"));
            }
            out
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn incr(a: &str, b: &str) -> Option<String> {
            let Parsed::Finite(a) = parse(a.as_bytes())? else {
                return None;
            };
            let b = parse(b.as_bytes())?;
            Some(a.add(&b)?.to_human_string())
        }

        #[test]
        fn sums_match_redis() {
            // Expected values are what Redis 7 replies on x86-64.
            assert_eq!(incr("10.5", "0.1").as_deref(), Some("10.6"));
            assert_eq!(incr("0.1", "0.2").as_deref(), Some("0.3"));
            assert_eq!(incr("5.0e3", "2.0e2").as_deref(), Some("5200"));
            assert_eq!(
                incr("10000000000", "0.1").as_deref(),
                Some("10000000000.09999999962747097")
            );
            assert_eq!(incr("0", "1.5e-17").as_deref(), Some("0.00000000000000002"));
            assert_eq!(incr("0", "-0.0000000000000000001").as_deref(), Some("0"));
            assert_eq!(incr("0", "3.0000000000000000005").as_deref(), Some("3"));
            assert_eq!(incr("0", "0x10").as_deref(), Some("16"));
            assert_eq!(incr("1", "-1").as_deref(), Some("0"));
            assert_eq!(incr("-1.5", "0.25").as_deref(), Some("-1.25"));
            assert_eq!(incr("0", "1e-4940").as_deref(), Some("0"));
            let big = incr("1e300", "1").unwrap();
            assert!(big.starts_with("100000000000000000000899732407955919387052394427329074793826"));
        }

        #[test]
        fn rejects_what_strtold_rejects() {
            for bad in [
                "", " 1", "1 ", "abc", "1e", "1e+", "nan", "-nan", "1.2.3", "0x", "1e5000",
                "-1e5000", "1e-5000", "--1",
            ] {
                assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
            }
            assert_eq!(parse(b"inf"), Some(Parsed::Infinite));
            assert_eq!(parse(b"-Infinity"), Some(Parsed::Infinite));
            assert!(parse(b"1.").is_some());
            assert!(parse(b".5").is_some());
            assert!(parse(b"+2").is_some());
            assert!(parse(b"0e99999").is_some());
        }

        #[test]
        fn overflow_is_infinite() {
            let max = parse(b"1.1e4932").unwrap();
            let Parsed::Finite(m) = max else { panic!() };
            assert_eq!(m.add(&max), None);
        }
    }
}
