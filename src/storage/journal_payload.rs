//! Payloads read back through a segment's map, without a copy.

use std::path::Path;
use std::sync::Arc;

use super::Pos;
use crate::storage::format::read_record;
use crate::storage::mapguard::{report_damage, GuardedMap};
use crate::storage::StorageError;

pub(super) fn read_at(
    map: Arc<GuardedMap>,
    pos: Pos,
    path: &Path,
) -> Result<PayloadRef, StorageError> {
    let (record, _) =
        read_record(&map, pos.offset as usize).map_err(|e| StorageError::Corrupt {
            file: path.display().to_string(),
            offset: pos.offset,
            reason: e.to_string(),
        })?;
    let start = record.payload.as_ptr() as usize - map.as_ptr() as usize;
    let len = record.payload.len();
    Ok(PayloadRef {
        map,
        start,
        len,
        offset: pos.offset,
    })
}

/// A payload in a mapped segment; derefs to its bytes without a copy.
///
/// The bytes passed their CRC when it was made. If the file is cut short
/// later, pages of the map read zeros instead of killing the process (see
/// [`super::mapguard`]); so whoever reads the bytes after
/// [`Journal::read_payload`] returned calls [`PayloadRef::verify`] after
/// reading them, before trusting what it read.
pub struct PayloadRef {
    map: Arc<GuardedMap>,
    start: usize,
    len: usize,
    /// Offset of the record in its segment, for errors.
    offset: u64,
}

impl PayloadRef {
    /// Whether everything read through this payload so far was the file's
    /// bytes: an error naming the file and offset if pages of the map
    /// vanished meanwhile. One atomic load.
    pub fn verify(&self) -> Result<(), StorageError> {
        if !self.map.is_damaged() {
            return Ok(());
        }
        let path = self.map.path();
        let reason = "segment file was cut short while the entry was read \
                      (by another process?)";
        report_damage(path, self.offset, reason);
        Err(StorageError::Corrupt {
            file: path.display().to_string(),
            offset: self.offset,
            reason: reason.into(),
        })
    }
}

impl std::ops::Deref for PayloadRef {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
    }
}
