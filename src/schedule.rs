//! Cron schedules for `residual daemon`: the 5-field crontab syntax people know (`0 2 * * *`), and
//! the 6/7-field form with seconds the `cron` crate reads natively.

use chrono::{DateTime, Utc};
use std::str::FromStr;

/// Parses a schedule; a 5-field crontab expression runs at second 0.
pub fn parse(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expr}"),
        6 | 7 => expr.to_string(),
        n => {
            return Err(format!(
                "expected 5 fields (minute hour day month weekday), found {n}"
            ))
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| e.to_string())
}

/// The next time `schedule` fires after `now`.
pub fn next_after(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&now).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crontab_runs_at_second_zero() {
        let s = parse("30 2 * * *").unwrap();
        let now = residual_scanners::time::parse_time("2026-01-01T00:00:00Z").unwrap();
        let next = next_after(&s, now).unwrap();
        assert_eq!(
            residual_scanners::time::format_time(&next),
            "2026-01-01T02:30:00Z"
        );
    }

    #[test]
    fn a_wrong_field_count_is_explained() {
        assert!(parse("* * *").unwrap_err().contains("5 fields"));
    }
}
