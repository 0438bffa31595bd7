//! Walking history: references → commits → the blobs each commit introduced.
//!
//! [`walk`] lists every reference, peels it (annotated tags to their target) and walks all
//! commits reachable from the commit tips once, stopping at commits an earlier run covered.
//! [`introductions`] then compares each commit's tree with its parents' trees, in parallel, and
//! records each `(path, blob)` that no parent has at that path: the commit that introduced it.

use super::{GitError, KnownObjects, Oid};
use gix::bstr::{BString, ByteSlice};
use gix::objs::{CommitRefIter, Find, TreeRef};
use gix::ObjectId;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Object cache per thread for the tree walk: a commit's tree is the "parent tree" of its
/// children, so most trees are read twice in a row.
const TREE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Commits handed to a thread at a time; consecutive commits share trees, so chunks keep the
/// object cache warm.
const COMMITS_PER_CHUNK: usize = 64;

/// What every step needs to know about the run.
pub(crate) struct Context {
    /// The path the caller gave, for error messages.
    pub path: PathBuf,
    pub threads: usize,
    /// Whether blobs may be read by walking packs ([`super::GitScanOptions::walk_packs`]).
    pub walk_packs: bool,
}

impl Context {
    /// Waits for scoped worker threads; a thread that panicked becomes [`GitError::Thread`].
    pub(crate) fn join_all<T>(
        &self,
        handles: Vec<std::thread::ScopedJoinHandle<'_, Result<T, GitError>>>,
    ) -> Vec<Result<T, GitError>> {
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(GitError::Thread {
                        path: self.path.clone(),
                    })
                })
            })
            .collect()
    }

    pub(crate) fn object_error(&self, id: &gix::oid, source: gix::Error) -> GitError {
        GitError::Object {
            path: self.path.clone(),
            id: id.to_string(),
            source: Box::new(source),
        }
    }

    fn references_error(&self, source: gix::Error) -> GitError {
        GitError::References {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }
}

/// A commit the walk visited, reduced to what attribution needs.
pub(crate) struct WalkedCommit {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// Index into [`Walk::raw_authors`].
    pub author: u32,
    /// Author time, seconds since the epoch.
    pub time: i64,
}

/// An object a reference points at (through tags) that is not a commit.
pub(crate) struct TaggedObject {
    pub id: ObjectId,
    pub is_tree: bool,
    pub reference: String,
}

/// The result of [`walk`].
pub(crate) struct Walk {
    pub refs: u64,
    pub commits: Vec<WalkedCommit>,
    /// Distinct `(name, email)` pairs as written in commits.
    pub raw_authors: Vec<(BString, BString)>,
    pub tagged: Vec<TaggedObject>,
    pub missing: u64,
    /// SHA-256 over every reference and the id it pointed at (sorted by name): which history
    /// the run read, for the audit chain.
    pub tips_digest: String,
}

/// Lists references and walks every commit reachable from them that is not in `known`.
pub(crate) fn walk(
    ctx: &Context,
    sync: &gix::ThreadSafeRepository,
    known: &KnownObjects,
) -> Result<Walk, GitError> {
    let repo = sync.to_thread_local();
    let mut out = Walk {
        refs: 0,
        commits: Vec::new(),
        raw_authors: Vec::new(),
        tagged: Vec::new(),
        missing: 0,
        tips_digest: String::new(),
    };
    let tips = list_tips(ctx, &repo, &mut out)?;
    let stack = peel_tips(ctx, &repo, tips, known, &mut out)?;
    walk_commits(ctx, &repo, stack, known, &mut out)?;
    // Parents before children keeps consecutive commits' trees close, for the object cache.
    out.commits.reverse();
    Ok(out)
}

/// Every reference's target (symbolic ones excluded) and a detached HEAD, with their names;
/// counts them and records their digest in `out`.
fn list_tips(
    ctx: &Context,
    repo: &gix::Repository,
    out: &mut Walk,
) -> Result<Vec<(ObjectId, String)>, GitError> {
    let mut tips: Vec<(ObjectId, String)> = Vec::new();
    let platform = repo.references().map_err(|e| ctx.references_error(e))?;
    for reference in platform.all().map_err(|e| ctx.references_error(e))? {
        let reference = reference.map_err(|e| ctx.references_error(e))?;
        if let Some(id) = reference.target().try_id() {
            out.refs += 1;
            tips.push((id.to_owned(), reference.name().as_bstr().to_string()));
        }
    }
    // A detached HEAD is a reference of its own; an unborn one has no id.
    if let Ok(head) = repo.head_id() {
        tips.push((head.detach(), "HEAD".to_string()));
    }
    out.tips_digest = tips_digest(&tips);
    Ok(tips)
}

