//! Closing idle clients (`timeout`), as Redis's client cron does.
//!
//! A client's activity is its last complete command (and the last reply
//! written to it): a client that stalls half-way through a request is as
//! idle as one that sends nothing. Idle time is read from the server's
//! [`Clock`](crate::clock::Clock), so tests move a manual clock instead of
//! waiting. Exempt, as in Redis: subscribers (they wait for messages by
//! design) and clients blocked in a command (their wait has its own
//! timeout). Sluice has no MONITOR and no replicas, Redis's other exempt
//! clients.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

use super::Shared;

/// How often idle clients are looked for; Redis looks at every client
/// about once a second, so a client may outlive `timeout` by that much.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// Runs [`close_idle`] every tick until the server stops.
pub(super) async fn sweep(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(IDLE_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        shared.scripting.wait_idle().await;
        close_idle(&shared);
    }
}

/// Kills every client idle for longer than `timeout` seconds, except
/// subscribers and blocked clients; returns how many. Every client is
/// judged against the same reading of the clock.
pub fn close_idle(shared: &Shared) -> usize {
    let timeout = shared.config.read().expect("config lock").timeout;
    if timeout == 0 {
        return 0;
    }
    let now = shared.clock.now_ms();
    let limit_ms = i64::try_from(timeout.saturating_mul(1000)).unwrap_or(i64::MAX);
    let idle: Vec<_> = shared
        .clients
        .snapshot()
        .into_iter()
        .filter(|c| {
            !c.pubsub.is_subscribed() && now.saturating_sub(c.last_interaction_ms()) > limit_ms
        })
        .collect();
    if idle.is_empty() {
        return 0;
    }
    let keyspace = shared.keyspace.lock().expect("keyspace lock");
    let mut closed = 0;
    for client in idle {
        // Checked again under the lock: a command may have started since.
        let idle = now.saturating_sub(client.last_interaction_ms()) > limit_ms;
        if !idle || keyspace.blocking.is_blocked(client.id) {
            continue;
        }
        debug!("Closing idle client id={} addr={}", client.id, client.addr);
        client.kill();
        closed += 1;
    }
    closed
}
