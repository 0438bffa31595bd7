//! `findings.ocsf.jsonl`: each finding as an OCSF 1.1 Detection Finding (class 2004, category
//! Findings), one JSON object a line, for a SIEM. The activity follows the finding's lifecycle:
//! Create while it is new (seen by one evaluation only), Update while it is open or excepted
//! after that, Close once a run resolved it.

use super::{Pack, ReportFinding};
use crate::findings::FindingState;
use residual_scanners::time::parse_time;
use serde_json::{json, Value};
use std::io::{self, Write};

pub const CLASS_UID: u32 = 2004;
pub const CATEGORY_UID: u32 = 2;
pub const OCSF_VERSION: &str = "1.1.0";

/// OCSF activity ids of a Detection Finding.
const CREATE: u32 = 1;
const UPDATE: u32 = 2;
const CLOSE: u32 = 3;

fn millis(t: &str) -> Option<i64> {
    parse_time(t).ok().map(|t| t.timestamp_millis())
}

/// OCSF `severity_id`: 1 informational … 5 critical.
fn severity_id(severity: &str) -> u32 {
    match severity {
        "critical" => 5,
        "high" => 4,
        "medium" => 3,
        "low" => 2,
        _ => 1,
    }
}

/// One finding as an OCSF Detection Finding.
pub fn record(rf: &ReportFinding, version: &str) -> Value {
    let f = &rf.finding;
    let (activity_id, activity_name) = match f.state {
        FindingState::Resolved => (CLOSE, "Close"),
        FindingState::Open if f.first_seen == f.last_seen => (CREATE, "Create"),
        _ => (UPDATE, "Update"),
    };
    let (status_id, status) = match f.state {
        FindingState::Open if activity_id == CREATE => (1, "New"),
        FindingState::Open => (2, "In Progress"),
        FindingState::Excepted => (3, "Suppressed"),
        FindingState::Resolved => (4, "Resolved"),
    };
    let time = match f.state {
        FindingState::Resolved => f.resolved_at.as_deref().unwrap_or(&f.last_seen),
        _ => &f.last_seen,
    };
    let mut resource = json!({
        "uid": f.subject,
        "name": f.account,
        "type": f.system.split(':').next().unwrap_or(&f.system),
        "group": { "name": f.system },
    });
    if let Some(employee) = &f.employee_id {
        resource["owner"] = json!({ "uid": employee, "name": rf.name, "email_addr": rf.email });
    }
    json!({
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "time": millis(time),
        "severity_id": severity_id(&f.severity),
        "severity": f.severity,
        "status_id": status_id,
        "status": status,
        "finding_info": {
            "uid": f.id,
            "title": &*rf.title,
            "desc": format!("{} ({}) on {} in {}", rf.title, f.rule, f.subject, f.system),
            "types": [f.rule],
            "created_time": millis(&f.first_seen),
            "first_seen_time": millis(&f.first_seen),
            "last_seen_time": millis(&f.last_seen),
            "analytic": { "uid": f.rule, "name": f.rule, "type_id": 1, "type": "Rule" },
        },
        "resources": [resource],
        "remediation": {
            "desc": super::one_line(&f.remediation),
            "references": &*rf.frameworks,
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "residual",
                "vendor_name": "residual",
                "version": version,
            },
        },
        "unmapped": {
            "exception": rf.exception.as_ref().map(|x| json!({
                "uid": x.id, "approver": x.approver, "expires_at": x.expires_at,
            })),
            "resolved_by_run": f.resolved_by_run,
        },
    })
}

pub fn write(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    for rf in &pack.findings {
        serde_json::to_writer(&mut *out, &record(rf, &pack.meta.tool_version))?;
        writeln!(out)?;
    }
    out.flush()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::report::ReportFinding;
    use crate::store::findings::Finding;

    pub(crate) fn finding(state: FindingState, first: &str, last: &str) -> ReportFinding {
        ReportFinding {
            finding: Finding {
                id: "f1".into(),
                rule: "leaver-active-access-key".into(),
                severity: "high".into(),
                state,
                employee_id: Some("E1".into()),
                system: "aws-iam:123456789012".into(),
                account: "ann".into(),
                subject: "ann/access-key/AKIAEXAMPLE".into(),
                live: Some(true),
                first_seen: first.into(),
                last_seen: last.into(),
                resolved_at: (state == FindingState::Resolved).then(|| last.to_string()),
                resolved_by_run: (state == FindingState::Resolved).then_some(3),
                unit: Some("users:access-keys".into()),
                exception_id: None,
                evidence: serde_json::Value::Null,
                remediation: "Deactivate the key.".into(),
            },
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            event: None,
            exception: None,
            created: None,
            last_used: None,
            title: "Leaver still has an active access key".into(),
            frameworks: vec!["SOC 2 CC6.2".to_string()].into(),
        }
    }

    #[test]
    fn the_activity_follows_the_finding_lifecycle() {
        let a = "2026-06-01T00:00:00Z";
        let b = "2026-06-02T00:00:00Z";
        let cases = [
            (FindingState::Open, a, a, 1, 1),
            (FindingState::Open, a, b, 2, 2),
            (FindingState::Excepted, a, b, 2, 3),
            (FindingState::Resolved, a, b, 3, 4),
        ];
        for (state, first, last, activity, status) in cases {
            let r = record(&finding(state, first, last), "0.1.0");
            assert_eq!(r["activity_id"], activity, "{state:?}");
            assert_eq!(r["type_uid"], 200400 + activity, "{state:?}");
            assert_eq!(r["status_id"], status, "{state:?}");
        }
        let closed = record(&finding(FindingState::Resolved, a, b), "0.1.0");
        assert_eq!(
            closed["time"], 1_780_358_400_000_i64,
            "the resolution time, in ms"
        );
        assert_eq!(closed["severity_id"], 4);
    }
}
