//! Listpacks: the compact encoding of small hashes, sets, sorted sets,
//! quicklist nodes and stream nodes since Redis 7.0.
//!
//! ```text
//! listpack: total bytes u32 LE | element count u16 LE (65535: unknown)
//!           | element ... | 0xFF
//! element:  encoding+data | backlen (1-5 bytes: the size of
//!           encoding+data, 7 bits a byte, read from the end backwards)
//! encoding: 0xxxxxxx            7-bit unsigned integer
//!           10xxxxxx            string, 6-bit length
//!           110xxxxx +1 byte    13-bit signed integer
//!           1110xxxx +1 byte    string, 12-bit length
//!           11110000 +4 LE      string, 32-bit length
//!           11110001/2/3/4      16/24/32/64-bit signed integer, LE
//! ```
//!
//! Decoding always checks what reading needs (the total matches the blob,
//! every element lies inside it, the terminator is last); `deep` also
//! checks what reading does not need but a consistent listpack has (each
//! backlen, the element count), as Redis's `sanitize-dump-payload` does.

use bytes::Bytes;

use super::codec::{canonical_int, int_bytes};
use super::RdbError;

const HEADER: usize = 6;
const EOF: u8 = 0xff;

/// One element: listpacks store integers apart from strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An integer element.
    Int(i64),
    /// A string element.
    Str(Bytes),
}

impl Item {
    /// The element as a string (integers in decimal).
    pub fn into_bytes(self) -> Bytes {
        match self {
            Item::Int(v) => int_bytes(v),
            Item::Str(s) => s,
        }
    }

    /// The element as an integer, if it is one or a string holding one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Item::Int(v) => Some(*v),
            Item::Str(s) => canonical_int(s),
        }
    }
}

/// The elements of a listpack.
pub fn decode(blob: &Bytes, deep: bool) -> Result<Vec<Item>, RdbError> {
    let bad = || RdbError::BadData;
    if blob.len() < HEADER + 1 || blob[blob.len() - 1] != EOF {
        return Err(bad());
    }
    let total = u32::from_le_bytes(blob[..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err(bad());
    }
    let declared = u16::from_le_bytes([blob[4], blob[5]]);
    let end = blob.len() - 1;
    let mut pos = HEADER;
    // Every element takes at least two bytes.
    let mut items = Vec::with_capacity((end - pos) / 2);
    while pos < end {
        let start = pos;
        let b = blob[pos];
        let (item, size) = match b {
            0x00..=0x7f => (Item::Int(i64::from(b)), 1),
            0x80..=0xbf => str_item(blob, pos, 1, usize::from(b & 0x3f))?,
            0xc0..=0xdf => {
                let lo = *blob.get(pos + 1).ok_or_else(bad)?;
                let u = (i64::from(b & 0x1f) << 8) | i64::from(lo);
                (Item::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2)
            }
            0xe0..=0xef => {
                let lo = *blob.get(pos + 1).ok_or_else(bad)?;
                str_item(blob, pos, 2, (usize::from(b & 0x0f) << 8) | usize::from(lo))?
            }
            0xf0 => {
                let n = blob.get(pos + 1..pos + 5).ok_or_else(bad)?;
                let n = u32::from_le_bytes(n.try_into().expect("4 bytes")) as usize;
                str_item(blob, pos, 5, n)?
            }
            0xf1 => (Item::Int(int_le(blob, pos + 1, 2)?), 3),
            0xf2 => (Item::Int(int_le(blob, pos + 1, 3)?), 4),
            0xf3 => (Item::Int(int_le(blob, pos + 1, 4)?), 5),
            0xf4 => (Item::Int(int_le(blob, pos + 1, 8)?), 9),
            _ => return Err(bad()),
        };
        pos += size;
        let back = backlen_size(size);
        let back_bytes = blob.get(pos..pos + back).ok_or_else(bad)?;
        if pos + back > end || (deep && decode_backlen(back_bytes) != Some(size)) {
            return Err(bad());
        }
        pos += back;
        debug_assert!(pos > start);
        items.push(item);
    }
    if deep && declared != u16::MAX && usize::from(declared) != items.len() {
        return Err(bad());
    }
    Ok(items)
}

/// A string element whose data starts `header` bytes after `pos`.
fn str_item(
    blob: &Bytes,
    pos: usize,
    header: usize,
    len: usize,
) -> Result<(Item, usize), RdbError> {
    let from = pos + header;
    let to = from.checked_add(len).ok_or(RdbError::BadData)?;
    if to >= blob.len() {
        return Err(RdbError::BadData);
    }
    Ok((Item::Str(blob.slice(from..to)), header + len))
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

/// How many bytes the backlen of an element of `size` bytes takes.
fn backlen_size(size: usize) -> usize {
    match size {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Reads a backlen from its bytes (the last byte holds the lowest bits).
fn decode_backlen(bytes: &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for (i, &b) in bytes.iter().rev().enumerate() {
        v |= usize::from(b & 0x7f) << (7 * i);
        let more = b & 0x80 != 0;
        if more != (i + 1 < bytes.len()) {
            return None;
        }
    }
    Some(v)
}

/// Builds a listpack element by element.
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Builder {
    /// An empty listpack.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Builder {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Appends a string, stored as an integer when it is the canonical form
    /// of one (as Redis stores it).
    pub fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = canonical_int(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf
                .extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.finish_element(start);
    }

    /// Appends an integer in its smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            self.buf
                .extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
        } else {
            let (tag, n) = if i16::try_from(v).is_ok() {
                (0xf1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                (0xf2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xf3, 4)
            } else {
                (0xf4, 8)
            };
            self.buf.push(tag);
            self.buf.extend_from_slice(&v.to_le_bytes()[..n]);
        }
        self.finish_element(start);
    }

    fn finish_element(&mut self, start: usize) {
        let size = self.buf.len() - start;
        let n = backlen_size(size);
        for i in (0..n).rev() {
            let bits = ((size >> (7 * i)) & 0x7f) as u8;
            // Every byte but the first written carries the "more" flag.
            self.buf.push(if i + 1 < n { bits | 0x80 } else { bits });
        }
        self.count += 1;
    }

    /// Elements so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no element was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes so far.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}
