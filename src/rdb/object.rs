//! The per-type dispatch: which object encoding a type byte means, and
//! which one Sluice writes for each kind of value (see the table in the
//! module doc of `rdb`).

use std::collections::HashSet;

use bytes::Bytes;

use super::codec::{canonical_int, parse_double, Reader, Writer};
use super::listpack::{self, Item};
use super::{intset, stream, ziplist, zipmap, HashField, RdbError, RdbValue};

const STRING: u8 = 0;
const LIST: u8 = 1;
const SET: u8 = 2;
const ZSET: u8 = 3;
const HASH: u8 = 4;
const ZSET_2: u8 = 5;
const HASH_ZIPMAP: u8 = 9;
const LIST_ZIPLIST: u8 = 10;
const SET_INTSET: u8 = 11;
const ZSET_ZIPLIST: u8 = 12;
const HASH_ZIPLIST: u8 = 13;
const LIST_QUICKLIST: u8 = 14;
const STREAM_LISTPACKS: u8 = 15;
const HASH_LISTPACK: u8 = 16;
const ZSET_LISTPACK: u8 = 17;
const LIST_QUICKLIST_2: u8 = 18;
const STREAM_LISTPACKS_2: u8 = 19;
const SET_LISTPACK: u8 = 20;
const STREAM_LISTPACKS_3: u8 = 21;
const HASH_METADATA_PRE_GA: u8 = 22;
const HASH_LISTPACK_EX_PRE_GA: u8 = 23;
const HASH_METADATA: u8 = 24;
const HASH_LISTPACK_EX: u8 = 25;

/// Quicklist 2 node containers.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Sets of at most this many integers are written as intsets (Redis's
/// default `set-max-intset-entries`).
const INTSET_MAX: usize = 512;
/// Quicklist nodes Sluice writes hold at most this many elements and
/// about this many bytes (Redis's default `list-max-listpack-size -2`).
const NODE_MAX_ENTRIES: usize = 128;
const NODE_MAX_BYTES: usize = 8192;

