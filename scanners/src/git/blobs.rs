//! Reading blobs once each and handing them to the matcher, in parallel.
//!
//! Blobs are read in path order: git packs store the versions of one file as deltas of each
//! other, so neighbouring reads hit the pack's delta-base cache. Each thread takes a chunk of
//! neighbours at a time. A blob's size comes from its pack header before it is inflated, so a
//! blob over the limit costs no decompression.

use super::history::{Context, Source};
use super::packs;
use super::scanned::Scanned;
use super::{BlobMatcher, GitError, GitProgress, Oid, Progress};
use gix::objs::{Find, FindHeader};
use gix::ObjectId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Blobs handed to a thread at a time.
const BLOBS_PER_CHUNK: usize = 32;

/// One blob to read: the path it is matched under, its newest commit time (reversed, so that
/// sorting puts the newest first), its id and whether the store may remember it as read.
type WorkItem<'a> = (&'a str, std::cmp::Reverse<i64>, ObjectId, bool);

/// Reads every blob of `blobs` once, in parallel, and runs `matcher` on those within limits.
///
/// Packs the run reads much of are walked in their own delta order first ([`packs`]); what no
/// walk delivered is then read by id, neighbours together.
pub(crate) fn scan_blobs(
    ctx: &Context,
    sync: &gix::ThreadSafeRepository,
    blobs: &HashMap<ObjectId, Vec<Source>>,
    commit_times: &[i64],
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
    progress: Option<&Progress>,
) -> Result<Scanned, GitError> {
    let work = work_order(blobs, commit_times);
    let reading = progress.map(|progress| ReadProgress::new(progress, work.len() as u64));
    let claims = packs::Claims::new(work.iter().map(|&(path, _, id, _)| (id, path)));
    let walked = Mutex::new(Scanned::default());
    if ctx.walk_packs && !work.is_empty() {
        packs::scan_packs(
            &packs::pack_indexes(sync.objects_dir()),
            &claims,
            ctx.threads,
            max_bytes,
            matcher,
            &walked,
            &|bytes| {
                if let Some(reading) = &reading {
                    reading.chunk_done(1, bytes);
                }
            },
        );
    }
    let mut total = walked.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut rest = Vec::with_capacity(work.len());
    for (position, item) in work.iter().enumerate() {
        if !claims.is_claimed(position) {
            rest.push(*item);
        } else if item.3 {
            total.read.push(Oid::from_gix(&item.2));
        }
    }
    for output in read_by_id(ctx, sync, &rest, max_bytes, matcher, reading.as_ref()) {
        total.add(output?);
    }
    Ok(total)
}

/// Reads `work` blob by blob by id on `ctx.threads` threads, each taking a chunk of neighbours
/// at a time.
fn read_by_id(
    ctx: &Context,
    sync: &gix::ThreadSafeRepository,
    work: &[WorkItem<'_>],
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
    reading: Option<&ReadProgress<'_>>,
) -> Vec<Result<Scanned, GitError>> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..ctx.threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let repo = sync.to_thread_local();
                    let mut out = Scanned::default();
                    let mut buf = Vec::new();
                    loop {
                        let start = next.fetch_add(BLOBS_PER_CHUNK, Ordering::Relaxed);
                        if start >= work.len() {
                            break;
                        }
                        let end = (start + BLOBS_PER_CHUNK).min(work.len());
                        let bytes_before = out.bytes_scanned;
                        for &(path, _, id, durable) in &work[start..end] {
                            scan_one(
                                ctx,
                                &repo,
                                &mut out,
                                &mut buf,
                                (path, id),
                                max_bytes,
                                matcher,
                            )?;
                            if durable {
                                out.read.push(Oid::from_gix(&id));
                            }
                        }
                        if let Some(reading) = reading {
                            reading.chunk_done(end - start, out.bytes_scanned - bytes_before);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        ctx.join_all(handles)
    })
}

/// The order blobs are read in: by path, newest version of a path first. Packs store the newest
/// whole and older ones as deltas against it, so the base is in the delta cache when the deltas
/// come.
fn work_order<'a>(
    blobs: &'a HashMap<ObjectId, Vec<Source>>,
    commit_times: &[i64],
) -> Vec<WorkItem<'a>> {
    let mut work: Vec<WorkItem<'a>> = blobs
        .iter()
        .map(|(id, sources)| {
            let path = sources.iter().find_map(Source::path).unwrap_or("");
            let time = sources
                .iter()
                .filter_map(|s| match s {
                    Source::Commit { commit, .. } => commit_times.get(*commit as usize).copied(),
                    _ => None,
                })
                .max()
                .unwrap_or(i64::MAX);
            (
                path,
                std::cmp::Reverse(time),
                *id,
                sources.iter().any(Source::is_durable),
            )
        })
        .collect();
    work.sort_unstable();
    work
}

/// The blobs and bytes read so far by all threads, reported every [`Progress::every`].
struct ReadProgress<'a> {
    progress: &'a Progress,
    total: u64,
    done: AtomicU64,
    bytes: AtomicU64,
    last_report: Mutex<Instant>,
}

impl<'a> ReadProgress<'a> {
    fn new(progress: &'a Progress, total: u64) -> Self {
        ReadProgress {
            progress,
            total,
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_report: Mutex::new(Instant::now()),
        }
    }

    /// Counts a chunk of `blobs` blobs and `bytes` bytes read by one thread.
    fn chunk_done(&self, blobs: usize, bytes: u64) {
        let done = self.done.fetch_add(blobs as u64, Ordering::Relaxed) + blobs as u64;
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        // Whoever holds the clock reports and the others go on, except that the last chunk
        // always reports.
        let last = if done == self.total {
            self.last_report.lock().ok()
        } else {
            self.last_report.try_lock().ok()
        };
        if let Some(mut last) = last {
            if done == self.total || last.elapsed() >= self.progress.every() {
                *last = Instant::now();
                self.progress.report(GitProgress::Reading {
                    done,
                    total: self.total,
                    bytes,
                });
            }
        }
    }
}

fn scan_one(
    ctx: &Context,
    repo: &gix::Repository,
    out: &mut Scanned,
    buf: &mut Vec<u8>,
    (path, id): (&str, ObjectId),
    max_bytes: u64,
    matcher: &dyn BlobMatcher,
) -> Result<(), GitError> {
    let header = repo
        .objects
        .try_header(&id)
        .map_err(|e| ctx.object_error(&id, e))?;
    match header {
        None => {
            out.missing += 1;
            return Ok(());
        }
        Some(header) if header.size > max_bytes => {
            out.skipped_large += 1;
            return Ok(());
        }
        Some(_) => {}
    }
    let Some(data) = repo
        .objects
        .try_find(&id, buf)
        .map_err(|e| ctx.object_error(&id, e))?
    else {
        out.missing += 1;
        return Ok(());
    };
    let path = (!path.is_empty()).then_some(path);
    let hits = out.scan(path, data.data, max_bytes, matcher);
    out.hits.extend(hits.into_iter().map(|hit| (id, hit)));
    Ok(())
}
