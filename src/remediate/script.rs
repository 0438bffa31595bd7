//! `--format script`: the plan as a POSIX shell script a person reviews and runs instead of
//! `--apply`. Every action is one command with a comment naming its findings and whether it can
//! be undone; blocked actions and tasks are comments. It holds ids and names only, never a
//! secret, and no credentials: the CLIs read their own configuration.

use super::Plan;
use chrono::{DateTime, Utc};

pub fn render(plan: &Plan, now: DateTime<Utc>) -> String {
    let mut s = String::new();
    s.push_str("#!/bin/sh\n");
    s.push_str(&format!(
        "# residual remediation plan, {} ({} actions, {} tasks by hand, {} findings refused).\n",
        residual_scanners::time::format_time(&now),
        plan.actions.len(),
        plan.tasks.len(),
        plan.refused.len()
    ));
    s.push_str(
        "# Review every line first. Check that the AWS CLI's credentials reach the account\n",
    );
    s.push_str(
        "# each comment names (aws sts get-caller-identity). After running it, verify with\n",
    );
    s.push_str(
        "# `residual scan`: a finding resolves only when a complete sweep no longer sees it.\n",
    );
    s.push_str("set -eu\n");
    for a in &plan.actions {
        s.push('\n');
        s.push_str(&format!(
            "# {} — {} in {} ({}; finding {}: {})\n",
            a.kind,
            one_line(&a.target),
            a.system,
            if a.reversible {
                "reversible"
            } else {
                "not reversible"
            },
            a.finding_ids.join(", "),
            a.rules.join(", ")
        ));
        match &a.blocked {
            None => s.push_str(&format!("{}\n", a.command)),
            Some(why) => {
                s.push_str(&format!("# not applied by residual: {}\n", one_line(why)));
                s.push_str(&format!("# {}\n", a.command));
            }
        }
    }
    for t in &plan.tasks {
        s.push('\n');
        s.push_str(&format!(
            "# TASK (by hand) for finding {} ({}) in {}:\n",
            t.finding_id, t.rule, t.system
        ));
        for line in t.text.lines() {
            s.push_str(&format!("#   {}\n", one_line(line)));
        }
    }
    for r in &plan.refused {
        s.push('\n');
        s.push_str(&format!(
            "# REFUSED finding {} ({}) in {}: {}\n",
            r.finding_id,
            r.rule,
            r.system,
            one_line(&r.reason)
        ));
    }
    s
}

/// Text from a swept system on one comment line: a line break in it would end the comment and
/// make the rest a command.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
