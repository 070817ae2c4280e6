//! Delivery of the transactional outbox.
pub mod manager;
mod repository;
