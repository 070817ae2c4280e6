//! What a function needs across invocations, built once per Lambda container.

use std::sync::Arc;

use crate::{config::Config, db::Db, error::Error, security::TokenKeys};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub tokens: Arc<TokenKeys>,
}

impl AppState {
    /// Builds the pool without connecting: the first query opens the connection, so a
    /// function's init stays small and a cold start that never touches the database
    /// (health of the runtime, docs) never waits for it.
    pub fn new(config: Config, pool_size: usize) -> Result<Self, Error> {
        let db = Db::new(&config, pool_size)?;
        let tokens = Arc::new(TokenKeys::new(&config.jwt_secret));
        Ok(Self {
            config: Arc::new(config),
            db,
            tokens,
        })
    }
}
