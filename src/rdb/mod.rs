//! Redis's serialization format for one value, as DUMP writes and RESTORE
//! reads it: the RDB object encodings, an RDB version and a CRC-64.
//!
//! This module knows nothing of Sluice's keyspace: it turns a payload into
//! an [`RdbValue`] (plain data: strings, vectors, a stream as entries and
//! groups) and back. `commands::dump` converts between `RdbValue` and the
//! keyspace's `Value`.
//!
//! ```text
//! payload: type (1 byte) | object (per type, below) | RDB version (u16 LE)
//!          | CRC-64/Jones of everything before it (u64 LE)
//!
//! type  object                                        read  written
//!  0    string                                        yes   yes
//!  1    list: count, strings                          yes
//!  2    set: count, strings                           yes   yes (not all integers)
//!  3    zset: count, (string, text double)            yes
//!  4    hash: count, (field, value)                   yes   yes (no field TTL)
//!  5    zset2: count, (string, binary double)         yes   yes
//!  9    hash: one zipmap (Redis < 2.6)                yes
//! 10    list: one ziplist                             yes
//! 11    set: one intset                               yes   yes (≤ 512 integers)
//! 12    zset: one ziplist (member, score …)           yes
//! 13    hash: one ziplist (field, value …)            yes
//! 14    list quicklist: count, ziplists               yes
//! 15    stream, listpacks v1 (5.0)                    yes
//! 16    hash: one listpack                            yes
//! 17    zset: one listpack                            yes
//! 18    list quicklist 2: count, (container, blob)    yes   yes
//!       container 1: a plain element, 2: a listpack
//! 19    stream, listpacks v2 (7.0)                    yes   yes
//! 20    set: one listpack (7.2)                       yes
//! 21    stream, listpacks v3 (7.2: active times)      yes
//! 22/24 hash with field TTLs (7.4 pre-GA / GA)        yes   yes (24, version 12)
//! 23/25 hash listpack with field TTLs (field, value,  yes
//!       absolute ms or 0 …)
//! ```
//!
//! The primitives (lengths, strings, doubles) are in [`codec`], the compact
//! containers in [`listpack`], [`ziplist`], [`zipmap`] and [`intset`], streams in
//! [`stream`], the per-type dispatch in `object`.
//!
//! **Versions.** A payload's RDB version may be anything up to
//! [`MAX_READ_VERSION`] (12, Redis 7.4); newer ones are refused like a
//! bad checksum, as Redis refuses them. Sluice writes version
//! [`WRITE_VERSION`] (10, Redis 7.0) with encodings Redis 7.0 reads, so its
//! payloads RESTORE into Redis 7.0 and later; only a hash with field TTLs
//! (which 7.0 can't hold) is written as type 24 with version 12.
//!
//! **Bad payloads.** Decoding never trusts a length (see [`codec`]) and
//! never panics. Structure that decoding needs is always checked; with
//! `deep` (`sanitize-dump-payload yes`) also what a consistent payload has
//! but decoding can do without: listpack backlens and counts, ziplist
//! prevlens, sorted intsets, no duplicate members in compact encodings,
//! stream node counts and PEL owners.

pub mod codec;
pub mod crc64;
pub mod intset;
pub mod listpack;
pub mod lzf;
mod object;
pub mod stream;
pub mod ziplist;
pub mod zipmap;

#[cfg(test)]
mod tests;

use bytes::Bytes;

pub use stream::{RdbConsumer, RdbGroup, RdbPending, RdbStream};

/// The newest RDB version a payload may carry (Redis 7.4's).
pub const MAX_READ_VERSION: u16 = 12;
/// The RDB version Sluice writes (Redis 7.0's).
pub const WRITE_VERSION: u16 = 10;
/// The version of a payload that holds a type newer than 7.0's.
const HASH_TTL_VERSION: u16 = 12;

/// A field of a hash: name, value and absolute expiry in Unix ms.
pub type HashField = (Bytes, Bytes, Option<i64>);

/// A value as the RDB format sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string.
    Str(Bytes),
    /// A list, head first.
    List(Vec<Bytes>),
    /// A set's members (no duplicates).
    Set(Vec<Bytes>),
    /// A hash's fields (no duplicate names).
    Hash(Vec<HashField>),
    /// A sorted set's members and scores (no duplicates, no NaN).
    ZSet(Vec<(Bytes, f64)>),
    /// A stream with its groups.
    Stream(Box<RdbStream>),
}

/// Why a payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    /// The footer's version is too new or its checksum does not match.
    #[error("DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The object does not decode.
    #[error("Bad data format")]
    BadData,
}

/// Decodes a DUMP payload. `deep` asks for the consistency checks of
/// `sanitize-dump-payload yes`.
pub fn decode_payload(payload: &[u8], deep: bool) -> Result<RdbValue, RdbError> {
    let n = payload.len();
    if n < 10 {
        return Err(RdbError::VersionOrChecksum);
    }
    let version = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    if version > MAX_READ_VERSION {
        return Err(RdbError::VersionOrChecksum);
    }
    let crc = u64::from_le_bytes(payload[n - 8..].try_into().expect("8 bytes"));
    if crc != crc64::crc64(&payload[..n - 8]) {
        return Err(RdbError::VersionOrChecksum);
    }
    let body = &payload[..n - 10];
    let mut r = codec::Reader::new(body);
    let kind = r.u8().map_err(|_| RdbError::BadData)?;
    object::decode(kind, &mut r, deep)
}

/// Encodes a value as a DUMP payload Redis 7.0 and later can RESTORE.
pub fn encode_payload(value: &RdbValue) -> Vec<u8> {
    let mut w = codec::Writer::default();
    let version = if object::encode(&mut w, value) {
        HASH_TTL_VERSION
    } else {
        WRITE_VERSION
    };
    w.buf.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(&w.buf);
    w.buf.extend_from_slice(&crc.to_le_bytes());
    w.buf
}
