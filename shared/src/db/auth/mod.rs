//! Tenants, the login lookup and refresh tokens.
pub mod manager;
mod repository;

pub use repository::{LoginRecord, StoredRefreshToken};
