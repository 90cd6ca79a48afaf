//! Stream entry IDs: `<milliseconds>-<sequence>`, both unsigned 64-bit,
//! ordered by milliseconds and then sequence.

use std::fmt;

use bytes::Bytes;

/// A stream entry ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, below every real entry.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest ID there is.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An ID from its parts.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The smallest ID greater than this one, if there is one.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The largest ID smaller than this one, if there is one.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// The ID as a reply string (`1526919030474-55`).
    pub fn to_bytes(self) -> Bytes {
        // Every XADD reply and every entry read back has one: no fmt.
        let mut digits = itoa::Buffer::new();
        let mut out = Vec::with_capacity(41);
        out.extend_from_slice(digits.format(self.ms).as_bytes());
        out.push(b'-');
        out.extend_from_slice(digits.format(self.seq).as_bytes());
        Bytes::from(out)
    }

    /// Whether this is `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_prev_carry_across_the_sequence() {
        assert_eq!(StreamId::new(5, 1).next(), Some(StreamId::new(5, 2)));
        assert_eq!(StreamId::new(5, u64::MAX).next(), Some(StreamId::new(6, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(6, 0).prev(), Some(StreamId::new(5, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
        assert!(StreamId::new(1, 9) < StreamId::new(2, 0));
        assert_eq!(StreamId::new(12, 3).to_string(), "12-3");
    }
}
