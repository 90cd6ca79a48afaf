//! EVAL script numkeys [key ...] [arg ...], and EVALSHA, EVAL_RO,
//! EVALSHA_RO with the same arguments.

use bytes::Bytes;

use crate::commands::args::parse_i64;
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::protocol::Reply;
use crate::scripting::Source;

/// One of the four EVAL commands, parsed.
struct Eval {
    source: Source,
    keys: Vec<Bytes>,
    argv: Vec<Bytes>,
    read_only: bool,
}

fn parse(mut args: Args, sha: bool, read_only: bool) -> Result<Box<dyn Execute>, CommandError> {
    let script = args.next_arg()?;
    let numkeys = parse_i64(&args.next_arg()?)?;
    let mut rest = args.rest();
    if numkeys < 0 {
        return Err(error::NUMKEYS_NEGATIVE);
    }
    if numkeys as u64 > rest.len() as u64 {
        return Err(error::NUMKEYS_TOO_MANY);
    }
    let argv = rest.split_off(numkeys as usize);
    let source = if sha {
        Source::Sha(script)
    } else {
        Source::Body(script)
    };
    boxed(Eval {
        source,
        keys: rest,
        argv,
        read_only,
    })
}

/// EVAL
pub fn parse_eval(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, false, false)
}

/// EVALSHA
pub fn parse_evalsha(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, true, false)
}

/// EVAL_RO
pub fn parse_eval_ro(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, false, true)
}

/// EVALSHA_RO
pub fn parse_evalsha_ro(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, true, true)
}

impl Execute for Eval {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let Eval {
            source,
            keys,
            argv,
            read_only,
        } = *self;
        let shared = ctx.shared;
        shared.scripting.run(ctx, source, keys, argv, read_only)
    }
}
