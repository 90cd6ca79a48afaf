//! Maps of journal files that survive the file being cut short under them.
//!
//! Stream entry payloads are read straight out of `memmap2` maps of the
//! segment files. If another process truncates a mapped file, touching a
//! mapped page that now lies wholly past the end of the file raises
//! SIGBUS, which by default kills the server with nothing logged. Every
//! map Sluice makes is a [`GuardedMap`], and the first one installs a
//! SIGBUS handler:
//!
//! ```text
//! REGISTRY: 65536 slots, each { gen (seqlock), start, len, damaged }
//!   GuardedMap::new   claims a slot (under a mutex) and publishes the range
//!   GuardedMap::drop  clears its slot before the range is unmapped
//! on SIGBUS with a kernel-set fault address:
//!   address in a live slot's range -> set the slot's `damaged` flag, map an
//!                                     anonymous zero page over the faulting
//!                                     page (MAP_FIXED), return: the access
//!                                     runs again and reads zeros
//!   anything else                  -> put back the previous disposition and
//!                                     return (or re-raise a SIGBUS sent by
//!                                     a process): the process dies as before
//! ```
//!
//! Zeros never pass as data: every record carries a CRC, so a record read
//! from a replaced page fails its check, and a reader that touches bytes
//! after checking the CRC (the reply path copies payload bytes out later)
//! must call [`GuardedMap::is_damaged`] afterwards
//! ([`crate::storage::PayloadRef::verify`] does). The journal then drops
//! the damaged map, maps the file again, and its length check reports the
//! file as shorter than what was written, naming file and offset; each
//! damaged file is logged at ERROR once ([`report_damage`]).
//!
//! Why this and not a check before each read: an fstat per entry costs a
//! syscall on the hot path (an XRANGE of 100 entries would make 100), and
//! still leaves the window between the check and the bytes being touched;
//! reading with pread instead of the map gives up the zero-copy read. The
//! handler costs nothing until a fault happens; the hot path pays one
//! atomic load per entry for the damaged flag.
//!
//! What the handler relies on, and what remains racy:
//!
//! - The handler only loads atomics, and calls `mmap`, `sigaction` and
//!   `raise`. `mmap` is not on POSIX's async-signal-safe list, but on
//!   Linux it is a plain system call that takes no user-space lock.
//! - A slot is read under a seqlock, so a slot being claimed or cleared by
//!   another thread is skipped, never half-read; the faulting map itself
//!   cannot be in that state, because the faulting thread holds it.
//! - The damaged flag is set before the zero page goes in. A thread that
//!   reads the zero page without faulting itself (another thread replaced
//!   it first) sees the flag only because the `mmap` call that replaced the
//!   page is a full barrier and the reader fences before loading the flag;
//!   the language's memory model does not speak about page tables.
//! - A file truncated and then extended again before Sluice touches the
//!   lost pages raises no SIGBUS: reads see whatever the file now holds,
//!   and only the CRC stands between that and a reply.
//! - The journal notices a cut only when a read touches the lost bytes.
//!   For the segment still appended to, records acknowledged between the
//!   cut and that read went to the new end of the file, not where their
//!   positions point; once noticed, the journal refuses writes.
//! - Start-up reads through guarded maps too; a cut there leaves zeros,
//!   which recovery treats like any bad record.
//! - Maps beyond the registry's capacity are not guarded (a WARN says so
//!   once). Linux allows 65530 mappings per process by default, so this
//!   takes a raised `vm.max_map_count` and more live maps than that.
//! - The handler is installed on Linux only; elsewhere a truncation still
//!   kills the process.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use memmap2::Mmap;

/// How many maps can be guarded at once.
const SLOTS: usize = 65536;

/// One registered range. `gen` is odd while the slot is being changed.
struct Slot {
    gen: AtomicUsize,
    start: AtomicUsize,
    len: AtomicUsize,
    damaged: AtomicBool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            gen: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            damaged: AtomicBool::new(false),
        }
    }

    /// Changes the range; only under [`FREE`]'s lock, so one writer at a time.
    fn publish(&self, start: usize, len: usize) {
        let gen = self.gen.load(Ordering::Relaxed);
        self.gen.store(gen + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.start.store(start, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
        self.damaged.store(false, Ordering::Relaxed);
        self.gen.store(gen + 2, Ordering::Release);
    }

    /// Whether `addr` is in the range, read consistently (async-signal-safe).
    fn covers(&self, addr: usize) -> bool {
        let gen = self.gen.load(Ordering::Acquire);
        if gen & 1 == 1 {
            return false;
        }
        let start = self.start.load(Ordering::Relaxed);
        let len = self.len.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if self.gen.load(Ordering::Relaxed) != gen {
            return false;
        }
        addr >= start && addr - start < len
    }
}

static REGISTRY: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// Slots ever used: the handler scans only these.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
/// Slots freed for reuse.
static FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// Faults turned into zero pages, since start.
static FAULTS: AtomicU64 = AtomicU64::new(0);
static FULL_WARNED: AtomicBool = AtomicBool::new(false);
/// Files already reported damaged.
static REPORTED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(start: usize, len: usize) -> Option<u32> {
    let mut free = FREE.lock().expect("mapguard lock");
    let index = match free.pop() {
        Some(i) => i as usize,
        None => {
            let next = HIGH_WATER.load(Ordering::Relaxed);
            if next == SLOTS {
                if !FULL_WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "more than {SLOTS} journal maps at once: further maps are not \
                         guarded against files truncated under them"
                    );
                }
                return None;
            }
            next
        }
    };
    REGISTRY[index].publish(start, len);
    HIGH_WATER.fetch_max(index + 1, Ordering::Release);
    Some(index as u32)
}

