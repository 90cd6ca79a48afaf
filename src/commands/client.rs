//! CLIENT and its subcommands: identity, names, listing, killing, reply
//! mode.

use std::sync::Arc;

use bytes::Bytes;

use super::args::{is, parse_i64, parse_i64_opt};
use super::connection::check_client_name;
use super::{boxed, Args, CommandSpec, CommandTable, Ctx, Execute, Kind, Simple};
use crate::error::{self, CommandError};
use crate::protocol::{Reply, OK};
use crate::server::pubsub::SubKind;
use crate::server::ClientHandle;

const FLAGS: &[&str] = &["noscript", "loading", "stale"];
const ADMIN_FLAGS: &[&str] = &["admin", "noscript", "loading", "stale"];

const fn sub(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    since: &'static str,
    summary: &'static str,
    parse: super::Parser,
) -> CommandSpec {
    CommandSpec::new(
        "connection",
        name,
        arity,
        flags,
        (0, 0, 0),
        since,
        summary,
        parse,
    )
}

static SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "id",
        2,
        FLAGS,
        "5.0.0",
        "Returns the connection's id.",
        |_| boxed(Simple(|ctx| Reply::Int(ctx.session.id as i64))),
    ),
    sub(
        "getname",
        2,
        FLAGS,
        "2.6.9",
        "Returns the connection's name.",
        |_| {
            boxed(Simple(|ctx| {
                let names = ctx.session.handle.names.lock().expect("names lock");
                Reply::bulk_or_null(names.name.clone())
            }))
        },
    ),
    sub(
        "setname",
        3,
        FLAGS,
        "2.6.9",
        "Names the connection.",
        SetName::parse,
    ),
    sub(
        "setinfo",
        4,
        FLAGS,
        "7.2.0",
        "Records the client library's name or version.",
        SetInfo::parse,
    ),
    sub(
        "info",
        2,
        FLAGS,
        "6.2.0",
        "Describes this connection.",
        |_| {
            boxed(Simple(|ctx| {
                let line = describe(&ctx.session.handle, ctx.now, false);
                Reply::Verbatim(Bytes::from(line + "\n"))
            }))
        },
    ),
    sub(
        "list",
        -2,
        ADMIN_FLAGS,
        "2.4.0",
        "Describes every connection.",
        List::parse,
    ),
    sub(
        "kill",
        -3,
        ADMIN_FLAGS,
        "2.4.0",
        "Closes connections.",
        Kill::parse,
    ),
    sub(
        "reply",
        3,
        FLAGS,
        "3.2.0",
        "Turns replies to this connection on or off.",
        ReplyMode::parse,
    ),
    sub(
        "unblock",
        -3,
        ADMIN_FLAGS,
        "5.0.0",
        "Ends another connection's blocking read, as a timeout or an error.",
        Unblock::parse,
    ),
    sub(
        "no-evict",
        3,
        ADMIN_FLAGS,
        "7.0.0",
        "Accepted for compatibility; Sluice never evicts.",
        on_off,
    ),
    sub(
        "no-touch",
        3,
        FLAGS,
        "7.2.0",
        "Accepted for compatibility.",
        on_off,
    ),
    sub(
        "help",
        2,
        &["loading", "stale"],
        "5.0.0",
        "Lists the CLIENT subcommands.",
        |_| boxed(Simple(|_| help())),
    ),
];

/// The client family's table.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "client",
    arity: -2,
    flags: &[],
    keys: (0, 0, 0),
    group: "connection",
    since: "2.4.0",
    summary: "Inspects and manages client connections.",
    kind: Kind::Container(SUBCOMMANDS),
}];

