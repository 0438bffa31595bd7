//! Cron schedules for `residual daemon`, with crontab's own semantics (POSIX/Vixie, through the
//! `croner` crate): 5 fields `minute hour day-of-month month day-of-week`, `0` and `7` both
//! Sunday, names (`mon-fri`, `jan`), ranges, steps, `@hourly` `@daily` `@weekly` `@monthly`
//! `@yearly`, and an optional leading seconds field (6 fields). A schedule is read in a time
//! zone (UTC unless configured); across a DST change a wall-clock time that does not exist runs
//! at the first instant after the gap, and one that exists twice runs once.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A schedule that could not be read; the message says what is wrong, the caller names the
/// scanner and echoes the expression as written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub String);

/// One parsed schedule in its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    zone: Tz,
}

/// Parses a crontab expression (5 fields, or 6 with seconds first, or an `@` form) in `zone`.
pub fn parse(expr: &str, zone: Tz) -> Result<Schedule, ScheduleError> {
    let mut trimmed = expr.trim();
    // Vixie cron's other name for @daily.
    if trimmed.eq_ignore_ascii_case("@midnight") {
        trimmed = "@daily";
    }
    if !trimmed.starts_with('@') {
        let fields = trimmed.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(ScheduleError(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with \
                 seconds first, found {fields}"
            )));
        }
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        // A 7th field would be a year, which crontab does not have: refuse it.
        .year(croner::parser::Year::Disallowed)
        .build();
    let cron = parser
        .parse(trimmed)
        .map_err(|e| ScheduleError(describe(&e)))?;
    Ok(Schedule { cron, zone })
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| {
        ScheduleError(format!(
            "unknown time zone `{name}` (an IANA name such as `UTC` or `Europe/Berlin`)"
        ))
    })
}

/// croner's messages without its type names.
fn describe(e: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    match e {
        E::EmptyPattern => "the expression is empty".into(),
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => m.clone(),
        other => other.to_string(),
    }
}

