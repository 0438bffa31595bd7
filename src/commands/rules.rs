//! `residual rules check|list`.

use super::{Context, Exit};
use crate::cli::RulesCommand;
use crate::evaluate::examples;
use crate::output;
use crate::rules::RuleSet;
use serde::Serialize;

pub fn run(_ctx: &Context, cmd: RulesCommand) -> anyhow::Result<Exit> {
    match cmd {
        RulesCommand::Check { dir } => {
            let set = match &dir {
                Some(d) => RuleSet::load_dir(d)?,
                None => RuleSet::builtin()?,
            };
            let report = examples::check(&set);
            for f in &report.failures {
                println!(
                    "FAIL {}: example `{}`: expected {}, got {} finding(s)",
                    f.rule,
                    f.example,
                    if f.expected_match {
                        "a match"
                    } else {
                        "no match"
                    },
                    f.findings
                );
            }
            for m in &report.unmapped_matchers {
                println!("FAIL {m}: the evaluator has this rule but no rule file defines it");
            }
            let ok = report.failures.is_empty() && report.unmapped_matchers.is_empty();
            println!(
                "{} passed, {} failed ({} rules)",
                report.examples - report.failures.len(),
                report.failures.len() + report.unmapped_matchers.len(),
                report.rules
            );
            Ok(if ok { Exit::Ok } else { Exit::Findings })
        }
        RulesCommand::List(f) => {
            #[derive(Serialize)]
            struct Row<'a> {
                id: &'a str,
                severity: &'a str,
                title: &'a str,
                // A list in JSON; joined with `; ` in a table or CSV cell.
                frameworks: &'a [String],
                examples: usize,
            }
            let set = RuleSet::builtin()?;
            let rows: Vec<Row> = set
                .iter()
                .map(|r| Row {
                    id: &r.id,
                    severity: r.severity.as_str(),
                    title: &r.title,
                    frameworks: &r.frameworks,
                    examples: r.examples.len(),
                })
                .collect();
            output::write(
                &mut std::io::stdout().lock(),
                output::default_format(f.format),
                &["id", "severity", "title", "frameworks", "examples"],
                &rows,
            )?;
            Ok(Exit::Ok)
        }
    }
}
