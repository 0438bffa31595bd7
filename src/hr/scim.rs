//! SCIM 2.0 (RFC 7643/7644): a `ListResponse` whose `Resources` are `User` resources.
//!
//! `active: false` is a leaver. The employee id is the enterprise extension's `employeeNumber`, else
//! `externalId`. The email is the primary entry of `emails`, else the first, else a `userName` that
//! is an email; the others become aliases. `department` and `manager.value` come from the enterprise
//! extension, `title` from the core schema.

use super::{HrError, HrStatus, Location, PersonRecord, UniqueIds};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub fn read(path: &Path, text: &str) -> Result<Vec<PersonRecord>, HrError> {
    let err = |p: String, field: &str, message: String| HrError::Invalid {
        file: path.to_path_buf(),
        location: Location::JsonPath(p),
        field: field.to_string(),
        message,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| super::json::syntax_error(path, e))?;
    let names_list = doc
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(LIST_RESPONSE)));
    if !names_list {
        return Err(err(
            "$.schemas".into(),
            "schemas",
            format!("must name {LIST_RESPONSE}"),
        ));
    }
    let resources = match doc.get("Resources") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(r)) => r,
        Some(_) => {
            return Err(err(
                "$.Resources".into(),
                "Resources",
                "expected an array".into(),
            ))
        }
    };
    let mut people = Vec::with_capacity(resources.len());
    let mut ids = UniqueIds::new();
    for (i, user) in resources.iter().enumerate() {
        let at = format!("$.Resources[{i}]");
        let obj = user
            .as_object()
            .ok_or_else(|| err(at.clone(), "Resources", "expected a User object".into()))?;
        let ent = obj.get(ENTERPRISE);
        let str_at =
            |v: Option<&Value>, p: String, field: &str| -> Result<Option<String>, HrError> {
                match v {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
                    Some(Value::Number(n)) => Ok(Some(n.to_string())),
                    Some(_) => Err(err(p, field, "expected a string".into())),
                }
            };
        let employee_number = str_at(
            ent.and_then(|e| e.get("employeeNumber")),
            format!("{at}[\"{ENTERPRISE}\"].employeeNumber"),
            "employeeNumber",
        )?;
        let external_id = str_at(
            obj.get("externalId"),
            format!("{at}.externalId"),
            "externalId",
        )?;
        let employee_id = employee_number.or(external_id).ok_or_else(|| {
            err(
                format!("{at}.externalId"),
                "employeeNumber",
                "no employee id: set the enterprise extension's employeeNumber or externalId"
                    .into(),
            )
        })?;
        let user_name = str_at(obj.get("userName"), format!("{at}.userName"), "userName")?;
        let mut emails: Vec<(bool, String)> = Vec::new();
        match obj.get("emails") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (j, e) in list.iter().enumerate() {
                    let value =
                        str_at(e.get("value"), format!("{at}.emails[{j}].value"), "emails")?
                            .ok_or_else(|| {
                                err(
                                    format!("{at}.emails[{j}].value"),
                                    "emails",
                                    "is empty".into(),
                                )
                            })?;
                    let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
                    emails.push((primary, value.to_lowercase()));
                }
            }
            Some(_) => {
                return Err(err(
                    format!("{at}.emails"),
                    "emails",
                    "expected an array".into(),
                ))
            }
        }
        // Primary first, then the order given.
        emails.sort_by_key(|(primary, _)| !*primary);
        let mut all: Vec<String> = emails.into_iter().map(|(_, e)| e).collect();
        if let Some(u) = user_name.as_deref().filter(|u| u.contains('@')) {
            all.push(u.to_lowercase());
        }
        all.dedup();
        if all.is_empty() {
            return Err(err(
                format!("{at}.emails"),
                "emails",
                "no email: give `emails` or a userName that is an email".into(),
            ));
        }
        let email = all.remove(0);
        let aliases: Vec<String> = all.into_iter().filter(|a| *a != email).collect();
        let status = match obj.get("active") {
            None | Some(Value::Null) => HrStatus::Active,
            Some(Value::Bool(true)) => HrStatus::Active,
            Some(Value::Bool(false)) => HrStatus::Leaver,
            Some(_) => {
                return Err(err(
                    format!("{at}.active"),
                    "active",
                    "expected true or false".into(),
                ))
            }
        };
        let name = obj
            .get("name")
            .and_then(|n| n.get("formatted"))
            .and_then(Value::as_str)
            .or_else(|| obj.get("displayName").and_then(Value::as_str))
            .map(str::to_string);
        let department = str_at(
            ent.and_then(|e| e.get("department")),
            format!("{at}[\"{ENTERPRISE}\"].department"),
            "department",
        )?;
        let manager = str_at(
            ent.and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value")),
            format!("{at}[\"{ENTERPRISE}\"].manager.value"),
            "manager",
        )?;
        let title = str_at(obj.get("title"), format!("{at}.title"), "title")?;
        let mut attributes = BTreeMap::new();
        if let Some(u) = user_name {
            attributes.insert("userName".to_string(), u);
        }
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            attributes.insert("scim_id".to_string(), id.to_string());
        }
        ids.check(path, &Location::JsonPath(at.clone()), &employee_id)?;
        people.push(PersonRecord {
            employee_id,
            email,
            name,
            status,
            terminated_at: None,
            department,
            title,
            manager,
            aliases,
            github_login: None,
            gitlab_user: None,
            aws_user: None,
            role_changed_at: None,
            attributes,
        });
    }
    Ok(people)
}
