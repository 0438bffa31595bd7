//! Which scheduled jobs are due, decided without a clock or a store: every job with a firing in
//! the window runs once (firings of one job the window holds several of are coalesced), ordered
//! by first firing and then by configuration order, so no job starves another with the same
//! schedule.

use crate::config::CatchUp;
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};

/// One configured scanner with a schedule.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub schedule: Schedule,
    pub catch_up: CatchUp,
}

/// A job due in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Index into the jobs, which is configuration order.
    pub job: usize,
    /// Its first firing in the window.
    pub first: DateTime<Utc>,
    /// Its last firing in the window: the one recorded as handled.
    pub last: DateTime<Utc>,
    /// Firings in the window (more than 1: coalesced into one run).
    pub firings: usize,
}

/// Counting firings stops here: a window this full says enough (a per-second job, a long run).
const MAX_COUNTED: usize = 10_000;

/// The jobs with a firing in `(after, upto]`, in the order they run.
pub fn due(jobs: &[Job], after: DateTime<Utc>, upto: DateTime<Utc>) -> Vec<Due> {
    let mut out: Vec<Due> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| {
            let first = job.schedule.next_after(after)?.with_timezone(&Utc);
            if first > upto {
                return None;
            }
            let mut last = first;
            let mut firings = 1;
            while firings < MAX_COUNTED {
                match job.schedule.next_after(last) {
                    Some(t) if t.with_timezone(&Utc) <= upto => {
                        last = t.with_timezone(&Utc);
                        firings += 1;
                    }
                    _ => break,
                }
            }
            Some(Due {
                job: i,
                first,
                last,
                firings,
            })
        })
        .collect();
    out.sort_by_key(|d| (d.first, d.job));
    out
}

/// The earliest firing of any job after `t`.
pub fn next_wake(jobs: &[Job], t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    jobs.iter()
        .filter_map(|j| j.schedule.next_after(t))
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// The firing a job missed while the daemon was down: its last firing at or before `now` when
/// that is after `handled`, the last firing it handled. `None` without a record (a first start).
pub fn missed(
    job: &Job,
    handled: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let handled = handled?;
    let last = job.schedule.last_at_or_before(now)?.with_timezone(&Utc);
    (last > handled).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Tz;

    fn job(name: &str, expr: &str) -> Job {
        Job {
            name: name.into(),
            schedule: crate::schedule::parse(expr, Tz::UTC).unwrap(),
            catch_up: CatchUp::Last,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).unwrap()
    }

    #[test]
    fn two_jobs_with_one_schedule_both_run_in_config_order() {
        let jobs = [job("zeta", "0 2 * * *"), job("alpha", "0 2 * * *")];
        let d = due(
            &jobs,
            at("2026-01-01T01:00:00Z"),
            at("2026-01-01T02:00:00Z"),
        );
        assert_eq!(d.iter().map(|d| d.job).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn earlier_firings_run_first_and_late_ones_wait() {
        let jobs = [job("late", "30 2 * * *"), job("early", "0 2 * * *")];
        let d = due(
            &jobs,
            at("2026-01-01T01:00:00Z"),
            at("2026-01-01T02:45:00Z"),
        );
        assert_eq!(d.iter().map(|d| d.job).collect::<Vec<_>>(), [1, 0]);
        let d = due(
            &jobs,
            at("2026-01-01T01:00:00Z"),
            at("2026-01-01T02:10:00Z"),
        );
        assert_eq!(d.iter().map(|d| d.job).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn firings_a_long_run_overlapped_are_coalesced() {
        let jobs = [job("busy", "*/5 * * * *")];
        let d = due(
            &jobs,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:17:00Z"),
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].firings, 3);
        assert_eq!(d[0].first, at("2026-01-01T00:05:00Z"));
        assert_eq!(d[0].last, at("2026-01-01T00:15:00Z"));
    }

    #[test]
    fn a_missed_firing_is_found_only_with_a_record() {
        let j = job("nightly", "0 2 * * *");
        let now = at("2026-01-03T09:00:00Z");
        assert_eq!(
            missed(&j, Some(at("2026-01-01T02:00:00Z")), now),
            Some(at("2026-01-03T02:00:00Z"))
        );
        assert_eq!(missed(&j, Some(at("2026-01-03T02:00:00Z")), now), None);
        assert_eq!(missed(&j, None, now), None);
    }
}
