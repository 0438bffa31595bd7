//! The daemon's log lines on stderr: an RFC 3339 timestamp and the message as plain text (no
//! colour codes), or one JSON object per line for log shippers (`--log-format json`).

use chrono::{SecondsFormat, Utc};

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
        let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        match self.format {
            LogFormat::Text => format!("{ts} {level} daemon: {msg}"),
            LogFormat::Json => {
                serde_json::json!({ "ts": ts, "level": level, "msg": msg }).to_string()
            }
        }
    }
}
