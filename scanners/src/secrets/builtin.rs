//! The built-in copy of `rules/secrets/*.toml`, compiled into the binary so it works anywhere.
//!
//! The list is explicit; a test asserts it names every file of `rules/secrets`, so a new file
//! cannot be forgotten.

use super::pattern::{check_unique_ids, parse_file, LoadError, Pattern};

/// Every built-in pattern file: (file name, contents).
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("aws.toml", include_str!("../../../rules/secrets/aws.toml")),
    (
        "github.toml",
        include_str!("../../../rules/secrets/github.toml"),
    ),
    (
        "gitlab.toml",
        include_str!("../../../rules/secrets/gitlab.toml"),
    ),
    (
        "chat.toml",
        include_str!("../../../rules/secrets/chat.toml"),
    ),
    (
        "payments.toml",
        include_str!("../../../rules/secrets/payments.toml"),
    ),
    (
        "cloud.toml",
        include_str!("../../../rules/secrets/cloud.toml"),
    ),
    (
        "saas.toml",
        include_str!("../../../rules/secrets/saas.toml"),
    ),
    (
        "packages.toml",
        include_str!("../../../rules/secrets/packages.toml"),
    ),
    (
        "keys.toml",
        include_str!("../../../rules/secrets/keys.toml"),
    ),
    (
        "services.toml",
        include_str!("../../../rules/secrets/services.toml"),
    ),
    (
        "databases.toml",
        include_str!("../../../rules/secrets/databases.toml"),
    ),
    (
        "context.toml",
        include_str!("../../../rules/secrets/context.toml"),
    ),
    (
        "credential-files.toml",
        include_str!("../../../rules/secrets/credential-files.toml"),
    ),
    (
        "generic.toml",
        include_str!("../../../rules/secrets/generic.toml"),
    ),
];

/// Parses the built-in pattern files (about a millisecond per file; call once and share).
pub fn builtin() -> Result<Vec<Pattern>, LoadError> {
    let mut patterns = Vec::new();
    for (file, text) in BUILTIN_FILES {
        patterns.extend(parse_file(&format!("rules/secrets/{file}"), text)?);
    }
    check_unique_ids(&patterns)?;
    Ok(patterns)
}
