//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH
//! and PUBSUB's introspection subcommands. The registry and the delivery
//! path are in `server::pubsub`.
//!
//! Sluice is a single node, so every slot is local: SSUBSCRIBE and
//! SPUBLISH behave as on a Redis with cluster mode off (no CROSSSLOT check,
//! no MOVED), and shard channels are a namespace of their own that
//! patterns never match.

use bytes::Bytes;

use super::server::help_reply;
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind};
use crate::error::{self, CommandError};
use crate::protocol::Reply;
use crate::server::pubsub::SubKind;

const SUB_FLAGS: &[&str] = &["pubsub", "noscript", "loading", "stale"];
const PUBLISH_FLAGS: &[&str] = &["pubsub", "loading", "stale", "fast"];
const INTROSPECT_FLAGS: &[&str] = &["pubsub", "loading", "stale"];

#[allow(clippy::too_many_arguments)]
const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: super::Parser,
) -> CommandSpec {
    CommandSpec::new("pubsub", name, arity, flags, keys, since, summary, parser)
}

/// The pub/sub family's table.
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        SUB_FLAGS,
        (0, 0, 0),
        "2.0.0",
        "Listens for messages published to the given channels.",
        |args| Subscribe::parse(args, SubKind::Channel),
    ),
    spec(
        "unsubscribe",
        -1,
        SUB_FLAGS,
        (0, 0, 0),
        "2.0.0",
        "Stops listening to the given channels, or to all of them.",
        |args| Unsubscribe::parse(args, SubKind::Channel),
    ),
    spec(
        "psubscribe",
        -2,
        SUB_FLAGS,
        (0, 0, 0),
        "2.0.0",
        "Listens for messages published to channels matching the given glob patterns.",
        |args| Subscribe::parse(args, SubKind::Pattern),
    ),
    spec(
        "punsubscribe",
        -1,
        SUB_FLAGS,
        (0, 0, 0),
        "2.0.0",
        "Stops listening to the given patterns, or to all of them.",
        |args| Unsubscribe::parse(args, SubKind::Pattern),
    ),
    spec(
        "ssubscribe",
        -2,
        SUB_FLAGS,
        (1, -1, 1),
        "7.0.0",
        "Listens for messages published to the given shard channels.",
        |args| Subscribe::parse(args, SubKind::Shard),
    ),
    spec(
        "sunsubscribe",
        -1,
        SUB_FLAGS,
        (1, -1, 1),
        "7.0.0",
        "Stops listening to the given shard channels, or to all of them.",
        |args| Unsubscribe::parse(args, SubKind::Shard),
    ),
    spec(
        "publish",
        3,
        PUBLISH_FLAGS,
        (0, 0, 0),
        "2.0.0",
        "Sends a message to a channel's subscribers; returns how many received it.",
        |args| Publish::parse(args, false),
    ),
    spec(
        "spublish",
        3,
        PUBLISH_FLAGS,
        (1, 1, 1),
        "7.0.0",
        "Sends a message to a shard channel's subscribers; returns how many received it.",
        |args| Publish::parse(args, true),
    ),
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: &[],
        keys: (0, 0, 0),
        group: "pubsub",
        since: "2.8.0",
        summary: "Inspects the pub/sub state.",
        kind: Kind::Container(PUBSUB_SUBCOMMANDS),
    },
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "channels",
        -2,
        INTROSPECT_FLAGS,
        (0, 0, 0),
        "2.8.0",
        "Lists channels with subscribers, optionally those matching a pattern.",
        |args| Channels::parse(args, false),
    ),
    spec(
        "help",
        2,
        &["loading", "stale"],
        (0, 0, 0),
        "6.2.0",
        "Describes the PUBSUB subcommands.",
        |_| boxed(Help),
    ),
    spec(
        "numpat",
        2,
        INTROSPECT_FLAGS,
        (0, 0, 0),
        "2.8.0",
        "Counts the patterns with subscribers.",
        |_| boxed(NumPat),
    ),
    spec(
        "numsub",
        -2,
        INTROSPECT_FLAGS,
        (0, 0, 0),
        "2.8.0",
        "Counts each given channel's subscribers (pattern subscriptions excluded).",
        |args| NumSub::parse(args, false),
    ),
    spec(
        "shardchannels",
        -2,
        INTROSPECT_FLAGS,
        (0, 0, 0),
        "7.0.0",
        "Lists shard channels with subscribers, optionally those matching a pattern.",
        |args| Channels::parse(args, true),
    ),
    spec(
        "shardnumsub",
        -2,
        INTROSPECT_FLAGS,
        (0, 0, 0),
        "7.0.0",
        "Counts each given shard channel's subscribers.",
        |args| NumSub::parse(args, true),
    ),
];

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE name [name ...]
struct Subscribe {
    kind: SubKind,
    names: Vec<Bytes>,
}

