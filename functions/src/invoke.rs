//! Runs one controller for one request, the same way on Lambda and in `crm-local`:
//! a span naming the request, the problem+json mapping of errors, and one log line.

use std::{future::Future, time::Instant};

use crm_core::{AppState, Error, audit, error::PROBLEM_CONTENT_TYPE, metrics, quota};
use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{Method, header},
    request::RequestContext,
};
use tracing::{Instrument, field};

use crate::HandlerResult;

/// Calls `handler` and always answers: a controller error becomes problem+json, a panic
/// inside it becomes a 500 problem instead of a dead container.
pub async fn dispatch<F, Fut>(function: &'static str, state: AppState, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(AppState, Request) -> Fut,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    let started = Instant::now();
    let request_id = request_id(&req);
    let instance = req.uri().path().to_owned();
    let method = req.method().clone();
    let route = route_key(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        function,
        route = %route,
        method = %method,
        path = %instance,
        tenant_id = field::Empty,
        user_id = field::Empty,
        api_key = field::Empty,
    );
    let db = state.db.clone();
    let context = request_context(function, &req, &route, &request_id);
    let work = handler(state, req).instrument(span.clone());
    // The quota's status is task-local to the spawned task: read before it ends.
    let future = audit::scope(context, quota::scope(async move { (work.await, quota::recorded()) }));
    let (outcome, quota_status) = match tokio::spawn(future).await {
        Ok((result, status)) => (result, status),
        Err(join) => (Err(Error::Internal(format!("handler panicked: {join}"))), None),
    };
    // Before the answer: once it is out, Lambda may freeze the container mid-rollback.
    db.settle().await;
    let response = match outcome {
        Ok(response) => response,
        Err(error) => problem_response(&error, Some(instance), Some(request_id.clone())),
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    metrics::request(&route, status, latency_ms);
    metrics::flush();
    let response = with_quota(response, quota_status.as_ref());
    with_request_id(crate::headers::secure(response), &request_id)
}

/// `RateLimit-Policy` and `RateLimit` on every answer to a request counted against its
/// tenant's quota, so a client sees it coming before the 429.
fn with_quota(mut response: Response<Body>, status: Option<&quota::Status>) -> Response<Body> {
    for (name, value) in status.map(quota::Status::headers).unwrap_or_default() {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `x-request-id` on the answer: the id a problem's `requestId` and the logs carry, for a
/// user to quote to support.
pub fn with_request_id(mut response: Response<Body>, request_id: &str) -> Response<Body> {
    if let Ok(value) = header::HeaderValue::from_str(request_id)
        && !request_id.is_empty()
    {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What the audit log records of the request (crm_core::audit): a write is any method
/// but GET, HEAD and OPTIONS; the target is what the route's path names.
fn request_context(function: &'static str, req: &Request, route: &str, request_id: &str) -> audit::RequestContext {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let template = route.split_once(' ').map_or(route, |(_, path)| path);
    let target = audit::target_of(template);
    let target_id = target
        .as_ref()
        .and_then(|(_, param)| *param)
        .and_then(|param| req.path_parameters_ref().and_then(|p| p.first(param)).map(str::to_owned))
        .and_then(|id| id.parse().ok());
    audit::RequestContext {
        request_id: request_id.to_owned(),
        source_ip: crate::http::source_ip(req),
        action: function,
        writes,
        target_type: target.map(|(name, _)| name),
        target_id,
    }
}

/// API Gateway's route key (`GET /api/v1/users/{id}`), or the method and path without one.
fn route_key(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.route_key.is_some() => ctx.route_key.clone().unwrap_or_default(),
        _ => format!("{} {}", req.method(), req.uri().path()),
    }
}

/// API Gateway's own request id; Lambda's when the event carries none.
fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default()
}

/// The one place an error becomes an HTTP answer.
pub fn problem_response(error: &Error, instance: Option<String>, request_id: Option<String>) -> Response<Body> {
    if let Error::Internal(detail) = error {
        tracing::error!(detail, "internal error");
    }
    let problem = error.problem(instance, request_id);
    let body =
        serde_json::to_string(&problem).unwrap_or_else(|_| r#"{"title":"Internal server error","status":500}"#.into());
    let mut builder = Response::builder().status(problem.status).header(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE);
    for (name, value) in error.headers() {
        builder = builder.header(name, value);
    }
    builder.body(Body::Text(body)).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}
