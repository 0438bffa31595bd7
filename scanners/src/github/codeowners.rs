//! CODEOWNERS files: which logins, teams and emails own which path patterns.
//!
//! GitHub reads the first of `.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS`. Each
//! non-comment line is a path pattern followed by owners: `@login`, `@org/team` or an email.
//! A pattern with no owners is legal (it removes ownership) and yields nothing.

/// The three places GitHub looks for a CODEOWNERS file, in the order it looks.
pub(crate) const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// Who an owner entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// `@login`.
    User(String),
    /// `@org/team-slug`.
    Team { org: String, slug: String },
    /// A plain email address.
    Email(String),
}

/// One owner of one pattern, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub line: usize,
    pub pattern: String,
    pub owner: Owner,
}

/// Parses a CODEOWNERS file. Unparseable owner words are skipped (GitHub flags them as errors and
/// ignores them too).
pub(crate) fn parse(text: &str) -> Vec<Rule> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next() else {
            continue;
        };
        for word in words {
            let owner = if let Some(name) = word.strip_prefix('@') {
                match name.split_once('/') {
                    Some((org, slug)) if !org.is_empty() && !slug.is_empty() => Owner::Team {
                        org: org.to_string(),
                        slug: slug.to_string(),
                    },
                    Some(_) => continue,
                    None if !name.is_empty() => Owner::User(name.to_string()),
                    None => continue,
                }
            } else if word.contains('@') {
                Owner::Email(word.to_string())
            } else {
                continue;
            };
            out.push(Rule {
                line: i + 1,
                pattern: pattern.to_string(),
                owner,
            });
        }
    }
    out
}

/// The line without a trailing comment; `\#` is an escaped hash in a pattern.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1] != b'\\') {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_teams_and_emails_and_skips_comments() {
        let rules = parse(
            "# owners\n*       @global-owner1 @octo-org/platform\n/docs/ docs@example.com # trailing\n\n/build/logs/\napps/\\#x @alice\n",
        );
        assert_eq!(
            rules,
            vec![
                Rule {
                    line: 2,
                    pattern: "*".into(),
                    owner: Owner::User("global-owner1".into())
                },
                Rule {
                    line: 2,
                    pattern: "*".into(),
                    owner: Owner::Team {
                        org: "octo-org".into(),
                        slug: "platform".into()
                    }
                },
                Rule {
                    line: 3,
                    pattern: "/docs/".into(),
                    owner: Owner::Email("docs@example.com".into())
                },
                Rule {
                    line: 6,
                    pattern: "apps/\\#x".into(),
                    owner: Owner::User("alice".into())
                },
            ]
        );
    }
}
