//! Small checks shared by input types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, de::IntoDeserializer};
use validator::ValidationError;

/// The longest RFC 3339 date-time with nanoseconds and an offset,
/// `2026-11-25T10:11:12.123456789+05:30`.
pub const MAX_DATE_TIME_CHARS: usize = 35;

pub(crate) fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// Emails compare case-insensitively and without surrounding space.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Digits, spaces and the usual separators, optionally after a leading `+`.
pub(crate) fn phone_number(value: &str) -> Result<(), ValidationError> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    let ok = digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '.' | '-'));
    if ok { Ok(()) } else { Err(ValidationError::new("phone").with_message("must be a phone number".into())) }
}

/// An optional date-time of at most [`MAX_DATE_TIME_CHARS`] characters, parsed as serde
/// parses it otherwise. The parser would skip any number of fraction digits, so without
/// this a single field could be as long as the whole body.
pub(crate) fn bounded_date_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(raw) if raw.chars().count() > MAX_DATE_TIME_CHARS => {
            Err(serde::de::Error::custom(format!("must be at most {MAX_DATE_TIME_CHARS} characters")))
        }
        Some(raw) => DateTime::<Utc>::deserialize(raw.into_deserializer()).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct At {
        #[serde(default, deserialize_with = "bounded_date_time")]
        at: Option<DateTime<Utc>>,
    }

    #[test]
    fn date_times_are_bounded_and_parsed_as_before() {
        let parse = |json: &str| serde_json::from_str::<At>(json).map(|a| a.at);
        assert_eq!(parse("{}").unwrap(), None);
        assert_eq!(parse(r#"{"at":null}"#).unwrap(), None);
        let longest = "2026-11-25T10:11:12.123456789+05:30";
        assert_eq!(longest.len(), MAX_DATE_TIME_CHARS);
        assert_eq!(parse(&format!(r#"{{"at":"{longest}"}}"#)).unwrap(), Some(longest.parse().unwrap()));
        assert!(
            parse(r#"{"at":"2026-11-25T10:11:12.1234567890+05:30"}"#).unwrap_err().to_string().contains("at most 35")
        );
        assert!(parse(r#"{"at":"tomorrow"}"#).is_err());
    }
}
