//! The per-tenant tag counts behind GET /tags (kept by triggers, migration V16).
pub mod manager;
mod repository;
