//! Secret detection: patterns from `rules/secrets/*.toml`, a keyword prefilter, byte regexes,
//! and matches that carry a keyed fingerprint and a redacted preview instead of the secret.
//!
//! Used by the git and CI scanners. The flow:
//!
//! 1. Load patterns: [`builtin`] (compiled into the binary, so it works anywhere) or
//!    [`load_dir`] (a `rules/secrets` directory being edited). Loading checks the structure of
//!    every pattern and names the file and pattern id on error.
//! 2. [`check_examples`] runs every pattern's `examples` and `negative_examples` through the
//!    real matcher; `residual rules check` and the test suite both call it.
//! 3. [`Matcher::new`] builds one Aho-Corasick automaton over every keyword;
//!    [`Matcher::scan`] returns the [`Match`]es of one blob.
//!
//! A secret's value never leaves [`Matcher::scan`]: a match holds its position, the optional
//! non-secret identifier next to it, an HMAC-SHA256 fingerprint under the caller's key and a
//! preview of at most 8 leading bytes. The one exception is opt-in: a matcher built with
//! [`Matcher::with_sink`] lends the values of verifiable matches to a [`SecretSink`] (the
//! in-memory collector of `crate::verify`), which must never print, log or store them.
//!
//! Regexes are compiled as byte regexes with Unicode disabled: `\b`, `\w`, `\s`, `\d` are ASCII
//! and `[^"]` matches any byte. Pattern authors can opt back in with `(?u)`, at a speed cost.

mod builtin;
mod fingerprint;
mod keywords;
mod matcher;
mod pattern;
mod plausibility;
mod sink;

pub use builtin::{builtin, BUILTIN_FILES};
pub use fingerprint::{preview, Fingerprinter, FINGERPRINT_HEX_LEN};
pub use matcher::{
    Match, Matcher, MatcherError, ScanLimits, SkipReason, Suppression, BINARY_SNIFF_BYTES,
    DEFAULT_MAX_BLOB_BYTES, INLINE_ALLOW_MARKER,
};
pub use pattern::{
    load_dir, parse_file, path_matches, Example, LoadError, Pattern, PatternProblem,
    SeverityCeiling, Shape, SPLIT_MARKER,
};
pub use plausibility::{has_shape, is_documentation_host, is_placeholder, shannon_entropy};
pub use sink::{SecretSink, Verifiable};

use std::fmt;

/// A pattern example that did not behave: a positive example without a match, or a negative
/// example with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// File the pattern came from.
    pub file: String,
    /// The pattern id.
    pub pattern_id: String,
    /// Whether it was a negative example (which matched) or a positive one (which did not).
    pub negative: bool,
    /// 1-based position in `examples` or `negative_examples`.
    pub index: usize,
    /// The path the example was scanned as, if any.
    pub path: Option<String>,
}

impl fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (list, what) = if self.negative {
            ("negative_examples", "matched but must not")
        } else {
            ("examples", "did not match")
        };
        write!(
            f,
            "{}: pattern `{}`: {list}[{}] {what}",
            self.file, self.pattern_id, self.index
        )?;
        if let Some(path) = &self.path {
            write!(f, " (scanned as {path})")?;
        }
        Ok(())
    }
}

/// Runs every example and negative example of `patterns` through a [`Matcher`] built from them,
/// one pattern at a time (no ranking against other patterns, no scan limits). A positive example
/// passes when the pattern yields at least one match, suppressed or not; a negative example
/// passes when it yields none. Returns the failures, empty when all pass.
pub fn check_examples(patterns: &[Pattern]) -> Vec<ExampleFailure> {
    let Ok(matcher) = Matcher::new(patterns.to_vec(), b"residual rules check") else {
        return Vec::new();
    };
    let mut failures = Vec::new();
    for (index, pattern) in matcher.patterns().iter().enumerate() {
        let lists = [
            (false, &pattern.examples),
            (true, &pattern.negative_examples),
        ];
        for (negative, examples) in lists {
            for (position, example) in examples.iter().enumerate() {
                let matched = !matcher
                    .scan_with_pattern(index, example.path.as_deref(), example.text.as_bytes())
                    .is_empty();
                if matched == negative {
                    failures.push(ExampleFailure {
                        file: pattern.source.clone(),
                        pattern_id: pattern.id.clone(),
                        negative,
                        index: position + 1,
                        path: example.path.clone(),
                    });
                }
            }
        }
    }
    failures
}
