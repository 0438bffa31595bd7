//! Scanning a blob: keyword prefilter, then only the regexes whose keywords occur.
//!
//! Cost model, per blob: one NUL sniff of the first 8 KiB, one pass of an Aho-Corasick automaton
//! over all keywords of all patterns (ASCII case-insensitive, four interleaved walks: see
//! [`super::keywords`]), then one pass of each selected pattern's byte regex. Blobs without keywords (most source files for most patterns) never reach
//! a regex. Work that allocates (line numbers, fingerprints, previews) happens per match only.

use super::fingerprint::{preview, Fingerprinter};
use super::keywords::KeywordSet;
use super::pattern::Pattern;
use super::plausibility::{has_shape, is_documentation_host, is_placeholder, shannon_entropy};
use super::sink::{SecretSink, Verifiable};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use serde::Serialize;
use std::ops::ControlFlow;
use std::ops::Range;
use std::sync::Arc;
use thiserror::Error;

/// Bytes sniffed for a NUL to decide a blob is binary (the same rule git uses).
pub const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// Default largest blob scanned: 16 MiB. Larger blobs are generated data, dumps or vendored
/// archives far more often than hand-written configuration.
pub const DEFAULT_MAX_BLOB_BYTES: usize = 16 * 1024 * 1024;

/// The marker that suppresses a match on its line (`# residual:allow`).
pub const INLINE_ALLOW_MARKER: &[u8] = b"residual:allow";

/// One secret found in a blob. Holds no copy of the secret: only where it is, a keyed
/// fingerprint and a redacted preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Id of the pattern that matched (`github-pat-classic`).
    pub pattern_id: String,
    /// Byte offset of the secret's first byte in the blob.
    pub start: usize,
    /// Byte offset one past the secret's last byte.
    pub end: usize,
    /// 1-based line of the secret's first byte.
    pub line: usize,
    /// 1-based column (in bytes) of the secret's first byte.
    pub column: usize,
    /// The non-secret identifier captured beside the secret (the `id` group: an AWS access key
    /// id, a login, a registry host), if the pattern has one and it participated.
    pub identifier: Option<String>,
    /// Keyed fingerprint of the secret (see [`Fingerprinter::fingerprint`]).
    pub fingerprint: String,
    /// Redacted preview (see [`preview`]).
    pub preview: String,
    /// Shannon entropy of the secret in bits per byte.
    pub entropy: f64,
    /// Why the match is suppressed, if it is; suppressed matches are reported, not dropped.
    pub suppressed: Option<Suppression>,
}

/// Why a match is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Suppression {
    /// A `residual:allow` comment on a line of the match.
    Inline,
}

impl Suppression {
    /// The stable name used in outputs (`inline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Inline => "inline",
        }
    }
}

/// Why a blob was not scanned at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// A NUL byte in the first [`BINARY_SNIFF_BYTES`].
    Binary,
    /// Larger than [`ScanLimits::max_blob_bytes`].
    TooLarge,
}

/// Which blobs are scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Blobs larger than this are skipped ([`SkipReason::TooLarge`]).
    pub max_blob_bytes: usize,
    /// Skip blobs with a NUL in the first 8 KiB ([`SkipReason::Binary`]).
    pub skip_binary: bool,
}

impl Default for ScanLimits {
    fn default() -> ScanLimits {
        ScanLimits {
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
            skip_binary: true,
        }
    }
}

