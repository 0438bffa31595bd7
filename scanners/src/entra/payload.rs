//! Microsoft Graph v1.0 payloads, as far as the sweep reads them (the `$select` of each route
//! asks for these fields only). Unknown fields are ignored; fields Graph may omit are optional.
//! Credential *values* (`secretText`, `key`) are not fields here: they are never read.

use serde::Deserialize;

/// Items of `GET /users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub(super) id: String,
    pub(super) user_principal_name: String,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) mail: Option<String>,
    #[serde(default)]
    pub(super) account_enabled: Option<bool>,
    #[serde(default)]
    pub(super) employee_id: Option<String>,
    #[serde(default)]
    pub(super) on_premises_immutable_id: Option<String>,
    #[serde(default)]
    pub(super) created_date_time: Option<String>,
    #[serde(default)]
    pub(super) sign_in_sessions_valid_from_date_time: Option<String>,
    /// Only with an Entra ID P1/P2 licence and `AuditLog.Read.All`.
    #[serde(default)]
    pub(super) sign_in_activity: Option<SignInActivity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SignInActivity {
    #[serde(default)]
    pub(super) last_sign_in_date_time: Option<String>,
    #[serde(default)]
    pub(super) last_non_interactive_sign_in_date_time: Option<String>,
}

/// Items of `GET /groups` and `GET /directoryRoles`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Named {
    pub(super) id: String,
    #[serde(default)]
    pub(super) display_name: Option<String>,
}

/// A member or owner (`directoryObject`): a user has a `userPrincipalName`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DirectoryObject {
    pub(super) id: String,
    #[serde(default, rename = "@odata.type")]
    pub(super) odata_type: Option<String>,
    #[serde(default)]
    pub(super) user_principal_name: Option<String>,
}

/// Items of `GET /servicePrincipals/{id}/appRoleAssignedTo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AppRoleAssignment {
    pub(super) id: String,
    #[serde(default)]
    pub(super) app_role_id: Option<String>,
    pub(super) principal_id: String,
    #[serde(default)]
    pub(super) principal_type: Option<String>,
    #[serde(default)]
    pub(super) resource_display_name: Option<String>,
    #[serde(default)]
    pub(super) created_date_time: Option<String>,
}

/// Items of `GET /applications` and `GET /servicePrincipals` with `$expand=owners`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct App {
    pub(super) id: String,
    #[serde(default)]
    pub(super) app_id: Option<String>,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) account_enabled: Option<bool>,
    #[serde(default)]
    pub(super) created_date_time: Option<String>,
    #[serde(default)]
    pub(super) password_credentials: Vec<PasswordCredential>,
    #[serde(default)]
    pub(super) key_credentials: Vec<KeyCredential>,
    #[serde(default)]
    pub(super) owners: Vec<DirectoryObject>,
}

/// A client secret's metadata: its id, the first characters Graph shows (`hint`), its dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PasswordCredential {
    pub(super) key_id: String,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default)]
    pub(super) hint: Option<String>,
    #[serde(default)]
    pub(super) start_date_time: Option<String>,
    #[serde(default)]
    pub(super) end_date_time: Option<String>,
}

/// A certificate credential's metadata.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeyCredential {
    pub(super) key_id: String,
    #[serde(default)]
    pub(super) display_name: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) usage: Option<String>,
    #[serde(default)]
    pub(super) start_date_time: Option<String>,
    #[serde(default)]
    pub(super) end_date_time: Option<String>,
}
