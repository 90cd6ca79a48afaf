//! Payloads DUMPed by redis-server 7.0.15 (hex), older encodings written
//! by hand, round trips, and a bounded fuzz run over mutated payloads.

use bytes::Bytes;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn bs(items: &[&str]) -> Vec<Bytes> {
    items.iter().map(|s| b(s)).collect()
}

/// Wraps an object (type byte included) in a footer of version `v`.
fn payload(object: &[u8], v: u16) -> Vec<u8> {
    let mut p = object.to_vec();
    p.extend_from_slice(&v.to_le_bytes());
    let crc = crc64::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

// redis-server 7.0.15: SET s1 hello; SET s2 12345; SET s3 <100 × a>;
// SET s4 -70000; RPUSH l1 a b 1 -5 300; SADD st1 1 2 3 -100 70000;
// SADD st2 a b c; HSET h1 f1 v1 f2 2; ZADD z1 1.5 a 2 b -3 c; …
const S1: &str = "000568656c6c6f0a006372df766534200a";
const S2: &str = "00c139300a009d94ea2793fc08b9";
const S3: &str = "00c3094064016161e057000161610a00e8a3b507b06df271";
const S4: &str = "00c290eefeff0a002875de7b13eb2800";
const L1: &str = "120102151500000005008161028162020101dffb02c12c02ff0a006be158a1e865c788";
// list-max-listpack-size 2: three nodes.
const L2: &str = "1203020d0d0000000200816102816202ff020d0d0000000200816302816402ff020a0a0000000100816502ff0a00ec5236a76020a1db";
const ST1: &str =
    "0b1c04000000050000009cffffff010000000200000003000000701101000a009f4dd5a629d01743";
const ST2: &str = "02030161016201630a00ad9b6c54ee4a24ad";
const H1: &str = "10151500000004008266310382763103826632030201ff0a005c5ea813feec1ff5";
const H2: &str = "04020161c0010162c0020a0017143a96eba75d5c";
const Z1: &str = "111a1a0000000600816302dffd0281610283312e35048162020201ff0a0088c4c030f0ae8276";
const Z2: &str =
    "05030163000000000000f07f016200000000000000400161000000000000f03f0a005f1a0a84e9fa75e3";
// XADD x1 1-1 f v, 1-2 f w, 2-0 g 1 h 2; XGROUP CREATE x1 g1 0;
// XREADGROUP GROUP g1 c1 COUNT 2 STREAMS x1 >; XDEL x1 1-2
const X1: &str = "130110000000000000000100000000000000013d3d000000180002010101010181660200010201000100018176020401030100010101817702040100010101dfff020201816702010181680202010801ff02020001010102030102673101020202000000000000000100000000000000011ee12436a201000001000000000000000100000000000000021ee12436a201000001010263311ee12436a20100000200000000000000010000000000000001000000000000000100000000000000020a005a88165f2101d5b1";

fn decode_hex(s: &str) -> RdbValue {
    decode_payload(&hex(s), true).expect("a real payload decodes")
}

#[test]
fn strings_in_every_encoding() {
    assert_eq!(decode_hex(S1), RdbValue::Str(b("hello")));
    assert_eq!(decode_hex(S2), RdbValue::Str(b("12345")));
    assert_eq!(decode_hex(S3), RdbValue::Str(Bytes::from(vec![b'a'; 100])));
    assert_eq!(decode_hex(S4), RdbValue::Str(b("-70000")));
}

#[test]
fn sluice_writes_strings_as_redis_does() {
    // Short strings and integers come out byte for byte as Redis 7.0's.
    assert_eq!(encode_payload(&RdbValue::Str(b("hello"))), hex(S1));
    assert_eq!(encode_payload(&RdbValue::Str(b("12345"))), hex(S2));
    assert_eq!(encode_payload(&RdbValue::Str(b("-70000"))), hex(S4));
}

#[test]
fn lists_sets_hashes_zsets_from_redis() {
    assert_eq!(
        decode_hex(L1),
        RdbValue::List(bs(&["a", "b", "1", "-5", "300"]))
    );
    assert_eq!(
        decode_hex(L2),
        RdbValue::List(bs(&["a", "b", "c", "d", "e"]))
    );
    assert_eq!(
        decode_hex(ST1),
        RdbValue::Set(bs(&["-100", "1", "2", "3", "70000"]))
    );
    assert_eq!(decode_hex(ST2), RdbValue::Set(bs(&["a", "b", "c"])));
    assert_eq!(
        decode_hex(H1),
        RdbValue::Hash(vec![(b("f1"), b("v1"), None), (b("f2"), b("2"), None)])
    );
    assert_eq!(
        decode_hex(H2),
        RdbValue::Hash(vec![(b("a"), b("1"), None), (b("b"), b("2"), None)])
    );
    assert_eq!(
        decode_hex(Z1),
        RdbValue::ZSet(vec![(b("c"), -3.0), (b("a"), 1.5), (b("b"), 2.0)])
    );
    assert_eq!(
        decode_hex(Z2),
        RdbValue::ZSet(vec![(b("c"), f64::INFINITY), (b("b"), 2.0), (b("a"), 1.0)])
    );
}

#[test]
fn a_stream_with_a_group_and_a_deleted_entry_from_redis() {
    let RdbValue::Stream(s) = decode_hex(X1) else {
        panic!("not a stream");
    };
    assert_eq!(
        s.entries,
        vec![
            ((1, 1), bs(&["f", "v"])),
            ((2, 0), bs(&["g", "1", "h", "2"]))
        ]
    );
    assert_eq!(s.last_id, (2, 0));
    assert_eq!(s.max_deleted, (1, 2));
    assert_eq!(s.entries_added, Some(3));
    assert_eq!(s.groups.len(), 1);
    let g = &s.groups[0];
    assert_eq!(
        (g.name.clone(), g.last_id, g.entries_read),
        (b("g1"), (1, 2), Some(2))
    );
    assert_eq!(g.pel.len(), 2);
    assert!(g
        .pel
        .iter()
        .all(|p| p.consumer == b("c1") && p.delivery_count == 1));
    assert_eq!(g.consumers.len(), 1);
    assert_eq!(g.consumers[0].name, b("c1"));
    // And back: Sluice's encoding decodes to the same value.
    let again = decode_payload(&encode_payload(&RdbValue::Stream(s.clone())), true).unwrap();
    assert_eq!(again, RdbValue::Stream(s));
}

#[test]
fn old_encodings_written_by_hand() {
    // LIST (1): count, strings.
    let list = payload(&[1, 2, 1, b'x', 0xc0, 7], 6);
    assert_eq!(
        decode_payload(&list, true),
        Ok(RdbValue::List(bs(&["x", "7"])))
    );
    // ZSET (3): text doubles, with +inf.
    let zset = payload(&[3, 2, 1, b'a', 3, b'1', b'.', b'5', 1, b'b', 254], 6);
    assert_eq!(
        decode_payload(&zset, true),
        Ok(RdbValue::ZSet(vec![(b("a"), 1.5), (b("b"), f64::INFINITY)]))
    );
    // A ziplist of "ab" and 5 (immediate) as a LIST_ZIPLIST (10).
    let zl = [
        0x11, 0, 0, 0, // total 17
        0x0e, 0, 0, 0, // tail at 14
        2, 0, // two entries
        0, 0x02, b'a', b'b', // prevlen 0, 2-byte string
        4, 0xf6, // prevlen 4, immediate 5
        0xff,
    ];
    let mut obj = vec![10, zl.len() as u8];
    obj.extend_from_slice(&zl);
    assert_eq!(
        decode_payload(&payload(&obj, 7), true),
        Ok(RdbValue::List(bs(&["ab", "5"])))
    );
    // The same ziplist as a one-node quicklist (14).
    let mut obj = vec![14, 1, zl.len() as u8];
    obj.extend_from_slice(&zl);
    assert_eq!(
        decode_payload(&payload(&obj, 7), true),
        Ok(RdbValue::List(bs(&["ab", "5"])))
    );
    // A wrong prevlen passes without deep checks and fails with them.
    let mut bad = zl;
    bad[14] = 3;
    let mut obj = vec![10, bad.len() as u8];
    obj.extend_from_slice(&bad);
    assert!(decode_payload(&payload(&obj, 7), false).is_ok());
    assert_eq!(
        decode_payload(&payload(&obj, 7), true),
        Err(RdbError::BadData)
    );
}

#[test]
fn hashes_with_field_ttls() {
    let v = RdbValue::Hash(vec![
        (b("a"), b("1"), Some(1_900_000_000_000)),
        (b("b"), b("2"), None),
        (b("c"), b("3"), Some(1_800_000_000_000)),
    ]);
    let p = encode_payload(&v);
    assert_eq!(p[0], 24);
    assert_eq!(u16::from_le_bytes([p[p.len() - 10], p[p.len() - 9]]), 12);
    assert_eq!(decode_payload(&p, true), Ok(v));
    // HASH_LISTPACK_EX (25): min expiry, then field, value, expiry or 0.
    let mut lp = listpack::Builder::new();
    for s in ["f", "v", "1800000000000", "g", "w", "0"] {
        lp.push_str(s.as_bytes());
    }
    let lp = lp.finish();
    let mut obj = vec![25];
    obj.extend_from_slice(&1_800_000_000_000u64.to_le_bytes());
    obj.push(lp.len() as u8);
    obj.extend_from_slice(&lp);
    assert_eq!(
        decode_payload(&payload(&obj, 12), true),
        Ok(RdbValue::Hash(vec![
            (b("f"), b("v"), Some(1_800_000_000_000)),
            (b("g"), b("w"), None)
        ]))
    );
}

#[test]
fn round_trips_of_what_sluice_writes() {
    let long: Vec<Bytes> = (0..1000)
        .map(|i| Bytes::from(format!("item-{i}")))
        .collect();
    let values = vec![
        RdbValue::Str(Bytes::from(vec![7u8; 70_000])),
        RdbValue::Str(b("")),
        RdbValue::List(long.clone()),
        RdbValue::List(vec![
            Bytes::from(vec![1u8; 20_000]),
            b("-4097"),
            b("9223372036854775807"),
        ]),
        RdbValue::Set(bs(&["1", "-70000", "5000000000"])),
        RdbValue::Set(long.clone()),
        RdbValue::Hash(long.iter().map(|k| (k.clone(), k.clone(), None)).collect()),
        RdbValue::ZSet(vec![
            (b("a"), -0.5),
            (b("b"), f64::NEG_INFINITY),
            (b("c"), 1e300),
        ]),
    ];
    for v in values {
        let p = encode_payload(&v);
        assert_eq!(
            u16::from_le_bytes([p[p.len() - 10], p[p.len() - 9]]),
            WRITE_VERSION
        );
        let mut back = decode_payload(&p, true).unwrap();
        if let (RdbValue::Set(a), RdbValue::Set(b)) = (&mut back, &v) {
            // Intsets come back sorted.
            let mut want = b.clone();
            want.sort_by_key(|m| codec::canonical_int(m));
            a.sort_by_key(|m| codec::canonical_int(m));
            assert_eq!(*a, want);
            continue;
        }
        assert_eq!(back, v);
    }
}

#[test]
fn footer_errors() {
    let mut p = hex(S1);
    assert_eq!(
        decode_payload(&p[..9], false),
        Err(RdbError::VersionOrChecksum)
    );
    let n = p.len();
    p[n - 1] ^= 1;
    assert_eq!(decode_payload(&p, false), Err(RdbError::VersionOrChecksum));
    // Version 12 is read; 13 is refused even with a right checksum.
    assert!(decode_payload(&payload(&[0, 1, b'x'], 12), false).is_ok());
    assert_eq!(
        decode_payload(&payload(&[0, 1, b'x'], 13), false),
        Err(RdbError::VersionOrChecksum)
    );
    // Unknown types, zipmaps, truncated objects and empty collections.
    for obj in [&[9u8, 0][..], &[8], &[0, 5, b'a'], &[2, 0], &[0x30]] {
        assert_eq!(
            decode_payload(&payload(obj, 9), false),
            Err(RdbError::BadData)
        );
    }
    // Duplicates in a plain set are refused; in a listpack set only deep.
    assert_eq!(
        decode_payload(&payload(&[2, 2, 1, b'a', 1, b'a'], 9), false),
        Err(RdbError::BadData)
    );
    let mut lp = listpack::Builder::new();
    lp.push_str(b"a");
    lp.push_str(b"a");
    let lp = lp.finish();
    let mut obj = vec![20, lp.len() as u8];
    obj.extend_from_slice(&lp);
    assert_eq!(
        decode_payload(&payload(&obj, 11), false),
        Ok(RdbValue::Set(bs(&["a"])))
    );
    assert_eq!(
        decode_payload(&payload(&obj, 11), true),
        Err(RdbError::BadData)
    );
}

#[test]
fn a_listpack_backlen_is_checked_only_deep() {
    let p = hex(H1);
    let mut obj = p[..p.len() - 10].to_vec();
    // The backlen of the first element ("f1", 3 bytes) is at offset 2+6+3.
    assert_eq!(obj[2 + 6 + 3], 3);
    obj[2 + 6 + 3] = 4;
    assert!(decode_payload(&payload(&obj, 10), false).is_ok());
    assert_eq!(
        decode_payload(&payload(&obj, 10), true),
        Err(RdbError::BadData)
    );
}

/// A small deterministic generator (no dependency on `rand` in the lib).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_payloads_never_panic() {
    let mut seeds: Vec<Vec<u8>> = [S1, S3, L1, L2, ST1, ST2, H1, H2, Z1, Z2, X1]
        .iter()
        .map(|s| hex(s))
        .collect();
    seeds.push(encode_payload(&RdbValue::List(
        (0..300).map(|i| Bytes::from(format!("{i}"))).collect(),
    )));
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0;
    for round in 0..20_000 {
        let seed = &seeds[round % seeds.len()];
        let mut body = seed[..seed.len() - 10].to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % body.len() as u64) as usize;
            match rng.next() % 4 {
                0 => body[i] = rng.next() as u8,
                1 => body[i] ^= 1 << (rng.next() % 8),
                2 => body.truncate(i.max(1)),
                _ => body.insert(i, rng.next() as u8),
            }
        }
        // Re-seal the footer so the mutation reaches the decoder.
        let p = payload(&body, 10);
        for deep in [false, true] {
            if decode_payload(&p, deep).is_ok() {
                decoded += 1;
            }
        }
    }
    // Some mutations (a changed string byte) still decode.
    assert!(decoded > 0);
}

