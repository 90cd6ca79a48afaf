//! Criterion microbenches for the hot paths under every write: decoding a
//! pipelined RESP request stream, framing a record (length + CRC32 +
//! payload), and appending records to the commit log; and under every
//! stream read: reading entry payloads back through the segment map.
//!
//! Run: `cargo bench --bench micro` (add `-- <filter>` for one group).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use sluice::config::FsyncPolicy;
use sluice::keyspace::stream::payload;
use sluice::protocol::decode::{Limits, RequestDecoder};
use sluice::storage::format::{encode_record, RecordType};
use sluice::storage::io::RealDisk;
use sluice::storage::journal::{Journal, LogTail, Pos};

/// `n` XADD requests with a 100-byte field, as a client pipelines them.
fn xadd_requests(n: usize) -> BytesMut {
    let value = "x".repeat(100);
    let one =
        format!("*5\r\n$4\r\nXADD\r\n$6\r\nstream\r\n$1\r\n*\r\n$1\r\nf\r\n$100\r\n{value}\r\n");
    BytesMut::from(one.repeat(n).as_bytes())
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("resp_decode");
    for n in [1usize, 16, 256] {
        let input = xadd_requests(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("xadd_100B_x{n}"), |b| {
            b.iter_batched_ref(
                || input.clone(),
                |buf| {
                    let mut dec = RequestDecoder::new();
                    let mut count = 0;
                    while let Some(args) = dec.decode(buf, Limits::default()).expect("valid") {
                        count += args.len();
                    }
                    black_box(count)
                },
                BatchSize::SmallInput,
            )
        });
    }
    // A request that arrives a few bytes at a time: the incremental path.
    let input = xadd_requests(1);
    g.throughput(Throughput::Elements(1));
    g.bench_function("xadd_100B_in_8B_reads", |b| {
        b.iter(|| {
            let mut dec = RequestDecoder::new();
            let mut buf = BytesMut::new();
            let mut got = None;
            for chunk in input.chunks(8) {
                buf.extend_from_slice(chunk);
                if let Some(args) = dec.decode(&mut buf, Limits::default()).expect("valid") {
                    got = Some(args);
                }
            }
            black_box(got)
        })
    });
    g.finish();
}

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_encode_crc");
    for size in [100usize, 1024, 16 * 1024] {
        let payload = vec![0xa5u8; size];
        let mut out = Vec::with_capacity(size + 64);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(format!("{size}B"), |b| {
            b.iter(|| {
                out.clear();
                encode_record(&mut out, RecordType::Payload, black_box(&payload));
                black_box(out.len())
            })
        });
    }
    g.finish();
}

/// A fresh journal in a fresh temp dir (the caller keeps the dir alive).
fn fresh_journal() -> (tempfile::TempDir, Arc<Journal>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = Journal::open(
        dir.path(),
        Arc::new(RealDisk),
        FsyncPolicy::No,
        1 << 30,
        LogTail {
            next_lsn: 1,
            segments: Vec::new(),
            checkpoint_lsn: 0,
        },
    )
    .expect("open journal");
    (dir, journal)
}

/// Times `iters` rounds of `batch` appends of 100 bytes, each round ending
/// with one write(2) of what was buffered; a fresh journal per sample keeps
/// the files (and the disk they take) small.
fn append_rounds(iters: u64, batch: usize) -> Duration {
    let (_dir, journal) = fresh_journal();
    let payload = vec![0x5au8; 100];
    let started = Instant::now();
    for _ in 0..iters {
        let mut last = 0;
        for _ in 0..batch {
            last = journal
                .append(RecordType::Payload, black_box(&payload))
                .expect("append")
                .0;
        }
        journal.flush(last).expect("flush");
    }
    let took = started.elapsed();
    journal.close().expect("close");
    took
}

fn log_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_append");
    // No fsync in either: the cost of Sluice's write path without the
    // disk's latency. One record per write(2) (an unpipelined client) and
    // sixteen (a pipelined batch, or many clients in one group write).
    for batch in [1usize, 16] {
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("100B_x{batch}_then_write"), |b| {
            b.iter_custom(|iters| append_rounds(iters, batch))
        });
    }
    g.finish();
}

/// Reads `positions` as XRANGE does: each payload through the map, its
/// fields and values decoded and copied out for the reply, then the map
/// checked for pages lost to a truncation meanwhile.
fn read_entries(journal: &Journal, positions: &[Pos]) -> usize {
    let mut copied = 0;
    for &pos in positions {
        let p = journal.read_payload(pos).expect("read");
        let parts: Vec<Bytes> = payload::decode(&p)
            .expect("payload")
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        p.verify().expect("intact");
        copied += parts.len();
    }
    copied
}

fn payload_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("payload_read");
    // An XRANGE of 100 entries with one 100-byte field each, from a
    // written (not buffered) segment that is already mapped.
    let (_dir, journal) = fresh_journal();
    let value = vec![0x5au8; 100];
    let body = payload::encode(&[b"field", &value]);
    let mut positions = Vec::new();
    let mut last = 0;
    for _ in 0..100 {
        let (lsn, pos) = journal.append(RecordType::Payload, &body).expect("append");
        positions.push(pos);
        last = lsn;
    }
    journal.flush(last).expect("flush");
    read_entries(&journal, &positions);
    g.throughput(Throughput::Elements(positions.len() as u64));
    g.bench_function("100B_x100", |b| {
        b.iter(|| black_box(read_entries(&journal, black_box(&positions))))
    });
    g.finish();
    journal.close().expect("close");
}

criterion_group!(benches, decode, record, log_append, payload_read);
criterion_main!(benches);
