//! `bit`: the LuaBitOp library. Every operand is first normalised to a
//! 32-bit signed integer (rounded, then taken modulo 2^32), and every
//! result is one.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

/// A number as LuaBitOp normalises it.
fn tobit(v: &Value) -> mlua::Result<i32> {
    let n = match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        Value::String(s) => match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(n) => n,
            None => return Err(mlua::Error::RuntimeError("string".into())),
        },
        other => return Err(mlua::Error::RuntimeError(other.type_name().into())),
    };
    if !n.is_finite() {
        return Ok(0);
    }
    Ok(n.round_ties_even().rem_euclid(4_294_967_296.0) as u32 as i32)
}

fn first(args: &MultiValue) -> mlua::Result<i32> {
    tobit(args.front().unwrap_or(&Value::Nil))
}

fn fold(args: Variadic<Value>, f: fn(i32, i32) -> i32) -> mlua::Result<i32> {
    let mut it = args.iter();
    let mut acc = tobit(it.next().unwrap_or(&Value::Nil))?;
    for v in it {
        acc = f(acc, tobit(v)?);
    }
    Ok(acc)
}

fn shift(args: MultiValue, f: fn(i32, u32) -> i32) -> mlua::Result<i32> {
    let mut it = args.iter();
    let x = tobit(it.next().unwrap_or(&Value::Nil))?;
    let n = tobit(it.next().unwrap_or(&Value::Nil))? as u32 & 31;
    Ok(f(x, n))
}

/// Turns `tobit`'s failure (the bad operand's type) into Lua's text.
fn named<R>(name: &str, r: mlua::Result<R>) -> mlua::Result<R> {
    r.map_err(|e| match e {
        mlua::Error::RuntimeError(got) => mlua::Error::RuntimeError(format!(
            "bad argument #1 to '{name}' (number expected, got {got})"
        )),
        other => other,
    })
}

/// Runs a body that uses `?` (so `named` can rewrite its error).
fn run<R>(f: impl FnOnce() -> mlua::Result<R>) -> mlua::Result<R> {
    f()
}

/// Builds the `bit` table.
pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|_, a: MultiValue| named("tobit", run(|| first(&a))))?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|_, a: MultiValue| named("bnot", run(|| Ok(!first(&a)?))))?,
    )?;
    t.raw_set(
        "band",
        lua.create_function(|_, a: Variadic<Value>| named("band", run(|| fold(a, |x, y| x & y))))?,
    )?;
    t.raw_set(
        "bor",
        lua.create_function(|_, a: Variadic<Value>| named("bor", run(|| fold(a, |x, y| x | y))))?,
    )?;
    t.raw_set(
        "bxor",
        lua.create_function(|_, a: Variadic<Value>| named("bxor", run(|| fold(a, |x, y| x ^ y))))?,
    )?;
    t.raw_set(
        "lshift",
        lua.create_function(|_, a: MultiValue| {
            named("lshift", run(|| shift(a, |x, n| ((x as u32) << n) as i32)))
        })?,
    )?;
    t.raw_set(
        "rshift",
        lua.create_function(|_, a: MultiValue| {
            named("rshift", run(|| shift(a, |x, n| ((x as u32) >> n) as i32)))
        })?,
    )?;
    t.raw_set(
        "arshift",
        lua.create_function(|_, a: MultiValue| named("arshift", run(|| shift(a, |x, n| x >> n))))?,
    )?;
    t.raw_set(
        "rol",
        lua.create_function(|_, a: MultiValue| {
            named(
                "rol",
                run(|| shift(a, |x, n| (x as u32).rotate_left(n) as i32)),
            )
        })?,
    )?;
    t.raw_set(
        "ror",
        lua.create_function(|_, a: MultiValue| {
            named(
                "ror",
                run(|| shift(a, |x, n| (x as u32).rotate_right(n) as i32)),
            )
        })?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(|_, a: MultiValue| {
            named("bswap", run(|| Ok((first(&a)? as u32).swap_bytes() as i32)))
        })?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, a: MultiValue| {
            named(
                "tohex",
                run(|| {
                    let mut it = a.iter();
                    let x = tobit(it.next().unwrap_or(&Value::Nil))? as u32;
                    let n = match it.next() {
                        None | Some(Value::Nil) => 8,
                        Some(v) => tobit(v)? as i64,
                    };
                    let upper = n < 0;
                    let digits = n.unsigned_abs().min(8) as usize;
                    let text = if upper {
                        format!("{x:08X}")
                    } else {
                        format!("{x:08x}")
                    };
                    Ok(text[8 - digits..].to_string())
                }),
            )
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_32_bits() {
        assert_eq!(tobit(&Value::Number(4294967295.0)).unwrap(), -1);
        assert_eq!(tobit(&Value::Number(2147483648.0)).unwrap(), i32::MIN);
        assert_eq!(tobit(&Value::Number(1.5)).unwrap(), 2);
        assert_eq!(tobit(&Value::Number(-1.0)).unwrap(), -1);
    }
}
