//! Every error text Sluice sends, spelled once, exactly as Redis spells it.
//!
//! Command errors are replies (the connection goes on); protocol errors close
//! the connection after the reply. Each error starts with its code (`ERR`,
//! `WRONGTYPE`, `NOAUTH`, …), which is also the key under which INFO
//! `errorstats` counts it.

use bytes::Bytes;

/// An error reply to one command. The text starts with the error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub Bytes);

impl CommandError {
    /// An error from a static text (already prefixed with its code).
    pub const fn new_static(text: &'static str) -> Self {
        CommandError(Bytes::from_static(text.as_bytes()))
    }

    /// An error from a formatted text (already prefixed with its code).
    pub fn new(text: String) -> Self {
        CommandError(Bytes::from(text))
    }

    /// The error code: the first word of the text (`ERR`, `WRONGTYPE`, …).
    pub fn code(&self) -> &[u8] {
        let end = self
            .0
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.0.len());
        &self.0[..end]
    }

    /// The text, for logs and tests.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

/// `-ERR syntax error`
pub const SYNTAX: CommandError = CommandError::new_static("ERR syntax error");
/// Operation on a key of another type.
pub const WRONGTYPE: CommandError =
    CommandError::new_static("WRONGTYPE Operation against a key holding the wrong kind of value");
/// An argument that should be an i64 is not one.
pub const NOT_INTEGER: CommandError =
    CommandError::new_static("ERR value is not an integer or out of range");
/// An argument that should be a float is not one.
pub const NOT_FLOAT: CommandError = CommandError::new_static("ERR value is not a valid float");
/// INCR family overflow.
pub const OVERFLOW: CommandError =
    CommandError::new_static("ERR increment or decrement would overflow");
/// INCRBYFLOAT result is NaN or infinite.
pub const NAN_OR_INF: CommandError =
    CommandError::new_static("ERR increment would produce NaN or Infinity");
/// No such key (RENAME and friends).
pub const NO_SUCH_KEY: CommandError = CommandError::new_static("ERR no such key");
/// SELECT/MOVE/SWAPDB with a database out of range.
pub const DB_OUT_OF_RANGE: CommandError = CommandError::new_static("ERR DB index is out of range");
/// A command that needs AUTH first.
pub const NOAUTH: CommandError = CommandError::new_static("NOAUTH Authentication required.");
/// AUTH with a wrong password.
pub const WRONGPASS: CommandError =
    CommandError::new_static("WRONGPASS invalid username-password pair or user is disabled.");
/// AUTH when no password is configured.
pub const AUTH_NOT_CONFIGURED: CommandError = CommandError::new_static(
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
);
/// HELLO with a protocol version other than 2 or 3.
pub const NOPROTO: CommandError = CommandError::new_static("NOPROTO unsupported protocol version");
/// MULTI inside MULTI.
pub const MULTI_NESTED: CommandError =
    CommandError::new_static("ERR MULTI calls can not be nested");
/// EXEC without MULTI.
pub const EXEC_WITHOUT_MULTI: CommandError = CommandError::new_static("ERR EXEC without MULTI");
/// DISCARD without MULTI.
pub const DISCARD_WITHOUT_MULTI: CommandError =
    CommandError::new_static("ERR DISCARD without MULTI");
/// WATCH inside MULTI.
pub const WATCH_IN_MULTI: CommandError =
    CommandError::new_static("ERR WATCH inside MULTI is not allowed");
/// A write refused because the journal failed (the spirit of Redis's
/// MISCONF for a failing AOF).
pub fn misconf(reason: &str) -> CommandError {
    CommandError::new(format!(
        "MISCONF Errors writing to the journal: {reason}. Writes are refused until the server is restarted with a working disk."
    ))
}
/// SAVE/BGSAVE while a checkpoint is being written.
pub const SAVE_IN_PROGRESS: CommandError =
    CommandError::new_static("ERR Background save already in progress");
/// BGREWRITEAOF while a checkpoint is being written.
pub const REWRITE_IN_PROGRESS: CommandError =
    CommandError::new_static("ERR Background append only file rewriting already in progress");