#[test]
fn stream_counters_sluice_relies_on_are_checked() {
    let entry = ((5, 0), bs(&["f", "v"]));
    let good = RdbStream {
        entries: vec![entry.clone()],
        last_id: (5, 0),
        entries_added: Some(1),
        ..RdbStream::default()
    };
    let ok = RdbValue::Stream(Box::new(good.clone()));
    assert_eq!(decode_payload(&encode_payload(&ok), false), Ok(ok));
    let cases = [
        // Fewer entries ever added than are live.
        RdbStream {
            entries_added: Some(0),
            ..good.clone()
        },
        // An entry above the last ID.
        RdbStream {
            last_id: (4, 9),
            ..good.clone()
        },
        // A consumer seen at a time that overflows idle arithmetic.
        RdbStream {
            groups: vec![RdbGroup {
                name: b("g"),
                consumers: vec![RdbConsumer {
                    name: b("c"),
                    seen_time: i64::MIN,
                    active_time: None,
                }],
                ..RdbGroup::default()
            }],
            ..good.clone()
        },
        // entries-read below -1.
        RdbStream {
            groups: vec![RdbGroup {
                name: b("g"),
                entries_read: Some(-2),
                ..RdbGroup::default()
            }],
            ..good
        },
    ];
    for s in cases {
        let p = encode_payload(&RdbValue::Stream(Box::new(s.clone())));
        assert_eq!(decode_payload(&p, false), Err(RdbError::BadData), "{s:?}");
    }
}