/// Peels annotated tags (possibly nested) down to what they name: the commits to walk from,
/// and in `out.tagged` the trees and blobs a reference names directly.
fn peel_tips(
    ctx: &Context,
    repo: &gix::Repository,
    tips: Vec<(ObjectId, String)>,
    known: &KnownObjects,
    out: &mut Walk,
) -> Result<Vec<ObjectId>, GitError> {
    let mut stack: Vec<ObjectId> = Vec::new();
    let mut buf = Vec::new();
    for (mut id, reference) in tips {
        loop {
            if known.commits.contains(&Oid::from_gix(&id)) {
                break;
            }
            let Some(data) = repo
                .objects
                .try_find(&id, &mut buf)
                .map_err(|e| ctx.object_error(&id, e))?
            else {
                out.missing += 1;
                break;
            };
            match data.kind {
                gix::object::Kind::Commit => {
                    stack.push(id);
                    break;
                }
                gix::object::Kind::Tag => {
                    match gix::objs::TagRefIter::from_bytes(data.data, repo.object_hash())
                        .target_id()
                    {
                        Ok(target) => id = target,
                        Err(e) => return Err(ctx.object_error(&id, e)),
                    }
                }
                kind => {
                    out.tagged.push(TaggedObject {
                        id,
                        is_tree: kind == gix::object::Kind::Tree,
                        reference,
                    });
                    break;
                }
            }
        }
    }
    Ok(stack)
}

/// Walks the commits reachable from `stack` that are not in `known` into `out.commits`, and
/// their distinct authors into `out.raw_authors`.
fn walk_commits(
    ctx: &Context,
    repo: &gix::Repository,
    mut stack: Vec<ObjectId>,
    known: &KnownObjects,
    out: &mut Walk,
) -> Result<(), GitError> {
    let mut buf = Vec::new();
    let mut seen: gix::hashtable::HashSet<ObjectId> = Default::default();
    let mut authors: HashMap<(BString, BString), u32> = HashMap::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(data) = repo
            .objects
            .try_find(&id, &mut buf)
            .map_err(|e| ctx.object_error(&id, e))?
        else {
            out.missing += 1;
            continue;
        };
        if data.kind != gix::object::Kind::Commit {
            continue;
        }
        let Some(commit) = parse_commit(ctx, repo, id, data.data, &mut authors)? else {
            continue;
        };
        for parent in &commit.parents {
            if !seen.contains(parent) && !known.commits.contains(&Oid::from_gix(parent)) {
                stack.push(*parent);
            }
        }
        out.commits.push(commit);
    }
    let mut raw_authors = vec![(BString::default(), BString::default()); authors.len()];
    for (key, index) in authors {
        raw_authors[index as usize] = key;
    }
    out.raw_authors = raw_authors;
    Ok(())
}

/// The tree, parents and author of the commit `id` (its author numbered in `authors`), or
/// `None` for a commit without a tree or author.
fn parse_commit(
    ctx: &Context,
    repo: &gix::Repository,
    id: ObjectId,
    data: &[u8],
    authors: &mut HashMap<(BString, BString), u32>,
) -> Result<Option<WalkedCommit>, GitError> {
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    for token in CommitRefIter::from_bytes(data, repo.object_hash()) {
        match token.map_err(|e| ctx.object_error(&id, e))? {
            gix::objs::commit::ref_iter::Token::Tree { id } => tree = Some(id),
            gix::objs::commit::ref_iter::Token::Parent { id } => parents.push(id),
            gix::objs::commit::ref_iter::Token::Author { signature } => {
                let key = (signature.name.trim().into(), signature.email.trim().into());
                let next = authors.len() as u32;
                let index = *authors.entry(key).or_insert(next);
                author = Some((index, signature.seconds()));
                break;
            }
            _ => {}
        }
    }
    let (Some(tree), Some((author, time))) = (tree, author) else {
        return Ok(None);
    };
    Ok(Some(WalkedCommit {
        id,
        tree,
        parents,
        author,
        time,
    }))
}

