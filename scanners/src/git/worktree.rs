//! What is not in history yet: the index (staged content) and the working tree's tracked files.
//!
//! Staged blobs are already objects, so they join the history blobs and are read the same way,
//! attributed to the index. A tracked file whose content differs from its staged blob is read
//! from disk and scanned here, attributed to the working tree. Untracked files are not read:
//! finding them needs `.gitignore` handling, and a file nobody staged cannot be committed by
//! the push a gate is checking.

use super::history::{Context, Source};
use super::scanned::Scanned;
use super::{BlobMatcher, GitError, KnownObjects, Oid, SecretHit};
use gix::ObjectId;
use std::collections::HashMap;

/// Adds the index's blobs that history does not already hold to `blobs`.
pub(crate) fn add_index_blobs(
    ctx: &Context,
    repo: &gix::Repository,
    blobs: &mut HashMap<ObjectId, Vec<Source>>,
) -> Result<(), GitError> {
    if repo.workdir().is_none() {
        return Ok(());
    }
    let index = repo.index_or_empty().map_err(|e| GitError::Index {
        path: ctx.path.clone(),
        source: Box::new(e),
    })?;
    for entry in index.entries() {
        if entry.mode.is_submodule() || entry.mode.is_sparse() {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(vacant) = blobs.entry(entry.id) {
            vacant.insert(vec![Source::Index {
                path: entry.path(&index).to_string(),
            }]);
        }
    }
    Ok(())
}

/// A secret found in a working-tree file.
pub(crate) struct FileHit {
    pub blob: Oid,
    pub path: String,
    pub secret: SecretHit,
}

/// Scans the tracked files of the working tree whose content is in neither `blobs` nor `known`.
pub(crate) fn scan_files(
    ctx: &Context,
    repo: &gix::Repository,
    blobs: &HashMap<ObjectId, Vec<Source>>,
    known: &KnownObjects,
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
    counts: &mut Scanned,
) -> Result<Vec<FileHit>, GitError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(Vec::new());
    };
    let index = repo.index_or_empty().map_err(|e| GitError::Index {
        path: ctx.path.clone(),
        source: Box::new(e),
    })?;
    let mut hits = Vec::new();
    for entry in index.entries() {
        if entry.mode.is_submodule() || entry.mode.is_sparse() || entry.stage_raw() != 0 {
            continue;
        }
        let rela = entry.path(&index).to_string();
        let file = workdir.join(&rela);
        let metadata = match std::fs::symlink_metadata(&file) {
            Ok(m) if m.is_file() => m,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(GitError::WorkingTree {
                    path: ctx.path.clone(),
                    file,
                    source,
                })
            }
        };
        if metadata.len() > max_bytes {
            counts.skipped_large += 1;
            continue;
        }
        let bytes = std::fs::read(&file).map_err(|source| GitError::WorkingTree {
            path: ctx.path.clone(),
            file: file.clone(),
            source,
        })?;
        let Ok(id) = gix::objs::compute_hash(repo.object_hash(), gix::object::Kind::Blob, &bytes)
        else {
            continue;
        };
        if id == entry.id || blobs.contains_key(&id) || known.blobs.contains(&Oid::from_gix(&id)) {
            continue;
        }
        for secret in counts.scan(Some(&rela), &bytes, max_bytes, matcher) {
            hits.push(FileHit {
                blob: Oid::from_gix(&id),
                path: rela.clone(),
                secret,
            });
        }
    }
    Ok(hits)
}
