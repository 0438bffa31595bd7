//! The stored content of an observation (`observations.data`, `observation_changes.previous`):
//! what its key columns (account, subject) do not already say, with one-letter keys, times as
//! Unix seconds and empty parts left out, written as MessagePack.
//!
//! Why: a million-account system stored the full JSON of each account (its name three times
//! over, in the account, the row key and each folded-in grant; RFC 3339 times; long keys), ~330
//! bytes a row and the largest table of the store. Schema 11 cut that to a compact JSON of about
//! a third; schema 13 writes the same shapes as MessagePack (`rmp-serde`, maps with the same
//! one-letter keys, so nothing about the shapes changed), which takes another two fifths off (an
//! export row: 102 → 64 bytes) and has no quotes, escapes or decimal times to write or parse.
//! Reading it back gives the same values as before ([`decode`]); content written in the older
//! forms (full JSON, schema 10 and older; compact JSON, schemas 11 and 12) still reads, and the
//! migrations that introduced each form rewrote it (see `migrations.rs`).
//!
//! A credential's or grant's typed facets (`residual_scanners::facets`) are kept under `f`, an
//! optional key, only when its display attributes do not already say the same: what scanners
//! build today never needs it, so facets add no bytes and change no digest, and content without
//! `f` (all content written before facets were typed) reads back with the facets its attributes
//! say. No migration: old rows simply lack the key.

use chrono::{DateTime, Utc};
use residual_scanners::{
    Account, AccountKind, Credential, CredentialFacets, CredentialKind, Grant, GrantFacets,
    GrantKind, IdentityHints,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Content that could not be written, or stored content that does not read back.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("observation content could not be written: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("stored observation content does not read back: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("stored observation content (JSON) does not read back: {0}")]
    Json(#[from] serde_json::Error),
    #[error("stored observation row names an account kind `{0}` this build does not know")]
    Kind(String),
}

type Result<T> = std::result::Result<T, ContentError>;

/// Writes `content` as MessagePack with named fields (the `skip_serializing_if`s and untagged
/// grants need the names; positional arrays would misread a left-out field).
fn write<T: Serialize>(content: &T, out: &mut Vec<u8>) -> Result<()> {
    Ok(rmp_serde::encode::write_named(out, content)?)
}

/// Reads content in either stored form: JSON (schemas 12 and older) opens with `{`, which no
/// MessagePack map does (a map opens with a byte of 0x80–0x8f, 0xde or 0xdf).
fn read<'de, T: Deserialize<'de>>(data: &'de [u8]) -> Result<T> {
    if data.first() == Some(&b'{') {
        Ok(serde_json::from_slice(data)?)
    } else {
        Ok(rmp_serde::from_slice(data)?)
    }
}

/// The three shapes an observation row takes, as its `type` column names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowType {
    Account,
    Credential,
    Grant,
}

impl RowType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            RowType::Account => "account",
            RowType::Credential => "credential",
            RowType::Grant => "grant",
        }
    }

    /// The code the `type` column keeps (schema 21; it held the name before). Codes are stored:
    /// they never change.
    pub(super) fn code(self) -> i64 {
        match self {
            RowType::Account => 1,
            RowType::Credential => 2,
            RowType::Grant => 3,
        }
    }

    pub(super) fn from_code(code: i64) -> RowType {
        match code {
            1 => RowType::Account,
            2 => RowType::Credential,
            _ => RowType::Grant,
        }
    }

    pub(super) fn parse(s: &str) -> RowType {
        match s {
            "account" => RowType::Account,
            "credential" => RowType::Credential,
            _ => RowType::Grant,
        }
    }
}

/// A time as stored: whole seconds as a number, anything finer as RFC 3339 text.
fn split(t: Option<DateTime<Utc>>) -> (Option<i64>, Option<DateTime<Utc>>) {
    match t {
        Some(t) if t.timestamp_subsec_nanos() == 0 => (Some(t.timestamp()), None),
        other => (None, other),
    }
}

fn join(secs: Option<i64>, exact: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    exact.or_else(|| secs.and_then(|s| DateTime::from_timestamp(s, 0)))
}

