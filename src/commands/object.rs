//! OBJECT: how a key's value is stored (ENCODING, FREQ, IDLETIME,
//! REFCOUNT, HELP).

use bytes::Bytes;

use super::args::parse_i64_opt;
use super::keys::generic;
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind};
use crate::error::{self, CommandError};
use crate::keyspace::{Entry, Value};
use crate::protocol::Reply;

/// The OBJECT family's table.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "object",
    arity: -2,
    flags: &[],
    keys: (0, 0, 0),
    group: "generic",
    since: "2.2.3",
    summary: "Inspects how a key's value is stored.",
    kind: Kind::Container(OBJECT_SUBCOMMANDS),
}];

/// OBJECT's subcommands.
static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    generic(
        "encoding",
        3,
        &["readonly"],
        (2, 2, 1),
        "2.2.3",
        "Names the internal representation of a key's value.",
        |a| ObjectQuery::parse(a, Inspect::Encoding),
    ),
    generic(
        "freq",
        3,
        &["readonly"],
        (2, 2, 1),
        "4.0.0",
        "The access-frequency counter of a key (LFU policies only).",
        |a| ObjectQuery::parse(a, Inspect::Freq),
    ),
    generic(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "6.2.0",
        "Lists the OBJECT subcommands.",
        |_| boxed(ObjectHelp),
    ),
    generic(
        "idletime",
        3,
        &["readonly"],
        (2, 2, 1),
        "2.2.3",
        "Seconds since a key was last read or written.",
        |a| ObjectQuery::parse(a, Inspect::IdleTime),
    ),
    generic(
        "refcount",
        3,
        &["readonly"],
        (2, 2, 1),
        "2.2.3",
        "How many references the key's value has.",
        |a| ObjectQuery::parse(a, Inspect::RefCount),
    ),
];

/// OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT key
struct ObjectQuery {
    key: Bytes,
    what: Inspect,
}

/// What an OBJECT subcommand reports.
#[derive(Clone, Copy)]
enum Inspect {
    Encoding,
    Freq,
    IdleTime,
    RefCount,
}

impl ObjectQuery {
    fn parse(mut args: Args, what: Inspect) -> Result<Box<dyn Execute>, CommandError> {
        boxed(ObjectQuery {
            key: args.next_arg()?,
            what,
        })
    }
}

/// Redis shares the integers 0..10000 between keys; such values report
/// this reference count.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
const SHARED_INTEGERS: i64 = 10_000;

/// The integer a string value is stored as, when Redis would store it as
/// one: a canonical i64 of at most 20 characters, not changed in place.
fn int_encoded(entry: &Entry) -> Option<i64> {
    match &entry.value {
        Value::Str(s) if !entry.raw_encoding => parse_i64_opt(s),
        Value::Str(_)
        | Value::Stream(_)
        | Value::ZSet(_)
        | Value::Set(_)
        | Value::List(_)
        | Value::Hash(_) => None,
    }
}

/// What OBJECT ENCODING reports for an entry.
fn encoding(
    entry: &Entry,
    limits: crate::keyspace::zset::Limits,
    set_limits: crate::keyspace::set::Limits,
) -> &'static str {
    if int_encoded(entry).is_some() {
        return "int";
    }
    match &entry.value {
        Value::Str(s) if !entry.raw_encoding && s.len() <= 44 => "embstr",
        Value::Str(_) => "raw",
        Value::Stream(_) => "stream",
        Value::ZSet(z) => z.encoding_name(limits),
        Value::Set(s) => s.encoding_name(set_limits),
        Value::List(l) => l.encoding_name(),
        Value::Hash(h) => h.encoding_name(),
    }
}

impl Execute for ObjectQuery {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (limits, set_limits) = {
            let config = ctx.shared.config.read().expect("config lock");
            (config.zset_limits(), config.set_limits())
        };
        let (db, stats) = ctx.db();
        // peek: inspecting a key must not count as using it.
        let Some(entry) = db.peek(&self.key, now, stats) else {
            return Reply::Null;
        };
        match self.what {
            Inspect::Encoding => Reply::bulk(encoding(entry, limits, set_limits)),
            Inspect::Freq => error::LFU_NOT_SELECTED.into(),
            Inspect::IdleTime => Reply::Int(now.saturating_sub(entry.last_access).max(0) / 1000),
            Inspect::RefCount => Reply::Int(match int_encoded(entry) {
                Some(n) if (0..SHARED_INTEGERS).contains(&n) => SHARED_REFCOUNT,
                _ => 1,
            }),
        }
    }
}

/// OBJECT HELP
struct ObjectHelp;

impl Execute for ObjectHelp {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        const LINES: &[&str] = &[
            "OBJECT <subcommand> <key>, where <subcommand> is one of:",
            "ENCODING <key>",
            "    Name of the representation the value of <key> is stored in.",
            "FREQ <key>",
            "    Logarithmic access-frequency counter of <key> (needs an LFU maxmemory policy).",
            "IDLETIME <key>",
            "    Seconds since <key> was last read or written.",
            "REFCOUNT <key>",
            "    Number of references held to the value of <key>.",
            "HELP",
            "    Shows this text.",
        ];
        Reply::Array(LINES.iter().map(|&l| Reply::Simple(l)).collect())
    }
}
