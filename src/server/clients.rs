//! The registry of connected clients, for CLIENT LIST, CLIENT INFO, CLIENT
//! KILL and INFO clients. Each connection updates its own handle with
//! atomics; readers take a snapshot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

/// Names set by CLIENT SETNAME / SETINFO.
#[derive(Debug, Default, Clone)]
pub struct ClientNames {
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Bytes>,
    /// The ACL user the connection runs as (`default` when `None`).
    pub user: Option<Bytes>,
}

/// One connected client, as other connections see it.
#[derive(Debug)]
pub struct ClientHandle {
    /// Client id.
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Local address.
    pub laddr: SocketAddr,
    /// The socket's file descriptor (CLIENT LIST `fd`).
    pub fd: i32,
    /// Connection time, Unix ms.
    pub created_ms: i64,
    last_interaction_ms: AtomicI64,
    db: AtomicUsize,
    resp: AtomicU8,
    /// Commands queued in MULTI, or -1 outside MULTI.
    multi: AtomicI64,
    /// Table id + 1 of the last command, 0 before the first.
    last_cmd: AtomicUsize,
    /// Names set by the client.
    pub names: Mutex<ClientNames>,
    killed: AtomicBool,
    /// Woken when the client is killed.
    pub kill_signal: Notify,
    /// Its pub/sub subscription counts and delivery queue.
    pub pubsub: super::pubsub::Mailbox,
}

impl ClientHandle {
    /// A handle for a new connection.
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i32, now: i64) -> Self {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now,
            last_interaction_ms: AtomicI64::new(now),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            multi: AtomicI64::new(-1),
            last_cmd: AtomicUsize::new(0),
            names: Mutex::new(ClientNames::default()),
            killed: AtomicBool::new(false),
            kill_signal: Notify::new(),
            pubsub: Default::default(),
        }
    }

    /// Records a command being run.
    pub fn touch(&self, now: i64, command_id: usize) {
        self.last_interaction_ms.store(now, Ordering::Relaxed);
        self.last_cmd.store(command_id + 1, Ordering::Relaxed);
    }

    /// Records activity other than a command: a reply written, a blocked
    /// command served (see `timeout`).
    pub fn mark_active(&self, now: i64) {
        self.last_interaction_ms.store(now, Ordering::Relaxed);
    }

    /// Last interaction time, Unix ms.
    pub fn last_interaction_ms(&self) -> i64 {
        self.last_interaction_ms.load(Ordering::Relaxed)
    }

    /// Table id of the last command run.
    pub fn last_cmd(&self) -> Option<usize> {
        self.last_cmd.load(Ordering::Relaxed).checked_sub(1)
    }

    /// Selected database.
    pub fn db(&self) -> usize {
        self.db.load(Ordering::Relaxed)
    }

    pub(crate) fn set_db(&self, db: usize) {
        self.db.store(db, Ordering::Relaxed);
    }

    /// Protocol version (2 or 3).
    pub fn resp(&self) -> u8 {
        self.resp.load(Ordering::Relaxed)
    }

    pub(crate) fn set_resp(&self, resp: u8) {
        self.resp.store(resp, Ordering::Relaxed);
    }

    /// Commands queued in MULTI, or None outside MULTI.
    pub fn multi(&self) -> Option<usize> {
        let n = self.multi.load(Ordering::Relaxed);
        (n >= 0).then_some(n as usize)
    }

    pub(crate) fn set_multi(&self, queued: Option<usize>) {
        self.multi
            .store(queued.map_or(-1, |n| n as i64), Ordering::Relaxed);
    }

    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_signal.notify_one();
    }

    /// Whether the client was killed.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// All connected clients, by id.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl ClientRegistry {
    /// Adds a client unless `max` are already connected.
    pub fn register(&self, handle: Arc<ClientHandle>, max: usize) -> bool {
        let mut clients = self.clients.lock().expect("client registry lock");
        if clients.len() >= max {
            return false;
        }
        clients.insert(handle.id, handle);
        true
    }

    /// Removes a client.
    pub fn unregister(&self, id: u64) {
        self.clients
            .lock()
            .expect("client registry lock")
            .remove(&id);
    }

    /// Every client, in id order.
    pub fn snapshot(&self) -> Vec<Arc<ClientHandle>> {
        self.clients
            .lock()
            .expect("client registry lock")
            .values()
            .cloned()
            .collect()
    }

    /// Number of connected clients.
    pub fn len(&self) -> usize {
        self.clients.lock().expect("client registry lock").len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