#[derive(Serialize, Deserialize, Default)]
struct Hints<'a> {
    #[serde(rename = "m", default, skip_serializing_if = "<[String]>::is_empty")]
    emails: Cow<'a, [String]>,
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    employee_id: Option<Cow<'a, str>>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    owner: Option<Cow<'a, str>>,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    created_by: Option<Cow<'a, str>>,
}

impl<'a> Hints<'a> {
    fn of(h: &'a IdentityHints) -> Option<Hints<'a>> {
        let empty = h.emails.is_empty()
            && h.employee_id.is_none()
            && h.owner.is_none()
            && h.created_by.is_none();
        (!empty).then(|| Hints {
            emails: Cow::Borrowed(&h.emails),
            employee_id: h.employee_id.as_deref().map(Cow::Borrowed),
            owner: h.owner.as_deref().map(Cow::Borrowed),
            created_by: h.created_by.as_deref().map(Cow::Borrowed),
        })
    }

    fn into_hints(self) -> IdentityHints {
        IdentityHints {
            emails: self.emails.into_owned(),
            employee_id: self.employee_id.map(Cow::into_owned),
            owner: self.owner.map(Cow::into_owned),
            created_by: self.created_by.map(Cow::into_owned),
        }
    }
}

type Attributes<'a> = Cow<'a, BTreeMap<String, String>>;

fn no_attributes(a: &Attributes) -> bool {
    a.is_empty()
}

/// A credential's typed facets as stored (`f`): only when its display attributes do not already
/// say the same ([`CredentialFacets::from_attributes`]), which is the case for everything the
/// scanners build today. So facets cost no bytes and change no digest of content written before
/// they existed, and content written before them reads back with the same facets; `f` keeps
/// what the attributes could not say.
fn stored_credential_facets(c: &Credential) -> Option<Cow<'_, CredentialFacets>> {
    let derived = CredentialFacets::from_attributes(c.kind, &c.attributes);
    (derived != c.facets).then_some(Cow::Borrowed(&c.facets))
}

/// A grant's typed facets as stored (`f`); see [`stored_credential_facets`].
fn stored_grant_facets(g: &Grant) -> Option<Cow<'_, GrantFacets>> {
    let derived = GrantFacets::from_attributes(g.kind, &g.attributes);
    (derived != g.facets).then_some(Cow::Borrowed(&g.facets))
}

/// A grant folded into its account: a plain group membership is its target alone.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum FoldedGrant<'a> {
    Group(Cow<'a, str>),
    Other {
        k: GrantKind,
        t: Cow<'a, str>,
        #[serde(default, skip_serializing_if = "no_attributes")]
        a: Attributes<'a>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        f: Option<Cow<'a, GrantFacets>>,
    },
}

#[derive(Serialize, Deserialize)]
struct AccountContent<'a> {
    /// Written by schemas 11 to 18; since, the row's `kind` column says it (7 bytes a row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<AccountKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cx: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ux: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h: Option<Hints<'a>>,
    #[serde(default, skip_serializing_if = "no_attributes")]
    a: Attributes<'a>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    g: Vec<FoldedGrant<'a>>,
}

#[derive(Serialize, Deserialize)]
struct CredentialContent<'a> {
    k: CredentialKind,
    x: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cx: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ux: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h: Option<Hints<'a>>,
    #[serde(default, skip_serializing_if = "no_attributes")]
    a: Attributes<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<Cow<'a, CredentialFacets>>,
}

#[derive(Serialize, Deserialize)]
struct GrantContent<'a> {
    k: GrantKind,
    #[serde(default, skip_serializing_if = "no_attributes")]
    a: Attributes<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<Cow<'a, GrantFacets>>,
}

