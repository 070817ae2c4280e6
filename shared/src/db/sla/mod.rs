//! Service-level policies, the recomputation of due dates and the breach monitor's writes.
pub mod manager;
mod repository;

pub use repository::{Breach, PolicyRecord};
