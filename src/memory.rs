//! How much memory the process holds, for INFO memory, and giving freed
//! memory back to the operating system.
//!
//! - [`CountingAlloc`] is the global allocator (installed in `lib.rs`): the
//!   system allocator plus one relaxed atomic add per allocation and one
//!   subtract per free, so [`allocated`] is the number of bytes live on the
//!   heap right now (INFO `used_memory`, what Redis reports as the bytes
//!   its allocator has handed out) and [`peak`] its high-water mark.
//! - [`rss`] is the resident set size as the kernel counts it
//!   (`used_memory_rss`), from `/proc/self/statm`.
//! - [`released`] is told whenever a large buffer is dropped. glibc keeps
//!   freed chunks below its mmap threshold (which it raises up to 32 MB as
//!   large blocks come and go) in its arenas, so memory given back to the
//!   allocator is not always given back to the kernel; once enough has been
//!   released, `malloc_trim(0)` returns the free pages of every arena.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through [`CountingAlloc`].
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
/// The highest value [`ALLOCATED`] has reached.
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Bytes of large buffers released since the last trim.
static UNTRIMMED: AtomicUsize = AtomicUsize::new(0);

/// Released bytes that make [`released`] trim the allocator's arenas: large
/// enough that a steady trickle of medium buffers does not trim on every
/// turn (a trim walks every arena), small enough that what glibc may keep
/// meanwhile stays small.
const TRIM_AFTER: usize = 16 * 1024 * 1024;

/// The system allocator, counting the bytes it has live.
pub struct CountingAlloc;

impl CountingAlloc {
    fn grew(by: usize) {
        let now = ALLOCATED.fetch_add(by, Ordering::Relaxed) + by;
        // A load first: the peak is only written while it is being raised.
        if now > PEAK.load(Ordering::Relaxed) {
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn shrank(by: usize) {
        ALLOCATED.fetch_sub(by, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters are only bookkeeping.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout contract is passed on as it is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, so from `System`.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `System.realloc` may grow in place
        // (or with mremap) instead of copying.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                Self::shrank(layout.size() - new_size);
            }
        }
        new
    }
}

/// Bytes allocated on the heap and not yet freed.
pub fn allocated() -> u64 {
    ALLOCATED.load(Ordering::Relaxed) as u64
}

/// The most bytes ever allocated at once.
pub fn peak() -> u64 {
    (PEAK.load(Ordering::Relaxed) as u64).max(allocated())
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
        const SIZE: usize = 64 * 1024 * 1024;
        const NOISE: u64 = SIZE as u64 / 2;
        // Other tests allocate concurrently, but none holds 32 MB: the
        // margins are far wider than their noise.
        let before = allocated();
        let mut v = vec![0u8; SIZE];
        v[SIZE - 1] = 1;
        assert!(allocated() + NOISE >= before + SIZE as u64);
        assert!(peak() >= allocated());
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
