//! How much memory the process holds, for INFO memory, and giving freed
//! memory back to the operating system.
//!
//! - [`allocated`] is the number of bytes live on the heap (INFO
//!   `used_memory`, what Redis reports as the bytes its allocator has
//!   handed out), as glibc's `mallinfo2` counts them: bytes in use in its
//!   arenas plus those in blocks it mmap'd for large allocations. It costs
//!   nothing per allocation; only INFO asks, and the call walks the arenas.
//!   (A counting global allocator was tried first: one shared atomic per
//!   allocation cost the request decoder a quarter to a third of its speed,
//!   and a per-thread count still about 6 ns per allocation.) [`peak`] is
//!   the largest figure any call has seen.
//! - [`rss`] is the resident set size as the kernel counts it
//!   (`used_memory_rss`), from `/proc/self/statm`.
//! - [`released`] is told whenever a large buffer is dropped. glibc keeps
//!   freed chunks below its mmap threshold (which it raises up to 32 MB as
//!   large blocks come and go) in its arenas, so memory given back to the
//!   allocator is not always given back to the kernel; once enough has been
//!   released, `malloc_trim(0)` returns the free pages of every arena.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The highest figure [`allocated`] has returned.
static PEAK: AtomicU64 = AtomicU64::new(0);
/// Bytes of large buffers released since the last trim.
static UNTRIMMED: AtomicUsize = AtomicUsize::new(0);

/// Released bytes that make [`released`] trim the allocator's arenas: large
/// enough that a steady trickle of medium buffers does not trim on every
/// turn (a trim walks every arena), small enough that what glibc may keep
/// meanwhile stays small.
const TRIM_AFTER: usize = 16 * 1024 * 1024;

/// Bytes allocated on the heap and not yet freed.
pub fn allocated() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let now = {
        // SAFETY: mallinfo2 takes no arguments and only reads the
        // allocator's own statistics, under its locks.
        let info = unsafe { libc::mallinfo2() };
        (info.uordblks + info.hblkhd) as u64
    };
    // Elsewhere the resident size is the best figure at hand.
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let now = rss();
    PEAK.fetch_max(now, Ordering::Relaxed);
    now
}

/// The largest figure [`allocated`] has seen.
pub fn peak() -> u64 {
    let now = allocated();
    PEAK.load(Ordering::Relaxed).max(now)
}

/// The process's resident set size in bytes (0 where `/proc` is missing).
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if size > 0 {
            return size as u64;
        }
    }
    4096
}

/// Notes that a buffer of `bytes` was just freed; once [`TRIM_AFTER`] bytes
/// have been, asks the allocator to return its free pages to the kernel.
pub fn released(bytes: usize) {
    let total = UNTRIMMED.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if total >= TRIM_AFTER && UNTRIMMED.swap(0, Ordering::Relaxed) >= TRIM_AFTER {
        trim();
    }
}

/// Returns the allocator's free memory to the kernel, where it can.
pub fn trim() {
    // SAFETY: malloc_trim takes no pointers; it only releases free pages.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_allocation_is_counted_until_freed() {
        // calloc'd and touched on one page only: address space, not RSS.
        const SIZE: usize = 256 * 1024 * 1024;
        const NOISE: u64 = SIZE as u64 / 2;
        // Other tests allocate concurrently (the figure is the process's),
        // but none holds 128 MB: the margins are far wider than their noise.
        let before = allocated();
        let mut v = vec![0u8; SIZE];
        v[SIZE - 1] = 1;
        assert!(allocated() + NOISE >= before + SIZE as u64);
        let seen = allocated();
        assert!(peak() >= seen);
        // realloc to a smaller size is counted too.
        v.truncate(1024);
        v.shrink_to_fit();
        assert!(allocated() < before + NOISE);
        drop(v);
        assert!(allocated() < before + NOISE);
    }

    #[test]
    fn rss_is_read_from_proc() {
        if std::path::Path::new("/proc/self/statm").exists() {
            assert!(rss() > 0);
        }
    }
}
