//! The domain error: what every layer above the DB managers speaks, mapped once to
//! RFC 9457 problem+json in [`Error::problem`].

use serde::Serialize;

/// One invalid input field, named as the client spelled it (camelCase, or a query parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body parsed but its values break the contract (422).
    #[error("the request body has invalid fields")]
    Validation(Vec<FieldError>),
    /// Path or query parameters are malformed (400).
    #[error("the request has invalid parameters")]
    InvalidParameters(Vec<FieldError>),
    /// The body is not JSON at all (400).
    #[error("{0}")]
    MalformedBody(String),
    /// A mailed single-use token that is used, expired or unknown (400).
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A file declared larger than the store takes (413).
    #[error("the file exceeds the limit of {limit} bytes")]
    FileTooLarge { limit: u64 },
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("no route matches this path")]
    NoRoute,
    #[error("this path does not accept that method")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("too many requests, retry later")]
    TooManyRequests { retry_after_secs: u64 },
    /// The caller's tenant has used up its request quota for now (429).
    #[error("your organisation has used up its request quota for now; retry after the time Retry-After gives")]
    QuotaExceeded(Box<crate::quota::Status>),
    /// A dependency (the database, the queue) cannot be reached right now (503).
    #[error("a dependency is unavailable, retry later")]
    Unavailable(String),
    /// A bug or an unexpected failure; its text is logged, never shown (500).
    #[error("internal error")]
    Internal(String),
}

/// RFC 9457 problem details, with our two extensions (`errors`, `requestId`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = String)]
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
const PROBLEM_BASE: &str = "https://simplecrm.dev/problems/";

impl Error {
    pub fn status(&self) -> u16 {
        match self {
            Error::Validation(_) => 422,
            Error::InvalidParameters(_) | Error::MalformedBody(_) | Error::InvalidToken(_) => 400,
            Error::Unauthorized(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) | Error::NoRoute => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::Conflict(_) => 409,
            Error::PayloadTooLarge { .. } | Error::FileTooLarge { .. } => 413,
            Error::UnsupportedMediaType => 415,
            Error::TooManyRequests { .. } | Error::QuotaExceeded(_) => 429,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Error::Validation(_) => ("validation", "Your request is not valid"),
            Error::InvalidParameters(_) => ("invalid-parameters", "Your request parameters are not valid"),
            Error::MalformedBody(_) => ("malformed-body", "Your request body is not valid JSON"),
            Error::InvalidToken(_) => ("invalid-token", "The link's token is not valid"),
            Error::Unauthorized(_) => ("unauthorized", "Authentication is required"),
            Error::Forbidden(_) => ("forbidden", "You may not do this"),
            Error::NotFound(_) => ("not-found", "Not found"),
            Error::NoRoute => ("no-route", "Not found"),
            Error::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            Error::Conflict(_) => ("conflict", "Conflict"),
            Error::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            Error::FileTooLarge { .. } => ("file-too-large", "File too large"),
            Error::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            Error::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Error::QuotaExceeded(_) => ("tenant-quota-exceeded", "Tenant request quota exceeded"),
            Error::Unavailable(_) => ("unavailable", "Service unavailable"),
            Error::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The problem+json body a client sees. Internal and dependency details stay in the logs.
    pub fn problem(&self, instance: Option<String>, request_id: Option<String>) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            Error::Unavailable(_) => "a dependency is unavailable, retry later".to_owned(),
            other => other.to_string(),
        };
        let errors = match self {
            Error::Validation(errors) | Error::InvalidParameters(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: self.status(),
            detail,
            instance,
            errors,
            request_id,
        }
    }

    /// Extra headers the status calls for (RFC 9110 §15.5.2, §15.5.6, RFC 6585 §4).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::Unauthorized(_) => vec![("www-authenticate", "Bearer".to_owned())],
            Error::MethodNotAllowed { allow } => vec![("allow", allow.join(", "))],
            Error::TooManyRequests { retry_after_secs } => {
                vec![("retry-after", retry_after_secs.to_string())]
            }
            Error::QuotaExceeded(status) => status.headers(),
            Error::Unavailable(_) => vec![("retry-after", "5".to_owned())],
            _ => Vec::new(),
        }
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    pub fn invalid_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParameters(vec![FieldError::new(field, message)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_client() {
        let p = Error::Internal("db password is hunter2".into()).problem(None, None);
        assert_eq!(p.status, 500);
        assert!(!serde_json::to_string(&p).unwrap().contains("hunter2"));
        let p = Error::Unavailable("connection refused to 10.0.0.1".into()).problem(None, None);
        assert!(!p.detail.contains("10.0.0.1"));
    }

    #[test]
    fn validation_problems_list_their_fields() {
        let p = Error::validation("email", "must be an email address").problem(Some("/x".into()), Some("r1".into()));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"][0]["field"], "email");
        assert_eq!(json["requestId"], "r1");
        assert_eq!(json["type"], "https://simplecrm.dev/problems/validation");
    }
}
