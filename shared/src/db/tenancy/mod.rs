//! Deleting a tenant: the mark that refuses every token and key at once, and the bounded
//! batches that then delete its rows.
pub mod manager;
mod repository;
