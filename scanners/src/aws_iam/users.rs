//! The per-user phase: for each IAM user, the calls the bulk sources leave (SSH keys always; access
//! keys, certificates and MFA devices only where the credential report shows some; the login
//! profile only without a report row), `concurrency` users at a time, stopping after several
//! consecutive users fail instead of waiting out every retry.

use super::credentials::{LoginSeen, MfaSeen};
use super::report::ReportRow;
use super::sweep::Sweep;
use crate::coverage::{iam_credential_unit, Miss, MissClass};
use crate::{Credential, CredentialKind, IdentityHints};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Consecutive users whose per-user calls all failed before the sweep stops calling per user.
const USER_FAILURE_LIMIT: u32 = 5;

/// The per-user work for one user.
pub(super) struct UserJob {
    pub(super) user: String,
    pub(super) row: Option<ReportRow>,
    pub(super) virtual_mfa: Vec<MfaSeen>,
}

/// What the per-user phase read, and what it could not.
#[derive(Default)]
pub(super) struct UserSweep {
    pub(super) credentials: Vec<Credential>,
    /// The units a failed call left uncovered, each with the failure.
    pub(super) misses: Vec<Miss>,
}

/// Runs the jobs `concurrency` at a time and gathers their credentials and errors; says how many
/// users were not swept when it stopped early.
pub(super) async fn sweep_users(sweep: Arc<Sweep>, jobs: VecDeque<UserJob>) -> UserSweep {
    let total = jobs.len();
    let width = sweep.config.concurrency.max(1).min(total.max(1));
    let queue = Arc::new(Mutex::new(jobs));
    let consecutive_failures = Arc::new(AtomicU32::new(0));
    let gave_up = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..width {
        let (sweep, queue, failures, gave_up) = (
            sweep.clone(),
            queue.clone(),
            consecutive_failures.clone(),
            gave_up.clone(),
        );
        workers.spawn(async move {
            let mut done = Vec::new();
            while !gave_up.load(Ordering::Relaxed) {
                let job = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                let result = sweep.sweep_user(job).await;
                if result.misses.is_empty() {
                    failures.store(0, Ordering::Relaxed);
                } else if failures.fetch_add(1, Ordering::Relaxed) + 1 >= USER_FAILURE_LIMIT {
                    gave_up.store(true, Ordering::Relaxed);
                }
                done.push(result);
            }
            done
        });
    }
    let mut all = UserSweep::default();
    let mut swept = 0usize;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(results) => {
                for r in results {
                    swept += 1;
                    all.credentials.extend(r.credentials);
                    all.misses.extend(r.misses);
                }
            }
            Err(e) => all
                .misses
                .extend(per_user_units(&format!("a per-user worker stopped: {e}"))),
        }
    }
    if swept < total {
        all.misses.extend(per_user_units(&format!(
            "per-user calls stopped after {USER_FAILURE_LIMIT} consecutive users failed: \
             {} of {total} users were not swept for SSH keys, access keys, certificates, MFA \
             and console passwords",
            total - swept
        )));
    }
    all
}

/// Every unit the per-user calls read, missed for `reason` (users not swept at all).
fn per_user_units(reason: &str) -> Vec<Miss> {
    [
        CredentialKind::SshKey,
        CredentialKind::AccessKey,
        CredentialKind::SigningCertificate,
        CredentialKind::MfaDevice,
        CredentialKind::ConsolePassword,
    ]
    .into_iter()
    .map(|k| Miss::new(iam_credential_unit(k), MissClass::Error, reason))
    .collect()
}

