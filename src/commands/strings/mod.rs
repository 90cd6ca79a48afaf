//! String commands: GET, SET and its variants, the GET-and-change family,
//! MGET/MSET, the counters, APPEND, STRLEN, GETRANGE/SUBSTR and SETRANGE.
//!
//! Values are binary-safe [`Bytes`]. A command that replaces a value also
//! drops its TTL unless it is one that keeps it (SET … KEEPTTL, the INCR
//! family, APPEND, SETRANGE); in-place changes go through `Db::get_mut` so
//! WATCH sees them. INCRBYFLOAT computes in the 80-bit extended precision
//! Redis uses (see [`longdouble`]), so its replies match digit for digit.

pub mod bitfield;
pub mod bits;
mod counters;
mod edit;
pub mod lcs;
pub(crate) mod longdouble;

use bytes::{Bytes, BytesMut};

use counters::{IncrBy, IncrByFloat};
use edit::{Append, GetRange, SetRange, StrLen};

use super::args::{is, parse_i64};
use super::{boxed, Args, CommandSpec, Ctx, Execute, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, Value};
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
    CommandSpec::new("string", name, arity, flags, keys, since, summary, parser)
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
        Value::Stream(_) | Value::ZSet(_) | Value::Set(_) | Value::List(_) | Value::Hash(_) => None,
    }
}

/// Mutable form of [`as_str`].
fn as_str_mut(value: &mut Value) -> Option<&mut Bytes> {
    match value {
        Value::Str(s) => Some(s),
        Value::Stream(_) | Value::ZSet(_) | Value::Set(_) | Value::List(_) | Value::Hash(_) => None,
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
            db.notify(notify::STRING, "set", &self.key);
        } else {
            db.insert(self.key.clone(), Entry::new(Value::Str(self.value), now));
            db.notify(notify::STRING, "set", &self.key);
            if let Some(at) = expire_at {
                db.set_expire(&self.key, Some(at));
                db.notify(notify::GENERIC, "expire", &self.key);
                if self.opts.expire.as_ref().is_some_and(|e| e.absolute) && at <= now {
                    // An absolute time already past: the key is gone at once.
                    db.remove(&self.key);
                    stats.expired_keys += 1;
                    db.notify(notify::EXPIRED, "expired", &self.key);
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
                db.insert(key.clone(), Entry::new(Value::Str(value), now));
                db.notify(notify::STRING, "set", &key);
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
                db.notify(notify::GENERIC, "del", &self.0);
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
                    db.notify(notify::GENERIC, "del", &self.key);
                } else {
                    db.set_expire(&self.key, Some(at));
                    db.notify(notify::GENERIC, "expire", &self.key);
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
                db.notify(notify::GENERIC, "persist", &self.key);
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
            db.insert(key.clone(), Entry::new(Value::Str(value), now));
            db.notify(notify::STRING, "set", &key);
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
