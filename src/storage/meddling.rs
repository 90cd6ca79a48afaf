//! A test disk for checkpoints racing client commands: the real disk,
//! except that a checkpoint's temporary file runs a hook before each
//! append (the copy appends once per hold of the keyspace lock), so a test
//! can change keys between two batches of the copy.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::io::{Disk, LogFile, RealDisk};

/// Runs client commands before the n-th append to a checkpoint file.
pub(crate) type Hook = Arc<dyn Fn(usize) + Send + Sync>;

/// The real disk, except that a checkpoint's temporary file calls `hook`
/// with the append's number (0 is the file header) before each append.
pub(crate) struct Meddling {
    /// What runs before each append to a checkpoint's temporary file.
    pub hook: Hook,
}

impl std::fmt::Debug for Meddling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meddling")
    }
}

struct MeddlingFile {
    inner: Arc<dyn LogFile>,
    appends: AtomicUsize,
    hook: Hook,
}

impl LogFile for MeddlingFile {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        (self.hook)(self.appends.fetch_add(1, Ordering::SeqCst));
        self.inner.append(buf)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.inner.sync()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.inner.truncate(len)
    }
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
}

impl Disk for Meddling {
    fn create_dir_all(&self, dir: &Path) -> std::io::Result<()> {
        RealDisk.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        RealDisk.list(dir)
    }
    fn open_append(&self, path: &Path) -> std::io::Result<Arc<dyn LogFile>> {
        let inner = RealDisk.open_append(path)?;
        // Only a checkpoint's copy, not the manifest (rewritten under
        // the journal's lock, where a hook that journals would deadlock).
        let is_checkpoint = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("checkpoint-"));
        if is_checkpoint && path.extension().is_some_and(|e| e == "tmp") {
            return Ok(Arc::new(MeddlingFile {
                inner,
                appends: AtomicUsize::new(0),
                hook: self.hook.clone(),
            }));
        }
        Ok(inner)
    }
    fn map(&self, path: &Path) -> std::io::Result<Option<crate::storage::mapguard::GuardedMap>> {
        RealDisk.map(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        RealDisk.rename(from, to)
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        RealDisk.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        RealDisk.sync_dir(dir)
    }
}
