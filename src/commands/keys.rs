//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RENAME,
//! RENAMENX, COPY, MOVE, the EXPIRE family, TTL and friends, PERSIST, TOUCH,
//! RANDOMKEY and OBJECT.
//!
//! Every lookup goes through [`Db::peek`]/[`Db::get`] (or filters by the
//! command's time when walking the table), so a key whose TTL has passed is
//! absent to all of them even before the active sweep deletes it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;

use super::args::{is, parse_i64, parse_i64_opt};
use super::{boxed, Args, CommandSpec, Ctx, Execute, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::{glob, notify, Db, Entry, KeyspaceStats};
use crate::protocol::{Reply, OK};

/// A `generic`-group command spec.
pub(super) const fn generic(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("generic", name, arity, flags, keys, since, summary, parser)
}

/// The keys family's table.
pub static COMMANDS: &[CommandSpec] = &[
    generic(
        "del",
        -2,
        &["write"],
        (1, -1, 1),
        "1.0.0",
        "Deletes keys; replies how many existed.",
        |a| boxed(Del(a.rest())),
    ),
    generic(
        "unlink",
        -2,
        &["write", "fast"],
        (1, -1, 1),
        "4.0.0",
        "Deletes keys like DEL; replies how many existed.",
        |a| boxed(Del(a.rest())),
    ),
    generic(
        "exists",
        -2,
        &["readonly", "fast"],
        (1, -1, 1),
        "1.0.0",
        "Counts how many of the named keys exist, repeats included.",
        |a| boxed(Exists(a.rest())),
    ),
    generic(
        "type",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "1.0.0",
        "Names the type of a key's value, or none.",
        |mut a| boxed(Type(a.next_arg()?)),
    ),
    generic(
        "keys",
        2,
        &["readonly"],
        (0, 0, 0),
        "1.0.0",
        "Lists every key matching a glob pattern.",
        |mut a| boxed(Keys(a.next_arg()?)),
    ),
    generic(
        "scan",
        -2,
        &["readonly"],
        (0, 0, 0),
        "2.8.0",
        "Walks the keyspace a few slots at a time with a cursor.",
        Scan::parse,
    ),
    generic(
        "rename",
        3,
        &["write"],
        (1, 2, 1),
        "1.0.0",
        "Gives a key a new name, replacing any key of that name.",
        |a| Rename::parse(a, false),
    ),
    generic(
        "renamenx",
        3,
        &["write", "fast"],
        (1, 2, 1),
        "1.0.0",
        "Gives a key a new name only if that name is free.",
        |a| Rename::parse(a, true),
    ),
    generic(
        "copy",
        -3,
        &["write", "denyoom"],
        (1, 2, 1),
        "6.2.0",
        "Duplicates a key's value and TTL under another name, possibly in another database.",
        Copy::parse,
    ),
    generic(
        "move",
        3,
        &["write", "fast"],
        (1, 1, 1),
        "1.0.0",
        "Moves a key to another database if the name is free there.",
        Move::parse,
    ),
    generic(
        "touch",
        -2,
        &["readonly", "fast"],
        (1, -1, 1),
        "3.2.1",
        "Marks keys as just used; replies how many exist, repeats included.",
        |a| boxed(Touch(a.rest())),
    ),
    generic(
        "randomkey",
        1,
        &["readonly"],
        (0, 0, 0),
        "1.0.0",
        "Names a key picked at random, or nil in an empty database.",
        |_| boxed(RandomKey),
    ),
];

/// Whether an entry is still alive at `now` (its TTL, if any, not passed).
pub(super) fn alive(entry: &Entry, now: i64) -> bool {
    entry.expire_at().is_none_or(|at| now <= at)
}

/// Whether `key` exists at `now`, deleting it first if its TTL passed.
pub(super) fn exists(db: &mut Db, key: &[u8], now: i64, stats: &mut KeyspaceStats) -> bool {
    db.peek(key, now, stats).is_some()
}

/// Parses a database number as Redis's `getIntFromObject` does: an i64
/// that must also fit an `int`. The range check against `databases`
/// happens at execution time.
fn parse_db_index(raw: &[u8]) -> Result<i64, CommandError> {
    let n = parse_i64(raw)?;
    if i32::try_from(n).is_err() {
        return Err(error::NOT_INT32);
    }
    Ok(n)
}

/// A database number checked against the configured count.
fn db_in_range(n: i64, count: usize) -> Result<usize, CommandError> {
    usize::try_from(n)
        .ok()
        .filter(|&i| i < count)
        .ok_or(error::DB_OUT_OF_RANGE)
}

/// A pseudo-random number for RANDOMKEY and ZRANDMEMBER (std's per-process random hasher
/// keys over a counter: unpredictable enough, no extra dependency).
pub(crate) fn random_u64() -> u64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = STATE.get_or_init(RandomState::new).build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// DEL / UNLINK key [key ...]
struct Del(Vec<Bytes>);

impl Execute for Del {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let mut removed = 0;
        for key in &self.0 {
            if exists(db, key, now, stats) && db.remove(key).is_some() {
                db.notify(notify::GENERIC, "del", key);
                removed += 1;
            }
        }
        Reply::Int(removed)
    }
}

