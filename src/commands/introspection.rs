//! COMMAND and its subcommands: what the server's commands are, from the
//! same table the dispatcher uses.

use bytes::Bytes;

use super::args::is;
use super::server::help_reply;
use super::{boxed, Args, CommandSpec, CommandTable, Ctx, Execute, Kind, Simple};
use crate::error::{self, CommandError};
use crate::keyspace::glob;
use crate::protocol::Reply;

/// COMMAND's subcommands.
static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "count",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Counts the server's commands (subcommands excluded).",
        kind: Kind::Parse(parse_count),
    },
    CommandSpec {
        name: "docs",
        arity: -2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "7.0.0",
        summary: "Describes commands: summary, version and group.",
        kind: Kind::Parse(CommandDocs::parse),
    },
    CommandSpec {
        name: "getkeys",
        arity: -4,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Lists the key names among a full command's arguments.",
        kind: Kind::Parse(GetKeys::parse),
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "5.0.0",
        summary: "Lists the COMMAND subcommands.",
        kind: Kind::Parse(parse_help),
    },
    CommandSpec {
        name: "info",
        arity: -2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "2.8.13",
        summary: "Describes commands: arity, flags, key positions, categories.",
        kind: Kind::Parse(CommandInfo::parse),
    },
    CommandSpec {
        name: "list",
        arity: -2,
        flags: &["loading", "stale"],
        keys: (0, 0, 0),
        group: "server",
        since: "7.0.0",
        summary: "Lists command names, optionally filtered.",
        kind: Kind::Parse(CommandList::parse),
    },
];

/// The introspection family's table.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "command",
    arity: -1,
    flags: &["loading", "stale"],
    keys: (0, 0, 0),
    group: "server",
    since: "2.8.13",
    summary: "Describes every command the server has.",
    kind: Kind::Both(parse_command, COMMAND_SUBCOMMANDS),
}];

// ---------------------------------------------------------------- ACL categories

/// ACL categories in the order Redis lists them.
pub const CATEGORY_ORDER: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The category a documentation group implies.
fn group_category(group: &str) -> Option<&'static str> {
    Some(match group {
        "generic" => "keyspace",
        "string" => "string",
        "list" => "list",
        "hash" => "hash",
        "set" => "set",
        "sorted-set" => "sortedset",
        "bitmap" => "bitmap",
        "hyperloglog" => "hyperloglog",
        "geo" => "geo",
        "stream" => "stream",
        "pubsub" => "pubsub",
        "connection" => "connection",
        "transactions" => "transaction",
        "scripting" => "scripting",
        _ => return None,
    })
}

