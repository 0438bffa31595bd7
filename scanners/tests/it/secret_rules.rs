//! The secret patterns of `rules/secrets` check themselves: every example matches, every negative
//! example does not, placeholders stay quiet, previews never reveal a secret, and credential files
//! are found by format. Planted secrets are assembled at run time from split strings so this file
//! does not trip secret scanners itself.

use residual_scanners::secrets::{
    builtin, check_examples, load_dir, parse_file, LoadError, Match, Matcher, PatternProblem,
    ScanLimits, SkipReason, Suppression, BUILTIN_FILES, SPLIT_MARKER,
};
use std::path::{Path, PathBuf};

const KEY: &[u8] = b"test fingerprint key";

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/secrets")
}

fn matcher() -> Matcher {
    Matcher::new(builtin().expect("built-in patterns load"), KEY).expect("matcher builds")
}

/// Joins the parts of a planted secret: written split in the source, whole at run time.
fn plant(parts: &[&str]) -> String {
    parts.concat()
}

fn ids(matches: &[Match]) -> Vec<&str> {
    matches.iter().map(|m| m.pattern_id.as_str()).collect()
}

fn only<'a>(matches: &'a [Match], id: &str) -> Vec<&'a Match> {
    matches.iter().filter(|m| m.pattern_id == id).collect()
}

#[test]
fn every_example_and_negative_example_behaves() {
    let patterns = load_dir(&rules_dir()).expect("rules/secrets loads");
    let failures = check_examples(&patterns);
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{}", report.join("\n"));
}

#[test]
fn there_are_at_least_forty_patterns_with_unique_ids() {
    let patterns = builtin().expect("built-in patterns load");
    assert!(patterns.len() >= 40, "only {} patterns", patterns.len());
    let mut ids: Vec<&str> = patterns.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), patterns.len());
}

#[test]
fn the_builtin_copy_names_every_file_of_rules_secrets() {
    let mut on_disk: Vec<String> = std::fs::read_dir(rules_dir())
        .expect("rules/secrets is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut built_in: Vec<String> = BUILTIN_FILES.iter().map(|(f, _)| f.to_string()).collect();
    built_in.sort();
    assert_eq!(on_disk, built_in);
    assert_eq!(
        load_dir(&rules_dir()).expect("loads").len(),
        builtin().expect("loads").len()
    );
}

#[test]
fn the_issue_lists_these_credential_types_and_all_are_covered() {
    let patterns = builtin().expect("built-in patterns load");
    for id in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "github-pat-classic",
        "github-pat-fine-grained",
        "github-oauth-token",
        "github-user-to-server-token",
        "github-server-to-server-token",
        "github-refresh-token",
        "gitlab-pat",
        "gitlab-runner-token",
        "gitlab-deploy-token",
        "slack-bot-token",
        "slack-user-token",
        "slack-webhook-url",
        "stripe-secret-key",
        "stripe-restricted-key",
        "google-api-key",
        "google-service-account-key",
        "azure-storage-account-key",
        "azure-client-secret",
        "private-key-rsa",
        "private-key-ec",
        "private-key-dsa",
        "private-key-openssh",
        "private-key-pgp",
        "private-key-pkcs8",
        "npm-access-token",
        "pypi-api-token",
        "dockerhub-pat",
        "twilio-api-key",
        "sendgrid-api-key",
        "mailgun-api-key",
        "heroku-api-key",
        "datadog-api-key",
        "shopify-access-token",
        "atlassian-api-token",
        "okta-api-token",
        "vault-service-token",
        "vault-batch-token",
        "terraform-cloud-token",
        "jwt",
        "postgres-url-password",
        "mysql-url-password",
        "mongodb-url-password",
        "redis-url-password",
        "amqp-url-password",
        "generic-password-quoted",
        "generic-secret-quoted",
        "netrc-credentials",
        "pgpass-credentials",
        "git-credentials",
        "docker-config-auth",
        "npmrc-auth-token",
        "npmrc-auth",
        "pypirc-password",
        "htpasswd-hash",
        "django-settings-password",
        "rails-database-yml-password",
        "spring-datasource-password",
        "url-userinfo-password",
    ] {
        assert!(patterns.iter().any(|p| p.id == id), "missing pattern {id}");
    }
}

