//! `[policy.remediate] allow`: which action kinds `--apply` may carry out at all, as
//! `SYSTEM_KIND:ACTION` patterns where `*` stands for any run of characters (`aws-iam:*`,
//! `github:remove-member`, `*`). The default is an empty list: nothing is applied until an
//! operator opts in.

/// Whether any pattern of `allow` matches `kind`.
pub fn allows(allow: &[String], kind: &str) -> bool {
    allow.iter().any(|p| matches(p, kind))
}

/// Glob match with `*` only (no `?`, no classes): action kinds are plain words.
fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::allows;

    fn list(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        assert!(!allows(&[], "aws-iam:deactivate-access-key"));
    }

    #[test]
    fn wildcards_match_a_system_kind_or_everything_and_exact_kinds_only_themselves() {
        let kind = "aws-iam:deactivate-access-key";
        assert!(allows(&list(&["aws-iam:*"]), kind));
        assert!(allows(&list(&["*"]), kind));
        assert!(allows(&list(&["*:deactivate-*"]), kind));
        assert!(allows(&list(&[kind]), kind));
        assert!(!allows(&list(&["github:*"]), kind));
        assert!(!allows(&list(&["aws-iam:deactivate"]), kind));
        assert!(!allows(&list(&["aws-iam:*-ssh-key"]), kind));
    }
}
