//! ACL and its subcommands: managing users (SETUSER, GETUSER, DELUSER,
//! LIST, USERS), asking about permissions (WHOAMI, CAT, DRYRUN), the
//! security log (LOG), passwords (GENPASS) and the ACL file (SAVE, LOAD).
//! The model lives in [`crate::acl`].

use bytes::Bytes;

use super::args::{is, parse_i64_opt};
use super::server::help_reply;
use super::{boxed, CommandSpec, CommandTable, Ctx, Kind, Simple, WithArgs};
use crate::acl::{self, categories, Denied};
use crate::error::{self, CommandError};
use crate::protocol::{Reply, OK};
use crate::server::pubsub::SubKind;

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
        "server",
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
        "cat",
        -2,
        FLAGS,
        "6.0.0",
        "Lists the ACL categories, or the commands in one.",
        |a| boxed(WithArgs(cat, a.rest())),
    ),
    sub(
        "deluser",
        -3,
        ADMIN_FLAGS,
        "6.0.0",
        "Deletes users and closes their connections.",
        |a| boxed(WithArgs(deluser, a.rest())),
    ),
    sub(
        "dryrun",
        -4,
        ADMIN_FLAGS,
        "7.0.0",
        "Tells whether a user may run a command, without running it.",
        |a| boxed(WithArgs(dryrun, a.rest())),
    ),
    sub(
        "genpass",
        -2,
        FLAGS,
        "6.0.0",
        "Generates a random password.",
        |a| boxed(WithArgs(genpass, a.rest())),
    ),
    sub(
        "getuser",
        3,
        ADMIN_FLAGS,
        "6.0.0",
        "Describes one user's rules.",
        |a| boxed(WithArgs(getuser, a.rest())),
    ),
    sub(
        "help",
        2,
        &["loading", "stale"],
        "6.0.0",
        "Lists the ACL subcommands.",
        |_| boxed(Simple(|_| help())),
    ),
    sub(
        "list",
        2,
        ADMIN_FLAGS,
        "6.0.0",
        "Lists every user as ACL file lines.",
        |_| boxed(Simple(list)),
    ),
    sub(
        "load",
        2,
        ADMIN_FLAGS,
        "6.0.0",
        "Reloads the users from the ACL file.",
        |_| boxed(Simple(load)),
    ),
    sub(
        "log",
        -2,
        ADMIN_FLAGS,
        "6.0.0",
        "Lists recent security events, or clears them.",
        |a| boxed(WithArgs(log, a.rest())),
    ),
    sub(
        "save",
        2,
        ADMIN_FLAGS,
        "6.0.0",
        "Writes the users to the ACL file.",
        |_| boxed(Simple(save)),
    ),
    sub(
        "setuser",
        -3,
        ADMIN_FLAGS,
        "6.0.0",
        "Creates a user or changes its rules.",
        |a| boxed(WithArgs(setuser, a.rest())),
    ),
    sub(
        "users",
        2,
        ADMIN_FLAGS,
        "6.0.0",
        "Lists the user names.",
        |_| boxed(Simple(users)),
    ),
    sub(
        "whoami",
        2,
        FLAGS,
        "6.0.0",
        "Returns the connection's user name.",
        |_| boxed(Simple(whoami)),
    ),
];

/// The ACL family's table.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "acl",
    arity: -2,
    flags: &[],
    keys: (0, 0, 0),
    group: "server",
    since: "6.0.0",
    summary: "Manages users and their permissions.",
    kind: Kind::Container(SUBCOMMANDS),
}];

fn help() -> Reply {
    help_reply(&[
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    The ACL categories, or the commands in one of them.",
        "DELUSER <username> [<username> ...]",
        "    Remove users; their connections are closed.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Whether the user could run the command, without running it.",
        "GETUSER <username>",
        "    The user's flags, password digests and permissions.",
        "GENPASS [<bits>]",
        "    A random password of 256 bits, or of the given number of bits, in hex.",
        "LIST",
        "    Every user as an ACL file line.",
        "LOAD",
        "    Replace the users with those of the ACL file.",
        "LOG [<count> | RESET]",
        "    Recent denied commands, keys, channels and failed AUTHs; or clear them.",
        "SAVE",
        "    Write the users to the ACL file.",
        "SETUSER <username> <rule> [<rule> ...]",
        "    Create a user or apply rules to it.",
        "USERS",
        "    The user names.",
        "WHOAMI",
        "    The connection's user name.",
        "HELP",
        "    Show this text.",
    ])
}