fn unregister(index: u32) {
    let mut free = FREE.lock().expect("mapguard lock");
    REGISTRY[index as usize].publish(0, 0);
    free.push(index);
}

/// The slot whose range holds `addr` (async-signal-safe).
fn find(addr: usize) -> Option<&'static Slot> {
    let used = HIGH_WATER.load(Ordering::Acquire);
    REGISTRY[..used].iter().find(|s| s.covers(addr))
}

/// A read-only map of a whole file, guarded against the file being
/// truncated under it (see the module doc). Derefs to the mapped bytes.
pub struct GuardedMap {
    map: Mmap,
    slot: Option<u32>,
    path: PathBuf,
}

impl GuardedMap {
    /// Guards `map`, a map of the whole file at `path`.
    pub fn new(map: Mmap, path: &Path) -> GuardedMap {
        handler::install();
        let slot = register(map.as_ptr() as usize, map.len());
        GuardedMap {
            map,
            slot,
            path: path.to_path_buf(),
        }
    }

    /// The mapped file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a page of this map vanished (the file was cut short) and
    /// reads zeros now. Bytes read from the map before this returns `false`
    /// were the file's.
    pub fn is_damaged(&self) -> bool {
        // Orders the caller's earlier reads of mapped bytes before the
        // flag (see the module doc).
        fence(Ordering::Acquire);
        self.slot
            .is_some_and(|i| REGISTRY[i as usize].damaged.load(Ordering::Relaxed))
    }
}

impl Deref for GuardedMap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // Runs before the field `map` is unmapped.
        if let Some(i) = self.slot {
            unregister(i);
        }
    }
}

impl std::fmt::Debug for GuardedMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedMap")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .field("damaged", &self.is_damaged())
            .finish()
    }
}

/// Faults on guarded maps turned into zero pages since start.
pub fn faults_recovered() -> u64 {
    FAULTS.load(Ordering::Relaxed)
}

/// Logs at ERROR that `path` was found damaged at `offset`, the first time
/// only for each file.
pub fn report_damage(path: &Path, offset: u64, reason: &str) {
    let mut reported = REPORTED.lock().expect("mapguard lock");
    if reported.iter().any(|p| p == path) {
        return;
    }
    reported.push(path.to_path_buf());
    tracing::error!(
        "journal file {} damaged under the running server (read at offset {offset}): {reason}",
        path.display()
    );
}

#[cfg(target_os = "linux")]
mod handler {
    use std::sync::atomic::Ordering;
    use std::sync::{Once, OnceLock};

    use super::{find, FAULTS};

