//! The Lua scripting engine behind EVAL and EVALSHA: one Lua 5.1
//! interpreter (through `mlua`, built from source) with Redis's sandbox,
//! and the cache of compiled scripts by SHA1.
//!
//! - `mod.rs`: [`Engine`]: compiling, caching and running scripts
//! - `sandbox.rs`: the interpreter's set-up: libraries, the `redis` table,
//!   read-only globals (its Lua half is `prelude.lua`)
//! - `call.rs`: `redis.call` / `redis.pcall`: a command run from a script
//!   through the command table, with the checks Redis makes there
//! - `convert.rs`: Lua values to replies and back
//! - `resp.rs`: reading back replies that commands sent already encoded
//! - `libs/`: `cjson`, `cmsgpack`, `bit` and `struct` written in Rust
//!
//! A script runs inside a command's execution, with the keyspace lock held
//! (so nothing else runs meanwhile, as in Redis) and the session marked as
//! in EXEC (so blocking commands it calls answer at once). Its writes are
//! journaled by the dispatcher after the command ends, as one batch record,
//! like any command's: all of a script's writes survive a crash or none do.

mod api;
mod call;
pub mod convert;
pub mod libs;
mod resp;
mod sandbox;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ahash::AHashMap;
use bytes::Bytes;
use mlua::{Function, Lua, Table, Value};

use crate::commands::Ctx;
use crate::error::{self, CommandError};
use crate::protocol::Reply;

/// A compiled script.
struct Script {
    function: Function,
    flags: ScriptFlags,
    /// The body's length (INFO's `used_memory_scripts_eval`).
    size: usize,
}

/// What a script's shebang line (`#!lua flags=…`) declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// The script had a shebang line: without one, a script runs in
    /// compatibility mode (it may write unless run by EVAL_RO).
    pub shebang: bool,
    /// `no-writes`: the script may not call write commands.
    pub no_writes: bool,
}

struct Interp {
    lua: Lua,
    /// The table every script runs with as its globals.
    env: Table,
    /// The real `redis` table (scripts see a read-only proxy of it); the
    /// functions that need the running command are set on it per run.
    redis: Table,
    /// Calls `xpcall` with the sandbox's error handler.
    runner: Function,
    scripts: AHashMap<String, Script>,
}

/// The interpreter and the script cache. Scripts run with the keyspace
/// lock held; this lock is only ever taken inside it.
pub struct Engine {
    inner: Mutex<Interp>,
    state: Arc<RunState>,
}

/// What other connections may know of scripts while one runs (read
/// without the keyspace lock, which the script holds).
#[derive(Debug, Default)]
struct RunState {
    /// EVAL-family requests handed to a blocking thread and not done.
    pending: AtomicUsize,
    /// The running script has run past `busy-reply-threshold`.
    busy: AtomicBool,
    /// SCRIPT KILL asked the running script to stop.
    kill: AtomicBool,
    /// The running script has called a write command.
    wrote: AtomicBool,
    /// Wakes connections waiting in [`Engine::wait_turn`].
    changed: tokio::sync::Notify,
}

