//! The key secrets are fingerprinted with (HMAC-SHA256). A keyed fingerprint lets two runs (and two
//! systems: a token in git and the same token in a CI variable) recognise the same secret without
//! anyone storing it, and without letting someone who has only the store test guesses against it.
//!
//! The key comes from `RESIDUAL_FINGERPRINT_KEY` (hex), else from a key file next to the store
//! (`<db>.key`, 32 random bytes, mode 0600). Commands that write the store create the file on
//! first use ([`FingerprintKey::load_or_create`]); the gate writes nothing, so without either it
//! uses a key held in memory for one run ([`FingerprintKey::load_read_only`]). Keep the key file
//! out of the places the store is copied to.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that carries the key as hex.
pub const KEY_ENV: &str = "RESIDUAL_FINGERPRINT_KEY";

/// The key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RESIDUAL_FINGERPRINT_KEY is not hex: {0}")]
    NotHex(hex::FromHexError),
    #[error("RESIDUAL_FINGERPRINT_KEY must be at least 16 bytes (32 hex digits)")]
    TooShort,
    #[error("reading /dev/urandom for a new fingerprint key")]
    Random(#[source] std::io::Error),
    #[error("the fingerprint key file {} holds {len} bytes, not 32: refusing it (a short or empty key lets anyone with the store test guesses offline); restore the key or, if findings ids may change, remove the file", path.display())]
    BadLength { path: PathBuf, len: usize },
    #[error(
        "the fingerprint key file {} can be read by others (mode {mode:o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    OpenMode { path: PathBuf, mode: u32 },
    #[error("reading the fingerprint key {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the fingerprint key {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where this run's key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `RESIDUAL_FINGERPRINT_KEY`.
    Environment,
    /// The key file beside the store (read, or created by this run).
    File(PathBuf),
    /// Made for this run only and kept in memory: fingerprints (and so finding ids of secrets)
    /// differ from any other run's.
    Ephemeral,
}

/// A fingerprint key. Its bytes are never printed: `Debug` shows only where it came from.
pub struct FingerprintKey {
    bytes: Vec<u8>,
    source: KeySource,
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintKey")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl FingerprintKey {
    /// The key from the environment or the key file beside `db`, creating the file (mode 0600)
    /// when neither exists: for commands that write the store.
    pub fn load_or_create(db: &Path) -> Result<FingerprintKey, KeyError> {
        if let Some(key) = Self::existing(db)? {
            return Ok(key);
        }
        let path = key_file(db);
        let bytes = random_key()?;
        match create_once(&path, &bytes) {
            Ok(()) => Ok(FingerprintKey {
                bytes,
                source: KeySource::File(path),
            }),
            // Another first run created it in the meantime: use theirs, so both agree.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::existing(db)?.ok_or(KeyError::Write { path, source: e })
            }
            Err(source) => Err(KeyError::Write { path, source }),
        }
    }

    /// The key from the environment or an existing key file beside `db`, else a key made for this
    /// run and held in memory: for the gate, which writes nothing anywhere.
    pub fn load_read_only(db: &Path) -> Result<FingerprintKey, KeyError> {
        if let Some(key) = Self::existing(db)? {
            return Ok(key);
        }
        Ok(FingerprintKey {
            bytes: random_key()?,
            source: KeySource::Ephemeral,
        })
    }

    fn existing(db: &Path) -> Result<Option<FingerprintKey>, KeyError> {
        if let Ok(hex_key) = std::env::var(KEY_ENV) {
            let bytes = hex::decode(hex_key.trim()).map_err(KeyError::NotHex)?;
            if bytes.len() < 16 {
                return Err(KeyError::TooShort);
            }
            return Ok(Some(FingerprintKey {
                bytes,
                source: KeySource::Environment,
            }));
        }
        let path = key_file(db);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(KeyError::Read { path, source }),
        };
        if bytes.len() != KEY_LEN {
            return Err(KeyError::BadLength {
                len: bytes.len(),
                path,
            });
        }
        check_private(&path)?;
        Ok(Some(FingerprintKey {
            bytes,
            source: KeySource::File(path),
        }))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }
}

/// The key file of the store at `db`: `<db>.key`.
pub fn key_file(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    PathBuf::from(path)
}

/// The size of a key file: what `random_key` makes and all a key file may hold.
const KEY_LEN: usize = 32;

fn random_key() -> Result<Vec<u8>, KeyError> {
    let mut key = vec![0u8; KEY_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(KeyError::Random)?;
    Ok(key)
}

/// Writes the key under a private temporary name, then links it to `path`, which fails if
/// `path` exists: the key file appears whole or not at all, so a run racing another first run
/// never reads a half-written key.
#[cfg(unix)]
fn create_once(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = path.as_os_str().to_owned();
    // Unique per process and per call: racing first runs may be threads of one process.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp.push(format!(".tmp{}-{call}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(key).and_then(|()| f.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(not(unix))]
fn create_once(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(key)
}

/// A key file others can read is refused: the key is what keeps fingerprints from being tested.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::OpenMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("r.db");
        std::fs::write(key_file(&db), b"").expect("write");
        let e = FingerprintKey::load_or_create(&db).expect_err("refused");
        assert!(e.to_string().contains("holds 0 bytes, not 32"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("r.db");
        let key = FingerprintKey::load_or_create(&db).expect("created");
        assert_eq!(key.bytes().len(), 32);
        std::fs::set_permissions(key_file(&db), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let e = FingerprintKey::load_or_create(&db).expect_err("refused");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn first_runs_racing_to_create_the_key_all_get_the_same_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("r.db");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| FingerprintKey::load_or_create(&db).map(|k| k.bytes().to_vec()))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("key"))
                .collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(std::fs::read(key_file(&db)).expect("key file"), keys[0]);
    }
}
