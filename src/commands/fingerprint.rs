//! The key secrets are fingerprinted with (HMAC-SHA256). A keyed fingerprint lets two runs (and two
//! systems: a token in git and the same token in a CI variable) recognise the same secret without
//! anyone storing it, and without letting someone who has only the store test guesses against it.
//!
//! The key comes from `RESIDUAL_FINGERPRINT_KEY` (hex), else from a key file next to the store
//! (`<db>.key`, 32 random bytes, mode 0600, created on first use). Keep the key file out of the
//! places the store is copied to.

use super::{Context, UsageError};
use anyhow::Context as _;
use std::io::Read;
use std::path::PathBuf;

pub fn fingerprint_key(ctx: &Context) -> anyhow::Result<Vec<u8>> {
    if let Ok(hex_key) = std::env::var("RESIDUAL_FINGERPRINT_KEY") {
        let key = hex::decode(hex_key.trim())
            .map_err(|e| UsageError(format!("RESIDUAL_FINGERPRINT_KEY is not hex: {e}")))?;
        if key.len() < 16 {
            return Err(UsageError(
                "RESIDUAL_FINGERPRINT_KEY must be at least 16 bytes (32 hex digits)".into(),
            )
            .into());
        }
        return Ok(key);
    }
    let mut path = ctx.db.clone().into_os_string();
    path.push(".key");
    let path = PathBuf::from(path);
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("reading /dev/urandom for a new fingerprint key")?;
    write_private(&path, &key)
        .with_context(|| format!("writing the fingerprint key {}", path.display()))?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, key: &[u8]) -> std::io::Result<()> {
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
fn write_private(path: &std::path::Path, key: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, key)
}
