//! DUMP and RESTORE: a key's value in Redis's serialization format (see
//! [`crate::rdb`]), so values move between Sluice and Redis both ways.
//!
//! - `mod.rs`: the table, DUMP, RESTORE and its options
//! - `convert.rs`: keyspace values to and from the format's plain data
//!
//! RESTORE checks in Redis's order: options (syntax, IDLETIME, FREQ), the
//! target key (BUSYKEY), the TTL, the payload's footer, then the object.
//! The restored key is stored whole (`Db::insert`), so the journal gets a
//! `Put` of it; a stream's entries are appended to the log first, as XADD
//! appends them.

mod convert;

use bytes::Bytes;

use super::args::parse_i64;
use super::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::config::SanitizePayload;
use crate::error::{self, CommandError};
use crate::keyspace::{notify, Entry};
use crate::protocol::{Reply, OK};
use crate::rdb::{self, RdbError};

/// The DUMP family's table.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "generic",
        "dump",
        2,
        &["readonly"],
        (1, 1, 1),
        "2.6.0",
        "Returns a key's value in Redis's serialization format.",
        parse_dump,
    ),
    CommandSpec::new(
        "generic",
        "restore",
        -4,
        &["write", "denyoom"],
        (1, 1, 1),
        "2.6.0",
        "Creates a key from a value DUMP serialized.",
        parse_restore,
    ),
];

/// DUMP key
struct Dump {
    key: Bytes,
}

fn parse_dump(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(Dump {
        key: args.next_arg()?,
    })
}

impl Execute for Dump {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let shared = ctx.shared;
        let (db, stats) = ctx.db();
        let Some(entry) = db.get(&self.key, now, stats) else {
            return Reply::Null;
        };
        match convert::to_rdb(shared, &entry.value) {
            Ok(value) => Reply::Bulk(Bytes::from(rdb::encode_payload(&value))),
            Err(e) => e.into(),
        }
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency]
struct Restore {
    key: Bytes,
    /// Parsed when the command runs: a bad TTL is reported after BUSYKEY.
    ttl: Bytes,
    payload: Bytes,
    replace: bool,
    absttl: bool,
    idletime: Option<i64>,
}

fn parse_restore(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let ttl = args.next_arg()?;
    let payload = args.next_arg()?;
    let mut cmd = Restore {
        key,
        ttl,
        payload,
        replace: false,
        absttl: false,
        idletime: None,
    };
    let mut freq = None;
    while let Some(opt) = args.try_next() {
        match opt.to_ascii_uppercase().as_slice() {
            b"REPLACE" => cmd.replace = true,
            b"ABSTTL" => cmd.absttl = true,
            // IDLETIME and FREQ exclude each other.
            b"IDLETIME" if !args.is_empty() && freq.is_none() => {
                let v = parse_i64(&args.next_arg()?)?;
                if v < 0 {
                    return Err(error::INVALID_IDLETIME);
                }
                cmd.idletime = Some(v);
            }
            b"FREQ" if !args.is_empty() && cmd.idletime.is_none() => {
                let v = parse_i64(&args.next_arg()?)?;
                if !(0..=255).contains(&v) {
                    return Err(error::INVALID_FREQ);
                }
                // Sluice keeps no access frequency (no LFU eviction), so
                // the value is checked and dropped, as Redis drops it
                // under a non-LFU policy.
                freq = Some(v);
            }
            _ => return Err(error::SYNTAX),
        }
    }
    boxed(cmd)
}

impl Execute for Restore {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        match self.run(ctx) {
            Ok(()) => OK,
            Err(e) => e.into(),
        }
    }
}

impl Restore {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<(), CommandError> {
        let now = ctx.now;
        let shared = ctx.shared;
        let mode = shared
            .config
            .read()
            .expect("config lock")
            .sanitize_dump_payload;
        let deep = match mode {
            SanitizePayload::No => false,
            SanitizePayload::Yes => true,
            // Redis also skips its replication master, which Sluice has not.
            SanitizePayload::Clients => !ctx
                .session
                .user
                .as_ref()
                .is_some_and(|u| u.skips_sanitize()),
        };
        let (db, stats) = ctx.keyspace.db(ctx.session.db);
        let exists = db.peek(&self.key, now, stats).is_some();
        if exists && !self.replace {
            return Err(error::BUSYKEY);
        }
        let ttl = parse_i64(&self.ttl)?;
        if ttl < 0 {
            return Err(error::INVALID_TTL);
        }
        let value = rdb::decode_payload(&self.payload, deep).map_err(|e| match e {
            RdbError::VersionOrChecksum => error::DUMP_PAYLOAD,
            RdbError::BadData => error::BAD_DATA_FORMAT,
        })?;
        let expire_at = match ttl {
            0 => None,
            t if self.absttl => Some(t),
            t => Some(now.saturating_add(t)),
        };
        if expire_at.is_some_and(|at| at <= now) {
            // Already expired: the key is not created, and REPLACE removes
            // what was there.
            if exists {
                db.remove(&self.key);
                db.notify(notify::GENERIC, "del", &self.key);
            }
            return Ok(());
        }
        let value = convert::from_rdb(shared, value)?;
        let mut entry = Entry::restored(value, expire_at, false, now);
        if let Some(idle) = self.idletime {
            entry.last_access = now.saturating_sub(idle.saturating_mul(1000));
        }
        if exists {
            db.remove(&self.key);
        }
        db.insert(self.key.clone(), entry);
        db.notify(notify::GENERIC, "restore", &self.key);
        Ok(())
    }
}