/// Building a matcher failed.
#[derive(Debug, Error)]
pub enum MatcherError {
    /// The keyword automaton could not be built (far more keywords than any rule set has).
    #[error("cannot build the keyword prefilter: {0}")]
    Keywords(#[from] aho_corasick::BuildError),
    /// No patterns were given.
    #[error("no secret patterns to match with")]
    NoPatterns,
}

/// Matches a set of secret patterns against blobs. Build once, share across threads
/// (`Send + Sync`); [`Matcher::scan`] takes `&self`.
#[derive(Debug)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    keywords: KeywordSet,
    /// For each distinct keyword (automaton pattern index), the patterns it selects.
    keyword_patterns: Vec<Vec<usize>>,
    /// How many patterns the shared automaton selects (those without `paths`).
    unrestricted: usize,
    /// Path-restricted patterns keep their own keyword automaton, consulted only when the path
    /// matches, so broad keywords of file-format rules (`:`) cost nothing on other blobs.
    restricted: Vec<(usize, AhoCorasick)>,
    fingerprinter: Fingerprinter,
    limits: ScanLimits,
    /// Opt-in receiver of verifiable secrets ([`Matcher::with_sink`]); `None` hands out nothing.
    sink: Option<Arc<dyn SecretSink>>,
}

/// A match before line numbers, fingerprint and preview are computed.
struct Candidate {
    pattern: usize,
    whole: Range<usize>,
    secret: Range<usize>,
    identifier: Option<Range<usize>>,
    entropy: f64,
}

