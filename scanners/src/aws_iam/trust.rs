//! Role trust policies: who may assume a role.
//!
//! IAM returns a role's `AssumeRolePolicyDocument` URL-encoded (RFC 3986) in
//! `GetAccountAuthorizationDetails`, `GetRole` and `ListRoles`; some emulators return plain JSON.
//! Both are accepted. Only `Allow` statements whose `Action` (or `NotAction`) can let a principal
//! assume the role are read; `Principal` may be `"*"`, a string, or an object whose `AWS`,
//! `Federated`, `Service` and `CanonicalUser` values are strings or lists.

use serde_json::Value;

/// One principal a trust policy allows to assume the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TrustedPrincipal {
    /// `arn:aws:iam::ACCOUNT:user/PATH/NAME`.
    User {
        account: String,
        name: String,
        arn: String,
    },
    /// `arn:aws:iam::ACCOUNT:root` or a bare 12-digit account id: anyone that account allows.
    AccountRoot { account: String, principal: String },
    /// Any other AWS principal: a role, an assumed-role session, or the unique id (`AIDA…`,
    /// `AROA…`) IAM leaves in a policy after the named user or role was deleted.
    OtherAws(String),
    /// A SAML or OIDC provider (`Federated`).
    Federated(String),
    /// An AWS service (`Service`).
    Service(String),
    /// `"*"`: anyone, usually narrowed by conditions.
    Anyone,
}

/// A principal together with whether its statement carried a `Condition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Trust {
    pub principal: TrustedPrincipal,
    pub conditional: bool,
}

/// A trust policy that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("trust policy is not JSON: {0}")]
pub(super) struct TrustPolicyError(String);

/// Decodes `%XX` escapes (RFC 3986). Invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn as_strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether an action pattern can match one of the `sts:AssumeRole*` actions.
fn assume_action(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    a == "*" || a == "sts:*" || a.starts_with("sts:assumerole") || a == "sts:assume*"
}

fn classify_aws(principal: &str) -> TrustedPrincipal {
    if principal == "*" {
        return TrustedPrincipal::Anyone;
    }
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return TrustedPrincipal::AccountRoot {
            account: principal.to_string(),
            principal: principal.to_string(),
        };
    }
    // arn:PARTITION:iam::ACCOUNT:RESOURCE
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" {
        let account = parts[4].to_string();
        let resource = parts[5];
        if resource == "root" {
            return TrustedPrincipal::AccountRoot {
                account,
                principal: principal.to_string(),
            };
        }
        if let Some(path_and_name) = resource.strip_prefix("user/") {
            if let Some(name) = path_and_name.rsplit('/').next().filter(|n| !n.is_empty()) {
                return TrustedPrincipal::User {
                    account,
                    name: name.to_string(),
                    arn: principal.to_string(),
                };
            }
        }
    }
    TrustedPrincipal::OtherAws(principal.to_string())
}

/// Reads the principals a trust policy allows to assume its role, in document order.
pub(super) fn parse_trust_policy(document: &str) -> Result<Vec<Trust>, TrustPolicyError> {
    let trimmed = document.trim();
    let decoded;
    let json = if trimmed.starts_with('{') {
        trimmed
    } else {
        decoded = percent_decode(trimmed);
        decoded.as_str()
    };
    let doc: Value = serde_json::from_str(json).map_err(|e| TrustPolicyError(e.to_string()))?;
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let allows_assume = match (st.get("Action"), st.get("NotAction")) {
            (Some(a), _) => as_strings(a).into_iter().any(assume_action),
            // NotAction allows everything it does not list: read it as allowing assumption.
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if !allows_assume {
            continue;
        }
        let conditional = st.get("Condition").is_some_and(|c| !c.is_null());
        let mut push = |principal| {
            out.push(Trust {
                principal,
                conditional,
            })
        };
        match st.get("Principal") {
            Some(Value::String(s)) if s == "*" => push(TrustedPrincipal::Anyone),
            Some(Value::Object(map)) => {
                for (kind, value) in map {
                    for p in as_strings(value) {
                        push(match kind.as_str() {
                            "AWS" => classify_aws(p),
                            "Federated" => TrustedPrincipal::Federated(p.to_string()),
                            "Service" => TrustedPrincipal::Service(p.to_string()),
                            _ => TrustedPrincipal::OtherAws(p.to_string()),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_url_encoded_documents_as_aws_returns_them() {
        let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fops%2Falice%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let trusts = parse_trust_policy(doc).unwrap();
        assert_eq!(
            trusts,
            vec![Trust {
                principal: TrustedPrincipal::User {
                    account: "123456789012".into(),
                    name: "alice".into(),
                    arn: "arn:aws:iam::123456789012:user/ops/alice".into()
                },
                conditional: false
            }]
        );
    }

    #[test]
    fn classifies_roots_federated_services_and_skips_deny() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","AIDAEXAMPLEDELETEDUSER"]},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
          {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/okta"},"Action":"sts:AssumeRoleWithSAML"},
          {"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole"]},
          {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"},
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/carol"},"Action":"s3:GetObject"}
        ]}"#;
        let trusts = parse_trust_policy(doc).unwrap();
        let kinds: Vec<_> = trusts.iter().map(|t| &t.principal).collect();
        assert!(
            matches!(kinds[0], TrustedPrincipal::AccountRoot { account, .. } if account == "111122223333")
        );
        assert!(
            matches!(kinds[1], TrustedPrincipal::AccountRoot { account, .. } if account == "444455556666")
        );
        assert!(matches!(kinds[2], TrustedPrincipal::OtherAws(p) if p == "AIDAEXAMPLEDELETEDUSER"));
        assert!(matches!(kinds[3], TrustedPrincipal::Federated(_)));
        assert!(matches!(kinds[4], TrustedPrincipal::Service(_)));
        assert_eq!(trusts.len(), 5);
        assert!(trusts[0].conditional && !trusts[3].conditional);
    }

    #[test]
    fn a_wildcard_principal_is_anyone() {
        let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}}"#;
        assert_eq!(
            parse_trust_policy(doc).unwrap()[0].principal,
            TrustedPrincipal::Anyone
        );
        assert!(parse_trust_policy("not json").is_err());
    }
}
