//! Benchmark of the aws-iam sweep against moto: wall time and API calls of the full sweep, and of
//! the naive per-user approach, in the same run on the same data.
//!
//! ```text
//! cargo run -p residual-scanners --example aws_sweep -- \
//!     [--users 2000] [--keys-per-user 2] [--roles 500] [--groups 100] [--concurrency 8]
//! ```
//!
//! It starts `fixtures/aws/moto_harness.py` (moto in-process on a free loopback port; needs
//! `pip install 'moto[server]'`), seeds it through aws-sdk-iam with 32 calls in flight, then runs
//!
//! * the sweep: [`scan_aws_iam`] (credential report + `GetAccountAuthorizationDetails` + the
//!   per-user calls they leave), and
//! * the naive approach: `ListUsers`, then per user `ListAccessKeys` and `GetLoginProfile`, and
//!   `GetAccessKeyLastUsed` per key,
//!
//! both with the same per-user concurrency and the same call accounting (every HTTP attempt). It
//! prints a Markdown table. No network traffic leaves 127.0.0.1.

use aws_sdk_iam::types::{StatusType, Tag};
use residual_scanners::aws_iam::{scan_aws_iam, AwsScanConfig, Clients};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "210987654321";

struct Args {
    users: usize,
    keys_per_user: usize,
    roles: usize,
    groups: usize,
    concurrency: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        users: 2000,
        keys_per_user: 2,
        roles: 500,
        groups: 100,
        concurrency: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: usize = value
            .parse()
            .map_err(|_| format!("{flag}: `{value}` is not a number"))?;
        match flag.as_str() {
            "--users" => args.users = n,
            "--keys-per-user" => args.keys_per_user = n.min(2),
            "--roles" => args.roles = n,
            "--groups" => args.groups = n.max(1),
            "--concurrency" => args.concurrency = n.max(1),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// Runs `f(i)` for `i in 0..n`, `width` at a time.
async fn for_each_concurrent<F, Fut>(n: usize, width: usize, f: F) -> Result<(), String>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(Mutex::new(0usize));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..width {
        let (f, next) = (f.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = {
                    let mut g = next.lock().map_err(|_| "lock poisoned".to_string())?;
                    if *g >= n {
                        return Ok::<(), String>(());
                    }
                    *g += 1;
                    *g - 1
                };
                f(i).await?;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    Ok(())
}

fn tag(k: &str, v: &str) -> Result<Tag, String> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| e.to_string())
}

async fn seed(clients: &Clients, a: &Args) -> Result<(), String> {
    let iam = clients.iam.clone();
    let groups = a.groups;
    let policy = iam
        .create_policy()
        .policy_name("team-read")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .map_err(|e| format!("CreatePolicy: {e}"))?;
    let policy_arn = policy
        .policy()
        .and_then(|p| p.arn())
        .ok_or("CreatePolicy returned no ARN")?
        .to_string();
    let i2 = iam.clone();
    for_each_concurrent(groups, 32, move |g| {
        let (iam, policy_arn) = (i2.clone(), policy_arn.clone());
        async move {
            let name = format!("group-{g:03}");
            iam.create_group()
                .group_name(&name)
                .send()
                .await
                .map_err(|e| format!("CreateGroup: {e}"))?;
            iam.attach_group_policy()
                .group_name(&name)
                .policy_arn(policy_arn)
                .send()
                .await
                .map_err(|e| format!("AttachGroupPolicy: {e}"))?;
            Ok(())
        }
    })
    .await?;
    let (i2, keys) = (iam.clone(), a.keys_per_user);
    for_each_concurrent(a.users, 32, move |u| {
        let iam = i2.clone();
        async move {
            let name = format!("user-{u:05}");
            iam.create_user()
                .user_name(&name)
                .tags(tag("email", &format!("{name}@example.com"))?)
                .send()
                .await
                .map_err(|e| format!("CreateUser: {e}"))?;
            iam.add_user_to_group()
                .user_name(&name)
                .group_name(format!("group-{:03}", u % groups))
                .send()
                .await
                .map_err(|e| format!("AddUserToGroup: {e}"))?;
            for k in 0..keys {
                // The secret in the response is dropped unread.
                let created = iam
                    .create_access_key()
                    .user_name(&name)
                    .send()
                    .await
                    .map_err(|e| format!("CreateAccessKey: {e}"))?;
                if k == 1 {
                    if let Some(id) = created.access_key().map(|k| k.access_key_id().to_string()) {
                        iam.update_access_key()
                            .user_name(&name)
                            .access_key_id(id)
                            .status(StatusType::Inactive)
                            .send()
                            .await
                            .map_err(|e| format!("UpdateAccessKey: {e}"))?;
                    }
                }
            }
            Ok(())
        }
    })
    .await?;
    let (i2, users) = (iam.clone(), a.users.max(1));
    for_each_concurrent(a.roles, 32, move |r| {
        let iam = i2.clone();
        async move {
            let trust = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/user-{:05}"}},"Action":"sts:AssumeRole"}}]}}"#,
                r % users
            );
            iam.create_role()
                .role_name(format!("role-{r:04}"))
                .assume_role_policy_document(trust)
                .tags(tag("owner", &format!("user-{:05}@example.com", r % users))?)
                .send()
                .await
                .map_err(|e| format!("CreateRole: {e}"))?;
            Ok(())
        }
    })
    .await
}

