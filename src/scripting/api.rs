//! The `redis` table's functions that do not need the running command:
//! `error_reply`, `status_reply`, `sha1hex`, `log`, `set_repl`,
//! `replicate_commands`, `breakpoint`, `debug`, and the constants. The
//! others (`call`, `pcall`, `setresp`, `acl_check_cmd`) are set on the
//! table for each run (see [`super::Engine::run`]).

use mlua::{Lua, MultiValue, Table, Value};

use super::sandbox::raise;

/// Builds the `redis` table.
pub(super) fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| reply_table(lua, args, "err"))?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| reply_table(lua, args, "ok"))?,
    )?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            let (1, Some(v)) = (args.len(), args.front()) else {
                return raise("ERR wrong number of arguments");
            };
            let text = lua.coerce_string(v.clone())?.map(|s| s.as_bytes().to_vec());
            lua.create_string(super::sha1_hex(&text.unwrap_or_default()))
        })?,
    )?;
    redis.raw_set("log", lua.create_function(log)?)?;
    redis.raw_set(
        "set_repl",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return raise("ERR redis.set_repl() requires one argument.");
            }
            match args.front() {
                Some(Value::Integer(0..=3)) => Ok(()),
                _ => raise(
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ),
            }
        })?,
    )?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    redis.raw_set("REDIS_VERSION", crate::server::REDIS_VERSION)?;
    redis.raw_set(
        "REDIS_VERSION_NUM",
        version_num(crate::server::REDIS_VERSION),
    )?;
    Ok(redis)
}

/// `redis.error_reply(text)` / `redis.status_reply(text)`: `{err=text}`
/// (one leading `-` dropped) or `{ok=text}`.
fn reply_table(lua: &Lua, args: MultiValue, field: &str) -> mlua::Result<Table> {
    let (1, Some(Value::String(s))) = (args.len(), args.front()) else {
        return raise("ERR wrong number or type of arguments");
    };
    let bytes = s.as_bytes();
    let text = match (field, bytes.first()) {
        ("err", Some(b'-')) => &bytes[1..],
        _ => &bytes[..],
    };
    let t = lua.create_table()?;
    t.raw_set(field, lua.create_string(text)?)?;
    Ok(t)
}

/// `redis.log(level, message, …)`: the message parts joined by spaces, to
/// the server log at the matching level.
fn log(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return raise("ERR redis.log() requires two arguments or more.");
    }
    let mut args = args.into_iter();
    let level = match args.next() {
        Some(Value::Integer(n)) => n,
        Some(Value::Number(n)) => n as i64,
        _ => return raise("ERR First argument must be a number (log level)."),
    };
    if !(0..=3).contains(&level) {
        return raise("ERR Invalid debug level.");
    }
    let parts: Vec<String> = args
        .map(|v| {
            lua.coerce_string(v)
                .ok()
                .flatten()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default()
        })
        .collect();
    let text = parts.join(" ");
    match level {
        0 | 1 => tracing::debug!(target: "lua", "{text}"),
        2 => tracing::info!(target: "lua", "{text}"),
        _ => tracing::warn!(target: "lua", "{text}"),
    }
    Ok(())
}

/// `7.4.0` as Redis's `0x00MMmmpp` number.
pub(super) fn version_num(version: &str) -> i64 {
    version
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .chain(std::iter::repeat(0))
        .take(3)
        .fold(0, |acc, p| (acc << 8) | (p & 0xff))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_number_packs_three_parts() {
        assert_eq!(super::version_num("7.0.15"), 458767);
        assert_eq!(super::version_num("7.4.0"), 0x070400);
    }
}
