//! `cjson`: JSON encoding and decoding with the behaviour of the lua-cjson
//! 2.1 library Redis ships: tables with keys 1..n are arrays (a sparse one
//! is an error), other tables objects; numbers as `%.14g`; `/` escaped;
//! JSON `null` decodes to `cjson.null`; the same settings functions and
//! the same error texts ("Expected value but found invalid token at
//! character 1").

use std::sync::{Arc, Mutex};

use mlua::{LightUserData, Lua, Table, Value};

/// The settings scripts may change.
#[derive(Debug, Clone)]
struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    keep_buffer: bool,
    precision: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            keep_buffer: true,
            precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Settings>>;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn fail<T>(msg: String) -> mlua::Result<T> {
    Err(mlua::Error::RuntimeError(msg))
}

/// Builds the `cjson` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let settings: Shared = Arc::default();
    let s = settings.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let cfg = s.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut out = Vec::new();
            encode(lua, &v, &cfg, 0, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, text: mlua::LuaString| {
            let cfg = s.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let bytes = text.as_bytes();
            let mut p = Parser {
                lua,
                s: &bytes,
                pos: 0,
                depth: 0,
                cfg: &cfg,
            };
            p.document()
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |_, v: Option<bool>| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = v {
                cfg.keep_buffer = v;
            }
            Ok(cfg.keep_buffer)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_max_depth",
        lua.create_function(move |_, v: Option<i64>| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = v {
                if !(1..=i32::MAX as i64).contains(&v) {
                    return fail("bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)".into());
                }
                cfg.encode_max_depth = v as usize;
            }
            Ok(cfg.encode_max_depth)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "decode_max_depth",
        lua.create_function(move |_, v: Option<i64>| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = v {
                if !(1..=i32::MAX as i64).contains(&v) {
                    return fail("bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)".into());
                }
                cfg.decode_max_depth = v as usize;
            }
            Ok(cfg.decode_max_depth)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_number_precision",
        lua.create_function(move |_, v: Option<i64>| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = v {
                if !(1..=14).contains(&v) {
                    return fail("bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)".into());
                }
                cfg.precision = v as usize;
            }
            Ok(cfg.precision)
        })?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(
            move |_, (convert, ratio, safe): (Option<bool>, Option<i64>, Option<i64>)| {
                let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(c) = convert {
                    cfg.sparse_convert = c;
                }
                if let Some(r) = ratio {
                    cfg.sparse_ratio = r.max(0) as usize;
                }
                if let Some(v) = safe {
                    cfg.sparse_safe = v.max(0) as usize;
                }
                Ok((cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe))
            },
        )?,
    )?;
    let s = settings.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |_, v: Value| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            match v {
                Value::Boolean(b) => cfg.encode_invalid_numbers = b,
                Value::Nil => {}
                _ => cfg.encode_invalid_numbers = true,
            }
            Ok(cfg.encode_invalid_numbers)
        })?,
    )?;
    let s = settings;
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |_, v: Option<bool>| {
            let mut cfg = s.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(v) = v {
                cfg.decode_invalid_numbers = v;
            }
            Ok(cfg.decode_invalid_numbers)
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) | Value::LightUserData(_) => "userdata",
        _ => "value",
    }
}