impl Matcher {
    /// Builds the keyword automaton over `patterns`. `fingerprint_key` keys the HMAC of every
    /// match's fingerprint; keep it secret and stable (fingerprints change with it).
    pub fn new(patterns: Vec<Pattern>, fingerprint_key: &[u8]) -> Result<Matcher, MatcherError> {
        if patterns.is_empty() {
            return Err(MatcherError::NoPatterns);
        }
        let mut distinct: Vec<Vec<u8>> = Vec::new();
        let mut keyword_patterns: Vec<Vec<usize>> = Vec::new();
        let mut restricted = Vec::new();
        for (index, pattern) in patterns.iter().enumerate() {
            if !pattern.paths.is_empty() {
                let own = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&pattern.keywords)?;
                restricted.push((index, own));
                continue;
            }
            for keyword in &pattern.keywords {
                let folded = keyword.as_bytes().to_ascii_lowercase();
                let slot = match distinct.iter().position(|k| *k == folded) {
                    Some(slot) => slot,
                    None => {
                        distinct.push(folded);
                        keyword_patterns.push(Vec::new());
                        distinct.len() - 1
                    }
                };
                if !keyword_patterns[slot].contains(&index) {
                    keyword_patterns[slot].push(index);
                }
            }
        }
        // Every occurrence of every keyword is reported (overlapping search), so a keyword
        // inside a longer one (`secret` in `aws_secret`) selects its own patterns.
        let keywords = KeywordSet::new(&distinct)?;
        Ok(Matcher {
            unrestricted: patterns.len() - restricted.len(),
            patterns,
            keywords,
            keyword_patterns,
            restricted,
            fingerprinter: Fingerprinter::new(fingerprint_key),
            limits: ScanLimits::default(),
            sink: None,
        })
    }

    /// Replaces the scan limits (largest blob, binary skipping).
    pub fn with_limits(mut self, limits: ScanLimits) -> Matcher {
        self.limits = limits;
        self
    }

    /// Offers every unsuppressed match of a pattern with a `verify` hint, value included, to
    /// `sink` (opt-in verification). Without it no value ever leaves [`Matcher::scan`].
    pub fn with_sink(mut self, sink: Arc<dyn SecretSink>) -> Matcher {
        self.sink = Some(sink);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> ScanLimits {
        self.limits
    }

    /// The patterns, in load order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The pattern with this id.
    pub fn pattern(&self, id: &str) -> Option<&Pattern> {
        self.patterns.iter().find(|p| p.id == id)
    }

    /// The fingerprinter keyed like this matcher's fingerprints, for secrets found elsewhere (a
    /// CI variable's value) that must fingerprint the same way.
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// Why `bytes` would not be scanned under the current limits, if it would not.
    pub fn skip_reason(&self, bytes: &[u8]) -> Option<SkipReason> {
        if bytes.len() > self.limits.max_blob_bytes {
            return Some(SkipReason::TooLarge);
        }
        let head = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
        if self.limits.skip_binary && memchr::memchr(0, head).is_some() {
            return Some(SkipReason::Binary);
        }
        None
    }

    /// Scans one blob. `path` (when known) selects path-restricted patterns; `None` runs only
    /// the patterns without `paths`. Returns matches ordered by position; binary and oversized
    /// blobs (see [`Matcher::skip_reason`]) yield nothing.
    ///
    /// When the secrets of two matches overlap, the lower-priority one is dropped, so a generic
    /// `api_key = "..."` rule does not repeat what a provider rule already found.
    pub fn scan(&self, path: Option<&str>, bytes: &[u8]) -> Vec<Match> {
        if self.skip_reason(bytes).is_some() {
            return Vec::new();
        }
        let mut candidates = self.candidates(path, bytes, None);
        drop_outranked(&mut candidates, &self.patterns);
        let matches = self.finish(bytes, candidates);
        if let Some(sink) = &self.sink {
            for m in matches.iter().filter(|m| m.suppressed.is_none()) {
                if let Some(method) = self
                    .pattern(&m.pattern_id)
                    .and_then(|p| p.verify.as_deref())
                {
                    sink.offer(&Verifiable {
                        fingerprint: &m.fingerprint,
                        pattern_id: &m.pattern_id,
                        method,
                        identifier: m.identifier.as_deref(),
                        value: &bytes[m.start..m.end],
                    });
                }
            }
        }
        matches
    }

    /// Scans with one pattern only and no cross-pattern ranking: what a pattern's examples are
    /// checked with. Ignores the scan limits.
    pub(crate) fn scan_with_pattern(
        &self,
        pattern: usize,
        path: Option<&str>,
        bytes: &[u8],
    ) -> Vec<Match> {
        let candidates = self.candidates(path, bytes, Some(pattern));
        self.finish(bytes, candidates)
    }

    /// Prefilter, then regex, entropy and placeholder checks. `only` restricts to one pattern.
    fn candidates(&self, path: Option<&str>, bytes: &[u8], only: Option<usize>) -> Vec<Candidate> {
        let selected = self.select(path, bytes, only);
        let mut out = Vec::new();
        for (index, pattern) in self.patterns.iter().enumerate() {
            if !selected[index] {
                continue;
            }
            for caps in pattern.regex.captures_iter(bytes) {
                let (Some(whole), Some(secret)) = (caps.get(0), caps.get(pattern.secret_group))
                else {
                    continue;
                };
                let value = secret.as_bytes();
                if value.is_empty() {
                    continue;
                }
                let entropy = shannon_entropy(value);
                if pattern.entropy.is_some_and(|min| entropy < min) {
                    continue;
                }
                if pattern.ignore_placeholders && is_placeholder(value) {
                    continue;
                }
                if pattern.min_chars.is_some_and(|min| char_count(value) < min) {
                    continue;
                }
                if pattern.shape.is_some_and(|shape| !has_shape(value, shape)) {
                    continue;
                }
                if pattern
                    .host_group
                    .and_then(|group| caps.get(group))
                    .is_some_and(|host| is_documentation_host(host.as_bytes()))
                {
                    continue;
                }
                let identifier = pattern
                    .id_group
                    .and_then(|group| caps.get(group))
                    .map(|m| m.range());
                out.push(Candidate {
                    pattern: index,
                    whole: whole.range(),
                    secret: secret.range(),
                    identifier,
                    entropy,
                });
            }
        }
        out
    }

    /// Which patterns apply to `path` and have at least one keyword in `bytes`.
    fn select(&self, path: Option<&str>, bytes: &[u8], only: Option<usize>) -> Vec<bool> {
        let mut selected = vec![false; self.patterns.len()];
        for (index, keywords) in &self.restricted {
            if only.is_none_or(|only| only == *index)
                && self.patterns[*index].applies_to(path)
                && keywords.is_match(bytes)
            {
                selected[*index] = true;
            }
        }
        let mut remaining = match only {
            Some(only) if self.patterns[only].paths.is_empty() => 1,
            Some(_) => 0,
            None => self.unrestricted,
        };
        if remaining == 0 {
            return selected;
        }
        let _ = self.keywords.for_each(bytes, |keyword| {
            for &index in &self.keyword_patterns[keyword] {
                if only.is_some_and(|only| only != index) || selected[index] {
                    continue;
                }
                selected[index] = true;
                remaining -= 1;
            }
            if remaining == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        selected
    }

    /// Orders candidates, computes line and column incrementally, fingerprints and previews.
    fn finish(&self, bytes: &[u8], mut candidates: Vec<Candidate>) -> Vec<Match> {
        candidates.sort_by_key(|c| (c.secret.start, c.pattern));
        let mut line = 1;
        let mut counted_to = 0;
        candidates
            .into_iter()
            .map(|c| {
                line += memchr::memchr_iter(b'\n', &bytes[counted_to..c.secret.start]).count();
                counted_to = c.secret.start;
                let line_start =
                    memchr::memrchr(b'\n', &bytes[..c.secret.start]).map_or(0, |i| i + 1);
                let secret = &bytes[c.secret.clone()];
                Match {
                    pattern_id: self.patterns[c.pattern].id.clone(),
                    start: c.secret.start,
                    end: c.secret.end,
                    line,
                    column: c.secret.start - line_start + 1,
                    identifier: c
                        .identifier
                        .map(|r| String::from_utf8_lossy(&bytes[r]).into_owned()),
                    fingerprint: self.fingerprinter.fingerprint(secret),
                    preview: preview(secret),
                    entropy: c.entropy,
                    suppressed: inline_allowed(bytes, &c.whole).then_some(Suppression::Inline),
                }
            })
            .collect()
    }
}

/// Characters in `value`: UTF-8 scalar values when it decodes, bytes otherwise.
fn char_count(value: &[u8]) -> usize {
    match std::str::from_utf8(value) {
        Ok(text) => text.chars().count(),
        Err(_) => value.len(),
    }
}

/// Whether a line the match touches carries the inline allow marker.
fn inline_allowed(bytes: &[u8], whole: &Range<usize>) -> bool {
    let start = memchr::memrchr(b'\n', &bytes[..whole.start]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &bytes[whole.end..]).map_or(bytes.len(), |i| whole.end + i);
    memchr::memmem::find(&bytes[start..end], INLINE_ALLOW_MARKER).is_some()
}

/// Drops every candidate whose secret overlaps the secret of a higher-priority candidate, and
/// the later-loaded of two equal-priority candidates with exactly the same secret.
fn drop_outranked(candidates: &mut Vec<Candidate>, patterns: &[Pattern]) {
    if candidates.len() < 2 {
        return;
    }
    candidates.sort_by_key(|c| c.secret.start);
    let mut dropped = vec![false; candidates.len()];
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            if candidates[j].secret.start >= candidates[i].secret.end {
                break;
            }
            let (pi, pj) = (
                patterns[candidates[i].pattern].priority,
                patterns[candidates[j].pattern].priority,
            );
            let (ci, cj) = (&candidates[i], &candidates[j]);
            if pi < pj {
                dropped[i] = true;
            } else if pj < pi {
                dropped[j] = true;
            } else if ci.secret == cj.secret && ci.pattern != cj.pattern {
                // The same secret found twice at the same rank: keep the pattern loaded first
                // (provider files load before file-format and generic ones).
                dropped[if ci.pattern < cj.pattern { j } else { i }] = true;
            }
        }
    }
    let mut keep = dropped.iter().map(|d| !d);
    candidates.retain(|_| keep.next().unwrap_or(true));
}
