//! Running one request: lookup, authentication, MULTI queueing, parsing,
//! execution under the keyspace lock, statistics.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use super::{Session, Shared};
use crate::acl::{self, Denied, Reason};
use crate::commands::{Args, CommandTable, Ctx, Execute, Kind, Lookup};
use crate::error::{self, CommandError};
use crate::protocol::Reply;
use crate::server::session::Queued;

/// Commands that run at once inside MULTI instead of being queued.
const NOT_QUEUED: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// Commands a RESP2 client may run while subscribed.
const PUBSUB_CONTEXT: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Runs one request from a client and returns its reply.
pub fn run(shared: &Shared, session: &mut Session, words: Vec<Bytes>) -> Reply {
    // A reply that never takes the lock goes after what was published so far.
    session.pubsub_mark = shared.pubsub.mark();
    let table = CommandTable::global();
    let lookup = match table.lookup(&words) {
        Ok(lookup) => lookup,
        Err(e) => {
            // A complete request, even a refused one, is activity.
            session.handle.mark_active(shared.clock.now_ms());
            // Arity errors count as rejected calls of a known command.
            if let Some(id) = table.find(&words[0]) {
                reject_stat(shared, id, &words);
            }
            return reject(shared, session, e);
        }
    };
    let entry = table.entry(lookup.id);
    // One reading of the clock serves the whole command, as Redis's
    // command time snapshot does.
    let now = shared.clock.now_ms();
    session.handle.touch(now, lookup.id);
    if session.acl_generation != shared.acl.generation() {
        refresh_user(shared, session);
    }
    if !session.authenticated && !entry.spec.has_flag("no_auth") {
        shared.stats.commands[lookup.id]
            .rejected_calls
            .fetch_add(1, Ordering::Relaxed);
        return reject(shared, session, error::NOAUTH);
    }
    // A script past busy-reply-threshold holds the keyspace lock: only
    // SCRIPT KILL and SHUTDOWN NOSAVE are served, without the lock.
    if shared.scripting.is_busy() {
        match entry.full_name.as_str() {
            "script|kill" => {
                return match shared.scripting.kill() {
                    Ok(()) => crate::protocol::OK,
                    Err(e) => reject(shared, session, e),
                }
            }
            "shutdown" if words.iter().any(|w| w.eq_ignore_ascii_case(b"nosave")) => {
                // The script's writes are not journaled yet: leaving now
                // is a crash after the last acknowledged write.
                tracing::warn!("SHUTDOWN NOSAVE while a script runs: exiting now");
                std::process::exit(0);
            }
            _ => return reject(shared, session, error::BUSY),
        }
    }
    if entry.spec.has_flag("write") {
        if let Some(why) = shared.storage.journal.failure() {
            shared.stats.commands[lookup.id]
                .rejected_calls
                .fetch_add(1, Ordering::Relaxed);
            return reject(shared, session, error::misconf(&why));
        }
    }
    if !session.resp3
        && session.handle.pubsub.is_subscribed()
        && !PUBSUB_CONTEXT.contains(&entry.full_name.as_str())
    {
        shared.stats.commands[lookup.id]
            .rejected_calls
            .fetch_add(1, Ordering::Relaxed);
        return reject(shared, session, error::pubsub_context(&entry.full_name));
    }
    if session.multi.is_some() && entry.spec.has_flag("no_multi") {
        shared.stats.commands[lookup.id]
            .rejected_calls
            .fetch_add(1, Ordering::Relaxed);
        return reject(shared, session, error::NOT_IN_MULTI);
    }
    // AUTH, HELLO, QUIT and RESET stay open to every user, as in Redis.
    if !session.acl_unrestricted && !entry.spec.has_flag("no_auth") {
        if let Err(e) = check_acl(shared, session, lookup.id, &words, now, Site::Toplevel) {
            shared.stats.commands[lookup.id]
                .rejected_calls
                .fetch_add(1, Ordering::Relaxed);
            return reject(shared, session, e);
        }
    }
    if let Some(multi) = session.multi.as_mut() {
        if !NOT_QUEUED.contains(&entry.full_name.as_str()) {
            multi.queued.push(Queued { lookup, words });
            session.handle.set_multi(Some(multi.queued.len()));
            return Reply::Simple("QUEUED");
        }
    }
    let command = match parse(lookup, words) {
        Ok(command) => command,
        Err(e) => return failed(shared, lookup.id, e),
    };
    let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
    // A failed journal write left changes in memory that the log lost: no
    // command may see them.
    shared.rollback_if_needed(&mut keyspace);
    // Publishes run under this lock too: the mark is exact from here on.
    session.pubsub_mark = shared.pubsub.mark();
    let mut ctx = Ctx {
        now,
        keyspace: &mut keyspace,
        shared,
        session,
    };
    let reply = execute(&mut ctx, lookup.id, command);
    keyspace.end_command();
    if let Some(request) = session.block_request.take() {
        let rx = super::blocking::register(&mut keyspace, session.id, session.db, request.read);
        session.waiting = Some((rx, request.timeout));
    }
    // Blocked clients whose keys this command changed are served now, in
    // the order they blocked, before any other command runs.
    super::blocking::serve_ready(&mut keyspace, shared, now);
    let outbox = keyspace.blocking.take_outbox();
    // What the command changed goes to the log before the lock is let go,
    // so the log's order is the execution order.
    match shared.journal_changes(&mut keyspace) {
        Ok(0) => {
            super::blocking::deliver(outbox, session.unflushed_lsn);
            reply
        }
        Ok(lsn) => {
            session.unflushed_lsn = lsn;
            super::blocking::deliver(outbox, lsn);
            reply
        }
        // The journal failed meanwhile: never acknowledge what it lost, and
        // take the command's changes back out of memory.
        Err(e) => {
            shared.storage.journal.request_rollback();
            shared.rollback_if_needed(&mut keyspace);
            let e = error::misconf(&e.to_string());
            let failed = outbox
                .into_iter()
                .map(|(tx, _)| (tx, Reply::Error(e.clone())))
                .collect();
            super::blocking::deliver(failed, 0);
            Reply::Error(e)
        }
    }
}