/// Decodes the object of type `kind`.
pub fn decode(kind: u8, r: &mut Reader<'_>, deep: bool) -> Result<RdbValue, RdbError> {
    let bad = || RdbError::BadData;
    let value = match kind {
        STRING => return Ok(RdbValue::Str(r.string()?)),
        LIST => {
            let n = r.count()?;
            RdbValue::List((0..n).map(|_| r.string()).collect::<Result<_, _>>()?)
        }
        LIST_ZIPLIST => RdbValue::List(strings(ziplist::decode(&r.string()?, deep)?)),
        LIST_QUICKLIST => {
            let n = r.count()?;
            let mut out = Vec::new();
            for _ in 0..n {
                out.extend(strings(ziplist::decode(&r.string()?, deep)?));
            }
            RdbValue::List(out)
        }
        LIST_QUICKLIST_2 => {
            let n = r.count()?;
            let mut out = Vec::new();
            for _ in 0..n {
                match r.len()? {
                    CONTAINER_PLAIN => out.push(r.string()?),
                    CONTAINER_PACKED => out.extend(strings(listpack::decode(&r.string()?, deep)?)),
                    _ => return Err(bad()),
                }
            }
            RdbValue::List(out)
        }
        SET => {
            let n = r.count()?;
            let members: Vec<Bytes> = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
            RdbValue::Set(unique(members, |m| m.clone(), true)?)
        }
        SET_INTSET => {
            let mut values = intset::decode(&r.string()?, deep)?;
            values.sort_unstable();
            values.dedup();
            RdbValue::Set(values.into_iter().map(super::codec::int_bytes).collect())
        }
        SET_LISTPACK => {
            let members = strings(listpack::decode(&r.string()?, deep)?);
            RdbValue::Set(unique(members, |m| m.clone(), deep)?)
        }
        ZSET | ZSET_2 => {
            let n = r.count()?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let score = if kind == ZSET {
                    r.text_double()?
                } else {
                    r.binary_double()?
                };
                if score.is_nan() {
                    return Err(bad());
                }
                members.push((m, score));
            }
            RdbValue::ZSet(unique(members, |(m, _)| m.clone(), true)?)
        }
        ZSET_ZIPLIST | ZSET_LISTPACK => {
            let blob = r.string()?;
            let items = if kind == ZSET_ZIPLIST {
                ziplist::decode(&blob, deep)?
            } else {
                listpack::decode(&blob, deep)?
            };
            if items.len() % 2 != 0 {
                return Err(bad());
            }
            let mut members = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(m), Some(s)) = (it.next(), it.next()) {
                let score = match s {
                    Item::Int(v) => v as f64,
                    Item::Str(t) => parse_double(&t).ok_or_else(bad)?,
                };
                members.push((m.into_bytes(), score));
            }
            RdbValue::ZSet(unique(members, |(m, _)| m.clone(), deep)?)
        }
        HASH => {
            let n = r.count()?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                fields.push((r.string()?, r.string()?, None));
            }
            RdbValue::Hash(unique(fields, |f| f.0.clone(), true)?)
        }
        HASH_ZIPLIST | HASH_LISTPACK => {
            let blob = r.string()?;
            let items = if kind == HASH_ZIPLIST {
                ziplist::decode(&blob, deep)?
            } else {
                listpack::decode(&blob, deep)?
            };
            if items.len() % 2 != 0 {
                return Err(bad());
            }
            let mut it = strings(items).into_iter();
            let mut fields = Vec::new();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                fields.push((f, v, None));
            }
            RdbValue::Hash(unique(fields, |f| f.0.clone(), deep)?)
        }
        HASH_ZIPMAP => {
            let pairs = zipmap::decode(&r.string()?, deep)?;
            let fields = pairs.into_iter().map(|(f, v)| (f, v, None)).collect();
            RdbValue::Hash(unique(fields, |f| f.0.clone(), deep)?)
        }
        HASH_METADATA_PRE_GA | HASH_METADATA => {
            let min = if kind == HASH_METADATA {
                r.le_u64()?
            } else {
                1
            };
            let n = r.count()?;
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                let ttl = r.len()?;
                let at = match ttl {
                    0 => None,
                    t => Some(expiry(
                        t.checked_add(min)
                            .and_then(|x| x.checked_sub(1))
                            .ok_or_else(bad)?,
                    )?),
                };
                fields.push((r.string()?, r.string()?, at));
            }
            RdbValue::Hash(unique(fields, |f| f.0.clone(), true)?)
        }
        HASH_LISTPACK_EX_PRE_GA | HASH_LISTPACK_EX => {
            if kind == HASH_LISTPACK_EX {
                r.le_u64()?;
            }
            let items = listpack::decode(&r.string()?, deep)?;
            if items.len() % 3 != 0 {
                return Err(bad());
            }
            let mut it = items.into_iter();
            let mut fields: Vec<HashField> = Vec::with_capacity(it.len() / 3);
            while let (Some(f), Some(v), Some(t)) = (it.next(), it.next(), it.next()) {
                let at = match t.as_int().ok_or_else(bad)? {
                    0 => None,
                    t => Some(expiry(u64::try_from(t).map_err(|_| bad())?)?),
                };
                fields.push((f.into_bytes(), v.into_bytes(), at));
            }
            RdbValue::Hash(unique(fields, |f| f.0.clone(), deep)?)
        }
        STREAM_LISTPACKS => RdbValue::Stream(Box::new(stream::decode(r, 1, deep)?)),
        STREAM_LISTPACKS_2 => RdbValue::Stream(Box::new(stream::decode(r, 2, deep)?)),
        STREAM_LISTPACKS_3 => RdbValue::Stream(Box::new(stream::decode(r, 3, deep)?)),
        _ => return Err(bad()),
    };
    // Redis refuses empty collections (its "empty keys" check); a stream
    // may be empty.
    let empty = match &value {
        RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
        RdbValue::Hash(v) => v.is_empty(),
        RdbValue::ZSet(v) => v.is_empty(),
        RdbValue::Str(_) | RdbValue::Stream(_) => false,
    };
    if empty {
        return Err(bad());
    }
    Ok(value)
}