/// Where a blob was seen, before it is known whether it holds a secret (so cheap to keep).
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Introduced by the commit at this index of [`Walk::commits`], at this path.
    Commit { commit: u32, path: String },
    /// Named by a reference, possibly inside a tagged tree at `path`.
    Reference { name: String, path: Option<String> },
    /// Staged in the index at this path.
    Index { path: String },
}

impl Source {
    pub(crate) fn path(&self) -> Option<&str> {
        match self {
            Source::Commit { path, .. } | Source::Index { path } => Some(path),
            Source::Reference { path, .. } => path.as_deref(),
        }
    }

    /// False for sources that may never reach history (the index): such blobs must be read
    /// again when a commit introduces them, so the store must not remember them.
    pub(crate) fn is_durable(&self) -> bool {
        !matches!(self, Source::Index { .. })
    }
}

/// One commit author after `.mailmap`, with what the commits say about them.
#[derive(Debug, Clone)]
pub(crate) struct Author {
    /// The canonical email (after `.mailmap`), lowercased: spellings that differ in case are
    /// one account.
    pub email: String,
    pub names: BTreeSet<String>,
    /// Emails in commits that `.mailmap` mapped to this one.
    pub aliases: BTreeSet<String>,
    pub commits: u64,
    pub first: i64,
    pub last: i64,
}

/// Per walked commit: canonical author (index into [`Attribution::authors`]) and the raw author.
pub(crate) struct CommitAuthor {
    pub author: u32,
    pub name: String,
    /// The canonical email as `.mailmap` (or the commit) spells it.
    pub email: String,
    pub original_email: Option<String>,
}

/// The result of [`introductions`].
pub(crate) struct Attribution {
    /// Every distinct blob with where it was introduced (unsorted, uncapped).
    pub blobs: HashMap<ObjectId, Vec<Source>>,
    pub authors: Vec<Author>,
    pub commit_authors: Vec<CommitAuthor>,
    pub introductions: u64,
    pub missing: u64,
}

/// Finds the blobs each walked commit introduced, and the canonical authors.
pub(crate) fn introductions(
    ctx: &Context,
    sync: &gix::ThreadSafeRepository,
    walk: &Walk,
    mailmap: &gix::mailmap::Snapshot,
) -> Result<Attribution, GitError> {
    let tree_of: HashMap<ObjectId, ObjectId> =
        walk.commits.iter().map(|c| (c.id, c.tree)).collect();
    let next = AtomicUsize::new(0);
    let outputs: Vec<Result<ThreadOutput, GitError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..ctx.threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut repo = sync.to_thread_local();
                    repo.object_cache_size(TREE_CACHE_BYTES);
                    let mut walker = TreeWalker {
                        ctx,
                        repo: &repo,
                        out: ThreadOutput::default(),
                        path: Vec::new(),
                        commit: 0,
                    };
                    loop {
                        let start = next.fetch_add(COMMITS_PER_CHUNK, Ordering::Relaxed);
                        if start >= walk.commits.len() {
                            break;
                        }
                        let end = (start + COMMITS_PER_CHUNK).min(walk.commits.len());
                        for index in start..end {
                            walker.commit(index as u32, &walk.commits[index], &tree_of)?;
                        }
                    }
                    Ok(walker.out)
                })
            })
            .collect();
        ctx.join_all(handles)
    });

    let mut blobs: HashMap<ObjectId, Vec<Source>> = HashMap::new();
    let mut introductions = 0u64;
    let mut missing = 0u64;
    for output in outputs {
        let output = output?;
        missing += output.missing;
        introductions += output.found.len() as u64;
        for (blob, commit, path) in output.found {
            blobs
                .entry(blob)
                .or_default()
                .push(Source::Commit { commit, path });
        }
    }
    missing += tagged_objects(ctx, sync, walk, &mut blobs)?;

    let (authors, commit_authors) = canonical_authors(walk, mailmap);
    Ok(Attribution {
        blobs,
        authors,
        commit_authors,
        introductions,
        missing,
    })
}

