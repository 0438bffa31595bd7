//! When an exception ends, as a time: parsed (never compared as text), within years 1970 to
//! 9999, and at most `policy.max_exception_days` after the exception was created.
//!
//! A date means the *start* of that day, UTC: `expires = "2026-12-31"` covers until
//! 2026-12-31T00:00:00Z, so the finding is open again on 31 December. This is what `--expires`
//! of `exceptions add` has always meant; an RFC 3339 time says the instant exactly.

use chrono::{DateTime, Datelike, Utc};
use residual_scanners::time::{format_time, parse_time};

/// The default of `policy.max_exception_days`.
pub const DEFAULT_MAX_DAYS: i64 = 365;

/// The range `policy.max_exception_days` is checked against at load.
pub const MAX_DAYS_RANGE: (i64, i64) = (1, 3650);

/// Parses an expiry: a date (start of that day, UTC) or an RFC 3339 time, in years 1970..=9999.
pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    let t = parse_time(text)?;
    if !(1970..=9999).contains(&t.year()) {
        return Err(format!(
            "`{}` is out of range (years 1970 to 9999)",
            text.trim()
        ));
    }
    Ok(t)
}

/// Refuses an expiry further than `max_days` days after `created`.
pub fn check_cap(
    expires: DateTime<Utc>,
    created: DateTime<Utc>,
    max_days: i64,
) -> Result<(), String> {
    if expires - created > chrono::Duration::days(max_days) {
        return Err(format!(
            "{} is more than {max_days} days after the exception was created ({}): \
             policy.max_exception_days is {max_days}",
            format_time(&expires),
            format_time(&created)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_the_start_of_that_day_utc() {
        assert_eq!(
            format_time(&parse("2026-12-31").expect("date")),
            "2026-12-31T00:00:00Z"
        );
        assert_eq!(
            format_time(&parse("2026-12-31T18:00:00+02:00").expect("time")),
            "2026-12-31T16:00:00Z"
        );
    }

    #[test]
    fn years_outside_1970_to_9999_are_refused() {
        for text in ["+10000-01-01", "1969-12-31", "0001-01-01"] {
            assert!(parse(text).is_err(), "{text} accepted");
        }
        parse("9999-12-31").expect("the last year");
    }

    #[test]
    fn an_expiry_beyond_the_cap_is_refused_naming_it() {
        let created = parse("2026-06-01").expect("date");
        check_cap(parse("2027-06-01").expect("date"), created, 365).expect("365 days");
        let e = check_cap(parse("2027-06-02").expect("date"), created, 365).unwrap_err();
        assert!(e.contains("policy.max_exception_days is 365"), "{e}");
    }
}
