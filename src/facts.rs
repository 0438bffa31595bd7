//! Credential facts from the store: what the cloud scanners saw of credentials that turn up
//! elsewhere (an AWS access key id in git history or in a CI variable). The evaluator is pure; this
//! is where its liveness questions are answered, before it runs.

use crate::evaluate::{CredentialFact, CredentialFacts};
use crate::store::{links, observations, runs, Result, Store};
use residual_scanners::{CredentialKind, Observations};

/// Facts for every non-secret id (a found secret's key id) among `obs`'s credentials.
pub fn for_observations(store: &Store, obs: &Observations) -> Result<CredentialFacts> {
    let conn = store.conn();
    let any_aws_run = runs::any_complete(conn, "aws-iam")?;
    let mut facts = CredentialFacts::default();
    for c in &obs.credentials {
        owner_link(store, c, &mut facts)?;
        let Some(key_id) = c.facets.secret.as_ref().and_then(|s| s.key_id.as_ref()) else {
            continue;
        };
        if facts.by_id.contains_key(key_id) || !looks_like_aws_key_id(key_id) {
            continue;
        }
        let seen =
            observations::latest_credentials(conn, "aws-iam", CredentialKind::AccessKey, key_id)?;
        let fact = match seen.first() {
            Some((system, _, cred)) => CredentialFact {
                live: Some(seen.iter().any(|(_, _, c)| c.active)),
                system: Some(system.clone()),
                account: Some(cred.account.clone()),
                employee_id: links::of(conn, system, &cred.account)?.map(|(e, _)| e),
            },
            // Absent from every complete aws-iam run: deleted, or from an account not swept.
            None if any_aws_run => CredentialFact {
                live: Some(false),
                system: None,
                account: None,
                employee_id: None,
            },
            None => continue,
        };
        facts.by_id.insert(key_id.clone(), fact);
    }
    Ok(facts)
}

/// How the aws-iam sweep linked the IAM user `--verify` named as `c`'s owner, if it did.
fn owner_link(
    store: &Store,
    c: &residual_scanners::Credential,
    facts: &mut CredentialFacts,
) -> Result<()> {
    let Some(v) = c
        .facets
        .verification
        .as_ref()
        .filter(|v| v.provider == "aws")
    else {
        return Ok(());
    };
    let Some(arn) = &v.owner else {
        return Ok(());
    };
    let Some((account, user)) = residual_scanners::verify::iam_user_of_arn(arn) else {
        return Ok(());
    };
    if facts.owners.contains_key(arn) {
        return Ok(());
    }
    if let Some(link) = links::of(store.conn(), &format!("aws-iam:{account}"), user)? {
        facts.owners.insert(arn.clone(), link);
    }
    Ok(())
}

fn looks_like_aws_key_id(id: &str) -> bool {
    id.len() == 20
        && (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}
