//! The `migrate` function: applies pending SQL migrations with the owner connection.
//!
//! CloudFormation runs it on every deploy as the `DatabaseMigrations` custom resource,
//! before any function that needs the new schema; it answers the custom-resource protocol
//! by PUTting SUCCESS or FAILED to the request's pre-signed URL, so a failed migration
//! rolls the deploy back instead of leaving new code on an old schema. Any other event
//! (a manual `aws lambda invoke`) just migrates and answers what it applied.

use std::{collections::HashMap, time::Duration};

use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest as CfnRequest, CloudFormationCustomResourceResponse as CfnResponse,
    CloudFormationCustomResourceResponseStatus as CfnStatus,
};
use crm_core::{Config, config::ConfigError, db, telemetry};
use lambda_http::{Error, LambdaEvent, lambda_runtime, service_fn};
use serde_json::{Value, json};

/// Constant: an update never "replaces" the resource, so CloudFormation never sends a
/// Delete for the old one (which would be a no-op anyway).
pub const PHYSICAL_RESOURCE_ID: &str = "simplecrm-database-migrations";
const RESPONSE_ATTEMPTS: u32 = 3;

pub async fn run() -> Result<(), Error> {
    let report = |e: ConfigError| {
        eprintln!("{e} (migrate)");
        e
    };
    let config = Config::from_env().map_err(report)?;
    let url = config.owner_database_url().map_err(report)?.to_owned();
    telemetry::init(&config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let url = url.clone();
        async move { handle(&url, event.payload).await }
    }))
    .await
}

/// Dispatches on the event's shape: a CloudFormation request or anything else.
pub async fn handle(database_url: &str, event: Value) -> Result<Value, Error> {
    if event.get("RequestType").is_none() || event.get("ResponseURL").is_none() {
        return apply(database_url).await;
    }
    let request: CfnRequest = serde_json::from_value(event)?;
    let envelope = Envelope::of(&request).ok_or("unknown CloudFormation request type")?;
    let response = custom_resource(database_url, &envelope).await;
    send_response(envelope.response_url, &response).await?;
    Ok(serde_json::to_value(&response)?)
}

pub async fn apply(database_url: &str) -> Result<Value, Error> {
    let applied = db::migrate(database_url).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(json!({ "applied": applied }))
}

/// What every request type shares, and whether it asks for a migration.
struct Envelope<'a> {
    stack_id: &'a str,
    request_id: &'a str,
    logical_resource_id: &'a str,
    response_url: &'a str,
    migrate: bool,
}

impl<'a> Envelope<'a> {
    fn of(request: &'a CfnRequest) -> Option<Self> {
        let (stack_id, request_id, logical_resource_id, response_url, migrate) = match request {
            CfnRequest::Create(r) => (&r.stack_id, &r.request_id, &r.logical_resource_id, &r.response_url, true),
            CfnRequest::Update(r) => (&r.stack_id, &r.request_id, &r.logical_resource_id, &r.response_url, true),
            // The stack going away must never drop customer data.
            CfnRequest::Delete(r) => (&r.stack_id, &r.request_id, &r.logical_resource_id, &r.response_url, false),
            _ => return None,
        };
        Some(Self { stack_id, request_id, logical_resource_id, response_url, migrate })
    }
}

async fn custom_resource(database_url: &str, envelope: &Envelope<'_>) -> CfnResponse {
    let mut response = CfnResponse::default();
    response.physical_resource_id = PHYSICAL_RESOURCE_ID.to_owned();
    response.stack_id = envelope.stack_id.to_owned();
    response.request_id = envelope.request_id.to_owned();
    response.logical_resource_id = envelope.logical_resource_id.to_owned();
    if !envelope.migrate {
        tracing::info!("stack resource deleted; the database is left as it is");
        response.status = CfnStatus::Success;
        return response;
    }
    match db::migrate(database_url).await {
        Ok(applied) => {
            tracing::info!(applied = ?applied, "migrations applied");
            response.status = CfnStatus::Success;
            response.data = HashMap::from([("Applied".to_owned(), applied.join(","))]);
        }
        Err(e) => {
            tracing::error!(error = %e, "migrations failed");
            response.status = CfnStatus::Failed;
            response.reason = Some(format!("migrations failed: {e}"));
        }
    }
    response
}

/// PUTs the answer to the pre-signed S3 URL. The URL is signed without a content type,
/// so none is sent. A few retries: without an answer the deploy hangs until it times out.
async fn send_response(url: &str, response: &CfnResponse) -> Result<(), Error> {
    let body = serde_json::to_vec(response)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let mut last_error = String::new();
    for attempt in 1..=RESPONSE_ATTEMPTS {
        match client.put(url).header("content-type", "").body(body.clone()).send().await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => last_error = format!("status {}", answer.status()),
            Err(e) => last_error = e.without_url().to_string(),
        }
        tracing::warn!(attempt, error = %last_error, "custom-resource response not accepted; retrying");
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
    Err(format!("CloudFormation response not delivered: {last_error}").into())
}
