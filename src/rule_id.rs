//! The ids of the residual-access rules this build can evaluate.
//!
//! An id is part of the interface (finding ids are fingerprints of it, exceptions and severity
//! overrides name it), so it is a closed set here, spelt exactly as in `rules/access/*.toml`.
//! A leaf: the rule files ([`crate::rules`]) are checked against it and the evaluator
//! ([`crate::evaluate`]) raises candidates under it, without either depending on the other.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One residual-access rule, as its matcher in the evaluator knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    LeaverActiveAccount,
    CredentialUsedAfterDeparture,
    LeaverOwnedNhi,
    MoverResidualEntitlement,
    OrphanAccount,
    LeaverActiveAccessKey,
    LeaverConsoleLogin,
    LeaverSshKey,
    LeaverSigningCertificate,
    LeaverServiceCredential,
    LeaverToken,
    LeaverDeployKey,
    LeaverCanAssumeRole,
    LeaverSecretInGit,
    LeaverOrgMember,
    LeaverOutsideCollaborator,
    LeaverPendingInvitation,
    LeaverCodeowner,
    SharedSecretNeedsRotation,
    LeaverCredentialInCi,
    LeaverIdpAccountEnabled,
    LeaverIdpSessionsNotRevoked,
    LeaverIdpAppAccess,
    LeaverAdminRole,
    LeaverSsoUserActive,
    LeaverSsoAssignment,
}

/// A rule id no matcher of this build has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no matcher in this build has the rule id `{0}`")]
pub struct UnknownRuleId(pub String);

impl RuleId {
    /// Every rule this build can evaluate.
    pub const ALL: [RuleId; 26] = [
        RuleId::LeaverActiveAccount,
        RuleId::CredentialUsedAfterDeparture,
        RuleId::LeaverOwnedNhi,
        RuleId::MoverResidualEntitlement,
        RuleId::OrphanAccount,
        RuleId::LeaverActiveAccessKey,
        RuleId::LeaverConsoleLogin,
        RuleId::LeaverSshKey,
        RuleId::LeaverSigningCertificate,
        RuleId::LeaverServiceCredential,
        RuleId::LeaverToken,
        RuleId::LeaverDeployKey,
        RuleId::LeaverCanAssumeRole,
        RuleId::LeaverSecretInGit,
        RuleId::LeaverOrgMember,
        RuleId::LeaverOutsideCollaborator,
        RuleId::LeaverPendingInvitation,
        RuleId::LeaverCodeowner,
        RuleId::SharedSecretNeedsRotation,
        RuleId::LeaverCredentialInCi,
        RuleId::LeaverIdpAccountEnabled,
        RuleId::LeaverIdpSessionsNotRevoked,
        RuleId::LeaverIdpAppAccess,
        RuleId::LeaverAdminRole,
        RuleId::LeaverSsoUserActive,
        RuleId::LeaverSsoAssignment,
    ];

    /// The id as rule files, findings and outputs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::LeaverActiveAccount => "leaver-active-account",
            RuleId::CredentialUsedAfterDeparture => "credential-used-after-departure",
            RuleId::LeaverOwnedNhi => "leaver-owned-nhi",
            RuleId::MoverResidualEntitlement => "mover-residual-entitlement",
            RuleId::OrphanAccount => "orphan-account",
            RuleId::LeaverActiveAccessKey => "leaver-active-access-key",
            RuleId::LeaverConsoleLogin => "leaver-console-login",
            RuleId::LeaverSshKey => "leaver-ssh-key",
            RuleId::LeaverSigningCertificate => "leaver-signing-certificate",
            RuleId::LeaverServiceCredential => "leaver-service-credential",
            RuleId::LeaverToken => "leaver-token",
            RuleId::LeaverDeployKey => "leaver-deploy-key",
            RuleId::LeaverCanAssumeRole => "leaver-can-assume-role",
            RuleId::LeaverSecretInGit => "leaver-secret-in-git",
            RuleId::LeaverOrgMember => "leaver-org-member",
            RuleId::LeaverOutsideCollaborator => "leaver-outside-collaborator",
            RuleId::LeaverPendingInvitation => "leaver-pending-invitation",
            RuleId::LeaverCodeowner => "leaver-codeowner",
            RuleId::SharedSecretNeedsRotation => "shared-secret-needs-rotation",
            RuleId::LeaverCredentialInCi => "leaver-credential-in-ci",
            RuleId::LeaverIdpAccountEnabled => "leaver-idp-account-enabled",
            RuleId::LeaverIdpSessionsNotRevoked => "leaver-idp-sessions-not-revoked",
            RuleId::LeaverIdpAppAccess => "leaver-idp-app-access",
            RuleId::LeaverAdminRole => "leaver-admin-role",
            RuleId::LeaverSsoUserActive => "leaver-sso-user-active",
            RuleId::LeaverSsoAssignment => "leaver-sso-assignment",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = UnknownRuleId;

    fn from_str(s: &str) -> Result<RuleId, UnknownRuleId> {
        RuleId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownRuleId(s.to_string()))
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RuleId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_reads_back_from_its_own_spelling() {
        for id in RuleId::ALL {
            assert_eq!(id.as_str().parse::<RuleId>(), Ok(id));
            assert_eq!(id.to_string(), id.as_str());
        }
    }

    #[test]
    fn an_id_no_matcher_has_is_refused_by_name() {
        let err = "leaver-fax-machine".parse::<RuleId>().unwrap_err();
        assert_eq!(err, UnknownRuleId("leaver-fax-machine".into()));
        assert!(err.to_string().contains("leaver-fax-machine"));
    }

    #[test]
    fn an_id_serialises_as_its_string() {
        let json = serde_json::to_string(&RuleId::LeaverSshKey).unwrap();
        assert_eq!(json, "\"leaver-ssh-key\"");
        let back: RuleId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, RuleId::LeaverSshKey);
        assert!(serde_json::from_str::<RuleId>("\"nope\"").is_err());
    }

    #[test]
    fn the_ids_are_distinct() {
        let mut spelt: Vec<&str> = RuleId::ALL.iter().map(|id| id.as_str()).collect();
        spelt.sort_unstable();
        spelt.dedup();
        assert_eq!(spelt.len(), RuleId::ALL.len());
    }
}
