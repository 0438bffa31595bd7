//! The key secrets are fingerprinted with (HMAC-SHA256). A keyed fingerprint lets two runs (and two
//! systems: a token in git and the same token in a CI variable) recognise the same secret without
//! anyone storing it, and without letting someone who has only the store test guesses against it.
//!
//! The key comes from `RESIDUAL_FINGERPRINT_KEY` (hex), else from a key file next to the store
//! (`<db>.key`, 32 random bytes, mode 0600). Commands that write the store create the file on
//! first use ([`FingerprintKey::load_or_create`]); the gate writes nothing, so without either it
//! uses a key held in memory for one run ([`FingerprintKey::load_read_only`]). Keep the key file
//! out of the places the store is copied to.
//!
//! The audit chain has a key of its own ([`ChainKey`]), made and checked the same way: a file
//! `<db>.chain-key` or the one `RESIDUAL_CHAIN_KEY_FILE` names.

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
    #[error("the {kind} file {} holds {len} bytes, not 32: refusing it ({})", path.display(), kind.why_32_bytes())]
    BadLength {
        kind: KeyKind,
        path: PathBuf,
        len: usize,
    },
    #[error(
        "the {kind} file {} can be read by others (mode {mode:o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    OpenMode {
        kind: KeyKind,
        path: PathBuf,
        mode: u32,
    },
    #[error("reading the {kind} {}", path.display())]
    Read {
        kind: KeyKind,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the {kind} {}", path.display())]
    Write {
        kind: KeyKind,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Which key a key file holds: both are 32 private bytes made the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The key secrets are fingerprinted with.
    Fingerprint,
    /// The key the audit chain's events are MACed with (see [`ChainKey`]).
    Chain,
}

impl KeyKind {
    fn why_32_bytes(self) -> &'static str {
        match self {
            KeyKind::Fingerprint => "a short or empty key lets anyone with the store test guesses offline; restore the key or, if findings ids may change, remove the file",
            KeyKind::Chain => "a short or empty key lets anyone with the store rewrite the audit chain unnoticed; restore the key the chain was written with",
        }
    }
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyKind::Fingerprint => "fingerprint key",
            KeyKind::Chain => "chain key",
        })
    }
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
        let (bytes, _) = read_or_create(KeyKind::Fingerprint, &path)?;
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
        Ok(
            read_key_file(KeyKind::Fingerprint, &path)?.map(|bytes| FingerprintKey {
                bytes,
                source: KeySource::File(path),
            }),
        )
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }
}

/// The environment variable naming the chain key file, instead of `<db>.chain-key`.
pub const CHAIN_KEY_ENV: &str = "RESIDUAL_CHAIN_KEY_FILE";

/// The key the audit chain's events are MACed with (HMAC-SHA256): without it, someone who can
/// write the store can rewrite the whole chain with fresh hashes; with it kept apart from the
/// store (another disk, a secret store, an auditor's copy), such a rewrite no longer verifies.
/// Its bytes are never printed: `Debug` shows only its path.
pub struct ChainKey {
    bytes: Vec<u8>,
    path: PathBuf,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ChainKey {
    /// The chain key of the store at `db`, `None` when its file does not exist: for reading.
    pub fn load(db: &Path) -> Result<Option<ChainKey>, KeyError> {
        let path = chain_key_file(db);
        Ok(read_key_file(KeyKind::Chain, &path)?.map(|bytes| ChainKey { bytes, path }))
    }

    /// The chain key of the store at `db`, creating its file (32 random bytes, mode 0600) when it
    /// does not exist; `true` when this call created it.
    pub fn load_or_create(db: &Path) -> Result<(ChainKey, bool), KeyError> {
        let path = chain_key_file(db);
        let (bytes, created) = read_or_create(KeyKind::Chain, &path)?;
        Ok((ChainKey { bytes, path }, created))
    }

    /// A key held in memory (tests).
    pub fn from_bytes(bytes: Vec<u8>, path: PathBuf) -> ChainKey {
        ChainKey { bytes, path }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file the key was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The chain key file of the store at `db`: `RESIDUAL_CHAIN_KEY_FILE` when set, else
/// `<db>.chain-key`.
pub fn chain_key_file(db: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os(CHAIN_KEY_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let mut path = key_base(db).into_os_string();
    path.push(".chain-key");
    PathBuf::from(path)
}

/// The key file of the store at `db`: `<db>.key`.
pub fn key_file(db: &Path) -> PathBuf {
    let mut path = key_base(db).into_os_string();
    path.push(".key");
    PathBuf::from(path)
}

/// The environment variable naming the directory the key files of a PostgreSQL store are in.
pub const KEY_DIR_ENV: &str = "RESIDUAL_KEY_DIR";

/// What the key files of the store at `db` are named after: the file itself for SQLite; for a
/// PostgreSQL URL, `residual-<host>-<port>-<database>` (never the user or password) in
/// `RESIDUAL_KEY_DIR`, else the current directory. Workers on several machines share one
/// PostgreSQL store: give each the same keys (a mounted secret, `RESIDUAL_CHAIN_KEY_FILE`,
/// `RESIDUAL_FINGERPRINT_KEY`).
fn key_base(db: &Path) -> PathBuf {
    let text = db.to_string_lossy();
    if !crate::store::db::pg::is_url(&text) {
        return db.to_path_buf();
    }
    let shown = crate::store::db::pg::redact(&text);
    let rest = shown.split_once("://").map_or(shown.as_str(), |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split('?').next().unwrap_or(rest);
    let name: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = std::env::var_os(KEY_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    dir.join(format!("residual-{name}"))
}

/// The size of a key file: what `random_key` makes and all a key file may hold.
const KEY_LEN: usize = 32;

/// The key file at `path`: its 32 bytes, `None` when it does not exist; refused when it holds
/// another length or others can read it.
fn read_key_file(kind: KeyKind, path: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::Read {
                kind,
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.len() != KEY_LEN {
        return Err(KeyError::BadLength {
            kind,
            len: bytes.len(),
            path: path.to_path_buf(),
        });
    }
    check_private(kind, path)?;
    Ok(Some(bytes))
}

/// The key file at `path`, made with a new random key when it does not exist; `true` when this
/// call made it. Racing first runs all end up with the one file that won.
fn read_or_create(kind: KeyKind, path: &Path) -> Result<(Vec<u8>, bool), KeyError> {
    if let Some(bytes) = read_key_file(kind, path)? {
        return Ok((bytes, false));
    }
    let bytes = random_key()?;
    match create_once(path, &bytes) {
        Ok(()) => Ok((bytes, true)),
        // Another first run created it in the meantime: use theirs, so both agree.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let theirs = read_key_file(kind, path)?.ok_or(KeyError::Write {
                kind,
                path: path.to_path_buf(),
                source: e,
            })?;
            Ok((theirs, false))
        }
        Err(source) => Err(KeyError::Write {
            kind,
            path: path.to_path_buf(),
            source,
        }),
    }
}

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
fn check_private(kind: KeyKind, path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| KeyError::Read {
            kind,
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::OpenMode {
            kind,
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_kind: KeyKind, _path: &Path) -> Result<(), KeyError> {
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
