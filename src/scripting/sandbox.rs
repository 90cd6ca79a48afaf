//! The interpreter's set-up, as Redis sets up its own: the base, string,
//! table, math and coroutine libraries, `os.clock` alone from `os`, the
//! `cjson`, `cmsgpack`, `bit` and `struct` libraries, the `redis` table,
//! and globals that scripts may read but not write (`prelude.lua` does
//! the Lua half). Also: the shebang line, and the texts of script errors.

use ahash::AHashMap;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use super::{Interp, ScriptFlags};
use crate::error::{self, CommandError};

const PRELUDE: &str = include_str!("prelude.lua");

/// The registry name of the weak set of tables scripts may not change.
const READONLY: &str = "sluice.readonly";

/// An error a `redis.*` function raises: its text is the whole message
/// (it starts with its error code), with no `user_script:<line>:` in front.
#[derive(Debug)]
pub(super) struct Raised(pub String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// Raises `text` from a Rust function called by a script.
pub(super) fn raise<T>(text: impl Into<String>) -> mlua::Result<T> {
    Err(mlua::Error::external(Raised(text.into())))
}

fn refuse_readonly(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let readonly: Table = lua.named_registry_value(READONLY)?;
    if readonly.raw_get::<bool>(t.clone()).unwrap_or(false) {
        return raise("ERR Attempt to modify a readonly table");
    }
    Ok(())
}

/// Runs a script function under `xpcall` with the error handler; returns
/// `ok, result-or-error`.
const RUNNER: &str = "local xpcall, handler = ... return function(f) return xpcall(f, handler) end";

/// Builds a new interpreter.
pub(super) fn build() -> mlua::Result<Interp> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::OS,
        LuaOptions::new(),
    )?;
    let globals = lua.globals();
    super::libs::install(&lua, &globals)?;
    let helpers = lua.create_table()?;
    helpers.raw_set(
        "errtext",
        lua.create_function(|_, v: Value| Ok(callback_error_text(&v)))?,
    )?;
    let readonly = lua.create_table()?;
    let weak = lua.create_table()?;
    weak.raw_set("__mode", "k")?;
    readonly.set_metatable(Some(weak))?;
    lua.set_named_registry_value(READONLY, &readonly)?;
    helpers.raw_set("readonly", readonly)?;
    helpers.raw_set("killed", error::SCRIPT_KILLED)?;
    helpers.raw_set(
        "rawset",
        lua.create_function(|lua, (t, k, v): (Table, Value, Value)| {
            refuse_readonly(lua, &t)?;
            t.raw_set(k, v)?;
            Ok(t)
        })?,
    )?;
    helpers.raw_set(
        "setmetatable",
        lua.create_function(|lua, (t, mt): (Table, Option<Table>)| {
            refuse_readonly(lua, &t)?;
            t.set_metatable(mt)?;
            Ok(t)
        })?,
    )?;
    let redis = super::api::redis_table(&lua)?;
    let env: Table = lua.load(PRELUDE).set_name("=prelude").call((
        globals.clone(),
        helpers.clone(),
        redis.clone(),
    ))?;
    let handler = lua.create_function(error_handler)?;
    let runner: Function = lua
        .load(RUNNER)
        .set_name("=runner")
        .call((globals.get::<Function>("xpcall")?, handler))?;
    Ok(Interp {
        lua,
        env,
        redis,
        runner,
        scripts: AHashMap::new(),
    })
}

/// Where the error was raised: the innermost frame of Lua code that is
/// not Sluice's own (`@user_script`, or a chunk the script loaded), with
/// its current line.
fn user_frame(lua: &Lua) -> Option<(String, usize)> {
    for level in 0..10_000 {
        let found = lua.inspect_stack(level, |d| {
            let source = d.source();
            let what = source.what;
            let name = source.source.as_deref().unwrap_or("");
            if (what == "Lua" || what == "main") && !name.starts_with('=') {
                d.current_line().map(|line| (name.to_string(), line))
            } else {
                None
            }
        });
        match found {
            None => return None,
            Some(Some(frame)) => return Some(frame),
            Some(None) => {}
        }
    }
    None
}