/// A command flagged `no_multi` (SHUTDOWN, …) sent inside MULTI.
pub const NOT_IN_MULTI: CommandError =
    CommandError::new_static("ERR Command not allowed inside a transaction");
/// EXEC after a command failed to queue.
pub const EXECABORT: CommandError =
    CommandError::new_static("EXECABORT Transaction discarded because of previous errors.");
/// Expire time arguments that are not positive or overflow.
pub fn invalid_expire(cmd: &str) -> CommandError {
    CommandError::new(format!("ERR invalid expire time in '{cmd}' command"))
}
/// Source and destination of MOVE/COPY are the same.
pub const SAME_OBJECT: CommandError =
    CommandError::new_static("ERR source and destination objects are the same");
/// SETRANGE/APPEND would exceed proto-max-bulk-len.
pub const STRING_TOO_LONG: CommandError =
    CommandError::new_static("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
/// SETRANGE offset is negative or too large.
pub const OFFSET_OUT_OF_RANGE: CommandError =
    CommandError::new_static("ERR offset is out of range");
/// DEBUG and friends when not enabled.
pub const DEBUG_DISABLED: CommandError = CommandError::new_static(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
);
/// A non-loopback client refused by protected mode. The first two
/// sentences are Redis's, so tools that recognise its refusal recognise
/// this one; the advice names only what Sluice supports (it has no CONFIG
/// REWRITE). Sent raw, followed by closing the connection.
pub const PROTECTED_MODE: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. To accept clients from other hosts, do one of the following: 1) from a loopback connection, send 'CONFIG SET protected-mode no' (and make sure the server cannot be reached from the internet); 2) restart Sluice with '--protected-mode no', or with 'protected-mode no' in its configuration file; 3) set a password for the default user (requirepass).";
/// Too many connections.
pub const MAX_CLIENTS: CommandError = CommandError::new_static("ERR max number of clients reached");
/// CONFIG SET of a tls-* parameter whose files could not be loaded (the
/// reason for [`config_set_failed`]; the details go to the log).
pub const TLS_UPDATE_FAILED: &str = "Unable to update TLS configuration. Check server logs.";
/// A value does not fit the kind the option needs (CONFIG SET and others).
pub fn config_set_failed(param: &str, reason: &str) -> CommandError {
    CommandError::new(format!(
        "ERR CONFIG SET failed (possibly related to argument '{param}') - {reason}"
    ))
}

/// `wrong number of arguments for 'get' command` (subcommands as `client|kill`).
pub fn wrong_arity(full_name: &str) -> CommandError {
    CommandError::new(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}

/// `unknown subcommand 'x'. Try CLIENT HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> CommandError {
    CommandError::new(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        truncated(sub),
        container.to_ascii_uppercase()
    ))
}

/// `unknown command 'x', with args beginning with: 'a' 'b' `.
pub fn unknown_command(name: &[u8], args: &[Bytes]) -> CommandError {
    // Arguments are listed while the listing is under 128 bytes; each one is
    // cut to what is left of that budget.
    let mut listing = String::new();
    for arg in args {
        if listing.len() >= 128 {
            break;
        }
        let budget = 128 - listing.len();
        let shown =
            String::from_utf8_lossy(&arg[..arg.len().min(budget)]).replace(['\r', '\n'], " ");
        listing.push('\'');
        listing.push_str(&shown);
        listing.push_str("' ");
    }
    CommandError::new(format!(
        "ERR unknown command '{}', with args beginning with: {listing}",
        truncated(name)
    ))
}

/// Error texts cannot hold newlines; Redis shows at most 128 bytes of a
/// user-supplied name inside an error.
fn truncated(raw: &[u8]) -> String {
    let shown = &raw[..raw.len().min(128)];
    String::from_utf8_lossy(shown).replace(['\r', '\n'], " ")
}

/// A malformed request stream. The server replies with the text and closes
/// the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulk,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulk,
}

impl ProtocolError {
    /// The error reply sent before closing.
    pub fn to_command_error(&self) -> CommandError {
        CommandError::new(format!("ERR {self}"))
    }
}

