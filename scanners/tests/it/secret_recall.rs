//! Issue 18's classes through the built-in matcher: credentials that real code writes (short
//! passwords in strong contexts, split values, keys in encoded forms, URL and Basic credentials,
//! more provider formats) are found, and the look-alikes (hashes, references, documentation
//! hosts, translations, validation rules) are not. Planted values are joined at run time so this
//! file trips no secret scanner.

use base64::Engine as _;
use residual_scanners::secrets::{builtin, parse_file, Match, Matcher, SeverityCeiling};

const KEY: &[u8] = b"test fingerprint key";

fn matcher() -> Matcher {
    Matcher::new(builtin().expect("built-in patterns load"), KEY).expect("matcher builds")
}

fn plant(parts: &[&str]) -> String {
    parts.concat()
}

fn ids(matches: &[Match]) -> Vec<&str> {
    matches.iter().map(|m| m.pattern_id.as_str()).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DER that starts like the real structure (`head`), then pseudo-random bytes.
fn der(head: &[u8], len: usize) -> Vec<u8> {
    let mut out = head.to_vec();
    let mut x: u32 = 0x9e37_79b9;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push((x >> 11) as u8);
    }
    out
}

const PKCS8_HEAD: &[u8] = &[0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06];
const CERT_HEAD: &[u8] = &[0x30, 0x82, 0x03, 0xc5, 0x30, 0x82, 0x02, 0xad, 0xa0, 0x03];

#[test]
fn short_passwords_in_commands_sql_and_connection_strings_are_found() {
    let m = matcher();
    let pw = plant(&["Kd8", "3hf7"]);
    let cases = [
        (
            format!("mysql -h db -u root -p{pw} app"),
            "cli-mysql-password",
        ),
        (
            format!("mysqldump --user=b --password={pw} app"),
            "cli-password-option",
        ),
        (
            format!("sshpass -p '{pw}' ssh deploy@host"),
            "cli-short-password-flag",
        ),
        (
            format!("docker login -u ci -p {pw} registry.internal"),
            "cli-short-password-flag",
        ),
        (
            format!("CREATE USER 'app'@'%' IDENTIFIED BY '{pw}';"),
            "sql-identified-by",
        ),
        (
            format!("ALTER ROLE app WITH PASSWORD '{pw}';"),
            "sql-with-password",
        ),
        (
            format!("psql \"host=db user=app password={pw} dbname=x\""),
            "libpq-dsn-password",
        ),
        (
            format!("url=jdbc:mysql://db/app?user=app&password={pw}"),
            "jdbc-url-password",
        ),
    ];
    for (text, id) in &cases {
        let found = m.scan(Some("deploy.sh"), text.as_bytes());
        assert_eq!(ids(&found), [*id], "{id}");
    }
    let env = format!("DB_PASS={pw}\n");
    assert_eq!(
        ids(&m.scan(Some(".env"), env.as_bytes())),
        ["config-password-key"]
    );
    // The same line in code is a variable, not configuration.
    assert!(m.scan(Some("settings.py"), env.as_bytes()).is_empty());
}

#[test]
fn prompts_ports_and_references_on_command_lines_are_not_passwords() {
    let m = matcher();
    for text in [
        "docker run -p 8080:80 -P nginx",
        "mysql -u root -p app",
        "echo \"$T\" | docker login -u ci --password-stdin registry.internal",
        "ssh -p 2222 deploy@host",
        "mysql -u \"$DB_USER\" -p\"$DB_PASS\" app",
        "CREATE USER 'a'@'%' IDENTIFIED BY '${APP_DB_PASSWORD}';",
    ] {
        assert!(
            m.scan(Some("deploy.sh"), text.as_bytes()).is_empty(),
            "{text}"
        );
    }
}

