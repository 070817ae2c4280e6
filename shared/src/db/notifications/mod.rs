//! The notification log.
pub mod manager;
mod repository;
