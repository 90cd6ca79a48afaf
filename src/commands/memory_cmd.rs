//! MEMORY USAGE and MEMORY HELP: a key's approximate footprint.
//!
//! The figure is an estimate (key, entry overhead and the value's own
//! allocations), as Redis's is; only its order of magnitude is meant.

use bytes::Bytes;

use super::keys::generic;
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind};
use crate::commands::args::{is, parse_i64};
use crate::error::{self, CommandError};
use crate::keyspace::{Entry, Value};
use crate::protocol::Reply;

/// The MEMORY family's table.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "memory",
    arity: -2,
    flags: &[],
    keys: (0, 0, 0),
    group: "server",
    since: "4.0.0",
    summary: "Reports on memory use.",
    kind: Kind::Container(SUBCOMMANDS),
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    generic(
        "usage",
        -3,
        &["readonly"],
        (2, 2, 1),
        "4.0.0",
        "Estimates the bytes a key and its value take.",
        parse_usage,
    ),
    generic(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "4.0.0",
        "Lists the MEMORY subcommands.",
        |_| boxed(Help),
    ),
];

/// MEMORY USAGE key [SAMPLES count]
struct Usage {
    key: Bytes,
}

fn parse_usage(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    while let Some(opt) = args.try_next() {
        if is(&opt, "SAMPLES") && !args.is_empty() {
            if parse_i64(&args.next_arg()?)? < 0 {
                return Err(error::SYNTAX);
            }
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(Usage { key })
}

/// Bytes an entry takes, roughly.
fn entry_bytes(key: &[u8], entry: &Entry) -> usize {
    let value = match &entry.value {
        Value::Str(s) => s.len() + 16,
        Value::Stream(s) => 64 + 32 * s.len() as usize,
        Value::ZSet(z) => 64 + z.members().map(|(m, _)| m.len() + 56).sum::<usize>(),
        Value::Hash(h) => h.memory(),
        Value::List(l) => 64 + l.heap_bytes(),
        Value::Set(s) => 64 + s.iter().map(|m| m.len() + 40).sum::<usize>(),
    };
    key.len() + std::mem::size_of::<Entry>() + 32 + value
}

impl Execute for Usage {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match db.peek(&self.key, now, stats) {
            Some(entry) => Reply::Int(entry_bytes(&self.key, entry) as i64),
            None => Reply::Null,
        }
    }
}

/// MEMORY HELP
struct Help;

impl Execute for Help {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        const LINES: &[&str] = &[
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Estimated bytes that <key> and its value take.",
            "HELP",
            "    Shows this text.",
        ];
        Reply::Array(LINES.iter().map(|&l| Reply::Simple(l)).collect())
    }
}
