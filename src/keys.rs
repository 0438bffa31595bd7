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
        write_private(&path, &bytes).map_err(|source| KeyError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(FingerprintKey {
            bytes,
            source: KeySource::File(path),
        })
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
        Ok(std::fs::read(&path).ok().map(|bytes| FingerprintKey {
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

fn random_key() -> Result<Vec<u8>, KeyError> {
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(KeyError::Random)?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(key)
}

#[cfg(not(unix))]
fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, key)
}
