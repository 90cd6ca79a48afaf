//! Server configuration: command-line flags, a redis.conf-style file, and
//! the parameters CONFIG GET/SET read and change at run time.
//!
//! Every source goes through [`Config::set`], so a value is validated the
//! same way whether it comes from the file, a flag or CONFIG SET, and the
//! error texts are Redis's.

use std::path::PathBuf;

use bytes::Bytes;
use clap::Parser;

mod output_buffer;

pub use output_buffer::{BufferLimit, OutputBufferLimits};

use crate::protocol::decode::{split_args, DEFAULT_MAX_BULK_LEN};
use crate::storage::RecoveryMode;

/// When the journal is forced to disk, and so what a crash can lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every write is fsynced before its reply is sent (one fsync covers all
    /// writes appended meanwhile). Neither a process crash nor a power
    /// failure loses an acknowledged write.
    Always,
    /// A background fsync once a second. A process crash loses nothing
    /// acknowledged; a power failure loses at most about one second.
    EverySec,
    /// Never fsync explicitly; the OS writes back when it likes. A process
    /// crash loses nothing acknowledged; a power failure may lose whatever
    /// the OS had not yet written.
    No,
}

impl FsyncPolicy {
    /// The name used by `appendfsync`.
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

/// Log verbosity, with Redis's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Much detail.
    Verbose,
    /// Normal operation (default).
    Notice,
    /// Only warnings and errors.
    Warning,
}

impl LogLevel {
    /// The name used by `loglevel`.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "verbose",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
        }
    }

    /// The matching `tracing` filter directive.
    pub fn filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Verbose => "debug",
            LogLevel::Notice => "info",
            LogLevel::Warning => "warn",
        }
    }
}

/// How a running process changes its log filter; set once by `main` (the
/// library does not own the process's logging, so tests have none).
static LOGLEVEL_HOOK: std::sync::OnceLock<Box<dyn Fn(LogLevel) + Send + Sync>> =
    std::sync::OnceLock::new();

/// Installs the function CONFIG SET loglevel calls to change the live log
/// filter. Only the first call takes effect.
pub fn on_loglevel_change(hook: Box<dyn Fn(LogLevel) + Send + Sync>) {
    let _ = LOGLEVEL_HOOK.set(hook);
}

/// Applies a new log level to the live log filter, if `main` installed one.
pub fn apply_loglevel(level: LogLevel) {
    if let Some(hook) = LOGLEVEL_HOOK.get() {
        hook(level);
    }
}

/// Whether DEBUG is allowed (`enable-debug-command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCommand {
    /// Refused (default).
    No,
    /// Allowed from any connection.
    Yes,
    /// Allowed from loopback connections only.
    Local,
}

/// Whether TLS clients must present a certificate (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsAuthClients {
    /// A certificate signed by `tls-ca-cert-file` is required (default).
    Yes,
    /// No certificate is asked for.
    No,
    /// A certificate is asked for; none is accepted, a bad one is not.
    Optional,
}

/// TLS 1.3 cipher suites `tls-ciphersuites` may name (OpenSSL's names),
/// which are the ones the rustls `ring` provider implements.
pub const TLS13_SUITES: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// TLS 1.2 cipher suites `tls-ciphers` may name: (OpenSSL's name, rustls's
/// name), the ones the rustls `ring` provider implements. OpenSSL's cipher
/// string syntax (`HIGH:!aNULL`, …) is not understood.
pub const TLS12_SUITES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The TLS settings (`tls-*`). The files are read when the TLS listener
/// starts and again on every CONFIG SET of a `tls-*` parameter (see
/// `server::tls`); here they are only names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// TLS port; 0 (default) means no TLS listener.
    pub port: u16,
    /// Listen for TLS on a port the OS picks even though `port` is 0 (tests:
    /// `tls-port 0` itself means "no TLS"); not a parameter.
    pub any_port: bool,
    /// The server's certificate chain, PEM.
    pub cert_file: String,
    /// The server's private key, PEM.
    pub key_file: String,
    /// CA certificates that client certificates must chain to, PEM.
    pub ca_cert_file: String,
    /// Whether clients must present a certificate.
    pub auth_clients: TlsAuthClients,
    /// Protocol versions allowed: (TLS 1.2, TLS 1.3). `tls-protocols` empty
    /// (the default) allows both.
    pub protocols: (bool, bool),
    /// `tls-protocols` as given (CONFIG GET shows it back).
    pub protocols_text: String,
    /// TLS 1.3 suites allowed, names from [`TLS13_SUITES`]; empty allows all.
    pub ciphersuites: Vec<String>,
    /// TLS 1.2 suites allowed, OpenSSL names from [`TLS12_SUITES`]; empty
    /// allows all.
    pub ciphers: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            port: 0,
            any_port: false,
            cert_file: String::new(),
            key_file: String::new(),
            ca_cert_file: String::new(),
            auth_clients: TlsAuthClients::Yes,
            protocols: (true, true),
            protocols_text: String::new(),
            ciphersuites: Vec::new(),
            ciphers: Vec::new(),
        }
    }
}

