//! Per-connection state: selected database, protocol, authentication,
//! transaction and WATCH state, reply mode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::clients::ClientHandle;
use crate::acl::User;
use crate::commands::Lookup;
use crate::keyspace::{Keyspace, WatchFlag};

/// A command queued between MULTI and EXEC: its table entry and words.
#[derive(Debug)]
pub struct Queued {
    /// The command found for the words.
    pub lookup: Lookup,
    /// The whole request, name included.
    pub words: Vec<Bytes>,
}

/// An open MULTI block.
#[derive(Debug, Default)]
pub struct Multi {
    /// Commands to run at EXEC.
    pub queued: Vec<Queued>,
    /// A command failed to queue: EXEC must answer EXECABORT.
    pub aborted: bool,
}

/// Work a command leaves for its connection to do once the keyspace lock
/// is released (it needs the lock itself, a bit at a time, or takes long).
/// A checkpoint here has already been claimed by the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterLock {
    /// Write a checkpoint; `wait` replies only when it is done (SAVE, DEBUG
    /// RELOAD), otherwise it runs in the background; `reload` then rebuilds
    /// the state from disk (DEBUG RELOAD).
    Checkpoint {
        /// Reply only when done.
        wait: bool,
        /// Rebuild the state from disk afterwards.
        reload: bool,
    },
}

/// One connection's state.
#[derive(Debug)]
pub struct Session {
    /// Client id (CLIENT ID).
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Whether the client chose RESP3 with HELLO 3.
    pub resp3: bool,
    /// Whether the client may run commands (true when no password is set).
    pub authenticated: bool,
    /// The user the connection runs as; `None` until its first command,
    /// which picks the default user.
    pub user: Option<Arc<User>>,
    /// The ACL generation `user` was read at (re-read when it changes).
    pub acl_generation: u64,
    /// `user` may run everything: the permission check is skipped.
    pub acl_unrestricted: bool,
    /// The open MULTI block, if any.
    pub multi: Option<Multi>,
    /// Flag raised when a WATCHed key changes.
    pub watch_flag: WatchFlag,
    /// WATCHed keys: (database, key).
    pub watched: Vec<(usize, Bytes)>,
    /// CLIENT REPLY OFF in force.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP: drop the next command's reply.
    pub skip_next: bool,
    /// Drop the reply of the command now running (CLIENT REPLY OFF/SKIP).
    pub suppress_current: bool,
    /// Close the connection once the pending replies are written (QUIT,
    /// CLIENT KILL of itself).
    pub close_after_reply: bool,
    /// SHUTDOWN was called and accepted.
    pub shutdown_requested: bool,
    /// Work to do once the keyspace lock is released.
    pub after_lock: Option<AfterLock>,
    /// A blocking read that found nothing and wants to wait (set by
    /// XREAD/XREADGROUP, registered by the dispatcher under the lock).
    pub block_request: Option<super::blocking::BlockRequest>,
    /// The registered wait: where the reply comes, and for how long.
    pub waiting: Option<(
        tokio::sync::oneshot::Receiver<super::blocking::Served>,
        Option<std::time::Duration>,
    )>,
    /// EXEC is running queued commands (blocking reads must not block).
    pub in_exec: bool,
    /// LSN of the last record this connection's commands appended and has
    /// not yet made durable; 0 when none.
    pub unflushed_lsn: u64,
    /// Whether the peer is on a loopback address (enable-debug-command local).
    pub is_local: bool,
    /// The entry in the client registry, shared with CLIENT LIST/KILL.
    pub handle: Arc<ClientHandle>,
    /// The pub/sub publish sequence number when the current command ran:
    /// messages up to it are written before its reply, later ones after.
    pub pubsub_mark: u64,
}

impl Session {
    /// A fresh session for a registered client.
    pub fn new(handle: Arc<ClientHandle>, needs_auth: bool, is_local: bool) -> Self {
        Session {
            id: handle.id,
            db: 0,
            resp3: false,
            authenticated: !needs_auth,
            user: None,
            acl_generation: 0,
            acl_unrestricted: false,
            multi: None,
            watch_flag: Arc::new(AtomicBool::new(false)),
            watched: Vec::new(),
            reply_off: false,
            skip_next: false,
            suppress_current: false,
            close_after_reply: false,
            shutdown_requested: false,
            block_request: None,
            waiting: None,
            in_exec: false,
            unflushed_lsn: 0,
            after_lock: None,
            is_local,
            handle,
            pubsub_mark: 0,
        }
    }

    /// Runs as `user` from now on (AUTH, HELLO AUTH, RESET).
    pub fn set_user(&mut self, user: Arc<User>, generation: u64) {
        self.acl_unrestricted = user.unrestricted();
        self.handle.names.lock().expect("names lock").user = Some(user.name.clone());
        self.user = Some(user);
        self.acl_generation = generation;
    }

    /// Selects a database (bounds already checked).
    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.handle.set_db(db);
    }

    /// Switches protocol version.
    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
        self.handle.set_resp(if resp3 { 3 } else { 2 });
    }

    /// Starts a MULTI block.
    pub fn begin_multi(&mut self) {
        self.multi = Some(Multi::default());
        self.handle.set_multi(Some(0));
    }

    /// Ends the MULTI block, returning it.
    pub fn end_multi(&mut self) -> Option<Multi> {
        self.handle.set_multi(None);
        self.multi.take()
    }

    /// Drops every WATCH (EXEC, DISCARD, UNWATCH, RESET, disconnect).
    pub fn unwatch_all(&mut self, keyspace: &mut Keyspace) {
        for (db, key) in self.watched.drain(..) {
            if db < keyspace.db_count() {
                keyspace.db(db).0.unwatch(&key, &self.watch_flag);
            }
        }
        self.watch_flag.store(false, Ordering::SeqCst);
    }
}
