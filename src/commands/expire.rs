//! Key expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX,
//! GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

use bytes::Bytes;

use super::args::{is, parse_i64};
use super::keys::generic;
use super::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::protocol::Reply;

/// The expiry family's table.
pub static COMMANDS: &[CommandSpec] = &[
    generic(
        "expire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "1.0.0",
        "Sets a key's time to live in seconds.",
        |a| Expire::parse(a, "expire", true, true),
    ),
    generic(
        "pexpire",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "2.6.0",
        "Sets a key's time to live in milliseconds.",
        |a| Expire::parse(a, "pexpire", false, true),
    ),
    generic(
        "expireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "1.2.0",
        "Sets the Unix time, in seconds, at which a key expires.",
        |a| Expire::parse(a, "expireat", true, false),
    ),
    generic(
        "pexpireat",
        -3,
        &["write", "fast"],
        (1, 1, 1),
        "2.6.0",
        "Sets the Unix time, in milliseconds, at which a key expires.",
        |a| Expire::parse(a, "pexpireat", false, false),
    ),
    generic(
        "ttl",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "1.0.0",
        "Seconds left before a key expires (-1 without TTL, -2 if missing).",
        |a| TimeQuery::parse(a, TimeUnit::Ttl),
    ),
    generic(
        "pttl",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "2.6.0",
        "Milliseconds left before a key expires (-1 without TTL, -2 if missing).",
        |a| TimeQuery::parse(a, TimeUnit::Pttl),
    ),
    generic(
        "expiretime",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "7.0.0",
        "The Unix time in seconds at which a key expires (-1/-2 as TTL).",
        |a| TimeQuery::parse(a, TimeUnit::ExpireTime),
    ),
    generic(
        "pexpiretime",
        2,
        &["readonly", "fast"],
        (1, 1, 1),
        "7.0.0",
        "The Unix time in milliseconds at which a key expires (-1/-2 as TTL).",
        |a| TimeQuery::parse(a, TimeUnit::PexpireTime),
    ),
    generic(
        "persist",
        2,
        &["write", "fast"],
        (1, 1, 1),
        "2.2.0",
        "Removes a key's TTL.",
        |mut a| boxed(Persist(a.next_arg()?)),
    ),
];

/// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT]
struct Expire {
    name: &'static str,
    key: Bytes,
    /// Milliseconds: relative to now, or absolute.
    when: i64,
    relative: bool,
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Expire {
    fn parse(
        mut args: Args,
        name: &'static str,
        seconds: bool,
        relative: bool,
    ) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let time = args.next_arg()?;
        let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
        // Redis checks the options before the time argument.
        for opt in args.rest() {
            if is(&opt, "NX") {
                nx = true;
            } else if is(&opt, "XX") {
                xx = true;
            } else if is(&opt, "GT") {
                gt = true;
            } else if is(&opt, "LT") {
                lt = true;
            } else {
                return Err(error::unsupported_option(&opt));
            }
        }
        if nx && (xx || gt || lt) {
            return Err(error::EXPIRE_NX_AND_OTHERS);
        }
        if gt && lt {
            return Err(error::EXPIRE_GT_AND_LT);
        }
        let mut when = parse_i64(&time)?;
        if seconds {
            when = when
                .checked_mul(1000)
                .ok_or_else(|| error::invalid_expire(name))?;
        }
        boxed(Expire {
            name,
            key,
            when,
            relative,
            nx,
            xx,
            gt,
            lt,
        })
    }
}

impl Execute for Expire {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let when = if self.relative {
            // Only overflow past the far future is an error; a very negative
            // time simply lies in the past.
            match self.when.checked_add(now) {
                Some(at) => at,
                None if self.when > 0 => return error::invalid_expire(self.name).into(),
                None => i64::MIN,
            }
        } else {
            self.when
        };
        let (db, stats) = ctx.db();
        let Some(entry) = db.peek(&self.key, now, stats) else {
            return Reply::Int(0);
        };
        let current = entry.expire_at();
        let refused = (self.nx && current.is_some())
            || (self.xx && current.is_none())
            // No TTL counts as an infinite one for GT and LT.
            || (self.gt && current.is_none_or(|at| when <= at))
            || (self.lt && current.is_some_and(|at| when >= at));
        if refused {
            return Reply::Int(0);
        }
        if when <= now {
            // A time already past deletes the key (a deletion, not an
            // expiry: expired_keys does not count it, as in Redis).
            db.remove(&self.key);
            db.notify(notify::GENERIC, "del", &self.key);
        } else {
            db.set_expire(&self.key, Some(when));
            db.notify(notify::GENERIC, "expire", &self.key);
        }
        Reply::Int(1)
    }
}

/// TTL / PTTL / EXPIRETIME / PEXPIRETIME key
struct TimeQuery {
    key: Bytes,
    what: TimeUnit,
}

/// What a TTL-family command reports.
#[derive(Clone, Copy)]
enum TimeUnit {
    /// TTL: seconds left.
    Ttl,
    /// PTTL: milliseconds left.
    Pttl,
    /// EXPIRETIME: Unix seconds.
    ExpireTime,
    /// PEXPIRETIME: Unix milliseconds.
    PexpireTime,
}

impl TimeQuery {
    fn parse(mut args: Args, what: TimeUnit) -> Result<Box<dyn Execute>, CommandError> {
        boxed(TimeQuery {
            key: args.next_arg()?,
            what,
        })
    }
}

impl Execute for TimeQuery {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let Some(entry) = db.peek(&self.key, now, stats) else {
            return Reply::Int(-2);
        };
        let Some(at) = entry.expire_at() else {
            return Reply::Int(-1);
        };
        let left = at.saturating_sub(now).max(0);
        // Seconds are rounded to the nearest, as Redis does.
        let to_secs = |ms: i64| ((i128::from(ms) + 500) / 1000) as i64;
        Reply::Int(match self.what {
            TimeUnit::Ttl => to_secs(left),
            TimeUnit::Pttl => left,
            TimeUnit::ExpireTime => to_secs(at),
            TimeUnit::PexpireTime => at,
        })
    }
}

/// PERSIST key
struct Persist(Bytes);

impl Execute for Persist {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match db.peek(&self.0, now, stats) {
            Some(entry) if entry.expire_at().is_some() => {
                db.set_expire(&self.0, None);
                db.notify(notify::GENERIC, "persist", &self.0);
                Reply::Int(1)
            }
            _ => Reply::Int(0),
        }
    }
}
