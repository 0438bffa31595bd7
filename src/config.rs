//! The TOML configuration (`--config`, env `RESIDUAL_CONFIG`, default `./residual.toml` when it
//! exists): the store path, the HR source, the scanners with their cron schedules, severities,
//! grace periods, the department→entitlement mapping for movers, and link settings.
//!
//! Relative paths in the file are relative to the file's own directory, so a config works from any
//! working directory. Credentials never live here: AWS uses its default provider chain, GitHub
//! `GITHUB_TOKEN` (or a GitHub App's key file), GitLab `GITLAB_TOKEN`.

use crate::evaluate::Policy;
use crate::hr::HrFormat;
use crate::severity::Severity;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The store: a SQLite file, or a PostgreSQL URL (`postgres://user@host/db?sslmode=require`);
    /// `--db` and `RESIDUAL_DB` take precedence.
    pub db: Option<PathBuf>,
    /// A version-controlled exceptions file, synced into the store before findings are shown.
    pub exceptions: Option<PathBuf>,
    #[serde(default)]
    pub hr: Option<HrSource>,
    /// `[daemon]`: the time zone schedules are read in and what happens to missed firings.
    #[serde(default)]
    pub daemon: DaemonSettings,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub link: LinkConfig,
    #[serde(default, rename = "scanner")]
    pub scanners: Vec<ScannerConfig>,
    /// Where and how fast `--verify` checks found secrets against their providers.
    #[serde(default)]
    pub verify: VerifySettings,
    /// What the access-review report (`residual report`) says of its issuer.
    #[serde(default)]
    pub report: ReportSettings,
    /// Directory the file was read from; relative paths resolve against it.
    #[serde(skip)]
    pub base: PathBuf,
    /// SHA-256 of the file as read (none for the built-in defaults): the evidence pack names the
    /// configuration its verdicts were made under.
    #[serde(skip)]
    pub digest: Option<String>,
}

/// `[report]`: the access-review report's header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// The organisation named in the report's header.
    pub organisation: Option<String>,
}

/// Where nightly runs take the HR snapshot from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HrSource {
    pub source: PathBuf,
    pub format: Option<HrFormat>,
    /// Departures one snapshot may cause before an import needs `--allow-mass-departure`
    /// (default: a tenth of the people employed before it, at least 5).
    pub max_departures: Option<usize>,
    /// How often `residual daemon` looks at the source for a new snapshot (humantime: `60s`,
    /// `5m`; default 60s).
    pub watch_interval: Option<String>,
    /// A command (run by `sh -c` in this file's directory) whose stdout is the snapshot, for HR
    /// systems reached by a script or an HTTPS export; written to `source` when it exits 0.
    pub command: Option<String>,
}

/// The `[daemon]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// IANA zone the schedules are read in (default UTC); a scanner's own `timezone` wins.
    pub timezone: Option<String>,
    /// What a daemon that was down does about the firings it missed (default `last`).
    #[serde(default)]
    pub catch_up: CatchUp,
}

/// Missed firings while the daemon was down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Run once at start when the last firing was missed.
    #[default]
    Last,
    /// Skip what was missed (logged) and wait for the next firing.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default = "seven")]
    pub mover_grace_days: i64,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Department → the groups, teams and policies it grants.
    #[serde(default)]
    pub departments: BTreeMap<String, Vec<String>>,
    /// The share (0 to 1) of the accounts the last complete run saw that an inventory export may
    /// lose before it counts as cut short (a partial run) without `--allow-drop`.
    #[serde(default = "half")]
    pub max_account_drop: f64,
    /// Hours a leaver's access may outlive the termination before their case counts against the
    /// collapse SLA (default 0: the SLA runs from the termination).
    #[serde(default)]
    pub leaver_grace_hours: i64,
    /// Hours after the event (and its grace period) within which every entitlement must be
    /// proven gone; a case still open after that is overdue.
    #[serde(default = "twenty_four")]
    pub collapse_sla_hours: i64,
    /// The longest an exception may last, in days from its creation (1 to 3650).
    #[serde(default = "max_exception_days")]
    pub max_exception_days: i64,
    /// How often `residual daemon` sweeps every configured scanner again while a leaver or
    /// mover case is open (humantime: `1h`, `15m`; default 1h).
    pub reverify_interval: Option<String>,
    /// `[policy.remediate]`: what `residual remediate --apply` may change.
    #[serde(default)]
    pub remediate: RemediatePolicy,
}

