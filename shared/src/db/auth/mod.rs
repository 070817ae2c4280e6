//! Tenants, the caller's row, the login lookup and refresh tokens.
pub mod manager;
/// `Db::begin_as` reads the caller through it in the transaction's first round trip.
pub(super) mod repository;

pub use repository::{LoginRecord, StoredRefreshToken};
