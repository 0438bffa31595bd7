//! The credential listings: account-wide where IAM has one (virtual MFA devices,
//! service-specific credentials), per user where it has not (SSH keys, access keys, signing
//! certificates, other MFA devices, the login profile). Each turns IAM's metadata into
//! [`Credential`]s; no listing returns a secret value.

use super::report::{slot_for_key, ReportRow};
use super::sweep::{next_marker, to_chrono, CallError, Sweep};
use crate::{Credential, CredentialKind, IdentityHints};
use aws_sdk_iam::types::{
    AccessKeyMetadata, AssignmentStatusType, ServiceSpecificCredentialMetadata, StatusType,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// An MFA device of a user, from either listing.
#[derive(Debug, Clone)]
pub(super) struct MfaSeen {
    pub(super) serial: String,
    pub(super) enabled_at: Option<DateTime<Utc>>,
    pub(super) virtual_device: bool,
}

/// A console password (login profile), from the report or from `GetLoginProfile`.
pub(super) struct LoginSeen {
    pub(super) changed_at: Option<DateTime<Utc>>,
    pub(super) last_used: Option<DateTime<Utc>>,
    pub(super) source: &'static str,
}

/// A credential of `user` with only a status attribute: SSH keys and signing certificates.
fn with_status(
    user: &str,
    kind: CredentialKind,
    id: &str,
    status: &StatusType,
    created_at: Option<DateTime<Utc>>,
) -> Credential {
    let mut attributes = BTreeMap::new();
    attributes.insert("status".into(), status.as_str().to_string());
    Credential {
        account: user.to_string(),
        kind,
        id: id.to_string(),
        active: matches!(status, StatusType::Active),
        created_at,
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}

fn status_str(status: Option<&StatusType>) -> String {
    status.map(|s| s.as_str().to_string()).unwrap_or_default()
}

impl Sweep {
    /// User name → the virtual MFA devices assigned to them.
    pub(super) async fn virtual_mfa_devices(
        &self,
    ) -> Result<HashMap<String, Vec<MfaSeen>>, CallError> {
        let mut by_user: HashMap<String, Vec<MfaSeen>> = HashMap::new();
        let listing = |marker| {
            self.iam
                .list_virtual_mfa_devices()
                .assignment_status(AssignmentStatusType::Assigned)
                .set_marker(marker)
                .into_paginator()
                .page_size(self.config.page_size)
                .send()
        };
        self.pages("ListVirtualMFADevices", listing, |page| {
            for device in page.virtual_mfa_devices() {
                if let Some(user) = device.user() {
                    by_user
                        .entry(user.user_name().to_string())
                        .or_default()
                        .push(MfaSeen {
                            serial: device.serial_number().to_string(),
                            enabled_at: device.enable_date().and_then(to_chrono),
                            virtual_device: true,
                        });
                }
            }
        })
        .await?;
        Ok(by_user)
    }

    /// Every service-specific credential of every user, in one listing. The SDK has no paginator
    /// for this call (its `Marker` came with `AllUsers`), so this is the one marker loop left.
    pub(super) async fn service_specific_credentials(&self) -> Result<Vec<Credential>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_service_specific_credentials()
                        .all_users(true)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| self.describe("ListServiceSpecificCredentials", &e))?;
            out.extend(
                page.service_specific_credentials()
                    .iter()
                    .map(service_credential),
            );
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err(CallError::malformed("ListServiceSpecificCredentials", e)),
            }
        }
    }

    pub(super) async fn ssh_keys(&self, user: &str) -> Result<Vec<Credential>, CallError> {
        let mut out = Vec::new();
        let listing = |marker| {
            self.iam
                .list_ssh_public_keys()
                .user_name(user)
                .set_marker(marker)
                .into_paginator()
                .page_size(self.config.page_size)
                .send()
        };
        self.pages(&format!("ListSSHPublicKeys {user}"), listing, |page| {
            out.extend(page.ssh_public_keys().iter().map(|k| {
                let created_at = to_chrono(k.upload_date());
                with_status(
                    user,
                    CredentialKind::SshKey,
                    k.ssh_public_key_id(),
                    k.status(),
                    created_at,
                )
            }));
        })
        .await?;
        Ok(out)
    }

    /// The user's access keys, and the error of a last-use lookup that failed (the key is kept).
    pub(super) async fn access_keys(
        &self,
        user: &str,
        row: Option<&ReportRow>,
    ) -> Result<(Vec<Credential>, Option<CallError>), CallError> {
        let mut keys: Vec<AccessKeyMetadata> = Vec::new();
        let listing = |marker| {
            self.iam
                .list_access_keys()
                .user_name(user)
                .set_marker(marker)
                .into_paginator()
                .page_size(self.config.page_size)
                .send()
        };
        self.pages(&format!("ListAccessKeys {user}"), listing, |page| {
            keys.extend(page.access_key_metadata().iter().cloned());
        })
        .await?;
        let mut out = Vec::new();
        let mut first_error = None;
        for key in keys {
            let Some(id) = key.access_key_id() else {
                continue;
            };
            let created = key.create_date().and_then(to_chrono);
            let mut attributes = BTreeMap::new();
            attributes.insert("status".into(), status_str(key.status()));
            let slot = match (row, created) {
                (Some(r), Some(c)) => slot_for_key(r, c),
                _ => None,
            };
            let last_used = match slot {
                Some(s) => {
                    attributes.insert("last_used_source".into(), "credential-report".into());
                    if let Some(v) = &s.last_used_service {
                        attributes.insert("last_used_service".into(), v.clone());
                    }
                    if let Some(v) = &s.last_used_region {
                        attributes.insert("last_used_region".into(), v.clone());
                    }
                    s.last_used
                }
                None => match self.key_last_used(id, &mut attributes).await {
                    Ok(used) => used,
                    Err(e) => {
                        // The key itself was seen: keep it, report the missing last use.
                        first_error.get_or_insert(e);
                        None
                    }
                },
            };
            out.push(Credential {
                account: user.to_string(),
                kind: CredentialKind::AccessKey,
                id: id.to_string(),
                active: matches!(key.status(), Some(StatusType::Active)),
                created_at: created,
                last_used_at: last_used,
                hints: IdentityHints::default(),
                attributes,
                facets: Default::default(),
            });
        }
        // A key whose last use could not be read is still a key: keep it, and the error.
        Ok((out, first_error))
    }

    /// `GetAccessKeyLastUsed` for a key the report cannot tell apart; where and when it was
    /// last used goes into `attributes`.
    async fn key_last_used(
        &self,
        id: &str,
        attributes: &mut BTreeMap<String, String>,
    ) -> Result<Option<DateTime<Utc>>, CallError> {
        match self
            .send(|| self.iam.get_access_key_last_used().access_key_id(id).send())
            .await
        {
            Ok(out) => {
                attributes.insert("last_used_source".into(), "GetAccessKeyLastUsed".into());
                let used = out.access_key_last_used();
                for (name, value) in [
                    ("last_used_service", used.map(|u| u.service_name())),
                    ("last_used_region", used.map(|u| u.region())),
                ] {
                    if let Some(v) = value.filter(|v| !v.is_empty() && *v != "N/A") {
                        attributes.insert(name.into(), v.to_string());
                    }
                }
                Ok(used.and_then(|u| u.last_used_date()).and_then(to_chrono))
            }
            Err(e) => {
                attributes.insert("last_used_source".into(), "unknown".into());
                Err(self.describe(&format!("GetAccessKeyLastUsed {id}"), &e))
            }
        }
    }

    pub(super) async fn signing_certificates(
        &self,
        user: &str,
    ) -> Result<Vec<Credential>, CallError> {
        let mut out = Vec::new();
        let listing = |marker| {
            self.iam
                .list_signing_certificates()
                .user_name(user)
                .set_marker(marker)
                .into_paginator()
                .page_size(self.config.page_size)
                .send()
        };
        self.pages(
            &format!("ListSigningCertificates {user}"),
            listing,
            |page| {
                out.extend(page.certificates().iter().map(|c| {
                    let created_at = c.upload_date().and_then(to_chrono);
                    with_status(
                        user,
                        CredentialKind::SigningCertificate,
                        c.certificate_id(),
                        c.status(),
                        created_at,
                    )
                }));
            },
        )
        .await?;
        Ok(out)
    }

    pub(super) async fn mfa_devices(&self, user: &str) -> Result<Vec<MfaSeen>, CallError> {
        let mut out = Vec::new();
        let listing = |marker| {
            self.iam
                .list_mfa_devices()
                .user_name(user)
                .set_marker(marker)
                .into_paginator()
                .page_size(self.config.page_size)
                .send()
        };
        self.pages(&format!("ListMFADevices {user}"), listing, |page| {
            out.extend(page.mfa_devices().iter().map(|d| {
                let serial = d.serial_number().to_string();
                MfaSeen {
                    virtual_device: serial.contains(":mfa/"),
                    serial,
                    enabled_at: to_chrono(d.enable_date()),
                }
            }));
        })
        .await?;
        Ok(out)
    }

    pub(super) async fn login_profile(&self, user: &str) -> Result<Option<LoginSeen>, CallError> {
        match self
            .send(|| self.iam.get_login_profile().user_name(user).send())
            .await
        {
            Ok(out) => Ok(out.login_profile().map(|p| LoginSeen {
                changed_at: to_chrono(p.create_date()),
                last_used: None,
                source: "GetLoginProfile",
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.describe(&format!("GetLoginProfile {user}"), &e)),
        }
    }
}

/// A service-specific credential (CodeCommit, Keyspaces, Bedrock API key); an expired one is
/// inactive whatever its status says.
fn service_credential(c: &ServiceSpecificCredentialMetadata) -> Credential {
    let mut attributes = BTreeMap::new();
    attributes.insert("service_name".into(), c.service_name().to_string());
    attributes.insert(
        "service_user_name".into(),
        c.service_user_name().to_string(),
    );
    attributes.insert("status".into(), c.status().as_str().to_string());
    if let Some(alias) = c.service_credential_alias() {
        attributes.insert("alias".into(), alias.to_string());
    }
    if let Some(expires) = c.expiration_date().and_then(to_chrono) {
        attributes.insert("expires_at".into(), crate::time::format_time(&expires));
    }
    let expired = c
        .expiration_date()
        .and_then(to_chrono)
        .is_some_and(|t| t <= Utc::now());
    Credential {
        account: c.user_name().to_string(),
        kind: CredentialKind::ServiceCredential,
        id: c.service_specific_credential_id().to_string(),
        active: matches!(c.status(), StatusType::Active) && !expired,
        created_at: to_chrono(c.create_date()),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}
