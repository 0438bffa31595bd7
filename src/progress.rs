//! Where long work reports what it is doing. Orchestration prints nothing: it says each progress
//! line to a [`Progress`] the command supplies (stderr in the CLI, nothing with `--quiet`).

use std::sync::Arc;

/// Where one progress line goes.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// A cheap, cloneable sink for progress lines; silent when built with [`Progress::silent`].
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Sink>,
}

impl Progress {
    /// Progress that goes to `sink`.
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress {
            sink: Some(Arc::new(sink)),
        }
    }

    /// Progress that goes nowhere.
    pub fn silent() -> Progress {
        Progress::default()
    }

    /// Whether lines said here go anywhere (worth building a periodic report for).
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Says one line.
    pub fn say(&self, line: impl AsRef<str>) {
        if let Some(sink) = &self.sink {
            sink(line.as_ref());
        }
    }
}
