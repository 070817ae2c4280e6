//! Per-tenant request counts (migration V20), taken ahead of each authenticated unit of work.
pub(in crate::db) mod repository;
