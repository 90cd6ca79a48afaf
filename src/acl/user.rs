//! One ACL user: its switches, password digests, command bitmap, key and
//! channel patterns; the rules (`on`, `>pw`, `+@read`, `~jobs:*`, …) that
//! change it; and the text ACL GETUSER and ACL LIST show for it.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::selector::{Denied, Selector};
use crate::commands::table::TableEntry;

/// A SHA-256 digest of a password.
pub type PasswordHash = [u8; 32];

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
    /// `sanitize-payload` / `skip-sanitize-payload`: whether RESTORE
    /// payloads from this user are checked deeply when the
    /// `sanitize-payload` config is `clients`.
    pub payload_check: PayloadCheck,
    /// The permissions rules outside parentheses set.
    pub root: Selector,
    /// Extra permission sets (`(...)` rules).
    pub selectors: Vec<Selector>,
}

/// A user's `sanitize-payload` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadCheck {
    /// Neither flag: the `sanitize-payload` config decides.
    #[default]
    Unset,
    /// `sanitize-payload` (what `reset` sets).
    Sanitize,
    /// `skip-sanitize-payload`: trusted, skipped under `clients`.
    Skip,
}

impl PayloadCheck {
    /// The flag's name, if set.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            PayloadCheck::Unset => None,
            PayloadCheck::Sanitize => Some("sanitize-payload"),
            PayloadCheck::Skip => Some("skip-sanitize-payload"),
        }
    }
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
    /// A rule that only makes sense for the user, inside a selector.
    InSelector,
    /// `+config|get|maxmemory`: first arguments of subcommands.
    FirstArgOfSubcommand,
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
            RuleError::InSelector => "Syntax error",
            RuleError::FirstArgOfSubcommand => {
                "Allowing first-arg of a subcommand is not supported"
            }
        }
    }
}

