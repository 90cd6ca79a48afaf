//! Bitmaps: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.
//!
//! Bits are numbered from the most significant bit of the first byte, as
//! in Redis. SETBIT changes one byte and journals just that byte
//! (`Db::write_string_range`), so flipping a bit of a 512 MB bitmap
//! writes a few dozen bytes to the journal. Offsets are bounded by
//! `proto-max-bulk-len` before anything is allocated.

use bytes::Bytes;

use super::{as_str, boxed, Args, CommandSpec, Ctx, Execute, Parser};
use crate::commands::args::{is, parse_i64, parse_i64_opt};
use crate::error::{self, CommandError};
use crate::keyspace::{notify, Db, Entry, KeyspaceStats, Value};
use crate::protocol::Reply;

/// A bitmap-group table row.
const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
    since: &'static str,
    summary: &'static str,
    parser: Parser,
) -> CommandSpec {
    CommandSpec::new("bitmap", name, arity, flags, keys, since, summary, parser)
}

/// The bitmap family's table.
pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "setbit",
        4,
        &["write", "denyoom"],
        (1, 1, 1),
        "2.2.0",
        "Sets or clears the bit at an offset of a string.",
        SetBit::parse,
    ),
    spec(
        "getbit",
        3,
        &["readonly", "fast"],
        (1, 1, 1),
        "2.2.0",
        "Returns the bit at an offset of a string.",
        GetBit::parse,
    ),
    spec(
        "bitcount",
        -2,
        &["readonly"],
        (1, 1, 1),
        "2.6.0",
        "Counts the set bits of a string, or of a byte or bit range of it.",
        BitCount::parse,
    ),
    spec(
        "bitpos",
        -3,
        &["readonly"],
        (1, 1, 1),
        "2.8.7",
        "Finds the first set or clear bit of a string, or of a range of it.",
        BitPos::parse,
    ),
    spec(
        "bitop",
        -4,
        &["write", "denyoom"],
        (2, -1, 1),
        "2.6.0",
        "Stores the bitwise AND, OR, XOR or NOT of strings at a key.",
        BitOp::parse,
    ),
    spec(
        "bitfield",
        -2,
        &["write", "denyoom"],
        (1, 1, 1),
        "3.2.0",
        "Reads, sets and increments integers of any width at bit offsets of a string.",
        super::bitfield::parse_bitfield,
    ),
    spec(
        "bitfield_ro",
        -2,
        &["readonly", "fast"],
        (1, 1, 1),
        "6.0.0",
        "Reads integers of any width at bit offsets of a string.",
        super::bitfield::parse_bitfield_ro,
    ),
];

/// The `proto-max-bulk-len` now configured: no string may grow past it.
pub(super) fn max_len(ctx: &Ctx<'_>) -> u64 {
    ctx.shared
        .config
        .read()
        .expect("config lock")
        .proto_max_bulk_len as u64
}

/// A bit offset as SETBIT, GETBIT and BITFIELD take it: a non-negative
/// integer whose byte is below `max_len`; with `hash` (BITFIELD's `#n`
/// form, `bits` wide) `n` counts fields of that width.
pub(super) fn parse_bit_offset(
    raw: &[u8],
    max_len: u64,
    hash_bits: Option<u32>,
) -> Result<u64, CommandError> {
    let (text, mult) = match (raw.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (&raw[1..], bits as i64),
        _ => (raw, 1),
    };
    parse_i64_opt(text)
        .and_then(|n| n.checked_mul(mult))
        .and_then(|n| u64::try_from(n).ok())
        .filter(|&n| (n >> 3) < max_len)
        .ok_or(error::BIT_OFFSET)
}

/// Looks a string up for reading: `None` if absent, WRONGTYPE otherwise.
pub(super) fn read_string(
    db: &mut Db,
    key: &[u8],
    now: i64,
    stats: &mut KeyspaceStats,
) -> Result<Option<Bytes>, CommandError> {
    match db.get(key, now, stats) {
        None => Ok(None),
        Some(entry) => as_str(&entry.value)
            .cloned()
            .map(Some)
            .ok_or(error::WRONGTYPE),
    }
}

/// The bit at `offset` of `data` (0 past its end).
pub(super) fn bit_at(data: &[u8], offset: u64) -> u8 {
    let byte = (offset >> 3) as usize;
    data.get(byte).map_or(0, |b| (b >> (7 - (offset & 7))) & 1)
}

/// SETBIT key offset value
struct SetBit {
    key: Bytes,
    offset: Bytes,
    on: bool,
}

