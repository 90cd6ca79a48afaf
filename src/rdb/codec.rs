//! The RDB primitives every object encoding is built from: lengths,
//! strings (plain, integer-encoded, LZF-compressed), doubles and
//! millisecond times. [`Reader`] never trusts a length: a string's length
//! must fit in what is left of the payload, and a count of items is
//! bounded by the bytes left (every item takes at least one), so a
//! malformed payload can't make it allocate more than a small multiple of
//! its own size.
//!
//! ```text
//! length:  00xxxxxx                   6-bit length
//!          01xxxxxx xxxxxxxx          14-bit length (big-endian)
//!          10000000 + 4 bytes BE      32-bit length
//!          10000001 + 8 bytes BE      64-bit length
//!          11xxxxxx                   a special string encoding:
//! string:  11000000 + i8 | 11000001 + i16 LE | 11000010 + i32 LE
//!          11000011 + length clen + length len + clen LZF bytes
//!          otherwise: length + bytes
//! ```

use bytes::Bytes;

use super::{lzf, RdbError};

/// The largest string a payload may decode to (Redis's default
/// `proto-max-bulk-len`); LZF output is also bounded by its input.
const MAX_STRING: usize = 512 << 20;
/// LZF never expands a byte of input into more than this many bytes of
/// output (a 3-byte back reference makes 264).
const LZF_MAX_RATIO: usize = 88;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Reads RDB primitives from a payload, checking every bound.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// A length or a special string encoding, as the first byte says.
enum Len {
    Plain(u64),
    Special(u8),
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.remaining() {
            return Err(RdbError::BadData);
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    /// An 8-byte little-endian integer (RDB millisecond times).
    pub fn le_u64(&mut self) -> Result<u64, RdbError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// A 16-byte big-endian stream ID as stored raw (PEL entries).
    pub fn raw_id(&mut self) -> Result<(u64, u64), RdbError> {
        let b = self.take(16)?;
        Ok(id_from_be(b))
    }

    fn len_or_special(&mut self) -> Result<Len, RdbError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.u8()?)),
            2 => match first {
                0x80 => Len::Plain(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().expect("4 bytes"),
                ))),
                0x81 => Len::Plain(u64::from_be_bytes(
                    self.take(8)?.try_into().expect("8 bytes"),
                )),
                _ => return Err(RdbError::BadData),
            },
            _ => Len::Special(first & 0x3f),
        })
    }

    /// A length used as a number (IDs, counters), not as a size.
    pub fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::BadData),
        }
    }

    /// A count of items that each take at least one byte: bounded by
    /// what is left, so it is safe to allocate for.
    pub fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        if n > self.remaining() as u64 {
            return Err(RdbError::BadData);
        }
        Ok(n as usize)
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Result<Bytes, RdbError> {
        match self.len_or_special()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::BadData)?;
                Ok(Bytes::copy_from_slice(self.take(n)?))
            }
            Len::Special(ENC_INT8) => Ok(int_bytes(i64::from(self.u8()? as i8))),
            Len::Special(ENC_INT16) => {
                let b = self.take(2)?;
                Ok(int_bytes(i64::from(i16::from_le_bytes([b[0], b[1]]))))
            }
            Len::Special(ENC_INT32) => {
                let b = self.take(4)?;
                Ok(int_bytes(i64::from(i32::from_le_bytes(
                    b.try_into().expect("4 bytes"),
                ))))
            }
            Len::Special(ENC_LZF) => {
                let clen = usize::try_from(self.len()?).map_err(|_| RdbError::BadData)?;
                let ulen = usize::try_from(self.len()?).map_err(|_| RdbError::BadData)?;
                let input = self.take(clen)?;
                if ulen > MAX_STRING || ulen > clen.saturating_mul(LZF_MAX_RATIO) {
                    return Err(RdbError::BadData);
                }
                lzf::decompress(input, ulen)
                    .map(Bytes::from)
                    .ok_or(RdbError::BadData)
            }
            Len::Special(_) => Err(RdbError::BadData),
        }
    }

    /// A binary double (8 bytes little-endian; ZSET_2 scores).
    pub fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_bits(self.le_u64()?))
    }

    /// A double as text with a one-byte length (the old ZSET type): 253 is
    /// NaN, 254 +inf, 255 -inf.
    pub fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(usize::from(n))?;
                parse_double(text).ok_or(RdbError::BadData)
            }
        }
    }
}

/// Parses a score written as text (old ZSET, ziplist and listpack
/// members): a finite or infinite decimal, not NaN.
pub fn parse_double(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    (!v.is_nan()).then_some(v)
}

/// A 16-byte big-endian stream ID (radix-tree keys, PEL entries).
pub fn id_from_be(b: &[u8]) -> (u64, u64) {
    (
        u64::from_be_bytes(b[..8].try_into().expect("8 bytes")),
        u64::from_be_bytes(b[8..16].try_into().expect("8 bytes")),
    )
}

/// The decimal text of an integer.
pub fn int_bytes(v: i64) -> Bytes {
    Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes())
}

/// The integer a string is the canonical decimal form of (no sign on 0,
/// no leading zeros or blanks), as Redis decides what to store as one.
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (itoa::Buffer::new().format(v).as_bytes() == s).then_some(v)
}

/// Appends RDB primitives to a buffer.
#[derive(Default)]
pub struct Writer {
    /// The bytes so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// One byte.
    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// A length.
    pub fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf
                .extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else if n <= u64::from(u32::MAX) {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// A string: integer-encoded when it is the canonical form of a
    /// 32-bit integer (as Redis writes such strings), plain otherwise.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = canonical_int(s) {
                if let Ok(v) = i8::try_from(v) {
                    self.buf.extend_from_slice(&[0xc0 | ENC_INT8, v as u8]);
                    return;
                }
                if let Ok(v) = i16::try_from(v) {
                    self.buf.push(0xc0 | ENC_INT16);
                    self.buf.extend_from_slice(&v.to_le_bytes());
                    return;
                }
                if let Ok(v) = i32::try_from(v) {
                    self.buf.push(0xc0 | ENC_INT32);
                    self.buf.extend_from_slice(&v.to_le_bytes());
                    return;
                }
            }
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// An 8-byte little-endian integer (millisecond times).
    pub fn le_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A binary double.
    pub fn binary_double(&mut self, v: f64) {
        self.le_u64(v.to_bits());
    }

    /// A 16-byte big-endian stream ID.
    pub fn raw_id(&mut self, id: (u64, u64)) {
        self.buf.extend_from_slice(&id.0.to_be_bytes());
        self.buf.extend_from_slice(&id.1.to_be_bytes());
    }
}
