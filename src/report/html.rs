//! `index.html`: the pack as one self-contained, printable page for reviewers and auditors —
//! inline CSS, inline SVG charts, no script and no external request. It opens with who made it,
//! for which period and from what (digests), then the summary figures and charts, the cases
//! (open first; at most `html_cases` per section, the rest are in the CSVs and the page says so),
//! the coverage of every system, the framework mapping of the rules that fired, and the audit
//! head to anchor.

use super::figures::{self, Figures};
use super::{audit_log, time, Pack, ReportFinding};
use crate::cases::{CaseState, CaseVerdict, SystemState};
use crate::findings::FindingState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--ink:#1b2330;--muted:#5b6675;--line:#d9dee5;--bg:#f5f7fa;--accent:#1f4e79;
--ok:#1e7b4a;--ok-bg:#e3f3ea;--bad:#b42318;--bad-bg:#fdecea;--warn:#9a6700;--warn-bg:#fff4d6;--na:#6b7280;--na-bg:#eef0f3}
*{box-sizing:border-box}
body{margin:0;font:13px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:28px 36px 48px}
header.top{border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:18px;display:flex;justify-content:space-between;gap:24px;align-items:flex-end}
header.top h1{font-size:24px;margin:0 0 2px;color:var(--accent)}
header.top .org{font-size:15px;font-weight:600}
header.top .sub{color:var(--muted)}
header.top .conf{font-size:11px;text-transform:uppercase;letter-spacing:.08em;color:var(--bad);border:1px solid var(--bad);padding:2px 8px;border-radius:3px;white-space:nowrap}
h2{font-size:17px;color:var(--accent);border-bottom:1px solid var(--line);padding-bottom:4px;margin:28px 0 12px}
h3{font-size:14px;margin:18px 0 8px}
.meta{display:grid;grid-template-columns:170px 1fr;gap:3px 14px;font-size:12px;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.meta dt{color:var(--muted)} .meta dd{margin:0}
code,.mono{font-family:"SFMono-Regular",Consolas,"Liberation Mono",monospace;font-size:11.5px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:10px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:#fff}
.card .n{font-size:24px;font-weight:700;line-height:1.1}
.card .l{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.04em}
.card.ok .n{color:var(--ok)} .card.bad .n{color:var(--bad)} .card.warn .n{color:var(--warn)}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-top:14px}
.chart{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.chart h3{margin:0 0 6px;font-size:13px}
.chart svg{width:100%;height:auto;display:block}
.chart .empty{color:var(--muted);padding:30px 0;text-align:center}
table{border-collapse:collapse;width:100%;font-size:12px}
th,td{text-align:left;padding:5px 7px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--bg);font-weight:600;color:#344054;font-size:11.5px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:11px;font-weight:600;white-space:nowrap}
.b-verified,.b-clean,.b-resolved{background:var(--ok-bg);color:var(--ok)}
.b-open,.b-residual,.b-critical,.b-overdue{background:var(--bad-bg);color:var(--bad)}
.b-high{background:#fde7d9;color:#a4400c}
.b-excepted,.b-medium{background:var(--warn-bg);color:var(--warn)}
.b-not-covered,.b-not-applicable,.b-low{background:var(--na-bg);color:var(--na)}
.case{border:1px solid var(--line);border-radius:6px;margin:0 0 12px;break-inside:avoid;page-break-inside:avoid}
.case>.head{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;padding:8px 12px;background:var(--bg);border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
.case>.head .who{font-weight:700;font-size:13.5px}
.case>.head .when{color:var(--muted)}
.case .body{padding:8px 12px}
.case table{margin-bottom:6px}
.rem{color:#344054;font-size:11.5px}
td.sys{min-width:150px} td.sys .s{white-space:nowrap} td.fid{width:96px}
.note{background:var(--warn-bg);border:1px solid #f0d58c;border-radius:6px;padding:8px 12px;margin:8px 0 12px}
.muted{color:var(--muted)}
.head-box{font-size:13px;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:12px 14px}
footer{margin-top:30px;color:var(--muted);font-size:11px;border-top:1px solid var(--line);padding-top:8px}
@page{size:A4;margin:14mm}
@media print{main{padding:0;max-width:none}.cards{grid-template-columns:repeat(5,1fr)}h2{break-after:avoid}}
"#;

fn badge(class: &str, text: &str) -> String {
    format!(
        r#"<span class="badge b-{}">{}</span>"#,
        esc(class),
        esc(text)
    )
}

fn hours(h: Option<f64>) -> String {
    match h {
        None => "—".into(),
        Some(h) if h >= 72.0 => format!("{:.1} d", h / 24.0),
        Some(h) => format!("{h:.1} h"),
    }
}

fn period_text(pack: &Pack) -> String {
    let p = pack.meta.period;
    match (p.since, p.until) {
        (None, None) => "all recorded history".into(),
        (Some(s), None) => format!("from {} to the time of generation", time(&s)),
        (None, Some(u)) => format!("until {}", time(&u)),
        (Some(s), Some(u)) => format!("{} to {}", time(&s), time(&u)),
    }
}

/// Writes the page.
pub fn write(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    let figures = figures::of(pack);
    let mut h = String::with_capacity(64 * 1024);
    let _ = render(pack, &figures, &mut h);
    out.write_all(h.as_bytes())?;
    out.flush()
}

fn render(pack: &Pack, f: &Figures, h: &mut String) -> std::fmt::Result {
    let m = &pack.meta;
    let org = m.organisation.as_deref().unwrap_or("Access review");
    write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{} — access review evidence pack</title><style>{CSS}</style></head><body><main>",
        esc(org)
    )?;
    write!(
        h,
        r#"<header class="top"><div><div class="org">{}</div><h1>Access review: residual access of leavers and movers</h1>
<div class="sub">Period: {} · generated {} by residual {}</div></div><div class="conf">Confidential — audit evidence</div></header>"#,
        esc(org),
        esc(&period_text(pack)),
        esc(&time(&m.generated_at)),
        esc(&m.tool_version)
    )?;
    meta(pack, h)?;
    summary(f, h)?;
    charts(f, h)?;
    cases(pack, h)?;
    coverage(pack, h)?;
    frameworks(pack, h)?;
    head(pack, h)?;
    writeln!(
        h,
        "<footer>Generated by residual {} at {}. The CSVs in this pack hold every row; \
         <code>residual report verify DIR</code> re-checks every file against <code>manifest.json</code> \
         and the audit head against the store.</footer></main></body></html>",
        esc(&m.tool_version),
        esc(&time(&m.generated_at))
    )
}

fn meta(pack: &Pack, h: &mut String) -> std::fmt::Result {
    let m = &pack.meta;
    h.push_str(r#"<dl class="meta">"#);
    let mut row = |k: &str, v: String| write!(h, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    row("Period", esc(&period_text(pack)))?;
    if !m.employees.is_empty() {
        row("People", esc(&m.employees.join(", ")))?;
    }
    row(
        "Store (SHA-256)",
        m.store_digest.as_deref().map_or_else(
            || "a PostgreSQL store: no file to hash; the audit head identifies its state".into(),
            |d| format!("<code>{}</code>", esc(d)),
        ),
    )?;
    row(
        "Configuration (SHA-256)",
        m.config_digest
            .as_deref()
            .map(|d| format!("<code>{}</code>", esc(d)))
            .unwrap_or_else(|| "built-in defaults (no file)".into()),
    )?;
    let snaps = if m.snapshots.is_empty() {
        "none imported".to_string()
    } else {
        m.snapshots
            .iter()
            .rev()
            .take(3)
            .map(|s| {
                format!(
                    "#{} as of {} ({} people) <code>{}</code>",
                    s.id,
                    esc(&s.as_of),
                    s.people,
                    esc(&s.digest)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>")
            + &if m.snapshots.len() > 3 {
                format!(
                    "<br><span class=\"muted\">and {} earlier snapshots (manifest.json lists all)</span>",
                    m.snapshots.len() - 3
                )
            } else {
                String::new()
            }
    };
    row("HR snapshots (SHA-256)", snaps)?;
    row(
        "Audit chain head",
        format!("<code>{}</code>", esc(&audit_log::head_line(pack))),
    )?;
    h.push_str("</dl>");
    Ok(())
}

fn card(h: &mut String, class: &str, n: String, label: &str) -> std::fmt::Result {
    write!(
        h,
        r#"<div class="card {class}"><div class="n">{}</div><div class="l">{}</div></div>"#,
        esc(&n),
        esc(label)
    )
}

fn summary(f: &Figures, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>Summary</h2><div class=\"cards\">");
    card(h, "", f.leavers.to_string(), "Leavers in period")?;
    card(h, "", f.movers.to_string(), "Movers in period")?;
    card(h, "ok", f.verified.to_string(), "Cases verified")?;
    card(
        h,
        if f.open > 0 { "bad" } else { "ok" },
        f.open.to_string(),
        "Cases open",
    )?;
    card(
        h,
        if f.overdue > 0 { "bad" } else { "ok" },
        f.overdue.to_string(),
        "Cases overdue",
    )?;
    card(
        h,
        if f.excepted > 0 { "warn" } else { "" },
        f.excepted.to_string(),
        "Cases excepted",
    )?;
    card(h, "", hours(f.median_hours), "Median time to collapse")?;
    card(h, "", hours(f.p95_hours), "p95 time to collapse")?;
    card(
        h,
        if f.open_findings > 0 { "bad" } else { "ok" },
        f.open_findings.to_string(),
        "Open findings",
    )?;
    let sev = f
        .open_by_severity
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(" · ");
    write!(
        h,
        r#"<div class="card"><div class="l" style="margin-bottom:4px">Open by severity</div><div>{}</div></div>"#,
        esc(&sev)
    )?;
    h.push_str("</div>");
    Ok(())
}

fn charts(f: &Figures, h: &mut String) -> std::fmt::Result {
    h.push_str(r#"<div class="charts">"#);
    h.push_str(r#"<div class="chart"><h3>Open residual access over the period</h3>"#);
    open_over_time_svg(&f.open_over_time, h)?;
    h.push_str("</div>");
    h.push_str(r#"<div class="chart"><h3>Time to collapse (verified cases)</h3>"#);
    collapse_svg(&f.collapse_hours, h)?;
    h.push_str("</div>");
    h.push_str(r#"<div class="chart" style="grid-column:1 / -1"><h3>Open findings by system</h3>"#);
    by_system_svg(&f.open_by_system, h)?;
    h.push_str("</div></div>");
    Ok(())
}

fn open_over_time_svg(points: &[(DateTime<Utc>, usize)], h: &mut String) -> std::fmt::Result {
    if points.len() < 2 {
        return write!(h, r#"<div class="empty">No findings in the period.</div>"#);
    }
    let (w, ht, left, bottom, top) = (520.0, 200.0, 40.0, 24.0, 10.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let x = |i: usize| left + (w - left - 8.0) * i as f64 / (points.len() - 1) as f64;
    let y = |n: usize| top + (ht - top - bottom) * (1.0 - n as f64 / max);
    write!(
        h,
        r#"<svg viewBox="0 0 {w} {ht}" role="img" aria-label="Open findings over the period">"#
    )?;
    for frac in [0.0, 0.5, 1.0] {
        let v = (max * frac).round() as usize;
        let yy = y(v);
        write!(
            h,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e8ec"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#5b6675">{}</text>"##,
            w - 8.0,
            left - 4.0,
            yy + 3.0,
            compact(v)
        )?;
    }
    let mut path = format!("M{:.1},{:.1}", x(0), y(0));
    for (i, p) in points.iter().enumerate() {
        let _ = write!(path, " L{:.1},{:.1}", x(i), y(p.1));
    }
    let area = format!(
        "{path} L{:.1},{:.1} L{:.1},{:.1} Z",
        x(points.len() - 1),
        y(0),
        x(0),
        y(0)
    );
    write!(
        h,
        r##"<path d="{area}" fill="#fdecea"/><path d="{path}" fill="none" stroke="#b42318" stroke-width="2"/>"##
    )?;
    // A short period needs the hour to tell its ends apart.
    let span = points[points.len() - 1].0 - points[0].0;
    let fmt = if span < chrono::Duration::days(3) {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    let first = points[0].0.format(fmt).to_string();
    let last = points[points.len() - 1].0.format(fmt).to_string();
    write!(
        h,
        r##"<text x="{left}" y="{}" font-size="10" fill="#5b6675">{first}</text><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#5b6675">{last}</text></svg>"##,
        ht - 6.0,
        w - 8.0,
        ht - 6.0
    )
}

/// A count as an axis label: `215k` rather than `215104`, so it fits the margin.
fn compact(n: usize) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// Buckets of hours to collapse, as a reviewer reads an SLA.
const COLLAPSE_BUCKETS: [(&str, f64); 6] = [
    ("≤ 4 h", 4.0),
    ("≤ 24 h", 24.0),
    ("≤ 3 d", 72.0),
    ("≤ 7 d", 168.0),
    ("≤ 30 d", 720.0),
    ("> 30 d", f64::INFINITY),
];

fn collapse_svg(hours: &[f64], h: &mut String) -> std::fmt::Result {
    if hours.is_empty() {
        return write!(h, r#"<div class="empty">No case verified yet.</div>"#);
    }
    let mut counts = [0usize; COLLAPSE_BUCKETS.len()];
    for v in hours {
        let i = COLLAPSE_BUCKETS
            .iter()
            .position(|(_, max)| v <= max)
            .unwrap_or(COLLAPSE_BUCKETS.len() - 1);
        counts[i] += 1;
    }
    let (w, ht, bottom, top) = (520.0, 200.0, 24.0, 14.0);
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let slot = (w - 20.0) / counts.len() as f64;
    write!(
        h,
        r#"<svg viewBox="0 0 {w} {ht}" role="img" aria-label="Time to collapse">"#
    )?;
    for (i, (n, (label, _))) in counts.iter().zip(COLLAPSE_BUCKETS).enumerate() {
        let bh = (ht - top - bottom) * *n as f64 / max;
        let x = 10.0 + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        let y = ht - bottom - bh;
        let colour = if i <= 1 {
            "#1e7b4a"
        } else if i <= 2 {
            "#9a6700"
        } else {
            "#b42318"
        };
        write!(
            h,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{colour}" rx="2"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#1b2330">{n}</text><text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#5b6675">{}</text>"##,
            x + bw / 2.0,
            y - 3.0,
            x + bw / 2.0,
            ht - 8.0,
            esc(label)
        )?;
    }
    h.push_str("</svg>");
    Ok(())
}

/// At most this many systems get a bar; the rest are summed into one.
const MAX_SYSTEM_BARS: usize = 12;

fn by_system_svg(systems: &[(String, usize)], h: &mut String) -> std::fmt::Result {
    if systems.is_empty() {
        return write!(h, r#"<div class="empty">No open findings.</div>"#);
    }
    let mut bars: Vec<(String, usize)> = systems.iter().take(MAX_SYSTEM_BARS).cloned().collect();
    if systems.len() > MAX_SYSTEM_BARS {
        let rest: usize = systems[MAX_SYSTEM_BARS..].iter().map(|s| s.1).sum();
        bars.push((
            format!("{} other systems", systems.len() - MAX_SYSTEM_BARS),
            rest,
        ));
    }
    let (w, row, label_w) = (1080.0, 22.0, 260.0);
    let ht = row * bars.len() as f64 + 8.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    write!(
        h,
        r#"<svg viewBox="0 0 {w} {ht}" role="img" aria-label="Open findings by system">"#
    )?;
    for (i, (system, n)) in bars.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let bw = (w - label_w - 60.0) * *n as f64 / max;
        write!(
            h,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#1b2330">{}</text><rect x="{label_w}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="#1f4e79" rx="2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#1b2330">{n}</text>"##,
            label_w - 8.0,
            y + 14.0,
            esc(system),
            y + 3.0,
            row - 8.0,
            label_w + bw + 6.0,
            y + 14.0
        )?;
    }
    h.push_str("</svg>");
    Ok(())
}

fn cases(pack: &Pack, h: &mut String) -> std::fmt::Result {
    let mut by_person: HashMap<&str, Vec<&ReportFinding>> = HashMap::new();
    for rf in &pack.findings {
        if let Some(e) = rf.finding.employee_id.as_deref() {
            by_person.entry(e).or_default().push(rf);
        }
    }
    let cap = pack.meta.html_cases;
    let mut open: Vec<&CaseVerdict> = pack
        .cases
        .iter()
        .filter(|c| c.state == CaseState::Open)
        .collect();
    // Overdue first, then the oldest event: what a reviewer must chase.
    open.sort_by_key(|c| (!c.overdue, c.event.effective_at));
    let excepted: Vec<&CaseVerdict> = pack
        .cases
        .iter()
        .filter(|c| c.state == CaseState::Excepted)
        .collect();
    let verified: Vec<&CaseVerdict> = pack
        .cases
        .iter()
        .filter(|c| c.state == CaseState::Verified)
        .collect();
    h.push_str("<h2>Cases</h2>");
    if pack.cases.is_empty() {
        h.push_str(r#"<p class="muted">No leaver or mover event in the period.</p>"#);
    }
    for (title, list) in [
        ("Open cases", open),
        ("Excepted cases", excepted),
        ("Verified cases", verified),
    ] {
        if list.is_empty() {
            continue;
        }
        write!(h, "<h3>{} ({})</h3>", esc(title), list.len())?;
        if list.len() > cap {
            write!(
                h,
                r#"<div class="note">This page lists the first {cap} of {} {}; every case is in <code>cases.csv</code> and <code>case_systems.csv</code>, every finding in <code>findings.csv</code>.</div>"#,
                list.len(),
                esc(&title.to_lowercase())
            )?;
        }
        for c in list.into_iter().take(cap) {
            case(c, by_person.get(c.event.employee_id.as_str()), h)?;
        }
    }
    Ok(())
}

fn case(
    c: &CaseVerdict,
    findings: Option<&Vec<&ReportFinding>>,
    h: &mut String,
) -> std::fmt::Result {
    case_head(c, h)?;
    case_systems(c, h)?;
    case_findings(c, findings, h)?;
    h.push_str("</div></section>");
    Ok(())
}

/// The case's head line: id, person, event, state and deadline or time to collapse.
fn case_head(c: &CaseVerdict, h: &mut String) -> std::fmt::Result {
    let e = &c.event;
    let who = match &e.name {
        Some(n) => format!("{} ({})", n, e.employee_id),
        None => e.employee_id.clone(),
    };
    write!(
        h,
        r#"<section class="case"><div class="head"><span class="mono">{}</span><span class="who">{}</span><span>{} · effective {}</span>{}{}<span class="when">{}</span></div><div class="body">"#,
        esc(&e.case_id()),
        esc(&who),
        esc(e.kind.as_str()),
        esc(&e.effective_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        badge(c.state.as_str(), c.state.as_str()),
        if c.overdue {
            badge("overdue", "overdue")
        } else {
            String::new()
        },
        esc(&match (c.verified_at, c.hours_to_collapse()) {
            (Some(v), Some(hrs)) => format!(
                "verified {} — {} after the event",
                time(&v),
                hours(Some(hrs))
            ),
            _ => format!("deadline {}", time(&c.deadline)),
        })
    )?;
    Ok(())
}

/// Each system of the case with its proving run.
fn case_systems(c: &CaseVerdict, h: &mut String) -> std::fmt::Result {
    h.push_str("<table><tr><th>System</th><th>State</th><th>Proving run</th><th>Proved at</th><th class=\"num\">Open</th><th class=\"num\">Resolved</th><th class=\"num\">Excepted</th></tr>");
    for s in &c.systems {
        write!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&s.system),
            badge(s.state.as_str(), s.state.as_str()),
            s.proving_run.map(|r| format!("run {r}")).unwrap_or_else(|| "—".into()),
            s.proved_at.map(|t| esc(&time(&t))).unwrap_or_else(|| match s.state {
                SystemState::NotCovered => "no complete run since the event".into(),
                _ => "—".into(),
            }),
            s.open,
            s.resolved,
            s.excepted
        )?;
    }
    h.push_str("</table>");
    Ok(())
}

/// The case's findings (the first [`MAX_CASE_FINDINGS`]), each with its remediation and exception.
fn case_findings(
    c: &CaseVerdict,
    findings: Option<&Vec<&ReportFinding>>,
    h: &mut String,
) -> std::fmt::Result {
    let e = &c.event;
    let mine: Vec<&&ReportFinding> = findings
        .into_iter()
        .flatten()
        .filter(|f| e.kind.concerns(&f.finding.rule))
        .collect();
    let more = mine.len().saturating_sub(MAX_CASE_FINDINGS);
    if !mine.is_empty() {
        h.push_str("<table><tr><th>Finding</th><th>Rule</th><th>Severity</th><th>State</th><th>System · account</th><th>Remediation</th><th>Exception</th></tr>");
        for rf in mine.into_iter().take(MAX_CASE_FINDINGS) {
            let f = &rf.finding;
            let state = match (f.state, f.resolved_by_run) {
                (FindingState::Resolved, Some(run)) => format!(
                    "{}<br><span class=\"muted\">run {run}, {}</span>",
                    badge("resolved", "resolved"),
                    esc(f.resolved_at.as_deref().unwrap_or(""))
                ),
                (s, _) => badge(s.as_str(), s.as_str()),
            };
            let exception = rf
                .exception
                .as_ref()
                .map(|x| {
                    format!(
                        "{}<br>approved by {}<br>until {}",
                        esc(&x.id),
                        esc(&x.approver),
                        esc(&x.expires_at)
                    )
                })
                .unwrap_or_else(|| "—".into());
            write!(
                h,
                "<tr><td class=\"mono fid\">{}</td><td>{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td class=\"sys\"><span class=\"mono s\">{}</span><br><span class=\"mono\">{}</span></td><td class=\"rem\">{}</td><td>{}</td></tr>",
                esc(&f.id),
                esc(&f.rule),
                esc(&rf.title),
                badge(&f.severity, &f.severity),
                state,
                esc(&f.system),
                esc(&f.subject),
                esc(&super::one_line(&f.remediation)),
                exception
            )?;
        }
        h.push_str("</table>");
        if more > 0 {
            write!(
                h,
                r#"<p class="muted">and {more} more findings of this case in <code>findings.csv</code> (employee {}).</p>"#,
                esc(&e.employee_id)
            )?;
        }
    }
    Ok(())
}

fn coverage(pack: &Pack, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>System coverage</h2><p class=\"muted\">A system is proven for a case only by a complete run after the event that covered every unit; a partial or failed run, or a unit switched off, proves nothing for a case. A finding resolves when a run covered its unit.</p>");
    if pack.coverage.is_empty() {
        h.push_str(r#"<p class="muted">No scan run recorded.</p>"#);
        return Ok(());
    }
    h.push_str("<table><tr><th>System</th><th>Last complete run</th><th>Latest run</th><th>Units of the latest run</th><th>Errors of the latest run</th></tr>");
    for c in &pack.coverage {
        let complete = c
            .last_complete
            .as_ref()
            .map(|r| {
                format!(
                    "run {} · {}<br><span class=\"muted\">{} accounts, {} credentials, {} grants</span>",
                    r.id,
                    esc(&r.finished_at),
                    r.accounts,
                    r.credentials,
                    r.grants
                )
            })
            .unwrap_or_else(|| badge("open", "never complete"));
        let (latest, errors) = match &c.latest {
            Some(r) => (
                format!(
                    "run {} · {} {}",
                    r.id,
                    esc(&r.finished_at),
                    badge(
                        if r.status == "complete" {
                            "verified"
                        } else {
                            "open"
                        },
                        &r.status
                    )
                ),
                if r.errors.is_empty() {
                    "none".to_string()
                } else {
                    let shown: Vec<String> = r.errors.iter().take(3).map(|e| esc(e)).collect();
                    let more = r.errors.len().saturating_sub(3);
                    shown.join("<br>")
                        + &if more > 0 {
                            format!("<br><span class=\"muted\">and {more} more</span>")
                        } else {
                            String::new()
                        }
                },
            ),
            None => ("—".into(), "—".into()),
        };
        let units = c
            .latest
            .as_ref()
            .map_or_else(|| "—".to_string(), units_cell);
        write!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{complete}</td><td>{latest}</td><td>{units}</td><td>{errors}</td></tr>",
            esc(&c.system)
        )?;
    }
    h.push_str("</table>");
    Ok(())
}

/// What a run covered: the count of covered units, then each missed unit with its class (and
/// the action to grant when access was denied).
fn units_cell(r: &crate::store::runs::RunInfo) -> String {
    let mut out = format!("{} covered", r.covered.len());
    for m in r.missed.iter().take(6) {
        let class = match &m.class {
            residual_scanners::coverage::MissClass::AccessDenied { action } => {
                format!("access denied: grant {action}")
            }
            other => other.as_str().to_string(),
        };
        write!(
            out,
            "<br>{} <span class=\"muted\">missed ({})</span>",
            esc(&m.unit),
            esc(&class)
        )
        .ok();
    }
    if r.missed.len() > 6 {
        write!(
            out,
            "<br><span class=\"muted\">and {} more missed</span>",
            r.missed.len() - 6
        )
        .ok();
    }
    out
}

/// At most this many findings are listed under one case (the CSV holds them all).
const MAX_CASE_FINDINGS: usize = 25;

/// The framework families a rule's mapping is shown under, by the prefix of each reference.
const FAMILIES: [(&str, &str); 6] = [
    ("OWASP NHI", "OWASP"),
    ("NIST CSF 2.0", "NIST CSF"),
    ("NIST SP 800-53", "NIST SP 800-53"),
    ("SOC 2", "SOC 2"),
    ("CIS", "CIS"),
    ("ISO 27001", "ISO"),
];

fn frameworks(pack: &Pack, h: &mut String) -> std::fmt::Result {
    h.push_str("<h2>Framework mapping of the rules that fired</h2>");
    if pack.rules.is_empty() {
        h.push_str(r#"<p class="muted">No rule fired in the period.</p>"#);
        return Ok(());
    }
    h.push_str("<table><tr><th>Rule</th><th>Severity</th><th class=\"num\">Findings</th>");
    for (name, _) in FAMILIES {
        write!(h, "<th>{}</th>", esc(name))?;
    }
    h.push_str("</tr>");
    for r in &pack.rules {
        write!(
            h,
            "<tr><td><span class=\"mono\">{}</span><br><span class=\"muted\">{}</span></td><td>{}</td><td class=\"num\">{}</td>",
            esc(&r.id),
            esc(&r.title),
            badge(&r.severity, &r.severity),
            r.findings
        )?;
        for (_, prefix) in FAMILIES {
            let refs: Vec<String> = r
                .frameworks
                .iter()
                .filter(|f| f.starts_with(prefix))
                .map(|f| esc(f))
                .collect();
            write!(
                h,
                "<td>{}</td>",
                if refs.is_empty() {
                    "—".into()
                } else {
                    refs.join("<br>")
                }
            )?;
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    Ok(())
}

fn head(pack: &Pack, h: &mut String) -> std::fmt::Result {
    write!(
        h,
        r#"<h2>Audit chain</h2><div class="head-box">Head when this pack was made: <code>{}</code><br>
<span class="muted">{} chained events of the period are in <code>audit.jsonl</code>, each with the hash of the previous one. Record this head elsewhere (a ticket, a CI log); <code>residual audit verify --expect-head {}</code> proves later that the chain still holds it, unchanged.</span></div>"#,
        esc(&audit_log::head_line(pack)),
        pack.events,
        esc(&audit_log::head_line(pack))
    )
}
