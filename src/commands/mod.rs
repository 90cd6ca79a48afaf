//! Commands: one file per family, one typed struct per command.
//!
//! Each command has a [`CommandSpec`] in its family's table: name, arity,
//! flags, key positions, documentation, and a parser. A parser turns the
//! arguments into a typed command (a struct implementing [`Execute`])
//! outside any lock; `execute` then runs it against the keyspace with the
//! lock held and returns a [`Reply`]. The same tables answer COMMAND,
//! COMMAND INFO, COMMAND DOCS and COMMAND COUNT, and give the arity checks
//! their data, so there is one place that says what a command is.

pub mod acl;
pub mod args;
pub mod client;
pub mod connection;
pub mod dump;
pub mod expire;
pub mod hashes;
pub mod introspection;
pub mod keys;
pub mod lists;
pub mod memory_cmd;
pub mod object;
pub mod persistence;
pub mod pubsub;
pub(crate) mod scan;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod table;
pub mod transactions;
pub(crate) mod typed;
pub mod zsets;

use bytes::Bytes;

pub use args::Args;
pub use table::{CommandSpec, CommandTable, Kind, Lookup};

use crate::error::CommandError;
use crate::keyspace::{Db, Keyspace, KeyspaceStats};
use crate::protocol::Reply;
use crate::server::{Session, Shared};

/// A parsed command, ready to run.
pub trait Execute: Send {
    /// Runs the command with the keyspace locked.
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply;
}

/// A parser: the arguments after the command (and subcommand) name.
pub type Parser = fn(Args) -> Result<Box<dyn Execute>, CommandError>;

/// What a command runs against.
pub struct Ctx<'a> {
    /// Every database, locked for this command.
    pub keyspace: &'a mut Keyspace,
    /// Server-wide state: configuration, clients, statistics, clock.
    pub shared: &'a Shared,
    /// The calling connection's state.
    pub session: &'a mut Session,
    /// The time this command runs at (one value for the whole command, and
    /// for a whole MULTI/EXEC block, as in Redis).
    pub now: i64,
}

impl Ctx<'_> {
    /// The selected database and the keyspace counters.
    pub fn db(&mut self) -> (&mut Db, &mut KeyspaceStats) {
        self.keyspace.db(self.session.db)
    }
}

/// Boxes a typed command; parsers end with this.
pub fn boxed<C: Execute + 'static>(cmd: C) -> Result<Box<dyn Execute>, CommandError> {
    Ok(Box::new(cmd))
}

/// A command with no state of its own, run by a plain function.
pub struct Simple(pub fn(&mut Ctx<'_>) -> Reply);

impl Execute for Simple {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        (self.0)(ctx)
    }
}

/// A command that needs only its raw arguments at execution time.
pub struct WithArgs(pub fn(&mut Ctx<'_>, Vec<Bytes>) -> Reply, pub Vec<Bytes>);

impl Execute for WithArgs {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let WithArgs(run, args) = *self;
        run(ctx, args)
    }
}

/// Every family's table, in the order COMMAND lists them.
pub fn families() -> &'static [&'static [CommandSpec]] {
    static FAMILIES: &[&[CommandSpec]] = &[
        connection::COMMANDS,
        transactions::COMMANDS,
        scripting::COMMANDS,
        strings::COMMANDS,
        strings::bits::COMMANDS,
        strings::lcs::COMMANDS,
        streams::COMMANDS,
        zsets::COMMANDS,
        sets::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        pubsub::COMMANDS,
        keys::COMMANDS,
        sort::COMMANDS,
        dump::COMMANDS,
        expire::COMMANDS,
        object::COMMANDS,
        memory_cmd::COMMANDS,
        persistence::COMMANDS,
        server::COMMANDS,
        client::COMMANDS,
        acl::COMMANDS,
        introspection::COMMANDS,
    ];
    FAMILIES
}
