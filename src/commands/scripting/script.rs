//! SCRIPT LOAD, EXISTS, FLUSH, KILL and HELP.

use bytes::Bytes;

use crate::commands::args::is;
use crate::commands::server::help_reply;
use crate::commands::{boxed, Args, Ctx, Execute, Simple, WithArgs};
use crate::error::{self, CommandError};
use crate::protocol::{Reply, OK};

/// SCRIPT LOAD script
pub fn parse_load(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(WithArgs(load, args.rest()))
}

fn load(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    match ctx.shared.scripting.load(&args[0]) {
        Ok(sha) => Reply::bulk(sha),
        Err(e) => Reply::Error(e),
    }
}

/// SCRIPT EXISTS sha1 [sha1 ...]
pub fn parse_exists(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(WithArgs(exists, args.rest()))
}

fn exists(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let engine = &ctx.shared.scripting;
    Reply::Array(
        args.iter()
            .map(|sha| Reply::Int(engine.exists(sha) as i64))
            .collect(),
    )
}

/// SCRIPT FLUSH [ASYNC|SYNC]
pub fn parse_flush(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    match args.rest().as_slice() {
        [] => {}
        [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
        _ => return Err(error::SCRIPT_FLUSH_OPTION),
    }
    boxed(Simple(|ctx| {
        ctx.shared.scripting.flush();
        OK
    }))
}

/// SCRIPT KILL: no script can be running while a command runs (scripts
/// hold the keyspace lock), so the answer is NOTBUSY.
pub fn parse_kill(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| Reply::Error(error::NOTBUSY)))
}

/// SCRIPT HELP
pub fn parse_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EXISTS <sha1> [<sha1> ...]",
            "    Tell, for each SHA1, whether the script cache holds it (1) or not (0).",
            "FLUSH [ASYNC|SYNC]",
            "    Empty the script cache (either mode empties it at once).",
            "KILL",
            "    Stop the running script (none can be running while this runs: NOTBUSY).",
            "LOAD <script>",
            "    Compile a script and cache it without running it; replies with its SHA1.",
            "HELP",
            "    Print this help.",
        ])
    }))
}
