//! Unit tests of the journal: payloads through the map, rolls, damage.

use super::*;
use crate::storage::format::{FILE_HEADER_LEN, RECORD_HEADER_LEN};
use crate::storage::io::RealDisk;

fn open(dir: &Path, segment_max: u64) -> Arc<Journal> {
    Journal::open(
        dir,
        Arc::new(RealDisk),
        FsyncPolicy::No,
        segment_max,
        LogTail {
            next_lsn: 1,
            segments: Vec::new(),
            checkpoint_lsn: 0,
        },
    )
    .unwrap()
}

#[test]
fn payloads_read_back_through_the_map_and_copy_forward() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), 4096);
    let mut written = Vec::new();
    for i in 0..200u32 {
        let body = format!("payload-{i}-").repeat(5).into_bytes();
        let (lsn, pos) = journal.append(RecordType::Payload, &body).unwrap();
        assert_eq!(lsn, u64::from(i) + 1);
        written.push((pos, body));
    }
    // 200 payloads of ~60 bytes roll several 4 KB segments.
    assert!(journal.segment_count() > 2);
    for (pos, body) in &written {
        assert_eq!(&*journal.read_payload(*pos).unwrap(), &body[..]);
    }
    let old: Vec<Pos> = written.iter().map(|(p, _)| *p).take(10).collect();
    let moved = journal.copy_forward(&old).unwrap();
    assert_eq!(moved.len(), 10);
    let first_new = moved[0].seq;
    assert!(first_new > old[9].seq, "copies go to the end of the log");
    journal
        .drop_segments_before(first_new, &Default::default())
        .unwrap();
    // The old segments are gone; the copies read back.
    assert!(journal.read_payload(old[0]).is_err());
    for (new, (_, body)) in moved.iter().zip(&written) {
        assert_eq!(&*journal.read_payload(*new).unwrap(), &body[..]);
    }
    journal.close().unwrap();
}

fn payload(i: usize) -> Vec<u8> {
    (0..300 + i % 50).map(|j| (i * 31 + j) as u8).collect()
}

#[test]
fn payloads_round_trip_through_the_map_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), 4096);
    let mut positions = Vec::new();
    for i in 0..40 {
        let (lsn, pos) = journal.append(RecordType::Payload, &payload(i)).unwrap();
        assert_eq!(lsn, i as u64 + 1);
        // Read straight back: still in the buffer, so it is written first.
        assert_eq!(&*journal.read_payload(pos).unwrap(), &payload(i)[..]);
        if i % 3 == 0 {
            journal.flush(lsn).unwrap();
        }
        positions.push(pos);
    }
    // Positions are in log order; the log rolled several times and the
    // first record of each segment sits right after its header.
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let last_seq = positions.last().unwrap().seq;
    assert!(last_seq >= 3, "rolled only to segment {last_seq}");
    assert_eq!(journal.segment_count() as u64, last_seq);
    for w in positions.windows(2) {
        if w[1].seq != w[0].seq {
            assert_eq!(w[1].seq, w[0].seq + 1);
            assert_eq!(w[1].offset, FILE_HEADER_LEN as u64);
        }
    }
    for seq in 1..=last_seq {
        let len = std::fs::metadata(dir.path().join(segment_name(seq)))
            .unwrap()
            .len();
        assert!(len <= 4096, "segment {seq} is {len} bytes");
    }
    // Every payload reads back, from sealed segments and the current one.
    for (i, pos) in positions.iter().enumerate() {
        let got = journal.read_payload(*pos).unwrap();
        assert_eq!(&*got, &payload(i)[..], "record {i} at {pos:?}");
    }
    // No copy: two reads of one record see the same mapped bytes.
    let a = journal.read_payload(positions[0]).unwrap();
    let b = journal.read_payload(positions[0]).unwrap();
    assert_eq!(a.as_ptr(), b.as_ptr());
    let heap = payload(0);
    assert_ne!(a.as_ptr(), heap.as_ptr());
    journal.close().unwrap();
}

#[test]
fn a_map_made_before_later_appends_is_refreshed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), 1 << 20);
    let (_, first) = journal.append(RecordType::Payload, b"first").unwrap();
    assert_eq!(&*journal.read_payload(first).unwrap(), b"first");
    // The segment grows after it was mapped.
    let (lsn, second) = journal.append(RecordType::Payload, b"second").unwrap();
    journal.flush(lsn).unwrap();
    assert_eq!(
        second.offset,
        first.offset + (RECORD_HEADER_LEN + b"first".len()) as u64
    );
    assert_eq!(&*journal.read_payload(second).unwrap(), b"second");
    let (_, empty) = journal.append(RecordType::Payload, b"").unwrap();
    assert_eq!(&*journal.read_payload(empty).unwrap(), b"");
    journal.close().unwrap();
}

#[test]
fn a_damaged_payload_is_reported_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let journal = open(dir.path(), 1 << 20);
    let (_, a) = journal.append(RecordType::Payload, b"aaaa").unwrap();
    let (lsn, b) = journal.append(RecordType::Payload, b"bbbb").unwrap();
    journal.flush(lsn).unwrap();
    let path = dir.path().join(segment_name(b.seq));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[b.offset as usize + RECORD_HEADER_LEN] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(&*journal.read_payload(a).unwrap(), b"aaaa");
    match journal.read_payload(b) {
        Err(StorageError::Corrupt { file, offset, .. }) => {
            assert_eq!(offset, b.offset);
            assert!(file.ends_with(&segment_name(b.seq)), "{file}");
        }
        Err(other) => panic!("wrong error: {other:?}"),
        Ok(p) => panic!("damaged payload read back as {:?}", &*p),
    }
    journal.close().unwrap();
}
