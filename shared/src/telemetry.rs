//! Structured logs: JSON lines (CloudWatch-friendly) or pretty text for a terminal.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().with_target(false)).try_init(),
    };
    if let Some(namespace) = &config.metrics_namespace {
        crate::metrics::init(namespace);
    }
    if config.jwt_secret_generated {
        tracing::warn!("JWT_SECRET is not set: using a random key for this process; tokens will not survive a restart");
    }
}
