//! Secret patterns: the data model of `rules/secrets/*.toml`, parsing and structural validation.
//!
//! A pattern file holds `[[pattern]]` tables. Parsing compiles each regex once (byte regex,
//! Unicode disabled so `\b`, `\w`, `\s` and `\d` are ASCII and the lazy DFA never has to give up
//! on non-ASCII input) and checks what can be checked without running anything: the id is
//! kebab-case and unique, the regex compiles and has a `secret` group, keywords are present.
//! Whether the examples behave is checked by [`crate::secrets::check_examples`], through the
//! same matcher that scans repositories.

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Removed from every example before it is tested, so that example secrets in the rule files do
/// not trip secret scanners (ours, GitHub push protection, gitleaks) when the repository itself
/// is scanned: authors write `"AKIA{{split}}IOSFODNN7QWERTYZ"`.
pub const SPLIT_MARKER: &str = "{{split}}";

/// Regex size limit per pattern: generous for bounded repetitions, small enough to catch a
/// pattern that would blow up the automaton.
const REGEX_SIZE_LIMIT: usize = 16 * 1024 * 1024;

/// One secret pattern, compiled and ready to match.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Stable kebab-case id (`aws-access-key-id`); part of the interface, never renamed.
    pub id: String,
    /// Human name (`AWS access key ID`).
    pub name: String,
    /// Longer description for reports, if the file gives one.
    pub description: Option<String>,
    /// Provider the credential belongs to (`aws`, `github`, `slack`), if any.
    pub provider: Option<String>,
    /// Hint for opt-in verification (`aws-sts-get-caller-identity`, `github-get-user`).
    pub verify: Option<String>,
    /// The regex source as written in the file.
    pub pattern: String,
    /// Literal prefilter strings, matched ASCII case-insensitively: no keyword, no regex run.
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of the captured secret.
    pub entropy: Option<f64>,
    /// Minimum length of the captured secret in characters (UTF-8), for rules whose regex
    /// minimum counts bytes: `пароль` is 12 bytes but 6 characters.
    pub min_chars: Option<usize>,
    /// A ceiling on the severity of findings from this pattern, for credentials that are weaker
    /// by nature (an encrypted private key needs its passphrase too). `None`: no ceiling.
    pub max_severity: Option<SeverityCeiling>,
    /// What the captured secret must look like beyond the regex, for rules whose context is
    /// weak (a generic name) or whose regex cannot say it (a base64 `user:pass`).
    pub shape: Option<Shape>,
    /// Glob-ish file name hints (`.netrc`, `*.pgpass`, `config/*.yml`). When non-empty the
    /// pattern runs only on blobs whose path matches one of them, and never on blobs whose path
    /// is unknown.
    pub paths: Vec<String>,
    /// Drop captures that look like placeholders (`changeme`, `<password>`, `${VAR}`, `xxxx`).
    pub ignore_placeholders: bool,
    /// When the secrets of two matches overlap, the lower priority match is dropped (generic
    /// rules use -1 so a specific rule wins); equal priorities are both kept.
    pub priority: i32,
    /// Texts the pattern must match (split markers already removed).
    pub examples: Vec<Example>,
    /// Texts the pattern must not match (split markers already removed).
    pub negative_examples: Vec<Example>,
    /// File the pattern came from (`aws.toml`, or the path given to [`load_dir`]).
    pub source: String,
    pub(crate) regex: Regex,
    pub(crate) secret_group: usize,
    pub(crate) id_group: Option<usize>,
    /// The `host` group of URL rules: a match whose host is a documentation domain
    /// (`example.com`, `*.example`, RFC 2606) is dropped.
    pub(crate) host_group: Option<usize>,
}