/// The error handler every script runs under: it turns what was raised
/// into `{err=text, line=n}`, `text` starting with an error code (`ERR `
/// added to Lua's own errors), `n` the script's line that raised it.
fn error_handler(lua: &Lua, e: Value) -> mlua::Result<Table> {
    let frame = user_frame(lua);
    let line = frame.as_ref().map(|(_, line)| *line);
    let text: Vec<u8> = match &e {
        Value::Table(t) => match t.raw_get::<Value>("err")? {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => b"ERR unknown error".to_vec(),
        },
        Value::String(s) => [b"ERR ".as_slice(), &s.as_bytes()].concat(),
        Value::Error(err) => match raised_text(err) {
            Some(text) => text.into_bytes(),
            None => {
                let where_ = line
                    .map(|l| format!("user_script:{l}: "))
                    .unwrap_or_default();
                format!("ERR {where_}{}", callback_error_text(&e)).into_bytes()
            }
        },
        other => format!("ERR {}", other.to_string().unwrap_or_default()).into_bytes(),
    };
    let out = lua.create_table()?;
    out.raw_set("err", lua.create_string(&text)?)?;
    if let Some((source, line)) = frame {
        out.raw_set("source", source)?;
        out.raw_set("line", line)?;
    }
    Ok(out)
}

/// The message of an error a Rust function raised.
pub(super) fn callback_error_text(v: &Value) -> String {
    match v {
        Value::Error(e) => error_message(e),
        other => other.to_string().unwrap_or_default(),
    }
}

/// The text of a [`Raised`] error, wherever mlua wrapped it.
fn raised_text(e: &mlua::Error) -> Option<String> {
    match e {
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<Raised>().map(|r| r.0.clone()),
        mlua::Error::CallbackError { cause, .. } => raised_text(cause),
        mlua::Error::WithContext { cause, .. } => raised_text(cause),
        _ => None,
    }
}

/// An mlua error's message without mlua's own decorations.
pub(super) fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::ExternalError(inner) => inner.to_string(),
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::BadArgument { cause, .. } => error_message(cause),
        mlua::Error::FromLuaConversionError { from, to, .. } => {
            format!("bad argument ({to} expected, got {from})")
        }
        other => other.to_string(),
    }
}

/// The error reply of a script that raised `value` (the handler's table):
/// its text, then Redis 7's `script: <sha>, on @user_script:<line>.`.
pub(super) fn raised_error(value: &Value, sha: &str) -> CommandError {
    let (text, line) = match value {
        Value::Table(t) => (
            t.raw_get::<mlua::LuaString>("err")
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_else(|_| b"ERR unknown error".to_vec()),
            t.raw_get::<Option<i64>>("line")
                .ok()
                .flatten()
                .zip(t.raw_get::<Option<String>>("source").ok().flatten()),
        ),
        // The handler itself failed (out of stack): Lua's text.
        Value::String(s) => ([b"ERR ".as_slice(), &s.as_bytes()].concat(), None),
        _ => (b"ERR unknown error".to_vec(), None),
    };
    let mut out = super::convert::no_newlines(&text).to_vec();
    match line {
        Some((line, source)) => {
            out.extend_from_slice(format!(" script: {sha}, on {source}:{line}.").as_bytes())
        }
        None => out.extend_from_slice(format!(" script: {sha}, on @user_script:?.").as_bytes()),
    }
    CommandError(out.into())
}

/// Splits a script into its shebang flags and the code to compile. The
/// shebang line is replaced by an empty one so line numbers stay right.
pub(super) fn shebang(body: &[u8]) -> Result<(ScriptFlags, Vec<u8>), CommandError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), body.to_vec()));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(error::SCRIPT_BAD_SHEBANG);
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(error::script_bad_engine(engine));
    }
    let mut flags = ScriptFlags {
        shebang: true,
        no_writes: false,
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(error::script_bad_option(part));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => return Err(error::script_bad_flag(other)),
            }
        }
    }
    Ok((flags, body[end..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_keeps_line_numbers() {
        let (flags, code) = shebang(b"#!lua flags=no-writes\nreturn 1").unwrap();
        assert!(flags.shebang && flags.no_writes);
        assert_eq!(code, b"\nreturn 1");
        assert!(shebang(b"#!lua").is_err());
        assert!(shebang(b"#!lua flags=bogus\n").is_err());
    }
}
