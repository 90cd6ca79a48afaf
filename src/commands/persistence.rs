//! Checkpoint commands: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE.
//!
//! In Sluice all three of SAVE, BGSAVE and BGREWRITEAOF write a checkpoint
//! (the state as one file) and delete the log segments it makes dead: that
//! is both Redis's snapshot and its AOF rewrite. A checkpoint copies keys
//! in small batches, so it never holds the keyspace lock for long; it
//! therefore runs after the command's own hold of the lock ends
//! ([`AfterLock`]).

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::is;
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind, Simple};
use crate::error::{self, CommandError};
use crate::protocol::Reply;
use crate::server::AfterLock;

/// The persistence family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "save",
        arity: 1,
        flags: &["admin", "noscript", "no_async_loading", "no_multi"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Writes a checkpoint and replies when it is on disk.",
        kind: Kind::Parse(|_| boxed(Simple(save))),
    },
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: &["admin", "noscript", "no_async_loading"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Starts writing a checkpoint in the background.",
        kind: Kind::Parse(BgSave::parse),
    },
    CommandSpec {
        name: "bgrewriteaof",
        arity: 1,
        flags: &["admin", "noscript", "no_async_loading"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Compacts the log: writes a checkpoint in the background and drops the segments it covers.",
        kind: Kind::Parse(|_| boxed(Simple(bgrewriteaof))),
    },
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Unix time of the last successful checkpoint.",
        kind: Kind::Parse(|_| {
            boxed(Simple(|ctx| {
                Reply::Int(
                    ctx.shared
                        .storage
                        .checkpoints
                        .last_ok_unix
                        .load(Ordering::Relaxed),
                )
            }))
        }),
    },
];

/// Claims the checkpoint for this command; false if one is already being
/// written.
fn busy(ctx: &Ctx<'_>) -> bool {
    !ctx.shared.storage.claim_checkpoint()
}

fn save(ctx: &mut Ctx<'_>) -> Reply {
    if busy(ctx) {
        return error::SAVE_IN_PROGRESS.into();
    }
    ctx.session.after_lock = Some(AfterLock::Checkpoint {
        wait: true,
        reload: false,
    });
    Reply::Simple("OK")
}

/// BGSAVE [SCHEDULE]
struct BgSave;

impl BgSave {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        match args.try_next() {
            None => boxed(BgSave),
            Some(opt) if is(&opt, "schedule") && args.is_empty() => boxed(BgSave),
            Some(_) => Err(error::SYNTAX),
        }
    }
}

impl Execute for BgSave {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if busy(ctx) {
            return error::SAVE_IN_PROGRESS.into();
        }
        ctx.session.after_lock = Some(AfterLock::Checkpoint {
            wait: false,
            reload: false,
        });
        Reply::Status(Bytes::from_static(b"Background saving started"))
    }
}

fn bgrewriteaof(ctx: &mut Ctx<'_>) -> Reply {
    if busy(ctx) {
        return error::REWRITE_IN_PROGRESS.into();
    }
    ctx.session.after_lock = Some(AfterLock::Checkpoint {
        wait: false,
        reload: false,
    });
    Reply::Status(Bytes::from_static(
        b"Background append only file rewriting started",
    ))
}
