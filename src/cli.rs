//! Command-line definitions (clap). Nothing below `main` sees these types: `main` turns them into
//! calls of the command modules.

use crate::hr::HrFormat;
use crate::severity::Severity;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Finds access that outlived the person: live credentials and grants of leavers and movers.
///
/// Import an HR snapshot (`hr import`), sweep systems (`scan`), then review and gate on the findings
/// (`findings`, `exceptions`, `audit`). Exit codes: 0 clean, 1 findings at or above --fail-on,
/// 2 usage or input error (nothing changed), 3 a scanner could not complete (or the command
/// failed after it recorded something), 4 the store stayed locked by another residual process
/// past --lock-timeout (nothing changed; run again).
#[derive(Debug, Parser)]
#[command(name = "residual", version, propagate_version = true)]
pub struct Cli {
    /// The store: a SQLite file, or a PostgreSQL URL (`postgres://user@host:5432/db`, password
    /// from the URL, PGPASSWORD or a password file; `?sslmode=disable|prefer|require|verify-full`).
    #[arg(long, global = true, env = "RESIDUAL_DB", value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// The TOML configuration (default: ./residual.toml when it exists).
    #[arg(long, global = true, env = "RESIDUAL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Act as if the clock read TIME (date or RFC 3339): for tests and replays (a day again,
    /// exception expiry). Events are dated with it, and the audit chain never goes back in time:
    /// a command that writes is refused (exit 2, nothing written) when TIME is before the chain's
    /// last event. The real clock is held to the same rule.
    #[arg(long, global = true, env = "RESIDUAL_NOW", value_name = "TIME")]
    pub now: Option<String>,
    /// Print nothing but results and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// How long to wait for another residual process that is writing the store before giving
    /// up with exit 4 (seconds).
    #[arg(
        long,
        global = true,
        env = "RESIDUAL_LOCK_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30
    )]
    pub lock_timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import HR snapshots and list people.
    #[command(subcommand)]
    Hr(HrCommand),
    /// Sweep systems: every configured scanner, the named ones, or one given on the command line.
    Scan(ScanArgs),
    /// Run the configured scanners on their cron schedules (crontab semantics, UTC unless
    /// `timezone` is set), one at a time, and sweep every configured system as soon as a new HR
    /// snapshot brings leavers or movers. One daemon per store; SIGTERM stops it after the run in
    /// progress, exit 0.
    Daemon(DaemonArgs),
    /// CI gate for one repository: scan its history (or only `--since REV`) with the working tree
    /// and index, its CODEOWNERS and workflow files, against the HR snapshot in the store or
    /// `--hr FILE`; exit 1 when a finding at or above --fail-on is not covered by an exception.
    /// Nothing is written to the store.
    Gate(GateCommand),
    /// List scan runs with their status (complete, partial, failed, started, interrupted) and coverage.
    Runs(FormatArgs),
    /// List findings.
    Findings(FindingsArgs),
    /// List leaver and mover cases: per HR event, whether every entitlement was proven gone in
    /// every system (verified), only exceptions remain (excepted), or not yet (open; overdue past
    /// the event + grace + `policy.collapse_sla_hours`).
    Cases(CasesArgs),
    /// One case in full: its systems (state and proving run) and its timeline.
    Case(CaseArgs),
    /// Add, list and revoke exceptions: documented, approved, expiring acceptances of a finding.
    #[command(subcommand)]
    Exceptions(ExceptionsCommand),
    /// Verify and read the audit chain: the hash-chained history of findings, HR snapshots and
    /// scan runs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write the access-review evidence pack for a period (HTML, CSVs, OCSF, ASFF, the audit log
    /// and a manifest of hashes), reading the store without writing; or `report verify DIR`.
    Report(ReportArgs),
    /// Check and list the residual-access rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Plan (default: changes nothing anywhere) or, with --apply, carry out the changes that
    /// remove the access of the selected open findings: per finding the action(s) in order, with
    /// the API call, the target, whether it can be undone and the command a person could run
    /// instead, or a task text for what only a person can do. --apply makes only the action kinds
    /// `[policy.remediate] allow` lists (none by default), records each outcome in the audit
    /// chain, then re-sweeps the touched systems: findings resolve only through that sweep.
    Remediate(RemediateArgs),
    /// Manage the store itself: `store upgrade` brings it to this residual's schema, `store
    /// migrate` copies a SQLite store into PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Bring the store (`--db`) to this residual's schema, as any command that writes does:
    /// an upgrade may rewrite large tables once (a million-account store: about half a
    /// minute), which reading commands never do. A store already current is left as it is.
    Upgrade,
    /// Copy a SQLite store, audit chain and key files included, into an empty PostgreSQL
    /// database; `residual audit verify` on the copy then prints the same head. A target that
    /// has any rows is refused (exit 2, nothing written).
    Migrate {
        /// The SQLite store to copy (read, never changed).
        #[arg(long, value_name = "PATH")]
        from: PathBuf,
        /// The PostgreSQL store to create: `postgres://user@host:5432/db`.
        #[arg(long, value_name = "URL")]
        to: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RemediateArgs {
    /// Only this finding (repeatable; `residual findings` shows ids).
    #[arg(long = "finding", value_name = "ID")]
    pub findings: Vec<String>,
    /// Only the findings of this person (repeatable).
    #[arg(long = "employee", value_name = "ID")]
    pub employees: Vec<String>,
    /// Only the findings of this leaver or mover case (`CASE-N`, as `residual cases` shows).
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    /// Only the findings of this rule id.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only the findings of this system: `kind:name`, the kind alone, or the name alone.
    #[arg(long)]
    pub system: Option<String>,
    /// `table` (default on a terminal), `json`, or `script` (a commented shell script of the
    /// commands, for a person to review and run; never holds a secret).
    #[arg(long, value_enum)]
    pub format: Option<RemediateFormat>,
    /// Carry the plan out (the allowed actions), record each outcome, then re-sweep.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: do not ask (required when not run at a terminal).
    #[arg(long, requires = "apply")]
    pub yes: bool,
    /// Also apply actions that delete (an access key); without it they are planned only.
    #[arg(long)]
    pub allow_delete: bool,
    /// Refuse --apply, changing nothing, when the plan holds more actions than this.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_actions: usize,
    /// Who is recorded as having applied the actions (default: the OS user, $USER).
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemediateFormat {
    Table,
    Json,
    Script,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Stop after this many scheduled runs (default: run until stopped).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: Option<u64>,
    /// Print the next firings of every scheduled scanner (from --now or the clock) and exit.
    #[arg(long, conflicts_with_all = ["once", "runs"])]
    pub plan: bool,
    /// With --plan: firings per scanner.
    #[arg(long, value_name = "N", default_value_t = 5, requires = "plan",
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub count: u64,
    /// With --plan: table or json (a list of {scanner, at}).
    #[arg(long, value_enum, requires = "plan")]
    pub format: Option<PlanFormat>,
    /// One watch-and-sweep cycle, then exit: import the HR source if it changed and, when it
    /// brings new leavers or movers, sweep every configured scanner now.
    #[arg(long, conflicts_with = "runs")]
    pub once: bool,
    /// The daemon's own log lines on stderr: text (RFC 3339 timestamp first) or json.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text)]
    pub log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum HrCommand {
    /// Import one HR snapshot (CSV, JSON array, or SCIM 2.0 ListResponse) and derive leaver and
    /// mover events by comparing it with the previous one. Bad input changes nothing.
    Import {
        /// The HR snapshot file (CSV, JSON or SCIM).
        file: PathBuf,
        /// Format; default: recognised from the extension and the content.
        #[arg(long, value_enum)]
        format: Option<HrFormat>,
        /// The time the snapshot describes (date or RFC 3339); default now.
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// Import even when the snapshot makes more people leavers than `hr.max_departures`
        /// (default: a tenth of the people employed, at least 5). Without it such a snapshot is
        /// refused with exit 2, since a truncated or failed export looks the same.
        #[arg(long)]
        allow_mass_departure: bool,
    },
    /// List people with their current status.
    People {
        /// Only people with this status (default: everyone).
        #[arg(long, value_enum)]
        status: Option<PeopleStatus>,
        /// Output format (default: a table on a terminal, JSON otherwise).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// List imported snapshots.
    Snapshots(FormatArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeopleStatus {
    Active,
    Leaver,
    Mover,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub scanner: Option<ScanCommand>,
    /// Configured scanners to run (default: all in the configuration, after importing the
    /// configured HR source when it changed).
    pub names: Vec<String>,
    /// Sweep for this person only (employee id; repeat for several): aws-iam scanners look at
    /// their IAM users alone (a targeted run: it resolves only their credentials' findings and
    /// proves no case), the other scanners sweep in full.
    #[arg(long = "employee", value_name = "ID")]
    pub employees: Vec<String>,
    #[command(flatten)]
    pub jobs: JobArgs,
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Sweeps as jobs: which sweep units of the configured scanners to sweep (one AWS account, one
/// GitHub org, one GitLab group, one repository, one export is a unit: one scan run), and the
/// leases that keep two workers off one unit.
#[derive(Debug, Args, Clone, Default)]
pub struct JobArgs {
    /// Sweep only this unit (repeatable; `--list-units` shows the ids, e.g.
    /// `aws-iam:123456789012`, `git:payments`, `github:acme`). The HR source is not imported.
    #[arg(long = "unit", value_name = "ID", conflicts_with_all = ["shard", "employees"])]
    pub units: Vec<String>,
    /// Sweep share K (0-based) of N of the configured units: a unit's share is fixed by a hash
    /// of its id, so N workers given K = 0..N-1 split the units without coordination (an
    /// indexed Job: `--shard $JOB_COMPLETION_INDEX/N`). The HR source is not imported: run
    /// `residual hr import` before the workers.
    #[arg(long, value_name = "K/N", conflicts_with = "employees")]
    pub shard: Option<String>,
    /// Print the sweep units of the configured scanners (with their share under --shard K/N,
    /// and who holds a lease on them) instead of sweeping.
    #[arg(long, alias = "units")]
    pub list_units: bool,
    /// How long a unit's lease lives without renewal (seconds; renewed every third of it while
    /// the sweep runs): how long a unit stays blocked after its worker died on another host.
    #[arg(
        long,
        env = "RESIDUAL_LEASE_TTL",
        value_name = "SECONDS",
        default_value_t = 300
    )]
    pub lease_ttl: u64,
}

/// What every scan prints and gates on.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ScanOptions {
    /// How to print the open findings of the scanned systems on stdout.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Read a user export (CSV or JSONL) of a system without an API scanner.
    Inventory {
        /// The system name findings are filed under (`inventory:NAME`).
        #[arg(long)]
        system: String,
        /// The inventory export file (CSV or JSON).
        file: PathBuf,
        /// The export is known to cover only part of the system (one OU, a failed paged export):
        /// record what it shows but resolve nothing, and exit 3.
        #[arg(long)]
        partial: bool,
        /// An export with no accounts is real (the system was emptied). Without it such an
        /// export is a partial run that resolves nothing (exit 3): a failed export job often
        /// leaves a header-only file behind.
        #[arg(long)]
        allow_empty: bool,
        /// A drop of more than `policy.max_account_drop` (default 50%) of the accounts the last
        /// complete run saw is real. Without it such an export is a partial run (exit 3).
        #[arg(long)]
        allow_drop: bool,
        #[command(flatten)]
        options: ScanOptions,
    },
    /// Scan git repositories: every blob of every ref's history once (later runs read only new
    /// objects), secrets tied to the commits and authors that introduced them.
    Git {
        /// Repositories (working trees, .git directories or bare repositories).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Name the system `git:NAME` instead of the directory name (one path only).
        #[arg(long)]
        name: Option<String>,
        /// Read the whole history again (needed to resolve secrets that left history).
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        verify: VerifyArgs,
        #[command(flatten)]
        options: ScanOptions,
    },
    /// Sweep AWS IAM: users, access keys, console passwords, SSH keys, service-specific
    /// credentials, signing certificates, MFA, groups, policies and role trust, with the
    /// credential report and GetAccountAuthorizationDetails (calls grow with pages, not users).
    #[command(alias = "aws-iam")]
    Aws {
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        options: ScanOptions,
    },
    /// Sweep IAM Identity Center (AWS SSO): users, groups, memberships, permission sets and the
    /// account assignments each user reaches (directly or through a group) in every account of
    /// the organisation.
    AwsSso {
        #[command(flatten)]
        sso: AwsSsoArgs,
        #[command(flatten)]
        options: ScanOptions,
    },
    /// Sweep a GitHub organisation: members, outside collaborators, invitations, teams,
    /// collaborators, deploy keys, PAT grants, App installations, Actions/Dependabot/Codespaces
    /// secrets, Actions variables (values run through the secret patterns, never kept) and
    /// CODEOWNERS. Auth: `GITHUB_TOKEN`, or a GitHub App (`--app-id` and `--app-key`).
    Github {
        #[command(flatten)]
        github: GithubArgs,
        #[command(flatten)]
        options: ScanOptions,
    },
    /// Sweep a GitLab group and its subgroups: members with access levels and CI/CD variables of
    /// the groups and their projects (values run through the secret patterns, never kept).
    /// Auth: `GITLAB_TOKEN`.
    Gitlab {
        #[command(flatten)]
        gitlab: GitlabArgs,
        #[command(flatten)]
        options: ScanOptions,
    },
}

/// Where `scan aws` reads IAM from. Credentials come from the AWS default provider chain.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsArgs {
    /// A named profile of the AWS config files.
    #[arg(long)]
    pub profile: Option<String>,
    /// Send IAM and STS calls to this endpoint (a proxy, a test server).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Region for IAM calls.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Assume this role to enter an account; repeat for several accounts (one run each).
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arns: Vec<String>,
    /// External id required by the roles' trust policies.
    #[arg(long)]
    pub external_id: Option<String>,
}

/// Where `scan aws-sso` reads Identity Center from. Credentials come from the AWS default
/// provider chain.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsSsoArgs {
    /// A named profile of the AWS config files.
    #[arg(long)]
    pub profile: Option<String>,
    /// Send every AWS call (SSO admin, identity store, Organizations, STS) to this endpoint (a
    /// proxy, a test server).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The region of the Identity Center instance.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Assume this role first (in the management or delegated-administrator account).
    #[arg(long = "role-arn", value_name = "ARN")]
    pub role_arn: Option<String>,
    /// External id required by the role's trust policy.
    #[arg(long)]
    pub external_id: Option<String>,
    /// The Identity Center instance (default: the only one the credentials see).
    #[arg(long, value_name = "ARN")]
    pub instance_arn: Option<String>,
    /// Do not read permission set tags (owner hints); owner findings then never resolve.
    #[arg(long)]
    pub no_permission_set_tags: bool,
}

/// Where `scan github` reads the organisation from. The token comes from `GITHUB_TOKEN`, or a
/// GitHub App authenticates with its id and private key file.
#[derive(Debug, Args, Clone, Default)]
pub struct GithubArgs {
    /// The organisation login.
    #[arg(long)]
    pub org: String,
    /// REST API URL: `https://HOST/api/v3` for GitHub Enterprise Server, or a test server.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Authenticate as this GitHub App (with `--app-key`) instead of `GITHUB_TOKEN`.
    #[arg(long, value_name = "ID", requires = "app_key")]
    pub app_id: Option<u64>,
    /// The GitHub App's private key (PEM file).
    #[arg(long, value_name = "FILE", requires = "app_id")]
    pub app_key: Option<PathBuf>,
    /// The App's installation on the org (default: looked up).
    #[arg(long, value_name = "ID", requires = "app_id")]
    pub installation_id: Option<u64>,
    /// Retries of a failed or throttled request before that part of the sweep is given up (the
    /// run is then partial).
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
}

/// Where `scan gitlab` reads the group from. The token comes from `GITLAB_TOKEN`.
#[derive(Debug, Args, Clone, Default)]
pub struct GitlabArgs {
    /// The top-level group: full path or numeric id.
    #[arg(long)]
    pub group: String,
    /// API URL: `https://HOST/api/v4` for a self-managed instance, or a test server.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// Also read instance-level variables (`/admin/ci/variables`, administrator token).
    #[arg(long)]
    pub instance_variables: bool,
    /// Retries of a failed or throttled request before that part of the sweep is given up (the
    /// run is then partial).
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
}

/// Opt-in verification of found secrets. Endpoints and pace also come from the `[verify]`
/// section of the configuration; these flags win.
#[derive(Debug, Args, Clone, Default)]
pub struct VerifyArgs {
    /// Check each secret found that can be checked (AWS key pairs, GitHub and Slack tokens)
    /// with one read-only call to its provider (sts:GetCallerIdentity, GET /user, auth.test),
    /// rate-limited. Live credentials are critical, revoked ones are not findings, and the owner
    /// the provider names (IAM user, GitHub login) is linked to its person. Values are never
    /// stored, so this reads the whole history (like --full). Without it no call is made.
    #[arg(long)]
    pub verify: bool,
    /// STS endpoint for --verify (default: AWS's own, us-east-1).
    #[arg(long, value_name = "URL", env = "RESIDUAL_VERIFY_AWS_ENDPOINT")]
    pub verify_aws_endpoint: Option<String>,
    /// GitHub API URL for --verify (default https://api.github.com).
    #[arg(long, value_name = "URL", env = "RESIDUAL_VERIFY_GITHUB_API")]
    pub verify_github_api: Option<String>,
    /// Slack API URL for --verify (default https://slack.com/api).
    #[arg(long, value_name = "URL", env = "RESIDUAL_VERIFY_SLACK_API")]
    pub verify_slack_api: Option<String>,
    /// Requests per second per provider for --verify (default 2).
    #[arg(long, value_name = "N")]
    pub verify_rate: Option<f64>,
    /// Distinct secrets checked per run at most (default 500).
    #[arg(long, value_name = "N")]
    pub verify_max: Option<usize>,
}

#[derive(Debug, Args, Clone, Copy, Default)]
pub struct GateArgs {
    /// Exit 1 when an open finding of the scanned systems is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Which findings by state.
    #[arg(long, value_enum, default_value = "open")]
    pub state: StateFilter,
    /// Only findings of this system: `kind:name` (`inventory:crm`) or the kind alone (`inventory`).
    #[arg(long)]
    pub system: Option<String>,
    /// Only findings of this rule id (`residual rules list` shows them).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only findings of this person.
    #[arg(long, value_name = "ID")]
    pub employee: Option<String>,
    /// Output format (default: a table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Debug, Args)]
pub struct CasesArgs {
    /// Which cases: `overdue` are open cases past their deadline.
    #[arg(long, value_enum, default_value = "all")]
    pub state: CaseFilter,
    /// Only the cases of this person.
    #[arg(long, value_name = "ID")]
    pub employee: Option<String>,
    /// Output format (default: a table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Exit 1 when any case is overdue (for a nightly job's alerting).
    #[arg(long)]
    pub fail_on_overdue: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaseFilter {
    Open,
    Overdue,
    Verified,
    Excepted,
    All,
}

#[derive(Debug, Args)]
pub struct CaseArgs {
    /// A case id (`CASE-12`) or an employee id (their latest case).
    pub id: String,
    /// `table` (default on a terminal) or `json`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    Open,
    Resolved,
    Excepted,
    All,
}

#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// Accept one finding until a date, with a reason and an approver.
    Add {
        /// The finding id the exception covers (`residual findings` shows ids).
        #[arg(long)]
        finding: String,
        /// Why the finding is accepted (recorded in the finding's chain).
        #[arg(long)]
        reason: String,
        /// Date or RFC 3339 time after which the finding is open again.
        #[arg(long)]
        expires: String,
        /// Who approved the exception (recorded in the finding's chain).
        #[arg(long)]
        approver: String,
    },
    /// List exceptions (including those from the configured exceptions file) with their status:
    /// live, expired or revoked. Entries of the file naming no known finding are reported on
    /// stderr with file:line. Writes nothing.
    List(FormatArgs),
    /// Revoke one exception (made with `add` or by the exceptions file), with a reason. Its
    /// finding's chain records `exception_revoked` with the reason, who and when, and the finding
    /// is open again unless another exception covers it. An unknown id is exit 2.
    Revoke {
        /// The exception id (see `residual exceptions list`).
        id: String,
        /// Why the exception is revoked (recorded in the finding's chain).
        #[arg(long)]
        reason: String,
        /// Who revokes it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain and what it covers: every event (sequence, links, each hash, the
    /// keyed ones with the chain key), its seal and append-only triggers, and findings,
    /// exceptions, HR snapshots and scan runs against it. When all is intact it prints the head
    /// (`head SEQ:HASH`): keep it elsewhere (a CI log, a ticket) and pass it to a later
    /// `--expect-head`. Exit 0 intact; 1 when anything does not fit (every problem is listed),
    /// when --expect-head no longer fits, or when the keyed hashes cannot be checked because the
    /// chain key (`<db>.chain-key`, or RESIDUAL_CHAIN_KEY_FILE) is not available; 2 usage error.
    Verify {
        /// A head printed by an earlier `audit verify`: exit 1 when the chain no longer holds
        /// that event with that hash (it was truncated or rewritten since it was recorded).
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
    },
    /// Print the audit chain (JSON and JSONL carry each event's prev_hash, hash and scheme).
    Log {
        /// Only the events of this finding id.
        #[arg(long)]
        finding: Option<String>,
        /// Output format (default: a table on a terminal, JSON otherwise).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run every rule's examples through the evaluator; exit 1 on any failure.
    Check {
        /// A rules directory to check instead of the built-in rules.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// List the rules with severity and framework mapping.
    List(FormatArgs),
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format (default: a table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct GateCommand {
    /// The repository (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Read only commits not reachable from REV (the base of a pull request or push).
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// Fail at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: Severity,
    /// Output format: `text` for people, `json`, or `sarif` for code scanning.
    #[arg(long, value_enum, default_value = "text")]
    pub format: GateFormat,
    /// An HR snapshot to use instead of the store's (imported into a throwaway store).
    #[arg(long, value_name = "FILE")]
    pub hr: Option<PathBuf>,
    /// Write the report here instead of stdout (e.g. results.sarif).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    /// The directory to write the pack into (created; must be empty unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The period's start (date or RFC 3339): cases whose HR event is at or after it, findings
    /// alive at some time in the period, events at or after it.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The period's end (date or RFC 3339; a bare date includes that whole day).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Only the cases and findings of these people (repeatable).
    #[arg(long, value_name = "ID")]
    pub employee: Vec<String>,
    /// Write into a directory that is not empty, replacing the pack's files.
    #[arg(long)]
    pub force: bool,
    /// How many cases the HTML page lists in full (the CSVs always hold every row).
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub html_cases: usize,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Re-hash every file of a pack against its manifest and check its audit head is still in
    /// the store's chain: exit 0 intact, 1 changed.
    Verify {
        /// The pack's directory.
        dir: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument of `cmd` and its subcommands that has no help text, as `path --flag`.
    fn without_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                let name = arg
                    .get_long()
                    .map(|l| format!("--{l}"))
                    .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
                out.push(format!("{path} {name}"));
            }
        }
        for sub in cmd.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_and_positional_argument_has_help_text() {
        let mut missing = Vec::new();
        without_help(&Cli::command(), "residual", &mut missing);
        assert!(
            missing.is_empty(),
            "arguments without help:\n{}",
            missing.join("\n")
        );
    }
}