#[test]
fn previews_never_contain_the_whole_secret() {
    let matcher = matcher();
    for pattern in matcher.patterns() {
        for example in &pattern.examples {
            for m in matcher.scan(example.path.as_deref(), example.text.as_bytes()) {
                let secret = &example.text[m.start..m.end];
                let shown = m.preview.trim_end_matches('…');
                assert!(
                    shown.len() < secret.len() && shown.len() <= 8,
                    "{}: preview {:?} shows too much",
                    m.pattern_id,
                    m.preview
                );
                if secret.len() <= 16 {
                    assert!(shown.len() <= 4, "{}: short secret preview", m.pattern_id);
                }
                assert!(!m.preview.contains(secret));
                assert!(!m.fingerprint.contains(secret));
            }
        }
    }
}

#[test]
fn placeholders_produce_no_match() {
    let matcher = matcher();
    for text in [
        "password = \"changeme\"",
        "password = 'password'",
        "password: example",
        "PASSWORD=xxxxxxxx",
        "password = \"<password>\"",
        "password = \"${DB_PASSWORD}\"",
        "password: \"{{ db_password }}\"",
        "password = \"dummy\"",
        "password = \"test\"",
        "password = \"testtest\"",
        "DB_PASSWORD=changeme",
        "api_key = \"your-api-key-here\"",
        "api_key = \"<API_KEY>\"",
        "secret = \"${SECRET}\"",
        "token: \"{{ .Values.token }}\"",
        "postgres://user:password@localhost:5432/app",
        "mysql://root:root@127.0.0.1/app",
        "amqp://guest:guest@localhost:5672/",
        "https://user:pass@example.com/",
    ] {
        // Factory defaults on a local host are reported by their own low-severity rule only.
        let found: Vec<Match> = matcher
            .scan(Some("config/app.env"), text.as_bytes())
            .into_iter()
            .filter(|m| m.pattern_id != "url-default-credentials-local")
            .collect();
        assert!(found.is_empty(), "{text:?} matched {:?}", ids(&found));
    }
}

#[test]
fn a_real_looking_password_assignment_is_found_once_by_the_generic_rule() {
    let text = plant(&["db_password = \"", "Zq8#vR2!", "mW5tLp0x", "\"\n"]);
    let found = matcher().scan(Some("app/config.py"), text.as_bytes());
    assert_eq!(ids(&found), ["generic-password-quoted"]);
    assert_eq!((found[0].line, found[0].column), (1, 16));
    assert_eq!(found[0].preview, "Zq8#…");
}

#[test]
fn a_provider_rule_outranks_the_generic_rule_on_the_same_secret() {
    let token = plant(&["ghp_", "R8mKq2Lw9Xv4Tn7Yp3Zs", "5Bc6Df1Gh0JkAb9Q"]);
    let text = format!("api_key = \"{token}\"\n");
    let found = matcher().scan(None, text.as_bytes());
    assert_eq!(ids(&found), ["github-pat-classic"]);
}

#[test]
fn aws_secret_key_carries_the_access_key_id_as_identifier() {
    let key_id = plant(&["AKIA", "Q3V5X7Z2B4D6F2H3"]);
    let secret = plant(&["t9Jq2Lw8Xv4Tn7Yp3Zs5", "Bc6Df1Gh0Jk+Mn/Pq2Rs"]);
    let text = format!(
        "[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\nregion = eu-west-1\n"
    );
    let found = matcher().scan(Some("home/alice/.aws/credentials"), text.as_bytes());
    let id_match = only(&found, "aws-access-key-id");
    assert_eq!(id_match.len(), 1);
    assert_eq!(id_match[0].identifier.as_deref(), Some(key_id.as_str()));
    let secret_match = only(&found, "aws-secret-access-key");
    assert_eq!(secret_match.len(), 1);
    assert_eq!(secret_match[0].identifier.as_deref(), Some(key_id.as_str()));
    assert_eq!(secret_match[0].line, 3);
    assert!(!secret_match[0].preview.contains(&secret));
}

#[test]
fn a_netrc_file_is_found_with_the_login_as_identifier() {
    let password = plant(&["w7Kp", "2Qx9", "Lm4Z"]);
    let text = format!("machine git.internal\n  login alice\n  password {password}\n");
    let found = matcher().scan(Some("home/alice/.netrc"), text.as_bytes());
    assert_eq!(ids(&found), ["netrc-credentials"]);
    assert_eq!(found[0].identifier.as_deref(), Some("alice"));
    assert_eq!(found[0].line, 3);
}

