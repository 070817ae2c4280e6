//! The `migrate` function: applies pending SQL migrations with the owner connection.
//! The deploy pipeline invokes it (any event); it answers the migrations it applied.

use crm_core::{Config, db, telemetry};
use lambda_http::{Error, LambdaEvent, lambda_runtime, service_fn};
use serde_json::{Value, json};

pub async fn run() -> Result<(), Error> {
    let config = Config::from_env().map_err(|e| {
        eprintln!("{e}");
        e
    })?;
    telemetry::init(&config);
    let url = config.database_url.clone();
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let url = url.clone();
        async move { apply(&url).await }
    }))
    .await
}

pub async fn apply(database_url: &str) -> Result<Value, Error> {
    let applied = db::migrate(database_url).await?;
    tracing::info!(applied = ?applied, "migrations applied");
    Ok(json!({ "applied": applied }))
}
