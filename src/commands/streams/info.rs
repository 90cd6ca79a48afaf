//! XINFO STREAM, GROUPS, CONSUMERS and HELP.
//!
//! Every reply is a field/value [`Reply::Map`] (a flat array in RESP2),
//! with the fields in the order Redis 7.4 sends them. As in Redis, the key
//! is looked up before the options after it are judged, so a missing key
//! or a key of another type wins over a syntax error.

use bytes::Bytes;

use super::{entries_reply, entry_reply, get_stream};
use crate::commands::args::{is, parse_i64};
use crate::commands::server::help_reply;
use crate::commands::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::stream::{Group, Stream, StreamId, ENTRIES_READ_UNKNOWN};
use crate::protocol::Reply;
use crate::server::Shared;

/// A `stream`-group subcommand spec.
const fn sub(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    summary: &'static str,
    parser: crate::commands::Parser,
) -> CommandSpec {
    CommandSpec::new("stream", name, arity, flags, keys, "5.0.0", summary, parser)
}

/// XINFO's subcommands.
pub(super) static XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "consumers",
        4,
        &["readonly"],
        (2, 2, 1),
        "Describes the consumers of a stream's group.",
        parse_consumers,
    ),
    sub(
        "groups",
        3,
        &["readonly"],
        (2, 2, 1),
        "Describes a stream's consumer groups.",
        parse_groups,
    ),
    sub(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "Lists the XINFO subcommands.",
        |_| boxed(XInfoHelp),
    ),
    sub(
        "stream",
        -3,
        &["readonly"],
        (2, 2, 1),
        "Describes a stream: its counters, ends, and optionally everything in it.",
        parse_stream,
    ),
];

/// FULL's default COUNT.
const FULL_DEFAULT_COUNT: usize = 10;

/// `NOGROUP No such consumer group '<group>' for key name '<key>'`
fn no_group(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::new(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/// Redis names the subcommand as the client typed it in this error.
fn stream_syntax(typed: &[u8]) -> CommandError {
    error::subcommand_syntax(typed, "xinfo")
}

fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

fn field(name: &'static str, value: Reply) -> (Reply, Reply) {
    (Reply::bulk(name), value)
}

/// A group's entries-read: nil when unknown.
fn entries_read_reply(group: &Group) -> Reply {
    if group.entries_read == ENTRIES_READ_UNKNOWN {
        Reply::Null
    } else {
        Reply::Int(group.entries_read)
    }
}

/// A group's lag: nil when it cannot be known.
fn lag_reply(stream: &Stream, group: &Group) -> Reply {
    stream.lag(group).map_or(Reply::Null, Reply::Int)
}

/// Milliseconds from `then` to `now`, never negative (the clock may have
/// been set back since).
fn elapsed(now: i64, then: i64) -> i64 {
    now.saturating_sub(then).max(0)
}

/// Looks the key up as every XINFO subcommand does: `ERR no such key`
/// when absent.
fn lookup<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<&'a Stream, CommandError> {
    let now = ctx.now;
    let (db, stats) = ctx.keyspace.db(ctx.session.db);
    get_stream(db, key, now, stats)?.ok_or(error::NO_SUCH_KEY)
}

// ---------------------------------------------------------------------------
// XINFO STREAM

/// What XINFO STREAM shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamView {
    /// Counters and the first and last entries.
    Plain,
    /// Counters, entries, groups, PELs and consumers; at most this many
    /// entries and pending entries per list (0: all).
    Full { count: usize },
}

/// XINFO STREAM key [FULL [COUNT n]]
struct XInfoStream {
    key: Bytes,
    /// A bad option is reported after the key lookup, as Redis does.
    view: Result<StreamView, CommandError>,
}

fn parse_view(mut args: Args) -> Result<StreamView, CommandError> {
    let typed = args
        .typed_name()
        .cloned()
        .unwrap_or_else(|| Bytes::from_static(b"STREAM"));
    let stream_syntax = || stream_syntax(&typed);
    let Some(opt) = args.try_next() else {
        return Ok(StreamView::Plain);
    };
    if !is(&opt, "FULL") {
        return Err(stream_syntax());
    }
    let mut count = FULL_DEFAULT_COUNT;
    match args.len() {
        0 => {}
        2 => {
            if !is(&args.next_arg()?, "COUNT") {
                return Err(stream_syntax());
            }
            // A negative count falls back to the default, as in Redis.
            let n = parse_i64(&args.next_arg()?)?;
            if n >= 0 {
                count = usize::try_from(n).unwrap_or(usize::MAX);
            }
        }
        _ => return Err(stream_syntax()),
    }
    Ok(StreamView::Full { count })
}