fn help() -> Reply {
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ID",
        "    The id of this connection.",
        "GETNAME",
        "    The name of this connection, or nil.",
        "SETNAME <name>",
        "    Names this connection (no spaces or special characters).",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Records the client library's name or version.",
        "INFO",
        "    One line describing this connection.",
        "LIST [TYPE <normal|master|replica|pubsub>] [ID <id> ...]",
        "    One line per connection.",
        "KILL <ip:port>",
        "    Closes the connection from that address.",
        "KILL <option> <value> [<option> <value> ...]",
        "    Closes the connections matching every filter: ID, ADDR, LADDR, TYPE,",
        "    USER, MAXAGE, SKIPME (yes by default). Replies with how many.",
        "REPLY <ON|OFF|SKIP>",
        "    ON replies, OFF stops replies, SKIP drops the next command's reply.",
        "NO-EVICT <ON|OFF>, NO-TOUCH <ON|OFF>",
        "    Accepted for compatibility.",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]
struct Unblock {
    id: i64,
    error: bool,
}

impl Unblock {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let id = parse_i64(&args.next_arg()?)?;
        let error = match args.try_next() {
            None => false,
            Some(a) if is(&a, "TIMEOUT") => false,
            Some(a) if is(&a, "ERROR") => true,
            Some(_) => {
                return Err(CommandError::new_static(
                    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                ))
            }
        };
        if !args.is_empty() {
            return Err(error::SYNTAX);
        }
        boxed(Unblock { id, error })
    }
}

impl Execute for Unblock {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let reply = if self.error {
            Reply::Error(CommandError::new_static(
                "UNBLOCKED client unblocked via CLIENT UNBLOCK",
            ))
        } else {
            Reply::NullArray
        };
        let Ok(id) = u64::try_from(self.id) else {
            return Reply::Int(0);
        };
        if self.error && ctx.keyspace.blocking.is_blocked(id) {
            ctx.shared.stats.count_error(b"UNBLOCKED");
        }
        Reply::Int(crate::server::blocking::unblock(ctx.keyspace, id, reply) as i64)
    }
}

fn on_off(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let arg = args.next_arg()?;
    if is(&arg, "on") || is(&arg, "off") {
        boxed(Simple(|_| OK))
    } else {
        Err(error::SYNTAX)
    }
}

/// CLIENT SETNAME name
struct SetName(Bytes);

impl SetName {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let name = args.next_arg()?;
        check_client_name(&name)?;
        boxed(SetName(name))
    }
}

impl Execute for SetName {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let mut names = ctx.session.handle.names.lock().expect("names lock");
        names.name = (!self.0.is_empty()).then_some(self.0);
        OK
    }
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value
struct SetInfo {
    lib_name: bool,
    value: Bytes,
}

impl SetInfo {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let attr = args.next_arg()?;
        let value = args.next_arg()?;
        let lib_name = if is(&attr, "lib-name") {
            true
        } else if is(&attr, "lib-ver") {
            false
        } else {
            return Err(CommandError::new(format!(
                "ERR Unrecognized option '{}'",
                String::from_utf8_lossy(&attr)
            )));
        };
        if !value.iter().all(|&c| (b'!'..=b'~').contains(&c)) {
            return Err(CommandError::new(format!(
                "ERR {} cannot contain spaces, newlines or special characters.",
                if lib_name { "lib-name" } else { "lib-ver" }
            )));
        }
        boxed(SetInfo { lib_name, value })
    }
}

impl Execute for SetInfo {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let mut names = ctx.session.handle.names.lock().expect("names lock");
        let value = (!self.value.is_empty()).then_some(self.value);
        if self.lib_name {
            names.lib_name = value;
        } else {
            names.lib_ver = value;
        }
        OK
    }
}

/// CLIENT REPLY ON|OFF|SKIP
enum ReplyMode {
    On,
    Off,
    Skip,
}

impl ReplyMode {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let mode = args.next_arg()?;
        boxed(if is(&mode, "on") {
            ReplyMode::On
        } else if is(&mode, "off") {
            ReplyMode::Off
        } else if is(&mode, "skip") {
            ReplyMode::Skip
        } else {
            return Err(error::SYNTAX);
        })
    }
}

