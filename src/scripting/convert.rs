//! Conversions between Lua values and replies, both ways, by Redis 7's
//! rules.
//!
//! A command's reply becomes a Lua value (what `redis.call` returns):
//!
//! | reply | RESP2 script | RESP3 script (`redis.setresp(3)`) |
//! | --- | --- | --- |
//! | integer | number | number |
//! | bulk string | string | string |
//! | null | `false` | `nil` |
//! | status | `{ok=…}` | `{ok=…}` |
//! | error | `{err=…}` | `{err=…}` |
//! | array | table | table |
//! | map | flat table | `{map={k=v…}}` |
//! | set | table | `{set={m=true…}}` |
//! | double | string | `{double=n}` |
//! | boolean | `1` / `0` | `true` / `false` |
//! | verbatim | string | `{verbatim_string={format=…, string=…}}` |
//!
//! A script's result becomes the reply: a string is a bulk string, a number
//! an integer (the fraction cut off), `true` an integer 1 (a RESP3 `#t` once
//! the script chose RESP3), `false` and `nil` a null (`#f` for `false` in
//! RESP3), a table with `err` an error, with `ok` a status, with `double`,
//! `big_number`, `map`, `set` or `verbatim_string` that RESP3 type, and
//! any other table an array of its items from 1 up to the first `nil`.

use bytes::{BufMut, Bytes, BytesMut};
use mlua::{Lua, Table, Value};

use crate::error::CommandError;
use crate::protocol::Reply;

/// How deep a returned table may nest before the reply says so.
const MAX_DEPTH: usize = 500;

/// Turns a command's reply into the Lua value `redis.call` returns.
pub fn reply_to_lua(lua: &Lua, reply: Reply, resp3: bool) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Simple(s) => tagged(lua, "ok", Value::String(lua.create_string(s)?))?,
        Reply::Status(s) => tagged(lua, "ok", Value::String(lua.create_string(&s)?))?,
        Reply::Error(e) => tagged(lua, "err", Value::String(lua.create_string(&e.0)?))?,
        Reply::Int(n) => Value::Number(n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(&b)?),
        Reply::Null | Reply::NullArray if resp3 => Value::Nil,
        Reply::Null | Reply::NullArray => Value::Boolean(false),
        Reply::Array(items) | Reply::Push(items) | Reply::Frames(items) => list(lua, items, resp3)?,
        Reply::Set(items) if resp3 => {
            let set = lua.create_table()?;
            for item in items {
                set.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            tagged(lua, "set", Value::Table(set))?
        }
        Reply::Set(items) => list(lua, items, resp3)?,
        Reply::Map(pairs) | Reply::PairMap(pairs) if resp3 => {
            let map = lua.create_table()?;
            for (k, v) in pairs {
                map.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            tagged(lua, "map", Value::Table(map))?
        }
        Reply::Map(pairs) => {
            let flat = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
            list(lua, flat, resp3)?
        }
        Reply::PairMap(pairs) => {
            let nested = pairs
                .into_iter()
                .map(|(k, v)| Reply::Array(vec![k, v]))
                .collect();
            list(lua, nested, resp3)?
        }
        Reply::Double(d) if resp3 => tagged(lua, "double", Value::Number(d))?,
        Reply::Double(d) => {
            let mut out = BytesMut::new();
            Reply::Double(d).encode(&mut out, false);
            reply_to_lua(lua, super::resp::parse(&out.freeze()), resp3)?
        }
        Reply::Bool(b) if resp3 => Value::Boolean(b),
        Reply::Bool(b) => Value::Number(b as i64 as f64),
        Reply::Verbatim(text) if resp3 => {
            let inner = lua.create_table()?;
            inner.raw_set("format", "txt")?;
            inner.raw_set("string", lua.create_string(&text)?)?;
            tagged(lua, "verbatim_string", Value::Table(inner))?
        }
        Reply::Verbatim(text) => Value::String(lua.create_string(&text)?),
        Reply::Encoded(bytes) => reply_to_lua(lua, super::resp::parse(&bytes), resp3)?,
    })
}

fn tagged(lua: &Lua, field: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(field, value)?;
    Ok(Value::Table(t))
}

