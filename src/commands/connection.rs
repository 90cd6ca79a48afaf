//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use bytes::Bytes;

use super::args::{is, parse_i64_opt};
use super::{boxed, Args, CommandSpec, Ctx, Execute, Kind};
use crate::acl::Reason;
use crate::error::{self, CommandError};
use crate::protocol::{Reply, OK};
use crate::server::REDIS_VERSION;

/// The connection family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: &["fast"],
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Returns PONG, or the given message.",
        kind: Kind::Parse(Ping::parse),
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Returns its argument.",
        kind: Kind::Parse(Echo::parse),
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "connection",
        since: "6.0.0",
        summary: "Picks the protocol version, optionally authenticating and naming the connection.",
        kind: Kind::Parse(Hello::parse),
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Authenticates the connection.",
        kind: Kind::Parse(Auth::parse),
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Selects the numbered database the connection works on.",
        kind: Kind::Parse(Select::parse),
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "connection",
        since: "1.0.0",
        summary: "Closes the connection after replying.",
        kind: Kind::Parse(Quit::parse),
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: &[
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy",
        ],
        keys: (0, 0, 0),
        group: "connection",
        since: "6.2.0",
        summary: "Returns the connection to its initial state.",
        kind: Kind::Parse(Reset::parse),
    },
];

/// PING [message]
struct Ping(Option<Bytes>);

impl Ping {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        if args.len() > 1 {
            return Err(error::wrong_arity("ping"));
        }
        boxed(Ping(args.try_next()))
    }
}

impl Execute for Ping {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        // A subscribed RESP2 client reads a stream of arrays: PING answers
        // in that shape.
        if !ctx.session.resp3 && ctx.session.handle.pubsub.is_subscribed() {
            return Reply::Array(vec![
                Reply::bulk("pong"),
                Reply::Bulk(self.0.unwrap_or_default()),
            ]);
        }
        match self.0 {
            Some(message) => Reply::Bulk(message),
            None => Reply::Simple("PONG"),
        }
    }
}

/// ECHO message
struct Echo(Bytes);

impl Echo {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Echo(args.next_arg()?))
    }
}

impl Execute for Echo {
    fn execute(self: Box<Self>, _ctx: &mut Ctx<'_>) -> Reply {
        Reply::Bulk(self.0)
    }
}

/// HELLO [protover [AUTH username password] [SETNAME name]]
struct Hello {
    protover: Option<i64>,
    auth: Option<(Bytes, Bytes)>,
    setname: Option<Bytes>,
}

impl Hello {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let mut hello = Hello {
            protover: None,
            auth: None,
            setname: None,
        };
        if let Some(ver) = args.try_next() {
            let ver = parse_i64_opt(&ver).ok_or(CommandError::new_static(
                "ERR Protocol version is not an integer or out of range",
            ))?;
            if !(2..=3).contains(&ver) {
                return Err(error::NOPROTO);
            }
            hello.protover = Some(ver);
        }
        while let Some(opt) = args.try_next() {
            let missing = args.is_empty();
            if is(&opt, "AUTH") && args.len() >= 2 {
                hello.auth = Some((args.next_arg()?, args.next_arg()?));
            } else if is(&opt, "SETNAME") && !missing {
                let name = args.next_arg()?;
                check_client_name(&name)?;
                hello.setname = Some(name);
            } else {
                return Err(CommandError::new(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&opt)
                )));
            }
        }
        boxed(hello)
    }
}

impl Execute for Hello {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        if let Some((user, pass)) = &self.auth {
            if let Err(e) = authenticate(ctx, Some(user), pass) {
                return e.into();
            }
        }
        if !ctx.session.authenticated {
            return CommandError::new_static(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
            )
            .into();
        }
        if let Some(name) = self.setname {
            ctx.session.handle.names.lock().expect("names lock").name =
                (!name.is_empty()).then_some(name);
        }
        if let Some(ver) = self.protover {
            ctx.session.set_resp3(ver == 3);
        }
        Reply::Map(vec![
            (Reply::bulk("server"), Reply::bulk("redis")),
            (Reply::bulk("version"), Reply::bulk(REDIS_VERSION)),
            (
                Reply::bulk("proto"),
                Reply::Int(if ctx.session.resp3 { 3 } else { 2 }),
            ),
            (Reply::bulk("id"), Reply::Int(ctx.session.id as i64)),
            (Reply::bulk("mode"), Reply::bulk("standalone")),
            (Reply::bulk("role"), Reply::bulk("master")),
            (Reply::bulk("modules"), Reply::Array(vec![])),
        ])
    }
}