impl Subscribe {
    fn parse(args: Args, kind: SubKind) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Subscribe {
            kind,
            names: args.rest(),
        })
    }
}

impl Execute for Subscribe {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        // Inside EXEC a client expects one reply per command. Redis lets
        // SUBSCRIBE and PSUBSCRIBE through there for backward compatibility,
        // but not SSUBSCRIBE.
        if ctx.session.in_exec && self.kind == SubKind::Shard {
            return CommandError::new_static(
                "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
            )
            .into();
        }
        ctx.shared
            .pubsub
            .subscribe(&ctx.session.handle, self.kind, &self.names)
    }
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE [name ...]
struct Unsubscribe {
    kind: SubKind,
    names: Option<Vec<Bytes>>,
}

impl Unsubscribe {
    fn parse(args: Args, kind: SubKind) -> Result<Box<dyn Execute>, CommandError> {
        let names = (!args.is_empty()).then(|| args.rest());
        boxed(Unsubscribe { kind, names })
    }
}

impl Execute for Unsubscribe {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        ctx.shared
            .pubsub
            .unsubscribe(&ctx.session.handle, self.kind, self.names)
    }
}

/// PUBLISH / SPUBLISH channel message
struct Publish {
    shard: bool,
    channel: Bytes,
    message: Bytes,
}

impl Publish {
    fn parse(mut args: Args, shard: bool) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Publish {
            shard,
            channel: args.next_arg()?,
            message: args.next_arg()?,
        })
    }
}

impl Execute for Publish {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limit = ctx
            .shared
            .config
            .read()
            .expect("config lock")
            .client_output_buffer_limit
            .pubsub;
        Reply::Int(ctx.shared.pubsub.publish(
            &self.channel,
            &self.message,
            self.shard,
            limit,
            ctx.shared.clock.now_ms(),
        ))
    }
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]
struct Channels {
    shard: bool,
    pattern: Option<Bytes>,
}

impl Channels {
    fn parse(mut args: Args, shard: bool) -> Result<Box<dyn Execute>, CommandError> {
        if args.len() > 1 {
            let sub = args.typed_name().cloned().unwrap_or_default();
            return Err(error::subcommand_syntax(&sub, "PUBSUB"));
        }
        boxed(Channels {
            shard,
            pattern: args.try_next(),
        })
    }
}

impl Execute for Channels {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let names = ctx
            .shared
            .pubsub
            .channels(self.shard, self.pattern.as_deref());
        Reply::Array(names.into_iter().map(Reply::Bulk).collect())
    }
}

/// PUBSUB NUMSUB / SHARDNUMSUB [channel ...]
struct NumSub {
    shard: bool,
    names: Vec<Bytes>,
}

impl NumSub {
    fn parse(args: Args, shard: bool) -> Result<Box<dyn Execute>, CommandError> {
        boxed(NumSub {
            shard,
            names: args.rest(),
        })
    }
}

impl Execute for NumSub {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let counts = ctx.shared.pubsub.numsub(self.shard, &self.names);
        // A flat array in both protocols, as Redis sends it.
        let mut out = Vec::with_capacity(self.names.len() * 2);
        for (name, count) in self.names.into_iter().zip(counts) {
            out.push(Reply::Bulk(name));
            out.push(Reply::Int(count));
        }
        Reply::Array(out)
    }
}

/// PUBSUB NUMPAT
struct NumPat;

impl Execute for NumPat {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        Reply::Int(ctx.shared.pubsub.sizes()[SubKind::Pattern as usize] as i64)
    }
}

/// PUBSUB HELP
struct Help;

impl Execute for Help {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        help_reply(&[
            "PUBSUB <subcommand> [<arg> ...], where <subcommand> is one of:",
            "CHANNELS [<pattern>]",
            "    Channels that have at least one subscriber, those matching <pattern> if given.",
            "NUMPAT",
            "    Number of distinct patterns clients are subscribed to.",
            "NUMSUB [<channel> ...]",
            "    For each <channel>, its number of direct subscribers (patterns not counted).",
            "SHARDCHANNELS [<pattern>]",
            "    Shard channels that have at least one subscriber, those matching <pattern> if given.",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    For each <shardchannel>, its number of subscribers.",
            "HELP",
            "    Shows this text.",
        ])
    }
}
