//! One chunk of a list: its elements packed back to back in one buffer.
//!
//! ```text
//! element   header u8, then by header:
//!   0..=191     a string of that many bytes follows
//!   192         a string follows: length varint (LEB128), then its bytes
//!   193..=200   an integer of (header - 192) bytes follows, little-endian,
//!               two's complement; it stood for its canonical decimal text
//!   201..=255   the integer (header - 201), 0..=54, no bytes follow
//! ```
//!
//! A short string costs its length plus one byte, and an element that is
//! the canonical text of an integer (`"42"`, `"-7"`, not `"007"`) costs one
//! to nine bytes, so a chunk packs small elements tighter than Redis's
//! listpack (which spends two bytes of header and back-length per string).
//! Elements are read front to back; the last one is found by walking the
//! chunk, which is short (a few KB at most).

use bytes::Bytes;

const LONG_STR: u8 = 192;
const INT_BASE: u8 = 192;
const SMALL_INT: u8 = 201;

/// The integer `e` is the canonical decimal text of, if any.
pub(super) fn canonical_int(e: &[u8]) -> Option<i64> {
    if e.is_empty() || e.len() > 20 {
        return None;
    }
    let s = std::str::from_utf8(e).ok()?;
    let v: i64 = s.parse().ok()?;
    let mut buf = itoa::Buffer::new();
    (buf.format(v).as_bytes() == e).then_some(v)
}

/// The bytes `v` takes as a little-endian two's-complement integer.
fn int_width(v: i64) -> u8 {
    for w in 1..8u8 {
        let bits = 8 * w as u32;
        let lo = -(1i64 << (bits - 1));
        let hi = (1i64 << (bits - 1)) - 1;
        if (lo..=hi).contains(&v) {
            return w;
        }
    }
    8
}

/// Appends `e` encoded as one element.
pub(super) fn encode(out: &mut Vec<u8>, e: &[u8]) {
    if let Some(v) = canonical_int(e) {
        if (0..=54).contains(&v) {
            out.push(SMALL_INT + v as u8);
        } else {
            let w = int_width(v);
            out.push(INT_BASE + w);
            out.extend_from_slice(&v.to_le_bytes()[..w as usize]);
        }
    } else if e.len() < LONG_STR as usize {
        out.push(e.len() as u8);
        out.extend_from_slice(e);
    } else {
        out.push(LONG_STR);
        let mut n = e.len() as u64;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(e);
    }
}

/// The bytes `e` takes encoded.
pub(super) fn encoded_len(e: &[u8]) -> usize {
    let mut v = Vec::new();
    if e.len() <= 64 {
        encode(&mut v, e);
        return v.len();
    }
    let mut n = e.len() as u64;
    let mut varint = 0;
    loop {
        varint += 1;
        n >>= 7;
        if n == 0 {
            break;
        }
    }
    1 + varint + e.len()
}

/// One element as stored: a string slice or an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    /// Bytes stored as they are.
    Str(&'a [u8]),
    /// An integer stored for its canonical text.
    Int(i64),
}

impl Elem<'_> {
    /// The element's bytes.
    pub fn to_bytes(self) -> Bytes {
        match self {
            Elem::Str(s) => Bytes::copy_from_slice(s),
            Elem::Int(v) => Bytes::copy_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        }
    }

    /// Whether the element's bytes are `other`.
    pub fn eq_bytes(self, other: &[u8]) -> bool {
        match self {
            Elem::Str(s) => s == other,
            Elem::Int(v) => itoa::Buffer::new().format(v).as_bytes() == other,
        }
    }

    /// The element's length in bytes.
    pub fn len(self) -> usize {
        match self {
            Elem::Str(s) => s.len(),
            Elem::Int(v) => itoa::Buffer::new().format(v).len(),
        }
    }

    /// Whether the element is the empty string.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// Decodes the element at `pos`; returns it and the next position, or
/// `None` if the bytes there are not a whole element.
pub(super) fn decode(data: &[u8], pos: usize) -> Option<(Elem<'_>, usize)> {
    let h = *data.get(pos)?;
    let pos = pos + 1;
    Some(match h {
        0..=191 => {
            let end = pos.checked_add(h as usize)?;
            (Elem::Str(data.get(pos..end)?), end)
        }
        LONG_STR => {
            let mut n: u64 = 0;
            let mut p = pos;
            let mut shift = 0;
            loop {
                let b = *data.get(p)?;
                p += 1;
                if shift > 56 {
                    return None;
                }
                n |= ((b & 0x7f) as u64) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let end = p.checked_add(usize::try_from(n).ok()?)?;
            (Elem::Str(data.get(p..end)?), end)
        }
        193..=200 => {
            let w = (h - INT_BASE) as usize;
            let raw = data.get(pos..pos + w)?;
            let mut buf = [0u8; 8];
            buf[..w].copy_from_slice(raw);
            // Sign-extend from the top byte stored.
            let fill = if raw[w - 1] & 0x80 != 0 { 0xff } else { 0 };
            for b in &mut buf[w..] {
                *b = fill;
            }
            (Elem::Int(i64::from_le_bytes(buf)), pos + w)
        }
        _ => (Elem::Int((h - SMALL_INT) as i64), pos),
    })
}

/// The bytes Redis's listpack would spend on `e` (header, data and
/// back-length), which is what `list-max-listpack-size` counts.
pub(super) fn listpack_len(e: &[u8]) -> usize {
    let enc = match canonical_int(e) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None if e.len() < 64 => 1 + e.len(),
        None if e.len() < 4096 => 2 + e.len(),
        None => 5 + e.len(),
    };
    let back = match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    enc + back
}