// --- keys ---
/// SCAN with a cursor that is not an unsigned integer.
pub const INVALID_CURSOR: CommandError = CommandError::new_static("ERR invalid cursor");
/// EXPIRE family: NX together with XX, GT or LT.
pub const EXPIRE_NX_AND_OTHERS: CommandError =
    CommandError::new_static("ERR NX and XX, GT or LT options at the same time are not compatible");
/// EXPIRE family: GT together with LT.
pub const EXPIRE_GT_AND_LT: CommandError =
    CommandError::new_static("ERR GT and LT options at the same time are not compatible");
/// EXPIRE family: an option word it does not know (shown as given).
pub fn unsupported_option(opt: &[u8]) -> CommandError {
    let shown = String::from_utf8_lossy(opt).replace(['\r', '\n'], " ");
    CommandError::new(format!("ERR Unsupported option {shown}"))
}
/// OBJECT FREQ without an LFU maxmemory policy.
pub const LFU_NOT_SELECTED: CommandError = CommandError::new_static(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
);
/// An argument that must fit a C `int` (MOVE/COPY database numbers).
pub const NOT_INT32: CommandError = CommandError::new_static(
    "ERR value is out of range, value must between -2147483648 and 2147483647",
);
// --- server ---

/// CONFIG SET with a parameter name the server does not know (shown as given).
pub fn config_unknown_option(name: &str) -> CommandError {
    CommandError::new(format!(
        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
    ))
}
/// A subcommand a command parses itself (DEBUG, FUNCTION FLUSH) is unknown or
/// has the wrong number of arguments.
pub fn subcommand_syntax(sub: &[u8], container: &str) -> CommandError {
    CommandError::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        truncated(sub),
        container.to_ascii_uppercase()
    ))
}
/// SHUTDOWN ABORT with no shutdown under way.
pub const NO_SHUTDOWN_IN_PROGRESS: CommandError =
    CommandError::new_static("ERR No shutdown in progress.");
