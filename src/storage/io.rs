//! All disk I/O of the storage engine goes through [`Disk`], so tests can
//! make a write or an fsync fail, or the disk fill up, on demand.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;

use super::mapguard::GuardedMap;

/// A file the log appends to.
pub trait LogFile: Send + Sync {
    /// Appends all of `buf` at the end.
    fn append(&self, buf: &[u8]) -> io::Result<()>;
    /// Forces everything written so far to stable storage (fdatasync).
    fn sync(&self) -> io::Result<()>;
    /// Cuts the file to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Current length.
    fn size(&self) -> io::Result<u64>;
}

/// The file-system operations the storage engine uses.
pub trait Disk: Send + Sync + std::fmt::Debug {
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The entries of a directory (file names, not paths), sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens a file for appending, creating it if needed.
    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn LogFile>>;
    /// Maps a whole file read-only, guarded against the file being cut
    /// short under the map (empty files give no map).
    fn map(&self, path: &Path) -> io::Result<Option<GuardedMap>>;
    /// Renames a file (atomic within a directory).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Deletes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Fsyncs a directory, making creations, renames and deletions durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Default)]
pub struct RealDisk;

struct RealFile(File);

impl LogFile for RealFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        (&self.0).write_all(buf)
    }

    fn sync(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Disk for RealDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn LogFile>> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn map(&self, path: &Path) -> io::Result<Option<GuardedMap>> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(None);
        }
        // SAFETY: Sluice only appends to its files and truncates a torn
        // tail before mapping for reading, so the mapped bytes never change.
        // Another process may still cut the file short: the guard turns the
        // SIGBUS of touching a vanished page into zeros and a damaged flag
        // that readers check (src/storage/mapguard.rs).
        let map = unsafe { Mmap::map(&file)? };
        Ok(Some(GuardedMap::new(map, path)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// A real disk that fails on demand: the next write, the next fsync, or
/// every write once a byte budget is spent (a full disk).
#[derive(Debug, Default)]
pub struct FaultyDisk {
    faults: Arc<Faults>,
}

/// The switches of a [`FaultyDisk`], shared with the test that flips them.
#[derive(Debug)]
pub struct Faults {
    /// Fail the next append with EIO.
    pub fail_next_write: AtomicBool,
    /// Fail the next fsync with EIO.
    pub fail_next_sync: AtomicBool,
    /// Bytes that may still be appended before ENOSPC; negative = no limit.
    pub space_left: AtomicI64,
    /// fsyncs asked of files (failed ones included).
    pub syncs: AtomicI64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_next_write: AtomicBool::new(false),
            fail_next_sync: AtomicBool::new(false),
            space_left: AtomicI64::new(-1),
            syncs: AtomicI64::new(0),
        }
    }
}

impl FaultyDisk {
    /// A faulty disk and the switches that control it.
    pub fn new() -> (FaultyDisk, Arc<Faults>) {
        let faults = Arc::new(Faults::default());
        (
            FaultyDisk {
                faults: faults.clone(),
            },
            faults,
        )
    }
}

struct FaultyFile {
    inner: RealFile,
    faults: Arc<Faults>,
}

impl LogFile for FaultyFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        if self.faults.fail_next_write.swap(false, Ordering::SeqCst) {
            return Err(io::Error::other("injected write failure"));
        }
        let left = self.faults.space_left.load(Ordering::SeqCst);
        if left >= 0 {
            if (buf.len() as i64) > left {
                // A full disk takes what fits, then refuses: a torn write.
                self.inner.append(&buf[..left as usize])?;
                self.faults.space_left.store(0, Ordering::SeqCst);
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.faults
                .space_left
                .fetch_sub(buf.len() as i64, Ordering::SeqCst);
        }
        self.inner.append(buf)
    }

    fn sync(&self) -> io::Result<()> {
        self.faults.syncs.fetch_add(1, Ordering::SeqCst);
        if self.faults.fail_next_sync.swap(false, Ordering::SeqCst) {
            return Err(io::Error::other("injected fsync failure"));
        }
        self.inner.sync()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
}

