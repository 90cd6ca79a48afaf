//! Server management: INFO (`info.rs`), CONFIG (`config.rs`), DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! SHUTDOWN, FUNCTION (an empty function library) and DEBUG.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod config_cmd;
mod info;

use bytes::Bytes;
use tracing::{info, warn};

use config_cmd::{parse_config_help, parse_config_resetstat, ConfigGet, ConfigSet};
use info::Info;

use super::args::{is, parse_i64_opt};
use super::{boxed, Args, CommandSpec, CommandTable, Ctx, Execute, Kind, Simple};
use crate::config::{self, ConfigError, DebugCommand};
use crate::error::{self, CommandError};
use crate::keyspace::{glob, KeyspaceStats};
use crate::protocol::{Reply, OK};
use crate::server::{AfterLock, REDIS_VERSION, SLUICE_VERSION};

/// CONFIG's subcommands.
static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: -3,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Returns the values of the parameters matching glob patterns.",
        kind: Kind::Parse(ConfigGet::parse),
    },
    CommandSpec {
        name: "set",
        arity: -4,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Changes parameters at run time, all of them or none.",
        kind: Kind::Parse(ConfigSet::parse),
    },
    CommandSpec {
        name: "resetstat",
        arity: 2,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Zeroes the counters INFO reports.",
        kind: Kind::Parse(parse_config_resetstat),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "5.0.0",
        summary: "Lists the CONFIG subcommands.",
        kind: Kind::Parse(parse_config_help),
    },
];

/// FUNCTION's subcommands (Sluice has no function engine: the library is
/// always empty).
static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "flush",
        arity: -2,
        flags: &["write", "noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Deletes every function library.",
        kind: Kind::Parse(FunctionFlush::parse),
    },
    CommandSpec {
        name: "list",
        arity: -2,
        flags: &["noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Lists the function libraries.",
        kind: Kind::Parse(FunctionList::parse),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Lists the FUNCTION subcommands.",
        kind: Kind::Parse(parse_function_help),
    },
];

/// The server family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Reports the server's state and counters, by section.",
        kind: Kind::Parse(Info::parse),
    },
    CommandSpec {
        name: "config",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "server",
        since: "2.0.0",
        summary: "Reads and changes the configuration at run time.",
        kind: Kind::Container(CONFIG_SUBCOMMANDS),
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: &["readonly", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Counts the keys of the selected database.",
        kind: Kind::Parse(parse_dbsize),
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: &["write"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of the selected database.",
        kind: Kind::Parse(Flush::parse_db),
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: &["write"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Deletes every key of every database.",
        kind: Kind::Parse(Flush::parse_all),
    },
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: &["write", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "4.0.0",
        summary: "Exchanges the contents of two databases.",
        kind: Kind::Parse(SwapDb::parse),
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.6.0",
        summary: "Returns the server's clock as seconds and microseconds.",
        kind: Kind::Parse(parse_time),
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Stops the server.",
        kind: Kind::Parse(Shutdown::parse),
    },
    CommandSpec {
        name: "function",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "scripting",
        since: "7.0.0",
        summary: "Manages server-side function libraries (none in Sluice).",
        kind: Kind::Container(FUNCTION_SUBCOMMANDS),
    },
    CommandSpec {
        name: "debug",
        arity: -2,
        flags: &["admin", "noscript", "loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "1.0.0",
        summary: "Testing and troubleshooting helpers (needs enable-debug-command).",
        kind: Kind::Parse(DebugCmd::parse),
    },
];

/// A help reply: one status line per entry, as the HELP subcommands send.
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().copied().map(Reply::Simple).collect())
}

// ---------------------------------------------------------------- INFO

fn parse_dbsize(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| Reply::Int(ctx.db().0.len() as i64)))
}

/// FLUSHDB / FLUSHALL [ASYNC|SYNC]
struct Flush {
    all: bool,
}

