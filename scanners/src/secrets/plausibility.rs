//! Is a captured string plausibly a real secret? Shannon entropy and the placeholder allowlist.
//!
//! Both run only on captures, never on whole blobs, so they may allocate nothing and still cost
//! nothing measurable.

use super::pattern::Shape;
use base64::Engine as _;

/// Shannon entropy of `bytes` in bits per byte (0 for empty input, at most 8).
///
/// Note the ceiling `log2(len)`: an 8-byte string has at most 3 bits, so entropy minimums for
/// short secrets (passwords) must be lower than for long machine-generated tokens.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let len = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Values that are a placeholder when they are the whole capture (compared lowercase, after
/// stripping surrounding quotes).
const PLACEHOLDER_WORDS: &[&str] = &[
    "admin",
    "apikey",
    "api_key",
    "changeit",
    "credentials",
    "changeme",
    "default",
    "dummy",
    "empty",
    "example",
    "fake",
    "false",
    "bar",
    "baz",
    "foo",
    "foobar",
    "guest",
    "hunter2",
    "letmein",
    "mypass",
    "mysql",
    "na",
    "nil",
    "none",
    "null",
    "open sesame",
    "opensesame",
    "pass",
    "passw0rd",
    "passwd",
    "password",
    "postgres",
    "qux",
    "qwerty",
    "redacted",
    "redis",
    "root",
    "sample",
    "secret",
    "test",
    "tbd",
    "todo",
    "token",
    "true",
    "undefined",
    "user",
    "username",
];