impl Pattern {
    /// The compiled byte regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// Whether the pattern may run on a blob at `path` (`None`: path unknown).
    pub fn applies_to(&self, path: Option<&str>) -> bool {
        if self.paths.is_empty() {
            return true;
        }
        match path {
            Some(path) => {
                // Runs for every path-restricted pattern on every blob: reject on the glob's
                // literal tail first, which settles nearly every glob with one short compare.
                let plain = !path.contains('\\');
                self.paths.iter().any(|glob| {
                    (!plain || ends_with_literal_tail(glob, path)) && path_matches(glob, path)
                })
            }
            None => false,
        }
    }
}

/// Whether `path` ends with the literal text after the last wildcard of `glob` (ASCII
/// case-insensitively): a necessary condition for [`path_matches`] on a path without
/// backslashes, since the glob must consume the path (or its file name) to the end.
fn ends_with_literal_tail(glob: &str, path: &str) -> bool {
    let tail = glob.rsplit(['*', '?']).next().unwrap_or(glob).as_bytes();
    path.len() >= tail.len()
        && path.as_bytes()[path.len() - tail.len()..].eq_ignore_ascii_case(tail)
}

/// The highest severity a pattern's findings may take (see [`Pattern::max_severity`]); the core
/// maps it onto its own severity scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityCeiling {
    /// Informational to low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// A check on the captured secret that a regex cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// At least one ASCII letter and one digit: a machine-made token, not a word or a name.
    Mixed,
    /// Base64 of printable `user:password`, both non-empty (HTTP Basic credentials).
    Base64UserPass,
}

/// One example text of a pattern, with the file path to scan it as (for path-restricted rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The example with every [`SPLIT_MARKER`] removed.
    pub text: String,
    /// Path the example is scanned as; `None` means path unknown.
    pub path: Option<String>,
}

/// Why loading secret patterns failed. Every variant names the file, and the pattern id when
/// the problem is in one pattern.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The directory or a file in it could not be read.
    #[error("cannot read secret patterns from {path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the pattern-file shape.
    #[error("{file}: not a valid secret-pattern file: {source}")]
    Toml {
        /// The file.
        file: String,
        /// The parse error, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// One pattern is invalid.
    #[error("{file}: pattern `{id}`: {problem}")]
    Pattern {
        /// The file.
        file: String,
        /// The pattern id as written.
        id: String,
        /// What is wrong with it.
        problem: PatternProblem,
    },
    /// The directory holds no `*.toml` file, which is almost certainly a wrong path.
    #[error("{path}: no *.toml secret-pattern files found; point at rules/secrets")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

/// What is wrong with one pattern.
#[derive(Debug, Error)]
pub enum PatternProblem {
    /// Ids are lowercase kebab-case: `[a-z0-9]+(-[a-z0-9]+)*`.
    #[error("id must be lowercase kebab-case (letters, digits and single dashes)")]
    InvalidId,
    /// The same id appears twice.
    #[error("duplicate id (first defined in {first_file})")]
    DuplicateId {
        /// Where the first definition is.
        first_file: String,
    },
    /// `name` is empty.
    #[error("name must not be empty")]
    EmptyName,
    /// The regex does not compile.
    #[error("regex does not compile: {0}")]
    Regex(Box<regex::Error>),
    /// The regex has no capture group named `secret`.
    #[error("regex has no capture group named `secret`; wrap the secret in (?P<secret>...)")]
    MissingSecretGroup,
    /// No keywords: the prefilter could never select the pattern.
    #[error("keywords must list at least one literal string found in every match")]
    NoKeywords,
    /// A keyword is the empty string, which would select the pattern for every blob.
    #[error("keywords must not contain an empty string")]
    EmptyKeyword,
    /// The entropy minimum is not a number between 0 and 8.
    #[error("entropy must be between 0 and 8 bits per byte, got {0}")]
    BadEntropy(f64),
    /// A pattern without examples cannot be checked.
    #[error("examples must list at least one text the pattern matches")]
    NoExamples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    #[serde(default)]
    pattern: Vec<PatternSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternSpec {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    verify: Option<String>,
    pattern: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    min_chars: Option<usize>,
    #[serde(default)]
    shape: Option<Shape>,
    #[serde(default)]
    max_severity: Option<SeverityCeiling>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    ignore_placeholders: bool,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    examples: Vec<ExampleSpec>,
    #[serde(default)]
    negative_examples: Vec<ExampleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExampleSpec {
    Text(String),
    WithPath { text: String, path: String },
}

impl From<ExampleSpec> for Example {
    fn from(spec: ExampleSpec) -> Example {
        let (text, path) = match spec {
            ExampleSpec::Text(text) => (text, None),
            ExampleSpec::WithPath { text, path } => (text, Some(path)),
        };
        Example {
            text: text.replace(SPLIT_MARKER, ""),
            path,
        }
    }
}

/// Parses one pattern file. `file` names it in errors (and becomes [`Pattern::source`]).
///
/// Ids are checked for uniqueness within the file only; [`load_dir`] and [`crate::secrets::builtin`]
/// check across files.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Pattern>, LoadError> {
    let parsed: PatternFile = toml::from_str(text).map_err(|source| LoadError::Toml {
        file: file.to_string(),
        source: Box::new(source),
    })?;
    let patterns = parsed
        .pattern
        .into_iter()
        .map(|spec| compile(file, spec))
        .collect::<Result<Vec<_>, _>>()?;
    check_unique_ids(&patterns)?;
    Ok(patterns)
}

/// Loads every `*.toml` file of `dir` (not recursive), in file-name order, and checks that ids
/// are unique across files.
pub fn load_dir(dir: &Path) -> Result<Vec<Pattern>, LoadError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let path = entry.map_err(io_err(dir))?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(LoadError::Empty {
            path: dir.to_path_buf(),
        });
    }
    files.sort();
    let mut patterns = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        patterns.extend(parse_file(&path.display().to_string(), &text)?);
    }
    check_unique_ids(&patterns)?;
    Ok(patterns)
}

