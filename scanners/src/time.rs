//! Parsing of the timestamps that exports and APIs hand us: RFC 3339 times, plain dates, and the
//! `YYYY-MM-DD HH:MM:SS` form many CSV exports use. A plain date means midnight UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses an RFC 3339 time, a `YYYY-MM-DD` date (midnight UTC), or `YYYY-MM-DD HH:MM[:SS]` (UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-01-31T17:00:00Z)"
    ))
}

/// Formats a time the way every output of residual shows it: RFC 3339, UTC, seconds.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dates_and_rfc3339_times() {
        assert_eq!(
            format_time(&parse_time("2026-03-01").unwrap()),
            "2026-03-01T00:00:00Z"
        );
        assert_eq!(
            format_time(&parse_time("2026-03-01T10:00:00+02:00").unwrap()),
            "2026-03-01T08:00:00Z"
        );
        assert_eq!(
            format_time(&parse_time("2026-03-01 10:11:12").unwrap()),
            "2026-03-01T10:11:12Z"
        );
    }

    #[test]
    fn rejects_nonsense_with_a_hint() {
        let e = parse_time("31/02/2026").unwrap_err();
        assert!(e.contains("RFC 3339"));
    }
}
