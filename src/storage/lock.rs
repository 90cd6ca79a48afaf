//! The data directory's lock: one server per directory.
//!
//! Two servers appending to the same segments interleave records and cut
//! each other's "torn" tails at start-up, so acknowledged writes vanish.
//! Start-up therefore takes an exclusive `flock` on `<dir>/sluice.lock`
//! before recovery touches any file, and holds it until the journal's final
//! fsync at shutdown. The lock is the kernel's, so a server killed with -9
//! releases it with its last file descriptor; the file itself stays and
//! only records the holder's process id, for the refusal message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::StorageError;

/// The lock file's name, in the data directory.
pub const LOCK_FILE: &str = "sluice.lock";

/// A held lock on a data directory; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (the data directory), or says who has it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StorageError::io(path.clone(), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(StorageError::Locked {
                    dir: dir.display().to_string(),
                    holder: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StorageError::io(path, e)),
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
            .map_err(|e| StorageError::io(path.clone(), e))?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file, so a second open in the same
        // process conflicts just as another process would.
        match DirLock::acquire(dir.path()) {
            Err(StorageError::Locked { holder, .. }) => {
                assert_eq!(holder, Some(std::process::id()))
            }
            other => panic!("second lock taken: {other:?}"),
        }
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
