//! Redis 8.0's HGETDEL, HGETEX and HSETEX.

use bytes::Bytes;

use super::basic::values_reply;
use super::ttl::expiry_ms;
use super::{drop_if_empty, hash_mut, hash_mut_or_new, limits, parse_fields, peek_hash};
use crate::commands::args::is;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// HGETDEL key FIELDS numfields field …
struct HGetDel {
    key: Bytes,
    rest: Vec<Bytes>,
}

pub(super) fn parse_hgetdel(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HGetDel {
        key,
        rest: args.rest(),
    })
}

impl HGetDel {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let h = peek_hash(db, &self.key, now, stats)?;
        let fields = parse_fields(&self.rest, error::NUMFIELDS_POSITIVE)?;
        let reply = values_reply(h, &fields);
        if h.is_some_and(|h| fields.iter().any(|f| h.contains(f))) {
            if let Some(h) = hash_mut(db, &self.key, now, stats)? {
                for f in &fields {
                    h.remove(f);
                }
            }
            drop_if_empty(db, &self.key);
        }
        Ok(reply)
    }
}

impl Execute for HGetDel {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// An expiry option of HGETEX / HSETEX.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ttl {
    /// No option: HGETEX leaves TTLs alone, HSETEX clears them.
    Unset,
    /// EX / PX / EXAT / PXAT, as an absolute time in ms.
    At(i64),
    /// HGETEX PERSIST.
    Persist,
    /// HSETEX KEEPTTL.
    Keep,
}

/// Reads one expiry option at `rest[0]` if there is one; returns it and
/// how many words it took. `name` is the command's, for error texts.
fn ttl_option(
    rest: &[Bytes],
    name: &'static str,
    now: i64,
) -> Result<Option<(Ttl, usize)>, CommandError> {
    let Some(word) = rest.first() else {
        return Ok(None);
    };
    let timed = |seconds, absolute| -> Result<Option<(Ttl, usize)>, CommandError> {
        let raw = rest.get(1).ok_or(error::SYNTAX)?;
        let how = super::ttl::TimeArg {
            seconds,
            absolute,
            name,
        };
        Ok(Some((Ttl::At(expiry_ms(raw, how, now)?), 2)))
    };
    if is(word, "EX") {
        timed(true, false)
    } else if is(word, "PX") {
        timed(false, false)
    } else if is(word, "EXAT") {
        timed(true, true)
    } else if is(word, "PXAT") {
        timed(false, true)
    } else if is(word, "PERSIST") && name == "hgetex" {
        Ok(Some((Ttl::Persist, 1)))
    } else if is(word, "KEEPTTL") && name == "hsetex" {
        Ok(Some((Ttl::Keep, 1)))
    } else {
        Ok(None)
    }
}

/// HGETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST] FIELDS
/// numfields field …
struct HGetEx {
    key: Bytes,
    rest: Vec<Bytes>,
}

pub(super) fn parse_hgetex(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HGetEx {
        key,
        rest: args.rest(),
    })
}

impl HGetEx {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let h = peek_hash(db, &self.key, now, stats)?;
        let mut rest = &self.rest[..];
        let mut ttl = Ttl::Unset;
        while let Some((t, used)) = ttl_option(rest, "hgetex", now)? {
            if ttl != Ttl::Unset {
                return Err(error::SYNTAX);
            }
            ttl = t;
            rest = &rest[used..];
        }
        let fields = parse_fields(rest, error::NUMFIELDS_POSITIVE)?;
        let reply = values_reply(h, &fields);
        let touched = h.is_some_and(|h| {
            fields.iter().any(|f| match ttl {
                Ttl::At(_) => h.contains(f),
                Ttl::Persist => h.expire_at(f).is_some(),
                Ttl::Unset | Ttl::Keep => false,
            })
        });
        if touched {
            if let Some(h) = hash_mut(db, &self.key, now, stats)? {
                for f in &fields {
                    match ttl {
                        Ttl::At(at) if h.contains(f) => {
                            if at <= now {
                                h.remove(f);
                            } else {
                                h.set_expire(f, Some(at));
                            }
                        }
                        Ttl::Persist if h.expire_at(f).is_some() => h.set_expire(f, None),
                        _ => {}
                    }
                }
            }
            if let Ttl::At(at) = ttl {
                if at > now {
                    db.note_field_expiry(&self.key, at);
                }
            }
            drop_if_empty(db, &self.key);
        }
        Ok(reply)
    }
}

