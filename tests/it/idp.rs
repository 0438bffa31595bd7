//! `residual scan NAME` for the identity providers, through the binary and a real store, against
//! the fake Microsoft Graph and the fake Okta of `test-support/src/fake_idp.rs` (payloads from
//! the providers' published examples):
//!
//! - Entra: a leaver enabled, signing in after the departure, with sessions never revoked, an
//!   app role assignment and an owned application with a valid secret → the findings; a throttled
//!   listing is waited out; disabling the account resolves `leaver-idp-account-enabled`; a 500
//!   in the middle of a listing makes the run partial (exit 3) and resolves nothing of that
//!   listing's unit while the units it covered still resolve. The client secret appears in no
//!   output and not in the store.
//! - Okta: an ACTIVE leaver with a login after the termination, an app assignment, an admin role
//!   and an API token they own → the findings; suspending resolves; a 500 mid-listing is partial.
//! - Credentials: an Entra certificate (`AZURE_CLIENT_CERTIFICATE_PATH`) and an Okta service app's
//!   private key JWT, each verified by the fake's token endpoint (a wrong key is refused, and the
//!   run fails naming why); a token that expires or is revoked mid-sweep is renewed and the sweep
//!   completes. Keys are made at test time by `openssl`.
//! - Admin roles: an Entra directory role of a leaver raises `leaver-idp-app-access` and
//!   `leaver-admin-role`; an Okta admin role granted through a group reaches its members.

use crate::harness::{Run, Sandbox};
use residual_test_support::fake_idp::{entra as g, keys, okta as o, FakeIdp, Fault, Provider};
use serde_json::{json, Value};

const HR: &str = "employee_id,email,status,termination_date,department\n\
E1,ann@example.com,terminated,2026-03-01,Finance\n\
E2,ben@example.com,active,,Finance\n\
E3,cat@example.com,active,,Sales\n\
E4,dan@example.com,active,,Sales\n";

fn run(sb: &Sandbox, code: i32, args: &[&str]) -> Run {
    tokio::task::block_in_place(|| sb.expect(code, args))
}

/// (rule, subject) of the open findings of `system`, sorted.
fn open(sb: &Sandbox, system: &str) -> Vec<(String, String)> {
    let findings = tokio::task::block_in_place(|| sb.findings("open"));
    let mut v: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f["system"] == system)
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn pair(rule: &str, subject: &str) -> (String, String) {
    (rule.to_string(), subject.to_string())
}

/// ann (leaver, E1), ben, cat and dan: lists of more than two, so that pages of two make more.
fn load_tenant(fake: &FakeIdp) {
    fake.set_list(
        "/v1.0/users",
        vec![
            g::user(
                "u-ann",
                "ann@contoso.com",
                Some("ann@example.com"),
                true,
                Some("E1"),
                "2025-11-02T08:00:00Z",
                Some("2026-03-05T10:00:00Z"),
            ),
            g::user(
                "u-ben",
                "ben@contoso.com",
                Some("ben@example.com"),
                true,
                Some("E2"),
                "2025-11-02T08:00:00Z",
                Some("2026-05-30T10:00:00Z"),
            ),
            g::user(
                "u-cat",
                "cat@contoso.com",
                None,
                true,
                Some("E3"),
                "2025-11-02T08:00:00Z",
                None,
            ),
            g::user(
                "u-dan",
                "dan@contoso.com",
                Some("dan@example.com"),
                true,
                None,
                "2025-11-02T08:00:00Z",
                None,
            ),
        ],
    );
    fake.set_list("/v1.0/groups", vec![g::named("g-fin", "Finance")]);
    fake.set_list(
        "/v1.0/groups/g-fin/transitiveMembers/microsoft.graph.user",
        vec![
            g::user_ref("u-ann", "ann@contoso.com"),
            g::user_ref("u-ben", "ben@contoso.com"),
        ],
    );
    fake.set_list(
        "/v1.0/directoryRoles",
        vec![g::named("r-ga", "Global Administrator")],
    );
    fake.set_list(
        "/v1.0/directoryRoles/r-ga/members",
        vec![g::user_ref("u-ben", "ben@contoso.com")],
    );
    fake.set_list(
        "/v1.0/applications",
        vec![
            g::app(
                "a-pay",
                "11111111-1111-1111-1111-111111111111",
                "Payroll sync",
                vec![g::user_ref("u-ann", "ann@contoso.com")],
                vec![g::secret(
                    "k-pay",
                    "Xy7",
                    "2025-12-01T00:00:00Z",
                    "2099-01-01T00:00:00Z",
                )],
            ),
            g::app(
                "a-old",
                "22222222-2222-2222-2222-222222222222",
                "Old report",
                vec![g::user_ref("u-ann", "ann@contoso.com")],
                vec![g::secret(
                    "k-old",
                    "Ab1",
                    "2024-01-01T00:00:00Z",
                    "2025-01-01T00:00:00Z",
                )],
            ),
        ],
    );
    fake.set_list(
        "/v1.0/servicePrincipals",
        vec![g::app(
            "sp-sf",
            "33333333-3333-3333-3333-333333333333",
            "Salesforce",
            vec![],
            vec![],
        )],
    );
    fake.set_list(
        "/v1.0/servicePrincipals/sp-sf/appRoleAssignedTo",
        vec![
            g::assignment("as-ben", "u-ben", "sp-sf", "Salesforce"),
            g::assignment("as-cat", "u-cat", "sp-sf", "Salesforce"),
            g::assignment("as-dan", "u-dan", "sp-sf", "Salesforce"),
            g::assignment("as-ann", "u-ann", "sp-sf", "Salesforce"),
        ],
    );
}

