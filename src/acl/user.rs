//! One ACL user: its switches, password digests, command bitmap, key and
//! channel patterns; the rules (`on`, `>pw`, `+@read`, `~jobs:*`, …) that
//! change it; and the text ACL GETUSER and ACL LIST show for it.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::categories;
use crate::commands::{CommandTable, Kind};

/// A SHA-256 digest of a password.
pub type PasswordHash = [u8; 32];

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

/// One user. Immutable once published: ACL SETUSER builds a changed copy
/// and swaps it in, so a connection's view is a cheap `Arc` clone.
#[derive(Debug, Clone)]
pub struct User {
    /// The user name, bytes as given.
    pub name: Bytes,
    /// `on`: the user may authenticate.
    pub enabled: bool,
    /// `nopass`: any password is accepted.
    pub nopass: bool,
    /// Digests of the accepted passwords, in the order they were added.
    pub passwords: Vec<PasswordHash>,
    /// Whether the command rules start from `+@all` (commands added to the
    /// server later would be allowed too).
    all_commands_base: bool,
    /// Allowed commands, one bit per command table id.
    allowed: Vec<u64>,
    /// Command rules since the last `+@all`/`-@all`, as ACL GETUSER shows
    /// them (a later rule for the same command replaces the earlier one).
    command_rules: Vec<String>,
    /// `allkeys` / `~*`.
    pub all_keys: bool,
    /// Key patterns (unused when `all_keys`).
    pub keys: Vec<KeyPattern>,
    /// `allchannels` / `&*`.
    pub all_channels: bool,
    /// Channel patterns (unused when `all_channels`).
    pub channels: Vec<Bytes>,
}

/// Why a rule was refused; the text after `modifier '…': `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// Not a rule at all.
    Syntax,
    /// `+foo` or `+@foo` with no such command or category.
    UnknownCommand,
    /// `#…` that is not 64 lower-case hex digits.
    BadHash,
    /// `<pw` or `!hash` naming a password the user does not have.
    NoSuchPassword,
    /// A pattern after `allkeys` / `~*`.
    KeyAfterAll,
    /// A pattern after `allchannels` / `&*`.
    ChannelAfterAll,
    /// Selectors are not supported yet.
    Selectors,
}

impl RuleError {
    /// Redis's text for this error.
    pub fn text(&self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::Selectors => "Selectors are not supported by this server",
        }
    }
}

/// The SHA-256 digest of a password.
pub fn hash_password(password: &[u8]) -> PasswordHash {
    Sha256::digest(password).into()
}