/// SWAPDB's first index is not an integer.
pub const INVALID_FIRST_DB: CommandError = CommandError::new_static("ERR invalid first DB index");
/// SWAPDB's second index is not an integer.
pub const INVALID_SECOND_DB: CommandError = CommandError::new_static("ERR invalid second DB index");
/// FUNCTION FLUSH with an option other than ASYNC or SYNC.
pub const FUNCTION_FLUSH_OPTION: CommandError =
    CommandError::new_static("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
/// FUNCTION LIST LIBRARYNAME without its pattern.
pub const FUNCTION_LIST_NO_LIBRARY: CommandError =
    CommandError::new_static("ERR library name argument was not given");
/// An argument FUNCTION LIST does not take (or takes only once).
pub fn unknown_argument(arg: &[u8]) -> CommandError {
    CommandError::new(format!("ERR Unknown argument {}", truncated(arg)))
}
/// COMMAND GETKEYS for a command that does not exist.
pub const GETKEYS_INVALID_COMMAND: CommandError =
    CommandError::new_static("ERR Invalid command specified");
/// COMMAND GETKEYS with arguments that do not fit the command's arity.
pub const GETKEYS_INVALID_ARITY: CommandError =
    CommandError::new_static("ERR Invalid number of arguments specified for command");
/// COMMAND GETKEYS for a command without keys.
pub const GETKEYS_NO_KEYS: CommandError =
    CommandError::new_static("ERR The command has no key arguments");
// --- strings ---
/// DECRBY with the smallest i64, whose negation overflows.
pub const DECREMENT_OVERFLOW: CommandError =
    CommandError::new_static("ERR decrement would overflow");
// --- zsets ---
/// ZADD with both NX and XX.
pub const ZADD_NX_XX: CommandError =
    CommandError::new_static("ERR XX and NX options at the same time are not compatible");
/// ZADD with GT and LT, or either with NX.
pub const ZADD_GT_LT_NX: CommandError =
    CommandError::new_static("ERR GT, LT, and/or NX options at the same time are not compatible");
/// ZADD INCR with more than one pair.
pub const ZADD_INCR_PAIRS: CommandError =
    CommandError::new_static("ERR INCR option supports a single increment-element pair");
/// An increment that would leave a score NaN (inf + -inf).
pub const SCORE_NAN: CommandError =
    CommandError::new_static("ERR resulting score is not a number (NaN)");
/// A score range bound that is not a float.
pub const MIN_MAX_NOT_FLOAT: CommandError =
    CommandError::new_static("ERR min or max is not a float");
/// A lex range bound that is not `-`, `+`, `[…` or `(…`.
pub const MIN_MAX_NOT_LEX: CommandError =
    CommandError::new_static("ERR min or max not valid string range item");
/// ZRANGE LIMIT on a rank range.
pub const LIMIT_NEEDS_BY: CommandError = CommandError::new_static(
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
);
/// ZRANGE BYLEX WITHSCORES.
pub const WITHSCORES_BYLEX: CommandError = CommandError::new_static(
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
);
/// A count that must not be negative (ZPOPMIN/ZPOPMAX).
pub const MUST_BE_POSITIVE: CommandError =
    CommandError::new_static("ERR value is out of range, must be positive");
/// ZMPOP/BZMPOP numkeys below 1 or not an integer.
pub const NUMKEYS_POSITIVE: CommandError =
    CommandError::new_static("ERR numkeys should be greater than 0");
/// ZMPOP/BZMPOP COUNT below 1 or not an integer.
pub const COUNT_POSITIVE: CommandError =
    CommandError::new_static("ERR count should be greater than 0");
/// A blocking timeout in seconds that is not a number.
pub const TIMEOUT_NOT_FLOAT: CommandError =
    CommandError::new_static("ERR timeout is not a float or out of range");
/// A negative blocking timeout.
pub const TIMEOUT_NEGATIVE: CommandError = CommandError::new_static("ERR timeout is negative");
/// A blocking timeout too large to represent.
pub const TIMEOUT_OUT_OF_RANGE: CommandError =
    CommandError::new_static("ERR timeout is out of range");
/// ZUNION/ZINTER WEIGHTS with a weight that is not a number.
pub const WEIGHT_NOT_FLOAT: CommandError =
    CommandError::new_static("ERR weight value is not a float");
/// ZINTERCARD LIMIT below 0 or not an integer.
pub const LIMIT_NEGATIVE: CommandError = CommandError::new_static("ERR LIMIT can't be negative");
/// ZRANDMEMBER count of exactly i64::MIN (its negation does not fit).
pub const RANDMEMBER_COUNT_RANGE: CommandError = CommandError::new_static(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
);
// --- lists ---

/// LSET past either end of the list.
pub const INDEX_OUT_OF_RANGE: CommandError = CommandError::new_static("ERR index out of range");
/// LPOS RANK 0.
pub const LPOS_RANK_ZERO: CommandError = CommandError::new_static(
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
);
/// LPOS RANK -9223372036854775808 (its absolute value does not fit):
/// the same text as ZRANDMEMBER's.
pub const LPOS_RANK_RANGE: CommandError = RANDMEMBER_COUNT_RANGE;
/// LPOS COUNT below 0.
pub const LPOS_COUNT_NEGATIVE: CommandError =
    CommandError::new_static("ERR COUNT can't be negative");
/// LPOS MAXLEN below 0.
pub const LPOS_MAXLEN_NEGATIVE: CommandError =
    CommandError::new_static("ERR MAXLEN can't be negative");

/// ZRANDMEMBER … WITHSCORES count whose doubled size does not fit.
pub const VALUE_OUT_OF_RANGE: CommandError = CommandError::new_static("ERR value is out of range");

/// A SETBIT/GETBIT/BITFIELD offset that is not a non-negative integer or
/// lies past proto-max-bulk-len.
pub const BIT_OFFSET: CommandError =
    CommandError::new_static("ERR bit offset is not an integer or out of range");
/// SETBIT with a value other than 0 or 1.
pub const BIT_VALUE: CommandError =
    CommandError::new_static("ERR bit is not an integer or out of range");
/// BITPOS with a bit other than 0 or 1.
pub const BIT_ARGUMENT: CommandError =
    CommandError::new_static("ERR The bit argument must be 1 or 0.");
/// BITOP NOT with more or fewer than one source.
pub const BITOP_NOT_ONE_KEY: CommandError =
    CommandError::new_static("ERR BITOP NOT must be called with a single source key.");

/// BITOP DIFF, DIFF1 or ANDOR (`op`) with fewer than two sources.
pub fn bitop_two_sources(op: &str) -> CommandError {
    CommandError::new(format!(
        "ERR BITOP {op} must be called with at least two source keys."
    ))
}
/// A BITFIELD type other than i1..i64 or u1..u63.
pub const BITFIELD_TYPE: CommandError = CommandError::new_static(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);
/// BITFIELD OVERFLOW with a mode other than WRAP, SAT or FAIL.
pub const BITFIELD_OVERFLOW: CommandError =
    CommandError::new_static("ERR Invalid OVERFLOW type specified");
/// BITFIELD_RO with a subcommand other than GET.
pub const BITFIELD_RO_GET_ONLY: CommandError =
    CommandError::new_static("ERR BITFIELD_RO only supports the GET subcommand");

/// LCS on a key that holds another type.
pub const LCS_NOT_STRINGS: CommandError =
    CommandError::new_static("ERR The specified keys must contain string values");
/// LCS with both LEN and IDX.
pub const LCS_LEN_AND_IDX: CommandError =
    CommandError::new_static("ERR If you want both the length and indexes, please just use IDX.");
/// LCS whose working table would exceed proto-max-bulk-len.
pub const LCS_TOO_BIG: CommandError = CommandError::new_static(
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
);

/// Sluice's own bound on a reply whose size the client chooses (a negative
/// ZRANDMEMBER count repeats members without end): Redis builds such a
/// reply until its allocator aborts the process.
pub fn reply_too_large(command: &str, estimate: u64, limit: u64) -> CommandError {
    CommandError::new(format!(
        "ERR {command} would reply with about {estimate} bytes, over the {limit} bytes of proto-max-bulk-len; ask for fewer"
    ))
}

/// A reply built from a range the client chose (XRANGE - + on a backlog
/// larger than memory) would pass `proto-max-bulk-len`.
pub fn reply_over_limit(command: &str, limit: u64) -> CommandError {
    CommandError::new(format!(
        "ERR {command} reply would exceed the {limit} bytes of proto-max-bulk-len; use COUNT to read it in parts"
    ))
}

// --- pubsub ---

/// A RESP2 client in subscribed mode ran a command outside the pub/sub
/// context (`name` is the full name, `client|list` for a subcommand).
pub fn pubsub_context(name: &str) -> CommandError {
    CommandError::new(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

// ---------------------------------------------------------------- ACL

/// Replaces CR and LF, which would break an error line.
fn one_line(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
}

fn with_bytes(parts: &[&[u8]]) -> CommandError {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        // Even parts are our text, odd ones come from the client.
        if i % 2 == 1 {
            out.extend(one_line(part));
        } else {
            out.extend_from_slice(part);
        }
    }
    CommandError(Bytes::from(out))
}

/// `NOPERM User x has no permissions to run the 'get' command`.
pub fn noperm_command(user: &[u8], full_name: &str) -> CommandError {
    with_bytes(&[
        b"NOPERM User ",
        user,
        format!(" has no permissions to run the '{full_name}' command").as_bytes(),
    ])
}

/// A key the user may not access.
pub const NOPERM_KEY: CommandError =
    CommandError::new_static("NOPERM No permissions to access a key");

/// A channel the user may not access.
pub const NOPERM_CHANNEL: CommandError =
    CommandError::new_static("NOPERM No permissions to access a channel");

/// A queued command the user's rules no longer allow at EXEC; `reason` is
/// the ACL LOG reason (`command`, `key`, `channel`).
pub fn noperm_at_exec(reason: &str) -> CommandError {
    let why = match reason {
        "command" => "no permission to execute the command or subcommand",
        "key" => "no permission to touch the specified keys",
        _ => "no permission to access one of the channels used as arguments",
    };
    CommandError::new(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}"
    ))
}