/// `[policy.remediate]`: the action kinds `residual remediate --apply` may carry out, as
/// `SYSTEM_KIND:ACTION` patterns with `*` wildcards (`"aws-iam:*"`, `"github:remove-member"`).
/// Empty by default: `--apply` refuses until an operator opts in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediatePolicy {
    #[serde(default)]
    pub allow: Vec<String>,
}

fn twenty_four() -> i64 {
    24
}

fn max_exception_days() -> i64 {
    crate::exceptions::expiry::DEFAULT_MAX_DAYS
}

fn half() -> f64 {
    0.5
}

fn seven() -> i64 {
    7
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            mover_grace_days: 7,
            severity: BTreeMap::new(),
            departments: BTreeMap::new(),
            max_account_drop: half(),
            leaver_grace_hours: 0,
            collapse_sla_hours: twenty_four(),
            max_exception_days: max_exception_days(),
            reverify_interval: None,
            remediate: RemediatePolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// System kinds where an account name equal to an email's local part links (low confidence).
    #[serde(default = "local_part_default")]
    pub local_part_systems: Vec<String>,
}

fn local_part_default() -> Vec<String> {
    vec!["aws-iam".into()]
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            local_part_systems: local_part_default(),
        }
    }
}

/// The `[verify]` section: endpoints and pace of opt-in secret verification (`--verify`, or
/// `verify = true` on a git scanner). Every key is optional; command-line flags win. The
/// defaults are the real providers, at 2 requests per second each.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySettings {
    /// STS endpoint for `sts:GetCallerIdentity` (default: AWS's own, us-east-1).
    pub aws_endpoint: Option<String>,
    /// GitHub REST API URL for `GET /user` (default `https://api.github.com`).
    pub github_api: Option<String>,
    /// Slack Web API URL for `auth.test` (default `https://slack.com/api`).
    pub slack_api: Option<String>,
    /// Requests per second per provider, at most (default 2).
    pub requests_per_second: Option<f64>,
    /// Requests in flight at once (default 2).
    pub concurrency: Option<usize>,
    /// Seconds to wait for one answer (default 10).
    pub timeout_secs: Option<u64>,
    /// Retries of a failed or throttled call (default 2).
    pub max_retries: Option<u32>,
    /// Distinct secrets verified per run, at most (default 500).
    pub max_candidates: Option<usize>,
}

