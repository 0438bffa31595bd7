//! The git scanner: secrets in a repository's full history, tied to the commits and authors that
//! introduced them.
//!
//! A scan has four steps, each in its own module:
//!
//! 1. [`history`]: list every reference (branches, tags, remotes, pull-request refs, stash),
//!    peel each to its commit, and walk all commits reachable from them once.
//! 2. [`history`] again: for each commit, find the blobs it *introduced*: the `(path, blob)`
//!    entries of its tree that equal the entry at the same path in none of its parents. The walk
//!    descends only into subtrees that differ from every parent's, so an unchanged directory
//!    costs one id comparison, and a merge is charged only for what no parent had (conflict
//!    resolutions), not for the branch it brings in.
//! 3. [`blobs`]: read each distinct blob once, in parallel, skip binaries (a NUL byte in the
//!    first 8 KiB) and blobs over [`GitScanOptions::max_blob_bytes`], and hand the rest to a
//!    [`BlobMatcher`].
//! 4. [`report`]: turn matches into observations: one `Account` per commit author (after
//!    `.mailmap`), one `Credential` per secret fingerprint, owned by the author of its earliest
//!    introducing commit.
//!
//! Every blob that is reachable in some commit's tree is introduced by at least one reachable
//! commit (a root commit introduces its whole tree), so step 2 both enumerates every reachable
//! blob and attributes it: no separate object enumeration is needed.
//!
//! Incremental runs: pass the commits and blobs a previous complete run covered in
//! [`GitScanOptions::known`]. The walk stops at known commits and reads only blobs that are not
//! known, so a run with no new commits reads the references and nothing else. Its report holds
//! only what the new objects show: the caller keeps the earlier observations (see
//! [`GitScan::incremental`]).

mod blobs;
mod history;
mod matcher;
mod packs;
mod report;
mod scanned;
mod worktree;

pub use matcher::{BlobMatcher, SecretHit};
pub use report::{HISTORY, WORKTREE};

use crate::ScanReport;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Blobs larger than this are not read (10 MiB), unless [`GitScanOptions::max_blob_bytes`] says
/// otherwise. Generated files and vendored archives live there; secrets rarely do.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 10 * 1024 * 1024;

/// How many leading bytes of a blob are searched for a NUL byte to call it binary.
pub const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// How many introductions of one blob are kept (the earliest by author time), unless
/// [`GitScanOptions::max_provenance`] says otherwise.
pub const DEFAULT_MAX_PROVENANCE: usize = 8;

/// A git object id (SHA-1), shown and parsed as 40 hex digits. Used for the blob and commit ids
/// that the store remembers between runs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// The 40 lowercase hex digits of the id.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(40);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    fn from_gix(id: &gix::oid) -> Oid {
        let mut out = [0u8; 20];
        let bytes = id.as_bytes();
        let n = bytes.len().min(20);
        out[..n].copy_from_slice(&bytes[..n]);
        Oid(out)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.to_hex())
    }
}

/// The text is not 40 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a git object id (40 hex digits)")]
pub struct OidParseError(pub String);

impl FromStr for Oid {
    type Err = OidParseError;

    fn from_str(s: &str) -> Result<Oid, OidParseError> {
        let bad = || OidParseError(s.to_string());
        let s = s.trim();
        if s.len() != 40 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 20];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Oid(out))
    }
}

impl Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Oid, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What earlier complete runs of this repository already covered.
#[derive(Debug, Clone, Default)]
pub struct KnownObjects {
    /// Commits whose introductions were attributed. The walk stops at them: their ancestors are
    /// taken as known too, which holds when the store records the commits of complete runs only.
    pub commits: HashSet<Oid>,
    /// Blobs already read (scanned, or skipped as binary or too large). They are not read again.
    pub blobs: HashSet<Oid>,
}

impl KnownObjects {
    /// True when nothing is known: the run is a full scan.
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty() && self.blobs.is_empty()
    }
}