    static INSTALL: Once = Once::new();
    static PAGE: OnceLock<usize> = OnceLock::new();
    /// The disposition before ours, put back for faults that are not ours.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    /// Installs the SIGBUS handler, once per process.
    pub(super) fn install() {
        INSTALL.call_once(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            PAGE.get_or_init(|| usize::try_from(page).unwrap_or(4096));
            // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty
            // mask, no flags); it is only filled in by the call below.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: reads the current disposition into a valid struct.
            if unsafe { libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut previous) } != 0 {
                tracing::warn!("cannot read the SIGBUS disposition; maps are not guarded");
                return;
            }
            PREVIOUS.get_or_init(|| previous);
            // SAFETY: as above, then every field we rely on is set.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action.sa_mask` is a valid sigset to empty; the
            // handler has the signature SA_SIGINFO requires and only does
            // async-signal-safe work.
            let installed = unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut())
            };
            if installed != 0 {
                tracing::warn!("cannot install the SIGBUS handler; maps are not guarded");
            }
        });
    }

    extern "C" fn on_sigbus(
        _signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        // SAFETY: errno is thread-local and always valid to read and write;
        // it is restored so the interrupted code never sees ours.
        let errno = unsafe { *libc::__errno_location() };
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        // A positive code means the kernel raised it for this access; a
        // SIGBUS sent by a process (kill) has no fault address.
        let handled = code > 0 && replace_page(addr);
        if !handled {
            restore_previous();
            if code <= 0 {
                // SAFETY: raise is async-signal-safe; SIGBUS is blocked in
                // here, so it arrives when the handler returns.
                unsafe { libc::raise(libc::SIGBUS) };
            }
        }
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
    }

    /// Maps zeros over the page holding `addr`, if a guarded map holds it.
    fn replace_page(addr: usize) -> bool {
        let (Some(slot), Some(&page)) = (find(addr), PAGE.get()) else {
            return false;
        };
        slot.damaged.store(true, Ordering::Release);
        let base = addr & !(page - 1);
        // SAFETY: the page lies inside a live read-only map that Sluice
        // owns (the faulting thread holds it, so it is not unmapped
        // meanwhile); replacing it with a private zero page changes only
        // what that map reads, never memory Rust code writes.
        let mapped = unsafe {
            libc::mmap(
                base as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return false;
        }
        FAULTS.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn restore_previous() {
        match PREVIOUS.get() {
            // SAFETY: puts back a disposition the kernel gave us.
            Some(previous) => unsafe {
                libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut());
            },
            // SAFETY: SIG_DFL is always a valid disposition.
            None => unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            },
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod handler {
    /// No handler off Linux (see the module doc).
    pub(super) fn install() {}
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    const PAGE: usize = 4096;

    fn file_of(dir: &Path, name: &str, pages: usize) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0xab; pages * PAGE]).unwrap();
        path
    }

    fn guarded(path: &Path) -> GuardedMap {
        let file = std::fs::File::open(path).unwrap();
        // SAFETY: the test owns the file; truncating it is the point.
        GuardedMap::new(unsafe { Mmap::map(&file) }.unwrap(), path)
    }

    fn truncate(path: &Path, len: u64) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    #[test]
    fn a_page_cut_from_under_a_map_reads_zeros_and_marks_it_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let cut = file_of(dir.path(), "cut", 3);
        let whole = file_of(dir.path(), "whole", 3);
        let (a, b) = (guarded(&cut), guarded(&whole));
        assert_eq!(a[2 * PAGE + 7], 0xab);
        assert!(!a.is_damaged());
        truncate(&cut, 100);
        let before = faults_recovered();
        // Without the handler this read kills the test process.
        let byte = unsafe { std::ptr::read_volatile(&a[2 * PAGE + 7]) };
        assert_eq!(byte, 0);
        assert!(a.is_damaged());
        assert!(faults_recovered() > before);
        // The page still in the file reads as before (up to the cut).
        assert_eq!(a[99], 0xab);
        // Another map is untouched.
        assert!(!b.is_damaged());
        assert_eq!(b[2 * PAGE + 7], 0xab);
    }

    #[test]
    fn slots_are_reused_and_start_undamaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_of(dir.path(), "f", 2);
        let damaged = guarded(&path);
        truncate(&path, 10);
        let _ = unsafe { std::ptr::read_volatile(&damaged[PAGE]) };
        assert!(damaged.is_damaged());
        let slot = damaged.slot;
        drop(damaged);
        std::fs::write(&path, vec![1u8; 2 * PAGE]).unwrap();
        let before = HIGH_WATER.load(Ordering::Relaxed);
        for _ in 0..1000 {
            let again = guarded(&path);
            assert!(!again.is_damaged());
            assert_eq!(again[PAGE], 1);
        }
        // Other tests map files meanwhile, but a thousand maps made and
        // dropped one at a time reuse freed slots.
        assert!(HIGH_WATER.load(Ordering::Relaxed) < before + 500);
        assert!(slot.is_some());
    }

    /// Runs in a child process (see below): a SIGBUS on a map Sluice did
    /// not make must still kill the process.
    const CHILD: &str = "SLUICE_MAPGUARD_FOREIGN_FAULT";

    #[test]
    fn a_fault_outside_guarded_maps_still_kills_the_process() {
        if let Some(dir) = std::env::var_os(CHILD) {
            let dir = PathBuf::from(dir);
            let ours = file_of(&dir, "ours", 2);
            let _installs_the_handler = guarded(&ours);
            let theirs = file_of(&dir, "theirs", 2);
            let file = std::fs::File::open(&theirs).unwrap();
            // SAFETY: not safe at all, on purpose: this map is unguarded.
            let raw = unsafe { Mmap::map(&file) }.unwrap();
            truncate(&theirs, 10);
            let byte = unsafe { std::ptr::read_volatile(&raw[PAGE]) };
            // Only reached if the fault was swallowed.
            std::process::exit(i32::from(byte) + 10);
        }
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "storage::mapguard::tests::a_fault_outside_guarded_maps_still_kills_the_process",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}");
    }
}
