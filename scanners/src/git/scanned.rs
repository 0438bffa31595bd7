//! What a scan of blobs read and found ([`Scanned`]), and the one decision taken per blob before
//! the matcher sees it ([`skip_reason`]): its own file so that the readers that fill it — the
//! pack walks ([`super::packs`]), reads by id ([`super::blobs`]) and the working tree — depend on
//! it and not on each other.

use super::{BlobMatcher, Oid, SecretHit, BINARY_SNIFF_BYTES};
use gix::ObjectId;

/// Why a blob was not handed to the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    Binary,
    Large,
}

/// Decides whether `bytes` are scanned: not when binary (a NUL in the first
/// [`BINARY_SNIFF_BYTES`]) or larger than `max_bytes`.
pub(crate) fn skip_reason(bytes: &[u8], max_bytes: u64) -> Option<Skip> {
    if bytes.len() as u64 > max_bytes {
        return Some(Skip::Large);
    }
    let head = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
    head.contains(&0).then_some(Skip::Binary)
}

/// What [`scan_blobs`] read and found.
#[derive(Default)]
pub(crate) struct Scanned {
    pub hits: Vec<(ObjectId, SecretHit)>,
    /// Blobs read (scanned or skipped by a limit) that the store may remember.
    pub read: Vec<Oid>,
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped_binary: u64,
    pub skipped_large: u64,
    pub missing: u64,
    /// Blobs a pack walk delivered (scanned or skipped by a limit).
    pub walked: u64,
}

impl Scanned {
    pub(crate) fn add(&mut self, other: Scanned) {
        self.hits.extend(other.hits);
        self.read.extend(other.read);
        self.blobs_scanned += other.blobs_scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.skipped_binary += other.skipped_binary;
        self.skipped_large += other.skipped_large;
        self.missing += other.missing;
        self.walked += other.walked;
    }

    /// Counts a skip or runs the matcher on `bytes`; returns the hits.
    pub(crate) fn scan(
        &mut self,
        path: Option<&str>,
        bytes: &[u8],
        max_bytes: u64,
        matcher: &dyn BlobMatcher,
    ) -> Vec<SecretHit> {
        match skip_reason(bytes, max_bytes) {
            Some(Skip::Large) => {
                self.skipped_large += 1;
                Vec::new()
            }
            Some(Skip::Binary) => {
                self.skipped_binary += 1;
                Vec::new()
            }
            None => {
                self.blobs_scanned += 1;
                self.bytes_scanned += bytes.len() as u64;
                matcher.scan(path, bytes)
            }
        }
    }
}
