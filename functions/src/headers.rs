//! Security headers on every answer: controller responses, problems, `crm-local`'s own
//! 404/405/413, and the docs. Applied in one place ([`crate::invoke::dispatch`], and
//! `crm-local`'s gateway answers), never by each controller.
//!
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
//! - `Cache-Control: no-store` unless the response chose its own caching: API answers carry
//!   tokens and tenant data that no shared or browser cache may keep. The docs' vendored
//!   assets say `public, max-age=…` themselves and keep it.
//! - A Content-Security-Policy: the docs page may load its own scripts and styles (Swagger
//!   UI injects inline styles and `data:` images; its one start-up script is a file,
//!   `/api-docs/assets/swagger-initializer.js`, so no inline script is allowed). Every other
//!   answer is data, never a document: `default-src 'none'`.

use lambda_http::{
    Body, Response,
    http::{HeaderMap, HeaderValue, header},
};

pub const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers to `response`, keeping a `Cache-Control` it already has.
pub fn secure(mut response: Response<Body>) -> Response<Body> {
    apply(response.headers_mut());
    response
}

/// The same, on a bare header map (for answers built outside `lambda_http`).
pub fn apply(headers: &mut HeaderMap) {
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("text/html"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if html { DOCS_CSP } else { API_CSP }));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_answers_are_not_stored_and_docs_keep_their_caching() {
        let api = secure(Response::builder().header("content-type", "application/json").body(Body::Empty).unwrap());
        assert_eq!(api.headers()["cache-control"], "no-store");
        assert_eq!(api.headers()["x-content-type-options"], "nosniff");
        assert_eq!(api.headers()["x-frame-options"], "DENY");
        assert_eq!(api.headers()["referrer-policy"], "no-referrer");
        assert_eq!(api.headers()["content-security-policy"], API_CSP);
        let page = secure(
            Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .header("cache-control", "no-cache")
                .body(Body::Empty)
                .unwrap(),
        );
        assert_eq!(page.headers()["cache-control"], "no-cache");
        assert_eq!(page.headers()["content-security-policy"], DOCS_CSP);
    }
}
