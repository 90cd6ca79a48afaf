//! SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SMOVE.

use bytes::Bytes;

use super::{changed, limits, peek_set, read_set, set_mut, set_reply};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::keyspace::{Entry, Set, Value};
use crate::protocol::Reply;

/// SADD key member [member …]
struct SAdd {
    key: Bytes,
    members: Vec<Bytes>,
}

pub(super) fn parse_sadd(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(SAdd {
        key,
        members: args.rest(),
    })
}

impl Execute for SAdd {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let existing = match peek_set(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(existing) => existing,
        };
        let Some(set) = existing else {
            // A new key: stored whole, sized by the arguments as Redis does.
            let mut set = Set::for_adding(&self.members[0], self.members.len(), limits);
            let mut added = 0;
            for m in self.members {
                added += set.insert_quietly(m, limits) as i64;
            }
            db.insert(self.key.clone(), Entry::new(Value::Set(Box::new(set)), now));
            db.notify(notify::SET, "sadd", &self.key);
            return Reply::Int(added);
        };
        // Nothing new: no change, no watcher flagged, nothing journaled.
        if self.members.iter().all(|m| set.contains(m)) {
            return Reply::Int(0);
        }
        let Ok(Some(set)) = set_mut(db, &self.key, now, stats) else {
            return Reply::Int(0);
        };
        // As Redis: more arguments than the small encoding holds convert
        // the set up front, whatever is then added.
        set.prepare_for(self.members.len(), limits);
        let mut added = 0;
        for m in self.members {
            added += set.insert(m, limits) as i64;
        }
        db.notify(notify::SET, "sadd", &self.key);
        Reply::Int(added)
    }
}

/// SREM key member [member …]
struct SRem {
    key: Bytes,
    members: Vec<Bytes>,
}

pub(super) fn parse_srem(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(SRem {
        key,
        members: args.rest(),
    })
}

impl Execute for SRem {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match peek_set(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            Ok(Some(set)) if !self.members.iter().any(|m| set.contains(m)) => return Reply::Int(0),
            Ok(Some(_)) => {}
        }
        let Ok(Some(set)) = set_mut(db, &self.key, now, stats) else {
            return Reply::Int(0);
        };
        let mut removed = 0;
        for m in &self.members {
            removed += set.remove(m) as i64;
            if set.is_empty() {
                break;
            }
        }
        changed(db, &self.key, "srem");
        Reply::Int(removed)
    }
}

/// SMEMBERS key
struct SMembers(Bytes);

pub(super) fn parse_smembers(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(SMembers(args.next_arg()?))
}

impl Execute for SMembers {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_set(db, &self.0, now, stats) {
            Err(e) => e.into(),
            Ok(None) => Reply::Set(Vec::new()),
            Ok(Some(set)) => set_reply(set.listed(limits).into_iter(), resp3),
        }
    }
}

/// SISMEMBER key member
struct SIsMember(Bytes, Bytes);

pub(super) fn parse_sismember(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(SIsMember(args.next_arg()?, args.next_arg()?))
}

impl Execute for SIsMember {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_set(db, &self.0, now, stats) {
            Err(e) => e.into(),
            Ok(set) => Reply::Int(set.is_some_and(|s| s.contains(&self.1)) as i64),
        }
    }
}

/// SMISMEMBER key member [member …]
struct SMIsMember {
    key: Bytes,
    members: Vec<Bytes>,
}

pub(super) fn parse_smismember(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(SMIsMember {
        key,
        members: args.rest(),
    })
}

impl Execute for SMIsMember {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_set(db, &self.key, now, stats) {
            Err(e) => e.into(),
            Ok(set) => Reply::Array(
                self.members
                    .iter()
                    .map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)) as i64))
                    .collect(),
            ),
        }
    }
}

/// SCARD key
struct SCard(Bytes);

pub(super) fn parse_scard(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(SCard(args.next_arg()?))
}

impl Execute for SCard {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_set(db, &self.0, now, stats) {
            Err(e) => e.into(),
            Ok(set) => Reply::Int(set.map_or(0, |s| s.len() as i64)),
        }
    }
}

/// SMOVE source destination member
struct SMove {
    src: Bytes,
    dst: Bytes,
    member: Bytes,
}

pub(super) fn parse_smove(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(SMove {
        src: args.next_arg()?,
        dst: args.next_arg()?,
        member: args.next_arg()?,
    })
}

impl SMove {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let limits = limits(ctx);
        let now = ctx.now;
        let (db, stats) = ctx.db();
        // As in Redis: a missing source answers 0 before any type check.
        let Some(src) = db.peek(&self.src, now, stats) else {
            return Ok(Reply::Int(0));
        };
        let Value::Set(src) = &src.value else {
            return Err(error::WRONGTYPE);
        };
        let has = src.contains(&self.member);
        let dst = peek_set(db, &self.dst, now, stats)?;
        let dst_exists = dst.is_some();
        // A destination that already has the member is not changed (and
        // its watchers are not flagged), as in Redis.
        let dst_has = dst.is_some_and(|d| d.contains(&self.member));
        if self.src == self.dst || !has {
            return Ok(Reply::Int(has as i64));
        }
        if let Some(set) = set_mut(db, &self.src, now, stats)? {
            set.remove(&self.member);
        }
        changed(db, &self.src, "srem");
        if dst_has {
            // Nothing to add.
        } else if dst_exists {
            if let Some(set) = set_mut(db, &self.dst, now, stats)? {
                set.insert(self.member, limits);
            }
            db.notify(notify::SET, "sadd", &self.dst);
        } else {
            let mut set = Set::for_adding(&self.member, 1, limits);
            set.insert_quietly(self.member, limits);
            db.insert(self.dst.clone(), Entry::new(Value::Set(Box::new(set)), now));
            db.notify(notify::SET, "sadd", &self.dst);
        }
        Ok(Reply::Int(1))
    }
}

impl Execute for SMove {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}
