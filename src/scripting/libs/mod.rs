//! The libraries Redis loads into its interpreter beside Lua's own,
//! written in Rust: `cjson`, `cmsgpack`, `bit` (LuaBitOp) and `struct`.

mod bit;
mod cjson;
mod cmsgpack;

use mlua::{Lua, Table};

/// Puts every library in the globals table.
pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("cjson", cjson::table(lua)?)?;
    globals.raw_set("bit", bit::table(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::table(lua)?)?;
    Ok(())
}
