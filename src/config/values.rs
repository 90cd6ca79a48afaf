//! The kinds of value configuration parameters take: the fsync policy, the
//! log level, the DEBUG gate and payload sanitizing, and the integer and
//! memory-amount parsers every numeric parameter goes through.

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

/// Deep checks of RESTORE payloads (`sanitize-dump-payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizePayload {
    /// Only the checks decoding needs (default).
    No,
    /// Every consistency check, on every RESTORE.
    Yes,
    /// Every check, except for users with the `skip-sanitize-payload`
    /// ACL flag (Redis also skips its replication master, which Sluice
    /// has not).
    Clients,
}

impl SanitizePayload {
    /// The name CONFIG GET reports.
    pub fn name(self) -> &'static str {
        match self {
            SanitizePayload::No => "no",
            SanitizePayload::Yes => "yes",
            SanitizePayload::Clients => "clients",
        }
    }
}

/// Parses an integer the way Redis's config does (plain decimal).
pub(super) fn parse_integer(value: &str) -> Option<i64> {
    value.parse().ok()
}

/// Parses an integer that must lie in `min..=max`; the error is Redis's
/// reason text.
pub(super) fn integer_in(value: &str, min: i64, max: i64) -> Result<i64, String> {
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