/// Adds the objects references name directly (a tagged blob, or every blob of a tagged tree) to
/// `blobs`; returns how many objects they named were missing.
fn tagged_objects(
    ctx: &Context,
    sync: &gix::ThreadSafeRepository,
    walk: &Walk,
    blobs: &mut HashMap<ObjectId, Vec<Source>>,
) -> Result<u64, GitError> {
    let repo = sync.to_thread_local();
    let mut missing = 0;
    for tagged in &walk.tagged {
        if tagged.is_tree {
            let mut walker = TreeWalker {
                ctx,
                repo: &repo,
                out: ThreadOutput::default(),
                path: Vec::new(),
                commit: 0,
            };
            walker.tree(tagged.id, &[])?;
            missing += walker.out.missing;
            for (blob, _, path) in walker.out.found {
                blobs.entry(blob).or_default().push(Source::Reference {
                    name: tagged.reference.clone(),
                    path: Some(path),
                });
            }
        } else {
            blobs.entry(tagged.id).or_default().push(Source::Reference {
                name: tagged.reference.clone(),
                path: None,
            });
        }
    }
    Ok(missing)
}

/// Applies `.mailmap` to every raw author and sums up commits per canonical email
/// (compared case-insensitively).
fn canonical_authors(
    walk: &Walk,
    mailmap: &gix::mailmap::Snapshot,
) -> (Vec<Author>, Vec<CommitAuthor>) {
    let mut authors: Vec<Author> = Vec::new();
    let mut by_email: HashMap<String, u32> = HashMap::new();
    let mut raw_to: Vec<(u32, String, String, Option<String>)> =
        Vec::with_capacity(walk.raw_authors.len());
    for (name, email) in &walk.raw_authors {
        let signature = gix::actor::SignatureRef {
            name: name.as_bstr(),
            email: email.as_bstr(),
            time: "",
        };
        let (canonical_name, canonical_email) = match mailmap.try_resolve_ref(signature) {
            Some(resolved) => (
                resolved
                    .name
                    .unwrap_or(name.as_bstr())
                    .to_str_lossy()
                    .into_owned(),
                resolved
                    .email
                    .unwrap_or(email.as_bstr())
                    .to_str_lossy()
                    .into_owned(),
            ),
            None => (
                name.to_str_lossy().into_owned(),
                email.to_str_lossy().into_owned(),
            ),
        };
        let original = email.to_str_lossy().into_owned();
        let key = canonical_email.to_lowercase();
        let next = authors.len() as u32;
        let index = *by_email.entry(key).or_insert_with(|| {
            authors.push(Author {
                email: canonical_email.to_lowercase(),
                names: BTreeSet::new(),
                aliases: BTreeSet::new(),
                commits: 0,
                first: i64::MAX,
                last: i64::MIN,
            });
            next
        });
        let author = &mut authors[index as usize];
        author.names.insert(canonical_name.clone());
        let mapped = !original.eq_ignore_ascii_case(&canonical_email);
        if mapped {
            author.aliases.insert(original.clone());
        }
        raw_to.push((
            index,
            canonical_name,
            canonical_email,
            mapped.then_some(original),
        ));
    }
    let mut commit_authors = Vec::with_capacity(walk.commits.len());
    for commit in &walk.commits {
        let (index, name, email, original) = &raw_to[commit.author as usize];
        let author = &mut authors[*index as usize];
        author.commits += 1;
        author.first = author.first.min(commit.time);
        author.last = author.last.max(commit.time);
        commit_authors.push(CommitAuthor {
            author: *index,
            name: name.clone(),
            email: email.clone(),
            original_email: original.clone(),
        });
    }
    (authors, commit_authors)
}

#[derive(Default)]
struct ThreadOutput {
    /// `(blob, commit index, path)`.
    found: Vec<(ObjectId, u32, String)>,
    missing: u64,
}

/// Compares one tree with the trees at the same path in the parents, recursively.
struct TreeWalker<'a> {
    ctx: &'a Context,
    repo: &'a gix::Repository,
    out: ThreadOutput,
    /// The path of the tree being walked, `/`-terminated unless empty.
    path: Vec<u8>,
    commit: u32,
}

