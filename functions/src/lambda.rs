//! Wiring a controller into the Lambda runtime: what each `src/bin/` file calls.

use std::{convert::Infallible, future::Future};

use crm_core::{AppState, Config, config::Needs, telemetry};
use lambda_http::{Request, service_fn};

use crate::{HandlerResult, invoke::dispatch, routes};

// Connections per container. Lambda hands a container one invocation at a time, and no
// code path on these functions opens a unit of work while another is open (each commits
// before the next begins), so one connection serves each: a warm container never holds
// an idle second one against the database's `max_connections` (docs/operate.md).
/// An HTTP function: one request, one unit of work at a time.
pub const HTTP_POOL_SIZE: usize = 1;
/// `ticket-consumer`: the records of a batch one after another, each in its own transaction.
pub const CONSUMER_POOL_SIZE: usize = 1;
/// `outbox-sweeper`: lease, then mark or release each batch, then prune, in turn.
pub const SWEEPER_POOL_SIZE: usize = 1;
/// `webhook-dispatcher`: the deliveries it posts at once hold a connection only to lease
/// and to record (milliseconds), never while the receiver answers, so a few share two.
pub const DISPATCHER_POOL_SIZE: usize = 2;

/// Reads the configuration, checks that the secrets `function` needs are there (the route
/// table says which) and builds the shared clients once per container. A bad or missing
/// setting stops the container with one line naming it.
pub fn init(function: &'static str, pool_size: usize) -> AppState {
    let Some(needs) = routes::needs(function) else {
        exit(format!("start-up failed: `{function}` is not in the route table"));
    };
    init_with(function, needs, pool_size)
}

/// [`init`] for a process that is no single function (the benchmark runs them all).
pub fn init_with(name: &str, needs: Needs, pool_size: usize) -> AppState {
    let config = match Config::from_env().and_then(|config| config.require(needs).map(|()| config)) {
        Ok(config) => config,
        Err(e) => exit(format!("{e} ({name})")),
    };
    telemetry::init(&config);
    match AppState::new(config, pool_size) {
        Ok(state) => state,
        Err(e) => exit(format!("start-up failed: {e}")),
    }
}

fn exit(message: String) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}

/// Serves `handler` as the HTTP function `function` until the runtime stops it.
pub async fn run<F, Fut>(function: &'static str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(AppState, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    let state = init(function, HTTP_POOL_SIZE);
    lambda_http::run(service_fn(move |req: Request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(dispatch(function, state, req, handler).await) }
    }))
    .await
}
