//! `report verify DIR`: re-hashes every file a pack's manifest lists and looks for files it does
//! not list. Whether the recorded audit head is still in the store's chain is checked by the
//! command, with the store (`store::audit::check_head`).

use super::manifest::{self, Recorded};
use super::MANIFEST;
use std::collections::HashSet;
use std::path::Path;

/// What verifying a pack's files found.
#[derive(Debug)]
pub struct FileCheck {
    pub recorded: Recorded,
    pub checked: usize,
    pub problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{file}: cannot read the pack's manifest")]
    Io {
        file: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a pack manifest: {message}")]
    Invalid {
        file: std::path::PathBuf,
        message: String,
    },
}

/// Checks the files of the pack in `dir` against its manifest.
pub fn files(dir: &Path) -> Result<FileCheck, VerifyError> {
    let file = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&file).map_err(|source| VerifyError::Io {
        file: file.clone(),
        source,
    })?;
    let recorded: Recorded = serde_json::from_str(&text).map_err(|e| VerifyError::Invalid {
        file: file.clone(),
        message: format!("line {}, column {}: {e}", e.line(), e.column()),
    })?;
    let mut problems = Vec::new();
    let mut listed = HashSet::new();
    for f in &recorded.files {
        listed.insert(f.path.as_str());
        // A manifest that names a path outside the pack is itself a change.
        if f.path.contains('/') || f.path.contains('\\') || f.path.starts_with('.') {
            problems.push(format!(
                "{}: the manifest names a path outside the pack",
                f.path
            ));
            continue;
        }
        match manifest::entry(dir, &f.path) {
            Err(e) => problems.push(format!("{}: missing or unreadable ({e})", f.path)),
            Ok(now) if now.bytes != f.bytes => problems.push(format!(
                "{}: {} bytes, the manifest says {}",
                f.path, now.bytes, f.bytes
            )),
            Ok(now) if now.sha256 != f.sha256 => problems.push(format!(
                "{}: SHA-256 {} differs from the manifest's {}",
                f.path, now.sha256, f.sha256
            )),
            Ok(_) => {}
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != MANIFEST && !listed.contains(n.as_str()))
            .collect();
        extra.sort();
        for name in extra {
            problems.push(format!(
                "{name}: not in the manifest (added after the pack was made)"
            ));
        }
    }
    Ok(FileCheck {
        checked: recorded.files.len(),
        recorded,
        problems,
    })
}
