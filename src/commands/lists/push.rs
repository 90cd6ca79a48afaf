//! LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT and LSET.

use bytes::Bytes;

use super::{changed, ctx_fill, list_mut, peek_list, position, push_onto};
use crate::commands::args::{is, parse_i64};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// LPUSH / RPUSH / LPUSHX / RPUSHX key element …
struct Push {
    key: Bytes,
    elems: Vec<Bytes>,
    front: bool,
    /// The X forms: only onto an existing list.
    existing: bool,
}

fn parse_push(
    mut args: Args,
    front: bool,
    existing: bool,
) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(Push {
        key,
        elems: args.rest(),
        front,
        existing,
    })
}

pub(super) fn parse_lpush(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_push(args, true, false)
}

pub(super) fn parse_rpush(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_push(args, false, false)
}

pub(super) fn parse_lpushx(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_push(args, true, true)
}

pub(super) fn parse_rpushx(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_push(args, false, true)
}

impl Execute for Push {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) if self.existing => return Reply::Int(0),
            Ok(_) => {}
        }
        let len = push_onto(db, stats, &self.key, self.front, &self.elems, fill, now);
        Reply::Int(len as i64)
    }
}

/// LINSERT key BEFORE|AFTER pivot element
struct LInsert {
    key: Bytes,
    after: bool,
    pivot: Bytes,
    elem: Bytes,
}

pub(super) fn parse_linsert(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let after = match args.next_arg()? {
        w if is(&w, "BEFORE") => false,
        w if is(&w, "AFTER") => true,
        _ => return Err(error::SYNTAX),
    };
    boxed(LInsert {
        key,
        after,
        pivot: args.next_arg()?,
        elem: args.next_arg()?,
    })
}

impl Execute for LInsert {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        let at = match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return Reply::Int(0),
            Ok(Some(l)) => match l.iter().position(|e| e.eq_bytes(&self.pivot)) {
                None => return Reply::Int(-1),
                Some(i) => i + self.after as usize,
            },
        };
        let Ok(Some(l)) = list_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a list");
        };
        l.insert(at, self.elem, fill);
        let len = l.len();
        changed(db, &self.key, "linsert");
        Reply::Int(len as i64)
    }
}

/// LSET key index element
struct LSet {
    key: Bytes,
    index: i64,
    elem: Bytes,
}

pub(super) fn parse_lset(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let index = parse_i64(&args.next_arg()?)?;
    boxed(LSet {
        key,
        index,
        elem: args.next_arg()?,
    })
}

impl Execute for LSet {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let fill = ctx_fill(ctx);
        let (db, stats) = ctx.db();
        let at = match peek_list(db, &self.key, now, stats) {
            Err(e) => return e.into(),
            Ok(None) => return error::NO_SUCH_KEY.into(),
            Ok(Some(l)) => match position(self.index, l.len()) {
                Some(i) => i,
                None => return error::INDEX_OUT_OF_RANGE.into(),
            },
        };
        let Ok(Some(l)) = list_mut(db, &self.key, now, stats) else {
            unreachable!("the key was just found holding a list");
        };
        l.set(at, self.elem, fill);
        changed(db, &self.key, "lset");
        Reply::Simple("OK")
    }
}
