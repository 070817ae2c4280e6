//! Customers of a tenant.
pub mod manager;
mod repository;

pub use repository::{CustomerPatch, NewCustomer};
