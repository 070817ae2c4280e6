//! Business rules. Services call DB managers and never see the database driver.

pub mod accounts;
pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod comments;
pub mod customers;
pub mod exports;
pub mod feed;
pub mod health;
pub mod housekeeping;
pub mod idempotency;
pub mod notifications;
pub mod pipeline;
pub mod sla;
pub mod stats;
pub mod tags;
pub mod tenancy;
pub mod throttle;
pub mod ticket_mail;
pub mod tickets;
pub mod users;
pub mod webhook_dispatch;
pub mod webhooks;

mod validate;

pub use validate::MAX_DATE_TIME_CHARS;