impl Execute for ReplyMode {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        match *self {
            ReplyMode::On => ctx.session.reply_off = false,
            ReplyMode::Off => ctx.session.reply_off = true,
            ReplyMode::Skip => {
                ctx.session.skip_next = true;
                ctx.session.suppress_current = true;
            }
        }
        OK
    }
}

/// The client types CLIENT LIST/KILL TYPE accept. Sluice has normal and
/// pub/sub clients (see [`client_type`]).
fn parse_type(raw: &[u8]) -> Result<&'static str, CommandError> {
    for name in ["normal", "master", "replica", "slave", "pubsub"] {
        if is(raw, name) {
            return Ok(if name == "slave" { "replica" } else { name });
        }
    }
    Err(CommandError::new(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(raw)
    )))
}

/// A client's type for TYPE filters: `pubsub` while it has a
/// subscription, as in Redis, otherwise `normal`.
fn client_type(client: &ClientHandle) -> &'static str {
    if client.pubsub.is_subscribed() {
        "pubsub"
    } else {
        "normal"
    }
}

/// CLIENT LIST [TYPE type] [ID id ...]
struct List {
    kind: Option<&'static str>,
    ids: Option<Vec<u64>>,
}

impl List {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let mut list = List {
            kind: None,
            ids: None,
        };
        while let Some(opt) = args.try_next() {
            if is(&opt, "type") && !args.is_empty() {
                list.kind = Some(parse_type(&args.next_arg()?)?);
            } else if is(&opt, "id") && !args.is_empty() {
                let mut ids = Vec::new();
                for raw in args.rest() {
                    match parse_i64_opt(&raw) {
                        Some(id) if id > 0 => ids.push(id as u64),
                        _ => return Err(CommandError::new_static("ERR Invalid client ID")),
                    }
                }
                list.ids = Some(ids);
                break;
            } else {
                return Err(error::SYNTAX);
            }
        }
        boxed(list)
    }
}

impl Execute for List {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let mut text = String::new();
        for client in ctx.shared.clients.snapshot() {
            if self.kind.is_some_and(|k| k != client_type(&client)) {
                continue;
            }
            if self
                .ids
                .as_ref()
                .is_some_and(|ids| !ids.contains(&client.id))
            {
                continue;
            }
            text.push_str(&describe(
                &client,
                ctx.now,
                ctx.keyspace.blocking.is_blocked(client.id),
            ));
            text.push('\n');
        }
        Reply::Verbatim(Bytes::from(text))
    }
}

