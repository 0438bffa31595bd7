//! `findings.asff.json`: the findings of AWS IAM systems in the AWS Security Finding Format, as
//! a JSON array `aws securityhub batch-import-findings --findings file://…` takes. Findings of
//! other systems have no AWS account to belong to and are left out (they are in the OCSF file).

use super::{Pack, ReportFinding};
use crate::findings::FindingState;
use serde_json::{json, Value};
use std::io::{self, Write};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// The region named in product ARNs: Security Hub's custom-integration ARN needs one.
const REGION: &str = "us-east-1";

/// The AWS account of an `aws-iam:<account>` system.
pub fn account_of(system: &str) -> Option<&str> {
    system.strip_prefix("aws-iam:").filter(|a| !a.is_empty())
}

/// One finding in ASFF, when it belongs to an AWS account.
pub fn record(rf: &ReportFinding) -> Option<Value> {
    let f = &rf.finding;
    let account = account_of(&f.system)?;
    let label = match f.severity.as_str() {
        "critical" => "CRITICAL",
        "high" => "HIGH",
        "medium" => "MEDIUM",
        "low" => "LOW",
        _ => "INFORMATIONAL",
    };
    let (workflow, record_state) = match f.state {
        FindingState::Open => ("NEW", "ACTIVE"),
        FindingState::Excepted => ("SUPPRESSED", "ACTIVE"),
        FindingState::Resolved => ("RESOLVED", "ARCHIVED"),
    };
    let updated = f.resolved_at.as_deref().unwrap_or(&f.last_seen);
    let user_arn = format!("arn:aws:iam::{account}:user/{}", f.account);
    Some(json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": format!("residual/{}", f.id),
        "ProductArn": format!("arn:aws:securityhub:{REGION}:{account}:product/{account}/default"),
        "ProductName": "residual",
        "GeneratorId": format!("residual/{}", f.rule),
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": f.first_seen,
        "UpdatedAt": updated,
        "FirstObservedAt": f.first_seen,
        "LastObservedAt": f.last_seen,
        "Severity": { "Label": label },
        "Title": &*rf.title,
        "Description": format!("{} ({}): {} of {}", rf.title, f.rule, f.subject, f.account),
        "Remediation": { "Recommendation": { "Text": truncate(&super::one_line(&f.remediation), 512) } },
        "Resources": [{
            "Type": "AwsIamUser",
            "Id": user_arn,
            "Partition": "aws",
            "Region": REGION,
        }],
        "Workflow": { "Status": workflow },
        "RecordState": record_state,
        "ProductFields": {
            "residual/rule": f.rule,
            "residual/subject": f.subject,
            "residual/employee_id": f.employee_id.clone().unwrap_or_default(),
        },
    }))
}

/// ASFF limits some strings' lengths (a recommendation's text to 512 characters).
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

pub fn write(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    let records: Vec<Value> = pack.findings.iter().filter_map(record).collect();
    serde_json::to_writer_pretty(&mut *out, &records)?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ocsf::tests::finding;

    #[test]
    fn only_aws_findings_are_asff_and_resolved_ones_are_archived() {
        let mut f = finding(
            FindingState::Resolved,
            "2026-06-01T00:00:00Z",
            "2026-06-02T00:00:00Z",
        );
        let r = record(&f).expect("an AWS finding");
        assert_eq!(r["AwsAccountId"], "123456789012");
        assert_eq!(r["RecordState"], "ARCHIVED");
        assert_eq!(r["Workflow"]["Status"], "RESOLVED");
        assert_eq!(r["UpdatedAt"], "2026-06-02T00:00:00Z");
        assert_eq!(
            r["Resources"][0]["Id"],
            "arn:aws:iam::123456789012:user/ann"
        );
        f.finding.system = "inventory:crm".into();
        assert!(record(&f).is_none());
    }
}
