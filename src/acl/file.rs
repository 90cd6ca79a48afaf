//! The ACL file (`aclfile`): one `user <name> <rules...>` line per user,
//! as ACL LIST prints them. ACL SAVE writes it (to a temporary file,
//! fsynced, then renamed over the old one, and the directory fsynced);
//! ACL LOAD and start-up read it, all or nothing.
//!
//! Words are split on spaces; names and rules are taken as bytes. Blank
//! lines and lines starting with `#` are skipped.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;

use super::user::User;

/// Why an ACL file (or `user` config lines) was refused. The texts are
/// Redis's.
#[derive(Debug, thiserror::Error)]
pub enum AclFileError {
    /// The file could not be opened or read.
    #[error("Error loading ACLs, opening file '{path}': {}", os_text(.source))]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Writing failed.
    #[error("{0}")]
    Write(#[from] std::io::Error),
    /// A rule on a line was refused.
    #[error("{path}:{line}: {reason}. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A line that is not a user definition.
    #[error("{path}:{line} should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")]
    NotUser {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
    /// A user defined twice.
    #[error("WARNING: Duplicate user '{name}' found on line {line}. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")]
    Duplicate {
        /// The user.
        name: String,
        /// 1-based line number of the second definition.
        line: usize,
    },
}

/// An I/O error as C's strerror words it (Redis prints that).
fn os_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

/// Parses one `user <name> <rules...>` definition (the words after
/// `user`, split already).
pub fn parse_user(words: &[&[u8]], all_channels: bool) -> Result<User, String> {
    let (name, rules) = words
        .split_first()
        .ok_or_else(|| "the user name is missing".to_string())?;
    if name.contains(&b' ') {
        return Err("Usernames can't contain spaces or null characters".into());
    }
    let mut user = User::created(Bytes::copy_from_slice(name), all_channels);
    let rules: Vec<Bytes> = rules.iter().map(|r| Bytes::copy_from_slice(r)).collect();
    let rules = super::user::merge_selector_args(&rules).map_err(|start| {
        format!(
            "Unmatched parenthesis in acl selector starting at '{}'",
            String::from_utf8_lossy(&start)
        )
    })?;
    for rule in &rules {
        user.apply_with_default(rule, all_channels)
            .map_err(|e| e.text().to_string())?;
    }
    Ok(user)
}

/// Parses the text of an ACL file.
pub fn parse(path: &str, text: &[u8], all_channels: bool) -> Result<Vec<User>, AclFileError> {
    let mut users: Vec<User> = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let words: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .collect();
        let err = |reason: String| AclFileError::Line {
            path: path.to_string(),
            line: n + 1,
            reason,
        };
        match words.first() {
            None => continue,
            Some(w) if w.starts_with(b"#") => continue,
            Some(w) if *w == b"user" && words.len() >= 2 => {}
            Some(_) => {
                return Err(AclFileError::NotUser {
                    path: path.to_string(),
                    line: n + 1,
                })
            }
        }
        let user = parse_user(&words[1..], all_channels).map_err(err)?;
        if users.iter().any(|u| u.name == user.name) {
            return Err(AclFileError::Duplicate {
                name: String::from_utf8_lossy(&user.name).into_owned(),
                line: n + 1,
            });
        }
        users.push(user);
    }
    Ok(users)
}

/// Reads and parses an ACL file.
pub fn load(path: &Path, all_channels: bool) -> Result<Vec<User>, AclFileError> {
    let text = std::fs::read(path).map_err(|source| AclFileError::Open {
        path: path.display().to_string(),
        source,
    })?;
    parse(&path.display().to_string(), &text, all_channels)
}

/// Writes every user to `path`, atomically.
pub fn save(path: &Path, users: &[std::sync::Arc<User>]) -> Result<(), AclFileError> {
    let mut text = Vec::new();
    for user in users {
        text.extend_from_slice(&user.describe());
        text.push(b'\n');
    }
    let tmp = path.with_extension("tmp-acl");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
