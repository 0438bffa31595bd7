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
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                Value::Object(_) => v.to_string(),
            };
            fields.insert(k.to_ascii_lowercase(), text);
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