/// Substrings that make a value a placeholder wherever they occur (compared lowercase).
const PLACEHOLDER_PARTS: &[&str] = &[
    "changeme",
    "change_me",
    "change-me",
    "changethis",
    "change_this",
    "example",
    "placeholder",
    "dummy",
    "redacted",
    "replace_me",
    "replaceme",
    "replace-me",
    "your_",
    "your-",
    "yourpass",
    "yoursecret",
    "yourtoken",
    "yourkey",
    "insert_",
    "insert-",
    "enter_",
    "enter-",
    "xxxx",
    "****",
    "....",
    "####",
    "____",
    "----",
    "not_a_real",
    "notreal",
    "not-real",
    "fake",
    "sample",
    "secret_here",
    "token_here",
    "key_here",
    "password_here",
    "123456",
    "abcdef",
    "qwerty",
    "password",
    "passwd",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%(",
    "%{",
    "#{",
    "$(",
    "env(",
    "environ",
    "getenv",
    "process.env",
    "secrets.",
    "vault:",
    "lookup(",
    "(",
    ")",
];

/// Whether `value` looks like a placeholder rather than a secret: a known placeholder word, a
/// template or variable reference (`${DB_PASSWORD}`, `{{ .Values.pw }}`, `<password>`,
/// `%(pw)s`, `$DB_PASS`, `%DB_PASS%`), an environment variable's name (`GITHUB_TOKEN`), a
/// masked value (`xxxx`, `****`), a single repeated character, a dotted code reference
/// (`settings.db_password`), a short value containing `test`, a password hash (`$2b$...`,
/// `pbkdf2_sha256$...`: a hash is not the password; credential-file rules that want hashes do
/// not use the placeholder list), a validation rule (`required|min:8`) or a word of a natural
/// language (`пароль`, a translation of the key).
pub fn is_placeholder(value: &[u8]) -> bool {
    let trimmed = trim_quotes(value);
    if trimmed.is_empty() {
        return true;
    }
    if is_password_hash(trimmed)
        || is_validation_rule(trimmed)
        || is_env_var_name(trimmed)
        || is_natural_word(trimmed)
    {
        return true;
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Ok(text) = std::str::from_utf8(&lower) {
        if PLACEHOLDER_WORDS.contains(&text) {
            return true;
        }
    }
    if PLACEHOLDER_PARTS
        .iter()
        .any(|part| memchr::memmem::find(&lower, part.as_bytes()).is_some())
    {
        return true;
    }
    if matches!(lower[0], b'$' | b'%' | b'@') && lower.len() > 1 && is_variable_name(&lower[1..]) {
        return true;
    }
    if lower.iter().all(|&b| b == lower[0]) {
        return true;
    }
    // Punctuation only (`,.:-@*?!`): no letter or digit, no credential.
    if !lower.iter().any(u8::is_ascii_alphanumeric) {
        return true;
    }
    if lower.len() <= 16 && memchr::memmem::find(&lower, b"test").is_some() {
        return true;
    }
    is_dotted_reference(trimmed) || is_kebab_identifier(trimmed) || is_snake_identifier(trimmed)
}

/// Whether `value` has the [`Shape`] a pattern asks for.
pub fn has_shape(value: &[u8], shape: Shape) -> bool {
    match shape {
        Shape::Mixed => {
            value.iter().any(u8::is_ascii_alphabetic) && value.iter().any(u8::is_ascii_digit)
        }
        Shape::Base64UserPass => {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value) else {
                return false;
            };
            let printable = decoded.iter().all(|b| (0x20..0x7f).contains(b));
            // `user:password` with a real-looking password (`user:password` itself is not).
            match decoded.iter().position(|&b| b == b':') {
                Some(colon) => {
                    printable
                        && colon > 0
                        && colon + 1 < decoded.len()
                        && !is_placeholder(&decoded[colon + 1..])
                }
                None => false,
            }
        }
    }
}

/// Whether `host` (a URL's host, optionally with `:port`) is reserved for documentation by
/// RFC 2606 / RFC 6761: `example.com`, `example.org`, `example.net` and their subdomains, and
/// any name under `.example`, `.test` or `.invalid`. Credentials in such URLs are examples.
pub fn is_documentation_host(host: &[u8]) -> bool {
    let host = host.split(|&b| b == b':').next().unwrap_or(host);
    let host = host.strip_suffix(b".").unwrap_or(host).to_ascii_lowercase();
    let under = |domain: &[u8]| {
        host == domain
            || (host.len() > domain.len()
                && host.ends_with(domain)
                && host[host.len() - domain.len() - 1] == b'.')
    };
    [
        &b"example.com"[..],
        b"example.org",
        b"example.net",
        b"example",
        b"test",
        b"invalid",
    ]
    .iter()
    .any(|domain| under(domain))
}

/// Modular-crypt and framework password-hash formats: `$2b$` (bcrypt), `$argon2id$`, `$6$`
/// (sha512-crypt), `$apr1$`, `$y$` (yescrypt), Django's `pbkdf2_sha256$`, `sha1$`, `bcrypt$`.
fn is_password_hash(value: &[u8]) -> bool {
    const CRYPT: &[&[u8]] = &[
        b"$2$",
        b"$2a$",
        b"$2b$",
        b"$2x$",
        b"$2y$",
        b"$1$",
        b"$5$",
        b"$6$",
        b"$y$",
        b"$7$",
        b"$apr1$",
        b"$md5$",
        b"$sha1$",
        b"$argon2i$",
        b"$argon2d$",
        b"$argon2id$",
        b"$scrypt$",
        b"$pbkdf2",
        b"{ssha}",
        b"{sha}",
        b"{bcrypt}",
        b"{ssha512}",
    ];
    const DJANGO: &[&[u8]] = &[
        b"pbkdf2_sha256$",
        b"pbkdf2_sha1$",
        b"argon2$",
        b"bcrypt$",
        b"bcrypt_sha256$",
        b"scrypt$",
        b"sha1$",
        b"md5$",
        b"unsalted_md5$",
        b"unsalted_sha1$",
        b"crypt$",
        b"scram-sha-256$",
    ];
    // MySQL's `*` + 40 hex digits (`IDENTIFIED BY PASSWORD '*...'`).
    if value.len() == 41 && value[0] == b'*' && value[1..].iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    // PostgreSQL's `md5` + 32 hex digits (`ALTER ROLE ... PASSWORD 'md5...'`).
    if value.len() == 35
        && value.starts_with(b"md5")
        && value[3..].iter().all(u8::is_ascii_hexdigit)
    {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    let dollars = value.iter().filter(|&&b| b == b'$').count();
    (CRYPT.iter().any(|p| lower.starts_with(p)) && (dollars >= 2 || lower.starts_with(b"{")))
        || (DJANGO.iter().any(|p| lower.starts_with(p)) && dollars >= 2)
}

/// A Laravel-style validation rule list: words joined by `|`, each with an optional `:arg`
/// (`required|string|min:8|confirmed`).
fn is_validation_rule(value: &[u8]) -> bool {
    value.contains(&b'|')
        && value.split(|&b| b == b'|').all(|rule| {
            let name = rule.split(|&b| b == b':').next().unwrap_or(rule);
            !name.is_empty() && name.iter().all(|&b| b.is_ascii_lowercase() || b == b'_')
        })
}

/// An upper-case environment variable name of two or more letter words (`GITHUB_TOKEN`,
/// `POSTGRES_PASSWORD_FILE`, `%APP_SECRET%`): a name given where a value was expected. Random
/// upper-case tokens do not split into letter-only words on `_`.
fn is_env_var_name(value: &[u8]) -> bool {
    let value = value
        .strip_prefix(b"%")
        .and_then(|v| v.strip_suffix(b"%"))
        .unwrap_or(value);
    value.contains(&b'_')
        && value.split(|&b| b == b'_').all(|word| {
            let letters = word.iter().take_while(|b| b.is_ascii_uppercase()).count();
            // A word is letters with at most two trailing digits (`S3` is not, `V2` is).
            letters >= 1
                && word.len() - letters <= 2
                && word[letters..].iter().all(u8::is_ascii_digit)
        })
}

/// A word of a natural language outside ASCII (`пароль`, `Passwörter`, `パスワード`): valid UTF-8,
/// at least one non-ASCII character, and nothing but letters and spaces. Translation files
/// put these under `password:` keys.
fn is_natural_word(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    !text.is_ascii() && text.chars().all(|c| c.is_alphabetic() || c == ' ')
}

/// A lower-case identifier of three or more letter-only words joined by `_`
/// (`default_secret_key`, `previous_next_token`): a variable or config name on the right of an
/// assignment, which generic rules would otherwise take for the value.
fn is_snake_identifier(value: &[u8]) -> bool {
    value.iter().filter(|&&b| b == b'_').count() >= 2
        && value.iter().all(|&b| b.is_ascii_lowercase() || b == b'_')
        && value.split(|&b| b == b'_').all(|word| !word.is_empty())
}

/// A lower-case identifier of three or more words joined by `-` (`leaver-active-access-key`): a
/// rule id, a route or a config key, which generic assignment rules would otherwise take for a
/// password (`AccessKey => "leaver-active-access-key"`).
fn is_kebab_identifier(value: &[u8]) -> bool {
    value.iter().filter(|&&b| b == b'-').count() >= 2
        && value.iter().all(|&b| b.is_ascii_lowercase() || b == b'-')
        && !value.starts_with(b"-")
        && !value.ends_with(b"-")
}

fn trim_quotes(value: &[u8]) -> &[u8] {
    let quotes = |b: &u8| matches!(b, b'"' | b'\'' | b'`');
    let start = value.iter().position(|b| !quotes(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !quotes(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

fn is_variable_name(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"{").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"}").unwrap_or(bytes);
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `settings.db_password`, `self.secret`, `config.api.key`: identifiers joined by dots, at least
/// one dot, each part starting with a letter or underscore.
fn is_dotted_reference(bytes: &[u8]) -> bool {
    let mut parts = 0;
    for part in bytes.split(|&b| b == b'.') {
        let ident = match part.first() {
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                part.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
            }
            _ => false,
        };
        if !ident {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_zero_for_one_symbol_and_log2_for_distinct_symbols() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!((shannon_entropy(b"changeme") - 2.75).abs() < 1e-9);
    }

    #[test]
    fn placeholders_are_recognised() {
        for value in [
            "changeme",
            "\"changeme\"",
            "PASSWORD",
            "<your-password>",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "{{ .Values.password }}",
            "%(db_password)s",
            "xxxxxxxxxxxx",
            "************",
            "dummy-secret-123",
            "settings.db_password",
            "test1234",
            "example-api-key-123",
            "os.environ.get(X)",
            "default_secret_key",
            "GITHUB_TOKEN_FOR_RELEASES",
            "%APP_CLIENT_SECRET%",
            "required|string|min:8|confirmed",
            "$2b$12$KIXQJZ0VnD1m2Zq0cYV3UuJwz8tq1nq1S0a1bC2dE3fG4hI5jK6lm",
            "pbkdf2_sha256$600000$abc$def=",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            "sha1$a1b2c$0123456789abcdef0123456789abcdef01234567",
            "пароль",
            "Passwörter",
            "somefakekey",
            ",.:-@*?!",
        ] {
            assert!(is_placeholder(value.as_bytes()), "{value}");
        }
    }

    #[test]
    fn shapes_are_checked() {
        assert!(has_shape(b"a1b2c3", Shape::Mixed));
        assert!(!has_shape(b"app.kubernetes.io/name", Shape::Mixed));
        // base64("deploy:k9Fj2sL") and base64("Authentication") (no colon)
        assert!(has_shape(b"ZGVwbG95Oms5Rmoyc0w=", Shape::Base64UserPass));
        assert!(!has_shape(b"Authentication", Shape::Base64UserPass));
        assert!(!has_shape(b"QXV0aGVudGljYXRpb24=", Shape::Base64UserPass));
    }

    #[test]
    fn documentation_hosts_are_recognised() {
        for host in [
            "example.com",
            "db.example.com:5432",
            "mq.staging.example",
            "EXAMPLE.ORG",
            "x.test",
        ] {
            assert!(is_documentation_host(host.as_bytes()), "{host}");
        }
        for host in [
            "db.acme.io",
            "example.company.io",
            "myexample.com",
            "latest",
        ] {
            assert!(!is_documentation_host(host.as_bytes()), "{host}");
        }
    }

    #[test]
    fn real_looking_values_are_not_placeholders() {
        for value in [
            "Zq8#vR2!mW5t",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "s3cr3t-Rotat3d-2024",
            "tV3qLr7pXw0Nb2Kc",
            "Correct_horse_battery_9",
            "Q7ZP_K2VD_X9LM",
            "A1B2_C3D4",
            "pässwörd-Zq8#vR2",
            "Pa$$w0rd9x",
        ] {
            assert!(!is_placeholder(value.as_bytes()), "{value}");
        }
    }
}