impl Flush {
    fn parse_db(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, false)
    }

    fn parse_all(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        Self::parse(args, true)
    }

    fn parse(args: Args, all: bool) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        match args.as_slice() {
            [] => {}
            [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
            _ => return Err(error::SYNTAX),
        }
        // Freeing is cheap enough here that ASYNC and SYNC both flush at once.
        boxed(Flush { all })
    }
}

impl Execute for Flush {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if self.all {
            ctx.keyspace.flush_all();
        } else {
            ctx.db().0.clear();
        }
        OK
    }
}

/// SWAPDB index1 index2
struct SwapDb(i64, i64);

impl SwapDb {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        // Redis reads the indexes as C ints.
        let index = |raw: Bytes, e: CommandError| {
            parse_i64_opt(&raw)
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or(e)
        };
        let a = index(args.next_arg()?, error::INVALID_FIRST_DB)?;
        let b = index(args.next_arg()?, error::INVALID_SECOND_DB)?;
        boxed(SwapDb(a, b))
    }
}

impl Execute for SwapDb {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let count = ctx.keyspace.db_count() as i64;
        if !(0..count).contains(&self.0) || !(0..count).contains(&self.1) {
            return error::DB_OUT_OF_RANGE.into();
        }
        ctx.keyspace.swap(self.0 as usize, self.1 as usize);
        OK
    }
}

fn parse_time(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|ctx| {
        let us = ctx.shared.clock.now_us();
        Reply::Array(vec![
            Reply::bulk((us / 1_000_000).to_string()),
            Reply::bulk((us % 1_000_000).to_string()),
        ])
    }))
}

// ---------------------------------------------------------------- SHUTDOWN

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
struct Shutdown {
    abort: bool,
}

impl Shutdown {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
        for arg in args.rest() {
            if is(&arg, "NOSAVE") {
                nosave = true;
            } else if is(&arg, "SAVE") {
                save = true;
            } else if is(&arg, "NOW") || is(&arg, "FORCE") {
                other = true;
            } else if is(&arg, "ABORT") {
                abort = true;
            } else {
                return Err(error::SYNTAX);
            }
        }
        if (abort && (nosave || save || other)) || (nosave && save) {
            return Err(error::SYNTAX);
        }
        boxed(Shutdown { abort })
    }
}

impl Execute for Shutdown {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if self.abort {
            // A shutdown, once accepted, is immediate: none is ever pending.
            return error::NO_SHUTDOWN_IN_PROGRESS.into();
        }
        warn!("User requested shutdown...");
        ctx.session.shutdown_requested = true;
        // Success closes the connection without a reply, as in Redis.
        ctx.session.suppress_current = true;
        OK
    }
}

// ---------------------------------------------------------------- FUNCTION

/// FUNCTION FLUSH [ASYNC|SYNC]
struct FunctionFlush;

impl FunctionFlush {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        match args.as_slice() {
            [] => {}
            [mode] if is(mode, "ASYNC") || is(mode, "SYNC") => {}
            [_] => return Err(error::FUNCTION_FLUSH_OPTION),
            _ => return Err(error::subcommand_syntax(b"flush", "function")),
        }
        boxed(FunctionFlush)
    }
}

impl Execute for FunctionFlush {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        OK
    }
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
struct FunctionList;

impl FunctionList {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let (mut withcode, mut library) = (false, false);
        while let Some(arg) = args.try_next() {
            if is(&arg, "WITHCODE") && !withcode {
                withcode = true;
            } else if is(&arg, "LIBRARYNAME") && !library {
                if args.try_next().is_none() {
                    return Err(error::FUNCTION_LIST_NO_LIBRARY);
                }
                library = true;
            } else {
                return Err(error::unknown_argument(&arg));
            }
        }
        boxed(FunctionList)
    }
}

impl Execute for FunctionList {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        Reply::Array(Vec::new())
    }
}