/// One configured scanner. `kind` selects the scanner; the other keys are its targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    pub name: String,
    pub kind: String,
    /// 5-field crontab (or 6/7-field with seconds) schedule for `residual daemon`.
    pub schedule: Option<String>,
    /// IANA zone `schedule` is read in (default: `[daemon] timezone`, else UTC).
    pub timezone: Option<String>,
    /// `last` or `none` for this scanner (default: `[daemon] catch_up`).
    pub catch_up: Option<CatchUp>,
    /// `inventory`: the export file.
    pub file: Option<PathBuf>,
    /// `inventory`: the system name findings are filed under (default: `name`).
    pub system: Option<String>,
    /// `git`: repositories to scan.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// `aws-iam`: a named profile of the AWS config files (default: the default provider chain).
    pub profile: Option<String>,
    /// `aws-iam`: an endpoint override (a proxy, a test server).
    pub endpoint_url: Option<String>,
    /// `aws-iam`: the region IAM is called in (default us-east-1).
    pub region: Option<String>,
    /// `aws-iam`: a role to assume to enter the account.
    pub role_arn: Option<String>,
    /// `aws-iam`: the external id the role's trust policy requires.
    pub external_id: Option<String>,
    /// `aws-iam`: several accounts, each entered by assuming its role (one scan run each), or
    /// `"organization"`: every active account of the AWS Organization, entered through
    /// `role_name`.
    #[serde(default)]
    pub accounts: AwsAccounts,
    /// `aws-iam` with `accounts = "organization"`: the role assumed in every account.
    pub role_name: Option<String>,
    /// `aws-iam` with `accounts = "organization"`: only these account, OU or root ids.
    #[serde(default)]
    pub include: Vec<String>,
    /// `aws-iam` with `accounts = "organization"`: never these account, OU or root ids.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `aws-iam` with `accounts = "organization"`, `aws-sso`: accounts (or per-item calls)
    /// swept at once.
    pub concurrency: Option<usize>,
    /// `aws-iam`: whether to list service-specific credentials (default true; some IAM emulators
    /// do not implement the call).
    pub service_specific_credentials: Option<bool>,
    /// `aws-iam`: tag keys that name a user's email, employee id, owner and kind.
    #[serde(default)]
    pub tags: Option<AwsTagKeys>,
    /// `aws-sso`: the Identity Center instance (default: the only one the credentials see).
    pub instance_arn: Option<String>,
    /// `aws-sso`: read permission set tags for owner hints (default true).
    pub permission_set_tags: Option<bool>,
    /// `github`: the organisation login.
    pub org: Option<String>,
    /// `gitlab`: the top-level group (full path or numeric id).
    pub group: Option<String>,
    /// `github`, `gitlab`: the API URL (GitHub Enterprise Server, self-managed GitLab, a test
    /// server). Tokens never go in this file: `GITHUB_TOKEN`, `GITLAB_TOKEN`.
    pub api_url: Option<String>,
    /// `github`: authenticate as this GitHub App instead of `GITHUB_TOKEN`.
    pub app_id: Option<u64>,
    /// `github`: the GitHub App's private key file (PEM).
    pub app_key: Option<PathBuf>,
    /// `github`: the App's installation on the org (default: looked up).
    pub installation_id: Option<u64>,
    /// `gitlab`: also read instance-level variables (administrator token).
    pub instance_variables: Option<bool>,
    /// `github`, `gitlab`: retries of a failed or throttled request (default 4).
    pub max_retries: Option<u32>,
    /// `git`: verify the secrets found against their providers (see `[verify]`); default false.
    pub verify: Option<bool>,
    /// `entra`: the tenant (directory) id; default `AZURE_TENANT_ID`. The client id and secret
    /// or certificate come from the environment only (`AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`,
    /// `AZURE_CLIENT_CERTIFICATE_PATH`).
    pub tenant_id: Option<String>,
    /// `entra`: Microsoft Graph's root (national clouds, a test server); default
    /// `https://graph.microsoft.com`.
    pub graph_url: Option<String>,
    /// `entra`: the identity platform's root the token is asked from; default
    /// `https://login.microsoftonline.com`.
    pub login_url: Option<String>,
    /// `entra`: read `signInActivity` (default true; needs Entra ID P1/P2 and
    /// `AuditLog.Read.All`). Off, the `users:last-used` unit is not covered and no
    /// `credential-used-after-departure` finding of the tenant resolves.
    pub sign_in_activity: Option<bool>,
    /// `okta`: the OAuth 2.0 service app's client id (default `OKTA_CLIENT_ID`); when set, the
    /// sweep authenticates with a private key JWT instead of `OKTA_API_TOKEN`.
    pub client_id: Option<String>,
    /// `okta`: the service app's private key, a PEM file (default `OKTA_PRIVATE_KEY_PATH`).
    pub private_key_path: Option<PathBuf>,
    /// `okta`: the key id (`kid`) registered with the service app, when it has several keys.
    pub key_id: Option<String>,
    /// `okta`: the scopes the service app asks for (default: the read-only list in the README).
    pub scopes: Option<Vec<String>>,
}

/// The accounts of an `aws-iam` entry: a list of roles to assume, or `"organization"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AwsAccounts {
    /// `accounts = "organization"` (the only word accepted; checked on load).
    Named(String),
    /// `[[scanner.accounts]]` entries.
    List(Vec<AwsAccount>),
}

impl Default for AwsAccounts {
    fn default() -> Self {
        AwsAccounts::List(Vec::new())
    }
}

impl AwsAccounts {
    /// The word that asks for every account of the organisation.
    pub const ORGANIZATION: &'static str = "organization";

