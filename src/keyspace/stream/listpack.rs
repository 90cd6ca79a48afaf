//! The byte size Redis's listpack encoding would give a stream node.
//!
//! Sluice stores entries in the commit log, not in listpacks, but Redis
//! decides where one stream node ends and the next begins from the
//! listpack's byte size (`stream-node-max-bytes`), and approximate
//! trimming (`MAXLEN ~`) removes whole nodes only. Clients see the result
//! (how many entries `XADD … MAXLEN ~ 555` leaves), so Sluice computes the
//! same sizes to draw the same node boundaries.
//!
//! The sizes follow the listpack format as documented: a 6-byte header and
//! a 1-byte terminator; each element is an encoding byte (plus data) and a
//! back-length of 1 to 5 bytes. Integers take 1, 2, 3, 4, 5 or 9 bytes by
//! range; strings take 1, 2 or 5 header bytes by length; a string that reads
//! as a canonical 64-bit integer is stored as that integer.

/// Header (total bytes u32, element count u16) plus the end byte.
pub const LISTPACK_OVERHEAD: u64 = 7;

/// Bytes of the back-length that follows an element of `len` bytes.
fn backlen(len: u64) -> u64 {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes one integer element takes.
pub fn int_size(v: i64) -> u64 {
    let body = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    body + backlen(body)
}

/// Bytes one string element takes (stored as an integer when it reads as
/// one).
pub fn str_size(s: &[u8]) -> u64 {
    if let Some(v) = canonical_i64(s) {
        return int_size(v);
    }
    let len = s.len() as u64;
    let body = match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    };
    body + backlen(body)
}

/// The integer a string spells, if it spells it the one canonical way: an
/// optional `-`, no leading zeros (`0` alone is fine, `-0` is not), no `+`,
/// within 64 bits.
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Bytes of a node's master entry apart from its two counters: the field
/// count, the field names and the terminating zero.
pub fn master_fixed_size<'a>(fields: impl ExactSizeIterator<Item = &'a [u8]>) -> u64 {
    let count = fields.len() as i64;
    int_size(count) + fields.map(str_size).sum::<u64>() + int_size(0)
}

/// Bytes one entry adds to its node: flags, the two ID deltas against the
/// node's master ID, the field count and names unless they equal the
/// master's, the values, and the element count at the end.
pub fn entry_size(same_fields: bool, ms_delta: i64, seq_delta: i64, pairs: &[&[u8]]) -> u64 {
    let numfields = (pairs.len() / 2) as i64;
    let mut size =
        int_size(if same_fields { 2 } else { 0 }) + int_size(ms_delta) + int_size(seq_delta);
    let mut elements = numfields + 3;
    if !same_fields {
        size += int_size(numfields);
        elements += numfields + 1;
    }
    for (i, part) in pairs.iter().enumerate() {
        if i % 2 == 1 || !same_fields {
            size += str_size(part);
        }
    }
    size + int_size(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_their_range_size() {
        assert_eq!(int_size(0), 2);
        assert_eq!(int_size(127), 2);
        assert_eq!(int_size(128), 3);
        assert_eq!(int_size(-1), 3);
        assert_eq!(int_size(4095), 3);
        assert_eq!(int_size(4096), 4);
        assert_eq!(int_size(40000), 5);
        assert_eq!(int_size(1 << 30), 6);
        assert_eq!(int_size(1 << 40), 10);
    }

    #[test]
    fn strings_that_spell_integers_are_integers() {
        assert_eq!(canonical_i64(b"42"), Some(42));
        assert_eq!(canonical_i64(b"-42"), Some(-42));
        assert_eq!(canonical_i64(b"042"), None);
        assert_eq!(canonical_i64(b"-0"), None);
        assert_eq!(canonical_i64(b"+1"), None);
        assert_eq!(canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(canonical_i64(b"9223372036854775808"), None);
        assert_eq!(canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(str_size(b"1"), 2);
        assert_eq!(str_size(b"abc"), 5);
        assert_eq!(str_size(&[b'x'; 63]), 65);
        assert_eq!(str_size(&[b'x'; 64]), 67);
        assert_eq!(str_size(&[b'x'; 200]), 204);
        assert_eq!(str_size(&[b'x'; 5000]), 5007);
    }

    #[test]
    fn entry_sizes_drop_field_names_that_match_the_master() {
        let pairs: [&[u8]; 2] = [b"f", b"v"];
        // flags, ms delta, seq delta and count: 2 bytes each; the value 3.
        assert_eq!(entry_size(true, 0, 0, &pairs), 11);
        // plus the field count (2) and the field name (3).
        assert_eq!(entry_size(false, 0, 0, &pairs), 16);
        // field count, name, terminator
        assert_eq!(master_fixed_size([&b"f"[..]].into_iter()), 7);
    }
}
