//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.
//!
//! - `mod.rs`: the table
//! - `eval.rs`: the EVAL family: `numkeys`, then the script run by
//!   [`crate::scripting::Engine`]
//! - `script.rs`: SCRIPT LOAD, EXISTS, FLUSH, KILL and HELP
//!
//! The interpreter and script cache live in [`crate::scripting`]; these
//! commands only parse their arguments and hand them over.

mod eval;
mod script;

use super::{CommandSpec, Kind};

/// EVAL's flags, as Redis 7 lists them.
const EVAL_FLAGS: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "movablekeys",
];

/// EVAL_RO's flags.
const EVAL_RO_FLAGS: &[&str] = &[
    "readonly",
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "movablekeys",
];

const fn spec(
    name: &'static str,
    flags: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    parser: super::Parser,
) -> CommandSpec {
    CommandSpec::new(
        "scripting",
        name,
        -3,
        flags,
        (0, 0, 0),
        since,
        summary,
        parser,
    )
}

/// SCRIPT's subcommands.
static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "load",
        arity: 3,
        flags: &["noscript", "stale"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Compiles a script and caches it without running it.",
        kind: Kind::Parse(script::parse_load),
    },
    CommandSpec {
        name: "exists",
        arity: -3,
        flags: &["noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Tells which of the given SHA1s the script cache holds.",
        kind: Kind::Parse(script::parse_exists),
    },
    CommandSpec {
        name: "flush",
        arity: -2,
        flags: &["noscript"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Empties the script cache.",
        kind: Kind::Parse(script::parse_flush),
    },
    CommandSpec {
        name: "kill",
        arity: 2,
        flags: &["noscript", "allow_busy"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Stops the script that is running, if it has not written.",
        kind: Kind::Parse(script::parse_kill),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "scripting",
        since: "5.0.0",
        summary: "Lists the SCRIPT subcommands.",
        kind: Kind::Parse(script::parse_help),
    },
];

/// The scripting family's table.
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "eval",
        EVAL_FLAGS,
        "2.6.0",
        "Runs a Lua script.",
        eval::parse_eval,
    ),
    spec(
        "evalsha",
        EVAL_FLAGS,
        "2.6.0",
        "Runs a cached Lua script by its SHA1.",
        eval::parse_evalsha,
    ),
    spec(
        "eval_ro",
        EVAL_RO_FLAGS,
        "7.0.0",
        "Runs a read-only Lua script.",
        eval::parse_eval_ro,
    ),
    spec(
        "evalsha_ro",
        EVAL_RO_FLAGS,
        "7.0.0",
        "Runs a cached read-only Lua script by its SHA1.",
        eval::parse_evalsha_ro,
    ),
    CommandSpec {
        name: "script",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "scripting",
        since: "2.6.0",
        summary: "Manages the script cache.",
        kind: Kind::Container(SCRIPT_SUBCOMMANDS),
    },
];
