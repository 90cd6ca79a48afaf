//! The payload record of an entry: its field/value pairs.
//!
//! ```text
//! count u32 (number of fields), then per field: name bytes, value bytes
//! bytes: len u32, then len bytes         (little-endian)
//! ```

/// Encodes field/value pairs (`pairs` alternates field, value).
pub fn encode(pairs: &[&[u8]]) -> Vec<u8> {
    let size: usize = pairs.iter().map(|p| 4 + p.len()).sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&((pairs.len() / 2) as u32).to_le_bytes());
    for p in pairs {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Decodes the pairs, field, value, field, value…; `None` if the
/// bytes are not a payload.
pub fn decode(data: &[u8]) -> Option<Vec<&[u8]>> {
    let (count, mut rest) = split_u32(data)?;
    let mut parts = Vec::with_capacity(count.min(1024) * 2);
    for _ in 0..count * 2 {
        let (len, after) = split_u32(rest)?;
        if after.len() < len {
            return None;
        }
        let (part, after) = after.split_at(len);
        parts.push(part);
        rest = after;
    }
    rest.is_empty().then_some(parts)
}

fn split_u32(data: &[u8]) -> Option<(usize, &[u8])> {
    let (head, rest) = data.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head) as usize, rest))
}
