//! A selector: one set of permissions (commands, key patterns, channel
//! patterns). A user has a root selector and any number of extra ones
//! (`(+get ~cache:*)`); a command runs if one of them allows all of it.

use bytes::Bytes;

use super::args::{self, ChannelKind};
use super::categories;
use super::user::RuleError;
use crate::commands::table::TableEntry;
use crate::commands::CommandTable;
use crate::keyspace::glob;

/// A key pattern and what it lets a command do with matching keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    /// Glob pattern, bytes as given.
    pub pattern: Bytes,
    /// `%R~`: the key may be read.
    pub read: bool,
    /// `%W~`: the key may be written.
    pub write: bool,
}

/// Why a selector refuses a command, least specific first (when no
/// selector allows a command, the most specific refusal is reported, as
/// Redis does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    /// The command itself.
    Command,
    /// The key at this argument index.
    Key(usize),
    /// The channel at this argument index.
    Channel(usize),
}

impl Denied {
    fn rank(self) -> u8 {
        match self {
            Denied::Command => 0,
            Denied::Key(_) => 1,
            Denied::Channel(_) => 2,
        }
    }

    /// The more specific of two refusals (the first one on a tie).
    pub fn most_specific(self, other: Denied) -> Denied {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// One set of permissions.
#[derive(Debug, Clone)]
pub struct Selector {
    /// Whether the command rules start from `+@all`.
    all_commands_base: bool,
    /// Allowed commands, one bit per command table id.
    allowed: Vec<u64>,
    /// Command rules since the last `+@all`/`-@all`, as ACL GETUSER shows
    /// them (a later rule for the same command replaces the earlier one).
    command_rules: Vec<String>,
    /// First arguments allowed for commands that are otherwise refused
    /// (`+select|0`, `+debug|digest`): command id and the argument as
    /// given (matched without regard to case), in the order added. Any
    /// later rule that sets the command's bit drops them.
    first_args: Vec<(usize, Bytes)>,
    /// `allkeys` / `~*`.
    pub all_keys: bool,
    /// Key patterns (unused when `all_keys`).
    pub keys: Vec<KeyPattern>,
    /// `allchannels` / `&*`.
    pub all_channels: bool,
    /// Channel patterns (unused when `all_channels`).
    pub channels: Vec<Bytes>,
}

impl Default for Selector {
    /// No commands, no keys, no channels.
    fn default() -> Self {
        Selector {
            all_commands_base: false,
            allowed: vec![0; CommandTable::global().len().div_ceil(64)],
            command_rules: Vec::new(),
            first_args: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }
}

impl Selector {
    /// Whether every command, key and channel is allowed.
    pub fn unrestricted(&self) -> bool {
        self.all_keys
            && self.all_channels
            && (0..CommandTable::global().len()).all(|id| self.can_run(id))
    }

    /// Whether the command (or subcommand) with this table id is allowed.
    pub fn can_run(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_command(&mut self, id: usize, allow: bool) {
        if !self.first_args.is_empty() {
            self.first_args.retain(|(cmd, _)| *cmd != id);
        }
        if allow {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
        }
    }

    fn set_all_commands(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.all_commands_base = allow;
        self.command_rules.clear();
        self.first_args.clear();
    }

    /// Applies one permission rule; `Ok(false)` if `rule` is not one
    /// (the user may know it).
    pub fn apply(&mut self, rule: &[u8]) -> Result<bool, RuleError> {
        match rule.to_ascii_lowercase().as_slice() {
            b"allkeys" | b"~*" => {
                self.all_keys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            b"allchannels" | b"&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            b"allcommands" | b"+@all" => self.set_all_commands(true),
            b"nocommands" | b"-@all" => self.set_all_commands(false),
            _ => match rule.split_first() {
                Some((b'~', pattern)) => self.add_key_pattern(pattern, true, true)?,
                Some((b'%', rest)) => {
                    let tilde = rest
                        .iter()
                        .position(|&c| c == b'~')
                        .ok_or(RuleError::Syntax)?;
                    let (mut read, mut write) = (false, false);
                    for c in &rest[..tilde] {
                        match c.to_ascii_uppercase() {
                            b'R' => read = true,
                            b'W' => write = true,
                            _ => return Err(RuleError::Syntax),
                        }
                    }
                    if !read && !write {
                        return Err(RuleError::Syntax);
                    }
                    self.add_key_pattern(&rest[tilde + 1..], read, write)?;
                }
                Some((b'&', pattern)) => {
                    if self.all_channels {
                        return Err(RuleError::ChannelAfterAll);
                    }
                    if !self.channels.iter().any(|c| c.as_ref() == pattern) {
                        self.channels.push(Bytes::copy_from_slice(pattern));
                    }
                }
                Some((sign @ (b'+' | b'-'), name)) => {
                    self.apply_command_rule(*sign == b'+', name)?
                }
                _ => return Ok(false),
            },
        }
        Ok(true)
    }

    fn add_key_pattern(
        &mut self,
        pattern: &[u8],
        read: bool,
        write: bool,
    ) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        if pattern == b"*" && read && write {
            self.all_keys = true;
            self.keys.clear();
            return Ok(());
        }
        match self.keys.iter_mut().find(|k| k.pattern.as_ref() == pattern) {
            Some(existing) => {
                existing.read |= read;
                existing.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: Bytes::copy_from_slice(pattern),
                read,
                write,
            }),
        }
        Ok(())
    }

    fn apply_command_rule(&mut self, allow: bool, name: &[u8]) -> Result<(), RuleError> {
        let sign = if allow { '+' } else { '-' };
        if let Some(cat) = name.strip_prefix(b"@") {
            let cat = std::str::from_utf8(cat)
                .ok()
                .map(str::to_ascii_lowercase)
                .ok_or(RuleError::UnknownCommand)?;
            let ids = categories::commands_in(&cat).ok_or(RuleError::UnknownCommand)?;
            for &id in ids {
                self.set_command(id, allow);
            }
            self.command_rules.push(format!("{sign}@{cat}"));
            return Ok(());
        }
        let table = CommandTable::global();
        let id = match name.iter().position(|&b| b == b'|') {
            Some(bar) => {
                let (parent, rest) = (&name[..bar], &name[bar + 1..]);
                let parent_id = table.find(parent).ok_or(RuleError::UnknownCommand)?;
                if table.entry(parent_id).subcommands.is_empty() {
                    return self.add_first_arg(allow, parent_id, rest);
                }
                let (sub, deeper) = match rest.iter().position(|&b| b == b'|') {
                    Some(bar) => (&rest[..bar], true),
                    None => (rest, false),
                };
                let mut full = parent.to_vec();
                full.push(b'|');
                full.extend_from_slice(sub);
                let id = table.find_full(&full).ok_or(RuleError::UnknownCommand)?;
                if deeper {
                    return Err(RuleError::FirstArgOfSubcommand);
                }
                id
            }
            None => table.find(name).ok_or(RuleError::UnknownCommand)?,
        };
        let entry = table.entry(id);
        self.set_command(id, allow);
        // A container's rule covers all its subcommands.
        for &sub in &entry.subcommands {
            self.set_command(sub, allow);
        }
        let full = entry.full_name.clone();
        // A later rule for the same command replaces the earlier one.
        self.command_rules.retain(|r| r[1..] != full);
        self.command_rules.push(format!("{sign}{full}"));
        Ok(())
    }

    /// `+cmd|arg` for a command without subcommands: the command may run
    /// when its first argument is `arg`. Redis has no `-cmd|arg`, and a
    /// command already allowed whole needs no first arguments.
    fn add_first_arg(&mut self, allow: bool, id: usize, arg: &[u8]) -> Result<(), RuleError> {
        if !allow || arg.contains(&b'|') {
            return Err(RuleError::UnknownCommand);
        }
        if arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        let known = self
            .first_args
            .iter()
            .any(|(cmd, a)| *cmd == id && a.eq_ignore_ascii_case(arg));
        if !self.can_run(id) && !known {
            self.first_args.push((id, Bytes::copy_from_slice(arg)));
        }
        Ok(())
    }

    /// Whether a first-argument rule lets command `id` run with `words`.
    fn first_arg_allows(&self, id: usize, words: &[Bytes]) -> bool {
        let Some(arg) = words.get(1) else {
            return false;
        };
        self.first_args
            .iter()
            .any(|(cmd, a)| *cmd == id && a.eq_ignore_ascii_case(arg))
    }

    /// Whether this selector allows the command `entry` (table id `id`)
    /// with these words: the command, then each key for the access it
    /// needs, then each channel.
    pub fn check(&self, id: usize, entry: &TableEntry, words: &[Bytes]) -> Result<(), Denied> {
        if !self.can_run(id) && !self.first_arg_allows(id, words) {
            return Err(Denied::Command);
        }
        if !self.all_keys {
            for (i, access) in args::keys(entry, words) {
                let key = &words[i];
                let ok = self.keys.iter().any(|p| {
                    (p.read || !access.read)
                        && (p.write || !access.write)
                        && glob::matches(&p.pattern, key)
                });
                if !ok {
                    return Err(Denied::Key(i));
                }
            }
        }
        if !self.all_channels {
            let (indices, kind) = args::channels(entry, words);
            for i in indices {
                let channel = &words[i];
                let ok = self.allows_channel(channel, kind == ChannelKind::Pattern);
                if !ok {
                    return Err(Denied::Channel(i));
                }
            }
        }
        Ok(())
    }

    /// Whether this selector allows a channel (`pattern`: a PSUBSCRIBE
    /// pattern, which must equal one of the selector's).
    pub fn allows_channel(&self, name: &[u8], pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if pattern {
                    p.as_ref() == name
                } else {
                    glob::matches(p, name)
                }
            })
    }

    /// The command rules as ACL GETUSER shows them: `+@all` or `-@all`,
    /// then the rules applied since.
    pub fn describe_commands(&self) -> String {
        let mut out = String::from(if self.all_commands_base {
            "+@all"
        } else {
            "-@all"
        });
        for rule in &self.command_rules {
            out.push(' ');
            out.push_str(rule);
        }
        let table = CommandTable::global();
        for (id, arg) in &self.first_args {
            out.push_str(&format!(
                " +{}|{}",
                table.entry(*id).full_name,
                String::from_utf8_lossy(arg)
            ));
        }
        out
    }

    /// The key patterns as ACL GETUSER shows them (`~*`, or `~a %R~b`).
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            match (k.read, k.write) {
                (true, true) => out.push(b'~'),
                (true, false) => out.extend_from_slice(b"%R~"),
                _ => out.extend_from_slice(b"%W~"),
            }
            out.extend_from_slice(&k.pattern);
        }
        out
    }

    /// The channel patterns as ACL GETUSER shows them.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// The rules that rebuild this selector from an empty one, as ACL LIST
    /// prints them: keys, channels (after `resetchannels` unless all),
    /// commands.
    pub fn describe(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let keys = self.describe_keys();
        if !keys.is_empty() {
            parts.push(keys);
        }
        if !self.all_channels {
            parts.push(b"resetchannels".to_vec());
        }
        let channels = self.describe_channels();
        if !channels.is_empty() {
            parts.push(channels);
        }
        parts.push(self.describe_commands().into_bytes());
        parts.join(&b' ')
    }
}