/// Marks an EVAL-family request as pending while it lives (see
/// [`Engine::begin_pending`]).
pub struct Pending(Arc<RunState>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

/// Where the script to run comes from.
pub enum Source {
    /// EVAL: the body (compiled and cached on first use).
    Body(Bytes),
    /// EVALSHA: a cached script's SHA1, in hex.
    Sha(Bytes),
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// A fresh interpreter with an empty cache.
    pub fn new() -> Engine {
        Engine {
            inner: Mutex::new(Interp::new()),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Interp> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Announces an EVAL-family request about to run on a blocking thread:
    /// until the guard drops, other connections wait (without blocking
    /// their thread) rather than queue on the keyspace lock, so that they
    /// can be told BUSY once the script runs too long.
    pub fn begin_pending(&self) -> Pending {
        self.state.pending.fetch_add(1, Ordering::SeqCst);
        Pending(self.state.clone())
    }

    /// Whether a script request is pending or running and not yet busy:
    /// another connection's command should wait.
    fn should_wait(&self) -> bool {
        self.state.pending.load(Ordering::SeqCst) > 0 && !self.is_busy()
    }

    /// Waits (asynchronously) until no script is pending or the running one
    /// is busy; at once in the common case.
    pub async fn wait_turn(&self) {
        loop {
            let notified = self.state.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.should_wait() {
                return;
            }
            notified.await;
        }
    }

    /// Waits (asynchronously) until no script is pending or running, for
    /// work that must take the keyspace lock on a thread that serves
    /// clients (the expiry sweep, a closing connection).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.state.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.state.pending.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Whether a script has run past `busy-reply-threshold`.
    pub fn is_busy(&self) -> bool {
        self.state.busy.load(Ordering::SeqCst)
    }

    /// SCRIPT KILL while a script is busy: asks it to stop, unless it has
    /// written (UNKILLABLE).
    pub fn kill(&self) -> Result<(), CommandError> {
        if !self.is_busy() {
            return Err(error::NOTBUSY);
        }
        if self.state.wrote.load(Ordering::SeqCst) {
            return Err(error::UNKILLABLE);
        }
        self.state.kill.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// SCRIPT LOAD: compiles and caches a script; returns its SHA1.
    pub fn load(&self, body: &[u8]) -> Result<String, CommandError> {
        let mut interp = self.lock();
        let sha = sha1_hex(body);
        interp.compile(&sha, body)?;
        Ok(sha)
    }

    /// SCRIPT EXISTS for one SHA1 (any case).
    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.lock().scripts.contains_key(&sha)
    }

    /// SCRIPT FLUSH: forgets every script and starts a new interpreter.
    pub fn flush(&self) {
        *self.lock() = Interp::new();
    }

    /// How many scripts the cache holds.
    pub fn cached_scripts(&self) -> usize {
        self.lock().scripts.len()
    }

    /// Bytes of cached script bodies.
    pub fn script_bytes(&self) -> usize {
        self.lock().scripts.values().map(|s| s.size).sum()
    }

    /// Bytes the interpreter holds.
    pub fn used_memory(&self) -> usize {
        self.lock().lua.used_memory()
    }

    /// Runs a script (EVAL, EVALSHA and their `_RO` forms). The caller has
    /// checked `numkeys`.
    pub fn run(
        &self,
        ctx: &mut Ctx<'_>,
        source: Source,
        keys: Vec<Bytes>,
        argv: Vec<Bytes>,
        read_only: bool,
    ) -> Reply {
        let mut interp = self.lock();
        let sha = match &source {
            Source::Body(body) => {
                let sha = sha1_hex(body);
                if let Err(e) = interp.compile(&sha, body) {
                    return Reply::Error(e);
                }
                sha
            }
            Source::Sha(sha) => {
                let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
                if !interp.scripts.contains_key(&sha) {
                    return Reply::Error(error::NOSCRIPT);
                }
                sha
            }
        };
        let flags = interp.scripts[&sha].flags;
        if read_only && flags.shebang && !flags.no_writes {
            return Reply::Error(error::SCRIPT_WRITE_FLAG_IN_RO);
        }
        let interp = &*interp;
        let threshold = ctx
            .shared
            .config
            .read()
            .expect("config lock")
            .busy_reply_threshold;
        self.watch(&interp.lua, threshold);
        let result = interp.run(
            ctx,
            &sha,
            keys,
            argv,
            read_only || flags.no_writes,
            &self.state.wrote,
        );
        interp.lua.remove_hook();
        self.state.busy.store(false, Ordering::SeqCst);
        self.state.kill.store(false, Ordering::SeqCst);
        match result {
            Ok(reply) => reply,
            Err(e) => Reply::Error(CommandError::new(format!("ERR {e}"))),
        }
    }
}

impl Engine {
    /// Installs the hook that marks the script busy after `threshold_ms`
    /// and stops it once SCRIPT KILL asks.
    fn watch(&self, lua: &Lua, threshold_ms: i64) {
        let state = self.state.clone();
        state.busy.store(false, Ordering::SeqCst);
        state.kill.store(false, Ordering::SeqCst);
        state.wrote.store(false, Ordering::SeqCst);
        let started = Instant::now();
        let threshold = Duration::from_millis(threshold_ms.max(0) as u64);
        let triggers = mlua::HookTriggers::new().every_nth_instruction(10_000);
        let _ = lua.set_hook(triggers, move |_, _| {
            if state.kill.load(Ordering::SeqCst) {
                return sandbox::raise(error::SCRIPT_KILLED);
            }
            if !state.busy.load(Ordering::SeqCst) && started.elapsed() >= threshold {
                tracing::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the SCRIPT KILL command.",
                    started.elapsed().as_millis()
                );
                state.busy.store(true, Ordering::SeqCst);
                state.changed.notify_waiters();
            }
            Ok(mlua::VmState::Continue)
        });
    }
}

impl Interp {
    fn new() -> Interp {
        sandbox::build().expect("the Lua sandbox starts")
    }

    fn compile(&mut self, sha: &str, body: &[u8]) -> Result<(), CommandError> {
        if self.scripts.contains_key(sha) {
            return Ok(());
        }
        let (flags, code) = sandbox::shebang(body)?;
        let function = self
            .lua
            .load(&code[..])
            .set_name("@user_script")
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| error::script_compile(&sandbox::error_message(&e)))?;
        self.scripts.insert(
            sha.to_string(),
            Script {
                function,
                flags,
                size: body.len(),
            },
        );
        Ok(())
    }

    fn run(
        &self,
        ctx: &mut Ctx<'_>,
        sha: &str,
        keys: Vec<Bytes>,
        argv: Vec<Bytes>,
        read_only: bool,
        wrote: &AtomicBool,
    ) -> mlua::Result<Reply> {
        let lua = &self.lua;
        let strings = |words: Vec<Bytes>| -> mlua::Result<Table> {
            let t = lua.create_table_with_capacity(words.len(), 0)?;
            for (i, w) in words.into_iter().enumerate() {
                t.raw_set(i + 1, lua.create_string(&w)?)?;
            }
            Ok(t)
        };
        self.env.raw_set("KEYS", strings(keys)?)?;
        self.env.raw_set("ARGV", strings(argv)?)?;
        let function = self.scripts[sha].function.clone();
        let client_resp3 = ctx.session.resp3;
        let saved_db = ctx.session.db;
        let saved_in_exec = ctx.session.in_exec;
        ctx.session.in_exec = true;
        let resp3 = Cell::new(false);
        let bridge = std::cell::RefCell::new(call::Bridge {
            ctx: &mut *ctx,
            read_only,
            resp3: &resp3,
            wrote,
        });
        let outcome = lua.scope(|scope| {
            let bridge = &bridge;
            self.redis.raw_set(
                "call",
                scope.create_function(move |lua, args: mlua::MultiValue| {
                    bridge.borrow_mut().call(lua, args, true)
                })?,
            )?;
            self.redis.raw_set(
                "pcall",
                scope.create_function(move |lua, args: mlua::MultiValue| {
                    bridge.borrow_mut().call(lua, args, false)
                })?,
            )?;
            self.redis.raw_set(
                "acl_check_cmd",
                scope.create_function(move |lua, args: mlua::MultiValue| {
                    bridge.borrow_mut().acl_check(lua, args)
                })?,
            )?;
            self.redis.raw_set(
                "setresp",
                scope.create_function(|_, args: mlua::MultiValue| {
                    if args.len() != 1 {
                        return sandbox::raise("ERR redis.setresp() requires one argument.");
                    }
                    match args.front() {
                        Some(Value::Integer(2)) => resp3.set(false),
                        Some(Value::Integer(3)) => resp3.set(true),
                        _ => return sandbox::raise("ERR RESP version must be 2 or 3."),
                    }
                    Ok(())
                })?,
            )?;
            let (ok, value): (bool, Value) = self.runner.call(function)?;
            if ok {
                return Ok(convert::lua_to_reply(&value, resp3.get(), client_resp3));
            }
            Ok(Reply::Error(sandbox::raised_error(&value, sha)))
        });
        ctx.session.in_exec = saved_in_exec;
        if ctx.session.db != saved_db {
            ctx.session.select(saved_db);
        }
        ctx.session.resp3 = client_resp3;
        outcome
    }
}

/// The lower-case hex SHA1 of a script body (its name in the cache).
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}
