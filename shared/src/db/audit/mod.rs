//! The audit log: written by the unit of work as it commits ([`crate::db::Tx`]), read by
//! GET /audit-log.
pub mod manager;
pub(crate) mod repository;

pub use repository::AuditFilter;
