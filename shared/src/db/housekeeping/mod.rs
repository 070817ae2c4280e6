//! Pruning of rows nothing will read again, across tenants (migration V7).
pub mod manager;
mod repository;

pub use repository::Pruned;
