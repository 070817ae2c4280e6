//! Structured logs: JSON lines (CloudWatch-friendly) or pretty text for a terminal.

use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter, prelude::*};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(config: &Config) {
    match config.log_format {
        LogFormat::Json => init_json(std::io::stdout),
        LogFormat::Pretty => {
            let _ = tracing_subscriber::registry().with(filter()).with(fmt::layer().with_target(false)).try_init();
        }
    }
    if let Some(namespace) = &config.metrics_namespace {
        crate::metrics::init(namespace);
    }
    if config.jwt_secret_generated {
        tracing::warn!("JWT_SECRET is not set: using a random key for this process; tokens will not survive a restart");
    }
}

/// The production JSON format written to `writer` (stdout in the functions; a file in the
/// integration tests, which check it for leaked secrets). A no-op once a subscriber is set.
pub fn init_json<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer =
        fmt::layer().json().flatten_event(true).with_current_span(true).with_span_list(false).with_target(false);
    let _ = tracing_subscriber::registry().with(filter()).with(layer.with_writer(writer)).try_init();
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}