impl SetBit {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let offset = args.next_arg()?;
        let on = match &args.next_arg()?[..] {
            b"0" => false,
            b"1" => true,
            _ => return Err(error::BIT_VALUE),
        };
        boxed(SetBit { key, offset, on })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let offset = parse_bit_offset(&self.offset, max_len(ctx), None)?;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let (exists, old_byte) = match db.peek(&self.key, now, stats) {
            None => (false, 0),
            Some(entry) => {
                let s = as_str(&entry.value).ok_or(error::WRONGTYPE)?;
                (true, s.get((offset >> 3) as usize).copied().unwrap_or(0))
            }
        };
        let shift = 7 - (offset & 7) as u8;
        let old = (old_byte >> shift) & 1;
        let new_byte = (old_byte & !(1 << shift)) | ((self.on as u8) << shift);
        let grows = !exists
            || db
                .peek(&self.key, now, stats)
                .and_then(|e| as_str(&e.value).map(|s| s.len() as u64 <= offset >> 3))
                .unwrap_or(true);
        // As Redis 7.2+: a bit set to what it was changes nothing (no
        // journal record, no WATCH flag), unless the string must grow.
        if old == self.on as u8 && !grows {
            return Ok(Reply::Int(old as i64));
        }
        db.write_string_range(
            &self.key,
            (offset >> 3) as usize,
            Bytes::copy_from_slice(&[new_byte]),
            now,
            stats,
        )
        .ok_or(error::WRONGTYPE)?;
        db.notify(notify::STRING, "setbit", &self.key);
        Ok(Reply::Int(old as i64))
    }
}

impl Execute for SetBit {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// GETBIT key offset
struct GetBit {
    key: Bytes,
    offset: Bytes,
}

impl GetBit {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        boxed(GetBit {
            key: args.next_arg()?,
            offset: args.next_arg()?,
        })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let offset = parse_bit_offset(&self.offset, max_len(ctx), None)?;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let s = read_string(db, &self.key, now, stats)?.unwrap_or_default();
        Ok(Reply::Int(bit_at(&s, offset) as i64))
    }
}

impl Execute for GetBit {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// A `start end [BYTE|BIT]` range as given.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: i64,
    end: Option<i64>,
    bits: bool,
}

/// The inclusive bit range `[first, last]` that `range` selects in a
/// string of `len` bytes, as Redis normalizes it (negative indexes count
/// from the end, then clamp); `None` when it is empty.
fn bit_span(len: usize, range: Range) -> Option<(u64, u64)> {
    let unit_len = if range.bits {
        len as i64 * 8
    } else {
        len as i64
    };
    let mut start = range.start;
    let mut end = range.end.unwrap_or(unit_len - 1);
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += unit_len;
    }
    if end < 0 {
        end += unit_len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= unit_len {
        end = unit_len - 1;
    }
    if start > end || unit_len == 0 {
        return None;
    }
    Some(if range.bits {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    })
}

