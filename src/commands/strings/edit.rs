//! In-place string edits and reads: APPEND, STRLEN, GETRANGE/SUBSTR,
//! SETRANGE.

use super::*;

/// APPEND key value
pub(super) struct Append(Bytes, Bytes);

impl Append {
    pub(super) fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(Append(args.next_arg()?, args.next_arg()?))
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let Append(key, tail) = self;
        let now = ctx.now;
        let existing = {
            let (db, stats) = ctx.db();
            peek_str(db, &key, now, stats)?.map(|s| s.len())
        };
        let Some(len) = existing else {
            let (db, _) = ctx.db();
            let n = tail.len();
            db.insert(key.clone(), Entry::new(Value::Str(tail), now));
            db.notify(notify::STRING, "append", &key);
            return Ok(Reply::Int(n as i64));
        };
        check_length(ctx, len as u64, tail.len() as u64)?;
        let (db, stats) = ctx.db();
        let entry = db
            .get_mut_for_append(&key, tail.clone(), now, stats)
            .expect("checked above");
        let s = as_str_mut(&mut entry.value).expect("checked above");
        let mut buf = take_mut(s, tail.len());
        buf.extend_from_slice(&tail);
        let n = buf.len();
        *s = buf.freeze();
        entry.raw_encoding = true;
        db.notify(notify::STRING, "append", &key);
        Ok(Reply::Int(n as i64))
    }
}

impl Execute for Append {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// STRLEN key
pub(super) struct StrLen(Bytes);

impl StrLen {
    pub(super) fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(StrLen(args.next_arg()?))
    }
}

impl Execute for StrLen {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        read_str(db, &self.0, now, stats)
            .map(|v| Reply::Int(v.map_or(0, |s| s.len() as i64)))
            .into()
    }
}

/// GETRANGE key start end (and SUBSTR)
pub(super) struct GetRange {
    key: Bytes,
    start: i64,
    end: i64,
}

impl GetRange {
    pub(super) fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let start = args.next_i64()?;
        let end = args.next_i64()?;
        boxed(GetRange { key, start, end })
    }
}

/// The byte range GETRANGE returns for a string of `len` bytes, as Redis
/// computes it: negative offsets count from the end and are then clamped
/// to 0 (so an end before the start of the string still selects the first
/// byte), an end past the string is clamped to its last byte.
fn byte_range(len: usize, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize + 1))
}

impl Execute for GetRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        match read_str(db, &self.key, now, stats) {
            Err(e) => e.into(),
            Ok(None) => Reply::Bulk(Bytes::new()),
            Ok(Some(s)) => match byte_range(s.len(), self.start, self.end) {
                Some((from, to)) => Reply::Bulk(s.slice(from..to)),
                None => Reply::Bulk(Bytes::new()),
            },
        }
    }
}

/// SETRANGE key offset value
pub(super) struct SetRange {
    key: Bytes,
    offset: u64,
    value: Bytes,
}

impl SetRange {
    pub(super) fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let offset = args.next_i64()?;
        if offset < 0 {
            return Err(error::OFFSET_OUT_OF_RANGE);
        }
        let value = args.next_arg()?;
        boxed(SetRange {
            key,
            offset: offset as u64,
            value,
        })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let existing = {
            let (db, stats) = ctx.db();
            peek_str(db, &self.key, now, stats)?.map(|s| s.len())
        };
        if self.value.is_empty() {
            // Nothing to write: the length as it is (0 for a missing key).
            // Redis still raises the event for an existing key.
            if existing.is_some() {
                ctx.db().0.notify(notify::STRING, "setrange", &self.key);
            }
            return Ok(Reply::Int(existing.unwrap_or(0) as i64));
        }
        check_length(ctx, self.offset, self.value.len() as u64)?;
        // Fits in memory terms: at most proto-max-bulk-len.
        let offset = self.offset as usize;
        let (db, stats) = ctx.db();
        // Only the written bytes are journaled (`Op::SetRange`), not the
        // whole string.
        let len = db
            .write_string_range(&self.key, offset, self.value, now, stats)
            .ok_or(error::WRONGTYPE)?;
        db.notify(notify::STRING, "setrange", &self.key);
        Ok(Reply::Int(len as i64))
    }
}

impl Execute for SetRange {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}
