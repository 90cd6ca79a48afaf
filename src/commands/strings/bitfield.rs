//! BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (unsigned: 1 to 63)
//! at any bit offset of a string, with WRAP, SAT or FAIL on overflow.
//!
//! Each SET or INCRBY writes back only the (at most nine) bytes its field
//! touches, and the journal records just those (`Db::write_string_range`).

use bytes::Bytes;

use super::bits::{max_len, parse_bit_offset};
use super::{as_str, boxed, Args, Ctx, Execute};
use crate::commands::args::{is, parse_i64};
use crate::error::{self, CommandError};
use crate::keyspace::notify;
use crate::protocol::Reply;

/// An integer type: signedness and width in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Type {
    signed: bool,
    bits: u32,
}

/// What happens when a SET or INCRBY does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Debug, Clone)]
enum Kind {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone)]
struct FieldOp {
    kind: Kind,
    ty: Type,
    /// The offset as given (`n` or `#n`), judged against
    /// proto-max-bulk-len when the command runs.
    offset: Bytes,
    overflow: Overflow,
}

/// BITFIELD key [GET type offset | SET type offset value |
/// INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] …
struct BitField {
    key: Bytes,
    ops: Vec<FieldOp>,
}

fn parse_type(raw: &[u8]) -> Result<Type, CommandError> {
    let signed = match raw.first() {
        Some(b'i') | Some(b'I') => true,
        Some(b'u') | Some(b'U') => false,
        _ => return Err(error::BITFIELD_TYPE),
    };
    let bits = crate::commands::args::parse_i64_opt(&raw[1..])
        .filter(|&b| b >= 1 && b <= if signed { 64 } else { 63 })
        .ok_or(error::BITFIELD_TYPE)?;
    Ok(Type {
        signed,
        bits: bits as u32,
    })
}

fn parse(mut args: Args, readonly: bool) -> Result<Box<dyn Execute>, CommandError> {
    let key = args.next_arg()?;
    let words = args.rest();
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let left = words.len() - i - 1;
        if is(word, "GET") && left >= 2 {
            let ty = parse_type(&words[i + 1])?;
            parse_bit_offset(&words[i + 2], u64::MAX, Some(ty.bits))?;
            ops.push(FieldOp {
                kind: Kind::Get,
                ty,
                offset: words[i + 2].clone(),
                overflow,
            });
            i += 3;
        } else if (is(word, "SET") || is(word, "INCRBY")) && left >= 3 {
            let ty = parse_type(&words[i + 1])?;
            let offset = words[i + 2].clone();
            parse_bit_offset(&offset, u64::MAX, Some(ty.bits))?;
            let n = parse_i64(&words[i + 3])?;
            if readonly {
                return Err(error::BITFIELD_RO_GET_ONLY);
            }
            let kind = if is(word, "SET") {
                Kind::Set(n)
            } else {
                Kind::IncrBy(n)
            };
            ops.push(FieldOp {
                kind,
                ty,
                offset,
                overflow,
            });
            i += 4;
        } else if is(word, "OVERFLOW") && left >= 1 {
            let how = &words[i + 1];
            overflow = if is(how, "WRAP") {
                Overflow::Wrap
            } else if is(how, "SAT") {
                Overflow::Sat
            } else if is(how, "FAIL") {
                Overflow::Fail
            } else {
                return Err(error::BITFIELD_OVERFLOW);
            };
            i += 2;
        } else {
            return Err(error::SYNTAX);
        }
    }
    boxed(BitField { key, ops })
}

pub(super) fn parse_bitfield(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, false)
}

pub(super) fn parse_bitfield_ro(args: Args) -> Result<Box<dyn Execute>, CommandError> {
    parse(args, true)
}

/// The `bits`-wide field at bit `offset` of `data` (zeros past its end),
/// as an unsigned number.
fn read_field(data: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..bits as u64 {
        v = (v << 1) | super::bits::bit_at(data, offset + i) as u64;
    }
    v
}

