//! Files of a repository's working tree that the gate reads besides history: `CODEOWNERS`
//! (who must review what: a leaver there blocks reviews or waves them through) and GitHub Actions
//! workflow files (which repository secrets the CI uses, so their rotation can be checked).

use crate::github::{codeowners, map};
use crate::{Account, AccountKind, IdentityHints, Observations};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The owners a working tree's CODEOWNERS names, as accounts (a login, or an email) holding a
/// `Collaborator` grant with `codeowner=true` on `<repo>/<file>` — the same shape the GitHub
/// scanner gives, so the same rule reads both.
pub fn codeowners(dir: &Path, repo: &str) -> std::io::Result<Observations> {
    let mut obs = Observations::default();
    for location in codeowners::LOCATIONS {
        let file = dir.join(location);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let grants = map::codeowner_grants(&codeowners::parse(&text), repo, location);
        let owners: BTreeSet<String> = grants.iter().map(|g| g.account.clone()).collect();
        for owner in owners {
            let emails = if owner.contains('@') {
                vec![owner.to_lowercase()]
            } else {
                vec![]
            };
            obs.accounts.push(Account {
                name: owner,
                kind: AccountKind::User,
                enabled: None,
                created_at: None,
                last_used_at: None,
                hints: IdentityHints {
                    emails,
                    ..IdentityHints::default()
                },
                attributes: BTreeMap::from([("source".to_string(), location.to_string())]),
            });
        }
        obs.grants.extend(grants);
        // GitHub uses the first CODEOWNERS file it finds.
        break;
    }
    Ok(obs)
}

/// A secret a workflow file reads: `${{ secrets.NAME }}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkflowSecret {
    pub file: String,
    pub line: usize,
    pub name: String,
}

/// Every `secrets.NAME` reference in `.github/workflows/*.yml|yaml` (GITHUB_TOKEN excluded).
pub fn workflow_secrets(dir: &Path) -> std::io::Result<Vec<WorkflowSecret>> {
    let re = Regex::new(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)").expect("a constant regex");
    let workflows = dir.join(".github/workflows");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&workflows) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let rel = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (i, line) in text.lines().enumerate() {
            for cap in re.captures_iter(line) {
                let name = cap[1].to_string();
                if name != "GITHUB_TOKEN" {
                    out.push(WorkflowSecret {
                        file: rel.clone(),
                        line: i + 1,
                        name,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// One line of a repository's `.residualignore`: what it suppresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreKind {
    /// A path glob (`*` within a segment, `**` across segments): `path:tests/fixtures/**` or a
    /// bare glob.
    Path(String),
    /// Every match of a secret pattern: `pattern:generic-password-quoted`.
    Pattern(String),
    /// One secret, by its keyed fingerprint (as findings show it): `fingerprint:3f2a…`.
    Fingerprint(String),
}

/// A `.residualignore` rule with the line it came from, so suppressions can cite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    pub line: usize,
    pub kind: IgnoreKind,
}

impl IgnoreRule {
    /// Whether the rule covers a match of `pattern_id` with `fingerprint` found at `path`.
    pub fn covers(&self, pattern_id: &str, fingerprint: &str, path: Option<&str>) -> bool {
        match &self.kind {
            IgnoreKind::Pattern(p) => p == pattern_id,
            IgnoreKind::Fingerprint(f) => fingerprint.starts_with(f.as_str()),
            IgnoreKind::Path(glob) => path.is_some_and(|p| glob_matches(glob, p)),
        }
    }

    /// How a suppression cites the rule.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            IgnoreKind::Path(g) => format!("path {g}"),
            IgnoreKind::Pattern(p) => format!("pattern {p}"),
            IgnoreKind::Fingerprint(f) => format!("fingerprint {f}"),
        };
        format!(".residualignore line {}: {what}", self.line)
    }
}

/// Reads `.residualignore` at the root of a working tree; an absent file is no rules. Blank lines
/// and `#` comments are skipped; `path:`, `pattern:` and `fingerprint:` prefixes select the kind,
/// anything else is a path glob.
pub fn ignore_file(dir: &Path) -> std::io::Result<Vec<IgnoreRule>> {
    let text = match std::fs::read_to_string(dir.join(".residualignore")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(parse_ignore(&text))
}

/// Parses the text of a `.residualignore`.
pub fn parse_ignore(text: &str) -> Vec<IgnoreRule> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = raw.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let kind = if let Some(p) = line.strip_prefix("pattern:") {
                IgnoreKind::Pattern(p.trim().to_string())
            } else if let Some(f) = line.strip_prefix("fingerprint:") {
                IgnoreKind::Fingerprint(f.trim().to_lowercase())
            } else {
                IgnoreKind::Path(
                    line.strip_prefix("path:")
                        .unwrap_or(line)
                        .trim()
                        .trim_start_matches('/')
                        .to_string(),
                )
            };
            Some(IgnoreRule { line: i + 1, kind })
        })
        .collect()
}

/// Glob matching for repository paths: `**` spans directories, `*` and `?` stay within one, and
/// a glob ending in `/` covers everything below that directory.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    let glob = if let Some(dir) = glob.strip_suffix('/') {
        format!("{dir}/**")
    } else {
        glob.to_string()
    };
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).is_ok_and(|r| r.is_match(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_span_directories_only_with_double_stars() {
        assert!(glob_matches("tests/**", "tests/a/b.rs"));
        assert!(glob_matches("**/fixtures/*.json", "x/y/fixtures/a.json"));
        assert!(glob_matches("fixtures/", "fixtures/github/a.json"));
        assert!(!glob_matches("*.json", "fixtures/a.json"));
        assert!(glob_matches("*.json", "a.json"));
    }

    #[test]
    fn ignore_lines_name_their_kind() {
        let rules = parse_ignore("# comment\npattern:generic-password-quoted\nfingerprint:ABCD\nfixtures/**  # vendored\n");
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[0].kind,
            IgnoreKind::Pattern("generic-password-quoted".into())
        );
        assert!(rules[1].covers("x", "abcd1234", None));
        assert!(rules[2].covers("x", "f", Some("fixtures/a/b.json")));
        assert_eq!(rules[2].line, 4);
    }
}