fn parse_stream(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    boxed(XInfoStream {
        key,
        view: parse_view(args),
    })
}

/// Radix-tree nodes Redis would have for the stream's node keys.
///
/// Sluice keeps its nodes in a B-tree, not a radix tree, so this is an
/// estimate: the number of nodes of a rax (Redis's compressed radix tree)
/// holding the nodes' master IDs as 16-byte big-endian keys. A run of
/// bytes shared by every key below a point is one compressed node; a
/// point where keys part is one node, and each key ends in a leaf node.
/// An empty tree is its head node alone (1). This matches Redis for keys
/// inserted in order, which is how stream nodes are made.
fn radix_tree_nodes(stream: &Stream) -> i64 {
    let keys: Vec<[u8; 16]> = stream
        .nodes()
        .map(|n| {
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&n.master.ms.to_be_bytes());
            k[8..].copy_from_slice(&n.master.seq.to_be_bytes());
            k
        })
        .collect();
    if keys.is_empty() {
        return 1;
    }
    rax_nodes(&keys, 0) as i64
}

/// Nodes of the subtree at byte `depth` for `keys` (sorted, distinct, all
/// sharing their first `depth` bytes, at least one), this node included.
fn rax_nodes(keys: &[[u8; 16]], depth: usize) -> u64 {
    if depth == 16 {
        return 1;
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    if first[depth] == last[depth] {
        // One way on: a compressed node up to where the keys part.
        let split = (depth..16).find(|&i| first[i] != last[i]).unwrap_or(16);
        return 1 + rax_nodes(keys, split);
    }
    // Keys part here: one child per distinct next byte.
    let mut total = 1;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let n = rest.partition_point(|k| k[depth] == head[depth]);
        total += rax_nodes(&rest[..n], depth + 1);
        rest = &rest[n..];
    }
    total
}

/// The counters both views start with.
fn stream_counters(stream: &Stream) -> Vec<(Reply, Reply)> {
    vec![
        field("length", Reply::Int(stream.len() as i64)),
        field("radix-tree-keys", Reply::Int(stream.node_count() as i64)),
        field("radix-tree-nodes", Reply::Int(radix_tree_nodes(stream))),
        field("last-generated-id", id_reply(stream.last_id())),
        field("max-deleted-entry-id", id_reply(stream.max_deleted())),
        field("entries-added", Reply::Int(stream.entries_added() as i64)),
        field("recorded-first-entry-id", id_reply(stream.first_id())),
    ]
}

fn plain_stream(shared: &Shared, stream: &Stream) -> Result<Reply, CommandError> {
    let mut fields = stream_counters(stream);
    fields.push(field("groups", Reply::Int(stream.groups().len() as i64)));
    let end = |e: Option<_>| match e {
        Some((id, loc)) => entry_reply(shared, id, loc),
        None => Ok(Reply::Null),
    };
    fields.push(field("first-entry", end(stream.first())?));
    fields.push(field("last-entry", end(stream.last())?));
    Ok(Reply::Map(fields))
}

/// One group as FULL shows it: its PEL and consumers, each list cut at
/// `limit` items.
fn full_group(stream: &Stream, name: &Bytes, group: &Group, limit: usize) -> Reply {
    let pending = group
        .pel
        .iter()
        .take(limit)
        .map(|(id, p)| {
            Reply::Array(vec![
                id_reply(*id),
                Reply::Bulk(p.consumer.clone()),
                Reply::Int(p.delivery_time),
                Reply::Int(p.delivery_count as i64),
            ])
        })
        .collect();
    let consumers = group
        .consumers
        .iter()
        .map(|(cname, c)| {
            let pending = c
                .pel
                .iter()
                .take(limit)
                .filter_map(|id| {
                    let p = group.pel.get(id)?;
                    Some(Reply::Array(vec![
                        id_reply(*id),
                        Reply::Int(p.delivery_time),
                        Reply::Int(p.delivery_count as i64),
                    ]))
                })
                .collect();
            Reply::Map(vec![
                field("name", Reply::Bulk(cname.clone())),
                field("seen-time", Reply::Int(c.seen_time)),
                field("active-time", Reply::Int(c.active_time)),
                field("pel-count", Reply::Int(c.pel.len() as i64)),
                field("pending", Reply::Array(pending)),
            ])
        })
        .collect();
    Reply::Map(vec![
        field("name", Reply::Bulk(name.clone())),
        field("last-delivered-id", id_reply(group.last_id)),
        field("entries-read", entries_read_reply(group)),
        field("lag", lag_reply(stream, group)),
        field("pel-count", Reply::Int(group.pel.len() as i64)),
        field("pending", Reply::Array(pending)),
        field("consumers", Reply::Array(consumers)),
    ])
}