/// Checks a name for CLIENT SETNAME / HELLO SETNAME: printable ASCII, no
/// spaces.
pub fn check_client_name(name: &[u8]) -> Result<(), CommandError> {
    if name.iter().all(|&c| (b'!'..=b'~').contains(&c)) {
        Ok(())
    } else {
        Err(CommandError::new_static(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ))
    }
}

/// Checks credentials against the ACL users (`AUTH password` means the
/// default user, whose password `requirepass` sets) and switches the
/// session to the user. A failure is counted and logged in ACL LOG.
fn authenticate(ctx: &mut Ctx<'_>, user: Option<&Bytes>, pass: &Bytes) -> Result<(), CommandError> {
    let acl = &ctx.shared.acl;
    let name: &[u8] = user.map_or(b"default", |u| u.as_ref());
    if user.is_none() && acl.get(b"default").is_some_and(|d| d.nopass) {
        return Err(error::AUTH_NOT_CONFIGURED);
    }
    // Read before authenticating: a change racing with this AUTH makes
    // the next command re-read the user.
    let generation = acl.generation();
    match acl.authenticate(name, pass) {
        Some(user) => {
            ctx.session.authenticated = true;
            ctx.session.set_user(user, generation);
            Ok(())
        }
        None => {
            let context = if ctx.session.multi.is_some() || ctx.session.in_exec {
                "multi"
            } else {
                "toplevel"
            };
            acl.record(
                crate::acl::Event {
                    reason: Reason::Auth,
                    context,
                    object: Bytes::from_static(b"AUTH"),
                    username: Bytes::copy_from_slice(name),
                    client_info: super::client::describe(&ctx.session.handle, ctx.now, false),
                    addr: ctx.session.handle.addr,
                },
                ctx.now,
            );
            Err(error::WRONGPASS)
        }
    }
}

/// AUTH [username] password
struct Auth {
    user: Option<Bytes>,
    pass: Bytes,
}

impl Auth {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        match args.len() {
            1 => boxed(Auth {
                user: None,
                pass: args.next_arg()?,
            }),
            2 => boxed(Auth {
                user: Some(args.next_arg()?),
                pass: args.next_arg()?,
            }),
            _ => Err(error::SYNTAX),
        }
    }
}

impl Execute for Auth {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        match authenticate(ctx, self.user.as_ref(), &self.pass) {
            Ok(()) => OK,
            Err(e) => e.into(),
        }
    }
}

/// SELECT index
struct Select(i64);

impl Select {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Select(args.next_i64()?))
    }
}

impl Execute for Select {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        match checked_db(ctx, self.0) {
            Ok(db) => {
                ctx.session.select(db);
                OK
            }
            Err(e) => e.into(),
        }
    }
}

/// Checks a database number against the configured count.
pub fn checked_db(ctx: &Ctx<'_>, index: i64) -> Result<usize, CommandError> {
    if index < 0 || index as usize >= ctx.keyspace.db_count() {
        Err(error::DB_OUT_OF_RANGE)
    } else {
        Ok(index as usize)
    }
}

/// QUIT
struct Quit;

impl Quit {
    fn parse(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Quit)
    }
}

impl Execute for Quit {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        ctx.session.close_after_reply = true;
        OK
    }
}

/// RESET
struct Reset;

impl Reset {
    fn parse(_args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Reset)
    }
}

impl Execute for Reset {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let default = ctx.shared.acl.get(b"default").expect("default user exists");
        let generation = ctx.shared.acl.generation();
        let session = &mut *ctx.session;
        session.end_multi();
        session.unwatch_all(ctx.keyspace);
        ctx.shared.pubsub.unsubscribe_all(&session.handle);
        session.select(0);
        session.set_resp3(false);
        session.reply_off = false;
        session.skip_next = false;
        session.authenticated = default.enabled && default.nopass;
        session.set_user(default, generation);
        session.handle.names.lock().expect("names lock").name = None;
        Reply::Simple("RESET")
    }
}
