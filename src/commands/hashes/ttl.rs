//! Field expiry (Redis 7.4): HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT,
//! HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST.
//!
//! Redis checks the key's type before it reads the arguments, so these
//! commands keep their arguments raw until they run.

use bytes::Bytes;

use super::{drop_if_empty, hash_mut, parse_fields, peek_hash, read_hash};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// The latest field expiry Redis accepts, in Unix ms (2^48 - 1).
pub(super) const MAX_FIELD_EXPIRY: i64 = (1 << 48) - 1;

/// The per-field replies.
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const NOT_MET: i64 = 0;
const SET: i64 = 1;
const DELETED: i64 = 2;

/// How the time argument of an HEXPIRE-like command reads.
#[derive(Clone, Copy)]
pub(super) struct TimeArg {
    /// Seconds (else milliseconds).
    pub(super) seconds: bool,
    /// Absolute Unix time (else relative to now).
    pub(super) absolute: bool,
    pub(super) name: &'static str,
}

/// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT key time [NX|XX|GT|LT]
/// FIELDS numfields field …
struct HExpire {
    key: Bytes,
    how: TimeArg,
    rest: Vec<Bytes>,
}

fn parse_expire(mut args: Args, how: TimeArg) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HExpire {
        key,
        how,
        rest: args.rest(),
    })
}

pub(super) fn parse_hexpire(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let how = TimeArg {
        seconds: true,
        absolute: false,
        name: "hexpire",
    };
    parse_expire(args, how)
}

pub(super) fn parse_hpexpire(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let how = TimeArg {
        seconds: false,
        absolute: false,
        name: "hpexpire",
    };
    parse_expire(args, how)
}

pub(super) fn parse_hexpireat(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let how = TimeArg {
        seconds: true,
        absolute: true,
        name: "hexpireat",
    };
    parse_expire(args, how)
}

pub(super) fn parse_hpexpireat(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let how = TimeArg {
        seconds: false,
        absolute: true,
        name: "hpexpireat",
    };
    parse_expire(args, how)
}

/// A condition on the current expiry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl Cond {
    /// Whether a field expiring at `current` (none: never) may be given
    /// `new`. No expiry counts as infinite for GT and LT.
    fn allows(self, current: Option<i64>, new: i64) -> bool {
        match self {
            Cond::Always => true,
            Cond::Nx => current.is_none(),
            Cond::Xx => current.is_some(),
            Cond::Gt => current.is_some_and(|c| new > c),
            Cond::Lt => current.is_none_or(|c| new < c),
        }
    }
}

/// The absolute expiry in ms that `raw` names, checked as Redis does.
pub(super) fn expiry_ms(raw: &[u8], how: TimeArg, now: i64) -> Result<i64, CommandError> {
    let n = parse_i64(raw)?;
    if n < 0 {
        return Err(error::FIELD_EXPIRE_NEGATIVE);
    }
    let ms = if how.seconds {
        if n > MAX_FIELD_EXPIRY / 1000 {
            return Err(error::invalid_expire(how.name));
        }
        n * 1000
    } else {
        n
    };
    let base = if how.absolute { 0 } else { now };
    if ms > MAX_FIELD_EXPIRY - base {
        return Err(error::invalid_expire(how.name));
    }
    Ok(ms + base)
}

impl HExpire {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let exists = peek_hash(db, &self.key, now, stats)?.is_some();
        let at = expiry_ms(&self.rest[0], self.how, now)?;
        let mut rest = &self.rest[1..];
        let cond = match rest.first() {
            Some(w) if is(w, "NX") => Cond::Nx,
            Some(w) if is(w, "XX") => Cond::Xx,
            Some(w) if is(w, "GT") => Cond::Gt,
            Some(w) if is(w, "LT") => Cond::Lt,
            _ => Cond::Always,
        };
        if cond != Cond::Always {
            rest = &rest[1..];
        }
        let fields = parse_fields(rest, error::NUMFIELDS_POSITIVE_EXPIRE)?;
        if !exists {
            return Ok(Reply::Array(vec![Reply::Int(NO_FIELD); fields.len()]));
        }
        let mut out = Vec::with_capacity(fields.len());
        let mut noted = false;
        if let Some(h) = hash_mut(db, &self.key, now, stats)? {
            for f in &fields {
                let code = if !h.contains(f) {
                    NO_FIELD
                } else if !cond.allows(h.expire_at(f), at) {
                    NOT_MET
                } else if at <= now {
                    h.remove(f);
                    DELETED
                } else {
                    h.set_expire(f, Some(at));
                    noted = true;
                    SET
                };
                out.push(Reply::Int(code));
            }
        }
        if noted {
            db.note_field_expiry(&self.key, at);
        }
        drop_if_empty(db, &self.key);
        Ok(Reply::Array(out))
    }
}

impl Execute for HExpire {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// What a TTL query reports.
#[derive(Clone, Copy)]
enum Report {
    /// HTTL: seconds left, rounded up.
    Ttl,
    /// HPTTL: milliseconds left.
    PTtl,
    /// HEXPIRETIME: Unix seconds.
    ExpireTime,
    /// HPEXPIRETIME: Unix milliseconds.
    PExpireTime,
    /// HPERSIST: removes the TTL.
    Persist,
}

/// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME / HPERSIST key FIELDS
/// numfields field …
struct HTtl {
    key: Bytes,
    rest: Vec<Bytes>,
    what: Report,
}

fn parse_ttl(mut args: Args, what: Report) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HTtl {
        key,
        rest: args.rest(),
        what,
    })
}

pub(super) fn parse_httl(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_ttl(args, Report::Ttl)
}

pub(super) fn parse_hpttl(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_ttl(args, Report::PTtl)
}

pub(super) fn parse_hexpiretime(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_ttl(args, Report::ExpireTime)
}

pub(super) fn parse_hpexpiretime(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_ttl(args, Report::PExpireTime)
}

pub(super) fn parse_hpersist(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_ttl(args, Report::Persist)
}

impl HTtl {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let h = read_hash(db, &self.key, now, stats)?;
        let fields = parse_fields(&self.rest, error::NUMFIELDS_POSITIVE)?;
        let Some(h) = h else {
            return Ok(Reply::Array(vec![Reply::Int(NO_FIELD); fields.len()]));
        };
        let codes: Vec<(bool, Option<i64>)> = fields
            .iter()
            .map(|f| (h.contains(f), h.expire_at(f)))
            .collect();
        let mut out = Vec::with_capacity(fields.len());
        let mut persisted = Vec::new();
        for (f, (present, at)) in fields.iter().zip(codes) {
            let code = match (present, at) {
                (false, _) => NO_FIELD,
                (true, None) => NO_TTL,
                (true, Some(at)) => match self.what {
                    Report::Ttl => (at - now + 999).max(0) / 1000,
                    Report::PTtl => (at - now).max(0),
                    Report::ExpireTime => at / 1000,
                    Report::PExpireTime => at,
                    Report::Persist => {
                        persisted.push(f.clone());
                        SET
                    }
                },
            };
            out.push(Reply::Int(code));
        }
        if !persisted.is_empty() {
            if let Some(h) = hash_mut(db, &self.key, now, stats)? {
                for f in &persisted {
                    h.set_expire(f, None);
                }
            }
        }
        Ok(Reply::Array(out))
    }
}

impl Execute for HTtl {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}
