//! Zipmaps: how Redis before 2.6 stored small hashes. Redis still loads
//! them from old files and payloads, so Sluice reads them too.
//!
//! ```text
//! zipmap: count (1 byte; 254 or more: unknown) | entry ... | 0xFF
//! entry:  length | field | length | free (1 byte) | value | free bytes
//! length: 1 byte below 254, else 254 + u32 LE
//! ```
//!
//! `deep` also checks the count and that nothing follows the terminator.

use bytes::Bytes;

use super::RdbError;

/// The fields and values of a zipmap.
pub fn decode(blob: &Bytes, deep: bool) -> Result<Vec<(Bytes, Bytes)>, RdbError> {
    let bad = || RdbError::BadData;
    let declared = *blob.first().ok_or_else(bad)?;
    let mut pos = 1;
    let mut out = Vec::new();
    loop {
        match *blob.get(pos).ok_or_else(bad)? {
            0xff => {
                pos += 1;
                break;
            }
            _ => {
                let field = string(blob, &mut pos)?;
                let value_len = length(blob, &mut pos)?;
                let free = usize::from(*blob.get(pos).ok_or_else(bad)?);
                pos += 1;
                let value = take(blob, &mut pos, value_len)?;
                pos = pos
                    .checked_add(free)
                    .filter(|&p| p < blob.len())
                    .ok_or_else(bad)?;
                out.push((field, value));
            }
        }
    }
    if deep && (pos != blob.len() || (declared < 254 && usize::from(declared) != out.len())) {
        return Err(bad());
    }
    Ok(out)
}

fn length(blob: &[u8], pos: &mut usize) -> Result<usize, RdbError> {
    let first = *blob.get(*pos).ok_or(RdbError::BadData)?;
    if first < 254 {
        *pos += 1;
        return Ok(usize::from(first));
    }
    if first == 0xff {
        return Err(RdbError::BadData);
    }
    let b = blob.get(*pos + 1..*pos + 5).ok_or(RdbError::BadData)?;
    *pos += 5;
    Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
}

fn string(blob: &Bytes, pos: &mut usize) -> Result<Bytes, RdbError> {
    let n = length(blob, pos)?;
    take(blob, pos, n)
}

fn take(blob: &Bytes, pos: &mut usize, n: usize) -> Result<Bytes, RdbError> {
    let end = pos
        .checked_add(n)
        .filter(|&e| e < blob.len())
        .ok_or(RdbError::BadData)?;
    let out = blob.slice(*pos..end);
    *pos = end;
    Ok(out)
}
