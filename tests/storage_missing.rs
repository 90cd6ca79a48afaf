//! Files that vanish from the data directory: the manifest names every
//! segment and the checkpoint the journal needs, so start-up refuses,
//! naming what is gone, where it used to start on a shorter log and lose
//! acknowledged writes. Segments kept from before a checkpoint hold live
//! stream payloads; they are checked at start-up too (presence, header,
//! and the CRC of every record a live entry points to).

mod common;

use std::path::Path;

use common::cmd;
use common::damage::*;
use redis::aio::MultiplexedConnection;
use sluice::config::Config;
use sluice::storage::StorageError;

fn small_segments() -> Config {
    Config {
        journal_segment_size: 4096,
        ..base_config()
    }
}

fn assert_missing(err: &StorageError, gone: &Path) {
    match err {
        StorageError::Missing { file } => assert_eq!(Path::new(file), gone, "{err}"),
        other => panic!("expected {} to be missing, got {other:?}", gone.display()),
    }
}

#[tokio::test]
async fn a_deleted_newest_segment_is_refused_by_name() {
    let stopped = written(small_segments(), async |con| set_keys(con, 0..300).await).await;
    let segs = stopped.segments();
    assert!(segs.len() >= 3, "{segs:?}");
    let newest = stopped.segment(*segs.last().unwrap());
    std::fs::remove_file(&newest).unwrap();
    assert_missing(&stopped.start_err().await, &newest);
    // Tolerating corruption does not paper over a missing file.
    assert_missing(&stopped.tolerant().start_err().await, &newest);
}

#[tokio::test]
async fn the_only_segment_deleted_is_refused() {
    let stopped = written(base_config(), async |con| set_keys(con, 0..50).await).await;
    let segs = stopped.segments();
    assert_eq!(segs.len(), 1);
    let only = stopped.segment(segs[0]);
    std::fs::remove_file(&only).unwrap();
    assert_missing(&stopped.start_err().await, &only);
}

#[tokio::test]
async fn an_emptied_newest_segment_is_corruption_not_a_fresh_start() {
    for len in [0u64, 10] {
        let stopped = written(small_segments(), async |con| set_keys(con, 0..300).await).await;
        let newest = stopped.last_segment();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&newest)
            .unwrap()
            .set_len(len)
            .unwrap();
        assert_corrupt_at(&stopped.start_err().await, &newest, 0);
        assert_eq!(file_len(&newest), len, "strict recovery changed the file");
    }
}

#[tokio::test]
async fn a_deleted_checkpoint_is_refused_by_name() {
    let (stopped, ckpt) = with_checkpoint().await;
    std::fs::remove_file(&ckpt).unwrap();
    assert_missing(&stopped.start_err().await, &ckpt);
}

#[tokio::test]
async fn an_intact_directory_restarts_through_rolls_and_checkpoints() {
    // The manifest follows every roll and checkpoint: many of each, then
    // a restart finds exactly what it names.
    let stopped = written(small_segments(), async |con| {
        for round in 0..4 {
            set_keys(con, round * 100..round * 100 + 100).await;
            let _: () = cmd(con, &["SAVE"]).await.unwrap();
        }
    })
    .await;
    let srv = stopped.start_ok().await;
    assert_eq!(keys(&srv).await, key_names(0..400));
    srv.stop().await;
    // A leftover segment older than the manifest's (a deletion cut short
    // by a crash) is removed, not refused.
    let oldest = *stopped.segments().first().unwrap();
    assert!(oldest > 1, "the checkpoints deleted the first segments");
    let leftover = stopped.segment(oldest - 1);
    std::fs::write(&leftover, b"stale").unwrap();
    let srv = stopped.start_ok().await;
    assert_eq!(keys(&srv).await, key_names(0..400));
    assert!(!leftover.exists());
}

