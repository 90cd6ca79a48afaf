//! The on-disk format: file headers and framed, CRC-checked records.
//!
//! ```text
//! file header (32 bytes, at offset 0 of every segment and checkpoint)
//!   0  magic      8 bytes   "SLUICELG" (segment) or "SLUICECK" (checkpoint)
//!   8  version    u32 LE    FORMAT_VERSION
//!  12  reserved   u32 LE    0
//!  16  base_lsn   u64 LE    segment: LSN of its first record;
//!                           checkpoint: first LSN the log must replay after it
//!  24  crc        u32 LE    CRC32 of bytes 0..24
//!  28  reserved   u32 LE    0
//!
//! record (9-byte header + payload), back to back after the file header
//!   0  len        u32 LE    payload length
//!   4  crc        u32 LE    CRC32 (crc32fast) of the type byte and the payload
//!   8  type       u8        RecordType
//!   9  payload    len bytes
//! ```
//!
//! A record is valid only if its whole extent is in the file and its CRC
//! matches. Records are never updated in place.

use crate::storage::StorageError;

/// Segment file magic.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SLUICELG";
/// Checkpoint file magic.
pub const CHECKPOINT_MAGIC: [u8; 8] = *b"SLUICECK";
/// Version of the format described above.
pub const FORMAT_VERSION: u32 = 1;
/// Size of a file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 9;
/// Largest payload a record may carry (keeps a garbage length from being
/// believed).
pub const MAX_PAYLOAD_LEN: usize = 1 << 31;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// The keyspace changes of one command or one MULTI/EXEC block, applied
    /// whole or not at all.
    Batch = 1,
    /// An opaque payload stored for its owner (stream entries), read back
    /// through the mmap by position.
    Payload = 2,
    /// One key's state in a checkpoint (a `Put`), or a later piece of a
    /// big sorted set (a `ZSet` op of `Set`s continuing that `Put`).
    CheckpointEntry = 3,
    /// The end of a checkpoint, with the number of keys (`Put` entries).
    CheckpointEnd = 4,
    /// The list of files the journal directory must hold (`manifest`).
    Manifest = 5,
}

impl RecordType {
    /// The type for a byte, if it is one.
    pub fn from_byte(b: u8) -> Option<RecordType> {
        Some(match b {
            1 => RecordType::Batch,
            2 => RecordType::Payload,
            3 => RecordType::CheckpointEntry,
            4 => RecordType::CheckpointEnd,
            5 => RecordType::Manifest,
            _ => return None,
        })
    }
}

/// Encodes a file header.
pub fn encode_file_header(magic: [u8; 8], base_lsn: u64) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..8].copy_from_slice(&magic);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&base_lsn.to_le_bytes());
    let crc = crc32fast::hash(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a file header and returns its base LSN.
pub fn decode_file_header(bytes: &[u8], magic: [u8; 8], file: &str) -> Result<u64, StorageError> {
    let bad = |what: &str| StorageError::Corrupt {
        file: file.to_string(),
        offset: 0,
        reason: what.to_string(),
    };
    if bytes.len() < FILE_HEADER_LEN {
        return Err(bad("file shorter than its header"));
    }
    if bytes[0..8] != magic {
        return Err(bad("bad magic: not a Sluice file of this kind"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(bad(&format!("unsupported format version {version}")));
    }
    let crc = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    if crc != crc32fast::hash(&bytes[0..24]) {
        return Err(bad("header checksum mismatch"));
    }
    Ok(u64::from_le_bytes(
        bytes[16..24].try_into().expect("8 bytes"),
    ))
}

/// Appends one framed record to `out`.
pub fn encode_record(out: &mut Vec<u8>, kind: RecordType, payload: &[u8]) {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind as u8]);
    hasher.update(payload);
    out.reserve(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(payload);
}

/// One record read from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Its type.
    pub kind: RecordType,
    /// Its payload.
    pub payload: &'a [u8],
    /// Offset of its header in the file.
    pub offset: usize,
}

/// Why a record could not be read at some offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRecord {
    /// The header or payload runs past the end of the data.
    Truncated,
    /// The length is zero-filled or absurd, or the type is unknown.
    Garbage(String),
    /// The CRC does not match.
    Checksum,
}

impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRecord::Truncated => write!(f, "record runs past the end of the file"),
            BadRecord::Garbage(why) => write!(f, "{why}"),
            BadRecord::Checksum => write!(f, "record checksum mismatch"),
        }
    }
}

/// Reads the record at `offset` of `data` (a whole file). Returns the record
/// and the offset of the next one.
pub fn read_record(data: &[u8], offset: usize) -> Result<(RawRecord<'_>, usize), BadRecord> {
    let header = data
        .get(offset..offset + RECORD_HEADER_LEN)
        .ok_or(BadRecord::Truncated)?;
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let type_byte = header[8];
    if len > MAX_PAYLOAD_LEN {
        return Err(BadRecord::Garbage(format!(
            "implausible record length {len}"
        )));
    }
    let start = offset + RECORD_HEADER_LEN;
    let payload = data.get(start..start + len).ok_or(BadRecord::Truncated)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[type_byte]);
    hasher.update(payload);
    if hasher.finalize() != crc {
        return Err(BadRecord::Checksum);
    }
    let kind = RecordType::from_byte(type_byte)
        .ok_or_else(|| BadRecord::Garbage(format!("unknown record type {type_byte}")))?;
    Ok((
        RawRecord {
            kind,
            payload,
            offset,
        },
        start + len,
    ))
}

