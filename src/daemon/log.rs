//! The daemon's log lines on stderr: an RFC 3339 timestamp and the message as plain text (no
//! colour codes), or one JSON object per line for log shippers (`--log-format json`). Once the
//! daemon [`install`]s its format, the progress lines of the imports and sweeps it runs take the
//! same shape, so that a log file or a shipper gets one format. Every other command stamps its
//! progress lines with the time when stderr is not a terminal (CI logs, cron mail).

use chrono::{SecondsFormat, Utc};
use std::sync::OnceLock;

/// The format the daemon installed for this process; unset for every other command.
static INSTALLED: OnceLock<LogFormat> = OnceLock::new();

/// Makes progress lines ([`decorate`]) take `format` for the rest of the process.
pub fn install(format: LogFormat) {
    // Installed once, by the daemon, before anything runs: a second call changes nothing.
    let _ = INSTALLED.set(format);
}

/// A progress line as the daemon logs it when it installed a format; else, when stderr is not a
/// terminal (CI, cron mail, a log file), the line behind its RFC 3339 time so that a slow step
/// can be found in the log; else (a person watching) unchanged.
pub fn decorate(line: &str) -> String {
    match INSTALLED.get() {
        Some(&format) => render(format, "info", line),
        None if !stderr_is_terminal() => format!("{} {line}", now()),
        None => line.to_string(),
    }
}

fn stderr_is_terminal() -> bool {
    static TERMINAL: OnceLock<bool> = OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stderr()))
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn render(format: LogFormat, level: &str, msg: &str) -> String {
    let ts = now();
    match format {
        LogFormat::Text => format!("{ts} {level} {msg}"),
        LogFormat::Json => serde_json::json!({ "ts": ts, "level": level, "msg": msg }).to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where the daemon's own lines go.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub format: LogFormat,
    pub quiet: bool,
}

impl Log {
    /// An informational line (silent with `--quiet`).
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", self.line("info", msg.as_ref()));
        }
    }

    /// A line about something that went wrong; printed even with `--quiet`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("{}", self.line("warn", msg.as_ref()));
    }

    fn line(&self, level: &str, msg: &str) -> String {
        render(self.format, level, &format!("daemon: {msg}"))
    }
}