/// A field expiry time, which Redis keeps below 2^48 ms.
fn expiry(at: u64) -> Result<i64, RdbError> {
    if at >= 1 << 48 {
        return Err(RdbError::BadData);
    }
    Ok(at as i64)
}

/// The elements as strings.
fn strings(items: Vec<Item>) -> Vec<Bytes> {
    items.into_iter().map(Item::into_bytes).collect()
}

/// `items` without later duplicates of a key, or an error if `strict` and
/// there is one.
fn unique<T>(items: Vec<T>, key: impl Fn(&T) -> Bytes, strict: bool) -> Result<Vec<T>, RdbError> {
    let mut seen = HashSet::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if seen.insert(key(&item)) {
            out.push(item);
        } else if strict {
            return Err(RdbError::BadData);
        }
    }
    Ok(out)
}

/// Writes `value` with its type byte; true if the result needs an RDB
/// version newer than [`super::WRITE_VERSION`].
pub fn encode(w: &mut Writer, value: &RdbValue) -> bool {
    match value {
        RdbValue::Str(s) => {
            w.u8(STRING);
            w.string(s);
        }
        RdbValue::List(items) => {
            w.u8(LIST_QUICKLIST_2);
            let mut nodes = Vec::new();
            let mut lp = listpack::Builder::new();
            for item in items {
                if !lp.is_empty()
                    && (lp.len() >= NODE_MAX_ENTRIES || lp.bytes() + item.len() > NODE_MAX_BYTES)
                {
                    nodes.push(std::mem::replace(&mut lp, listpack::Builder::new()).finish());
                }
                lp.push_str(item);
            }
            if !lp.is_empty() {
                nodes.push(lp.finish());
            }
            w.len(nodes.len() as u64);
            for node in nodes {
                w.len(CONTAINER_PACKED);
                w.string(&node);
            }
        }
        RdbValue::Set(members) => {
            let ints: Option<Vec<i64>> = (members.len() <= INTSET_MAX)
                .then(|| members.iter().map(|m| canonical_int(m)).collect())
                .flatten();
            match ints {
                Some(mut ints) => {
                    ints.sort_unstable();
                    ints.dedup();
                    w.u8(SET_INTSET);
                    w.string(&intset::encode(&ints));
                }
                None => {
                    w.u8(SET);
                    w.len(members.len() as u64);
                    for m in members {
                        w.string(m);
                    }
                }
            }
        }
        RdbValue::ZSet(members) => {
            w.u8(ZSET_2);
            w.len(members.len() as u64);
            for (m, score) in members {
                w.string(m);
                w.binary_double(*score);
            }
        }
        RdbValue::Hash(fields) => {
            let min = fields.iter().filter_map(|f| f.2).min();
            match min {
                None => {
                    w.u8(HASH);
                    w.len(fields.len() as u64);
                    for (f, v, _) in fields {
                        w.string(f);
                        w.string(v);
                    }
                }
                Some(min) => {
                    w.u8(HASH_METADATA);
                    w.le_u64(min as u64);
                    w.len(fields.len() as u64);
                    for (f, v, at) in fields {
                        w.len(at.map_or(0, |at| (at - min) as u64 + 1));
                        w.string(f);
                        w.string(v);
                    }
                    return true;
                }
            }
        }
        RdbValue::Stream(s) => {
            w.u8(STREAM_LISTPACKS_2);
            stream::encode(w, s);
        }
    }
    false
}
