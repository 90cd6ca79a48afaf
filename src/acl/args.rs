//! Which arguments of a request are keys (and whether the command reads or
//! writes each) and which are channels, for the permission check.
//!
//! The command table gives fixed key positions; commands with movable keys
//! are worked out here. Read/write follows Redis's key specs: a read-only
//! command reads its keys; a write command writes them and also reads
//! those it returns a value from (INCR, GETDEL, ZPOPMIN, …); metadata-only
//! commands (TYPE, EXISTS, TOUCH, OBJECT) need neither.

use bytes::Bytes;

use crate::commands::table::TableEntry;

/// What a command does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// It reads the key's value.
    pub read: bool,
    /// It changes the key.
    pub write: bool,
}

const READ: Access = Access {
    read: true,
    write: false,
};
const WRITE: Access = Access {
    read: false,
    write: true,
};
const READ_WRITE: Access = Access {
    read: true,
    write: true,
};
const NONE: Access = Access {
    read: false,
    write: false,
};

/// Write commands that also return what they read.
const WRITE_AND_READ: &[&str] = &[
    "getset",
    "getdel",
    "getex",
    "incr",
    "incrby",
    "incrbyfloat",
    "decr",
    "decrby",
    "zincrby",
    "zpopmin",
    "zpopmax",
    "bzpopmin",
    "bzpopmax",
    "zmpop",
    "bzmpop",
    "spop",
    "smove",
    "setbit",
    "bitfield",
    "lpop",
    "rpop",
    "blpop",
    "brpop",
    "lmpop",
    "blmpop",
    "move",
];

/// Commands that only look at a key's existence or metadata.
const NO_ACCESS: &[&str] = &[
    "type",
    "exists",
    "touch",
    "object|encoding",
    "object|freq",
    "object|idletime",
    "object|refcount",
];

fn is(word: &[u8], name: &str) -> bool {
    word.eq_ignore_ascii_case(name.as_bytes())
}

/// `numkeys` at `at`, keys right after it (bounded by the request).
fn counted(words: &[Bytes], at: usize) -> std::ops::Range<usize> {
    let n = words
        .get(at)
        .and_then(|w| std::str::from_utf8(w).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let start = at + 1;
    start..(start + n).min(words.len())
}

/// The key arguments of a request (indices into `words`, name at 0) and
/// what the command does with each.
pub fn keys(entry: &TableEntry, words: &[Bytes]) -> Vec<(usize, Access)> {
    let name = entry.full_name.as_str();
    let spec = entry.spec;
    let default = if NO_ACCESS.contains(&name) {
        NONE
    } else if spec.has_flag("write") {
        if WRITE_AND_READ.contains(&name) {
            READ_WRITE
        } else {
            WRITE
        }
    } else {
        READ
    };
    let with = |range: std::ops::Range<usize>, access: Access| -> Vec<(usize, Access)> {
        range.map(|i| (i, access)).collect()
    };
    match name {
        "xread" | "xreadgroup" => {
            let Some(streams) = words.iter().position(|w| is(w, "streams")) else {
                return Vec::new();
            };
            let rest = words.len() - streams - 1;
            with(streams + 1..streams + 1 + rest / 2, READ)
        }
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" => {
            with(counted(words, 1), READ)
        }
        "sinterstore" | "sunionstore" | "sdiffstore" => {
            let mut out = vec![(1, WRITE)];
            out.extend(with(2..words.len(), READ));
            out
        }
        // SORT reads its key and writes its STORE destination (the last
        // one counts, as in Redis); BY and GET patterns are checked by SORT
        // itself: they need every key.
        "sort" | "sort_ro" => {
            let mut out = vec![(1, READ)];
            let mut store = None;
            let mut i = 2;
            while i < words.len() {
                if is(&words[i], "limit") {
                    i += 3;
                    continue;
                }
                if is(&words[i], "store") && i + 1 < words.len() {
                    store = Some(i + 1);
                }
                if ["by", "get", "store"].iter().any(|k| is(&words[i], k)) {
                    i += 2;
                } else {
                    i += 1;
                }
            }
            out.extend(store.map(|i| (i, WRITE)));
            out
        }
        "bitop" => {
            let mut out = vec![(2, WRITE)];
            out.extend(with(3..words.len(), READ));
            out
        }
        "zmpop" => with(counted(words, 1), READ_WRITE),
        "bzmpop" => with(counted(words, 2), READ_WRITE),
        "lmpop" => with(counted(words, 1), READ_WRITE),
        "blmpop" => with(counted(words, 2), READ_WRITE),
        "lmove" | "blmove" | "rpoplpush" | "brpoplpush" => vec![(1, READ_WRITE), (2, WRITE)],
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            let mut out = vec![(1, WRITE)];
            out.extend(with(counted(words, 2), READ));
            out
        }
        "zrangestore" => vec![(1, WRITE), (2, READ)],
        "eval" | "evalsha" => with(counted(words, 2), READ_WRITE),
        "eval_ro" | "evalsha_ro" => with(counted(words, 2), READ),
        "copy" => vec![(1, READ), (2, WRITE)],
        "rename" | "renamenx" => vec![(1, READ_WRITE), (2, WRITE)],
        "set" if words[3..].iter().any(|w| is(w, "get")) => vec![(1, READ_WRITE)],
        _ => {
            let (first, last, step) = spec.keys;
            if first <= 0 {
                return Vec::new();
            }
            let n = words.len() as i32;
            let last = if last < 0 { n + last } else { last.min(n - 1) };
            (first..=last)
                .step_by(step.max(1) as usize)
                .map(|i| (i as usize, default))
                .collect()
        }
    }
}

/// How a command names channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A channel name, matched against the user's patterns.
    Literal,
    /// A PSUBSCRIBE pattern: allowed only if equal to one of the user's.
    Pattern,
}

/// The channel arguments of a request (indices into `words`).
pub fn channels(entry: &TableEntry, words: &[Bytes]) -> (Vec<usize>, ChannelKind) {
    match entry.full_name.as_str() {
        "publish" | "spublish" => (vec![1], ChannelKind::Literal),
        "subscribe" | "ssubscribe" => ((1..words.len()).collect(), ChannelKind::Literal),
        "psubscribe" => ((1..words.len()).collect(), ChannelKind::Pattern),
        _ => (Vec::new(), ChannelKind::Literal),
    }
}