/// How to scan one repository. `Default` gives a full scan of history with the default limits.
#[derive(Debug, Clone)]
pub struct GitScanOptions {
    /// Blobs larger than this many bytes are skipped and counted in [`GitStats::skipped_large`].
    /// A matcher may have a limit of its own (the secrets engine's is 16 MiB); the smaller wins.
    pub max_blob_bytes: u64,
    /// Also scan the index (staged content) and the tracked files of the working tree that differ
    /// from it, for the gate and pre-commit use. Untracked files are not read.
    pub include_worktree: bool,
    /// Worker threads for tree walking and blob scanning; 0 means one per available core.
    pub threads: usize,
    /// Walk the packs a run reads much of in their own delta order (each object inflated once,
    /// see `benches/git_scan.md`); `false` reads every blob by id. The result is the same
    /// either way; the switch exists to measure one against the other.
    pub walk_packs: bool,
    /// Introductions kept per blob (the earliest by author time).
    pub max_provenance: usize,
    /// Objects earlier runs covered; empty for a full scan.
    pub known: KnownObjects,
    /// The name the system is filed under (`git:<name>`); defaults to the repository directory's
    /// name.
    pub name: Option<String>,
    /// Told how the scan is going (phases, then blobs read), for a progress line on long scans.
    pub progress: Option<Progress>,
}

/// How far a running scan has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitProgress {
    /// References listed and history walked: `commits` new commits to attribute.
    Walked { commits: u64 },
    /// Introductions found: `blobs` blobs to read (known ones excluded).
    Attributed { blobs: u64 },
    /// `done` of `total` blobs read so far, `bytes` of them scanned.
    Reading { done: u64, total: u64, bytes: u64 },
}

/// A receiver of [`GitProgress`], called from the scanning threads: once per phase, and while
/// blobs are read at most once per `every`.
#[derive(Clone)]
pub struct Progress {
    every: std::time::Duration,
    report: std::sync::Arc<dyn Fn(GitProgress) + Send + Sync>,
}

impl Progress {
    /// Calls `report` with the phases, and with the blobs read at most once per `every`.
    pub fn new(
        every: std::time::Duration,
        report: impl Fn(GitProgress) + Send + Sync + 'static,
    ) -> Progress {
        Progress {
            every,
            report: std::sync::Arc::new(report),
        }
    }

    pub(crate) fn report(&self, progress: GitProgress) {
        (self.report)(progress)
    }

    pub(crate) fn every(&self) -> std::time::Duration {
        self.every
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Progress {{ every: {:?} }}", self.every)
    }
}

impl Default for GitScanOptions {
    fn default() -> GitScanOptions {
        GitScanOptions {
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
            include_worktree: false,
            threads: 0,
            walk_packs: true,
            max_provenance: DEFAULT_MAX_PROVENANCE,
            known: KnownObjects::default(),
            name: None,
            progress: None,
        }
    }
}

/// A commit that introduced a blob, with its author after `.mailmap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// The commit id.
    pub id: Oid,
    /// Author name after `.mailmap`.
    pub author_name: String,
    /// Author email after `.mailmap`, as written.
    pub author_email: String,
    /// The account the author is observed as: [`CommitInfo::author_email`] lowercased.
    pub account: String,
    /// The email in the commit itself, when `.mailmap` replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_email: Option<String>,
    /// Author time (when the secret was written, as far as git knows).
    pub time: DateTime<Utc>,
}

/// Where a blob was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// Introduced by this commit.
    Commit(CommitInfo),
    /// Staged in the index, not committed.
    Index,
    /// A tracked file of the working tree whose content differs from the index.
    WorkingTree,
    /// Pointed at by a reference (directly or through a tag) rather than by a commit.
    Reference {
        /// The full reference name (`refs/tags/...`).
        name: String,
    },
}

/// One place a blob was introduced: where and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The commit, or the other place, the blob came from.
    pub origin: Origin,
    /// Path of the blob in its tree (`/`-separated), if it has one.
    pub path: Option<String>,
}

impl Provenance {
    /// The introducing commit, when the blob came from history.
    pub fn commit(&self) -> Option<&CommitInfo> {
        match &self.origin {
            Origin::Commit(c) => Some(c),
            _ => None,
        }
    }
}

