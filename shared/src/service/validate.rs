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