/// Writes the content of account `a` holding `grants` (all of them `a`'s) into `out`.
pub(super) fn encode_account(a: &Account, grants: &[&Grant], out: &mut Vec<u8>) -> Result<()> {
    let (c, cx) = split(a.created_at);
    let (u, ux) = split(a.last_used_at);
    let g = grants
        .iter()
        .map(|g| {
            let f = stored_grant_facets(g);
            if g.kind == GrantKind::Group && g.attributes.is_empty() && f.is_none() {
                FoldedGrant::Group(Cow::Borrowed(&g.target))
            } else {
                FoldedGrant::Other {
                    k: g.kind,
                    t: Cow::Borrowed(&g.target),
                    a: Cow::Borrowed(&g.attributes),
                    f,
                }
            }
        })
        .collect();
    let content = AccountContent {
        k: None,
        e: a.enabled,
        c,
        cx,
        u,
        ux,
        h: Hints::of(&a.hints),
        a: Cow::Borrowed(&a.attributes),
        g,
    };
    write(&content, out)
}

/// Writes the content of credential `c` into `out` (its account and id are the row's key).
pub(super) fn encode_credential(c: &Credential, out: &mut Vec<u8>) -> Result<()> {
    let (cs, cx) = split(c.created_at);
    let (u, ux) = split(c.last_used_at);
    let content = CredentialContent {
        k: c.kind,
        x: c.active,
        c: cs,
        cx,
        u,
        ux,
        h: Hints::of(&c.hints),
        a: Cow::Borrowed(&c.attributes),
        f: stored_credential_facets(c),
    };
    write(&content, out)
}

/// Writes the content of grant `g` of an account the run did not list into `out`.
pub(super) fn encode_grant(g: &Grant, out: &mut Vec<u8>) -> Result<()> {
    let content = GrantContent {
        k: g.kind,
        a: Cow::Borrowed(&g.attributes),
        f: stored_grant_facets(g),
    };
    write(&content, out)
}

/// An observation read back whole.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decoded {
    Account(Account, Vec<Grant>),
    Credential(Credential),
    Grant(Grant),
}

/// The content as schema 10 and older stored it: the full JSON of the account (with its grants
/// folded in), credential or grant.
#[derive(Deserialize)]
struct FullAccount {
    #[serde(flatten)]
    account: Account,
    #[serde(default)]
    grants: Vec<Grant>,
}

/// Whether `data` is content as schema 10 and older stored it (full JSON); the compact forms
/// are a MessagePack map or JSON that opens with its kind.
fn is_full(data: &[u8]) -> bool {
    data.first() == Some(&b'{') && !data.starts_with(b"{\"k\":")
}

/// A grant folded into its account's content, as a grant of `account` again.
fn unfold(account: &str, g: FoldedGrant) -> Grant {
    match g {
        FoldedGrant::Group(t) => Grant {
            account: account.to_string(),
            kind: GrantKind::Group,
            target: t.into_owned(),
            attributes: BTreeMap::new(),
            facets: GrantFacets::default(),
        },
        FoldedGrant::Other { k, t, a, f } => {
            let attributes = a.into_owned();
            Grant {
                account: account.to_string(),
                kind: k,
                target: t.into_owned(),
                facets: grant_facets(k, &attributes, f),
                attributes,
            }
        }
    }
}

/// Reads stored content back, given the row's type, account, subject and kind (an account's
/// content leaves its kind to the row since schema 19).
pub(super) fn decode(
    row_type: RowType,
    account: &str,
    subject: &str,
    kind: &str,
    data: &[u8],
) -> Result<Decoded> {
    if is_full(data) {
        return Ok(match row_type {
            RowType::Account => {
                let full: FullAccount = serde_json::from_slice(data)?;
                Decoded::Account(full.account, full.grants)
            }
            RowType::Credential => Decoded::Credential(serde_json::from_slice(data)?),
            RowType::Grant => Decoded::Grant(serde_json::from_slice(data)?),
        });
    }
    Ok(match row_type {
        RowType::Account => {
            let c: AccountContent = read(data)?;
            let grants = c.g.into_iter().map(|g| unfold(account, g)).collect();
            let kind = match c.k {
                Some(k) => k,
                None => AccountKind::parse(kind).ok_or_else(|| ContentError::Kind(kind.into()))?,
            };
            let a = Account {
                name: account.to_string(),
                kind,
                enabled: c.e,
                created_at: join(c.c, c.cx),
                last_used_at: join(c.u, c.ux),
                hints: c.h.map(Hints::into_hints).unwrap_or_default(),
                attributes: c.a.into_owned(),
            };
            Decoded::Account(a, grants)
        }
        RowType::Credential => {
            let c: CredentialContent = read(data)?;
            Decoded::Credential(Credential {
                account: account.to_string(),
                kind: c.k,
                id: subject.to_string(),
                active: c.x,
                created_at: join(c.c, c.cx),
                last_used_at: join(c.u, c.ux),
                hints: c.h.map(Hints::into_hints).unwrap_or_default(),
                facets: match c.f {
                    Some(f) => f.into_owned(),
                    None => CredentialFacets::from_attributes(c.k, &c.a),
                },
                attributes: c.a.into_owned(),
            })
        }
        RowType::Grant => {
            let g: GrantContent = read(data)?;
            Decoded::Grant(Grant {
                account: account.to_string(),
                kind: g.k,
                target: subject.to_string(),
                facets: grant_facets(g.k, &g.a, g.f),
                attributes: g.a.into_owned(),
            })
        }
    })
}

