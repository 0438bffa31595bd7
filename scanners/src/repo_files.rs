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
    /// A path rule with `.gitignore` semantics (`*.ini` at any depth, a leading `/` anchors to
    /// the root, a trailing `/` covers a directory, `**` spans directories):
    /// `path:tests/fixtures/**` or a bare glob.
    Path(PathRule),
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
            IgnoreKind::Path(rule) => path.is_some_and(|p| rule.matches(p)),
        }
    }

    /// How a suppression cites the rule.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            IgnoreKind::Path(g) => format!("path {}", g.glob),
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
                IgnoreKind::Path(PathRule::new(
                    line.strip_prefix("path:").unwrap_or(line).trim(),
                ))
            };
            Some(IgnoreRule { line: i + 1, kind })
        })
        .collect()
}

/// A `.residualignore` path rule, compiled once with `.gitignore` semantics (the `ignore`
/// crate's matcher, the one ripgrep uses) rather than a glob turned into a regex on every call.
#[derive(Debug, Clone)]
pub struct PathRule {
    /// The glob as written.
    pub glob: String,
    matcher: Option<ignore::gitignore::Gitignore>,
}

impl PathRule {
    pub fn new(glob: &str) -> PathRule {
        let mut builder = ignore::gitignore::GitignoreBuilder::new("");
        // A glob the matcher cannot read covers nothing (`matcher` stays empty).
        let matcher = builder
            .add_line(None, glob)
            .ok()
            .and_then(|b| b.build().ok());
        PathRule {
            glob: glob.to_string(),
            matcher,
        }
    }

    /// Whether the rule covers the repository-relative `path` (a file, or any directory above it).
    pub fn matches(&self, path: &str) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|m| m.matched_path_or_any_parents(path, false).is_ignore())
    }
}

impl PartialEq for PathRule {
    fn eq(&self, other: &Self) -> bool {
        self.glob == other.glob
    }
}

impl Eq for PathRule {}

/// Whether the `.gitignore`-style `glob` covers the repository-relative `path`.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    PathRule::new(glob).matches(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules_follow_gitignore_semantics() {
        assert!(glob_matches("tests/**", "tests/a/b.rs"));
        assert!(glob_matches("**/fixtures/*.json", "x/y/fixtures/a.json"));
        assert!(glob_matches("fixtures/", "fixtures/github/a.json"));
        // As in .gitignore, a pattern without a slash matches at any depth…
        assert!(glob_matches("*.ini", "config/app/settings.ini"));
        assert!(glob_matches("*.json", "fixtures/a.json"));
        assert!(glob_matches("*.json", "a.json"));
        // …and a leading or middle slash anchors it to the root.
        assert!(glob_matches("/secrets.env", "secrets.env"));
        assert!(!glob_matches("/secrets.env", "app/secrets.env"));
        assert!(!glob_matches("config/*.ini", "x/config/a.ini"));
        assert!(!glob_matches("*.ini", "settings.ini.bak"));
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
        assert_eq!(
            rules[2].kind,
            IgnoreKind::Path(PathRule::new("fixtures/**"))
        );
        assert_eq!(rules[2].line, 4);
    }
}
