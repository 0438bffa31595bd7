//! The pieces of `residual daemon` that are not the command itself: which jobs are due
//! ([`jobs`], pure), the one-daemon-per-store lock ([`lock`]), the record of the last firing each
//! job handled, for catching up after downtime ([`state`]), timestamped log lines ([`log`]), and
//! the `[hr] command` that fetches a snapshot ([`hr_command`]).

pub mod hr_command;
pub mod jobs;
pub mod lock;
pub mod log;
pub mod state;
