//! Wiring a controller into the Lambda runtime: what each `src/bin/` file calls.

use std::{convert::Infallible, future::Future};

use crm_core::{AppState, Config, db::LAMBDA_POOL_SIZE, telemetry};
use lambda_http::{Request, service_fn};

use crate::{HandlerResult, invoke::dispatch};

/// Reads the configuration and builds the shared clients once per container. A bad
/// setting stops the container with one line naming it.
pub fn init() -> AppState {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    telemetry::init(&config);
    match AppState::new(config, LAMBDA_POOL_SIZE) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            std::process::exit(1);
        }
    }
}

/// Serves `handler` as the HTTP function `function` until the runtime stops it.
pub async fn run<F, Fut>(function: &'static str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(AppState, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    let state = init();
    lambda_http::run(service_fn(move |req: Request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(dispatch(function, state, req, handler).await) }
    }))
    .await
}
