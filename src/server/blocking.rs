//! Blocked clients: XREAD and XREADGROUP with BLOCK wait here for data.
//!
//! A read that finds nothing and may block leaves a [`BlockRequest`] in the
//! session; the dispatcher registers it in the [`Registry`] (which lives in
//! the keyspace, under its lock) before the lock is let go, so no write can
//! slip in between the read and the registration. Every change to a key
//! marks the key ready when someone waits on it (`Db::touch`). After each
//! command, still under the lock, [`serve_ready`] retries the waiters of
//! ready keys in the order they blocked; a waiter that gets a reply (or an
//! error, like a destroyed group) is removed from every key it waited on
//! and its reply goes to its connection once the command's journal record
//! is written. The connection itself only sleeps: on its reply, its
//! timeout (it then removes itself, unless it was served meanwhile), a
//! disconnect or a kill. Waiting never holds the keyspace lock.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use ahash::AHashMap;
use bytes::Bytes;
use tokio::sync::oneshot;

use super::Shared;
use crate::error::CommandError;
use crate::keyspace::Keyspace;
use crate::protocol::Reply;

/// A read that can wait for data.
pub trait BlockingRead: Send {
    /// Tries to serve the read now: `Ok(None)` when there is still nothing
    /// for it. An error ends the wait with that error.
    fn try_serve(
        &mut self,
        keyspace: &mut Keyspace,
        db: usize,
        shared: &Shared,
        now: i64,
    ) -> Result<Option<Reply>, CommandError>;

    /// The keys it waits on.
    fn keys(&self) -> &[Bytes];

    /// Whether deleting a key it waits on wakes it (XREADGROUP: yes; INFO
    /// counts such keys in `total_blocking_keys_on_nokey`).
    fn wakes_on_delete(&self) -> bool {
        false
    }
}

/// What a command that wants to block leaves in the session.
pub struct BlockRequest {
    /// The read to retry.
    pub read: Box<dyn BlockingRead>,
    /// How long to wait; `None` waits for ever (BLOCK 0).
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for BlockRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockRequest")
            .field("keys", &self.read.keys())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A reply for a blocked client, with the LSN its connection must make
/// durable before sending it (0: nothing to wait for).
pub type Served = (Reply, u64);

struct Waiter {
    db: usize,
    read: Box<dyn BlockingRead>,
    tx: oneshot::Sender<Served>,
}

/// Every blocked client, by client id, and the keys they wait on.
#[derive(Default)]
pub struct Registry {
    waiters: BTreeMap<u64, Waiter>,
    /// (db, key) → client ids, in the order they blocked.
    by_key: AHashMap<(usize, Bytes), VecDeque<u64>>,
    /// Replies decided under the lock, sent once the journal has the
    /// command's record.
    outbox: Vec<(oneshot::Sender<Served>, Reply)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

impl Registry {
    /// Number of blocked clients.
    pub fn blocked_clients(&self) -> usize {
        self.waiters.len()
    }

    /// Number of keys someone waits on, and of those where a waiter wants
    /// to hear about the key's deletion.
    pub fn blocking_keys(&self) -> (usize, usize) {
        let on_delete = self
            .by_key
            .values()
            .filter(|ids| {
                ids.iter().any(|id| {
                    self.waiters
                        .get(id)
                        .is_some_and(|w| w.read.wakes_on_delete())
                })
            })
            .count();
        (self.by_key.len(), on_delete)
    }

    /// Whether `client` is blocked.
    pub fn is_blocked(&self, client: u64) -> bool {
        self.waiters.contains_key(&client)
    }

    /// The replies decided since the last call.
    pub fn take_outbox(&mut self) -> Vec<(oneshot::Sender<Served>, Reply)> {
        std::mem::take(&mut self.outbox)
    }
}

/// Registers a blocking read for `client` on database `db`; the receiver
/// gets its reply.
pub fn register(
    keyspace: &mut Keyspace,
    client: u64,
    db: usize,
    read: Box<dyn BlockingRead>,
) -> oneshot::Receiver<Served> {
    let (tx, rx) = oneshot::channel();
    for key in read.keys() {
        keyspace.db(db).0.set_waited(key.clone(), true);
        let queue = keyspace
            .blocking
            .by_key
            .entry((db, key.clone()))
            .or_default();
        if !queue.contains(&client) {
            queue.push_back(client);
        }
    }
    keyspace
        .blocking
        .waiters
        .insert(client, Waiter { db, read, tx });
    rx
}

fn take(keyspace: &mut Keyspace, client: u64) -> Option<Waiter> {
    let w = keyspace.blocking.waiters.remove(&client)?;
    for key in w.read.keys() {
        let k = (w.db, key.clone());
        if let Some(queue) = keyspace.blocking.by_key.get_mut(&k) {
            queue.retain(|&c| c != client);
            if queue.is_empty() {
                keyspace.blocking.by_key.remove(&k);
                keyspace.db(w.db).0.set_waited(key.clone(), false);
            }
        }
    }
    Some(w)
}

/// Removes a client's wait (timeout, disconnect); true if it was still
/// waiting (not served meanwhile).
pub fn cancel(keyspace: &mut Keyspace, client: u64) -> bool {
    take(keyspace, client).is_some()
}

/// Ends a client's wait with `reply` (CLIENT UNBLOCK); false if it was not
/// blocked.
pub fn unblock(keyspace: &mut Keyspace, client: u64, reply: Reply) -> bool {
    match take(keyspace, client) {
        Some(w) => {
            keyspace.blocking.outbox.push((w.tx, reply));
            true
        }
        None => false,
    }
}

/// Retries the waiters of every key marked ready, in blocking order, until
/// no key is ready. Runs under the keyspace lock after each command.
pub fn serve_ready(keyspace: &mut Keyspace, shared: &Shared, now: i64) {
    // Serving one waiter can make a key ready again (XREADGROUP changes
    // its group); every round removes a served waiter, so this ends, and
    // the bound keeps a bug from spinning.
    for _ in 0..64 {
        let ready = keyspace.take_ready();
        if ready.is_empty() {
            return;
        }
        for (db, key) in ready {
            let ids: Vec<u64> = match keyspace.blocking.by_key.get(&(db, key.clone())) {
                Some(queue) => queue.iter().copied().collect(),
                None => continue,
            };
            for id in ids {
                let Some(mut w) = keyspace.blocking.waiters.remove(&id) else {
                    continue;
                };
                let outcome = w.read.try_serve(keyspace, w.db, shared, now);
                keyspace.end_command();
                keyspace.blocking.waiters.insert(id, w);
                let reply = match outcome {
                    Ok(None) => continue,
                    Ok(Some(reply)) => reply,
                    Err(e) => {
                        shared.stats.count_error(e.code());
                        Reply::Error(e)
                    }
                };
                if let Some(w) = take(keyspace, id) {
                    keyspace.blocking.outbox.push((w.tx, reply));
                }
            }
        }
    }
}

/// Sends the replies decided under the lock; `lsn` is the journal record
/// they depend on.
pub fn deliver(outbox: Vec<(oneshot::Sender<Served>, Reply)>, lsn: u64) {
    for (tx, reply) in outbox {
        let _ = tx.send((reply, lsn));
    }
}
