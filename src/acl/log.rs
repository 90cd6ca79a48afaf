//! ACL LOG: recent security events (failed AUTH, denied commands, keys and
//! channels). Repeats of the same event within a minute bump one entry's
//! count instead of adding entries.

use std::collections::VecDeque;

use bytes::Bytes;

/// Why an event was logged (ACL LOG's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A failed AUTH or HELLO AUTH.
    Auth,
    /// A command the user may not run.
    Command,
    /// A key the user may not touch.
    Key,
    /// A channel the user may not use.
    Channel,
}

impl Reason {
    /// Redis's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Auth => "auth",
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
        }
    }
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Events grouped in this entry.
    pub count: u64,
    /// Why.
    pub reason: Reason,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    /// The command, key or channel refused (`AUTH` for auth failures).
    pub object: Bytes,
    /// The user that ran the command or tried to authenticate.
    pub username: Bytes,
    /// CLIENT LIST line of the last client involved.
    pub client_info: String,
    /// Sequence number since start-up.
    pub entry_id: u64,
    /// Unix ms of the first event.
    pub created_ms: i64,
    /// Unix ms of the last event.
    pub updated_ms: i64,
}

/// Events within this many ms of an entry's last update join it.
const GROUP_WINDOW_MS: i64 = 60_000;

/// The log, newest entry first.
#[derive(Debug, Default)]
pub struct AclLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// What the caller needs to know about an event just logged.
#[derive(Debug, Clone, Copy)]
pub struct Logged {
    /// How many events the entry now groups.
    pub count: u64,
}

impl AclLog {
    /// Records an event, keeping at most `max_len` entries.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        reason: Reason,
        context: &'static str,
        object: Bytes,
        username: Bytes,
        client_info: String,
        now_ms: i64,
        max_len: usize,
    ) -> Logged {
        let similar = self.entries.iter().position(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now_ms - e.updated_ms < GROUP_WINDOW_MS
        });
        if let Some(i) = similar {
            let mut entry = self.entries.remove(i).expect("found above");
            entry.count += 1;
            entry.updated_ms = now_ms;
            entry.client_info = client_info;
            let count = entry.count;
            self.entries.push_front(entry);
            return Logged { count };
        }
        self.entries.push_front(Entry {
            count: 1,
            reason,
            context,
            object,
            username,
            client_info,
            entry_id: self.next_id,
            created_ms: now_ms,
            updated_ms: now_ms,
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
        Logged { count: 1 }
    }

    /// Up to `n` entries, newest first.
    pub fn recent(&self, n: usize) -> impl Iterator<Item = &Entry> {
        self.entries.iter().take(n)
    }

    /// ACL LOG RESET.
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(log: &mut AclLog, object: &'static [u8], now: i64) -> u64 {
        log.add(
            Reason::Command,
            "toplevel",
            Bytes::from_static(object),
            Bytes::from_static(b"u"),
            String::new(),
            now,
            3,
        )
        .count
    }

    #[test]
    fn repeats_group_within_a_minute() {
        let mut log = AclLog::default();
        assert_eq!(add(&mut log, b"get", 0), 1);
        assert_eq!(add(&mut log, b"get", 59_000), 2);
        assert_eq!(add(&mut log, b"get", 59_000 + GROUP_WINDOW_MS), 1);
        assert_eq!(log.recent(10).count(), 2);
    }

    #[test]
    fn oldest_entries_fall_off() {
        let mut log = AclLog::default();
        for obj in [&b"a"[..], b"b", b"c", b"d"] {
            log.add(
                Reason::Key,
                "toplevel",
                Bytes::copy_from_slice(obj),
                Bytes::new(),
                String::new(),
                0,
                3,
            );
        }
        let objects: Vec<_> = log.recent(10).map(|e| e.object.clone()).collect();
        assert_eq!(objects, vec![&b"d"[..], b"c", b"b"]);
        assert_eq!(log.recent(1).next().unwrap().entry_id, 3);
    }
}
