//! SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE.
//!
//! As in Redis 7, every input key's type is checked before anything is
//! computed (a missing key counts as an empty set), so a wrong-typed key
//! anywhere reports WRONGTYPE.

use ahash::AHashSet;
use bytes::Bytes;

use super::{limits, read_set, set_reply, store};
use crate::commands::args::{is, parse_i64_opt};
use crate::commands::{boxed, Args, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::{Db, Entry, Set, Value};
use crate::protocol::Reply;

/// Which set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// What the command does with the result.
#[derive(Debug)]
enum Output {
    /// Reply with the members.
    Reply,
    /// Store at this key and reply with the count.
    Store(Bytes),
    /// Reply with the intersection's size, counting up to a limit (0: no
    /// limit).
    Card(usize),
}

struct SetAlgebra {
    op: Algebra,
    keys: Vec<Bytes>,
    output: Output,
}

pub(super) fn parse_sinter(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_plain(Algebra::Inter, args)
}

pub(super) fn parse_sunion(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_plain(Algebra::Union, args)
}

pub(super) fn parse_sdiff(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_plain(Algebra::Diff, args)
}

pub(super) fn parse_sinterstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store(Algebra::Inter, args)
}

pub(super) fn parse_sunionstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store(Algebra::Union, args)
}

pub(super) fn parse_sdiffstore(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse_store(Algebra::Diff, args)
}

fn parse_plain(op: Algebra, args: Args) -> Result<Box<dyn Execute>, CommandError> {
    boxed(SetAlgebra {
        op,
        keys: args.rest(),
        output: Output::Reply,
    })
}

fn parse_store(op: Algebra, mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let dest = args.next_arg()?;
    boxed(SetAlgebra {
        op,
        keys: args.rest(),
        output: Output::Store(dest),
    })
}

/// SINTERCARD numkeys key [key …] [LIMIT limit]
pub(super) fn parse_sintercard(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
    let numkeys = parse_i64_opt(&args.next_arg()?)
        .filter(|&n| n > 0)
        .ok_or(error::NUMKEYS_POSITIVE)?;
    let rest = args.rest();
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX);
    if numkeys > rest.len() {
        return Err(CommandError::new_static(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut rest = rest.into_iter();
    let keys: Vec<Bytes> = rest.by_ref().take(numkeys).collect();
    let words: Vec<Bytes> = rest.collect();
    let mut limit = 0usize;
    let mut i = 0;
    while i < words.len() {
        if is(&words[i], "LIMIT") && i + 1 < words.len() {
            let n = parse_i64_opt(&words[i + 1])
                .filter(|&n| n >= 0)
                .ok_or(error::LIMIT_NEGATIVE)?;
            limit = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(SetAlgebra {
        op: Algebra::Inter,
        keys,
        output: Output::Card(limit),
    })
}

/// The sets at `keys` (absent ones as `None`), after checking each key's
/// type; reads count as hits or misses as Redis counts them.
fn lookup<'a>(
    db: &'a mut Db,
    keys: &[Bytes],
    now: i64,
    stats: &mut crate::keyspace::KeyspaceStats,
) -> Result<Vec<Option<&'a Set>>, CommandError> {
    for key in keys {
        read_set(db, key, now, stats)?;
    }
    let db: &'a Db = db;
    Ok(keys
        .iter()
        .map(|key| match db.table().get(key) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => Some(&**s),
            _ => None,
        })
        .collect())
}

/// The members common to all `sets`, up to `limit` of them (0: all).
fn intersect<'a>(sets: &[Option<&'a Set>], limit: usize) -> Vec<&'a [u8]> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let (first, rest) = sets.split_first().expect("at least one key");
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(m)) {
            out.push(m);
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// The members of any of `sets`, each once.
fn unite<'a>(sets: &[Option<&'a Set>]) -> Vec<&'a [u8]> {
    let mut seen: AHashSet<&[u8]> = AHashSet::new();
    let mut out = Vec::new();
    for set in sets.iter().flatten() {
        for m in set.iter() {
            if seen.insert(m) {
                out.push(m);
            }
        }
    }
    out
}

/// The members of the first of `sets` in none of the others.
fn subtract<'a>(sets: &[Option<&'a Set>]) -> Vec<&'a [u8]> {
    let Some(Some(first)) = sets.first() else {
        return Vec::new();
    };
    let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    first
        .iter()
        .filter(|m| !others.iter().any(|s| s.contains(m)))
        .collect()
}

impl Execute for SetAlgebra {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let limits = limits(ctx);
        let resp3 = ctx.session.resp3;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let sets = match lookup(db, &self.keys, now, stats) {
            Ok(sets) => sets,
            Err(e) => return e.into(),
        };
        let card_limit = match self.output {
            Output::Card(limit) => limit,
            _ => 0,
        };
        let result = match self.op {
            Algebra::Inter => intersect(&sets, card_limit),
            Algebra::Union => unite(&sets),
            Algebra::Diff => subtract(&sets),
        };
        match self.output {
            Output::Card(_) => Reply::Int(result.len() as i64),
            Output::Reply => set_reply(result.into_iter(), resp3),
            Output::Store(dest) => {
                let owned: Vec<Bytes> = result.into_iter().map(Bytes::copy_from_slice).collect();
                let mut set = Set::new();
                for m in owned {
                    set.insert_quietly(m, limits);
                }
                let n = set.len();
                let event = match self.op {
                    Algebra::Inter => "sinterstore",
                    Algebra::Union => "sunionstore",
                    Algebra::Diff => "sdiffstore",
                };
                store(db, dest, set, now, event);
                Reply::Int(n as i64)
            }
        }
    }
}
