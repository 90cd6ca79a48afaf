//! Access control: users, their permissions, and the check the dispatcher
//! runs before each command.
//!
//! ```text
//!  AUTH / HELLO AUTH ──► Acl::authenticate ──► Session.user (Arc<User>)
//!  request ──► dispatch: user.unrestricted()? ──yes──► run
//!                              │ no
//!                              ▼
//!                     check(): command bit ─► keys (read/write) ─► channels
//!                              │ denied
//!                              ▼
//!                     NOPERM + ACL LOG entry + INFO counter
//! ```
//!
//! Users are immutable values behind `Arc`: ACL SETUSER builds a changed
//! copy and swaps it in, bumping a generation counter; a connection
//! compares the generation (one atomic load) before each command and
//! re-reads its user only when something changed. A user that was deleted
//! takes its connections with it, as in Redis.

pub mod args;
pub mod categories;
pub mod file;
pub mod log;
pub mod selector;
pub mod user;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;

pub use log::{AclLog, Reason};
pub use selector::Denied;
pub use user::{RuleError, User};

use crate::commands::table::TableEntry;
use crate::error::{self, CommandError};

/// Every user, the ACL log and the denial counters.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    generation: AtomicU64,
    /// The ACL file (`aclfile`), if one is configured.
    path: Option<std::path::PathBuf>,
    /// Recent security events.
    pub log: Mutex<AclLog>,
    /// Failed AUTH / HELLO AUTH (INFO `acl_access_denied_auth`).
    pub denied_auth: AtomicU64,
    /// Commands refused (INFO `acl_access_denied_cmd`).
    pub denied_cmd: AtomicU64,
    /// Keys refused (INFO `acl_access_denied_key`).
    pub denied_key: AtomicU64,
    /// Channels refused (INFO `acl_access_denied_channel`).
    pub denied_channel: AtomicU64,
    /// `acl-pubsub-default allchannels`: new users (and `reset`) get
    /// every channel.
    pubsub_all: std::sync::atomic::AtomicBool,
    /// `acllog-max-len`: how many entries ACL LOG keeps.
    log_max_len: AtomicU64,
}

/// A security event to record.
#[derive(Debug)]
pub struct Event {
    /// Why.
    pub reason: Reason,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    /// The command, key or channel refused, or `AUTH`.
    pub object: Bytes,
    /// The user involved.
    pub username: Bytes,
    /// The client's CLIENT LIST line.
    pub client_info: String,
    /// The client's address (for the server log).
    pub addr: std::net::SocketAddr,
}

impl Acl {
    /// The users of a fresh server: only `default`, with `requirepass`.
    pub fn new(requirepass: Option<&[u8]>) -> Acl {
        let default = User::default_user(requirepass);
        let mut users = BTreeMap::new();
        users.insert(default.name.clone(), Arc::new(default));
        Acl {
            users: RwLock::new(users),
            generation: AtomicU64::new(1),
            path: None,
            log: Mutex::new(AclLog::default()),
            denied_auth: AtomicU64::new(0),
            denied_cmd: AtomicU64::new(0),
            denied_key: AtomicU64::new(0),
            denied_channel: AtomicU64::new(0),
            pubsub_all: std::sync::atomic::AtomicBool::new(false),
            log_max_len: AtomicU64::new(128),
        }
    }

    /// Applies `acl-pubsub-default` (at start and on CONFIG SET): it
    /// decides the channels of users created from now on.
    pub fn set_pubsub_default(&self, all_channels: bool) {
        self.pubsub_all.store(all_channels, Ordering::Relaxed);
    }

    /// Applies `acllog-max-len` (at start and on CONFIG SET). As in Redis,
    /// a shorter log drops its oldest entries when the next one is added.
    pub fn set_log_max_len(&self, len: u64) {
        self.log_max_len.store(len, Ordering::Relaxed);
    }

    fn pubsub_all(&self) -> bool {
        self.pubsub_all.load(Ordering::Relaxed)
    }

    /// The users a configuration asks for: `default` with `requirepass`,
    /// then either the configuration file's `user` lines or the ACL
    /// file's users (not both, as in Redis).
    pub fn from_config(config: &crate::config::Config) -> Result<Acl, file::AclFileError> {
        let mut acl = Acl::new(config.requirepass.as_deref());
        acl.path = config.aclfile.clone();
        acl.set_pubsub_default(config.acl_pubsub_default_all);
        acl.set_log_max_len(config.acllog_max_len);
        let origin = config
            .config_file
            .as_ref()
            .map_or("config".to_string(), |p| p.display().to_string());
        if !config.users.is_empty() && acl.path.is_some() {
            return Err(file::AclFileError::Line {
                path: origin,
                line: 0,
                reason: "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both".into(),
            });
        }
        let mut users = acl.users.write().expect("acl lock");
        for (n, words) in config.users.iter().enumerate() {
            let words: Vec<&[u8]> = words.iter().map(|w| w.as_ref()).collect();
            let user = match users.get(words.first().copied().unwrap_or_default()) {
                Some(existing) if existing.name.as_ref() == b"default" => {
                    // `user default ...` starts from the default user as
                    // `requirepass` left it, then applies the rules.
                    let mut user = (**existing).clone();
                    let rules: Vec<Bytes> = words[1..]
                        .iter()
                        .map(|r| Bytes::copy_from_slice(r))
                        .collect();
                    let rules = user::merge_selector_args(&rules).map_err(|_| {
                        file::AclFileError::Line {
                            path: origin.clone(),
                            line: n + 1,
                            reason: "Unmatched parenthesis in acl selector".into(),
                        }
                    })?;
                    for rule in &rules {
                        user.apply(rule).map_err(|e| file::AclFileError::Line {
                            path: origin.clone(),
                            line: n + 1,
                            reason: e.text().into(),
                        })?;
                    }
                    user
                }
                _ => file::parse_user(&words, acl.pubsub_all()).map_err(|reason| {
                    file::AclFileError::Line {
                        path: origin.clone(),
                        line: n + 1,
                        reason,
                    }
                })?,
            };
            users.insert(user.name.clone(), Arc::new(user));
        }
        drop(users);
        if let Some(path) = &acl.path {
            let loaded = file::load(path, acl.pubsub_all())?;
            acl.install(loaded);
        }
        Ok(acl)
    }

