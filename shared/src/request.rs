//! Request-body parsing shared by every function, so AWS and `crm-local` behave alike:
//! one size limit, one content-type rule, one way of naming a bad field.

use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{Error, FieldError};

/// 1 MiB: far above any legitimate CRM body, far below API Gateway's 10 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// No CRM body nests beyond a few levels; deeper JSON is refused (400) before parsing, so
/// a body of brackets cannot spend the parser's stack or time.
pub const MAX_JSON_DEPTH: usize = 32;

/// Parses and validates a JSON body. `content_type` is the request's header, if any.
pub fn json_body<T: DeserializeOwned + Validate>(content_type: Option<&str>, body: &[u8]) -> Result<T, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if !is_json(content_type) {
        return Err(Error::UnsupportedMediaType);
    }
    check_depth(body)?;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(Error::MalformedBody("the request body is empty; a JSON object is expected".into()));
        }
        Some(b'{') => {}
        // serde's derives also accept a struct as an array of its fields; our API does not.
        // Malformed JSON stays a 400; well-formed JSON of the wrong kind is a 422.
        Some(_) => {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(|e| describe(".".into(), e))?;
            return Err(Error::validation("body", "must be a JSON object"));
        }
    }
    refuse_nul(body)?;
    let value: T = deserialize(body)?;
    value.validate().map_err(|e| Error::Validation(field_errors(&e)))?;
    Ok(value)
}

fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`]: one pass over the bytes, skipping
/// strings (and their escapes), counting brackets.
fn check_depth(body: &[u8]) -> Result<(), Error> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(Error::MalformedBody(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// PostgreSQL text cannot hold U+0000, so a string carrying one would fail at the
/// database as a 500. Refused here instead (422 naming the field). The scan for the escape
/// is cheap; only a body that has one is parsed a second time to find the field.
fn refuse_nul(body: &[u8]) -> Result<(), Error> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(()); // malformed: the typed parse names the problem
    };
    match nul_path(&value, "") {
        Some(path) => Err(Error::validation(
            if path.is_empty() { "body".to_owned() } else { path },
            "must not contain the character U+0000",
        )),
        None => Ok(()),
    }
}

fn nul_path(value: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let field = join_path(if at.is_empty() { "." } else { at }, k);
            if k.contains('\0') { Some(field) } else { nul_path(v, &field) }
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

fn deserialize<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        describe(path, e.into_inner())
    })?;
    // Trailing bytes after the object are as malformed as a missing brace.
    de.end().map_err(|e| describe(".".into(), e))?;
    Ok(value)
}

/// Turns serde's error into a problem: syntax → 400, wrong shape → 422 naming the field.
fn describe(path: String, err: serde_json::Error) -> Error {
    use serde_json::error::Category;
    let message = strip_location(&err.to_string());
    match err.classify() {
        // Well-formed JSON whose number no field can hold (1e400): the field's fault, not
        // the syntax's.
        Category::Syntax if message.starts_with("number out of range") && path != "." => {
            Error::Validation(vec![FieldError::new(path, "is a number out of range")])
        }
        Category::Syntax | Category::Eof | Category::Io => Error::MalformedBody(format!("malformed JSON: {message}")),
        Category::Data => {
            // serde names missing and unknown fields in backticks, at the parent's path.
            let named = backticked(&message);
            let names_a_field =
                ["missing field", "unknown field", "duplicate field"].iter().any(|p| message.starts_with(p));
            let field = match (names_a_field, named) {
                // A missing field is reported at its parent, an unknown one at itself.
                (true, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path,
                (true, Some(name)) => join_path(&path, name),
                _ if path == "." => "body".to_owned(),
                _ => path,
            };
            let message = if message.starts_with("unknown field") {
                "is not a field of this request".to_owned()
            } else if message.starts_with("missing field") {
                "is required".to_owned()
            } else if message.starts_with("duplicate field") {
                "appears more than once".to_owned()
            } else {
                message
            };
            Error::Validation(vec![FieldError::new(field, message)])
        }
    }
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join_path(parent: &str, field: &str) -> String {
    if parent == "." { field.to_owned() } else { format!("{parent}.{field}") }
}

/// Flattens validator's tree into `[{field, message}]`, camelCasing Rust field names.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let name = format!("{prefix}{}", camel_case(field));
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message =
                        e.message.as_deref().map(str::to_owned).unwrap_or_else(|| format!("is invalid ({})", e.code));
                    out.push(FieldError::new(name.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &format!("{name}."), out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{name}[{i}]."), out);
                }
            }
        }
    }
}

fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Sample {
        #[validate(length(min = 1, message = "must not be empty"))]
        tenant_name: String,
        age: Option<u8>,
    }

    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    fn fields(err: Error) -> Vec<(String, String)> {
        match err {
            Error::Validation(list) => list.into_iter().map(|f| (f.field, f.message)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_valid_body() {
        let s: Sample = json_body(JSON, br#"{"tenantName":"Acme","age":3}"#).unwrap();
        assert_eq!((s.tenant_name.as_str(), s.age), ("Acme", Some(3)));
    }

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        assert_eq!(
            fields(json_body::<Sample>(JSON, b"{}").unwrap_err()),
            [("tenantName".into(), "is required".into())]
        );
        let unknown = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","admin":true}"#).unwrap_err());
        assert_eq!(unknown[0].0, "admin");
        let typed = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","age":"old"}"#).unwrap_err());
        assert_eq!(typed[0].0, "age");
        let empty = fields(json_body::<Sample>(JSON, br#"{"tenantName":""}"#).unwrap_err());
        assert_eq!(empty, [("tenantName".into(), "must not be empty".into())]);
    }

    #[test]
    fn rejects_duplicate_keys_deep_nesting_and_numbers_out_of_range() {
        let dup = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","tenantName":"b"}"#).unwrap_err());
        assert_eq!(dup, [("tenantName".into(), "appears more than once".into())]);
        let deep = format!("{{\"tenantName\":\"a\",\"x\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert!(matches!(json_body::<Sample>(JSON, deep.as_bytes()), Err(Error::MalformedBody(m)) if m.contains("32")));
        // Brackets inside strings are text, not nesting.
        let text = format!("{{\"tenantName\":\"{}\\\"\"}}", "[".repeat(40));
        assert!(json_body::<Sample>(JSON, text.as_bytes()).is_ok(), "{text}");
        let huge = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","age":1e400}"#).unwrap_err());
        assert_eq!(huge[0].0, "age");
        let big =
            fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","age":99999999999999999999999}"#).unwrap_err());
        assert_eq!(big[0].0, "age");
        let wide = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a","age":256}"#).unwrap_err());
        assert_eq!(wide[0].0, "age");
        assert!(matches!(json_body::<Sample>(JSON, br#"{"tenantName":"a","age":NaN}"#), Err(Error::MalformedBody(_))));
        let nul = fields(json_body::<Sample>(JSON, br#"{"tenantName":"a\u0000b"}"#).unwrap_err());
        assert_eq!(nul[0].0, "tenantName");
        let escaped = json_body::<Sample>(JSON, br#"{"tenantName":"a\\u0000b"}"#).unwrap();
        assert_eq!(escaped.tenant_name, "a\\u0000b", "an escaped backslash is not U+0000");
    }

    #[test]
    fn rejects_malformed_oversized_and_non_json_bodies() {
        assert!(matches!(json_body::<Sample>(JSON, b"{\"tenantName\":"), Err(Error::MalformedBody(_))));
        assert!(matches!(json_body::<Sample>(JSON, br#"{"tenantName":"a"} x"#), Err(Error::MalformedBody(_))));
        assert!(matches!(json_body::<Sample>(JSON, b""), Err(Error::MalformedBody(_))));
        assert!(matches!(json_body::<Sample>(JSON, br#"["Acme", 3]"#), Err(Error::Validation(_))));
        assert!(matches!(json_body::<Sample>(JSON, b"null"), Err(Error::Validation(_))));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(json_body::<Sample>(JSON, &big), Err(Error::PayloadTooLarge { .. })));
        assert!(matches!(json_body::<Sample>(Some("text/plain"), b"{}"), Err(Error::UnsupportedMediaType)));
        assert!(matches!(json_body::<Sample>(None, b"{}"), Err(Error::UnsupportedMediaType)));
    }
}