/// ACL SETUSER with a rule it refuses.
pub fn acl_setuser_modifier(rule: &[u8], reason: &str) -> CommandError {
    with_bytes(&[
        b"ERR Error in ACL SETUSER modifier '",
        rule,
        format!("': {reason}").as_bytes(),
    ])
}

/// ACL DELUSER default.
pub const ACL_DELETE_DEFAULT: CommandError =
    CommandError::new_static("ERR The 'default' user cannot be removed");

/// ACL DRYRUN for a user that does not exist.
pub fn acl_no_such_user(user: &[u8]) -> CommandError {
    with_bytes(&[b"ERR User '", user, b"' not found"])
}

/// ACL DRYRUN of a command that does not exist.
pub fn acl_no_such_command(name: &[u8]) -> CommandError {
    with_bytes(&[b"ERR Command '", name, b"' not found"])
}

/// ACL CAT of a category that does not exist.
pub fn acl_unknown_category(name: &[u8]) -> CommandError {
    with_bytes(&[b"ERR Unknown category '", name, b"'"])
}

/// ACL SAVE could not write the file.
pub const ACL_SAVE_FAILED: CommandError = CommandError::new_static(
    "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
);

/// ACL LOAD refused the file.
pub fn acl_load_failed(reason: &str) -> CommandError {
    CommandError::new(format!("ERR {reason}"))
}

