//! BZPOPMIN, BZPOPMAX and BZMPOP: pops that wait for a member.
//!
//! A pop that finds every key missing leaves a block request (unless it
//! runs inside EXEC, where it replies null at once, as Redis does); the
//! blocking registry retries it, in blocking order, after every command
//! that touches one of its keys (ZADD, ZINCRBY, ZRANGESTORE, …), and the
//! retry pops under the same lock, so two waiters never get one member.

use std::time::Duration;

use bytes::Bytes;

use super::remove::{parse_mpop_args, MPop};
use super::{peek_zset, pop, score_reply, End};
use crate::commands::args::parse_f64;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::{Db, Keyspace, KeyspaceStats};
use crate::protocol::Reply;
use crate::server::blocking::{BlockRequest, BlockingRead};
use crate::server::Shared;

/// Parses a blocking timeout in seconds (a float; 0 waits for ever). It is
/// rounded up to whole milliseconds.
pub(crate) fn parse_timeout_secs(raw: &[u8]) -> Result<Option<Duration>, CommandError> {
    let secs = parse_f64(raw)
        .or_else(|| parse_hex(raw))
        .ok_or(error::TIMEOUT_NOT_FLOAT)?;
    let ms = (secs * 1000.0).ceil();
    if ms >= i64::MAX as f64 {
        return Err(error::TIMEOUT_OUT_OF_RANGE);
    }
    if ms < 0.0 {
        return Err(error::TIMEOUT_NEGATIVE);
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// A hexadecimal integer (`0x1F`, `-0x1`), which Redis's strtold-based
/// timeout parsing accepts too.
fn parse_hex(raw: &[u8]) -> Option<f64> {
    let (sign, rest) = match raw.first() {
        Some(b'-') => (-1.0, &raw[1..]),
        Some(b'+') => (1.0, &raw[1..]),
        _ => (1.0, raw),
    };
    let digits = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    Some(
        sign * text.chars().fold(0.0, |acc, c| {
            acc * 16.0 + c.to_digit(16).unwrap_or(0) as f64
        }),
    )
}

/// BZPOPMIN / BZPOPMAX key … timeout
struct BZPop {
    keys: Vec<Bytes>,
    end: End,
    timeout: Option<Duration>,
}

fn parse_bzpop(args: Args, end: End) -> Result<Box<dyn Execute>, CommandError> {
    let mut keys = args.rest();
    let timeout = parse_timeout_secs(&keys.pop().ok_or(error::SYNTAX)?)?;
    boxed(BZPop { keys, end, timeout })
}

pub(super) fn parse_bzpopmin(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_bzpop(args, End::Min)
}

pub(super) fn parse_bzpopmax(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_bzpop(args, End::Max)
}

impl BZPop {
    /// Pops one member from the first key holding a sorted set.
    fn run(
        &self,
        db: &mut Db,
        stats: &mut KeyspaceStats,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        for key in &self.keys {
            if peek_zset(db, key, now, stats)?.is_none() {
                continue;
            }
            if let Some((member, score)) = pop(db, stats, key, self.end, 1, now).pop() {
                return Ok(Some(Reply::Array(vec![
                    Reply::Bulk(key.clone()),
                    Reply::Bulk(member),
                    score_reply(score),
                ])));
            }
        }
        Ok(None)
    }
}

/// Runs a blocking pop now, or leaves a block request for it.
fn run_or_block<R: BlockingRead + PopNow + 'static>(
    mut read: Box<R>,
    timeout: Option<Duration>,
    ctx: &mut Ctx<'_>,
) -> Reply {
    let db = ctx.session.db;
    match read.try_serve_now(ctx.keyspace, db, ctx.now) {
        Ok(Some(reply)) => reply,
        Err(e) => e.into(),
        Ok(None) => {
            if !ctx.session.in_exec {
                ctx.session.block_request = Some(BlockRequest {
                    read: read as Box<dyn BlockingRead>,
                    timeout,
                });
            }
            Reply::NullArray
        }
    }
}

/// The pop itself, shared by the first try and the retries.
trait PopNow {
    fn try_serve_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        now: i64,
    ) -> Result<Option<Reply>, CommandError>;
}

impl PopNow for BZPop {
    fn try_serve_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        let (d, stats) = keyspace.db(db);
        self.run(d, stats, now)
    }
}

impl Execute for BZPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let timeout = self.timeout;
        run_or_block(self, timeout, ctx)
    }
}

impl BlockingRead for BZPop {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        _shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        // A key that now holds another type is not an error for a waiter:
        // it keeps waiting.
        match self.try_serve_now(keyspace, db, now) {
            Err(e) if e == error::WRONGTYPE => Ok(None),
            other => other,
        }
    }

    fn keys(&self) -> &[Bytes] {
        &self.keys
    }
}

/// BZMPOP timeout numkeys key … MIN|MAX [COUNT count]
struct BZMPop {
    mpop: MPop,
    timeout: Option<Duration>,
}

pub(super) fn parse_bzmpop(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let timeout = parse_timeout_secs(&args.next_arg()?)?;
    let mpop = parse_mpop_args(args)?;
    boxed(BZMPop { mpop, timeout })
}

impl PopNow for BZMPop {
    fn try_serve_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        let (d, stats) = keyspace.db(db);
        self.mpop.run(d, stats, now)
    }
}

impl Execute for BZMPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let timeout = self.timeout;
        run_or_block(self, timeout, ctx)
    }
}

impl BlockingRead for BZMPop {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        _shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        match self.try_serve_now(keyspace, db, now) {
            Err(e) if e == error::WRONGTYPE => Ok(None),
            other => other,
        }
    }

    fn keys(&self) -> &[Bytes] {
        &self.mpop.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout_secs(b"0"), Ok(None));
        assert_eq!(
            parse_timeout_secs(b"0.0001"),
            Ok(Some(Duration::from_millis(1)))
        );
        assert_eq!(
            parse_timeout_secs(b"1.5"),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(parse_timeout_secs(b"-1"), Err(error::TIMEOUT_NEGATIVE));
        assert_eq!(parse_timeout_secs(b"x"), Err(error::TIMEOUT_NOT_FLOAT));
        assert_eq!(parse_timeout_secs(b"inf"), Err(error::TIMEOUT_OUT_OF_RANGE));
        assert_eq!(
            parse_timeout_secs(b"0x7FFFFFFFFFFFFF"),
            Err(error::TIMEOUT_OUT_OF_RANGE)
        );
        assert_eq!(
            parse_timeout_secs(b"0x10"),
            Ok(Some(Duration::from_secs(16)))
        );
    }
}
