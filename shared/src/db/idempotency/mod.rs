//! Idempotency keys for POST /customers and POST /tickets.
pub mod manager;
mod repository;

pub use repository::Claim;
