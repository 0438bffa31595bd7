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

/// `n noun` in words: the singular only when `n` is 1 (`1 leaver`, `0 leavers`, `2 matches`).
pub fn count(n: impl Into<u64>, singular: &str, plural: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn the_plural_only_when_the_count_is_not_one() {
        assert_eq!(count(1u32, "leaver", "leavers"), "1 leaver");
        assert_eq!(count(0u32, "leaver", "leavers"), "0 leavers");
        assert_eq!(count(2u32, "match", "matches"), "2 matches");
    }
}
