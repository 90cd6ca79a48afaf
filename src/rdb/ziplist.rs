//! Ziplists: the compact encoding before listpacks (Redis 3.2 to 6.2 wrote
//! them for small hashes, sorted sets and quicklist nodes). Only read:
//! Sluice emits listpacks or plain encodings.
//!
//! ```text
//! ziplist: total bytes u32 LE | offset of the last entry u32 LE
//!          | entry count u16 LE (65535: unknown) | entry ... | 0xFF
//! entry:   prevlen (1 byte < 254, or 0xFE + u32 LE) | encoding | data
//! encoding: 00xxxxxx              string, 6-bit length
//!           01xxxxxx +1 byte      string, 14-bit length (big-endian)
//!           10000000 +4 BE        string, 32-bit length
//!           11000000/11010000/11100000   i16/i32/i64 LE
//!           11110000 / 11111110   i24 / i8
//!           1111xxxx (1..=13)     immediate integer xxxx-1
//! ```
//!
//! As with listpacks, `deep` adds the checks reading does not need: each
//! prevlen, the tail offset and the entry count.

use bytes::Bytes;

use super::listpack::Item;
use super::RdbError;

const HEADER: usize = 10;

/// The entries of a ziplist.
pub fn decode(blob: &Bytes, deep: bool) -> Result<Vec<Item>, RdbError> {
    let bad = || RdbError::BadData;
    if blob.len() < HEADER + 1 || blob[blob.len() - 1] != 0xff {
        return Err(bad());
    }
    let total = u32::from_le_bytes(blob[..4].try_into().expect("4 bytes")) as usize;
    let tail = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    let declared = u16::from_le_bytes([blob[8], blob[9]]);
    if total != blob.len() {
        return Err(bad());
    }
    let end = blob.len() - 1;
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = HEADER;
    let mut items = Vec::with_capacity((end - pos) / 2);
    while pos < end {
        let start = pos;
        let (prevlen, n) = match blob[pos] {
            0xfe => {
                let b = blob.get(pos + 1..pos + 5).ok_or_else(bad)?;
                (
                    u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize,
                    5,
                )
            }
            0xff => return Err(bad()),
            b => (usize::from(b), 1),
        };
        if deep && prevlen != prev_size {
            return Err(bad());
        }
        pos += n;
        let enc = *blob.get(pos).ok_or_else(bad)?;
        let item = match enc >> 6 {
            0 => string(blob, &mut pos, 1, usize::from(enc & 0x3f))?,
            1 => {
                let lo = *blob.get(pos + 1).ok_or_else(bad)?;
                string(
                    blob,
                    &mut pos,
                    2,
                    (usize::from(enc & 0x3f) << 8) | usize::from(lo),
                )?
            }
            2 => {
                if enc != 0x80 {
                    return Err(bad());
                }
                let b = blob.get(pos + 1..pos + 5).ok_or_else(bad)?;
                string(
                    blob,
                    &mut pos,
                    5,
                    u32::from_be_bytes(b.try_into().expect("4")) as usize,
                )?
            }
            _ => {
                let (v, n) = match enc {
                    0xc0 => (int_le(blob, pos + 1, 2)?, 2),
                    0xd0 => (int_le(blob, pos + 1, 4)?, 4),
                    0xe0 => (int_le(blob, pos + 1, 8)?, 8),
                    0xf0 => (int_le(blob, pos + 1, 3)?, 3),
                    0xfe => (int_le(blob, pos + 1, 1)?, 1),
                    0xf1..=0xfd => (i64::from(enc & 0x0f) - 1, 0),
                    _ => return Err(bad()),
                };
                pos += 1 + n;
                Item::Int(v)
            }
        };
        if pos > end {
            return Err(bad());
        }
        last_start = start;
        prev_size = pos - start;
        items.push(item);
    }
    if deep
        && (tail != last_start || (declared != u16::MAX && usize::from(declared) != items.len()))
    {
        return Err(bad());
    }
    Ok(items)
}

/// A string entry whose data starts `header` bytes after `*pos`.
fn string(blob: &Bytes, pos: &mut usize, header: usize, len: usize) -> Result<Item, RdbError> {
    let from = *pos + header;
    let to = from.checked_add(len).ok_or(RdbError::BadData)?;
    if to >= blob.len() {
        return Err(RdbError::BadData);
    }
    *pos = to;
    Ok(Item::Str(blob.slice(from..to)))
}

/// A little-endian signed integer of `n` bytes.
fn int_le(blob: &[u8], from: usize, n: usize) -> Result<i64, RdbError> {
    let bytes = blob.get(from..from + n).ok_or(RdbError::BadData)?;
    let mut v: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        v |= u64::from(b) << (8 * i);
    }
    let shift = 64 - 8 * n as u32;
    Ok(((v << shift) as i64) >> shift)
}