/// `value`'s low `bits` bits written at bit `offset` of `window`, a copy of
/// the bytes from byte `offset >> 3` on.
fn write_field(window: &mut [u8], offset: u64, bits: u32, value: u64) {
    let base = offset & 7;
    for i in 0..bits as u64 {
        let bit = (value >> (bits as u64 - 1 - i)) & 1;
        let pos = base + i;
        let (byte, shift) = ((pos >> 3) as usize, 7 - (pos & 7));
        window[byte] = (window[byte] & !(1 << shift)) | ((bit as u8) << shift);
    }
}

/// Interprets an unsigned field value as its type says.
fn as_value(raw: u64, ty: Type) -> i64 {
    if ty.signed && ty.bits < 64 {
        let shift = 64 - ty.bits;
        ((raw << shift) as i64) >> shift
    } else {
        raw as i64
    }
}

/// `value + incr` in type `ty` with `how` on overflow: the new value, or
/// `None` when it overflows and `how` is FAIL.
fn add(value: i64, incr: i64, ty: Type, how: Overflow) -> Option<i64> {
    let (min, max): (i128, i128) = if ty.signed {
        (-(1i128 << (ty.bits - 1)), (1i128 << (ty.bits - 1)) - 1)
    } else {
        (0, (1i128 << ty.bits) - 1)
    };
    // An unsigned value is taken as unsigned (a SET of -1 is huge).
    let base = if ty.signed {
        value as i128
    } else {
        value as u64 as i128
    };
    let sum = base + incr as i128;
    if (min..=max).contains(&sum) {
        return Some(sum as i64);
    }
    match how {
        Overflow::Fail => None,
        Overflow::Sat => Some(if sum > max { max as i64 } else { min as i64 }),
        Overflow::Wrap => {
            let raw = (base as u64).wrapping_add(incr as u64);
            let masked = if ty.bits == 64 {
                raw
            } else {
                raw & ((1u64 << ty.bits) - 1)
            };
            Some(as_value(masked, ty))
        }
    }
}

