//! The per-tenant counters behind GET /stats.
pub mod manager;
mod repository;
