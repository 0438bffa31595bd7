//! One daemon per store: an advisory lock on `<db>.daemon.lock`, held for the daemon's life, with
//! the holder's PID written in the file so that a second daemon can say who holds it. The
//! operating system releases the lock when the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another `residual daemon` (PID {pid}) holds {}; one daemon per store", file.display())]
    Held { file: PathBuf, pid: String },
    #[error("{}: cannot take the daemon lock", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file of the store `db`.
pub fn path_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".daemon.lock");
    PathBuf::from(name)
}

/// Takes the lock of the store `db` without waiting.
pub fn acquire(db: &Path) -> Result<DaemonLock, LockError> {
    let path = path_for(db);
    let io = |source| LockError::Io {
        file: path.clone(),
        source,
    };
    // Not truncated before the lock is ours: the file holds the holder's PID.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            // The PID is what the holder wrote; unreadable, it is unknown, not an error.
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(LockError::Held {
                file: path.clone(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(DaemonLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_store_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("residual.db");
        let held = acquire(&db).unwrap();
        let e = acquire(&db).unwrap_err().to_string();
        assert!(e.contains(&format!("PID {}", std::process::id())), "{e}");
        drop(held);
        acquire(&db).expect("released on drop");
    }
}
