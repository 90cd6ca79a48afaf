//! The manifest: a durable list of the files the journal directory must
//! hold, so that start-up notices a segment or checkpoint that is gone.
//!
//! Without it, a deleted newest segment (or one emptied to 0 bytes) looked
//! like a log that simply ended earlier, and a deleted segment kept from
//! before the checkpoint was noticed only when a reader hit it. Redis's
//! AOF manifest plays the same role.
//!
//! ```text
//! <dir>/journal/manifest       (replaced whole: written as manifest.tmp,
//!                               fsynced, renamed, directory fsynced)
//! file header (32 bytes)        magic "SLUICEMF", version, base_lsn = the
//!                               checkpoint LSN (0: none), header CRC
//! one record (type 5 Manifest): checkpoint_lsn u64 LE,
//!                               count u32 LE, then count x segment seq u64 LE
//! ```
//!
//! When it is rewritten, and why each order is safe after a crash:
//! - a segment is created (header written and fsynced, directory fsynced)
//!   before the manifest names it, so a named segment always has its
//!   header; a segment newer than every named one is a roll the crash cut
//!   short, and is accepted;
//! - a checkpoint is renamed into place and the directory fsynced before
//!   the manifest names it; a checkpoint newer than the named one is one
//!   whose manifest update the crash cut short, and is used;
//! - segments and older checkpoints are deleted only after a manifest
//!   without them is durable; a leftover older than the newest named
//!   segment and not named is a deletion the crash cut short, and is
//!   removed.

use std::path::Path;

use super::format::{
    decode_file_header, encode_file_header, encode_record, read_record, RecordType, FILE_HEADER_LEN,
};
use super::io::Disk;
use super::StorageError;
use crate::storage::format::codec::{put_u32, put_u64, Reader};

/// Manifest file magic.
pub const MANIFEST_MAGIC: [u8; 8] = *b"SLUICEMF";
/// The manifest's name in the journal directory.
pub const MANIFEST_NAME: &str = "manifest";
/// The name it is written under before the rename.
pub const MANIFEST_TMP: &str = "manifest.tmp";

/// What the journal directory must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// LSN of the checkpoint that must exist (0: none).
    pub checkpoint_lsn: u64,
    /// Sequence numbers of the segments that must exist, ascending.
    pub segments: Vec<u64>,
}

impl Manifest {
    /// The whole file.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = encode_file_header(MANIFEST_MAGIC, self.checkpoint_lsn).to_vec();
        let mut payload = Vec::with_capacity(12 + 8 * self.segments.len());
        put_u64(&mut payload, self.checkpoint_lsn);
        put_u32(&mut payload, self.segments.len() as u32);
        for &seq in &self.segments {
            put_u64(&mut payload, seq);
        }
        encode_record(&mut out, RecordType::Manifest, &payload);
        out
    }

    /// Reads a manifest file's bytes; every byte is checked.
    pub fn decode(data: &[u8], file: &str) -> Result<Manifest, StorageError> {
        let corrupt = |offset: usize, reason: &str| StorageError::Corrupt {
            file: file.to_string(),
            offset: offset as u64,
            reason: reason.to_string(),
        };
        let base = decode_file_header(data, MANIFEST_MAGIC, file)?;
        let (record, end) = read_record(data, FILE_HEADER_LEN)
            .map_err(|e| corrupt(FILE_HEADER_LEN, &e.to_string()))?;
        if record.kind != RecordType::Manifest || end != data.len() {
            return Err(corrupt(FILE_HEADER_LEN, "not a manifest record"));
        }
        let mut r = Reader::new(record.payload);
        let bad = || corrupt(FILE_HEADER_LEN, "manifest does not decode");
        let checkpoint_lsn = r.u64().ok_or_else(bad)?;
        let count = r.u32().ok_or_else(bad)?;
        let mut segments = Vec::with_capacity(count.min(1 << 16) as usize);
        for _ in 0..count {
            segments.push(r.u64().ok_or_else(bad)?);
        }
        if !r.is_done() || checkpoint_lsn != base || !segments.windows(2).all(|w| w[0] < w[1]) {
            return Err(bad());
        }
        Ok(Manifest {
            checkpoint_lsn,
            segments,
        })
    }

    /// Reads `dir`'s manifest; `None` if it has none.
    pub fn load(disk: &dyn Disk, dir: &Path) -> Result<Option<Manifest>, StorageError> {
        let path = dir.join(MANIFEST_NAME);
        let map = match disk.map(&path) {
            Ok(map) => map,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(path, e)),
        };
        let data: &[u8] = map.as_deref().unwrap_or(&[]);
        Manifest::decode(data, &path.display().to_string()).map(Some)
    }

    /// Replaces `dir`'s manifest with this one, durably.
    pub fn store(&self, disk: &dyn Disk, dir: &Path) -> Result<(), StorageError> {
        let tmp = dir.join(MANIFEST_TMP);
        let path = dir.join(MANIFEST_NAME);
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| StorageError::io(p, e)
        };
        match disk.remove(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StorageError::io(tmp, e)),
        }
        let file = disk.open_append(&tmp).map_err(io(&tmp))?;
        file.append(&self.encode())
            .and_then(|()| file.sync())
            .map_err(io(&tmp))?;
        drop(file);
        disk.rename(&tmp, &path).map_err(io(&path))?;
        disk.sync_dir(dir).map_err(io(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_byte_checked() {
        let m = Manifest {
            checkpoint_lsn: 4711,
            segments: vec![3, 7, 8, 9],
        };
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes, "m"), Ok(m));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            // Reserved header bytes are not covered by anything but the
            // header CRC's neighbours; everything else must be.
            if (12..16).contains(&i) || (28..32).contains(&i) {
                continue;
            }
            assert!(Manifest::decode(&bad, "m").is_err(), "byte {i} unchecked");
        }
        assert!(Manifest::decode(&bytes[..bytes.len() - 1], "m").is_err());
    }

    #[test]
    fn store_replaces_and_load_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let disk = crate::storage::io::RealDisk;
        assert_eq!(Manifest::load(&disk, dir.path()), Ok(None));
        for n in 1..4u64 {
            let m = Manifest {
                checkpoint_lsn: n * 10,
                segments: (n..n + 3).collect(),
            };
            m.store(&disk, dir.path()).unwrap();
            assert_eq!(Manifest::load(&disk, dir.path()), Ok(Some(m)));
        }
        assert!(!dir.path().join(MANIFEST_TMP).exists());
    }
}
