//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted by
//! their own value or by weights looked up in other keys, optionally
//! replaced by values looked up the same way, and optionally stored as a
//! list.
//!
//! ```text
//! SORT key [BY pattern] [LIMIT offset count] [GET pattern …]
//!          [ASC | DESC] [ALPHA] [STORE destination]
//! ```
//!
//! A pattern's first `*` is replaced by the element; `key->field` reads a
//! hash field instead of a string, and `#` (GET) is the element itself. A
//! BY pattern without `*` means "do not sort". As in Redis: numbers sort by
//! their double value (an element or weight that is not one is an error),
//! equal weights fall back to the elements' bytes, a missing weight counts
//! as 0 (or sorts first with ALPHA), and a BY pattern with `*` or any GET
//! needs a user who may read every key, since they name keys the command's
//! key positions do not show.

use std::cmp::Ordering;

use bytes::Bytes;

use super::args::{is, parse_i64};
use super::keys::generic;
use super::{boxed, Args, CommandSpec, Ctx, Execute};
use crate::error::{self, CommandError};
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, List, Value};
use crate::protocol::Reply;

/// The family's table (SORT belongs to Redis's `generic` group).
pub static COMMANDS: &[CommandSpec] = &[
    generic(
        "sort",
        -2,
        &["write", "denyoom"],
        (1, 1, 1),
        "1.0.0",
        "Sorts the elements of a list, set or sorted set, optionally storing the result.",
        |a| Sort::parse(a, false),
    ),
    generic(
        "sort_ro",
        -2,
        &["readonly"],
        (1, 1, 1),
        "7.0.0",
        "Sorts the elements of a list, set or sorted set (read-only SORT).",
        |a| Sort::parse(a, true),
    ),
];

const NOT_DOUBLE: CommandError =
    CommandError::new_static("ERR One or more scores can't be converted into double");
const BY_DENIED: CommandError =
    CommandError::new_static("ERR BY option of SORT denied due to insufficient ACL permissions.");
const GET_DENIED: CommandError =
    CommandError::new_static("ERR GET option of SORT denied due to insufficient ACL permissions.");

/// SORT / SORT_RO, parsed.
struct Sort {
    key: Bytes,
    by: Option<Bytes>,
    /// LIMIT offset count.
    limit: Option<(i64, i64)>,
    get: Vec<Bytes>,
    desc: bool,
    alpha: bool,
    store: Option<Bytes>,
}

impl Sort {
    fn parse(mut args: Args, read_only: bool) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let mut sort = Sort {
            key,
            by: None,
            limit: None,
            get: Vec::new(),
            desc: false,
            alpha: false,
            store: None,
        };
        while let Some(word) = args.try_next() {
            if is(&word, "ASC") {
                sort.desc = false;
            } else if is(&word, "DESC") {
                sort.desc = true;
            } else if is(&word, "ALPHA") {
                sort.alpha = true;
            } else if is(&word, "LIMIT") && args.len() >= 2 {
                let offset = parse_i64(&args.next_arg()?)?;
                let count = parse_i64(&args.next_arg()?)?;
                sort.limit = Some((offset, count));
            } else if is(&word, "STORE") && !read_only && !args.is_empty() {
                sort.store = Some(args.next_arg()?);
            } else if is(&word, "BY") && !args.is_empty() {
                sort.by = Some(args.next_arg()?);
            } else if is(&word, "GET") && !args.is_empty() {
                sort.get.push(args.next_arg()?);
            } else {
                return Err(error::SYNTAX);
            }
        }
        boxed(sort)
    }

    /// Whether the BY pattern asks not to sort (it has no `*`).
    fn dont_sort(&self) -> bool {
        self.by.as_ref().is_some_and(|p| !p.contains(&b'*'))
    }
}