impl<'a> TreeWalker<'a> {
    fn commit(
        &mut self,
        index: u32,
        commit: &WalkedCommit,
        tree_of: &HashMap<ObjectId, ObjectId>,
    ) -> Result<(), GitError> {
        let mut parent_trees = Vec::with_capacity(commit.parents.len());
        for parent in &commit.parents {
            match tree_of.get(parent) {
                Some(tree) => parent_trees.push(*tree),
                // A parent an earlier run covered: read its tree id.
                None => match self.parent_tree(parent)? {
                    Some(tree) => parent_trees.push(tree),
                    None => self.out.missing += 1,
                },
            }
        }
        self.commit = index;
        self.path.clear();
        self.tree(commit.tree, &parent_trees)
    }

    fn parent_tree(&self, parent: &ObjectId) -> Result<Option<ObjectId>, GitError> {
        let mut buf = Vec::new();
        let Some(data) = self
            .repo
            .objects
            .try_find(parent, &mut buf)
            .map_err(|e| self.ctx.object_error(parent, e))?
        else {
            return Ok(None);
        };
        CommitRefIter::from_bytes(data.data, self.repo.object_hash())
            .tree_id()
            .map(Some)
            .map_err(|e| self.ctx.object_error(parent, e))
    }

    /// Records every blob under `tree` that no tree in `parents` has at the same path.
    fn tree(&mut self, tree: ObjectId, parents: &[ObjectId]) -> Result<(), GitError> {
        let Some(object) = self.find(tree)? else {
            return Ok(());
        };
        let entries = TreeRef::from_bytes(&object.data, self.repo.object_hash())
            .map_err(|e| self.ctx.object_error(&tree, e))?;
        let mut parent_objects = Vec::with_capacity(parents.len());
        for parent in parents {
            if let Some(object) = self.find(*parent)? {
                parent_objects.push(object);
            }
        }
        let mut parent_entries = Vec::with_capacity(parent_objects.len());
        for (object, id) in parent_objects.iter().zip(parents) {
            parent_entries.push(
                TreeRef::from_bytes(&object.data, self.repo.object_hash())
                    .map_err(|e| self.ctx.object_error(id, e))?,
            );
        }
        let mut sub_parents: Vec<ObjectId> = Vec::new();
        for entry in &entries.entries {
            let is_tree = entry.mode.is_tree();
            if !is_tree && !entry.mode.is_blob_or_symlink() {
                continue; // submodule commits live in another repository
            }
            sub_parents.clear();
            let mut unchanged = false;
            for parent in &parent_entries {
                if let Some(old) = parent.bisect_entry(entry.filename, is_tree) {
                    if old.oid == entry.oid {
                        unchanged = true;
                        break;
                    }
                    if is_tree {
                        sub_parents.push(old.oid.to_owned());
                    }
                }
            }
            if unchanged {
                continue;
            }
            let len = self.path.len();
            self.path.extend_from_slice(entry.filename);
            if is_tree {
                self.path.push(b'/');
                let parents = std::mem::take(&mut sub_parents);
                self.tree(entry.oid.to_owned(), &parents)?;
                sub_parents = parents;
            } else {
                self.out.found.push((
                    entry.oid.to_owned(),
                    self.commit,
                    self.path.to_str_lossy().into_owned(),
                ));
            }
            self.path.truncate(len);
        }
        Ok(())
    }

    fn find(&mut self, id: ObjectId) -> Result<Option<gix::Object<'a>>, GitError> {
        match self.repo.try_find_object(id) {
            Ok(Some(object)) => Ok(Some(object)),
            Ok(None) => {
                self.out.missing += 1;
                Ok(None)
            }
            Err(e) => Err(self.ctx.object_error(&id, e)),
        }
    }
}

/// SHA-256 over `name oid` lines of the references, sorted by name.
fn tips_digest(tips: &[(ObjectId, String)]) -> String {
    use sha2::{Digest, Sha256};
    let mut lines: Vec<String> = tips
        .iter()
        .map(|(id, name)| format!("{name} {id}\n"))
        .collect();
    lines.sort();
    let mut h = Sha256::new();
    for line in &lines {
        h.update(line.as_bytes());
    }
    hex::encode(h.finalize())
}
