//! SCIM 2.0 (RFC 7643/7644): a `ListResponse` whose `Resources` are `User` resources.
//!
//! `active: false` is a leaver. The employee id is the enterprise extension's `employeeNumber`, else
//! `externalId`. The email is the primary entry of `emails`, else the first, else a `userName` that
//! is an email; the others become aliases. `department` and `manager.value` come from the enterprise
//! extension, `title` from the core schema.

use super::{HrError, HrStatus, Location, PersonRecord, UniqueIds};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Reads a SCIM `ListResponse` into one record per `User`, in order.
pub fn read(path: &Path, text: &str) -> Result<Vec<PersonRecord>, HrError> {
    let r = Reader { path };
    let doc: Value = serde_json::from_str(text).map_err(|e| super::json::syntax_error(path, e))?;
    let Some(resources) = r.resources(&doc)? else {
        return Ok(Vec::new());
    };
    let mut people = Vec::with_capacity(resources.len());
    let mut ids = UniqueIds::new();
    for (i, user) in resources.iter().enumerate() {
        let at = format!("$.Resources[{i}]");
        let record = r.user(&at, user)?;
        ids.check(path, &Location::JsonPath(at), &record.employee_id)?;
        people.push(record);
    }
    Ok(people)
}

/// One file being read: every error names it and the JSON path of the offending value.
struct Reader<'a> {
    path: &'a Path,
}

impl Reader<'_> {
    fn err(&self, at: String, field: &str, message: &str) -> HrError {
        HrError::Invalid {
            file: self.path.to_path_buf(),
            location: Location::JsonPath(at),
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    /// A trimmed string (numbers accepted as their text); absent, null or blank is `None`.
    fn string(
        &self,
        v: Option<&Value>,
        at: String,
        field: &str,
    ) -> Result<Option<String>, HrError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(at, field, "expected a string")),
        }
    }

    /// The `Resources` of a document that names the `ListResponse` schema; `None` when absent.
    fn resources<'d>(&self, doc: &'d Value) -> Result<Option<&'d Vec<Value>>, HrError> {
        let names_list = doc
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(LIST_RESPONSE)));
        if !names_list {
            let message = format!("must name {LIST_RESPONSE}");
            return Err(self.err("$.schemas".into(), "schemas", &message));
        }
        let resources = match doc.get("Resources") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(r)) => r,
            Some(_) => {
                return Err(self.err("$.Resources".into(), "Resources", "expected an array"))
            }
        };
        // One page of a paged response is not the directory: the people on the other pages
        // would all look like leavers.
        if let Some(total) = doc.get("totalResults").and_then(Value::as_u64) {
            if (resources.len() as u64) < total {
                let message = format!(
                    "holds {} of {total} resources (`totalResults`): one page of a paged \
                     response; export every page into one list",
                    resources.len()
                );
                return Err(self.err("$.Resources".into(), "Resources", &message));
            }
        }
        Ok(Some(resources))
    }

    /// One `User` resource at JSON path `at`.
    fn user(&self, at: &str, user: &Value) -> Result<PersonRecord, HrError> {
        let obj = user
            .as_object()
            .ok_or_else(|| self.err(at.into(), "Resources", "expected a User object"))?;
        let ent = obj.get(ENTERPRISE);
        let employee_id = self.employee_id(at, obj, ent)?;
        let user_name = self.string(obj.get("userName"), format!("{at}.userName"), "userName")?;
        let (email, aliases) = self.emails(at, obj, user_name.as_deref())?;
        let status = match obj.get("active") {
            None | Some(Value::Null) | Some(Value::Bool(true)) => HrStatus::Active,
            Some(Value::Bool(false)) => HrStatus::Leaver,
            Some(_) => {
                return Err(self.err(format!("{at}.active"), "active", "expected true or false"))
            }
        };
        let name = obj
            .get("name")
            .and_then(|n| n.get("formatted"))
            .and_then(Value::as_str)
            .or_else(|| obj.get("displayName").and_then(Value::as_str))
            .map(str::to_string);
        let department = self.string(
            ent.and_then(|e| e.get("department")),
            format!("{at}[\"{ENTERPRISE}\"].department"),
            "department",
        )?;
        let manager = self.string(
            ent.and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value")),
            format!("{at}[\"{ENTERPRISE}\"].manager.value"),
            "manager",
        )?;
        let title = self.string(obj.get("title"), format!("{at}.title"), "title")?;
        let mut attributes = BTreeMap::new();
        if let Some(u) = user_name {
            attributes.insert("userName".to_string(), u);
        }
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            attributes.insert("scim_id".to_string(), id.to_string());
        }
        Ok(PersonRecord {
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
        })
    }

    /// The enterprise extension's `employeeNumber`, else `externalId`.
    fn employee_id(
        &self,
        at: &str,
        obj: &Map<String, Value>,
        ent: Option<&Value>,
    ) -> Result<String, HrError> {
        let employee_number = self.string(
            ent.and_then(|e| e.get("employeeNumber")),
            format!("{at}[\"{ENTERPRISE}\"].employeeNumber"),
            "employeeNumber",
        )?;
        let external_id = self.string(
            obj.get("externalId"),
            format!("{at}.externalId"),
            "externalId",
        )?;
        employee_number.or(external_id).ok_or_else(|| {
            self.err(
                format!("{at}.externalId"),
                "employeeNumber",
                "no employee id: set the enterprise extension's employeeNumber or externalId",
            )
        })
    }

    /// The primary email (the primary entry of `emails`, else the first, else a `userName` that
    /// is an email) and the others as aliases, lower-cased.
    fn emails(
        &self,
        at: &str,
        obj: &Map<String, Value>,
        user_name: Option<&str>,
    ) -> Result<(String, Vec<String>), HrError> {
        let mut emails: Vec<(bool, String)> = Vec::new();
        match obj.get("emails") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (j, e) in list.iter().enumerate() {
                    let value_at = format!("{at}.emails[{j}].value");
                    let value = self
                        .string(e.get("value"), value_at.clone(), "emails")?
                        .ok_or_else(|| self.err(value_at, "emails", "is empty"))?;
                    let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
                    emails.push((primary, value.to_lowercase()));
                }
            }
            Some(_) => return Err(self.err(format!("{at}.emails"), "emails", "expected an array")),
        }
        // Primary first, then the order given.
        emails.sort_by_key(|(primary, _)| !*primary);
        let mut all: Vec<String> = emails.into_iter().map(|(_, e)| e).collect();
        if let Some(u) = user_name.filter(|u| u.contains('@')) {
            all.push(u.to_lowercase());
        }
        all.dedup();
        if all.is_empty() {
            return Err(self.err(
                format!("{at}.emails"),
                "emails",
                "no email: give `emails` or a userName that is an email",
            ));
        }
        let email = all.remove(0);
        let aliases: Vec<String> = all.into_iter().filter(|a| *a != email).collect();
        Ok((email, aliases))
    }
}
