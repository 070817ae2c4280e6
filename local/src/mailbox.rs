//! `GET /_local/mailbox?to=<address>`: the mail a local run captured instead of sending,
//! newest first, so that someone trying the API can read their verification link. It
//! exists only in `crm-local`: never a Lambda function, never in the OpenAPI document.

use aws_lambda_events::query_map::QueryMap;
use crm_core::{AppState, Error};
use crm_functions::invoke::problem_response;
use lambda_http::{Body, Response, http::StatusCode};
use serde_json::json;

pub const PATH: &str = "/_local/mailbox";

pub fn answer(state: &AppState, method: &hyper::Method, query: Option<&str>) -> Response<Body> {
    if method != hyper::Method::GET {
        let error = Error::MethodNotAllowed { allow: vec!["GET".into()] };
        return problem_response(&error, Some(PATH.into()), None);
    }
    let Some(mailbox) = state.mailer.mailbox() else {
        let error = Error::NotFound("mailbox (mail is sent through SES, not captured)");
        return problem_response(&error, Some(PATH.into()), None);
    };
    let query = query.unwrap_or("").parse::<QueryMap>().unwrap_or_default();
    let items = mailbox.list(query.first("to"));
    let body = json!({ "items": items }).to_string();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .unwrap_or_else(|_| problem_response(&Error::Internal("mailbox answer".into()), Some(PATH.into()), None))
}