impl Execute for HGetEx {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// HSETEX key [FNX | FXX] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]
/// FIELDS numfields field value …
struct HSetEx {
    key: Bytes,
    rest: Vec<Bytes>,
}

pub(super) fn parse_hsetex(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(HSetEx {
        key,
        rest: args.rest(),
    })
}

impl HSetEx {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let limits = limits(ctx);
        let now = ctx.now;
        let mut rest = &self.rest[..];
        let (mut fnx, mut fxx) = (false, false);
        let mut ttl = Ttl::Unset;
        loop {
            match rest.first() {
                Some(w) if is(w, "FNX") && !fnx && !fxx => fnx = true,
                Some(w) if is(w, "FXX") && !fnx && !fxx => fxx = true,
                Some(w) if is(w, "FNX") || is(w, "FXX") => return Err(error::SYNTAX),
                _ => match ttl_option(rest, "hsetex", now)? {
                    Some((t, used)) => {
                        if ttl != Ttl::Unset {
                            return Err(error::HASH_EXPIRY_OPTIONS);
                        }
                        ttl = t;
                        rest = &rest[used..];
                        continue;
                    }
                    None => break,
                },
            }
            rest = &rest[1..];
        }
        match rest.first() {
            Some(w) if is(w, "FIELDS") => {}
            _ => return Err(error::FIELDS_MISSING),
        }
        let n = rest
            .get(1)
            .and_then(|raw| crate::commands::args::parse_i64_opt(raw))
            .filter(|&n| n > 0)
            .ok_or(error::NUMFIELDS_POSITIVE)?;
        if u64::try_from(rest.len() - 2).ok() != u64::try_from(n).ok().map(|n| n * 2) {
            return Err(error::NUMFIELDS_MISMATCH);
        }
        let pairs: Vec<(Bytes, Bytes)> = rest[2..]
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        let (db, stats) = ctx.db();
        let h = peek_hash(db, &self.key, now, stats)?;
        let ok = match h {
            None => !fxx,
            Some(h) if fnx => !pairs.iter().any(|(f, _)| h.contains(f)),
            Some(h) if fxx => pairs.iter().all(|(f, _)| h.contains(f)),
            Some(_) => true,
        };
        if !ok {
            return Ok(Reply::Int(0));
        }
        let h = hash_mut_or_new(db, &self.key, now, stats)?;
        let longest = pairs
            .iter()
            .map(|(f, v)| f.len().max(v.len()))
            .max()
            .unwrap_or(0);
        h.reserve(pairs.len(), longest, limits);
        let mut noted = None;
        for (f, v) in pairs {
            match ttl {
                Ttl::At(at) if at <= now => {
                    h.remove(&f);
                }
                Ttl::At(at) => {
                    h.insert_with_ttl(f, v, Some(at), limits);
                    noted = Some(at);
                }
                Ttl::Keep => {
                    let keep = h.expire_at(&f);
                    h.insert_with_ttl(f, v, keep, limits);
                }
                Ttl::Unset | Ttl::Persist => {
                    h.insert(f, v, limits);
                }
            }
        }
        if let Some(at) = noted {
            db.note_field_expiry(&self.key, at);
        }
        drop_if_empty(db, &self.key);
        Ok(Reply::Int(1))
    }
}

impl Execute for HSetEx {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}
