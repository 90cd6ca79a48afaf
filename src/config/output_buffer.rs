//! `client-output-buffer-limit`: its classes, parsing and rendering.

use super::parse_memory;

/// One class of `client-output-buffer-limit`; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferLimit {
    /// Disconnect at once at this many pending output bytes.
    pub hard: u64,
    /// Disconnect when at least this many bytes stay pending …
    pub soft: u64,
    /// … for longer than this many seconds.
    pub soft_seconds: u64,
}

/// `client-output-buffer-limit`: one limit per client class. Only the
/// `pubsub` class is enforced (Sluice queues output only for pub/sub
/// messages); the others are kept so CONFIG GET/SET round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimits {
    /// Ordinary clients.
    pub normal: BufferLimit,
    /// Replicas (and MONITOR clients in Redis).
    pub replica: BufferLimit,
    /// Clients subscribed to a channel, pattern or shard channel.
    pub pubsub: BufferLimit,
}

impl Default for OutputBufferLimits {
    fn default() -> Self {
        let limit = |hard, soft, soft_seconds| BufferLimit {
            hard,
            soft,
            soft_seconds,
        };
        OutputBufferLimits {
            normal: limit(0, 0, 0),
            replica: limit(256 << 20, 64 << 20, 60),
            pubsub: limit(32 << 20, 8 << 20, 60),
        }
    }
}

impl OutputBufferLimits {
    /// Applies `class hard soft seconds` groups (memory units allowed);
    /// classes not named keep their limits. All or nothing.
    pub(super) fn apply(&mut self, value: &str) -> Result<(), &'static str> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.");
        }
        let mut updated = *self;
        for group in words.chunks(4) {
            let slot = match group[0].to_ascii_lowercase().as_str() {
                "normal" => &mut updated.normal,
                "slave" | "replica" => &mut updated.replica,
                "pubsub" => &mut updated.pubsub,
                _ => return Err("Invalid client class specified in buffer limit configuration."),
            };
            let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            let hard = parse_memory(group[1]).ok_or(bad)?;
            let soft = parse_memory(group[2]).ok_or(bad)?;
            let soft_seconds = group[3].parse::<u64>().map_err(|_| bad)?;
            *slot = BufferLimit {
                hard,
                soft,
                soft_seconds,
            };
        }
        *self = updated;
        Ok(())
    }

    pub(super) fn render(&self) -> String {
        let l = |b: &BufferLimit| format!("{} {} {}", b.hard, b.soft, b.soft_seconds);
        format!(
            "normal {} slave {} pubsub {}",
            l(&self.normal),
            l(&self.replica),
            l(&self.pubsub)
        )
    }
}