fn full_stream(shared: &Shared, stream: &Stream, count: usize) -> Result<Reply, CommandError> {
    let limit = if count == 0 { usize::MAX } else { count };
    let mut fields = stream_counters(stream);
    let entries = stream.range(StreamId::MIN, StreamId::MAX).take(limit);
    fields.push(field(
        "entries",
        entries_reply(shared, "XINFO STREAM FULL", entries)?,
    ));
    let groups = stream
        .groups()
        .iter()
        .map(|(name, g)| full_group(stream, name, g, limit))
        .collect();
    fields.push(field("groups", Reply::Array(groups)));
    Ok(Reply::Map(fields))
}

impl Execute for XInfoStream {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let shared = ctx.shared;
        let stream = match lookup(ctx, &self.key) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let result = match self.view {
            Err(e) => Err(e),
            Ok(StreamView::Plain) => plain_stream(shared, stream),
            Ok(StreamView::Full { count }) => full_stream(shared, stream, count),
        };
        result.into()
    }
}

// ---------------------------------------------------------------------------
// XINFO GROUPS

/// XINFO GROUPS key
struct XInfoGroups(Bytes);

fn parse_groups(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(XInfoGroups(args.next_arg()?))
}

impl Execute for XInfoGroups {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let stream = match lookup(ctx, &self.0) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let groups = stream
            .groups()
            .iter()
            .map(|(name, g)| {
                Reply::Map(vec![
                    field("name", Reply::Bulk(name.clone())),
                    field("consumers", Reply::Int(g.consumers.len() as i64)),
                    field("pending", Reply::Int(g.pel.len() as i64)),
                    field("last-delivered-id", id_reply(g.last_id)),
                    field("entries-read", entries_read_reply(g)),
                    field("lag", lag_reply(stream, g)),
                ])
            })
            .collect();
        Reply::Array(groups)
    }
}

// ---------------------------------------------------------------------------
// XINFO CONSUMERS

/// XINFO CONSUMERS key group
struct XInfoConsumers {
    key: Bytes,
    group: Bytes,
}

fn parse_consumers(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let group = args.next_arg()?;
    boxed(XInfoConsumers { key, group })
}

impl Execute for XInfoConsumers {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let stream = match lookup(ctx, &self.key) {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let Some(group) = stream.group(&self.group) else {
            return no_group(&self.key, &self.group).into();
        };
        let consumers = group
            .consumers
            .iter()
            .map(|(name, c)| {
                // idle: since the last attempt of any kind; inactive: since
                // the last read or claim that got something (-1: never).
                let inactive = if c.active_time == -1 {
                    -1
                } else {
                    elapsed(now, c.active_time)
                };
                Reply::Map(vec![
                    field("name", Reply::Bulk(name.clone())),
                    field("pending", Reply::Int(c.pel.len() as i64)),
                    field("idle", Reply::Int(elapsed(now, c.seen_time))),
                    field("inactive", Reply::Int(inactive)),
                ])
            })
            .collect();
        Reply::Array(consumers)
    }
}

// ---------------------------------------------------------------------------
// XINFO HELP

/// XINFO HELP
struct XInfoHelp;

impl Execute for XInfoHelp {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        help_reply(&[
            "XINFO <subcommand> [<argument> ...], where <subcommand> is one of:",
            "STREAM <key> [FULL [COUNT <count>]]",
            "    Counters of the stream at <key> and its first and last entries. With FULL,",
            "    its entries (the first <count>, 10 by default, 0 for all) and every group",
            "    with its pending entries and consumers instead.",
            "GROUPS <key>",
            "    One summary per consumer group of the stream at <key>.",
            "CONSUMERS <key> <group>",
            "    One summary per consumer of <group>: pending count, idle and inactive ms.",
            "HELP",
            "    Shows this text.",
        ])
    }
}
