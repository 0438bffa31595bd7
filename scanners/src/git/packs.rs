//! Reading blobs pack by pack, in the pack's own delta order, when a run reads most of a pack.
//!
//! Reading blobs one by one by id (what [`super::blobs`] does) resolves each delta through its
//! chain of bases; an LRU cache of bases saves most of the repeats, not all, and every read pays
//! an index lookup and a cache probe. A full-history scan reads nearly every blob of the
//! repository, so it is cheaper to let gix walk each pack's delta tree instead
//! (`gix_pack::index::File::traverse_with_index`): every object is inflated exactly once, each
//! delta is applied to a base that is already in memory, and the walk runs on all the run's
//! threads. The walk decodes trees and commits too (they are bases of one another), which is the
//! price: a pack the run needs only a little of is left to the by-id reader.
//!
//! A blob stored in two packs is claimed by whichever walk reaches it first and scanned once.
//! Blobs no walk delivered (loose objects, alternates, a pack that could not be opened or
//! walked) stay unclaimed, and the caller reads them by id, which also reports a damaged or
//! missing object as it always has: the walk changes the order of reading, never the result.

use super::scanned::Scanned;
use super::BlobMatcher;
use gix::odb::pack;
use gix::ObjectId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A pack is walked when the run reads at least this share of its objects (1/8). Blobs are
/// about a third of a typical pack's objects, so a full scan clears it by far and an incremental
/// run (a few hundred new blobs) stays with the by-id reader, which reads only those.
const WALK_WHEN_READING_ONE_IN: u64 = 8;

/// The blobs a run reads, with a flag per blob that says it was delivered (by a walk).
pub(crate) struct Claims<'a> {
    /// Blob id → position in the caller's work list.
    position: HashMap<ObjectId, usize>,
    claimed: Vec<AtomicBool>,
    /// The path each blob is matched under (empty: none), by position.
    paths: Vec<&'a str>,
}

impl<'a> Claims<'a> {
    /// The blobs to read, with the path each is matched under, in the caller's order.
    pub(crate) fn new(blobs: impl ExactSizeIterator<Item = (ObjectId, &'a str)>) -> Claims<'a> {
        let mut position = HashMap::with_capacity(blobs.len());
        let mut paths = Vec::with_capacity(blobs.len());
        for (i, (id, path)) in blobs.enumerate() {
            position.insert(id, i);
            paths.push(path);
        }
        let claimed = (0..paths.len()).map(|_| AtomicBool::new(false)).collect();
        Claims {
            position,
            claimed,
            paths,
        }
    }

    /// Whether the blob at `position` was delivered by a walk.
    pub(crate) fn is_claimed(&self, position: usize) -> bool {
        self.claimed[position].load(Ordering::Relaxed)
    }

    /// Takes the blob `id` for scanning: its path, unless it is not wanted or already taken.
    fn claim(&self, id: &ObjectId) -> Option<&'a str> {
        let &at = self.position.get(id)?;
        (!self.claimed[at].swap(true, Ordering::Relaxed)).then_some(self.paths[at])
    }

    /// How many of the wanted blobs `index` holds.
    fn wanted_in(&self, index: &pack::index::File) -> u64 {
        self.position
            .keys()
            .filter(|id| index.lookup(id.as_ref()).is_some())
            .count() as u64
    }
}

/// The pack index files of the repository whose object directory is `objects`, largest pack
/// first (the walk of the big pack is where the time goes; small packs may not qualify).
pub(crate) fn pack_indexes(objects: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(objects.join("pack")) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .map(|p| (std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0), p))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().map(|(_, p)| p).collect()
}

/// Walks every pack of `indexes` that the run reads enough of, scanning each wanted blob as the
/// walk decodes it; counts and hits go to `out`. `on_blob` is told each blob delivered, with the
/// bytes it scanned. A pack that cannot be opened or walked is skipped: its blobs stay unclaimed.
pub(crate) fn scan_packs(
    indexes: &[PathBuf],
    claims: &Claims<'_>,
    threads: usize,
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
    out: &Mutex<Scanned>,
    on_blob: &(dyn Fn(u64) + Sync),
) -> PackWalks {
    let mut walks = PackWalks::default();
    for idx in indexes {
        let Ok(bundle) = pack::Bundle::at(idx, gix::hash::Kind::Sha1) else {
            walks.unreadable += 1;
            continue;
        };
        let wanted = claims.wanted_in(&bundle.index);
        if wanted == 0 || wanted * WALK_WHEN_READING_ONE_IN < u64::from(bundle.index.num_objects())
        {
            continue;
        }
        let walked = bundle.index.traverse_with_index(
            &bundle.pack,
            |kind, data, entry, _progress| {
                if kind == gix::objs::Kind::Blob {
                    if let Some(path) = claims.claim(&entry.oid) {
                        scan_delivered(entry.oid, path, data, max_bytes, matcher, out, on_blob);
                    }
                }
                Ok(())
            },
            &mut gix::progress::Discard,
            &AtomicBool::new(false),
            pack::index::traverse::with_index::Options {
                thread_limit: Some(threads.max(1)),
                check: pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerification,
                alloc_limit_bytes: None,
            },
        );
        match walked {
            Ok(_) => walks.walked += 1,
            Err(_) => walks.unreadable += 1,
        }
    }
    walks
}

/// What [`scan_packs`] did, for the statistics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PackWalks {
    /// Packs walked to the end.
    pub walked: u64,
    /// Packs that could not be opened or walked (their blobs were read by id instead).
    pub unreadable: u64,
}

/// Scans one blob a walk delivered, accumulating into the shared [`Scanned`] only when there is
/// something to add beyond counts (the lock is taken once per blob, never while matching).
fn scan_delivered(
    id: ObjectId,
    path: &str,
    data: &[u8],
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
    out: &Mutex<Scanned>,
    on_blob: &(dyn Fn(u64) + Sync),
) {
    let mut one = Scanned {
        walked: 1,
        ..Scanned::default()
    };
    let path = (!path.is_empty()).then_some(path);
    let hits = one.scan(path, data, max_bytes, matcher);
    one.hits.extend(hits.into_iter().map(|hit| (id, hit)));
    on_blob(one.bytes_scanned);
    // A poisoned lock means another walker thread panicked; the walk reports that, and the
    // counts gathered so far are still right.
    out.lock().unwrap_or_else(|e| e.into_inner()).add(one);
}
