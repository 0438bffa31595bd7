//! The summary figures of a pack (pure): counts of cases by state, time to collapse, open findings
//! by severity and by system, and open residual access over the period.

use super::{Pack, Period};
use crate::cases::{CaseKind, CaseState};
use crate::findings::FindingState;
use chrono::{DateTime, Utc};
use residual_scanners::time::parse_time;
use std::collections::BTreeMap;

/// Severities in the order a reviewer reads them.
pub const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// How many points the chart of open residual access has.
const TIMELINE_POINTS: usize = 48;

#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub leavers: usize,
    pub movers: usize,
    pub verified: usize,
    pub open: usize,
    pub overdue: usize,
    pub excepted: usize,
    /// Hours from the HR event to the proof of collapse, of every verified case, ascending.
    pub collapse_hours: Vec<f64>,
    pub median_hours: Option<f64>,
    pub p95_hours: Option<f64>,
    pub open_findings: usize,
    /// Open findings per severity, in [`SEVERITIES`] order.
    pub open_by_severity: Vec<(&'static str, usize)>,
    /// Open findings per system, most first.
    pub open_by_system: Vec<(String, usize)>,
    /// Open (not excepted) findings at evenly spaced times over the period.
    pub open_over_time: Vec<(DateTime<Utc>, usize)>,
}

/// The `q` quantile (0..=1) of ascending `sorted` values, by nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub fn of(pack: &Pack) -> Figures {
    let mut f = Figures::default();
    for c in &pack.cases {
        match c.event.kind {
            CaseKind::Leaver => f.leavers += 1,
            CaseKind::Mover => f.movers += 1,
        }
        match c.state {
            CaseState::Verified => f.verified += 1,
            CaseState::Open => f.open += 1,
            CaseState::Excepted => f.excepted += 1,
        }
        f.overdue += usize::from(c.overdue);
        f.collapse_hours.extend(c.hours_to_collapse());
    }
    f.collapse_hours.sort_by(f64::total_cmp);
    f.median_hours = quantile(&f.collapse_hours, 0.5);
    f.p95_hours = quantile(&f.collapse_hours, 0.95);

    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_system: BTreeMap<&str, usize> = BTreeMap::new();
    for rf in pack
        .findings
        .iter()
        .filter(|f| f.finding.state == FindingState::Open)
    {
        f.open_findings += 1;
        *by_severity.entry(rf.finding.severity.as_str()).or_default() += 1;
        *by_system.entry(rf.finding.system.as_str()).or_default() += 1;
    }
    f.open_by_severity = SEVERITIES
        .iter()
        .map(|s| (*s, by_severity.get(s).copied().unwrap_or(0)))
        .collect();
    let mut systems: Vec<(String, usize)> = by_system
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    systems.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    f.open_by_system = systems;
    f.open_over_time = open_over_time(pack, pack.meta.period, pack.meta.generated_at);
    f
}

/// Findings not resolved (and not excepted now) at each of [`TIMELINE_POINTS`] times from the
/// period's start (or the first finding) to its end (or now). A finding counts from its first
/// sighting until it was resolved.
fn open_over_time(pack: &Pack, period: Period, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, usize)> {
    let spans: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = pack
        .findings
        .iter()
        .filter(|f| f.finding.state != FindingState::Excepted)
        .filter_map(|f| {
            let start = parse_time(&f.finding.first_seen).ok()?;
            let end = f
                .finding
                .resolved_at
                .as_deref()
                .and_then(|r| parse_time(r).ok());
            Some((start, end))
        })
        .collect();
    let Some(first) = period.since.or_else(|| spans.iter().map(|s| s.0).min()) else {
        return Vec::new();
    };
    let last = period.until.map_or(now, |u| u.min(now)).max(first);
    let step = (last - first) / (TIMELINE_POINTS as i32 - 1);
    // Counting by sorted starts and ends keeps this O(n log n) for a large store.
    let mut starts: Vec<DateTime<Utc>> = spans.iter().map(|s| s.0).collect();
    let mut ends: Vec<DateTime<Utc>> = spans.iter().filter_map(|s| s.1).collect();
    starts.sort();
    ends.sort();
    (0..TIMELINE_POINTS)
        .map(|i| {
            let t = first + step * i as i32;
            let started = starts.partition_point(|s| *s <= t);
            let ended = ends.partition_point(|e| *e <= t);
            (t, started.saturating_sub(ended))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.95), Some(10.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
