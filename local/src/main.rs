//! `cargo run -p crm-local`: the whole API on `LISTEN_ADDR`, against a local PostgreSQL.
//! `cargo run -p crm-local -- migrate`: create the database if missing, migrate, and exit.

use crm_core::{Config, telemetry};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    telemetry::init(&config);
    let addr = config.listen_addr;
    let state = match crm_local::prepare(config).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("start-up failed: {e} (is PostgreSQL running at DATABASE_URL?)");
            std::process::exit(1);
        }
    };
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        tracing::info!("database ready; exiting (migrate only)");
        return;
    }
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr} (LISTEN_ADDR): {e}");
            std::process::exit(1);
        }
    };
    tracing::info!(%addr, "SimpleCRM local API listening");
    if let Err(e) = crm_local::serve(listener, state, shutdown_signal()).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
    tracing::info!("stopped");
}

/// SIGINT (Ctrl-C) or SIGTERM (docker stop, CI).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
