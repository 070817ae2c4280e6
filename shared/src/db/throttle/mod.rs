//! Login and refresh throttling counters, shared by every container (migration V4).
pub mod manager;
mod repository;
