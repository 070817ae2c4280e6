//! What a function needs across invocations, built once per Lambda container.

use std::sync::Arc;

use crate::{
    blobs::Blobs,
    config::Config,
    db::Db,
    error::Error,
    mail::Mailer,
    security::{TokenKeys, password::Passwords},
    service::pipeline::Events,
};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    /// None in a function deployed without `JWT_SECRET` (it neither signs nor verifies).
    tokens: Option<Arc<TokenKeys>>,
    pub passwords: Passwords,
    pub events: Arc<Events>,
    pub mailer: Mailer,
    /// Where attachment bytes live; none in a production function without a bucket.
    pub blobs: Option<Blobs>,
}

impl AppState {
    /// Builds the pool without connecting: the first query opens the connection, so a
    /// function's init stays small and a cold start that never touches the database
    /// (health of the runtime, docs) never waits for it. The one hash init does make
    /// ([`Passwords::new`]) keeps it out of the first login's time.
    pub fn new(config: Config, pool_size: usize) -> Result<Self, Error> {
        let db = Db::new(&config, pool_size)?;
        let tokens =
            config.jwt_secret.as_ref().map(|key| Arc::new(TokenKeys::new(key, config.jwt_previous_secret.as_ref())));
        let passwords = Passwords::new(&config.password_hashing)?;
        let events = Arc::new(Events::new(
            [config.sqs_queue_url.as_deref(), config.webhooks.queue_url.as_deref(), config.export_queue_url.as_deref()],
            config.aws_endpoint_url.as_deref(),
        ));
        let mailer = Mailer::new(&config);
        let blobs = Blobs::new(&config);
        Ok(Self { config: Arc::new(config), db, tokens, passwords, events, mailer, blobs })
    }

    /// The access-token keys. A function that needs them checks for `JWT_SECRET` when it
    /// starts (`Config::require`), so the error is a wrongly declared need, not a request's fault.
    pub fn tokens(&self) -> Result<&TokenKeys, Error> {
        self.tokens.as_deref().ok_or_else(|| Error::Internal("JWT_SECRET is not set for this function".into()))
    }
}