impl Disk for FaultyDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        RealDisk.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        RealDisk.list(dir)
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn LogFile>> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Arc::new(FaultyFile {
            inner: RealFile(file),
            faults: self.faults.clone(),
        }))
    }

    fn map(&self, path: &Path) -> io::Result<Option<GuardedMap>> {
        RealDisk.map(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        RealDisk.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        RealDisk.remove(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        RealDisk.sync_dir(dir)
    }
}

/// A real disk that remembers what each fsync made durable, so a test can
/// take the image a power cut would leave behind ([`PowerCutDisk::image`]):
/// every file cut to the length it had when its last fsync began, and a
/// file whose creation no directory fsync covered left out. Renames and
/// deletions count as durable at once (Sluice fsyncs the directory right
/// after each).
#[derive(Debug, Default, Clone)]
pub struct PowerCutDisk {
    state: Arc<std::sync::Mutex<PowerState>>,
}

#[derive(Debug, Default)]
struct PowerState {
    /// Durable length of every file opened through this disk.
    durable: std::collections::HashMap<PathBuf, u64>,
    /// Files created since the last fsync of their directory.
    unlisted: std::collections::HashSet<PathBuf>,
}

struct PowerCutFile {
    inner: RealFile,
    path: PathBuf,
    state: Arc<std::sync::Mutex<PowerState>>,
}

impl LogFile for PowerCutFile {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)
    }

    fn sync(&self) -> io::Result<()> {
        // Only what was written before the fsync began is surely covered.
        let len = self.inner.size()?;
        self.inner.sync()?;
        let mut st = self.state.lock().expect("power state");
        let d = st.durable.entry(self.path.clone()).or_default();
        *d = (*d).max(len);
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)?;
        let mut st = self.state.lock().expect("power state");
        if let Some(d) = st.durable.get_mut(&self.path) {
            *d = (*d).min(len);
        }
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
}

impl PowerCutDisk {
    /// Copies `dir` (recursively) to `into` as a power cut now would leave
    /// it. Files this disk never opened are copied whole.
    pub fn image(&self, dir: &Path, into: &Path) -> io::Result<()> {
        let st = self.state.lock().expect("power state");
        copy_image(&st, dir, into)
    }
}

fn copy_image(st: &PowerState, dir: &Path, into: &Path) -> io::Result<()> {
    std::fs::create_dir_all(into)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let target = into.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_image(st, &path, &target)?;
            continue;
        }
        if st.unlisted.contains(&path) {
            continue;
        }
        let mut bytes = std::fs::read(&path)?;
        if let Some(&len) = st.durable.get(&path) {
            bytes.truncate(len as usize);
        }
        std::fs::write(&target, bytes)?;
    }
    Ok(())
}

impl Disk for PowerCutDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        RealDisk.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        RealDisk.list(dir)
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn LogFile>> {
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut st = self.state.lock().expect("power state");
        if !existed {
            st.unlisted.insert(path.to_path_buf());
        }
        st.durable.entry(path.to_path_buf()).or_insert(0);
        Ok(Arc::new(PowerCutFile {
            inner: RealFile(file),
            path: path.to_path_buf(),
            state: self.state.clone(),
        }))
    }

    fn map(&self, path: &Path) -> io::Result<Option<GuardedMap>> {
        RealDisk.map(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        RealDisk.rename(from, to)?;
        let mut st = self.state.lock().expect("power state");
        if let Some(d) = st.durable.remove(from) {
            st.durable.insert(to.to_path_buf(), d);
        }
        if st.unlisted.remove(from) {
            st.unlisted.insert(to.to_path_buf());
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        RealDisk.remove(path)?;
        let mut st = self.state.lock().expect("power state");
        st.durable.remove(path);
        st.unlisted.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        RealDisk.sync_dir(dir)?;
        let mut st = self.state.lock().expect("power state");
        st.unlisted.retain(|p| p.parent() != Some(dir));
        Ok(())
    }
}

/// `dir/name`.
pub fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
