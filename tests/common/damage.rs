//! Damaging a stopped server's data directory for real, for the storage
//! corruption tests: write through a real server, stop it, damage bytes or
//! files, start again and check the exact outcome.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redis::aio::MultiplexedConnection;
use sluice::clock::Clock;
use sluice::config::Config;
use sluice::server::BindError;
use sluice::storage::io::RealDisk;
use sluice::storage::{RecoveryMode, StorageError};

use super::{cmd, test_config, TestServer};

pub const T0: i64 = 1_704_067_200_000;
pub const HEADER: u64 = 32;
pub const RECORD_HEADER: u64 = 9;

/// A stopped server's data directory, ready to be damaged.
pub struct Stopped {
    pub dir: Arc<tempfile::TempDir>,
    pub config: Config,
    pub clock: Clock,
}

impl Stopped {
    pub fn journal(&self) -> PathBuf {
        self.dir.path().join("journal")
    }

    pub fn segment(&self, seq: u64) -> PathBuf {
        self.journal().join(format!("{seq:016}.seg"))
    }

    /// Sequence numbers of the segments, in order.
    pub fn segments(&self) -> Vec<u64> {
        let mut out: Vec<u64> = std::fs::read_dir(self.journal())
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        out.sort_unstable();
        out
    }

    pub fn last_segment(&self) -> PathBuf {
        self.segment(*self.segments().last().unwrap())
    }

    pub async fn start(&self) -> Result<TestServer, BindError> {
        let mut config = self.config.clone();
        TestServer::try_start_in(
            self.dir.clone(),
            &mut config,
            self.clock.clone(),
            Arc::new(RealDisk),
        )
        .await
    }

    pub async fn start_ok(&self) -> TestServer {
        match self.start().await {
            Ok(srv) => srv,
            Err(e) => panic!("start-up refused: {e}"),
        }
    }

    pub async fn start_err(&self) -> StorageError {
        match self.start().await {
            Ok(_) => panic!("start-up accepted a damaged directory"),
            Err(BindError::Storage(e)) => e,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    pub fn tolerant(&self) -> Stopped {
        Stopped {
            dir: self.dir.clone(),
            config: Config {
                recovery: RecoveryMode::TolerateCorruption,
                ..self.config.clone()
            },
            clock: self.clock.clone(),
        }
    }
}

pub fn base_config() -> Config {
    Config {
        auto_aof_rewrite_percentage: 0,
        ..test_config()
    }
}

/// Starts a server, runs `work` on a connection, stops it gracefully.
pub async fn written<F>(config: Config, work: F) -> Stopped
where
    F: AsyncFnOnce(&mut MultiplexedConnection),
{
    let srv = TestServer::start_with(config, Clock::manual(T0)).await;
    let mut con = srv.client().await;
    work(&mut con).await;
    drop(con);
    let stopped = Stopped {
        dir: srv.dir.clone(),
        config: srv.config.clone(),
        clock: srv.clock.clone(),
    };
    srv.stop().await;
    stopped
}

/// `SET k<i> v<i>` for i in `range`: one record each.
pub async fn set_keys(con: &mut MultiplexedConnection, range: std::ops::Range<usize>) {
    for i in range {
        let _: () = cmd(con, &["SET", &format!("k{i}"), &format!("v{i}")])
            .await
            .unwrap();
    }
}

/// (offset, total length) of every complete record of a segment file.
pub fn records(path: &Path) -> Vec<(u64, u64)> {
    let data = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut off = HEADER as usize;
    while off + RECORD_HEADER as usize <= data.len() {
        let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
        let next = off + RECORD_HEADER as usize + len;
        if next > data.len() {
            break;
        }
        out.push((off as u64, (next - off) as u64));
        off = next;
    }
    assert_eq!(off, data.len(), "{} parses to its end", path.display());
    out
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

pub fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut data = std::fs::read(path).unwrap();
    f(&mut data);
    std::fs::write(path, data).unwrap();
}

#[derive(Debug, Clone, Copy)]
pub enum Damage {
    ZeroedLength,
    HalfRecord,
    FlippedCrc,
    /// The file ends inside the record's 9-byte header.
    CutHeader,
    FlippedPayload,
    /// Bit 0 of the length: the record seems to end a byte early or late.
    FlippedLengthLow,
    /// A high bit of the length: the record seems to run past the end of
    /// the file, as a torn one does.
    FlippedLengthHigh,
}

/// Damages the record at `(off, len)` of `path`. `HalfRecord` and
/// `CutHeader` drop everything after the damage point.
pub fn damage(path: &Path, (off, len): (u64, u64), how: Damage) {
    let off = off as usize;
    edit(path, |data| match how {
        Damage::ZeroedLength => data[off..off + 4].fill(0),
        Damage::HalfRecord => data.truncate(off + len as usize / 2),
        Damage::FlippedCrc => data[off + 5] ^= 0x5a,
        Damage::CutHeader => data.truncate(off + 4),
        Damage::FlippedPayload => data[off + RECORD_HEADER as usize + 3] ^= 0x01,
        Damage::FlippedLengthLow => data[off] ^= 0x01,
        Damage::FlippedLengthHigh => data[off + 2] ^= 0x80,
    });
}

pub fn info_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

pub async fn persistence(srv: &TestServer) -> HashMap<String, String> {
    let mut con = srv.client().await;
    let text: String = cmd(&mut con, &["INFO", "persistence"]).await.unwrap();
    info_fields(&text)
}

/// The keys of database 0, sorted.
pub async fn keys(srv: &TestServer) -> Vec<String> {
    let mut con = srv.client().await;
    let mut keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await.unwrap();
    keys.sort();
    keys
}

pub fn key_names(range: std::ops::Range<usize>) -> Vec<String> {
    let mut out: Vec<String> = range.map(|i| format!("k{i}")).collect();
    out.sort();
    out
}

pub fn assert_corrupt_at(err: &StorageError, file: &Path, offset: u64) {
    match err {
        StorageError::Corrupt {
            file: f, offset: o, ..
        } => {
            assert_eq!(Path::new(f), file, "{err}");
            assert_eq!(*o, offset, "{err}");
        }
        other => panic!(
            "expected corruption in {} at {offset}, got {other:?}",
            file.display()
        ),
    }
}

/// Writes keys, a checkpoint, and more keys after it; returns the
/// checkpoint's path.
pub async fn with_checkpoint() -> (Stopped, PathBuf) {
    let stopped = written(base_config(), async |con| {
        set_keys(con, 0..20).await;
        let _: () = cmd(con, &["SAVE"]).await.unwrap();
        set_keys(con, 20..25).await;
    })
    .await;
    let ckpt = std::fs::read_dir(stopped.journal())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ckpt"))
        .expect("a checkpoint");
    (stopped, ckpt)
}
