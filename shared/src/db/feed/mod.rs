//! The change feed: a tenant's outbox in commit-safe order (migration V14).
pub mod manager;
mod repository;

pub use repository::{FeedPosition, FeedRow};
