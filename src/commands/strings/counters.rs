//! The counters: INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT.

use super::*;

/// INCR, INCRBY, DECR, DECRBY: add `delta` to the integer at `key`.
pub(super) struct IncrBy {
    key: Bytes,
    delta: i64,
}

impl IncrBy {
    pub(super) fn parse_incr(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(IncrBy {
            key: args.next_arg()?,
            delta: 1,
        })
    }

    pub(super) fn parse_decr(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(IncrBy {
            key: args.next_arg()?,
            delta: -1,
        })
    }

    pub(super) fn parse_incrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let delta = args.next_i64()?;
        boxed(IncrBy { key, delta })
    }

    pub(super) fn parse_decrby(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
        db.notify(notify::STRING, "incrby", &self.key);
        Ok(Reply::Int(value))
    }
}

impl Execute for IncrBy {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// INCRBYFLOAT key increment
pub(super) struct IncrByFloat {
    key: Bytes,
    /// Parsed at run time: a key of the wrong type is reported first.
    increment: Bytes,
}

impl IncrByFloat {
    pub(super) fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
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
        db.notify(notify::STRING, "incrbyfloat", &self.key);
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
