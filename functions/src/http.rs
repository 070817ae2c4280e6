//! Request and response helpers every controller shares.

use crm_core::{
    AppState, Error,
    pagination::{Page, PageRequest},
    request,
    security::Credential,
    service::{
        MAX_DATE_TIME_CHARS,
        idempotency::{self, Created, IdempotencyKey},
    },
};
use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode, http::header, request::RequestContext};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;
use validator::Validate;

use crate::HandlerResult;

/// The JSON body, size-limited, typed and validated (see `crm_core::request`).
pub fn json_body<T: DeserializeOwned + Validate>(req: &Request) -> Result<T, Error> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    request::json_body(content_type, req.body().as_ref())
}

/// Who `Authorization: Bearer` names; also names them in this request's log line. What
/// they may do is decided by the service's unit of work, from the database.
pub fn credential(state: &AppState, req: &Request) -> Result<Credential, Error> {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let credential = state.tokens()?.authenticate(authorization)?;
    let span = tracing::Span::current();
    if let Some(tenant) = credential.tenant_id() {
        span.record("tenant_id", tracing::field::display(tenant));
    }
    if let Some(user) = credential.user_id() {
        span.record("user_id", tracing::field::display(user));
    }
    if let Some(prefix) = credential.api_key_prefix() {
        span.record("api_key", prefix);
    }
    Ok(credential)
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`), never a
/// header the client could set.
pub fn source_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    }
}

/// A path parameter (API Gateway fills `pathParameters` from the route template).
pub fn path_param(req: &Request, name: &'static str) -> Result<String, Error> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid_parameter(name, "is required"))
}

/// A UUID path parameter.
pub fn path_uuid(req: &Request, name: &'static str) -> Result<Uuid, Error> {
    Uuid::parse_str(&path_param(req, name)?).map_err(|_| Error::invalid_parameter(name, "must be a UUID"))
}

/// A query parameter, if present and not empty.
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name)).filter(|v| !v.is_empty()).map(str::to_owned)
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HandlerResult {
    let body = serde_json::to_string(value).map_err(|e| Error::Internal(format!("serialize response: {e}")))?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .map_err(|e| Error::Internal(format!("build response: {e}")))
}

/// `limit` and `cursor`, validated: every list route pages the same way.
pub fn page(req: &Request) -> Result<PageRequest, Error> {
    PageRequest::parse(query(req, "limit").as_deref(), query(req, "cursor").as_deref())
}

/// `limit` and `cursor` of a list answered as a bare JSON array (the timeline): the
/// largest page by default, as `page` validates them.
pub fn widest_page(req: &Request) -> Result<PageRequest, Error> {
    PageRequest::parse_widest(query(req, "limit").as_deref(), query(req, "cursor").as_deref())
}

/// A page answered as a bare JSON array, the next page named by an RFC 8288 `Link` header
/// (`rel="next"`). The link is a query-only reference, so it resolves against whatever
/// URL the client used, API Gateway stage prefix included.
pub fn json_array_page<T: Serialize>(page: &Page<T>, limit: i64) -> HandlerResult {
    let mut response = json(StatusCode::OK, &page.items)?;
    if let Some(cursor) = &page.next_cursor {
        let link = format!("<?limit={limit}&cursor={cursor}>; rel=\"next\"");
        let value = header::HeaderValue::from_str(&link).map_err(|e| Error::Internal(format!("link header: {e}")))?;
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// Search text is capped so a `q` cannot make every LIKE comparison arbitrarily long. A
/// short `q` can still cost a long scan (too few trigrams to narrow it); the 5 s
/// statement_timeout is what stops that.
const MAX_SEARCH_CHARS: usize = 200;

/// The `q` search parameter, if given, at most 200 characters.
pub fn search(req: &Request) -> Result<Option<String>, Error> {
    match query(req, "q") {
        Some(q) if q.chars().count() > MAX_SEARCH_CHARS => {
            Err(Error::invalid_parameter("q", format!("must be at most {MAX_SEARCH_CHARS} characters")))
        }
        // PostgreSQL text cannot hold U+0000: refused here rather than failing as a 500.
        Some(q) if q.contains('\0') => Err(Error::invalid_parameter("q", "must not contain the character U+0000")),
        q => Ok(q),
    }
}

/// A query parameter parsed into `T` (an enum, a UUID), with a field error naming it.
pub fn query_parsed<T: std::str::FromStr>(
    req: &Request,
    name: &'static str,
    expected: &str,
) -> Result<Option<T>, Error> {
    query(req, name)
        .map(|raw| raw.parse::<T>().map_err(|_| Error::invalid_parameter(name, format!("must be {expected}"))))
        .transpose()
}

/// A query parameter holding an RFC 3339 instant, bounded as date-times in bodies are.
pub fn query_date_time(req: &Request, name: &'static str) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    match query(req, name) {
        Some(raw) if raw.chars().count() > MAX_DATE_TIME_CHARS => {
            Err(Error::invalid_parameter(name, format!("must be at most {MAX_DATE_TIME_CHARS} characters")))
        }
        raw => raw
            .map(|raw| {
                chrono::DateTime::parse_from_rfc3339(&raw).map(|at| at.to_utc()).map_err(|_| {
                    Error::invalid_parameter(name, "must be an RFC 3339 date-time, e.g. 2026-12-01T09:00:00Z")
                })
            })
            .transpose(),
    }
}

/// The `Idempotency-Key` header, validated, if the client sent one.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, Error> {
    match req.headers().get(idempotency::HEADER) {
        None => Ok(None),
        Some(value) => {
            let raw =
                value.to_str().map_err(|_| Error::invalid_parameter(idempotency::HEADER, "must be visible ASCII"))?;
            IdempotencyKey::parse(raw).map(Some)
        }
    }
}

/// 201 with the new resource, or the stored answer to a retried request with its key.
pub fn created<T: Serialize>(outcome: Created<T>) -> HandlerResult {
    match outcome {
        Created::New(value) => json(StatusCode::CREATED, &value),
        Created::Replayed(replay) => {
            let status =
                StatusCode::from_u16(replay.status).map_err(|e| Error::Internal(format!("stored status: {e}")))?;
            let mut response = json(status, &replay.body)?;
            response.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

pub fn no_content() -> HandlerResult {
    empty(StatusCode::NO_CONTENT)
}

/// An answer without a body.
pub fn empty(status: StatusCode) -> HandlerResult {
    Response::builder().status(status).body(Body::Empty).map_err(|e| Error::Internal(format!("build response: {e}")))
}