/// EXISTS key [key ...]
struct Exists(Vec<Bytes>);

impl Execute for Exists {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let found = self
            .0
            .iter()
            .filter(|key| exists(db, key, now, stats))
            .count();
        Reply::Int(found as i64)
    }
}

/// TOUCH key [key ...]
struct Touch(Vec<Bytes>);

impl Execute for Touch {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let found = self
            .0
            .iter()
            .filter(|key| db.get(key, now, stats).is_some())
            .count();
        Reply::Int(found as i64)
    }
}

/// TYPE key
struct Type(Bytes);

impl Execute for Type {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        Reply::Simple(
            db.peek(&self.0, now, stats)
                .map_or("none", |e| e.value.type_name()),
        )
    }
}

/// KEYS pattern
struct Keys(Bytes);

impl Execute for Keys {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, _) = ctx.db();
        let all = self.0.as_ref() == b"*";
        let keys = db
            .iter()
            .filter(|(key, entry)| alive(entry, now) && (all || glob::matches(&self.0, key)))
            .map(|(key, _)| Reply::Bulk(key.clone()))
            .collect();
        Reply::Array(keys)
    }
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
struct Scan {
    cursor: u64,
    count: usize,
    pattern: Option<Bytes>,
    type_name: Option<Bytes>,
}

impl Scan {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let cursor = parse_cursor(&args.next_arg()?).ok_or(error::INVALID_CURSOR)?;
        let mut scan = Scan {
            cursor,
            count: 10,
            pattern: None,
            type_name: None,
        };
        while let Some(opt) = args.try_next() {
            let has_value = !args.is_empty();
            if is(&opt, "COUNT") && has_value {
                let count = args.next_i64()?;
                if count < 1 {
                    return Err(error::SYNTAX);
                }
                scan.count = usize::try_from(count).unwrap_or(usize::MAX);
            } else if is(&opt, "MATCH") && has_value {
                let pattern = args.next_arg()?;
                // `*` matches everything: no filtering needed.
                scan.pattern = (pattern.as_ref() != b"*").then_some(pattern);
            } else if is(&opt, "TYPE") && has_value {
                scan.type_name = Some(args.next_arg()?);
            } else {
                return Err(error::SYNTAX);
            }
        }
        boxed(scan)
    }
}

/// Parses a SCAN cursor as Redis 7.4 does (`string2ull`): a canonical
/// integer must not be negative; anything else must be accepted whole by
/// C's `strtoull` (leading spaces, a sign, leading zeros, up to `u64::MAX`;
/// a `-` there negates modulo 2^64).
pub(crate) fn parse_cursor(raw: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64_opt(raw) {
        return u64::try_from(n).ok();
    }
    let start = raw
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let mut rest = &raw[start..];
    let negative = match rest.first() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => {
            return digits_u64(rest);
        }
    };
    rest = &rest[1..];
    let value = digits_u64(rest)?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// A non-empty run of decimal digits that fits a u64, and nothing else.
fn digits_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() {
        return None;
    }
    raw.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

impl Execute for Scan {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let mut found = Vec::new();
        let mut expired = Vec::new();
        let cursor = usize::try_from(self.cursor).unwrap_or(usize::MAX);
        let next = db.table().scan(cursor, self.count, |key, entry| {
            if !alive(entry, now) {
                expired.push(key.clone());
                return;
            }
            if let Some(pattern) = &self.pattern {
                if !glob::matches(pattern, key) {
                    return;
                }
            }
            if let Some(wanted) = &self.type_name {
                if !wanted.eq_ignore_ascii_case(entry.value.type_name().as_bytes()) {
                    return;
                }
            }
            found.push(Reply::Bulk(key.clone()));
        });
        // Expired keys met on the way are deleted, as a lookup would.
        for key in expired {
            db.peek(&key, now, stats);
        }
        Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(found)])
    }
}

/// RENAME / RENAMENX key newkey
struct Rename {
    from: Bytes,
    to: Bytes,
    nx: bool,
}

impl Rename {
    fn parse(mut args: Args, nx: bool) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Rename {
            from: args.next_arg()?,
            to: args.next_arg()?,
            nx,
        })
    }
}

