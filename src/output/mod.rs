//! Writing lists of records as a human table, JSON, JSON Lines or CSV, from the same `Serialize`
//! values. JSON and JSONL carry every field; the table and CSV show the columns each command picks
//! (nested values as compact JSON in CSV).
//!
//! Every CSV the tool writes goes through [`csv_line`], which neutralises cells a spreadsheet
//! would run as a formula (CSV injection): an account name or subject comes from the systems
//! scanned, so anyone who can name an account could otherwise plant a formula in the auditor's
//! spreadsheet.

pub mod findings;
pub mod gate;
pub mod sarif;

use crate::cli::Format;
use serde::Serialize;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// A field as a table or CSV cell: text as is, a list of texts (a run's errors) joined with `; `,
/// anything else as compact JSON.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
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
    let mut stream = Streamer::new(out, format, columns)?;
    for item in items {
        stream.item(item)?;
    }
    stream.finish()
}

/// A table cell as a terminal may show it: account names, git authors and logins come from the
/// systems swept, so control characters (ESC sequences, CR, other C0 and C1 codes) and line breaks
/// are shown as `�` instead of being interpreted, and long cells are cut to `max` columns of
/// display width.
fn terminal_cell(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let mut width = 0;
    let too_wide = s.width() > max;
    for ch in s.chars() {
        let ch = if ch.is_control() { '\u{fffd}' } else { ch };
        let w = UnicodeWidthChar::width(ch).unwrap_or(0);
        if too_wide && width + w > max.saturating_sub(1) {
            out.push('…');
            return out;
        }
        width += w;
        out.push(ch);
    }
    out
}

/// `s` padded with spaces to `width` columns of display width (CJK and emoji take two).
fn pad(s: &str, width: usize) -> String {
    let fill = width.saturating_sub(s.width());
    format!("{s}{}", " ".repeat(fill))
}

fn table<T: Serialize>(out: &mut dyn Write, columns: &[&str], items: &[T]) -> anyhow::Result<()> {
    const MAX: usize = 48;
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let v = serde_json::to_value(item).unwrap_or(Value::Null);
            columns
                .iter()
                .map(|c| terminal_cell(&cell(v.get(c)), MAX))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        cells
            .zip(&widths)
            .map(|(c, w)| pad(c, *w))
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

/// Writes records one at a time as they arrive, for lists too large to collect first. JSON,
/// JSONL and CSV stream; a table needs every row for its column widths, so it collects.
pub struct Streamer<'w> {
    out: &'w mut dyn Write,
    format: Format,
    columns: &'w [&'w str],
    count: usize,
    table_rows: Vec<Value>,
}

impl<'w> Streamer<'w> {
    pub fn new(
        out: &'w mut dyn Write,
        format: Format,
        columns: &'w [&'w str],
    ) -> anyhow::Result<Streamer<'w>> {
        match format {
            Format::Json => write!(out, "[")?,
            Format::Csv => writeln!(out, "{}", csv_line(columns.iter().map(|c| c.to_string())))?,
            Format::Jsonl | Format::Table => {}
        }
        Ok(Streamer {
            out,
            format,
            columns,
            count: 0,
            table_rows: Vec::new(),
        })
    }

    pub fn item<T: Serialize>(&mut self, item: &T) -> anyhow::Result<()> {
        match self.format {
            Format::Json => {
                write!(self.out, "{}\n  ", if self.count == 0 { "" } else { "," })?;
                serde_json::to_writer(&mut *self.out, item)?;
            }
            Format::Jsonl => {
                serde_json::to_writer(&mut *self.out, item)?;
                writeln!(self.out)?;
            }
            Format::Csv => {
                let v = serde_json::to_value(item)?;
                writeln!(
                    self.out,
                    "{}",
                    csv_line(self.columns.iter().map(|c| cell(v.get(c))))
                )?;
            }
            Format::Table => self.table_rows.push(serde_json::to_value(item)?),
        }
        self.count += 1;
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self.format {
            Format::Json => writeln!(self.out, "{}]", if self.count == 0 { "" } else { "\n" })?,
            Format::Table => table(self.out, self.columns, &self.table_rows)?,
            Format::Jsonl | Format::Csv => {}
        }
        self.out.flush()?;
        Ok(())
    }
}

/// The first characters that make a spreadsheet read a cell as a formula (or, for tab and CR,
/// let one through after the spreadsheet trims them).
const FORMULA_PREFIXES: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as it is safe to hand to a spreadsheet: one that begins with a formula character gets
/// a leading single quote, which spreadsheets show as text and never evaluate. The value stays
/// readable (and recoverable by dropping the quote).
pub fn neutralise_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_PREFIXES) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// One CSV record (no line terminator), each cell neutralised (see [`neutralise_cell`]).
pub fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let cells: Vec<String> = cells.map(|c| neutralise_cell(&c).into_owned()).collect();
    let _ = w.write_record(&cells);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[serde_json::Value]) -> String {
        let mut out = Vec::new();
        table(&mut out, &["account", "rule"], rows).expect("table");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn control_characters_from_swept_systems_are_not_sent_to_the_terminal() {
        let rows = [serde_json::json!({
            "account": "evil\u{1b}[2J\u{1b}]0;pwned\u{7}\rname\nnext\u{9b}31m",
            "rule": "orphan-account",
        })];
        let text = render(&rows);
        for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
            assert!(!text.contains(c), "{c:?} reached the table: {text:?}");
        }
        assert_eq!(
            text.lines().count(),
            2,
            "a newline in a cell split the row: {text:?}"
        );
        assert!(text.contains("evil\u{fffd}[2J"), "{text:?}");
    }

    #[test]
    fn columns_line_up_by_display_width() {
        let rows = [
            serde_json::json!({"account": "山田太郎", "rule": "a"}),
            serde_json::json!({"account": "ann", "rule": "b"}),
            serde_json::json!({"account": "🔑key", "rule": "c"}),
        ];
        let text = render(&rows);
        let starts: Vec<usize> = text
            .lines()
            .map(|l| {
                let i = l.rfind("  ").expect("two columns") + 2;
                l[..i].width()
            })
            .collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{text}");
    }

    #[test]
    fn a_list_of_texts_is_one_readable_cell() {
        let v = serde_json::json!({"errors": ["users: denied", "roles: 500"], "n": [1, 2]});
        assert_eq!(cell(v.get("errors")), "users: denied; roles: 500");
        assert_eq!(cell(v.get("n")), "[1,2]");
    }

    #[test]
    fn long_cells_are_cut_by_display_width() {
        let long = "語".repeat(40);
        let cut = terminal_cell(&long, 48);
        assert!(cut.width() <= 48, "{}", cut.width());
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn formula_cells_are_quoted_and_others_left_alone() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise_cell(bad), format!("'{bad}"));
        }
        for good in ["", "ann", "1-2", "a=b", "'already"] {
            assert_eq!(neutralise_cell(good), good);
        }
        assert_eq!(
            csv_line(["=cmd".to_string(), "ok".to_string()].into_iter()),
            "'=cmd,ok"
        );
    }
}
