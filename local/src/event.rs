//! HTTP request → API Gateway HTTP API v2 event → `lambda_http::Request`.

use std::{collections::HashMap, net::SocketAddr};

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use crm_core::Error;
use crm_functions::routes::Route;
use hyper::{body::Bytes, header, http::request::Parts};
use lambda_http::{
    Request,
    aws_lambda_events::{
        apigw::{
            ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
        },
        http::{HeaderMap, HeaderValue},
        query_map::QueryMap,
    },
};
use uuid::Uuid;

/// Fields of the event type that belong to other payload formats; a real v2 event has none.
const NOT_IN_V2_EVENTS: &[&str] =
    &["type", "methodArn", "httpMethod", "identitySource", "authorizationToken", "resource"];

pub fn to_lambda_request(
    route: &Route,
    path_parameters: HashMap<String, String>,
    parts: &Parts,
    body: &Bytes,
    remote: SocketAddr,
) -> Result<Request, Error> {
    let event = to_event(route, path_parameters, parts, body, remote)?;
    let mut json = serde_json::to_value(&event).map_err(|e| Error::Internal(format!("serialise event: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        for key in NOT_IN_V2_EVENTS {
            object.remove(*key);
        }
    }
    let text = json.to_string();
    // lambda_http's conversion panics on a URL it cannot build; the event is ours, so a
    // panic here is a bug in this emulator, answered as 400 rather than a dead server.
    std::panic::catch_unwind(|| lambda_http::request::from_str(&text))
        .map_err(|_| Error::MalformedBody("the request cannot be represented as an API Gateway event".into()))?
        .map_err(|e| Error::Internal(format!("lambda_http rejected the event: {e}")))
}

pub fn to_event(
    route: &Route,
    path_parameters: HashMap<String, String>,
    parts: &Parts,
    body: &Bytes,
    remote: SocketAddr,
) -> Result<ApiGatewayV2httpRequest, Error> {
    let now = Utc::now();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.parse::<hyper::http::uri::Authority>().is_ok())
        .unwrap_or("localhost")
        .to_owned();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();

    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        // The event is JSON: a header value that is not text cannot travel in it. Refused
        // as the client's error (400 naming the header), never a 500.
        if std::str::from_utf8(value.as_bytes()).is_err() {
            return Err(Error::invalid_parameter(name.as_str(), "must be text (UTF-8)"));
        }
        if name == header::COOKIE {
            // API Gateway moves cookies out of the headers into `cookies`.
            if let Ok(v) = value.to_str() {
                cookies.extend(v.split(';').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()));
            }
            continue;
        }
        // API Gateway joins repeated headers with commas.
        if let Some(existing) = headers.get(name.as_str()).and_then(|v: &HeaderValue| v.to_str().ok()) {
            let joined = format!("{existing},{}", value.to_str().unwrap_or_default());
            if let Ok(v) = HeaderValue::from_str(&joined) {
                headers.insert(name.clone(), v);
            }
        } else {
            headers.insert(name.clone(), value.clone());
        }
    }
    // API Gateway sets these itself; a client's own values never reach the function.
    headers.insert("host", HeaderValue::from_str(&host).unwrap_or(HeaderValue::from_static("localhost")));
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    if let Ok(v) = HeaderValue::from_str(&remote.ip().to_string()) {
        headers.insert("x-forwarded-for", v);
    }

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = parts.method.clone();
    http.path = Some(parts.uri.path().to_owned());
    http.protocol = Some("HTTP/1.1".to_owned());
    http.source_ip = Some(remote.ip().to_string());
    http.user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.key());
    context.account_id = Some("000000000000".to_owned());
    context.stage = Some("$default".to_owned());
    context.request_id = Some(Uuid::new_v4().to_string());
    context.apiid = Some("local".to_owned());
    context.domain_prefix = host.split('.').next().map(str::to_owned);
    context.domain_name = Some(host);
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(route.key());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.query_string_parameters = raw_query.parse::<QueryMap>().unwrap_or_default();
    event.raw_query_string = Some(raw_query);
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.path_parameters = path_parameters;
    event.request_context = context;
    if !body.is_empty() {
        // Text bodies pass as they are; anything else is base64, as API Gateway does.
        match std::str::from_utf8(body) {
            Ok(text) => event.body = Some(text.to_owned()),
            Err(_) => {
                event.body = Some(STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    Ok(event)
}