/// ACL SAVE / LOAD without an `aclfile`.
pub const ACL_NO_FILE: CommandError = CommandError::new_static(
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
);

// DUMP and RESTORE.

/// RESTORE onto an existing key without REPLACE.
pub const BUSYKEY: CommandError =
    CommandError::new_static("BUSYKEY Target key name already exists.");
/// RESTORE with a negative TTL.
pub const INVALID_TTL: CommandError =
    CommandError::new_static("ERR Invalid TTL value, must be >= 0");
/// RESTORE of a payload whose footer is wrong.
pub const DUMP_PAYLOAD: CommandError =
    CommandError::new_static("ERR DUMP payload version or checksum are wrong");
/// RESTORE of a payload whose object does not decode.
pub const BAD_DATA_FORMAT: CommandError = CommandError::new_static("ERR Bad data format");
/// RESTORE … IDLETIME with a negative value.
pub const INVALID_IDLETIME: CommandError =
    CommandError::new_static("ERR Invalid IDLETIME value, must be >= 0");
/// RESTORE … FREQ outside 0..=255.
pub const INVALID_FREQ: CommandError =
    CommandError::new_static("ERR Invalid FREQ value, must be >= 0 and <= 255");

// Scripting (EVAL, EVALSHA, SCRIPT).

/// EVALSHA of a SHA1 the script cache does not hold.
pub const NOSCRIPT: CommandError =
    CommandError::new_static("NOSCRIPT No matching script. Please use EVAL.");
/// EVAL with a negative numkeys.
pub const NUMKEYS_NEGATIVE: CommandError =
    CommandError::new_static("ERR Number of keys can't be negative");
/// EVAL with numkeys past the arguments.
pub const NUMKEYS_TOO_MANY: CommandError =
    CommandError::new_static("ERR Number of keys can't be greater than number of args");
/// SCRIPT KILL with no script running.
pub const NOTBUSY: CommandError =
    CommandError::new_static("NOTBUSY No scripts in execution right now.");