/// Fails on the first id defined twice, naming both files.
pub(crate) fn check_unique_ids(patterns: &[Pattern]) -> Result<(), LoadError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for pattern in patterns {
        if let Some(first_file) = seen.insert(&pattern.id, &pattern.source) {
            return Err(LoadError::Pattern {
                file: pattern.source.clone(),
                id: pattern.id.clone(),
                problem: PatternProblem::DuplicateId {
                    first_file: first_file.to_string(),
                },
            });
        }
    }
    Ok(())
}

fn compile(file: &str, spec: PatternSpec) -> Result<Pattern, LoadError> {
    let fail = |problem| LoadError::Pattern {
        file: file.to_string(),
        id: spec.id.clone(),
        problem,
    };
    if !is_kebab_case(&spec.id) {
        return Err(fail(PatternProblem::InvalidId));
    }
    if spec.name.trim().is_empty() {
        return Err(fail(PatternProblem::EmptyName));
    }
    if spec.keywords.is_empty() {
        return Err(fail(PatternProblem::NoKeywords));
    }
    if spec.keywords.iter().any(String::is_empty) {
        return Err(fail(PatternProblem::EmptyKeyword));
    }
    if let Some(entropy) = spec.entropy {
        if !(0.0..=8.0).contains(&entropy) {
            return Err(fail(PatternProblem::BadEntropy(entropy)));
        }
    }
    if spec.examples.is_empty() {
        return Err(fail(PatternProblem::NoExamples));
    }
    let regex = RegexBuilder::new(&spec.pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| fail(PatternProblem::Regex(Box::new(err))))?;
    let group = |name: &str| regex.capture_names().position(|n| n == Some(name));
    let secret_group = group("secret").ok_or_else(|| fail(PatternProblem::MissingSecretGroup))?;
    let id_group = group("id");
    let host_group = group("host");
    Ok(Pattern {
        id: spec.id,
        name: spec.name,
        description: spec.description,
        provider: spec.provider,
        verify: spec.verify,
        pattern: spec.pattern,
        keywords: spec.keywords,
        entropy: spec.entropy,
        min_chars: spec.min_chars,
        shape: spec.shape,
        max_severity: spec.max_severity,
        paths: spec.paths,
        ignore_placeholders: spec.ignore_placeholders,
        priority: spec.priority,
        examples: spec.examples.into_iter().map(Example::from).collect(),
        negative_examples: spec
            .negative_examples
            .into_iter()
            .map(Example::from)
            .collect(),
        source: file.to_string(),
        regex,
        secret_group,
        id_group,
        host_group,
    })
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Glob-ish path match used by [`Pattern::paths`]: `*` matches any run of characters, `?` one
/// character, ASCII case-insensitively. A glob without `/` is matched against the file name
/// only; a glob with `/` against the end of the path (`config/*.yml` matches
/// `app/config/database.yml`). Backslashes in `path` count as `/`.
///
/// Called for every path-restricted pattern on every blob, so it allocates only for a path that
/// holds a backslash.
pub fn path_matches(glob: &str, path: &str) -> bool {
    let path: std::borrow::Cow<'_, str> = if path.contains('\\') {
        path.replace('\\', "/").into()
    } else {
        path.into()
    };
    if glob.contains('/') {
        let glob = glob.trim_start_matches('/');
        // Try the glob against every suffix of the path that starts at a component boundary.
        std::iter::once(0)
            .chain(path.match_indices('/').map(|(i, _)| i + 1))
            .any(|start| wildcard(glob.as_bytes(), &path.as_bytes()[start..]))
    } else {
        let name = path.rsplit('/').next().unwrap_or(&path);
        wildcard(glob.as_bytes(), name.as_bytes())
    }
}

