//! Time as the server sees it.
//!
//! Everything time-dependent (TTLs, idle times, the active expiry sweep)
//! reads the time through a [`Clock`], so tests can move time forward
//! instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in milliseconds since the Unix epoch, or a manual clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still at `start_ms` until moved with
    /// [`Clock::advance`] or [`Clock::set`].
    pub fn manual(start_ms: i64) -> Self {
        Clock {
            manual: Some(Arc::new(AtomicI64::new(start_ms))),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => system_ms(),
        }
    }

    /// Microseconds since the Unix epoch (TIME). A manual clock has
    /// millisecond resolution.
    pub fn now_us(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst) * 1000,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
        }
    }

    /// Moves a manual clock forward. Panics on the system clock: a test
    /// that thinks it controls time but does not must fail loudly.
    pub fn advance(&self, ms: i64) {
        self.manual
            .as_ref()
            .expect("advance() needs a manual clock")
            .fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets a manual clock. Panics on the system clock.
    pub fn set(&self, ms: i64) {
        self.manual
            .as_ref()
            .expect("set() needs a manual clock")
            .store(ms, Ordering::SeqCst);
    }
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
