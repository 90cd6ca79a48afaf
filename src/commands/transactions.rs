//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC the dispatcher queues commands after checking
//! only that they exist, have a valid arity and are allowed (as Redis
//! does); EXEC parses and runs them all under one hold of the keyspace
//! lock, so no other client's command can come between them. A command
//! refused while queueing makes EXEC answer EXECABORT. A WATCHed key that
//! another command changed, or that expired, makes EXEC answer null.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind, Simple};
use crate::error::{self, CommandError};
use crate::protocol::{Reply, OK};
use crate::server::dispatch;

/// The transactions family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "multi",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
        keys: (0, 0, 0),
        group: "transactions",
        since: "1.2.0",
        summary: "Starts a transaction.",
        kind: Kind::Parse(|_| boxed(Simple(multi))),
    },
    CommandSpec {
        name: "exec",
        arity: 1,
        flags: &["noscript", "loading", "stale", "skip_slowlog"],
        keys: (0, 0, 0),
        group: "transactions",
        since: "1.2.0",
        summary: "Runs every command queued since MULTI, as one atomic unit.",
        kind: Kind::Parse(|_| boxed(Simple(exec))),
    },
    CommandSpec {
        name: "discard",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
        keys: (0, 0, 0),
        group: "transactions",
        since: "2.0.0",
        summary: "Drops every command queued since MULTI.",
        kind: Kind::Parse(|_| boxed(Simple(discard))),
    },
    CommandSpec {
        name: "watch",
        arity: -2,
        flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
        keys: (1, -1, 1),
        group: "transactions",
        since: "2.2.0",
        summary: "Makes the next EXEC fail if any of these keys changes first.",
        kind: Kind::Parse(Watch::parse),
    },
    CommandSpec {
        name: "unwatch",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast", "allow_busy"],
        keys: (0, 0, 0),
        group: "transactions",
        since: "2.2.0",
        summary: "Forgets every WATCHed key.",
        kind: Kind::Parse(|_| boxed(Simple(unwatch))),
    },
];

fn multi(ctx: &mut Ctx<'_>) -> Reply {
    if ctx.session.multi.is_some() {
        return error::MULTI_NESTED.into();
    }
    ctx.session.begin_multi();
    OK
}

fn exec(ctx: &mut Ctx<'_>) -> Reply {
    let Some(multi) = ctx.session.end_multi() else {
        return error::EXEC_WITHOUT_MULTI.into();
    };
    if multi.aborted {
        ctx.session.unwatch_all(ctx.keyspace);
        return error::EXECABORT.into();
    }
    let changed = ctx.session.watch_flag.load(Ordering::SeqCst)
        || ctx
            .session
            .watched
            .iter()
            .any(|(db, key)| ctx.keyspace.dbs()[*db].is_expired(key, ctx.now));
    ctx.session.unwatch_all(ctx.keyspace);
    if changed {
        return Reply::NullArray;
    }
    let replies = multi
        .queued
        .into_iter()
        .map(|queued| dispatch::run_queued(ctx, queued))
        .collect();
    Reply::Array(replies)
}

fn discard(ctx: &mut Ctx<'_>) -> Reply {
    if ctx.session.end_multi().is_none() {
        return error::DISCARD_WITHOUT_MULTI.into();
    }
    ctx.session.unwatch_all(ctx.keyspace);
    OK
}

fn unwatch(ctx: &mut Ctx<'_>) -> Reply {
    ctx.session.unwatch_all(ctx.keyspace);
    OK
}

/// WATCH key [key ...]
struct Watch(Vec<Bytes>);

impl Watch {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Watch(args.rest()))
    }
}

impl Execute for Watch {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if ctx.session.multi.is_some() {
            return error::WATCH_IN_MULTI.into();
        }
        let db_index = ctx.session.db;
        for key in self.0 {
            if ctx
                .session
                .watched
                .iter()
                .any(|(d, k)| *d == db_index && *k == key)
            {
                continue;
            }
            let (db, stats) = ctx.keyspace.db(db_index);
            // Apply lazy expiry now, so a key already past its TTL counts
            // as absent rather than as expiring later.
            db.peek(&key, ctx.now, stats);
            db.watch(key.clone(), ctx.session.watch_flag.clone());
            ctx.session.watched.push((db_index, key));
        }
        OK
    }
}
