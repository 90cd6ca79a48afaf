//! XINFO STREAM, GROUPS, CONSUMERS and HELP.

use crate::commands::CommandSpec;

/// XINFO's subcommands.
pub(super) static XINFO_SUBCOMMANDS: &[CommandSpec] = &[];