/// Lower-case hex of a digest.
pub fn hex(hash: &PasswordHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex_hash(text: &[u8]) -> Option<PasswordHash> {
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Equality of two digests without an early exit.
fn digest_eq(a: &PasswordHash, b: &PasswordHash) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl User {
    /// A new user as ACL SETUSER creates one: off, no passwords, no
    /// commands, no keys, no channels.
    pub fn new(name: Bytes) -> User {
        User {
            name,
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            all_commands_base: false,
            allowed: vec![0; CommandTable::global().len().div_ceil(64)],
            command_rules: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }

    /// The default user of a fresh server: everything allowed, with
    /// `requirepass` as its password if one is set, else `nopass`.
    pub fn default_user(requirepass: Option<&[u8]>) -> User {
        let mut user = User::new(Bytes::from_static(b"default"));
        for rule in ["on", "~*", "&*", "+@all"] {
            user.apply(rule.as_bytes()).expect("valid default rule");
        }
        user.set_requirepass(requirepass);
        user
    }

    /// Makes `requirepass` the only password (or `nopass` when `None`), as
    /// setting `requirepass` does to Redis's default user.
    pub fn set_requirepass(&mut self, requirepass: Option<&[u8]>) {
        self.passwords.clear();
        match requirepass {
            Some(pw) if !pw.is_empty() => {
                self.nopass = false;
                self.passwords.push(hash_password(pw));
            }
            _ => self.nopass = true,
        }
    }

    /// Whether `password` is accepted (the user must also be `on`). Every
    /// stored digest is compared, in time independent of where they differ.
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let given = hash_password(password);
        self.passwords
            .iter()
            .fold(false, |ok, stored| ok | digest_eq(stored, &given))
    }

    /// Whether every command, key and channel is allowed: the dispatcher
    /// then skips the checks.
    pub fn unrestricted(&self) -> bool {
        self.all_keys && self.all_channels && self.all_commands()
    }

    fn all_commands(&self) -> bool {
        let n = CommandTable::global().len();
        (0..n).all(|id| self.can_run(id))
    }

    /// Whether the command (or subcommand) with this table id is allowed.
    pub fn can_run(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_command(&mut self, id: usize, allow: bool) {
        if allow {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
        }
    }

    /// A command and, for a container, all its subcommands.
    fn set_command_tree(&mut self, id: usize, allow: bool) {
        self.set_command(id, allow);
        let table = CommandTable::global();
        for &sub in &table.entry(id).subcommands {
            self.set_command(sub, allow);
        }
    }

    fn set_all_commands(&mut self, allow: bool) {
        let fill = if allow { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.all_commands_base = allow;
        self.command_rules.clear();
    }

    /// Applies one rule (ACL SETUSER's modifiers, `user` lines' words).
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        let lower = rule.to_ascii_lowercase();
        match lower.as_slice() {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
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
            b"reset" => {
                for r in ["resetpass", "resetkeys", "resetchannels", "off", "-@all"] {
                    self.apply(r.as_bytes())?;
                }
            }
            b"clearselectors" => {}
            _ => return self.apply_prefixed(rule),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        let (first, rest) = rule.split_first().ok_or(RuleError::Syntax)?;
        match first {
            b'>' => {
                let hash = hash_password(rest);
                self.add_password(hash);
            }
            b'#' => {
                let hash = parse_hex_hash(rest).ok_or(RuleError::BadHash)?;
                self.add_password(hash);
            }
            b'<' => self.remove_password(&hash_password(rest))?,
            b'!' => {
                let hash = parse_hex_hash(rest).ok_or(RuleError::BadHash)?;
                self.remove_password(&hash)?;
            }
            b'~' => self.add_key_pattern(rest, true, true)?,
            b'%' => {
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
            b'&' => {
                if self.all_channels {
                    return Err(RuleError::ChannelAfterAll);
                }
                if !self.channels.iter().any(|c| c.as_ref() == rest) {
                    self.channels.push(Bytes::copy_from_slice(rest));
                }
            }
            b'+' | b'-' => self.apply_command_rule(*first == b'+', rest)?,
            b'(' => return Err(RuleError::Selectors),
            _ => return Err(RuleError::Syntax),
        }
        Ok(())
    }

    fn add_password(&mut self, hash: PasswordHash) {
        self.nopass = false;
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
    }

    fn remove_password(&mut self, hash: &PasswordHash) -> Result<(), RuleError> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != hash);
        if self.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
        Ok(())
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
        let id = table.find_full(name).ok_or(RuleError::UnknownCommand)?;
        let entry = table.entry(id);
        if matches!(entry.spec.kind, Kind::Container(_)) || !entry.is_sub {
            self.set_command_tree(id, allow);
        } else {
            self.set_command(id, allow);
        }
        let full = entry.full_name.clone();
        // A later rule for the same command replaces the earlier one.
        self.command_rules.retain(|r| r[1..] != full);
        self.command_rules.push(format!("{sign}{full}"));
        Ok(())
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

    /// The user as one ACL LIST / aclfile line: `user <name> <rules>`,
    /// rules that rebuild it exactly when applied to a new user.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = b"user ".to_vec();
        out.extend_from_slice(&self.name);
        out.extend_from_slice(if self.enabled { b" on" } else { b" off" });
        if self.nopass {
            out.extend_from_slice(b" nopass");
        }
        for p in &self.passwords {
            out.extend_from_slice(b" #");
            out.extend_from_slice(hex(p).as_bytes());
        }
        let keys = self.describe_keys();
        if !keys.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&keys);
        }
        if !self.all_channels {
            out.extend_from_slice(b" resetchannels");
        }
        let channels = self.describe_channels();
        if !channels.is_empty() {
            out.push(b' ');
            out.extend_from_slice(&channels);
        }
        out.push(b' ');
        out.extend_from_slice(self.describe_commands().as_bytes());
        out
    }

    /// The flags ACL GETUSER lists.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(Bytes::from_static(b"u"));
        for r in rules {
            u.apply(r.as_bytes()).unwrap();
        }
        u
    }

    #[test]
    fn rules_describe_like_redis() {
        let u = user(&[
            "on",
            ">pw",
            "~jobs:*",
            "%R~foo",
            "&jobs:*",
            "+xreadgroup",
            "+xack",
            "+ping",
        ]);
        let line = String::from_utf8(u.describe()).unwrap();
        assert_eq!(
            line,
            format!(
                "user u on #{} ~jobs:* %R~foo resetchannels &jobs:* -@all +xreadgroup +xack +ping",
                hex(&hash_password(b"pw"))
            )
        );
        assert!(u.password_ok(b"pw"));
        assert!(!u.password_ok(b"pw2"));
        assert!(!u.unrestricted());
    }

    #[test]
    fn later_rule_for_a_command_replaces_the_earlier() {
        let u = user(&["+get", "+set", "-get"]);
        assert_eq!(u.describe_commands(), "-@all +set -get");
        let get = CommandTable::global().find(b"get").unwrap();
        assert!(!u.can_run(get));
    }

    #[test]
    fn default_user_is_unrestricted() {
        let u = User::default_user(None);
        assert!(u.unrestricted());
        assert!(u.nopass);
        assert_eq!(u.describe(), b"user default on nopass ~* &* +@all");
        let u = User::default_user(Some(b"secret"));
        assert!(!u.password_ok(b"x"));
        assert!(u.password_ok(b"secret"));
    }

    #[test]
    fn bad_rules_are_refused() {
        let mut u = User::new(Bytes::from_static(b"u"));
        assert_eq!(u.apply(b"bogus"), Err(RuleError::Syntax));
        assert_eq!(u.apply(b"+nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"+@nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(u.apply(b"#abc"), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"<nope"), Err(RuleError::NoSuchPassword));
        u.apply(b"allkeys").unwrap();
        assert_eq!(u.apply(b"~x"), Err(RuleError::KeyAfterAll));
    }
}