/// One secret in one blob, with every recorded introduction of that blob (earliest first, at
/// most [`GitScanOptions::max_provenance`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The blob the secret is in (for working-tree files, the id its content would have).
    pub blob: Oid,
    /// What the matcher found, without the secret's value.
    pub secret: SecretHit,
    /// Where the blob was introduced, earliest first; never empty.
    pub provenance: Vec<Provenance>,
}

/// Counts of what a scan read and skipped; also what the benchmark reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitStats {
    /// References listed (symbolic ones excluded).
    pub refs: u64,
    /// Commits walked (not known from earlier runs).
    pub commits: u64,
    /// `(commit, path, blob)` introductions found by the tree walk.
    pub introductions: u64,
    /// Distinct blobs reachable from the walked commits (before removing known ones).
    pub blobs_seen: u64,
    /// Blobs skipped because an earlier run read them.
    pub blobs_known: u64,
    /// Blobs handed to the matcher.
    pub blobs_scanned: u64,
    /// Bytes handed to the matcher.
    pub bytes_scanned: u64,
    /// Blobs delivered by walking a pack in its own delta order (each object inflated once);
    /// the other blobs read were read by id. A full scan of a packed repository walks; an
    /// incremental one, reading little of any pack, does not.
    #[serde(default)]
    pub blobs_walked: u64,
    /// Blobs skipped as binary (a NUL byte in the first [`BINARY_SNIFF_BYTES`]).
    pub skipped_binary: u64,
    /// Blobs skipped as larger than the limit.
    pub skipped_large: u64,
    /// Objects a commit or tree names that the repository does not hold (shallow or damaged).
    pub missing_objects: u64,
    /// Matches, suppressed ones included.
    pub hits: u64,
    /// Matches an allowlist suppressed.
    pub hits_suppressed: u64,
    /// Milliseconds spent listing refs and walking commits.
    pub walk_ms: u64,
    /// Milliseconds spent finding introductions (tree walks).
    pub attribute_ms: u64,
    /// Milliseconds spent reading and scanning blobs.
    pub scan_ms: u64,
}

/// Everything one scan of one repository produced.
#[derive(Debug, Clone)]
pub struct GitScan {
    /// The observations, for the store and the rules.
    pub report: ScanReport,
    /// Every match with its provenance, suppressed ones included, for the gate and SARIF.
    pub hits: Vec<Hit>,
    /// What the run read and skipped.
    pub stats: GitStats,
    /// Blobs read in this run (scanned or skipped by a limit): what the store should add to
    /// [`KnownObjects::blobs`].
    pub new_blobs: Vec<Oid>,
    /// Commits walked in this run: what the store should add to [`KnownObjects::commits`].
    pub new_commits: Vec<Oid>,
    /// Every blob reachable from the references, on full runs only. `None` when incremental:
    /// knowing it needs the full commit walk and tree comparison that an incremental run exists
    /// to avoid (about 2.5 s of wall time on rust-lang/cargo, see `benches/git_scan.md`);
    /// run a full scan (empty [`GitScanOptions::known`]) to refresh it.
    pub reachable_blobs: Option<Vec<Oid>>,
    /// True when [`GitScanOptions::known`] was not empty: the report then holds only what new
    /// objects show, and absence from it proves nothing about older findings.
    pub incremental: bool,
}

impl GitScan {
    /// The secrets an inline `residual:allow` suppressed, as the credentials they would have
    /// been (attribute `suppressed` says why). Not observations: for reporting what is hidden.
    pub fn suppressed_credentials(&self) -> Vec<crate::Credential> {
        report::suppressed_credentials(&self.hits)
    }
}

