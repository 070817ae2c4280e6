//! Business rules. Services call DB managers and never see the database driver.

pub mod auth;
pub mod health;
pub mod users;

mod validate;