fn number(lua: &Lua, n: f64, cfg: &Settings, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() {
        if !cfg.encode_invalid_numbers {
            return fail("Cannot serialise number: must not be NaN or Inf".into());
        }
        out.extend_from_slice(if n.is_nan() {
            b"nan"
        } else if n > 0.0 {
            b"inf"
        } else {
            b"-inf"
        });
        return Ok(());
    }
    if cfg.precision == 14 {
        if let Some(s) = lua.coerce_string(Value::Number(n))? {
            out.extend_from_slice(&s.as_bytes());
            return Ok(());
        }
    }
    let s: String = lua
        .load(format!("return string.format('%.{}g', ...)", cfg.precision))
        .call(n)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{:04x}", b).as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The array length of a table, or `None` for an object.
fn array_len(t: &Table, cfg: &Settings) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let index = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return fail("Cannot serialise table: excessively sparse array".into());
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode(
    lua: &Lua,
    v: &Value,
    cfg: &Settings,
    depth: usize,
    out: &mut Vec<u8>,
) -> mlua::Result<()> {
    match v {
        Value::String(s) => string(&s.as_bytes(), out),
        Value::Integer(n) => number(lua, *n as f64, cfg, out)?,
        Value::Number(n) => number(lua, *n, cfg, out)?,
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return fail(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_len(t, cfg)? {
                Some(n) if n > 0 => {
                    out.push(b'[');
                    for i in 1..=n {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(lua, &t.raw_get::<Value>(i)?, cfg, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => string(&s.as_bytes(), out),
                            Value::Integer(i) => string(i.to_string().as_bytes(), out),
                            Value::Number(n) => {
                                let mut key = Vec::new();
                                number(lua, *n, cfg, &mut key)?;
                                string(&key, out);
                            }
                            other => {
                                return fail(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    other.type_name()
                                ))
                            }
                        }
                        out.push(b':');
                        encode(lua, &val, cfg, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return fail(format!(
                "Cannot serialise {}: type not supported",
                type_name(other)
            ))
        }
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
    cfg: &'a Settings,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The name lua-cjson gives the token at the current position.
    fn token_name(&self) -> &'static str {
        match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b'"') => "T_STRING",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            Some(b't' | b'f') if self.word_at(b"true") || self.word_at(b"false") => "T_BOOLEAN",
            Some(b'n') if self.word_at(b"null") => "T_NULL",
            _ => "invalid token",
        }
    }

    fn word_at(&self, w: &[u8]) -> bool {
        self.s[self.pos..].starts_with(w)
    }

    fn expected<T>(&self, what: &str) -> mlua::Result<T> {
        fail(format!(
            "Expected {what} but found {} at character {}",
            self.token_name(),
            self.pos + 1
        ))
    }

    fn document(&mut self) -> mlua::Result<Value> {
        self.skip_ws();
        let v = self.value()?;
        self.skip_ws();
        if self.pos < self.s.len() {
            return self.expected("the end");
        }
        Ok(v)
    }

    fn nest(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return fail(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                self.pos + 1
            ));
        }
        Ok(())
    }

    fn value(&mut self) -> mlua::Result<Value> {
        match self.s.get(self.pos) {
            Some(b'{') => {
                self.nest()?;
                self.pos += 1;
                let t = self.lua.create_table()?;
                self.skip_ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.skip_ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return self.expected("object key string");
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return self.expected("colon");
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let v = self.value()?;
                    t.raw_set(key, v)?;
                    self.skip_ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return self.expected("comma or object end"),
                    }
                }
                self.depth -= 1;
                Ok(Value::Table(t))
            }
            Some(b'[') => {
                self.nest()?;
                self.pos += 1;
                let t = self.lua.create_table()?;
                self.skip_ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    self.skip_ws();
                    let v = self.value()?;
                    t.raw_set(i, v)?;
                    i += 1;
                    self.skip_ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return self.expected("comma or array end"),
                    }
                }
                self.depth -= 1;
                Ok(Value::Table(t))
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') if self.word_at(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            Some(b'f') if self.word_at(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            Some(b'n') if self.word_at(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.expected("value"),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while matches!(
            self.s.get(self.pos),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) => Ok(Value::Number(n)),
            Err(_) => {
                self.pos = start;
                fail(format!(
                    "Expected value but found invalid number at character {}",
                    start + 1
                ))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.pos..self.pos + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.pos += 4;
        Some(v)
    }

    fn string(&mut self) -> mlua::Result<mlua::LuaString> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                let _ = start;
                return fail(format!(
                    "Expected value but found unexpected end of string at character {}",
                    self.pos + 1
                ));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        continue;
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = self.hex4() else {
                                return fail(format!(
                                    "Expected value but found invalid unicode escape code at character {}",
                                    start + 1
                                ));
                            };
                            if (0xd800..0xdc00).contains(&cp) && self.word_at(b"\\u") {
                                self.pos += 2;
                                if let Some(lo) = self.hex4() {
                                    cp = 0x10000
                                        + ((cp - 0xd800) << 10)
                                        + (lo.wrapping_sub(0xdc00) & 0x3ff);
                                }
                            }
                            let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            return fail(format!(
                                "Expected value but found invalid escape code at character {}",
                                start + 1
                            ))
                        }
                    }
                }
                _ => out.push(b),
            }
        }
        self.lua.create_string(&out)
    }
}