/// The end of the record at `offset` by its length field alone (no CRC
/// check), if it fits in `data`.
pub fn record_end(data: &[u8], offset: usize) -> Option<usize> {
    let len = u32::from_le_bytes(data.get(offset..offset + 4)?.try_into().ok()?) as usize;
    let end = offset.checked_add(RECORD_HEADER_LEN)?.checked_add(len)?;
    (end <= data.len()).then_some(end)
}

/// Little helpers for the payload encodings built on top of records.
pub mod codec {
    /// Appends a u32 LE.
    pub fn put_u32(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends an i64 LE.
    pub fn put_i64(out: &mut Vec<u8>, v: i64) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a u64 LE.
    pub fn put_u64(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a length-prefixed byte string.
    pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
        put_u32(out, b.len() as u32);
        out.extend_from_slice(b);
    }

    /// A cursor over an encoded payload; every read fails cleanly on short
    /// input.
    pub struct Reader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        /// Reads from the start of `data`.
        pub fn new(data: &'a [u8]) -> Self {
            Reader { data, pos: 0 }
        }

        /// Whether everything was read.
        pub fn is_done(&self) -> bool {
            self.pos == self.data.len()
        }

        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
            self.pos += n;
            Some(s)
        }

        /// A byte.
        pub fn u8(&mut self) -> Option<u8> {
            self.take(1).map(|s| s[0])
        }

        /// A u32 LE.
        pub fn u32(&mut self) -> Option<u32> {
            self.take(4)
                .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
        }

        /// An i64 LE.
        pub fn i64(&mut self) -> Option<i64> {
            self.take(8)
                .map(|s| i64::from_le_bytes(s.try_into().expect("8 bytes")))
        }

        /// A u64 LE.
        pub fn u64(&mut self) -> Option<u64> {
            self.i64().map(|v| v as u64)
        }

        /// A length-prefixed byte string.
        pub fn bytes(&mut self) -> Option<&'a [u8]> {
            let n = self.u32()? as usize;
            self.take(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(records: &[(&RecordType, &[u8])]) -> Vec<u8> {
        let mut out = encode_file_header(SEGMENT_MAGIC, 7).to_vec();
        for (kind, payload) in records {
            encode_record(&mut out, **kind, payload);
        }
        out
    }

    #[test]
    fn header_round_trip_and_damage() {
        let h = encode_file_header(SEGMENT_MAGIC, 42);
        assert_eq!(decode_file_header(&h, SEGMENT_MAGIC, "f"), Ok(42));
        assert!(decode_file_header(&h, CHECKPOINT_MAGIC, "f").is_err());
        let mut bad = h;
        bad[17] ^= 1;
        assert!(matches!(
            decode_file_header(&bad, SEGMENT_MAGIC, "f"),
            Err(StorageError::Corrupt { offset: 0, .. })
        ));
        assert!(decode_file_header(&h[..10], SEGMENT_MAGIC, "f").is_err());
    }

    #[test]
    fn records_round_trip() {
        let data = file_with(&[(&RecordType::Batch, b"abc"), (&RecordType::Payload, b"")]);
        let (r, next) = read_record(&data, FILE_HEADER_LEN).unwrap();
        assert_eq!(
            (r.kind, r.payload, r.offset),
            (RecordType::Batch, &b"abc"[..], FILE_HEADER_LEN)
        );
        let (r, end) = read_record(&data, next).unwrap();
        assert_eq!((r.kind, r.payload), (RecordType::Payload, &b""[..]));
        assert_eq!(end, data.len());
        assert_eq!(read_record(&data, end), Err(BadRecord::Truncated));
    }

    #[test]
    fn damaged_records_are_refused() {
        let good = file_with(&[(&RecordType::Batch, b"hello world")]);
        let at = FILE_HEADER_LEN;
        // Half a record.
        assert_eq!(
            read_record(&good[..good.len() - 3], at),
            Err(BadRecord::Truncated)
        );
        assert_eq!(read_record(&good[..at + 4], at), Err(BadRecord::Truncated));
        // Flipped CRC byte.
        let mut bad = good.clone();
        bad[at + 5] ^= 0x40;
        assert_eq!(read_record(&bad, at), Err(BadRecord::Checksum));
        // Flipped payload byte.
        let mut bad = good.clone();
        bad[at + RECORD_HEADER_LEN + 2] ^= 1;
        assert_eq!(read_record(&bad, at), Err(BadRecord::Checksum));
        // Zeroed length: the CRC no longer covers what is there.
        let mut bad = good.clone();
        bad[at..at + 4].fill(0);
        assert_eq!(read_record(&bad, at), Err(BadRecord::Checksum));
        // All-zero bytes (a preallocated or zero-filled tail).
        let zeros = vec![0u8; 64];
        assert!(read_record(&zeros, 0).is_err());
        // Absurd length.
        let mut bad = good;
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read_record(&bad, at), Err(BadRecord::Garbage(_))));
    }
}
