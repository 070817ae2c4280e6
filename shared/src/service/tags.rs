//! Ticket tags: normalised on the way in, counted per tenant without reading tickets.

use crate::{
    db::tags as tags_db,
    error::{Error, FieldError},
    model::TagList,
    security::{Credential, Requires},
    state::AppState,
};

pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
/// GET /tags answers at most this many tags, the most used first.
pub const MAX_LISTED: i64 = 1000;

/// Lower-case, trimmed, each once in the order first given; at most [`MAX_TAGS`], each 1 to
/// [`MAX_TAG_CHARS`] characters without control characters.
pub fn normalise(given: &[String]) -> Result<Vec<String>, Error> {
    let mut tags: Vec<String> = Vec::with_capacity(given.len().min(MAX_TAGS));
    let mut errors = Vec::new();
    for (i, raw) in given.iter().enumerate() {
        let tag = raw.trim().to_lowercase();
        let chars = tag.chars().count();
        if chars == 0 || chars > MAX_TAG_CHARS {
            errors.push(FieldError::new(format!("tags[{i}]"), format!("must be 1 to {MAX_TAG_CHARS} characters")));
        } else if tag.chars().any(char::is_control) {
            errors.push(FieldError::new(format!("tags[{i}]"), "must not contain control characters"));
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        errors.push(FieldError::new("tags", format!("must hold at most {MAX_TAGS} different tags")));
    }
    if errors.is_empty() { Ok(tags) } else { Err(Error::Validation(errors)) }
}

/// A tag as a filter (`?tag=`): normalised as stored, or a 400.
pub fn filter(raw: &str) -> Result<String, Error> {
    normalise(&[raw.to_owned()])
        .ok()
        .and_then(|mut tags| tags.pop())
        .ok_or_else(|| Error::invalid_parameter("tag", format!("must be 1 to {MAX_TAG_CHARS} characters")))
}

/// The tenant's tags with how many tickets carry each, the most used first.
pub async fn list(state: &AppState, caller: &Credential) -> Result<TagList, Error> {
    let (tx, principal) = state.db.begin_as(caller, Requires::Member).await?;
    let items = tags_db::manager::counts(&tx, principal.tenant_id, MAX_LISTED).await?;
    tx.commit().await?;
    Ok(TagList { items })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn tags_are_lower_case_trimmed_and_each_once() {
        assert_eq!(
            normalise(&owned(&[" Billing", "billing", "VIP ", "vip", "Ünïcode"])).unwrap(),
            ["billing", "vip", "ünïcode"]
        );
    }

    #[test]
    fn bounds_are_counted_after_normalising() {
        let many: Vec<String> = (0..25).map(|i| format!("t{}", i % 20)).collect();
        assert_eq!(normalise(&many).unwrap().len(), 20);
        let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalise(&too_many).is_err());
        assert!(normalise(&owned(&["  "])).is_err());
        assert!(normalise(&["x".repeat(51)]).is_err());
        assert!(normalise(&["é".repeat(50)]).is_ok(), "characters, not bytes");
        assert!(normalise(&owned(&["a\u{0}b"])).is_err());
    }
}