impl Schedule {
    /// The zone the schedule is read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first firing strictly after `t`, in the schedule's zone.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.zone), false)
            .ok()
    }

    /// The last firing at or before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.zone), true)
            .ok()
    }

    /// The next `n` firings after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = t;
        while out.len() < n {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            cursor = next.with_timezone(&Utc);
            out.push(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;

    fn at(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).unwrap()
    }

    fn next(expr: &str, zone: Tz, after: &str) -> String {
        parse(expr, zone)
            .unwrap_or_else(|e| panic!("`{expr}`: {e}"))
            .next_after(at(after))
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Next firing after Thursday 2026-01-01 00:00:00 UTC, as crontab(5) reads each expression.
    #[test]
    fn crontab_table() {
        let after = "2026-01-01T00:00:00Z";
        let table = [
            ("* * * * *", "2026-01-01T00:01:00Z"),
            ("30 2 * * *", "2026-01-01T02:30:00Z"),
            // Weekdays: 1 is Monday, 0 and 7 are Sunday (2026-01-04 is a Sunday).
            ("0 2 * * 1", "2026-01-05T02:00:00Z"),
            ("0 2 * * 0", "2026-01-04T02:00:00Z"),
            ("0 2 * * 7", "2026-01-04T02:00:00Z"),
            ("0 2 * * 4", "2026-01-01T02:00:00Z"),
            ("0 2 * * 5", "2026-01-02T02:00:00Z"),
            ("0 2 * * 6", "2026-01-03T02:00:00Z"),
            // Ranges: Monday to Friday from a Friday night.
            ("0 9 * * 1-5", "2026-01-01T09:00:00Z"),
            ("0 0 * * 1-5", "2026-01-02T00:00:00Z"),
            ("0 9 * * 6-7", "2026-01-03T09:00:00Z"),
            ("0 9 * * 5-7", "2026-01-02T09:00:00Z"),
            // Names.
            ("0 9 * * mon-fri", "2026-01-01T09:00:00Z"),
            ("0 9 * * SUN", "2026-01-04T09:00:00Z"),
            ("0 9 * * sat,sun", "2026-01-03T09:00:00Z"),
            ("0 0 1 mar *", "2026-03-01T00:00:00Z"),
            ("0 0 1 jun-aug *", "2026-06-01T00:00:00Z"),
            // Steps and lists.
            ("*/15 * * * *", "2026-01-01T00:15:00Z"),
            ("5-59/20 * * * *", "2026-01-01T00:05:00Z"),
            ("0 */6 * * *", "2026-01-01T06:00:00Z"),
            ("0 1,13 * * *", "2026-01-01T01:00:00Z"),
            ("0 0 */10 * *", "2026-01-11T00:00:00Z"),
            // Day-of-month and day-of-week both restricted: either matches (Vixie).
            ("0 0 13 * 5", "2026-01-02T00:00:00Z"),
            ("0 0 31 * *", "2026-01-31T00:00:00Z"),
            ("0 0 29 2 *", "2028-02-29T00:00:00Z"),
            // The @ forms.
            ("@hourly", "2026-01-01T01:00:00Z"),
            ("@daily", "2026-01-02T00:00:00Z"),
            ("@midnight", "2026-01-02T00:00:00Z"),
            ("@weekly", "2026-01-04T00:00:00Z"),
            ("@monthly", "2026-02-01T00:00:00Z"),
            ("@yearly", "2027-01-01T00:00:00Z"),
            ("@annually", "2027-01-01T00:00:00Z"),
            // Six fields: seconds first.
            ("*/10 * * * * *", "2026-01-01T00:00:10Z"),
            ("30 0 2 * * *", "2026-01-01T02:00:30Z"),
        ];
        for (expr, want) in table {
            assert_eq!(next(expr, Tz::UTC, after), want, "`{expr}`");
        }
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        for (expr, says) in [
            ("* * *", "5 fields"),
            ("1 2 3 4 5 6 7", "5 fields"),
            ("61 * * * *", ""),
            ("0 25 * * *", ""),
            ("0 2 * * 8", ""),
            ("0 2 * * fooday", ""),
            ("@sometimes", ""),
            ("", "5 fields"),
        ] {
            let e = parse(expr, Tz::UTC)
                .err()
                .unwrap_or_else(|| panic!("`{expr}` should be refused"))
                .to_string();
            assert!(e.contains(says), "`{expr}`: {e}");
            assert!(!e.contains("CronError"), "`{expr}`: {e}");
        }
    }

    #[test]
    fn a_zone_moves_the_firing_and_the_offset_is_shown() {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        assert_eq!(
            next("0 2 * * 1", berlin, "2026-01-01T00:00:00Z"),
            "2026-01-05T02:00:00+01:00"
        );
        assert_eq!(
            next("0 2 * * *", berlin, "2026-06-30T21:00:00Z"),
            "2026-07-01T02:00:00+02:00"
        );
        assert!(parse_zone("Europe/Berlinn")
            .unwrap_err()
            .to_string()
            .contains("`Europe/Berlinn`"));
    }

    /// Firings of a daily 02:30 job in Berlin on one local date.
    fn firings_on(local_date: &str) -> Vec<String> {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let s = parse("30 2 * * *", berlin).unwrap();
        s.upcoming(at("2026-03-25T00:00:00Z"), 250)
            .into_iter()
            .filter(|t| t.date_naive().to_string() == local_date)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .collect()
    }

    #[test]
    fn a_0230_job_runs_once_on_the_spring_forward_day() {
        // 2026-03-29: Berlin's clocks go from 02:00 to 03:00; 02:30 does not exist.
        assert_eq!(firings_on("2026-03-29"), ["2026-03-29T03:00:00+02:00"]);
        assert_eq!(firings_on("2026-03-30"), ["2026-03-30T02:30:00+02:00"]);
    }

    #[test]
    fn a_0230_job_runs_once_on_the_fall_back_day() {
        // 2026-10-25: Berlin's clocks go from 03:00 back to 02:00; 02:30 happens twice.
        let fired = firings_on("2026-10-25");
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(firings_on("2026-10-26"), ["2026-10-26T02:30:00+01:00"]);
    }
}