/// SCRIPT FLUSH with an argument other than SYNC or ASYNC.
pub const SCRIPT_FLUSH_OPTION: CommandError =
    CommandError::new_static("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
/// `redis.call` of a command that does not exist.
pub const SCRIPT_UNKNOWN_COMMAND: CommandError =
    CommandError::new_static("ERR Unknown Redis command called from script");
/// `redis.call` with the wrong number of arguments for the command.
pub const SCRIPT_WRONG_ARITY: CommandError =
    CommandError::new_static("ERR Wrong number of args calling Redis command from script");
/// `redis.call()` without a command.
pub const SCRIPT_NO_ARGS: CommandError =
    CommandError::new_static("ERR Please specify at least one argument for this redis lib call");
/// `redis.call` with an argument that is neither a string nor a number.
pub const SCRIPT_BAD_ARG_TYPE: CommandError =
    CommandError::new_static("ERR Lua redis lib command arguments must be strings or integers");
/// `redis.call` of a command flagged `noscript`.
pub const SCRIPT_COMMAND_NOT_ALLOWED: CommandError =
    CommandError::new_static("ERR This Redis command is not allowed from script");
/// A write command called from EVAL_RO or a `no-writes` script.
pub const SCRIPT_WRITE_IN_RO: CommandError =
    CommandError::new_static("ERR Write commands are not allowed from read-only scripts.");
/// EVAL_RO of a script whose shebang does not say `no-writes`.
pub const SCRIPT_WRITE_FLAG_IN_RO: CommandError =
    CommandError::new_static("ERR Can not execute a script with write flag using *_ro command.");
/// A shebang line with nothing after it.
pub const SCRIPT_BAD_SHEBANG: CommandError = CommandError::new_static("ERR Invalid script shebang");

/// A script that does not compile.
pub fn script_compile(message: &str) -> CommandError {
    CommandError::new(format!(
        "ERR Error compiling script (new function): {message}"
    ))
}

/// A shebang naming an engine other than `lua`.
pub fn script_bad_engine(engine: &str) -> CommandError {
    CommandError::new(format!("ERR Unexpected engine in script shebang: {engine}"))
}

/// A shebang option other than `flags=`.
pub fn script_bad_option(option: &str) -> CommandError {
    CommandError::new(format!("ERR Unknown lua shebang option: {option}"))
}

/// A shebang flag Redis does not know.
pub fn script_bad_flag(flag: &str) -> CommandError {
    CommandError::new(format!("ERR Unexpected flag in script shebang: {flag}"))
}

/// A command a script called that its user may not run; `reason` is the
/// ACL LOG reason (`command`, `key`, `channel`).
pub fn noperm_in_script(reason: &str) -> CommandError {
    CommandError::new_static(match reason {
        "command" => "ERR The user executing the script can't run this command or subcommand",
        "key" => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
        _ => "ERR The user executing the script can't publish to the channel mentioned in the command",
    })
}

/// XREAD / XREADGROUP with BLOCK called from a script.
pub fn script_block_option(name: &str) -> CommandError {
    CommandError::new(format!(
        "ERR {name} command is not allowed with BLOCK option from scripts"
    ))
}

/// Any command but SCRIPT KILL and SHUTDOWN NOSAVE while a script runs
/// past `busy-reply-threshold`.
pub const BUSY: CommandError = CommandError::new_static(
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
);
/// SCRIPT KILL of a script that has written.
pub const UNKILLABLE: CommandError = CommandError::new_static(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
);
/// What a script stopped by SCRIPT KILL raises.
pub const SCRIPT_KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

// --- hashes ---

/// HINCRBY on a field whose value is not an integer.
pub const HASH_NOT_INTEGER: CommandError =
    CommandError::new_static("ERR hash value is not an integer");
/// HINCRBYFLOAT on a field whose value is not a float.
pub const HASH_NOT_FLOAT: CommandError = CommandError::new_static("ERR hash value is not a float");
/// HINCRBYFLOAT with an infinite increment.
pub const HASH_INCREMENT_NAN_OR_INF: CommandError =
    CommandError::new_static("ERR value is NaN or Infinity");
/// HRANDFIELD with a count whose negation does not fit.
pub const HRANDFIELD_COUNT_RANGE: CommandError = CommandError::new_static(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
);
/// The FIELDS keyword of the field-expiry commands is missing.
pub const FIELDS_MISSING: CommandError = CommandError::new_static(
    "ERR Mandatory argument FIELDS is missing or not at the right position",
);
/// HEXPIRE and friends with a bad field count.
pub const NUMFIELDS_POSITIVE_EXPIRE: CommandError =
    CommandError::new_static("ERR Parameter `numFields` should be greater than 0");
/// HTTL, HPERSIST, HGETDEL, HGETEX, HSETEX with a bad field count.
pub const NUMFIELDS_POSITIVE: CommandError =
    CommandError::new_static("ERR Number of fields must be a positive integer");
/// A field count that does not match the fields given.
pub const NUMFIELDS_MISMATCH: CommandError =
    CommandError::new_static("ERR The `numfields` parameter must match the number of arguments");
/// A negative relative field TTL.
pub const FIELD_EXPIRE_NEGATIVE: CommandError =
    CommandError::new_static("ERR invalid expire time, must be >= 0");
/// HSETEX/HGETEX given more than one expiry option, or a condition twice.
pub const HASH_EXPIRY_OPTIONS: CommandError = CommandError::new_static(
    "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
);