/// The naive approach: ListUsers, then per user ListAccessKeys + GetLoginProfile, and
/// GetAccessKeyLastUsed per key. Returns (keys seen, calls).
async fn naive(config: &AwsScanConfig, concurrency: usize) -> Result<(usize, u64), String> {
    let clients = Clients::new(config).await;
    let iam = clients.iam.clone();
    let mut users = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_users()
            .max_items(1000)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| format!("ListUsers: {e}"))?;
        users.extend(page.users().iter().map(|u| u.user_name().to_string()));
        match page.marker().filter(|_| page.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    let users = Arc::new(users);
    let keys_seen = Arc::new(Mutex::new(0usize));
    let (u2, k2) = (users.clone(), keys_seen.clone());
    for_each_concurrent(users.len(), concurrency, move |i| {
        let (iam, users, keys_seen) = (iam.clone(), u2.clone(), k2.clone());
        async move {
            let user = &users[i];
            let keys = iam
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .map_err(|e| format!("ListAccessKeys: {e}"))?;
            for k in keys.access_key_metadata() {
                if let Some(id) = k.access_key_id() {
                    iam.get_access_key_last_used()
                        .access_key_id(id)
                        .send()
                        .await
                        .map_err(|e| format!("GetAccessKeyLastUsed: {e}"))?;
                    if let Ok(mut n) = keys_seen.lock() {
                        *n += 1;
                    }
                }
            }
            match iam.get_login_profile().user_name(user).send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) => {}
                Err(e) => return Err(format!("GetLoginProfile: {e}")),
            }
            Ok(())
        }
    })
    .await?;
    let keys = keys_seen.lock().map(|n| *n).unwrap_or(0);
    Ok((keys, clients.calls.load(Ordering::Relaxed)))
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("aws_sweep: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let a = parse_args()?;
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/aws/moto_harness.py");
    let python = std::env::var("RESIDUAL_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {python} {}: {e}", script.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port: u16 = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or(format!("moto harness did not start: {line:?}"))?;
    // Keeping stdin open keeps the server alive; dropping it (or exiting) stops it.
    let _stdin = child.stdin.take();

    let config = AwsScanConfig {
        endpoint_url: Some(format!("http://127.0.0.1:{port}")),
        extra_headers: vec![("x-moto-account-id".into(), ACCOUNT.into())],
        // moto answers ListServiceSpecificCredentials with HTTP 500; on AWS it adds one call per
        // 1,000 credentials.
        service_specific_credentials: false,
        concurrency: a.concurrency,
        ..AwsScanConfig::default()
    };

    let t = Instant::now();
    let seeding = Clients::new(&config).await;
    seed(&seeding, &a).await?;
    let seed_time = t.elapsed();
    eprintln!(
        "seeded {} users, {} keys, {} roles, {} groups in {:.1}s ({} calls)",
        a.users,
        a.users * a.keys_per_user,
        a.roles,
        a.groups,
        seed_time.as_secs_f64(),
        seeding.calls.load(Ordering::Relaxed)
    );

    let t = Instant::now();
    let report = scan_aws_iam(&config).await;
    let sweep_time = t.elapsed();
    if !report.errors.is_empty() {
        return Err(format!(
            "the sweep was {}: {:?}",
            report.status.as_str(),
            report.errors
        ));
    }
    let sweep_keys = report
        .observations
        .credentials
        .iter()
        .filter(|c| c.kind == residual_scanners::CredentialKind::AccessKey)
        .count();

    let t = Instant::now();
    let (naive_keys, naive_calls) = naive(&config, a.concurrency).await?;
    let naive_time = t.elapsed();

    let per_1000 = |calls: u64| calls as f64 * 1000.0 / a.users.max(1) as f64;
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "{} users, {} access keys, {} roles, {} groups; per-user concurrency {}\n",
        a.users,
        a.users * a.keys_per_user,
        a.roles,
        a.groups,
        a.concurrency
    );
    println!("| approach | what it reads | wall time | API calls | calls per 1,000 users |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| sweep (`scan_aws_iam`) | {} accounts, {} credentials ({} access keys), {} grants | {:.1} s | {} | {:.0} |",
        report.observations.accounts.len(),
        report.observations.credentials.len(),
        sweep_keys,
        report.observations.grants.len(),
        secs(sweep_time),
        report.calls,
        per_1000(report.calls)
    );
    println!(
        "| naive per-user | access keys with last use, login profiles ({} access keys) | {:.1} s | {} | {:.0} |",
        naive_keys,
        secs(naive_time),
        naive_calls,
        per_1000(naive_calls)
    );
    drop(_stdin);
    let _ = child.wait();
    Ok(())
}
