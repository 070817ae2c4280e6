//! API keys (migration V8).
pub mod manager;
/// `Db::begin_as` reads a presented key through it in the transaction's first round trip.
pub(super) mod repository;

pub use repository::NewApiKey;
