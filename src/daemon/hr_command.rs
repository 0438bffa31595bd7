//! `[hr] command`: an HR system reached by a script or an HTTPS export. The command runs through
//! `sh -c` in the configuration's directory; its stdout is the snapshot, written to `[hr] source`
//! (to a temporary file, then renamed) only when it exits 0, so a failed export never replaces
//! the last good one. Its stderr goes to ours, unread: it may say what failed, and it is the
//! operator's own script's output. Run before every import of the configured source (`scan`,
//! each daemon firing and look at the HR source).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum HrCommandError {
    #[error("hr.command: cannot start `sh -c` for it")]
    Start(#[source] std::io::Error),
    #[error("hr.command exited with {status} (its stderr is above); the last snapshot in {} is kept", source_file.display())]
    Failed {
        status: std::process::ExitStatus,
        source_file: PathBuf,
    },
    #[error("hr.command printed nothing; the last snapshot in {} is kept", source_file.display())]
    Empty { source_file: PathBuf },
    #[error("{}: cannot write the snapshot hr.command printed", file.display())]
    Write {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `command` in `dir` and stores its stdout as `source`.
pub fn refresh(command: &str, dir: &Path, source: &Path) -> Result<(), HrCommandError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(HrCommandError::Start)?;
    if !out.status.success() {
        return Err(HrCommandError::Failed {
            status: out.status,
            source_file: source.to_path_buf(),
        });
    }
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(HrCommandError::Empty {
            source_file: source.to_path_buf(),
        });
    }
    let write = |e| HrCommandError::Write {
        file: source.to_path_buf(),
        source: e,
    };
    let mut tmp = source.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &out.stdout).map_err(write)?;
    std::fs::rename(&tmp, source).map_err(write)
}
