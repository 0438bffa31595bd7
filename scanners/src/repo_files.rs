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