/// A repository could not be scanned. Each variant names the repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is no repository (nor inside one), or gix could not open it.
    #[error("{path}: not a git repository, or it could not be opened: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: Box<gix::Error>,
    },
    /// The references could not be listed (damaged `packed-refs`, unreadable `refs/`).
    #[error("{path}: could not list references: {source}")]
    References {
        path: PathBuf,
        #[source]
        source: Box<gix::Error>,
    },
    /// An object exists but could not be read or decoded (a damaged pack).
    #[error("{path}: could not read object {id}: {source}")]
    Object {
        path: PathBuf,
        id: String,
        #[source]
        source: Box<gix::Error>,
    },
    /// The index could not be read (only with [`GitScanOptions::include_worktree`]).
    #[error("{path}: could not read the index: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: Box<gix::Error>,
    },
    /// A tracked file of the working tree could not be read.
    #[error("{path}: could not read working-tree file {file}: {source}")]
    WorkingTree {
        path: PathBuf,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A worker thread panicked (a bug; the matcher is the usual suspect).
    #[error("{path}: a scanning thread panicked")]
    Thread { path: PathBuf },
}

/// Scans the repository at `path` (a working tree, a `.git` directory or a bare repository) and
/// returns its observations as a [`ScanReport`] (scanner `git`, system `git:<name>`).
///
/// Cost: on a full run, one tree walk over all history plus one read of every distinct blob (see
/// `benches/git_scan.md`); on an incremental run, only the new commits and blobs.
pub fn scan(
    path: &Path,
    options: &GitScanOptions,
    matcher: &dyn BlobMatcher,
) -> Result<ScanReport, GitError> {
    scan_repository(path, options, matcher).map(|scan| scan.report)
}

/// Scans the repository at `path` and returns the observations together with every match and
/// its provenance, the run's statistics and the ids the store should remember.
///
/// Four phases, each timed into [`GitStats`]: walk the commits not known from earlier runs, find
/// the blobs each one introduced, read and match those blobs (and the working tree), then turn
/// the matches into observations.
pub fn scan_repository(
    path: &Path,
    options: &GitScanOptions,
    matcher: &dyn BlobMatcher,
) -> Result<GitScan, GitError> {
    let started_at = Utc::now();
    let opened = open(path, options)?;
    let mut stats = GitStats::default();
    let walk = walk_history(&opened, options, &mut stats)?;
    let attribution = attribute(&opened, &walk, &mut stats)?;
    let repo = opened.sync.to_thread_local();
    let (blobs, reachable_blobs) =
        blobs_to_read(&opened.ctx, &repo, attribution.blobs, options, &mut stats)?;
    let (scanned, file_hits) = read_blobs(
        &opened.ctx,
        &opened.sync,
        &repo,
        &blobs,
        &walk,
        options,
        matcher,
        &mut stats,
    )?;
    let hits = attach_provenance(
        scanned.hits,
        file_hits,
        &blobs,
        &walk,
        &attribution.authors,
        &attribution.commit_authors,
        options.max_provenance,
    );
    count_hits(&hits, &mut stats);
    let report = build_report(
        &opened,
        &walk,
        &attribution.authors,
        &hits,
        &stats,
        started_at,
    );
    Ok(GitScan {
        report,
        hits,
        stats,
        new_blobs: scanned.read,
        new_commits: walk.commits.iter().map(|c| Oid::from_gix(&c.id)).collect(),
        reachable_blobs,
        incremental: !options.known.is_empty(),
    })
}

/// The repository as the steps of a scan share it.
struct Opened {
    ctx: history::Context,
    sync: gix::ThreadSafeRepository,
    mailmap: gix::mailmap::Snapshot,
    /// What the system is filed under (`git:<name>`).
    name: String,
    shallow: bool,
}