/// A listpack's header and terminator.
pub(super) const LISTPACK_OVERHEAD: usize = 7;

/// A run of elements packed in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub(super) data: Vec<u8>,
    pub(super) count: u32,
    /// What Redis's listpack of these elements would weigh.
    pub(super) lp: u32,
    /// Where each element starts, built by the first pop from the back and
    /// kept by pushes at the back (a queue fed at one end and drained at
    /// the other pops from the back of one chunk again and again); any
    /// other change drops it.
    back: Option<Vec<u32>>,
}

impl Chunk {
    /// A chunk of `elems`.
    pub(super) fn of<'a>(elems: impl IntoIterator<Item = &'a [u8]>) -> Chunk {
        let mut c = Chunk {
            lp: LISTPACK_OVERHEAD as u32,
            ..Chunk::default()
        };
        for e in elems {
            c.push_back(e);
        }
        c.data.shrink_to_fit();
        c
    }

    fn checked(data: Vec<u8>, count: u32) -> Option<Chunk> {
        let mut lp = LISTPACK_OVERHEAD;
        let mut pos = 0;
        let mut n = 0;
        while pos < data.len() {
            let (e, next) = decode(&data, pos)?;
            lp += match e {
                Elem::Str(s) => listpack_len(s),
                Elem::Int(_) => listpack_len(&e.to_bytes()),
            };
            pos = next;
            n += 1;
        }
        (n == count && count > 0).then_some(Chunk {
            data,
            count,
            lp: lp as u32,
            back: None,
        })
    }

    /// Its packed bytes and element count, as the journal writes them.
    pub fn raw(&self) -> (&[u8], u32) {
        (&self.data, self.count)
    }

    /// A chunk read back from disk: `None` unless `data` holds exactly
    /// `count` whole elements (at least one).
    pub fn from_raw(data: Vec<u8>, count: u32) -> Option<Chunk> {
        Self::checked(data, count)
    }

    /// Its elements, front to back.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            data: &self.data,
            pos: 0,
        }
    }

    pub(super) fn push_back(&mut self, e: &[u8]) {
        if let Some(starts) = &mut self.back {
            starts.push(self.data.len() as u32);
        }
        encode(&mut self.data, e);
        self.count += 1;
        self.lp += listpack_len(e) as u32;
    }

    pub(super) fn push_front(&mut self, e: &[u8]) {
        let mut head = Vec::with_capacity(encoded_len(e));
        encode(&mut head, e);
        self.data.splice(0..0, head);
        self.back = None;
        self.count += 1;
        self.lp += listpack_len(e) as u32;
    }

    pub(super) fn pop_front(&mut self) -> Option<Bytes> {
        let (e, next) = decode(&self.data, 0)?;
        let out = e.to_bytes();
        self.data.drain(..next);
        self.back = None;
        self.count -= 1;
        self.lp -= listpack_len(&out) as u32;
        Some(out)
    }

    pub(super) fn pop_back(&mut self) -> Option<Bytes> {
        let data = &self.data;
        let starts = self.back.get_or_insert_with(|| {
            let mut starts = Vec::new();
            let mut pos = 0;
            while let Some((_, next)) = decode(data, pos) {
                starts.push(pos as u32);
                pos = next;
            }
            starts
        });
        let start = starts.pop()? as usize;
        let (e, _) = decode(&self.data, start)?;
        let out = e.to_bytes();
        self.data.truncate(start);
        self.count -= 1;
        self.lp -= listpack_len(&out) as u32;
        Some(out)
    }

    /// Heap bytes it holds.
    pub(super) fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.back.as_ref().map_or(0, |b| b.capacity() * 4)
    }

    /// Every element, as bytes (for edits in the middle, which rebuild).
    pub(super) fn to_vec(&self) -> Vec<Bytes> {
        self.iter().map(Elem::to_bytes).collect()
    }
}

/// The elements of a chunk, front to back.
pub struct Iter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        let (e, next) = decode(self.data, self.pos)?;
        self.pos = next;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_round_trip() {
        let long = vec![b'x'; 300];
        let cases: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"0",
            b"54",
            b"55",
            b"-1",
            b"007",
            b"-0",
            b"+1",
            b"127",
            b"-129",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            &long,
        ];
        let c = Chunk::of(cases.iter().copied());
        assert_eq!(c.count as usize, cases.len());
        let back = c.to_vec();
        for (a, b) in cases.iter().zip(back.iter()) {
            assert_eq!(*a, &b[..]);
        }
        let again = Chunk::from_raw(c.data.clone(), c.count).expect("valid chunk");
        assert_eq!(again.lp, c.lp);
        assert!(Chunk::from_raw(c.data[..c.data.len() - 1].to_vec(), c.count).is_none());
    }

    #[test]
    fn small_ints_pack_tight() {
        let c = Chunk::of([&b"7"[..], b"1000", b"hello"]);
        assert_eq!(c.data.len(), 1 + 3 + 6);
        assert_eq!(c.lp as usize, LISTPACK_OVERHEAD + 2 + 3 + 7);
    }

    #[test]
    fn pops_from_both_ends() {
        let mut c = Chunk::of([&b"a"[..], b"12", b"ccc"]);
        c.push_front(b"-5");
        assert_eq!(c.pop_back().as_deref(), Some(&b"ccc"[..]));
        assert_eq!(c.pop_front().as_deref(), Some(&b"-5"[..]));
        assert_eq!(c.to_vec(), vec![Bytes::from("a"), Bytes::from("12")]);
        assert_eq!(c.count, 2);
    }
}
