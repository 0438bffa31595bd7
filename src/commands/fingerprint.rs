//! The key that fingerprints found secrets (HMAC-SHA256): stable across runs so that the same
//! secret gets the same fingerprint, secret so that a fingerprint tells an attacker nothing.
//!
//! Taken from env `RESIDUAL_FINGERPRINT_KEY` (hex, at least 16 bytes), or else from a key file
//! next to the store (`<db path>.key`), created once with 32 random bytes from `/dev/urandom`
//! and mode 0600. The key is never printed.

use super::{Context, UsageError};
use anyhow::Context as _;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that overrides the key file.
pub const FINGERPRINT_KEY_ENV: &str = "RESIDUAL_FINGERPRINT_KEY";

/// Bytes of a generated key.
const KEY_BYTES: usize = 32;

/// The fingerprint key for this store: from the environment, or from (or into) the key file.
pub fn fingerprint_key(ctx: &Context) -> anyhow::Result<Vec<u8>> {
    if let Ok(hex_key) = std::env::var(FINGERPRINT_KEY_ENV) {
        let key = hex::decode(hex_key.trim())
            .map_err(|_| UsageError(format!("{FINGERPRINT_KEY_ENV}: not a hexadecimal string")))?;
        if key.len() < 16 {
            return Err(UsageError(format!(
                "{FINGERPRINT_KEY_ENV}: {} bytes; use at least 16 (32 recommended)",
                key.len()
            ))
            .into());
        }
        return Ok(key);
    }
    key_file(&key_path(&ctx.db))
}

/// `<db path>.key`.
pub fn key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".key");
    PathBuf::from(name)
}

/// Reads the key file, creating it (exclusively, mode 0600) when it does not exist yet.
fn key_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() >= 16 => return Ok(key),
        Ok(key) => {
            return Err(UsageError(format!(
                "{}: the fingerprint key file holds {} bytes; expected {KEY_BYTES}",
                path.display(),
                key.len()
            ))
            .into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("{}: cannot read the fingerprint key", path.display()))
        }
    }
    let mut key = vec![0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("reading /dev/urandom for a new fingerprint key")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&key)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("{}: cannot write the fingerprint key", path.display()))?;
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path)
            .with_context(|| format!("{}: cannot read the fingerprint key", path.display())),
        Err(e) => {
            Err(e).with_context(|| format!("{}: cannot create the fingerprint key", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = key_path(&dir.path().join("residual.db"));
        assert!(path.ends_with("residual.db.key"));
        let first = key_file(&path).expect("created");
        assert_eq!(first.len(), KEY_BYTES);
        assert_eq!(key_file(&path).expect("read"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