/// Iterative wildcard match with single-star backtracking: linear in practice.
fn wildcard(glob: &[u8], text: &[u8]) -> bool {
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if g < glob.len() && (glob[g] == b'?' || glob[g].eq_ignore_ascii_case(&text[t])) {
            g += 1;
            t += 1;
        } else if g < glob.len() && glob[g] == b'*' {
            star = Some((g, t));
            g += 1;
        } else if let Some((star_g, star_t)) = star {
            g = star_g + 1;
            t = star_t + 1;
            star = Some((star_g, star_t + 1));
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|&b| b == b'*')
}

impl fmt::Display for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{} (as {path})", self.text),
            None => f.write_str(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_without_slash_match_the_file_name() {
        assert!(path_matches(".netrc", "home/alice/.netrc"));
        assert!(path_matches("*.pgpass", "x/prod.pgpass"));
        assert!(path_matches("settings*.py", "app/settings_prod.py"));
        assert!(!path_matches(".netrc", "home/alice/.netrc.bak"));
        assert!(path_matches("_NETRC", "C:\\Users\\a\\_netrc"));
    }

    #[test]
    fn the_literal_tail_check_never_rejects_a_matching_path() {
        let globs = [
            "*.py",
            "config/*.py",
            "*passwd.*",
            ".pgpass",
            "settings/*.py",
            "master.key",
        ];
        let paths = [
            "app/settings/base.py",
            "etc/ftpd.passwd.bak",
            "home/a/.PGPASS",
            "config/master.key",
        ];
        for glob in globs {
            for path in paths {
                if path_matches(glob, path) {
                    assert!(ends_with_literal_tail(glob, path), "{glob} {path}");
                }
            }
        }
        assert!(!ends_with_literal_tail("*.sql", "src/lib.rs"));
    }

    #[test]
    fn globs_with_slash_match_a_path_suffix() {
        assert!(path_matches("config/*.yml", "app/config/database.yml"));
        assert!(path_matches(
            ".docker/config.json",
            "/root/.docker/config.json"
        ));
        assert!(!path_matches("config/*.yml", "app/configs/database.yml"));
    }

    #[test]
    fn ids_are_kebab_case() {
        assert!(is_kebab_case("aws-access-key-id"));
        assert!(is_kebab_case("x509-key"));
        assert!(!is_kebab_case("AWS-key"));
        assert!(!is_kebab_case("aws--key"));
        assert!(!is_kebab_case("-aws"));
        assert!(!is_kebab_case("aws_key"));
    }
}
