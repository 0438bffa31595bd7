//! The severity ceiling a secret pattern sets (`max_severity` in `rules/secrets/`): an encrypted
//! private key or a factory login on localhost is still reported, but never above its ceiling,
//! whatever rule raises it.

use crate::severity::Severity;
use residual_scanners::secrets::{builtin, SeverityCeiling};
use std::collections::HashMap;
use std::sync::OnceLock;

/// `severity`, lowered to the ceiling of the pattern `pattern_id` when it has one.
pub(super) fn cap(severity: Severity, pattern_id: &str) -> Severity {
    match ceilings().get(pattern_id) {
        Some(ceiling) => severity.min(match ceiling {
            SeverityCeiling::Low => Severity::Low,
            SeverityCeiling::Medium => Severity::Medium,
            SeverityCeiling::High => Severity::High,
        }),
        None => severity,
    }
}

/// The ceilings of the built-in patterns, read once. The patterns are checked when the matcher
/// is built (a scan cannot run with a broken one), so a failure here leaves no ceiling.
fn ceilings() -> &'static HashMap<String, SeverityCeiling> {
    static CEILINGS: OnceLock<HashMap<String, SeverityCeiling>> = OnceLock::new();
    CEILINGS.get_or_init(|| {
        builtin()
            .map(|patterns| {
                patterns
                    .into_iter()
                    .filter_map(|p| p.max_severity.map(|c| (p.id, c)))
                    .collect()
            })
            .unwrap_or_default()
    })
}