impl Execute for Rename {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        if !exists(db, &self.from, now, stats) {
            return error::NO_SUCH_KEY.into();
        }
        if self.from == self.to {
            return if self.nx { Reply::Int(0) } else { OK };
        }
        if self.nx && exists(db, &self.to, now, stats) {
            return Reply::Int(0);
        }
        let Some(entry) = db.remove(&self.from) else {
            return error::NO_SUCH_KEY.into();
        };
        db.notify(notify::GENERIC, "rename_from", &self.from);
        // A value already there is deleted first (so `new` is raised, as in
        // Redis). The entry keeps its TTL: insert stores it with the value.
        db.remove(&self.to);
        db.insert(self.to.clone(), entry);
        db.notify(notify::GENERIC, "rename_to", &self.to);
        if self.nx {
            Reply::Int(1)
        } else {
            OK
        }
    }
}

/// COPY source destination [DB destination-db] [REPLACE]
struct Copy {
    from: Bytes,
    to: Bytes,
    /// Every DB argument, in order: Redis range-checks each as it parses,
    /// so an out-of-range one wins over a later syntax error.
    dbs: Vec<i64>,
    replace: bool,
    /// An argument error met after a DB argument, reported once those have
    /// been range-checked (which needs the server's database count).
    deferred: Option<CommandError>,
}

impl Copy {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let mut copy = Copy {
            from: args.next_arg()?,
            to: args.next_arg()?,
            dbs: Vec::new(),
            replace: false,
            deferred: None,
        };
        while let Some(opt) = args.try_next() {
            let step = if is(&opt, "REPLACE") {
                copy.replace = true;
                Ok(())
            } else if is(&opt, "DB") && !args.is_empty() {
                parse_db_index(&args.next_arg()?).map(|n| copy.dbs.push(n))
            } else {
                Err(error::SYNTAX)
            };
            if let Err(e) = step {
                if copy.dbs.is_empty() {
                    return Err(e);
                }
                copy.deferred = Some(e);
                break;
            }
        }
        boxed(copy)
    }
}

impl Execute for Copy {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let count = ctx.keyspace.db_count();
        let mut target = ctx.session.db;
        for &n in &self.dbs {
            match db_in_range(n, count) {
                Ok(i) => target = i,
                Err(e) => return e.into(),
            }
        }
        if let Some(e) = self.deferred {
            return e.into();
        }
        let source = ctx.session.db;
        if source == target && self.from == self.to {
            return error::SAME_OBJECT.into();
        }
        let now = ctx.now;
        let (src, dst, stats) = if source == target {
            let (db, stats) = ctx.keyspace.db(source);
            (db, None, stats)
        } else {
            let (a, b, stats) = ctx.keyspace.two_dbs(source, target);
            (a, Some(b), stats)
        };
        let Some(entry) = src.get(&self.from, now, stats) else {
            return Reply::Int(0);
        };
        // A copy is a new object: it keeps the value, its encoding and the
        // TTL, and starts its own access clock.
        let mut copy = entry.clone();
        copy.last_access = now;
        let dst = dst.unwrap_or(src);
        if exists(dst, &self.to, now, stats) {
            if !self.replace {
                return Reply::Int(0);
            }
            // Replaced as a delete and an add, as in Redis (`new` is raised).
            dst.remove(&self.to);
        }
        dst.insert(self.to.clone(), copy);
        dst.notify(notify::GENERIC, "copy_to", &self.to);
        Reply::Int(1)
    }
}

/// MOVE key db
struct Move {
    key: Bytes,
    db: i64,
}

impl Move {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let db = parse_db_index(&args.next_arg()?)?;
        boxed(Move { key, db })
    }
}

impl Execute for Move {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let target = match db_in_range(self.db, ctx.keyspace.db_count()) {
            Ok(i) => i,
            Err(e) => return e.into(),
        };
        let source = ctx.session.db;
        if source == target {
            return error::SAME_OBJECT.into();
        }
        let now = ctx.now;
        let (src, dst, stats) = ctx.keyspace.two_dbs(source, target);
        if !exists(src, &self.key, now, stats) || exists(dst, &self.key, now, stats) {
            return Reply::Int(0);
        }
        let Some(entry) = src.remove(&self.key) else {
            return Reply::Int(0);
        };
        src.notify(notify::GENERIC, "move_from", &self.key);
        dst.insert(self.key.clone(), entry);
        dst.notify(notify::GENERIC, "move_to", &self.key);
        Reply::Int(1)
    }
}

/// RANDOMKEY
struct RandomKey;

impl Execute for RandomKey {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        loop {
            let picked = db
                .table()
                .random_key(|slots| (random_u64() % slots as u64) as usize)
                .cloned();
            let Some(key) = picked else {
                return Reply::Null;
            };
            // An expired pick is deleted and another one drawn; the table
            // shrinks each time, so this ends.
            if db.is_expired(&key, now) {
                db.peek(&key, now, stats);
                continue;
            }
            return Reply::Bulk(key);
        }
    }
}
