//! Server configuration: command-line flags, a redis.conf-style file, and
//! the parameters CONFIG GET/SET read and change at run time.
//!
//! Every source goes through [`Config::set`], so a value is validated the
//! same way whether it comes from the file, a flag or CONFIG SET, and the
//! error texts are Redis's.

use std::path::PathBuf;

use bytes::Bytes;

mod cli;
mod output_buffer;
mod tls;
mod values;

pub use cli::Cli;
pub use output_buffer::{BufferLimit, OutputBufferLimits};
pub use tls::{TlsAuthClients, TlsConfig, TLS12_SUITES, TLS13_SUITES};
pub use values::{
    apply_loglevel, on_loglevel_change, parse_memory, DebugCommand, FsyncPolicy, LogLevel,
    SanitizePayload,
};
use values::{integer_in, parse_integer};

use crate::protocol::decode::{split_args, DEFAULT_MAX_BULK_LEN};
use crate::storage::RecoveryMode;

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// Addresses to listen on (space-separated in `bind`).
    pub bind: Vec<String>,
    /// Data directory.
    pub dir: PathBuf,
    /// Journal fsync policy.
    pub appendfsync: FsyncPolicy,
    /// Password of the default user, if any.
    pub requirepass: Option<Bytes>,
    /// The ACL file (`aclfile`): users are loaded from it at start-up and
    /// by ACL LOAD, and written by ACL SAVE.
    pub aclfile: Option<PathBuf>,
    /// `user <name> <rules...>` lines of the configuration file, each as
    /// its words after `user` (bytes, exactly as written).
    pub users: Vec<Vec<Bytes>>,
    /// Most clients connected at once.
    pub maxclients: usize,
    /// Milliseconds a script may run before other clients get BUSY and
    /// SCRIPT KILL may stop it (`busy-reply-threshold`, alias
    /// `lua-time-limit`).
    pub busy_reply_threshold: i64,
    /// Threads that serve clients (read, parse, run, write); Redis's
    /// `io-threads`. Commands still run one at a time under the keyspace
    /// lock, so more threads only pay where cores are spare.
    pub io_threads: usize,
    /// Number of databases.
    pub databases: usize,
    /// Log verbosity.
    pub loglevel: LogLevel,
    /// Longest argument a client may send.
    pub proto_max_bulk_len: usize,
    /// Whether DEBUG is allowed.
    pub enable_debug_command: DebugCommand,
    /// The configuration file the server started from, absolute (INFO
    /// `config_file`); not a parameter.
    pub config_file: Option<PathBuf>,
    /// What start-up does with corruption (`recovery`).
    pub recovery: RecoveryMode,
    /// Size at which the journal starts a new segment.
    pub journal_segment_size: u64,
    /// Entries per stream node (Redis's `stream-node-max-entries`).
    pub stream_node_max_entries: u64,
    /// Bytes per stream node (Redis's `stream-node-max-bytes`).
    pub stream_node_max_bytes: u64,
    /// Most members of a sorted set in the small encoding
    /// (`zset-max-listpack-entries`).
    pub zset_max_listpack_entries: u64,
    /// Longest member of a sorted set in the small encoding
    /// (`zset-max-listpack-value`).
    pub zset_max_listpack_value: u64,
    /// Most members of an all-integer set in the `intset` encoding
    /// (`set-max-intset-entries`).
    pub set_max_intset_entries: u64,
    /// Most members of a set in the `listpack` encoding
    /// (`set-max-listpack-entries`).
    pub set_max_listpack_entries: u64,
    /// Longest member of a set in the `listpack` encoding
    /// (`set-max-listpack-value`).
    pub set_max_listpack_value: u64,
    /// Chunk size of a list: negative, a size limit (-1 = 4 KB … -5 =
    /// 64 KB); positive, an element count (`list-max-listpack-size`).
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`: accepted and reported; lists are not
    /// compressed.
    pub list_compress_depth: i64,
    /// Redis's RDB `save` schedule: CONFIG SET accepts and CONFIG GET
    /// reports it (Redis's test suite sets it); Sluice's checkpoints are
    /// not driven by it.
    pub save: String,
    /// Most fields of a hash in the small encoding
    /// (`hash-max-listpack-entries`).
    pub hash_max_listpack_entries: u64,
    /// Longest field or value of a hash in the small encoding
    /// (`hash-max-listpack-value`).
    pub hash_max_listpack_value: u64,
    /// Checkpoint automatically when the log has grown by this percentage
    /// of the last checkpoint's size (0 turns it off).
    pub auto_aof_rewrite_percentage: u64,
    /// … and by at least this many bytes.
    pub auto_aof_rewrite_min_size: u64,
    /// Output-buffer limits per client class.
    pub client_output_buffer_limit: OutputBufferLimits,
    /// TLS listener and certificates.
    pub tls: TlsConfig,
    /// `acl-pubsub-default`: users created from now on get every channel
    /// (`allchannels`) or none (`resetchannels`, the default).
    pub acl_pubsub_default_all: bool,
    /// How many entries ACL LOG keeps (`acllog-max-len`).
    pub acllog_max_len: u64,
    /// `notify-keyspace-events`, as `keyspace::notify` flags.
    pub notify_keyspace_events: u16,
    /// Refuse clients from non-loopback addresses while no password is set
    /// (`protected-mode`).
    pub protected_mode: bool,
    /// Close clients idle for longer than this many seconds; 0 never
    /// (`timeout`). Subscribers and blocked clients are exempt.
    pub timeout: u64,
    /// TCP keepalive idle time of accepted sockets, in seconds; 0 leaves
    /// keepalive off (`tcp-keepalive`).
    pub tcp_keepalive: u64,
    /// Most bytes a client's unprocessed requests may hold before the
    /// client is closed (`client-query-buffer-limit`).
    pub client_query_buffer_limit: usize,
    /// Deep checks of RESTORE payloads (`sanitize-dump-payload`).
    pub sanitize_dump_payload: SanitizePayload,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            dir: PathBuf::from("./sluice-data"),
            appendfsync: FsyncPolicy::EverySec,
            requirepass: None,
            aclfile: None,
            users: Vec::new(),
            maxclients: 10000,
            busy_reply_threshold: 5000,
            io_threads: 1,
            databases: 16,
            loglevel: LogLevel::Notice,
            proto_max_bulk_len: DEFAULT_MAX_BULK_LEN,
            enable_debug_command: DebugCommand::No,
            config_file: None,
            recovery: RecoveryMode::Strict,
            journal_segment_size: 64 * 1024 * 1024,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            save: String::new(),
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            client_output_buffer_limit: OutputBufferLimits::default(),
            tls: TlsConfig::default(),
            acl_pubsub_default_all: false,
            acllog_max_len: 128,
            notify_keyspace_events: 0,
            protected_mode: true,
            timeout: 0,
            tcp_keepalive: 300,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            sanitize_dump_payload: SanitizePayload::No,
        }
    }
}

/// Parameters CONFIG GET and CONFIG SET know, in the order CONFIG GET *
/// lists them.
pub const PARAMS: &[&str] = &[
    "recovery",
    "journal-segment-size",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "stream-node-max-entries",
    "stream-node-max-bytes",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "list-compress-depth",
    "save",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "port",
    "bind",
    "dir",
    "appendfsync",
    "requirepass",
    "aclfile",
    "maxclients",
    "io-threads",
    "databases",
    "loglevel",
    "proto-max-bulk-len",
    "enable-debug-command",
    "client-output-buffer-limit",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-ca-cert-file",
    "tls-auth-clients",
    "tls-protocols",
    "tls-ciphersuites",
    "tls-ciphers",
    "protected-mode",
    "timeout",
    "tcp-keepalive",
    "client-query-buffer-limit",
    "acl-pubsub-default",
    "acllog-max-len",
    "notify-keyspace-events",
    "sanitize-dump-payload",
    "busy-reply-threshold",
    "lua-time-limit",
];

/// Parameters fixed once the server runs.
const IMMUTABLE: &[&str] = &[
    "port",
    "bind",
    "dir",
    "databases",
    "io-threads",
    "enable-debug-command",
    "recovery",
    "journal-segment-size",
    "tls-port",
    "aclfile",
];

/// Whether `name` (lower-case) is a parameter Sluice knows.
pub fn is_known(name: &str) -> bool {
    PARAMS.contains(&name)
}

/// Whether `name` (lower-case) is fixed once the server runs.
pub fn is_immutable(name: &str) -> bool {
    IMMUTABLE.contains(&name)
}

/// Redis directives Sluice accepts and ignores with a warning, so that
/// scripts and files written for redis-server start Sluice unchanged.
pub const IGNORED: &[&str] = &[
    "save",
    "logfile",
    "daemonize",
    "appendonly",
    "pidfile",
    "supervised",
    "tcp-backlog",
    "always-show-logo",
    "appendfilename",
    "dbfilename",
];

/// Why a value was refused; becomes CONFIG SET's error or a start-up error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a parameter Sluice knows.
    Unknown(String),
    /// The parameter cannot change while running.
    Immutable(String),
    /// The value is not valid for the parameter: (parameter, reason).
    Invalid(String, String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Unknown(name) => write!(f, "unknown option '{name}'"),
            ConfigError::Immutable(name) => write!(f, "'{name}' can't be changed while running"),
            ConfigError::Invalid(name, reason) => write!(f, "'{name}': {reason}"),
        }
    }
}

impl Config {
    /// Sets one parameter from the bytes a client sent (CONFIG SET).
    /// Values are bytes: `requirepass` is stored exactly as given, so a
    /// password that is not UTF-8 still works (and only it does); every
    /// other parameter's value must be text, and one that is not is refused
    /// rather than altered.
    pub fn set_bytes(
        &mut self,
        name: &str,
        value: &[u8],
        running: bool,
    ) -> Result<(), ConfigError> {
        match std::str::from_utf8(value) {
            Ok(text) => self.set(name, text, running),
            Err(_) if name.eq_ignore_ascii_case("requirepass") => {
                // Checked as `set` checks every parameter.
                self.set(name, "", running)?;
                self.requirepass = Some(Bytes::copy_from_slice(value));
                Ok(())
            }
            Err(_) => {
                // Known, mutable? `set` says so first, as for text.
                self.clone().set(name, "", running).or_else(|e| match e {
                    ConfigError::Invalid(..) => Ok(()),
                    other => Err(other),
                })?;
                Err(ConfigError::Invalid(
                    name.to_ascii_lowercase(),
                    "argument must be valid UTF-8 text".into(),
                ))
            }
        }
    }

    /// A parameter's value as bytes (CONFIG GET): `requirepass` exactly as
    /// stored, the others as their text.
    pub fn get_bytes(&self, name: &str) -> Option<Bytes> {
        if name == "requirepass" {
            return Some(self.requirepass.clone().unwrap_or_default());
        }
        self.get(name).map(Bytes::from)
    }

    /// Sets one parameter from its text form. `running` refuses immutable
    /// parameters, as CONFIG SET does.
    pub fn set(&mut self, name: &str, value: &str, running: bool) -> Result<(), ConfigError> {
        let name = name.to_ascii_lowercase();
        let invalid = |reason: &str| ConfigError::Invalid(name.clone(), reason.to_string());
        if !PARAMS.contains(&name.as_str()) {
            return Err(ConfigError::Unknown(name));
        }
        if running && IMMUTABLE.contains(&name.as_str()) {
            return Err(ConfigError::Immutable(name));
        }
        match name.as_str() {
            "port" => {
                self.port = value
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (0..=65535).contains(p))
                    .ok_or_else(|| invalid("argument must be between 0 and 65535 inclusive"))?
                    as u16
            }
            "bind" => {
                let addrs: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                if addrs.is_empty() {
                    return Err(invalid("Too many bind addresses specified."));
                }
                self.bind = addrs;
            }
            "dir" => self.dir = PathBuf::from(value),
            "appendfsync" => {
                self.appendfsync = match value.to_ascii_lowercase().as_str() {
                    "always" => FsyncPolicy::Always,
                    "everysec" => FsyncPolicy::EverySec,
                    "no" => FsyncPolicy::No,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: everysec, always, no",
                        ))
                    }
                }
            }
            "requirepass" => {
                self.requirepass =
                    (!value.is_empty()).then(|| Bytes::copy_from_slice(value.as_bytes()))
            }
            "aclfile" => self.aclfile = (!value.is_empty()).then(|| PathBuf::from(value)),
            "maxclients" => {
                self.maxclients = parse_integer(value)
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))
                    .and_then(|n| {
                        if n >= 1 {
                            Ok(n as usize)
                        } else {
                            Err(invalid(
                                "argument must be between 1 and 4294967295 inclusive",
                            ))
                        }
                    })?
            }
            "io-threads" => {
                self.io_threads = integer_in(value, 1, 128).map_err(|e| invalid(&e))? as usize
            }
            "databases" => {
                self.databases =
                    integer_in(value, 1, i32::MAX as i64).map_err(|e| invalid(&e))? as usize
            }
            "loglevel" => {
                self.loglevel = match value.to_ascii_lowercase().as_str() {
                    "debug" => LogLevel::Debug,
                    "verbose" => LogLevel::Verbose,
                    "notice" => LogLevel::Notice,
                    "warning" => LogLevel::Warning,
                    _ => return Err(invalid(
                        "argument(s) must be one of the following: debug, verbose, notice, warning",
                    )),
                }
            }
            "proto-max-bulk-len" => {
                let n = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
                if n < 1024 * 1024 {
                    return Err(invalid(
                        "argument must be between 1048576 and 9223372036854775807 inclusive",
                    ));
                }
                self.proto_max_bulk_len = n as usize;
            }
            "sanitize-dump-payload" => {
                self.sanitize_dump_payload = match value.to_ascii_lowercase().as_str() {
                    "no" => SanitizePayload::No,
                    "yes" => SanitizePayload::Yes,
                    "clients" => SanitizePayload::Clients,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: no, yes, clients",
                        ))
                    }
                }
            }
            "enable-debug-command" => {
                self.enable_debug_command = match value.to_ascii_lowercase().as_str() {
                    "yes" => DebugCommand::Yes,
                    "no" => DebugCommand::No,
                    "local" => DebugCommand::Local,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: no, yes, local",
                        ))
                    }
                }
            }
            "recovery" => {
                self.recovery =
                    match value.to_ascii_lowercase().as_str() {
                        "strict" => RecoveryMode::Strict,
                        "tolerate-corruption" => RecoveryMode::TolerateCorruption,
                        _ => return Err(invalid(
                            "argument(s) must be one of the following: strict, tolerate-corruption",
                        )),
                    }
            }
            "journal-segment-size" => {
                let n = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
                if n < 4096 {
                    return Err(invalid("argument must be at least 4096"));
                }
                // Stream entries address segments with 32-bit offsets.
                if n > 2 << 30 {
                    return Err(invalid("argument must be at most 2gb"));
                }
                self.journal_segment_size = n;
            }
            "stream-node-max-entries" => {
                self.stream_node_max_entries = value
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| u64::try_from(n).ok())
                    .filter(|&n| n <= i64::MAX as u64)
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
            }
            "stream-node-max-bytes" => {
                self.stream_node_max_bytes = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
            }
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                let n = parse_integer(value)
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
                self.zset_max_listpack_entries = u64::try_from(n).map_err(|_| {
                    invalid("argument must be between 0 and 9223372036854775807 inclusive")
                })?;
            }
            "set-max-intset-entries" | "set-max-listpack-entries" => {
                let n = parse_integer(value)
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
                let n = u64::try_from(n).map_err(|_| {
                    invalid("argument must be between 0 and 9223372036854775807 inclusive")
                })?;
                if name == "set-max-intset-entries" {
                    self.set_max_intset_entries = n;
                } else {
                    self.set_max_listpack_entries = n;
                }
            }
            "set-max-listpack-value" => {
                self.set_max_listpack_value = parse_memory(value)
                    .filter(|&n| n <= i64::MAX as u64)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                self.zset_max_listpack_value = parse_memory(value)
                    .filter(|&n| n <= i64::MAX as u64)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
            }
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                self.list_max_listpack_size =
                    integer_in(value, i32::MIN as i64, i32::MAX as i64).map_err(|r| invalid(&r))?;
            }
            "save" => {
                let words: Vec<&str> = value.split_whitespace().collect();
                if !words.len().is_multiple_of(2) || words.iter().any(|w| w.parse::<u64>().is_err())
                {
                    return Err(invalid("Invalid save parameters"));
                }
                self.save = words.join(" ");
            }
            "list-compress-depth" => {
                self.list_compress_depth =
                    integer_in(value, 0, i32::MAX as i64).map_err(|r| invalid(&r))?;
            }
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                let n = parse_integer(value)
                    .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
                self.hash_max_listpack_entries = u64::try_from(n).map_err(|_| {
                    invalid("argument must be between 0 and 9223372036854775807 inclusive")
                })?;
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                self.hash_max_listpack_value = parse_memory(value)
                    .filter(|&n| n <= i64::MAX as u64)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
            }
            "auto-aof-rewrite-percentage" => {
                self.auto_aof_rewrite_percentage = value
                    .parse()
                    .map_err(|_| invalid("argument couldn't be parsed into an integer"))?
            }
            "auto-aof-rewrite-min-size" => {
                self.auto_aof_rewrite_min_size =
                    parse_memory(value).ok_or_else(|| invalid("argument must be a memory value"))?
            }
            "client-output-buffer-limit" => self
                .client_output_buffer_limit
                .apply(value)
                .map_err(invalid)?,
            name if name.starts_with("tls-") => {
                self.tls.set(name, value).map_err(|e| invalid(&e))?
            }
            "acl-pubsub-default" => {
                self.acl_pubsub_default_all =
                    match value.to_ascii_lowercase().as_str() {
                        "allchannels" => true,
                        "resetchannels" => false,
                        _ => return Err(invalid(
                            "argument(s) must be one of the following: allchannels, resetchannels",
                        )),
                    }
            }
            "protected-mode" => {
                self.protected_mode = match value.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(invalid("argument must be 'yes' or 'no'")),
                }
            }
            "notify-keyspace-events" => {
                self.notify_keyspace_events =
                    crate::keyspace::notify::parse(value).ok_or_else(|| {
                        invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
                    })?
            }
            "busy-reply-threshold" | "lua-time-limit" => {
                self.busy_reply_threshold =
                    integer_in(value, 0, i64::MAX).map_err(|e| invalid(&e))?;
            }
            "acllog-max-len" => {
                self.acllog_max_len =
                    integer_in(value, 0, i64::MAX).map_err(|e| invalid(&e))? as u64
            }
            "timeout" => {
                self.timeout =
                    integer_in(value, 0, i32::MAX as i64).map_err(|e| invalid(&e))? as u64
            }
            "tcp-keepalive" => {
                self.tcp_keepalive =
                    integer_in(value, 0, i32::MAX as i64).map_err(|e| invalid(&e))? as u64
            }
            "client-query-buffer-limit" => {
                let n = parse_memory(value)
                    .ok_or_else(|| invalid("argument must be a memory value"))?;
                if n < 1024 * 1024 || n > i64::MAX as u64 {
                    return Err(invalid(
                        "argument must be between 1048576 and 9223372036854775807 inclusive",
                    ));
                }
                self.client_query_buffer_limit = usize::try_from(n).unwrap_or(usize::MAX);
            }
            _ => unreachable!("every name in PARAMS is handled"),
        }
        Ok(())
    }

    /// The sorted-set small-encoding thresholds.
    pub fn zset_limits(&self) -> crate::keyspace::zset::Limits {
        crate::keyspace::zset::Limits {
            entries: usize::try_from(self.zset_max_listpack_entries).unwrap_or(usize::MAX),
            value: usize::try_from(self.zset_max_listpack_value).unwrap_or(usize::MAX),
        }
    }

    /// The set encoding thresholds.
    pub fn set_limits(&self) -> crate::keyspace::set::Limits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        crate::keyspace::set::Limits {
            intset_entries: size(self.set_max_intset_entries),
            listpack_entries: size(self.set_max_listpack_entries),
            listpack_value: size(self.set_max_listpack_value),
        }
    }

    /// The hash small-encoding thresholds.
    pub fn hash_limits(&self) -> crate::keyspace::hash::Limits {
        crate::keyspace::hash::Limits {
            entries: usize::try_from(self.hash_max_listpack_entries).unwrap_or(usize::MAX),
            value: usize::try_from(self.hash_max_listpack_value).unwrap_or(usize::MAX),
        }
    }

    /// The text form of a parameter, as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.join(" "),
            "dir" => std::path::absolute(&self.dir)
                .unwrap_or_else(|_| self.dir.clone())
                .display()
                .to_string(),
            "appendfsync" => self.appendfsync.name().into(),
            "requirepass" => self
                .requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            "aclfile" => self
                .aclfile
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "maxclients" => self.maxclients.to_string(),
            "io-threads" => self.io_threads.to_string(),
            "databases" => self.databases.to_string(),
            "loglevel" => self.loglevel.name().into(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "recovery" => match self.recovery {
                RecoveryMode::Strict => "strict",
                RecoveryMode::TolerateCorruption => "tolerate-corruption",
            }
            .into(),
            "journal-segment-size" => self.journal_segment_size.to_string(),
            "stream-node-max-entries" => self.stream_node_max_entries.to_string(),
            "stream-node-max-bytes" => self.stream_node_max_bytes.to_string(),
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                self.zset_max_listpack_entries.to_string()
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                self.zset_max_listpack_value.to_string()
            }
            "set-max-intset-entries" => self.set_max_intset_entries.to_string(),
            "set-max-listpack-entries" => self.set_max_listpack_entries.to_string(),
            "set-max-listpack-value" => self.set_max_listpack_value.to_string(),
            "list-max-listpack-size" | "list-max-ziplist-size" => {
                self.list_max_listpack_size.to_string()
            }
            "list-compress-depth" => self.list_compress_depth.to_string(),
            "save" => self.save.clone(),
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                self.hash_max_listpack_entries.to_string()
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                self.hash_max_listpack_value.to_string()
            }
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage.to_string(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size.to_string(),
            "client-output-buffer-limit" => self.client_output_buffer_limit.render(),
            name if name.starts_with("tls-") => self.tls.get(name)?,
            "protected-mode" => if self.protected_mode { "yes" } else { "no" }.into(),
            "acl-pubsub-default" => if self.acl_pubsub_default_all {
                "allchannels"
            } else {
                "resetchannels"
            }
            .into(),
            "acllog-max-len" => self.acllog_max_len.to_string(),
            "busy-reply-threshold" | "lua-time-limit" => self.busy_reply_threshold.to_string(),
            "notify-keyspace-events" => {
                crate::keyspace::notify::render(self.notify_keyspace_events)
            }
            "timeout" => self.timeout.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "sanitize-dump-payload" => self.sanitize_dump_payload.name().into(),
            "enable-debug-command" => match self.enable_debug_command {
                DebugCommand::No => "no",
                DebugCommand::Yes => "yes",
                DebugCommand::Local => "local",
            }
            .into(),
            _ => return None,
        })
    }

    /// Applies a redis.conf-style file: one `name value…` directive per line,
    /// `#` comments, quoting as in inline commands. Returns warnings for the
    /// Redis directives Sluice ignores.
    pub fn apply_file(&mut self, text: &str, origin: &str) -> Result<Vec<String>, String> {
        let mut warnings = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_args(line.as_bytes())
                .ok_or_else(|| format!("{origin}:{}: unbalanced quotes", n + 1))?;
            // ACL users keep their words as bytes (passwords need not be
            // UTF-8); they are checked when the server builds its users.
            if words[0].eq_ignore_ascii_case(b"user") {
                self.users.push(words[1..].to_vec());
                continue;
            }
            let name = String::from_utf8_lossy(&words[0]).to_ascii_lowercase();
            let value = words[1..].join(&b' ');
            // A quoted "\xff" escape makes a byte that is not text: only a
            // password may hold one, and it keeps it exactly.
            if name == "requirepass" {
                self.set_bytes(&name, &value, false)
                    .map_err(|e| format!("{origin}:{}: bad directive {e}", n + 1))?;
                continue;
            }
            let value = String::from_utf8_lossy(&value);
            if let Some(w) = self.apply_directive(&name, &value)? {
                warnings.push(format!("{origin}:{}: {w}", n + 1));
            }
        }
        Ok(warnings)
    }

    /// Applies one directive; returns a warning if it is one Sluice ignores.
    pub fn apply_directive(&mut self, name: &str, value: &str) -> Result<Option<String>, String> {
        if IGNORED.contains(&name) {
            return Ok(Some(format!(
                "'{name} {value}' is a Redis option Sluice does not need; ignored"
            )));
        }
        self.set(name, value, false)
            .map(|()| None)
            .map_err(|e| format!("bad directive {e}"))
    }
}

#[cfg(test)]
mod tests;