    /// The listed accounts (none for `"organization"`).
    pub fn listed(&self) -> &[AwsAccount] {
        match self {
            AwsAccounts::List(l) => l,
            AwsAccounts::Named(_) => &[],
        }
    }

    /// Whether every account of the organisation is meant.
    pub fn is_organization(&self) -> bool {
        matches!(self, AwsAccounts::Named(n) if n == Self::ORGANIZATION)
    }
}

/// One AWS account entered by assuming a role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAccount {
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// Tag keys the aws-iam scanner reads identity hints from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsTagKeys {
    pub email: Option<Vec<String>>,
    pub employee_id: Option<Vec<String>>,
    pub owner: Option<Vec<String>>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            file: path.to_path_buf(),
            message,
        };
        let mut config: Config =
            toml::from_str(&text).map_err(|e| invalid(describe_toml_error(&text, &e)))?;
        config.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.digest = Some({
            use sha2::{Digest, Sha256};
            hex::encode(Sha256::digest(text.as_bytes()))
        });
        let mut names = std::collections::HashSet::new();
        for s in &config.scanners {
            if !names.insert(s.name.as_str()) {
                return Err(invalid(format!("scanner `{}` is defined twice", s.name)));
            }
            Self::check_scanner(s).map_err(invalid)?;
            config.schedule_of(s).map_err(invalid)?;
            if let Some(n) = s.max_retries {
                in_range(&format!("scanner `{}`: max_retries", s.name), n, 0, 20)
                    .map_err(invalid)?;
            }
        }
        if let Some(zone) = &config.daemon.timezone {
            crate::schedule::parse_zone(zone)
                .map_err(|e| invalid(format!("daemon.timezone: {e}")))?;
        }
        config.watch_interval().map_err(invalid)?;
        config.reverify_interval().map_err(invalid)?;
        config.check_ranges().map_err(invalid)?;
        Ok(config)
    }

    /// What each scanner kind needs in its entry, as the message `load` reports.
    fn check_scanner(s: &ScannerConfig) -> Result<(), String> {
        match s.kind.as_str() {
            "inventory" => {
                if s.file.is_none() {
                    return Err(format!(
                        "scanner `{}` (inventory) needs `file`",
                        s.name
                    ));
                }
            }
            "aws-iam" | "aws" => {
                if let AwsAccounts::Named(word) = &s.accounts {
                    if word != AwsAccounts::ORGANIZATION {
                        return Err(format!(
                            "scanner `{}` (aws-iam): `accounts = \"{word}\"`: the only word accepted is \"organization\" (or a list of `[[scanner.accounts]]`)",
                            s.name
                        ));
                    }
                    if s.role_name.is_none() {
                        return Err(format!(
                            "scanner `{}` (aws-iam): `accounts = \"organization\"` needs `role_name`, the role assumed in every account",
                            s.name
                        ));
                    }
                }
            }
            "aws-sso" => {}
            "git" => {
                if s.paths.is_empty() {
                    return Err(format!("scanner `{}` (git) needs `paths`", s.name));
                }
            }
            "github" => {
                if s.org.is_none() {
                    return Err(format!("scanner `{}` (github) needs `org`", s.name));
                }
                if s.app_id.is_some() != s.app_key.is_some() {
                    return Err(format!(
                        "scanner `{}` (github): `app_id` and `app_key` go together",
                        s.name
                    ));
                }
            }
            "gitlab" => {
                if s.group.is_none() {
                    return Err(format!(
                        "scanner `{}` (gitlab) needs `group`",
                        s.name
                    ));
                }
            }
            "entra" => {}
            "okta" => {
                if s.api_url.is_none() {
                    return Err(format!(
                        "scanner `{}` (okta) needs `api_url` (https://ORG.okta.com)",
                        s.name
                    ));
                }
            }
            other => {
                return Err(format!(
                "scanner `{}`: unknown kind `{other}` (this build knows: inventory, aws-iam, aws-sso, git, github, gitlab, entra, okta)",
                s.name
            ))
            }
        }
        Ok(())
    }

    /// Range checks of the numbers the file sets, so that a typo is an error naming the key
    /// instead of a panic (a grace period of 10^15 days overflows a date) or a silent negative.
    fn check_ranges(&self) -> Result<(), String> {
        in_range(
            "policy.mover_grace_days",
            self.policy.mover_grace_days,
            0,
            MAX_GRACE_DAYS,
        )?;
        in_range(
            "policy.leaver_grace_hours",
            self.policy.leaver_grace_hours,
            0,
            MAX_GRACE_DAYS * 24,
        )?;
        in_range(
            "policy.collapse_sla_hours",
            self.policy.collapse_sla_hours,
            1,
            MAX_GRACE_DAYS * 24,
        )?;
        let (low, high) = crate::exceptions::expiry::MAX_DAYS_RANGE;
        in_range(
            "policy.max_exception_days",
            self.policy.max_exception_days,
            low,
            high,
        )?;
        let drop = self.policy.max_account_drop;
        if !(0.0..=1.0).contains(&drop) {
            return Err(format!(
                "policy.max_account_drop: {drop} is out of range (0 to 1, a share of accounts)"
            ));
        }
        if !self.policy.severity.is_empty() {
            let rules = crate::rules::RuleSet::builtin().map_err(|e| e.to_string())?;
            for id in self.policy.severity.keys() {
                if !rules.contains(id) {
                    let known: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                    return Err(format!(
                        "policy.severity: unknown rule id `{id}` (known rule ids: {})",
                        known.join(", ")
                    ));
                }
            }
        }
        let v = &self.verify;
        if let Some(r) = v.requests_per_second {
            if !(r.is_finite() && r > 0.0 && r <= 1000.0) {
                return Err(format!(
                    "verify.requests_per_second: {r} is out of range (more than 0, at most 1000)"
                ));
            }
        }
        if let Some(n) = v.concurrency {
            in_range("verify.concurrency", n, 1, 64)?;
        }
        if let Some(n) = v.timeout_secs {
            in_range("verify.timeout_secs", n, 1, 3600)?;
        }
        if let Some(n) = v.max_retries {
            in_range("verify.max_retries", n, 0, 20)?;
        }
        if let Some(n) = v.max_candidates {
            in_range("verify.max_candidates", n, 1, 100_000)?;
        }
        Ok(())
    }

    /// A scanner's parsed schedule in its zone (`None` without `schedule`); the error names the
    /// scanner and echoes what was written.
    pub fn schedule_of(
        &self,
        s: &ScannerConfig,
    ) -> Result<Option<crate::schedule::Schedule>, String> {
        let zone = match s.timezone.as_deref().or(self.daemon.timezone.as_deref()) {
            Some(name) => crate::schedule::parse_zone(name)
                .map_err(|e| format!("scanner `{}`: timezone: {e}", s.name))?,
            None => chrono_tz::Tz::UTC,
        };
        let Some(expr) = &s.schedule else {
            return Ok(None);
        };
        crate::schedule::parse(expr, zone)
            .map(Some)
            .map_err(|e| format!("scanner `{}`: schedule `{expr}`: {e}", s.name))
    }

    /// How often the daemon looks for a new HR snapshot (`[hr] watch_interval`, default 60s).
    pub fn watch_interval(&self) -> Result<std::time::Duration, String> {
        match self.hr.as_ref().and_then(|h| h.watch_interval.as_deref()) {
            None => Ok(std::time::Duration::from_secs(60)),
            Some(text) => match humantime::parse_duration(text) {
                Ok(d) if !d.is_zero() => Ok(d),
                _ => Err(format!(
                    "hr.watch_interval: `{text}` is not a duration such as `60s` or `5m`"
                )),
            },
        }
    }

    /// How often the daemon re-sweeps while a case is open (`policy.reverify_interval`,
    /// default 1h).
    pub fn reverify_interval(&self) -> Result<std::time::Duration, String> {
        match self.policy.reverify_interval.as_deref() {
            None => Ok(std::time::Duration::from_secs(3600)),
            Some(text) => match humantime::parse_duration(text) {
                Ok(d) if !d.is_zero() => Ok(d),
                _ => Err(format!(
                    "policy.reverify_interval: `{text}` is not a duration such as `1h` or `15m`"
                )),
            },
        }
    }

    /// Resolves a path from the file against the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        // `db = "postgres://…"` names a server, not a file beside the configuration.
        if p.is_absolute() || p.to_str().is_some_and(crate::store::db::pg::is_url) {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// The evaluation policy this configuration describes.
    pub fn policy(&self) -> Policy {
        Policy {
            severities: self
                .policy
                .severity
                .clone()
                .into_iter()
                .collect::<HashMap<_, _>>(),
            mover_grace_days: self.policy.mover_grace_days,
            departments: self.policy.departments.clone().into_iter().collect(),
            local_part_systems: self.link.local_part_systems.clone(),
        }
    }
}

