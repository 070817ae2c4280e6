//! Webhook endpoints and their deliveries (migration V15).
pub mod manager;
mod repository;

pub use repository::{Leased, NewWebhook, Outcome, Recorded, WebhookChanges};