/// Step 0: opens the repository at `path` and reads what the later steps need of its
/// configuration (`.mailmap`, shallowness, its name).
fn open(path: &Path, options: &GitScanOptions) -> Result<Opened, GitError> {
    let repo = gix::discover(path).map_err(|e| GitError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(Opened {
        ctx: history::Context {
            path: path.to_path_buf(),
            threads: thread_count(options.threads),
            walk_packs: options.walk_packs,
        },
        mailmap: repo.open_mailmap(),
        name: options
            .name
            .clone()
            .unwrap_or_else(|| repository_name(&repo, path)),
        shallow: repo.is_shallow().unwrap_or(false),
        sync: repo.into_sync(),
    })
}

/// Step 1: lists the references and walks the commits not known from earlier runs; timed into
/// `stats`.
fn walk_history(
    opened: &Opened,
    options: &GitScanOptions,
    stats: &mut GitStats,
) -> Result<history::Walk, GitError> {
    let clock = std::time::Instant::now();
    let walk = history::walk(&opened.ctx, &opened.sync, &options.known)?;
    stats.refs = walk.refs;
    stats.commits = walk.commits.len() as u64;
    stats.missing_objects += walk.missing;
    stats.walk_ms = clock.elapsed().as_millis() as u64;
    if let Some(p) = &options.progress {
        p.report(GitProgress::Walked {
            commits: stats.commits,
        });
    }
    Ok(walk)
}

/// Step 2: finds the blobs each walked commit introduced, and their authors; timed into `stats`.
fn attribute(
    opened: &Opened,
    walk: &history::Walk,
    stats: &mut GitStats,
) -> Result<history::Attribution, GitError> {
    let clock = std::time::Instant::now();
    let attribution = history::introductions(&opened.ctx, &opened.sync, walk, &opened.mailmap)?;
    stats.introductions = attribution.introductions;
    stats.missing_objects += attribution.missing;
    stats.attribute_ms = clock.elapsed().as_millis() as u64;
    Ok(attribution)
}

/// Counts the hits, and those suppressed, into `stats`.
fn count_hits(hits: &[Hit], stats: &mut GitStats) {
    stats.hits = hits.len() as u64;
    stats.hits_suppressed = hits
        .iter()
        .filter(|h| h.secret.suppressed.is_some())
        .count() as u64;
}

/// Step 4: the observations: one account per author, one credential per secret.
fn build_report(
    opened: &Opened,
    walk: &history::Walk,
    authors: &[history::Author],
    hits: &[Hit],
    stats: &GitStats,
    started_at: DateTime<Utc>,
) -> ScanReport {
    report::build(report::Input {
        system: format!("git:{}", opened.name),
        input_digest: Some(format!("ref-tips-sha256:{}", walk.tips_digest)),
        started_at,
        misses: missing_objects_miss(stats.missing_objects, opened.shallow)
            .into_iter()
            .collect(),
        authors,
        hits,
        calls: stats.commits + stats.blobs_scanned,
    })
}

/// The blobs this run reads: those history introduced (plus the index's, with the working
/// tree), less those an earlier run read; and, on a full run, every blob history reaches (what
/// the store keeps as the reachable set).
fn blobs_to_read(
    ctx: &history::Context,
    repo: &gix::Repository,
    mut blobs: HashMap<gix::ObjectId, Vec<history::Source>>,
    options: &GitScanOptions,
    stats: &mut GitStats,
) -> Result<BlobsToRead, GitError> {
    let reachable_blobs = options
        .known
        .is_empty()
        .then(|| blobs.keys().map(|id| Oid::from_gix(id)).collect());
    if options.include_worktree {
        worktree::add_index_blobs(ctx, repo, &mut blobs)?;
    }
    stats.blobs_seen = blobs.len() as u64;
    let before = blobs.len();
    blobs.retain(|id, _| !options.known.blobs.contains(&Oid::from_gix(id)));
    stats.blobs_known = (before - blobs.len()) as u64;
    if let Some(p) = &options.progress {
        p.report(GitProgress::Attributed {
            blobs: blobs.len() as u64,
        });
    }
    Ok((blobs, reachable_blobs))
}

/// What [`blobs_to_read`] returns: the blobs with their introductions, and the reachable set.
type BlobsToRead = (
    HashMap<gix::ObjectId, Vec<history::Source>>,
    Option<Vec<Oid>>,
);

/// Step 3: reads and matches `blobs`, then (with the working tree) the files that differ from
/// the index; counts what was read and skipped, and the time it took, into `stats`.
#[allow(clippy::too_many_arguments)] // the phase's inputs, passed through unchanged
fn read_blobs(
    ctx: &history::Context,
    sync: &gix::ThreadSafeRepository,
    repo: &gix::Repository,
    blobs: &HashMap<gix::ObjectId, Vec<history::Source>>,
    walk: &history::Walk,
    options: &GitScanOptions,
    matcher: &dyn BlobMatcher,
    stats: &mut GitStats,
) -> Result<(scanned::Scanned, Vec<worktree::FileHit>), GitError> {
    let clock = std::time::Instant::now();
    let commit_times: Vec<i64> = walk.commits.iter().map(|c| c.time).collect();
    let mut scanned = blobs::scan_blobs(
        ctx,
        sync,
        blobs,
        &commit_times,
        options.max_blob_bytes,
        matcher,
        options.progress.as_ref(),
    )?;
    let file_hits = if options.include_worktree {
        worktree::scan_files(
            ctx,
            repo,
            blobs,
            &options.known,
            options.max_blob_bytes,
            matcher,
            &mut scanned,
        )?
    } else {
        Vec::new()
    };
    stats.blobs_scanned = scanned.blobs_scanned;
    stats.bytes_scanned = scanned.bytes_scanned;
    stats.blobs_walked = scanned.walked;
    stats.skipped_binary = scanned.skipped_binary;
    stats.skipped_large = scanned.skipped_large;
    stats.missing_objects += scanned.missing;
    stats.scan_ms = clock.elapsed().as_millis() as u64;
    Ok((scanned, file_hits))
}

/// The history unit's miss when objects named by history are missing. A shallow clone is not
/// one: the caller checks shallowness whatever objects are missing and says so itself.
fn missing_objects_miss(missing: u64, shallow: bool) -> Option<crate::coverage::Miss> {
    (missing > 0 && !shallow).then(|| {
        crate::coverage::Miss::new(
            report::HISTORY,
            crate::coverage::MissClass::Error,
            format!("{missing} objects named by history are missing from the repository"),
        )
    })
}

/// Turns `(blob, secret)` pairs into [`Hit`]s with the blob's introductions, earliest first.
fn attach_provenance(
    blob_hits: Vec<(gix::ObjectId, SecretHit)>,
    file_hits: Vec<worktree::FileHit>,
    blobs: &HashMap<gix::ObjectId, Vec<history::Source>>,
    walk: &history::Walk,
    authors: &[history::Author],
    commit_authors: &[history::CommitAuthor],
    max_provenance: usize,
) -> Vec<Hit> {
    let mut cache: HashMap<gix::ObjectId, Vec<Provenance>> = HashMap::new();
    let mut hits = Vec::with_capacity(blob_hits.len() + file_hits.len());
    for (blob, secret) in blob_hits {
        let provenance = cache
            .entry(blob)
            .or_insert_with(|| {
                let sources = blobs.get(&blob).map(Vec::as_slice).unwrap_or(&[]);
                provenance(sources, walk, authors, commit_authors, max_provenance)
            })
            .clone();
        hits.push(Hit {
            blob: Oid::from_gix(&blob),
            secret,
            provenance,
        });
    }
    for file in file_hits {
        hits.push(Hit {
            blob: file.blob,
            secret: file.secret,
            provenance: vec![Provenance {
                origin: Origin::WorkingTree,
                path: Some(file.path),
            }],
        });
    }
    hits.sort_by(|a, b| {
        let key = |h: &Hit| {
            h.provenance
                .first()
                .and_then(|p| p.commit().map(|c| c.time))
        };
        (key(a), a.blob, a.secret.line, a.secret.column).cmp(&(
            key(b),
            b.blob,
            b.secret.line,
            b.secret.column,
        ))
    });
    hits
}

/// The introductions of one blob: commits first, by author time, then references and the
/// index; at most `max` of them, duplicates of the same commit and path removed.
fn provenance(
    sources: &[history::Source],
    walk: &history::Walk,
    authors: &[history::Author],
    commit_authors: &[history::CommitAuthor],
    max: usize,
) -> Vec<Provenance> {
    let mut sorted: Vec<&history::Source> = sources.iter().collect();
    let key = |s: &history::Source| match s {
        history::Source::Commit { commit, .. } => {
            (0u8, walk.commits[*commit as usize].time, *commit)
        }
        history::Source::Reference { .. } => (1, 0, 0),
        history::Source::Index { .. } => (2, 0, 0),
    };
    sorted.sort_by_key(|s| (key(s), s.path().map(str::to_string)));
    sorted.dedup_by(|a, b| key(a) == key(b) && a.path() == b.path());
    sorted
        .into_iter()
        .take(max.max(1))
        .map(|source| match source {
            history::Source::Commit { commit, path } => {
                let walked = &walk.commits[*commit as usize];
                let author = &commit_authors[*commit as usize];
                Provenance {
                    origin: Origin::Commit(CommitInfo {
                        id: Oid::from_gix(&walked.id),
                        author_name: author.name.clone(),
                        author_email: author.email.clone(),
                        account: authors[author.author as usize].email.clone(),
                        original_email: author.original_email.clone(),
                        time: DateTime::from_timestamp(walked.time, 0).unwrap_or_default(),
                    }),
                    path: Some(path.clone()),
                }
            }
            history::Source::Reference { name, path } => Provenance {
                origin: Origin::Reference { name: name.clone() },
                path: path.clone(),
            },
            history::Source::Index { path } => Provenance {
                origin: Origin::Index,
                path: Some(path.clone()),
            },
        })
        .collect()
}

fn thread_count(requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The directory name of the repository (its working tree, or the bare directory without `.git`).
fn repository_name(repo: &gix::Repository, fallback: &Path) -> String {
    let dir = repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo.git_dir().to_path_buf());
    let dir = if dir.file_name().is_some_and(|n| n == ".git") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    };
    let name = dir
        .canonicalize()
        .unwrap_or(dir)
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
        .unwrap_or_default();
    if name.is_empty() {
        fallback.display().to_string()
    } else {
        name
    }
}

