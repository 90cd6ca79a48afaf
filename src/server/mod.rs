//! The network server: listener, connections, shared state.

mod admission;
pub mod blocking;
mod clients;
mod connection;
pub mod dispatch;
mod idle;
pub mod pubsub;
mod session;
mod stats;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

pub use admission::refused_by_protected_mode;
pub use clients::{ClientHandle, ClientNames, ClientRegistry};
pub use idle::close_idle;
pub use session::{AfterLock, Multi, Queued, Session};
pub use stats::{CommandStat, Stats};

use crate::clock::Clock;
use crate::commands::CommandTable;
use crate::config::Config;
use crate::keyspace::Keyspace;
use crate::storage::io::{Disk, RealDisk};
use crate::storage::{Storage, StorageError};

/// The version Sluice reports as `redis_version`: the Redis release whose
/// behaviour it follows.
pub const REDIS_VERSION: &str = "7.4.0";
/// Sluice's own version.
pub const SLUICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How often the active expiry sweep runs.
const EXPIRE_TICK: Duration = Duration::from_millis(100);
/// Most keys the sweep deletes while holding the lock once.
const EXPIRE_BATCH: usize = 500;

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    /// All data, behind the one lock a command holds while it runs.
    pub keyspace: Mutex<Keyspace>,
    /// Configuration (CONFIG SET changes the mutable part).
    pub config: RwLock<Config>,
    /// The server's clock.
    pub clock: Clock,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Counters.
    pub stats: Stats,
    /// Whether the active expiry sweep runs (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// Start time, Unix ms.
    pub started_ms: i64,
    /// Start time, monotonic (uptime).
    pub started: Instant,
    /// A random 40-hex-digit id of this run (INFO run_id).
    pub run_id: String,
    /// Addresses actually bound for plain TCP (none with `port 0` and a
    /// `tls-port`).
    pub listening: Vec<SocketAddr>,
    /// The TLS listener's addresses and configuration.
    pub tls: tls::Tls,
    /// The commit log and checkpoints.
    pub storage: Storage,
    /// Pub/sub subscriptions and delivery.
    pub pubsub: pubsub::PubSub,
    /// Users and permissions.
    pub acl: crate::acl::Acl,
    next_client_id: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    /// Asks the server to stop (SHUTDOWN, signals).
    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Journals the keyspace changes made since the last call (one batch
    /// record); returns its LSN, or 0 when nothing changed. Called with the
    /// keyspace lock held, so log order is execution order.
    /// The keyspace events the journaled changes raised are published
    /// then; a failed write's events are dropped with its changes.
    pub fn journal_changes(&self, keyspace: &mut Keyspace) -> Result<u64, StorageError> {
        let lsn = self.storage.journal_changes(keyspace);
        let events = keyspace.take_events();
        if lsn.is_ok() && !events.is_empty() {
            self.publish_events(keyspace.notify_flags(), &events);
        }
        lsn
    }

    /// Publishes keyspace events (still under the keyspace lock, so they
    /// are ordered with every other publish).
    fn publish_events(&self, flags: u16, events: &[crate::keyspace::notify::Event]) {
        let limit = self
            .config
            .read()
            .expect("config lock")
            .client_output_buffer_limit
            .pubsub;
        let now = self.clock.now_ms();
        for event in events {
            for (channel, message) in crate::keyspace::notify::publications(flags, event) {
                self.pubsub.publish(&channel, &message, false, limit, now);
            }
        }
    }

    /// After a failed journal write: rolls the keyspace back to what the log
    /// holds, before anything else reads it. The failed write's records
    /// were applied in memory but never acknowledged, and the journal cut
    /// them off the file; reloading from disk (as DEBUG LOADAOF does)
    /// leaves memory exactly as the log. If the reload fails, memory can't
    /// be trusted to match the log, so the journal refuses writes for good.
    pub fn rollback_if_needed(&self, keyspace: &mut Keyspace) {
        let journal = &self.storage.journal;
        if !journal.take_rollback() {
            return;
        }
        keyspace.take_changes();
        match self
            .storage
            .reload(keyspace.db_count(), self.clock.now_ms())
        {
            Ok(fresh) => {
                keyspace.replace_contents(fresh);
                journal.stats.rollbacks.fetch_add(1, Ordering::Relaxed);
                warn!("journal write failed: the keyspace was rolled back to the log");
            }
            Err(e) => {
                journal.fail_with(
                    crate::storage::journal::FailureKind::Sync,
                    format!("rolling back to the log after a failed write: {e}"),
                );
            }
        }
    }

    /// Rebuilds the whole state from disk under the keyspace lock: the log
    /// is made durable first, so nothing is lost (DEBUG LOADAOF/RELOAD).
    pub fn reload_from_disk(&self, keyspace: &mut Keyspace) -> Result<(), StorageError> {
        if self.storage.checkpoints.in_progress.load(Ordering::SeqCst) {
            return Err(StorageError::Failed(
                "a checkpoint is being written; try again when it is done".into(),
            ));
        }
        self.journal_changes(keyspace)?;
        self.storage.journal.sync_now()?;
        let fresh = self
            .storage
            .reload(keyspace.db_count(), self.clock.now_ms())?;
        keyspace.replace_contents(fresh);
        Ok(())
    }

    /// Writes the checkpoint a command claimed, on a blocking thread; with
    /// `reload`, then rebuilds the state from disk. The reply for
    /// SAVE/DEBUG RELOAD.
    pub async fn run_claimed_checkpoint(self: &Arc<Self>, reload: bool) -> Result<(), String> {
        let shared = self.clone();
        let written = tokio::task::spawn_blocking(move || {
            let clock = shared.clock.clone();
            shared
                .storage
                .run_claimed_checkpoint(&shared.keyspace, move || clock.now_ms())
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Err(e) = written {
            return Err(format!("ERR checkpoint failed: {e}"));
        }
        if reload {
            let mut keyspace = self.keyspace.lock().expect("keyspace lock");
            self.reload_from_disk(&mut keyspace)
                .map_err(|e| format!("ERR reload failed: {e}"))?;
        }
        Ok(())
    }

    /// The port bound on the first address.
    pub fn port(&self) -> u16 {
        self.listening.first().map_or(0, |a| a.port())
    }

    /// The TLS port bound on the first address, if TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.listening.first().copied()
    }
}

/// A running server.
pub struct Server {
    shared: Arc<Shared>,
    /// Each listener, and whether it is the TLS one.
    listeners: Vec<(TcpListener, bool)>,
    shutdown_rx: watch::Receiver<bool>,
}

impl Server {
    /// Binds the configured addresses. With port 0 the OS picks a free port;
    /// [`Server::local_addr`] tells which. With a `tls-port`, binds it too
    /// and loads the certificates (a bad file fails here); `port 0` then
    /// means no plain listener, as in Redis.
    pub async fn bind(config: Config, clock: Clock) -> Result<Server, BindError> {
        Self::bind_with_disk(config, clock, Arc::new(RealDisk)).await
    }

    /// Like [`Server::bind`], with the disk access to use (tests pass a
    /// faulty one).
    pub async fn bind_with_disk(
        config: Config,
        clock: Clock,
        disk: Arc<dyn Disk>,
    ) -> Result<Server, BindError> {
        let acl = crate::acl::Acl::from_config(&config)?;
        let mut keyspace = Keyspace::new(config.databases);
        let storage = Storage::open(&config, disk, &mut keyspace, clock.now_ms())?;
        keyspace.set_notify_flags(config.notify_keyspace_events);
        let tls_config = if config.tls.enabled() {
            Some(tls::server_config(&config.tls)?)
        } else {
            None
        };
        let plain = config.port != 0 || config.tls.port == 0;
        let mut listeners = Vec::new();
        for addr in &config.bind {
            if plain {
                listeners.push((
                    TcpListener::bind((addr.as_str(), config.port)).await?,
                    false,
                ));
            }
            if tls_config.is_some() {
                let port = config.tls.port;
                listeners.push((TcpListener::bind((addr.as_str(), port)).await?, true));
            }
        }
        let (mut listening, mut tls_listening) = (Vec::new(), Vec::new());
        for (listener, is_tls) in &listeners {
            let addr = listener.local_addr()?;
            if *is_tls {
                tls_listening.push(addr);
            } else {
                listening.push(addr);
            }
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let now = clock.now_ms();
        let shared = Arc::new(Shared {
            keyspace: Mutex::new(keyspace),
            config: RwLock::new(config),
            clock,
            clients: ClientRegistry::default(),
            stats: Stats::new(CommandTable::global().len()),
            active_expire: AtomicBool::new(true),
            started_ms: now,
            started: Instant::now(),
            run_id: random_run_id(),
            listening,
            tls: tls::Tls::new(tls_listening, tls_config),
            storage,
            pubsub: pubsub::PubSub::default(),
            acl,
            next_client_id: AtomicU64::new(1),
            shutdown,
        });
        Ok(Server {
            shared,
            listeners,
            shutdown_rx,
        })
    }

    /// The first bound address (the TLS one if there is no plain one).
    pub fn local_addr(&self) -> SocketAddr {
        let shared = &self.shared;
        shared
            .listening
            .first()
            .copied()
            .unwrap_or_else(|| shared.tls.listening[0])
    }

    /// The shared state (tests use it to reach the clock or stop the server).
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Serves clients until SHUTDOWN or [`Shared::request_shutdown`].
    /// Fails if the final fsync did not make every acknowledged write
    /// durable (the process should then exit non-zero).
    pub async fn run(self) -> Result<(), StorageError> {
        let Server {
            shared,
            listeners,
            mut shutdown_rx,
        } = self;
        for addr in &shared.listening {
            info!("Ready to accept connections tcp on {addr}");
        }
        for addr in &shared.tls.listening {
            info!("Ready to accept connections tls on {addr}");
        }
        let sweeper = tokio::spawn(expire_sweep(shared.clone(), shutdown_rx.clone()));
        let checkpointer = tokio::spawn(auto_checkpoint(shared.clone()));
        let idle_sweeper = tokio::spawn(idle::sweep(shared.clone(), shutdown_rx.clone()));
        let mut acceptors = Vec::new();
        for (listener, is_tls) in listeners {
            acceptors.push(tokio::spawn(accept_loop(
                shared.clone(),
                listener,
                is_tls,
                shutdown_rx.clone(),
            )));
        }
        while !*shutdown_rx.borrow_and_update() {
            if shutdown_rx.changed().await.is_err() {
                break;
            }
        }
        info!("shutting down");
        for task in acceptors {
            task.abort();
        }
        sweeper.abort();
        checkpointer.abort();
        idle_sweeper.abort();
        for client in shared.clients.snapshot() {
            client.kill();
        }
        // Everything acknowledged is already written; make it durable too.
        let _keyspace = shared.keyspace.lock().expect("keyspace lock");
        shared.storage.close().inspect_err(|e| {
            error!("final journal fsync failed: {e}; acknowledged writes may not be durable");
        })
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    is_tls: bool,
    shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait, don't spin.
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        shared
            .stats
            .total_connections_received
            .fetch_add(1, Ordering::Relaxed);
        let keepalive = shared.config.read().expect("config lock").tcp_keepalive;
        if let Err(e) = admission::set_keepalive(&stream, keepalive) {
            warn!("can't set TCP keepalive for {peer}: {e}");
        }
        let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
        if !is_tls {
            tokio::spawn(connection::serve(
                shared.clone(),
                stream,
                peer,
                id,
                shutdown.clone(),
            ));
            continue;
        }
        let (shared, shutdown) = (shared.clone(), shutdown.clone());
        // The handshake runs in the connection's own task, so a slow or
        // silent client holds up no one else.
        tokio::spawn(async move {
            match shared.tls.accept(stream).await {
                Ok(stream) => connection::serve(shared, stream, peer, id, shutdown).await,
                Err(e) => debug!("TLS handshake with {peer} failed: {e}"),
            }
        });
    }
}

/// Deletes keys whose TTL passed, a bounded batch at a time so the lock is
/// never held for long.
async fn expire_sweep(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EXPIRE_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if !shared.active_expire.load(Ordering::Relaxed) {
            continue;
        }
        loop {
            let removed = {
                let mut keyspace = shared.keyspace.lock().expect("keyspace lock");
                // An idle server rolls back here after a failed write.
                shared.rollback_if_needed(&mut keyspace);
                let removed = keyspace.expire_due(shared.clock.now_ms(), EXPIRE_BATCH);
                // Deletions by expiry are journaled like any delete; a failed
                // journal only means they replay as expired keys instead.
                if let Ok(lsn) = shared.journal_changes(&mut keyspace) {
                    drop(keyspace);
                    let _ = shared.storage.journal.flush(lsn);
                }
                removed
            };
            if removed < EXPIRE_BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Writes a checkpoint when the log has grown past
/// `auto-aof-rewrite-percentage` of the last one and past
/// `auto-aof-rewrite-min-size`, as Redis's automatic AOF rewrite does.
async fn auto_checkpoint(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let (pct, min) = {
            let config = shared.config.read().expect("config lock");
            (
                config.auto_aof_rewrite_percentage,
                config.auto_aof_rewrite_min_size,
            )
        };
        if pct == 0 || shared.storage.journal.failure().is_some() {
            continue;
        }
        // Growth of the log since the last checkpoint, against the size of
        // that checkpoint (the live data), as Redis compares AOF growth
        // with the size of the last rewrite.
        let c = &shared.storage.checkpoints;
        let size = shared.storage.journal.size();
        let growth = size.saturating_sub(c.log_base_size.load(Ordering::Relaxed).max(0) as u64);
        let live = c.last_size.load(Ordering::Relaxed).max(0) as u64;
        if growth < min || growth < live * pct / 100 {
            continue;
        }
        let worker = shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let clock = worker.clock.clone();
            worker
                .storage
                .checkpoint(&worker.keyspace, move || clock.now_ms())
        })
        .await;
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Listening failed.
    #[error("can't listen: {0}")]
    Listen(#[from] std::io::Error),
    /// The ACL file or `user` lines were refused.
    #[error("can't load the ACL users: {0}")]
    Acl(#[from] crate::acl::file::AclFileError),
    /// The data directory could not be recovered.
    #[error("can't load the data directory: {0}")]
    Storage(#[from] StorageError),
    /// The TLS certificates or settings could not be loaded.
    #[error("can't configure TLS: {0}")]
    Tls(#[from] tls::TlsError),
}

fn random_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(40);
    while out.len() < 40 {
        let mut h = ahash::RandomState::new().build_hasher();
        h.write_u128(Instant::now().elapsed().as_nanos());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(40);
    out
}