#[test]
fn a_docker_config_json_auth_is_found_per_registry() {
    let auth_a = plant(&["YWxpY2U6", "c2VjcmV0LXBhc3N3", "b3JkLTQyMQ=="]);
    let auth_b = plant(&["Ym9iOnRv", "a2VuLTlm", "OGUyYzE="]);
    let text = format!(
        "{{\n  \"auths\": {{\n    \"https://index.docker.io/v1/\": {{ \"auth\": \"{auth_a}\" }},\n    \"registry.internal:5000\": {{\n      \"email\": \"bob@corp.example\",\n      \"auth\": \"{auth_b}\"\n    }}\n  }}\n}}\n"
    );
    let found = matcher().scan(Some("home/bob/.docker/config.json"), text.as_bytes());
    let auths = only(&found, "docker-config-auth");
    let registries: Vec<_> = auths
        .iter()
        .map(|m| m.identifier.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        registries,
        ["https://index.docker.io/v1/", "registry.internal:5000"]
    );
}

#[test]
fn git_credentials_are_found_only_in_a_git_credentials_file() {
    let token = plant(&["glpat-", "Xq3Lm9Vb2Nc7", "Zs4Tw8Yp"]);
    let text = format!("https://alice:{token}@gitlab.internal\n");
    let matcher = matcher();
    let found = matcher.scan(Some("home/alice/.git-credentials"), text.as_bytes());
    // The GitLab rule names the token type; the file rule (same secret, same rank) is folded in.
    assert_eq!(ids(&found), ["gitlab-pat"]);
    let password = plant(&["s3", "cr3tPa55", "-2024x"]);
    let text = format!("https://alice:{password}@git.internal\n");
    let found = matcher.scan(Some("home/alice/.git-credentials"), text.as_bytes());
    assert_eq!(ids(&found), ["git-credentials"]);
    assert_eq!(found[0].identifier.as_deref(), Some("alice"));
}

#[test]
fn path_restricted_rules_do_not_run_when_the_path_is_unknown() {
    let text = plant(&["db.internal:5432:app:app_rw:", "Vq8Lm2", "Xc9Zt4\n"]);
    let matcher = matcher();
    assert!(only(&matcher.scan(None, text.as_bytes()), "pgpass-credentials").is_empty());
    assert_eq!(
        ids(&matcher.scan(Some(".pgpass"), text.as_bytes())),
        ["pgpass-credentials"]
    );
}

#[test]
fn an_inline_allow_comment_suppresses_but_still_reports() {
    let token = plant(&["npm_", "Rk8Lq2Wx9Vb4Tn7Yp3Zs", "5Bc6Df1Gh0JkAb9Q"]);
    let text =
        format!("registry_token = {token} # residual:allow rotated 2024-05\nnext = {token}\n");
    let found = matcher().scan(None, text.as_bytes());
    let npm = only(&found, "npm-access-token");
    assert_eq!(npm.len(), 2);
    assert_eq!(npm[0].suppressed, Some(Suppression::Inline));
    assert_eq!(npm[0].suppressed.map(Suppression::as_str), Some("inline"));
    assert_eq!(npm[1].suppressed, None);
    assert_eq!(npm[0].fingerprint, npm[1].fingerprint);
}

#[test]
fn fingerprints_are_keyed() {
    let token = plant(&["ghp_", "R8mKq2Lw9Xv4Tn7Yp3Zs", "5Bc6Df1Gh0JkAb9Q"]);
    let patterns = builtin().expect("loads");
    let a = Matcher::new(patterns.clone(), b"key a").expect("builds");
    let b = Matcher::new(patterns, b"key b").expect("builds");
    let fa = &a.scan(None, token.as_bytes())[0].fingerprint;
    let fb = &b.scan(None, token.as_bytes())[0].fingerprint;
    assert_ne!(fa, fb);
    assert_eq!(fa.len(), 32);
    assert_eq!(fa, &a.fingerprinter().fingerprint(token.as_bytes()));
}