/// One CLIENT LIST line, with Redis's fields. Buffer and memory figures
/// Sluice does not track per client are reported as 0.
pub(crate) fn describe(client: &ClientHandle, now: i64, blocked: bool) -> String {
    let names = client.names.lock().expect("names lock").clone();
    let text = |v: &Option<Bytes>| {
        v.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let cmd = client
        .last_cmd()
        .map(|id| CommandTable::global().entry(id).full_name.clone())
        .unwrap_or_else(|| "NULL".into());
    let multi = client.multi().map_or(-1, |n| n as i64);
    let ps = &client.pubsub;
    // Redis's letters, in its order.
    let mut flags = String::new();
    if ps.is_subscribed() {
        flags.push('P');
    }
    if client.multi().is_some() {
        flags.push('x');
    } else if blocked {
        flags.push('b');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let (sub, psub, ssub) = (
        ps.count(SubKind::Channel),
        ps.count(SubKind::Pattern),
        ps.count(SubKind::Shard),
    );
    // omem: pub/sub output queued and not yet written to the socket.
    let omem = ps.pending_bytes();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db={} sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem=0 events=r cmd={cmd} user={} redir=-1 resp={} lib-name={} lib-ver={}",
        client.id,
        client.addr,
        client.laddr,
        client.fd,
        text(&names.name),
        (now - client.created_ms).max(0) / 1000,
        (now - client.last_interaction_ms()).max(0) / 1000,
        client.db(),
        names
            .user
            .as_ref()
            .map_or("default".into(), |u| String::from_utf8_lossy(u)),
        client.resp(),
        text(&names.lib_name),
        text(&names.lib_ver),
    )
}

/// CLIENT KILL ip:port | CLIENT KILL filter value [filter value ...]
enum Kill {
    /// The old form: one address; replies OK or an error.
    Addr(Bytes),
    /// The filter form; replies with how many were killed.
    Filters(KillFilters),
}

#[derive(Default)]
struct KillFilters {
    id: Option<u64>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    kind: Option<&'static str>,
    user: Option<Bytes>,
    max_age: Option<i64>,
    skip_me: bool,
}

impl Kill {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        if args.len() == 1 {
            return boxed(Kill::Addr(args.next_arg()?));
        }
        let mut f = KillFilters {
            skip_me: true,
            ..KillFilters::default()
        };
        while let Some(opt) = args.try_next() {
            let Some(value) = args.try_next() else {
                return Err(error::SYNTAX);
            };
            if is(&opt, "id") {
                match parse_i64_opt(&value) {
                    Some(id) if id > 0 => f.id = Some(id as u64),
                    _ => {
                        return Err(CommandError::new_static(
                            "ERR client-id should be greater than 0",
                        ))
                    }
                }
            } else if is(&opt, "addr") {
                f.addr = Some(value);
            } else if is(&opt, "laddr") {
                f.laddr = Some(value);
            } else if is(&opt, "type") {
                f.kind = Some(parse_type(&value)?);
            } else if is(&opt, "user") {
                f.user = Some(value);
            } else if is(&opt, "maxage") {
                f.max_age = Some(parse_i64_opt(&value).ok_or(error::SYNTAX)?);
            } else if is(&opt, "skipme") {
                f.skip_me = if is(&value, "yes") {
                    true
                } else if is(&value, "no") {
                    false
                } else {
                    return Err(error::SYNTAX);
                };
            } else {
                return Err(error::SYNTAX);
            }
        }
        boxed(Kill::Filters(f))
    }
}

impl Execute for Kill {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let clients = ctx.shared.clients.snapshot();
        match *self {
            Kill::Addr(addr) => {
                let target = clients
                    .iter()
                    .find(|c| c.addr.to_string().as_bytes() == addr.as_ref());
                match target {
                    Some(c) => {
                        kill(ctx, c);
                        OK
                    }
                    None => CommandError::new_static("ERR No such client").into(),
                }
            }
            Kill::Filters(f) => {
                if let Some(user) = &f.user {
                    if ctx.shared.acl.get(user).is_none() {
                        return CommandError::new(format!(
                            "ERR No such user '{}'",
                            String::from_utf8_lossy(user)
                        ))
                        .into();
                    }
                }
                let mut killed = 0;
                for c in &clients {
                    let matches = f.id.is_none_or(|id| c.id == id)
                        && f.addr
                            .as_ref()
                            .is_none_or(|a| c.addr.to_string().as_bytes() == a.as_ref())
                        && f.laddr
                            .as_ref()
                            .is_none_or(|a| c.laddr.to_string().as_bytes() == a.as_ref())
                        && f.kind.is_none_or(|k| k == client_type(c))
                        && f.user.as_ref().is_none_or(|u| {
                            let names = c.names.lock().expect("names lock");
                            names.user.as_deref().unwrap_or(b"default") == u.as_ref()
                        })
                        && f.max_age
                            .is_none_or(|age| (ctx.now - c.created_ms) / 1000 >= age)
                        && !(f.skip_me && c.id == ctx.session.id);
                    if matches {
                        kill(ctx, c);
                        killed += 1;
                    }
                }
                Reply::Int(killed)
            }
        }
    }
}

/// Closes a client; the caller's own connection closes after this reply.
/// Closes a client: this one after its reply, another at once.
pub(crate) fn kill(ctx: &mut Ctx<'_>, client: &Arc<ClientHandle>) {
    if client.id == ctx.session.id {
        ctx.session.close_after_reply = true;
    } else {
        client.kill();
    }
}