impl Sweep {
    /// The per-user calls for one user. Errors are collected, not returned: what was read stays.
    async fn sweep_user(&self, job: UserJob) -> UserSweep {
        let mut sweep = UserSweep::default();
        let user = job.user.as_str();
        let row = job.row.as_ref();

        // SSH public keys: no bulk source exists.
        match self.ssh_keys(user).await {
            Ok(creds) => sweep.credentials.extend(creds),
            Err(e) => sweep.misses.push(e.miss(unit(CredentialKind::SshKey))),
        }

        // Access keys: ids only come from ListAccessKeys; skip users the report shows without keys.
        if row.is_none_or(ReportRow::has_access_keys) {
            match self.access_keys(user, row).await {
                Ok((creds, error)) => {
                    sweep.credentials.extend(creds);
                    // The keys were seen; only their last use is unknown.
                    sweep
                        .misses
                        .extend(error.map(|e| e.miss(&last_used(CredentialKind::AccessKey))));
                }
                Err(e) => sweep.misses.push(e.miss(unit(CredentialKind::AccessKey))),
            }
        }

        // Signing certificates: ids only come from ListSigningCertificates.
        if row.is_none_or(ReportRow::has_certs) {
            match self.signing_certificates(user).await {
                Ok(creds) => sweep.credentials.extend(creds),
                Err(e) => sweep
                    .misses
                    .push(e.miss(unit(CredentialKind::SigningCertificate))),
            }
        }

        let mfa = self
            .user_mfa(user, row, job.virtual_mfa, &mut sweep.misses)
            .await;
        sweep
            .credentials
            .extend(mfa.into_iter().map(|m| mfa_credential(user, m)));

        // Console password: from the report row, else GetLoginProfile.
        let login = match row {
            Some(r) if r.password_enabled => Ok(Some(LoginSeen {
                changed_at: r.password_last_changed,
                last_used: r.password_last_used,
                source: "credential-report",
            })),
            Some(_) => Ok(None),
            // Without a report row there is no password last use: GetLoginProfile omits it.
            None => self.login_profile(user).await,
        };
        match login {
            Ok(Some(l)) => sweep.credentials.push(console_password(user, row, l)),
            Ok(None) => {}
            Err(e) => sweep
                .misses
                .push(e.miss(unit(CredentialKind::ConsolePassword))),
        }
        sweep
    }

    /// MFA: virtual devices came in bulk; ask per user only when more may exist.
    async fn user_mfa(
        &self,
        user: &str,
        row: Option<&ReportRow>,
        mut mfa: Vec<MfaSeen>,
        misses: &mut Vec<Miss>,
    ) -> Vec<MfaSeen> {
        if row.is_none_or(|r| r.mfa_active) && mfa.is_empty() {
            match self.mfa_devices(user).await {
                Ok(found) => {
                    for m in found {
                        if !mfa.iter().any(|v| v.serial == m.serial) {
                            mfa.push(m);
                        }
                    }
                }
                Err(e) => misses.push(e.miss(unit(CredentialKind::MfaDevice))),
            }
        }
        mfa
    }
}

fn unit(kind: CredentialKind) -> &'static str {
    iam_credential_unit(kind)
}

/// The unit of a kind's last-use times (below the kind's own unit).
pub(super) fn last_used(kind: CredentialKind) -> String {
    format!("{}:last-used", iam_credential_unit(kind))
}

fn mfa_credential(user: &str, m: MfaSeen) -> Credential {
    let mut attributes = BTreeMap::new();
    let device_type = if m.virtual_device {
        "virtual"
    } else {
        "hardware-or-fido"
    };
    attributes.insert("device_type".into(), device_type.into());
    Credential {
        account: user.to_string(),
        kind: CredentialKind::MfaDevice,
        id: m.serial,
        active: true,
        created_at: m.enabled_at,
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}

fn console_password(user: &str, row: Option<&ReportRow>, l: LoginSeen) -> Credential {
    let mut attributes = BTreeMap::new();
    attributes.insert("source".into(), l.source.into());
    if let Some(r) = row {
        attributes.insert("mfa_active".into(), r.mfa_active.to_string());
    }
    Credential {
        account: user.to_string(),
        kind: CredentialKind::ConsolePassword,
        id: format!("login-profile:{user}"),
        active: true,
        created_at: l.changed_at,
        last_used_at: l.last_used,
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}
