//! The command table: every command's name, arity, flags, key positions and
//! documentation, gathered from the families' tables once at start-up.

use std::sync::OnceLock;

use ahash::AHashMap;
use bytes::Bytes;

use super::Parser;
use crate::error::{self, CommandError};

/// What a command is, for dispatch and for COMMAND.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`get`, or `setname` for a subcommand of `client`).
    pub name: &'static str,
    /// Redis arity: N means exactly N words (name included), -N at least N.
    pub arity: i32,
    /// Redis command flags (`write`, `readonly`, `fast`, `admin`, …).
    pub flags: &'static [&'static str],
    /// Key positions: first key, last key (negative counts from the end),
    /// step; all 0 for a command without keys.
    pub keys: (i32, i32, i32),
    /// Documentation group (`string`, `generic`, `connection`, …).
    pub group: &'static str,
    /// The Redis version that introduced the command.
    pub since: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// How to run it.
    pub kind: Kind,
}

/// How a command is run.
#[derive(Debug)]
pub enum Kind {
    /// Parsed by this function into a typed command.
    Parse(Parser),
    /// A container (CLIENT, CONFIG, …) whose second word picks one of these.
    Container(&'static [CommandSpec]),
    /// A command that runs bare with this parser, or with one of these
    /// subcommands (COMMAND, COMMAND DOCS, …): each subcommand has an id of
    /// its own, so ACL rules and statistics can name it.
    Both(Parser, &'static [CommandSpec]),
}

impl Kind {
    /// The subcommands, for a container or a command that has both forms.
    pub fn subcommands(&self) -> &'static [CommandSpec] {
        match self {
            Kind::Container(subs) | Kind::Both(_, subs) => subs,
            Kind::Parse(_) => &[],
        }
    }
}

impl CommandSpec {
    /// A command of `group` run by `parser` (family tables wrap this with
    /// their group fixed).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        group: &'static str,
        name: &'static str,
        arity: i32,
        flags: &'static [&'static str],
        keys: (i32, i32, i32),
        since: &'static str,
        summary: &'static str,
        parser: Parser,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            group,
            since,
            summary,
            kind: Kind::Parse(parser),
        }
    }

    /// Whether the spec carries `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// One command or subcommand in the table.
#[derive(Debug)]
pub struct TableEntry {
    /// Its spec.
    pub spec: &'static CommandSpec,
    /// `get`, or `client|setname` for a subcommand.
    pub full_name: String,
    /// Ids of its subcommands, for containers.
    pub subcommands: Vec<usize>,
    /// Whether it is a subcommand.
    pub is_sub: bool,
}

/// All commands, by id (their position) and by name.
#[derive(Debug)]
pub struct CommandTable {
    entries: Vec<TableEntry>,
    top: AHashMap<&'static str, usize>,
    subs: AHashMap<(usize, &'static str), usize>,
}

/// The result of looking a request up.
#[derive(Debug, Clone, Copy)]
pub struct Lookup {
    /// The command's id in the table.
    pub id: usize,
    /// Words before the arguments (1, or 2 for a subcommand).
    pub skip: usize,
}

impl CommandTable {
    /// The table of every command Sluice has.
    pub fn global() -> &'static CommandTable {
        static TABLE: OnceLock<CommandTable> = OnceLock::new();
        TABLE.get_or_init(|| CommandTable::build(super::families()))
    }

    fn build(families: &[&'static [CommandSpec]]) -> CommandTable {
        let mut table = CommandTable {
            entries: Vec::new(),
            top: AHashMap::new(),
            subs: AHashMap::new(),
        };
        for family in families {
            for spec in family.iter() {
                let id = table.entries.len();
                let previous = table.top.insert(spec.name, id);
                assert!(previous.is_none(), "command {} defined twice", spec.name);
                table.entries.push(TableEntry {
                    spec,
                    full_name: spec.name.to_string(),
                    subcommands: Vec::new(),
                    is_sub: false,
                });
                {
                    for sub in spec.kind.subcommands() {
                        let sub_id = table.entries.len();
                        table.subs.insert((id, sub.name), sub_id);
                        table.entries.push(TableEntry {
                            spec: sub,
                            full_name: format!("{}|{}", spec.name, sub.name),
                            subcommands: Vec::new(),
                            is_sub: true,
                        });
                        table.entries[id].subcommands.push(sub_id);
                    }
                }
            }
        }
        table
    }

    /// The entry with this id.
    pub fn entry(&self, id: usize) -> &TableEntry {
        &self.entries[id]
    }

    /// Number of entries (commands and subcommands), for per-command stats.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty (never, in a real server).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Top-level commands (what COMMAND and COMMAND COUNT list).
    pub fn top_level(&self) -> impl Iterator<Item = (usize, &TableEntry)> {
        self.entries.iter().enumerate().filter(|(_, e)| !e.is_sub)
    }

    /// A top-level command by name, any case.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 32];
        let lower = lowercase(name, &mut buf)?;
        self.top.get(lower).copied()
    }

    /// A command or `container|sub` by full name, any case.
    pub fn find_full(&self, name: &[u8]) -> Option<usize> {
        match name.iter().position(|&b| b == b'|') {
            None => self.find(name),
            Some(bar) => {
                let parent = self.find(&name[..bar])?;
                self.find_sub(parent, &name[bar + 1..])
            }
        }
    }

    fn find_sub(&self, parent: usize, name: &[u8]) -> Option<usize> {
        let mut buf = [0u8; 32];
        let lower = lowercase(name, &mut buf)?;
        self.subs.get(&(parent, lower)).copied()
    }

    /// Finds the command a request names and checks its arity, with
    /// Redis's errors for an unknown command, an unknown subcommand and a
    /// wrong number of arguments.
    pub fn lookup(&self, words: &[Bytes]) -> Result<Lookup, CommandError> {
        let name = &words[0];
        let id = self
            .find(name)
            .ok_or_else(|| error::unknown_command(name, &words[1..]))?;
        let entry = &self.entries[id];
        let (id, skip) = match entry.spec.kind {
            Kind::Container(_) => {
                if words.len() < 2 {
                    return Err(error::wrong_arity(&entry.full_name));
                }
                let sub = self
                    .find_sub(id, &words[1])
                    .ok_or_else(|| error::unknown_subcommand(&words[1], entry.spec.name))?;
                (sub, 2)
            }
            Kind::Both(..) if words.len() >= 2 => {
                let sub = self
                    .find_sub(id, &words[1])
                    .ok_or_else(|| error::unknown_subcommand(&words[1], entry.spec.name))?;
                (sub, 2)
            }
            Kind::Parse(_) | Kind::Both(..) => (id, 1),
        };
        let entry = &self.entries[id];
        let arity = entry.spec.arity;
        let n = words.len() as i32;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            return Err(error::wrong_arity(&entry.full_name));
        }
        Ok(Lookup { id, skip })
    }
}

/// Lower-cases a name into `buf`; `None` if it is too long or not UTF-8
/// (no such command exists).
fn lowercase<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b str> {
    if name.len() > buf.len() {
        return None;
    }
    let out = &mut buf[..name.len()];
    out.copy_from_slice(name);
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}