/// The value a pattern names for `element`: a string, or a hash field
/// with `key->field`; `None` when the key, the field or the `*` is missing
/// or the key holds another type. `#` is the element itself.
fn lookup(
    db: &mut Db,
    pattern: &[u8],
    element: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(Bytes::copy_from_slice(element));
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let rest = &pattern[star + 1..];
    let (suffix, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(arrow) if arrow + 2 < rest.len() => (&rest[..arrow], Some(&rest[arrow + 2..])),
        _ => (rest, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    let entry = db.get(&key, now, stats)?;
    match (&entry.value, field) {
        (Value::Str(s), None) => Some(s.clone()),
        (Value::Hash(h), Some(field)) => h.get(field).map(Bytes::copy_from_slice),
        _ => None,
    }
}

/// A weight as Redis's strtod reads it: leading spaces allowed, nothing
/// after the number, not NaN (the empty string is 0).
fn parse_weight(raw: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(raw).ok()?.trim_start();
    if text.is_empty() {
        return Some(0.0);
    }
    text.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// One element with what it is sorted by.
struct Item {
    element: Bytes,
    /// Numeric weight (unused with ALPHA).
    score: f64,
    /// ALPHA with BY: the looked-up value (`None` sorts first).
    by: Option<Bytes>,
}

/// The elements of the value at `key`, in its own order (a sorted set by
/// score); `Ok(None)` when the key is missing.
fn elements(
    db: &mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<(Vec<Bytes>, bool)>, CommandError> {
    let Some(entry) = db.get(key, now, stats) else {
        return Ok(None);
    };
    Ok(Some(match &entry.value {
        Value::List(l) => (l.iter().map(|e| e.to_bytes()).collect(), false),
        Value::Set(s) => (s.iter().map(Bytes::copy_from_slice).collect(), false),
        Value::ZSet(z) => (z.iter().map(|(m, _)| m.clone()).collect(), true),
        _ => return Err(error::WRONGTYPE),
    }))
}

/// The user may read every key (BY and GET name keys of their own).
fn reads_every_key(ctx: &Ctx<'_>) -> bool {
    ctx.session
        .user
        .as_ref()
        .is_none_or(|u| u.root.all_keys || u.selectors.iter().any(|s| s.all_keys))
}

impl Sort {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let uses_by = self.by.as_ref().is_some_and(|p| p.contains(&b'*'));
        let uses_get = !self.get.is_empty();
        if (uses_by || uses_get) && !reads_every_key(ctx) {
            return Err(if uses_by { BY_DENIED } else { GET_DENIED });
        }
        let now = ctx.now;
        let fill = crate::commands::lists::fill(ctx.shared);
        let (db, stats) = ctx.db();
        let (mut elems, is_zset) = elements(db, &self.key, now, stats)?.unwrap_or_default();
        let mut dont_sort = self.dont_sort();
        let mut alpha = self.alpha;
        // As Redis: a set stored unsorted would come out in an arbitrary
        // order, so it is sorted alphabetically instead.
        if dont_sort && self.store.is_some() && !is_zset && self.by.is_some() {
            let is_set = matches!(
                db.peek(&self.key, now, stats).map(|e| &e.value),
                Some(Value::Set(_))
            );
            if is_set {
                dont_sort = false;
                alpha = true;
            }
        }
        // A sorted set "not sorted" keeps its score order, reversed by DESC.
        if dont_sort && is_zset && self.desc {
            elems.reverse();
        }
        let (start, end) = window(self.limit, elems.len());
        if !dont_sort {
            let mut items = Vec::with_capacity(elems.len());
            for element in elems {
                let by = match &self.by {
                    Some(pattern) => lookup(db, pattern, &element, now, stats),
                    None => None,
                };
                let score = if alpha {
                    0.0
                } else {
                    let raw = if self.by.is_some() {
                        by.as_deref()
                    } else {
                        Some(&element[..])
                    };
                    match raw {
                        Some(raw) => parse_weight(raw).ok_or(NOT_DOUBLE)?,
                        None => 0.0,
                    }
                };
                items.push(Item { element, score, by });
            }
            let by_pattern = self.by.is_some();
            items.sort_by(|a, b| {
                let cmp = compare(a, b, alpha, by_pattern);
                if self.desc {
                    cmp.reverse()
                } else {
                    cmp
                }
            });
            elems = items.into_iter().map(|i| i.element).collect();
        }
        let chosen: Vec<Bytes> = elems.into_iter().skip(start).take(end - start).collect();
        // Each element, or what each GET pattern names for it.
        let mut out: Vec<Option<Bytes>> = Vec::new();
        for element in &chosen {
            if self.get.is_empty() {
                out.push(Some(element.clone()));
            }
            for pattern in &self.get {
                out.push(lookup(db, pattern, element, now, stats));
            }
        }
        match self.store {
            None => Ok(Reply::Array(
                out.into_iter()
                    .map(|v| v.map_or(Reply::Null, Reply::Bulk))
                    .collect(),
            )),
            Some(dest) => {
                let n = out.len();
                if n == 0 {
                    if db.remove(&dest).is_some() {
                        db.notify(notify::GENERIC, "del", &dest);
                    }
                } else {
                    let values: Vec<Bytes> =
                        out.into_iter().map(Option::unwrap_or_default).collect();
                    let list = List::from_elems(values.iter().map(|v| &v[..]), fill);
                    db.insert(dest.clone(), Entry::new(Value::List(Box::new(list)), now));
                    db.notify(notify::LIST, "sortstore", &dest);
                }
                Ok(Reply::Int(n as i64))
            }
        }
    }
}

/// LIMIT as positions `start..end` of `len` elements: a negative offset is
/// 0, a negative count means all.
fn window(limit: Option<(i64, i64)>, len: usize) -> (usize, usize) {
    let Some((offset, count)) = limit else {
        return (0, len);
    };
    let start = usize::try_from(offset.max(0))
        .unwrap_or(usize::MAX)
        .min(len);
    let end = if count < 0 {
        len
    } else {
        start
            .saturating_add(usize::try_from(count).unwrap_or(usize::MAX))
            .min(len)
    };
    (start, end)
}

/// Redis's order: by score (or, with ALPHA, by the BY value, missing
/// first, or by the element), ties broken by the element's bytes.
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool) -> Ordering {
    let first = if !alpha {
        a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal)
    } else if by_pattern {
        match (&a.by, &b.by) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        }
    } else {
        a.element.cmp(&b.element)
    };
    first.then_with(|| a.element.cmp(&b.element))
}

impl Execute for Sort {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(parse_weight(b" 1.5"), Some(1.5));
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_weight(b"1.5 "), None);
        assert_eq!(parse_weight(b"nan"), None);
        assert_eq!(parse_weight(b"x"), None);
    }

    #[test]
    fn limit_windows() {
        assert_eq!(window(None, 5), (0, 5));
        assert_eq!(window(Some((1, 2)), 5), (1, 3));
        assert_eq!(window(Some((-3, 2)), 5), (0, 2));
        assert_eq!(window(Some((2, -1)), 5), (2, 5));
        assert_eq!(window(Some((9, 2)), 5), (5, 5));
    }
}
