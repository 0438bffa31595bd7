//! `leases`: which worker sweeps which sweep unit right now, so that workers that split a night's
//! sweeps (`scan --shard K/N`, `scan --unit ID`, several daemons) never sweep one unit twice at
//! once.
//!
//! A lease is one row per unit: its holder (`host:pid:random`, one per process, see
//! [`holder`]), when it expires, and the scan run the holder started under it. A worker takes the
//! lease before it sweeps the unit ([`take`]), renews it while the sweep runs ([`Keeper`]) and
//! releases it once the run is recorded ([`release`]). A lease held by another worker that is
//! still live makes the unit skipped, never waited for.
//!
//! A lease is dead when it expired, or at once when its holder ran on this host and its process
//! is gone (a killed `scan` on one machine need not block the unit for a whole lease's life).
//! Whoever takes a dead lease marks the run its holder left `started` as `interrupted`: that run
//! is never complete, so it resolves nothing.
//!
//! Times are the real clock (milliseconds since the epoch), never `--now`: a lease is about
//! processes running now, not about the time findings are evaluated at. Across machines the
//! clocks must agree to well within a lease's life (NTP does that).
//!
//! All of it is plain SQL on the `leases` table (migration 12), one statement or one immediate
//! transaction at a time, so another store backend can implement the same four operations.

use super::db::{params, Connection, OptionalExtension};
use super::{runs, Result, Store};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a lease lives without renewal unless `--lease-ttl` says otherwise: how long a unit
/// stays blocked after its worker died on another machine.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// What [`take`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The lease is ours now. `interrupted`: the run a dead holder had started under it, now
    /// marked `interrupted`.
    Ours { interrupted: Option<i64> },
    /// Another worker holds a live lease on the unit: skip it.
    Held {
        holder: String,
        expires_in: Duration,
    },
}

/// This process's holder id: `host:pid:random`, the same for every lease it takes. The random
/// part tells apart two processes that got the same pid on one host (a container restarted).
pub fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| format!("{}:{}:{}", host_name(), std::process::id(), random_tag()))
}

