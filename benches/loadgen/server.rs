//! Starting and stopping the two servers under test, each in a temp
//! directory of its own on a free port, with matching persistence: an
//! append-only log with the same fsync policy and no snapshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::resp::{Conn, Reply};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sluice,
    Redis,
}

impl Kind {
    /// Both, in the order every round runs them.
    pub const BOTH: [Kind; 2] = [Kind::Sluice, Kind::Redis];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sluice => "sluice",
            Kind::Redis => "redis",
        }
    }
}

/// What the servers are started from.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub sluice: PathBuf,
    pub redis: PathBuf,
    /// Parent of the temp data directories.
    pub tmp: PathBuf,
}

/// A running server. Dropping it kills the process and removes its data.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    fsync: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    bins: Binaries,
}

impl Server {
    /// Starts `kind` with `appendfsync` = `fsync` in a fresh temp directory
    /// and waits until it answers PING.
    pub async fn start(kind: Kind, fsync: &str, bins: &Binaries) -> Result<Server, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("loadgen-{}-", kind.name()))
            .tempdir_in(&bins.tmp)
            .map_err(|e| format!("temp dir in {}: {e}", bins.tmp.display()))?;
        let mut server = Server {
            kind,
            port: 0,
            fsync: fsync.to_string(),
            dir,
            child: None,
            bins: bins.clone(),
        };
        // The free port is found by binding and releasing it, so another
        // process can take it before the server binds: try a few ports.
        let mut attempts = 0;
        loop {
            match server.spawn_and_wait(Duration::from_secs(30)).await {
                Ok(_) => return Ok(server),
                Err(e) if attempts >= 2 => return Err(e),
                Err(_) => {
                    attempts += 1;
                    if let Some(mut child) = server.child.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                }
            }
        }
    }

    /// Starts the process again on the same data (after [`Server::shutdown`])
    /// and returns the time from spawn until the first PONG.
    pub async fn restart(&mut self, limit: Duration) -> Result<Duration, String> {
        self.spawn_and_wait(limit).await
    }

    async fn spawn_and_wait(&mut self, limit: Duration) -> Result<Duration, String> {
        assert!(self.child.is_none(), "server already running");
        self.port = free_port()?;
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        let port = self.port.to_string();
        let mut cmd = match self.kind {
            Kind::Sluice => {
                let mut c = Command::new(&self.bins.sluice);
                c.args(["--port", &port, "--bind", "127.0.0.1", "--appendfsync"])
                    .arg(&self.fsync)
                    .arg("--dir")
                    .arg(&data)
                    .args(["--loglevel", "warning"]);
                c
            }
            Kind::Redis => {
                let mut c = Command::new(&self.bins.redis);
                c.args(["--port", &port, "--bind", "127.0.0.1", "--appendfsync"])
                    .arg(&self.fsync)
                    .arg("--dir")
                    .arg(&data)
                    .args(["--appendonly", "yes", "--save", ""])
                    .args(["--daemonize", "no", "--protected-mode", "no"])
                    .args(["--logfile", ""]);
                c
            }
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("log file: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("log file: {e}"))?;
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("can't start {:?}: {e}", cmd.get_program()))?;
        self.child = Some(child);
        self.wait_ready(started, limit).await
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Polls PING until it gets PONG (Redis answers -LOADING while it
    /// replays its AOF). Returns the time since `started`.
    async fn wait_ready(&mut self, started: Instant, limit: Duration) -> Result<Duration, String> {
        loop {
            if let Ok(mut conn) = Conn::connect(self.port).await {
                loop {
                    match conn.call_within(Duration::from_secs(5), &[b"PING"]).await {
                        Ok(Reply::Status(s)) if s == "PONG" => return Ok(started.elapsed()),
                        Ok(_) | Err(crate::resp::ClientError::Server(_)) => {}
                        Err(_) => break,
                    }
                    self.check_alive(started, limit)?;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            self.check_alive(started, limit)?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn check_alive(&mut self, started: Instant, limit: Duration) -> Result<(), String> {
        let child = self.child.as_mut().expect("running");
        if let Ok(Some(status)) = child.try_wait() {
            self.child = None;
            return Err(format!(
                "{} exited ({status}) before answering PING; log:\n{}",
                self.kind.name(),
                self.log_tail()
            ));
        }
        if started.elapsed() > limit {
            return Err(format!(
                "{} did not answer PING within {limit:?}; log:\n{}",
                self.kind.name(),
                self.log_tail()
            ));
        }
        Ok(())
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// The process id (for /proc reads).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Stops the server with SHUTDOWN (both fsync their log on the way
    /// out), waits for the process to exit, and keeps the data.
    pub async fn shutdown(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(mut conn) = Conn::connect(self.port).await {
            // The connection closes instead of replying when it works.
            let _ = conn
                .call_within(Duration::from_secs(60), &[b"SHUTDOWN"])
                .await;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{} ignored SHUTDOWN; killed", self.kind.name()));
                }
            }
        }
    }

    /// Bytes in the data directory (log, AOF, checkpoints).
    pub fn disk_bytes(&self) -> u64 {
        dir_size(self.dir.path().join("data").as_path())
    }

    /// The files of the data directory with their sizes, largest first
    /// (what a restart has to read: Redis's AOF base and increments,
    /// Sluice's segments and checkpoints).
    pub fn disk_files(&self) -> String {
        let mut files = Vec::new();
        list_files(&self.dir.path().join("data"), "", &mut files);
        files.sort_by_key(|f| std::cmp::Reverse(f.1));
        let shown: Vec<String> = files
            .iter()
            .take(6)
            .map(|(name, len)| format!("{name} {:.1} MiB", *len as f64 / (1024.0 * 1024.0)))
            .collect();
        let more = files.len().saturating_sub(shown.len());
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nobody listens on right now (the OS picks it).
fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<(String, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        match e.metadata() {
            Ok(m) if m.is_dir() => list_files(&e.path(), &format!("{name}/"), out),
            Ok(m) => out.push((name, m.len())),
            Err(_) => {}
        }
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Memory figures of a process from /proc/<pid>/status, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    /// VmRSS: everything resident.
    pub total: u64,
    /// RssAnon: heap and stacks.
    pub anon: u64,
    /// RssFile: resident pages of mapped files (Sluice's mmap'd log).
    pub file: u64,
}

/// Reads the resident set of `pid`.
pub fn rss(pid: u32) -> Result<Rss, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    Ok(Rss {
        total: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    })
}
