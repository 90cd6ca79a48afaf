//! `cmsgpack`: MessagePack with the behaviour of lua-cmsgpack 0.4, the
//! library Redis ships: integers in the smallest form, other numbers as a
//! float when that is exact and a double otherwise, strings as str8/16/32,
//! tables with keys 1..n (no holes) as arrays and others as maps, nesting
//! cut at 16 levels (deeper tables become nil), and `pack`, `unpack`,
//! `unpack_one`, `unpack_limit`.

use mlua::{Lua, MultiValue, Table, Value};

/// How deep `pack` follows tables (a circular table ends there).
const MAX_NESTING: usize = 16;

fn fail<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::RuntimeError(msg.to_string()))
}

/// Builds the `cmsgpack` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return fail("bad argument #0 to 'pack' (MessagePack pack needs input.)");
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, s: mlua::LuaString| {
            let bytes = s.as_bytes();
            let (_, values) = unpack(lua, &bytes, 0, 0)?;
            Ok(MultiValue::from_iter(values))
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::LuaString, Option<i64>)| {
            unpack_returning_offset(lua, &s.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(
            |lua, (s, limit, offset): (mlua::LuaString, Option<i64>, Option<i64>)| {
                unpack_returning_offset(lua, &s.as_bytes(), limit.unwrap_or(0), offset.unwrap_or(0))
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

fn unpack_returning_offset(
    lua: &Lua,
    s: &[u8],
    limit: i64,
    offset: i64,
) -> mlua::Result<MultiValue> {
    if limit < 0 || offset < 0 || offset as usize > s.len() {
        return fail("Invalid request to unpack with offset of 0 and limit of 0.");
    }
    let (next, values) = unpack(lua, s, limit as usize, offset as usize)?;
    let next = if next >= s.len() { -1 } else { next as i64 };
    let mut out = vec![Value::Integer(next)];
    out.extend(values);
    Ok(MultiValue::from_iter(out))
}

fn unpack(lua: &Lua, s: &[u8], limit: usize, mut pos: usize) -> mlua::Result<(usize, Vec<Value>)> {
    let mut values = Vec::new();
    while pos < s.len() && (limit == 0 || values.len() < limit) {
        values.push(decode(lua, s, &mut pos)?);
    }
    Ok((pos, values))
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.2e18 {
        return encode_int(n as i64, out);
    }
    if (n as f32) as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn header(out: &mut Vec<u8>, len: usize, fix: (u8, usize), small: Option<u8>, w16: u8, w32: u8) {
    if len < fix.1 {
        out.push(fix.0 | len as u8);
    } else if let (Some(code), true) = (small, len <= 0xff) {
        out.extend_from_slice(&[code, len as u8]);
    } else if len <= 0xffff {
        out.push(w16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(w32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The array length of a table whose keys are exactly 1..n, else `None`.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match k {
            Value::Integer(i) if i >= 1 => max = max.max(i as usize),
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n as usize),
            _ => return Ok(None),
        }
        count += 1;
    }
    Ok((max == count).then_some(count))
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => {
            let bytes = s.as_bytes();
            header(out, bytes.len(), (0xa0, 32), Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&bytes);
        }
        Value::Table(_) if level == MAX_NESTING => out.push(0xc0),
        Value::Table(t) => match array_len(t)? {
            Some(n) => {
                header(out, n, (0x90, 16), None, 0xdc, 0xdd);
                for i in 1..=n {
                    encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
                }
            }
            None => {
                // Counted first, then written: holding every pair at once
                // would pin one Lua reference per key and value.
                let mut n = 0;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    n += 1;
                }
                header(out, n, (0x80, 16), None, 0xde, 0xdf);
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    encode(&k, level + 1, out)?;
                    encode(&v, level + 1, out)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

fn take<'s>(s: &'s [u8], pos: &mut usize, n: usize) -> mlua::Result<&'s [u8]> {
    if s.len() - *pos < n {
        return fail("Missing bytes in input.");
    }
    let out = &s[*pos..*pos + n];
    *pos += n;
    Ok(out)
}

fn be(s: &[u8], pos: &mut usize, n: usize) -> mlua::Result<u64> {
    Ok(take(s, pos, n)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

fn decode(lua: &Lua, s: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let b = take(s, pos, 1)?[0];
    let string = |pos: &mut usize, n: usize| -> mlua::Result<Value> {
        Ok(Value::String(lua.create_string(take(s, pos, n)?)?))
    };
    Ok(match b {
        0x00..=0x7f => Value::Integer(b as i64),
        0x80..=0x8f => map(lua, s, pos, (b & 0x0f) as usize)?,
        0x90..=0x9f => array(lua, s, pos, (b & 0x0f) as usize)?,
        0xa0..=0xbf => string(pos, (b & 0x1f) as usize)?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let n = be(s, pos, 1)? as usize;
            string(pos, n)?
        }
        0xc5 | 0xda => {
            let n = be(s, pos, 2)? as usize;
            string(pos, n)?
        }
        0xc6 | 0xdb => {
            let n = be(s, pos, 4)? as usize;
            string(pos, n)?
        }
        0xca => Value::Number(f32::from_bits(be(s, pos, 4)? as u32) as f64),
        0xcb => Value::Number(f64::from_bits(be(s, pos, 8)?)),
        0xcc => Value::Integer(be(s, pos, 1)? as i64),
        0xcd => Value::Integer(be(s, pos, 2)? as i64),
        0xce => Value::Integer(be(s, pos, 4)? as i64),
        0xcf => Value::Number(be(s, pos, 8)? as f64),
        0xd0 => Value::Integer(be(s, pos, 1)? as u8 as i8 as i64),
        0xd1 => Value::Integer(be(s, pos, 2)? as u16 as i16 as i64),
        0xd2 => Value::Integer(be(s, pos, 4)? as u32 as i32 as i64),
        0xd3 => Value::Integer(be(s, pos, 8)? as i64),
        0xdc => {
            let n = be(s, pos, 2)? as usize;
            array(lua, s, pos, n)?
        }
        0xdd => {
            let n = be(s, pos, 4)? as usize;
            array(lua, s, pos, n)?
        }
        0xde => {
            let n = be(s, pos, 2)? as usize;
            map(lua, s, pos, n)?
        }
        0xdf => {
            let n = be(s, pos, 4)? as usize;
            map(lua, s, pos, n)?
        }
        0xe0..=0xff => Value::Integer(b as i8 as i64),
        _ => return fail("Bad data format in input."),
    })
}

fn array(lua: &Lua, s: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    // Each item takes at least one byte: a count past the input is short.
    if n > s.len() - *pos {
        return fail("Missing bytes in input.");
    }
    let t = lua.create_table_with_capacity(n, 0)?;
    for i in 1..=n {
        t.raw_set(i, decode(lua, s, pos)?)?;
    }
    Ok(Value::Table(t))
}

fn map(lua: &Lua, s: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    if n > (s.len() - *pos) / 2 {
        return fail("Missing bytes in input.");
    }
    let t = lua.create_table_with_capacity(0, n)?;
    for _ in 0..n {
        let k = decode(lua, s, pos)?;
        let v = decode(lua, s, pos)?;
        if !k.is_nil() {
            t.raw_set(k, v)?;
        }
    }
    Ok(Value::Table(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: &Value) -> String {
        let mut out = Vec::new();
        encode(v, 0, &mut out).unwrap();
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn numbers_take_their_smallest_form() {
        assert_eq!(hex(&Value::Number(0.1)), "cb3fb999999999999a");
        assert_eq!(hex(&Value::Integer(-1099511627776)), "d3ffffff0000000000");
        assert_eq!(hex(&Value::Integer(5)), "05");
        assert_eq!(hex(&Value::Integer(-120)), "d088");
        assert_eq!(hex(&Value::Number(1.5)), "ca3fc00000");
    }
}
