//! The plain JSON HR format: an array of objects with the CSV field names. Values may be strings,
//! numbers or booleans; `emails` may also be an array. Errors name the JSON path (`$[3].email`).

use super::{HrError, Location, PersonRecord, RawPerson, UniqueIds};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) fn syntax_error(path: &Path, e: serde_json::Error) -> HrError {
    HrError::Invalid {
        file: path.to_path_buf(),
        location: Location::Line(e.line() as u64),
        field: "document".into(),
        message: format!("malformed JSON: {e}"),
    }
}

pub fn read(path: &Path, text: &str) -> Result<Vec<PersonRecord>, HrError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| syntax_error(path, e))?;
    let items = doc.as_array().ok_or_else(|| HrError::Invalid {
        file: path.to_path_buf(),
        location: Location::JsonPath("$".into()),
        field: "document".into(),
        message: "expected an array of person objects".into(),
    })?;
    let mut people = Vec::with_capacity(items.len());
    let mut ids = UniqueIds::new();
    for (i, item) in items.iter().enumerate() {
        let at = Location::JsonPath(format!("$[{i}]"));
        let obj = item.as_object().ok_or_else(|| HrError::Invalid {
            file: path.to_path_buf(),
            location: at.clone(),
            field: "person".into(),
            message: "expected an object".into(),
        })?;
        let mut fields = BTreeMap::new();
        for (k, v) in obj {
            let key = k.to_ascii_lowercase();
            let Some(text) = field_text(path, &format!("$[{i}].{k}"), &key, v)? else {
                continue;
            };
            fields.insert(key, text);
        }
        let person = RawPerson {
            path,
            at: at.clone(),
            fields,
        }
        .into_record()?;
        ids.check(
            path,
            &Location::JsonPath(format!("$[{i}].employee_id")),
            &person.employee_id,
        )?;
        people.push(person);
    }
    Ok(people)
}

/// Fields that name one thing: an object or an array there is a broken export, not a value.
const SCALAR_FIELDS: [&str; 8] = [
    "employee_id",
    "email",
    "manager",
    "github_login",
    "gitlab_user",
    "aws_user",
    "status",
    "termination_date",
];

/// The largest integer a JSON number holds exactly (2^53): an id beyond it has lost digits on
/// the way (most JSON producers use doubles), so two people could share it.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The text of one field of a person object, `None` for `null`; errors name the JSON path.
fn field_text(path: &Path, at: &str, key: &str, v: &Value) -> Result<Option<String>, HrError> {
    let wrong = |message: String| HrError::Invalid {
        file: path.to_path_buf(),
        location: Location::JsonPath(at.to_string()),
        field: key.to_string(),
        message,
    };
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let exact = n
                .as_u64()
                .map(|u| u <= MAX_EXACT_INTEGER)
                .or_else(|| n.as_i64().map(|i| i.unsigned_abs() <= MAX_EXACT_INTEGER))
                .unwrap_or(false);
            if !exact && matches!(key, "employee_id" | "manager") {
                return Err(wrong(format!(
                    "the number {n} is beyond 2^53 and may have lost digits; write it as a string"
                )));
            }
            n.to_string()
        }
        Value::Bool(b) => b.to_string(),
        Value::Array(_) | Value::Object(_) if SCALAR_FIELDS.contains(&key) => {
            return Err(wrong(format!(
                "expected a string, found {}",
                if v.is_array() {
                    "an array"
                } else {
                    "an object"
                }
            )))
        }
        Value::Array(a) => {
            let mut parts = Vec::with_capacity(a.len());
            for (j, x) in a.iter().enumerate() {
                match x {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(HrError::Invalid {
                            file: path.to_path_buf(),
                            location: Location::JsonPath(format!("{at}[{j}]")),
                            field: key.to_string(),
                            message: "expected a string".into(),
                        })
                    }
                    other => parts.push(other.to_string()),
                }
            }
            parts.join(";")
        }
        Value::Object(_) => v.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Result<Vec<PersonRecord>, HrError> {
        read(Path::new("hr.json"), text)
    }

    #[test]
    fn an_object_as_an_email_is_an_error_naming_its_json_path() {
        let e = read_str(r#"[{"employee_id": "E1", "email": {"work": "a@example.com"}}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("$[0].email"), "{e}");
        assert!(e.contains("expected a string, found an object"), "{e}");
    }

    #[test]
    fn an_array_as_an_employee_id_is_an_error_naming_its_json_path() {
        let e = read_str(r#"[{"employee_id": ["E1"], "email": "a@example.com"}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("$[0].employee_id"), "{e}");
    }

    #[test]
    fn an_integer_id_beyond_two_to_the_53_is_refused() {
        let e = read_str(r#"[{"employee_id": 9007199254740993, "email": "a@example.com"}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("beyond 2^53"), "{e}");
        let ok = read_str(r#"[{"employee_id": 9007199254740992, "email": "a@example.com"}]"#)
            .expect("2^53 itself is exact");
        assert_eq!(ok[0].employee_id, "9007199254740992");
    }

    #[test]
    fn an_array_of_aliases_is_still_accepted() {
        let people = read_str(
            r#"[{"employee_id": "E1", "email": "a@example.com", "emails": ["b@example.com"]}]"#,
        )
        .expect("aliases as an array");
        assert_eq!(people[0].aliases, vec!["b@example.com".to_string()]);
    }
}
