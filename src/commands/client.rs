//! Placeholder table; filled in by the client family work.

use super::CommandSpec;

/// The family's table.
pub static COMMANDS: &[CommandSpec] = &[];
