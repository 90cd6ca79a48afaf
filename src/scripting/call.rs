//! `redis.call`, `redis.pcall` and `redis.acl_check_cmd`: a command run
//! from a script, through the same command table, parser and execution
//! path as a client's, with the checks Redis makes for scripts (commands
//! flagged `noscript` refused, writes refused in read-only scripts, ACL
//! rules of the script's user) and their error texts.

use std::cell::Cell;

use bytes::Bytes;
use mlua::{Lua, MultiValue, Value};

use super::convert;
use crate::commands::{CommandTable, Ctx};
use crate::error::{self, CommandError};
use crate::protocol::Reply;
use crate::server::dispatch;

/// What a running script's Rust callbacks share.
pub(super) struct Bridge<'c, 'a> {
    /// The EVAL command's context: the keyspace (locked), the session.
    pub ctx: &'c mut Ctx<'a>,
    /// EVAL_RO, or a `no-writes` script.
    pub read_only: bool,
    /// The protocol the script chose with `redis.setresp`.
    pub resp3: &'c Cell<bool>,
    /// Set once the script calls a write command (SCRIPT KILL then
    /// answers UNKILLABLE).
    pub wrote: &'c std::sync::atomic::AtomicBool,
}

impl Bridge<'_, '_> {
    /// `redis.call` (`raise`) or `redis.pcall`: the converted reply; an
    /// error reply is raised by `redis.call`, returned as `{err=…}` by
    /// `redis.pcall`.
    pub fn call(&mut self, lua: &Lua, args: MultiValue, raise: bool) -> mlua::Result<Value> {
        let reply = match self.words(lua, args) {
            Ok(words) => self.run(words),
            Err(e) => Reply::Error(e),
        };
        match reply {
            Reply::Error(e) if raise => super::sandbox::raise(String::from_utf8_lossy(&e.0)),
            Reply::Error(e) => {
                let t = lua.create_table()?;
                t.raw_set("err", lua.create_string(&e.0)?)?;
                Ok(Value::Table(t))
            }
            reply => convert::reply_to_lua(lua, reply, self.resp3.get()),
        }
    }

    /// `redis.acl_check_cmd(name, args…)`: whether the script's user may
    /// run the command.
    pub fn acl_check(&mut self, lua: &Lua, args: MultiValue) -> mlua::Result<bool> {
        let words = match self.words(lua, args) {
            Ok(words) => words,
            Err(e) => return super::sandbox::raise(String::from_utf8_lossy(&e.0)),
        };
        let table = CommandTable::global();
        let Ok(lookup) = table.lookup(&words) else {
            return super::sandbox::raise("ERR Invalid command passed to redis.acl_check_cmd()");
        };
        let Some(user) = &self.ctx.session.user else {
            return Ok(true);
        };
        if self.ctx.session.acl_unrestricted {
            return Ok(true);
        }
        let entry = table.entry(lookup.id);
        Ok(crate::acl::check(user, lookup.id, entry, &words).is_ok())
    }

    /// The command's words: strings, and numbers as Lua writes them.
    fn words(&self, _lua: &Lua, args: MultiValue) -> Result<Vec<Bytes>, CommandError> {
        if args.is_empty() {
            return Err(error::SCRIPT_NO_ARGS);
        }
        let mut words = Vec::with_capacity(args.len());
        for arg in args {
            // Numbers are written exactly (Redis 7.2+ writes the shortest
            // text that reads back as the same double), not as Lua's %.14g.
            let word = match arg {
                Value::String(s) => Bytes::copy_from_slice(&s.as_bytes()),
                Value::Integer(i) => Bytes::from(i.to_string()),
                Value::Number(n) => Bytes::from(format!("{n}")),
                _ => return Err(error::SCRIPT_BAD_ARG_TYPE),
            };
            words.push(word);
        }
        Ok(words)
    }

    /// Looks the command up, checks it may run here, and runs it.
    fn run(&mut self, words: Vec<Bytes>) -> Reply {
        let table = CommandTable::global();
        let lookup = match table.lookup(&words) {
            Ok(lookup) => lookup,
            Err(e) if e.0.starts_with(b"ERR unknown") => {
                return error::SCRIPT_UNKNOWN_COMMAND.into()
            }
            Err(_) => return error::SCRIPT_WRONG_ARITY.into(),
        };
        let entry = table.entry(lookup.id);
        let spec = entry.spec;
        // Blocking commands run in their non-blocking form (Redis 7.2+
        // lets scripts call them), except XREAD/XREADGROUP BLOCK.
        if spec.has_flag("noscript") && !spec.has_flag("blocking") {
            return error::SCRIPT_COMMAND_NOT_ALLOWED.into();
        }
        if matches!(entry.full_name.as_str(), "xread" | "xreadgroup")
            && words.iter().any(|w| w.eq_ignore_ascii_case(b"block"))
        {
            return error::script_block_option(&entry.full_name).into();
        }
        let ctx = &mut *self.ctx;
        if spec.has_flag("write") {
            if self.read_only {
                return error::SCRIPT_WRITE_IN_RO.into();
            }
            if let Some(why) = ctx.shared.storage.journal.failure() {
                return error::misconf(&why).into();
            }
            self.wrote.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if !ctx.session.acl_unrestricted {
            if let Err(e) = dispatch::check_acl_in_script(ctx, lookup.id, &words) {
                return e.into();
            }
        }
        let command = match dispatch::parse(lookup, words) {
            Ok(command) => command,
            Err(e) => return e.into(),
        };
        let client_resp3 = ctx.session.resp3;
        ctx.session.resp3 = self.resp3.get();
        let reply = dispatch::execute(ctx, lookup.id, command);
        ctx.session.resp3 = client_resp3;
        reply
    }
}