/// Whether the repository at `path` is a shallow clone (the GitHub Actions checkout default):
/// its history stops at the shallow boundary, so a scan of it cannot vouch for what came before.
pub fn is_shallow(path: &Path) -> Result<bool, GitError> {
    let repo = gix::discover(path).map_err(|e| GitError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(repo.common_dir().join("shallow").is_file())
}

/// Every commit reachable from `rev` (a branch, tag or commit id): what `gate --since REV` treats
/// as already reviewed, so only the commits of a push or pull request are read.
pub fn commits_reachable(path: &Path, rev: &str) -> Result<HashSet<Oid>, GitError> {
    let repo = gix::discover(path).map_err(|e| GitError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let object = |e: gix::Error| GitError::Object {
        path: path.to_path_buf(),
        id: rev.to_string(),
        source: Box::new(e),
    };
    let id = repo
        .rev_parse_single(rev)
        .map_err(&object)?
        .object()
        .map_err(&object)?
        .peel_to_commit()
        .map_err(&object)?
        .id;
    let walk = repo.rev_walk([id]).all().map_err(&object)?;
    let mut out = HashSet::new();
    for info in walk {
        let info = info.map_err(&object)?;
        out.insert(Oid::from_gix(info.id.as_ref()));
    }
    Ok(out)
}

/// Whether the working tree's copy of `file` (a path from the repository root) differs from its
/// content at `rev`: added, changed or removed since. A revision this repository does not have is
/// an error; a file absent from both is unchanged.
pub fn file_differs_from(path: &Path, rev: &str, file: &str) -> Result<bool, GitError> {
    let repo = gix::discover(path).map_err(|e| GitError::Open {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let then = match repo.rev_parse_single(format!("{rev}:{file}").as_str()) {
        Ok(id) => {
            let object = id.object().map_err(|e| GitError::Object {
                path: path.to_path_buf(),
                id: format!("{rev}:{file}"),
                source: Box::new(e),
            })?;
            Some(object.data.clone())
        }
        Err(_) => None,
    };
    let root = repo.workdir().unwrap_or(path);
    let now = std::fs::read(root.join(file)).ok();
    Ok(then != now)
}
