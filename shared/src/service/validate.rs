//! Small checks shared by input types.

use validator::ValidationError;

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