/// Takes the lease on `unit` for this process for `ttl`, in one immediate transaction: free,
/// ours already, or dead (then the run its holder left `started` is marked `interrupted`), or
/// held live by another worker.
pub fn take(store: &mut Store, unit: &str, ttl: Duration) -> Result<Taken> {
    let now = now_ms();
    let me = holder();
    // Bookkeeping: a lease is not a change of what the store says (a job that skipped every
    // unit changed nothing).
    super::bookkeeping(|| {
        let tx = store.conn.transaction()?;
        let current: Option<(String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT holder, expires_at, run_id FROM leases WHERE unit = ?1",
                [unit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let mut interrupted = None;
        if let Some((other, expires_at, run)) = current {
            if other != me && expires_at > now && !holder_gone(&other) {
                return Ok(Taken::Held {
                    holder: other,
                    expires_in: Duration::from_millis((expires_at - now) as u64),
                });
            }
            if other != me {
                if let Some(run) = run {
                    if runs::mark_interrupted(&tx, run)? {
                        interrupted = Some(run);
                    }
                }
            }
        }
        tx.execute(
            "INSERT INTO leases (unit, holder, taken_at, expires_at, run_id) VALUES (?1, ?2, ?3, ?4, NULL) \
             ON CONFLICT (unit) DO UPDATE SET holder = excluded.holder, taken_at = excluded.taken_at, \
               expires_at = excluded.expires_at, run_id = NULL",
            params![unit, me, now, now + ttl_ms(ttl)],
        )?;
        tx.commit()?;
        Ok(Taken::Ours { interrupted })
    })
}

/// Notes that this process started run `run_id` under its lease on `unit` (the unit's id is the
/// run's system when it starts); nothing when it holds no lease there (a sweep named on the
/// command line takes none).
pub fn attach(conn: &Connection, unit: &str, run_id: i64) -> Result<()> {
    super::bookkeeping(|| {
        conn.execute(
            "UPDATE leases SET run_id = ?1 WHERE unit = ?2 AND holder = ?3",
            params![run_id, unit, holder()],
        )
    })?;
    Ok(())
}

/// Gives back this process's lease on `unit` (the run is recorded, or will never be).
pub fn release(conn: &Connection, unit: &str) -> Result<()> {
    super::bookkeeping(|| {
        conn.execute(
            "DELETE FROM leases WHERE unit = ?1 AND holder = ?2",
            params![unit, holder()],
        )
    })?;
    Ok(())
}

/// Pushes the expiry of this process's leases on `units` to `ttl` from now. Returns the units
/// whose lease is no longer ours (it expired and another worker took it).
pub fn renew(conn: &Connection, units: &[String], ttl: Duration) -> Result<Vec<String>> {
    let expires_at = now_ms() + ttl_ms(ttl);
    let mut lost = Vec::new();
    let mut stmt =
        conn.prepare("UPDATE leases SET expires_at = ?1 WHERE unit = ?2 AND holder = ?3")?;
    for unit in units {
        if stmt.execute(params![expires_at, unit, holder()])? == 0 {
            lost.push(unit.clone());
        }
    }
    Ok(lost)
}

/// A lease as `scan --list-units` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeaseInfo {
    pub unit: String,
    pub holder: String,
    /// Seconds until it expires (negative: expired, waiting for the next taker).
    pub expires_in: i64,
    pub run_id: Option<i64>,
}

/// Every lease in the store, by unit.
pub fn list(conn: &Connection) -> Result<Vec<LeaseInfo>> {
    let now = now_ms();
    let mut stmt =
        conn.prepare("SELECT unit, holder, expires_at, run_id FROM leases ORDER BY unit")?;
    let rows = stmt.query_map([], |r| {
        let expires_at: i64 = r.get(2)?;
        Ok(LeaseInfo {
            unit: r.get(0)?,
            holder: r.get(1)?,
            expires_in: (expires_at - now).div_euclid(1000),
            run_id: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// Renews this process's leases in the background while their sweeps run: every third of the
/// lease's life, on a connection of its own (a sweep can hold the main connection for minutes).
/// Dropping it stops the renewals; the leases themselves are released by [`release`].
pub struct Keeper {
    units: Arc<Mutex<BTreeSet<String>>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    /// Starts renewing, for `ttl`, the leases [`Keeper::hold`] adds, in the store at `path`.
    pub fn start(path: &Path, ttl: Duration) -> Keeper {
        let units: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let path: PathBuf = path.to_path_buf();
        let held = Arc::clone(&units);
        let every = (ttl / 3).max(Duration::from_millis(100));
        let thread = std::thread::spawn(move || {
            let conn = match Connection::open(&path).and_then(|c| {
                c.busy_timeout(super::DEFAULT_LOCK_TIMEOUT)?;
                Ok(c)
            }) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("leases: cannot open {} to renew them: {e}", path.display());
                    return;
                }
            };
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let units: Vec<String> = match held.lock() {
                    Ok(u) => u.iter().cloned().collect(),
                    Err(_) => return,
                };
                match renew(&conn, &units, ttl) {
                    Ok(lost) => {
                        for unit in lost {
                            tracing::warn!(
                                "lease on {unit} was lost (it expired and another worker took it); \
                                 this run is still recorded"
                            );
                        }
                    }
                    Err(e) => tracing::warn!("leases: cannot renew: {e}"),
                }
            }
        });
        Keeper {
            units,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Renews the lease on `unit` from now on.
    pub fn hold(&self, unit: &str) {
        if let Ok(mut u) = self.units.lock() {
            u.insert(unit.to_string());
        }
    }

    /// Stops renewing the lease on `unit`.
    pub fn drop_unit(&self, unit: &str) {
        if let Ok(mut u) = self.units.lock() {
            u.remove(unit);
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Whether `holder` ran on this host and its process is gone: its lease is dead before it
/// expires. Only Linux is asked (through `/proc`); elsewhere a lease lives until it expires.
fn holder_gone(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (_random, pid, host) = (parts.next(), parts.next(), parts.next());
    let (Some(pid), Some(host)) = (pid, host) else {
        return false;
    };
    if host != host_name() || !cfg!(target_os = "linux") {
        return false;
    }
    // A pid that is ours is this process (a holder left by a process that had our pid and was
    // restarted in a container carries another random part, and is gone).
    if pid == std::process::id().to_string() {
        return holder != self::holder();
    }
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// The host's name (the pod's name under Kubernetes), or `unknown-host`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A few random hex digits without a random-number crate: the hash of the clock, the pid and a
/// stack address. Not a secret; it only tells processes apart.
fn random_tag() -> String {
    use sha2::{Digest, Sha256};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let marker = 0u8;
    let mut h = Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update((&marker as *const u8 as usize).to_le_bytes());
    hex::encode(&h.finalize()[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lease of another worker on another host, expiring `in_ms` from now, with its run.
    fn foreign(store: &Store, unit: &str, in_ms: i64, run: Option<i64>) {
        store
            .conn()
            .execute(
                "INSERT INTO leases (unit, holder, taken_at, expires_at, run_id) VALUES (?1, 'elsewhere:1:ab', 0, ?2, ?3)",
                params![unit, now_ms() + in_ms, run],
            )
            .expect("lease");
    }

    #[test]
    fn a_live_lease_of_another_worker_is_not_taken() {
        for (_d, mut store) in crate::store::testing::stores() {
            foreign(&store, "aws-iam:1", 60_000, None);
            let taken = take(&mut store, "aws-iam:1", DEFAULT_TTL).expect("take");
            assert!(
                matches!(taken, Taken::Held { ref holder, .. } if holder == "elsewhere:1:ab"),
                "{taken:?}"
            );
            assert_eq!(
                take(&mut store, "aws-iam:2", DEFAULT_TTL).expect("take"),
                Taken::Ours { interrupted: None }
            );
        }
    }

    #[test]
    fn an_expired_lease_is_taken_and_its_started_run_marked_interrupted() {
        for (_d, mut store) in crate::store::testing::stores() {
            let run =
                runs::start(store.conn(), "aws-iam", "aws-iam:1", chrono::Utc::now()).expect("run");
            foreign(&store, "aws-iam:1", -1, Some(run));
            let taken = take(&mut store, "aws-iam:1", DEFAULT_TTL).expect("take");
            assert_eq!(
                taken,
                Taken::Ours {
                    interrupted: Some(run)
                }
            );
            let status: String = store
                .conn()
                .query_row("SELECT status FROM scan_runs WHERE id = ?1", [run], |r| {
                    r.get(0)
                })
                .expect("status");
            assert_eq!(status, runs::INTERRUPTED);
        }
    }

    #[test]
    fn a_lease_is_renewed_and_released_only_by_its_holder() {
        for (_d, mut store) in crate::store::testing::stores() {
            take(&mut store, "git:a", Duration::from_secs(1)).expect("take");
            foreign(&store, "git:b", 60_000, None);
            let lost = renew(
                store.conn(),
                &["git:a".into(), "git:b".into()],
                Duration::from_secs(60),
            )
            .expect("renew");
            assert_eq!(lost, ["git:b"]);
            let leases = list(store.conn()).expect("list");
            assert!(leases[0].expires_in >= 58, "{leases:?}");
            release(store.conn(), "git:b").expect("release");
            release(store.conn(), "git:a").expect("release");
            let units: Vec<String> = list(store.conn())
                .expect("list")
                .into_iter()
                .map(|l| l.unit)
                .collect();
            assert_eq!(units, ["git:b"]);
        }
    }
}
