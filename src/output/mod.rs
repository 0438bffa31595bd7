//! Writing lists of records as a human table, JSON, JSON Lines or CSV, from the same `Serialize`
//! values. JSON and JSONL carry every field; the table and CSV show the columns each command picks
//! (nested values as compact JSON in CSV).

pub mod sarif;

use crate::cli::Format;
use serde::Serialize;
use serde_json::Value;
use std::io::{IsTerminal, Write};

/// The format to use when none was asked for: a table on a terminal, JSON otherwise.
pub fn default_format(asked: Option<Format>) -> Format {
    asked.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        }
    })
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Writes `items` in `format`; `columns` are the fields a table or CSV shows.
pub fn write<T: Serialize>(
    out: &mut dyn Write,
    format: Format,
    columns: &[&str],
    items: &[T],
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, items)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for item in items {
                serde_json::to_writer(&mut *out, item)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(columns)?;
            for item in items {
                let v = serde_json::to_value(item)?;
                w.write_record(columns.iter().map(|c| cell(v.get(c))))?;
            }
            w.flush()?;
        }
        Format::Table => table(out, columns, items)?,
    }
    Ok(())
}

fn table<T: Serialize>(out: &mut dyn Write, columns: &[&str], items: &[T]) -> anyhow::Result<()> {
    const MAX: usize = 48;
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let v = serde_json::to_value(item).unwrap_or(Value::Null);
            columns
                .iter()
                .map(|c| {
                    let s = cell(v.get(c));
                    if s.chars().count() > MAX {
                        let cut: String = s.chars().take(MAX - 1).collect();
                        format!("{cut}…")
                    } else {
                        s
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(
        out,
        "{}",
        line(
            &mut columns
                .iter()
                .map(|c| c.to_uppercase())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
        )
    )?;
    for row in &rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    if rows.is_empty() {
        writeln!(out, "(none)")?;
    }
    Ok(())
}