impl TlsConfig {
    /// Whether a TLS listener runs.
    pub fn enabled(&self) -> bool {
        self.port != 0 || self.any_port
    }
}

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
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            client_output_buffer_limit: OutputBufferLimits::default(),
            tls: TlsConfig::default(),
            acl_pubsub_default_all: false,
            protected_mode: true,
            timeout: 0,
            tcp_keepalive: 300,
            client_query_buffer_limit: 1024 * 1024 * 1024,
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
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                self.zset_max_listpack_value = parse_memory(value)
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
            "tls-port" => {
                self.tls.port = integer_in(value, 0, 65535).map_err(|e| invalid(&e))? as u16
            }
            "tls-cert-file" => self.tls.cert_file = value.to_string(),
            "tls-key-file" => self.tls.key_file = value.to_string(),
            "tls-ca-cert-file" => self.tls.ca_cert_file = value.to_string(),
            "tls-auth-clients" => {
                self.tls.auth_clients = match value.to_ascii_lowercase().as_str() {
                    "yes" => TlsAuthClients::Yes,
                    "no" => TlsAuthClients::No,
                    "optional" => TlsAuthClients::Optional,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: no, yes, optional",
                        ))
                    }
                }
            }
            "tls-protocols" => {
                let mut versions = (false, false);
                for word in value.split_whitespace() {
                    match word.to_ascii_lowercase().as_str() {
                        "tlsv1.2" => versions.0 = true,
                        "tlsv1.3" => versions.1 = true,
                        "tlsv1" | "tlsv1.1" => {
                            return Err(invalid(&format!(
                                "{word} is not supported (rustls speaks TLSv1.2 and TLSv1.3)"
                            )))
                        }
                        _ => return Err(invalid(&format!("invalid tls-protocols '{word}'"))),
                    }
                }
                self.tls.protocols = if versions == (false, false) {
                    (true, true)
                } else {
                    versions
                };
                self.tls.protocols_text = value.to_string();
            }
            "tls-ciphersuites" => {
                let mut suites = Vec::new();
                for name in value.split(':').map(str::trim).filter(|n| !n.is_empty()) {
                    let known = TLS13_SUITES
                        .iter()
                        .find(|s| s.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            invalid(&format!(
                                "unsupported TLS 1.3 cipher suite '{name}' (supported: {})",
                                TLS13_SUITES.join(":")
                            ))
                        })?;
                    suites.push(known.to_string());
                }
                self.tls.ciphersuites = suites;
            }
            "tls-ciphers" => {
                let mut suites = Vec::new();
                for name in value.split(':').map(str::trim).filter(|n| !n.is_empty()) {
                    let (known, _) = TLS12_SUITES
                        .iter()
                        .find(|(s, _)| s.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            let names: Vec<&str> = TLS12_SUITES.iter().map(|(n, _)| *n).collect();
                            invalid(&format!(
                                "unsupported TLS 1.2 cipher '{name}' (supported: {})",
                                names.join(":")
                            ))
                        })?;
                    suites.push(known.to_string());
                }
                self.tls.ciphers = suites;
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
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage.to_string(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size.to_string(),
            "client-output-buffer-limit" => self.client_output_buffer_limit.render(),
            "tls-port" => self.tls.port.to_string(),
            "tls-cert-file" => self.tls.cert_file.clone(),
            "tls-key-file" => self.tls.key_file.clone(),
            "tls-ca-cert-file" => self.tls.ca_cert_file.clone(),
            "tls-auth-clients" => match self.tls.auth_clients {
                TlsAuthClients::Yes => "yes",
                TlsAuthClients::No => "no",
                TlsAuthClients::Optional => "optional",
            }
            .into(),
            "tls-protocols" => self.tls.protocols_text.clone(),
            "tls-ciphersuites" => self.tls.ciphersuites.join(":"),
            "tls-ciphers" => self.tls.ciphers.join(":"),
            "protected-mode" => if self.protected_mode { "yes" } else { "no" }.into(),
            "acl-pubsub-default" => if self.acl_pubsub_default_all {
                "allchannels"
            } else {
                "resetchannels"
            }
            .into(),
            "timeout" => self.timeout.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
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

/// Parses an integer the way Redis's config does (plain decimal).
fn parse_integer(value: &str) -> Option<i64> {
    value.parse().ok()
}

/// Parses an integer that must lie in `min..=max`; the error is Redis's
/// reason text.
fn integer_in(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = parse_integer(value).ok_or("argument couldn't be parsed into an integer")?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

/// Parses a memory amount: a number with an optional unit (`k` = 1000,
/// `kb` = 1024, `m`, `mb`, `g`, `gb`), case-insensitive.
pub fn parse_memory(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
    ];
    for (suffix, mult) in units {
        if let Some(num) = lower.strip_suffix(suffix) {
            return num.parse::<u64>().ok()?.checked_mul(mult);
        }
    }
    lower.parse().ok()
}

/// Command-line flags of `sluice-server`.
#[derive(Debug, Parser)]
#[command(
    name = "sluice-server",
    about = "Sluice: a durable message broker that speaks the Redis protocol",
    disable_version_flag = true,
    // A flag given twice takes its last value, as redis-server does.
    args_override_self = true
)]
pub struct Cli {
    /// A redis.conf-style configuration file; flags override it.
    pub config_file: Option<PathBuf>,
    /// Print the version and exit.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// TCP port to listen on (0 picks a free port) [default: 6379].
    #[arg(long)]
    pub port: Option<String>,
    /// Addresses to listen on, space-separated [default: 127.0.0.1].
    #[arg(long)]
    pub bind: Option<String>,
    /// Data directory [default: ./sluice-data].
    #[arg(long)]
    pub dir: Option<String>,
    /// Journal fsync policy: always, everysec or no [default: everysec].
    #[arg(long)]
    pub appendfsync: Option<String>,
    /// Require clients to AUTH with this password.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// ACL file: users are loaded from it, ACL SAVE writes it.
    #[arg(long)]
    pub aclfile: Option<String>,
    /// Most clients connected at once [default: 10000].
    #[arg(long)]
    pub maxclients: Option<String>,
    /// Number of databases [default: 16].
    #[arg(long)]
    pub databases: Option<String>,
    /// Threads serving clients; more pay only with spare cores [default: 1].
    #[arg(long = "io-threads")]
    pub io_threads: Option<String>,
    /// debug, verbose, notice or warning [default: notice].
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Longest argument a client may send [default: 512mb].
    #[arg(long = "proto-max-bulk-len")]
    pub proto_max_bulk_len: Option<String>,
    /// Allow DEBUG: no, yes or local [default: no].
    #[arg(long = "enable-debug-command")]
    pub enable_debug_command: Option<String>,
    /// Corruption at start-up: strict (refuse to start, naming file and
    /// offset) or tolerate-corruption (skip and count it) [default: strict].
    #[arg(long)]
    pub recovery: Option<String>,
    /// Journal segment size [default: 64mb].
    #[arg(long = "journal-segment-size")]
    pub journal_segment_size: Option<String>,
    /// Entries per stream node [default: 100].
    #[arg(long = "stream-node-max-entries")]
    pub stream_node_max_entries: Option<String>,
    /// Bytes per stream node [default: 4096].
    #[arg(long = "stream-node-max-bytes")]
    pub stream_node_max_bytes: Option<String>,
    /// Checkpoint when the log grew by this % of the last checkpoint [default: 100].
    #[arg(long = "auto-aof-rewrite-percentage")]
    pub auto_aof_rewrite_percentage: Option<String>,
    /// …and by at least this much [default: 64mb].
    #[arg(long = "auto-aof-rewrite-min-size")]
    pub auto_aof_rewrite_min_size: Option<String>,
    /// Port for TLS clients; 0 turns TLS off, and `--port 0` with a TLS
    /// port serves TLS only [default: 0].
    #[arg(long = "tls-port")]
    pub tls_port: Option<String>,
    /// The server's certificate (chain), PEM.
    #[arg(long = "tls-cert-file")]
    pub tls_cert_file: Option<String>,
    /// The server's private key, PEM.
    #[arg(long = "tls-key-file")]
    pub tls_key_file: Option<String>,
    /// CA certificates client certificates must chain to, PEM.
    #[arg(long = "tls-ca-cert-file")]
    pub tls_ca_cert_file: Option<String>,
    /// Client certificates: yes (required), no or optional [default: yes].
    #[arg(long = "tls-auth-clients")]
    pub tls_auth_clients: Option<String>,
    /// TLS versions allowed, e.g. "TLSv1.2 TLSv1.3" [default: both].
    #[arg(long = "tls-protocols")]
    pub tls_protocols: Option<String>,
    /// TLS 1.3 cipher suites allowed, colon-separated [default: all].
    #[arg(long = "tls-ciphersuites")]
    pub tls_ciphersuites: Option<String>,
    /// TLS 1.2 ciphers allowed, colon-separated OpenSSL names [default: all].
    #[arg(long = "tls-ciphers")]
    pub tls_ciphers: Option<String>,
    /// Refuse non-loopback clients while no password is set: yes or no
    /// [default: yes].
    #[arg(long = "protected-mode")]
    pub protected_mode: Option<String>,
    /// Channels of new ACL users: resetchannels or allchannels
    /// [default: resetchannels].
    #[arg(long = "acl-pubsub-default")]
    pub acl_pubsub_default: Option<String>,
    /// Close clients idle this many seconds; 0 never [default: 0].
    #[arg(long)]
    pub timeout: Option<String>,
    /// TCP keepalive idle time in seconds; 0 off [default: 300].
    #[arg(long = "tcp-keepalive")]
    pub tcp_keepalive: Option<String>,
    /// Close a client whose unprocessed requests exceed this [default: 1gb].
    #[arg(long = "client-query-buffer-limit")]
    pub client_query_buffer_limit: Option<String>,
    /// Redis options Sluice does not need, accepted with a warning.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub save: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub logfile: Option<String>,
    #[arg(long, hide = true)]
    pub daemonize: Option<String>,
    #[arg(long, hide = true)]
    pub appendonly: Option<String>,
    #[arg(long, hide = true)]
    pub pidfile: Option<String>,
}