fn parse_function_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
            "    List the function libraries (Sluice has no function engine: always none).",
            "FLUSH [ASYNC|SYNC]",
            "    Delete every function library.",
            "HELP",
            "    Show this text.",
        ])
    }))
}

// ---------------------------------------------------------------- DEBUG

/// DEBUG subcommand [argument ...]
struct DebugCmd(Vec<Bytes>);

impl DebugCmd {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        // Everything is decided at run time: the enable-debug-command check
        // comes before any argument check, as in Redis.
        boxed(DebugCmd(args.rest()))
    }
}

/// Whether this connection may run DEBUG.
fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    match ctx
        .shared
        .config
        .read()
        .expect("config lock")
        .enable_debug_command
    {
        DebugCommand::Yes => true,
        DebugCommand::Local => ctx.session.is_local,
        DebugCommand::No => false,
    }
}

impl Execute for DebugCmd {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if !debug_allowed(ctx) {
            return error::DEBUG_DISABLED.into();
        }
        let sub = &self.0[0];
        let arg = match self.0.len() {
            1 => None,
            2 => Some(&self.0[1]),
            _ => return error::subcommand_syntax(sub, "debug").into(),
        };
        match (sub.to_ascii_lowercase().as_slice(), arg) {
            (b"help", None) => help_reply(&[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "SLEEP <seconds>",
                "    Stop serving every client for <seconds> (a decimal number).",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Turn the background deletion of expired keys off (0) or on (1).",
                "LOG <message>",
                "    Write <message> to the server log.",
                "RELOAD",
                "    Write a checkpoint, then rebuild the whole state from disk.",
                "LOADAOF",
                "    Make the log durable, then rebuild the whole state from it.",
                "HELP",
                "    Show this text.",
            ]),
            (b"sleep", Some(seconds)) => {
                // The keyspace lock is held: the whole server pauses.
                let seconds = strtod_prefix(seconds);
                if let Ok(pause) = Duration::try_from_secs_f64(seconds) {
                    std::thread::sleep(pause);
                }
                OK
            }
            (b"set-active-expire", Some(flag)) => {
                ctx.shared
                    .active_expire
                    .store(atoi(flag) != 0, Ordering::Relaxed);
                OK
            }
            (b"reload", None) => {
                if !ctx.shared.storage.claim_checkpoint() {
                    return error::SAVE_IN_PROGRESS.into();
                }
                ctx.session.after_lock = Some(AfterLock::Checkpoint {
                    wait: true,
                    reload: true,
                });
                OK
            }
            (b"loadaof", None) => match ctx.shared.reload_from_disk(ctx.keyspace) {
                Ok(()) => OK,
                Err(e) => CommandError::new(format!("ERR reload failed: {e}")).into(),
            },
            (b"log", Some(message)) => {
                info!("DEBUG LOG: {}", String::from_utf8_lossy(message));
                OK
            }
            _ => error::subcommand_syntax(sub, "debug").into(),
        }
    }
}

/// The number at the start of `raw`, as C's `strtod` reads it (0 when there
/// is none).
fn strtod_prefix(raw: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    let max = text.len().min(64);
    (1..=max)
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The integer at the start of `raw`, as C's `atoi` reads it (0 when there
/// is none; saturating instead of overflowing).
fn atoi(raw: &[u8]) -> i64 {
    let mut rest = raw;
    while let [c, tail @ ..] = rest {
        if c.is_ascii_whitespace() {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let mut n: i64 = 0;
    for &c in rest.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if negative {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_prefixes() {
        assert_eq!(strtod_prefix(b"0.25"), 0.25);
        assert_eq!(strtod_prefix(b" 1.5s"), 1.5);
        assert_eq!(strtod_prefix(b"x"), 0.0);
        assert_eq!(strtod_prefix(b"1e-3"), 0.001);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" -12abc"), -12);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"2"), 2);
    }
}
