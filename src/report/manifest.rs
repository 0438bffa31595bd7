//! `manifest.json`: what the pack was made from and the SHA-256 and size of every other file in
//! it, so that `report verify` can tell an intact pack from a changed one. It names the tool
//! version, the time, the configuration's digest, the store's and each HR snapshot's digests, the
//! runs with their input digests, and the audit chain's head (which `report verify` checks is
//! still in the store's chain).

use super::{audit_log, time, Pack};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// One file of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the pack's directory.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
struct PeriodDoc {
    since: Option<String>,
    until: Option<String>,
}

#[derive(Debug, Serialize)]
struct SnapshotDoc {
    id: i64,
    as_of: String,
    imported_at: String,
    format: String,
    sha256: String,
    people: i64,
}

#[derive(Debug, Serialize)]
struct RunDoc {
    id: i64,
    scanner: String,
    system: String,
    status: String,
    started_at: String,
    finished_at: String,
    /// What the run read, as its chain entry names it.
    input_digest: Option<String>,
    accounts: i64,
    credentials: i64,
    grants: i64,
    errors: usize,
}

#[derive(Debug, Serialize)]
struct Manifest<'a> {
    tool: &'static str,
    tool_version: &'a str,
    generated_at: String,
    organisation: Option<&'a str>,
    period: PeriodDoc,
    employees: &'a [String],
    config_sha256: Option<&'a str>,
    /// None for a PostgreSQL store (no file to hash).
    store_sha256: Option<&'a str>,
    hr_snapshots: Vec<SnapshotDoc>,
    runs: Vec<RunDoc>,
    /// `SEQ:HASH`, as `audit verify` prints it.
    audit_head: String,
    files: &'a [FileEntry],
}

/// What `report verify` reads back.
#[derive(Debug, Deserialize)]
pub struct Recorded {
    pub files: Vec<FileEntry>,
    pub audit_head: String,
}

/// Hashes a written file of the pack, in blocks (a large store's OCSF file runs to hundreds of
/// MiB).
pub fn entry(dir: &Path, name: &str) -> std::io::Result<FileEntry> {
    use std::io::Read;
    let mut file = std::fs::File::open(dir.join(name))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileEntry {
        path: name.to_string(),
        sha256: hex::encode(hash.finalize()),
        bytes,
    })
}

/// The manifest of `pack`, whose written files are `files`.
pub fn render(pack: &Pack, files: &[FileEntry]) -> serde_json::Result<String> {
    let m = &pack.meta;
    let doc = Manifest {
        tool: "residual",
        tool_version: &m.tool_version,
        generated_at: time(&m.generated_at),
        organisation: m.organisation.as_deref(),
        period: PeriodDoc {
            since: m.period.since.map(|t| time(&t)),
            until: m.period.until.map(|t| time(&t)),
        },
        employees: &m.employees,
        config_sha256: m.config_digest.as_deref(),
        store_sha256: m.store_digest.as_deref(),
        hr_snapshots: m
            .snapshots
            .iter()
            .map(|s| SnapshotDoc {
                id: s.id,
                as_of: s.as_of.clone(),
                imported_at: s.imported_at.clone(),
                format: s.format.clone(),
                sha256: s.digest.clone(),
                people: s.people,
            })
            .collect(),
        runs: pack
            .runs
            .iter()
            .map(|r| RunDoc {
                id: r.id,
                scanner: r.scanner.clone(),
                system: r.system.clone(),
                status: r.status.clone(),
                started_at: r.started_at.clone(),
                finished_at: r.finished_at.clone(),
                input_digest: pack
                    .run_entries
                    .get(&r.id)
                    .and_then(|e| e.input_digest.clone()),
                accounts: r.accounts,
                credentials: r.credentials,
                grants: r.grants,
                errors: r.errors.len(),
            })
            .collect(),
        audit_head: audit_log::head_line(pack),
        files,
    };
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}