/// Commands whose categories differ from what their group and flags imply:
/// (full name, categories added, categories removed). Checked against
/// Redis 7.0's COMMAND output.
const CATEGORY_EXCEPTIONS: &[(&str, &[&str], &[&str])] = &[
    ("asking", &["connection"], &[]),
    ("command", &["connection"], &[]),
    ("command|count", &["connection"], &[]),
    ("command|docs", &["connection"], &[]),
    ("command|getkeys", &["connection"], &[]),
    ("command|getkeysandflags", &["connection"], &[]),
    ("command|help", &["connection"], &[]),
    ("command|info", &["connection"], &[]),
    ("command|list", &["connection"], &[]),
    ("dbsize", &["keyspace"], &[]),
    ("flushall", &["keyspace", "dangerous"], &[]),
    ("flushdb", &["keyspace", "dangerous"], &[]),
    ("info", &["dangerous"], &[]),
    ("keys", &["dangerous"], &[]),
    ("lastsave", &["admin", "dangerous"], &[]),
    ("migrate", &["dangerous"], &[]),
    ("pubsub|help", &[], &["pubsub"]),
    ("readonly", &["connection"], &[]),
    ("readwrite", &["connection"], &[]),
    ("restore", &["dangerous"], &[]),
    ("restore-asking", &["keyspace", "dangerous"], &[]),
    ("role", &["admin", "dangerous"], &[]),
    (
        "sort",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    (
        "sort_ro",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    ("swapdb", &["keyspace", "dangerous"], &[]),
    ("wait", &["connection"], &["keyspace"]),
];

/// A command's ACL categories (without the `@`), in Redis's order: from its
/// group and flags, as Redis derives them, plus the exceptions above.
/// Containers are only `slow`.
pub fn acl_categories(spec: &CommandSpec, full_name: &str) -> Vec<&'static str> {
    if matches!(spec.kind, Kind::Container(_)) {
        return vec!["slow"];
    }
    let mut cats: Vec<&'static str> = Vec::new();
    let group = group_category(spec.group);
    cats.extend(group);
    if spec.has_flag("write") {
        cats.push("write");
    }
    if spec.has_flag("readonly") && group != Some("scripting") {
        cats.push("read");
    }
    if spec.has_flag("admin") {
        cats.extend(["admin", "dangerous"]);
    }
    if spec.has_flag("pubsub") {
        cats.push("pubsub");
    }
    if spec.has_flag("fast") {
        cats.push("fast");
    }
    if spec.has_flag("blocking") {
        cats.push("blocking");
    }
    if let Some((_, add, remove)) = CATEGORY_EXCEPTIONS
        .iter()
        .find(|(name, _, _)| *name == full_name)
    {
        cats.extend(add.iter().copied());
        cats.retain(|c| !remove.contains(c));
    }
    if !cats.contains(&"fast") {
        cats.push("slow");
    }
    CATEGORY_ORDER
        .iter()
        .copied()
        .filter(|c| cats.contains(c))
        .collect()
}

// ---------------------------------------------------------------- lookup

/// A command as COMMAND describes it: its spec and full name.
///
/// COMMAND itself answers both bare and with a subcommand, which the
/// dispatcher's containers cannot express, so it is a plain command that
/// dispatches [`COMMAND_SUBCOMMANDS`] itself; it is described here as if it
/// were a container of them.
#[derive(Clone, Copy)]
struct Described {
    spec: &'static CommandSpec,
    parent: Option<&'static str>,
}

impl Described {
    fn full_name(&self) -> String {
        match self.parent {
            Some(parent) => format!("{parent}|{}", self.spec.name),
            None => self.spec.name.to_string(),
        }
    }

    fn subcommands(&self) -> Vec<Described> {
        if self.parent.is_some() {
            return Vec::new();
        }
        self.spec
            .kind
            .subcommands()
            .iter()
            .map(|spec| Described {
                spec,
                parent: Some(self.spec.name),
            })
            .collect()
    }
}

/// Every top-level command, in table order.
fn top_level() -> Vec<Described> {
    CommandTable::global()
        .top_level()
        .map(|(_, entry)| Described {
            spec: entry.spec,
            parent: None,
        })
        .collect()
}

/// A command or `container|sub` by name, any case.
fn find(name: &[u8]) -> Option<Described> {
    let (parent, sub) = match name.iter().position(|&b| b == b'|') {
        Some(bar) => (&name[..bar], Some(&name[bar + 1..])),
        None => (name, None),
    };
    let table = CommandTable::global();
    let top = Described {
        spec: table.entry(table.find(parent)?).spec,
        parent: None,
    };
    match sub {
        None => Some(top),
        Some(sub) => top.subcommands().into_iter().find(|d| is(sub, d.spec.name)),
    }
}

// ---------------------------------------------------------------- replies

fn statuses<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<Reply> {
    items
        .into_iter()
        .map(|s| Reply::Status(Bytes::copy_from_slice(s.as_bytes())))
        .collect()
}

/// A simple range key spec derived from the legacy (first, last, step)
/// triple, or none for a command without keys.
fn key_specs(spec: &CommandSpec) -> Vec<Reply> {
    let (first, last, step) = spec.keys;
    if first <= 0 {
        return Vec::new();
    }
    let flags: &[&str] = if spec.has_flag("write") {
        &["RW", "update"]
    } else if spec.has_flag("readonly") {
        &["RO", "access"]
    } else {
        &["RO"]
    };
    let lastkey = if last >= 0 { last - first } else { last };
    let map = |pairs: Vec<(&str, Reply)>| {
        Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Reply::bulk(k.to_string()), v))
                .collect(),
        )
    };
    vec![map(vec![
        ("flags", Reply::Set(statuses(flags.iter().copied()))),
        (
            "begin_search",
            map(vec![
                ("type", Reply::bulk("index")),
                ("spec", map(vec![("index", Reply::Int(first as i64))])),
            ]),
        ),
        (
            "find_keys",
            map(vec![
                ("type", Reply::bulk("range")),
                (
                    "spec",
                    map(vec![
                        ("lastkey", Reply::Int(lastkey as i64)),
                        ("keystep", Reply::Int(step as i64)),
                        ("limit", Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// Redis 7's ten-element description of one command.
fn command_info(cmd: Described) -> Reply {
    let spec = cmd.spec;
    let full_name = cmd.full_name();
    let (first, last, step) = spec.keys;
    let categories: Vec<String> = acl_categories(spec, &full_name)
        .into_iter()
        .map(|c| format!("@{c}"))
        .collect();
    let subs = cmd.subcommands();
    let subcommands = if subs.is_empty() {
        Reply::Set(Vec::new())
    } else {
        Reply::Array(subs.into_iter().map(command_info).collect())
    };
    Reply::Array(vec![
        Reply::bulk(full_name),
        Reply::Int(spec.arity as i64),
        Reply::Set(statuses(spec.flags.iter().copied())),
        Reply::Int(first as i64),
        Reply::Int(last as i64),
        Reply::Int(step as i64),
        Reply::Set(statuses(categories.iter().map(String::as_str))),
        Reply::Set(Vec::new()),
        Reply::Set(key_specs(spec)),
        subcommands,
    ])
}

/// COMMAND DOCS's description of one command: summary, since, group, and
/// its subcommands' descriptions.
fn command_docs(cmd: Described) -> Reply {
    let spec = cmd.spec;
    let mut fields = vec![
        (Reply::bulk("summary"), Reply::bulk(spec.summary)),
        (Reply::bulk("since"), Reply::bulk(spec.since)),
        (Reply::bulk("group"), Reply::bulk(spec.group)),
    ];
    let subs = cmd.subcommands();
    if !subs.is_empty() {
        fields.push((
            Reply::bulk("subcommands"),
            Reply::Map(
                subs.into_iter()
                    .map(|sub| (Reply::bulk(sub.full_name()), command_docs(sub)))
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

// ---------------------------------------------------------------- commands

/// COMMAND with no subcommand (the dispatcher resolves COMMAND DOCS and
/// the others to their own entries of [`COMMAND_SUBCOMMANDS`]).
fn parse_command(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        Reply::Array(top_level().into_iter().map(command_info).collect())
    }))
}

fn parse_count(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        Reply::Int(CommandTable::global().top_level().count() as i64)
    }))
}

/// COMMAND INFO [name ...]
struct CommandInfo(Vec<Bytes>);

impl CommandInfo {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(CommandInfo(args.rest()))
    }
}

impl Execute for CommandInfo {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        if self.0.is_empty() {
            return Reply::Array(top_level().into_iter().map(command_info).collect());
        }
        Reply::Array(
            self.0
                .iter()
                .map(|name| find(name).map_or(Reply::Null, command_info))
                .collect(),
        )
    }
}

/// COMMAND DOCS [name ...]
struct CommandDocs(Vec<Bytes>);

impl CommandDocs {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(CommandDocs(args.rest()))
    }
}

impl Execute for CommandDocs {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        let found: Vec<Described> = if self.0.is_empty() {
            top_level()
        } else {
            // Unknown names are left out.
            self.0.iter().filter_map(|n| find(n)).collect()
        };
        Reply::Map(
            found
                .into_iter()
                .map(|cmd| (Reply::bulk(cmd.full_name()), command_docs(cmd)))
                .collect(),
        )
    }
}

/// What COMMAND LIST keeps.
enum ListFilter {
    All,
    Module,
    AclCat(String),
    Pattern(Bytes),
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
struct CommandList(ListFilter);

impl CommandList {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let args = args.rest();
        let filter = match args.as_slice() {
            [] => ListFilter::All,
            [filterby, kind, value] if is(filterby, "FILTERBY") => {
                if is(kind, "MODULE") {
                    ListFilter::Module
                } else if is(kind, "ACLCAT") {
                    ListFilter::AclCat(String::from_utf8_lossy(value).to_ascii_lowercase())
                } else if is(kind, "PATTERN") {
                    ListFilter::Pattern(value.clone())
                } else {
                    return Err(error::SYNTAX);
                }
            }
            _ => return Err(error::SYNTAX),
        };
        boxed(CommandList(filter))
    }
}

impl Execute for CommandList {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        let mut names = Vec::new();
        for top in top_level() {
            for cmd in std::iter::once(top).chain(top.subcommands()) {
                let name = cmd.full_name();
                let keep = match &self.0 {
                    ListFilter::All => true,
                    // Sluice loads no modules.
                    ListFilter::Module => false,
                    ListFilter::AclCat(cat) => {
                        acl_categories(cmd.spec, &name).contains(&cat.as_str())
                    }
                    ListFilter::Pattern(p) => glob::matches_nocase(p, name.as_bytes(), true),
                };
                if keep {
                    names.push(Reply::bulk(name));
                }
            }
        }
        Reply::Array(names)
    }
}

/// COMMAND GETKEYS command [arg ...]
struct GetKeys(Vec<Bytes>);

impl GetKeys {
    fn parse(args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let words = args.rest();
        let mut cmd = find(&words[0]).ok_or(error::GETKEYS_INVALID_COMMAND)?;
        if let Kind::Container(_) = cmd.spec.kind {
            let sub = words.get(1).ok_or(error::GETKEYS_INVALID_COMMAND)?;
            cmd = cmd
                .subcommands()
                .into_iter()
                .find(|d| is(sub, d.spec.name))
                .ok_or(error::GETKEYS_INVALID_COMMAND)?;
        }
        let spec = cmd.spec;
        let n = words.len() as i32;
        if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
            return Err(error::GETKEYS_INVALID_ARITY);
        }
        // The positions ACL checks: the table's range, or what a command
        // with keys after keywords (XREAD, ZUNIONSTORE, SORT … STORE) says.
        let table = CommandTable::global();
        let keys: Vec<Bytes> = match table.find_full(cmd.full_name().as_bytes()) {
            Some(id) => crate::acl::args::keys(table.entry(id), &words)
                .into_iter()
                .map(|(i, _)| words[i].clone())
                .collect(),
            None => Vec::new(),
        };
        if keys.is_empty() && spec.keys.0 <= 0 {
            return Err(error::GETKEYS_NO_KEYS);
        }
        boxed(GetKeys(keys))
    }
}

impl Execute for GetKeys {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        Reply::Array(self.0.into_iter().map(Reply::Bulk).collect())
    }
}

fn parse_help(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Simple(|_| {
        help_reply(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Describe every command.",
            "COUNT",
            "    Count the commands.",
            "INFO [<command-name> ...]",
            "    Describe the named commands (all of them without names); 'container|sub'",
            "    names a subcommand.",
            "DOCS [<command-name> ...]",
            "    Summary, version and group of the named commands (all without names).",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    List command names, optionally only those of a module, an ACL category",
            "    or matching a glob pattern.",
            "GETKEYS <full-command>",
            "    List the key names among the arguments of <full-command>.",
            "HELP",
            "    Show this text.",
        ])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(name: &str) -> Vec<&'static str> {
        let cmd = find(name.as_bytes()).unwrap();
        acl_categories(cmd.spec, &cmd.full_name())
    }

    #[test]
    fn categories_follow_redis() {
        assert_eq!(cats("ping"), ["fast", "connection"]);
        assert_eq!(cats("flushdb"), ["keyspace", "write", "slow", "dangerous"]);
        assert_eq!(cats("config"), ["slow"]);
        assert_eq!(cats("config|get"), ["admin", "slow", "dangerous"]);
        assert_eq!(cats("command|info"), ["slow", "connection"]);
        assert_eq!(cats("function|flush"), ["write", "slow", "scripting"]);
        assert_eq!(cats("dbsize"), ["keyspace", "read", "fast"]);
        assert_eq!(cats("multi"), ["fast", "transaction"]);
    }
}
