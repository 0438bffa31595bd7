//! Is a captured string plausibly a real secret? Shannon entropy and the placeholder allowlist.
//!
//! Both run only on captures, never on whole blobs, so they may allocate nothing and still cost
//! nothing measurable.

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
    "pass",
    "passw0rd",
    "passwd",
    "password",
    "postgres",
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
    "fake_",
    "_fake",
    "fake-",
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
/// `%(pw)s`, `$DB_PASS`), a masked value (`xxxx`, `****`), a single repeated character, a dotted
/// code reference (`settings.db_password`), or a short value containing `test`.
pub fn is_placeholder(value: &[u8]) -> bool {
    let trimmed = trim_quotes(value);
    if trimmed.is_empty() {
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
    if lower.len() <= 16 && memchr::memmem::find(&lower, b"test").is_some() {
        return true;
    }
    is_dotted_reference(trimmed) || is_kebab_identifier(trimmed) || is_snake_identifier(trimmed)
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
        ] {
            assert!(is_placeholder(value.as_bytes()), "{value}");
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
        ] {
            assert!(!is_placeholder(value.as_bytes()), "{value}");
        }
    }
}
