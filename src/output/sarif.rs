//! SARIF 2.1.0 for `residual gate`, in the shape GitHub code scanning accepts: one run, the rules
//! that fired with `security-severity`, results with a file and line, `partialFingerprints` so
//! alerts track across pushes, and `suppressions` for findings a documented exception, a `.residualignore` rule or an inline
//! `residual:allow` covers.

use crate::rules::RuleSet;
use crate::severity::Severity;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One result of the gate.
pub struct SarifResult<'a> {
    pub finding_id: &'a str,
    pub rule: &'a str,
    pub severity: Severity,
    pub message: String,
    /// Repository-relative path; `None` puts the result on the repository root.
    pub path: Option<&'a str>,
    pub line: Option<u64>,
    /// Why the finding does not count, when something covers it.
    pub suppression: Option<Suppression>,
    /// More result properties (`residual/verified`, `residual/verifiedOwner`, ...), for tools
    /// that read SARIF rather than people reading the message.
    pub properties: Vec<(&'static str, String)>,
}

/// A SARIF suppression: what covers a result and why.
pub struct Suppression {
    /// `external` (a documented exception, `.residualignore`) or `inSource` (an inline
    /// `residual:allow` next to the secret).
    pub kind: &'static str,
    pub justification: String,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The whole SARIF log.
pub fn document(rules: &RuleSet, results: &[SarifResult], notes: &[String]) -> Value {
    let fired: BTreeSet<&str> = results.iter().map(|r| r.rule).collect();
    let rule_list: Vec<&str> = fired.into_iter().collect();
    let descriptors: Vec<Value> = rule_list
        .iter()
        .map(|id| {
            let r = rules.get(id);
            let severity = r.map(|r| r.severity).unwrap_or(Severity::Medium);
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": r.map(|r| r.title.as_str()).unwrap_or(id) },
                "fullDescription": { "text": r.map(|r| r.description.trim()).unwrap_or("") },
                "help": { "text": r.map(|r| r.remediation.trim()).unwrap_or("") },
                "defaultConfiguration": { "level": level(severity) },
                "properties": {
                    "security-severity": severity.security_severity(),
                    "tags": ["security", "residual-access"],
                    "frameworks": r.map(|r| r.frameworks.clone()).unwrap_or_default(),
                },
            })
        })
        .collect();
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut region = json!({});
            if let Some(line) = r.line {
                region = json!({ "startLine": line.max(1) });
            }
            let mut result = json!({
                "ruleId": r.rule,
                "ruleIndex": rule_list.iter().position(|id| *id == r.rule).unwrap_or(0),
                "level": level(r.severity),
                "message": { "text": r.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": r.path.unwrap_or(".") , "uriBaseId": "%SRCROOT%" },
                        "region": region,
                    }
                }],
                "partialFingerprints": { "residualFindingId/v1": r.finding_id },
                "properties": { "security-severity": r.severity.security_severity() },
            });
            if r.line.is_none() {
                if let Some(loc) = result["locations"][0]["physicalLocation"].as_object_mut() {
                    loc.remove("region");
                }
            }
            for (key, value) in &r.properties {
                result["properties"][*key] = json!(value);
            }
            if let Some(s) = &r.suppression {
                result["suppressions"] = json!([{ "kind": s.kind, "status": "accepted", "justification": s.justification }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "residual",
                "informationUri": "https://github.com/residual-security/residual",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notes
                    .iter()
                    .map(|n| json!({ "level": "warning", "message": { "text": n } }))
                    .collect::<Vec<_>>(),
            }],
            "results": results,
        }],
    })
}