fn bulk(bytes: Vec<u8>) -> Reply {
    Reply::Bulk(Bytes::from(bytes))
}

fn setuser(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let (name, rules) = args.split_first().expect("arity");
    if name.iter().any(|&b| b == b' ' || b == 0) {
        return CommandError::new_static("ERR Usernames can't contain spaces or null characters")
            .into();
    }
    let rules = match acl::user::merge_selector_args(rules) {
        Ok(rules) => rules,
        Err(start) => {
            return CommandError::new(format!(
                "ERR Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&start)
            ))
            .into()
        }
    };
    let rules = &rules[..];
    match ctx.shared.acl.set_user(name, rules) {
        Ok(()) => {
            drop_unauthorized_subscribers(ctx);
            OK
        }
        Err((i, e)) => error::acl_setuser_modifier(&rules[i], e.text()).into(),
    }
}

fn getuser(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let Some(user) = ctx.shared.acl.get(&args[0]) else {
        return Reply::Null;
    };
    let field = |name: &'static str, value: Reply| (Reply::bulk(name), value);
    Reply::Map(vec![
        field(
            "flags",
            Reply::Set(user.flags().into_iter().map(Reply::bulk).collect()),
        ),
        field(
            "passwords",
            Reply::Array(
                user.passwords
                    .iter()
                    .map(|p| Reply::bulk(acl::user::hex(p)))
                    .collect(),
            ),
        ),
        field("commands", Reply::bulk(user.root.describe_commands())),
        field("keys", bulk(user.root.describe_keys())),
        field("channels", bulk(user.root.describe_channels())),
        field(
            "selectors",
            Reply::Array(
                user.selectors
                    .iter()
                    .map(|s| {
                        Reply::Map(vec![
                            field("commands", Reply::bulk(s.describe_commands())),
                            field("keys", bulk(s.describe_keys())),
                            field("channels", bulk(s.describe_channels())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

fn deluser(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    if args.iter().any(|n| n.as_ref() == b"default") {
        return error::ACL_DELETE_DEFAULT.into();
    }
    let removed = ctx.shared.acl.delete(&args);
    disconnect_orphans(ctx);
    Reply::Int(removed as i64)
}

/// Closes the connections whose user no longer exists (this one after its
/// reply).
fn disconnect_orphans(ctx: &mut Ctx<'_>) {
    for client in ctx.shared.clients.snapshot() {
        let user = client.names.lock().expect("names lock").user.clone();
        if let Some(user) = user {
            if ctx.shared.acl.get(&user).is_none() {
                super::client::kill(ctx, &client);
            }
        }
    }
}

/// Closes the connections subscribed to a channel or pattern their user
/// may no longer use, as Redis does when channel rules shrink.
fn drop_unauthorized_subscribers(ctx: &mut Ctx<'_>) {
    for client in ctx.shared.clients.snapshot() {
        if !client.pubsub.is_subscribed() {
            continue;
        }
        let name = client.names.lock().expect("names lock").user.clone();
        let name = name.unwrap_or_else(|| Bytes::from_static(b"default"));
        let Some(user) = ctx.shared.acl.get(&name) else {
            continue;
        };
        let pubsub = &ctx.shared.pubsub;
        let allowed = |kind: SubKind, pattern: bool| {
            pubsub
                .subscriptions(client.id, kind)
                .iter()
                .all(|ch| user.allows_channel(ch, pattern))
        };
        let ok = allowed(SubKind::Channel, false)
            && allowed(SubKind::Shard, false)
            && allowed(SubKind::Pattern, true);
        if !ok {
            super::client::kill(ctx, &client);
        }
    }
}

fn list(ctx: &mut Ctx<'_>) -> Reply {
    Reply::Array(
        ctx.shared
            .acl
            .all()
            .iter()
            .map(|u| bulk(u.describe()))
            .collect(),
    )
}

fn users(ctx: &mut Ctx<'_>) -> Reply {
    Reply::Array(
        ctx.shared
            .acl
            .all()
            .iter()
            .map(|u| Reply::Bulk(u.name.clone()))
            .collect(),
    )
}

fn whoami(ctx: &mut Ctx<'_>) -> Reply {
    match &ctx.session.user {
        Some(user) => Reply::Bulk(user.name.clone()),
        None => Reply::bulk("default"),
    }
}

fn cat(_ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    match args.as_slice() {
        [] => Reply::Array(
            categories::names()
                .iter()
                .map(|c| Reply::bulk(*c))
                .collect(),
        ),
        [name] => {
            let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
            let Some(ids) = categories::commands_in(&lower) else {
                return error::acl_unknown_category(name).into();
            };
            let table = CommandTable::global();
            Reply::Array(
                ids.iter()
                    .map(|&id| table.entry(id))
                    .filter(|e| !matches!(e.spec.kind, Kind::Container(_)))
                    .map(|e| Reply::bulk(e.full_name.clone()))
                    .collect(),
            )
        }
        _ => error::wrong_arity("acl|cat").into(),
    }
}

fn dryrun(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let Some(user) = ctx.shared.acl.get(&args[0]) else {
        return error::acl_no_such_user(&args[0]).into();
    };
    let words = &args[1..];
    let table = CommandTable::global();
    if table.find(&words[0]).is_none() {
        return error::acl_no_such_command(&words[0]).into();
    }
    let lookup = match table.lookup(words) {
        Ok(lookup) => lookup,
        Err(e) => return e.into(),
    };
    let entry = table.entry(lookup.id);
    let mut text = b"User ".to_vec();
    text.extend_from_slice(&user.name);
    match acl::check(&user, lookup.id, entry, words) {
        Ok(()) => return OK,
        Err(Denied::Command) => text.extend_from_slice(
            format!(
                " has no permissions to run the '{}' command",
                entry.full_name
            )
            .as_bytes(),
        ),
        Err(Denied::Key(i)) => {
            text.extend_from_slice(b" has no permissions to access the '");
            text.extend_from_slice(&words[i]);
            text.extend_from_slice(b"' key");
        }
        Err(Denied::Channel(i)) => {
            text.extend_from_slice(b" has no permissions to access the '");
            text.extend_from_slice(&words[i]);
            text.extend_from_slice(b"' channel");
        }
    }
    bulk(text)
}

fn genpass(_ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let bits = match args.as_slice() {
        [] => 256,
        [bits] => match parse_i64_opt(bits) {
            Some(n) if (1..=4096).contains(&n) => n as usize,
            Some(_) => {
                return CommandError::new_static(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                )
                .into()
            }
            None => return error::NOT_INTEGER.into(),
        },
        _ => return error::wrong_arity("acl|genpass").into(),
    };
    let chars = bits.div_ceil(4);
    let mut random = vec![0u8; chars.div_ceil(2)];
    // The kernel's CSPRNG, as Redis uses /dev/urandom for GENPASS.
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random));
    if let Err(e) = read {
        return CommandError::new(format!("ERR can't read random bytes: {e}")).into();
    }
    let mut hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    Reply::bulk(hex)
}

fn log(ctx: &mut Ctx<'_>, args: Vec<Bytes>) -> Reply {
    let count = match args.as_slice() {
        [] => 10,
        [arg] if is(arg, "RESET") => {
            ctx.shared.acl.log.lock().expect("acl log lock").reset();
            return OK;
        }
        [arg] => match parse_i64_opt(arg) {
            Some(n) => n.max(0) as usize,
            None => return error::NOT_INTEGER.into(),
        },
        _ => return error::wrong_arity("acl|log").into(),
    };
    let now = ctx.now;
    let log = ctx.shared.acl.log.lock().expect("acl log lock");
    let field = |name: &'static str, value: Reply| (Reply::bulk(name), value);
    Reply::Array(
        log.recent(count)
            .map(|e| {
                Reply::Map(vec![
                    field("count", Reply::Int(e.count as i64)),
                    field("reason", Reply::bulk(e.reason.name())),
                    field("context", Reply::bulk(e.context)),
                    field("object", Reply::Bulk(e.object.clone())),
                    field("username", Reply::Bulk(e.username.clone())),
                    field(
                        "age-seconds",
                        Reply::Double((now - e.created_ms).max(0) as f64 / 1000.0),
                    ),
                    field("client-info", Reply::bulk(e.client_info.clone())),
                    field("entry-id", Reply::Int(e.entry_id as i64)),
                    field("timestamp-created", Reply::Int(e.created_ms)),
                    field("timestamp-last-updated", Reply::Int(e.updated_ms)),
                ])
            })
            .collect(),
    )
}

fn save(ctx: &mut Ctx<'_>) -> Reply {
    match ctx.shared.acl.save() {
        Ok(()) => OK,
        Err(e) => e.into(),
    }
}

fn load(ctx: &mut Ctx<'_>) -> Reply {
    match ctx.shared.acl.load() {
        Ok(()) => {
            disconnect_orphans(ctx);
            drop_unauthorized_subscribers(ctx);
            OK
        }
        Err(e) => e.into(),
    }
}
