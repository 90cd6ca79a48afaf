//! The small encoding of a hash: every field and value packed one after
//! another in one buffer, as Redis's listpack does.
//!
//! ```text
//! buffer   entry*
//! entry    field-len varint, field bytes, value-len varint, value bytes
//! varint   LEB128: 7 bits a byte, low first, high bit set on all but the last
//! ```
//!
//! A lookup is a linear walk, which for the few dozen short fields this
//! encoding holds is as fast as hashing, and costs two or three bytes of
//! overhead per field instead of a table slot and two allocations.

/// Fields and values packed in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packed {
    buf: Vec<u8>,
    len: usize,
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint(buf: &[u8], at: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[*at];
        *at += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return n;
        }
        shift += 7;
    }
}

/// Where one entry lies in the buffer.
struct Span {
    start: usize,
    value: std::ops::Range<usize>,
}

impl Packed {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the buffer (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn find(&self, field: &[u8]) -> Option<Span> {
        let mut at = 0;
        while at < self.buf.len() {
            let start = at;
            let flen = varint(&self.buf, &mut at);
            let f = &self.buf[at..at + flen];
            at += flen;
            let vlen = varint(&self.buf, &mut at);
            let value = at..at + vlen;
            at += vlen;
            if f == field {
                return Some(Span { start, value });
            }
        }
        None
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|s| &self.buf[s.value])
    }

    /// Sets `field` to `value`; true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(span) = self.find(field) {
            if span.value.len() == value.len() {
                self.buf[span.value].copy_from_slice(value);
                return false;
            }
            // A value of another length: rewrite its length and bytes.
            let vstart = {
                let mut at = span.start;
                let flen = varint(&self.buf, &mut at);
                at + flen
            };
            let mut encoded = Vec::with_capacity(value.len() + 5);
            put_varint(&mut encoded, value.len());
            encoded.extend_from_slice(value);
            self.buf.splice(vstart..span.value.end, encoded);
            return false;
        }
        put_varint(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        put_varint(&mut self.buf, value.len());
        self.buf.extend_from_slice(value);
        self.len += 1;
        true
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(span) => {
                self.buf.drain(span.start..span.value.end);
                self.len -= 1;
                if self.len == 0 {
                    self.buf = Vec::new();
                }
                true
            }
            None => false,
        }
    }

    /// Every field and value, in insertion order.
    pub fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            at: 0,
        }
    }
}

/// Fields and values of a [`Packed`] in order.
pub struct PackedIter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let flen = varint(self.buf, &mut self.at);
        let field = &self.buf[self.at..self.at + flen];
        self.at += flen;
        let vlen = varint(self.buf, &mut self.at);
        let value = &self.buf[self.at..self.at + vlen];
        self.at += vlen;
        Some((field, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_remove() {
        let mut p = Packed::default();
        assert!(p.set(b"a", b"1"));
        assert!(p.set(b"b", &[7u8; 300]));
        assert!(!p.set(b"a", b"22"));
        assert!(!p.set(b"a", b"33"));
        assert_eq!(p.get(b"a"), Some(&b"33"[..]));
        assert_eq!(p.get(b"b").map(<[u8]>::len), Some(300));
        assert_eq!(p.len(), 2);
        assert!(p.remove(b"a"));
        assert!(!p.remove(b"a"));
        assert_eq!(p.iter().count(), 1);
        assert!(p.set(b"", b""));
        assert_eq!(p.get(b""), Some(&b""[..]));
        assert_eq!(p.len(), 2);
    }
}
