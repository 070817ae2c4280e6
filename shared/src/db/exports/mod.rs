//! Tenant exports (migration V21): the job rows, and the pages of every resource they write.
pub mod manager;
mod repository;

pub use repository::{ExportRow, SECTIONS, Section};