/// 300 entries in small segments, then a checkpoint (the early segments
/// stay: live payloads are in them), then more keys; returns the data
/// directory and the kept segments (those before the checkpoint).
async fn stream_behind_checkpoint() -> (Stopped, Vec<u64>) {
    let stopped = written(small_segments(), async |con: &mut MultiplexedConnection| {
        for i in 0..300 {
            let _: String = cmd(con, &["XADD", "s", "*", "n", &i.to_string()])
                .await
                .unwrap();
        }
        let _: () = cmd(con, &["XGROUP", "CREATE", "s", "g", "0"])
            .await
            .unwrap();
        let _: () = cmd(con, &["SAVE"]).await.unwrap();
        set_keys(con, 0..5).await;
    })
    .await;
    let ckpt_lsn: u64 = std::fs::read_dir(stopped.journal())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_prefix("checkpoint-")?
                .strip_suffix(".ckpt")?
                .parse()
                .ok()
        })
        .next()
        .expect("a checkpoint");
    // Kept segments: every one whose base LSN is below the checkpoint's
    // but the one replay starts in.
    let segs = stopped.segments();
    let base = |seq: u64| {
        let data = std::fs::read(stopped.segment(seq)).unwrap();
        u64::from_le_bytes(data[16..24].try_into().unwrap())
    };
    let replay_from = segs
        .iter()
        .rposition(|&s| base(s) <= ckpt_lsn)
        .expect("a segment covering the checkpoint");
    let kept = segs[..replay_from].to_vec();
    assert!(kept.len() >= 3, "kept {kept:?} of {segs:?}");
    (stopped, kept)
}

async fn xlen(srv: &common::TestServer) -> i64 {
    let mut con = srv.client().await;
    cmd(&mut con, &["XLEN", "s"]).await.unwrap()
}

#[tokio::test]
async fn a_deleted_kept_segment_is_refused_by_name() {
    let (stopped, kept) = stream_behind_checkpoint().await;
    let gone = stopped.segment(kept[1]);
    std::fs::remove_file(&gone).unwrap();
    assert_missing(&stopped.start_err().await, &gone);
}

#[tokio::test]
async fn a_damaged_payload_in_a_kept_segment_is_found_at_start() {
    let (stopped, kept) = stream_behind_checkpoint().await;
    let seg = stopped.segment(kept[1]);
    // A kept segment of this log holds entry payloads (type 2) and the
    // batches pointing at them; damage the first payload.
    let bytes = std::fs::read(&seg).unwrap();
    let target = *records(&seg)
        .iter()
        .find(|(off, _)| bytes[*off as usize + 8] == 2)
        .expect("a payload record");
    damage(&seg, target, Damage::FlippedPayload);
    assert_corrupt_at(&stopped.start_err().await, &seg, target.0);

    // Tolerated: the unreadable entry leaves the stream, everything else
    // reads, and a consumer group is not stuck at it.
    let srv = stopped.tolerant().start_ok().await;
    let p = persistence(&srv).await;
    assert_eq!(p["sluice_recovery_dropped_entries"], "1");
    assert_eq!(xlen(&srv).await, 299);
    let mut con = srv.client().await;
    let all: redis::Value = cmd(&mut con, &["XRANGE", "s", "-", "+"]).await.unwrap();
    let redis::Value::Array(entries) = all else {
        panic!("XRANGE gave {all:?}")
    };
    assert_eq!(entries.len(), 299);
    let mut served = 0;
    loop {
        let reply: redis::Value = cmd(
            &mut con,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "100",
                "STREAMS",
                "s",
                ">",
            ],
        )
        .await
        .unwrap();
        match reply {
            redis::Value::Nil => break,
            redis::Value::Array(streams) => {
                let redis::Value::Array(pair) = &streams[0] else {
                    panic!("{streams:?}")
                };
                let redis::Value::Array(batch) = &pair[1] else {
                    panic!("{pair:?}")
                };
                served += batch.len();
            }
            other => panic!("XREADGROUP gave {other:?}"),
        }
        assert!(served <= 299);
    }
    assert_eq!(served, 299);
    // New entries still append.
    let _: String = cmd(&mut con, &["XADD", "s", "*", "n", "new"])
        .await
        .unwrap();
    assert_eq!(xlen(&srv).await, 300);
}
