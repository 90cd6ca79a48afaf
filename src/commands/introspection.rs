//! Placeholder table; filled in by the introspection family work.

use super::CommandSpec;

/// The family's table.
pub static COMMANDS: &[CommandSpec] = &[];
