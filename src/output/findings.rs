//! How lists of findings are shown.

/// The columns a table or CSV of findings shows (JSON carries every field).
pub const COLUMNS: &[&str] = &[
    "id",
    "severity",
    "state",
    "rule",
    "employee_id",
    "system",
    "account",
    "subject",
    "live",
    "first_seen",
    "last_seen",
    "resolved_at",
];