/// Ten years: a longer grace period is a typo, and far larger ones overflow date arithmetic.
const MAX_GRACE_DAYS: i64 = 3650;

fn in_range<T: PartialOrd + std::fmt::Display>(
    key: &str,
    v: T,
    min: T,
    max: T,
) -> Result<(), String> {
    if v < min || v > max {
        return Err(format!("{key}: {v} is out of range ({min} to {max})"));
    }
    Ok(())
}

/// A TOML error as `line N: message`, without the source line that the default rendering quotes:
/// a misplaced token in the file must not be echoed to the terminal.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            format!("line {line}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("residual.toml");
        std::fs::write(&path, text).expect("write config");
        Config::load(&path)
    }

    #[test]
    fn a_huge_mover_grace_period_is_an_error_not_a_panic() {
        let e = load_str("[policy]\nmover_grace_days = 1000000000000000\n").unwrap_err();
        assert!(e.to_string().contains("policy.mover_grace_days"), "{e}");
    }

    #[test]
    fn a_negative_mover_grace_period_is_refused() {
        let e = load_str("[policy]\nmover_grace_days = -1\n").unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
    }

    #[test]
    fn a_severity_override_for_an_unknown_rule_names_the_known_ids() {
        let e = load_str("[policy.severity]\nleaver-acess-key = \"low\"\n").unwrap_err();
        let e = e.to_string();
        assert!(e.contains("unknown rule id `leaver-acess-key`"), "{e}");
        assert!(e.contains("leaver-active-access-key"), "{e}");
    }

    #[test]
    fn a_known_severity_override_loads() {
        load_str("[policy.severity]\norphan-account = \"medium\"\n").expect("loads");
    }

    #[test]
    fn the_account_drop_share_is_between_0_and_1() {
        let e = load_str("[policy]\nmax_account_drop = 50\n").unwrap_err();
        assert!(e.to_string().contains("policy.max_account_drop"), "{e}");
        load_str("[policy]\nmax_account_drop = 0.2\n").expect("a share loads");
    }

    #[test]
    fn max_exception_days_is_range_checked() {
        for bad in ["0", "3651", "-5"] {
            let e = load_str(&format!("[policy]\nmax_exception_days = {bad}\n")).unwrap_err();
            assert!(e.to_string().contains("policy.max_exception_days"), "{e}");
        }
        let c = load_str("[policy]\nmax_exception_days = 30\n").expect("loads");
        assert_eq!(c.policy.max_exception_days, 30);
    }

    #[test]
    fn a_bad_schedule_names_the_scanner_and_echoes_the_expression() {
        let e = load_str(
            "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n\
             schedule = \"0 2 * * 8\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("scanner `crm`: schedule `0 2 * * 8`"), "{e}");
        assert!(
            !e.contains("0 0 2"),
            "echoes a seconds field nobody wrote: {e}"
        );
    }

    #[test]
    fn zones_and_the_watch_interval_are_checked() {
        let e = load_str("[daemon]\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(e.to_string().contains("daemon.timezone"), "{e}");
        let e = load_str("[hr]\nsource = \"hr.csv\"\nwatch_interval = \"soon\"\n").unwrap_err();
        assert!(e.to_string().contains("hr.watch_interval"), "{e}");
        let c = load_str("[hr]\nsource = \"hr.csv\"\nwatch_interval = \"5m\"\n").expect("loads");
        assert_eq!(c.watch_interval().unwrap().as_secs(), 300);
    }

    #[test]
    fn verify_rates_must_be_positive() {
        let e = load_str("[verify]\nrequests_per_second = 0\n").unwrap_err();
        assert!(e.to_string().contains("verify.requests_per_second"), "{e}");
    }
}
