//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP: pops that wait for an
//! element.
//!
//! A pop that finds every key missing leaves a block request (unless it
//! runs inside EXEC, where it behaves as its non-blocking form and replies
//! null at once, as Redis does); the blocking registry retries it, in
//! blocking order, after every command that touches one of its keys, and
//! the retry pops under the same lock, so two waiters never get one
//! element. A BLMOVE that is served pushes onto its destination, which
//! makes that key ready in turn: the registry's rounds then serve the
//! clients waiting there (chained wake-ups). A key replaced by another
//! type keeps its waiters waiting.

use std::time::Duration;

use bytes::Bytes;

use super::pop::{parse_mpop_args, MPop, Move};
use super::{fill, parse_end, peek_list, pop_from};
use crate::commands::zsets::blocking::parse_timeout_secs;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::Keyspace;
use crate::protocol::Reply;
use crate::server::blocking::{BlockRequest, BlockingRead};
use crate::server::Shared;

/// The pop itself, shared by the first try and the retries.
trait PopNow {
    fn try_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError>;

    /// What the command replies when nothing came (timeout, or inside
    /// EXEC).
    fn nothing(&self) -> Reply;
}

/// Runs a blocking pop now, or leaves a block request for it.
fn run_or_block<R: BlockingRead + PopNow + 'static>(
    mut read: Box<R>,
    timeout: Option<Duration>,
    ctx: &mut Ctx<'_>,
) -> Reply {
    let db = ctx.session.db;
    match read.try_now(ctx.keyspace, db, ctx.shared, ctx.now) {
        Ok(Some(reply)) => reply,
        Err(e) => e.into(),
        Ok(None) => {
            let nothing = read.nothing();
            if !ctx.session.in_exec {
                ctx.session.block_request = Some(BlockRequest {
                    read: read as Box<dyn BlockingRead>,
                    timeout,
                });
            }
            nothing
        }
    }
}

/// BLPOP / BRPOP key … timeout
struct BPop {
    keys: Vec<Bytes>,
    front: bool,
    timeout: Option<Duration>,
}

fn parse_bpop(args: Args, front: bool) -> Result<Box<dyn Execute>, CommandError> {
    let mut keys = args.rest();
    let timeout = parse_timeout_secs(&keys.pop().ok_or(error::SYNTAX)?)?;
    boxed(BPop {
        keys,
        front,
        timeout,
    })
}

pub(super) fn parse_blpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_bpop(args, true)
}

pub(super) fn parse_brpop(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_bpop(args, false)
}

impl PopNow for BPop {
    fn try_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        let fill = fill(shared);
        let (d, stats) = keyspace.db(db);
        for key in &self.keys {
            if peek_list(d, key, now, stats)?.is_none() {
                continue;
            }
            if let Some(e) = pop_from(d, stats, key, self.front, 1, fill, now).pop() {
                return Ok(Some(Reply::Array(vec![
                    Reply::Bulk(key.clone()),
                    Reply::Bulk(e),
                ])));
            }
        }
        Ok(None)
    }

    fn nothing(&self) -> Reply {
        Reply::NullArray
    }
}

/// A key that now holds another type is not an error for a waiter: it
/// keeps waiting.
fn keep_waiting_on_wrongtype(
    outcome: Result<Option<Reply>, CommandError>,
) -> Result<Option<Reply>, CommandError> {
    match outcome {
        Err(e) if e == error::WRONGTYPE => Ok(None),
        other => other,
    }
}

impl Execute for BPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let timeout = self.timeout;
        run_or_block(self, timeout, ctx)
    }
}

impl BlockingRead for BPop {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        keep_waiting_on_wrongtype(self.try_now(keyspace, db, shared, now))
    }

    fn keys(&self) -> &[Bytes] {
        &self.keys
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, and
/// BRPOPLPUSH source destination timeout.
struct BMove {
    mv: Move,
    /// Only the source is waited on.
    waited: [Bytes; 1],
    timeout: Option<Duration>,
}

pub(super) fn parse_blmove(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let src = args.next_arg()?;
    let dst = args.next_arg()?;
    let from_front = parse_end(&args.next_arg()?)?;
    let to_front = parse_end(&args.next_arg()?)?;
    let timeout = parse_timeout_secs(&args.next_arg()?)?;
    boxed(BMove {
        waited: [src.clone()],
        mv: Move::new(src, dst, from_front, to_front),
        timeout,
    })
}

pub(super) fn parse_brpoplpush(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let src = args.next_arg()?;
    let dst = args.next_arg()?;
    let timeout = parse_timeout_secs(&args.next_arg()?)?;
    boxed(BMove {
        waited: [src.clone()],
        mv: Move::new(src, dst, false, true),
        timeout,
    })
}

impl PopNow for BMove {
    fn try_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        let fill = fill(shared);
        let (d, stats) = keyspace.db(db);
        Ok(self.mv.run(d, stats, fill, now)?.map(Reply::Bulk))
    }

    fn nothing(&self) -> Reply {
        Reply::Null
    }
}

impl Execute for BMove {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let timeout = self.timeout;
        run_or_block(self, timeout, ctx)
    }
}

impl BlockingRead for BMove {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        // The source now holding another type keeps the client waiting; a
        // destination of another type is the client's error, as when
        // Redis runs the command again.
        let (d, stats) = keyspace.db(db);
        if peek_list(d, &self.waited[0], now, stats).is_err() {
            return Ok(None);
        }
        self.try_now(keyspace, db, shared, now)
    }

    fn keys(&self) -> &[Bytes] {
        &self.waited
    }
}

/// BLMPOP timeout numkeys key … LEFT|RIGHT [COUNT count]
struct BLMPop {
    mpop: MPop,
    timeout: Option<Duration>,
}

pub(super) fn parse_blmpop(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let timeout = parse_timeout_secs(&args.next_arg()?)?;
    let mpop = parse_mpop_args(args)?;
    boxed(BLMPop { mpop, timeout })
}

impl PopNow for BLMPop {
    fn try_now(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        let fill = fill(shared);
        let (d, stats) = keyspace.db(db);
        self.mpop.run(d, stats, fill, now)
    }

    fn nothing(&self) -> Reply {
        Reply::NullArray
    }
}

impl Execute for BLMPop {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let timeout = self.timeout;
        run_or_block(self, timeout, ctx)
    }
}

impl BlockingRead for BLMPop {
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError> {
        keep_waiting_on_wrongtype(self.try_now(keyspace, db, shared, now))
    }

    fn keys(&self) -> &[Bytes] {
        &self.mpop.keys
    }
}
