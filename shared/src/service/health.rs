//! Is the function able to serve? It is when PostgreSQL answers.

use serde::Serialize;

use crate::{error::Error, state::AppState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
}

pub async fn check(state: &AppState) -> Result<Health, Error> {
    state.db.ping().await?;
    Ok(Health { status: "ok", database: "up" })
}