fn entra_config(sb: &Sandbox, fake: &FakeIdp) -> String {
    let text = format!(
        "[[scanner]]\nname = \"entra-prod\"\nkind = \"entra\"\ntenant_id = \"tenant-1\"\n\
         graph_url = \"{url}\"\nlogin_url = \"{url}\"\nmax_retries = 1\n",
        url = fake.url
    );
    sb.write("residual.toml", &text)
        .to_string_lossy()
        .into_owned()
}

fn set_enabled(fake: &FakeIdp, id: &str, enabled: bool) {
    fake.update_list("/v1.0/users", |users| {
        for u in users.iter_mut().filter(|u| u["id"] == id) {
            u["accountEnabled"] = json!(enabled);
        }
    });
}

const ENTRA: &str = "entra:tenant-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_sweep_finds_a_leavers_account_sessions_app_access_and_owned_app() {
    // Assembled at run time so that no scanner flags this file.
    let secret = ["fake-client-", "secret-", "Q7vT2mL9"].concat();
    let fake = FakeIdp::start(Provider::Graph, &secret, 2).await;
    load_tenant(&fake);
    // The first group listing is throttled: waited out, not a gap.
    fake.fault(
        "/v1.0/groups",
        Fault::Throttle { wait_secs: 1 },
        false,
        Some(1),
    );

    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.extend([
        ("AZURE_TENANT_ID".into(), "tenant-from-env".into()),
        ("AZURE_CLIENT_ID".into(), "client-1".into()),
        ("AZURE_CLIENT_SECRET".into(), secret.clone()),
    ]);
    let config = entra_config(&sb, &fake);
    let scan = |sb: &Sandbox, code: i32| {
        run(
            sb,
            code,
            &[
                "--config",
                &config,
                "scan",
                "entra-prod",
                "--format",
                "json",
            ],
        )
    };

    let first = scan(&sb, 0);
    let got = open(&sb, ENTRA);
    for want in [
        pair("leaver-idp-account-enabled", "ann@contoso.com"),
        pair("credential-used-after-departure", "ann@contoso.com/login"),
        pair(
            "leaver-idp-sessions-not-revoked",
            "ann@contoso.com/sessions",
        ),
        pair(
            "leaver-idp-app-access",
            "ann@contoso.com/app-assignment/Salesforce",
        ),
        pair(
            "leaver-owned-nhi",
            "application/11111111-1111-1111-1111-111111111111",
        ),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:#?}");
    }
    assert_eq!(got.len(), 5, "only ann's access is residual: {got:#?}");
    let evidence: Vec<Value> = first.json().as_array().cloned().unwrap_or_default();
    let nhi = evidence
        .iter()
        .find(|f| f["rule"] == "leaver-owned-nhi")
        .expect("the owned app's finding is in the output");
    assert_eq!(nhi["employee_id"], "E1", "{nhi:#}");
    let log = fake.log();
    assert!(
        log.iter()
            .any(|l| l.path_and_query.starts_with("/v1.0/users?")
                && l.path_and_query.contains("$skiptoken=")),
        "the user listing was read past its first page"
    );
    assert!(
        log.iter()
            .filter(|l| l.path_and_query.starts_with("/v1.0/groups?"))
            .count()
            >= 2,
        "the throttled listing was asked again"
    );
    assert!(
        log.iter()
            .any(|l| l.path_and_query.starts_with("/tenant-1/oauth2/v2.0/token")),
        "the entry's tenant wins over AZURE_TENANT_ID"
    );

    // ann is disabled: the account finding resolves; the sessions she signed in with after
    // leaving were never revoked, so that finding stays.
    set_enabled(&fake, "u-ann", false);
    scan(&sb, 0);
    let got = open(&sb, ENTRA);
    assert!(
        !got.contains(&pair("leaver-idp-account-enabled", "ann@contoso.com")),
        "{got:#?}"
    );
    assert!(got.contains(&pair(
        "leaver-idp-sessions-not-revoked",
        "ann@contoso.com/sessions"
    )));

    // ann's assignment and her app's secret are removed, but the assignment listing fails on
    // its second page: partial (exit 3); the assignment stays open (not covered), the owned app
    // resolves (the application listing was read whole).
    fake.update_list("/v1.0/servicePrincipals/sp-sf/appRoleAssignedTo", |l| {
        l.retain(|a| a["id"] != "as-ann")
    });
    fake.update_list("/v1.0/applications", |l| {
        for a in l.iter_mut() {
            a["passwordCredentials"] = json!([]);
        }
    });
    fake.fault(
        "/v1.0/servicePrincipals/sp-sf/appRoleAssignedTo",
        Fault::Status(500),
        true,
        None,
    );
    let partial = scan(&sb, 3);
    let got = open(&sb, ENTRA);
    assert!(
        got.contains(&pair(
            "leaver-idp-app-access",
            "ann@contoso.com/app-assignment/Salesforce"
        )),
        "a listing cut short resolves nothing of its unit: {got:#?}"
    );
    assert!(
        !got.iter().any(|(r, _)| r == "leaver-owned-nhi"),
        "a listing read whole still resolves: {got:#?}"
    );

    let outputs = format!(
        "{}{}{}{}",
        first.stdout, first.stderr, partial.stdout, partial.stderr
    );
    sb.assert_not_leaked(&outputs, &[&secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_sweep_without_a_client_secret_fails_and_says_which_variable() {
    let fake = FakeIdp::start(Provider::Graph, "unused", 2).await;
    let sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    let config = entra_config(&sb, &fake);
    let r = run(&sb, 3, &["--config", &config, "scan", "entra-prod"]);
    assert!(r.stderr.contains("AZURE_"), "{}", r.stderr);
    assert!(
        fake.log().is_empty(),
        "nothing was asked without credentials"
    );
}

fn load_org(fake: &FakeIdp) {
    fake.set_list(
        "/api/v1/users",
        vec![
            o::user(
                "00u-ann",
                "ann@example.com",
                "ACTIVE",
                Some("2026-03-04T09:00:00.000Z"),
                Some("E1"),
            ),
            o::user(
                "00u-ben",
                "ben@example.com",
                "ACTIVE",
                Some("2026-05-30T09:00:00.000Z"),
                None,
            ),
            o::user("00u-cat", "cat@example.com", "ACTIVE", None, None),
            o::user("00u-dan", "dan@example.com", "ACTIVE", None, None),
        ],
    );
    fake.set_list("/api/v1/groups", vec![o::group("00g-fin", "Finance")]);
    fake.set_list("/api/v1/groups/00g-fin/roles", vec![]);
    fake.set_list(
        "/api/v1/groups/00g-fin/users",
        vec![o::user(
            "00u-ann",
            "ann@example.com",
            "ACTIVE",
            None,
            Some("E1"),
        )],
    );
    fake.set_list("/api/v1/apps", vec![o::app("0oa-box", "Box")]);
    fake.set_list(
        "/api/v1/apps/0oa-box/users",
        vec![
            o::app_user("00u-ben"),
            o::app_user("00u-cat"),
            o::app_user("00u-dan"),
            o::app_user("00u-ann"),
        ],
    );
    // Three assignees: the wrapped list is read past its first page.
    fake.set_list(
        "/api/v1/iam/assignees/users",
        vec![
            o::assignee("00u-ben"),
            o::assignee("00u-cat"),
            o::assignee("00u-ann"),
        ],
    );
    fake.set_list("/api/v1/users/00u-ben/roles", vec![]);
    fake.set_list("/api/v1/users/00u-cat/roles", vec![]);
    fake.set_list(
        "/api/v1/users/00u-ann/roles",
        vec![o::role("ra-1", "SUPER_ADMIN", "Super Administrator")],
    );
    fake.set_list(
        "/api/v1/api-tokens",
        vec![o::api_token(
            "00T-ann",
            "Nightly export",
            "00u-ann",
            "2025-10-01T00:00:00.000Z",
            "2099-01-01T00:00:00.000Z",
        )],
    );
}

const OKTA_TOKEN_PARTS: [&str; 3] = ["00fake", "OktaApiToken", "Zq81"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_sweep_finds_an_active_leaver_their_login_apps_role_and_api_token() {
    let token = OKTA_TOKEN_PARTS.concat();
    let fake = FakeIdp::start(Provider::Okta, &token, 2).await;
    load_org(&fake);
    fake.fault(
        "/api/v1/apps",
        Fault::Throttle { wait_secs: 1 },
        false,
        Some(1),
    );

    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.push(("OKTA_API_TOKEN".into(), token.clone()));
    let config = sb
        .write(
            "residual.toml",
            &format!(
                "[[scanner]]\nname = \"okta-prod\"\nkind = \"okta\"\napi_url = \"{}\"\nmax_retries = 1\n",
                fake.url
            ),
        )
        .to_string_lossy()
        .into_owned();
    let system = format!("okta:{}", fake.url.trim_start_matches("http://"));
    let scan = |sb: &Sandbox, code: i32| {
        run(
            sb,
            code,
            &["--config", &config, "scan", "okta-prod", "--format", "json"],
        )
    };

    let first = scan(&sb, 0);
    let got = open(&sb, &system);
    for want in [
        pair("leaver-idp-account-enabled", "ann@example.com"),
        pair("credential-used-after-departure", "ann@example.com/login"),
        pair(
            "leaver-idp-app-access",
            "ann@example.com/app-assignment/Box",
        ),
        pair(
            "leaver-admin-role",
            "ann@example.com/admin-role/SUPER_ADMIN",
        ),
        pair("leaver-owned-nhi", "api-token/00T-ann"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:#?}");
    }
    assert_eq!(got.len(), 5, "only ann's access is residual: {got:#?}");
    assert!(
        fake.log()
            .iter()
            .all(|l| l.authorization.as_deref() == Some(format!("SSWS {token}").as_str())),
        "every request carries the API token as SSWS"
    );
    let paged = |prefix: &str| {
        fake.log()
            .iter()
            .any(|l| l.path_and_query.starts_with(prefix) && l.path_and_query.contains("after="))
    };
    assert!(
        paged("/api/v1/users?"),
        "the user list was read past its first page"
    );
    assert!(
        paged("/api/v1/iam/assignees/users?"),
        "the wrapped role assignee list was read past its first page"
    );

    // ann is suspended: the account finding resolves.
    fake.update_list("/api/v1/users", |users| {
        for u in users.iter_mut().filter(|u| u["id"] == "00u-ann") {
            u["status"] = json!("SUSPENDED");
        }
    });
    // ann's app assignment is removed, but the app's user list fails on its second page.
    fake.update_list("/api/v1/apps/0oa-box/users", |l| {
        l.retain(|a| a["id"] != "00u-ann")
    });
    fake.fault("/api/v1/apps/0oa-box/users", Fault::Status(500), true, None);
    let partial = scan(&sb, 3);
    let got = open(&sb, &system);
    assert!(
        !got.contains(&pair("leaver-idp-account-enabled", "ann@example.com")),
        "{got:#?}"
    );
    assert!(
        got.contains(&pair(
            "leaver-idp-app-access",
            "ann@example.com/app-assignment/Box"
        )),
        "a listing cut short resolves nothing of its unit: {got:#?}"
    );

    let outputs = format!(
        "{}{}{}{}",
        first.stdout, first.stderr, partial.stdout, partial.stderr
    );
    sb.assert_not_leaked(&outputs, &[&token]);
}

/// How the latest run missed unit `name` (`None`: covered), as `residual runs` shows it.
fn missed(sb: &Sandbox, name: &str) -> Option<Value> {
    let runs = tokio::task::block_in_place(|| sb.ok(&["runs", "--format", "json"])).json();
    let latest = &runs[0];
    let miss = latest["missed"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["unit"] == name).cloned());
    let covered = latest["covered"]
        .as_array()
        .is_some_and(|c| c.iter().any(|u| u == name));
    assert!(
        miss.is_some() != covered,
        "unit {name} is neither covered nor missed, or both: {latest:#}"
    );
    miss
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_activity_that_is_denied_or_switched_off_resolves_no_login_finding() {
    let secret = ["fake-client-", "secret-", "P3kW"].concat();
    let fake = FakeIdp::start(Provider::Graph, &secret, 2).await;
    load_tenant(&fake);
    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.extend([
        ("AZURE_CLIENT_ID".into(), "client-1".into()),
        ("AZURE_CLIENT_SECRET".into(), secret.clone()),
    ]);
    let config = entra_config(&sb, &fake);
    let scan = |sb: &Sandbox, config: &str, code: i32| {
        run(sb, code, &["--config", config, "scan", "entra-prod"])
    };
    scan(&sb, &config, 0);
    let login = pair("credential-used-after-departure", "ann@contoso.com/login");
    assert!(open(&sb, ENTRA).contains(&login));

    // No licence or no AuditLog.Read.All: that listing is denied. The run is partial for that
    // unit alone, says which permission to grant, and the login finding stays open.
    fake.fault(
        "/v1.0/users?$select=id,userPrincipalName,signInActivity",
        Fault::Status(403),
        false,
        None,
    );
    scan(&sb, &config, 3);
    assert!(open(&sb, ENTRA).contains(&login));
    let denied = missed(&sb, "users:last-used").expect("users:last-used is missed");
    assert_eq!(denied["class"], "access-denied", "{denied:#}");
    assert_eq!(denied["action"], "AuditLog.Read.All", "{denied:#}");
    assert!(
        missed(&sb, "users").is_none(),
        "the users are still covered"
    );

    // Switched off in the configuration: a complete run, the unit not covered, nothing resolved.
    let off = sb
        .write(
            "off.toml",
            &format!(
                "[[scanner]]\nname = \"entra-prod\"\nkind = \"entra\"\ntenant_id = \"tenant-1\"\n\
                 graph_url = \"{url}\"\nlogin_url = \"{url}\"\nmax_retries = 1\nsign_in_activity = false\n",
                url = fake.url
            ),
        )
        .to_string_lossy()
        .into_owned();
    scan(&sb, &off, 0);
    assert!(open(&sb, ENTRA).contains(&login));
    let off = missed(&sb, "users:last-used").expect("users:last-used is not covered");
    assert_eq!(off["class"], "disabled", "{off:#}");
}

/// Runs `residual scan NAME --format json` with `config`.
fn scan_with(sb: &Sandbox, config: &str, name: &str, code: i32) -> Run {
    run(
        sb,
        code,
        &["--config", config, "scan", name, "--format", "json"],
    )
}

/// The token requests the fake received, as form fields.
fn token_forms(fake: &FakeIdp) -> Vec<std::collections::BTreeMap<String, String>> {
    fake.log()
        .iter()
        .filter(|l| l.method == "POST" && l.path_and_query.contains("/oauth2/"))
        .map(|l| {
            l.body
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entra_sweep_authenticates_with_a_certificate_and_a_wrong_one_is_refused() {
    let fake = FakeIdp::start(Provider::Graph, "no-secret-in-this-test", 2).await;
    load_tenant(&fake);
    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    let good = keys::generate(&sb.path(""), "app");
    let wrong = keys::generate(&sb.path(""), "other");
    fake.register_certificate("client-1", &good.certificate_pem);
    sb.env.extend([
        ("AZURE_CLIENT_ID".into(), "client-1".into()),
        (
            "AZURE_CLIENT_CERTIFICATE_PATH".into(),
            good.combined_path.to_string_lossy().into_owned(),
        ),
    ]);
    let config = entra_config(&sb, &fake);

    let ok = scan_with(&sb, &config, "entra-prod", 0);
    assert!(
        open(&sb, ENTRA).contains(&pair("leaver-idp-account-enabled", "ann@contoso.com")),
        "the sweep ran with the certificate's token"
    );
    let forms = token_forms(&fake);
    assert_eq!(forms.len(), 1, "one token for the sweep: {forms:?}");
    assert!(forms[0].contains_key("client_assertion"), "{forms:?}");
    assert!(!forms[0].contains_key("client_secret"), "{forms:?}");
    assert_eq!(
        forms[0].get("client_assertion_type").map(String::as_str),
        Some("urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer")
    );

    // Another key pair, whose certificate the app registration does not hold: refused by the
    // token endpoint, so the run fails (exit 3) naming the token endpoint, and Graph is not asked.
    let before = fake.log().len();
    let mut bad_env = sb.env.clone();
    bad_env.retain(|(k, _)| k != "AZURE_CLIENT_CERTIFICATE_PATH");
    bad_env.push((
        "AZURE_CLIENT_CERTIFICATE_PATH".into(),
        wrong.combined_path.to_string_lossy().into_owned(),
    ));
    let saved = std::mem::replace(&mut sb.env, bad_env);
    let refused = scan_with(&sb, &config, "entra-prod", 3);
    assert!(
        refused.stderr.contains("AADSTS700027"),
        "the refusal says why: {}",
        refused.stderr
    );
    let after: Vec<String> = fake.log()[before..]
        .iter()
        .map(|l| l.path_and_query.clone())
        .collect();
    assert!(
        after.iter().all(|p| p.contains("/oauth2/")),
        "nothing but the token was asked: {after:?}"
    );

    // An encrypted key is refused by name before anything is sent.
    sb.env = saved;
    sb.env
        .push(("AZURE_CLIENT_CERTIFICATE_PASSWORD".into(), "pw".into()));
    let before = fake.log().len();
    let enc = scan_with(&sb, &config, "entra-prod", 3);
    assert!(
        enc.stderr.contains("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        "{}",
        enc.stderr
    );
    assert_eq!(fake.log().len(), before);

    let key = std::fs::read_to_string(&good.key_path).unwrap_or_default();
    let key_line = key.lines().nth(1).unwrap_or("no key line");
    let outputs = format!(
        "{}{}{}{}",
        ok.stdout, ok.stderr, refused.stdout, refused.stderr
    );
    sb.assert_not_leaked(&outputs, &[key_line]);
}

/// An Okta entry that authenticates as the service app `0oa-svc` with the key at `key`.
fn okta_service_app_config(sb: &Sandbox, fake: &FakeIdp, key: &std::path::Path) -> String {
    sb.write(
        "okta-oauth.toml",
        &format!(
            "[[scanner]]\nname = \"okta-prod\"\nkind = \"okta\"\napi_url = \"{}\"\nmax_retries = 1\n\
             client_id = \"0oa-svc\"\nprivate_key_path = \"{}\"\n",
            fake.url,
            key.display()
        ),
    )
    .to_string_lossy()
    .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_sweep_authenticates_as_a_service_app_with_a_private_key_jwt() {
    let fake = FakeIdp::start(Provider::Okta, "no-api-token-in-this-test", 2).await;
    load_org(&fake);
    let sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    let good = keys::generate(&sb.path(""), "svc");
    let wrong = keys::generate(&sb.path(""), "other");
    fake.register_public_key("0oa-svc", &good.public_key_pem);
    let system = format!("okta:{}", fake.url.trim_start_matches("http://"));

    let config = okta_service_app_config(&sb, &fake, &good.key_path);
    // The token is revoked while the app listing is read: Okta's 401 (E0000011, `invalid_token`)
    // gets a new token and the call again, and the run is complete.
    fake.fault("/api/v1/apps", Fault::RevokeTokens, false, Some(1));
    scan_with(&sb, &config, "okta-prod", 0);
    assert!(open(&sb, &system).contains(&pair("leaver-idp-account-enabled", "ann@example.com")));
    assert_eq!(fake.expired_token_uses(), 1);
    let forms = token_forms(&fake);
    assert_eq!(
        forms.len(),
        2,
        "the sweep's token and its renewal: {forms:?}"
    );
    assert_eq!(
        forms[0].get("scope").map(String::as_str),
        Some("okta.users.read%20okta.groups.read%20okta.apps.read%20okta.roles.read%20okta.apiTokens.read"),
        "the read-only scopes by default"
    );
    assert!(
        fake.log().iter().filter(|l| l.method == "GET").all(|l| l
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer "))),
        "every API call carries the service app's bearer token"
    );

    let before = fake.log().len();
    let config = okta_service_app_config(&sb, &fake, &wrong.key_path);
    let refused = scan_with(&sb, &config, "okta-prod", 3);
    assert!(
        refused.stderr.contains("invalid_client"),
        "{}",
        refused.stderr
    );
    assert!(
        fake.log()[before..].iter().all(|l| l.method == "POST"),
        "nothing but the token was asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_or_is_revoked_mid_sweep_is_renewed_and_the_sweep_completes() {
    let secret = ["fake-client-", "secret-", "R8nB"].concat();
    let fake = FakeIdp::start(Provider::Graph, &secret, 2).await;
    load_tenant(&fake);
    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.extend([
        ("AZURE_CLIENT_ID".into(), "client-1".into()),
        ("AZURE_CLIENT_SECRET".into(), secret.clone()),
    ]);
    let config = entra_config(&sb, &fake);

    // Tokens live two seconds and the group listing is throttled for three: the token expires
    // during the wait, and is renewed before the next call rather than sent stale.
    fake.set_token_lifetime(2);
    fake.fault(
        "/v1.0/groups",
        Fault::Throttle { wait_secs: 3 },
        false,
        Some(1),
    );
    scan_with(&sb, &config, "entra-prod", 0);
    assert!(fake.tokens_issued() >= 2, "the token was renewed");
    assert_eq!(
        fake.expired_token_uses(),
        0,
        "no call went out with an expired token"
    );

    // A token revoked early (the answer says `invalid_token`): renewed once, the call retried,
    // the run complete.
    fake.set_token_lifetime(3600);
    let issued = fake.tokens_issued();
    fake.fault("/v1.0/directoryRoles", Fault::RevokeTokens, false, Some(1));
    scan_with(&sb, &config, "entra-prod", 0);
    assert_eq!(fake.expired_token_uses(), 1, "one call was refused");
    assert_eq!(
        fake.tokens_issued(),
        issued + 2,
        "the sweep's token and one renewal"
    );
    assert!(open(&sb, ENTRA).contains(&pair("leaver-idp-account-enabled", "ann@contoso.com")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leavers_entra_directory_role_is_app_access_and_an_admin_role() {
    let secret = ["fake-client-", "secret-", "D4rL"].concat();
    let fake = FakeIdp::start(Provider::Graph, &secret, 2).await;
    load_tenant(&fake);
    fake.set_list(
        "/v1.0/directoryRoles/r-ga/members",
        vec![
            g::user_ref("u-ben", "ben@contoso.com"),
            g::user_ref("u-ann", "ann@contoso.com"),
        ],
    );
    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.extend([
        ("AZURE_CLIENT_ID".into(), "client-1".into()),
        ("AZURE_CLIENT_SECRET".into(), secret.clone()),
    ]);
    let config = entra_config(&sb, &fake);
    scan_with(&sb, &config, "entra-prod", 0);
    let got = open(&sb, ENTRA);
    let subject = "ann@contoso.com/admin-role/Global Administrator";
    for rule in ["leaver-idp-app-access", "leaver-admin-role"] {
        assert!(
            got.contains(&pair(rule, subject)),
            "missing {rule}: {got:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_admin_role_granted_through_a_group_reaches_its_leaving_member() {
    let token = OKTA_TOKEN_PARTS.concat();
    let fake = FakeIdp::start(Provider::Okta, &token, 2).await;
    load_org(&fake);
    fake.set_list("/api/v1/users/00u-ann/roles", vec![]);
    fake.set_list(
        "/api/v1/groups/00g-fin/roles",
        vec![o::role("ra-g1", "ORG_ADMIN", "Organization Administrator")],
    );
    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    sb.env.push(("OKTA_API_TOKEN".into(), token.clone()));
    let config = sb
        .write(
            "residual.toml",
            &format!(
                "[[scanner]]\nname = \"okta-prod\"\nkind = \"okta\"\napi_url = \"{}\"\nmax_retries = 1\n",
                fake.url
            ),
        )
        .to_string_lossy()
        .into_owned();
    let system = format!("okta:{}", fake.url.trim_start_matches("http://"));
    scan_with(&sb, &config, "okta-prod", 0);
    let got = open(&sb, &system);
    assert!(
        got.contains(&pair(
            "leaver-admin-role",
            "ann@example.com/admin-role/ORG_ADMIN"
        )),
        "{got:#?}"
    );
}