/// Re-reads the session's user after any ACL change. On the first command
/// the user is `default`, and the connection is logged in if `default` is
/// on and needs no password. A connection whose user was deleted is closed.
fn refresh_user(shared: &Shared, session: &mut Session) {
    let generation = shared.acl.generation();
    match &session.user {
        None => {
            let default = shared.acl.get(b"default").expect("default user exists");
            session.authenticated = default.enabled && default.nopass;
            session.set_user(default, generation);
        }
        Some(user) => match shared.acl.get(&user.name) {
            Some(user) => session.set_user(user, generation),
            None => {
                session.acl_generation = generation;
                session.authenticated = false;
                session.handle.kill();
            }
        },
    }
}

/// Where a command whose permissions are checked comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Site {
    /// A client's request (or one queued in MULTI).
    Toplevel,
    /// A queued command, checked again at EXEC.
    Exec,
    /// `redis.call` in a script.
    Script,
}

/// The permission check of a command a script calls: ACL LOG records it
/// with context `lua`, and the error is Redis's text for scripts.
pub fn check_acl_in_script(ctx: &Ctx<'_>, id: usize, words: &[Bytes]) -> Result<(), CommandError> {
    check_acl(ctx.shared, ctx.session, id, words, ctx.now, Site::Script)
}

/// The permission check: the command, then its keys, then its channels.
/// A denial is counted, logged in ACL LOG and answered with NOPERM (with
/// Redis's longer text for a queued command refused at EXEC, and its
/// script text for `redis.call`).
fn check_acl(
    shared: &Shared,
    session: &Session,
    id: usize,
    words: &[Bytes],
    now: i64,
    site: Site,
) -> Result<(), CommandError> {
    let Some(user) = &session.user else {
        return Ok(());
    };
    let entry = CommandTable::global().entry(id);
    let Err(denied) = acl::check(user, id, entry, words) else {
        return Ok(());
    };
    let (reason, object, e) = match denied {
        Denied::Command => (
            Reason::Command,
            Bytes::from(entry.full_name.clone()),
            error::noperm_command(&user.name, &entry.full_name),
        ),
        Denied::Key(i) => (Reason::Key, words[i].clone(), error::NOPERM_KEY),
        Denied::Channel(i) => (Reason::Channel, words[i].clone(), error::NOPERM_CHANNEL),
    };
    let e = match site {
        Site::Exec => error::noperm_at_exec(reason.name()),
        Site::Script => error::noperm_in_script(reason.name()),
        Site::Toplevel => e,
    };
    let context = if site == Site::Script {
        "lua"
    } else if session.multi.is_some() || session.in_exec {
        "multi"
    } else {
        "toplevel"
    };
    shared.acl.record(
        crate::acl::Event {
            reason,
            context,
            object,
            username: user.name.clone(),
            client_info: crate::commands::client::describe(&session.handle, now, false),
            addr: session.handle.addr,
        },
        now,
    );
    Err(e)
}

