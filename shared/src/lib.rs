//! `crm-core`: everything behind the HTTP edge of SimpleCRM.
//!
//! Layers, outermost first: `service` (business rules) → `db::<feature>::manager`
//! (turns database failures into domain errors) → `db::<feature>::repository` (the only
//! SQL). Configuration, errors, request parsing and security primitives sit beside them.

pub mod audit;
mod aws;
pub mod blobs;
pub mod config;
pub mod error;
pub mod events;
pub mod ids;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod pagination;
pub mod quota;
pub mod request;
pub mod security;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub mod db;

pub use config::Config;
pub use error::{Error, FieldError};
pub use state::AppState;
