//! List commands.
//!
//! Changes go through [`List`]'s methods on a list taken with
//! `Db::get_list_mut`, so the journal gets one small positional op per
//! change instead of the whole list; a command that creates a key stores a
//! new list with `Db::insert` (journaled whole), and one that empties a
//! list deletes the key.
//!
//! - `push.rs`: LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT, LSET
//! - `read.rs`: LLEN, LRANGE, LINDEX, LPOS
//! - `pop.rs`: LPOP, RPOP, LREM, LTRIM, LMOVE, RPOPLPUSH, LMPOP
//! - `blocking.rs`: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP

mod blocking;
mod pop;
mod push;
mod read;

use bytes::Bytes;

use super::typed;
use super::{CommandSpec, Ctx, Parser};
use crate::error::{self, CommandError};
use crate::keyspace::list::Fill;
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, List, Value};
use crate::server::Shared;

/// A `list`-group command spec.
const fn list(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("list", name, arity, flags, keys, since, summary, parser)
}

const WRITE_FAST: &[&str] = &["write", "fast"];
const WRITE_DENYOOM_FAST: &[&str] = &["write", "denyoom", "fast"];
const WRITE_DENYOOM: &[&str] = &["write", "denyoom"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const READ: &[&str] = &["readonly"];
const WRITE: &[&str] = &["write"];
const BLOCKING: &[&str] = &["write", "blocking"];
const BLOCKING_DENYOOM: &[&str] = &["write", "denyoom", "blocking"];

/// The list family's table.
pub static COMMANDS: &[CommandSpec] = &[
    list(
        "lpush",
        -3,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "1.0.0",
        "Prepends elements to a list, creating it if needed.",
        push::parse_lpush,
    ),
    list(
        "rpush",
        -3,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "1.0.0",
        "Appends elements to a list, creating it if needed.",
        push::parse_rpush,
    ),
    list(
        "lpushx",
        -3,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "2.2.0",
        "Prepends elements to a list only when it exists.",
        push::parse_lpushx,
    ),
    list(
        "rpushx",
        -3,
        WRITE_DENYOOM_FAST,
        (1, 1, 1),
        "2.2.0",
        "Appends elements to a list only when it exists.",
        push::parse_rpushx,
    ),
    list(
        "linsert",
        5,
        WRITE_DENYOOM,
        (1, 1, 1),
        "2.2.0",
        "Inserts an element before or after another element.",
        push::parse_linsert,
    ),
    list(
        "lset",
        4,
        WRITE_DENYOOM,
        (1, 1, 1),
        "1.0.0",
        "Sets the element at an index.",
        push::parse_lset,
    ),
    list(
        "llen",
        2,
        READ_FAST,
        (1, 1, 1),
        "1.0.0",
        "Counts the elements of a list.",
        read::parse_llen,
    ),
    list(
        "lrange",
        4,
        READ,
        (1, 1, 1),
        "1.0.0",
        "Lists the elements within a range of indexes.",
        read::parse_lrange,
    ),
    list(
        "lindex",
        3,
        READ,
        (1, 1, 1),
        "1.0.0",
        "Gives the element at an index.",
        read::parse_lindex,
    ),
    list(
        "lpos",
        -3,
        READ,
        (1, 1, 1),
        "6.0.6",
        "Gives the indexes of the elements equal to a value.",
        read::parse_lpos,
    ),
    list(
        "lpop",
        -2,
        WRITE_FAST,
        (1, 1, 1),
        "1.0.0",
        "Removes and returns the first elements of a list.",
        pop::parse_lpop,
    ),
    list(
        "rpop",
        -2,
        WRITE_FAST,
        (1, 1, 1),
        "1.0.0",
        "Removes and returns the last elements of a list.",
        pop::parse_rpop,
    ),
    list(
        "lrem",
        4,
        WRITE,
        (1, 1, 1),
        "1.0.0",
        "Removes elements equal to a value.",
        pop::parse_lrem,
    ),
    list(
        "ltrim",
        4,
        WRITE,
        (1, 1, 1),
        "1.0.0",
        "Keeps only the elements within a range of indexes.",
        pop::parse_ltrim,
    ),
    list(
        "lmove",
        5,
        WRITE_DENYOOM,
        (1, 2, 1),
        "6.2.0",
        "Moves an element from one end of a list to an end of another.",
        pop::parse_lmove,
    ),
    list(
        "rpoplpush",
        3,
        WRITE_DENYOOM,
        (1, 2, 1),
        "1.2.0",
        "Moves the last element of a list to the front of another.",
        pop::parse_rpoplpush,
    ),
    list(
        "lmpop",
        -4,
        &["write", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Pops elements from the first non-empty list of several.",
        pop::parse_lmpop,
    ),
    list(
        "blpop",
        -3,
        BLOCKING,
        (1, -2, 1),
        "2.0.0",
        "Pops the first element of the first non-empty list, waiting if none.",
        blocking::parse_blpop,
    ),
    list(
        "brpop",
        -3,
        BLOCKING,
        (1, -2, 1),
        "2.0.0",
        "Pops the last element of the first non-empty list, waiting if none.",
        blocking::parse_brpop,
    ),
    list(
        "blmove",
        6,
        BLOCKING_DENYOOM,
        (1, 2, 1),
        "6.2.0",
        "Moves an element between lists, waiting for one if needed.",
        blocking::parse_blmove,
    ),
    list(
        "brpoplpush",
        4,
        BLOCKING_DENYOOM,
        (1, 2, 1),
        "2.2.0",
        "Moves the last element of a list to another, waiting if needed.",
        blocking::parse_brpoplpush,
    ),
    list(
        "blmpop",
        -5,
        &["write", "blocking", "movablekeys"],
        (0, 0, 0),
        "7.0.0",
        "Pops elements from the first non-empty list, waiting if none.",
        blocking::parse_blmpop,
    ),
];

/// The chunk fill the configuration asks for (`list-max-listpack-size`).
pub(crate) fn fill(shared: &Shared) -> Fill {
    Fill(
        shared
            .config
            .read()
            .expect("config lock")
            .list_max_listpack_size,
    )
}

/// Looks a key up for reading (hit/miss counted): `None` if absent,
/// WRONGTYPE for another type.
fn read_list<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a List>, CommandError> {
    typed::read(db, key, now, stats)
}

/// Looks a key up without counting a hit or changing anything: `None` if
/// absent, WRONGTYPE for another type.
fn peek_list<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a List>, CommandError> {
    typed::peek(db, key, now, stats)
}

/// Looks a list up to change it (its ops are journaled when the command
/// ends): `None` if absent, WRONGTYPE for another type.
fn list_mut<'a>(
    db: &'a mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<&'a mut List>, CommandError> {
    typed::write(db, key, now, stats)
}

/// Deletes `key` (raising `del`) if the list there is empty: the keyspace
/// never keeps an empty list.
fn drop_if_empty(db: &mut Db, key: &[u8]) {
    let empty = matches!(
        db.table().get(key),
        Some(Entry { value: Value::List(l), .. }) if l.is_empty()
    );
    if empty {
        db.remove(key);
        db.notify(notify::GENERIC, "del", key);
    }
}

/// Raises the keyspace event `event` for a change to the list at `key`,
/// then deletes the key if the list is now empty.
fn changed(db: &mut Db, key: &[u8], event: &'static str) {
    db.notify(notify::LIST, event, key);
    drop_if_empty(db, key);
}

/// Pushes `elems` onto the list at `key`, creating it if absent (the
/// caller checked the type). Returns the new length.
fn push_onto(
    db: &mut Db,
    stats: &mut KeyspaceStats,
    key: &Bytes,
    front: bool,
    elems: &[Bytes],
    fill: Fill,
    now: i64,
) -> usize {
    let event = if front { "lpush" } else { "rpush" };
    if let Ok(Some(l)) = list_mut(db, key, now, stats) {
        l.push(front, elems, fill);
        let len = l.len();
        db.notify(notify::LIST, event, key);
        return len;
    }
    let mut l = List::new();
    l.push(front, elems, fill);
    let len = l.len();
    db.insert(key.clone(), Entry::new(Value::List(Box::new(l)), now));
    db.notify(notify::LIST, event, key);
    len
}

/// Pops up to `count` elements from one end of the list at `key` (which
/// must hold a list), deleting the key when it empties.
fn pop_from(
    db: &mut Db,
    stats: &mut KeyspaceStats,
    key: &[u8],
    front: bool,
    count: usize,
    fill: Fill,
    now: i64,
) -> Vec<Bytes> {
    let out = match list_mut(db, key, now, stats) {
        Ok(Some(l)) => l.pop(front, count, fill),
        _ => Vec::new(),
    };
    if !out.is_empty() {
        changed(db, key, if front { "lpop" } else { "rpop" });
    }
    out
}

/// Parses LEFT or RIGHT: true for LEFT (the front).
fn parse_end(raw: &[u8]) -> Result<bool, CommandError> {
    if raw.eq_ignore_ascii_case(b"left") {
        Ok(true)
    } else if raw.eq_ignore_ascii_case(b"right") {
        Ok(false)
    } else {
        Err(error::SYNTAX)
    }
}

/// Turns a Redis index (negative from the end) into a position, if it is
/// within a list of `len`.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { index + len } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// What a context's commands need for lists: the fill.
fn ctx_fill(ctx: &Ctx<'_>) -> Fill {
    fill(ctx.shared)
}