#[test]
fn hashes_references_translations_and_validation_rules_are_not_passwords() {
    let m = matcher();
    let bcrypt = plant(&[
        "$2b$12$",
        "KIXQJZ0VnD1m2Zq0cYV3UuJwz8tq1nq1S0a1bC2dE3fG4hI5jK6lm",
    ]);
    let django = plant(&[
        "pbkdf2_sha256$600000$",
        "Zq8vR2mW5t$aGFzaGhhc2hoYXNoaGFzaA=",
    ]);
    for text in [
        format!("{{\"user\": \"ana\", \"password\": \"{bcrypt}\"}}"),
        format!("{{\"user\": \"bo\", \"password\": \"{django}\"}}"),
        "password: \"пароль\"".to_string(),
        "password: \"Passwörter\"".to_string(),
        "        'password' => 'required|string|min:8|confirmed',".to_string(),
        "token: GITHUB_TOKEN_FOR_RELEASES".to_string(),
        "secret: %APP_CLIENT_SECRET%".to_string(),
        "  { token: \"entity.name.function.js\", regex: /x/ },".to_string(),
    ] {
        let found = m.scan(Some("config.yml"), text.as_bytes());
        assert!(found.is_empty(), "{text}: {:?}", ids(&found));
    }
}

#[test]
fn url_credentials_are_found_in_any_scheme_except_on_documentation_hosts() {
    let m = matcher();
    let pw = plant(&["Wq8", "vT3kz"]);
    for scheme in [
        "pgx",
        "mysql+pymysql",
        "mongodb+srv",
        "amqps",
        "clickhouse",
        "mssql+pyodbc",
    ] {
        let live = format!("URL={scheme}://app:{pw}@db.acme.io:5432/app");
        assert_eq!(m.scan(None, live.as_bytes()).len(), 1, "{scheme}");
        for host in ["db.example.com", "api.example.org", "mq.staging.example"] {
            let doc = format!("URL={scheme}://app:{pw}@{host}/app");
            assert!(m.scan(None, doc.as_bytes()).is_empty(), "{scheme} {host}");
        }
    }
    let redis = format!("CACHE_URL=redis://:{pw}@cache.acme.io:6379/0");
    assert_eq!(ids(&m.scan(None, redis.as_bytes())), ["redis-url-password"]);
}

#[test]
fn basic_credentials_are_found_anywhere_only_when_they_decode_to_user_and_password() {
    let m = matcher();
    let creds = b64(plant(&["deploy:", "Kq7mW2xLp9"]).as_bytes());
    let header = format!("proxy = {{ 'X-Proxy-Credentials': 'Basic {creds}' }}");
    assert_eq!(ids(&m.scan(None, header.as_bytes())), ["basic-credentials"]);
    let placeholder = format!("x = 'Basic {}'", b64(b"user:password"));
    for text in [
        "Basic Authentication is supported".to_string(),
        "res.setHeader('WWW-Authenticate', 'Basic realm=\"admin\"');".to_string(),
        placeholder,
    ] {
        assert!(m.scan(None, text.as_bytes()).is_empty(), "{text}");
    }
    let curl = plant(&["curl -u deploy:", "Kq7mW2xLp9 https://nexus.acme.io/"]);
    assert_eq!(ids(&m.scan(None, curl.as_bytes())), ["cli-user-password"]);
}

