//! The notification log.
pub mod manager;
mod repository;

pub use repository::Written;