/// A grant's facets as stored, or as its attributes say when none were (see
/// [`stored_grant_facets`]).
fn grant_facets(
    kind: GrantKind,
    attributes: &BTreeMap<String, String>,
    stored: Option<Cow<GrantFacets>>,
) -> GrantFacets {
    match stored {
        Some(f) => f.into_owned(),
        None => GrantFacets::from_attributes(kind, attributes),
    }
}

/// The content of a decoded observation in the compact form.
pub(super) fn encode(decoded: &Decoded, out: &mut Vec<u8>) -> Result<()> {
    match decoded {
        Decoded::Account(a, grants) => {
            let grants: Vec<&Grant> = grants.iter().collect();
            encode_account(a, &grants, out)
        }
        Decoded::Credential(c) => encode_credential(c, out),
        Decoded::Grant(g) => encode_grant(g, out),
    }
}

/// An account as history shows it: the account with the grants it holds.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    account: &'a Account,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    grants: &'a Vec<Grant>,
}

/// The full JSON of stored content, as history shows it: the account (grants folded in),
/// credential or grant, every field named. Content that does not read back is shown as stored,
/// as text (bytes that are not UTF-8 replaced).
pub(super) fn to_full_json(
    row_type: RowType,
    account: &str,
    subject: &str,
    kind: &str,
    data: &[u8],
) -> String {
    let shown = match decode(row_type, account, subject, kind, data) {
        Ok(Decoded::Account(a, grants)) => serde_json::to_string(&Shown {
            account: &a,
            grants: &grants,
        }),
        Ok(Decoded::Credential(c)) => serde_json::to_string(&c),
        Ok(Decoded::Grant(g)) => serde_json::to_string(&g),
        Err(_) => return String::from_utf8_lossy(data).into_owned(),
    };
    shown.unwrap_or_else(|_| String::from_utf8_lossy(data).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written content as JSON text, for what a test looks for in it.
    fn shown(out: &[u8]) -> String {
        assert_ne!(out.first(), Some(&b'{'), "MessagePack, not JSON");
        let value: serde_json::Value = rmp_serde::from_slice(out).expect("MessagePack");
        value.to_string()
    }

    fn at(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).expect("time")
    }

    fn sample_account() -> (Account, Vec<Grant>) {
        let a = Account {
            name: "ann".into(),
            kind: AccountKind::Service,
            enabled: Some(false),
            created_at: Some(at("2024-01-01T00:00:00Z")),
            last_used_at: Some(at("2026-04-23T08:00:00.250Z")),
            hints: IdentityHints {
                emails: vec!["ann@example.com".into()],
                employee_id: Some("E1".into()),
                owner: Some("bob@example.com".into()),
                created_by: None,
            },
            attributes: [("arn".to_string(), "arn:aws:iam::1:user/ann".to_string())].into(),
        };
        let grants = vec![
            Grant {
                account: "ann".into(),
                kind: GrantKind::Group,
                target: "vpn".into(),
                attributes: BTreeMap::new(),
                facets: Default::default(),
            },
            Grant {
                account: "ann".into(),
                kind: GrantKind::Team,
                target: "core".into(),
                attributes: [("role".to_string(), "maintainer".to_string())].into(),
                facets: Default::default(),
            },
        ];
        (a, grants)
    }

    #[test]
    fn an_account_reads_back_as_it_was_written() {
        let (a, grants) = sample_account();
        let mut out = Vec::new();
        encode(&Decoded::Account(a.clone(), grants.clone()), &mut out).expect("encode");
        let text = shown(&out);
        assert!(
            !text.contains("\"name\"") && !text.contains("\"account\""),
            "the name is the row's key: {text}"
        );
        let top: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert!(
            top.get("k").is_none(),
            "the account's kind is the row's: {text}"
        );
        let back = decode(RowType::Account, "ann", "ann", "service", &out).expect("decode");
        assert_eq!(back, Decoded::Account(a, grants));
    }

    #[test]
    fn a_credential_and_a_grant_read_back_as_they_were_written() {
        let c = Credential {
            account: "ann".into(),
            kind: CredentialKind::AccessKey,
            id: "AKIAEXAMPLE".into(),
            active: true,
            created_at: Some(at("2025-02-03T04:05:06Z")),
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: BTreeMap::new(),
            facets: Default::default(),
        };
        let mut out = Vec::new();
        encode(&Decoded::Credential(c.clone()), &mut out).expect("encode");
        let back = decode(
            RowType::Credential,
            "ann",
            "AKIAEXAMPLE",
            "access-key",
            &out,
        )
        .expect("decode");
        assert_eq!(back, Decoded::Credential(c));

        let g = Grant {
            account: "gone".into(),
            kind: GrantKind::RoleTrust,
            target: "arn:aws:iam::1:role/r".into(),
            attributes: [("via".to_string(), "trust".to_string())].into(),
            facets: Default::default(),
        };
        let mut out = Vec::new();
        encode(&Decoded::Grant(g.clone()), &mut out).expect("encode");
        let back =
            decode(RowType::Grant, "gone", "arn:aws:iam::1:role/r", "", &out).expect("decode");
        assert_eq!(back, Decoded::Grant(g));
    }

    /// A secret found in git, verified, and shown with the attributes the scanner writes.
    fn found_secret() -> Credential {
        use residual_scanners::facets::{FoundSecret, Provenance, VerdictKind, Verification};
        let mut c = Credential {
            account: "ann@example.com".into(),
            kind: CredentialKind::SecretInCode,
            id: "fp-3f2a".into(),
            active: true,
            created_at: Some(at("2026-01-05T10:00:00Z")),
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: [
                ("pattern_id", "aws-secret-access-key"),
                ("key_id", "AKIAEXAMPLEKEY"),
                ("path", "deploy.sh"),
                ("line", "3"),
                ("commit", "0123abcd"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            facets: CredentialFacets {
                secret: Some(Box::new(FoundSecret {
                    pattern_id: "aws-secret-access-key".into(),
                    key_id: Some("AKIAEXAMPLEKEY".into()),
                    provenance: Some(Provenance {
                        commit: Some("0123abcd".into()),
                        path: Some("deploy.sh".into()),
                        line: Some(3),
                    }),
                })),
                ..CredentialFacets::default()
            },
        };
        let verdict = Verification {
            verdict: VerdictKind::Live,
            provider: "aws".into(),
            owner: Some("arn:aws:iam::123456789012:user/ann".into()),
            reason: None,
            checked_at: Some(at("2026-05-31T12:00:00Z")),
        };
        verdict.display_into(&mut c.attributes);
        c.facets.verification = Some(Box::new(verdict));
        c
    }

    /// A CODEOWNERS entry as the code-host scanners build it.
    fn codeowner_entry() -> Grant {
        use residual_scanners::facets::CodeOwner;
        Grant {
            account: "ann-gh".into(),
            kind: GrantKind::Collaborator,
            target: "acme/api/CODEOWNERS".into(),
            attributes: [
                ("codeowner", "true"),
                ("repo", "acme/api"),
                ("file", "CODEOWNERS"),
                ("pattern", "/infra/"),
                ("lines", "3"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            facets: GrantFacets {
                codeowner: Some(Box::new(CodeOwner {
                    repo: "acme/api".into(),
                    file: "CODEOWNERS".into(),
                    patterns: vec!["/infra/".into()],
                    lines: vec![3],
                })),
            },
        }
    }

    #[test]
    fn facets_the_attributes_say_are_not_stored_twice_and_read_back() {
        let c = found_secret();
        let mut out = Vec::new();
        encode(&Decoded::Credential(c.clone()), &mut out).expect("encode");
        let text = shown(&out);
        assert!(!text.contains("\"f\""), "{text}");
        let back =
            decode(RowType::Credential, "ann@example.com", "fp-3f2a", "", &out).expect("decode");
        assert_eq!(back, Decoded::Credential(c));

        let g = codeowner_entry();
        let mut out = Vec::new();
        encode(&Decoded::Grant(g.clone()), &mut out).expect("encode");
        let text = shown(&out);
        assert!(!text.contains("\"f\""), "{text}");
        let back = decode(RowType::Grant, "ann-gh", &g.target, "", &out).expect("decode");
        assert_eq!(back, Decoded::Grant(g));
    }

    #[test]
    fn facets_the_attributes_do_not_say_are_stored_and_read_back() {
        let mut c = found_secret();
        c.attributes.clear();
        let mut out = Vec::new();
        encode(&Decoded::Credential(c.clone()), &mut out).expect("encode");
        let text = shown(&out);
        assert!(text.contains("\"f\""), "{text}");
        let back =
            decode(RowType::Credential, "ann@example.com", "fp-3f2a", "", &out).expect("decode");
        assert_eq!(back, Decoded::Credential(c));

        // Folded into its account, and alone.
        let mut g = codeowner_entry();
        g.attributes.clear();
        let (a, _) = sample_account();
        let a = Account {
            name: "ann-gh".into(),
            ..a
        };
        let mut out = Vec::new();
        encode(&Decoded::Account(a.clone(), vec![g.clone()]), &mut out).expect("encode");
        assert!(shown(&out).contains("\"f\""), "{}", shown(&out));
        let back = decode(RowType::Account, "ann-gh", "ann-gh", "service", &out).expect("decode");
        assert_eq!(back, Decoded::Account(a, vec![g.clone()]));
        let mut out = Vec::new();
        encode(&Decoded::Grant(g.clone()), &mut out).expect("encode");
        assert!(shown(&out).contains("\"f\""), "{}", shown(&out));
        let back = decode(RowType::Grant, "ann-gh", &g.target, "", &out).expect("decode");
        assert_eq!(back, Decoded::Grant(g));
    }

    /// A run's secrets, CI variables and CODEOWNERS entries come back from the store with their
    /// facets, on each backend.
    #[test]
    fn facets_round_trip_through_the_store() {
        use residual_scanners::facets::CiVariable;
        use residual_scanners::{Observations, RunStatus, ScanReport};
        let mut variable = Credential {
            account: "repo:acme/api".into(),
            kind: CredentialKind::CiVariable,
            id: "actions:repo:acme/api:NPM_TOKEN".into(),
            active: true,
            created_at: None,
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: BTreeMap::new(),
            facets: CredentialFacets {
                ci_variable: Some(Box::new(CiVariable {
                    store: "actions".into(),
                    scope: "repo:acme/api".into(),
                    updated_at: Some(at("2025-06-01T00:00:00Z")),
                    ..CiVariable::default()
                })),
                ..CredentialFacets::default()
            },
        };
        // Shown by its name only: the facet is what the store must keep.
        variable
            .attributes
            .insert("name".into(), "NPM_TOKEN".into());
        let observations = Observations {
            accounts: Vec::new(),
            credentials: vec![found_secret(), variable],
            grants: vec![codeowner_entry()],
        };
        for (_dir, mut store) in crate::store::testing::stores() {
            let now = chrono::Utc::now();
            let report = ScanReport {
                scanner: "github".into(),
                system: "github:acme".into(),
                input_digest: None,
                status: RunStatus::Complete,
                started_at: now,
                finished_at: now,
                observations: observations.clone(),
                errors: Vec::new(),
                coverage: Vec::new(),
                calls: 0,
            };
            let tx = store.transaction().expect("tx");
            let id = crate::store::runs::finish(&tx, None, &report, now).expect("run");
            let facts = crate::store::observations::RunFacts {
                run_id: id,
                status: RunStatus::Complete,
                previous_complete: None,
                targeted: &[],
                input: None,
            };
            crate::store::observations::record(&tx, "github:acme", &facts, &report.observations)
                .expect("record");
            tx.commit().expect("commit");
            let back = crate::store::observations::latest_complete(store.conn(), "github:acme")
                .expect("read")
                .expect("a complete run");
            let key = |c: &Credential| c.id.clone();
            let mut got = back.credentials.clone();
            got.sort_by_key(key);
            let mut want = observations.credentials.clone();
            want.sort_by_key(key);
            assert_eq!(got, want);
            assert_eq!(back.grants, observations.grants);
        }
    }

    #[test]
    fn content_stored_whole_by_older_schemas_still_reads() {
        let (a, grants) = sample_account();
        let old = serde_json::to_string(&Shown {
            account: &a,
            grants: &grants,
        })
        .expect("json");
        assert!(is_full(old.as_bytes()));
        let back =
            decode(RowType::Account, "ann", "ann", "service", old.as_bytes()).expect("decode");
        assert_eq!(back, Decoded::Account(a, grants));
        assert_eq!(
            to_full_json(RowType::Account, "ann", "ann", "service", old.as_bytes()),
            old
        );
    }

    /// Content as schemas 11 and 12 wrote it (compact JSON) reads back as the MessagePack form
    /// of the same values does, and is larger by two fifths.
    #[test]
    fn compact_json_of_schemas_11_and_12_still_reads() {
        let (a, grants) = sample_account();
        let mut current = Vec::new();
        encode(&Decoded::Account(a.clone(), grants.clone()), &mut current).expect("encode");
        // The same serde shape, as schemas 11 and 12 wrote it (the kind in it, then).
        let mut content: AccountContent = rmp_serde::from_slice(&current).expect("MessagePack");
        content.k = Some(a.kind);
        let json = serde_json::to_string(&content).expect("json");
        assert!(json.starts_with("{\"k\":"), "{json}");
        assert!(!is_full(json.as_bytes()));
        let back =
            decode(RowType::Account, "ann", "ann", "service", json.as_bytes()).expect("decode");
        assert_eq!(back, Decoded::Account(a, grants));
        assert!(
            current.len() * 10 < json.len() * 9,
            "{} bytes vs {} bytes",
            current.len(),
            json.len()
        );
    }

    #[test]
    fn the_compact_form_is_a_third_of_the_full_one_for_an_export_row() {
        let a = Account {
            name: "acct-1".into(),
            kind: AccountKind::User,
            enabled: Some(true),
            created_at: Some(at("2024-01-01T00:00:00Z")),
            last_used_at: Some(at("2026-04-23T08:00:00Z")),
            hints: IdentityHints {
                emails: vec!["person8516@example.com".into()],
                ..Default::default()
            },
            attributes: BTreeMap::new(),
        };
        let grants: Vec<Grant> = ["support", "all", "vpn"]
            .iter()
            .map(|t| Grant {
                account: "acct-1".into(),
                kind: GrantKind::Group,
                target: t.to_string(),
                attributes: BTreeMap::new(),
                facets: Default::default(),
            })
            .collect();
        let full = serde_json::to_string(&Shown {
            account: &a,
            grants: &grants,
        })
        .expect("json");
        let mut compact = Vec::new();
        encode(&Decoded::Account(a, grants), &mut compact).expect("encode");
        assert!(
            compact.len() * 2 < full.len(),
            "{} bytes vs {} bytes: {}",
            compact.len(),
            full.len(),
            shown(&compact)
        );
    }
}