#[test]
fn private_keys_in_quoted_base64_and_der_forms_are_found_and_certificates_are_not() {
    let m = matcher();
    let body = b64(&der(PKCS8_HEAD, 1200));
    let rows: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let begin = plant(&["-----BEGIN PRIV", "ATE KEY-----"]);
    let end = "-----END PRIVATE KEY-----";
    let pem = format!("{begin}\n{}\n{end}\n", rows.join("\n"));

    let quoted = format!(
        "const key = [\n  \"{begin}\",\n{}\n  \"{end}\"\n].join(\"\\n\");",
        rows.iter()
            .map(|r| format!("  \"{r}\","))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(ids(&m.scan(None, quoted.as_bytes())), ["private-key-pkcs8"]);

    let concatenated = format!(
        "String K =\n  \"{begin}\\n\" +\n{}\n  \"{end}\\n\";",
        rows.iter()
            .map(|r| format!("  \"{r}\\n\" +"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        ids(&m.scan(None, concatenated.as_bytes())),
        ["private-key-pkcs8"]
    );

    let k8s = format!("data:\n  tls.key: {}\n", b64(pem.as_bytes()));
    assert_eq!(
        ids(&m.scan(None, k8s.as_bytes())),
        ["private-key-base64-pem"]
    );

    let bare = format!("signing_private_key: {body}\n");
    assert_eq!(
        ids(&m.scan(None, bare.as_bytes())),
        ["private-key-der-base64"]
    );

    let cert = b64(&der(CERT_HEAD, 900));
    let cert_pem = format!("-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----\n");
    for text in [
        format!("signing_certificate: {cert}\n"),
        format!("  tls.crt: {}\n", b64(cert_pem.as_bytes())),
    ] {
        assert!(m.scan(None, text.as_bytes()).is_empty(), "{text}");
    }
}

#[test]
fn an_encrypted_legacy_pem_key_is_reported_as_encrypted_and_not_as_a_plain_key() {
    let m = matcher();
    let body = b64(&der(PKCS8_HEAD, 1200));
    let key = format!(
        "{}\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,9F3A1C2B4D5E6F70\n\n{body}\n-----END RSA PRIVATE KEY-----\n",
        plant(&["-----BEGIN RSA PRIV", "ATE KEY-----"])
    );
    assert_eq!(
        ids(&m.scan(None, key.as_bytes())),
        ["private-key-pem-encrypted"]
    );
}

#[test]
fn values_split_across_literals_or_lines_are_found() {
    let m = matcher();
    let (a, b) = (plant(&["pL3x9Qw", "Zr7mT2k"]), plant(&["Vn8cJ5", "dH1sF6"]));
    for text in [
        format!("API_SECRET = \"{a}\" \\\n    \"{b}\""),
        format!("token = (\"{a}\"\n         \"{b}\")"),
        format!("SIGNING_SECRET = \"{a}\" + \"{b}\""),
        format!("export SERVICE_TOKEN={a}\\\n{b}"),
    ] {
        assert_eq!(m.scan(None, text.as_bytes()).len(), 1, "{text}");
    }
    assert!(m
        .scan(None, b"TOKEN_HEADER = \"X-Auth-\" + \"Token\"")
        .is_empty());
}

#[test]
fn minimum_lengths_count_characters_not_bytes() {
    let rules = r#"
[[pattern]]
id = "word"
name = "word"
pattern = '''pw=(?P<secret>[^\s]{8,})'''
keywords = ["pw="]
min_chars = 8
examples = ["pw=abcdefgh"]
"#;
    let m = Matcher::new(parse_file("t.toml", rules).expect("parses"), KEY).expect("builds");
    // Six characters, twelve bytes: the byte quantifier passes, the character minimum does not.
    assert!(m.scan(None, "pw=пароль".as_bytes()).is_empty());
    assert_eq!(m.scan(None, "pw=парольпа".as_bytes()).len(), 1);
}

#[test]
fn every_provider_issue_18_names_has_a_rule() {
    let patterns = builtin().expect("built-in patterns load");
    let ids: Vec<&str> = patterns.iter().map(|p| p.id.as_str()).collect();
    for provider in [
        "grafana",
        "akamai",
        "databricks",
        "doppler",
        "vault",
        "planetscale",
        "pulumi",
        "terraform",
        "linear",
        "sentry",
        "postman",
        "atlassian",
        "okta",
        "azure",
        "gcp",
        "twilio",
        "sendgrid",
        "mailgun",
        "npm",
        "pypi",
        "rubygems",
        "dockerhub",
        "azure-sas",
        "azure-storage",
        "google-service-account",
    ] {
        assert!(
            ids.iter().any(|id| id.starts_with(provider)),
            "no rule for {provider}"
        );
    }
}

#[test]
fn encrypted_keys_and_local_default_credentials_are_capped_at_low_severity() {
    let patterns = builtin().expect("built-in patterns load");
    let ceiling = |id: &str| {
        patterns
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.max_severity)
            .unwrap_or_else(|| panic!("no pattern {id}"))
    };
    assert_eq!(
        ceiling("private-key-pem-encrypted"),
        Some(SeverityCeiling::Low)
    );
    assert_eq!(
        ceiling("private-key-pkcs8-encrypted"),
        Some(SeverityCeiling::Low)
    );
    assert_eq!(
        ceiling("url-default-credentials-local"),
        Some(SeverityCeiling::Low)
    );
    assert_eq!(ceiling("private-key-rsa"), None);

    let m = matcher();
    let url = plant(&["BROKER_URL=amqp://guest:gu", "est@localhost:5672//"]);
    let local = m.scan(None, url.as_bytes());
    assert_eq!(ids(&local), ["url-default-credentials-local"]);
}
