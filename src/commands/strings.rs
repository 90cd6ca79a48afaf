//! Placeholder table; filled in by the strings family work.

use super::CommandSpec;

/// The family's table.
pub static COMMANDS: &[CommandSpec] = &[];