    /// ACL SAVE: writes every user to the ACL file.
    pub fn save(&self) -> Result<(), CommandError> {
        let path = self.path.as_deref().ok_or(error::ACL_NO_FILE)?;
        file::save(path, &self.all()).map_err(|e| {
            tracing::warn!("Saving the ACL file {} failed: {e}", path.display());
            error::ACL_SAVE_FAILED
        })
    }

    /// ACL LOAD: replaces every user with the ACL file's, all or nothing.
    /// A file without `default` keeps a fresh default user (`nopass`, all
    /// permissions), as Redis does.
    pub fn load(&self) -> Result<(), CommandError> {
        let path = self.path.as_deref().ok_or(error::ACL_NO_FILE)?;
        let users = file::load(path, self.pubsub_all())
            .map_err(|e| error::acl_load_failed(&e.to_string()))?;
        self.install(users);
        Ok(())
    }

    /// Replaces every user with `users`, plus a fresh default user if they
    /// do not define one.
    fn install(&self, users: Vec<User>) {
        let mut map = BTreeMap::new();
        map.insert(
            Bytes::from_static(b"default"),
            Arc::new(User::default_user(None)),
        );
        for user in users {
            map.insert(user.name.clone(), Arc::new(user));
        }
        *self.users.write().expect("acl lock") = map;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes whenever any user changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A user by name.
    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users.read().expect("acl lock").get(name).cloned()
    }

    /// Every user, by name.
    pub fn all(&self) -> Vec<Arc<User>> {
        self.users
            .read()
            .expect("acl lock")
            .values()
            .cloned()
            .collect()
    }

    /// Applies rules to a user (created if missing); all or nothing.
    pub fn set_user(&self, name: &[u8], rules: &[Bytes]) -> Result<(), (usize, RuleError)> {
        let mut users = self.users.write().expect("acl lock");
        let mut user = match users.get(name) {
            Some(u) => (**u).clone(),
            None => User::created(Bytes::copy_from_slice(name), self.pubsub_all()),
        };
        let all_channels = self.pubsub_all();
        for (i, rule) in rules.iter().enumerate() {
            user.apply_with_default(rule, all_channels)
                .map_err(|e| (i, e))?;
        }
        users.insert(user.name.clone(), Arc::new(user));
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Deletes users; returns how many existed. `default` is refused by
    /// the caller.
    pub fn delete(&self, names: &[Bytes]) -> usize {
        let mut users = self.users.write().expect("acl lock");
        let removed = names
            .iter()
            .filter(|n| users.remove(n.as_ref()).is_some())
            .count();
        if removed > 0 {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        removed
    }

    /// Makes `requirepass` the default user's only password (CONFIG SET
    /// requirepass), as Redis does.
    pub fn set_requirepass(&self, requirepass: Option<&[u8]>) {
        let mut users = self.users.write().expect("acl lock");
        let mut default = users
            .get(&b"default"[..])
            .map(|u| (**u).clone())
            .unwrap_or_else(|| User::default_user(None));
        default.set_requirepass(requirepass);
        users.insert(default.name.clone(), Arc::new(default));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The user `name` if it exists, is on and accepts `password`.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<Arc<User>> {
        // The password is hashed and compared whether the user exists,
        // is off or is on, so timing does not tell these apart.
        match self.get(name) {
            Some(user) => (user.password_ok(password) & user.enabled).then_some(user),
            None => {
                let decoy = [[0u8; 32]];
                std::hint::black_box(user::matches_any(&decoy, password));
                None
            }
        }
    }

    /// Counts a denial in INFO's counters.
    pub fn count(&self, reason: Reason) {
        let counter = match reason {
            Reason::Auth => &self.denied_auth,
            Reason::Command => &self.denied_cmd,
            Reason::Key => &self.denied_key,
            Reason::Channel => &self.denied_channel,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a denial or failed authentication: INFO counter, ACL LOG
    /// entry, and for failed AUTHs that keep coming a warning in the
    /// server log (at the 2nd, 4th, 8th … repeat, so a flood cannot flood
    /// the log too).
    pub fn record(&self, event: Event, now_ms: i64) {
        let Event {
            reason,
            context,
            object,
            username,
            client_info,
            addr,
        } = event;
        self.count(reason);
        let logged = self.log.lock().expect("acl log lock").add(
            reason,
            context,
            object,
            username.clone(),
            client_info,
            now_ms,
            self.log_max_len.load(Ordering::Relaxed) as usize,
        );
        if reason == Reason::Auth && logged.count > 1 && logged.count.is_power_of_two() {
            tracing::warn!(
                "{} failed authentication attempts as user '{}' within a minute, latest from {}",
                logged.count,
                String::from_utf8_lossy(&username),
                addr
            );
        }
    }

    /// Zeroes the counters (CONFIG RESETSTAT).
    pub fn reset_counters(&self) {
        for c in [
            &self.denied_auth,
            &self.denied_cmd,
            &self.denied_key,
            &self.denied_channel,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Whether `user` may run the command `entry` (table id `id`) with these
/// words.
pub fn check(user: &User, id: usize, entry: &TableEntry, words: &[Bytes]) -> Result<(), Denied> {
    user.check(id, entry, words)
}