fn list(lua: &Lua, items: Vec<Reply>, resp3: bool) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.into_iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(Value::Table(t))
}

/// Turns a script's result into its reply. `resp3` is the protocol the
/// script chose; `client_resp3` the connection's, for the RESP3 types
/// [`Reply`] has no variant of its own for (big numbers, verbatim strings
/// of another format).
pub fn lua_to_reply(value: &Value, resp3: bool, client_resp3: bool) -> Reply {
    to_reply(value, resp3, client_resp3, 0)
}

fn to_reply(value: &Value, resp3: bool, client_resp3: bool, depth: usize) -> Reply {
    match value {
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(n) => Reply::Int(*n),
        Value::Number(n) => Reply::Int(*n as i64),
        Value::Boolean(b) if resp3 => Reply::Bool(*b),
        Value::Boolean(true) => Reply::Int(1),
        Value::Table(t) if depth >= MAX_DEPTH => {
            let _ = t;
            Reply::Error(CommandError::new_static("ERR reached lua stack limit"))
        }
        Value::Table(t) => table_to_reply(t, resp3, client_resp3, depth),
        _ => Reply::Null,
    }
}

/// A field read raw, as Redis reads a returned table (no metamethod runs).
fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

fn table_to_reply(t: &Table, resp3: bool, client_resp3: bool, depth: usize) -> Reply {
    if let Value::String(s) = field(t, "err") {
        return Reply::Error(error_text(&s.as_bytes()));
    }
    if let Value::String(s) = field(t, "ok") {
        return Reply::Status(no_newlines(&s.as_bytes()));
    }
    if let Value::Number(n) = field(t, "double") {
        return Reply::Double(n);
    }
    if let Value::Integer(n) = field(t, "double") {
        return Reply::Double(n as f64);
    }
    if let Value::String(s) = field(t, "big_number") {
        let text = no_newlines(&s.as_bytes());
        return encoded(client_resp3, b'(', &text);
    }
    if let Value::Table(map) = field(t, "map") {
        let mut pairs = Vec::new();
        for (k, v) in map.pairs::<Value, Value>().flatten() {
            pairs.push((
                to_reply(&k, resp3, client_resp3, depth + 1),
                to_reply(&v, resp3, client_resp3, depth + 1),
            ));
        }
        return Reply::Map(pairs);
    }
    if let Value::Table(set) = field(t, "set") {
        let members = set
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| to_reply(&k, resp3, client_resp3, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(format), Value::String(text)) =
            (field(&v, "format"), field(&v, "string"))
        {
            let text = text.as_bytes();
            if !client_resp3 {
                return Reply::Bulk(Bytes::copy_from_slice(&text));
            }
            let mut body = format.as_bytes().to_vec();
            body.push(b':');
            body.extend_from_slice(&text);
            return encoded(true, b'=', &body);
        }
    }
    let mut items = Vec::new();
    for i in 1.. {
        let v = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
        if v.is_nil() {
            break;
        }
        items.push(to_reply(&v, resp3, client_resp3, depth + 1));
    }
    Reply::Array(items)
}

/// A length-prefixed RESP3 type (`=`) or a line type (`(`), written as the
/// client reads it (a bulk string for a RESP2 client).
fn encoded(client_resp3: bool, kind: u8, body: &[u8]) -> Reply {
    if !client_resp3 {
        return Reply::Bulk(Bytes::copy_from_slice(body));
    }
    let mut out = BytesMut::with_capacity(body.len() + 16);
    out.put_u8(kind);
    if kind == b'=' {
        out.put_slice(body.len().to_string().as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(body);
    out.put_slice(b"\r\n");
    Reply::Encoded(out.freeze())
}

/// Error and status texts go on one line: Redis turns line breaks into
/// spaces.
pub fn no_newlines(text: &[u8]) -> Bytes {
    text.iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect::<Vec<u8>>()
        .into()
}

/// An error reply from a script's `{err=…}` text (an empty one is `ERR`,
/// as Redis 7.2+ sends it).
pub fn error_text(text: &[u8]) -> CommandError {
    if text.is_empty() {
        return CommandError::new_static("ERR");
    }
    CommandError(no_newlines(text))
}
