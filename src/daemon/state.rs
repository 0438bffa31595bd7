//! The last firing each scheduled job handled, in `<db>.daemon.state` (JSON, scanner name →
//! RFC 3339): what a restarted daemon compares the schedule with to see a firing it missed.
//! Written whole to a temporary file and renamed, so a crash leaves the old record or the new.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: cannot read the daemon's record of handled firings", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a record of handled firings ({message}); delete it to start afresh", file.display())]
    Invalid { file: PathBuf, message: String },
    #[error("{}: cannot write the daemon's record of handled firings", file.display())]
    Write {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Handled firings by scanner name.
#[derive(Debug, Default)]
pub struct State {
    path: PathBuf,
    handled: BTreeMap<String, DateTime<Utc>>,
}

impl State {
    /// Reads the record beside the store `db` (empty when there is none yet).
    pub fn load(db: &Path) -> Result<State, StateError> {
        let mut name = db.as_os_str().to_owned();
        name.push(".daemon.state");
        let path = PathBuf::from(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    path,
                    handled: BTreeMap::new(),
                })
            }
            Err(source) => return Err(StateError::Read { file: path, source }),
        };
        let handled = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
            file: path.clone(),
            message: format!("line {} column {}", e.line(), e.column()),
        })?;
        Ok(State { path, handled })
    }

    pub fn handled(&self, job: &str) -> Option<DateTime<Utc>> {
        self.handled.get(job).copied()
    }

    /// Records that `job` handled its firing `at`, and saves the record.
    pub fn record(&mut self, job: &str, at: DateTime<Utc>) -> Result<(), StateError> {
        self.handled.insert(job.to_string(), at);
        let write = |source| StateError::Write {
            file: self.path.clone(),
            source,
        };
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_string_pretty(&self.handled)
            .map_err(|e| write(std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(write)?;
        std::fs::rename(&tmp, &self.path).map_err(write)
    }
}
