//! `sluice-server`'s command-line flags, named as redis-server's, and how
//! they become a [`Config`].

use std::path::PathBuf;

use clap::Parser;

use super::*;

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
