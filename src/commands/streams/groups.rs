//! Consumer groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

use crate::commands::{Args, CommandSpec, Execute};
use crate::error::CommandError;

const NOT_YET: CommandError = CommandError::new_static("ERR not implemented yet");

/// XGROUP's subcommands.
pub(super) static XGROUP_SUBCOMMANDS: &[CommandSpec] = &[];

pub(super) fn parse_xreadgroup(_: Args) -> Result<Box<dyn Execute>, CommandError> {
    Err(NOT_YET)
}

pub(super) fn parse_xack(_: Args) -> Result<Box<dyn Execute>, CommandError> {
    Err(NOT_YET)
}

pub(super) fn parse_xpending(_: Args) -> Result<Box<dyn Execute>, CommandError> {
    Err(NOT_YET)
}

pub(super) fn parse_xclaim(_: Args) -> Result<Box<dyn Execute>, CommandError> {
    Err(NOT_YET)
}

pub(super) fn parse_xautoclaim(_: Args) -> Result<Box<dyn Execute>, CommandError> {
    Err(NOT_YET)
}
