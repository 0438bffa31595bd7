//! SARIF 2.1.0 for `residual gate`, in the shape GitHub code scanning reads: one run, one rule
//! descriptor per rule and effective severity (GitHub takes `security-severity` from the
//! descriptor), results with a file and line, the stable finding id as
//! `partialFingerprints.primaryLocationLineHash` (the one fingerprint GitHub uses) so alerts
//! track across pushes, `automationDetails`, `invocations` with the scan's notes, and
//! `suppressions` for findings a documented exception, a `.residualignore` rule or an inline
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

/// Where the README explains each rule (`helpUri`).
const RULES_HELP: &str = "https://github.com/residual-security/residual#rules";

/// A rule's text with the per-finding placeholders (`{account}`, `{system}`) in words: a rule
/// descriptor is shared by every result of the rule.
fn generic(text: &str) -> String {
    text.trim()
        .replace("{account}", "the account")
        .replace("{system}", "the system")
}

/// The descriptor id of a rule at an effective severity: the rule id itself when the rule fired
/// at one severity in this log, else `rule/severity` (GitHub reads `security-severity` from the
/// descriptor, so results of one rule at two severities need two).
fn descriptor_id(rule: &str, severity: Severity, split: bool) -> String {
    if split {
        format!("{rule}/{}", severity.as_str())
    } else {
        rule.to_string()
    }
}

/// The whole SARIF log.
pub fn document(rules: &RuleSet, results: &[SarifResult], notes: &[String]) -> Value {
    // One descriptor per rule and effective severity (a `[policy.severity]` override included).
    let fired: BTreeSet<(&str, Severity)> = results.iter().map(|r| (r.rule, r.severity)).collect();
    let split = |rule: &str| fired.iter().filter(|(r, _)| *r == rule).count() > 1;
    let rule_list: Vec<String> = fired
        .iter()
        .map(|(rule, severity)| descriptor_id(rule, *severity, split(rule)))
        .collect();
    let descriptors: Vec<Value> = fired
        .iter()
        .zip(&rule_list)
        .map(|((id, severity), descriptor)| rule_descriptor(rules, id, *severity, descriptor))
        .collect();
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let descriptor = descriptor_id(r.rule, r.severity, split(r.rule));
            let index = rule_list
                .iter()
                .position(|id| *id == descriptor)
                .unwrap_or(0);
            result(r, &descriptor, index)
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
            "automationDetails": { "id": "residual/gate/" },
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

/// The reporting descriptor of `id` at one effective severity.
fn rule_descriptor(rules: &RuleSet, id: &str, severity: Severity, descriptor: &str) -> Value {
    let r = rules.get(id);
    let help = r.map(|r| generic(&r.remediation)).unwrap_or_default();
    json!({
        "id": descriptor,
        "name": id,
        "shortDescription": { "text": r.map(|r| r.title.as_str()).unwrap_or(id) },
        "fullDescription": { "text": r.map(|r| r.description.trim()).unwrap_or("") },
        "help": { "text": help, "markdown": help },
        "helpUri": RULES_HELP,
        "defaultConfiguration": { "level": level(severity) },
        "properties": {
            "security-severity": severity.security_severity(),
            "tags": ["security", "residual-access"],
            "frameworks": r.map(|r| r.frameworks.clone()).unwrap_or_default(),
        },
    })
}

/// One SARIF result: where, what, and GitHub's stable fingerprint.
fn result(r: &SarifResult, descriptor: &str, index: usize) -> Value {
    let mut region = json!({});
    if let Some(line) = r.line {
        region = json!({ "startLine": line.max(1) });
    }
    let mut result = json!({
        "ruleId": descriptor,
        "ruleIndex": index,
        "level": level(r.severity),
        "message": { "text": r.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": r.path.unwrap_or(".") , "uriBaseId": "%SRCROOT%" },
                "region": region,
            }
        }],
        // GitHub tracks alerts by `primaryLocationLineHash` only: the stable finding id
        // there keeps an alert across pushes, and gives a secret in a since-deleted file
        // one too.
        "partialFingerprints": {
            "primaryLocationLineHash": format!("{}:1", r.finding_id),
            "residualFindingId/v1": r.finding_id,
        },
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
        result["suppressions"] =
            json!([{ "kind": s.kind, "status": "accepted", "justification": s.justification }]);
    }
    result
}