impl BitField {
    fn run(self, ctx: &mut Ctx<'_>) -> Result<Reply, CommandError> {
        let limit = max_len(ctx);
        let mut offsets = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            offsets.push(parse_bit_offset(&op.offset, limit, Some(op.ty.bits))?);
        }
        let now = ctx.now;
        let (db, stats) = ctx.db();
        let writes = self.ops.iter().any(|op| !matches!(op.kind, Kind::Get));
        let current = |db: &mut crate::keyspace::Db,
                       stats: &mut crate::keyspace::KeyspaceStats|
         -> Result<Option<Bytes>, CommandError> {
            match db.peek(&self.key, now, stats) {
                None => Ok(None),
                Some(e) => as_str(&e.value).cloned().map(Some).ok_or(error::WRONGTYPE),
            }
        };
        if !writes {
            let data = super::bits::read_string(db, &self.key, now, stats)?.unwrap_or_default();
            let out = self
                .ops
                .iter()
                .zip(&offsets)
                .map(|(op, &off)| Reply::Int(as_value(read_field(&data, off, op.ty.bits), op.ty)))
                .collect();
            return Ok(Reply::Array(out));
        }
        // As Redis does, the string grows to cover the farthest field a SET
        // or INCRBY names, even one that then fails.
        let highest = self
            .ops
            .iter()
            .zip(&offsets)
            .filter(|(op, _)| !matches!(op.kind, Kind::Get))
            .map(|(op, &off)| off + op.ty.bits as u64 - 1)
            .max()
            .unwrap_or(0);
        let len = current(db, stats)?.map_or(0, |s| s.len());
        let last_byte = (highest >> 3) as usize;
        let mut changed = false;
        if len <= last_byte {
            db.write_string_range(&self.key, last_byte, Bytes::from_static(&[0]), now, stats)
                .ok_or(error::WRONGTYPE)?;
            changed = true;
        }
        let mut out = Vec::with_capacity(self.ops.len());
        for (op, &off) in self.ops.iter().zip(&offsets) {
            let first = (off >> 3) as usize;
            let last = ((off + op.ty.bits as u64 - 1) >> 3) as usize;
            // Copy the few bytes the field spans, so the string itself is
            // not shared while it is written (no copy of a big value).
            let mut window = [0u8; 9];
            let old_raw = {
                let data = current(db, stats)?.unwrap_or_default();
                for (i, w) in window[..=last - first].iter_mut().enumerate() {
                    *w = data.get(first + i).copied().unwrap_or(0);
                }
                read_field(&data, off, op.ty.bits)
            };
            let old = as_value(old_raw, op.ty);
            let (new, reply) = match op.kind {
                Kind::Get => {
                    out.push(Reply::Int(old));
                    continue;
                }
                Kind::Set(v) => match add(v, 0, op.ty, op.overflow) {
                    Some(n) => (n, old),
                    None => {
                        out.push(Reply::Null);
                        continue;
                    }
                },
                Kind::IncrBy(incr) => match add(old, incr, op.ty, op.overflow) {
                    Some(n) => (n, n),
                    None => {
                        out.push(Reply::Null);
                        continue;
                    }
                },
            };
            let before = window;
            write_field(&mut window, off, op.ty.bits, new as u64);
            // A SET to the value already there changes nothing (Redis
            // 7.2+); INCRBY always counts as a write.
            if before == window && matches!(op.kind, Kind::Set(_)) {
                out.push(Reply::Int(reply));
                continue;
            }
            db.write_string_range(
                &self.key,
                first,
                Bytes::copy_from_slice(&window[..=last - first]),
                now,
                stats,
            )
            .ok_or(error::WRONGTYPE)?;
            changed = true;
            out.push(Reply::Int(reply));
        }
        if changed {
            db.notify(notify::STRING, "setbit", &self.key);
        }
        Ok(Reply::Array(out))
    }
}

impl Execute for BitField {
    fn execute(self: Box<Self>, ctx: &mut Ctx<'_>) -> Reply {
        self.run(ctx).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const U8: Type = Type {
        signed: false,
        bits: 8,
    };
    const I8: Type = Type {
        signed: true,
        bits: 8,
    };
    const I64: Type = Type {
        signed: true,
        bits: 64,
    };

    #[test]
    fn overflow_handling() {
        assert_eq!(add(250, 10, U8, Overflow::Wrap), Some(4));
        assert_eq!(add(250, 10, U8, Overflow::Sat), Some(255));
        assert_eq!(add(250, 10, U8, Overflow::Fail), None);
        assert_eq!(add(5, -10, U8, Overflow::Sat), Some(0));
        assert_eq!(add(-1, 0, U8, Overflow::Wrap), Some(255));
        assert_eq!(add(127, 1, I8, Overflow::Wrap), Some(-128));
        assert_eq!(add(-128, -1, I8, Overflow::Sat), Some(-128));
        assert_eq!(add(i64::MAX, 1, I64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(add(i64::MAX, 1, I64, Overflow::Fail), None);
    }

    #[test]
    fn fields_round_trip_across_bytes() {
        let mut window = [0u8; 9];
        write_field(&mut window, 5, 12, 0xabc);
        assert_eq!(read_field(&window, 5, 12), 0xabc);
        assert_eq!(read_field(&window, 0, 5), 0);
        assert_eq!(as_value(0xff, I8), -1);
        assert_eq!(parse_type(b"u64"), Err(error::BITFIELD_TYPE));
        assert_eq!(parse_type(b"i64"), Ok(I64));
        assert_eq!(parse_type(b"x8"), Err(error::BITFIELD_TYPE));
    }
}