#[test]
fn binary_and_oversized_blobs_are_skipped() {
    let token = plant(&["ghp_", "R8mKq2Lw9Xv4Tn7Yp3Zs", "5Bc6Df1Gh0JkAb9Q"]);
    let mut binary = b"\x00\x01PNG".to_vec();
    binary.extend_from_slice(token.as_bytes());
    let matcher = matcher().with_limits(ScanLimits {
        max_blob_bytes: 1024,
        skip_binary: true,
    });
    assert_eq!(matcher.skip_reason(&binary), Some(SkipReason::Binary));
    assert!(matcher.scan(None, &binary).is_empty());
    let large = format!("{token}\n{}", " ".repeat(2048));
    assert_eq!(
        matcher.skip_reason(large.as_bytes()),
        Some(SkipReason::TooLarge)
    );
    assert!(matcher.scan(None, large.as_bytes()).is_empty());
    assert_eq!(matcher.skip_reason(token.as_bytes()), None);
}

#[test]
fn lines_and_columns_are_one_based_and_counted_across_matches() {
    let a = plant(&[
        "xoxb-",
        "1234567890-1234567890123-",
        "Rk8Lq2Wx9Vb4Tn7Yp3Zs5Bc6",
    ]);
    let b = plant(&["sk_live_", "Rk8Lq2Wx9Vb4", "Tn7Yp3Zs5Bc6"]);
    let text = format!("one\ntwo {a}\n\n  {b}\n");
    let found = matcher().scan(None, text.as_bytes());
    let positions: Vec<_> = found.iter().map(|m| (m.line, m.column)).collect();
    assert_eq!(positions, [(2, 5), (4, 3)]);
}

#[test]
fn examples_have_split_markers_removed() {
    let patterns = builtin().expect("loads");
    for pattern in &patterns {
        for example in pattern.examples.iter().chain(&pattern.negative_examples) {
            assert!(!example.text.contains(SPLIT_MARKER), "{}", pattern.id);
        }
    }
}

#[test]
fn the_rule_files_themselves_hold_no_detectable_secret() {
    let matcher = matcher();
    for (file, text) in BUILTIN_FILES {
        let found: Vec<_> = matcher
            .scan(Some(&format!("rules/secrets/{file}")), text.as_bytes())
            .into_iter()
            .filter(|m| m.suppressed.is_none())
            .collect();
        assert!(
            found.is_empty(),
            "{file}: {:?}",
            found
                .iter()
                .map(|m| (&m.pattern_id, m.line))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn invalid_patterns_are_reported_with_file_and_id() {
    let no_group = "[[pattern]]\nid = \"x-token\"\nname = \"X\"\npattern = 'x_[a-z]{8}'\nkeywords = [\"x_\"]\nexamples = [\"x_abcdefgh\"]\n";
    match parse_file("x.toml", no_group) {
        Err(LoadError::Pattern {
            file,
            id,
            problem: PatternProblem::MissingSecretGroup,
        }) => assert_eq!((file.as_str(), id.as_str()), ("x.toml", "x-token")),
        other => panic!("unexpected {other:?}"),
    }
    let bad_regex = no_group.replace("x_[a-z]{8}", "(?P<secret>x_[a-z");
    let err = parse_file("x.toml", &bad_regex).expect_err("regex must fail");
    assert!(err
        .to_string()
        .starts_with("x.toml: pattern `x-token`: regex"));
    let duplicate =
        format!("{no_group}\n{no_group}").replace("x_[a-z]{8}", "(?P<secret>x_[a-z]{8})");
    let err = parse_file("x.toml", &duplicate).expect_err("duplicate must fail");
    assert!(err.to_string().contains("duplicate id"), "{err}");
    let no_keywords = no_group
        .replace("x_[a-z]{8}", "(?P<secret>x_[a-z]{8})")
        .replace("keywords = [\"x_\"]\n", "");
    assert!(matches!(
        parse_file("x.toml", &no_keywords),
        Err(LoadError::Pattern {
            problem: PatternProblem::NoKeywords,
            ..
        })
    ));
    let typo = no_group.replace("keywords", "keyword");
    assert!(matches!(
        parse_file("x.toml", &typo),
        Err(LoadError::Toml { .. })
    ));
}

#[test]
fn a_failing_example_is_named() {
    let text = "[[pattern]]\nid = \"x-token\"\nname = \"X\"\npattern = '(?P<secret>x_[a-z]{8})'\nkeywords = [\"x_\"]\nexamples = [\"x_abc\"]\nnegative_examples = [\"x_{{split}}abcdefgh\"]\n";
    let patterns = parse_file("x.toml", text).expect("parses");
    let failures: Vec<String> = check_examples(&patterns)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        failures,
        [
            "x.toml: pattern `x-token`: examples[1] did not match",
            "x.toml: pattern `x-token`: negative_examples[1] matched but must not",
        ]
    );
}
