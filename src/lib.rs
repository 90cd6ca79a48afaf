//! Sluice: a durable message broker that speaks the Redis protocol.
//!
//! # A map of the crate
//!
//! - [`acl`]: users, their permissions, the check before each command,
//!   ACL LOG and the ACL file.
//! - [`config`]: command-line flags, redis.conf files, CONFIG GET/SET.
//! - [`server`]: the listeners (plain and, with `tls-port`, TLS through
//!   [`server::tls`]), one task per connection (`server::connection`), the
//!   shared state ([`server::Shared`]), and `server::dispatch`, which runs
//!   one request.
//! - [`protocol`]: request decoding (RESP multibulk and inline) and reply
//!   encoding (RESP2 and RESP3).
//! - [`commands`]: one file per command family; each command is a typed
//!   struct with a parse step and an execute step, listed in its family's
//!   table with its arity, flags and documentation.
//! - [`keyspace`]: the numbered databases, values, expiry and WATCH flags.
//! - [`rdb`]: Redis's serialization format for one value (DUMP and
//!   RESTORE payloads), as plain data.
//! - [`scripting`]: the Lua interpreter behind EVAL and EVALSHA: Redis's
//!   sandbox, the script cache, `redis.call`, Lua ⇄ reply conversions.
//! - [`error`]: every error text, spelled as Redis spells it.
//! - [`clock`]: the time source, which tests can move by hand.
//! - [`memory`]: the counting global allocator behind INFO memory, the
//!   process RSS, and handing freed memory back to the kernel.
//!
//! # How a request flows
//!
//! ```text
//! socket ─► RequestDecoder ─► CommandTable::lookup ─► parse ─► lock keyspace
//!           (connection task,  (arity, auth, ACL,      (typed    execute ─► Reply
//!            no lock)           MULTI queueing)         args)    unlock   encode
//! ```
//!
//! A connection decodes every complete request in its buffer, runs them in
//! order and writes all the replies with one write (pipelining). Only
//! execution holds the keyspace lock, so commands form one total order.

pub mod acl;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error;
pub mod keyspace;
pub mod memory;
pub mod protocol;
pub mod rdb;
pub mod scripting;
pub mod server;
pub mod storage;
