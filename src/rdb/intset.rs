//! Intsets: sets of integers, sorted, all of one width.
//!
//! ```text
//! intset: width u32 LE (2, 4 or 8) | count u32 LE | count × width bytes LE
//! ```
//!
//! The size must match the count (always checked); `deep` also checks the
//! values ascend strictly.

use super::RdbError;

/// The members of an intset.
pub fn decode(blob: &[u8], deep: bool) -> Result<Vec<i64>, RdbError> {
    if blob.len() < 8 {
        return Err(RdbError::BadData);
    }
    let width = u32::from_le_bytes(blob[..4].try_into().expect("4 bytes")) as usize;
    let count = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes")) as usize;
    if !matches!(width, 2 | 4 | 8) || Some(blob.len() - 8) != count.checked_mul(width) {
        return Err(RdbError::BadData);
    }
    let values: Vec<i64> = blob[8..]
        .chunks_exact(width)
        .map(|c| match width {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))),
            _ => i64::from_le_bytes(c.try_into().expect("8 bytes")),
        })
        .collect();
    if deep && values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(RdbError::BadData);
    }
    Ok(values)
}

/// An intset of `values`, which must ascend strictly.
pub fn encode(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}
