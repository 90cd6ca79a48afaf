//! Criterion microbenches for the hot paths under every write: decoding a
//! pipelined RESP request stream, framing a record (length + CRC32 +
//! payload), appending records to the commit log, and what the counting
//! allocator behind INFO memory adds to one allocation.
//!
//! Run: `cargo bench --bench micro` (add `-- <filter>` for one group).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use sluice::config::FsyncPolicy;
use sluice::protocol::decode::{Limits, RequestDecoder};
use sluice::storage::format::{encode_record, RecordType};
use sluice::storage::io::RealDisk;
use sluice::storage::journal::{Journal, LogTail};

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

/// One 100-byte allocation and free through the system allocator and
/// through the counting wrapper the server runs with (`sluice::memory`),
/// side by side in one process, so load on the machine hits both alike.
fn allocator(c: &mut Criterion) {
    use std::alloc::{GlobalAlloc, Layout, System};
    fn round(a: &dyn GlobalAlloc) {
        let layout = Layout::from_size_align(100, 8).expect("layout");
        // SAFETY: a non-zero layout, freed with the allocator and layout
        // it was allocated with.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            a.dealloc(black_box(p), layout);
        }
    }
    let mut g = c.benchmark_group("allocator");
    g.bench_function("system_100B", |b| b.iter(|| round(&System)));
    g.bench_function("counting_100B", |b| {
        b.iter(|| round(&sluice::memory::CountingAlloc))
    });
    g.finish();
}

criterion_group!(benches, decode, record, log_append, allocator);
criterion_main!(benches);