/// Joins a selector written over several arguments (`(+get` `~k:*)`)
/// into one rule, as Redis does; the argument that opened a selector
/// never closed is the error.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Bytes>, Bytes> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<Vec<u8>> = None;
    let mut opened_at = Bytes::new();
    for arg in args {
        match open.as_mut() {
            Some(buf) => {
                buf.push(b' ');
                buf.extend_from_slice(arg);
                if arg.ends_with(b")") {
                    out.push(Bytes::from(open.take().expect("open")));
                }
            }
            None if arg.starts_with(b"(") && !arg.ends_with(b")") => {
                open = Some(arg.to_vec());
                opened_at = arg.clone();
            }
            None => out.push(arg.clone()),
        }
    }
    match open {
        Some(_) => Err(opened_at),
        None => Ok(out),
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

/// Whether `password` hashes to one of `stored`: every digest is compared,
/// each without an early exit.
pub fn matches_any(stored: &[PasswordHash], password: &[u8]) -> bool {
    let given = hash_password(password);
    stored.iter().fold(false, |ok, s| ok | digest_eq(s, &given))
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
            payload_check: PayloadCheck::Unset,
            root: Selector::default(),
            selectors: Vec::new(),
        }
    }

    /// A user created by ACL SETUSER, the ACL file or a `user` line: as
    /// [`User::new`], with every channel when `acl-pubsub-default` is
    /// `allchannels`.
    pub fn created(name: Bytes, all_channels: bool) -> User {
        let mut user = User::new(name);
        if all_channels {
            user.apply(b"allchannels").expect("valid rule");
        }
        user
    }

    /// Applies one rule as [`User::apply`] does, except that `reset`
    /// also grants every channel when `acl-pubsub-default` is
    /// `allchannels`, as in Redis.
    pub fn apply_with_default(&mut self, rule: &[u8], all_channels: bool) -> Result<(), RuleError> {
        self.apply(rule)?;
        if all_channels && rule.eq_ignore_ascii_case(b"reset") {
            self.apply(b"allchannels")?;
        }
        Ok(())
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
        matches_any(&self.passwords, password)
    }

    /// Whether every command, key and channel is allowed: the dispatcher
    /// then skips the checks.
    pub fn unrestricted(&self) -> bool {
        self.root.unrestricted()
    }

    /// Whether the user may run the command `entry` (table id `id`) with
    /// these words: some selector must allow all of it. Otherwise the most
    /// specific refusal is returned.
    pub fn check(&self, id: usize, entry: &TableEntry, words: &[Bytes]) -> Result<(), Denied> {
        let mut denied = match self.root.check(id, entry, words) {
            Ok(()) => return Ok(()),
            Err(d) => d,
        };
        for selector in &self.selectors {
            match selector.check(id, entry, words) {
                Ok(()) => return Ok(()),
                Err(d) => denied = denied.most_specific(d),
            }
        }
        Err(denied)
    }

    /// Whether some selector allows the channel (see
    /// [`Selector::allows_channel`]).
    pub fn allows_channel(&self, name: &[u8], pattern: bool) -> bool {
        std::iter::once(&self.root)
            .chain(&self.selectors)
            .any(|s| s.allows_channel(name, pattern))
    }

    /// Applies one rule (ACL SETUSER's modifiers, `user` lines' words). A
    /// rule in parentheses adds a selector built from the rules inside.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), RuleError> {
        if let Some(inner) = rule.strip_prefix(b"(").and_then(|r| r.strip_suffix(b")")) {
            let mut selector = Selector::default();
            for word in inner.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
                if !selector.apply(word)? {
                    return Err(RuleError::InSelector);
                }
            }
            self.selectors.push(selector);
            return Ok(());
        }
        if self.root.apply(rule)? {
            return Ok(());
        }
        match rule.to_ascii_lowercase().as_slice() {
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
            b"clearselectors" => self.selectors.clear(),
            b"sanitize-payload" => self.payload_check = PayloadCheck::Sanitize,
            b"skip-sanitize-payload" => self.payload_check = PayloadCheck::Skip,
            b"reset" => {
                for r in [
                    "resetpass",
                    "resetkeys",
                    "resetchannels",
                    "off",
                    "clearselectors",
                    "-@all",
                    "sanitize-payload",
                ] {
                    self.apply(r.as_bytes())?;
                }
            }
            _ => match rule.split_first() {
                Some((b'>', pw)) => self.add_password(hash_password(pw)),
                Some((b'#', hex)) => {
                    self.add_password(parse_hex_hash(hex).ok_or(RuleError::BadHash)?)
                }
                Some((b'<', pw)) => self.remove_password(&hash_password(pw))?,
                Some((b'!', hex)) => {
                    self.remove_password(&parse_hex_hash(hex).ok_or(RuleError::BadHash)?)?
                }
                _ => return Err(RuleError::Syntax),
            },
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

    /// The user as one ACL LIST / aclfile line: `user <name> <rules>`,
    /// rules that rebuild it exactly when applied to a new user.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = b"user ".to_vec();
        out.extend_from_slice(&self.name);
        out.extend_from_slice(if self.enabled { b" on" } else { b" off" });
        if self.nopass {
            out.extend_from_slice(b" nopass");
        }
        if let Some(flag) = self.payload_check.flag() {
            out.push(b' ');
            out.extend_from_slice(flag.as_bytes());
        }
        for p in &self.passwords {
            out.extend_from_slice(b" #");
            out.extend_from_slice(hex(p).as_bytes());
        }
        out.push(b' ');
        out.extend_from_slice(&self.root.describe());
        for selector in &self.selectors {
            out.extend_from_slice(b" (");
            out.extend_from_slice(&selector.describe());
            out.push(b')');
        }
        out
    }

    /// The flags ACL GETUSER lists.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        flags.extend(self.payload_check.flag());
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
        assert_eq!(u.root.describe_commands(), "-@all +set -get");
        let get = crate::commands::CommandTable::global()
            .find(b"get")
            .unwrap();
        assert!(!u.root.can_run(get));
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

    #[test]
    fn selectors_describe_and_merge() {
        let args: Vec<Bytes> = ["on", "(+get", "~k:*)", "(", "+set", "~w:*)"]
            .iter()
            .map(|a| Bytes::from_static(a.as_bytes()))
            .collect();
        let merged = merge_selector_args(&args).unwrap();
        assert_eq!(merged, ["on", "(+get ~k:*)", "( +set ~w:*)"]);
        let mut u = User::new(Bytes::from_static(b"s"));
        for r in &merged {
            u.apply(r).unwrap();
        }
        assert_eq!(
            u.describe(),
            b"user s on resetchannels -@all (~k:* resetchannels -@all +get) (~w:* resetchannels -@all +set)"
        );
        assert_eq!(
            merge_selector_args(&[Bytes::from_static(b"(+get")]),
            Err(Bytes::from_static(b"(+get"))
        );
        assert_eq!(u.apply(b"(on)"), Err(RuleError::InSelector));
        assert_eq!(u.apply(b"(+nosuch)"), Err(RuleError::UnknownCommand));
        u.apply(b"clearselectors").unwrap();
        assert!(u.selectors.is_empty());
    }
}