/// Set bits of `data` within the inclusive bit range `[first, last]`.
fn count_bits(data: &[u8], first: u64, last: u64) -> u64 {
    let (fb, lb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head_mask = 0xffu8 >> (first & 7);
    let tail_mask = 0xffu8 << (7 - (last & 7));
    if fb == lb {
        return (data[fb] & head_mask & tail_mask).count_ones() as u64;
    }
    let mut n =
        (data[fb] & head_mask).count_ones() as u64 + (data[lb] & tail_mask).count_ones() as u64;
    let middle = &data[fb + 1..lb];
    let mut chunks = middle.chunks_exact(8);
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Parses `[start end [BYTE|BIT]]` (BITCOUNT) or `[start [end [BYTE|BIT]]]`
/// (BITPOS, `end_optional`).
fn parse_range(words: Vec<Bytes>, end_optional: bool) -> Result<Option<Range>, CommandError> {
    if words.is_empty() {
        return Ok(None);
    }
    if words.len() > 3 || (words.len() == 1 && !end_optional) {
        return Err(error::SYNTAX);
    }
    let start = parse_i64(&words[0])?;
    let end = words.get(1).map(|w| parse_i64(w)).transpose()?;
    let bits = match words.get(2) {
        None => false,
        Some(w) if is(w, "BIT") => true,
        Some(w) if is(w, "BYTE") => false,
        Some(_) => return Err(error::SYNTAX),
    };
    Ok(Some(Range { start, end, bits }))
}

/// BITCOUNT key [start end [BYTE|BIT]]
struct BitCount {
    key: Bytes,
    /// The range, or the error parsing it gave: Redis 7.4 answers 0 for a
    /// missing key and WRONGTYPE before judging the range.
    range: Result<Option<Range>, CommandError>,
}

impl BitCount {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let range = parse_range(args.rest(), false);
        boxed(BitCount { key, range })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let Some(s) = read_string(db, &self.key, now, stats)? else {
            return Ok(Reply::Int(0));
        };
        let range = self.range?.unwrap_or(Range {
            start: 0,
            end: Some(-1),
            bits: false,
        });
        Ok(Reply::Int(match bit_span(s.len(), range) {
            Some((first, last)) => count_bits(&s, first, last) as i64,
            None => 0,
        }))
    }
}

impl Execute for BitCount {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
struct BitPos {
    key: Bytes,
    bit: Result<u8, CommandError>,
    range: Result<Option<Range>, CommandError>,
}

impl BitPos {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let key = args.next_arg()?;
        let bit = match parse_i64(&args.next_arg()?) {
            Ok(0) => Ok(0),
            Ok(1) => Ok(1),
            Ok(_) => Err(error::BIT_ARGUMENT),
            Err(e) => Err(e),
        };
        let range = parse_range(args.rest(), true);
        boxed(BitPos { key, bit, range })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let bit = self.bit?;
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let Some(s) = read_string(db, &self.key, now, stats)? else {
            // A missing key is an endless run of zeros.
            return Ok(Reply::Int(if bit == 1 { -1 } else { 0 }));
        };
        let range = self.range?;
        let end_given = range.is_some_and(|r| r.end.is_some());
        let range = range.unwrap_or(Range {
            start: 0,
            end: None,
            bits: false,
        });
        let Some((first, last)) = bit_span(s.len(), range) else {
            return Ok(Reply::Int(-1));
        };
        if let Some(pos) = find_bit(&s, first, last, bit) {
            return Ok(Reply::Int(pos as i64));
        }
        // Looking for a clear bit with no end given: the string counts as
        // padded with zeros on the right.
        Ok(Reply::Int(if bit == 0 && !end_given {
            last as i64 + 1
        } else {
            -1
        }))
    }
}

/// The first bit equal to `bit` within `[first, last]` of `data`.
fn find_bit(data: &[u8], first: u64, last: u64, bit: u8) -> Option<u64> {
    let skip = if bit == 1 { 0x00 } else { 0xff };
    let mut pos = first;
    while pos <= last {
        // Whole bytes that cannot hold the bit are skipped at once.
        if pos & 7 == 0 && pos + 7 <= last && data[(pos >> 3) as usize] == skip {
            pos += 8;
            continue;
        }
        if bit_at(data, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

impl Execute for BitPos {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

/// Which BITOP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bitwise {
    And,
    Or,
    Xor,
    Not,
    /// X AND NOT (Y1 OR Y2 …) (Redis 8.2).
    Diff,
    /// NOT X AND (Y1 OR Y2 …) (Redis 8.2).
    Diff1,
    /// X AND (Y1 OR Y2 …) (Redis 8.2).
    AndOr,
    /// Set in exactly one source (Redis 8.2).
    One,
}

/// BITOP AND|OR|XOR|NOT|DIFF|DIFF1|ANDOR|ONE destkey key [key …]
struct BitOp {
    op: Bitwise,
    dest: Bytes,
    keys: Vec<Bytes>,
}

impl BitOp {
    fn parse(mut args: Args) -> Result<Box<dyn Execute>, CommandError> {
        let word = args.next_arg()?;
        let op = if is(&word, "AND") {
            Bitwise::And
        } else if is(&word, "OR") {
            Bitwise::Or
        } else if is(&word, "XOR") {
            Bitwise::Xor
        } else if is(&word, "NOT") {
            Bitwise::Not
        } else if is(&word, "DIFF") {
            Bitwise::Diff
        } else if is(&word, "DIFF1") {
            Bitwise::Diff1
        } else if is(&word, "ANDOR") {
            Bitwise::AndOr
        } else if is(&word, "ONE") {
            Bitwise::One
        } else {
            return Err(error::SYNTAX);
        };
        let dest = args.next_arg()?;
        let keys = args.rest();
        if op == Bitwise::Not && keys.len() != 1 {
            return Err(error::BITOP_NOT_ONE_KEY);
        }
        let name = match op {
            Bitwise::Diff => "DIFF",
            Bitwise::Diff1 => "DIFF1",
            Bitwise::AndOr => "ANDOR",
            _ => "",
        };
        if !name.is_empty() && keys.len() < 2 {
            return Err(error::bitop_two_sources(name));
        }
        boxed(BitOp { op, dest, keys })
    }

    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let mut inputs = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            inputs.push(read_string(db, key, now, stats)?.unwrap_or_default());
        }
        let len = inputs.iter().map(|s| s.len()).max().unwrap_or(0);
        if len == 0 {
            if db.remove(&self.dest).is_some() {
                db.notify(notify::GENERIC, "del", &self.dest);
            }
            return Ok(Reply::Int(0));
        }
        let mut out = vec![0u8; len];
        match self.op {
            Bitwise::Not => {
                for (o, b) in out.iter_mut().zip(inputs[0].iter()) {
                    *o = !b;
                }
            }
            Bitwise::And => {
                // A shorter input is padded with zeros: its tail ANDs to 0.
                let short = inputs.iter().map(|s| s.len()).min().unwrap_or(0);
                out[..short].fill(0xff);
                out.truncate(short);
                for s in &inputs {
                    for (o, b) in out.iter_mut().zip(s.iter()) {
                        *o &= b;
                    }
                }
                out.resize(len, 0);
            }
            Bitwise::Diff | Bitwise::Diff1 | Bitwise::AndOr => {
                // `out` is the OR of the others; X then masks it.
                for s in &inputs[1..] {
                    for (o, b) in out.iter_mut().zip(s.iter()) {
                        *o |= b;
                    }
                }
                for (i, o) in out.iter_mut().enumerate() {
                    let x = inputs[0].get(i).copied().unwrap_or(0);
                    *o = match self.op {
                        Bitwise::Diff => x & !*o,
                        Bitwise::Diff1 => !x & *o,
                        _ => x & *o,
                    };
                }
            }
            Bitwise::One => {
                let mut more = vec![0u8; len];
                for s in &inputs {
                    for ((o, m), b) in out.iter_mut().zip(more.iter_mut()).zip(s.iter()) {
                        *m |= *o & b;
                        *o |= b;
                    }
                }
                for (o, m) in out.iter_mut().zip(&more) {
                    *o &= !m;
                }
            }
            Bitwise::Or | Bitwise::Xor => {
                for s in &inputs {
                    for (o, b) in out.iter_mut().zip(s.iter()) {
                        if self.op == Bitwise::Or {
                            *o |= b;
                        } else {
                            *o ^= b;
                        }
                    }
                }
            }
        }
        db.insert(
            self.dest.clone(),
            Entry::new(Value::Str(Bytes::from(out)), now),
        );
        db.notify(notify::STRING, "set", &self.dest);
        Ok(Reply::Int(len as i64))
    }
}

impl Execute for BitOp {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_counts() {
        let r = |start, end, bits| Range {
            start,
            end: Some(end),
            bits,
        };
        assert_eq!(bit_span(3, r(0, -1, false)), Some((0, 23)));
        assert_eq!(bit_span(3, r(1, 1, false)), Some((8, 15)));
        assert_eq!(bit_span(3, r(5, 30, true)), Some((5, 23)));
        assert_eq!(bit_span(3, r(-1, -2, false)), None);
        assert_eq!(bit_span(0, r(0, -1, false)), None);
        let data = b"foobar";
        assert_eq!(count_bits(data, 0, 47), 26);
        assert_eq!(count_bits(data, 8, 15), 6);
        assert_eq!(count_bits(data, 5, 30), 17);
        assert_eq!(find_bit(&[0xff, 0xf0, 0x00], 0, 23, 0), Some(12));
        assert_eq!(find_bit(&[0x00, 0x00, 0x01], 0, 23, 1), Some(23));
        assert_eq!(find_bit(&[0xff], 0, 7, 0), None);
    }

    #[test]
    fn offsets_are_bounded() {
        assert_eq!(parse_bit_offset(b"7", 1, None), Ok(7));
        assert_eq!(parse_bit_offset(b"8", 1, None), Err(error::BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"-1", 100, None), Err(error::BIT_OFFSET));
        assert_eq!(parse_bit_offset(b"#2", 100, Some(8)), Ok(16));
        assert_eq!(parse_bit_offset(b"#2", 100, None), Err(error::BIT_OFFSET));
        assert_eq!(
            parse_bit_offset(b"#9223372036854775807", u64::MAX, Some(64)),
            Err(error::BIT_OFFSET)
        );
    }
}