/// Walks an RDB file (the whole-database format around the same objects)
/// and decodes every key's value: the files of Redis's own test suite are
/// real output of Redis 2.x to 7.0 in encodings Redis no longer writes.
fn walk_rdb(path: &str) -> Vec<(String, RdbValue)> {
    let full = format!(
        "{}/../shared/redis-tests/tests/assets/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    assert_eq!(&data[..5], b"REDIS");
    let mut r = codec::Reader::new(&data[9..]);
    let mut out = Vec::new();
    loop {
        match r.u8().unwrap() {
            0xff => break,
            0xfa => {
                r.string().unwrap();
                r.string().unwrap();
            }
            0xfe | 0xf8 => {
                r.len().unwrap();
            }
            0xfb => {
                r.len().unwrap();
                r.len().unwrap();
            }
            0xfd => {
                r.take(4).unwrap();
            }
            0xfc => {
                r.take(8).unwrap();
            }
            0xf9 => {
                r.u8().unwrap();
            }
            kind => {
                let key = String::from_utf8(r.string().unwrap().to_vec()).unwrap();
                let value = object::decode(kind, &mut r, true)
                    .unwrap_or_else(|e| panic!("{path} {key} (type {kind}): {e}"));
                out.push((key, value));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A value as Redis's `csvdump` test helper prints it: members of sets
/// and hashes sorted, sorted sets in score order.
fn csv(value: &RdbValue) -> Vec<String> {
    let s = |b: &Bytes| String::from_utf8_lossy(b).to_string();
    match value {
        RdbValue::Str(v) => vec![s(v)],
        RdbValue::List(v) => v.iter().map(s).collect(),
        RdbValue::Set(v) => {
            let mut v: Vec<String> = v.iter().map(s).collect();
            v.sort();
            v
        }
        RdbValue::Hash(v) => {
            let mut v: Vec<(String, String)> = v.iter().map(|(f, x, _)| (s(f), s(x))).collect();
            v.sort();
            v.into_iter().flat_map(|(f, x)| [f, x]).collect()
        }
        RdbValue::ZSet(v) => {
            let mut v = v.clone();
            v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            v.iter().flat_map(|(m, x)| [s(m), format!("{x}")]).collect()
        }
        RdbValue::Stream(_) => vec!["stream".into()],
    }
}

#[test]
fn redis_test_suite_rdb_files_decode() {
    let got: Vec<(String, Vec<String>)> = walk_rdb("encodings.rdb")
        .iter()
        .map(|(k, v)| (k.clone(), csv(v)))
        .collect();
    let list = ["1", "2", "3", "a", "b", "c", "100000", "6000000000"];
    let want: Vec<(&str, Vec<String>)> = vec![
        ("compressible", vec!["a".repeat(137)]),
        (
            "hash",
            "a 1 aa 10 aaa 100 b 2 bb 20 bbb 200 c 3 cc 30 ccc 300 ddd 400 eee 5000000000"
                .split(' ')
                .map(String::from)
                .collect(),
        ),
        ("hash_zipped", ["a", "1", "b", "2", "c", "3"].map(String::from).to_vec()),
        ("list", list.repeat(3).iter().map(|s| s.to_string()).collect()),
        ("list_zipped", list.map(String::from).to_vec()),
        ("number", vec!["10".into()]),
        (
            "set",
            ["1", "100000", "2", "3", "6000000000", "a", "b", "c"].map(String::from).to_vec(),
        ),
        ("set_zipped_1", ["1", "2", "3", "4"].map(String::from).to_vec()),
        ("set_zipped_2", ["100000", "200000", "300000", "400000"].map(String::from).to_vec()),
        (
            "set_zipped_3",
            ["1000000000", "2000000000", "3000000000", "4000000000", "5000000000", "6000000000"]
                .map(String::from)
                .to_vec(),
        ),
        ("string", vec!["Hello World".into()]),
        (
            "zset",
            "a 1 b 2 c 3 aa 10 bb 20 cc 30 aaa 100 bbb 200 ccc 300 aaaa 1000 cccc 123456789 bbbb 5000000000"
                .split(' ')
                .map(String::from)
                .collect(),
        ),
        ("zset_zipped", ["a", "1", "b", "2", "c", "3"].map(String::from).to_vec()),
    ];
    let want: Vec<(String, Vec<String>)> =
        want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(got, want);
    // Newer files: a hash ziplist (v9), a quicklist of ziplists (v8), a
    // zset ziplist (v10) and a zipmap (v3).
    for file in [
        "hash-ziplist.rdb",
        "list-quicklist.rdb",
        "zset-ziplist.rdb",
        "hash-zipmap.rdb",
    ] {
        let keys = walk_rdb(file);
        assert!(!keys.is_empty(), "{file}");
    }
    let lists = walk_rdb("list-quicklist.rdb");
    assert!(lists
        .iter()
        .any(|(k, v)| k == "list" && matches!(v, RdbValue::List(l) if !l.is_empty())));
}

/// The payloads of Redis's corruption tests (`integration/corrupt-dump.tcl`,
/// which runs only against a server it starts): none makes the decoder
/// panic in either mode, and each one a test expects `Bad data format`
/// for under `sanitize-dump-payload yes` is refused with deep checks.
#[test]
fn redis_corrupt_dump_payloads() {
    let path = format!(
        "{}/../shared/redis-tests/tests/integration/corrupt-dump.tcl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut seen = 0;
    let mut refused = 0;
    for case in text.split("\ntest {").skip(1) {
        let deep_bad =
            case.contains("sanitize-dump-payload yes") && case.contains("Bad data format");
        for literal in case.split("restore key 0 \"").skip(1) {
            let Some(end) = literal.find('"') else {
                continue;
            };
            let mut bytes = Vec::new();
            let raw = &literal.as_bytes()[..end];
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'\\' && raw.get(i + 1) == Some(&b'x') && i + 4 <= raw.len() {
                    bytes.push(
                        u8::from_str_radix(std::str::from_utf8(&raw[i + 2..i + 4]).unwrap(), 16)
                            .unwrap(),
                    );
                    i += 4;
                } else {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
            if bytes.len() < 10 {
                continue;
            }
            seen += 1;
            let body = &bytes[..bytes.len() - 10];
            for deep in [false, true] {
                let _ = decode_payload(&bytes, deep);
                let _ = decode_payload(&payload(body, 9), deep);
            }
            if deep_bad {
                refused += 1;
                assert!(
                    decode_payload(&payload(body, 9), true).is_err(),
                    "{}",
                    &case[..60.min(case.len())]
                );
            }
        }
    }
    assert!(
        seen >= 15 && refused >= 5,
        "{seen} payloads, {refused} refusals"
    );
}

#[test]
fn stream_listpacks_3_carry_active_times() {
    // An empty stream (as Redis 7.2 writes it) with one group and one
    // consumer seen at 1000 and active at 900.
    let mut w = codec::Writer::default();
    w.u8(21);
    for n in [0u64, 0, 7, 0, 0, 0, 0, 0, 1] {
        w.len(n); // nodes, length, last ID, first ID, max deleted, entries added
    }
    w.len(1);
    w.string(b"g");
    w.len(7);
    w.len(0);
    w.len(1); // entries read
    w.len(0); // PEL
    w.len(1);
    w.string(b"c");
    w.le_u64(1000);
    w.le_u64(900);
    w.len(0);
    let RdbValue::Stream(s) = decode_payload(&payload(&w.buf, 11), true).unwrap() else {
        panic!("not a stream");
    };
    assert_eq!(s.last_id, (7, 0));
    assert_eq!(s.groups[0].entries_read, Some(1));
    assert_eq!(s.groups[0].consumers[0].seen_time, 1000);
    assert_eq!(s.groups[0].consumers[0].active_time, Some(900));
}

#[test]
fn a_pending_entry_no_consumer_holds_is_dropped_or_refused() {
    let s = RdbStream {
        entries: vec![((1, 0), bs(&["f", "v"]))],
        last_id: (1, 0),
        entries_added: Some(1),
        groups: vec![RdbGroup {
            name: b("g"),
            last_id: (1, 0),
            entries_read: Some(1),
            pel: vec![RdbPending {
                id: (1, 0),
                delivery_time: 5,
                delivery_count: 2,
                consumer: b("ghost"),
            }],
            consumers: vec![RdbConsumer {
                name: b("c"),
                seen_time: 5,
                active_time: None,
            }],
        }],
        ..RdbStream::default()
    };
    let p = encode_payload(&RdbValue::Stream(Box::new(s)));
    let Ok(RdbValue::Stream(got)) = decode_payload(&p, false) else {
        panic!("refused without deep checks");
    };
    assert!(got.groups[0].pel.is_empty());
    assert_eq!(got.groups[0].consumers.len(), 1);
    assert_eq!(decode_payload(&p, true), Err(RdbError::BadData));
}