/// Parses the words of a command found by `lookup`.
pub fn parse(lookup: Lookup, mut words: Vec<Bytes>) -> Result<Box<dyn Execute>, CommandError> {
    let spec = CommandTable::global().entry(lookup.id).spec;
    let (Kind::Parse(parser) | Kind::Both(parser, _)) = spec.kind else {
        unreachable!("lookup resolves containers to their subcommands");
    };
    let args = words.split_off(lookup.skip);
    parser(Args::named(args, words.pop()))
}

/// Runs a parsed command with the keyspace locked, counting its call.
pub fn execute(ctx: &mut Ctx<'_>, id: usize, command: Box<dyn Execute>) -> Reply {
    let started = Instant::now();
    let reply = command.execute(ctx);
    let stat = &ctx.shared.stats.commands[id];
    stat.calls.fetch_add(1, Ordering::Relaxed);
    stat.usec
        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    ctx.shared
        .stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
    if let Reply::Error(e) = &reply {
        stat.failed_calls.fetch_add(1, Ordering::Relaxed);
        ctx.shared.stats.count_error(e.code());
    }
    reply
}

/// A command refused before it ran: inside MULTI this also dooms EXEC.
fn reject(shared: &Shared, session: &mut Session, e: CommandError) -> Reply {
    if let Some(multi) = session.multi.as_mut() {
        multi.aborted = true;
    }
    shared.stats.count_error(e.code());
    Reply::Error(e)
}

fn reject_stat(shared: &Shared, top_id: usize, words: &[Bytes]) {
    let table = CommandTable::global();
    // For a container, count the subcommand when it exists.
    let id = match (&table.entry(top_id).spec.kind, words.get(1)) {
        (Kind::Container(_) | Kind::Both(..), Some(_)) => {
            let mut full = words[0].to_vec();
            full.push(b'|');
            full.extend_from_slice(&words[1]);
            match table.find_full(&full) {
                Some(id) => id,
                None => return,
            }
        }
        _ => top_id,
    };
    shared.stats.commands[id]
        .rejected_calls
        .fetch_add(1, Ordering::Relaxed);
}

/// A command whose arguments did not parse: it counts as a failed call.
fn failed(shared: &Shared, id: usize, e: CommandError) -> Reply {
    let stat = &shared.stats.commands[id];
    stat.calls.fetch_add(1, Ordering::Relaxed);
    stat.failed_calls.fetch_add(1, Ordering::Relaxed);
    shared
        .stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
    shared.stats.count_error(e.code());
    Reply::Error(e)
}

/// Parses and runs a queued command inside EXEC (the lock is already held).
pub fn run_queued(ctx: &mut Ctx<'_>, queued: Queued) -> Reply {
    let id = queued.lookup.id;
    ctx.session.in_exec = true;
    // Permissions may have changed since the command was queued.
    let no_auth = CommandTable::global().entry(id).spec.has_flag("no_auth");
    if !ctx.session.acl_unrestricted && !no_auth {
        if let Err(e) = check_acl(
            ctx.shared,
            ctx.session,
            id,
            &queued.words,
            ctx.now,
            Site::Exec,
        ) {
            ctx.session.in_exec = false;
            return failed(ctx.shared, id, e);
        }
    }
    let reply = match parse(queued.lookup, queued.words) {
        Ok(command) => execute(ctx, id, command),
        Err(e) => failed(ctx.shared, id, e),
    };
    ctx.session.in_exec = false;
    reply
}