impl Cli {
    /// Builds the configuration: defaults, then the file, then the flags.
    /// Returns it with the warnings to log once logging is set up.
    pub fn into_config(self) -> Result<(Config, Vec<String>), String> {
        let mut config = Config::default();
        let mut warnings = Vec::new();
        if let Some(path) = &self.config_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("can't read config file {}: {e}", path.display()))?;
            warnings.extend(config.apply_file(&text, &path.display().to_string())?);
            config.config_file = Some(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
        }
        let flags = [
            ("port", self.port),
            ("bind", self.bind),
            ("dir", self.dir),
            ("appendfsync", self.appendfsync),
            ("requirepass", self.requirepass),
            ("aclfile", self.aclfile),
            ("maxclients", self.maxclients),
            ("databases", self.databases),
            ("io-threads", self.io_threads),
            ("loglevel", self.loglevel),
            ("proto-max-bulk-len", self.proto_max_bulk_len),
            ("enable-debug-command", self.enable_debug_command),
            ("recovery", self.recovery),
            ("journal-segment-size", self.journal_segment_size),
            ("stream-node-max-entries", self.stream_node_max_entries),
            ("stream-node-max-bytes", self.stream_node_max_bytes),
            (
                "auto-aof-rewrite-percentage",
                self.auto_aof_rewrite_percentage,
            ),
            ("auto-aof-rewrite-min-size", self.auto_aof_rewrite_min_size),
            ("tls-port", self.tls_port),
            ("tls-cert-file", self.tls_cert_file),
            ("tls-key-file", self.tls_key_file),
            ("tls-ca-cert-file", self.tls_ca_cert_file),
            ("tls-auth-clients", self.tls_auth_clients),
            ("tls-protocols", self.tls_protocols),
            ("tls-ciphersuites", self.tls_ciphersuites),
            ("tls-ciphers", self.tls_ciphers),
            ("protected-mode", self.protected_mode),
            ("acl-pubsub-default", self.acl_pubsub_default),
            ("timeout", self.timeout),
            ("tcp-keepalive", self.tcp_keepalive),
            ("client-query-buffer-limit", self.client_query_buffer_limit),
            ("save", self.save),
            ("logfile", self.logfile),
            ("daemonize", self.daemonize),
            ("appendonly", self.appendonly),
            ("pidfile", self.pidfile),
        ];
        for (name, value) in flags {
            if let Some(value) = value {
                if let Some(w) = config.apply_directive(name, &value)? {
                    warnings.push(w);
                }
            }
        }
        Ok((config, warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_flags() {
        let cli = Cli::parse_from(["sluice-server", "--port", "7001", "--save", ""]);
        let (config, warnings) = cli.into_config().unwrap();
        assert_eq!(config.port, 7001);
        assert_eq!(warnings.len(), 1);

        let mut config = Config::default();
        let warnings = config
            .apply_file(
                "# comment\nport 7000\nappendfsync always\ndaemonize no\nbind \"127.0.0.1 ::1\"\n",
                "t.conf",
            )
            .unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.appendfsync, FsyncPolicy::Always);
        assert_eq!(config.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(warnings.len(), 1);
        assert!(config.apply_file("nosuchthing 1\n", "t.conf").is_err());
    }

    #[test]
    fn validation_matches_redis_texts() {
        let mut c = Config::default();
        assert_eq!(
            c.set("databases", "3", true),
            Err(ConfigError::Immutable("databases".into()))
        );
        assert!(
            matches!(c.set("appendfsync", "maybe", true), Err(ConfigError::Invalid(_, r)) if r.contains("everysec, always, no"))
        );
        assert_eq!(c.set("proto-max-bulk-len", "2mb", true), Ok(()));
        assert_eq!(c.proto_max_bulk_len, 2 * 1024 * 1024);
        assert_eq!(parse_memory("1k"), Some(1000));
    }

    #[test]
    fn tls_parameters() {
        let cli = Cli::parse_from([
            "sluice-server",
            "--tls-port",
            "6380",
            "--tls-auth-clients",
            "optional",
            "--tls-protocols",
            "TLSv1.3",
        ]);
        let (config, _) = cli.into_config().unwrap();
        assert_eq!(config.tls.port, 6380);
        assert_eq!(config.tls.auth_clients, TlsAuthClients::Optional);
        assert_eq!(config.tls.protocols, (false, true));
        assert_eq!(config.get("tls-protocols").unwrap(), "TLSv1.3");

        let mut c = Config::default();
        assert_eq!(c.get("tls-port").unwrap(), "0");
        assert_eq!(c.get("tls-auth-clients").unwrap(), "yes");
        assert_eq!(
            c.set("tls-port", "6380", true),
            Err(ConfigError::Immutable("tls-port".into()))
        );
        assert!(
            matches!(c.set("tls-protocols", "TLSv1.1", true), Err(ConfigError::Invalid(_, r)) if r.contains("not supported"))
        );
        assert!(
            matches!(c.set("tls-auth-clients", "maybe", true), Err(ConfigError::Invalid(_, r)) if r.contains("no, yes, optional"))
        );
        assert_eq!(
            c.set(
                "tls-ciphersuites",
                "tls_aes_128_gcm_sha256:TLS_CHACHA20_POLY1305_SHA256",
                true
            ),
            Ok(())
        );
        assert_eq!(
            c.get("tls-ciphersuites").unwrap(),
            "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
        );
        assert!(c
            .set("tls-ciphersuites", "TLS_AES_128_CCM_SHA256", true)
            .is_err());
        assert_eq!(
            c.set("tls-ciphers", "ecdhe-rsa-aes128-gcm-sha256", true),
            Ok(())
        );
        assert_eq!(c.get("tls-ciphers").unwrap(), "ECDHE-RSA-AES128-GCM-SHA256");
        assert!(c.set("tls-ciphers", "HIGH:!aNULL", true).is_err());
    }

    #[test]
    fn connection_hygiene_parameters() {
        let cli = Cli::parse_from([
            "sluice-server",
            "--timeout",
            "5",
            "--tcp-keepalive",
            "0",
            "--protected-mode",
            "no",
            "--client-query-buffer-limit",
            "2mb",
        ]);
        let (c, warnings) = cli.into_config().unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!((c.timeout, c.tcp_keepalive), (5, 0));
        assert!(!c.protected_mode);
        assert_eq!(c.client_query_buffer_limit, 2 * 1024 * 1024);

        let mut c = Config::default();
        assert_eq!(c.get("protected-mode").as_deref(), Some("yes"));
        assert_eq!(c.get("tcp-keepalive").as_deref(), Some("300"));
        assert_eq!(
            c.get("client-query-buffer-limit").as_deref(),
            Some("1073741824")
        );
        let reason = |r: Result<(), ConfigError>| match r {
            Err(ConfigError::Invalid(_, reason)) => reason,
            other => panic!("expected Invalid, got {other:?}"),
        };
        assert_eq!(
            reason(c.set("timeout", "-1", true)),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            reason(c.set("tcp-keepalive", "x", true)),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            reason(c.set("protected-mode", "maybe", true)),
            "argument must be 'yes' or 'no'"
        );
        assert_eq!(
            reason(c.set("client-query-buffer-limit", "1", true)),
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            reason(c.set("client-query-buffer-limit", "1x", true)),
            "argument must be a memory value"
        );
        assert_eq!(c.set("protected-mode", "NO", true), Ok(()));
        assert_eq!(c.set("timeout", "7", true), Ok(()));
        assert_eq!(c.get("timeout").as_deref(), Some("7"));
    }
}
