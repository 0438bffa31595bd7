//! What the integration tests of both crates share, so neither includes the other's test files.
//!
//! - [`moto`]: the real IAM API (moto on loopback), started once per test binary and shared by
//!   every test in it;
//! - [`moto_sso`]: moto's Identity Center and Organizations seeded through the AWS SDKs;
//! - [`fake_host`]: a fake GitHub or GitLab that serves what a test sets up and injects failures;
//! - [`fake_idp`]: a fake Microsoft Graph or Okta with paging, throttling and outages;
//! - [`fake_providers`]: fake GitHub, Slack and STS endpoints that `--verify` asks about tokens;
//! - [`recorded_iam`]: IAM answered from recorded AWS responses, with denials a test names;
//! - [`postgres`]: a real PostgreSQL server per test binary, a new empty database per test.
//!
//! A dev-dependency only (`publish = false`); it depends on `residual-scanners` for the IAM
//! client the tests seed moto with.

pub mod fake_host;
pub mod fake_idp;
pub mod fake_providers;
pub mod moto;
pub mod moto_sso;
pub mod postgres;
pub mod recorded_iam;
